//===- LastTokenLogits.cpp - A decoder variant for the last token's logits --===//
//
// Generation needs the logits of the last token only; the output head is often
// the largest product of a decode or prefill step. @decoder_last is @decoder
// whose final linear layer reads only the last row (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNLASTTOKENLOGITS
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

/// The output head: the linear layer whose result the decoder returns,
/// directly or gathered over ranks (tfc-attn-tensor-parallel), the gather's
/// padding sliced off when the ranks do not divide the vocabulary.
LinearOp headOf(func::ReturnOp ret) {
  if (!ret.getNumOperands())
    return {};
  Value result = ret.getOperand(0);
  if (auto slice = result.getDefiningOp<SliceLastOp>())
    result = slice.getInput();
  if (auto gather = result.getDefiningOp<AllGatherOp>())
    result = gather.getInput();
  return result.getDefiningOp<LinearOp>();
}

struct AttnLastTokenLogitsPass
    : tfc::attn::impl::AttnLastTokenLogitsBase<AttnLastTokenLogitsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto decoder = module.lookupSymbol<func::FuncOp>("decoder");
    if (!decoder || decoder.isExternal() || module.lookupSymbol("decoder_last"))
      return;
    auto ret = cast<func::ReturnOp>(decoder.getBody().front().getTerminator());
    if (!headOf(ret))
      return; // nothing to save: the result is not a linear layer

    OpBuilder b(decoder);
    b.setInsertionPointAfter(decoder);
    auto last = cast<func::FuncOp>(b.clone(*decoder));
    last.setSymName("decoder_last");
    auto lastRet = cast<func::ReturnOp>(last.getBody().front().getTerminator());
    LinearOp lastHead = headOf(lastRet);
    auto unpad = lastRet.getOperand(0).getDefiningOp<SliceLastOp>();
    auto gather = (unpad ? unpad.getInput() : lastRet.getOperand(0)).getDefiningOp<AllGatherOp>();

    // %x[n - 1 : n, :] feeds the output head.
    b.setInsertionPoint(lastHead);
    Location loc = lastHead.getLoc();
    Value x = lastHead.getInput();
    int64_t width = cast<RankedTensorType>(x.getType()).getDimSize(1);
    Value n = b.create<tensor::DimOp>(loc, x, 0);
    Value row = b.create<arith::SubIOp>(loc, n, tfc::indexConst(b, loc, 1));
    auto rowType = RankedTensorType::get({1, width}, b.getF32Type());
    Value lastRow = b.create<tensor::ExtractSliceOp>(
        loc, rowType, x, ArrayRef<OpFoldResult>{row, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(width)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    int64_t out = cast<RankedTensorType>(lastHead.getType()).getDimSize(1);
    auto logitsType = RankedTensorType::get({1, out}, b.getF32Type());
    Value logits = b.create<LinearOp>(loc, logitsType, lastRow, lastHead.getWeight(),
                                      lastHead.getBias(), lastHead.getWeightInOutAttr());
    if (gather) {
      // A vocabulary-parallel head: gather the last row's logits of every rank.
      int64_t full = cast<RankedTensorType>(gather.getType()).getDimSize(1);
      logits = b.create<AllGatherOp>(loc, RankedTensorType::get({1, full}, b.getF32Type()),
                                     logits, gather.getRanksAttr());
    }
    if (unpad) {
      int64_t vocab = cast<RankedTensorType>(unpad.getType()).getDimSize(1);
      logits = b.create<SliceLastOp>(loc, RankedTensorType::get({1, vocab}, b.getF32Type()),
                                     logits, unpad.getOffsetAttr());
    }
    lastRet->setOperand(0, logits);
    if (unpad)
      unpad.erase();
    if (gather)
      gather.erase();
    lastHead.erase();
    last.setType(b.getFunctionType(last.getArgumentTypes(), lastRet.getOperandTypes()));
  }
};

} // namespace
