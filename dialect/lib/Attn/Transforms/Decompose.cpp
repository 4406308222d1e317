//===- Decompose.cpp - Model-level attention into head-level ops ----------===//
//
// The reference lowering of attn.attention and attn.latent_attention: the
// projections become attn.linear, the heads are split out, RoPE rotates q and k
// at positions 0..n-1 (the whole sequence is recomputed), K/V heads are
// replicated to every query head (attn.repeat_kv) and MLA's latent K/V is
// decompressed per head, so that the attn.sdpa that follows always has
// heads == kv_heads. The attn passes (kv-cache, gqa, latent) produce the fast
// forms; this one is what they are checked against.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNDECOMPOSE
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

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

  /// RoPE at positions 0..n-1 when `theta` is set, else `x` unchanged.
  Value rope(Value x, std::optional<APFloat> theta, std::optional<StringRef> style) {
    if (!theta)
      return x;
    return rewriter.create<RopeOp>(loc, type(x), x, /*offset=*/Value(),
                                   rewriter.getF64FloatAttr(theta->convertToDouble()),
                                   rewriter.getStringAttr(style.value_or("half")));
  }

  /// Replicates [kv_heads, m, d] to [heads, m, d]; a no-op when already there.
  Value repeatKV(Value x, int64_t heads) {
    auto t = type(x);
    if (t.getDimSize(0) == heads)
      return x;
    return rewriter.create<RepeatKVOp>(loc, f32Tensor({heads, t.getDimSize(1), t.getDimSize(2)}),
                                       x);
  }

  /// softmax(scale q k^T) v with as many K/V heads as query heads.
  Value sdpa(Value q, Value k, Value v, bool causal, double scale) {
    int64_t heads = type(q).getDimSize(0);
    auto resultType = f32Tensor({heads, type(q).getDimSize(1), type(v).getDimSize(2)});
    return rewriter.create<SDPAOp>(loc, resultType, q, k, v, rewriter.getI64IntegerAttr(heads),
                                   rewriter.getI64IntegerAttr(heads),
                                   causal ? rewriter.getUnitAttr() : UnitAttr(),
                                   rewriter.getF64FloatAttr(scale));
  }

private:
  PatternRewriter &rewriter;
  Location loc;
};

// attn.attention => attn.linear ×3, attn.split_heads ×3, [attn.rope ×2],
//                   [attn.repeat_kv ×2], attn.sdpa, attn.merge_heads, attn.linear
struct DecomposeAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &rewriter) const override {
    HeadBuilder b(rewriter, op.getLoc());
    int64_t heads = op.getHeads(), kvHeads = op.getKvHeads();
    Value x = op.getInput();
    Value m = op.getMemory() ? op.getMemory() : x;

    Value q = b.splitHeads(b.linear(x, op.getWq(), op.getBq()), heads);
    Value k = b.splitHeads(b.linear(m, op.getWk(), op.getBk()), kvHeads);
    Value v = b.splitHeads(b.linear(m, op.getWv(), op.getBv()), kvHeads);

    q = b.rope(q, op.getRopeTheta(), op.getRopeStyle());
    k = b.rope(k, op.getRopeTheta(), op.getRopeStyle());
    k = b.repeatKV(k, heads);
    v = b.repeatKV(v, heads);

    double scale = 1.0 / std::sqrt(static_cast<double>(op.getHeadDim()));
    Value o = b.mergeHeads(b.sdpa(q, k, v, op.getCausal(), scale));
    Value y = b.linear(o, op.getWo(), op.getBo());
    rewriter.replaceOp(op, y);
    return success();
  }
};

// attn.latent_attention => q: attn.linear [+ attn.rms_norm + attn.linear],
//   kv: attn.linear, attn.slice_last, attn.rms_norm, attn.linear (decompressed
//   per head), attn.rope on q_pe and the shared k_pe, attn.repeat_kv of k_pe,
//   attn.concat_last, attn.sdpa, attn.merge_heads, attn.linear
struct DecomposeLatentAttention : OpRewritePattern<LatentAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LatentAttentionOp op, PatternRewriter &rewriter) const override {
    HeadBuilder b(rewriter, op.getLoc());
    int64_t heads = op.getHeads(), rank = op.getKvRank(), ropeDim = op.getRopeDim(),
            nope = op.getNopeDim(), vDim = op.getVDim();
    auto qWeights = op.getQWeights();
    if (qWeights.size() != 1 && qWeights.size() != 3)
      return rewriter.notifyMatchFailure(op, "expected one or three q weights");
    Value x = op.getInput();
    auto theta = op.getRopeTheta();
    auto style = op.getRopeStyle();

    // Queries: [H, n, nope + rope] split into the unrotated and rotated parts.
    Value qFlat = qWeights.size() == 1
                      ? b.linear(x, qWeights[0])
                      : b.linear(b.rmsNorm(b.linear(x, qWeights[0]), qWeights[1], kLatentNormEps),
                                 qWeights[2]);
    Value q = b.splitHeads(qFlat, heads);
    Value qNope = b.sliceLast(q, 0, nope);
    Value qPe = b.rope(b.sliceLast(q, nope, ropeDim), theta, style);

    // The compressed latent c and the one rope key shared by all heads.
    Value kvA = b.linear(x, op.getWkvA());
    Value c = b.rmsNorm(b.sliceLast(kvA, 0, rank), op.getKvNorm(), kLatentNormEps);
    Value kPe = b.splitHeads(b.sliceLast(kvA, rank, ropeDim), 1);
    kPe = b.repeatKV(b.rope(kPe, theta, style), heads);

    // Decompression: per head, nope rows of K then v rows of V.
    Value kv = b.splitHeads(b.linear(c, op.getWkvB()), heads);
    Value kNope = b.sliceLast(kv, 0, nope);
    Value v = b.sliceLast(kv, nope, vDim);

    Value k = b.concatLast(kNope, kPe);
    q = b.concatLast(qNope, qPe);
    double scale = 1.0 / std::sqrt(static_cast<double>(nope + ropeDim));
    Value o = b.mergeHeads(b.sdpa(q, k, v, op.getCausal(), scale));
    rewriter.replaceOp(op, b.linear(o, op.getWo()));
    return success();
  }
};

struct AttnDecomposePass : tfc::attn::impl::AttnDecomposeBase<AttnDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateAttnDecomposePatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void tfc::attn::populateAttnDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeAttention, DecomposeLatentAttention>(patterns.getContext());
}
