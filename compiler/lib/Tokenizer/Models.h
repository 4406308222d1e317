//===- Models.h - What the tokenizer models share ------------------*- C++ -*-===//
//
// The models (BPE, WordPiece, WordLevel, Unigram) all map tokens to ids both
// ways over a vocabulary indexed by id, and those whose result depends on the
// word alone cache it. Both parts live here, once.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TOKENIZER_MODELS_H
#define TFC_LIB_TOKENIZER_MODELS_H

#include "Pipeline.h"

namespace tfc::tokenizer {

/// A model over `tokens[id]` (empty strings are holes). Duplicated tokens map
/// to their lowest id, or their highest with `lastDuplicateWins` (Unigram's
/// rule).
class VocabularyModel : public Model {
public:
  explicit VocabularyModel(std::vector<std::string> tokens, bool lastDuplicateWins = false)
      : tokens(std::move(tokens)) {
    for (size_t id = 0; id < this->tokens.size(); ++id) {
      if (this->tokens[id].empty())
        continue;
      if (lastDuplicateWins)
        ids.insert_or_assign(this->tokens[id], static_cast<int32_t>(id));
      else
        ids.try_emplace(this->tokens[id], static_cast<int32_t>(id));
    }
  }
  std::optional<int32_t> tokenToId(llvm::StringRef token) const override {
    auto it = ids.find(token);
    if (it == ids.end())
      return std::nullopt;
    return it->second;
  }
  const std::string *idToToken(int32_t id) const override {
    if (id < 0 || id >= size() || tokens[id].empty())
      return nullptr;
    return &tokens[id];
  }
  int32_t size() const override { return static_cast<int32_t>(tokens.size()); }

protected:
  std::vector<std::string> tokens;
  llvm::StringMap<int32_t> ids;
};

/// The ids of words seen before. Bounded in word length and count, like the
/// Rust library's cache; a Tokenizer is used by one thread at a time.
class WordCache {
public:
  /// Appends the cached ids of `word` to `out`; false when not cached.
  bool lookup(llvm::StringRef word, std::vector<int32_t> &out) const {
    auto it = words.find(word);
    if (it == words.end())
      return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void store(llvm::StringRef word, llvm::ArrayRef<int32_t> ids) {
    if (word.size() < kMaxWordBytes && words.size() < kCapacity)
      words.try_emplace(word, ids.begin(), ids.end());
  }
  static bool cacheable(llvm::StringRef word) { return word.size() < kMaxWordBytes; }

private:
  static constexpr size_t kMaxWordBytes = 256;
  static constexpr size_t kCapacity = 1 << 18;
  llvm::StringMap<std::vector<int32_t>> words;
};

} // namespace tfc::tokenizer

#endif // TFC_LIB_TOKENIZER_MODELS_H
