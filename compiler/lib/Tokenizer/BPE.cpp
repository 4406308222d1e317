//===- BPE.cpp - Byte-pair encoding models --------------------------------===//
//
// One BPE for the three ways vocabularies rank their merges: tokenizer.json
// and GGUF `gpt2` by the rank of the pair in `merges`, SentencePiece (GGUF
// `llama`) and llama2.c by the score of the merged piece. A word starts as
// one symbol per character (with the continuing-subword prefix and
// end-of-word suffix, `<0xNN>` byte fallback, fused unknowns, as the Rust
// library's BPE::merge_word builds it), then the best pair is merged until
// none is left, using a doubly linked symbol list and a heap of candidate
// merges keyed by (priority, position) so that ties go to the leftmost pair.
// Stale heap entries are recognized by checking that the pair still merges
// into the same id. Words are cached.
//
// SentencePiece vocabularies come without a pre-tokenizer, so a whole text is
// one word. When no piece has the space marker ("\u2581" or " ") after
// another character except in runs of markers, no merge can join a marker to
// the character before it: the word is then merged in independent chunks
// that start at each marker following another character, with the same
// result, each chunk cached.
//
//===----------------------------------------------------------------------===//
#include "Models.h"
#include "Unicode.h"

#include "llvm/ADT/StringExtras.h"

#include <queue>

namespace tfc::tokenizer {
namespace {

struct Symbol {
  int32_t id;
  int32_t prev, next;
  bool removed = false;
};

struct Candidate {
  double priority; // lower merges first
  int32_t pos;
  int32_t newId;
  bool operator>(const Candidate &other) const {
    return priority != other.priority ? priority > other.priority : pos > other.pos;
  }
};

class Bpe final : public VocabularyModel {
public:
  Bpe(std::vector<std::string> vocab, std::vector<float> scores, BpeOptions options)
      : VocabularyModel(std::move(vocab)), scores(std::move(scores)),
        options(std::move(options)) {}

  llvm::Error init(const std::vector<std::pair<std::string, std::string>> &mergeList) {
    for (unsigned b = 0; b < 256; ++b) {
      std::string piece = "<0x" + llvm::utohexstr(b, /*LowerCase=*/false, 2) + ">";
      auto id = tokenToId(piece);
      byteIds[b] = id ? *id : -1;
    }
    if (options.unkToken) {
      auto id = tokenToId(*options.unkToken);
      unkId = id ? *id : -1;
    }
    size_t prefixLen = options.continuingSubwordPrefix.size();
    for (size_t rank = 0; rank < mergeList.size(); ++rank) {
      const auto &[a, b] = mergeList[rank];
      auto aId = tokenToId(a), bId = tokenToId(b);
      if (!aId)
        return makeError("merge " + llvm::Twine(rank) + " uses '" + a + "', not in the vocabulary");
      if (!bId)
        return makeError("merge " + llvm::Twine(rank) + " uses '" + b + "', not in the vocabulary");
      // The merged piece drops the continuation prefix of its right part.
      std::string merged = a + (b.size() >= prefixLen ? b.substr(prefixLen) : std::string());
      auto newId = tokenToId(merged);
      if (!newId)
        return makeError("merge " + llvm::Twine(rank) + " gives '" + merged +
                         "', not in the vocabulary");
      merges[pairKey(*aId, *bId)] = {static_cast<uint32_t>(rank), *newId};
    }
    return llvm::Error::success();
  }

  llvm::Error tokenize(llvm::StringRef word, std::vector<int32_t> &out) const override {
    if (word.empty())
      return llvm::Error::success();
    if (options.ignoreMerges)
      if (auto id = tokenToId(word)) {
        out.push_back(*id);
        return llvm::Error::success();
      }
    if (chunkMarker.empty() || WordCache::cacheable(word))
      return tokenizeChunk(word, out);
    size_t start = 0;
    for (size_t pos = word.find(chunkMarker, 1); pos != llvm::StringRef::npos;
         pos = word.find(chunkMarker, pos + chunkMarker.size())) {
      if (word.substr(0, pos).ends_with(chunkMarker))
        continue; // inside a run of markers
      if (llvm::Error err = tokenizeChunk(word.slice(start, pos), out))
        return err;
      start = pos;
    }
    return tokenizeChunk(word.substr(start), out);
  }

  /// Picks the chunk marker (see the file comment), if the vocabulary allows.
  void findChunkMarker() {
    if (!options.continuingSubwordPrefix.empty() || !options.endOfWordSuffix.empty())
      return;
    for (llvm::StringRef marker : {llvm::StringRef("\xE2\x96\x81"), llvm::StringRef(" ")}) {
      if (!tokenToId(marker))
        continue;
      bool safe = true;
      for (llvm::StringRef token : tokens) {
        for (size_t pos = token.find(marker, 1); safe && pos != llvm::StringRef::npos;
             pos = token.find(marker, pos + marker.size()))
          safe = token.substr(0, pos).ends_with(marker);
        if (!safe)
          break;
      }
      if (safe) {
        chunkMarker = marker.str();
        return;
      }
    }
  }

private:
  llvm::Error tokenizeChunk(llvm::StringRef word, std::vector<int32_t> &out) const {
    if (cache.lookup(word, out))
      return llvm::Error::success();
    size_t first = out.size();
    if (llvm::Error err = mergeWord(word, out))
      return err;
    cache.store(word, llvm::ArrayRef(out).drop_front(first));
    return llvm::Error::success();
  }

