/*===- fake_model.c - A hand-written stand-in for a tfc-generated object ---===*
 *
 * Defines `__tfc_model` (gen_abi.h) the way the compiler's emitter will, for a
 * tiny model, so the runtime can be tested without the compiler. One source,
 * five variants chosen with -D:
 *
 *   (default)          stateless decoder: recomputes the whole history per call
 *   -DFAKE_STATEFUL    stateful decoder with a KV-cache-like buffer [layers, max_seq, dim]
 *                      and its activations in an arena (TFC_ARG_ARENA)
 *   -DFAKE_ENCODER     encoder only
 *   -DFAKE_ENCDEC      encoder + stateless decoder that reads the encoder memory
 *   -DFAKE_PROBE       decoder whose every output row is the concatenation of its
 *                      weight buffers (vocab = 120 = all weight elements): shows where
 *                      the runtime put each manifest tensor
 *
 * Model (vocab 16, dim 4, 2 layers, max_seq 128), with E the embedding [16, 4],
 * S[l] a per-layer scale [4], M[l] a per-layer mix [4, 4], B a bias [16]:
 *
 *   x0[t]   = E[tok_t] + 0.125 t  (+ mean of the encoder memory rows, FAKE_ENCDEC)
 *   c_l[t]  = mean_{s <= t} x_l[s]                    (causal "attention")
 *   x_l+1[t] = x_l[t] * S[l] + M[l] c_l[t]
 *   logits[t][v] = x_2[t] . E[v] + B[v]              (E used twice: tied lm_head)
 *   encoder: y[t] = E[tok_t] * S[0] + mean_s E[tok_s]  (bidirectional)
 *
 * Slots: 0 E [16, 4]; 1 S stacked [2, 4]; 2 M stacked [2, 4, 4]; 3 B [16]. A
 * stacked slot comes as two arguments, its base and its layer offsets (gen ABI
 * 3), and is gathered into a contiguous local copy before use.
 * The stateless and stateful variants share the arithmetic helpers, so they give
 * bit-identical logits (build with -ffp-contract=off). Every function checks the
 * memref descriptors it receives against gen_abi.h and writes NaN everywhere when
 * one is wrong, which the tests detect.
 *
 *===----------------------------------------------------------------------===*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tfc/gen_abi.h"

#define VOCAB 16
#define DIM 4
#define LAYERS 2
#define MAX_SEQ 128
#define PROBE_WIDTH (VOCAB * DIM + LAYERS * DIM + LAYERS * DIM * DIM + VOCAB)

#if defined(FAKE_PROBE)
#define OUT_VOCAB PROBE_WIDTH
#else
#define OUT_VOCAB VOCAB
#endif

/*--- descriptor checks ------------------------------------------------------*/

static int aligned64(const void *p) { return ((uintptr_t)p & 63) == 0; }

/* A contiguous row-major memref of the given rank; sizes[i] < 0 means "any". */
static int memref_ok(const tfc_memref *m, int rank, const int64_t *sizes) {
  if (!m || !m->aligned || m->allocated != m->aligned || m->offset != 0)
    return 0;
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    if (sizes[d] >= 0 && m->sizes_strides[d] != sizes[d])
      return 0;
    if (m->sizes_strides[rank + d] != stride)
      return 0;
    stride *= m->sizes_strides[d];
  }
  return 1;
}

/* Owned weight buffers are 64-byte aligned; weights used in place from the
   file's mapping only to their element size (gen_abi.h). Slots 0 and 3. */
static int weight_ok(const tfc_memref *m, int slot) {
  static const int64_t dims[4][2] = {{VOCAB, DIM}, {0}, {0}, {VOCAB}};
  static const int ranks[4] = {2, 0, 0, 1};
  return memref_ok(m, ranks[slot], dims[slot]) && ((uintptr_t)m->aligned % sizeof(float)) == 0;
}

/* Gathers stacked slot `slot` (1: S, 2: M) from its base (memref<?xf32>) and
   layer offsets (memref<LAYERS x i64>) arguments into `dst`, layer after layer.
   0 when a descriptor is wrong or a layer lies outside the base. */
