//===- QuantizedMatmul.cpp - Linear layers on ggml Q8_0 weights -----------===//
//
// The generic that stands for a product with Q8_0 weights (see the header):
// built in one place and recognized in one place, so the passes that build,
// fuse and vectorize it agree on its operands.
//
//===----------------------------------------------------------------------===//

#include "tfc/Utils/QuantizedMatmul.h"

#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace tfc {

SmallVector<int64_t> q8_0StoredShape(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> stored(shape.drop_back());
  stored.append({shape.back() / kQ8_0Block, kQ8_0BlockBytes});
  return stored;
}

Value buildQ8_0Matmul(OpBuilder &b, Location loc, Value a, Value wq, Value init) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType aType = tensorType(a);
  int64_t blocks = tensorType(wq).getDimSize(1);
  // [m, k] -> [m, k/32, 32]: the lanes of a block become a loop of their own,
  // so that every index of the generic is a plain loop or a constant.
  auto a3Type = RankedTensorType::get({aType.getDimSize(0), blocks, kQ8_0Block}, b.getF32Type());
  SmallVector<OpFoldResult> a3Sizes{knownSize(b, loc, a, 0), b.getIndexAttr(blocks),
                                    b.getIndexAttr(kQ8_0Block)};
  Value a3 = b.create<tensor::ExpandShapeOp>(loc, a3Type, a, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
                                             a3Sizes);
  // Loops (m, n, b, j).
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             blk = getAffineDimExpr(2, ctx), j = getAffineDimExpr(3, ctx);
  auto map = [&](ArrayRef<AffineExpr> results) { return AffineMap::get(4, 0, results, ctx); };
  SmallVector<AffineMap> maps{map({m, blk, j}), map({n, blk, j + 2}),
                              map({n, blk, getAffineConstantExpr(0, ctx)}),
                              map({n, blk, getAffineConstantExpr(1, ctx)}), map({m, n})};
  Value product = generic(
      b, loc, ValueRange{a3, wq, wq, wq}, init, maps, iterators(2, 2),
      [](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Type i16 = nb.getI16Type(), f32 = nb.getF32Type();
        Value lo = nb.create<arith::ExtUIOp>(l, i16, args[2]);
        Value hi = nb.create<arith::ExtUIOp>(l, i16, args[3]);
        Value eight = nb.create<arith::ConstantOp>(l, nb.getI16IntegerAttr(8));
        Value bits = nb.create<arith::OrIOp>(l, lo, nb.create<arith::ShLIOp>(l, hi, eight));
        Value scale = nb.create<arith::ExtFOp>(
            l, f32, nb.create<arith::BitcastOp>(l, nb.getF16Type(), bits).getResult());
        Value w = nb.create<arith::MulFOp>(l, nb.create<arith::SIToFPOp>(l, f32, args[1]), scale);
        return nb.create<arith::AddFOp>(l, args[4], nb.create<arith::MulFOp>(l, args[0], w));
      });
  product.getDefiningOp()->setAttr(kQ8_0MatmulAttr, b.getUnitAttr());
  return product;
}

// Inputs 2 and 3 (the scale bytes) are input 1 again as buildQ8_0Matmul made
// them; after bufferization they may be distinct values of the same buffer, so
// they are not compared.
bool isQ8_0Matmul(linalg::GenericOp op) {
  if (!op->hasAttr(kQ8_0MatmulAttr) || op.getNumDpsInputs() != 4 || op.getNumDpsInits() != 1)
    return false;
  auto shaped = [](Value v) { return dyn_cast<ShapedType>(v.getType()); };
  ShapedType a = shaped(op.getDpsInputs()[0]), w = shaped(op.getDpsInputs()[1]),
             c = shaped(op.getDpsInits()[0]);
  return a && w && c && a.getRank() == 3 && w.getRank() == 3 && c.getRank() == 2 &&
         a.getElementType().isF32() && w.getElementType().isInteger(8) &&
         c.getElementType().isF32() && a.getDimSize(2) == kQ8_0Block &&
         w.getDimSize(2) == kQ8_0BlockBytes && !ShapedType::isDynamic(w.getDimSize(0)) &&
         !ShapedType::isDynamic(w.getDimSize(1)) && a.getDimSize(1) == w.getDimSize(1);
}

} // namespace tfc
