//===- MergeParallelRegions.cpp - One OpenMP region for a run of kernels --===//
//
// convert-scf-to-openmp gives every scf.parallel its own omp.parallel, so a
// decode step forks and joins the threads around every kernel. On a small
// model (the stories15M shape: 288-wide rows) a kernel is a few microseconds
// of work and the fork/join costs about as much; under load a join waits for
// a descheduled worker every time. This pass runs the kernels of a function
// and the code between them in one omp.parallel; the worksharing loops keep
// their implicit barriers, which order the kernels as the joins did. The
// description in Passes.td lists what runs where.
//
//===----------------------------------------------------------------------===//

#include "tfc/Codegen/Passes.h"

#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace tfc {
#define GEN_PASS_DEF_MERGEPARALLELREGIONS
#include "tfc/Codegen/Passes.h.inc"
} // namespace tfc

using namespace mlir;

namespace {

/// What an op becomes inside a merged omp.parallel.
enum class Role {
  Replicated,       // no memory effects: every thread computes it
  InvariantRead,    // a load of memory the function never writes: every thread
  Read,             // other reads: every thread, then a barrier before a write
  Single,           // writes, no results: one thread in omp.single
  Kernel,           // an omp.parallel of convert-scf-to-openmp: its omp.wsloop
  Nest,             // scf.for / scf.if around kernels: every thread
  Boundary,         // none of these: ends a run
};

/// An omp.parallel as convert-scf-to-openmp builds it for an scf.parallel
/// without reductions: no clauses, only worksharing loops inside.
bool isPlainKernelRegion(omp::ParallelOp region) {
  if (region->getNumOperands() != 0 || region.getReductions() || region.getProcBindVal() ||
      region.getPrivatizers() || !region.getRegion().hasOneBlock())
    return false;
  for (Operation &op : region.getRegion().front().without_terminator())
    if (!isa<omp::WsloopOp>(op))
      return false;
  return true;
}

/// An entry argument that the function only loads from (and asks the sizes
/// of). The runtime passes distinct buffers, so nothing else writes it.
bool isReadOnlyArgument(Value memref) {
  auto arg = dyn_cast<BlockArgument>(memref);
  if (!arg || !isa<func::FuncOp>(arg.getOwner()->getParentOp()))
    return false;
  return llvm::all_of(arg.getUsers(),
                      [](Operation *user) { return isa<memref::LoadOp, memref::DimOp>(user); });
}

bool holdsKernel(Operation *op) {
  return op
      ->walk([](omp::ParallelOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

Role roleOf(Operation *op) {
  if (auto region = dyn_cast<omp::ParallelOp>(op))
    return isPlainKernelRegion(region) ? Role::Kernel : Role::Boundary;
  if (op->hasTrait<OpTrait::IsTerminator>())
    return Role::Boundary;
  if (holdsKernel(op)) {
    // Loops and branches whose control every thread computes alike.
    if (!isa<scf::ForOp, scf::IfOp>(op))
      return Role::Boundary;
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (Operation &inner : block.without_terminator())
          if (roleOf(&inner) == Role::Boundary)
            return Role::Boundary;
    return Role::Nest;
  }
  if (isMemoryEffectFree(op))
    return Role::Replicated;
  if (auto load = dyn_cast<memref::LoadOp>(op); load && isReadOnlyArgument(load.getMemref()))
    return Role::InvariantRead;
  std::optional<SmallVector<MemoryEffects::EffectInstance>> effects = getEffectsRecursively(op);
  if (effects && llvm::all_of(*effects, [](const MemoryEffects::EffectInstance &effect) {
        return isa<MemoryEffects::Read>(effect.getEffect());
      }))
    return Role::Read;
  if (op->getNumResults() == 0)
    return Role::Single;
  return Role::Boundary;
}

/// The state `distribute` would return for `block` (without rewriting it).
bool readsPendingAfter(Block &block, bool pendingReads);

/// Whether reads are pending at the head of `loop`'s body: on entry, or
/// left by the previous iteration (then its next writes wait for them).
bool readsPendingAtLoopHead(scf::ForOp loop, bool pendingReads) {
  return pendingReads || readsPendingAfter(*loop.getBody(), false);
}

bool readsPendingAfter(Block &block, bool pendingReads) {
  for (Operation &op : block.without_terminator()) {
    switch (roleOf(&op)) {
    case Role::Read:
      pendingReads = true;
      break;
    case Role::Kernel:
    case Role::Single:
      pendingReads = false;
      break;
    case Role::Nest:
      if (auto loop = dyn_cast<scf::ForOp>(op)) {
        bool head = readsPendingAtLoopHead(loop, pendingReads);
        pendingReads = readsPendingAfter(*loop.getBody(), head) || head;
      } else {
        bool after = pendingReads;
        for (Region &region : op.getRegions())
          for (Block &inner : region)
            after |= readsPendingAfter(inner, pendingReads);
        pendingReads = after;
      }
      break;
    default:
      break;
    }
  }
  return pendingReads;
}

/// Rewrites the ops of `block`, now inside the merged omp.parallel, for
/// every thread running them (see Role). `pendingReads`: a read on every
/// thread since the last barrier. Returns that state at the block's end.
bool distribute(Block &block, bool pendingReads) {
  OpBuilder b(block.getParentOp()->getContext());
  Operation *op = block.empty() ? nullptr : &block.front();
  while (op && !op->hasTrait<OpTrait::IsTerminator>()) {
    Operation *next = op->getNextNode();
    switch (roleOf(op)) {
    case Role::Replicated:
    case Role::InvariantRead:
    case Role::Boundary: // not reached: runs and nests hold none
      break;
    case Role::Read:
      pendingReads = true;
      break;
    case Role::Kernel: {
      b.setInsertionPoint(op);
      if (pendingReads)
        b.create<omp::BarrierOp>(op->getLoc());
      Block &body = cast<omp::ParallelOp>(op).getRegion().front();
      for (Operation &loop : llvm::make_early_inc_range(body.without_terminator()))
        loop.moveBefore(op);
      op->erase();
      pendingReads = false; // the worksharing loop ends with a barrier
      break;
    }
    case Role::Nest: {
      if (auto loop = dyn_cast<scf::ForOp>(op)) {
        bool head = readsPendingAtLoopHead(loop, pendingReads);
        // A loop that runs no iteration leaves the state at its head.
        pendingReads = distribute(*loop.getBody(), head) || head;
      } else {
        bool after = false;
        for (Region &region : op->getRegions())
          for (Block &inner : region)
            after |= distribute(inner, pendingReads);
        // An scf.if without else keeps the state of the way around it.
        pendingReads = after || pendingReads;
      }
      break;
    }
    case Role::Single: {
      // Consecutive writes share one omp.single; ops without effects between
      // them stay before it (the writes produce nothing they could use).
      SmallVector<Operation *> writes;
      Operation *cur = op;
      for (; cur && !cur->hasTrait<OpTrait::IsTerminator>(); cur = cur->getNextNode()) {
        Role role = roleOf(cur);
        if (role == Role::Single)
          writes.push_back(cur);
        else if (role != Role::Replicated && role != Role::InvariantRead)
          break;
      }
      next = writes.back()->getNextNode();
      b.setInsertionPoint(writes.front());
      if (pendingReads)
        b.create<omp::BarrierOp>(op->getLoc());
      b.setInsertionPoint(writes.back());
      auto single = b.create<omp::SingleOp>(op->getLoc(), omp::SingleClauseOps{});
      Block *body = b.createBlock(&single.getRegion());
      for (Operation *write : writes)
        write->moveBefore(body, body->end());
      b.setInsertionPointToEnd(body);
      b.create<omp::TerminatorOp>(op->getLoc());
      pendingReads = false; // omp.single ends with a barrier
      break;
    }
    }
    op = next;
  }
  return pendingReads;
}

unsigned countKernels(ArrayRef<Operation *> run) {
  unsigned kernels = 0;
  for (Operation *op : run)
    op->walk([&](omp::ParallelOp) { ++kernels; });
  return kernels;
}

/// Merges the first run of `block` (its ops but the terminator, split at
/// boundaries and at `cuts`) that holds at least two kernels, or adds a cut
/// where such a run would let a value escape. Returns whether it did either.
bool mergeRun(Block &block, llvm::SmallPtrSetImpl<Operation *> &cuts) {
  SmallVector<SmallVector<Operation *>> runs(1);
  for (Operation &op : block.without_terminator()) {
    if (cuts.contains(&op) || roleOf(&op) == Role::Boundary)
      runs.emplace_back();
    else
      runs.back().push_back(&op);
  }
  for (SmallVector<Operation *> &run : runs) {
    if (countKernels(run) < 2)
      continue;
    llvm::SmallPtrSet<Operation *, 32> inRun(run.begin(), run.end());
    auto definedInRun = [&](Value v) {
      Operation *def = v.getDefiningOp();
      if (!def)
        def = v.getParentBlock()->getParentOp();
      Operation *ancestor = def ? block.findAncestorOpInBlock(*def) : nullptr;
      return ancestor && inRun.contains(ancestor);
    };
    // What needs no effects and nothing of the run is computed before it,
    // once: fewer values are captured by the region, and fewer escape it.
    // (Moved before the first op that stays; those before it stay in order.)
    SmallVector<Operation *> kept;
    for (Operation *op : run) {
      if (isMemoryEffectFree(op) && op->getNumRegions() == 0 &&
          llvm::none_of(op->getOperands(), definedInRun)) {
        if (!kept.empty())
          op->moveBefore(kept.front());
        inRun.erase(op);
      } else {
        kept.push_back(op);
      }
    }
    // A value used after the run cannot leave the region: the op that
    // defines it becomes a cut, and the runs are formed again.
    for (Operation *op : kept)
      for (Operation *user : op->getUsers()) {
        Operation *ancestor = block.findAncestorOpInBlock(*user);
        if (!ancestor || !inRun.contains(ancestor)) {
          cuts.insert(op);
          return true;
        }
      }
    if (countKernels(kept) < 2)
      continue;
    OpBuilder b(kept.front());
    auto merged = b.create<omp::ParallelOp>(kept.front()->getLoc());
    Block *body = b.createBlock(&merged.getRegion());
    for (Operation *op : kept)
      op->moveBefore(body, body->end());
    b.setInsertionPointToEnd(body);
    b.create<omp::TerminatorOp>(merged.getLoc());
    distribute(*body, /*pendingReads=*/false);
    return true;
  }
  return false;
}

struct MergeParallelRegionsPass
    : tfc::impl::MergeParallelRegionsBase<MergeParallelRegionsPass> {
  void runOnOperation() override {
    // Each round merges a run (which is then a boundary) or adds a cut, so
    // the rounds end.
    for (Block &block : getOperation().getBody()) {
      llvm::SmallPtrSet<Operation *, 8> cuts;
      while (mergeRun(block, cuts)) {
      }
    }
  }
};

} // namespace
