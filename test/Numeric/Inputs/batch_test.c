/*===- batch_test.c - tfc_decode_batch equals the sessions run one by one ---===*
 *
 *   batch_test MODEL.so --random-weights SEED [--steps N] [--exact]
 *
 * Drives a compiled decoder through tfc.h only. Five sessions are brought to
 * different positions (0, 3, 7, 1 and 12 tokens), twice: a reference set run
 * with tfc_decode one session at a time, and a batch set run with
 * tfc_decode_batch. Checks that:
 *   1. one batched call of mixed lengths (prefill chunks and single tokens)
 *      gives every session the logits (all rows) and the position of the
 *      reference;
 *   2. N batched greedy steps (last-token logits) follow the reference;
 *   3. a call in which one session has a token outside the vocabulary, and
 *      another more tokens than its capacity, refuses those two (status -1,
 *      position and later results unchanged) and advances the others exactly
 *      as the reference;
 *   4. unusable arguments (a session twice, count 0) run nothing;
 *   5. steps of 2, 3, 5, 8, 16, 17 and 31 sessions (one token each, at
 *      positions 0-3) give the logits of the sessions run one by one.
 * Logits of the batch may differ from one-by-one decoding by rounding only
 * (products over more rows may sum in another order): relative 1e-5. With
 * --exact, the steps of check 5 (one token per session: the small-batch
 * kernel, whose sums keep the one-token kernel's order) must give the same
 * bits.
 * Prints "ok: ..." per check; exits 1 at the first failure.
 *
 *===----------------------------------------------------------------------===*/
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfc/tfc.h"

#include "logits_compare.h"

#define SESSIONS 5
#define TOLERANCE 1e-5

static const tfc_model_info *(*info_fn)(void);
static tfc_model *(*random_fn)(uint64_t);
static tfc_session *(*new_fn)(const tfc_model *, int32_t);
static void (*free_fn)(tfc_session *);
static int32_t (*pos_fn)(const tfc_session *);
static int32_t (*decode_fn)(tfc_session *, const int32_t *, int32_t, float *, int32_t);
static int32_t (*batch_fn)(tfc_session *const *, int32_t, const int32_t *, const int32_t *,
                           float *, int32_t, int32_t *);
static const char *(*error_fn)(void);

static int32_t vocab;
static tfc_session *reference[SESSIONS], *batch[SESSIONS];

static void fail(const char *what) {
  fprintf(stderr, "FAIL: %s (%s)\n", what, error_fn ? error_fn() : "");
  exit(1);
}

static int32_t argmax(const float *row) { return argmax_of(row, vocab); }

/* A deterministic token for session k at step i. */
static int32_t token(int k, int i) { return (int32_t)((7 * k + 13 * i + 1) % vocab); }

/* Session k's n[k] tokens token(k, step), token(k, step + 1), ... side by
   side in `tokens`; returns their total. */
static int fill_tokens(const int32_t *n, int step, int32_t *tokens) {
  int total = 0;
  for (int k = 0; k < SESSIONS; ++k)
    for (int i = 0; i < n[k]; ++i)
      tokens[total++] = token(k, step + i);
  return total;
}

/* Runs the reference sessions one by one on the batch's inputs (skipping those
   marked in `skip`), writing logits in tfc_decode_batch's layout. */
static void run_reference(const int32_t *tokens, const int32_t *n, float *logits, int all,
                          const int *skip) {
  size_t input = 0, row = 0;
  for (int k = 0; k < SESSIONS; ++k) {
    if (!skip || !skip[k])
      if (decode_fn(reference[k], tokens + input, n[k], logits + row * (size_t)vocab, all) != 0)
        fail("reference decode");
    input += (size_t)n[k];
    row += all ? (size_t)n[k] : 1;
  }
}

static void expect_within(const float *got, const float *want, size_t rows, const char *what,
                          double tolerance) {
  double d = max_rel_diff(got, want, rows * (size_t)vocab);
  if (d > tolerance) {
    fprintf(stderr, "FAIL: %s: logits differ by %g\n", what, d);
    exit(1);
  }
}

static void expect_close(const float *got, const float *want, size_t rows, const char *what) {
  expect_within(got, want, rows, what, TOLERANCE);
}

