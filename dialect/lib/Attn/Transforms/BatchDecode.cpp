//===- BatchDecode.cpp - One decoder step over several sessions -------------===//
//
// Decoding is bound by reading the weights: a step of one token reads every
// weight once for one row of work. @decoder_batch runs the new tokens of several
// sessions in one call, so that every linear layer is one product over all of
// the call's rows and reads its weight once. Only what depends on a session's
// state is done per session ("segment", consecutive rows of the call): the
// position-dependent ops (RoPE, learned and sinusoidal positions) and attention,
// which writes and reads that session's own KV caches.
//
// The pass works on the stateful @decoder that tfc-attn-kv-cache made, and
// clones it; @decoder itself is unchanged. In the clone:
//
//  * `%pos` gives way to a segment table `tensor<?x3xi64>` (first row, rows,
//    position of each segment);
//  * each cache argument `tensor<L x H x S x D>` becomes a pool `tensor<?xT>`
//    (T its element type: f32, or the storage of a narrow --kv-type)
//    (same place in the argument and result lists) plus one table
//    `tensor<? x C x i64>` for all caches: segment s's buffer of cache j is the
//    L*H*S*D elements at offset [s][j] of pool j. The runtime passes each
//    session's own buffer that way without copying it;
//  * every op that reads `%pos` runs in a loop over the segments, on the rows of
//    its segment, at the segment's position; attention likewise, over a
//    [1, H, S, D] view of the segment's cache layer (the same cache_update and
//    cache_view as @decoder's, so the cache layout is the same).
//
// Segment loops carry the pools and write them back with insert_slice at the
// slice they read, which bufferization keeps in place. A decoder the pass cannot
// batch (an encoder memory, a use of the position it does not know) gets no
// @decoder_batch, and the runtime then runs the sessions one by one.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/RegionUtils.h"

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNBATCHDECODE
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

/// Columns of the segment table.
enum SegmentColumn { kFirstRow = 0, kRows = 1, kPosition = 2, kSegmentColumns = 3 };

/// One segment inside a segment loop, as index values.
struct Segment {
  Value index, firstRow, rows, pos;
};

/// Row `row`, column `column` of an i64 table, as an index.
Value tableEntry(OpBuilder &b, Location loc, Value table, Value row, int64_t column) {
  Value v = b.create<tensor::ExtractOp>(loc, table,
                                        ValueRange{row, tfc::indexConst(b, loc, column)});
  return b.create<arith::IndexCastOp>(loc, b.getIndexType(), v);
}

/// The rows [first, first + rows) of `t` along `dim`, all of the other dims.
Value sliceRows(OpBuilder &b, Location loc, Value t, int64_t dim, Value first, Value rows) {
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, t);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  offsets[dim] = first;
  sizes[dim] = rows;
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = ShapedType::kDynamic;
  return b.create<tensor::ExtractSliceOp>(
      loc, RankedTensorType::get(shape, type.getElementType()), t, offsets, sizes, strides);
}

/// `part` written into `into` at rows [first, ...) along `dim`.
Value insertRows(OpBuilder &b, Location loc, Value part, Value into, int64_t dim, Value first) {
  int64_t rank = cast<RankedTensorType>(part.getType()).getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  offsets[dim] = first;
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  return b.create<tensor::InsertSliceOp>(loc, part, into, offsets,
                                         tensor::getMixedSizes(b, loc, part), strides);
}

/// An empty tensor of `type` whose dynamic dims (the row dim) are `rows`.
Value emptyWithRows(OpBuilder &b, Location loc, RankedTensorType type, Value rows) {
  SmallVector<Value> dynamic(type.getNumDynamicDims(), rows);
  return b.create<tensor::EmptyOp>(loc, type, dynamic);
}

