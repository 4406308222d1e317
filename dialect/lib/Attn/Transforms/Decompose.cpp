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
#include "tfc/Utils/LoweringUtils.h"

#include "HeadBuilder.h"

#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNDECOMPOSE
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

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

    q = b.rope(q, op.getRopeTheta(), op.getRopeStyle(), op.getRopeScalingAttr());
    k = b.rope(k, op.getRopeTheta(), op.getRopeStyle(), op.getRopeScalingAttr());
    k = b.repeatKV(k, heads);
    v = b.repeatKV(v, heads);

    double scale = 1.0 / std::sqrt(static_cast<double>(op.getHeadDim()));
    Value o = b.mergeHeads(b.sdpa(q, k, v, op.getCausal(), scale, op.getWindow()));
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
    int64_t heads = op.getHeads(), ropeDim = op.getRopeDim(), nope = op.getNopeDim(),
            vDim = op.getVDim();
    if (op.getQWeights().size() != 1 && op.getQWeights().size() != 3)
      return rewriter.notifyMatchFailure(op, "expected one or three q weights");

    auto [qNope, qPe, c, kPe] = b.latentInputs(op);
    kPe = b.repeatKV(kPe, heads);

    // Decompression: per head, nope rows of K then v rows of V.
    Value kv = b.splitHeads(b.linear(c, op.getWkvB()), heads);
    Value kNope = b.sliceLast(kv, 0, nope);
    Value v = b.sliceLast(kv, nope, vDim);

    Value k = b.concatLast(kNope, kPe);
    Value q = b.concatLast(qNope, qPe);
    double scale = ropeAttentionFactors(op.getRopeScalingAttr()).softmax /
                   std::sqrt(static_cast<double>(nope + ropeDim));
    Value o = b.mergeHeads(b.sdpa(q, k, v, op.getCausal(), scale));
    rewriter.replaceOp(op, b.linear(o, op.getWo()));
    return success();
  }
};

struct AttnDecomposePass : tfc::attn::impl::AttnDecomposeBase<AttnDecomposePass> {
  void runOnOperation() override {
    if (failed(tfc::applyPopulatedPatterns(getOperation(), populateAttnDecomposePatterns)))
      signalPassFailure();
  }
};

} // namespace

void tfc::attn::populateAttnDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeAttention, DecomposeLatentAttention>(patterns.getContext());
}
