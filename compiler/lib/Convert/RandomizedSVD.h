//===- RandomizedSVD.h - Halko-Martinsson-Tropp randomized SVD ---*- C++ -*-===//
//
// The low-rank factorizations of `tfc convert`. randomizedSVD is the range
// finder of Halko, Martinsson and Tropp (SIAM Review 2011, Algorithms 4.4 and
// 5.1): a seeded Gaussian sketch with oversampling, power iterations that
// re-orthonormalize after every product (so the small singular directions are
// not lost to rounding), then the SVD of the small projected matrix. optimalSVD
// is the deterministic truncated SVD (Eckart-Young optimal) the report compares
// against. QR and both dense SVDs are Eigen's; the scalar may be real or
// complex (the RoPE-aware GQA factorizes pairs as complex numbers).
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERT_RANDOMIZEDSVD_H
#define TFC_CONVERT_RANDOMIZEDSVD_H

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <random>

namespace tfc::convert {

template <typename Scalar> using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
using MatD = Mat<double>;
using MatC = Mat<std::complex<double>>;
using VecD = Eigen::VectorXd;

/// A ≈ U diag(sigma) V^H with `sigma.size()` columns in U and V.
template <typename Scalar> struct LowRank {
  Mat<Scalar> U, V;
  VecD sigma;
  Mat<Scalar> product() const { return U * sigma.asDiagonal() * V.adjoint(); }
};

/// How the randomized range finder is run (SPEC §6: --oversample, --power-iters, --seed).
struct SketchOptions {
  int64_t oversample = 10;
  int64_t powerIters = 2;
  uint64_t seed = 0;
};

namespace detail {

/// Standard normal numbers from a seeded 64-bit Mersenne twister through
/// Box-Muller, written out so that a seed gives the same sketch with any C++
/// library (std::normal_distribution's algorithm is unspecified).
class Gaussian {
public:
  explicit Gaussian(uint64_t seed) : engine(seed) {}
  double next() {
    if (spare) {
      spare = false;
      return cached;
    }
    // (0, 1]: log(0) never happens.
    double u1 = (static_cast<double>(engine() >> 11) + 1.0) * 0x1.0p-53;
    double u2 = static_cast<double>(engine() >> 11) * 0x1.0p-53;
    double r = std::sqrt(-2.0 * std::log(u1));
    cached = r * std::sin(2.0 * M_PI * u2);
    spare = true;
    return r * std::cos(2.0 * M_PI * u2);
  }
  void fill(MatD &m) {
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      for (Eigen::Index i = 0; i < m.rows(); ++i)
        m(i, j) = next();
  }
  void fill(MatC &m) {
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      for (Eigen::Index i = 0; i < m.rows(); ++i) {
        double re = next();
        m(i, j) = {re, next()};
      }
  }

private:
  std::mt19937_64 engine;
  bool spare = false;
  double cached = 0;
};

/// An orthonormal basis of the column space of `y` (thin Q of Householder QR).
template <typename Scalar> Mat<Scalar> orthonormalBasis(const Mat<Scalar> &y) {
  Eigen::HouseholderQR<Mat<Scalar>> qr(y);
  return qr.householderQ() * Mat<Scalar>::Identity(y.rows(), y.cols());
}

template <typename Scalar> LowRank<Scalar> truncate(const Mat<Scalar> &u, const VecD &s,
                                                    const Mat<Scalar> &v, int64_t rank) {
  int64_t r = std::min<int64_t>(rank, s.size());
  return {u.leftCols(r), v.leftCols(r), s.head(r)};
}

} // namespace detail

/// The best rank-`rank` approximation of `a` (deterministic, all singular
/// values computed; `allSigma` receives them when not null).
template <typename Scalar>
LowRank<Scalar> optimalSVD(const Mat<Scalar> &a, int64_t rank, VecD *allSigma = nullptr) {
  Eigen::BDCSVD<Mat<Scalar>> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  if (allSigma)
    *allSigma = svd.singularValues();
  return detail::truncate<Scalar>(svd.matrixU(), svd.singularValues(), svd.matrixV(), rank);
}

/// Rank-`rank` approximation of `a` by the randomized range finder: sketch
/// `a Ω` with rank + oversample Gaussian columns (fewer if `a` is smaller),
/// `powerIters` rounds of `a a^H` each followed by a QR, then the SVD of the
/// small `Q^H a`. The same seed gives the same result.
template <typename Scalar>
LowRank<Scalar> randomizedSVD(const Mat<Scalar> &a, int64_t rank, const SketchOptions &options) {
  int64_t m = a.rows(), n = a.cols();
  int64_t width = std::min<int64_t>({rank + options.oversample, m, n});
  Mat<Scalar> omega(n, width);
  detail::Gaussian gaussian(options.seed);
  gaussian.fill(omega);
  Mat<Scalar> q = detail::orthonormalBasis<Scalar>(a * omega);
  for (int64_t i = 0; i < options.powerIters; ++i) {
    Mat<Scalar> w = detail::orthonormalBasis<Scalar>(a.adjoint() * q);
    q = detail::orthonormalBasis<Scalar>(a * w);
  }
  Mat<Scalar> b = q.adjoint() * a;
  Eigen::BDCSVD<Mat<Scalar>> svd(b, Eigen::ComputeThinU | Eigen::ComputeThinV);
  return detail::truncate<Scalar>(q * svd.matrixU(), svd.singularValues(), svd.matrixV(), rank);
}

} // namespace tfc::convert

#endif // TFC_CONVERT_RANDOMIZEDSVD_H
