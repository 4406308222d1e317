/*===- runtime_test.c - Drives a model.so through the C ABI of tfc.h -------===*
 *
 * Usage: runtime_test MODEL.so COMMAND [ARGS...]. dlopens the model (a fake
 * generated object linked with libtfcrt.a, see fake_model.c) and runs one
 * scenario, printing what lit checks with FileCheck. Exit status 0 when every
 * check of the scenario held, 1 otherwise (the failing check is printed).
 *
 *   info                  the info block and the weight manifest
 *   load FILE             load a safetensors file: "loaded" or "error: MESSAGE"
 *   dump FILE|@SEED       (probe model) one decode row = every weight buffer, as hex bits
 *   misuse                every API misuse, one error message per line
 *   chunks SEED           one call of 9 tokens == 5 + 1 + 3 == 9 single steps
 *   unchanged SEED        failed calls leave the session as it was
 *   same OTHER.so SEED    this model's logits == OTHER's (stateless vs stateful)
 *   random                tfc_model_random is deterministic and seed-dependent
 *   threads SEED          8 threads x own session x 100 steps == single-threaded
 *   encdec SEED           encoder-decoder sessions; encode-only models
 *
 *===----------------------------------------------------------------------===*/
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfc/tfc.h"

typedef struct {
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
  int32_t (*rank)(int32_t *);
  int32_t (*broadcast)(void *, int64_t);
} Api;

static int failures = 0;

#define CHECK(cond)                                                                        \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      printf("FAILED: %s (line %d)\n", #cond, __LINE__);                                   \
      ++failures;                                                                          \
    }                                                                                      \
  } while (0)

static void *sym(void *h, const char *name) {
  void *p = dlsym(h, name);
  if (!p) {
    printf("missing symbol %s\n", name);
    exit(2);
  }
  return p;
}

static Api open_api(const char *path) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    printf("dlopen: %s\n", dlerror());
    exit(2);
  }
  Api a;
  a.info = sym(h, "tfc_info");
  a.weight_name = sym(h, "tfc_weight_name");
  a.weight_shape = sym(h, "tfc_weight_shape");
  a.model_load = sym(h, "tfc_model_load");
  a.model_random = sym(h, "tfc_model_random");
  a.model_free = sym(h, "tfc_model_free");
  a.session_new = sym(h, "tfc_session_new");
  a.session_reset = sym(h, "tfc_session_reset");
  a.session_pos = sym(h, "tfc_session_pos");
  a.session_free = sym(h, "tfc_session_free");
  a.decode = sym(h, "tfc_decode");
  a.encode = sym(h, "tfc_encode");
  a.last_error = sym(h, "tfc_last_error");
  a.rank = sym(h, "tfc_rank");
  a.broadcast = sym(h, "tfc_broadcast");
  return a;
}

static Api api;
#define VMAX 256 /* >= any fake vocab */

static tfc_model *random_model(const Api *a, uint64_t seed) {
  tfc_model *m = a->model_random(seed);
  if (!m) {
    printf("tfc_model_random: %s\n", a->last_error());
    exit(1);
  }
  return m;
}

static tfc_session *new_session(const Api *a, tfc_model *m, int32_t cap) {
  tfc_session *s = a->session_new(m, cap);
  if (!s) {
    printf("tfc_session_new: %s\n", a->last_error());
    exit(1);
  }
  return s;
}

static int any_nan(const float *x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (isnan(x[i]))
      return 1;
  return 0;
}

/* Decodes `n` tokens in one call; exits on error. */
static void decode_ok(const Api *a, tfc_session *s, const int32_t *tok, int32_t n, float *out,
                      int32_t all) {
  if (a->decode(s, tok, n, out, all) != 0) {
    printf("tfc_decode: %s\n", a->last_error());
    exit(1);
  }
  int32_t V = a->info()->vocab_size;
  if (any_nan(out, (size_t)(all ? n : 1) * V)) {
    printf("FAILED: NaN logits: the fake model rejected its memref descriptors\n");
    exit(1);
  }
}

static int32_t token_at(int i) { return (int32_t)((i * 7 + 3) % 16); }

/*--- info ---------------------------------------------------------------------*/

