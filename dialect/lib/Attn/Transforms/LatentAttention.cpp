//===- LatentAttention.cpp - MLA in the latent space ----------------------===//
//
// DeepSeek-V2's multi-head latent attention, computed the way its paper argues:
// keys and values stay in the kv_rank latent; the key up-projection is absorbed
// into the queries and the value up-projection is applied after attention, so
// attention itself is multi-query attention over one shared key [c, k_pe] whose
// first kv_rank columns are the values. The algebra is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNLATENT
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

/// DeepSeek-V2's q_a_layernorm and kv_a_layernorm epsilon (SPEC §2).
constexpr double kLatentNormEps = 1e-6;

RankedTensorType f32(OpBuilder &b, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, b.getF32Type());
}

int64_t dim(Value v, unsigned i) { return cast<RankedTensorType>(v.getType()).getDimSize(i); }

// attn.latent_attention => q projections, [c, k_pe] as one shared latent key,
//   attn.batch_matmul (q_nope · W_UK), attn.sdpa {kv_heads = 1} in the latent
//   space, attn.batch_matmul (o_lat · W_UVᵀ), attn.merge_heads, attn.linear
struct AbsorbLatentAttention : OpRewritePattern<LatentAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LatentAttentionOp op, PatternRewriter &rewriter) const override {
    auto qWeights = op.getQWeights();
    if (qWeights.size() != 1 && qWeights.size() != 3)
      return rewriter.notifyMatchFailure(op, "expected one or three q weights");
    Location loc = op.getLoc();
    int64_t heads = op.getHeads(), rank = op.getKvRank(), ropeDim = op.getRopeDim(),
            nope = op.getNopeDim(), vDim = op.getVDim();
    Value x = op.getInput();
    int64_t n = dim(x, 0);
    auto &b = rewriter;

    auto linear = [&](Value in, Value w) -> Value {
      return b.create<LinearOp>(loc, f32(b, {n, dim(w, 0)}), in, w, Value());
    };
    auto rmsNorm = [&](Value in, Value w) -> Value {
      return b.create<RMSNormOp>(loc, in.getType(), in, w, b.getF64FloatAttr(kLatentNormEps));
    };
    auto slice = [&](Value in, int64_t offset, int64_t size) -> Value {
      auto t = cast<RankedTensorType>(in.getType());
      SmallVector<int64_t> shape(t.getShape());
      shape.back() = size;
      return b.create<SliceLastOp>(loc, f32(b, shape), in, b.getI64IntegerAttr(offset));
    };
    auto concat = [&](Value l, Value r) -> Value {
      auto t = cast<RankedTensorType>(l.getType());
      SmallVector<int64_t> shape(t.getShape());
      shape.back() += cast<RankedTensorType>(r.getType()).getShape().back();
      return b.create<ConcatLastOp>(loc, f32(b, shape), l, r);
    };
    auto split = [&](Value in, int64_t h) -> Value {
      return b.create<SplitHeadsOp>(loc, f32(b, {h, n, dim(in, 1) / h}), in);
    };
    auto rope = [&](Value in) -> Value {
      auto theta = op.getRopeTheta();
      if (!theta)
        return in;
      return b.create<RopeOp>(loc, in.getType(), in, Value(),
                              b.getF64FloatAttr(theta->convertToDouble()),
                              b.getStringAttr(op.getRopeStyle().value_or("half")));
    };

    // Queries, split per head into the part that meets the latent and the rotated part.
    Value qFlat = qWeights.size() == 1
                      ? linear(x, qWeights[0])
                      : linear(rmsNorm(linear(x, qWeights[0]), qWeights[1]), qWeights[2]);
    Value q = split(qFlat, heads);
    Value qNope = slice(q, 0, nope);
    Value qPe = rope(slice(q, nope, ropeDim));

    // The shared latent key [c, k_pe]; its first kv_rank columns are the values.
    Value kvA = linear(x, op.getWkvA());
    Value c = rmsNorm(slice(kvA, 0, rank), op.getKvNorm());
    Value kPe = rope(split(slice(kvA, rank, ropeDim), 1));
    Value key = concat(split(c, 1), kPe);
    Value value = slice(key, 0, rank);

    // W_UK[h] = kv_b_proj rows [h*(nope+v), h*(nope+v)+nope), W_UV[h] the next v rows.
    Value wkvB = op.getWkvB();
    auto perHead = f32(b, {heads, nope + vDim, rank});
    Value w3 = b.create<tensor::ExpandShapeOp>(loc, perHead, wkvB,
                                               ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    auto view = [&](int64_t row, int64_t rows) -> Value {
      return b.create<tensor::ExtractSliceOp>(
          loc, f32(b, {heads, rows, rank}), w3, ValueRange{}, ValueRange{}, ValueRange{},
          b.getDenseI64ArrayAttr({0, row, 0}), b.getDenseI64ArrayAttr({heads, rows, rank}),
          b.getDenseI64ArrayAttr({1, 1, 1}));
    };
    Value wUK = view(0, nope), wUV = view(nope, vDim);

    Value qLat = b.create<BatchMatmulOp>(loc, f32(b, {heads, n, rank}), qNope, wUK, UnitAttr());
    Value qAbs = concat(qLat, qPe);
    double scale = 1.0 / std::sqrt(static_cast<double>(nope + ropeDim));
    Value oLat = b.create<SDPAOp>(loc, f32(b, {heads, n, rank}), qAbs, key, value,
                                  b.getI64IntegerAttr(heads), b.getI64IntegerAttr(1),
                                  op.getCausal() ? b.getUnitAttr() : UnitAttr(),
                                  b.getF64FloatAttr(scale));
    Value o = b.create<BatchMatmulOp>(loc, f32(b, {heads, n, vDim}), oLat, wUV, b.getUnitAttr());
    Value merged = b.create<MergeHeadsOp>(loc, f32(b, {n, heads * vDim}), o);
    rewriter.replaceOp(op, linear(merged, op.getWo()));
    return success();
  }
};

struct AttnLatentPass : tfc::attn::impl::AttnLatentBase<AttnLatentPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateAttnLatentPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void tfc::attn::populateAttnLatentPatterns(RewritePatternSet &patterns) {
  patterns.add<AbsorbLatentAttention>(patterns.getContext());
}
