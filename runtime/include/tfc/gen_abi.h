/*===- gen_abi.h - The internal contract between generated code and libtfcrt -===*
 *
 * A model.so is a tfc-generated object linked with the static runtime
 * (libtfcrt.a). The object defines one hidden symbol, `__tfc_model`, of type
 * tfc_gen_model: the static description of the model (the info block, the weight
 * manifest, how manifest entries map onto the generated functions' weight
 * buffers) and entry points for the generated `decoder` / `encoder` functions.
 * The runtime implements the public ABI (tfc.h) on top of it. This header is not
 * installed for users; the compiler's emitter (compiler/lib/Target) produces data
 * of exactly these layouts.
 *
 * Calling convention of a generated function: `entry(args)` where args[k] points
 * to the k-th argument as listed in tfc_gen_function.args. Memref arguments point
 * to a tfc_memref (MLIR's strided memref descriptor); scalar arguments
 * (TFC_ARG_POS) point to an int64_t. Version 2 added the activation arena
 * (TFC_ARG_ARENA, tfc_gen_function.arena_bytes). Version 3 passes a stacked
 * weight slot as a base buffer and a table of layer offsets
 * (TFC_ARG_LAYER_OFFSETS), so that its layers need not be side by side.
 * Version 4 added the batched decoder (tfc_gen_model.decoder_batch) and its
 * argument kinds TFC_ARG_SEGMENTS, TFC_ARG_CACHE_POOL and TFC_ARG_CACHE_OFFSETS.
 * Version 5 added tensor parallelism: tfc_gen_model.tensor_parallel and the
 * shard of each manifest entry (tfc_gen_weight.shard_dim, shard_parts).
 * Version 6 added the attention maps (tfc_gen_model.attention_maps and
 * attention_map_count, argument kind TFC_ARG_ATTENTION_MAPS; `tfc --emit-attention`).
 * Version 7 added the KV cache's element type (tfc_gen_cache.dtype, tfc --kv-type).
 * Version 8 added per-layer weight types (tfc_gen_slot.layer_dtypes, q4_k_m).
 *
 *===----------------------------------------------------------------------===*/
#ifndef TFC_GEN_ABI_H
#define TFC_GEN_ABI_H

#include <stdint.h>

#include "tfc/tfc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TFC_GEN_ABI_VERSION 9
#define TFC_MAX_RANK 8

/* MLIR's ranked memref descriptor {allocated, aligned, offset, sizes[r], strides[r]}
   for any rank r <= 8: sizes live in sizes_strides[0..r), strides in [r..2r). */
typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes_strides[2 * TFC_MAX_RANK];
} tfc_memref;

/* What an argument of a generated function is. */
enum {
  TFC_ARG_TOKENS = 0, /* memref<?xi32>: the token ids to run */
  TFC_ARG_MEMORY = 1, /* memref<?x{dim}xf32>: encoder output (cross-attention memory) */
  TFC_ARG_WEIGHT = 2, /* weight slot `index`: memref<{slot shape}x{slot dtype}>, or for a
                         stacked slot memref<?x{slot dtype}>, the base its layers are
                         found from (see TFC_ARG_LAYER_OFFSETS) */
  TFC_ARG_OUTPUT = 3, /* memref<?x{out_width}xf32>: logits or hidden states, one row per token */
  TFC_ARG_POS = 4,    /* int64_t: session position of the first token (KV cache) */
  TFC_ARG_CACHE = 5,  /* memref<{cache shape}xf32>: KV cache buffer `index` */
  TFC_ARG_ARENA = 6,  /* memref<?xi8>: the activations of the call, 64-byte aligned, at
                         least arena_bytes(args) bytes (see tfc_gen_function) */
  TFC_ARG_LAYER_OFFSETS = 7, /* memref<{layers}xi64> of stacked slot `index`: layer l is
                                the contiguous row-major tensor at element offsets[l] of
                                the slot's TFC_ARG_WEIGHT base (the argument before it) */
  /* The batched decoder (decoder_batch) runs the tokens of several sessions, one
     segment of consecutive rows of TOKENS and OUTPUT per session: */
  TFC_ARG_SEGMENTS = 8,   /* memref<?x3xi64>: per segment {first row, rows >= 1, session
                             position}; segments are in row order and cover every row */
  TFC_ARG_CACHE_POOL = 9, /* memref<?xf32> for KV cache buffer `index`: a base from which
                             every segment's session buffer is found (below); its size
                             is not read */
  TFC_ARG_CACHE_OFFSETS = 10, /* memref<?x{n_caches}xi64>: segment s's session buffer of
                                 cache j starts at element [s][j] of the pool of cache j */
  /* The attention maps function (attention_maps) writes instead of an OUTPUT: */
  TFC_ARG_ATTENTION_MAPS = 11, /* memref<{maps}x{heads}x?x?xf32>, [maps, heads, n, n] for n
                                  tokens: the softmax probabilities of query i over key j,
                                  per attention site (layer) and query head */
  TFC_ARG_KIND_COUNT = 12 /* number of kinds (the compiler checks its copy against it) */
};