static int cmd_info(void) {
  const tfc_model_info *i = api.info();
  printf("abi %d name %s vocab %d dim %d layers %d heads %d/%d head_dim %d latent %d max_seq %d\n",
         i->abi_version, i->name, i->vocab_size, i->dim, i->n_layers, i->n_heads,
         i->n_kv_heads, i->head_dim, i->kv_latent_rank, i->max_seq);
  printf("encoder %d decoder %d params %lld kv_bytes %lld weights %d\n", i->has_encoder,
         i->has_decoder, (long long)i->n_params, (long long)i->kv_cache_bytes_per_token,
         i->n_weights);
  for (int32_t w = 0; w < i->n_weights; ++w) {
    int64_t dims[8];
    int32_t r = api.weight_shape(w, dims);
    printf("weight %d %s [", w, api.weight_name(w));
    for (int32_t d = 0; d < r; ++d)
      printf(d ? ", %lld" : "%lld", (long long)dims[d]);
    printf("]\n");
  }
  printf("error before any failure: '%s'\n", api.last_error());
  CHECK(api.weight_name(i->n_weights) == NULL);
  printf("name(n): %s\n", api.last_error());
  int64_t dims[8];
  CHECK(api.weight_shape(-1, dims) == -1);
  printf("shape(-1): %s\n", api.last_error());
  CHECK(api.weight_shape(0, NULL) == -1);
  printf("shape(0, NULL): %s\n", api.last_error());
  return failures != 0;
}

/*--- load / dump ----------------------------------------------------------------*/

static int cmd_load(const char *file) {
  tfc_model *m = api.model_load(file);
  if (!m) {
    printf("error: %s\n", api.last_error());
    return 1;
  }
  printf("loaded\n");
  api.model_free(m);
  return 0;
}

static int cmd_dump(const char *what) {
  tfc_model *m = what[0] == '@' ? api.model_random(strtoull(what + 1, NULL, 10))
                                : api.model_load(what);
  if (!m) {
    printf("error: %s\n", api.last_error());
    return 1;
  }
  int32_t V = api.info()->vocab_size;
  float *row = malloc(sizeof(float) * V);
  tfc_session *s = new_session(&api, m, 4);
  int32_t tok = 1;
  if (api.decode(s, &tok, 1, row, 0) != 0) { /* no NaN check: NaN weights are test data */
    printf("error: %s\n", api.last_error());
    return 1;
  }
  for (int32_t v = 0; v < V; ++v) {
    uint32_t bits;
    memcpy(&bits, &row[v], 4);
    printf("%08x\n", bits);
  }
  api.session_free(s);
  api.model_free(m);
  free(row);
  return 0;
}

/*--- misuse ---------------------------------------------------------------------*/

#define EXPECT_FAIL(call, label)                                                           \
  do {                                                                                     \
    if ((call) != -1) {                                                                    \
      printf("FAILED: %s succeeded\n", label);                                             \
      ++failures;                                                                          \
    } else {                                                                               \
      printf("%s: %s\n", label, api.last_error());                                         \
    }                                                                                      \
  } while (0)

