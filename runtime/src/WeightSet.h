//===- WeightSet.h - The tensors of one or more weight files, and a model --===//
//
// Every weight format the runtime reads ends in the same place: a list of
// named tensors, each a run of bytes in some file (a safetensors file, one of
// a sharded checkpoint's shards, a GGUF file), with its element type and its
// row-major shape. The format readers (Safetensors.cpp, Checkpoint.cpp,
// GgufWeights.cpp) validate their files and fill a WeightSet; buildModel()
// then matches the descriptor's manifest against it by name, whatever the
// files were, and lays the tensors into the model's slots: in place from the
// mapping when a file already holds a slot's type, converted (or dequantized)
// into an owned buffer otherwise. Tensors the manifest does not ask for are
// never looked at again, whatever their type: a checkpoint's buffers
// (position_ids, attention masks, rotary tables) cost nothing.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_WEIGHTSET_H
#define TFC_RUNTIME_WEIGHTSET_H

#include "Internal.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tfc::rt {

/// What a tensor's bytes hold, as far as loading is concerned.
enum class ElementKind {
  F32,
  F16,
  BF16,
  Quantized, // a ggml block type (FileTensor::ggmlType): dequantized at load
  Other,     // anything else (integers, bools, F64, FP8): never loaded
};

/// One file the tensors of a WeightSet come from.
struct WeightSource {
  std::string name;                   // the path, as error messages print it
  std::shared_ptr<const void> owner;  // keeps the bytes alive; null: copy everything
  bool fileMapped = false;            // bytes mapped read-only from a file (see PageDropper)
};

/// One validated tensor of a source: its bytes lie inside the source's and
/// have the size its type and shape need.
struct FileTensor {
  std::string name;
  ElementKind kind = ElementKind::Other;
  std::string typeName;            // as the file spells it: "F32", "I64", "Q4_K"
  uint32_t ggmlType = 0;           // for ElementKind::Quantized
  std::vector<int64_t> shape;      // row-major, outermost first
  const unsigned char *data = nullptr;
  uint64_t fileOffset = 0;         // of data, in its source file
  int32_t source = 0;              // index into WeightSet::sources
};

struct WeightSet {
  std::vector<WeightSource> sources;
  std::vector<FileTensor> tensors;
  /// What "tensor 'x' is missing from '...'" names: the file, or the index.
  std::string where;
  /// The types that load, for the message about one that does not.
  std::string loadableTypes = "F32, F16 and BF16";
};

/// Format readers: check the whole file at `bytes` (of source `source`, whose
/// name the errors print) and add all its tensors to `set`. Set the error and
/// return false on a malformed file. Safetensors.cpp, GgufWeights.cpp.
bool readSafetensors(WeightSet &set, int32_t source, const unsigned char *bytes, size_t size);
bool readGguf(WeightSet &set, int32_t source, const unsigned char *bytes, size_t size);

using FormatReader = bool (*)(WeightSet &, int32_t, const unsigned char *, size_t);

/// The model of one whole file at `bytes` read by `read`, `name` standing for
/// it in errors. `owner` (may be null: copy everything) keeps the bytes alive;
/// `fileMapped` says they are a read-only file mapping (see PageDropper).
tfc_model *loadFile(FormatReader read, const char *name, const unsigned char *bytes,
                    size_t size, std::shared_ptr<const void> owner, bool fileMapped);

/// A sharded checkpoint from the text of its index (`name` in errors), each
/// shard given by `openShard(path)` (path: the index's weight_map entry
/// resolved against `directory`), which sets the error and returns false when
/// it cannot. Checkpoint.cpp; the entry point of the index fuzzer.
struct ShardBytes {
  const unsigned char *bytes = nullptr;
  size_t size = 0;
  std::shared_ptr<const void> owner;
  bool fileMapped = false;
};
using ShardOpener = bool (*)(const std::string &path, ShardBytes &out);
tfc_model *loadIndexText(const char *name, const std::string &directory, const char *text,
                         size_t size, ShardOpener openShard);

/// Builds the model of the descriptor (checked by the caller) from `set`.
/// Sets the error and returns null when a manifest tensor is missing, has a
/// type that does not load or a shape that is not the model's, or holds a
/// NaN or an infinity that its quantized slot would have to quantize.
tfc_model *buildModel(WeightSet &set);

} // namespace tfc::rt

#endif // TFC_RUNTIME_WEIGHTSET_H
