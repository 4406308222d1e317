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

#include "HeadBuilder.h"

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
