//===- Tokenizer.h - llama2.c tokenizer.bin encoder/decoder ----*- C++ -*-===//
//
// A byte-exact reimplementation of llama2.c's BPE tokenizer: the vocabulary is
// read from its `tokenizer.bin` format (int32 max_token_length, then per token
// float32 score, int32 byte length, bytes) and text is encoded the way
// llama2.c's `encode` does it, so that prompts produce the same ids the model
// was trained on. Used by tfc-run only; it knows nothing of models.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOOLS_TFC_RUN_TOKENIZER_H
#define TFC_TOOLS_TFC_RUN_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tfc {

class Tokenizer {
public:
  /// SentencePiece control ids shared by every llama2.c vocabulary.
  static constexpr int32_t kUnk = 0, kBos = 1, kEos = 2;
  /// `<0xNN>` byte-fallback pieces start right after the control ids.
  static constexpr int32_t kFirstByteId = 3;

  /// Reads and validates a tokenizer.bin file. Truncated records, negative or
  /// oversized lengths and too-small vocabularies are errors naming the file
  /// and the byte offset.
  static llvm::Expected<Tokenizer> load(llvm::StringRef path);
  /// Same, from bytes already in memory; `name` is used in messages.
  static llvm::Expected<Tokenizer> parse(llvm::StringRef bytes, llvm::StringRef name);

  int32_t vocabSize() const { return static_cast<int32_t>(pieces.size()); }
  llvm::StringRef piece(int32_t id) const { return pieces[id]; }
  float score(int32_t id) const { return scores[id]; }

  /// Encodes like llama2.c's encode(text, bos=1, eos=0): BOS, the dummy
  /// prefix " " when the text is non-empty, one piece per UTF-8 codepoint
  /// (unknown ones as `<0xNN>` byte ids), then greedy best-score pair merges
  /// (leftmost pair on ties). Fails only if a needed byte id is missing from a
  /// vocabulary smaller than 259 pieces.
  llvm::Expected<std::vector<int32_t>> encode(llvm::StringRef text) const;

  /// The text of `token` when it follows `prev` (llama2.c's decode): byte
  /// pieces become the raw byte, a leading space is dropped after BOS, and the
  /// BOS/EOS control tokens produce no text. `token` must be in range.
  std::string decodePiece(int32_t prev, int32_t token) const;
  /// Concatenated decodePiece over `ids`; fails on an out-of-range id.
  llvm::Expected<std::string> decode(llvm::ArrayRef<int32_t> ids) const;

  /// Id of a piece, or -1.
  int32_t lookup(llvm::StringRef piece) const;

private:
  Tokenizer() = default;

  std::vector<std::string> pieces;
  std::vector<float> scores;
  llvm::StringMap<int32_t> ids; // piece -> lowest id with that piece
  int32_t maxTokenLength = 0;
};

} // namespace tfc

#endif // TFC_TOOLS_TFC_RUN_TOKENIZER_H
