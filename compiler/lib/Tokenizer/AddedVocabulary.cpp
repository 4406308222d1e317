//===- AddedVocabulary.cpp - Added and special tokens ---------------------===//
//
// Added tokens are cut out of the text before anything else sees it, as the
// Rust library's AddedVocabulary does: tokens with `normalized: false` are
// matched on the raw text, the pieces between them are normalized, and the
// `normalized: true` tokens (in their normalized form) are matched on those.
// Matching is leftmost-longest (Aho-Corasick in the reference, a byte trie
// walked from each position here); `single_word` rejects a match inside a
// word, `lstrip`/`rstrip` absorb the whitespace beside it.
//
//===----------------------------------------------------------------------===//
#include "Pipeline.h"
#include "Unicode.h"

namespace tfc::tokenizer {
namespace {

/// Whether the last character of `text` is a word character (Rust's `\w$`).
bool endsWithWord(llvm::StringRef text) {
  if (text.empty())
    return false;
  char32_t cp;
  unicode::decode(text, unicode::previousStart(text, text.size()), cp);
  return unicode::isWordCharacter(cp);
}

bool startsWithWord(llvm::StringRef text) {
  if (text.empty())
    return false;
  char32_t cp;
  unicode::decode(text, 0, cp);
  return unicode::isWordCharacter(cp);
}

} // namespace

void AddedVocabulary::Trie::insert(llvm::StringRef key, int32_t index) {
  if (key.empty())
    return;
  firstByte[static_cast<unsigned char>(key[0])] = true;
  uint32_t node = 0;
  for (unsigned char c : key) {
    auto it = nodes[node].next.find(c);
    if (it != nodes[node].next.end()) {
      node = it->second;
      continue;
    }
    uint32_t child = static_cast<uint32_t>(nodes.size());
    nodes[node].next[c] = child;
    nodes.emplace_back();
    node = child;
  }
  nodes[node].token = index;
}

int32_t AddedVocabulary::Trie::longestAt(llvm::StringRef text, size_t pos) const {
  int32_t found = -1;
  uint32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = nodes[node].next.find(static_cast<unsigned char>(text[i]));
    if (it == nodes[node].next.end())
      break;
    node = it->second;
    if (nodes[node].token >= 0)
      found = nodes[node].token;
  }
  return found;
}

void AddedVocabulary::add(AddedToken token, const Normalizer *normalizer) {
  if (token.content.empty())
    return;
  int32_t index = static_cast<int32_t>(tokens.size());
  std::string pattern = token.content;
  if (token.normalized && normalizer)
    normalizer->normalize(pattern);
  (token.normalized ? normalizedTrie : rawTrie).insert(pattern, index);
  byContent.insert_or_assign(token.content, token.id);
  indexById[token.id] = index;
  patterns.push_back(std::move(pattern));
  tokens.push_back(std::move(token));
}

void AddedVocabulary::split(const std::vector<Segment> &in, const Trie &trie,
                            const Normalizer *normalizer, std::vector<Segment> &out) const {
  for (const Segment &segment : in) {
    if (segment.id >= 0) {
      out.push_back(segment);
      continue;
    }
    std::string normalizedText;
    llvm::StringRef text = segment.text;
    if (normalizer) {
      normalizedText = segment.text;
      normalizer->normalize(normalizedText);
      text = normalizedText;
    }
    auto emitText = [&](size_t start, size_t end) {
      if (end > start)
        out.push_back({text.substr(start, end - start).str(), -1, segment.atOrigin && start == 0});
    };
    size_t startOffset = 0;
    for (size_t pos = 0; pos < text.size();) {
      if (!trie.firstByte[static_cast<unsigned char>(text[pos])]) {
        ++pos;
        continue;
      }
      int32_t index = trie.longestAt(text, pos);
      if (index < 0) {
        ++pos;
        continue;
      }
      const AddedToken &token = tokens[index];
      size_t start = pos, stop = pos + patterns[index].size();
      pos = stop;
      if (token.singleWord) {
        bool spaceBefore = start == 0 || !endsWithWord(text.substr(0, start));
        bool spaceAfter = stop == text.size() || !startsWithWord(text.substr(stop));
        if (!spaceBefore || !spaceAfter)
          continue;
      }
      if (token.lstrip)
        start = std::max(unicode::trailingWhitespaceStart(text.substr(0, start)), startOffset);
      if (token.rstrip)
        stop += unicode::leadingWhitespace(text.substr(stop));
      emitText(startOffset, start);
      out.push_back({text.substr(start, stop - start).str(), token.id, false});
      startOffset = stop;
      pos = stop;
    }
    emitText(startOffset, text.size());
  }
}

void AddedVocabulary::extractAndNormalize(llvm::StringRef text, const Normalizer *normalizer,
                                          std::vector<Segment> &out) const {
  std::vector<Segment> raw;
  split({Segment{text.str(), -1, true}}, rawTrie, nullptr, raw);
  split(raw, normalizedTrie, normalizer, out);
}

std::optional<int32_t> AddedVocabulary::tokenToId(llvm::StringRef content) const {
  auto it = byContent.find(content);
  if (it == byContent.end())
    return std::nullopt;
  return it->second;
}

const std::string *AddedVocabulary::decodedContent(int32_t id) const {
  auto it = indexById.find(id);
  return it == indexById.end() ? nullptr : &patterns[it->second];
}

int32_t AddedVocabulary::maxId() const {
  int32_t max = -1;
  for (const AddedToken &token : tokens)
    max = std::max(max, token.id);
  return max;
}

} // namespace tfc::tokenizer