static void expect_positions(const char *what) {
  for (int k = 0; k < SESSIONS; ++k)
    if (pos_fn(batch[k]) != pos_fn(reference[k])) {
      fprintf(stderr, "FAIL: %s: session %d at %d, reference at %d\n", what, k, pos_fn(batch[k]),
              pos_fn(reference[k]));
      exit(1);
    }
}

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--random-weights") != 0) {
    fprintf(stderr, "usage: batch_test MODEL.so --random-weights SEED [--steps N] [--exact]\n");
    return 2;
  }
  int steps = argc >= 6 && strcmp(argv[4], "--steps") == 0 ? atoi(argv[5]) : 8;
  int exact = strcmp(argv[argc - 1], "--exact") == 0;
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
    return 1;
  }
  *(void **)&info_fn = dlsym(lib, "tfc_info");
  *(void **)&random_fn = dlsym(lib, "tfc_model_random");
  *(void **)&new_fn = dlsym(lib, "tfc_session_new");
  *(void **)&free_fn = dlsym(lib, "tfc_session_free");
  *(void **)&pos_fn = dlsym(lib, "tfc_session_pos");
  *(void **)&decode_fn = dlsym(lib, "tfc_decode");
  *(void **)&batch_fn = dlsym(lib, "tfc_decode_batch");
  *(void **)&error_fn = dlsym(lib, "tfc_last_error");
  if (!info_fn || !random_fn || !new_fn || !free_fn || !pos_fn || !decode_fn || !batch_fn ||
      !error_fn)
    fail("missing export");
  if (info_fn()->abi_version != TFC_ABI_VERSION)
    fail("abi version");
  vocab = info_fn()->vocab_size;
  tfc_model *model = random_fn(strtoull(argv[3], NULL, 10));
  if (!model)
    fail("tfc_model_random");

  /* Sessions at positions 0, 3, 7, 1, 12; session 4 has room for 3 more tokens
     at the time of check 3. */
  const int32_t prefix[SESSIONS] = {0, 3, 7, 1, 12};
  const int32_t capacity[SESSIONS] = {40 + steps, 40 + steps, 40 + steps, 40 + steps,
                                      12 + 2 + steps + 3};
  float *scratch = malloc(sizeof(float) * (size_t)vocab * 64);
  float *want = malloc(sizeof(float) * (size_t)vocab * 64);
  float *got = malloc(sizeof(float) * (size_t)vocab * 64);
  for (int k = 0; k < SESSIONS; ++k) {
    reference[k] = new_fn(model, capacity[k]);
    batch[k] = new_fn(model, capacity[k]);
    if (!reference[k] || !batch[k])
      fail("tfc_session_new");
    int32_t tokens[16];
    for (int i = 0; i < prefix[k]; ++i)
      tokens[i] = token(k, i);
    if (prefix[k] > 0 && (decode_fn(reference[k], tokens, prefix[k], scratch, 0) != 0 ||
                          decode_fn(batch[k], tokens, prefix[k], scratch, 0) != 0))
      fail("prefix");
  }

  /* 1. Mixed lengths, every row's logits. */
  {
    const int32_t n[SESSIONS] = {4, 1, 3, 1, 2};
    int32_t tokens[16], status[SESSIONS];
    int total = fill_tokens(n, 100, tokens);
    run_reference(tokens, n, want, 1, NULL);
    if (batch_fn(batch, SESSIONS, tokens, n, got, 1, status) != 0)
      fail("batched call");
    for (int k = 0; k < SESSIONS; ++k)
      if (status[k] != 0)
        fail("status of an accepted session");
    expect_close(got, want, (size_t)total, "mixed lengths");
    expect_positions("mixed lengths");
    printf("ok: one call of lengths 4,1,3,1,2 at positions 0,3,7,1,12 matches one by one\n");
  }

  /* 2. Greedy steps, last-token logits (NULL status). */
  {
    const int32_t one[SESSIONS] = {1, 1, 1, 1, 1};
    int32_t next[SESSIONS];
    for (int k = 0; k < SESSIONS; ++k)
      next[k] = token(k, 200);
    for (int step = 0; step < steps; ++step) {
      run_reference(next, one, want, 0, NULL);
      if (batch_fn(batch, SESSIONS, next, one, got, 0, NULL) != 0)
        fail("batched step");
      expect_close(got, want, SESSIONS, "greedy step");
      for (int k = 0; k < SESSIONS; ++k)
        next[k] = argmax(want + (size_t)k * vocab);
    }
    expect_positions("greedy steps");
    printf("ok: %d batched greedy steps of 5 sessions match one by one\n", steps);
  }

  /* 3. Session 1 has a bad token, session 4 one token too many for its capacity. */
  {
    const int32_t n[SESSIONS] = {2, 2, 1, 3, 4};
    int32_t tokens[16], status[SESSIONS];
    int total = fill_tokens(n, 300, tokens);
    tokens[n[0] + 1] = vocab + 5; /* session 1's second token */
    const int refused[SESSIONS] = {0, 1, 0, 0, 1};
    int32_t before[SESSIONS];
    for (int k = 0; k < SESSIONS; ++k)
      before[k] = pos_fn(batch[k]);
    for (size_t i = 0; i < (size_t)vocab * 64; ++i)
      got[i] = want[i] = -12345.0f; /* refused rows stay unwritten */
    run_reference(tokens, n, want, 1, refused);
    if (batch_fn(batch, SESSIONS, tokens, n, got, 1, status) != -1)
      fail("a call with refused sessions must return -1");
    const char *error = error_fn();
    if (!strstr(error, "session 1") || !strstr(error, "vocabulary"))
      fail("the error must name session 1 and its token");
    for (int k = 0; k < SESSIONS; ++k)
      if (status[k] != (refused[k] ? -1 : 0) ||
          pos_fn(batch[k]) != before[k] + (refused[k] ? 0 : n[k]))
        fail("status or position after a partly refused call");
    expect_close(got, want, (size_t)total, "partly refused call");
    expect_positions("partly refused call");
    /* The refused sessions continue as if nothing had happened. */
    const int32_t one[SESSIONS] = {1, 1, 1, 1, 1};
    int32_t next[SESSIONS] = {3, 4, 5, 6, 7};
    run_reference(next, one, want, 0, NULL);
    if (batch_fn(batch, SESSIONS, next, one, got, 0, NULL) != 0)
      fail("step after a partly refused call");
    expect_close(got, want, SESSIONS, "step after a partly refused call");
    printf("ok: a bad token and an overflow are refused (\"%s\"), the others advance\n", error);
  }

  /* 4. Unusable arguments run nothing. */
  {
    tfc_session *twice[2] = {batch[0], batch[0]};
    const int32_t n[2] = {1, 1};
    int32_t tokens[2] = {1, 2}, status[2] = {7, 7};
    int32_t before = pos_fn(batch[0]);
    if (batch_fn(twice, 2, tokens, n, got, 0, status) != -1 || status[0] != -1 ||
        status[1] != -1 || pos_fn(batch[0]) != before || !strstr(error_fn(), "same session"))
      fail("a session twice");
    if (batch_fn(batch, 0, tokens, n, got, 0, NULL) != -1)
      fail("count 0");
    printf("ok: unusable arguments run nothing\n");
  }

  /* 5. Steps of 2 to 31 sessions (the token counts of tfc-vectorize-matmul's
     small-batch kernel: full 8-token tiles, the 4/2/1 remainders, and 31, the
     last count below the packed GEMM), each session at its own position. */
  {
    enum { MOST = 31 };
    static const int32_t counts[] = {2, 3, 5, 8, 16, 17, 31};
    tfc_session *ref[MOST], *bat[MOST];
    int32_t one[MOST], next[MOST];
    float *many_want = malloc(sizeof(float) * (size_t)vocab * MOST);
    float *many_got = malloc(sizeof(float) * (size_t)vocab * MOST);
    if (!many_want || !many_got)
      fail("out of memory");
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; ++c) {
      int32_t count = counts[c];
      for (int k = 0; k < count; ++k) {
        ref[k] = new_fn(model, 8);
        bat[k] = new_fn(model, 8);
        if (!ref[k] || !bat[k])
          fail("tfc_session_new");
        int32_t tokens[4];
        int32_t prefix = k % 4;
        for (int i = 0; i < prefix; ++i)
          tokens[i] = token(k, 400 + i);
        if (prefix > 0 && (decode_fn(ref[k], tokens, prefix, scratch, 0) != 0 ||
                           decode_fn(bat[k], tokens, prefix, scratch, 0) != 0))
          fail("prefix");
        one[k] = 1;
        next[k] = token(k, 500 + count);
      }
      for (int step = 0; step < 2; ++step) {
        for (int k = 0; k < count; ++k)
          if (decode_fn(ref[k], &next[k], 1, many_want + (size_t)k * vocab, 0) != 0)
            fail("reference decode");
        if (batch_fn(bat, count, next, one, many_got, 0, NULL) != 0)
          fail("batched step");
        char what[64];
        snprintf(what, sizeof what, "a step of %d sessions", count);
        expect_within(many_got, many_want, (size_t)count, what, exact ? 0.0 : TOLERANCE);
        for (int k = 0; k < count; ++k)
          next[k] = argmax(many_want + (size_t)k * vocab);
      }
      for (int k = 0; k < count; ++k) {
        free_fn(ref[k]);
        free_fn(bat[k]);
      }
    }
    free(many_want);
    free(many_got);
    printf("ok: steps of 2, 3, 5, 8, 16, 17 and 31 sessions match one by one%s\n",
           exact ? ", bit for bit" : "");
  }
  return 0;
}
