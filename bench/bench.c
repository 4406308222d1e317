/*===- bench.c - Prefill, decode and context timings of one model.so -------===*
 *
 * Opens a tfc-compiled model.so with dlopen and drives it through the C ABI of
 * tfc.h only (every function looked up with dlsym), with deterministic random
 * weights (tfc_model_random) or, with --weights FILE, the weights of a file
 * (tfc_model_load: a GGUF file compiled with `tfc FILE.gguf`, say, to run the
 * very file llama.cpp runs). It measures what issue #10 asks of a model:
 *
 *   --prefill N[,N..]    one tfc_decode call over N tokens (last token's logits
 *                        only), best of --repeats, a fresh session each time
 *   --decode G           G single-token steps after a --prompt P tokens prefill:
 *                        tokens/s and ms/token (best of --repeats)
 *   --contexts C[,C..]   fill the session to C tokens, then time --steps single
 *                        steps: ms/token at that context (flat with a KV cache,
 *                        growing without)
 *
 * and derives, from the weight manifest, the bytes a decode step must read (all
 * layer weights and the output head: every weight but the embedding table, of
 * which a step reads one row) and the prefill FLOP per token for n tokens
 * (2*layer_params + 2*vocab*dim/n + 2*layers*dim*(n+1): only the last token's
 * logits are computed). Weights whose name contains "embed" or "embd" (GGUF's
 * token_embd) are the embedding;
 * weights of shape [vocab, dim] otherwise are the output head; with
 * --weight-bytes B (2 for bf16/f16, 1.0625 for q8_0: 34 bytes per 32) the
 * rank-2 weights except the embedding (the linear layers) count B bytes per
 * element, the rest 4. With --active-experts K/E (a mixture of experts routing
 * each token to K of E experts) the routed experts' weights (names with
 * ".experts.") count K/E of their elements in the decode bytes and the FLOP:
 * what a token uses (a decode step reads only its experts' weights); a prefill
 * of n tokens still computes n*K expert rows, so the same FLOP per token hold.
 *
 * Output: one key=value line per measurement, for bench/run.sh:
 *   info name=.. params=.. weight_bytes=.. decode_bytes=.. layer_params=.. ...
 *   prefill n=.. s=.. tok_s=.. gflop=.. gflops=.. cpu_s=.. cpu_gflops=.. (CPU time of
 *                        all threads: with TFC_NUM_THREADS=1, loaded-machine A/B)
 *   decode prompt=.. tokens=.. s=.. tok_s=.. ms_per_tok=.. gbs=.. cpu_s=.. cpu_ms_per_tok=..
 *   context ctx=.. steps=.. ms_per_tok=..
 *   rss_phase phase=.. peak_mb=.. now_mb=..   (after each phase: its own peak RSS)
 *   rss peak_mb=.. weight_mb=.. kv_mb=.. ratio=.. ratio_w=..
 *
 * ratio is the peak RSS over the weight bytes plus the KV cache of the largest
 * session (issue #10's bound is 1.10); ratio_w over the weight bytes alone.
 *
 * Build: clang -std=c99 -O2 -I runtime/include bench.c -ldl -o bench
 *
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L
#include "tfc/tfc.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*===--- The ABI, resolved with dlsym --------------------------------------===*/

static struct {
  const tfc_model_info *(*info)(void);
  const char *(*weight_name)(int32_t);
  int32_t (*weight_shape)(int32_t, int64_t[8]);
  tfc_model *(*model_random)(uint64_t);
  tfc_model *(*model_load)(const char *);
  void (*model_free)(tfc_model *);
  tfc_session *(*session_new)(const tfc_model *, int32_t);
  void (*session_free)(tfc_session *);
  int32_t (*decode)(tfc_session *, const int32_t *, int32_t, float *, int32_t);
  const char *(*last_error)(void);
} abi;

static int resolve(void *lib, const char *name, void *slot) {
  void *sym = dlsym(lib, name);
  if (!sym) {
    fprintf(stderr, "bench: the library does not export '%s'\n", name);
    return -1;
  }
  memcpy(slot, &sym, sizeof sym); /* object pointer to function pointer, C99-clean */
  return 0;
}

