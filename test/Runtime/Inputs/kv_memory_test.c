/*===- kv_memory_test.c - KV cache memory grows with use -------------------===*
 *
 *   kv_memory_test MODEL.so [--sessions N] [--tokens T] [--max-fraction F]
 *
 * Sessions reserve their KV caches for max_seq positions but commit memory as
 * positions are written (runtime/src/Session.cpp). With random weights, opens
 * N sessions of max_seq tokens, runs T tokens through each (a prefill of 3/4 T
 * and single greedy steps), and measures the resident set (/proc/self/statm)
 * it added against N full reservations (kv_cache_bytes_per_token x max_seq):
 * it must stay below F of them (activations included). The caches' share is
 * what the [layer][head][position][width] layout predicts for an f32 model
 * with separate keys and values: per layer, K/V head and cache, the pages that
 * T rows of head_dim floats cover. Then resets every session: the resident
 * set must fall by at least 3/4 of that prediction (the pages go back). Runs
 * two of them again, requires bit-identical logits, and frees them.
 * Prints "ok: ..." per check with the figures; exits 1 at the first failure.
 *
 *===----------------------------------------------------------------------===*/
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tfc/tfc.h"

static const tfc_model_info *(*info_fn)(void);
static tfc_model *(*random_fn)(uint64_t);
static tfc_session *(*new_fn)(const tfc_model *, int32_t);
static void (*reset_fn)(tfc_session *);
static void (*free_session_fn)(tfc_session *);
static int32_t (*decode_fn)(tfc_session *, const int32_t *, int32_t, float *, int32_t);
static const char *(*error_fn)(void);

static void fail(const char *what) {
  fprintf(stderr, "FAIL: %s (%s)\n", what, error_fn ? error_fn() : "");
  exit(1);
}

/* Resident bytes of the process. */
static long long resident(void) {
  long long size = 0, pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%lld %lld", &size, &pages) != 2)
    fail("cannot read /proc/self/statm");
  fclose(f);
  return pages * sysconf(_SC_PAGESIZE);
}

static int32_t argmax(const float *row, int32_t n) {
  int32_t best = 0;
  for (int32_t i = 1; i < n; ++i)
    if (row[i] > row[best])
      best = i;
  return best;
}

/* Runs `tokens` tokens through `s` (tokens seeded by `seed`); the last logits into `out`. */
static void run(tfc_session *s, int seed, int tokens, int32_t vocab, float *out) {
  int prefill = tokens * 3 / 4;
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)prefill);
  for (int i = 0; i < prefill; ++i)
    ids[i] = (int32_t)((seed * 131 + i * 17 + 1) % vocab);
  if (decode_fn(s, ids, prefill, out, 0) != 0)
    fail("prefill");
  for (int i = prefill; i < tokens; ++i) {
    int32_t next = argmax(out, vocab);
    if (decode_fn(s, &next, 1, out, 0) != 0)
      fail("decode step");
  }
  free(ids);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: kv_memory_test MODEL.so [--sessions N] [--tokens T] [--max-fraction F]\n");
    return 2;
  }
  int sessions = 32, tokens = 64;
  double maxFraction = 0.2;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--sessions"))
      sessions = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--tokens"))
      tokens = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--max-fraction"))
      maxFraction = atof(argv[i + 1]);
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
    return 1;
  }
  *(void **)&info_fn = dlsym(lib, "tfc_info");
  *(void **)&random_fn = dlsym(lib, "tfc_model_random");
  *(void **)&new_fn = dlsym(lib, "tfc_session_new");
  *(void **)&reset_fn = dlsym(lib, "tfc_session_reset");
  *(void **)&free_session_fn = dlsym(lib, "tfc_session_free");
  *(void **)&decode_fn = dlsym(lib, "tfc_decode");
  *(void **)&error_fn = dlsym(lib, "tfc_last_error");
  const tfc_model_info *info = info_fn();
  tfc_model *model = random_fn(3);
  if (!model)
    fail("tfc_model_random");
  const int32_t vocab = info->vocab_size, maxSeq = info->max_seq;
  const long long full = (long long)info->kv_cache_bytes_per_token * maxSeq;
  const long long page = sysconf(_SC_PAGESIZE);
  const long long rowBlock = (long long)tokens * info->head_dim * (long long)sizeof(float);
  const long long predicted =
      2LL * info->n_layers * info->n_kv_heads * ((rowBlock + page - 1) / page) * page;
  float *logits = malloc(sizeof(float) * (size_t)vocab * (size_t)sessions);
  float *again = malloc(sizeof(float) * (size_t)vocab);
  tfc_session **s = calloc((size_t)sessions, sizeof(tfc_session *));

  /* One session run first, so that what every run allocates once (libomp's
     threads, the allocator's arenas) is in the baseline. */
  tfc_session *warm = new_fn(model, maxSeq);
  if (!warm)
    fail("tfc_session_new");
  run(warm, 999, tokens, vocab, again);
  free_session_fn(warm);

  long long before = resident();
  for (int k = 0; k < sessions; ++k)
    if (!(s[k] = new_fn(model, maxSeq)))
      fail("tfc_session_new");
  long long created = resident();
  for (int k = 0; k < sessions; ++k)
    run(s[k], k, tokens, vocab, logits + (size_t)k * (size_t)vocab);
  long long used = resident() - before;
  double fraction = (double)used / ((double)full * sessions);
  printf("%d sessions of %d tokens (max_seq %d): resident +%lld KiB (+%lld KiB at creation), "
         "%d full KV caches %lld KiB: %.2f %%; the caches' pages by their layout %lld KiB "
         "(%.2f %%)\n",
         sessions, tokens, maxSeq, used / 1024, (created - before) / 1024, sessions,
         full * sessions / 1024, 100.0 * fraction, predicted * sessions / 1024,
         100.0 * (double)predicted / (double)full);
  if (!(fraction < maxFraction))
    fail("the sessions hold too large a share of their full reservations");
  printf("ok: %d sessions of %d tokens hold less than %.1f %% of %d full KV caches\n", sessions,
         tokens, 100.0 * maxFraction, sessions);

  for (int k = 0; k < sessions; ++k)
    reset_fn(s[k]);
  long long afterReset = resident() - before;
  printf("after reset: resident +%lld KiB\n", afterReset / 1024);
  if (!(used - afterReset >= predicted * sessions * 3 / 4))
    fail("reset did not give the cache pages back");
  printf("ok: reset gives the cache pages back\n");

  for (int k = 0; k < sessions; k += sessions - 1) {
    run(s[k], k, tokens, vocab, again);
    if (memcmp(again, logits + (size_t)k * (size_t)vocab, sizeof(float) * (size_t)vocab) != 0)
      fail("a session run again after reset gives other logits");
    if (sessions == 1)
      break;
  }
  printf("ok: sessions run again after reset give identical logits\n");
  for (int k = 0; k < sessions; ++k)
    free_session_fn(s[k]);
  free(s);
  free(logits);
  free(again);
  return 0;
}
