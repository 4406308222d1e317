//===- AttentionOutput.cpp - One attention layer evaluated in float64 ------===//
//
// Both forms reduce to the same core: per query head a [n, e] query, and the
// [n, e] key and [n, v] value it reads, already rotated; scaled dot products,
// the causal mask, softmax over keys, the weighted values, and the heads
// concatenated into the output projection. Only how the per-head q, k, v are
// formed differs (GQA: projections of x; MLA: a normalized latent and a
// shared rope key).
//
//===----------------------------------------------------------------------===//

#include "AttentionOutput.h"

#include <cmath>

namespace tfc::convert {

namespace {

/// RoPE of the first `width` columns of `m` (rows are positions 0..n-1): the
/// pair of frequency j ((j, j + width/2), or (2j, 2j+1) interleaved) rotated
/// by the angle t * theta^(-2j/width).
void rotate(MatD &m, int64_t width, double theta, bool interleaved) {
  for (int64_t j = 0; j < width / 2; ++j) {
    int64_t a = interleaved ? 2 * j : j, b = interleaved ? 2 * j + 1 : j + width / 2;
    double frequency = std::pow(theta, -2.0 * double(j) / double(width));
    for (int64_t t = 0; t < m.rows(); ++t) {
      double c = std::cos(double(t) * frequency), s = std::sin(double(t) * frequency);
      double x = m(t, a), y = m(t, b);
      m(t, a) = x * c - y * s;
      m(t, b) = x * s + y * c;
    }
  }
}

/// softmax(q kᵀ · scale, causal) v for one head.
MatD attend(const MatD &q, const MatD &k, const MatD &v, double scale, bool causal) {
  MatD scores = q * k.transpose() * scale;
  const int64_t n = scores.rows();
  for (int64_t t = 0; t < n; ++t) {
    int64_t visible = causal ? t + 1 : scores.cols();
    double max = scores.row(t).head(visible).maxCoeff();
    double sum = 0;
    for (int64_t u = 0; u < scores.cols(); ++u) {
      double e = u < visible ? std::exp(scores(t, u) - max) : 0.0;
      scores(t, u) = e;
      sum += e;
    }
    scores.row(t) /= sum;
  }
  return scores * v;
}

/// x Wᵀ (+ b) for rows [row, row + count) of `w`.
MatD project(const MatD &x, const MatD &w, int64_t row, int64_t count, const VecD &b) {
  MatD out = x * w.middleRows(row, count).transpose();
  if (b.size())
    out.rowwise() += b.segment(row, count).transpose();
  return out;
}

} // namespace

MatD attentionOutput(const AttentionShape &shape, bool causal, const AttentionWeights &w,
                     const MatD &x) {
  const int64_t hd = shape.headDim, heads = shape.heads, n = x.rows();
  const int64_t queriesPerKv = heads / shape.kvHeads;
  std::vector<MatD> keys, values;
  for (int64_t g = 0; g < shape.kvHeads; ++g) {
    keys.push_back(project(x, w.k, g * hd, hd, w.bk));
    values.push_back(project(x, w.v, g * hd, hd, w.bv));
    if (shape.ropeTheta)
      rotate(keys.back(), hd, *shape.ropeTheta, shape.interleaved);
  }
  MatD merged(n, heads * hd);
  for (int64_t h = 0; h < heads; ++h) {
    MatD q = project(x, w.q, h * hd, hd, w.bq);
    if (shape.ropeTheta)
      rotate(q, hd, *shape.ropeTheta, shape.interleaved);
    merged.middleCols(h * hd, hd) =
        attend(q, keys[h / queriesPerKv], values[h / queriesPerKv], 1.0 / std::sqrt(double(hd)),
               causal);
  }
  MatD out = merged * w.o.transpose();
  if (w.bo.size())
    out.rowwise() += w.bo.transpose();
  return out;
}

MatD mlaOutput(const AttentionShape &shape, bool causal, const MlaWeights &w, int64_t kvRank,
               int64_t ropeDim, const MatD &x) {
  const int64_t hd = shape.headDim, heads = shape.heads, n = x.rows();
  const VecD none;
  // The latent, RMS-normalized with kv_a_layernorm, and the shared rope key.
  MatD latent = project(x, w.kvA, 0, kvRank, none);
  for (int64_t t = 0; t < n; ++t) {
    double meanSquare = latent.row(t).squaredNorm() / double(kvRank);
    latent.row(t) = latent.row(t).cwiseProduct(w.kvNorm.transpose()) /
                    std::sqrt(meanSquare + kLatentNormEps);
  }
  MatD ropeKey = project(x, w.kvA, kvRank, ropeDim, none);
  std::optional<double> theta;
  if (shape.ropeTheta) {
    theta = mlaRopeTheta(*shape.ropeTheta, hd, ropeDim);
    rotate(ropeKey, ropeDim, *theta, shape.interleaved);
  }
  MatD merged(n, heads * hd);
  for (int64_t h = 0; h < heads; ++h) {
    // [q_nope, q_pe] · [k_nope, k_pe]: the rotated parts in the last columns.
    MatD q = project(x, w.q, h * (hd + ropeDim), hd + ropeDim, none);
    MatD rotatedQ = q.rightCols(ropeDim);
    if (theta)
      rotate(rotatedQ, ropeDim, *theta, shape.interleaved);
    q.rightCols(ropeDim) = rotatedQ;
    MatD k(n, hd + ropeDim);
    k << project(latent, w.kvB, h * 2 * hd, hd, none), ropeKey;
    MatD v = project(latent, w.kvB, h * 2 * hd + hd, hd, none);
    merged.middleCols(h * hd, hd) =
        attend(q, k, v, 1.0 / std::sqrt(double(hd + ropeDim)), causal);
  }
  return merged * w.o.transpose();
}

double relativeError(const MatD &a, const MatD &b) {
  double norm = a.norm(), diff = (a - b).norm();
  return norm > 0 ? diff / norm : diff;
}

} // namespace tfc::convert
