//===- Tokenizer.h - Text <-> token ids, as Hugging Face tokenizers do -*- C++ -*-===//
//
// One tokenizer engine for every format a model ships its vocabulary in: a
// Hugging Face `tokenizer.json`, llama2.c's `tokenizer.bin`, and the arrays of
// a GGUF file's `tokenizer.ggml.*` metadata. Each is turned into the same
// pipeline the Rust `tokenizers` library runs (added tokens, normalizer,
// pre-tokenizer, model, post-processor; decoders on the way back), so that
// `encode` gives the ids of `Tokenizer.encode(text, add_special_tokens)` and
// `decode` the text of `Tokenizer.decode(ids, skip_special_tokens=False)`.
// The engine belongs to the tools (tfc-tokenize, tfc-run), never to a
// compiled model, and depends on LLVM Support, PCRE2, utf8proc and
// nlohmann-json only.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_TOKENIZER_H
#define TFC_TOKENIZER_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tfc::tokenizer {

class Pipeline;

/// A vocabulary given as parallel arrays, the way GGUF stores it
/// (`tokenizer.ggml.tokens`, `.scores`, `.token_type`, `.merges`, ...).
struct VocabularyArrays {
  enum class Kind {
    /// SentencePiece BPE (GGUF `llama`): pieces use U+2581 for spaces, pairs
    /// merge by the score of the merged piece, `<0xNN>` byte fallback.
    SentencePieceBpe,
    /// Byte-level BPE (GGUF `gpt2`): bytes mapped to GPT-2's printable
    /// alphabet, pairs merge by their rank in `merges`.
    ByteLevelBpe,
    /// WordPiece (GGUF `bert`): `##` continuation pieces, BERT normalization.
    WordPiece,
  };
  /// The kind GGUF's `tokenizer.ggml.model` names (`llama`, `gpt2`, `bert`),
  /// none for any other name.
  static std::optional<Kind> kindOfGgufModel(llvm::StringRef model) {
    if (model == "llama")
      return Kind::SentencePieceBpe;
    if (model == "gpt2")
      return Kind::ByteLevelBpe;
    if (model == "bert")
      return Kind::WordPiece;
    return std::nullopt;
  }
  /// GGUF's token types.
  enum TokenType : int32_t {
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
  };
  Kind kind = Kind::SentencePieceBpe;
  std::vector<std::string> tokens;
  std::vector<float> scores;          // empty: all 0
  std::vector<int32_t> tokenTypes;    // empty: all Normal
  std::vector<std::string> merges;    // "left right", ByteLevelBpe only
  std::optional<int32_t> bosId, eosId, unknownId, separatorId, paddingId;
  /// Whether encoding with special tokens adds BOS / EOS (GGUF
  /// `tokenizer.ggml.add_bos_token`); unset: the kind's default (BOS for
  /// SentencePiece, none for byte-level, [CLS] ... [SEP] for WordPiece).
  std::optional<bool> addBos, addEos;
  /// SentencePiece: prepend a space marker to the text (GGUF
  /// `tokenizer.ggml.add_space_prefix`, default true).
  bool addSpacePrefix = true;
  /// Byte-level BPE: the regexes that split the text before the byte mapping,
  /// applied in order; empty: GPT-2's (the ByteLevel pre-tokenizer's own).
  std::vector<std::string> splitRegexes;
  /// Byte-level BPE: a word that is a token is not merged (Llama 3).
  bool ignoreMerges = false;
};

/// The tokenizer_config.json fields that generation applies on top of a
/// tokenizer.json, as transformers' fast tokenizers do.
struct GenerationConfig {
  std::optional<bool> addBos, addEos;
  std::optional<std::string> bosToken, eosToken;
};

/// A loaded tokenizer. Not thread-safe: encoding fills word caches and reuses
/// regex match buffers, so each thread needs its own Tokenizer.
class Tokenizer {
public:
  Tokenizer(Tokenizer &&) noexcept;
  Tokenizer &operator=(Tokenizer &&) noexcept;
  ~Tokenizer();

