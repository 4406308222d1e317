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

#include <array>

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
  /// (first slot, count) of each range, in position order.
  std::array<std::pair<Value, Value>, 2> ranges(IndexMath &m) const {
    return {std::pair(slot0, count0), std::pair(m.c(0), count1)};
  }
};

/// Slices of a rolling cache [L, H, S, d] at one layer and of [H, n, d] row
/// tensors: `count` slots or rows from a dynamic start.
struct RingSlices {
  OpBuilder &b;
  Location loc;
  RankedTensorType cache;
  Value layer;

  RankedTensorType rowsType() const {
    return RankedTensorType::get({cache.getDimSize(1), ShapedType::kDynamic, cache.getDimSize(3)},
                                 cache.getElementType());
  }
  /// [layer, 0, slot, 0] [1, H, count, d] of the cache.
  SmallVector<OpFoldResult> slotOffsets(Value slot) const {
    return {layer, b.getIndexAttr(0), slot, b.getIndexAttr(0)};
  }
  SmallVector<OpFoldResult> slotSizes(Value count) const {
    return {b.getIndexAttr(1), b.getIndexAttr(cache.getDimSize(1)), count,
            b.getIndexAttr(cache.getDimSize(3))};
  }
  /// [0, row, 0] [H, count, d] of a row tensor.
  SmallVector<OpFoldResult> rowOffsets(Value row) const {
    return {b.getIndexAttr(0), row, b.getIndexAttr(0)};
  }
  SmallVector<OpFoldResult> rowSizes(Value count) const {
    return {b.getIndexAttr(cache.getDimSize(1)), count, b.getIndexAttr(cache.getDimSize(3))};
  }
  SmallVector<OpFoldResult> ones(int64_t rank) const {
    return SmallVector<OpFoldResult>(rank, b.getIndexAttr(1));
  }

  Value slotsOf(Value ring, Value slot, Value count) {
    return b.create<tensor::ExtractSliceOp>(loc, rowsType(), ring, slotOffsets(slot),
                                            slotSizes(count), ones(4));
  }
  Value intoSlots(Value rows, Value ring, Value slot, Value count) {
    return b.create<tensor::InsertSliceOp>(loc, rows, ring, slotOffsets(slot), slotSizes(count),
                                           ones(4));
  }
  Value rowsOf(Value t, Value row, Value count) {
    return b.create<tensor::ExtractSliceOp>(loc, rowsType(), t, rowOffsets(row), rowSizes(count),
                                            ones(3));
  }
  Value intoRows(Value rows, Value t, Value row, Value count) {
    return b.create<tensor::InsertSliceOp>(loc, rows, t, rowOffsets(row), rowSizes(count),
                                           ones(3));
  }
};

// attn.ring_update %c[%l], %u at %p => the last k = min(n, S) rows of %u, at
// positions p + n - k .., written as two insert_slices into slots [(p + n - k) mod S, S) and [0, ..)
struct RingUpdateLowering : OpConversionPattern<RingUpdateOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(RingUpdateOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    IndexMath m{rewriter, loc};
    RingSlices ring{rewriter, loc, op.getCache().getType(), adaptor.getLayer()};
    const int64_t slots = ring.cache.getDimSize(2);
    Value update = adaptor.getUpdate();
    Value n = rewriter.create<tensor::DimOp>(loc, update, 1);
    Value kept = m.min(n, m.c(slots));
    Value row = m.sub(n, kept);
    RingRanges ranges(m, m.add(adaptor.getPos(), row), kept, slots);
    Value cache = adaptor.getCache();
    for (auto [slot, count] : ranges.ranges(m)) {
      cache = ring.intoSlots(ring.rowsOf(update, row, count), cache, slot, count);
      row = m.add(row, count);
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
    IndexMath m{rewriter, loc};
    RingSlices ring{rewriter, loc, op.getCache().getType(), adaptor.getLayer()};
    const int64_t slots = ring.cache.getDimSize(2);
    Value pos = adaptor.getPos(), fresh = adaptor.getNewRows();
    Value cached = m.min(pos, m.c(slots - 1));
    Value n = rewriter.create<tensor::DimOp>(loc, fresh, 1);
    RingRanges ranges(m, m.sub(pos, cached), cached, slots);
    Value result = tfc::emptyTensor(rewriter, loc, ring.rowSizes(m.add(cached, n)));
    Value row = m.c(0);
    for (auto [slot, count] : ranges.ranges(m)) {
      result = ring.intoRows(ring.slotsOf(adaptor.getCache(), slot, count), result, row, count);
      row = m.add(row, count);
    }
    result = ring.intoRows(fresh, result, cached, n);
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
