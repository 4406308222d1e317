//===- AttnToLinalg.cpp - attn to linalg on tensors -----------------------===//

#include "tfc/Conversion/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace tfc {
#define GEN_PASS_DEF_CONVERTATTNTOLINALG
#include "tfc/Conversion/Passes.h.inc"
} // namespace tfc

using namespace mlir;

namespace {
// TODO(attn-to-linalg): patterns.
struct ConvertAttnToLinalgPass : tfc::impl::ConvertAttnToLinalgBase<ConvertAttnToLinalgPass> {
  void runOnOperation() override {}
};
} // namespace

void tfc::populateAttnToLinalgPatterns(RewritePatternSet &patterns) {}
