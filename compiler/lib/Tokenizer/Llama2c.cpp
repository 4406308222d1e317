//===- Llama2c.cpp - llama2.c's tokenizer.bin -----------------------------===//
//
// tokenizer.bin is int32 max_token_length, then per token a float32 score,
// an int32 byte length and the bytes. Every record is validated before it is
// trusted. llama2.c's `encode` is SentencePiece BPE by piece scores over raw
// spaces: the pipeline is a Prepend(" ") normalizer (the dummy prefix, not
// added to empty text), a score-merging BPE with `<0xNN>` byte fallback (a
// missing byte piece is an error, as in llama2.c), BOS (id 1) before the
// sequence, and llama2.c's own decode rules.
//
//===----------------------------------------------------------------------===//
#include "Formats.h"

#include <cstring>

namespace tfc::tokenizer {
namespace {

/// A little-endian 4-byte field (Python's struct, native order, on x86).
template <typename T> T readScalar(llvm::StringRef bytes, size_t offset) {
  static_assert(sizeof(T) == 4, "tokenizer.bin fields are 4 bytes");
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// Real vocabularies have pieces of a few dozen bytes; a larger bound means
// the file is not a tokenizer.bin.
constexpr int32_t kMaxPieceLength = 1 << 16;
// SentencePiece control ids shared by every llama2.c vocabulary.
constexpr int32_t kBos = 1, kEos = 2;

} // namespace

llvm::Expected<std::unique_ptr<Pipeline>> pipelineFromLlama2c(llvm::StringRef bytes) {
  if (bytes.size() < 4)
    return makeError("file of " + llvm::Twine(bytes.size()) +
                     " bytes is too short for the max_token_length header");
  int32_t maxTokenLength = readScalar<int32_t>(bytes, 0);
  if (maxTokenLength < 1 || maxTokenLength > kMaxPieceLength)
    return makeError("max_token_length " + llvm::Twine(maxTokenLength) + " is not in [1, " +
                     llvm::Twine(kMaxPieceLength) + "]");
  std::vector<std::string> pieces;
  std::vector<float> scores;
  for (size_t offset = 4; offset < bytes.size();) {
    size_t id = pieces.size();
    if (bytes.size() - offset < 8)
      return makeError("truncated record of token " + llvm::Twine(id) + " at byte offset " +
                       llvm::Twine(offset));
    float score = readScalar<float>(bytes, offset);
    int32_t length = readScalar<int32_t>(bytes, offset + 4);
    if (length < 0 || length > maxTokenLength)
      return makeError("token " + llvm::Twine(id) + " has length " + llvm::Twine(length) +
                       " (max_token_length " + llvm::Twine(maxTokenLength) + ") at byte offset " +
                       llvm::Twine(offset + 4));
    offset += 8;
    if (bytes.size() - offset < static_cast<size_t>(length))
      return makeError("truncated piece of token " + llvm::Twine(id) + " at byte offset " +
                       llvm::Twine(offset) + " (" + llvm::Twine(length) + " bytes, " +
                       llvm::Twine(bytes.size() - offset) + " left)");
    pieces.push_back(bytes.substr(offset, length).str());
    scores.push_back(score);
    offset += length;
  }
  if (pieces.size() <= static_cast<size_t>(kEos))
    return makeError("vocabulary has " + llvm::Twine(pieces.size()) +
                     " pieces, expected at least 3 (<unk>, <s>, </s>)");

  auto pipeline = std::make_unique<Pipeline>();
  pipeline->normalizer = makePrepend(" ");
  pipeline->decoder = makeLlama2cDecoder(pieces[kBos], pieces[kEos]);
  BpeOptions options;
  options.byteFallback = true;
  options.mergeByScore = true;
  options.missingByteIsError = true;
  auto model = makeBpe(std::move(pieces), {}, std::move(scores), std::move(options));
  if (!model)
    return model.takeError();
  pipeline->model = std::move(*model);
  pipeline->postProcessor = makeTemplate({{false, {kBos}}, {true, {}}});
  pipeline->bos = kBos;
  pipeline->eos = kEos;
  return pipeline;
}

} // namespace tfc::tokenizer
