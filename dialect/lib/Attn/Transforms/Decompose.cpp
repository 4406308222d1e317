//===- Decompose.cpp - Model-level attention into head-level ops ----------===//
//
// The reference lowering of attn.attention and attn.latent_attention.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNDECOMPOSE
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {
// TODO(decompose): patterns.
struct AttnDecomposePass : tfc::attn::impl::AttnDecomposeBase<AttnDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateAttnDecomposePatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void tfc::attn::populateAttnDecomposePatterns(RewritePatternSet &patterns) {}
