//===- SDPATiling.cpp - attn.sdpa into blocks of queries x tiles of keys --===//
//
// The second of the three stages of attention's lowering, as IREE splits it:
//
//  1. strategy (SDPAStrategy.cpp, tfc-attn-sdpa-strategy): chooses the block
//     and tile sizes and records them on the op (`tiling`);
//  2. tiling (this file, tfc-attn-tile-sdpa): the loops over blocks of queries
//     and tiles of keys, the data movement of a block (its queries gathered
//     query-major and scaled, the result normalized and written back), and one
//     attn.online_attention per key tile;
//  3. decomposition (OnlineAttentionToLinalg.cpp): attn.online_attention into
//     the online-softmax math (scores, running max, sum, rescaled accumulator).
//
// A new variant touches one stage: the sliding window changes the key range a
// block visits (here: the key loop's lower bound, next to its causal upper
// bound) and the mask (decomposition, one more condition); a paged or
// quantized cache changes how a key/value tile is read (here: the two slices
// of the key loop become a gather or a dequantization); a target-specific
// choice of tiles is a strategy. The math of a tile stays in the
// decomposition, the sizes in the strategy.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <algorithm>

namespace tfc {
#define GEN_PASS_DEF_ATTNTILESDPA
#include "tfc/Conversion/Passes.h.inc"
} // namespace tfc

using namespace mlir;
using namespace tfc;
using namespace tfc::attn;

/// The initial running max: finite, so that no exp(-inf - -inf) can appear
/// (the decomposition masks with the same value).
static constexpr float kMaskedScore = -1.0e30f;

tfc::SDPATiling tfc::sdpaTilingOf(SDPAOp op) {
  if (SDPATilingAttr attr = op.getTilingAttr())
    return SDPATiling{attr.getKeyTile(), attr.getQueryRows()};
  return SDPATiling{};
}

namespace {

/// The keys [j0, j0 + tile) of `x` ([kv, m, width]) as the tile's products
/// read them. Keys of a narrow KV cache (attn.kv_dequant of its stored rows,
/// possibly through the slice_last by which latent attention reads its values
/// off its keys) are sliced from the stored rows and converted a tile at a
/// time: a bf16 tile goes to the products as it is (the kernels widen it after
/// each load), a Q8_0 tile is dequantized into an f32 tile. No f32 copy of the
/// whole cache is made.
Value keyTileOf(OpBuilder &b, Location loc, Value x, Value j0, Value tile) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> ones3(3, one);
  auto sliceOf = [&](Value t, int64_t column, int64_t width) -> Value {
    OpFoldResult kvs = b.getIndexAttr(tensorType(t).getDimSize(0));
    return b.create<tensor::ExtractSliceOp>(
        loc, t, ArrayRef<OpFoldResult>{zero, j0, b.getIndexAttr(column)},
        ArrayRef<OpFoldResult>{kvs, tile, b.getIndexAttr(width)}, ones3);
  };
  int64_t column = 0, width = tensorType(x).getDimSize(2);
  Value source = x;
  if (auto slice = x.getDefiningOp<SliceLastOp>();
      slice && slice.getInput().getDefiningOp<KVDequantOp>()) {
    column = slice.getOffset();
    source = slice.getInput();
  }
  auto dequant = source.getDefiningOp<KVDequantOp>();
  if (!dequant)
    return sliceOf(x, 0, width);
  Value stored = dequant.getInput();
  auto storedType = tensorType(stored);
  if (storedType.getElementType().isBF16())
    return sliceOf(stored, column, width);
  Value storedTile = sliceOf(stored, 0, storedType.getDimSize(2));
  auto f32Type = RankedTensorType::get(
      {storedType.getDimSize(0), ShapedType::kDynamic, tensorType(source).getDimSize(2)},
      b.getF32Type());
  Value f32Tile = b.create<KVDequantOp>(loc, f32Type, storedTile);
  if (column == 0 && width == f32Type.getDimSize(2))
    return f32Tile;
  return b.create<tensor::ExtractSliceOp>(
      loc, f32Tile, ArrayRef<OpFoldResult>{zero, zero, b.getIndexAttr(column)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(f32Type.getDimSize(0)), tile, b.getIndexAttr(width)},
      ones3);
}

/// Whether `x` reads a Q8_0 cache (whose tiles are dequantized into f32).
bool readsQ8Cache(Value x) {
  if (auto slice = x.getDefiningOp<SliceLastOp>())
    x = slice.getInput();
  auto dequant = x.getDefiningOp<KVDequantOp>();
  return dequant && tensorType(dequant.getInput()).getElementType().isInteger(8);
}