typedef struct {
  int32_t kind;  /* TFC_ARG_* */
  int32_t index; /* weight slot or cache index; 0 otherwise */
} tfc_gen_arg;

/* Element types of weight buffers (`tfc --weight-type`). */
enum {
  TFC_DTYPE_F32 = 0,
  TFC_DTYPE_BF16 = 1, /* bfloat16, converted from the file's dtype at load */
  TFC_DTYPE_F16 = 2,  /* IEEE half */
  TFC_DTYPE_Q8_0 = 3, /* ggml's Q8_0 blocks along the last dim (a multiple of
                         TFC_Q8_0_BLOCK): each an f16 scale d, then 32 int8 q,
                         element value q * d; see below */
  TFC_DTYPE_Q4_0 = 4, /* ggml's Q4_0 blocks along the last dim (a multiple of
                         TFC_Q4_0_BLOCK): each an f16 scale d, then 16 bytes
                         whose low nibbles are elements 0..15 and high nibbles
                         elements 16..31, element value (nibble - 8) * d */
  TFC_DTYPE_Q6_K = 5, /* ggml's Q6_K super-blocks along the last dim (a multiple
                         of TFC_Q6_K_BLOCK = 256): 128 bytes of low 4 bits, 64 of
                         high 2 bits, 16 int8 sub-block scales, an f16 d;
                         element value (q - 32) * scale * d (ggml-common.h) */
  TFC_DTYPE_Q4_K = 6, /* ggml's Q4_K super-blocks along the last dim (a multiple
                         of TFC_Q4_K_BLOCK = 256): an f16 d, an f16 dmin, 12
                         bytes of 6-bit scales and mins of eight 32-element
                         sub-blocks, 128 bytes of nibbles (sub-blocks 2i and
                         2i + 1 in the low and high nibbles of bytes 32i..);
                         element value d * scale * q - dmin * min */
  TFC_DTYPE_Q5_K = 7, /* ggml's Q5_K super-blocks along the last dim (a multiple
                         of TFC_Q5_K_BLOCK = 256): Q4_K's d, dmin and 12 scale
                         bytes, then 32 bytes of fifth bits (element 64i + l
                         has bit 2i of byte l, 64i + 32 + l bit 2i + 1), then
                         Q4_K's 128 bytes of nibbles; element value
                         d * scale * q - dmin * min, q in 0..31 */
  TFC_DTYPE_COUNT = 8
};

/* A Q8_0 (Q4_0, Q6_K, Q4_K, Q5_K) slot of dims [..., k] is the memref<...x{k/32}x34xi8>
   (...x{k/32}x18xi8, ...x{k/256}x210xi8, ...x{k/256}x144xi8, ...x{k/256}x176xi8) of its bytes (row-major: the blocks of a row side by side, rows
   side by side); a stacked quantized slot's base is memref<?xi8> and its layer
   offsets count bytes. */
#define TFC_Q8_0_BLOCK 32
#define TFC_Q8_0_BLOCK_BYTES 34
#define TFC_Q4_0_BLOCK 32
#define TFC_Q4_0_BLOCK_BYTES 18
#define TFC_Q6_K_BLOCK 256
#define TFC_Q6_K_BLOCK_BYTES 210
#define TFC_Q4_K_BLOCK 256
#define TFC_Q4_K_BLOCK_BYTES 144
#define TFC_Q5_K_BLOCK 256
#define TFC_Q5_K_BLOCK_BYTES 176

