/*===- tfc.h - The C ABI of a tfc-compiled model ---------------------------===*
 *
 * Every model.so produced by `tfc` exports exactly the functions declared here
 * and nothing else. C99; no dependency beyond <stdint.h>.
 *
 * Ownership: pointers returned by tfc_model_load/tfc_model_random and
 * tfc_session_new are owned by the caller and released with the matching
 * *_free function. Strings returned by tfc_info, tfc_weight_name and
 * tfc_last_error are owned by the library (tfc_last_error's string stays valid
 * until the next failing call on the same thread).
 *
 * Errors: functions returning int32_t return 0 (or a rank) on success and -1
 * on error; functions returning pointers return NULL on error. In both cases
 * tfc_last_error() describes the failure. Nothing aborts and nothing prints.
 *
 *===----------------------------------------------------------------------===*/
#ifndef TFC_TFC_H
#define TFC_TFC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TFC_ABI_VERSION 3 /* 2: tfc_decode_batch; 3: tfc_attention_maps */

typedef struct tfc_model tfc_model;     /* weights, read-only after load, thread-safe */
typedef struct tfc_session tfc_session; /* one sequence: its KV cache and position */

typedef struct {
  int32_t abi_version; /* TFC_ABI_VERSION */
  const char *name;    /* the name after `model` */
  int32_t vocab_size, dim, n_layers, n_heads, n_kv_heads, head_dim;
  int32_t kv_latent_rank; /* MLA kv_rank, else 0 */
  int32_t max_seq;
  int32_t has_encoder, has_decoder;
  int64_t n_params;
  int64_t kv_cache_bytes_per_token; /* decoder self-attention cache, all layers, as compiled
                                       (what it grows by per token: the rolling cache of a
                                       sliding window, fixed at its window, is not counted),
                                       in the cache's type (tfc --kv-type): 4 bytes per value
                                       for f32, 2 for bf16, 34 per 32 for q8_0; under
                                       --tensor-parallel=N one rank's cache (its K/V heads,
                                       or MLA's latent, which every rank holds whole), not
                                       the N ranks' total */
  int32_t n_weights;                /* entries of the weight manifest */
} tfc_model_info;

/* Static description of the compiled model; never NULL. */
const tfc_model_info *tfc_info(void);
/* Manifest entry i (0 <= i < n_weights): full weight name, NULL if out of range. */
const char *tfc_weight_name(int32_t i);
/* Writes the shape of manifest entry i to dims and returns its rank, or -1. */
int32_t tfc_weight_shape(int32_t i, int64_t dims[8]);

/* Loads weights from `path`: a safetensors file, a sharded checkpoint's
   model.safetensors.index.json, a Hugging Face model directory (its
   model.safetensors, else its index), or a GGUF file (quantized tensors are
   dequantized). Files are memory-mapped; tensors the model does not use are
   ignored. Caller owns the result. */
tfc_model *tfc_model_load(const char *path);
/* Deterministic small random weights (norm weights 1, biases 0). Caller owns the result. */
tfc_model *tfc_model_random(uint64_t seed);
void tfc_model_free(tfc_model *);

/* A new session of capacity max_tokens (1 <= max_tokens <= max_seq). The model must
   outlive it. Caller owns the result. Its KV caches are shaped as compiled: max_seq
   positions, or for a sliding-window attention the window's (a rolling cache). They are
   reserved as address space, not allocated: memory is committed a page at a time as the
   session writes positions, so a session holds about kv_cache_bytes_per_token times
   its length (plus at most one partly used page per layer, K/V head and cache), not
   max_seq positions. NULL with tfc_last_error() set when out of address space. */
tfc_session *tfc_session_new(const tfc_model *, int32_t max_tokens);
/* Back to position 0 (the encoder memory of an encoder-decoder session stays); the KV
   cache pages written so far, and the pages of activations its calls used, are given
   back to the system (MADV_DONTNEED): a reset session holds no memory that grows with use. */
void tfc_session_reset(tfc_session *);
int32_t tfc_session_pos(const tfc_session *); /* tokens consumed so far, -1 on NULL */
void tfc_session_free(tfc_session *);

/* Appends n >= 1 tokens at the session's position and writes logits: n*vocab floats when
   all_logits != 0, else vocab floats for the last token. Returns 0, or -1 with
   tfc_last_error() set (bad token id, n too large for the remaining cache, no decoder...). */
int32_t tfc_decode(tfc_session *, const int32_t *tokens, int32_t n, float *logits,
                   int32_t all_logits);

