//===- FuzzModel.h - The model descriptor the loader fuzzers load into ----===//
//
// Each loader fuzzer (safetensors, GGUF, sharded index) defines `__tfc_model`
// by including this header once: the weights of test/Runtime/Inputs/
// fake_model.c (so the files the runtime tests write are good seeds), but with
// its slots in all three dtypes, so that every conversion path of the loader
// is reached: F32 into F32, BF16/F16 copied as they are, and anything
// converted (or dequantized) through F32 into BF16 or F16. No entry points:
// only loading is fuzzed. The checks on what the loader builds are
// FuzzLoader.h's; quantized_fuzzer.cpp has the quantized slots.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_FUZZ_FUZZMODEL_H
#define TFC_FUZZ_FUZZMODEL_H

#include "FuzzLoader.h"

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

#endif // TFC_FUZZ_FUZZMODEL_H
