//===- AttentionConversion.h - MHA/GQA weights to GQA or MLA -----*- C++ -*-===//
//
// The linear algebra of `tfc convert` for one attention layer, independent of
// files and of tdsl: the layer's projections in, the converted projections and
// what the compression cost out. docs/convert.md derives each construction.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERT_ATTENTIONCONVERSION_H
#define TFC_CONVERT_ATTENTIONCONVERSION_H

#include "RandomizedSVD.h"

#include <optional>
#include <string>
#include <vector>

namespace tfc::convert {

/// The attention of a layer as tdsl's attention(...) defines it.
struct AttentionShape {
  int64_t dim = 0, heads = 0, kvHeads = 0, headDim = 0;
  std::optional<double> ropeTheta; // set when the layer uses RoPE
  bool interleaved = false;        // RoPE pairs 2j, 2j+1 (else j, j + head_dim/2)
};

/// q [heads*hd, dim], k and v [kv_heads*hd, dim], o [dim, heads*hd], as stored;
/// the biases (attention(..., bias = true)) empty when the layer has none.
struct AttentionWeights {
  MatD q, k, v, o;
  VecD bq, bk, bv, bo;
  bool hasBiases() const { return bq.size() != 0; }
};

/// Accumulates the spectra of the factorizations of one layer: how much energy
/// (squared Frobenius norm) the kept rank holds and how far the randomized
/// factors are from the matrices, next to the optimal (truncated SVD) error.
struct SpectrumStats {
  double total = 0, kept = 0, errorSq = 0, optimalErrorSq = 0;
  std::vector<std::vector<double>> spectra; // every singular value, per factorized matrix

