//===- AttentionConversion.cpp - MHA/GQA weights to GQA or MLA -------------===//
//
// The constructions of docs/convert.md on one layer's projection matrices.
// Every factorization goes through `factor`, which runs the randomized SVD the
// output uses and, for the report, the deterministic SVD of the same matrix
// (its spectrum and the optimal error at the same rank).
//
//===----------------------------------------------------------------------===//

#include "AttentionConversion.h"

#include <Eigen/Eigenvalues>

#include <cassert>
#include <cmath>

namespace tfc::convert {

//===----------------------------------------------------------------------===//
// Report statistics
//===----------------------------------------------------------------------===//

void SpectrumStats::add(const VecD &sigma, int64_t rank, double rsvdErrorSq) {
  double all = sigma.squaredNorm();
  double head = sigma.head(std::min<int64_t>(rank, sigma.size())).squaredNorm();
  total += all;
  kept += head;
  optimalErrorSq += std::max(0.0, all - head);
  errorSq += rsvdErrorSq;
  spectra.emplace_back(sigma.data(), sigma.data() + sigma.size());
}

double SpectrumStats::relError() const { return total > 0 ? std::sqrt(errorSq / total) : 0.0; }

double SpectrumStats::optimalRelError() const {
  return total > 0 ? std::sqrt(optimalErrorSq / total) : 0.0;
}

double SpectrumStats::rsvdVsOptimal() const {
  double floor = 1e-20 * total; // (1e-10 relative)^2
  return std::sqrt((errorSq + floor) / (optimalErrorSq + floor));
}

namespace {

/// The seed of the n-th factorization of a layer: distinct streams from one --seed.
SketchOptions nthSketch(const SketchOptions &base, uint64_t n) {
  SketchOptions s = base;
  s.seed = base.seed + 0x9E3779B97F4A7C15ull * (n + 1);
  return s;
}

/// Rank-`rank` randomized factorization of `a`, recorded in `stats` next to
/// the optimal one.
template <typename Scalar>
LowRank<Scalar> factor(const Mat<Scalar> &a, int64_t rank, const SketchOptions &sketch,
                       SpectrumStats &stats) {
  VecD sigma;
  optimalSVD<Scalar>(a, rank, &sigma);
  LowRank<Scalar> approx = randomizedSVD<Scalar>(a, rank, sketch);
  stats.add(sigma, rank, (a - approx.product()).squaredNorm());
  return approx;
}

/// The two elements of a head that RoPE rotates together at frequency i.
std::pair<int64_t, int64_t> ropePair(int64_t i, int64_t width, bool interleaved) {
  if (interleaved)
    return {2 * i, 2 * i + 1};
  return {i, i + width / 2};
}

/// Rows [h*hd, (h+1)*hd) of a per-head matrix.
template <typename M> auto headRows(M &m, int64_t head, int64_t hd) {
  return m.middleRows(head * hd, hd);
}

} // namespace

//===----------------------------------------------------------------------===//
// Activation-aware compression
//===----------------------------------------------------------------------===//

InputMetric::InputMetric(const MatD &x, double ridge) {
  const int64_t d = x.cols();
  MatD c = x.transpose() * x / double(std::max<int64_t>(x.rows(), 1));
  // Relative to the mean eigenvalue, so the ridge does not depend on the
  // inputs' scale; all-zero inputs get the identity metric.
  double mean = c.trace() / double(d);
  ridgeAdded = ridge * (mean > 0 ? mean : 1.0);
  c.diagonal().array() += ridgeAdded;
  Eigen::LLT<MatD> cholesky(c);
  factor = cholesky.matrixL();
  Eigen::SelfAdjointEigenSolver<MatD> eigen(c, Eigen::EigenvaluesOnly);
  inverseSpectralNorm = 1.0 / std::sqrt(eigen.eigenvalues()(0)); // ascending
}

MatD InputMetric::unwhiten(const MatD &w) const {
  // W L⁻¹ = (L⁻ᵀ Wᵀ)ᵀ, a triangular solve.
  return factor.transpose().triangularView<Eigen::Upper>().solve(w.transpose()).transpose();
}

AttentionWeights InputMetric::whiten(const AttentionWeights &w) const {
  AttentionWeights out = w;
  out.q = whiten(w.q);
  out.k = whiten(w.k);
  out.v = whiten(w.v);
  return out;
}

//===----------------------------------------------------------------------===//
// GQA
//===----------------------------------------------------------------------===//

GqaResult toGQA(const AttentionShape &shape, const AttentionWeights &w, int64_t kvHeads,
                GqaMethod method, const SketchOptions &sketch, LayerReport &report) {
  const int64_t hd = shape.headDim, d = shape.dim, heads = shape.heads;
  const int64_t queriesPerGroup = heads / kvHeads;
  const int64_t queriesPerSource = heads / shape.kvHeads;
  GqaResult result;
  AttentionWeights &out = result.weights;
  out.q = w.q;
  out.o = w.o;
  if (w.hasBiases()) {
    out.bq = w.bq;
    out.bk = VecD::Zero(kvHeads * hd);
    out.bv = VecD::Zero(kvHeads * hd);
    out.bo = w.bo;
    for (int64_t h = 0; h < heads; ++h)
      out.bo += w.o.middleCols(h * hd, hd) * w.bv.segment((h / queriesPerSource) * hd, hd);
  }
  out.k.resize(kvHeads * hd, d);
  out.v.resize(kvHeads * hd, d);
  double meanErrorSq = 0, normSq = 0;
  uint64_t factorization = 0;

  for (int64_t g = 0; g < kvHeads; ++g) {
    // The source K/V heads the group's query heads read, and which of them each reads.
    std::vector<int64_t> sources;
    std::vector<int64_t> sourceOf(queriesPerGroup);
    for (int64_t j = 0; j < queriesPerGroup; ++j) {
      int64_t s = (g * queriesPerGroup + j) / queriesPerSource;
      if (sources.empty() || sources.back() != s)
        sources.push_back(s);
      sourceOf[j] = static_cast<int64_t>(sources.size()) - 1;
    }
    const int64_t m = static_cast<int64_t>(sources.size());
    auto stack = [&](const MatD &x) {
      MatD s(m * hd, d);
      for (int64_t j = 0; j < m; ++j)
        headRows(s, j, hd) = headRows(x, sources[j], hd);
      return s;
    };
    MatD keys = stack(w.k), values = stack(w.v);

    // The baseline, reported for every method: each source head replaced by the mean.
    MatD keyMean = MatD::Zero(hd, d), valueMean = MatD::Zero(hd, d);
    for (int64_t j = 0; j < m; ++j) {
      keyMean += headRows(keys, j, hd) / double(m);
      valueMean += headRows(values, j, hd) / double(m);
    }
    for (int64_t j = 0; j < m; ++j) {
      meanErrorSq += (headRows(keys, j, hd) - keyMean).squaredNorm() +
                     (headRows(values, j, hd) - valueMean).squaredNorm();
    }
    normSq += keys.squaredNorm() + values.squaredNorm();
    if (method == GqaMethod::MeanPooling) {
      headRows(out.k, g, hd) = keyMean;
      headRows(out.v, g, hd) = valueMean;
      continue;
    }

    // The group's shared head: stacked ≈ M · shared, the rows of the shared
    // head into `shared`; returns M, whose block j maps it to source head j.
    auto factorShared = [&](const MatD &stacked, SpectrumStats &stats, MatD &into) {
      LowRank<double> f = factor<double>(stacked, hd, nthSketch(sketch, factorization++), stats);
      headRows(into, g, hd) = f.V.adjoint();
      return MatD(f.U * f.sigma.asDiagonal());
    };
    // Values: v_j ≈ C_j v_g, C_j absorbed into o_proj's columns of head h.
    MatD c = factorShared(values, report.values, out.v);
    for (int64_t j = 0; j < queriesPerGroup; ++j) {
      int64_t h = g * queriesPerGroup + j;
      out.o.middleCols(h * hd, hd) = w.o.middleCols(h * hd, hd) * headRows(c, sourceOf[j], hd);
    }
    if (!shape.ropeTheta) {
      // Keys: k_j ≈ B_j k_g and q_h · (B_j k_g) = (B_j^T q_h) · k_g.
      MatD b = factorShared(keys, report.keys, out.k);
      for (int64_t j = 0; j < queriesPerGroup; ++j) {
        int64_t h = g * queriesPerGroup + j;
        headRows(out.q, h, hd) = headRows(b, sourceOf[j], hd).transpose() *
                                 headRows(w.q, h, hd);
        if (w.hasBiases())
          out.bq.segment(h * hd, hd) =
              headRows(b, sourceOf[j], hd).transpose() * w.bq.segment(h * hd, hd);
      }
      continue;
    }
    // Keys with RoPE: the pair (a, b) of frequency i is the complex number a + ib,
    // which RoPE multiplies by e^{i theta p}. Per frequency the group's keys
    // z_j ≈ beta_j z_g (complex rank 1); conj(beta_j) moves into the query,
    // and a complex scalar commutes with the rotation.
    for (int64_t i = 0; i < hd / 2; ++i) {
      auto [ra, rb] = ropePair(i, hd, shape.interleaved);
      // With RoPE the key bias rotates with the key (q · R b_k depends on the
      // key's position): it is the last column of the factorized rows.
      const int64_t cols = d + (w.hasBiases() ? 1 : 0);
      MatC z(m, cols);
      for (int64_t j = 0; j < m; ++j) {
        z.row(j).head(d).real() = w.k.row(sources[j] * hd + ra);
        z.row(j).head(d).imag() = w.k.row(sources[j] * hd + rb);
        if (w.hasBiases())
          z(j, d) = {w.bk(sources[j] * hd + ra), w.bk(sources[j] * hd + rb)};
      }
      LowRank<std::complex<double>> k = factor<std::complex<double>>(
          z, 1, nthSketch(sketch, factorization++), report.keys);
      Eigen::RowVectorXcd shared = k.V.col(0).adjoint();
      out.k.row(g * hd + ra) = shared.head(d).real();
      out.k.row(g * hd + rb) = shared.head(d).imag();
      if (w.hasBiases()) {
        out.bk(g * hd + ra) = shared(d).real();
        out.bk(g * hd + rb) = shared(d).imag();
      }
      for (int64_t j = 0; j < queriesPerGroup; ++j) {
        int64_t h = g * queriesPerGroup + j;
        std::complex<double> beta = k.U(sourceOf[j], 0) * k.sigma(0);
        Eigen::RowVectorXcd zq(d);
        zq.real() = w.q.row(h * hd + ra);
        zq.imag() = w.q.row(h * hd + rb);
        zq *= std::conj(beta);
        out.q.row(h * hd + ra) = zq.real();
        out.q.row(h * hd + rb) = zq.imag();
        if (w.hasBiases()) {
          std::complex<double> bias = std::conj(beta) *
                                      std::complex<double>(w.bq(h * hd + ra), w.bq(h * hd + rb));
          out.bq(h * hd + ra) = bias.real();
          out.bq(h * hd + rb) = bias.imag();
        }
      }
    }
  }
  report.meanPoolingRelError = normSq > 0 ? std::sqrt(meanErrorSq / normSq) : 0.0;
  return result;
}

//===----------------------------------------------------------------------===//
// MLA
//===----------------------------------------------------------------------===//

double mlaRopeTheta(double theta, int64_t headDim, int64_t ropeDim) {
  return std::pow(theta, double(ropeDim) / double(headDim));
}

MlaWeights toMLA(const AttentionShape &shape, const AttentionWeights &w, const MlaOptions &options,
                 LayerReport &report) {
  const int64_t hd = shape.headDim, d = shape.dim, heads = shape.heads;
  const int64_t sourceHeads = shape.kvHeads, queriesPerSource = heads / sourceHeads;
  const int64_t ropeDim = options.ropeDim, rank = options.kvRank;
  const bool rope = shape.ropeTheta.has_value();
  // MLA scales scores by 1/sqrt(nope_dim + rope_dim) = 1/sqrt(hd + ropeDim).
  const double queryScale = std::sqrt(double(hd + ropeDim) / double(hd));

  // The rope key: per kept frequency, the top eigenvector u of the K/V heads'
  // Gram matrix of that frequency's pairs; k_pe = sum_s u_s k_s, and each
  // head keeps k_s - u_s k_pe (unrotated) for the latent.
  MatD ropeKey = MatD::Zero(ropeDim, d);
  MatD noRopeKeys = w.k;
  MatD coefficients = MatD::Zero(sourceHeads, std::max<int64_t>(ropeDim / 2, 1));
  if (rope) {
    double keptEnergy = 0;
    for (int64_t i = 0; i < ropeDim / 2; ++i) {
      auto [ra, rb] = ropePair(i, hd, shape.interleaved);
      auto [pa, pb] = ropePair(i, ropeDim, shape.interleaved);
      MatD gram(sourceHeads, sourceHeads);
      for (int64_t s = 0; s < sourceHeads; ++s)
        for (int64_t t = 0; t < sourceHeads; ++t)
          gram(s, t) = w.k.row(s * hd + ra).dot(w.k.row(t * hd + ra)) +
                       w.k.row(s * hd + rb).dot(w.k.row(t * hd + rb));
      Eigen::SelfAdjointEigenSolver<MatD> eigen(gram);
      VecD u = eigen.eigenvectors().col(sourceHeads - 1); // eigenvalues ascend
      Eigen::Index largest;
      u.cwiseAbs().maxCoeff(&largest);
      if (u(largest) < 0) // a deterministic sign
        u = -u;
      coefficients.col(i) = u;
      for (int64_t s = 0; s < sourceHeads; ++s) {
        ropeKey.row(pa) += u(s) * w.k.row(s * hd + ra);
        ropeKey.row(pb) += u(s) * w.k.row(s * hd + rb);
      }
      for (int64_t s = 0; s < sourceHeads; ++s) {
        noRopeKeys.row(s * hd + ra) -= u(s) * ropeKey.row(pa);
        noRopeKeys.row(s * hd + rb) -= u(s) * ropeKey.row(pb);
      }
      keptEnergy += gram.trace();
    }
    double residual = 0;
    for (int64_t i = 0; i < ropeDim / 2; ++i) {
      auto [ra, rb] = ropePair(i, hd, shape.interleaved);
      for (int64_t s = 0; s < sourceHeads; ++s)
        residual += noRopeKeys.row(s * hd + ra).squaredNorm() +
                    noRopeKeys.row(s * hd + rb).squaredNorm();
    }
    double keyEnergy = w.k.squaredNorm();
    report.ropeResidualEnergy = keptEnergy > 0 ? residual / keptEnergy : 0.0;
    report.ropeDroppedEnergy =
        keyEnergy > 0 ? std::max(0.0, (keyEnergy - keptEnergy) / keyEnergy) : 0.0;
  }

  // One latent for the unrotated keys and the values of all heads.
  MatD joint(2 * sourceHeads * hd, d);
  joint << noRopeKeys, w.v;
  LowRank<double> latent = factor<double>(joint, rank, nthSketch(options.sketch, 0), report.joint);
  MatD down = latent.V.adjoint();                    // [rank, d]
  MatD up = latent.U * latent.sigma.asDiagonal();    // [2 * sourceHeads * hd, rank]

  // MLA normalizes the latent: c / sqrt(mean(c^2) + eps) * g. Scaled by a
  // power of two alpha so that mean(c^2) <= eps * 2^-26 for every input row,
  // eps + mean(c^2) rounds to eps in float32 and the norm is a constant
  // factor 1/sqrt(eps), which g = sqrt(eps)/alpha undoes: the latent is
  // exactly `down · x` up to rounding. ||down x|| <= ||down||_2 ||x||.
  double downNorm = Eigen::JacobiSVD<MatD>(down).singularValues()(0);
  double limit = kLatentNormEps * std::ldexp(1.0, -26) * double(rank);
  double alpha = std::exp2(std::floor(std::log2(std::sqrt(limit) /
                                                (downNorm * options.inputNormBound))));
  report.latentScale = alpha;

  MlaWeights out;
  out.kvA.resize(rank + ropeDim, d);
  out.kvA << alpha * down, ropeKey;
  out.kvNorm = VecD::Constant(rank, std::sqrt(kLatentNormEps) / alpha);
  out.kvB.resize(heads * 2 * hd, rank);
  out.q = MatD::Zero(heads * (hd + ropeDim), d);
  for (int64_t h = 0; h < heads; ++h) {
    int64_t s = h / queriesPerSource;
    out.kvB.middleRows(h * 2 * hd, hd) = up.middleRows(s * hd, hd);
    out.kvB.middleRows(h * 2 * hd + hd, hd) = up.middleRows((sourceHeads + s) * hd, hd);
    out.q.middleRows(h * (hd + ropeDim), hd) = queryScale * headRows(w.q, h, hd);
    if (!rope)
      continue;
    for (int64_t i = 0; i < ropeDim / 2; ++i) {
      auto [ra, rb] = ropePair(i, hd, shape.interleaved);
      auto [pa, pb] = ropePair(i, ropeDim, shape.interleaved);
      int64_t base = h * (hd + ropeDim) + hd;
      out.q.row(base + pa) = queryScale * coefficients(s, i) * w.q.row(h * hd + ra);
      out.q.row(base + pb) = queryScale * coefficients(s, i) * w.q.row(h * hd + rb);
    }
  }
  out.o = w.o;
  return out;
}

} // namespace tfc::convert
