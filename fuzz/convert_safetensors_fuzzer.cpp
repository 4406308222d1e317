//===- convert_safetensors_fuzzer.cpp - libFuzzer target of tfc convert's reader -===//
//
// Feeds every input, as the bytes of a whole safetensors file, to the reader
// `tfc convert` loads its weights with (compiler/lib/Convert/TensorFile.cpp,
// compiled into this binary with the fuzzer's instrumentation). It must either
// read every tensor (each one's values or bytes matching its shape) or return a message;
// ASan/UBSan and libFuzzer report anything else.
//
//===----------------------------------------------------------------------===//
#include "TensorFile.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tfc::convert::TensorFile file;
  std::string error = file.parse("input", llvm::ArrayRef<uint8_t>(data, size));
  if (!error.empty())
    return 0;
  for (auto &[name, tensor] : file.tensors) {
    int64_t count = 1;
    for (int64_t dim : tensor.shape)
      count *= dim;
    bool floating = tensor.otherDtype.empty();
    if (floating ? count != static_cast<int64_t>(tensor.data.size())
                 : (count == 0) != tensor.otherBytes.empty()) {
      std::fprintf(stderr, "tensor '%s' read with %zu values for its shape\n", name.c_str(),
                   tensor.data.size());
      std::abort();
    }
  }
  if (file.order.size() != file.tensors.size())
    std::abort();
  return 0;
}
