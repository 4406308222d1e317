//===- CacheAndLatentToLinalg.cpp - KV cache and latent products to linalg -===//
//
// The ops the attn passes introduce: cache writes and views become tensor
// insert/extract slices (in place on the cache buffer after bufferization, as
// the cache is a writable function argument), and the per-head products of the
// latent-attention pass become linalg batch matmuls. The conversions of a
// narrow cache (attn.kv_quant, attn.kv_dequant) are elementwise generics over
// the rows, Q8_0 blocks seen as [..., blocks, 34] bytes: the f16 scale's two
// bytes and the 32 int8 are slices of that view, so no generic needs a gather.
// A rolling cache (sliding
// window) is a ring of S slots: a run of consecutive positions occupies at most
// two contiguous slot ranges (up to the end of the ring, then from slot 0), so
// each of its reads and writes is two slices.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Math/IR/Math.h"
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

/// Views of [H, n, W] Q8_0 rows as [H, n, blocks, 34] bytes and of [H, n, d]
/// values as [H, n, blocks, 32].
struct Q8Rows {
  OpBuilder &b;
  Location loc;
  int64_t heads, blocks;
  OpFoldResult rows;

  Q8Rows(OpBuilder &b, Location loc, Value anyRows, int64_t width)
      : b(b), loc(loc), heads(tfc::tensorType(anyRows).getDimSize(0)),
        blocks(width / kKVQ8Block), rows(tensor::getMixedSize(b, loc, anyRows, 1)) {}

  /// [H, n, c] as [H, n, blocks, c / blocks].
  Value blocked(Value t) {
    auto type = tfc::tensorType(t);
    int64_t inner = type.getDimSize(2) / blocks;
    auto blockedType = RankedTensorType::get({heads, ShapedType::kDynamic, blocks, inner},
                                             type.getElementType());
    return b.create<tensor::ExpandShapeOp>(
        loc, blockedType, t, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}},
        ArrayRef<OpFoldResult>{b.getIndexAttr(heads), rows, b.getIndexAttr(blocks),
                               b.getIndexAttr(inner)});
  }
  Value flat(Value t) {
    return b.create<tensor::CollapseShapeOp>(loc, t,
                                             ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  }
  SmallVector<OpFoldResult> offsets(int64_t byte) {
    return {b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(byte)};
  }
  SmallVector<OpFoldResult> sizes(int64_t count) {
    return {b.getIndexAttr(heads), rows, b.getIndexAttr(blocks), b.getIndexAttr(count)};
  }
  SmallVector<OpFoldResult> ones() { return SmallVector<OpFoldResult>(4, b.getIndexAttr(1)); }
  RankedTensorType perBlock(Type element) {
    return RankedTensorType::get({heads, ShapedType::kDynamic, blocks}, element);
  }
  /// Byte `byte` of every block, [H, n, blocks].
  Value byteOf(Value blockedBytes, int64_t byte) {
    return b.create<tensor::ExtractSliceOp>(loc, perBlock(b.getI8Type()), blockedBytes,
                                            offsets(byte), sizes(1), ones());
  }
  /// The 32 int8 of every block, [H, n, blocks, 32].
  Value quantsOf(Value blockedBytes) {
    return b.create<tensor::ExtractSliceOp>(loc, blockedBytes, offsets(2), sizes(kKVQ8Block),
                                            ones());
  }
};

/// f32 -> bf16 rounded to nearest even on the bits (a NaN stays a quiet NaN),
/// as the runtime's and numpy's references round; no libcall on any target.
Value roundToBF16(OpBuilder &b, Location loc, Value x) {
  Type i32 = b.getI32Type(), i16 = b.getI16Type();
  auto c32 = [&](int64_t v) { return b.create<arith::ConstantIntOp>(loc, v, i32); };
  Value bits = b.create<arith::BitcastOp>(loc, i32, x);
  Value lsb = b.create<arith::AndIOp>(loc, b.create<arith::ShRUIOp>(loc, bits, c32(16)), c32(1));
  Value rounded = b.create<arith::AddIOp>(loc, bits, b.create<arith::AddIOp>(loc, lsb, c32(0x7fff)));
  Value high = b.create<arith::TruncIOp>(loc, i16, b.create<arith::ShRUIOp>(loc, rounded, c32(16)));
  Value isNaN = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNO, x, x);
  Value quietNaN = b.create<arith::ConstantIntOp>(loc, 0x7fc0, i16);
  high = b.create<arith::SelectOp>(loc, isNaN, quietNaN, high);
  return b.create<arith::BitcastOp>(loc, b.getBF16Type(), high);
}

