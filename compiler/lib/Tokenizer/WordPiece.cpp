//===- WordPiece.cpp - WordPiece and WordLevel models ---------------------===//
//
// WordPiece (BERT) takes the longest vocabulary entry at the start of the
// word, then the longest `##`-prefixed entry at each following position; a
// word with a position no entry covers, or longer than
// max_input_chars_per_word characters, is the unknown token alone.
// WordLevel maps a whole word to its id or the unknown token.
//
//===----------------------------------------------------------------------===//
#include "Pipeline.h"
#include "Unicode.h"

namespace tfc::tokenizer {
namespace {

/// A vocabulary indexed both ways, shared by the two models.
class VocabularyModel : public Model {
public:
  VocabularyModel(std::vector<std::string> vocab, std::string unkToken)
      : vocab(std::move(vocab)), unkToken(std::move(unkToken)) {
    for (size_t id = 0; id < this->vocab.size(); ++id)
      if (!this->vocab[id].empty())
        ids.try_emplace(this->vocab[id], static_cast<int32_t>(id));
  }
  std::optional<int32_t> tokenToId(llvm::StringRef token) const override {
    auto it = ids.find(token);
    if (it == ids.end())
      return std::nullopt;
    return it->second;
  }
  const std::string *idToToken(int32_t id) const override {
    if (id < 0 || id >= size() || vocab[id].empty())
      return nullptr;
    return &vocab[id];
  }
  int32_t size() const override { return static_cast<int32_t>(vocab.size()); }

protected:
  llvm::Error pushUnknown(std::vector<int32_t> &out) const {
    auto id = tokenToId(unkToken);
    if (!id)
      return makeError("unknown token '" + unkToken + "' is not in the vocabulary");
    out.push_back(*id);
    return llvm::Error::success();
  }

  std::vector<std::string> vocab;
  std::string unkToken;
  llvm::StringMap<int32_t> ids;
};

class WordPiece final : public VocabularyModel {
public:
  WordPiece(std::vector<std::string> vocab, std::string unkToken, std::string prefix,
            size_t maxChars)
      : VocabularyModel(std::move(vocab), std::move(unkToken)), prefix(std::move(prefix)),
        maxChars(maxChars) {}

  llvm::Error tokenize(llvm::StringRef word, std::vector<int32_t> &out) const override {
    size_t chars = 0;
    for (unsigned char c : word)
      chars += (c & 0xC0) != 0x80;
    if (chars > maxChars)
      return pushUnknown(out);
    size_t first = out.size();
    std::string candidate;
    for (size_t start = 0; start < word.size();) {
      size_t end = word.size();
      bool found = false;
      while (start < end) {
        candidate.clear();
        if (start > 0)
          candidate += prefix;
        candidate.append(word.data() + start, end - start);
        if (auto id = tokenToId(candidate)) {
          out.push_back(*id);
          found = true;
          break;
        }
        // Step back one character.
        do
          --end;
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
      }
      if (!found) {
        out.resize(first);
        return pushUnknown(out);
      }
      start = end;
    }
    return llvm::Error::success();
  }

private:
  std::string prefix;
  size_t maxChars;
};

class WordLevel final : public VocabularyModel {
public:
  using VocabularyModel::VocabularyModel;
  llvm::Error tokenize(llvm::StringRef word, std::vector<int32_t> &out) const override {
    if (auto id = tokenToId(word)) {
      out.push_back(*id);
      return llvm::Error::success();
    }
    return pushUnknown(out);
  }
};

} // namespace

llvm::Expected<std::unique_ptr<Model>> makeWordPiece(std::vector<std::string> vocab,
                                                     std::string unkToken, std::string prefix,
                                                     size_t maxInputCharsPerWord) {
  return std::make_unique<WordPiece>(std::move(vocab), std::move(unkToken), std::move(prefix),
                                     maxInputCharsPerWord);
}

llvm::Expected<std::unique_ptr<Model>> makeWordLevel(std::vector<std::string> vocab,
                                                     std::string unkToken) {
  return std::make_unique<WordLevel>(std::move(vocab), std::move(unkToken));
}

} // namespace tfc::tokenizer