static int cmd_misuse(void) {
  const tfc_model_info *info = api.info();
  CHECK(api.model_load(NULL) == NULL);
  printf("load(NULL): %s\n", api.last_error());
  CHECK(api.session_new(NULL, 4) == NULL);
  printf("session_new(NULL): %s\n", api.last_error());
  tfc_model *m = random_model(&api, 1);
  CHECK(api.session_new(m, 0) == NULL);
  printf("session_new(0): %s\n", api.last_error());
  CHECK(api.session_new(m, info->max_seq + 1) == NULL);
  printf("session_new(max_seq+1): %s\n", api.last_error());
  EXPECT_FAIL(api.session_pos(NULL), "pos(NULL)");
  api.session_reset(NULL); /* no-ops, must not crash */
  api.session_free(NULL);
  api.model_free(NULL);

  tfc_session *s = new_session(&api, m, 8);
  int32_t tok[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  float out[VMAX * 10];
  if (info->has_decoder) {
    EXPECT_FAIL(api.decode(NULL, tok, 1, out, 0), "decode(NULL session)");
    EXPECT_FAIL(api.decode(s, NULL, 1, out, 0), "decode(NULL tokens)");
    EXPECT_FAIL(api.decode(s, tok, 1, NULL, 0), "decode(NULL logits)");
    EXPECT_FAIL(api.decode(s, tok, 0, out, 0), "decode(n=0)");
    EXPECT_FAIL(api.decode(s, tok, -3, out, 0), "decode(n=-3)");
    int32_t bad[2] = {1, info->vocab_size};
    EXPECT_FAIL(api.decode(s, bad, 2, out, 0), "decode(token=vocab)");
    bad[1] = -1;
    EXPECT_FAIL(api.decode(s, bad, 2, out, 0), "decode(token=-1)");
    EXPECT_FAIL(api.decode(s, tok, 9, out, 1), "decode(9 > capacity 8)");
    if (info->has_encoder) {
      EXPECT_FAIL(api.decode(s, tok, 1, out, 0), "decode(no memory)");
      CHECK(api.encode(s, tok, 3, NULL) == 0);
    }
    CHECK(api.decode(s, tok, 6, out, 1) == 0);
    EXPECT_FAIL(api.decode(s, tok, 3, out, 1), "decode(6 + 3 > capacity 8)");
    CHECK(api.session_pos(s) == 6);
  } else {
    EXPECT_FAIL(api.decode(s, tok, 1, out, 0), "decode(no decoder)");
  }
  if (info->has_encoder) {
    EXPECT_FAIL(api.encode(NULL, tok, 1, out), "encode(NULL session)");
    EXPECT_FAIL(api.encode(s, NULL, 1, out), "encode(NULL tokens)");
    EXPECT_FAIL(api.encode(s, tok, 0, out), "encode(n=0)");
    EXPECT_FAIL(api.encode(s, tok, 9, out), "encode(9 > capacity 8)");
    int32_t bad[1] = {99};
    EXPECT_FAIL(api.encode(s, bad, 1, out), "encode(token=99)");
  } else {
    EXPECT_FAIL(api.encode(s, tok, 1, out), "encode(no encoder)");
  }
  printf("error kept after a success: %s\n",
         (api.session_pos(s), api.last_error()));
  /* One process: rank 0 of 1, and a broadcast moves nothing and succeeds. */
  int32_t ranks = -1;
  CHECK(api.rank(&ranks) == 0 && ranks == 1);
  CHECK(api.rank(NULL) == 0);
  char bytes[4] = {1, 2, 3, 4};
  CHECK(api.broadcast(bytes, 4) == 0 && bytes[3] == 4);
  CHECK(api.broadcast(NULL, 0) == 0);
  EXPECT_FAIL(api.broadcast(NULL, 4), "broadcast(NULL, 4)");
  EXPECT_FAIL(api.broadcast(bytes, -1), "broadcast(-1)");
  api.session_free(s);
  api.model_free(m);
  return failures != 0;
}

/*--- decode equivalences ----------------------------------------------------------*/

static int cmd_chunks(uint64_t seed) {
  const int32_t V = api.info()->vocab_size;
  tfc_model *m = random_model(&api, seed);
  int32_t tok[9];
  for (int i = 0; i < 9; ++i)
    tok[i] = token_at(i);
  float all[9 * VMAX], chunked[9 * VMAX], step[9 * VMAX], last[VMAX];

  tfc_session *s = new_session(&api, m, 16);
  decode_ok(&api, s, tok, 9, all, 1);
  CHECK(api.session_pos(s) == 9);

  /* 5 then 1 then 3, all logits */
  api.session_reset(s);
  CHECK(api.session_pos(s) == 0);
  decode_ok(&api, s, tok, 5, chunked, 1);
  decode_ok(&api, s, tok + 5, 1, chunked + 5 * V, 1);
  decode_ok(&api, s, tok + 6, 3, chunked + 6 * V, 1);
  CHECK(api.session_pos(s) == 9);
  CHECK(memcmp(all, chunked, sizeof(float) * 9 * V) == 0);

  /* one token at a time, last logits only, on a second session */
  tfc_session *s2 = new_session(&api, m, 9);
  for (int i = 0; i < 9; ++i)
    decode_ok(&api, s2, tok + i, 1, step + i * V, 0);
  CHECK(memcmp(all, step, sizeof(float) * 9 * V) == 0);

  /* a chunk with all_logits = 0 gives its last row */
  api.session_reset(s);
  decode_ok(&api, s, tok, 5, last, 0);
  CHECK(memcmp(last, all + 4 * V, sizeof(float) * V) == 0);

  /* the logits depend on the history (else the test above proves little) */
  api.session_reset(s);
  int32_t other = (tok[0] + 1) % 16;
  decode_ok(&api, s, &other, 1, last, 0);
  decode_ok(&api, s, tok + 1, 1, last, 0);
  CHECK(memcmp(last, all + V, sizeof(float) * V) != 0);

  printf("chunks: %s\n", failures ? "differ" : "identical");
  api.session_free(s);
  api.session_free(s2);
  api.model_free(m);
  return failures != 0;
}

static int cmd_unchanged(uint64_t seed) {
  const int32_t V = api.info()->vocab_size;
  tfc_model *m = random_model(&api, seed);
  int32_t tok[5];
  for (int i = 0; i < 5; ++i)
    tok[i] = token_at(i);
  float clean[5 * VMAX], got[5 * VMAX];
  tfc_session *ref = new_session(&api, m, 6);
  decode_ok(&api, ref, tok, 5, clean, 1);

  tfc_session *s = new_session(&api, m, 6);
  decode_ok(&api, s, tok, 3, got, 1);
  /* every failure below must leave the session at position 3 with its history */
  int32_t bad[3] = {tok[3], 17, tok[4]};
  float junk[8 * VMAX];
  CHECK(api.decode(s, bad, 3, junk, 1) == -1); /* bad token after a good one */
  CHECK(api.decode(s, tok, 4, junk, 1) == -1); /* 3 + 4 > 6 */
  CHECK(api.decode(s, tok, 0, junk, 1) == -1);
  CHECK(api.decode(s, NULL, 1, junk, 1) == -1);
  CHECK(api.session_pos(s) == 3);
  decode_ok(&api, s, tok + 3, 2, got + 3 * V, 1);
  CHECK(api.session_pos(s) == 5);
  CHECK(memcmp(clean, got, sizeof(float) * 5 * V) == 0);
  printf("unchanged: %s\n", failures ? "differ" : "identical");
  api.session_free(ref);
  api.session_free(s);
  api.model_free(m);
  return failures != 0;
}

static int cmd_same(const char *other_path, uint64_t seed) {
  Api b = open_api(other_path);
  const int32_t V = api.info()->vocab_size;
  CHECK(b.info()->vocab_size == V);
  tfc_model *ma = random_model(&api, seed), *mb = random_model(&b, seed);
  tfc_session *sa = new_session(&api, ma, 32), *sb = new_session(&b, mb, 32);
  float la[8 * VMAX], lb[8 * VMAX];
  int32_t tok[8];
  for (int round = 0; round < 2; ++round) { /* the second round reuses the sessions */
    int pos = 0;
    for (int chunk = 1; pos + chunk <= 20; pos += chunk, chunk = chunk % 4 + 1) {
      for (int i = 0; i < chunk; ++i)
        tok[i] = token_at(pos + i + round);
      decode_ok(&api, sa, tok, chunk, la, 1);
      decode_ok(&b, sb, tok, chunk, lb, 1);
      CHECK(memcmp(la, lb, sizeof(float) * chunk * V) == 0);
    }
    CHECK(api.session_pos(sa) == pos && b.session_pos(sb) == pos);
    api.session_reset(sa);
    b.session_reset(sb);
  }
  printf("same: %s\n", failures ? "differ" : "identical");
  api.session_free(sa);
  b.session_free(sb);
  api.model_free(ma);
  b.model_free(mb);
  return failures != 0;
}

static void run_steps(tfc_model *m, int steps, float *trace) {
  const int32_t V = api.info()->vocab_size;
  tfc_session *s = new_session(&api, m, steps);
  int32_t tok = 3;
  float logits[VMAX];
  for (int i = 0; i < steps; ++i) {
    decode_ok(&api, s, &tok, 1, logits, 0);
    int best = 0; /* greedy: feeds the model's own choice back */
    for (int v = 1; v < V; ++v)
      if (logits[v] > logits[best])
        best = v;
    tok = best;
    trace[i] = logits[i % V];
  }
  api.session_free(s);
}

typedef struct {
  tfc_model *m;
  float trace[100];
} Job;

static void *thread_main(void *p) {
  Job *j = p;
  run_steps(j->m, 100, j->trace);
  return NULL;
}

static int cmd_random(void) {
  const int32_t V = api.info()->vocab_size;
  tfc_model *a = random_model(&api, 42), *b = random_model(&api, 42), *c = random_model(&api, 43);
  float la[8 * VMAX], lb[8 * VMAX], lc[8 * VMAX];
  int32_t tok[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  tfc_session *sa = new_session(&api, a, 8), *sb = new_session(&api, b, 8),
              *sc = new_session(&api, c, 8);
  decode_ok(&api, sa, tok, 8, la, 1);
  decode_ok(&api, sb, tok, 8, lb, 1);
  decode_ok(&api, sc, tok, 8, lc, 1);
  CHECK(memcmp(la, lb, sizeof(float) * 8 * V) == 0);
  CHECK(memcmp(la, lc, sizeof(float) * 8 * V) != 0);
  float maxabs = 0;
  for (int i = 0; i < 8 * V; ++i)
    maxabs = fmaxf(maxabs, fabsf(la[i]));
  CHECK(maxabs > 0 && maxabs < 10); /* small weights keep activations O(1) */
  printf("random: %s\n", failures ? "FAILED" : "deterministic");
  api.session_free(sa);
  api.session_free(sb);
  api.session_free(sc);
  api.model_free(a);
  api.model_free(b);
  api.model_free(c);
  return failures != 0;
}

static int cmd_threads(uint64_t seed) {
  tfc_model *m = random_model(&api, seed);
  float ref[100];
  run_steps(m, 100, ref);
  Job jobs[8];
  pthread_t th[8];
  for (int t = 0; t < 8; ++t) {
    jobs[t].m = m;
    CHECK(pthread_create(&th[t], NULL, thread_main, &jobs[t]) == 0);
  }
  for (int t = 0; t < 8; ++t) {
    pthread_join(th[t], NULL);
    CHECK(memcmp(jobs[t].trace, ref, sizeof(ref)) == 0);
  }
  printf("threads: %s\n", failures ? "differ" : "identical");
  api.model_free(m);
  return failures != 0;
}

/*--- encoders ---------------------------------------------------------------------*/

static int cmd_encdec(uint64_t seed) {
  const tfc_model_info *info = api.info();
  const int32_t V = info->vocab_size, D = info->dim;
  tfc_model *m = random_model(&api, seed);
  tfc_session *s = new_session(&api, m, 8);
  int32_t src[3] = {1, 2, 3}, src2[5] = {9, 8, 7, 6, 5}, tok[4] = {4, 5, 6, 7};
  float h[8 * VMAX], h2[8 * VMAX];
  CHECK(api.encode(s, src, 3, h) == 0);
  CHECK(!any_nan(h, 3 * D));
  CHECK(api.encode(s, src, 3, h2) == 0); /* encoders are stateless */
  CHECK(memcmp(h, h2, sizeof(float) * 3 * D) == 0);
  CHECK(api.encode(s, src, 3, NULL) == 0);
  if (!info->has_decoder) {
    CHECK(api.session_pos(s) == 0);
    printf("encoder: %s\n", failures ? "FAILED" : "ok");
    api.session_free(s);
    api.model_free(m);
    return failures != 0;
  }
  float a[4 * VMAX], b[4 * VMAX], c[4 * VMAX];
  decode_ok(&api, s, tok, 4, a, 1);
  CHECK(api.session_pos(s) == 4);
  /* a new encoding becomes the memory and restarts the decoder */
  CHECK(api.encode(s, src2, 5, NULL) == 0);
  CHECK(api.session_pos(s) == 0);
  decode_ok(&api, s, tok, 4, b, 1);
  CHECK(memcmp(a, b, sizeof(float) * 4 * V) != 0);
  /* back to the first memory: the first logits again, in two chunks */
  CHECK(api.encode(s, src, 3, NULL) == 0);
  decode_ok(&api, s, tok, 1, c, 1);
  decode_ok(&api, s, tok + 1, 3, c + V, 1);
  CHECK(memcmp(a, c, sizeof(float) * 4 * V) == 0);
  /* a failed encode keeps the memory and the position */
  CHECK(api.encode(s, src, 9, NULL) == -1);
  CHECK(api.session_pos(s) == 4);
  api.session_reset(s); /* reset keeps the memory */
  decode_ok(&api, s, tok, 4, c, 1);
  CHECK(memcmp(a, c, sizeof(float) * 4 * V) == 0);
  printf("encdec: %s\n", failures ? "FAILED" : "ok");
  api.session_free(s);
  api.model_free(m);
  return failures != 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL.so COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }
  api = open_api(argv[1]);
  const char *cmd = argv[2];
  const char *arg = argc > 3 ? argv[3] : "";
  uint64_t seed = strtoull(arg, NULL, 10);
  int rc;
  if (!strcmp(cmd, "info"))
    rc = cmd_info();
  else if (!strcmp(cmd, "load"))
    rc = cmd_load(arg);
  else if (!strcmp(cmd, "dump"))
    rc = cmd_dump(arg);
  else if (!strcmp(cmd, "misuse"))
    rc = cmd_misuse();
  else if (!strcmp(cmd, "chunks"))
    rc = cmd_chunks(seed);
  else if (!strcmp(cmd, "unchanged"))
    rc = cmd_unchanged(seed);
  else if (!strcmp(cmd, "same") && argc > 4)
    rc = cmd_same(arg, strtoull(argv[4], NULL, 10));
  else if (!strcmp(cmd, "random"))
    rc = cmd_random();
  else if (!strcmp(cmd, "threads"))
    rc = cmd_threads(seed);
  else if (!strcmp(cmd, "encdec"))
    rc = cmd_encdec(seed);
  else {
    fprintf(stderr, "unknown command %s\n", cmd);
    return 2;
  }
  fflush(stdout);
  return rc;
}