static int open_model(const char *path) {
  char buf[4096];
  if (!strchr(path, '/')) { /* dlopen searches the library path for bare names */
    snprintf(buf, sizeof buf, "./%s", path);
    path = buf;
  }
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "bench: cannot load '%s': %s\n", path, dlerror());
    return -1;
  }
  if (resolve(lib, "tfc_info", &abi.info) || resolve(lib, "tfc_weight_name", &abi.weight_name) ||
      resolve(lib, "tfc_weight_shape", &abi.weight_shape) ||
      resolve(lib, "tfc_model_random", &abi.model_random) ||
      resolve(lib, "tfc_model_load", &abi.model_load) ||
      resolve(lib, "tfc_model_free", &abi.model_free) ||
      resolve(lib, "tfc_session_new", &abi.session_new) ||
      resolve(lib, "tfc_session_free", &abi.session_free) ||
      resolve(lib, "tfc_decode", &abi.decode) || resolve(lib, "tfc_last_error", &abi.last_error))
    return -1;
  const tfc_model_info *info = abi.info();
  if (!info || info->abi_version != TFC_ABI_VERSION) {
    fprintf(stderr, "bench: '%s' has ABI version %d, bench expects %d\n", path,
            info ? info->abi_version : -1, TFC_ABI_VERSION);
    return -1;
  }
  if (!info->has_decoder) {
    fprintf(stderr, "bench: '%s' has no decoder\n", path);
    return -1;
  }
  return 0;
}

/*===--- Helpers -----------------------------------------------------------===*/

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all its threads): with TFC_NUM_THREADS=1
   on a loaded machine, the time the work took without the time other
   processes held the core. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die_abi(const char *what) {
  fprintf(stderr, "bench: %s failed: %s\n", what, abi.last_error());
  exit(1);
}

/* Parses "64,256,1024" into out (at most max entries); returns the count. */
static int parse_list(const char *s, int *out, int max) {
  int n = 0;
  while (*s && n < max) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v <= 0)
      return -1;
    out[n++] = (int)v;
    s = *end == ',' ? end + 1 : end;
    if (*end && *end != ',')
      return -1;
  }
  return n;
}

/* Deterministic token ids in [1, vocab): the content does not change the work. */
static int32_t *make_tokens(int n, int vocab) {
  int32_t *t = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    t[i] = 1 + (int32_t)((x >> 33) % (uint64_t)(vocab > 1 ? vocab - 1 : 1));
  }
  return t;
}

/* Peak RSS per phase: VmHWM of /proc/self/status, reset after reading through
   /proc/self/clear_refs ("5" resets the peak to the current RSS), so each phase
   reports its own peak; the overall peak is the largest of them. */
static double peak_mb_all = 0;

static double status_mb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kb = -1;
  size_t len = strlen(key);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, len) && line[len] == ':')
      kb = strtod(line + len + 1, NULL);
  if (f)
    fclose(f);
  return kb / 1024.0;
}

