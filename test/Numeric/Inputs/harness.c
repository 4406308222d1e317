/*===- harness.c - Drive a tfc model.so through the C ABI for numeric tests -===*
 *
 * Loads a compiled model with dlopen and uses only the functions of tfc.h, so a
 * test sees exactly what a user program sees. It feeds a prompt to a session,
 * whole or in chunks, and writes the outputs as raw little-endian float32:
 *
 *   harness MODEL.so (WEIGHTS.safetensors | --random-weights SEED)
 *           --tokens 1,2,3 [--chunks 2,1] [--encoder-tokens 4,5,6] [--last-only]
 *           [--generate N] [--out OUT.bin]
 *   harness MODEL.so --manifest
 *
 * Decoder models: OUT holds n*vocab logits (all_logits = 1), concatenated over the
 * chunks; with --last-only, one row of vocab logits per chunk (all_logits = 0).
 * Encoder-decoder models encode --encoder-tokens first (the session's memory).
 * Encoder-only models: OUT holds the n*dim hidden states (no chunks).
 * --generate N then decodes N more tokens greedily, one at a time, and prints
 * "generated: t1 t2 ..." on stdout. --manifest prints the model info and one
 * "weight NAME d0,d1,..." line per manifest entry.
 *
 * Every failure prints the failing call and tfc_last_error() to stderr and exits 1.
 *
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfc/tfc.h"

#include "logits_compare.h"

static struct {
  const tfc_model_info *(*info)(void);
  const char *(*weight_name)(int32_t);
  int32_t (*weight_shape)(int32_t, int64_t *);
  tfc_model *(*model_load)(const char *);
  tfc_model *(*model_random)(uint64_t);
  void (*model_free)(tfc_model *);
  tfc_session *(*session_new)(const tfc_model *, int32_t);
  void (*session_reset)(tfc_session *);
  int32_t (*session_pos)(const tfc_session *);
  void (*session_free)(tfc_session *);
  int32_t (*decode)(tfc_session *, const int32_t *, int32_t, float *, int32_t);
  int32_t (*encode)(tfc_session *, const int32_t *, int32_t, float *);
  const char *(*last_error)(void);
} api;

static void fail(const char *what) {
  const char *err = api.last_error ? api.last_error() : "";
  fprintf(stderr, "harness: %s failed: %s\n", what, err ? err : "(null)");
  exit(1);
}

static void usage_error(const char *msg, const char *arg) {
  fprintf(stderr, "harness: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
  exit(1);
}

static void *sym(void *lib, const char *name) {
  void *p = dlsym(lib, name);
  if (!p) {
    fprintf(stderr, "harness: missing symbol %s: %s\n", name, dlerror());
    exit(1);
  }
  return p;
}

/* Parses "1,2,3" into a malloc'ed array; returns the count. */
static int32_t parse_list(const char *s, int32_t **out) {
  int32_t cap = 16, n = 0;
  int32_t *v = malloc(sizeof(int32_t) * cap);
  const char *p = s;
  while (*p) {
    char *end;
    long x = strtol(p, &end, 10);
    if (end == p || x < INT32_MIN || x > INT32_MAX)
      usage_error("bad integer list", s);
    if (n == cap)
      v = realloc(v, sizeof(int32_t) * (cap *= 2));
    v[n++] = (int32_t)x;
    p = end;
    if (*p == ',')
      ++p;
    else if (*p)
      usage_error("bad integer list", s);
  }
  *out = v;
  return n;
}

static void check_finite(const float *x, size_t n, const char *what) {
  for (size_t i = 0; i < n; ++i)
    if (!isfinite(x[i])) {
      fprintf(stderr, "harness: non-finite value in %s at %zu\n", what, i);
      exit(1);
    }
}

