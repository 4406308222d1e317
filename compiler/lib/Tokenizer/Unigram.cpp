//===- Unigram.cpp - The Unigram language model segmentation --------------===//
//
// Viterbi over the lattice of vocabulary pieces, as the Rust library's
// Unigram::encode_optimized (after SentencePiece): the best path ending at
// each byte position, every piece starting at a position is a candidate
// edge scored by its log-probability, and a character that no one-character
// piece covers gets an unknown edge scored `min_score - 10`. Consecutive
// unknowns are fused, then pieces become ids (byte fallback for unknown
// text when the vocabulary has `<0xNN>` pieces).
//
//===----------------------------------------------------------------------===//
#include "Models.h"
#include "Unicode.h"

#include "llvm/ADT/StringExtras.h"

#include <limits>

namespace tfc::tokenizer {
namespace {

constexpr double kUnkPenalty = 10.0;

std::vector<std::string> piecesOf(const std::vector<std::pair<std::string, double>> &vocab) {
  std::vector<std::string> pieces;
  pieces.reserve(vocab.size());
  for (const auto &entry : vocab)
    pieces.push_back(entry.first);
  return pieces;
}

class Unigram final : public VocabularyModel {
public:
  Unigram(const std::vector<std::pair<std::string, double>> &vocab, std::optional<int32_t> unkId,
          bool byteFallback)
      : VocabularyModel(piecesOf(vocab), /*lastDuplicateWins=*/true), unkId(unkId),
        byteFallback(byteFallback) {
    for (const auto &[token, score] : vocab) {
      scores.push_back(score);
      minScore = std::min(minScore, score);
      maxPieceBytes = std::max(maxPieceBytes, token.size());
    }
  }

  llvm::Error tokenize(llvm::StringRef word, std::vector<int32_t> &out) const override {
    if (word.empty() || cache.lookup(word, out))
      return llvm::Error::success();
    size_t first = out.size();
    if (llvm::Error err = encode(word, out))
      return err;
    cache.store(word, llvm::ArrayRef(out).drop_front(first));
    return llvm::Error::success();
  }

private:
  struct Node {
    int32_t id = 0;
    double score = 0;
    int64_t start = -1; // -1: no path ends here yet
  };

  llvm::Error encode(llvm::StringRef text, std::vector<int32_t> &out) const {
    const double unkScore = minScore - kUnkPenalty;
    std::vector<Node> best(text.size() + 1);
    for (size_t start = 0; start < text.size();) {
      double here = best[start].score;
      unsigned charLen = unicode::sequenceLength(static_cast<unsigned char>(text[start]));
      bool hasSingleCharPiece = false;
      size_t limit = std::min(text.size() - start, maxPieceBytes);
      for (size_t len = charLen; len <= limit;) {
        if (auto id = tokenToId(text.substr(start, len))) {
          Node &target = best[start + len];
          double candidate = scores[*id] + here;
          if (target.start < 0 || candidate > target.score)
            target = {*id, candidate, static_cast<int64_t>(start)};
          if (len == charLen)
            hasSingleCharPiece = true;
        }
        if (start + len >= text.size())
          break;
        len += unicode::sequenceLength(static_cast<unsigned char>(text[start + len]));
      }
      if (!hasSingleCharPiece) {
        if (!unkId)
          return makeError("unigram model has no unk_id for '" + text.substr(start, charLen) +
                           "'");
        Node &target = best[start + charLen];
        double candidate = unkScore + here;
        if (target.start < 0 || candidate > target.score)
          target = {*unkId, candidate, static_cast<int64_t>(start)};
      }
      start += charLen;
    }
    // Back from the end, fusing consecutive unknowns into one piece.
    struct Span {
      size_t start, end;
      bool unknown;
    };
    std::vector<Span> spans;
    for (size_t end = text.size(); end > 0;) {
      const Node &node = best[end];
      size_t start = static_cast<size_t>(node.start);
      bool unknown = unkId && node.id == *unkId;
      if (unknown && !spans.empty() && spans.back().unknown)
        spans.back().start = start;
      else
        spans.push_back({start, end, unknown});
      end = start;
    }
    for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
      llvm::StringRef piece = text.slice(it->start, it->end);
      if (auto id = tokenToId(piece)) {
        out.push_back(*id);
        continue;
      }
      if (byteFallback) {
        bool all = true;
        for (unsigned char byte : piece)
          all &= tokenToId("<0x" + llvm::utohexstr(byte, false, 2) + ">").has_value();
        if (all) {
          for (unsigned char byte : piece)
            out.push_back(*tokenToId("<0x" + llvm::utohexstr(byte, false, 2) + ">"));
          continue;
        }
      }
      if (!unkId)
        return makeError("unigram model has no unk_id for '" + piece + "'");
      out.push_back(*unkId);
    }
    return llvm::Error::success();
  }

  std::vector<double> scores;
  std::optional<int32_t> unkId;
  bool byteFallback;
  double minScore = std::numeric_limits<double>::infinity();
  size_t maxPieceBytes = 0;
  mutable WordCache cache;
};

} // namespace

llvm::Expected<std::unique_ptr<Model>>
makeUnigram(std::vector<std::pair<std::string, double>> vocab, std::optional<int32_t> unkId,
            bool byteFallback) {
  if (unkId && (vocab.empty() || *unkId < 0 || static_cast<size_t>(*unkId) >= vocab.size()))
    return makeError("unk_id " + llvm::Twine(*unkId) + " is not in the vocabulary of " +
                     llvm::Twine(vocab.size()));
  return std::make_unique<Unigram>(vocab, unkId, byteFallback);
}

} // namespace tfc::tokenizer
