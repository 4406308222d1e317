/*===- session_test.c - Sessions of a compiled decoder: reset, overflow, threads ===*
 *
 *   session_test MODEL.so (WEIGHTS.safetensors | --random-weights SEED) [--steps N]
 *
 * Drives a compiled decoder through tfc.h only and checks, against one call
 * over the whole prompt (all_logits), that:
 *   1. a session fed in chunks after tfc_session_reset gives the same logits;
 *   2. a call that would overflow the session's capacity fails, leaves the
 *      position unchanged, and the session continues as if it had not happened;
 *   3. 8 threads, each with its own session on the one model, decoding N greedy
 *      steps, produce exactly the tokens and logits of a single-threaded run.
 * Prints "ok: ..." per check; exits 1 at the first failure.
 *
 *===----------------------------------------------------------------------===*/
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfc/tfc.h"

#include "logits_compare.h"

static const tfc_model_info *(*info_fn)(void);
static tfc_model *(*load_fn)(const char *);
static tfc_model *(*random_fn)(uint64_t);
static tfc_session *(*new_fn)(const tfc_model *, int32_t);
static void (*reset_fn)(tfc_session *);
static int32_t (*pos_fn)(const tfc_session *);
static void (*free_session_fn)(tfc_session *);
static int32_t (*decode_fn)(tfc_session *, const int32_t *, int32_t, float *, int32_t);
static const char *(*error_fn)(void);

static const tfc_model *model;
static int32_t vocab;
static int steps = 100;

static void fail(const char *what) {
  fprintf(stderr, "FAIL: %s (%s)\n", what, error_fn ? error_fn() : "");
  exit(1);
}

static int32_t argmax(const float *row) { return argmax_of(row, vocab); }

/* Greedy decoding of `steps` tokens after a fixed prompt; returns 0 on success. */
typedef struct {
  int32_t tokens[1024];
  float last[4096];
  int ok;
} Run;

static void *generate(void *arg) {
  Run *run = arg;
  int32_t prompt[4] = {1, 5, 9, 3};
  int32_t capacity = 4 + steps;
  tfc_session *s = new_fn(model, capacity);
  float *logits = malloc(sizeof(float) * (size_t)vocab);
  run->ok = 0;
  if (!s || !logits || decode_fn(s, prompt, 4, logits, 0) != 0)
    return NULL;
  for (int i = 0; i < steps; ++i) {
    int32_t next = argmax(logits);
    run->tokens[i] = next;
    if (decode_fn(s, &next, 1, logits, 0) != 0)
      return NULL;
  }
  memcpy(run->last, logits, sizeof(float) * (size_t)vocab);
  run->ok = 1;
  free(logits);
  free_session_fn(s);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3)
    return fprintf(stderr, "usage: session_test MODEL.so (W | --random-weights SEED) [--steps N]\n"), 1;
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return fprintf(stderr, "FAIL: %s\n", dlerror()), 1;
#define SYM(var, name) *(void **)&var = dlsym(lib, name); if (!var) fail("missing " name)
  SYM(info_fn, "tfc_info"); SYM(load_fn, "tfc_model_load"); SYM(random_fn, "tfc_model_random");
  SYM(new_fn, "tfc_session_new"); SYM(reset_fn, "tfc_session_reset"); SYM(pos_fn, "tfc_session_pos");
  SYM(free_session_fn, "tfc_session_free"); SYM(decode_fn, "tfc_decode"); SYM(error_fn, "tfc_last_error");
  int arg = 3;
  if (strcmp(argv[2], "--random-weights") == 0) {
    model = random_fn(strtoull(argv[3], NULL, 10));
    arg = 4;
  } else {
    model = load_fn(argv[2]);
  }
  if (!model)
    fail("model");
  if (arg + 1 < argc && strcmp(argv[arg], "--steps") == 0)
    steps = atoi(argv[arg + 1]);
  vocab = info_fn()->vocab_size;
  if (vocab > 4096 || steps > 1000)
    fail("test limits");

  /* The reference: one call over the whole prompt. */
  enum { N = 12 };
  int32_t tokens[N] = {1, 7, 3, 11, 2, 9, 4, 8, 6, 5, 10, 12};
  float *ref = malloc(sizeof(float) * N * (size_t)vocab);
  float *got = malloc(sizeof(float) * N * (size_t)vocab);
  tfc_session *s = new_fn(model, 16);
  if (!s || decode_fn(s, tokens, N, ref, 1) != 0)
    fail("reference decode");

  /* 1. Reset, then chunks 5, 1, 4, 2. */
  reset_fn(s);
  if (pos_fn(s) != 0)
    fail("position after reset");
  int chunks[4] = {5, 1, 4, 2}, at = 0;
  for (int c = 0; c < 4; ++c) {
    if (decode_fn(s, tokens + at, chunks[c], got + (size_t)at * vocab, 1) != 0)
      fail("chunked decode after reset");
    at += chunks[c];
  }
  double err = max_rel_diff(got, ref, (size_t)N * vocab);
  if (err > 1e-4)
    fail("chunks after reset differ from one call");
  printf("ok: chunks 5,1,4,2 after reset match one call (relative error %.1e)\n", err);

  /* 2. Overflow of a 12-token session: 10 tokens, then 3 fails, then 2 fit. */
  tfc_session *small = new_fn(model, N);
  if (!small || decode_fn(small, tokens, 10, got, 1) != 0)
    fail("decode before overflow");
  if (decode_fn(small, tokens + 10, 3, got, 1) != -1 || error_fn()[0] == 0)
    fail("overflow was not reported");
  if (pos_fn(small) != 10)
    fail("overflow changed the position");
  if (decode_fn(small, tokens + 10, 2, got, 1) != 0)
    fail("decode after overflow");
  err = max_rel_diff(got, ref + (size_t)10 * vocab, (size_t)2 * vocab);
  if (err > 1e-4)
    fail("logits after a failed call differ");
  printf("ok: overflow reported (\"%s\"), session unchanged (relative error %.1e)\n", error_fn(), err);
  free_session_fn(small);
  free_session_fn(s);

  /* 3. Eight threads against one single-threaded run. */
  static Run single, runs[8];
  generate(&single);
  if (!single.ok)
    fail("single-threaded generation");
  pthread_t threads[8];
  for (int t = 0; t < 8; ++t)
    pthread_create(&threads[t], NULL, generate, &runs[t]);
  for (int t = 0; t < 8; ++t)
    pthread_join(threads[t], NULL);
  for (int t = 0; t < 8; ++t) {
    if (!runs[t].ok)
      fail("threaded generation");
    if (memcmp(runs[t].tokens, single.tokens, sizeof(int32_t) * (size_t)steps) != 0 ||
        max_rel_diff(runs[t].last, single.last, (size_t)vocab) > 1e-6)
      fail("a thread's result differs from the single-threaded run");
  }
  printf("ok: 8 threads x %d steps match the single-threaded run\n", steps);
  free(ref);
  free(got);
  return 0;
}
