//===- safetensors_fuzzer.cpp - libFuzzer target of the safetensors loader -===//
//
// Feeds every input, as the bytes of a whole safetensors file, to the runtime's
// loader (tfc::rt::loadSafetensorsBytes, the function tfc_model_load runs once
// the file is mapped) against the descriptor below. The loader must either build
// a model or set an error; ASan/UBSan and libFuzzer report anything else. The
// runtime's sources are compiled into this binary with the fuzzer flags (see
// fuzz/CMakeLists.txt); libtfcrt.a itself is never instrumented.
//
// The descriptor asks for the weights of test/Runtime/Inputs/fake_model.c (so the
// files test/Runtime/Inputs/safetensors_gen.py writes are good seeds) but keeps
// its slots in all three dtypes, so that every conversion path of the loader is
// reached: F32 into F32, BF16/F16 copied as they are, and anything converted
// through F32 into BF16 or F16, and each input is loaded twice, copied and in
// place (as from a mapped file). It has no entry points: only loading is fuzzed.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  if (!tfc::rt::checkDescriptor()) {
    std::fprintf(stderr, "safetensors_fuzzer: bad descriptor: %s\n", tfc_last_error());
    std::abort();
  }
  return 0;
}

/// Reads every byte of every slot's view (owned or in place in `data`), so that
/// a short copy or a view past the end of the file shows up under ASan, and
/// checks that each layer of a stacked slot lies inside its view.
static void touchSlots(const tfc_model &model) {
  volatile unsigned char sink = 0;
  for (int32_t s = 0; s < int32_t(model.views.size()); ++s) {
    const tfc_model::SlotView &view = model.views[s];
    const size_t bytes = size_t(view.elements) * tfc::rt::dtypeBytes(kSlots[s].dtype);
    for (size_t i = 0; i < bytes; ++i)
      sink ^= static_cast<const unsigned char *>(view.base)[i];
    for (int64_t offset : view.layerOffsets)
      if (offset < 0 || offset + tfc::rt::slotShareElements(kSlots[s]) > view.elements) {
        std::fprintf(stderr, "safetensors_fuzzer: slot %d: a layer at %lld leaves its view\n",
                     int(s), (long long)offset);
        std::abort();
      }
  }
  (void)sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Twice: copying every tensor, then as from a mapped file (an owner keeps
  // the bytes alive), where tensors already in their slot's type are used in
  // place. libFuzzer's input is a heap block of exactly `size` bytes, so ASan
  // sees a view that reaches past the file.
  for (bool inPlace : {false, true}) {
    tfc::rt::setError("%s", ""); // so that a failure without a message is seen
    std::shared_ptr<const void> owner;
    if (inPlace)
      owner = std::shared_ptr<const void>(data, [](const void *) {});
    tfc_model *model = tfc::rt::guarded<tfc_model *>(nullptr, [&] {
      return tfc::rt::loadSafetensorsBytes("fuzz.safetensors", data, size, owner);
    });
    if (model) {
      touchSlots(*model);
      tfc_model_free(model);
    } else if (tfc_last_error()[0] == '\0') {
      std::fprintf(stderr, "safetensors_fuzzer: load failed without an error message\n");
      std::abort();
    }
  }
  return 0;
}
