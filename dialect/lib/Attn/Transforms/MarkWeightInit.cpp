//===- MarkWeightInit.cpp - How tfc_model_random fills each weight ---------===//
//
// Norm scales start at one and biases at zero, whatever the random seed, so a
// model run on tfc_model_random weights behaves like a freshly initialized
// one. The kinds are gen_abi.h's TFC_INIT_* (attn::WeightInit).
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNMARKWEIGHTINIT
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

/// Follows a weight operand back through the layer slice to its attn.weight.
WeightOp weightOf(Value v) {
  while (v) {
    if (auto w = v.getDefiningOp<WeightOp>())
      return w;
    auto slice = v.getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice)
      return {};
    v = slice.getSource();
  }
  return {};
}

struct AttnMarkWeightInitPass
    : tfc::attn::impl::AttnMarkWeightInitBase<AttnMarkWeightInitPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    auto mark = [&](Value v, WeightInit init) {
      if (!v)
        return;
      if (WeightOp w = weightOf(v))
        w.setInitAttr(WeightInitAttr::get(ctx, init));
    };
    getOperation()->walk([&](Operation *op) {
      if (auto norm = dyn_cast<RMSNormOp>(op)) {
        mark(norm.getWeight(), WeightInit::ones);
      } else if (auto norm = dyn_cast<LayerNormOp>(op)) {
        mark(norm.getWeight(), WeightInit::ones);
        mark(norm.getBias(), WeightInit::zeros);
      } else if (auto linear = dyn_cast<LinearOp>(op)) {
        mark(linear.getBias(), WeightInit::zeros);
      } else if (auto attention = dyn_cast<AttentionOp>(op)) {
        for (Value b : {attention.getBq(), attention.getBk(), attention.getBv(), attention.getBo()})
          mark(b, WeightInit::zeros);
      } else if (auto mla = dyn_cast<LatentAttentionOp>(op)) {
        mark(mla.getKvNorm(), WeightInit::ones);
        if (mla.getQWeights().size() == 3)
          mark(mla.getQWeights()[1], WeightInit::ones);
      }
    });
  }
};

} // namespace
