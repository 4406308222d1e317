//===- GQA.cpp - Grouped-query attention without replicated K/V ----------===//
//
// The reference lowering copies each key/value head to every query head of its
// group before attention; attn.sdpa can instead map query head h to key/value
// head h / group itself. Dropping the copies shrinks the KV cache by the group
// size and lets the attention kernel read each cached element once per group.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/IR/PatternMatch.h"

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNGQA
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

// attn.sdpa(q, attn.repeat_kv(k), attn.repeat_kv(v)) => attn.sdpa(q, k, v) {kv_heads = heads of k}
struct ShareRepeatedKV : OpRewritePattern<SDPAOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SDPAOp op, PatternRewriter &rewriter) const override {
    auto key = op.getKey().getDefiningOp<RepeatKVOp>();
    auto value = op.getValue().getDefiningOp<RepeatKVOp>();
    if (!key || !value)
      return rewriter.notifyMatchFailure(op, "keys and values are not both replicated");
    int64_t kvHeads = key.getInput().getType().getDimSize(0);
    if (value.getInput().getType().getDimSize(0) != kvHeads)
      return rewriter.notifyMatchFailure(op, "keys and values have different head counts");
    rewriter.modifyOpInPlace(op, [&] {
      op.getKeyMutable().assign(key.getInput());
      op.getValueMutable().assign(value.getInput());
      op.setKvHeads(kvHeads);
    });
    return success();
  }
};

struct AttnGQAPass : tfc::attn::impl::AttnGQABase<AttnGQAPass> {
  void runOnOperation() override {
    if (failed(tfc::applyPopulatedPatterns(getOperation(), populateAttnGQAPatterns)))
      signalPassFailure();
  }
};

} // namespace

void tfc::attn::populateAttnGQAPatterns(RewritePatternSet &patterns) {
  patterns.add<ShareRepeatedKV>(patterns.getContext());
}