static int gather_layers(void *base_arg, void *offsets_arg, int slot, float *dst) {
  const tfc_memref *base = base_arg, *offsets = offsets_arg;
  int64_t any[1] = {-1}, layers[1] = {LAYERS};
  int64_t share = slot == 1 ? DIM : DIM * DIM;
  if (!memref_ok(base, 1, any) || !memref_ok(offsets, 1, layers) ||
      ((uintptr_t)base->aligned % sizeof(float)) != 0)
    return 0;
  const int64_t *offset = offsets->aligned;
  for (int l = 0; l < LAYERS; ++l) {
    if (offset[l] < 0 || offset[l] + share > base->sizes_strides[0])
      return 0;
    memcpy(dst + l * share, (const float *)base->aligned + offset[l], share * sizeof(float));
  }
  return 1;
}

static void poison(tfc_memref *out) {
  int64_t n = out->sizes_strides[0] * out->sizes_strides[1];
  float *o = (float *)out->aligned;
  for (int64_t i = 0; i < n; ++i)
    o[i] = NAN;
}

/*--- shared arithmetic --------------------------------------------------------*/

static __attribute__((unused)) void mean_rows(const float *rows, int64_t count, float *c) {
  for (int d = 0; d < DIM; ++d) {
    float sum = 0.0f;
    for (int64_t s = 0; s < count; ++s)
      sum += rows[s * DIM + d];
    c[d] = sum / (float)count;
  }
}

static __attribute__((unused)) void embed(const float *E, int32_t tok, int64_t t, const float *memMean, float *x) {
  for (int d = 0; d < DIM; ++d)
    x[d] = E[tok * DIM + d] + 0.125f * (float)t + (memMean ? memMean[d] : 0.0f);
}

static __attribute__((unused)) void layer(const float *S, const float *M, int l, const float *x, const float *c,
                  float *y) {
  for (int i = 0; i < DIM; ++i) {
    float acc = x[i] * S[l * DIM + i];
    for (int j = 0; j < DIM; ++j)
      acc += M[(l * DIM + i) * DIM + j] * c[j];
    y[i] = acc;
  }
}

static __attribute__((unused)) void head(const float *E, const float *B, const float *x, float *logits) {
  for (int v = 0; v < VOCAB; ++v) {
    float acc = B[v];
    for (int d = 0; d < DIM; ++d)
      acc += x[d] * E[v * DIM + d];
    logits[v] = acc;
  }
}

/*--- decoder ------------------------------------------------------------------*/

#if defined(FAKE_PROBE)

/* args: tokens, W0, W1 base, W1 offsets, W2 base, W2 offsets, W3, W0 again (tied),
   output */
static void decoder_entry(void **args) {
  tfc_memref *tok = args[0], *out = args[8];
  int64_t any[2] = {-1, OUT_VOCAB};
  if (!memref_ok(out, 2, any))
    return; /* nothing safe to write */
  float S[LAYERS * DIM], M[LAYERS * DIM * DIM];
  int ok = memref_ok(tok, 1, any) && args[1] != args[7] &&
           ((tfc_memref *)args[1])->aligned == ((tfc_memref *)args[7])->aligned &&
           weight_ok(args[1], 0) && gather_layers(args[2], args[3], 1, S) &&
           gather_layers(args[4], args[5], 2, M) && weight_ok(args[6], 3) &&
           weight_ok(args[7], 0);
  if (!ok) {
    poison(out);
    return;
  }
  const float *buffers[4] = {((tfc_memref *)args[1])->aligned, S, M,
                             ((tfc_memref *)args[6])->aligned};
  static const int64_t sizes[4] = {VOCAB * DIM, LAYERS * DIM, LAYERS * DIM * DIM, VOCAB};
  float *o = (float *)out->aligned;
  for (int64_t t = 0; t < out->sizes_strides[0]; ++t) {
    float *row = o + t * OUT_VOCAB;
    for (int s = 0; s < 4; ++s) {
      memcpy(row, buffers[s], sizes[s] * sizeof(float));
      row += sizes[s];
    }
  }
}
static const tfc_gen_arg decoder_args[] = {
    {TFC_ARG_TOKENS, 0}, {TFC_ARG_WEIGHT, 0}, {TFC_ARG_WEIGHT, 1}, {TFC_ARG_LAYER_OFFSETS, 1},
    {TFC_ARG_WEIGHT, 2}, {TFC_ARG_LAYER_OFFSETS, 2}, {TFC_ARG_WEIGHT, 3}, {TFC_ARG_WEIGHT, 0},
    {TFC_ARG_OUTPUT, 0}};