// attn.kv_quant (bf16) => linalg.generic round-to-nearest-even of every value
// attn.kv_quant (i8) => per block of 32: amax (a reduction generic), the int8
//   round(x / s) and the two bytes of f16(s) (elementwise generics), inserted
//   into [H, n, blocks, 34] and seen as [H, n, W]
struct KVQuantLowering : OpConversionPattern<KVQuantOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(KVQuantOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto &b = rewriter;
    MLIRContext *ctx = b.getContext();
    Value x = adaptor.getInput();
    auto type = op.getType();
    if (type.getElementType().isBF16()) {
      Value init = tfc::emptyTensor(b, loc, tfc::sizesOf(b, loc, x, {0, 1, 2}),
                                    b.getBF16Type());
      AffineMap id = b.getMultiDimIdentityMap(3);
      rewriter.replaceOp(op, tfc::generic(b, loc, x, init, {id, id}, tfc::iterators(3),
                                          [](OpBuilder &nb, Location l, ValueRange a) {
                                            return roundToBF16(nb, l, a[0]);
                                          }));
      return success();
    }
    const int64_t d = tfc::tensorType(x).getDimSize(2);
    Q8Rows q8(b, loc, x, d);
    Value values = q8.blocked(x); // [H, n, blocks, 32]
    AffineMap id4 = b.getMultiDimIdentityMap(4), id3 = b.getMultiDimIdentityMap(3);
    AffineMap blockOf = tfc::selectDims(ctx, 4, {0, 1, 2});
    SmallVector<OpFoldResult> blockSizes = {b.getIndexAttr(q8.heads), q8.rows,
                                            b.getIndexAttr(q8.blocks)};
    Value amax = tfc::generic(b, loc, values, tfc::filledTensor(b, loc, blockSizes, 0.0f),
                              {id4, blockOf}, tfc::iterators(3, 1),
                              [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                Value mag = nb.create<math::AbsFOp>(l, a[0]);
                                return nb.create<arith::MaximumFOp>(l, a[1], mag);
                              });
    // s = amax / 127; the quants use 1/s in f32, the stored scale is f16(s),
    // as quantize_row_q8_0_ref.
    auto scaleOf = [](OpBuilder &nb, Location l, Value amaxValue) -> Value {
      return nb.create<arith::DivFOp>(l, amaxValue, tfc::f32Const(nb, l, 127.0));
    };
    Value quants = tfc::generic(
        b, loc, ValueRange{values, amax},
        tfc::emptyTensor(b, loc, q8.sizes(kKVQ8Block), b.getI8Type()), {id4, blockOf, id4},
        tfc::iterators(4), [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value s = scaleOf(nb, l, a[1]);
          Value zero = tfc::f32Const(nb, l, 0.0);
          Value nonzero = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::ONE, s, zero);
          Value inverse = nb.create<arith::SelectOp>(
              l, nonzero, nb.create<arith::DivFOp>(l, tfc::f32Const(nb, l, 1.0), s), zero);
          Value r = nb.create<math::RoundOp>(l, nb.create<arith::MulFOp>(l, a[0], inverse));
          return nb.create<arith::FPToSIOp>(l, nb.getI8Type(), r);
        });
    auto scaleByte = [&](int64_t byte) {
      return tfc::generic(
          b, loc, amax, tfc::emptyTensor(b, loc, blockSizes, b.getI8Type()), {id3, id3},
          tfc::iterators(3), [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value half = nb.create<arith::TruncFOp>(l, nb.getF16Type(), scaleOf(nb, l, a[0]));
            Value bits = nb.create<arith::BitcastOp>(l, nb.getI16Type(), half);
            if (byte)
              bits = nb.create<arith::ShRUIOp>(
                  l, bits, nb.create<arith::ConstantIntOp>(l, 8, nb.getI16Type()));
            return nb.create<arith::TruncIOp>(l, nb.getI8Type(), bits);
          });
    };
    Value bytes = tfc::emptyTensor(b, loc, q8.sizes(kKVQ8BlockBytes), b.getI8Type());
    bytes = b.create<tensor::InsertSliceOp>(loc, quants, bytes, q8.offsets(2), q8.sizes(kKVQ8Block),
                                            q8.ones());
    for (int64_t byte : {0, 1})
      bytes = b.create<tensor::InsertSliceOp>(loc, scaleByte(byte), bytes, q8.offsets(byte),
                                              q8.sizes(1), q8.ones());
    rewriter.replaceOp(op, tfc::castTo(b, loc, q8.flat(bytes), type));
    return success();
  }
};

