//===- safetensors_fuzzer.cpp - libFuzzer target of the safetensors loader -===//
//
// Feeds every input, as the bytes of a whole safetensors file, to the runtime's
// loader (tfc::rt::loadSafetensorsBytes, what tfc_model_load runs once the
// file is mapped) against the descriptor of FuzzModel.h. The loader must either
// build a model or set an error; ASan/UBSan and libFuzzer report anything else.
// The runtime's sources are compiled into this binary with the fuzzer flags
// (see fuzz/CMakeLists.txt); libtfcrt.a itself is never instrumented.
//
//===----------------------------------------------------------------------===//
#include "FuzzModel.h"

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  checkFuzzDescriptor("safetensors_fuzzer");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Twice: copying every tensor, then as from a mapped file (an owner keeps
  // the bytes alive), where tensors already in their slot's type are used in
  // place. libFuzzer's input is a heap block of exactly `size` bytes, so ASan
  // sees a view that reaches past the file.
  for (bool inPlace : {false, true}) {
    std::shared_ptr<const void> owner;
    if (inPlace)
      owner = std::shared_ptr<const void>(data, [](const void *) {});
    loadAndCheck("safetensors_fuzzer", [&] {
      return tfc::rt::loadSafetensorsBytes("fuzz.safetensors", data, size, owner);
    });
  }
  return 0;
}
