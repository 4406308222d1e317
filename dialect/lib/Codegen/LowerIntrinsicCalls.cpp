//===- LowerIntrinsicCalls.cpp - Marked declarations to LLVM intrinsics ---===//
//
// `llvm.call_intrinsic` declares no memory effects, which the ownership-based
// buffer deallocation refuses; the kernels therefore call CPU instructions
// through private declarations marked `tfc.llvm_intrinsic`, and this pass,
// once buffers are settled, turns those calls into the intrinsic calls.
//
//===----------------------------------------------------------------------===//

#include "tfc/Codegen/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace tfc {
#define GEN_PASS_DEF_LOWERINTRINSICCALLS
#include "tfc/Codegen/Passes.h.inc"
} // namespace tfc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kIntrinsicAttr = "tfc.llvm_intrinsic";

/// Calls of declarations marked `tfc.prefetch` (tfc::prefetchDeclaration)
/// become memref.prefetch of the element they name.
void lowerPrefetches(ModuleOp module) {
  SmallVector<func::FuncOp> declarations;
  for (auto func : module.getOps<func::FuncOp>())
    if (func->hasAttr("tfc.prefetch") && func.isDeclaration())
      declarations.push_back(func);
  if (declarations.empty())
    return;
  SmallVector<func::CallOp> calls;
  module.walk([&](func::CallOp call) {
    auto callee = module.lookupSymbol<func::FuncOp>(call.getCalleeAttr());
    if (callee && callee->hasAttr("tfc.prefetch") && call.getNumOperands() >= 1 &&
        isa<MemRefType>(call.getOperand(0).getType()) && call.getNumResults() == 0)
      calls.push_back(call);
  });
  OpBuilder b(module.getContext());
  for (func::CallOp call : calls) {
    b.setInsertionPoint(call);
    b.create<memref::PrefetchOp>(call.getLoc(), call.getOperand(0),
                                 call.getOperands().drop_front(), /*isWrite=*/false,
                                 /*localityHint=*/3, /*isDataCache=*/true);
    call.erase();
  }
  for (func::FuncOp declaration : declarations)
    if (declaration.symbolKnownUseEmpty(module))
      declaration.erase();
}

struct LowerIntrinsicCallsPass : tfc::impl::LowerIntrinsicCallsBase<LowerIntrinsicCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    lowerPrefetches(module);
    SmallVector<func::FuncOp> declarations;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(kIntrinsicAttr)) {
        if (!func.isDeclaration()) {
          func.emitError("tfc-lower-intrinsic-calls: a function marked ")
              << kIntrinsicAttr << " must be a declaration";
          return signalPassFailure();
        }
        declarations.push_back(func);
      }
    if (declarations.empty())
      return;

    SmallVector<std::pair<func::CallOp, StringRef>> calls; // and the intrinsic's name
    module.walk([&](func::CallOp call) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCalleeAttr());
      if (auto name = callee ? callee->getAttrOfType<StringAttr>(kIntrinsicAttr) : nullptr)
        calls.emplace_back(call, name.getValue());
    });
    OpBuilder b(&getContext());
    for (auto [call, name] : calls) {
      b.setInsertionPoint(call);
      auto intrinsic = b.create<LLVM::CallIntrinsicOp>(call.getLoc(), call.getResultTypes(),
                                                       name, call.getOperands());
      call.replaceAllUsesWith(intrinsic->getResults());
      call.erase();
    }
    for (func::FuncOp declaration : declarations)
      if (declaration.symbolKnownUseEmpty(module))
        declaration.erase();
  }
};

} // namespace