struct AttnBatchDecodePass : tfc::attn::impl::AttnBatchDecodeBase<AttnBatchDecodePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto decoder = module.lookupSymbol<func::FuncOp>("decoder");
    if (!decoder || decoder.isExternal() || !decoder->hasAttr(AttnDialect::kStatefulAttrName) ||
        module.lookupSymbol("decoder_batch") || !batchable(decoder))
      return;
    OpBuilder b(decoder);
    b.setInsertionPointAfter(decoder);
    auto batch = cast<func::FuncOp>(b.clone(*decoder));
    batch.setSymName("decoder_batch");
    if (failed(rewrite(batch)))
      batch.erase(); // the runtime then decodes the sessions one by one
  }

  /// @decoder(%tokens, %pos, caches...): no encoder memory.
  static bool batchable(func::FuncOp decoder) {
    Block &entry = decoder.getBody().front();
    if (entry.getNumArguments() < 2 || !entry.getArgument(1).getType().isIndex())
      return false;
    return llvm::all_of(entry.getArguments().drop_front(2), [](BlockArgument a) {
      auto t = dyn_cast<RankedTensorType>(a.getType());
      return t && t.getRank() == 4 && t.hasStaticShape();
    });
  }

  // The state of one rewrite.
  Value tokens_, segments_, offsets_;
  /// The cache (or pool) values of cache j: its argument and the layer loop's
  /// iteration argument carrying it.
  llvm::DenseMap<Value, int64_t> cacheIndex_;

  /// A loop over the segments before the current insertion point of `b`,
  /// carrying `inits`; `body` returns the values to yield.
  scf::ForOp forEachSegment(
      OpBuilder &b, Location loc, ValueRange inits,
      function_ref<SmallVector<Value>(OpBuilder &, const Segment &, ValueRange)> body) {
    Value zero = tfc::indexConst(b, loc, 0), one = tfc::indexConst(b, loc, 1);
    Value count = b.create<tensor::DimOp>(loc, segments_, 0);
    Value total = b.create<tensor::DimOp>(loc, tokens_, 0);
    return b.create<scf::ForOp>(
        loc, zero, count, one, inits, [&](OpBuilder &lb, Location l, Value s, ValueRange iters) {
          // A segment has at most all the rows of the call (the runtime's
          // tables say so); the minimum tells tfc-plan-activations, which
          // then reserves the segment's temporaries in the arena at that bound.
          Value rows = lb.create<arith::MinSIOp>(l, tableEntry(lb, l, segments_, s, kRows), total);
          Segment seg{s, tableEntry(lb, l, segments_, s, kFirstRow), rows,
                      tableEntry(lb, l, segments_, s, kPosition)};
          lb.create<scf::YieldOp>(l, body(lb, seg, iters));
        });
  }

  LogicalResult rewrite(func::FuncOp func) {
    Block &entry = func.getBody().front();
    MLIRContext *ctx = func.getContext();
    Location loc = func.getLoc();
    OpBuilder b(ctx);
    tokens_ = entry.getArgument(0);
    Value pos = entry.getArgument(1);
    auto i64 = b.getI64Type();
    int64_t caches = entry.getNumArguments() - 2;
    segments_ = entry.addArgument(RankedTensorType::get({ShapedType::kDynamic, kSegmentColumns}, i64), loc);
    offsets_ = entry.addArgument(RankedTensorType::get({ShapedType::kDynamic, caches}, i64), loc);

    // Caches become pools, through the layer loop that carries them.
    for (int64_t j = 0; j < caches; ++j) {
      BlockArgument cache = entry.getArgument(2 + j);
      // Of the cache's element type (f32, or a narrow --kv-type's storage).
      auto poolType = RankedTensorType::get(
          {ShapedType::kDynamic}, cast<RankedTensorType>(cache.getType()).getElementType());
      cache.setType(poolType);
      cacheIndex_[cache] = j;
      for (OpOperand &use : cache.getUses()) {
        auto loop = dyn_cast<scf::ForOp>(use.getOwner());
        if (!loop)
          continue;
        int64_t k = use.getOperandNumber() - loop.getNumControlOperands();
        loop.getRegionIterArgs()[k].setType(poolType);
        loop.getResult(k).setType(poolType);
        cacheIndex_[loop.getRegionIterArgs()[k]] = j;
      }
    }

    SmallVector<SDPAOp> sites;
    func.walk([&](SDPAOp op) { sites.push_back(op); });
    for (SDPAOp site : sites)
      if (failed(batchAttention(b, site)))
        return failure();
    SmallVector<Operation *> positioned;
    for (Operation *user : pos.getUsers())
      if (isa<RopeOp, PositionEmbeddingOp, SinusoidalOp>(user))
        positioned.push_back(user);
    for (Operation *op : positioned)
      perSegment(b, op, pos);

    // What read the position for attention (its cache length) is dead now.
    IRRewriter rewriter(ctx);
    (void)runRegionDCE(rewriter, func.getBody());
    if (!pos.use_empty())
      return failure();
    entry.eraseArgument(1);
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    func.setType(b.getFunctionType(entry.getArgumentTypes(), ret.getOperandTypes()));
    func.removeArgAttrsAttr();
    func.removeResAttrsAttr();
    auto name = [&](StringRef kind) { return b.getStringAttr(kind); };
    for (int64_t j = 0; j < caches; ++j)
      func.setArgAttr(1 + j, AttnDialect::kBatchArgAttrName, name("cache_pool"));
    func.setArgAttr(1 + caches, AttnDialect::kBatchArgAttrName, name("segments"));
    func.setArgAttr(2 + caches, AttnDialect::kBatchArgAttrName, name("cache_offsets"));
    return success();
  }

  /// Runs `op` (whose `offset` is the position) once per segment on the
  /// segment's rows at the segment's position: RoPE on [heads, n, d], learned
  /// and sinusoidal positions on the token ids.
  void perSegment(OpBuilder &b, Operation *op, Value pos) {
    b.setInsertionPoint(op);
    Location loc = op->getLoc();
    bool rope = isa<RopeOp>(op);
    Value rowInput = rope                                   ? cast<RopeOp>(op).getInput()
                     : isa<PositionEmbeddingOp>(op) ? cast<PositionEmbeddingOp>(op).getTokens()
                                                    : cast<SinusoidalOp>(op).getTokens();
    int64_t inputDim = rope ? 1 : 0, resultDim = rope ? 1 : 0;
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    Value rows = b.create<tensor::DimOp>(loc, rowInput, inputDim);
    Value init = emptyWithRows(b, loc, type, rows);
    scf::ForOp loop = forEachSegment(
        b, loc, init, [&](OpBuilder &lb, const Segment &seg, ValueRange iters) {
          IRMapping map;
          map.map(pos, seg.pos);
          map.map(rowInput, sliceRows(lb, loc, rowInput, inputDim, seg.firstRow, seg.rows));
          Operation *part = lb.clone(*op, map);
          return SmallVector<Value>{
              insertRows(lb, loc, part->getResult(0), iters[0], resultDim, seg.firstRow)};
        });
    op->getResult(0).replaceAllUsesWith(loop.getResult(0));
    op->erase();
  }

  /// The cache_update behind a cache_view, or null.
  static CacheUpdateOp updateOf(CacheViewOp view) {
    return view ? view.getCache().getDefiningOp<CacheUpdateOp>() : CacheUpdateOp();
  }

  /// Attention over the caches, once per segment: `site`'s keys and values
  /// are cache views (possibly through slice_last, as latent attention reads
  /// its values off the cached keys).
  LogicalResult batchAttention(OpBuilder &b, SDPAOp site) {
    // The chain from each cache view to the operand it feeds.
    SmallVector<Operation *> chain;
    SmallVector<CacheViewOp> views;
    for (Value operand : {site.getKey(), site.getValue()}) {
      Operation *def = operand.getDefiningOp();
      SmallVector<Operation *> steps;
      while (isa_and_nonnull<SliceLastOp, RepeatKVOp, KVDequantOp>(def)) {
        steps.push_back(def);
        def = def->getOperand(0).getDefiningOp();
      }
      auto view = dyn_cast_or_null<CacheViewOp>(def);
      CacheUpdateOp update = updateOf(view);
      // Attention over anything else (bidirectional self-attention) would mix
      // the sessions: no @decoder_batch, which is not an error.
      if (!update || !cacheIndex_.count(update.getCache()))
        return failure();
      if (!llvm::is_contained(views, view))
        views.push_back(view);
      chain.append(steps.rbegin(), steps.rend());
    }

    b.setInsertionPoint(site);
    Location loc = site.getLoc();
    auto resultType = cast<RankedTensorType>(site.getType());
    Value rows = b.create<tensor::DimOp>(loc, site.getQuery(), 1);
    SmallVector<Value> inits = {emptyWithRows(b, loc, resultType, rows)};
    for (CacheViewOp view : views)
      inits.push_back(updateOf(view).getCache());

    scf::ForOp loop = forEachSegment(
        b, loc, inits, [&](OpBuilder &lb, const Segment &seg, ValueRange iters) {
          IRMapping map;
          map.map(site.getQuery(), sliceRows(lb, loc, site.getQuery(), 1, seg.firstRow, seg.rows));
          SmallVector<SegmentCache> written;
          for (auto [k, view] : llvm::enumerate(views)) {
            written.push_back(segmentCache(lb, loc, seg, view, iters[1 + k]));
            map.map(view.getResult(), written.back().view);
          }
          for (Operation *step : chain)
            if (!map.contains(step->getResult(0)))
              lb.clone(*step, map);
          Value out = lb.clone(*site, map)->getResult(0);
          SmallVector<Value> yields = {insertRows(lb, loc, out, iters[0], 1, seg.firstRow)};
          // Back into the pools after the last read of the layers: nothing
          // reads a layer once its pool is written, so bufferization writes
          // the layer in place and the write-back is no copy.
          for (auto [k, cache] : llvm::enumerate(written))
            yields.push_back(writeBack(lb, loc, cache, iters[1 + k]));
          return yields;
        });
    site.getResult().replaceAllUsesWith(loop.getResult(0));
    site.erase();
    for (auto [k, view] : llvm::enumerate(views)) {
      CacheUpdateOp update = updateOf(view);
      update.getResult().replaceUsesWithIf(loop.getResult(1 + k), [&](OpOperand &use) {
        return !isa<CacheViewOp>(use.getOwner());
      });
    }
    return success();
  }

  /// A layer of a segment's cache, as segmentCache wrote it.
  struct SegmentCache {
    Value view;    // positions [0, pos + rows) of the layer, for attention
    Value written; // the layer, [1, H, S, D]
    Value offset;  // where the layer is in the pool
  };

  /// Writes the segment's rows of the keys (or values) `view` attends over
  /// into layer `layer` of the segment's cache, read from `pool`.
  SegmentCache segmentCache(OpBuilder &b, Location loc, const Segment &seg, CacheViewOp view,
                            Value pool) {
    CacheUpdateOp update = updateOf(view);
    auto cacheType = cast<RankedTensorType>(update.getType()); // [L, H, S, D]
    ArrayRef<int64_t> shape = cacheType.getShape();
    int64_t layerElements = shape[1] * shape[2] * shape[3];
    Value base = tableEntry(b, loc, offsets_, seg.index, cacheIndex_.lookup(update.getCache()));
    Value layerOffset = b.create<arith::MulIOp>(loc, update.getLayer(),
                                                tfc::indexConst(b, loc, layerElements));
    Value offset = b.create<arith::AddIOp>(loc, base, layerOffset);
    auto flatType = RankedTensorType::get({layerElements}, cacheType.getElementType());
    auto layerType =
        RankedTensorType::get({1, shape[1], shape[2], shape[3]}, cacheType.getElementType());
    OpFoldResult one = b.getIndexAttr(1), size = b.getIndexAttr(layerElements);
    Value flat = b.create<tensor::ExtractSliceOp>(loc, flatType, pool, OpFoldResult(offset),
                                                  size, one);
    SmallVector<ReassociationIndices> all = {{0, 1, 2, 3}};
    Value layer = b.create<tensor::ExpandShapeOp>(loc, layerType, flat, all);
    Value zero = tfc::indexConst(b, loc, 0);
    Value rows = sliceRows(b, loc, update.getUpdate(), 1, seg.firstRow, seg.rows);
    Value written = b.create<CacheUpdateOp>(loc, layerType, layer, rows, zero, seg.pos);
    // At most the cache's positions (the runtime's capacity check), which
    // bounds the attention's temporaries for tfc-plan-activations.
    Value length = b.create<arith::MinSIOp>(loc, b.create<arith::AddIOp>(loc, seg.pos, seg.rows),
                                            tfc::indexConst(b, loc, shape[2]));
    Value newView = b.create<CacheViewOp>(loc, view.getType(), written, zero, length);
    return {newView, written, offset};
  }

  /// `pool` with the layer of `cache` written back where it was read.
  static Value writeBack(OpBuilder &b, Location loc, const SegmentCache &cache, Value pool) {
    auto layerType = cast<RankedTensorType>(cache.written.getType());
    auto flatType =
        RankedTensorType::get({layerType.getNumElements()}, layerType.getElementType());
    SmallVector<ReassociationIndices> all = {{0, 1, 2, 3}};
    Value flat = b.create<tensor::CollapseShapeOp>(loc, flatType, cache.written, all);
    return b.create<tensor::InsertSliceOp>(
        loc, flat, pool, ArrayRef<OpFoldResult>{cache.offset},
        ArrayRef<OpFoldResult>{b.getIndexAttr(layerType.getNumElements())},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  }
};

} // namespace
