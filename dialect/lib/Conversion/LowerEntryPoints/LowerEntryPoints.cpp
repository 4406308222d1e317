//===- LowerEntryPoints.cpp - Model functions to the runtime's convention ---===//

#include "tfc/Conversion/Passes.h"

namespace tfc {
#define GEN_PASS_DEF_LOWERENTRYPOINTS
#include "tfc/Conversion/Passes.h.inc"
} // namespace tfc

using namespace mlir;

namespace {
struct LowerEntryPointsPass : tfc::impl::LowerEntryPointsBase<LowerEntryPointsPass> {
  void runOnOperation() override {}
};
} // namespace
