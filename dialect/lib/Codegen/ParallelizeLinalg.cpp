//===- ParallelizeLinalg.cpp - Rows of the remaining linalg ops on threads -===//
//
// After the products have become vector kernels, what is left of linalg is
// elementwise work, norms, softmax and copies. Lowered as they are, they run
// on one thread while the other waits at the next barrier; lowered with
// upstream `convert-linalg-to-parallel-loops`, every parallel dimension goes
// into one scf.parallel, which OpenMP collapses into a single index that each
// iteration divides back into coordinates, and the innermost loop no longer
// vectorizes. This pass tiles only the outermost (parallel) dimension by one:
// one scf.parallel over rows, each row a linalg op on a subview that becomes
// a plain contiguous inner loop for LLVM's loop vectorizer.
//
//===----------------------------------------------------------------------===//

#include "tfc/Codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace tfc {
#define GEN_PASS_DEF_PARALLELIZELINALG
#include "tfc/Codegen/Passes.h.inc"
} // namespace tfc

using namespace mlir;

namespace {

/// Ops worth distributing: on buffers, at least two loops, the outermost
/// parallel, and not already inside a parallel loop. Every output must be
/// indexed by the outermost loop, so that rows write disjoint elements.
bool distributable(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumLoops() < 2)
    return false;
  if (!linalg::isParallelIterator(op.getIteratorTypesArray().front()))
    return false;
  for (OpOperand &init : op.getDpsInitsMutable())
    if (!op.getMatchingIndexingMap(&init).isFunctionOfDim(0))
      return false;
  return !op->getParentOfType<scf::ParallelOp>();
}

struct ParallelizeLinalgPass : tfc::impl::ParallelizeLinalgBase<ParallelizeLinalgPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (distributable(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      SmallVector<int64_t> tileSizes(op.getNumLoops(), 0);
      tileSizes.front() = 1;
      linalg::LinalgTilingOptions options;
      options.setTileSizes(tileSizes).setLoopType(linalg::LinalgTilingLoopType::ParallelLoops);
      rewriter.setInsertionPoint(op);
      if (failed(linalg::tileLinalgOp(rewriter, op, options))) {
        op.emitError("tfc-parallelize-linalg: cannot tile the outermost dimension");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
