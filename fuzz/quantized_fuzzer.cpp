//===- quantized_fuzzer.cpp - libFuzzer target of the loaders' quantized slots ===//
//
// Each input is the bytes of a whole weight file, GGUF (by its magic) or
// safetensors, loaded by the runtime (tfc::rt::loadGgufBytes or
// loadSafetensorsBytes), copying and in place, into the descriptor of
// test/Runtime/Inputs/quantized_model.c: slots of Q8_0 and Q4_K blocks, one
// stacked slot with a type per layer (Q6_K, Q4_K) and one filled from the
// matrices of an experts tensor. FuzzModel.h's slots are F32, BF16 and F16
// only, so the safetensors and GGUF targets never reach the block copies,
// the in-place block views, the quantization at load or the per-layer types;
// this target does. The loader must build a model (every byte of every
// layer's blocks is then read under ASan) or set an error.
//
//===----------------------------------------------------------------------===//
#include "FuzzLoader.h"

#include <cstring>

// The descriptor, shared with the replay of the seeds through a model.so
// (test/Fuzz/quantized-corpus.test).
#include "quantized_model.c"

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  checkFuzzDescriptor("quantized_fuzzer");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const bool gguf = size >= 4 && std::memcmp(data, "GGUF", 4) == 0;
  // As safetensors_fuzzer.cpp: copying, then in place from bytes an owner
  // keeps alive (blocks of the slot's own type are then views of the input).
  for (bool inPlace : {false, true}) {
    std::shared_ptr<const void> owner;
    if (inPlace)
      owner = std::shared_ptr<const void>(data, [](const void *) {});
    loadAndCheck("quantized_fuzzer", [&] {
      return gguf ? tfc::rt::loadGgufBytes("fuzz.gguf", data, size, owner)
                  : tfc::rt::loadSafetensorsBytes("fuzz.safetensors", data, size, owner);
    });
  }
  return 0;
}
