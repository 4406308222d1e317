/*===- quantized_model.c - A descriptor whose weight slots are ggml blocks --===*
 *
 * Defines `__tfc_model` (gen_abi.h) with quantized slots only, the shapes the
 * smallest blocks allow, and no entry points: a model to load, not to run. It
 * reaches the loader's quantized paths that fake_model.c's F32/BF16/F16 slots
 * never do: blocks of the slot's type used in place from the file or copied;
 * blocks of another type dequantized and quantized again; F32, F16 and BF16
 * quantized at load (Q8_0, Q4_K, Q6_K); a stacked slot with a type per layer
 * (--weight-type=q4_k_m: Q6_K then Q4_K, layer offsets in bytes); and the
 * matrices `base[j]` of a file tensor [experts, rows, cols] (docs/tdsl.md,
 * "moe") in a Q8_0 slot.
 *
 * Compiled with the runtime into a model.so (test/Fuzz/quantized-corpus.test)
 * and included by fuzz/quantized_fuzzer.cpp, so the fuzzer and the replay of
 * its seeds load into the same descriptor. The seeds, good files of every
 * path above: test/Runtime/Inputs/gguf_gen.py quantized DIR.
 *
 * Slots:
 *   0 model.q8.weight                [2, 64]     Q8_0 (two blocks a row)
 *   1 model.layers.{0,1}.q4k.weight  [2, 2, 256] Q4_K, stacked
 *   2 model.layers.{0,1}.mix.weight  [2, 1, 256] Q6_K in layer 0, Q4_K in layer 1
 *   3 model.experts.weight[{0,1}]    [2, 2, 32]  Q8_0, stacked: the two matrices
 *                                                of the file's [2, 2, 32] tensor
 *
 *===----------------------------------------------------------------------===*/
#include "tfc/gen_abi.h"

static const int32_t kMixLayerTypes[] = {TFC_DTYPE_Q6_K, TFC_DTYPE_Q4_K};

static const tfc_gen_slot kQuantizedSlots[] = {
    {2, {2, 64}, 0, TFC_DTYPE_Q8_0, 0},
    {3, {2, 2, 256}, 2, TFC_DTYPE_Q4_K, 0},
    {3, {2, 1, 256}, 2, TFC_DTYPE_Q4_K, kMixLayerTypes},
    {3, {2, 2, 32}, 2, TFC_DTYPE_Q8_0, 0},
};

/* name, rank, dims, slot, layer, init (shard_dim, shard_parts, shard_index, shard_segments: 0) */
static const tfc_gen_weight kQuantizedWeights[] = {
    {"model.q8.weight", 2, {2, 64}, 0, -1, TFC_INIT_RANDOM, 0, 0, 0, 0},
    {"model.layers.0.q4k.weight", 2, {2, 256}, 1, 0, TFC_INIT_RANDOM, 0, 0, 0, 0},
    {"model.layers.1.q4k.weight", 2, {2, 256}, 1, 1, TFC_INIT_RANDOM, 0, 0, 0, 0},
    {"model.layers.0.mix.weight", 2, {1, 256}, 2, 0, TFC_INIT_RANDOM, 0, 0, 0, 0},
    {"model.layers.1.mix.weight", 2, {1, 256}, 2, 1, TFC_INIT_RANDOM, 0, 0, 0, 0},
    {"model.experts.weight[0]", 2, {2, 32}, 3, 0, TFC_INIT_RANDOM, 0, 0, 0, 0},
    {"model.experts.weight[1]", 2, {2, 32}, 3, 1, TFC_INIT_RANDOM, 0, 0, 0, 0},
};

/* Positional, so that C and C++ (the fuzzer) read it alike; the entry points
   and everything after n_weights stay zero. */
const tfc_gen_model __tfc_model = {
    TFC_GEN_ABI_VERSION,
    {TFC_ABI_VERSION, "quantized", /*vocab_size=*/2, /*dim=*/64, /*n_layers=*/2,
     /*n_heads=*/1, /*n_kv_heads=*/1, /*head_dim=*/64, /*kv_latent_rank=*/0, /*max_seq=*/16,
     /*has_encoder=*/0, /*has_decoder=*/0, /*n_params=*/1792,
     /*kv_cache_bytes_per_token=*/0, /*n_weights=*/7},
    kQuantizedWeights,
    4,
    kQuantizedSlots,
};
