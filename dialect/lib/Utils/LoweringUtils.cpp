//===- LoweringUtils.cpp - Building blocks of the tfc lowerings -----------===//
//
// Definitions of the helpers declared in tfc/Utils/LoweringUtils.h, shared by
// the conversion out of attn, the attn passes and the codegen passes.
//
//===----------------------------------------------------------------------===//

#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <algorithm>

using namespace mlir;

namespace tfc {

SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> dims) {
  return llvm::map_to_vector(dims, [&](int64_t d) { return tensor::getMixedSize(b, loc, v, d); });
}

OpFoldResult knownSize(OpBuilder &b, Location loc, Value v, int64_t dim) {
  if (!tensorType(v).isDynamicDim(dim))
    return b.getIndexAttr(tensorType(v).getDimSize(dim));
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>();
      slice && slice.getSourceType().getRank() == slice.getType().getRank())
    return slice.getMixedSizes()[dim];
  if (auto empty = v.getDefiningOp<tensor::EmptyOp>())
    return empty.getMixedSizes()[dim];
  return tensor::getMixedSize(b, loc, v, dim);
}

Value castTo(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  return b.create<tensor::CastOp>(loc, type, v);
}

Value f32Const(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(static_cast<float>(v)));
}

Value f64Const(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v));
}

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

Value indexToF64(OpBuilder &b, Location loc, Value index) {
  Value i64 = b.create<arith::IndexCastOp>(loc, b.getI64Type(), index);
  return b.create<arith::SIToFPOp>(loc, b.getF64Type(), i64);
}

Value ceilDivIndex(OpBuilder &b, Location loc, Value count, int64_t step) {
  Value s = indexConst(b, loc, step);
  Value one = indexConst(b, loc, 1);
  return b.create<arith::DivUIOp>(
      loc, b.create<arith::SubIOp>(loc, b.create<arith::AddIOp>(loc, count, s), one), s);
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, Type elementType) {
  return b.create<tensor::EmptyOp>(loc, sizes, elementType ? elementType : b.getF32Type());
}

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, float value) {
  Value cst = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(value));
  return b.create<linalg::FillOp>(loc, cst, emptyTensor(b, loc, sizes)).getResult(0);
}

SmallVector<utils::IteratorType> iterators(int64_t parallel, int64_t reductions) {
  SmallVector<utils::IteratorType> its(parallel, utils::IteratorType::parallel);
  its.append(reductions, utils::IteratorType::reduction);
  return its;
}

AffineMap selectDims(MLIRContext *ctx, unsigned numDims, ArrayRef<unsigned> dims) {
  return AffineMap::getMultiDimMapWithTargets(numDims, dims, ctx);
}

Value generic(OpBuilder &b, Location loc, ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
              ArrayRef<utils::IteratorType> its, BodyFn body) {
  auto op = b.create<linalg::GenericOp>(
      loc, init.getType(), inputs, init, maps, its,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc, body(nb, nloc, args));
      });
  return op.getResult(0);
}

Value mapElementwise(OpBuilder &b, Location loc, ValueRange inputs, BodyFn body) {
  int64_t rank = tensorType(inputs[0]).getRank();
  Value init = emptyTensor(b, loc, tensor::getMixedSizes(b, loc, inputs[0]));
  SmallVector<AffineMap> maps(inputs.size() + 1, b.getMultiDimIdentityMap(rank));
  return generic(b, loc, inputs, init, maps, iterators(rank), body);
}

void parallelRowBlocks(OpBuilder &b, Location loc, int64_t rows, int64_t blockRows,
                       function_ref<void(Value, Value)> body) {
  int64_t blocks = (rows + blockRows - 1) / blockRows;
  b.create<scf::ParallelOp>(
      loc, ValueRange{indexConst(b, loc, 0)}, ValueRange{indexConst(b, loc, blocks)},
      ValueRange{indexConst(b, loc, 1)}, [&](OpBuilder &nb, Location, ValueRange ivs) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        Value lo = b.create<arith::MulIOp>(loc, ivs[0], indexConst(b, loc, blockRows));
        Value hi = b.create<arith::MinSIOp>(
            loc, b.create<arith::AddIOp>(loc, lo, indexConst(b, loc, blockRows)),
            indexConst(b, loc, rows));
        body(lo, hi);
      });
}

func::FuncOp intrinsicDeclaration(ModuleOp module, StringRef name, FunctionType type) {
  std::string symbol = "__tfc_" + name.str();
  std::replace(symbol.begin(), symbol.end(), '.', '_');
  if (auto existing = module.lookupSymbol<func::FuncOp>(symbol))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto decl = b.create<func::FuncOp>(module.getLoc(), symbol, type);
  decl.setPrivate();
  decl->setAttr("tfc.llvm_intrinsic", b.getStringAttr(name));
  return decl;
}

func::FuncOp prefetchDeclaration(ModuleOp module, FunctionType type) {
  int64_t count = 0;
  for (auto func : module.getOps<func::FuncOp>())
    if (func->hasAttr("tfc.prefetch")) {
      if (func.getFunctionType() == type)
        return func;
      ++count;
    }
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto decl = b.create<func::FuncOp>(module.getLoc(),
                                     "__tfc_prefetch_" + std::to_string(count), type);
  decl.setPrivate();
  decl->setAttr("tfc.prefetch", b.getUnitAttr());
  return decl;
}

LogicalResult applyPopulatedPatterns(Operation *root,
                                     function_ref<void(RewritePatternSet &)> populate) {
  RewritePatternSet patterns(root->getContext());
  populate(patterns);
  return applyPatternsAndFoldGreedily(root, std::move(patterns));
}

} // namespace tfc