  void add(const VecD &sigma, int64_t rank, double rsvdErrorSq);
  double energy() const { return total > 0 ? kept / total : 1.0; }
  double relError() const;
  double optimalRelError() const;
  /// Randomized over optimal error. Both are floored at 1e-10 of the norm, below
  /// which they are rounding: at full rank (optimal error zero) the ratio is 1
  /// when the randomized error is rounding too.
  double rsvdVsOptimal() const;
};

/// What converting one layer cost.
struct LayerReport {
  SpectrumStats keys, values, joint; // GQA fills keys and values, MLA joint
  /// GQA: relative Frobenius error of mean pooling (the baseline) over K and V.
  std::optional<double> meanPoolingRelError;
  /// MLA with RoPE: the share of the key energy of the kept frequencies that
  /// stays outside the rope key (loses its rotation), and the share of all key
  /// energy in frequencies beyond rope_dim (loses its rotation entirely).
  std::optional<double> ropeResidualEnergy, ropeDroppedEnergy;
  /// The power of two the latent is scaled by so that MLA's latent RMS norm is
  /// the identity (see toMLA).
  std::optional<double> latentScale;
};

//===----------------------------------------------------------------------===//
// Activation-aware compression
//===----------------------------------------------------------------------===//

/// The metric of a layer's inputs x (docs/convert.md): the second moment
/// C = XᵀX/n of the calibration rows plus a ridge λI, λ = ridge · tr(C)/dim,
/// and its Cholesky factor L (C + λI = L Lᵀ). For a matrix W that reads x,
/// ‖(W − W') Xᵀ‖²_F / n + λ‖W − W'‖²_F = ‖(W − W') L‖²_F: a construction that
/// minimizes Frobenius errors, run on the "whitened" W L (which reads L⁻¹x)
/// and mapped back by L⁻¹, minimizes the error on the layer's actual inputs.
class InputMetric {
public:
  /// `x`: the layer's input rows [n, dim].
  InputMetric(const MatD &x, double ridge);
  /// W L, for a matrix W [rows, dim] reading x.
  MatD whiten(const MatD &w) const { return w * factor; }
  /// W L⁻¹: a matrix W reading L⁻¹x as one reading x.
  MatD unwhiten(const MatD &w) const;
  /// q, k and v whitened (o reads the heads' outputs, not x; biases read 1).
  AttentionWeights whiten(const AttentionWeights &w) const;
  /// ‖L⁻¹‖₂: a bound of ‖x‖ becomes one of ‖L⁻¹x‖.
  double inverseNorm() const { return inverseSpectralNorm; }
  /// λ, the ridge actually added.
  double lambda() const { return ridgeAdded; }

private:
  MatD factor; // L, lower triangular
  double inverseSpectralNorm = 1, ridgeAdded = 0;
};

//===----------------------------------------------------------------------===//
// GQA
//===----------------------------------------------------------------------===//

enum class GqaMethod { SVD, MeanPooling };

/// Query heads of a group share one K/V head: `kvHeads` groups of consecutive
/// query heads (tdsl's grouping). SVD: the group's keys (values) are the best
/// rank-head_dim factorization `B_s · k_g` of the stacked source heads, `B_s`
/// absorbed into the queries (the output projection); with RoPE each frequency
/// pair is a complex number and the factorization complex rank-1 per frequency,
/// which commutes with the rotation. Exact when kvHeads equals the source's.
/// MeanPooling: the mean of the source heads (the GQA paper's initialization).
/// Biases: a value bias adds W_o b_v to the output (the weights sum to one)
/// and is folded into b_o; without RoPE a key bias adds q·b_k to every score
/// of a query, which softmax ignores, and is dropped; with RoPE it rotates
/// with the key and is factorized with it. The query bias follows the queries.
struct GqaResult {
  AttentionWeights weights; // k and v now [kvHeads*hd, dim]
};
GqaResult toGQA(const AttentionShape &shape, const AttentionWeights &w, int64_t kvHeads,
                GqaMethod method, const SketchOptions &sketch, LayerReport &report);

//===----------------------------------------------------------------------===//
// MLA
//===----------------------------------------------------------------------===//

/// DeepSeek-V2 MLA weights in tdsl's mla(kv_rank, rope_dim, nope_dim = hd,
/// v_dim = hd, q_rank = 0) layout.
struct MlaWeights {
  MatD q;      // [heads*(hd+ropeDim), dim]
  MatD kvA;    // [kvRank+ropeDim, dim]
  VecD kvNorm; // [kvRank]
  MatD kvB;    // [heads*(hd+hd), kvRank]
  MatD o;      // [dim, heads*hd]
};

struct MlaOptions {
  int64_t kvRank = 0;
  /// Rope key width kept through RoPE (even, <= head_dim); for a layer without
  /// RoPE the (unused, zero) rope key width, 1.
  int64_t ropeDim = 0;
  /// An upper bound of the Euclidean norm of the layer's input rows (from the
  /// norm in front of it); it sizes the latent below the latent norm's epsilon.
  double inputNormBound = 0;
  SketchOptions sketch;
};

/// The rope-dim'th frequencies are kept by MLA's rope with this theta: MLA
/// rotates rope_dim dims with frequencies theta'^(-2i/rope_dim), which equal
/// the source's theta^(-2i/head_dim) for theta' = theta^(rope_dim/head_dim).
double mlaRopeTheta(double theta, int64_t headDim, int64_t ropeDim);

/// Keys and values through one latent of rank kvRank (randomized SVD of the
/// stacked no-rope keys and values), the up-projections in kv_b_proj; with
/// RoPE, the same-frequency pairs of the K/V heads rotated into one (the top
/// eigenvector of their Gram matrix, a rotation across heads that commutes with
/// RoPE) which becomes the shared rope key, the rest compressed with the values.
MlaWeights toMLA(const AttentionShape &shape, const AttentionWeights &w, const MlaOptions &options,
                 LayerReport &report);

/// DeepSeek-V2's kv_a_layernorm epsilon (SPEC §2).
constexpr double kLatentNormEps = 1e-6;

} // namespace tfc::convert

#endif // TFC_CONVERT_ATTENTIONCONVERSION_H
