//===- OnlineAttentionToLinalg.cpp - One key tile of online softmax -------===//
//
// The third stage of attention's lowering (after the strategy and the tiling
// of SDPATiling.cpp, whose banner describes the split): attn.online_attention,
// one key tile of a block of queries, becomes the online-softmax math on
// linalg. The scores of the tile are one linalg.batch_matmul_transpose_b, the
// update of the running state elementwise and row-reduction generics over the
// rows flattened across key/value heads, and the accumulation one
// linalg.batch_matmul: the shapes tfc-vectorize-matmul takes. A variant that
// changes what a tile computes (another mask, such as a sliding window, or
// dequantized scores) changes this file only.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace tfc;
using namespace tfc::attn;

namespace {

/// The value given to masked scores in row maxima: finite, so that no
/// exp(-inf - -inf) can appear (the tiling starts the running max at it too).
constexpr float kMaskedScore = -1.0e30f;

// attn.online_attention (q [kv, rows, d], k [kv, tile, d], v [kv, tile, dv], m, l, O) =>
//   S = linalg.batch_matmul_transpose_b (q, k) [kv, rows, tile] seen as [kv*rows, tile],
//   causal mask key_start + j > query_start + r / G + shift (and with a window
//   W, key_start + j + W <= query_start + r / G + shift),
//   m' = max(m, rowmax S), a = exp(m - m'), P = exp(S - m'), l' = a l + rowsum P,
//   O' = a O + linalg.batch_matmul (P, v)
struct DecomposeOnlineAttention : OpRewritePattern<OnlineAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OnlineAttentionOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto &b = rewriter;
    MLIRContext *ctx = b.getContext();
    Value qBlock = op.getQuery(), kTile = op.getKey(), vTile = op.getValue();
    Value rows = op.getRows(), accIn = op.getAcc();
    const int64_t kvHeads = tensorType(qBlock).getDimSize(0), group = op.getGroup();
    if (ShapedType::isDynamic(kvHeads))
      return rewriter.notifyMatchFailure(op, "needs a static number of key/value heads");
    const bool causal = op.isCausal();
    const std::optional<uint64_t> window = op.getWindow();
    OpFoldResult kvs = b.getIndexAttr(kvHeads);
    OpFoldResult valueWidth = knownSize(b, loc, vTile, 2);
    OpFoldResult tile = knownSize(b, loc, kTile, 1);
    AffineMap id1 = b.getMultiDimIdentityMap(1), id2 = b.getMultiDimIdentityMap(2);
    AffineMap rowOf = selectDims(ctx, 2, {0}); // (row, key) -> row

    Value s = filledTensor(b, loc, {kvs, rows, tile}, 0.0f);
    s = b.create<linalg::BatchMatmulTransposeBOp>(loc, s.getType(), ValueRange{qBlock, kTile}, s)
            .getResult(0);
    // The score rows flattened over the key/value heads: elementwise work and
    // row reductions distribute over all of them.
    Value s2 = b.create<tensor::CollapseShapeOp>(loc, s,
                                                 ArrayRef<ReassociationIndices>{{0, 1}, {2}});

