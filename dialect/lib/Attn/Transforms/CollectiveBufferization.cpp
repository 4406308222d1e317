//===- CollectiveBufferization.cpp - attn.all_reduce/all_gather on buffers --===//
//
// The collectives of tensor parallelism are calls into the runtime (gen_abi.h
// __tfc_all_reduce_f32, __tfc_all_gather_f32) on buffers: one-shot
// bufferization turns them into those calls directly. attn.all_reduce works in
// place on its operand's buffer (MPI_IN_PLACE); attn.all_gather writes a new
// buffer, which tfc-plan-activations places in the activation arena like any
// other temporary, so a step allocates nothing. The callees are private
// declarations marked `tfc.collective`: the plan knows they neither keep nor
// return the buffers they are given.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace tfc::attn;

namespace {

/// memref<?x?xf32, strided<[?, ?], offset: ?>>: any 2-d f32 buffer.
MemRefType anyMatrixType(MLIRContext *ctx) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get({d, d}, Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, d, {d, d}));
}

/// Calls runtime function `name` on the 2-d f32 buffers `args`, declaring it
/// in the module (private, `tfc.collective`) at its first use.
void callCollective(RewriterBase &rewriter, Operation *op, StringRef name, ValueRange args) {
  auto module = op->getParentOfType<ModuleOp>();
  MLIRContext *ctx = op->getContext();
  MemRefType any = anyMatrixType(ctx);
  SmallVector<Type> types(args.size(), any);
  if (!module.lookupSymbol<func::FuncOp>(name)) {
    OpBuilder b(ctx);
    b.setInsertionPointToStart(module.getBody());
    auto decl = b.create<func::FuncOp>(op->getLoc(), name, b.getFunctionType(types, {}));
    decl.setPrivate();
    decl->setAttr(kCollectiveAttrName, b.getUnitAttr());
  }
  SmallVector<Value> operands;
  for (Value a : args)
    operands.push_back(rewriter.create<memref::CastOp>(op->getLoc(), any, a));
  rewriter.create<func::CallOp>(op->getLoc(), name, TypeRange{}, operands);
}

// all_reduce %x (tensor) => call @__tfc_all_reduce_f32(buffer of %x), in place
struct AllReduceBufferization
    : BufferizableOpInterface::ExternalModel<AllReduceBufferization, AllReduceOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &, const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &, const AnalysisState &) const {
    return true;
  }
  AliasingValueList getAliasingValues(Operation *op, OpOperand &, const AnalysisState &) const {
    return {{op->getResult(0), BufferRelation::Equivalent}};
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options) const {
    FailureOr<Value> buffer = getBuffer(rewriter, op->getOperand(0), options);
    if (failed(buffer))
      return failure();
    callCollective(rewriter, op, "__tfc_all_reduce_f32", {*buffer});
    replaceOpWithBufferizedValues(rewriter, op, *buffer);
    return success();
  }
};

// all_gather %x (tensor) => %r = alloc; call @__tfc_all_gather_f32(buffer of %x, %r)
struct AllGatherBufferization
    : BufferizableOpInterface::ExternalModel<AllGatherBufferization, AllGatherOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &, const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &, const AnalysisState &) const {
    return false;
  }
  AliasingValueList getAliasingValues(Operation *, OpOperand &, const AnalysisState &) const {
    return {};
  }
  bool bufferizesToAllocation(Operation *, Value) const { return true; }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options) const {
    auto gather = cast<AllGatherOp>(op);
    FailureOr<Value> src = getBuffer(rewriter, gather.getInput(), options);
    if (failed(src))
      return failure();
    auto type = gather.getType();
    auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
    SmallVector<Value> dynamicSizes;
    if (type.isDynamicDim(0))
      dynamicSizes.push_back(rewriter.create<memref::DimOp>(op->getLoc(), *src, 0));
    FailureOr<Value> dst = options.createAlloc(rewriter, op->getLoc(), memrefType, dynamicSizes);
    if (failed(dst))
      return failure();
    callCollective(rewriter, op, "__tfc_all_gather_f32", {*src, *dst});
    replaceOpWithBufferizedValues(rewriter, op, *dst);
    return success();
  }
};

} // namespace

void tfc::attn::registerCollectiveBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, AttnDialect *) {
    AllReduceOp::attachInterface<AllReduceBufferization>(*ctx);
    AllGatherOp::attachInterface<AllGatherBufferization>(*ctx);
  });
}
