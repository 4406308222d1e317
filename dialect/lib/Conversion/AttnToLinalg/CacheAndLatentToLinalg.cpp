//===- CacheAndLatentToLinalg.cpp - KV cache and latent products to linalg -===//
//
// The ops the attn passes introduce: cache writes and views become tensor
// insert/extract slices (in place on the cache buffer after bufferization, as
// the cache is a writable function argument), and the per-head products of the
// latent-attention pass become linalg batch matmuls.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace tfc::attn;

namespace {

// attn.cache_update %c[%l], %u at %p => tensor.insert_slice %u into %c[%l, 0, %p, 0] [1, H, n, d]
struct CacheUpdateLowering : OpConversionPattern<CacheUpdateOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(CacheUpdateOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto cache = op.getCache().getType();
    Value update = adaptor.getUpdate();
    SmallVector<OpFoldResult> offsets = {adaptor.getLayer(), rewriter.getIndexAttr(0),
                                         adaptor.getPos(), rewriter.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1),
                                       rewriter.getIndexAttr(cache.getDimSize(1)),
                                       tensor::getMixedSize(rewriter, loc, update, 1),
                                       rewriter.getIndexAttr(cache.getDimSize(3))};
    SmallVector<OpFoldResult> strides(4, rewriter.getIndexAttr(1));
    rewriter.replaceOpWithNewOp<tensor::InsertSliceOp>(op, update, adaptor.getCache(), offsets,
                                                       sizes, strides);
    return success();
  }
};

// attn.cache_view %c[%l] upto %len => tensor.extract_slice %c[%l, 0, 0, 0] [1, H, %len, d] (rank-reduced)
struct CacheViewLowering : OpConversionPattern<CacheViewOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(CacheViewOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto cache = op.getCache().getType();
    SmallVector<OpFoldResult> offsets = {adaptor.getLayer(), rewriter.getIndexAttr(0),
                                         rewriter.getIndexAttr(0), rewriter.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1),
                                       rewriter.getIndexAttr(cache.getDimSize(1)),
                                       adaptor.getLength(),
                                       rewriter.getIndexAttr(cache.getDimSize(3))};
    SmallVector<OpFoldResult> strides(4, rewriter.getIndexAttr(1));
    rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, op.getType(), adaptor.getCache(),
                                                        offsets, sizes, strides);
    return success();
  }
};

// attn.batch_matmul => linalg.batch_matmul (or linalg.batch_matmul_transpose_b) into zeros
struct BatchMatmulLowering : OpConversionPattern<BatchMatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(BatchMatmulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    SmallVector<OpFoldResult> sizes = tfc::sizesOf(rewriter, loc, lhs, {0, 1});
    sizes.push_back(tensor::getMixedSize(rewriter, loc, rhs, op.getTransposeRhs() ? 1 : 2));
    Value init = tfc::filledTensor(rewriter, loc, sizes, 0.0f);
    Value result;
    if (op.getTransposeRhs())
      result = rewriter.create<linalg::BatchMatmulTransposeBOp>(loc, init.getType(),
                                                                 ValueRange{lhs, rhs}, init)
                   .getResult(0);
    else
      result = rewriter.create<linalg::BatchMatmulOp>(loc, init.getType(), ValueRange{lhs, rhs},
                                                      init)
                   .getResult(0);
    rewriter.replaceOp(op, tfc::castTo(rewriter, loc, result, op.getType()));
    return success();
  }
};

} // namespace

void tfc::populateAttnCacheAndLatentToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<CacheUpdateLowering, CacheViewLowering, BatchMatmulLowering>(
      patterns.getContext());
}
