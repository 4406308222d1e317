/*===- batch.c - Aggregate decode throughput of concurrent streams ----------===*
 *
 *   batch MODEL.so [--streams 1,2,4,8,16] [--prompt P] [--tokens G] [--repeats R]
 *                  [--batched-only 1]
 *
 * Opens a tfc-compiled model.so with dlopen and drives it through tfc.h only,
 * with deterministic random weights. For each stream count S it prefills S
 * sessions with P tokens each (one tfc_decode_batch call), then times G greedy
 * steps of all S streams two ways:
 *
 *   batched     one tfc_decode_batch call per step for the S sessions (each
 *               weight read once per step)
 *   sequential  S tfc_decode calls per step, one per session (each weight read
 *               S times per step)
 *
 * and reports the aggregate tokens/s (S*G / time, best of R). It also times the
 * step in which a new request joins S-1 decoding streams: one batched call with
 * the newcomer's P-token prefill and the others' single tokens, i.e. the time to
 * the newcomer's first token while the others keep decoding (ttft_ms), against
 * a plain step of S-1 streams (step_ms).
 *
 * --batched-only 1 times the batched steps alone (for perf record of the
 * batched entry point) and prints their wall and CPU milliseconds per step.
 *
 * Output: one key=value line per stream count, for bench/batch.sh:
 *   streams n=.. batched_tok_s=.. sequential_tok_s=.. speedup=.. ttft_ms=.. step_ms=..
 *
 * Build: clang -std=c99 -O2 -I runtime/include batch.c -ldl -o batch
 *
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L
#include "tfc/tfc.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
  const tfc_model_info *(*info)(void);
  tfc_model *(*model_random)(uint64_t);
  tfc_session *(*session_new)(const tfc_model *, int32_t);
  void (*session_free)(tfc_session *);
  int32_t (*decode)(tfc_session *, const int32_t *, int32_t, float *, int32_t);
  int32_t (*decode_batch)(tfc_session *const *, int32_t, const int32_t *, const int32_t *,
                          float *, int32_t, int32_t *);
  const char *(*last_error)(void);
} abi;

static int32_t vocab;

/* CPU seconds of the process (all threads) during the last time_steps call:
   with TFC_NUM_THREADS=1 on a loaded machine, a steadier figure than the wall
   clock (time spent descheduled is not counted). */
static double last_cpu_seconds;

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "batch: %s: %s\n", what, abi.last_error ? abi.last_error() : "");
  exit(1);
}

static int32_t argmax(const float *row) {
  int32_t best = 0;
  for (int32_t v = 1; v < vocab; ++v)
    if (row[v] > row[best])
      best = v;
  return best;
}

/* S fresh sessions, each prefilled with its own P tokens in one batched call;
   next[k] is stream k's first generated token. */
static void start_streams(const tfc_model *model, tfc_session **s, int32_t count, int32_t prompt,
                          int32_t capacity, float *logits, int32_t *next) {
  int32_t *tokens = malloc(sizeof(int32_t) * (size_t)(count * prompt));
  int32_t *n = malloc(sizeof(int32_t) * (size_t)count);
  for (int32_t k = 0; k < count; ++k) {
    s[k] = abi.session_new(model, capacity);
    if (!s[k])
      die("tfc_session_new");
    n[k] = prompt;
    for (int32_t i = 0; i < prompt; ++i)
      tokens[k * prompt + i] = (int32_t)((31 * k + 7 * i + 1) % vocab);
  }
  if (abi.decode_batch(s, count, tokens, n, logits, 0, NULL) != 0)
    die("prefill");
  for (int32_t k = 0; k < count; ++k)
    next[k] = argmax(logits + (size_t)k * (size_t)vocab);
  free(tokens);
  free(n);
}

static void stop_streams(tfc_session **s, int32_t count) {
  for (int32_t k = 0; k < count; ++k)
    abi.session_free(s[k]);
}

/* Seconds for G greedy steps of S streams, batched or one session at a time. */
static double time_steps(const tfc_model *model, int32_t count, int32_t prompt, int32_t steps,
                         int batched, float *logits) {
  tfc_session *s[64];
  int32_t next[64], one[64];
  start_streams(model, s, count, prompt, prompt + steps + 1, logits, next);
  for (int32_t k = 0; k < count; ++k)
    one[k] = 1;
  double t0 = now(), c0 = cpu_now();
  for (int32_t step = 0; step < steps; ++step) {
    if (batched) {
      if (abi.decode_batch(s, count, next, one, logits, 0, NULL) != 0)
        die("batched step");
    } else {
      for (int32_t k = 0; k < count; ++k)
        if (abi.decode(s[k], &next[k], 1, logits + (size_t)k * (size_t)vocab, 0) != 0)
          die("step");
    }
    for (int32_t k = 0; k < count; ++k)
      next[k] = argmax(logits + (size_t)k * (size_t)vocab);
  }
  double t = now() - t0;
  last_cpu_seconds = cpu_now() - c0;
  stop_streams(s, count);
  return t;
}

/* The step in which a newcomer's P-token prompt joins S-1 decoding streams
   (seconds), and a plain step of the S-1 streams (seconds, through *plain). */
