/*===- logits_compare.h - Comparing logits in the C tests of sessions ------===*
 *
 * What session_test.c and batch_test.c both need: the largest difference of
 * two logits arrays relative to the largest magnitude of the reference (NaN
 * counts as infinitely far), and the greedy choice of a row.
 *
 *===----------------------------------------------------------------------===*/
#ifndef TFC_TEST_LOGITS_COMPARE_H
#define TFC_TEST_LOGITS_COMPARE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

static inline double max_rel_diff(const float *a, const float *b, size_t n) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = fabs((double)a[i] - b[i]);
    if (d > diff || d != d)
      diff = d != d ? INFINITY : d;
    if (fabs(b[i]) > scale)
      scale = fabs(b[i]);
  }
  return scale > 0 ? diff / scale : diff;
}

/* The first index of the largest of row[0..n). */
static inline int32_t argmax_of(const float *row, int32_t n) {
  int32_t best = 0;
  for (int32_t v = 1; v < n; ++v)
    if (row[v] > row[best])
      best = v;
  return best;
}

#endif /* TFC_TEST_LOGITS_COMPARE_H */