#define DECODER_STATEFUL 0

#elif defined(FAKE_STATEFUL)

/* The activation arena (TFC_ARG_ARENA) of the stateful decoder: the x vectors
   of the new tokens and, like attention scores, one float per cached row; the
   entry fills all of it, so an arena smaller than this shows under ASan and a
   reused one must not leak into the results. args as for decoder_entry. */
static int64_t decoder_arena_bytes(void **args) {
  int64_t n = ((tfc_memref *)args[0])->sizes_strides[0];
  int64_t pos = *(int64_t *)args[1];
  return (n * DIM + pos + n) * (int64_t)sizeof(float);
}

/* args: tokens, pos, W0, W1 base, W1 offsets, cache 0, W2 base, W2 offsets, W3,
   W0 (tied), output, arena */
static void decoder_entry(void **args) {
  tfc_memref *tok = args[0], *cache = args[5], *out = args[10], *arena = args[11];
  int64_t pos = *(int64_t *)args[1];
  int64_t any[1] = {-1}, outSizes[2] = {-1, VOCAB};
  int64_t cacheDims[3] = {LAYERS, MAX_SEQ, DIM};
  if (!memref_ok(out, 2, outSizes))
    return;
  int64_t n = tok->sizes_strides[0];
  int64_t need = decoder_arena_bytes(args);
  float S[LAYERS * DIM], M[LAYERS * DIM * DIM];
  if (!memref_ok(tok, 1, any) || out->sizes_strides[0] != n || pos < 0 ||
      pos + n > MAX_SEQ || !memref_ok(cache, 3, cacheDims) || !aligned64(cache->aligned) ||
      !weight_ok(args[2], 0) || !gather_layers(args[3], args[4], 1, S) ||
      !gather_layers(args[6], args[7], 2, M) || !weight_ok(args[8], 3) ||
      !weight_ok(args[9], 0) || !memref_ok(arena, 1, any) || !aligned64(arena->aligned) ||
      arena->sizes_strides[0] < need) {
    poison(out);
    return;
  }
  /* Garbage first: the results may depend on nothing the arena held before. */
  memset(arena->aligned, 0x7f, (size_t)need);
  float *xs = arena->aligned, *scores = xs + n * DIM;
  const int32_t *tokens = tok->aligned;
  const float *E = ((tfc_memref *)args[2])->aligned, *B = ((tfc_memref *)args[8])->aligned;
  const float *E2 = ((tfc_memref *)args[9])->aligned;
  float *K = cache->aligned, *o = out->aligned;
  for (int64_t t = 0; t < n; ++t) {
    int64_t p = pos + t;
    float *x = xs + t * DIM, c[DIM], y[DIM];
    embed(E, tokens[t], p, NULL, x);
    for (int l = 0; l < LAYERS; ++l) {
      float *rows = K + (int64_t)l * MAX_SEQ * DIM;
      memcpy(rows + p * DIM, x, DIM * sizeof(float));
      scores[p] = 0.0f;
      mean_rows(rows, p + 1, c);
      layer(S, M, l, x, c, y);
      memcpy(x, y, DIM * sizeof(float));
    }
    head(E2, B, x, o + t * VOCAB);
  }
}
static const tfc_gen_arg decoder_args[] = {
    {TFC_ARG_TOKENS, 0}, {TFC_ARG_POS, 0},    {TFC_ARG_WEIGHT, 0}, {TFC_ARG_WEIGHT, 1},
    {TFC_ARG_LAYER_OFFSETS, 1}, {TFC_ARG_CACHE, 0}, {TFC_ARG_WEIGHT, 2},
    {TFC_ARG_LAYER_OFFSETS, 2}, {TFC_ARG_WEIGHT, 3}, {TFC_ARG_WEIGHT, 0}, {TFC_ARG_OUTPUT, 0},
    {TFC_ARG_ARENA, 0}};
