/*===- maps_abi.c - tfc_attention_maps through tfc.h: shape, errors, threads ===*
 *
 *   maps_abi MODEL.so [--expect-maps L,H] [--compare-decode OTHER.so]
 *
 * On random weights (seed 5), prints one line per check:
 *   - the shape tfc_attention_maps_shape gives for 7 tokens, or its error when the
 *     model was compiled without --emit-attention (then tfc_attention_maps must
 *     fail the same way, and nothing else is checked);
 *   - errors: n of 0 and max_seq + 1, a token outside the vocabulary, NULL out,
 *     each -1 with tfc_last_error() printed;
 *   - the maps of 7 tokens: rows summing to 1, zeros above the diagonal (the
 *     models here are causal decoders), and two threads computing the maps of the
 *     same prompt at once get exactly the single-threaded result;
 *   - with --compare-decode, tfc_decode's logits of the prompt are bitwise those of
 *     OTHER.so (the same model compiled without --emit-attention): the flag adds
 *     an entry point and changes nothing else.
 * Exits 1 at the first failure.
 *
 *===----------------------------------------------------------------------===*/
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfc/tfc.h"

#define N 7

typedef struct {
  const tfc_model_info *(*info)(void);
  tfc_model *(*random)(uint64_t);
  void (*model_free)(tfc_model *);
  tfc_session *(*session_new)(const tfc_model *, int32_t);
  void (*session_free)(tfc_session *);
  int32_t (*decode)(tfc_session *, const int32_t *, int32_t, float *, int32_t);
  int32_t (*maps_shape)(int32_t, int64_t[4]);
  int32_t (*maps)(const tfc_model *, const int32_t *, int32_t, float *);
  const char *(*error)(void);
} Lib;

static Lib lib;
static const int32_t prompt[N] = {3, 1, 4, 1, 5, 9, 2};

static void fail(const char *what) {
  fprintf(stderr, "FAIL: %s (%s)\n", what, lib.error ? lib.error() : "");
  exit(1);
}

static void *sym(void *h, const char *name) {
  void *p = dlsym(h, name);
  if (!p) {
    fprintf(stderr, "FAIL: missing %s\n", name);
    exit(1);
  }
  return p;
}

static Lib open_lib(const char *path) {
  Lib l;
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "FAIL: dlopen %s: %s\n", path, dlerror());
    exit(1);
  }
  *(void **)&l.info = sym(h, "tfc_info");
  *(void **)&l.random = sym(h, "tfc_model_random");
  *(void **)&l.model_free = sym(h, "tfc_model_free");
  *(void **)&l.session_new = sym(h, "tfc_session_new");
  *(void **)&l.session_free = sym(h, "tfc_session_free");
  *(void **)&l.decode = sym(h, "tfc_decode");
  *(void **)&l.maps_shape = sym(h, "tfc_attention_maps_shape");
  *(void **)&l.maps = sym(h, "tfc_attention_maps");
  *(void **)&l.error = sym(h, "tfc_last_error");
  return l;
}

typedef struct {
  const tfc_model *model;
  float *out;
  int32_t status;
} Job;

static void *run_maps(void *arg) {
  Job *job = arg;
  job->status = lib.maps(job->model, prompt, N, job->out);
  return NULL;
}

static float *logits_of(Lib *l, tfc_model *m) {
  int32_t vocab = l->info()->vocab_size;
  float *logits = malloc(sizeof(float) * (size_t)vocab * N);
  tfc_session *s = l->session_new(m, N);
  if (!s || l->decode(s, prompt, N, logits, 1) != 0)
    fail("tfc_decode of the prompt");
  l->session_free(s);
  return logits;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  lib = open_lib(argv[1]);
  const char *expect = NULL, *other = NULL;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--expect-maps"))
      expect = argv[i + 1];
    else if (!strcmp(argv[i], "--compare-decode"))
      other = argv[i + 1];
  }
  tfc_model *model = lib.random(5);
  if (!model)
    fail("tfc_model_random");
  int64_t dims[4];
  if (lib.maps_shape(N, dims) != 4) {
    printf("no maps: %s\n", lib.error());
    float x[1];
    if (lib.maps(model, prompt, N, x) != -1)
      fail("tfc_attention_maps without --emit-attention did not fail");
    printf("no maps: %s\n", lib.error());
    return 0;
  }
  printf("shape: %lld %lld %lld %lld\n", (long long)dims[0], (long long)dims[1],
         (long long)dims[2], (long long)dims[3]);
  if (expect) {
    char want[64];
    snprintf(want, sizeof(want), "%lld,%lld", (long long)dims[0], (long long)dims[1]);
    if (strcmp(want, expect))
      fail("unexpected layers and heads");
  }
  const size_t count = (size_t)(dims[0] * dims[1] * dims[2] * dims[3]);
  float *out = malloc(sizeof(float) * count);

  int32_t max_seq = lib.info()->max_seq;
  if (lib.maps_shape(0, dims) != -1 || lib.maps(model, prompt, 0, out) != -1)
    fail("n = 0 accepted");
  printf("error: %s\n", lib.error());
  if (lib.maps_shape(max_seq + 1, dims) != -1)
    fail("n = max_seq + 1 accepted");
  printf("error: %s\n", lib.error());
  int32_t bad[N];
  memcpy(bad, prompt, sizeof(bad));
  bad[4] = lib.info()->vocab_size;
  if (lib.maps(model, bad, N, out) != -1)
    fail("a token outside the vocabulary accepted");
  printf("error: %s\n", lib.error());
  if (lib.maps(model, prompt, N, NULL) != -1)
    fail("NULL out accepted");
  printf("error: %s\n", lib.error());

  if (lib.maps(model, prompt, N, out) != 0)
    fail("tfc_attention_maps");
  const size_t maps = (size_t)(dims[0] * dims[1]);
  double worst = 0;
  for (size_t m = 0; m < maps; ++m)
    for (int i = 0; i < N; ++i) {
      const float *row = out + (m * N + (size_t)i) * N;
      double sum = 0;
      for (int j = 0; j < N; ++j) {
        sum += row[j];
        if (j > i && row[j] != 0.0f)
          fail("a future key has a nonzero probability");
      }
      if (fabs(sum - 1.0) > worst)
        worst = fabs(sum - 1.0);
    }
  if (worst > 1e-5)
    fail("rows do not sum to 1");
  printf("ok: %zu maps of %d x %d, rows sum to 1, causal zeros\n", maps, N, N);

  Job jobs[2];
  pthread_t threads[2];
  for (int t = 0; t < 2; ++t) {
    jobs[t].model = model;
    jobs[t].out = malloc(sizeof(float) * count);
    pthread_create(&threads[t], NULL, run_maps, &jobs[t]);
  }
  for (int t = 0; t < 2; ++t) {
    pthread_join(threads[t], NULL);
    if (jobs[t].status != 0 || memcmp(jobs[t].out, out, sizeof(float) * count))
      fail("a concurrent call differs from the single-threaded one");
  }
  printf("ok: 2 concurrent calls match\n");

  if (other) {
    Lib plain = open_lib(other);
    tfc_model *plain_model = plain.random(5);
    if (!plain_model)
      fail("tfc_model_random of the other model");
    float *a = logits_of(&lib, model), *b = logits_of(&plain, plain_model);
    if (memcmp(a, b, sizeof(float) * (size_t)lib.info()->vocab_size * N))
      fail("tfc_decode differs from the model compiled without --emit-attention");
    printf("ok: decode logits equal the build without --emit-attention\n");
  }
  return 0;
}
