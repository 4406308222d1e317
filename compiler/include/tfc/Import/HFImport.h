//===- HFImport.h - tdsl from a Hugging Face model directory -----*- C++ -*-===//
//
// `tfc import HF_DIR` and `tfc HF_DIR -o model.so`: the config.json of a
// Hugging Face checkpoint becomes the tdsl a person would write for it, its
// weight names the checkpoint's own tensor names. The importer reads the
// config (transformers 4.x and 5.x forms) and, when the directory has them,
// the tensor names of the checkpoint (safetensors headers or the sharded
// index), which decide between naming variants and whether the output head is
// tied. It knows nothing of MLIR: its result is tdsl text for the front end.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_IMPORT_HFIMPORT_H
#define TFC_IMPORT_HFIMPORT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSet.h"

#include <optional>
#include <string>
#include <vector>

namespace tfc {

/// The tdsl of an import, or the one-line reason there is none (naming the
/// config field, the file or the tensor concerned).
struct ImportResult {
  std::string tdsl;
  std::string error;
  /// The --weight-type the source's linear layers are stored in, when the
  /// source decides it (a GGUF file); empty otherwise.
  std::string weightType;
  /// "NAME=TYPE/N" for each tensor the source stores in blocks of N values
  /// (a GGUF file's quantized tensors); empty otherwise.
  std::vector<std::string> storedBlocks;
  /// "NAME=TYPE" for each tensor stored in a type tfc has kernels for (the
  /// --weight-type spelling: f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k),
  /// when the source decides them (a GGUF file); empty otherwise.
  std::vector<std::string> weightTypes;
  bool ok() const { return error.empty(); }
};

/// Imports the model of `configJson` (the text of a config.json). `model` is
/// the tdsl model name (any text: sanitized to an identifier), `source` how the
/// written file's header names where it came from. `tensorNames`, when given,
/// are the checkpoint's tensor names.
ImportResult importHuggingFaceConfig(llvm::StringRef configJson, llvm::StringRef model,
                                     llvm::StringRef source,
                                     const llvm::StringSet<> *tensorNames);

/// Imports `dir/config.json`, with the tensor names of `dir/model.safetensors`
/// or `dir/model.safetensors.index.json` when one exists.
ImportResult importHuggingFaceDir(llvm::StringRef dir);

/// The tensor names of a safetensors file (its header) or of a sharded
/// checkpoint's index (its weight_map); nullopt with `error` set otherwise.
std::optional<llvm::StringSet<>> readCheckpointTensorNames(llvm::StringRef path,
                                                           std::string &error);

} // namespace tfc

#endif // TFC_IMPORT_HFIMPORT_H