static const tfc_gen_cache caches[] = {{3, {LAYERS, MAX_SEQ, DIM}, 1}};
#define DECODER_STATEFUL 1
#define DECODER_ARENA decoder_arena_bytes

#elif !defined(FAKE_ENCODER)

/* Stateless. args: tokens, W0, W1 base, W1 offsets, W2 base, W2 offsets, W3,
   W0 (tied), [memory,] output */
static void decoder_entry(void **args) {
  tfc_memref *tok = args[0];
#if defined(FAKE_ENCDEC)
  tfc_memref *mem = args[8], *out = args[9];
#else
  tfc_memref *out = args[8];
#endif
  int64_t any[1] = {-1}, outSizes[2] = {-1, VOCAB};
  if (!memref_ok(out, 2, outSizes))
    return;
  int64_t T = tok->sizes_strides[0];
  float S[LAYERS * DIM], M[LAYERS * DIM * DIM];
  int ok = memref_ok(tok, 1, any) && out->sizes_strides[0] == T && T >= 1 && T <= MAX_SEQ &&
           weight_ok(args[1], 0) && gather_layers(args[2], args[3], 1, S) &&
           gather_layers(args[4], args[5], 2, M) && weight_ok(args[6], 3) &&
           weight_ok(args[7], 0);
  const float *memMean = NULL;
#if defined(FAKE_ENCDEC)
  float mm[DIM];
  int64_t memSizes[2] = {-1, DIM};
  ok = ok && memref_ok(mem, 2, memSizes) && mem->sizes_strides[0] >= 1;
  if (ok) {
    mean_rows(mem->aligned, mem->sizes_strides[0], mm);
    memMean = mm;
  }
#endif
  if (!ok) {
    poison(out);
    return;
  }
  const int32_t *tokens = tok->aligned;
  const float *E = ((tfc_memref *)args[1])->aligned, *B = ((tfc_memref *)args[6])->aligned;
  const float *E2 = ((tfc_memref *)args[7])->aligned;
  float xs[MAX_SEQ][DIM], ys[MAX_SEQ][DIM];
  for (int64_t t = 0; t < T; ++t)
    embed(E, tokens[t], t, memMean, xs[t]);
  for (int l = 0; l < LAYERS; ++l) {
    for (int64_t t = 0; t < T; ++t) {
      float c[DIM];
      mean_rows(&xs[0][0], t + 1, c);
      layer(S, M, l, xs[t], c, ys[t]);
    }
    memcpy(xs, ys, sizeof(float) * DIM * T);
  }
  for (int64_t t = 0; t < T; ++t)
    head(E2, B, xs[t], (float *)out->aligned + t * VOCAB);
}
#if defined(FAKE_ENCDEC)
static const tfc_gen_arg decoder_args[] = {
    {TFC_ARG_TOKENS, 0}, {TFC_ARG_WEIGHT, 0}, {TFC_ARG_WEIGHT, 1}, {TFC_ARG_LAYER_OFFSETS, 1},
    {TFC_ARG_WEIGHT, 2}, {TFC_ARG_LAYER_OFFSETS, 2}, {TFC_ARG_WEIGHT, 3}, {TFC_ARG_WEIGHT, 0},
    {TFC_ARG_MEMORY, 0}, {TFC_ARG_OUTPUT, 0}};
#else
static const tfc_gen_arg decoder_args[] = {
    {TFC_ARG_TOKENS, 0}, {TFC_ARG_WEIGHT, 0}, {TFC_ARG_WEIGHT, 1}, {TFC_ARG_LAYER_OFFSETS, 1},
    {TFC_ARG_WEIGHT, 2}, {TFC_ARG_LAYER_OFFSETS, 2}, {TFC_ARG_WEIGHT, 3}, {TFC_ARG_WEIGHT, 0},
    {TFC_ARG_OUTPUT, 0}};
#endif
#define DECODER_STATEFUL 0
#endif

/*--- encoder ------------------------------------------------------------------*/