/* How tfc_model_random fills a weight (tfc_gen_weight.init). */
enum {
  TFC_INIT_RANDOM = 0, /* uniform in [-a, a], a = 1/sqrt(the last dim) */
  TFC_INIT_ONES = 1,   /* norm scales */
  TFC_INIT_ZEROS = 2,  /* biases */
  TFC_INIT_COUNT = 3
};

/* A weight slot as the generated code sees it: row-major, contiguous, of element
   type `dtype`, aligned to its element size (64 bytes when the runtime owns it; a
   slot whose tensors the file holds in its dtype is used in place from the file's
   mapping). A stacked
   slot (layers > 0) holds one per-layer manifest tensor per index of its leading
   dim; each layer is contiguous, but the layers are wherever the layer offsets
   put them (side by side, l * elements of a layer, when the runtime owns the
   slot; where the file has them when used in place). */
typedef struct {
  int32_t rank;
  int64_t dims[TFC_MAX_RANK];
  int32_t layers; /* 0: not stacked; else dims[0] == layers */
  int32_t dtype;  /* TFC_DTYPE_* */
  /* NULL, or for a stacked slot of K-quants one TFC_DTYPE_Q6_K / _Q5_K / _Q4_K per
     entry: the type of that layer, which then takes its own type's bytes (the
     layer offsets, in bytes, say where each one is). `dtype` is then the
     mixture's base type (--weight-type=q4_k_m). */
  const int32_t *layer_dtypes;
} tfc_gen_slot;

/* One manifest entry: a tensor of the safetensors file. */
typedef struct {
  const char *name; /* e.g. "model.layers.3.self_attn.q_proj.weight" */
  int32_t rank;
  int64_t dims[TFC_MAX_RANK]; /* the whole tensor, as the file holds it */
  int32_t slot;  /* weight buffer holding it (its rank's shard when sharded) */
  int32_t layer; /* index along the slot's leading dim; -1 when the slot is not stacked */
  int32_t init;  /* TFC_INIT_*: how tfc_model_random fills it */
  /* Tensor parallelism (tfc_gen_model.tensor_parallel = R > 1): with
     shard_parts = P > 0 and shard_dim = d >= 0, the tensor is cut into P equal
     parts of ceil(dims[d] / P) along dims[d] and rank r holds part r * P / R
     (P == R: one part per rank; P < R: a part replicated on R / P ranks);
     when P does not divide dims[d] the last parts run past the tensor's end
     and the rows past it are zeros (a vocabulary the ranks do not divide);
     with shard_dim = TFC_SHARD_RANK_ZERO, rank 0 holds the tensor and the
     others zeros (a bias added after a sum over ranks); with shard_dim =
     TFC_SHARD_EXPERTS, the entry (one expert of a mixture of experts) is held
     whole by the ranks of part shard_index (rank r when r * P / R ==
     shard_index) at index `layer` of their slot, and by no other rank, which
     neither maps nor copies it. shard_parts = 0: every rank holds it all. */
  int32_t shard_dim;
  int32_t shard_parts;
  int32_t shard_index; /* the part holding the entry (TFC_SHARD_EXPERTS), else 0 */
  /* With shard_dim = d >= 0: S = shard_segments > 1 cuts dims[d] into S equal
     segments first, each of them cut into the P parts as above (none padded),
     and rank r holds its part of every segment, in order (a fused q/k/v
     projection: its heads' q rows, then k rows, then v rows). 0: one segment. */
  int32_t shard_segments;
} tfc_gen_weight;

#define TFC_SHARD_RANK_ZERO (-1)
#define TFC_SHARD_EXPERTS (-2)

/* A KV cache buffer (TFC_ARG_CACHE) each session allocates: zero-initialized, exactly
   of shape dims (static in the generated code; dims[seq_dim] == max_seq, or the window
   W < max_seq of a rolling cache, which keeps position p in slot p mod W), of element
   type dtype (tfc --kv-type): TFC_DTYPE_F32, TFC_DTYPE_BF16, or TFC_DTYPE_Q8_0, whose
   last dim counts the bytes of the Q8_0 blocks of a row (34 per 32 values), so the
   buffer is memref<...xi8>. The pools and offsets of the batched decoder count
   elements of that type (bytes for Q8_0). */
typedef struct {
  int32_t rank;
  int64_t dims[TFC_MAX_RANK];
  int32_t seq_dim;
  int32_t dtype; /* TFC_DTYPE_F32, _BF16 or _Q8_0 */
} tfc_gen_cache;