/* Advances several sessions of one model in one call: session k appends its
   n_tokens[k] >= 1 tokens, taken in order from `tokens` (session 0's first), so a
   call may mix prefill chunks and single decode steps. The linear layers run as
   one matrix product over all the tokens of the call, reading each weight once;
   attention runs per session over its own cache at its own position. Each
   session ends exactly as tfc_decode would leave it. The sessions must be
   distinct and of the same model.
   logits: with all_logits != 0, n_tokens[k] rows of vocab floats per session, in
   the order of `tokens`; else one row per session (its last token's), in session
   order.
   status: NULL, or `count` entries: 0 for a session that advanced, -1 for one
   that was refused (a token outside the vocabulary, more tokens than its capacity
   left, n_tokens[k] < 1) and is left unchanged, its logits rows unwritten. The
   other sessions advance all the same.
   Returns 0 when every session advanced, else -1 with tfc_last_error() naming
   the first refused session. A call with unusable arguments (a NULL pointer,
   count < 1, a session twice, sessions of different models) runs nothing. A
   model compiled without a KV cache, or whose decoder reads an encoder memory,
   runs the sessions one after the other (same results, weights read per session). */
int32_t tfc_decode_batch(tfc_session *const *sessions, int32_t count, const int32_t *tokens,
                         const int32_t *n_tokens, float *logits, int32_t all_logits,
                         int32_t *status);

/* Encoder models: encodes n tokens; writes n*dim hidden states when out != NULL; for an
   encoder-decoder model the result becomes the session's cross-attention memory. */
int32_t tfc_encode(tfc_session *, const int32_t *tokens, int32_t n, float *out);

/* Attention maps, for models compiled with `tfc --emit-attention`: the softmax
   probabilities of every attention layer and query head for a prompt. The maps
   are those of the decoder's self-attention, or of the encoder's for a model
   whose decoder reads an encoder memory or that has no decoder.
   tfc_attention_maps_shape writes {maps, heads, n, n} (maps: the attention
   layers, in order) for a prompt of n tokens and returns 4; -1 with
   tfc_last_error() set when the model was compiled without --emit-attention or
   n is outside [1, max_seq]. */
int32_t tfc_attention_maps_shape(int32_t n, int64_t dims[4]);
/* Runs the n tokens from position 0 (no session: nothing is cached) and writes
   maps*heads*n*n floats to `out` (caller-owned), row-major [map][head][query][key]:
   query i's probabilities over the keys, each row summing to 1, keys after i
   (causal attention) or outside a sliding window exactly 0. Allocates the
   call's activations and frees them before returning. Thread-safe.
   Returns 0, or -1 with tfc_last_error() set (compiled without
   --emit-attention, a NULL pointer, n outside [1, max_seq], a token outside the
   vocabulary, out of memory). */
int32_t tfc_attention_maps(const tfc_model *, const int32_t *tokens, int32_t n, float *out);

/* Tensor-parallel models (`tfc --tensor-parallel=N`) run as N MPI processes
   (ranks), each on its shard of the weights; every call that runs the model
   (tfc_decode, tfc_decode_batch, tfc_encode, tfc_attention_maps) is a
   collective: every rank must make it, with the same arguments, in the same
   order. tfc_rank returns this process's rank (0 to N-1) and writes N to
   *ranks when ranks != NULL; 0 and 1 for any other model, and before a model
   is loaded (tfc_model_load / tfc_model_random join the ranks).
   tfc_broadcast copies `bytes` bytes at `buffer` from rank 0 to every rank
   (MPI_Bcast), so that a host whose rank 0 decides the work (tfc-serve: the
   requests arrive there) can tell the other ranks each call to make. Every
   rank calls it with the same `bytes`; a rank waiting in it sleeps between
   checks rather than spinning a core. A no-op with one rank. Returns 0, or -1
   with tfc_last_error() set (the transfer failed). Hosts must call the model
   and tfc_broadcast from one thread at a time. Added after ABI version 3:
   absent from older model.so files, which are single-process. */
int32_t tfc_rank(int32_t *ranks);
int32_t tfc_broadcast(void *buffer, int64_t bytes);

/* Which ranks of a tensor-parallel model receive the logits (its output head
   is split over the vocabulary and gathered). rank = -1, the default: every
   rank (an all-gather; each rank may sample, from the same logits). 0 <= rank
   < N: only that rank, the one that samples (a gather: the others receive no
   logits, and the logits that tfc_decode and tfc_decode_batch write on them
   are NaN). A host whose rank 0 samples and sends the chosen tokens to the
   others (tfc_broadcast) sets 0, as tfc-run and tfc-serve do under mpirun; a
   host that reads logits on every rank keeps the default. Collective, like the
   calls it applies to: every rank sets the same value before the same call.
   Call it after tfc_model_load / tfc_model_random (which join the ranks).
   Hidden states (tfc_encode) are summed on every rank whatever the setting.
   Returns 0, or -1 with tfc_last_error() set (rank outside [-1, N)); with one
   process -1 and 0 are accepted and change nothing. Added after ABI version 3
   with tfc_rank: tools look it up as optional. */
int32_t tfc_logits_rank(int32_t rank);

/* Thread-local description of the last failure on this thread, "" when none. */
const char *tfc_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* TFC_TFC_H */