#if defined(FAKE_ENCODER) || defined(FAKE_ENCDEC)
/* args: tokens, W0, output, W1 base, W1 offsets */
static void encoder_entry(void **args) {
  tfc_memref *tok = args[0], *out = args[2];
  float S[LAYERS * DIM];
  int64_t any[1] = {-1}, outSizes[2] = {-1, DIM};
  if (!memref_ok(out, 2, outSizes))
    return;
  int64_t n = tok->sizes_strides[0];
  if (!memref_ok(tok, 1, any) || out->sizes_strides[0] != n || n < 1 || n > MAX_SEQ ||
      !weight_ok(args[1], 0) || !gather_layers(args[3], args[4], 1, S)) {
    poison(out);
    return;
  }
  const int32_t *tokens = tok->aligned;
  const float *E = ((tfc_memref *)args[1])->aligned;
  float rows[MAX_SEQ][DIM], mean[DIM];
  for (int64_t t = 0; t < n; ++t)
    memcpy(rows[t], E + tokens[t] * DIM, sizeof(rows[t]));
  mean_rows(&rows[0][0], n, mean);
  float *o = out->aligned;
  for (int64_t t = 0; t < n; ++t)
    for (int d = 0; d < DIM; ++d)
      o[t * DIM + d] = rows[t][d] * S[d] + mean[d];
}
static const tfc_gen_arg encoder_args[] = {
    {TFC_ARG_TOKENS, 0}, {TFC_ARG_WEIGHT, 0}, {TFC_ARG_OUTPUT, 0}, {TFC_ARG_WEIGHT, 1},
    {TFC_ARG_LAYER_OFFSETS, 1}};
#endif

/*--- the descriptor -----------------------------------------------------------*/

static const tfc_gen_weight weights[] = {
    {"model.embed_tokens.weight", 2, {VOCAB, DIM}, 0, -1, 0},
    {"model.layers.0.scale.weight", 1, {DIM}, 1, 0, 1},
    {"model.layers.0.mix.weight", 2, {DIM, DIM}, 2, 0, 0},
    {"model.layers.1.scale.weight", 1, {DIM}, 1, 1, 1},
    {"model.layers.1.mix.weight", 2, {DIM, DIM}, 2, 1, 0},
    {"lm_head.bias", 1, {VOCAB}, 3, -1, 2},
};

static const tfc_gen_slot slots[] = {
    {2, {VOCAB, DIM}, 0},
    {2, {LAYERS, DIM}, LAYERS},
    {3, {LAYERS, DIM, DIM}, LAYERS},
    {1, {VOCAB}, 0},
};

#ifndef DECODER_ARENA
#define DECODER_ARENA NULL
#endif
#if defined(FAKE_ENCODER)
#define HAS_DECODER 0
#else
#define HAS_DECODER 1
#endif
#if defined(FAKE_ENCODER) || defined(FAKE_ENCDEC)
#define HAS_ENCODER 1
#else
#define HAS_ENCODER 0
#endif

__attribute__((visibility("hidden"))) const tfc_gen_model __tfc_model = {
    .gen_abi_version = TFC_GEN_ABI_VERSION,
    .info = {.abi_version = TFC_ABI_VERSION,
             .name = "fake",
             .vocab_size = OUT_VOCAB,
             .dim = DIM,
             .n_layers = LAYERS,
             .n_heads = 1,
             .n_kv_heads = 1,
             .head_dim = DIM,
             .kv_latent_rank = 0,
             .max_seq = MAX_SEQ,
             .has_encoder = HAS_ENCODER,
             .has_decoder = HAS_DECODER,
             .n_params = PROBE_WIDTH,
#if defined(FAKE_STATEFUL)
             .kv_cache_bytes_per_token = LAYERS * DIM * 4,
#endif
             .n_weights = sizeof(weights) / sizeof(weights[0])},
    .weights = weights,
    .n_slots = sizeof(slots) / sizeof(slots[0]),
    .slots = slots,
#if defined(FAKE_STATEFUL)
    .n_caches = 1,
    .caches = caches,
#endif
#if HAS_DECODER
    .decoder = {decoder_entry, sizeof(decoder_args) / sizeof(decoder_args[0]), decoder_args,
                OUT_VOCAB, DECODER_STATEFUL, DECODER_ARENA},
#endif
#if HAS_ENCODER
    .encoder = {encoder_entry, sizeof(encoder_args) / sizeof(encoder_args[0]), encoder_args,
                DIM, 0},
#endif
};
