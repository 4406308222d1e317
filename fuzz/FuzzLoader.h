//===- FuzzLoader.h - What every weight-loader fuzzer checks --------------===//
//
// The checks the loader fuzzers (safetensors, GGUF, sharded index, quantized
// slots) run on the descriptor they define (`__tfc_model`: FuzzModel.h's, or
// quantized_fuzzer.cpp's), on a model the loader built, and on a failure.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_FUZZ_FUZZLOADER_H
#define TFC_FUZZ_FUZZLOADER_H

#include "Internal.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

/// Aborts unless the fuzzer's descriptor passes the runtime's own check.
inline void checkFuzzDescriptor(const char *fuzzer) {
  if (!tfc::rt::checkDescriptor()) {
    std::fprintf(stderr, "%s: bad descriptor: %s\n", fuzzer, tfc_last_error());
    std::abort();
  }
}

/// Reads every byte the generated code would read of every slot's view (owned
/// or in place in the input): the whole view, or each layer's share of a
/// stacked one (whose layers may lie in different shards, with gaps between
/// them, and in their own block types: gen_abi.h layer_dtypes). A short copy
/// or a view past the end of the input shows up under ASan; a layer outside
/// its view aborts.
inline void touchSlots(const char *fuzzer, const tfc_model &model) {
  volatile unsigned char sink = 0;
  const tfc_gen_model &m = tfc::rt::descriptor();
  for (int32_t s = 0; s < int32_t(model.views.size()); ++s) {
    const tfc_model::SlotView &view = model.views[s];
    const tfc_gen_slot &slot = m.slots[s];
    const size_t element = tfc::rt::dtypeBytes(slot.dtype);
    auto touch = [&](int64_t first, int64_t count) {
      const auto *base = static_cast<const unsigned char *>(view.base) + size_t(first) * element;
      for (size_t i = 0; i < size_t(count) * element; ++i)
        sink ^= base[i];
    };
    if (view.layerOffsets.empty())
      touch(0, view.elements);
    for (size_t l = 0; l < view.layerOffsets.size(); ++l) {
      const int64_t offset = view.layerOffsets[l];
      const int64_t share = tfc::rt::storageUnits(tfc::rt::entryDType(slot, int32_t(l)),
                                                  tfc::rt::slotShareElements(slot));
      if (offset < 0 || offset + share > view.elements) {
        std::fprintf(stderr, "%s: slot %d: layer %zu at %lld leaves its view\n", fuzzer, int(s),
                     l, (long long)offset);
        std::abort();
      }
      touch(offset, share);
    }
  }
  (void)sink;
}

/// Runs `load` (returning a tfc_model * or null) and checks the result: a model
/// is touched and freed, a failure must have left a message.
template <typename F> void loadAndCheck(const char *fuzzer, F &&load) {
  tfc::rt::setError("%s", ""); // so that a failure without a message is seen
  tfc_model *model = tfc::rt::guarded<tfc_model *>(nullptr, load);
  if (model) {
    touchSlots(fuzzer, *model);
    tfc_model_free(model);
  } else if (tfc_last_error()[0] == '\0') {
    std::fprintf(stderr, "%s: load failed without an error message\n", fuzzer);
    std::abort();
  }
}

#endif // TFC_FUZZ_FUZZLOADER_H