static double time_join(const tfc_model *model, int32_t count, int32_t prompt, float *logits,
                        double *plain) {
  tfc_session *s[65];
  int32_t next[65];
  int32_t running = count - 1;
  *plain = 0;
  if (running > 0) {
    start_streams(model, s, running, prompt, prompt + 8, logits, next);
    int32_t one[64];
    for (int32_t k = 0; k < running; ++k)
      one[k] = 1;
    double t0 = now();
    if (abi.decode_batch(s, running, next, one, logits, 0, NULL) != 0)
      die("plain step");
    *plain = now() - t0;
    for (int32_t k = 0; k < running; ++k)
      next[k] = argmax(logits + (size_t)k * (size_t)vocab);
  }
  s[running] = abi.session_new(model, prompt + 8);
  if (!s[running])
    die("tfc_session_new");
  int32_t tokens[64 + 512], n[65];
  for (int32_t k = 0; k < running; ++k) {
    tokens[k] = next[k];
    n[k] = 1;
  }
  for (int32_t i = 0; i < prompt; ++i)
    tokens[running + i] = (int32_t)((5 * i + 3) % vocab);
  n[running] = prompt;
  double t0 = now();
  if (abi.decode_batch(s, count, tokens, n, logits, 0, NULL) != 0)
    die("join step");
  double t = now() - t0;
  stop_streams(s, count);
  return t;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: batch MODEL.so [--streams 1,2,4,8,16] [--prompt P] [--tokens G] "
                    "[--repeats R] [--batched-only 1]\n");
    return 2;
  }
  const char *streams = "1,2,4,8,16";
  int32_t prompt = 16, tokens = 32, repeats = 3, batchedOnly = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--streams"))
      streams = argv[i + 1];
    else if (!strcmp(argv[i], "--prompt"))
      prompt = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--tokens"))
      tokens = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--repeats"))
      repeats = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batched-only"))
      batchedOnly = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "batch: unknown option '%s'\n", argv[i]);
      return 2;
    }
  }
  if (prompt < 1 || prompt > 512 || tokens < 1 || repeats < 1) {
    fprintf(stderr, "batch: --prompt must be in [1, 512], --tokens and --repeats >= 1\n");
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "batch: %s\n", dlerror());
    return 1;
  }
  *(void **)&abi.info = dlsym(lib, "tfc_info");
  *(void **)&abi.model_random = dlsym(lib, "tfc_model_random");
  *(void **)&abi.session_new = dlsym(lib, "tfc_session_new");
  *(void **)&abi.session_free = dlsym(lib, "tfc_session_free");
  *(void **)&abi.decode = dlsym(lib, "tfc_decode");
  *(void **)&abi.decode_batch = dlsym(lib, "tfc_decode_batch");
  *(void **)&abi.last_error = dlsym(lib, "tfc_last_error");
  if (!abi.info || !abi.model_random || !abi.session_new || !abi.session_free || !abi.decode ||
      !abi.decode_batch || !abi.last_error) {
    fprintf(stderr, "batch: %s lacks the tfc.h ABI version 2\n", argv[1]);
    return 1;
  }
  vocab = abi.info()->vocab_size;
  tfc_model *model = abi.model_random(1);
  if (!model)
    die("tfc_model_random");
  float *logits = malloc(sizeof(float) * (size_t)vocab * (64 + 512));
  if (!logits)
    die("out of memory");
  for (const char *p = streams; *p;) {
    int32_t count = (int32_t)strtol(p, (char **)&p, 10);
    if (*p == ',')
      ++p;
    if (count < 1 || count > 64) {
      fprintf(stderr, "batch: stream counts must be in [1, 64]\n");
      return 2;
    }
    double batched = 1e30, sequential = 1e30, join = 1e30, plain = 1e30, cpu = 1e30;
    for (int32_t r = 0; r < repeats; ++r) {
      double t = time_steps(model, count, prompt, tokens, 1, logits);
      batched = t < batched ? t : batched;
      if (batchedOnly) {
        cpu = last_cpu_seconds < cpu ? last_cpu_seconds : cpu;
        continue;
      }
      t = time_steps(model, count, prompt, tokens, 0, logits);
      sequential = t < sequential ? t : sequential;
      double p1;
      t = time_join(model, count, prompt, logits, &p1);
      join = t < join ? t : join;
      plain = p1 < plain ? p1 : plain;
    }
    double total = (double)count * tokens;
    if (batchedOnly) {
      printf("streams n=%d batched_tok_s=%.2f step_ms=%.2f step_cpu_ms=%.2f\n", count,
             total / batched, 1e3 * batched / tokens, 1e3 * cpu / tokens);
      fflush(stdout);
      continue;
    }
    printf("streams n=%d batched_tok_s=%.2f sequential_tok_s=%.2f speedup=%.2f ttft_ms=%.2f "
           "step_ms=%.2f\n",
           count, total / batched, total / sequential, sequential / batched, 1e3 * join,
           1e3 * plain);
    fflush(stdout);
  }
  return 0;
}