  static uint64_t pairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  /// The merge of the pair (a, b), if any: its priority and the merged id.
  bool lookupMerge(int32_t a, int32_t b, double &priority, int32_t &newId) const {
    if (!options.mergeByScore) {
      auto it = merges.find(pairKey(a, b));
      if (it == merges.end())
        return false;
      priority = it->second.first;
      newId = it->second.second;
      return true;
    }
    std::string &joined = scratch;
    joined.assign(tokens[a]);
    joined.append(tokens[b]);
    auto id = tokenToId(joined);
    if (!id)
      return false;
    float score = static_cast<size_t>(*id) < scores.size() ? scores[*id] : 0.0f;
    // llama2.c only takes merges scoring above -1e10.
    if (score <= -1e10f)
      return false;
    priority = -static_cast<double>(score);
    newId = *id;
    return true;
  }

  llvm::Error mergeWord(llvm::StringRef word, std::vector<int32_t> &out) const {
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    auto add = [&](int32_t id) {
      int32_t index = static_cast<int32_t>(symbols.size());
      symbols.push_back({id, index - 1, -1});
      if (index > 0)
        symbols[index - 1].next = index;
    };
    // Unknown characters, fused while fuse_unk (BPE::merge_word).
    bool pendingUnk = false;
    std::string piece;
    for (size_t pos = 0; pos < word.size();) {
      unsigned len = unicode::sequenceLength(static_cast<unsigned char>(word[pos]));
      bool isFirst = pos == 0, isLast = pos + len >= word.size();
      piece.clear();
      if (!isFirst)
        piece += options.continuingSubwordPrefix;
      piece.append(word.data() + pos, len);
      if (isLast)
        piece += options.endOfWordSuffix;
      pos += len;
      if (auto id = tokenToId(piece)) {
        if (pendingUnk) {
          add(unkId);
          pendingUnk = false;
        }
        add(*id);
        continue;
      }
      if (options.byteFallback) {
        bool all = true;
        for (unsigned char byte : piece)
          if (byteIds[byte] < 0) {
            all = false;
            if (options.missingByteIsError)
              return makeError("tokenizer has no byte-fallback piece for byte 0x" +
                               llvm::utohexstr(byte, /*LowerCase=*/false, /*Width=*/2) +
                               " (vocabulary of " + llvm::Twine(size()) + ")");
          }
        if (all) {
          // The Rust library adds a pending unknown only at the next known
          // character, after these bytes; so do we.
          for (unsigned char byte : piece)
            add(byteIds[byte]);
          continue;
        }
      }
      if (!options.unkToken)
        continue; // the Rust library drops the character
      if (unkId < 0)
        return makeError("unknown token '" + *options.unkToken + "' is not in the vocabulary");
      if (pendingUnk && !options.fuseUnk)
        add(unkId);
      pendingUnk = true;
    }
    if (pendingUnk)
      add(unkId);

    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    double priority;
    int32_t newId;
    for (size_t i = 0; i + 1 < symbols.size(); ++i)
      if (lookupMerge(symbols[i].id, symbols[i + 1].id, priority, newId))
        queue.push({priority, static_cast<int32_t>(i), newId});
    while (!queue.empty()) {
      Candidate top = queue.top();
      queue.pop();
      Symbol &left = symbols[top.pos];
      if (left.removed || left.next < 0)
        continue;
      Symbol &right = symbols[left.next];
      int32_t currentId;
      if (!lookupMerge(left.id, right.id, priority, currentId) || currentId != top.newId)
        continue; // stale: the pair changed since it was queued
      left.id = top.newId;
      right.removed = true;
      left.next = right.next;
      if (right.next >= 0)
        symbols[right.next].prev = top.pos;
      if (left.prev >= 0 &&
          lookupMerge(symbols[left.prev].id, left.id, priority, newId))
        queue.push({priority, left.prev, newId});
      if (left.next >= 0 && lookupMerge(left.id, symbols[left.next].id, priority, newId))
        queue.push({priority, top.pos, newId});
    }
    for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next)
      out.push_back(symbols[i].id);
    return llvm::Error::success();
  }

  std::vector<float> scores;
  BpeOptions options;
  llvm::DenseMap<uint64_t, std::pair<uint32_t, int32_t>> merges;
  int32_t byteIds[256];
  int32_t unkId = -1;
  std::string chunkMarker; // empty: words are merged whole
  // Per-call scratch and the word cache: a Tokenizer is used by one thread.
  mutable std::string scratch;
  mutable WordCache cache;
};

} // namespace

llvm::Expected<std::unique_ptr<Model>>
makeBpe(std::vector<std::string> vocab, std::vector<std::pair<std::string, std::string>> merges,
        std::vector<float> scores, BpeOptions options) {
  auto bpe = std::make_unique<Bpe>(std::move(vocab), std::move(scores), std::move(options));
  if (llvm::Error err = bpe->init(merges))
    return std::move(err);
  bpe->findChunkMarker();
  return std::unique_ptr<Model>(std::move(bpe));
}

} // namespace tfc::tokenizer