static void rss_phase(const char *phase) {
  double hwm = status_mb("VmHWM"), now_mb = status_mb("VmRSS");
  if (hwm > peak_mb_all)
    peak_mb_all = hwm;
  printf("rss_phase phase=%s peak_mb=%.1f now_mb=%.1f\n", phase, hwm, now_mb);
  fflush(stdout);
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

static tfc_session *new_session(const tfc_model *m, int cap) {
  tfc_session *s = abi.session_new(m, cap);
  if (!s)
    die_abi("tfc_session_new");
  return s;
}

/* Feeds tokens[0..n) in chunks of at most chunk tokens (one call when chunk >= n). */
static void feed(tfc_session *s, const int32_t *tokens, int n, int chunk, float *logits) {
  for (int i = 0; i < n; i += chunk) {
    int k = n - i < chunk ? n - i : chunk;
    if (abi.decode(s, tokens + i, k, logits, 0) != 0)
      die_abi("tfc_decode");
  }
}

/*===--- Main --------------------------------------------------------------===*/

int main(int argc, char **argv) {
  const char *path = NULL, *weights = NULL;
  int prefill[16], n_prefill = 0, contexts[16], n_contexts = 0;
  int decode_tokens = 0, prompt = 16, repeats = 3, steps = 16, chunk = 0;
  double weight_bytes = 4;
  double active_experts = 1; /* K/E of --active-experts K/E */
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (a[0] != '-') {
      path = a;
      continue;
    }
    if (!v)
      goto usage;
    ++i;
    if (!strcmp(a, "--prefill")) {
      if ((n_prefill = parse_list(v, prefill, 16)) < 0)
        goto usage;
    } else if (!strcmp(a, "--contexts")) {
      if ((n_contexts = parse_list(v, contexts, 16)) < 0)
        goto usage;
    } else if (!strcmp(a, "--decode"))
      decode_tokens = atoi(v);
    else if (!strcmp(a, "--prompt"))
      prompt = atoi(v);
    else if (!strcmp(a, "--repeats"))
      repeats = atoi(v);
    else if (!strcmp(a, "--steps"))
      steps = atoi(v);
    else if (!strcmp(a, "--weight-bytes"))
      weight_bytes = atof(v);
    else if (!strcmp(a, "--fill-chunk"))
      chunk = atoi(v);
    else if (!strcmp(a, "--weights"))
      weights = v;
    else if (!strcmp(a, "--active-experts")) {
      int k = 0, e = 0;
      if (sscanf(v, "%d/%d", &k, &e) != 2 || k < 1 || e < k)
        goto usage;
      active_experts = (double)k / e;
    }
    else if (!strcmp(a, "--seed"))
      seed = (uint64_t)strtoull(v, NULL, 10);
    else
      goto usage;
  }
  if (!path || repeats < 1 || steps < 1 || prompt < 1 || decode_tokens < 0 || chunk < 0 ||
      !(weight_bytes > 0 && weight_bytes <= 4))
    goto usage;
  if (open_model(path))
    return 1;

  const tfc_model_info *info = abi.info();
  const int vocab = info->vocab_size, dim = info->dim, layers = info->n_layers;

  /* What the manifest says about the work. */
  double params = 0, weight_b = 0, decode_b = 0, layer_params = 0;
  for (int32_t w = 0; w < info->n_weights; ++w) {
    int64_t dims[8];
    int32_t rank = abi.weight_shape(w, dims);
    const char *name = abi.weight_name(w);
    if (rank < 0 || !name)
      die_abi("tfc_weight_shape");
    double elems = 1;
    for (int d = 0; d < rank; ++d)
      elems *= (double)dims[d];
    int is_embedding = strstr(name, "embed") != NULL || strstr(name, "embd") != NULL;
    int is_head = !is_embedding && rank == 2 && dims[0] == vocab && dims[1] == dim;
    int narrow = rank == 2 && !is_embedding; /* linear layers under --weight-type */
    double bytes = elems * (narrow ? weight_bytes : 4);
    double active = strstr(name, ".experts.") ? active_experts : 1.0;
    params += elems;
    weight_b += bytes;
    if (!is_embedding)
      decode_b += bytes * active;
    if (!is_embedding && !is_head)
      layer_params += elems * active;
  }
  printf("info name=%s vocab=%d dim=%d layers=%d heads=%d kv_heads=%d head_dim=%d "
         "kv_rank=%d max_seq=%d params=%.0f weight_bytes=%.0f decode_bytes=%.0f "
         "layer_params=%.0f kv_bytes_per_token=%lld\n",
         info->name, vocab, dim, layers, info->n_heads, info->n_kv_heads, info->head_dim,
         info->kv_latent_rank, info->max_seq, params, weight_b, decode_b, layer_params,
         (long long)info->kv_cache_bytes_per_token);
  fflush(stdout);

  double t0 = now();
  tfc_model *model = weights ? abi.model_load(weights) : abi.model_random(seed);
  if (!model)
    die_abi(weights ? "tfc_model_load" : "tfc_model_random");
  printf("load s=%.3f\n", now() - t0);
  rss_phase("load");

  int max_tokens = 1;
  for (int i = 0; i < n_prefill; ++i)
    max_tokens = prefill[i] > max_tokens ? prefill[i] : max_tokens;
  for (int i = 0; i < n_contexts; ++i)
    max_tokens = contexts[i] + steps > max_tokens ? contexts[i] + steps : max_tokens;
  if (prompt + decode_tokens > max_tokens)
    max_tokens = prompt + decode_tokens;
  if (max_tokens > info->max_seq) {
    fprintf(stderr, "bench: %d tokens needed, the model's max_seq is %d\n", max_tokens,
            info->max_seq);
    return 1;
  }
  int32_t *tokens = make_tokens(max_tokens, vocab);
  float *logits = malloc(sizeof(float) * (size_t)vocab);

  /* Warm-up: starts the thread pool and faults the weights in. */
  {
    tfc_session *s = new_session(model, 8 < max_tokens ? 8 : max_tokens);
    feed(s, tokens, 8 < max_tokens ? 8 : max_tokens, max_tokens, logits);
    abi.session_free(s);
  }
  rss_phase("warmup");

  for (int i = 0; i < n_prefill; ++i) {
    int n = prefill[i];
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < repeats; ++r) {
      tfc_session *s = new_session(model, n);
      double a = now(), cpu_a = cpu_now();
      if (abi.decode(s, tokens, n, logits, 0) != 0)
        die_abi("tfc_decode (prefill)");
      double t = now() - a, cpu_t = cpu_now() - cpu_a;
      abi.session_free(s);
      best = t < best ? t : best;
      best_cpu = cpu_t < best_cpu ? cpu_t : best_cpu;
    }
    double flop_tok = 2.0 * layer_params + 2.0 * vocab * (double)dim / n +
                      2.0 * layers * (double)dim * (n + 1);
    printf("prefill n=%d s=%.4f tok_s=%.1f gflop=%.2f gflops=%.1f cpu_s=%.4f cpu_gflops=%.1f\n", n,
           best, n / best, flop_tok * n / 1e9, flop_tok * n / best / 1e9, best_cpu,
           flop_tok * n / best_cpu / 1e9);
    char phase[32];
    snprintf(phase, sizeof phase, "prefill%d", n);
    rss_phase(phase);
  }

  if (decode_tokens > 0) {
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < repeats; ++r) {
      tfc_session *s = new_session(model, prompt + decode_tokens);
      feed(s, tokens, prompt, prompt, logits);
      double a = now(), cpu_a = cpu_now();
      for (int g = 0; g < decode_tokens; ++g)
        if (abi.decode(s, tokens + prompt + g, 1, logits, 0) != 0)
          die_abi("tfc_decode (decode step)");
      double t = now() - a, cpu_t = cpu_now() - cpu_a;
      abi.session_free(s);
      best = t < best ? t : best;
      best_cpu = cpu_t < best_cpu ? cpu_t : best_cpu;
    }
    printf("decode prompt=%d tokens=%d s=%.4f tok_s=%.2f ms_per_tok=%.3f gbs=%.2f cpu_s=%.4f "
           "cpu_ms_per_tok=%.3f\n",
           prompt, decode_tokens, best, decode_tokens / best, 1e3 * best / decode_tokens,
           decode_b * decode_tokens / best / 1e9, best_cpu, 1e3 * best_cpu / decode_tokens);
    rss_phase("decode");
  }

  for (int i = 0; i < n_contexts; ++i) {
    int ctx = contexts[i];
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
      tfc_session *s = new_session(model, ctx + steps);
      feed(s, tokens, ctx, chunk > 0 ? chunk : ctx, logits);
      double a = now();
      for (int g = 0; g < steps; ++g)
        if (abi.decode(s, tokens + ctx + g, 1, logits, 0) != 0)
          die_abi("tfc_decode (context step)");
      double t = now() - a;
      abi.session_free(s);
      best = t < best ? t : best;
    }
    printf("context ctx=%d steps=%d ms_per_tok=%.3f tok_s=%.2f\n", ctx, steps,
           1e3 * best / steps, steps / best);
    char phase[32];
    snprintf(phase, sizeof phase, "context%d", ctx);
    rss_phase(phase);
  }

  free(logits);
  free(tokens);
  abi.model_free(model);
  rss_phase("end");
  /* The allowance of issue #10: the weights as stored plus the KV cache of the
     largest session the bench holds (its capacity in tokens times the cache
     bytes per token; the cache buffers are sized for max_seq but only the
     touched rows are resident). */
  double kv_b = (double)info->kv_cache_bytes_per_token * max_tokens;
  printf("rss peak_mb=%.1f weight_mb=%.1f kv_mb=%.1f ratio=%.3f ratio_w=%.3f\n", peak_mb_all,
         weight_b / 1048576.0, kv_b / 1048576.0, peak_mb_all / ((weight_b + kv_b) / 1048576.0),
         peak_mb_all / (weight_b / 1048576.0));
  return 0;

usage:
  fprintf(stderr,
          "usage: bench MODEL.so [--prefill N,..] [--decode G --prompt P] [--contexts C,.. "
          "--steps S [--fill-chunk K]] [--repeats R] [--weight-bytes 4|2|1.0625] "
          "[--active-experts K/E] [--seed S | --weights FILE]\n");
  return 2;
}
