/* A library exporting the whole tfc.h ABI but claiming the next abi_version (and,
   with -DMISSING_DECODE, lacking tfc_decode): tfc-run must refuse it before
   calling anything else. */
#include "tfc/tfc.h"

#include <stddef.h>

static const tfc_model_info info = {.abi_version = TFC_ABI_VERSION + 1, .name = "wrong", .vocab_size = 4,
                                    .max_seq = 8, .has_decoder = 1};

const tfc_model_info *tfc_info(void) { return &info; }
const char *tfc_weight_name(int32_t i) { (void)i; return NULL; }
int32_t tfc_weight_shape(int32_t i, int64_t dims[8]) { (void)i; (void)dims; return -1; }
tfc_model *tfc_model_load(const char *p) { (void)p; return NULL; }
tfc_model *tfc_model_random(uint64_t s) { (void)s; return NULL; }
void tfc_model_free(tfc_model *m) { (void)m; }
tfc_session *tfc_session_new(const tfc_model *m, int32_t n) { (void)m; (void)n; return NULL; }
void tfc_session_reset(tfc_session *s) { (void)s; }
int32_t tfc_session_pos(const tfc_session *s) { (void)s; return -1; }
void tfc_session_free(tfc_session *s) { (void)s; }
#ifndef MISSING_DECODE
int32_t tfc_decode(tfc_session *s, const int32_t *t, int32_t n, float *l, int32_t a) {
  (void)s; (void)t; (void)n; (void)l; (void)a;
  return -1;
}
#endif
int32_t tfc_decode_batch(tfc_session *const *s, int32_t c, const int32_t *t, const int32_t *n,
                         float *l, int32_t a, int32_t *st) {
  (void)s; (void)c; (void)t; (void)n; (void)l; (void)a; (void)st;
  return -1;
}
int32_t tfc_encode(tfc_session *s, const int32_t *t, int32_t n, float *o) {
  (void)s; (void)t; (void)n; (void)o;
  return -1;
}
int32_t tfc_attention_maps_shape(int32_t n, int64_t dims[4]) {
  (void)n; (void)dims;
  return -1;
}
int32_t tfc_attention_maps(const tfc_model *m, const int32_t *t, int32_t n, float *o) {
  (void)m; (void)t; (void)n; (void)o;
  return -1;
}
const char *tfc_last_error(void) { return "stub"; }