int main(int argc, char **argv) {
  const char *so = NULL, *weights = NULL, *out_path = NULL;
  const char *tokens_s = NULL, *chunks_s = NULL, *enc_s = NULL;
  int have_seed = 0, manifest = 0, last_only = 0;
  unsigned long long seed = 0;
  long generate = 0;

  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage_error("missing value after", a), ""))
    if (!strcmp(a, "--tokens"))
      tokens_s = NEXT();
    else if (!strcmp(a, "--chunks"))
      chunks_s = NEXT();
    else if (!strcmp(a, "--encoder-tokens"))
      enc_s = NEXT();
    else if (!strcmp(a, "--out"))
      out_path = NEXT();
    else if (!strcmp(a, "--random-weights")) {
      seed = strtoull(NEXT(), NULL, 10);
      have_seed = 1;
    } else if (!strcmp(a, "--generate"))
      generate = strtol(NEXT(), NULL, 10);
    else if (!strcmp(a, "--manifest"))
      manifest = 1;
    else if (!strcmp(a, "--last-only"))
      last_only = 1;
    else if (a[0] == '-' && a[1] == '-')
      usage_error("unknown option", a);
    else if (!so)
      so = a;
    else if (!weights)
      weights = a;
    else
      usage_error("unexpected argument", a);
