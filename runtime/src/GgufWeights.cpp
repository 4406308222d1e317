//===- GgufWeights.cpp - The tensors of a GGUF file, for tfc_model_load ----===//
//
// readGguf checks a whole GGUF file with tfc::gguf::File (Gguf.h) and adds its
// tensors to a WeightSet under their GGUF names. GGUF lists dimensions
// innermost first (ne[0] is the length of a row), so a linear layer's
// [out, in] matrix is stored with ne = [in, out]: shapes are reversed into the
// row-major order of the manifest. F32, F16 and BF16 tensors load as
// safetensors ones do (in place when their slot has their type); ggml's block
// types are dequantized at load (Quants.h), so a quantized file runs on the
// float kernels; other types (integers, F64, the IQ and TQ families) are
// rejected if the model asks for them.
//
//===----------------------------------------------------------------------===//
#include "WeightSet.h"

#include "Quants.h"

#include "tfc/Gguf.h"

using namespace tfc::rt;
using tfc::gguf::TensorType;

namespace {

ElementKind kindOf(const tfc::gguf::TensorInfo &t) {
  switch (TensorType(t.type)) {
  case TensorType::F32:
    return ElementKind::F32;
  case TensorType::F16:
    return ElementKind::F16;
  case TensorType::BF16:
    return ElementKind::BF16;
  default:
    return t.traits->blockElements > 1 ? ElementKind::Quantized : ElementKind::Other;
  }
}

} // namespace

bool tfc::rt::readGguf(WeightSet &set, int32_t source, const unsigned char *bytes,
                       size_t size) {
  const char *name = set.sources[source].name.c_str();
  tfc::gguf::File file;
  if (!file.parse(bytes, size)) {
    setError("'%s': %s", name, file.error().c_str());
    return false;
  }
  for (const tfc::gguf::TensorInfo &info : file.tensors()) {
    FileTensor t;
    t.name = std::string(info.name);
    t.kind = kindOf(info);
    t.typeName = info.traits->name;
    t.ggmlType = info.type;
    t.shape = info.shape();
    t.data = file.tensorData(info);
    t.fileOffset = file.dataOffset() + info.offset;
    t.source = source;
    set.tensors.push_back(std::move(t));
  }
  set.loadableTypes = "F32, F16, BF16, " + dequantizableTypeNames();
  return true;
}

tfc_model *tfc::rt::loadGgufBytes(const char *name, const unsigned char *bytes, size_t size,
                                  std::shared_ptr<const void> owner) {
  return loadFile(readGguf, name, bytes, size, std::move(owner), /*fileMapped=*/false);
}
