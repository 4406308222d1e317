//===- ModelDirectory.h - What a model directory tells the tools -*- C++ -*-===//
//
// A Hugging Face model directory holds more than the weights: the tokenizer
// (tokenizer.json + tokenizer_config.json) and the generation settings
// (generation_config.json, else the model's config.json). The tools that run
// a model (tfc-run) read them from the directory the weights come from, so
// `tfc-run model.so --weights DIR --prompt TEXT` needs no further flag. This
// is that lookup; it reads JSON and file names only, never the weights.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNNER_MODELDIRECTORY_H
#define TFC_RUNNER_MODELDIRECTORY_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tfc {

/// The fields of transformers' GenerationConfig that greedy and sampled
/// generation honour in the tools.
struct GenerationSettings {
  /// `eos_token_id` (an id or a list): generation stops after any of them.
  std::vector<int32_t> eosIds;
  /// `decoder_start_token_id`: the first decoder input of an encoder-decoder.
  std::optional<int32_t> decoderStartId;
  /// The one-token entries of `bad_words_ids`: never generated (Opus-MT bans
  /// its pad id, which is also its decoder start, this way).
  std::vector<int32_t> bannedIds;
  /// The file the settings came from, for messages.
  std::string source;
};

/// The generation settings in the JSON text of a generation_config.json or a
/// config.json (named `file` in errors: one line naming the field).
llvm::Expected<GenerationSettings> parseGenerationSettings(llvm::StringRef json,
                                                           llvm::StringRef file);

/// A Hugging Face model directory (one with a config.json).
struct ModelDirectory {
  std::string path;
  GenerationSettings generation;

  /// The directory of a weights path: the path itself when it is a directory,
  /// else the directory of a .safetensors file or a sharded checkpoint's
  /// index; none when that directory has no config.json (a lone file). An
  /// unreadable or malformed generation_config.json / config.json is an
  /// error naming the file and the field.
  static llvm::Expected<std::optional<ModelDirectory>> forWeights(llvm::StringRef weightsPath);

  /// The tokenizer file the directory ships, "" when none: tokenizer.json
  /// (transformers' fast tokenizer), else llama2.c's tokenizer.bin, else
  /// the tok<vocabSize>.bin that llama2.c's tokenizer.py exports for a
  /// custom vocabulary (stories260K's tok512.bin).
  std::string tokenizerPath(int32_t vocabSize) const;
};

/// The tokenizer a weights path brings with it, "" when none: its Hugging Face
/// directory's (ModelDirectory::tokenizerPath), else, for a .gguf file, the file
/// itself (the engine reads its `tokenizer.ggml.*` metadata; a file without them
/// is an error when it is loaded, naming the key).
std::string tokenizerForWeights(llvm::StringRef weightsPath,
                                const std::optional<ModelDirectory> &directory,
                                int32_t vocabSize);

} // namespace tfc

#endif // TFC_RUNNER_MODELDIRECTORY_H