#undef NEXT
  }
  if (!so)
    usage_error("usage: harness MODEL.so (WEIGHTS | --random-weights SEED) --tokens ... "
                "[--chunks ...] [--encoder-tokens ...] [--last-only] [--generate N] "
                "[--out OUT.bin] | harness MODEL.so --manifest",
                NULL);

  /* dlopen searches the library path for a bare file name; a model is a file. */
  char *so_path = malloc(strlen(so) + 3);
  sprintf(so_path, "%s%s", strchr(so, '/') ? "" : "./", so);
  void *lib = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
  free(so_path);
  if (!lib) {
    fprintf(stderr, "harness: dlopen %s: %s\n", so, dlerror());
    return 1;
  }
  *(void **)&api.info = sym(lib, "tfc_info");
  *(void **)&api.weight_name = sym(lib, "tfc_weight_name");
  *(void **)&api.weight_shape = sym(lib, "tfc_weight_shape");
  *(void **)&api.model_load = sym(lib, "tfc_model_load");
  *(void **)&api.model_random = sym(lib, "tfc_model_random");
  *(void **)&api.model_free = sym(lib, "tfc_model_free");
  *(void **)&api.session_new = sym(lib, "tfc_session_new");
  *(void **)&api.session_reset = sym(lib, "tfc_session_reset");
  *(void **)&api.session_pos = sym(lib, "tfc_session_pos");
  *(void **)&api.session_free = sym(lib, "tfc_session_free");
  *(void **)&api.decode = sym(lib, "tfc_decode");
  *(void **)&api.encode = sym(lib, "tfc_encode");
  *(void **)&api.last_error = sym(lib, "tfc_last_error");

  const tfc_model_info *info = api.info();
  if (!info)
    fail("tfc_info");
  if (info->abi_version != TFC_ABI_VERSION) {
    fprintf(stderr, "harness: abi_version %d, expected %d\n", info->abi_version,
            TFC_ABI_VERSION);
    return 1;
  }

  if (manifest) {
    printf("name %s\n", info->name ? info->name : "(null)");
    printf("info vocab_size=%d dim=%d n_layers=%d n_heads=%d n_kv_heads=%d head_dim=%d "
           "kv_latent_rank=%d max_seq=%d has_encoder=%d has_decoder=%d n_params=%lld "
           "kv_cache_bytes_per_token=%lld n_weights=%d\n",
           info->vocab_size, info->dim, info->n_layers, info->n_heads, info->n_kv_heads,
           info->head_dim, info->kv_latent_rank, info->max_seq, info->has_encoder,
           info->has_decoder, (long long)info->n_params,
           (long long)info->kv_cache_bytes_per_token, info->n_weights);
    for (int32_t i = 0; i < info->n_weights; ++i) {
      const char *name = api.weight_name(i);
      int64_t dims[8];
      int32_t rank = api.weight_shape(i, dims);
      if (!name)
        fail("tfc_weight_name");
      if (rank < 0 || rank > 8)
        fail("tfc_weight_shape");
      printf("weight %s ", name);
      for (int32_t d = 0; d < rank; ++d)
        printf("%s%lld", d ? "," : "", (long long)dims[d]);
      printf("\n");
    }
    return 0;
  }

  if (!tokens_s)
    usage_error("--tokens is required", NULL);
  if (!weights == !have_seed)
    usage_error("give exactly one of WEIGHTS.safetensors and --random-weights SEED", NULL);

  int32_t *tokens, *chunks = NULL, *enc = NULL;
  int32_t n = parse_list(tokens_s, &tokens), n_chunks = 1, n_enc = 0;
  if (n < 1)
    usage_error("--tokens is empty", NULL);
  if (chunks_s) {
    n_chunks = parse_list(chunks_s, &chunks);
    int64_t sum = 0;
    for (int32_t c = 0; c < n_chunks; ++c) {
      if (chunks[c] < 1)
        usage_error("chunk sizes must be >= 1", chunks_s);
      sum += chunks[c];
    }
    if (sum != n)
      usage_error("chunk sizes must add up to the number of tokens", chunks_s);
  } else {
    chunks = malloc(sizeof(int32_t));
    chunks[0] = n;
  }
  if (enc_s)
    n_enc = parse_list(enc_s, &enc);
  if (generate < 0 || generate > 1 << 20)
    usage_error("bad --generate", NULL);

  tfc_model *model = weights ? api.model_load(weights) : api.model_random(seed);
  if (!model)
    fail(weights ? "tfc_model_load" : "tfc_model_random");

  int64_t capacity = (int64_t)n + generate;
  if (!info->has_decoder)
    capacity = n;
  if (capacity > info->max_seq)
    usage_error("more tokens than the model's max_seq", NULL);
  tfc_session *s = api.session_new(model, (int32_t)capacity);
  if (!s)
    fail("tfc_session_new");

  float *out;
  size_t out_count;
  if (!info->has_decoder) {
    /* Encoder-only: hidden states of the whole prompt. */
    if (n_chunks != 1 || generate)
      usage_error("an encoder-only model takes neither --chunks nor --generate", NULL);
    out_count = (size_t)n * info->dim;
    out = malloc(sizeof(float) * out_count);
    if (api.encode(s, tokens, n, out) != 0)
      fail("tfc_encode");
  } else {
    if (info->has_encoder) {
      if (!n_enc)
        usage_error("an encoder-decoder model needs --encoder-tokens", NULL);
      if (api.encode(s, enc, n_enc, NULL) != 0)
        fail("tfc_encode");
    } else if (n_enc) {
      usage_error("--encoder-tokens given for a decoder-only model", NULL);
    }
    size_t rows = last_only ? (size_t)n_chunks : (size_t)n;
    out_count = rows * info->vocab_size;
    out = malloc(sizeof(float) * out_count);
    int32_t pos = 0, row = 0;
    for (int32_t c = 0; c < n_chunks; ++c) {
      if (api.session_pos(s) != pos) {
        fprintf(stderr, "harness: session position %d, expected %d\n", api.session_pos(s),
                pos);
        return 1;
      }
      if (api.decode(s, tokens + pos, chunks[c], out + (size_t)row * info->vocab_size,
                     !last_only) != 0)
        fail("tfc_decode");
      pos += chunks[c];
      row += last_only ? 1 : chunks[c];
    }
    if (api.session_pos(s) != n) {
      fprintf(stderr, "harness: session position %d after the prompt, expected %d\n",
              api.session_pos(s), n);
      return 1;
    }
  }
  check_finite(out, out_count, "the output");

  if (generate) {
    float *logits = malloc(sizeof(float) * info->vocab_size);
    memcpy(logits, out + out_count - info->vocab_size, sizeof(float) * info->vocab_size);
    printf("generated:");
    for (long g = 0; g < generate; ++g) {
      int32_t next = argmax_of(logits, info->vocab_size);
      printf(" %d", next);
      if (g + 1 < generate && api.decode(s, &next, 1, logits, 0) != 0)
        fail("tfc_decode");
    }
    printf("\n");
    free(logits);
  }

  if (out_path) {
    FILE *f = fopen(out_path, "wb");
    if (!f || fwrite(out, sizeof(float), out_count, f) != out_count || fclose(f) != 0) {
      fprintf(stderr, "harness: cannot write %s\n", out_path);
      return 1;
    }
  }

  api.session_free(s);
  api.model_free(model);
  free(out);
  free(tokens);
  free(chunks);
  free(enc);
  return 0;
}
