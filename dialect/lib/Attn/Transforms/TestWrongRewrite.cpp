//===- TestWrongRewrite.cpp - A deliberately wrong rewrite, for tests -------===//
//
// tfc --verify-passes compiles a model with and without each rewrite and
// reports where the outputs differ. Its tests need a rewrite known to be
// wrong: this one multiplies every norm's epsilon by 1000, which changes the
// function a little everywhere. It runs only under the hidden
// `tfc --test-wrong-rewrite`.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNTESTWRONGREWRITE
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

constexpr double kWrongEpsilonFactor = 1000.0;

/// Changes the epsilon in place; a walk rather than a pattern, since the
/// rewritten op would match again.
template <typename NormOp> void scaleEpsilon(NormOp op) {
  op.setEpsAttr(FloatAttr::get(op.getEpsAttr().getType(),
                               op.getEps().convertToDouble() * kWrongEpsilonFactor));
}

struct AttnTestWrongRewritePass
    : public tfc::attn::impl::AttnTestWrongRewriteBase<AttnTestWrongRewritePass> {
  void runOnOperation() override {
    getOperation()->walk([](Operation *op) {
      if (auto rms = dyn_cast<RMSNormOp>(op))
        scaleEpsilon(rms);
      else if (auto ln = dyn_cast<LayerNormOp>(op))
        scaleEpsilon(ln);
    });
  }
};

} // namespace