// attn.kv_dequant (bf16) => linalg.generic arith.extf
// attn.kv_dequant (i8) => linalg.generic over [H, n, blocks, 32]: int8 q times
//   the f16 scale assembled from the block's first two bytes
struct KVDequantLowering : OpConversionPattern<KVDequantOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(KVDequantOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto &b = rewriter;
    MLIRContext *ctx = b.getContext();
    Value stored = adaptor.getInput();
    auto type = op.getType();
    const int64_t d = type.getDimSize(2);
    if (tfc::tensorType(stored).getElementType().isBF16()) {
      Value init = tfc::emptyTensor(b, loc, tfc::sizesOf(b, loc, stored, {0, 1, 2}));
      AffineMap id = b.getMultiDimIdentityMap(3);
      Value wide = tfc::generic(b, loc, stored, init, {id, id}, tfc::iterators(3),
                                [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                  return nb.create<arith::ExtFOp>(l, nb.getF32Type(), a[0]);
                                });
      rewriter.replaceOp(op, tfc::castTo(b, loc, wide, type));
      return success();
    }
    Q8Rows q8(b, loc, stored, d);
    Value blockedBytes = q8.blocked(stored);
    AffineMap id4 = b.getMultiDimIdentityMap(4);
    AffineMap blockOf = tfc::selectDims(ctx, 4, {0, 1, 2});
    Value values = tfc::generic(
        b, loc, ValueRange{q8.quantsOf(blockedBytes), q8.byteOf(blockedBytes, 0),
                           q8.byteOf(blockedBytes, 1)},
        tfc::emptyTensor(b, loc, q8.sizes(kKVQ8Block)), {id4, blockOf, blockOf, id4},
        tfc::iterators(4), [](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Type i16 = nb.getI16Type();
          Value lo = nb.create<arith::ExtUIOp>(l, i16, a[1]);
          Value hi = nb.create<arith::ShLIOp>(l, nb.create<arith::ExtUIOp>(l, i16, a[2]),
                                              nb.create<arith::ConstantIntOp>(l, 8, i16));
          Value half = nb.create<arith::BitcastOp>(l, nb.getF16Type(),
                                                   nb.create<arith::OrIOp>(l, lo, hi));
          Value scale = nb.create<arith::ExtFOp>(l, nb.getF32Type(), half);
          Value q = nb.create<arith::SIToFPOp>(l, nb.getF32Type(), a[0]);
          return nb.create<arith::MulFOp>(l, q, scale);
        });
    rewriter.replaceOp(op, tfc::castTo(b, loc, q8.flat(values), type));
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
    Value result = tfc::emptyTensor(rewriter, loc, ring.rowSizes(m.add(cached, n)),
                                    ring.cache.getElementType());
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
               KVQuantLowering, KVDequantLowering, BatchMatmulLowering>(
      patterns.getContext());
}
