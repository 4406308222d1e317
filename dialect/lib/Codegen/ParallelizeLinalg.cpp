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
// Only ops with enough work: waking the other threads and joining them again
// costs microseconds, more than one thread needs for a few thousand elements
// (a decode step's norms, RoPE and activations over one row). An op whose
// iteration space is statically below `min-parallel-work` points stays as it
// is; one of dynamic size is distributed under an scf.if on its size, with
// the op itself, on the calling thread, as the else branch.
//
//===----------------------------------------------------------------------===//

#include "tfc/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
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

/// One scf.parallel over the rows of `op` in its place.
LogicalResult distribute(RewriterBase &rewriter, linalg::LinalgOp op) {
  SmallVector<int64_t> tileSizes(op.getNumLoops(), 0);
  tileSizes.front() = 1;
  linalg::LinalgTilingOptions options;
  options.setTileSizes(tileSizes).setLoopType(linalg::LinalgTilingLoopType::ParallelLoops);
  rewriter.setInsertionPoint(op);
  if (failed(linalg::tileLinalgOp(rewriter, op, options)))
    return op.emitError("tfc-parallelize-linalg: cannot tile the outermost dimension");
  rewriter.eraseOp(op);
  return success();
}

struct ParallelizeLinalgPass : tfc::impl::ParallelizeLinalgBase<ParallelizeLinalgPass> {
  using ParallelizeLinalgBase::ParallelizeLinalgBase;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (distributable(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      if (minParallelWork <= 1) { // every op, whatever its size
        if (failed(distribute(rewriter, op)))
          return signalPassFailure();
        continue;
      }
      // The number of points of the iteration space, folded as far as static.
      Location loc = op.getLoc();
      rewriter.setInsertionPoint(op);
      int64_t staticWork = 1;
      Value work;
      for (Range range : op.createLoopRanges(rewriter, loc)) {
        if (std::optional<int64_t> size = getConstantIntValue(range.size)) {
          staticWork *= *size;
          continue;
        }
        Value size = getValueOrCreateConstantIndexOp(rewriter, loc, range.size);
        work = work ? rewriter.create<arith::MulIOp>(loc, work, size).getResult() : size;
      }
      if (!work) {
        if (staticWork >= minParallelWork && failed(distribute(rewriter, op)))
          return signalPassFailure();
        continue;
      }
      if (staticWork != 1)
        work = rewriter.create<arith::MulIOp>(
            loc, work, rewriter.create<arith::ConstantIndexOp>(loc, staticWork));
      Value enough = rewriter.create<arith::CmpIOp>(
          loc, arith::CmpIPredicate::uge, work,
          rewriter.create<arith::ConstantIndexOp>(loc, minParallelWork));
      auto ifOp = rewriter.create<scf::IfOp>(loc, enough, /*withElseRegion=*/true);
      rewriter.setInsertionPointToStart(ifOp.elseBlock());
      rewriter.clone(*op);
      rewriter.setInsertionPointToStart(ifOp.thenBlock());
      auto parallel = cast<linalg::LinalgOp>(rewriter.clone(*op));
      rewriter.eraseOp(op);
      if (failed(distribute(rewriter, parallel)))
        return signalPassFailure();
    }
  }
};

} // namespace
