//===- HeadBuilder.h - Building head-level attn ops -------------*- C++ -*-===//
//
// What the rewrites of model-level attention (the reference decomposition and
// the latent-attention pass) build: head-level attn ops whose result types are
// derived from the operand types and attributes, keeping the token dimension
// (dynamic or not) of the activation they come from. Internal to the passes.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_TRANSFORMS_HEADBUILDER_H
#define TFC_DIALECT_ATTN_TRANSFORMS_HEADBUILDER_H

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace tfc::attn {

using mlir::APFloat;
using mlir::cast;
using mlir::SmallVector;
using mlir::ArrayRef;
using mlir::Location;
using mlir::PatternRewriter;
using mlir::RankedTensorType;
using mlir::UnitAttr;
using mlir::Value;

/// DeepSeek-V2's q_a_layernorm and kv_a_layernorm epsilon (SPEC §2).
constexpr double kLatentNormEps = 1e-6;

/// Builds the head-level ops of one decomposition; every result type is derived
/// from the operand types and the op's attributes, keeping the token dimension
/// (dynamic or not) of the activation it comes from.
class HeadBuilder {
public:
  HeadBuilder(PatternRewriter &rewriter, Location loc) : rewriter(rewriter), loc(loc) {}

  static RankedTensorType type(Value v) { return cast<RankedTensorType>(v.getType()); }
  static int64_t tokens(Value v) { return type(v).getDimSize(type(v).getRank() == 2 ? 0 : 1); }

  RankedTensorType f32Tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, rewriter.getF32Type());
  }

  /// x [n, in] W[out, in]^T (+ b) -> [n, out].
  Value linear(Value x, Value w, Value bias = nullptr) {
    auto resultType = f32Tensor({tokens(x), type(w).getDimSize(0)});
    return rewriter.create<LinearOp>(loc, resultType, x, w, bias);
  }

  Value rmsNorm(Value x, Value w, double eps) {
    return rewriter.create<RMSNormOp>(loc, type(x), x, w, rewriter.getF64FloatAttr(eps));
  }

  /// [n, heads * d] -> [heads, n, d].
  Value splitHeads(Value x, int64_t heads) {
    int64_t d = type(x).getDimSize(1) / heads;
    return rewriter.create<SplitHeadsOp>(loc, f32Tensor({heads, tokens(x), d}), x);
  }

  /// [heads, n, d] -> [n, heads * d].
  Value mergeHeads(Value x) {
    auto t = type(x);
    return rewriter.create<MergeHeadsOp>(
        loc, f32Tensor({t.getDimSize(1), t.getDimSize(0) * t.getDimSize(2)}), x);
  }

  /// Columns [offset, offset + size) of the last dimension.
  Value sliceLast(Value x, int64_t offset, int64_t size) {
    SmallVector<int64_t> shape(type(x).getShape());
    shape.back() = size;
    return rewriter.create<SliceLastOp>(loc, f32Tensor(shape), x,
                                        rewriter.getI64IntegerAttr(offset));
  }

  Value concatLast(Value a, Value b) {
    SmallVector<int64_t> shape(type(a).getShape());
    shape.back() += type(b).getShape().back();
    return rewriter.create<ConcatLastOp>(loc, f32Tensor(shape), a, b);
  }

  /// RoPE at positions 0..n-1 when `theta` is set, else `x` unchanged; pairs
  /// halves unless `style` says otherwise; frequencies rescaled by `scaling`
  /// when given.
  Value rope(Value x, std::optional<APFloat> theta, std::optional<RopeStyle> style,
             RopeScalingAttr scaling = nullptr) {
    if (!theta)
      return x;
    return rewriter.create<RopeOp>(
        loc, type(x), x, /*offset=*/Value(), rewriter.getF64FloatAttr(theta->convertToDouble()),
        RopeStyleAttr::get(rewriter.getContext(), style.value_or(RopeStyle::half)), scaling);
  }

  /// Replicates [kv_heads, m, d] to [heads, m, d]; a no-op when already there.
  Value repeatKV(Value x, int64_t heads) {
    auto t = type(x);
    if (t.getDimSize(0) == heads)
      return x;
    return rewriter.create<RepeatKVOp>(loc, f32Tensor({heads, t.getDimSize(1), t.getDimSize(2)}),
                                       x);
  }

  /// softmax(scale q k^T) v; K/V have as many heads as q unless their own
  /// head count is smaller (GQA/MQA: query head h uses K/V head h / group);
  /// a causal mask narrowed to the latest `window` positions when given.
  Value sdpa(Value q, Value k, Value v, bool causal, double scale,
             std::optional<uint64_t> window = std::nullopt) {
    int64_t heads = type(q).getDimSize(0), kvHeads = type(k).getDimSize(0);
    auto resultType = f32Tensor({heads, type(q).getDimSize(1), type(v).getDimSize(2)});
    return rewriter.create<SDPAOp>(loc, resultType, q, k, v, rewriter.getI64IntegerAttr(heads),
                                   rewriter.getI64IntegerAttr(kvHeads),
                                   causal ? rewriter.getUnitAttr() : UnitAttr(),
                                   rewriter.getF64FloatAttr(scale), /*tiling=*/nullptr,
                                   window ? rewriter.getI64IntegerAttr(*window) : nullptr);
  }

  /// Per-head product [b, n, k] x [b, k, m] (or [b, m, k] transposed).
  Value batchMatmul(Value lhs, Value rhs, bool transposeRhs) {
    int64_t m = type(rhs).getDimSize(transposeRhs ? 1 : 2);
    auto resultType = f32Tensor({type(lhs).getDimSize(0), type(lhs).getDimSize(1), m});
    return rewriter.create<BatchMatmulOp>(loc, resultType, lhs, rhs,
                                          transposeRhs ? rewriter.getUnitAttr() : UnitAttr());
  }

  /// The token-side projections of multi-head latent attention, shared by the
  /// decompressing and the absorbing rewrites.
  struct LatentInputs {
    Value qNope; // [heads, n, nope_dim]
    Value qPe;   // [heads, n, rope_dim], rotated
    Value c;     // [n, kv_rank], the normalized latent
    Value kPe;   // [1, n, rope_dim], the shared rope key, rotated
  };

  /// q = x Wq^T or rms_norm(x Wq_a^T) Wq_b^T split per head into the part that
  /// meets the keys and the rotated part; [c, k_pe] = x Wkv_a^T with c
  /// normalized (DeepSeek-V2's eps) and k_pe rotated. Expects one or three q
  /// weights (the verifier's invariant).
  LatentInputs latentInputs(LatentAttentionOp op) {
    auto qWeights = op.getQWeights();
    int64_t rank = op.getKvRank(), ropeDim = op.getRopeDim(), nope = op.getNopeDim();
    Value x = op.getInput();
    auto theta = op.getRopeTheta();
    auto style = op.getRopeStyle();
    Value qFlat = qWeights.size() == 1
                      ? linear(x, qWeights[0])
                      : linear(rmsNorm(linear(x, qWeights[0]), qWeights[1], kLatentNormEps),
                               qWeights[2]);
    Value q = splitHeads(qFlat, op.getHeads());
    LatentInputs in;
    in.qNope = sliceLast(q, 0, nope);
    in.qPe = rope(sliceLast(q, nope, ropeDim), theta, style, op.getRopeScalingAttr());
    Value kvA = linear(x, op.getWkvA());
    in.c = rmsNorm(sliceLast(kvA, 0, rank), op.getKvNorm(), kLatentNormEps);
    in.kPe = rope(splitHeads(sliceLast(kvA, rank, ropeDim), 1), theta, style,
                  op.getRopeScalingAttr());
    return in;
  }

private:
  PatternRewriter &rewriter;
  Location loc;
};

} // namespace tfc::attn

#endif // TFC_DIALECT_ATTN_TRANSFORMS_HEADBUILDER_H