typedef struct {
  void (*entry)(void **args); /* NULL when the model has no such function */
  int32_t n_args;
  const tfc_gen_arg *args;
  int32_t out_width;  /* columns of the TFC_ARG_OUTPUT memref: vocab or dim */
  int32_t stateful;   /* 1: takes TFC_ARG_POS and caches, runs only new tokens;
                         0: recomputes the whole token history each call */
  /* With a TFC_ARG_ARENA argument: the bytes the arena must hold for a call with
     these arguments (only the sizes of the memref arguments and the position are
     read; the arena argument itself is not). The function's temporaries live in
     the arena at offsets planned at compile time (tfc-plan-activations), so the
     call allocates nothing; the caller owns the arena and must not share it
     between concurrent calls. NULL when the function takes no arena. */
  int64_t (*arena_bytes)(void **args);
} tfc_gen_function;

typedef struct {
  int32_t gen_abi_version; /* TFC_GEN_ABI_VERSION */
  tfc_model_info info;     /* info.n_weights == number of entries of `weights` */
  const tfc_gen_weight *weights;
  int32_t n_slots;
  const tfc_gen_slot *slots;
  int32_t n_caches;
  const tfc_gen_cache *caches;
  tfc_gen_function decoder;
  tfc_gen_function encoder;
  /* Optional (entry NULL when absent): the decoder computing only the last
     token's logits (OUTPUT is [1, vocab]), called when all_logits == 0; same
     arguments and caches as `decoder`. */
  tfc_gen_function decoder_last;
  /* Optional (entry NULL when absent): the stateful decoder over several
     sessions at once (TFC_ARG_SEGMENTS), one output row per token; the linear
     layers see every row of the call, attention each segment against its own
     session's caches (TFC_ARG_CACHE_POOL, TFC_ARG_CACHE_OFFSETS) at its own
     position. Each segment computes exactly what `decoder` computes for its
     session alone. */
  tfc_gen_function decoder_batch;
  /* The number of ranks (MPI processes) the model was compiled for
     (--tensor-parallel); 1 (or 0) for a single process. The generated code of a
     model with R > 1 calls the collectives below, which the MPI variant of
     the runtime (libtfcrt_mpi.a) defines. */
  int32_t tensor_parallel;
  /* Optional (entry NULL unless compiled with `tfc --emit-attention`): runs n
     tokens from position 0 without a KV cache (stateless, TOKENS, the weights,
     ATTENTION_MAPS, ARENA) and writes the attention probabilities of every
     attention site, `attention_map_count` of them (the layers' self-attention in
     order), for out_width query heads. The decoder's when it runs on tokens
     alone, else the encoder's. */
  tfc_gen_function attention_maps;
  int32_t attention_map_count; /* 0 without attention_maps */
} tfc_gen_model;

/* Collectives the generated code of a tensor-parallel model calls; buffers are
   MLIR memref descriptors expanded into arguments (allocated, aligned, offset,
   sizes[2], strides[2]) of row-major [rows, cols] f32 matrices. */
/* In place: data becomes the sum over ranks (MPI_Allreduce, MPI_SUM). */
void __tfc_all_reduce_f32(float *allocated, float *aligned, int64_t offset, int64_t rows,
                          int64_t cols, int64_t row_stride, int64_t col_stride);
/* dst[:, r*c:(r+1)*c] = src of rank r (MPI_Allgather), c the width of src: the
   logits of the vocabulary-parallel output head. With tfc_logits_rank(k), k >= 0,
   only rank k receives them (MPI_Gather) and the others' dst is NaN. */
void __tfc_all_gather_f32(float *src_allocated, float *src_aligned, int64_t src_offset,
                          int64_t src_rows, int64_t src_cols, int64_t src_row_stride,
                          int64_t src_col_stride, float *dst_allocated, float *dst_aligned,
                          int64_t dst_offset, int64_t dst_rows, int64_t dst_cols,
                          int64_t dst_row_stride, int64_t dst_col_stride);

/* This process's rank, 0 to ranks - 1: where its shard of a vocabulary-split
   embedding table starts (attn.embedding vocab_parts). */
int64_t __tfc_rank_index(void);

/* Defined by the generated object with hidden visibility. */
extern const tfc_gen_model __tfc_model;

#ifdef __cplusplus
}
#endif

#endif /* TFC_GEN_ABI_H */