    // Flat row rho is query query_start + (rho mod rows) / G; key j of the tile
    // is masked when key_start + j > query_start + (rho mod rows) / G + shift.
    Value limit;
    if (causal) {
      Value first = b.create<arith::AddIOp>(loc, op.getQueryStart(), op.getShift());
      limit = b.create<arith::SubIOp>(loc, first, op.getKeyStart());
    }
    Value groupValue = group > 1 ? indexConst(b, loc, group) : Value();
    auto masked = [&](OpBuilder &nb, Location l) -> Value {
      Value rho = nb.create<linalg::IndexOp>(l, 0);
      Value j = nb.create<linalg::IndexOp>(l, 1);
      Value query = nb.create<arith::RemUIOp>(l, rho, rows);
      if (group > 1)
        query = nb.create<arith::DivUIOp>(l, query, groupValue);
      Value last = nb.create<arith::AddIOp>(l, query, limit);
      Value future = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sgt, j, last);
      if (!window)
        return future;
      // Outside the sliding window: j + W <= last.
      Value reach = nb.create<arith::AddIOp>(l, j, indexConst(nb, l, int64_t(*window)));
      Value old = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sle, reach, last);
      return nb.create<arith::OrIOp>(l, future, old);
    };

    // Row maxima of the tile's visible scores.
    Value stateRows = b.create<arith::MulIOp>(loc, rows, indexConst(b, loc, kvHeads));
    Value tileMax = filledTensor(b, loc, {stateRows}, kMaskedScore);
    tileMax = generic(b, loc, s2, tileMax, {id2, rowOf}, iterators(1, 1),
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        Value x = a[0];
                        if (causal)
                          x = nb.create<arith::SelectOp>(l, masked(nb, l),
                                                         f32Const(nb, l, kMaskedScore), x);
                        return nb.create<arith::MaximumFOp>(l, a[1], x);
                      });
    // m' = max(m, tile max), a = exp(m - m') <= 1, l *= a. The running max
    // starts at kMaskedScore, not -inf, so that a row with no visible key yet
    // gives exp(0) rather than exp(-inf + inf) = NaN.
    Value alphaInit = emptyTensor(b, loc, {stateRows});
    auto update = b.create<linalg::GenericOp>(
        loc, TypeRange{op.getMax().getType(), op.getSum().getType(), alphaInit.getType()},
        ValueRange{tileMax}, ValueRange{op.getMax(), op.getSum(), alphaInit},
        ArrayRef<AffineMap>{id1, id1, id1, id1}, iterators(1),
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value newMax = nb.create<arith::MaximumFOp>(l, a[1], a[0]);
          Value alpha = nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, a[1], newMax));
          Value sum = nb.create<arith::MulFOp>(l, a[2], alpha);
          nb.create<linalg::YieldOp>(l, ValueRange{newMax, sum, alpha});
        });
    Value newMax = update.getResult(0), alpha = update.getResult(2);
    // P = exp(S - m'), 0 where masked, in place of S; l += row sums of P.
    Value p2 = generic(b, loc, newMax, s2, {rowOf, id2}, iterators(2),
                       [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                         Value e = nb.create<math::ExpOp>(l,
                                                          nb.create<arith::SubFOp>(l, a[1], a[0]));
                         if (!causal)
                           return e;
                         return nb.create<arith::SelectOp>(l, masked(nb, l), f32Const(nb, l, 0.0),
                                                           e);
                       });
    Value sum = generic(b, loc, p2, update.getResult(1), {id2, rowOf}, iterators(1, 1),
                        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          return nb.create<arith::AddFOp>(l, a[1], a[0]);
                        });
    // O = a O + P v_tile.
    Value o2 = b.create<tensor::CollapseShapeOp>(loc, accIn,
                                                 ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    o2 = generic(b, loc, alpha, o2, {rowOf, id2}, iterators(2),
                 [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                   return nb.create<arith::MulFOp>(l, a[1], a[0]);
                 });
    Value o = b.create<tensor::ExpandShapeOp>(loc, accIn.getType(), o2,
                                              ArrayRef<ReassociationIndices>{{0, 1}, {2}},
                                              ArrayRef<OpFoldResult>{kvs, rows, valueWidth});
    Value p = b.create<tensor::ExpandShapeOp>(loc, s.getType(), p2,
                                              ArrayRef<ReassociationIndices>{{0, 1}, {2}},
                                              ArrayRef<OpFoldResult>{kvs, rows, tile});
    o = b.create<linalg::BatchMatmulOp>(loc, o.getType(), ValueRange{p, vTile}, o).getResult(0);
    rewriter.replaceOp(op, ValueRange{newMax, sum, o});
    return success();
  }
};

} // namespace

void tfc::populateOnlineAttentionToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeOnlineAttention>(patterns.getContext());
}
