//===- CacheAndLatentToLinalg.cpp - KV cache and latent products to linalg -===//
//
// The ops the attn passes introduce: cache writes and views become tensor
// insert/extract slices (in place on the cache buffer after bufferization, as
// the cache is a writable function argument), and the per-head products of the
// latent-attention pass become linalg batch matmuls. A rolling cache (sliding
// window) is a ring of S slots: a run of consecutive positions occupies at most
// two contiguous slot ranges (up to the end of the ring, then from slot 0), so
// each of its reads and writes is two slices.
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

/// Index arithmetic of the ring lowerings.
struct IndexMath {
  OpBuilder &b;
  Location loc;
  Value add(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubIOp>(loc, x, y); }
  Value min(Value x, Value y) { return b.create<arith::MinSIOp>(loc, x, y); }
  Value rem(Value x, Value y) { return b.create<arith::RemSIOp>(loc, x, y); }
  Value c(int64_t v) { return tfc::indexConst(b, loc, v); }
};

/// The two contiguous slot ranges of `count` consecutive positions starting at
/// position `first` in a ring of `slots` slots (count <= slots): `count0`
/// slots from `slot0`, then `count - count0` from slot 0.
struct RingRanges {
  Value slot0, count0, count1;
  RingRanges(IndexMath &m, Value first, Value count, int64_t slots) {
    slot0 = m.rem(first, m.c(slots));
    count0 = m.min(count, m.sub(m.c(slots), slot0));
    count1 = m.sub(count, count0);
  }
};

/// [layer, 0, slot, 0] [1, H, count, d] of a cache [L, H, S, d].
SmallVector<OpFoldResult> cacheOffsets(Value layer, OpFoldResult slot, OpBuilder &b) {
  return {layer, b.getIndexAttr(0), slot, b.getIndexAttr(0)};
}
SmallVector<OpFoldResult> cacheSizes(RankedTensorType cache, OpFoldResult count, OpBuilder &b) {
  return {b.getIndexAttr(1), b.getIndexAttr(cache.getDimSize(1)), count,
          b.getIndexAttr(cache.getDimSize(3))};
}
/// [0, row, 0] [H, count, d] of a [H, n, d] tensor.
SmallVector<OpFoldResult> rowOffsets(OpFoldResult row, OpBuilder &b) {
  return {b.getIndexAttr(0), row, b.getIndexAttr(0)};
}
SmallVector<OpFoldResult> rowSizes(RankedTensorType cache, OpFoldResult count, OpBuilder &b) {
  return {b.getIndexAttr(cache.getDimSize(1)), count, b.getIndexAttr(cache.getDimSize(3))};
}

// attn.ring_update %c[%l], %u at %p => the last k = min(n, S) rows of %u, at
// positions p + n - k .., written as two insert_slices into slots [(p + n - k) mod S, S) and [0, ..)
struct RingUpdateLowering : OpConversionPattern<RingUpdateOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(RingUpdateOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto cacheType = op.getCache().getType();
    const int64_t slots = cacheType.getDimSize(2);
    IndexMath m{rewriter, loc};
    Value update = adaptor.getUpdate();
    Value n = rewriter.create<tensor::DimOp>(loc, update, 1);
    Value kept = m.min(n, m.c(slots));
    Value skipped = m.sub(n, kept);
    RingRanges ranges(m, m.add(adaptor.getPos(), skipped), kept, slots);
    SmallVector<OpFoldResult> strides3(3, rewriter.getIndexAttr(1)),
        strides4(4, rewriter.getIndexAttr(1));
    auto rowsType = RankedTensorType::get(
        {cacheType.getDimSize(1), ShapedType::kDynamic, cacheType.getDimSize(3)},
        cacheType.getElementType());
    Value cache = adaptor.getCache();
    Value rowStart = skipped;
    for (auto [slot, count] : {std::pair(ranges.slot0, ranges.count0),
                               std::pair(m.c(0), ranges.count1)}) {
      Value rows = rewriter.create<tensor::ExtractSliceOp>(
          loc, rowsType, update, rowOffsets(rowStart, rewriter), rowSizes(cacheType, count, rewriter),
          strides3);
      cache = rewriter.create<tensor::InsertSliceOp>(loc, rows, cache,
                                                     cacheOffsets(adaptor.getLayer(), slot, rewriter),
                                                     cacheSizes(cacheType, count, rewriter), strides4);
      rowStart = m.add(rowStart, count);
    }
    rewriter.replaceOp(op, cache);
    return success();
  }
};

// attn.ring_window %c[%l], %new at %p => tensor.empty [H, c + n, d] (c = min(p, S - 1))
// filled with the ring's slots of positions p - c .. p - 1 (two extract_slices) and %new
struct RingWindowLowering : OpConversionPattern<RingWindowOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(RingWindowOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto cacheType = op.getCache().getType();
    const int64_t slots = cacheType.getDimSize(2);
    IndexMath m{rewriter, loc};
    Value pos = adaptor.getPos(), fresh = adaptor.getNewRows();
    Value cached = m.min(pos, m.c(slots - 1));
    Value n = rewriter.create<tensor::DimOp>(loc, fresh, 1);
    RingRanges ranges(m, m.sub(pos, cached), cached, slots);
    SmallVector<OpFoldResult> strides3(3, rewriter.getIndexAttr(1)),
        strides4(4, rewriter.getIndexAttr(1));
    auto rowsType = RankedTensorType::get(
        {cacheType.getDimSize(1), ShapedType::kDynamic, cacheType.getDimSize(3)},
        cacheType.getElementType());
    Value result = tfc::emptyTensor(
        rewriter, loc,
        {rewriter.getIndexAttr(cacheType.getDimSize(1)), m.add(cached, n),
         rewriter.getIndexAttr(cacheType.getDimSize(3))});
    Value row = m.c(0);
    for (auto [slot, count] : {std::pair(ranges.slot0, ranges.count0),
                               std::pair(m.c(0), ranges.count1)}) {
      Value rows = rewriter.create<tensor::ExtractSliceOp>(
          loc, rowsType, adaptor.getCache(), cacheOffsets(adaptor.getLayer(), slot, rewriter),
          cacheSizes(cacheType, count, rewriter), strides4);
      result = rewriter.create<tensor::InsertSliceOp>(loc, rows, result, rowOffsets(row, rewriter),
                                                      rowSizes(cacheType, count, rewriter), strides3);
      row = m.add(row, count);
    }
    result = rewriter.create<tensor::InsertSliceOp>(loc, fresh, result, rowOffsets(cached, rewriter),
                                                    rowSizes(cacheType, n, rewriter), strides3);
    rewriter.replaceOp(op, tfc::castTo(rewriter, loc, result, op.getType()));
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
  patterns.add<CacheUpdateLowering, CacheViewLowering, RingUpdateLowering, RingWindowLowering,
               BatchMatmulLowering>(
      patterns.getContext());
}
