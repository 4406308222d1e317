//===- OutlineKernels.cpp - One function per distinct kernel body -----------===//
//
// Every linear layer, norm and attention step gets its own copy of its
// kernels, and every entry point (decoder, decoder_last, decoder_batch) its
// own copy of all of them, although most copies are the same code on other
// buffers: q, k, v and o multiply equal shapes, and the entry points share
// their layers. LLVM's optimizer and code generator take time in proportion
// to the IR (stories260K: 77 K lines of LLVM IR, 10 s of -O3 and ISel), so
// this pass moves the body of each kernel's loop into a private function and
// keeps one function per structurally equal body. The loop itself stays where
// it is (an omp.wsloop keeps its barrier and schedule, tfc-merge-parallel-
// regions has already placed it), so nothing about threads changes and the
// pass works the same for --threads=1, where kernels are scf.parallel.
//
//===----------------------------------------------------------------------===//

#include "tfc/Codegen/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

namespace tfc {
#define GEN_PASS_DEF_OUTLINEKERNELS
#include "tfc/Codegen/Passes.h.inc"
} // namespace tfc

using namespace mlir;

namespace {

/// The block whose ops (all but its terminator) a call can replace: the body
/// of a worksharing loop, of an omp.single, or of an scf.parallel that
/// reduces nothing. The terminators take no operands, so the body computes
/// nothing but memory effects.
Block *outlinableBody(Operation *op) {
  Region *region = nullptr;
  if (auto nest = dyn_cast<omp::LoopNestOp>(op)) {
    // The body of a reduction reaches the thread's private copy through a
    // block argument of the loop; such loops (tfc's kernels have none) stay.
    auto loop = dyn_cast<omp::WsloopOp>(nest->getParentOp());
    if (!loop || !loop.getReductionVars().empty())
      return nullptr;
    region = &nest.getRegion();
  }
  else if (auto single = dyn_cast<omp::SingleOp>(op))
    region = &single.getRegion();
  else if (auto parallel = dyn_cast<scf::ParallelOp>(op); parallel && parallel.getNumResults() == 0)
    region = &parallel.getRegion();
  if (!region || !region->hasOneBlock())
    return nullptr;
  Block &body = region->front();
  Operation *terminator = body.getTerminator();
  if (!terminator || terminator->getNumOperands() != 0 || terminator->getNumRegions() != 0)
    return nullptr;
  return &body;
}

/// Ops in `body`, nested ones included, terminators excluded.
int64_t countOps(Block &body) {
  int64_t count = 0;
  for (Operation &op : body.without_terminator())
    op.walk([&](Operation *) { ++count; });
  return count;
}

/// Values that the callee rebuilds instead of taking them as arguments:
/// constants keep the callee's shapes and offsets static (and two bodies
/// that differ only in which copy of a constant they use compare equal).
bool isClonableConstant(Value value) {
  Operation *def = value.getDefiningOp();
  return def && def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
         def->hasTrait<OpTrait::ConstantLike>();
}

/// A hash of what makes two kernels the same function: the signature and, in
/// walk order, each op's name, attributes, properties and result types (not
/// locations, not which values an op uses: sameKernel compares those).
llvm::hash_code hashKernel(func::FuncOp kernel) {
  llvm::hash_code hash = hash_value(kernel.getFunctionType());
  kernel.getBody().walk([&](Operation *op) {
    hash = llvm::hash_combine(
        hash, OperationEquivalence::computeHash(op, OperationEquivalence::ignoreHashValue,
                                                OperationEquivalence::ignoreHashValue,
                                                OperationEquivalence::IgnoreLocations));
  });
  return hash;
}

/// Whether two kernels are one function under two names: the same signature,
/// and bodies equal op for op, each operand the corresponding value (block
/// arguments pair up by position; a kernel is isolated from above, so nothing
/// else is shared), locations aside. The symbol names differ, so the bodies
/// are compared rather than the two func.func ops.
bool sameKernel(func::FuncOp a, func::FuncOp b) {
  return a.getFunctionType() == b.getFunctionType() &&
         OperationEquivalence::isRegionEquivalentTo(&a.getBody(), &b.getBody(),
                                                    OperationEquivalence::IgnoreLocations);
}

struct OutlineKernels : tfc::impl::OutlineKernelsBase<OutlineKernels> {
  using OutlineKernelsBase::OutlineKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    // The kernel functions so far, by hashKernel (equal hashes compared with
    // sameKernel).
    llvm::DenseMap<llvm::hash_code, SmallVector<func::FuncOp, 1>> kernelsByHash;
    unsigned nextKernel = 0;

    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp function : functions) {
      if (function.isExternal())
        continue;
      // Outermost candidates only: a kernel's inner loops move with it.
      SmallVector<Block *> bodies;
      function.walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (op == function.getOperation())
          return WalkResult::advance();
        Block *body = outlinableBody(op);
        if (!body || countOps(*body) < minOps)
          return WalkResult::advance();
        bodies.push_back(body);
        return WalkResult::skip();
      });
      for (Block *body : bodies) {
        SmallVector<Value> captured;
        func::FuncOp kernel = outline(*body, body->getParentOp()->getLoc(), captured);
        SmallVector<func::FuncOp, 1> &candidates = kernelsByHash[hashKernel(kernel)];
        auto *same = llvm::find_if(candidates,
                                   [&](func::FuncOp known) { return sameKernel(known, kernel); });
        if (same != candidates.end()) {
          kernel.erase();
          kernel = *same;
        } else {
          kernel.setSymName(("tfc_kernel_" + Twine(nextKernel++)).str());
          symbols.insert(kernel, module.getBody()->end());
          candidates.push_back(kernel);
        }
        callKernel(*body, kernel, captured);
      }
    }
  }

  /// Moves the ops of `body` into a new private function (not yet in the
  /// module, named "kernel") whose arguments are the body's block arguments
  /// and then the values from above that it uses, constants excepted (those
  /// values are returned in `captured`).
  func::FuncOp outline(Block &body, Location loc, SmallVectorImpl<Value> &captured) {
    MLIRContext *ctx = &getContext();
    llvm::SetVector<Value> usedAbove;
    getUsedValuesDefinedAbove(*body.getParent(), usedAbove);
    SmallVector<Value> constants;
    for (Value value : usedAbove)
      (isClonableConstant(value) ? constants : captured).push_back(value);

    SmallVector<Type> argumentTypes(body.getArgumentTypes());
    for (Value value : captured)
      argumentTypes.push_back(value.getType());
    auto kernel = func::FuncOp::create(loc, "kernel", FunctionType::get(ctx, argumentTypes, {}));
    kernel.setPrivate();
    // Internal to model.so: it exports the C ABI and nothing else.
    kernel->setAttr("llvm.linkage",
                    LLVM::LinkageAttr::get(ctx, LLVM::linkage::Linkage::Internal));
    // LLVM would inline a kernel into each caller again (the tiles of a
    // GEMM look cheap to its inliner), undoing the point of the pass. A call
    // per iteration of a kernel's loop (a block of rows) costs nanoseconds
    // next to the iteration; bodies under min-ops are not outlined at all.
    kernel->setAttr("passthrough", ArrayAttr::get(ctx, {StringAttr::get(ctx, "noinline")}));
    Block *entry = kernel.addEntryBlock();

    OpBuilder builder = OpBuilder::atBlockBegin(entry);
    DenseMap<Value, Value> replacement;
    for (Value value : constants)
      replacement[value] = builder.clone(*value.getDefiningOp())->getResult(
          cast<OpResult>(value).getResultNumber());
    for (auto [i, value] : llvm::enumerate(captured))
      replacement[value] = entry->getArgument(body.getNumArguments() + i);

    entry->getOperations().splice(entry->end(), body.getOperations(), body.begin(),
                                  std::prev(body.end()));
    for (auto [i, argument] : llvm::enumerate(body.getArguments()))
      argument.replaceAllUsesWith(entry->getArgument(i));
    for (auto [from, to] : replacement)
      replaceAllUsesInRegionWith(from, to, kernel.getBody());
    builder.setInsertionPointToEnd(entry);
    builder.create<func::ReturnOp>(loc);
    return kernel;
  }

  /// Calls `kernel` in `body` (now its terminator alone).
  void callKernel(Block &body, func::FuncOp kernel, ValueRange captured) {
    SmallVector<Value> operands(body.getArguments());
    llvm::append_range(operands, captured);
    OpBuilder builder(body.getTerminator());
    builder.create<func::CallOp>(body.getTerminator()->getLoc(), kernel, operands);
  }
};

} // namespace
