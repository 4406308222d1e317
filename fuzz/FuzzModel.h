//===- FuzzModel.h - The model descriptor the loader fuzzers load into ----===//
//
// Each loader fuzzer (safetensors, GGUF, sharded index) defines `__tfc_model`
// by including this header once: the weights of test/Runtime/Inputs/
// fake_model.c (so the files the runtime tests write are good seeds), but with
// its slots in all three dtypes, so that every conversion path of the loader
// is reached: F32 into F32, BF16/F16 copied as they are, and anything
// converted (or dequantized) through F32 into BF16 or F16. No entry points:
// only loading is fuzzed. Also: the checks every fuzzer runs on a model it
// built, and on a failure.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_FUZZ_FUZZMODEL_H
#define TFC_FUZZ_FUZZMODEL_H

#include "Internal.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

// Slots: 0 embedding [16, 4] F32; 1 scales stacked [2, 4] BF16; 2 mixes stacked
// [2, 4, 4] F16; 3 bias [16] BF16.
static const tfc_gen_slot kSlots[] = {
    {2, {16, 4}, 0, TFC_DTYPE_F32},
    {2, {2, 4}, 2, TFC_DTYPE_BF16},
    {3, {2, 4, 4}, 2, TFC_DTYPE_F16},
    {1, {16}, 0, TFC_DTYPE_BF16},
};

static const tfc_gen_weight kWeights[] = {
    {"model.embed_tokens.weight", 2, {16, 4}, 0, -1, 0},
    {"model.layers.0.scale.weight", 1, {4}, 1, 0, 1},
    {"model.layers.0.mix.weight", 2, {4, 4}, 2, 0, 0},
    {"model.layers.1.scale.weight", 1, {4}, 1, 1, 1},
    {"model.layers.1.mix.weight", 2, {4, 4}, 2, 1, 0},
    {"lm_head.bias", 1, {16}, 3, -1, 2},
};

extern "C" const tfc_gen_model __tfc_model = {
    TFC_GEN_ABI_VERSION,
    {TFC_ABI_VERSION, "fuzz", /*vocab_size=*/16, /*dim=*/4, /*n_layers=*/2, /*n_heads=*/1,
     /*n_kv_heads=*/1, /*head_dim=*/4, /*kv_latent_rank=*/0, /*max_seq=*/128,
     /*has_encoder=*/0, /*has_decoder=*/0, /*n_params=*/120, /*kv_cache_bytes_per_token=*/0,
     /*n_weights=*/6},
    kWeights,
    4,
    kSlots,
    0,
    nullptr,
    {},
    {},
};

/// Aborts unless the descriptor above passes the runtime's own check.
inline void checkFuzzDescriptor(const char *fuzzer) {
  if (!tfc::rt::checkDescriptor()) {
    std::fprintf(stderr, "%s: bad descriptor: %s\n", fuzzer, tfc_last_error());
    std::abort();
  }
}

/// Reads every byte the generated code would read of every slot's view (owned
/// or in place in the input): the whole view, or each layer's share of a
/// stacked one (whose layers may lie in different shards, with gaps between
/// them). A short copy or a view past the end of the input shows up under
/// ASan; a layer outside its view aborts.
inline void touchSlots(const char *fuzzer, const tfc_model &model) {
  volatile unsigned char sink = 0;
  auto touch = [&](const tfc_model::SlotView &view, int64_t first, int64_t count, size_t bytes) {
    const auto *base = static_cast<const unsigned char *>(view.base) + size_t(first) * bytes;
    for (size_t i = 0; i < size_t(count) * bytes; ++i)
      sink ^= base[i];
  };
  for (int32_t s = 0; s < int32_t(model.views.size()); ++s) {
    const tfc_model::SlotView &view = model.views[s];
    const size_t element = tfc::rt::dtypeBytes(kSlots[s].dtype);
    const int64_t share = tfc::rt::slotShareElements(kSlots[s]);
    if (view.layerOffsets.empty())
      touch(view, 0, view.elements, element);
    for (int64_t offset : view.layerOffsets) {
      if (offset < 0 || offset + share > view.elements) {
        std::fprintf(stderr, "%s: slot %d: a layer at %lld leaves its view\n", fuzzer, int(s),
                     (long long)offset);
        std::abort();
      }
      touch(view, offset, share, element);
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

#endif // TFC_FUZZ_FUZZMODEL_H