  /// Loads any of the three formats, chosen by content: JSON text is a
  /// tokenizer.json, `GGUF` magic a GGUF file, anything else a llama2.c
  /// tokenizer.bin. Errors are one line naming the file and the problem.
  static llvm::Expected<Tokenizer> load(llvm::StringRef path);
  /// The same, from the bytes of such a file; `name` is used in messages.
  static llvm::Expected<Tokenizer> fromBytes(llvm::StringRef bytes, llvm::StringRef name);
  /// A Hugging Face tokenizer.json already in memory; `name` is used in messages.
  static llvm::Expected<Tokenizer> fromJson(llvm::StringRef json, llvm::StringRef name);
  /// A llama2.c tokenizer.bin already in memory: encodes like llama2.c's
  /// `encode(text, bos=1, eos=0)` and decodes like its `decode`.
  static llvm::Expected<Tokenizer> fromLlama2c(llvm::StringRef bytes, llvm::StringRef name);
  /// A vocabulary given as arrays (GGUF's embedded tokenizer).
  static llvm::Expected<Tokenizer> fromArrays(const VocabularyArrays &vocab, llvm::StringRef name);
  /// The `tokenizer.ggml.*` metadata of a GGUF file in memory.
  static llvm::Expected<Tokenizer> fromGguf(llvm::StringRef bytes, llvm::StringRef name);

  /// The ids of `text` (UTF-8; invalid UTF-8 is an error with its byte
  /// offset), with the post-processor's special tokens if `addSpecial`.
  llvm::Expected<std::vector<int32_t>> encode(llvm::StringRef text, bool addSpecial = true) const;
  /// The text of `ids`, special tokens included; out-of-range ids are errors.
  llvm::Expected<std::string> decode(llvm::ArrayRef<int32_t> ids) const;

  /// Number of ids, added tokens included (one past the largest id).
  int32_t vocabSize() const;
  /// The token string of `id` (added tokens included), or nullopt.
  std::optional<std::string> idToToken(int32_t id) const;
  /// The id of a token string (added tokens first), or nullopt.
  std::optional<int32_t> tokenToId(llvm::StringRef token) const;

  /// Beginning / end of sequence ids as the file declares them (the
  /// post-processor's first special token, a config's bos/eos, GGUF ids).
  std::optional<int32_t> bosId() const;
  std::optional<int32_t> eosId() const;

  /// Applies tokenizer_config.json's BOS/EOS choices for generation: when
  /// `addBos`/`addEos` are given they replace the post-processor (as
  /// LlamaTokenizerFast rebuilds it); `bosToken`/`eosToken` name the ids.
  llvm::Error applyGenerationConfig(const GenerationConfig &config);

  /// For the loaders: wraps a built pipeline.
  static Tokenizer fromPipeline(std::unique_ptr<Pipeline> pipeline);

private:
  explicit Tokenizer(std::unique_ptr<Pipeline> pipeline);
  std::unique_ptr<Pipeline> pipeline;
};

/// Reads the BOS/EOS fields of a tokenizer_config.json (`bos_token` may be a
/// string or an object with `content`).
llvm::Expected<GenerationConfig> readGenerationConfig(llvm::StringRef path);

/// Incremental decoding for generation: each step returns the text that the
/// new id completes, holding it back while it ends in an incomplete
/// character (U+FFFD), as the `tokenizers` library's DecodeStream does.
class DecodeStream {
public:
  explicit DecodeStream(const Tokenizer &tokenizer) : tokenizer(tokenizer) {}
  llvm::Expected<std::string> step(int32_t id);

private:
  const Tokenizer &tokenizer;
  std::vector<int32_t> ids;
  std::string prefix;
  size_t prefixIndex = 0;
};

} // namespace tfc::tokenizer

#endif // TFC_TOKENIZER_TOKENIZER_H