// attn.sdpa {tiling = #attn.sdpa_tiling<query_rows = R, key_tile = K>} =>
//   scf.for over blocks of qb = min(max(1, R / G), n) queries (the last block
//   overlapping the one before), each gathered query-major and scaled
//   (row i*G + g is query i0 + i of head a*G + g)
//   { scf.for over key tiles (K keys, K * max(1, R / G) when qb = 1) up to
//     the block's last visible key, iter_args running max, sum, accumulator
//     { attn.online_attention (q_block, k_tile, v_tile, max, sum, acc) }
//     acc / sum into the block's queries of the [heads, n, dv] result }
struct TileSDPA : OpRewritePattern<SDPAOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SDPAOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    auto qType = tensorType(q);
    int64_t nStatic = qType.getDimSize(1), d = qType.getDimSize(2);
    int64_t dv = tensorType(v).getDimSize(2);
    if (ShapedType::isDynamic(d) || ShapedType::isDynamic(dv))
      return rewriter.notifyMatchFailure(op, "needs static head widths");
    const SDPATiling tiling = sdpaTilingOf(op);
    if (!tiling.valid())
      return rewriter.notifyMatchFailure(op, "needs tile sizes in [1, kMaxSDPATile]");
    auto &b = rewriter;
    MLIRContext *ctx = b.getContext();
    const int64_t kvHeads = op.getKvHeads(), group = op.getHeads() / op.getKvHeads();
    const int64_t blockQueries = std::max<int64_t>(1, tiling.queryRows / group);
    const bool causal = op.getCausal();
    const std::optional<uint64_t> window = op.getWindow();
    const float scale = static_cast<float>(op.getScale().convertToDouble());

    Value n = getValueOrCreateConstantIndexOp(b, loc, tensor::getMixedSize(b, loc, q, 1));
    Value m = getValueOrCreateConstantIndexOp(b, loc, tensor::getMixedSize(b, loc, k, 1));
    // Query i sees keys j <= i + shift (the queries are the last n of the m positions).
    Value shift = causal ? b.create<arith::SubIOp>(loc, m, n).getResult() : Value();
    OpFoldResult kvs = b.getIndexAttr(kvHeads), groups = b.getIndexAttr(group);
    OpFoldResult headWidth = b.getIndexAttr(d), valueWidth = b.getIndexAttr(dv);

    // q [H, n, d] and the result [H, n, dv] seen as [kv, G, n, *].
    Value q4 = b.create<tensor::ExpandShapeOp>(
        loc, RankedTensorType::get({kvHeads, group, nStatic, d}, b.getF32Type()), q,
        ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}},
        ArrayRef<OpFoldResult>{kvs, groups, n, headWidth});
    Value out4 = emptyTensor(b, loc, {kvs, groups, n, valueWidth});

    AffineExpr da, di, dg, de;
    bindDims(ctx, da, di, dg, de);
    AffineMap id4 = b.getMultiDimIdentityMap(4);
    auto sub = [&](Value x, Value y) { return b.create<arith::SubIOp>(loc, x, y).getResult(); };
    auto add = [&](Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y).getResult(); };
    auto mul = [&](Value x, Value y) { return b.create<arith::MulIOp>(loc, x, y).getResult(); };
    auto min = [&](Value x, Value y) { return b.create<arith::MinSIOp>(loc, x, y).getResult(); };
    Value zero = indexConst(b, loc, 0), groupValue = indexConst(b, loc, group);
    Value kvValue = indexConst(b, loc, kvHeads);

    // Every block has the same number of queries, qb = min(blockQueries, n):
    // the last block starts at n - qb, overlapping the one before rather than
    // being shorter (its queries are computed twice, with the same result).
    // All of the block's buffers then have sizes fixed for the call, which the
    // activation plan places once. A decode step (qb = 1: G rows) takes tiles
    // of keys queryRows / G times longer, so that it covers contexts of up to
    // keyTile * queryRows / G positions in one tile instead of paying the
    // per-tile steps; the score block stays within keyTile x queryRows per
    // key/value head either way. (The step is a select, not a division, so the
    // plan can compute it at entry.)
    Value qb = min(indexConst(b, loc, blockQueries), n);
    Value rows = mul(qb, groupValue);     // stacked rows per key/value head
    Value stateRows = mul(rows, kvValue); // all rows of a block, flattened
    // A Q8_0 cache's tiles are dequantized into f32 buffers: a decode step
    // keeps the key tile, so that the buffer stays a tile and not the cache.
    const int64_t decodeTile =
        readsQ8Cache(k) || readsQ8Cache(v)
            ? tiling.keyTile
            : tiling.keyTile * std::max<int64_t>(1, tiling.queryRows / group);
    Value oneQuery = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, qb,
                                             indexConst(b, loc, 1));
    Value keyStep = b.create<arith::SelectOp>(loc, oneQuery, indexConst(b, loc, decodeTile),
                                              indexConst(b, loc, tiling.keyTile));
    OpFoldResult zeroAttr = b.getIndexAttr(0), oneAttr = b.getIndexAttr(1);
    SmallVector<OpFoldResult> ones4(4, oneAttr), ones3(3, oneAttr);

    auto queryLoop = b.create<scf::ForOp>(
        loc, zero, n, indexConst(b, loc, blockQueries), ValueRange{out4},
        [&](OpBuilder &, Location, Value blockStart, ValueRange outIter) {
          Value i0 = min(blockStart, sub(n, qb));

          // The block's queries, scaled, query-major: [kv, qb, G, d] -> [kv, rows, d].
          Value qSlice = b.create<tensor::ExtractSliceOp>(
              loc, q4, ArrayRef<OpFoldResult>{zeroAttr, zeroAttr, i0, zeroAttr},
              ArrayRef<OpFoldResult>{kvs, groups, qb, headWidth}, ones4);
          Value qMajor = generic(
              b, loc, qSlice, emptyTensor(b, loc, {kvs, qb, groups, headWidth}),
              {AffineMap::get(4, 0, {da, dg, di, de}, ctx), id4}, iterators(4),
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                return nb.create<arith::MulFOp>(l, a[0], f32Const(nb, l, scale));
              });
          Value qBlock = b.create<tensor::CollapseShapeOp>(
              loc, qMajor, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});

          // Keys past the block's last query are masked for all its rows: stop there.
          Value keyEnd = causal ? min(m, add(add(i0, qb), shift)) : m;
          // With a sliding window, keys before the first query's window are
          // masked for all its rows too: start there.
          Value keyBegin = zero;
          if (window)
            keyBegin = b.create<arith::MaxSIOp>(
                loc, zero, sub(add(i0, shift), indexConst(b, loc, int64_t(*window) - 1)));
          Value mInit = filledTensor(b, loc, {stateRows}, kMaskedScore);
          Value lInit = filledTensor(b, loc, {stateRows}, 0.0f);
          Value oInit = filledTensor(b, loc, {kvs, rows, valueWidth}, 0.0f);
          auto keyLoop = b.create<scf::ForOp>(
              loc, keyBegin, keyEnd, keyStep, ValueRange{mInit, lInit, oInit},
              [&](OpBuilder &, Location, Value j0, ValueRange state) {
                Value tile = min(keyStep, sub(keyEnd, j0));
                Value kTile = keyTileOf(b, loc, k, j0, tile);
                Value vTile = keyTileOf(b, loc, v, j0, tile);
                auto step = b.create<OnlineAttentionOp>(
                    loc, state[0].getType(), state[1].getType(), state[2].getType(), qBlock,
                    kTile, vTile, state[0], state[1], state[2], rows, causal ? i0 : Value(),
                    causal ? j0 : Value(), shift, b.getI64IntegerAttr(group),
                    window ? b.getI64IntegerAttr(*window) : IntegerAttr());
                b.create<scf::YieldOp>(loc, step.getResults());
              });

          // result[a*G + g, i0 + i, :] = O[a, i*G + g, :] / l[a, i*G + g], written
          // straight into the block's queries of the result.
          Value sums = keyLoop.getResult(1), acc = keyLoop.getResult(2);
          Value o4 = b.create<tensor::ExpandShapeOp>(
              loc, RankedTensorType::get({kvHeads, ShapedType::kDynamic, group, dv}, b.getF32Type()),
              acc, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}},
              ArrayRef<OpFoldResult>{kvs, qb, groups, valueWidth});
          Value l3 = b.create<tensor::ExpandShapeOp>(
              loc, RankedTensorType::get({kvHeads, ShapedType::kDynamic, group}, b.getF32Type()),
              sums, ArrayRef<ReassociationIndices>{{0, 1, 2}},
              ArrayRef<OpFoldResult>{kvs, qb, groups});
          SmallVector<OpFoldResult> blockOffsets{zeroAttr, zeroAttr, i0, zeroAttr};
          SmallVector<OpFoldResult> blockSizes{kvs, groups, qb, valueWidth};
          Value dest = b.create<tensor::ExtractSliceOp>(loc, outIter[0], blockOffsets,
                                                        blockSizes, ones4);
          Value normed = generic(b, loc, ValueRange{o4, l3}, dest,
                                 {AffineMap::get(4, 0, {da, dg, di, de}, ctx),
                                  AffineMap::get(4, 0, {da, dg, di}, ctx), id4},
                                 iterators(4),
                                 [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                   return nb.create<arith::DivFOp>(l, a[0], a[1]);
                                 });
          Value out = b.create<tensor::InsertSliceOp>(loc, normed, outIter[0], blockOffsets,
                                                      blockSizes, ones4);
          b.create<scf::YieldOp>(loc, out);
        });

    Value merged = b.create<tensor::CollapseShapeOp>(
        loc, queryLoop.getResult(0), ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
    rewriter.replaceOp(op, castTo(rewriter, loc, merged, op.getType()));
    return success();
  }
};

struct AttnTileSDPAPass : tfc::impl::AttnTileSDPABase<AttnTileSDPAPass> {
  void runOnOperation() override {
    if (failed(applyPopulatedPatterns(getOperation(), populateAttnTileSDPAPatterns)))
      signalPassFailure();
  }
};

} // namespace

void tfc::populateAttnTileSDPAPatterns(RewritePatternSet &patterns) {
  patterns.add<TileSDPA>(patterns.getContext());
}
