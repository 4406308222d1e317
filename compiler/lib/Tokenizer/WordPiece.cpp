//===- WordPiece.cpp - WordPiece and WordLevel models ---------------------===//
//
// WordPiece (BERT) takes the longest vocabulary entry at the start of the
// word, then the longest `##`-prefixed entry at each following position; a
// word with a position no entry covers, or longer than
// max_input_chars_per_word characters, is the unknown token alone.
// WordLevel maps a whole word to its id or the unknown token. Candidates
// start at the longest token's length (longer ones cannot match) and words
// are cached, which keeps long unsplit words (kana, Hangul) linear.
//
//===----------------------------------------------------------------------===//
#include "Models.h"

namespace tfc::tokenizer {
namespace {

/// The unknown token's id, appended.
llvm::Error pushUnknown(const Model &model, llvm::StringRef unkToken, std::vector<int32_t> &out) {
  auto id = model.tokenToId(unkToken);
  if (!id)
    return makeError("unknown token '" + unkToken + "' is not in the vocabulary");
  out.push_back(*id);
  return llvm::Error::success();
}

class WordPiece final : public VocabularyModel {
public:
  WordPiece(std::vector<std::string> vocab, std::string unkToken, std::string prefix,
            size_t maxChars)
      : VocabularyModel(std::move(vocab)), unkToken(std::move(unkToken)),
        prefix(std::move(prefix)), maxChars(maxChars) {
    for (const std::string &token : tokens)
      maxTokenBytes = std::max(maxTokenBytes, token.size());
  }

  llvm::Error tokenize(llvm::StringRef word, std::vector<int32_t> &out) const override {
    if (cache.lookup(word, out))
      return llvm::Error::success();
    size_t first = out.size();
    if (llvm::Error err = split(word, out))
      return err;
    cache.store(word, llvm::ArrayRef(out).drop_front(first));
    return llvm::Error::success();
  }

private:
  llvm::Error split(llvm::StringRef word, std::vector<int32_t> &out) const {
    size_t chars = 0;
    for (unsigned char c : word)
      chars += (c & 0xC0) != 0x80;
    if (chars > maxChars)
      return pushUnknown(*this, unkToken, out);
    size_t first = out.size();
    std::string candidate;
    for (size_t start = 0; start < word.size();) {
      // No candidate is longer than the longest token: start there (on a
      // character boundary) rather than at the end of the word.
      size_t end = std::min(word.size(), start + maxTokenBytes);
      while (end < word.size() && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80)
        --end;
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
        return pushUnknown(*this, unkToken, out);
      }
      start = end;
    }
    return llvm::Error::success();
  }

  std::string unkToken, prefix;
  size_t maxChars;
  size_t maxTokenBytes = 0;
  mutable WordCache cache;
};

class WordLevel final : public VocabularyModel {
public:
  WordLevel(std::vector<std::string> vocab, std::string unkToken)
      : VocabularyModel(std::move(vocab)), unkToken(std::move(unkToken)) {}
  llvm::Error tokenize(llvm::StringRef word, std::vector<int32_t> &out) const override {
    if (auto id = tokenToId(word)) {
      out.push_back(*id);
      return llvm::Error::success();
    }
    return pushUnknown(*this, unkToken, out);
  }

private:
  std::string unkToken;
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
