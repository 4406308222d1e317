//===- MoEToLinalg.cpp - attn.moe to linalg ---------------------------------===//
//
// The lowering of a routed mixture of experts. The routing is the same in both
// lowerings and is computed densely, as the reference code does: router
// logits, softmax (or sigmoid) scores, the top-k selection (after the
// group-limited mask; with DeepSeek-V3's noaux_tc on the scores plus a
// correction bias),
// and the routing weights as an [n, experts] tensor that is zero for the
// experts a token did not select. The selection ranks each score against the
// others of its row (a score's rank is the number of scores above it, equal
// scores ranking the lower expert index first), so that no sort is needed and
// ties are broken deterministically.
//
// The reference lowering then computes every expert on every token and sums
// the outputs weighted by the routing weights: simple and obviously right,
// and E / top_k times the work. The grouped lowering computes an expert only
// on the tokens that selected it: one pass over the tokens lists every
// expert's tokens (a permutation computed at run time from the routing
// weights); then per expert the rows of its tokens are gathered, the expert's
// three matmuls run on them, and the weighted result is added back into their
// rows; an expert that no token selected is skipped, so a decode step reads
// only the selected experts' weights. Nothing in the loop over the experts
// but its kernels writes memory, and its temporaries are bounded by the token
// count, so the loop runs inside the function's one OpenMP region
// (tfc-merge-parallel-regions) with its buffers in the arena.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Passes.h"
#include "tfc/Utils/LoweringUtils.h"
#include "tfc/Utils/QuantizedMatmul.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace tfc;
using namespace tfc::attn;

namespace {

/// The runtime's rank (gen_abi.h __tfc_rank_index), declared by AttnToLinalg
/// when an expert-split attn.moe needs it.
constexpr llvm::StringLiteral kRankIndexFunction = "__tfc_rank_index";

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

/// x W^T for x [n, k] and W [m, k]: [n, m].
Value matmulTransposeB(OpBuilder &b, Location loc, Value x, Value w) {
  SmallVector<OpFoldResult> sizes{tensor::getMixedSize(b, loc, x, 0),
                                  tensor::getMixedSize(b, loc, w, 0)};
  Value init = filledTensor(b, loc, sizes, 0.0f);
  return b
      .create<linalg::MatmulTransposeBOp>(loc, TypeRange{init.getType()}, ValueRange{x, w},
                                          ValueRange{init})
      .getResult(0);
}

/// `combine` over the columns of each row of x [n, c], starting from `start`: [n].
Value reduceRows(OpBuilder &b, Location loc, Value x, float start,
                 function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  MLIRContext *ctx = b.getContext();
  Value init = filledTensor(b, loc, {tensor::getMixedSize(b, loc, x, 0)}, start);
  return generic(b, loc, x, init, {b.getMultiDimIdentityMap(2), selectDims(ctx, 2, {0})},
                 iterators(1, 1), [&](OpBuilder &nb, Location l, ValueRange args) {
                   return combine(nb, l, args[1], args[0]);
                 });
}

/// `f(x[t, c], rowValue[t])` elementwise over x [n, c].
Value mapWithRow(OpBuilder &b, Location loc, Value x, Value rowValue, BodyFn f) {
  MLIRContext *ctx = b.getContext();
  Value init = emptyTensor(b, loc, tensor::getMixedSizes(b, loc, x));
  return generic(b, loc, {x, rowValue}, init,
                 {b.getMultiDimIdentityMap(2), selectDims(ctx, 2, {0}),
                  b.getMultiDimIdentityMap(2)},
                 iterators(2), f);
}

Value maxF(OpBuilder &b, Location l, Value a, Value c) {
  return b.create<arith::MaximumFOp>(l, a, c);
}
Value addF(OpBuilder &b, Location l, Value a, Value c) { return b.create<arith::AddFOp>(l, a, c); }

/// softmax over the columns of each row of x [n, c].
Value softmaxRows(OpBuilder &b, Location loc, Value x) {
  Value rowMax = reduceRows(b, loc, x, -std::numeric_limits<float>::infinity(), maxF);
  Value exps = mapWithRow(b, loc, x, rowMax, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, a[0], a[1]));
  });
  Value sum = reduceRows(b, loc, exps, 0.0f, addF);
  return mapWithRow(b, loc, exps, sum, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return nb.create<arith::DivFOp>(l, a[0], a[1]);
  });
}

/// 1 where x[t, c] is among the `k` largest of row t, else 0 ([n, c] f32).
/// An entry's rank is the number of entries of its row that beat it: larger,
/// or equal at a lower column (torch.topk(stable = True)'s order).
Value topKMask(OpBuilder &b, Location loc, Value x, int64_t k) {
  MLIRContext *ctx = b.getContext();
  Value zero = filledTensor(b, loc, tensor::getMixedSizes(b, loc, x), 0.0f);
  // Loops (t, c, other): reduce over `other`.
  Value rank = generic(
      b, loc, {x, x}, zero,
      {selectDims(ctx, 3, {0, 1}), selectDims(ctx, 3, {0, 2}), selectDims(ctx, 3, {0, 1})},
      iterators(2, 1), [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value mine = a[0], other = a[1];
        Value c = nb.create<linalg::IndexOp>(l, 1);
        Value o = nb.create<linalg::IndexOp>(l, 2);
        Value larger = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, other, mine);
        Value equal = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, other, mine);
        Value before = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::ult, o, c);
        Value beats = nb.create<arith::OrIOp>(l, larger,
                                              nb.create<arith::AndIOp>(l, equal, before));
        Value one = nb.create<arith::SelectOp>(l, beats, f32Const(nb, l, 1.0), f32Const(nb, l, 0.0));
        return nb.create<arith::AddFOp>(l, a[2], one);
      });
  return mapElementwise(b, loc, rank, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value in = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT, a[0],
                                        f32Const(nb, l, static_cast<double>(k)));
    return nb.create<arith::SelectOp>(l, in, f32Const(nb, l, 1.0), f32Const(nb, l, 0.0));
  });
}

/// The scores of the groups of x [n, E] (`groups` groups of consecutive
/// experts): [n, groups], the best score of each (DeepSeek-V2), or the sum of
/// its best two (`sumOfTopTwo`, DeepSeek-V3's noaux_tc: `topk(2).sum()`).
Value groupScores(OpBuilder &b, Location loc, Value x, int64_t groups, bool sumOfTopTwo) {
  MLIRContext *ctx = b.getContext();
  int64_t experts = tensorType(x).getDimSize(1), perGroup = experts / groups;
  OpFoldResult n = tensor::getMixedSize(b, loc, x, 0);
  SmallVector<ReassociationIndices> reassociation{{0}, {1, 2}};
  auto groupedType = RankedTensorType::get({ShapedType::kDynamic, groups, perGroup}, b.getF32Type());
  Value grouped = b.create<tensor::ExpandShapeOp>(
      loc, groupedType, x, reassociation,
      SmallVector<OpFoldResult>{n, b.getIndexAttr(groups), b.getIndexAttr(perGroup)});
  if (!sumOfTopTwo) {
    Value init = filledTensor(b, loc, {n, b.getIndexAttr(groups)},
                              -std::numeric_limits<float>::infinity());
    return generic(b, loc, grouped, init,
                   {b.getMultiDimIdentityMap(3), selectDims(ctx, 3, {0, 1})}, iterators(2, 1),
                   [](OpBuilder &nb, Location l, ValueRange a) { return maxF(nb, l, a[1], a[0]); });
  }
  // The rows of [n * groups, E / groups]: each group's best two are its
  // top-2 mask (ties: the lower index, as every selection here), summed.
  SmallVector<ReassociationIndices> rowsOfGroups{{0, 1}, {2}};
  Value rows = b.create<tensor::CollapseShapeOp>(loc, grouped, rowsOfGroups);
  Value best = topKMask(b, loc, rows, 2);
  Value kept = mapElementwise(b, loc, {rows, best},
                              [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                // a select, not a product: -inf * 0 would be NaN
                                Value in = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::ONE,
                                                                    a[1], f32Const(nb, l, 0.0));
                                return nb.create<arith::SelectOp>(l, in, a[0],
                                                                  f32Const(nb, l, 0.0));
                              });
  Value sums = reduceRows(b, loc, kept, 0.0f, addF);
  auto sumsType = RankedTensorType::get({ShapedType::kDynamic, groups}, b.getF32Type());
  return b.create<tensor::ExpandShapeOp>(loc, sumsType, sums,
                                         SmallVector<ReassociationIndices>{{0, 1}},
                                         SmallVector<OpFoldResult>{n, b.getIndexAttr(groups)});
}

/// The group-limited mask of DeepSeek-V2 (`group_limited_greedy`) and V3
/// (`noaux_tc`): scores [n, E] with the experts outside the `topGroups` best
/// of `groups` groups (by groupScores) set to 0. The groups are a
/// [n, groups, E / groups] view of the scores.
Value maskToTopGroups(OpBuilder &b, Location loc, Value scores, int64_t groups,
                      int64_t topGroups, bool sumOfTopTwo) {
  MLIRContext *ctx = b.getContext();
  int64_t experts = tensorType(scores).getDimSize(1), perGroup = experts / groups;
  OpFoldResult n = tensor::getMixedSize(b, loc, scores, 0);
  auto groupedType = RankedTensorType::get({ShapedType::kDynamic, groups, perGroup}, b.getF32Type());
  SmallVector<ReassociationIndices> reassociation{{0}, {1, 2}};
  Value grouped = b.create<tensor::ExpandShapeOp>(
      loc, groupedType, scores, reassociation,
      SmallVector<OpFoldResult>{n, b.getIndexAttr(groups), b.getIndexAttr(perGroup)});
  Value kept = topKMask(b, loc, groupScores(b, loc, scores, groups, sumOfTopTwo), topGroups);
  Value out = emptyTensor(b, loc, {n, b.getIndexAttr(groups), b.getIndexAttr(perGroup)});
  Value masked = generic(b, loc, {grouped, kept}, out,
                         {b.getMultiDimIdentityMap(3), selectDims(ctx, 3, {0, 1}),
                          b.getMultiDimIdentityMap(3)},
                         iterators(3), [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           return nb.create<arith::MulFOp>(l, a[0], a[1]);
                         });
  return b.create<tensor::CollapseShapeOp>(loc, masked, reassociation);
}

/// The routing weights [n, E] of attn.moe: the selected experts' scores,
/// normalized and scaled as the op says; 0 for the others.
Value routingWeights(OpBuilder &b, Location loc, MoEOp op, Value x, Value router, Value bias) {
  MLIRContext *ctx = b.getContext();
  Value logits = matmulTransposeB(b, loc, x, router);
  // The router stays f32 under a quantized --weight-type (QuantizedMatmul.h).
  logits.getDefiningOp()->setAttr(kMoERouterAttrName, b.getUnitAttr());
  Value scores;
  if (op.getScoring() == MoeScoring::sigmoid)
    scores = mapElementwise(b, loc, logits, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
      Value ex = nb.create<math::ExpOp>(l, nb.create<arith::NegFOp>(l, a[0]));
      return nb.create<arith::DivFOp>(l, f32Const(nb, l, 1.0),
                                      nb.create<arith::AddFOp>(l, f32Const(nb, l, 1.0), ex));
    });
  else
    scores = softmaxRows(b, loc, logits);
  Value candidates = scores;
  switch (op.getTopkMethod()) {
  case MoeTopKMethod::greedy:
    break;
  case MoeTopKMethod::group_limited_greedy:
    candidates = maskToTopGroups(b, loc, scores, op.getNGroup(), op.getTopkGroup(),
                                 /*sumOfTopTwo=*/false);
    break;
  case MoeTopKMethod::noaux_tc: {
    // scores_for_choice = scores + e_score_correction_bias: the bias moves
    // the selection only (modeling_deepseek.py of DeepSeek-V3, MoEGate).
    Value init = emptyTensor(b, loc, tensor::getMixedSizes(b, loc, scores));
    Value biased = generic(b, loc, {scores, bias}, init,
                           {b.getMultiDimIdentityMap(2), selectDims(ctx, 2, {1}),
                            b.getMultiDimIdentityMap(2)},
                           iterators(2), [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                             return nb.create<arith::AddFOp>(l, a[0], a[1]);
                           });
    candidates = maskToTopGroups(b, loc, biased, op.getNGroup(), op.getTopkGroup(),
                                 /*sumOfTopTwo=*/true);
    break;
  }
  }
  Value selected = topKMask(b, loc, candidates, op.getTopK());
  Value weights = mapElementwise(b, loc, {scores, selected},
                                 [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                   return nb.create<arith::MulFOp>(l, a[0], a[1]);
                                 });
  if (op.getNormTopkProb()) {
    Value sum = reduceRows(b, loc, weights, 0.0f, addF);
    weights = mapWithRow(b, loc, weights, sum, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
      // modeling_deepseek.py's denominator: the sum plus 1e-20.
      Value denominator = nb.create<arith::AddFOp>(l, a[1], f32Const(nb, l, 1e-20));
      return nb.create<arith::DivFOp>(l, a[0], denominator);
    });
  }
  double scale = op.getRoutedScalingFactor().convertToDouble();
  if (scale != 1.0)
    weights = mapElementwise(b, loc, weights, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
      return nb.create<arith::MulFOp>(l, a[0], f32Const(nb, l, scale));
    });
  return weights;
}

/// Expert `e` of a stacked [E, r, c] weight: [r, c].
Value expertSlice(OpBuilder &b, Location loc, Value stacked, Value e) {
  ArrayRef<int64_t> shape = tensorType(stacked).getShape();
  auto type = RankedTensorType::get(shape.drop_front(), tensorType(stacked).getElementType());
  SmallVector<OpFoldResult> offsets{e, b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(shape[1]),
                                  b.getIndexAttr(shape[2])};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return b.create<tensor::ExtractSliceOp>(loc, type, stacked, offsets, sizes, strides);
}

/// The SwiGLU expert `e` on the rows of x: down(silu(gate x) * up x).
Value expertMLP(OpBuilder &b, Location loc, Value x, Value gate, Value up, Value down, Value e) {
  Value g = matmulTransposeB(b, loc, x, expertSlice(b, loc, gate, e));
  Value u = matmulTransposeB(b, loc, x, expertSlice(b, loc, up, e));
  Value h = mapElementwise(b, loc, {g, u}, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    // silu(g) * u = g / (1 + exp(-g)) * u
    Value ex = nb.create<math::ExpOp>(l, nb.create<arith::NegFOp>(l, a[0]));
    Value silu = nb.create<arith::DivFOp>(l, a[0],
                                          nb.create<arith::AddFOp>(l, f32Const(nb, l, 1.0), ex));
    return nb.create<arith::MulFOp>(l, silu, a[1]);
  });
  return matmulTransposeB(b, loc, h, expertSlice(b, loc, down, e));
}

/// Column `e` of weights [n, E]: [n].
Value weightColumn(OpBuilder &b, Location loc, Value weights, Value e) {
  OpFoldResult n = tensor::getMixedSize(b, loc, weights, 0);
  auto type = RankedTensorType::get({ShapedType::kDynamic}, b.getF32Type());
  return b.create<tensor::ExtractSliceOp>(
      loc, type, weights, SmallVector<OpFoldResult>{b.getIndexAttr(0), e},
      SmallVector<OpFoldResult>{n, b.getIndexAttr(1)},
      SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// The result of attn.moe: `addExpert(b, l, held, e, acc)` adds the share of
/// expert e (the router's index; `held` its index in gate/up/down) to the sum
/// over the experts, which starts at zero [n, d]. With `expert_parts` the
/// loop runs over this rank's experts only, from rank * El (the rank from
/// the runtime, kRankIndexFunction) and never past the last real expert.
/// `beforeLoop(b, l, first, count)`, if given, builds what the loop's body
/// needs once, before it.
Value sumOverExperts(ConversionPatternRewriter &rewriter, Location loc, MoEOp op, Value x,
                     function_ref<Value(OpBuilder &, Location, Value, Value, Value)> addExpert,
                     function_ref<void(OpBuilder &, Location, Value, Value)> beforeLoop = {}) {
  Value zero = filledTensor(rewriter, loc, tensor::getMixedSizes(rewriter, loc, x), 0.0f);
  Value first = indexConst(rewriter, loc, 0);
  Value count = indexConst(rewriter, loc, op.getNumLocalExperts());
  if (op.getExpertParts()) {
    Value rank = rewriter
                     .create<func::CallOp>(loc, kRankIndexFunction, rewriter.getI64Type(),
                                           ValueRange{})
                     .getResult(0);
    first = rewriter.create<arith::MulIOp>(
        loc, rewriter.create<arith::IndexCastOp>(loc, rewriter.getIndexType(), rank), count);
    // The padding experts of the last rank (first + El > E) are skipped.
    Value left = rewriter.create<arith::SubIOp>(
        loc, indexConst(rewriter, loc, op.getNumExperts()),
        rewriter.create<arith::MinSIOp>(loc, first, indexConst(rewriter, loc, op.getNumExperts())));
    count = rewriter.create<arith::MinSIOp>(loc, count, left);
  }
  if (beforeLoop)
    beforeLoop(rewriter, loc, first, count);
  auto loop = rewriter.create<scf::ForOp>(
      loc, indexConst(rewriter, loc, 0), count, indexConst(rewriter, loc, 1), ValueRange{zero},
      [&](OpBuilder &b, Location l, Value held, ValueRange acc) {
        Value e = b.create<arith::AddIOp>(l, first, held);
        b.create<scf::YieldOp>(l, addExpert(b, l, held, e, acc[0]));
      });
  return castTo(rewriter, loc, loop.getResult(0), op.getType());
}

//===----------------------------------------------------------------------===//
// The lowerings
//===----------------------------------------------------------------------===//

// attn.moe => routing weights [n, E] (router matmul, softmax, top-k mask)
//             + scf.for over the experts: the expert's SwiGLU on every token,
//               accumulated as acc[t, :] += weights[t, e] * out[t, :]
struct MoEDenseLowering : OpConversionPattern<MoEOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(MoEOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    Value weights = routingWeights(rewriter, loc, op, x, adaptor.getRouter(), adaptor.getCorrectionBias());
    Value y = sumOverExperts(rewriter, loc, op, x,
                             [&](OpBuilder &b, Location l, Value held, Value e, Value acc) {
      Value out = expertMLP(b, l, x, adaptor.getGate(), adaptor.getUp(), adaptor.getDown(), held);
      Value w = weightColumn(b, l, weights, e);
      return generic(b, l, {out, w}, acc,
                     {b.getMultiDimIdentityMap(2), selectDims(ctx, 2, {0}),
                      b.getMultiDimIdentityMap(2)},
                     iterators(2), [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                       Value scaled = nb.create<arith::MulFOp>(nl, a[0], a[1]);
                       return nb.create<arith::AddFOp>(nl, a[2], scaled);
                     });
    });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// The tokens routed to each expert this rank holds, listed in one pass over
/// the tokens before the loop over the experts (so that the loop's body
/// writes nothing but through its kernels, and every thread of the merged
/// OpenMP region can run it; see tfc-merge-parallel-regions):
///   counts [El]: how many tokens chose local expert h (first + h globally);
///   rows [El, n]: their row indices in order (the first counts[h] valid);
///   slot [n, El]: each token's position in expert h's list, -1 when not
///   routed to it.
/// Everything is written in memory (no scalar the loop yields), so that after
/// bufferization the pass is one op with writes and no results; the entries
/// are i32 (a token count fits), which tfc-plan-activations places in the
/// arena (it plans integer and float elements, not index).
struct RoutedTokens {
  Value counts, rows, slot;
};

RoutedTokens routedTokens(OpBuilder &b, Location loc, Value weights, Value first,
                          Value localExperts, int64_t heldExperts) {
  OpFoldResult n = tensor::getMixedSize(b, loc, weights, 0);
  Type i32 = b.getI32Type();
  Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
  OpFoldResult held = b.getIndexAttr(heldExperts);
  auto i32Const = [](OpBuilder &cb, Location l, int32_t v) -> Value {
    return cb.create<arith::ConstantOp>(l, cb.getI32IntegerAttr(v));
  };
  Value counts = b.create<linalg::FillOp>(loc, i32Const(b, loc, 0),
                                          emptyTensor(b, loc, {held}, i32))
                     .getResult(0);
  Value rows = emptyTensor(b, loc, {held, n}, i32);
  Value slot = emptyTensor(b, loc, {n, held}, i32);
  auto pass = b.create<scf::ForOp>(
      loc, zero, getValueOrCreateConstantIndexOp(b, loc, n), one, ValueRange{counts, rows, slot},
      [&](OpBuilder &tb, Location l, Value t, ValueRange perToken) {
        auto experts = tb.create<scf::ForOp>(
            l, zero, localExperts, one, perToken,
            [&](OpBuilder &nb, Location l, Value h, ValueRange state) {
              Value e = nb.create<arith::AddIOp>(l, first, h);
              Value w = nb.create<tensor::ExtractOp>(l, weights, ValueRange{t, e});
              Value routed = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNE, w,
                                                      f32Const(nb, l, 0.0));
              Value count = nb.create<tensor::ExtractOp>(l, state[0], ValueRange{h});
              Value at = nb.create<arith::SelectOp>(l, routed, count, i32Const(nb, l, -1));
              Value newSlot = nb.create<tensor::InsertOp>(l, at, state[2], ValueRange{t, h});
              // A token not routed writes at the list's end (count <= t < n),
              // rewritten by the next routed one or beyond `count` and never read.
              Value token = nb.create<arith::IndexCastOp>(l, i32, t);
              Value end = nb.create<arith::IndexCastOp>(l, nb.getIndexType(), count);
              Value newRows = nb.create<tensor::InsertOp>(l, token, state[1], ValueRange{h, end});
              Value next = nb.create<arith::SelectOp>(
                  l, routed, nb.create<arith::AddIOp>(l, count, i32Const(nb, l, 1)), count);
              Value newCounts = nb.create<tensor::InsertOp>(l, next, state[0], ValueRange{h});
              nb.create<scf::YieldOp>(l, ValueRange{newCounts, newRows, newSlot});
            });
        tb.create<scf::YieldOp>(l, experts.getResults());
      });
  return {pass.getResult(0), pass.getResult(1), pass.getResult(2)};
}

// attn.moe => routing weights [n, E], the routed tokens of every expert
//   (routedTokens), then scf.for over the experts: only for an expert with
//   tokens (scf.if), their rows of x gathered [m, d], the expert's SwiGLU on
//   them (three matmuls of m rows), and acc[t, :] += weights[t, e] * out[slot[t], :]
struct MoEGroupedLowering : OpConversionPattern<MoEOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(MoEOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    int64_t dim = tensorType(x).getDimSize(1);
    Value weights = routingWeights(rewriter, loc, op, x, adaptor.getRouter(), adaptor.getCorrectionBias());
    std::optional<RoutedTokens> routed;
    Value y = sumOverExperts(
        rewriter, loc, op, x,
        [&](OpBuilder &b, Location l, Value held, Value e, Value acc) {
          Value count = b.create<arith::IndexCastOp>(
              l, b.getIndexType(), b.create<tensor::ExtractOp>(l, routed->counts, ValueRange{held}));
          Value any = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::ugt, count,
                                              indexConst(b, l, 0));
          auto ifOp = b.create<scf::IfOp>(
              l, any,
              [&](OpBuilder &tb, Location tl) {
                tb.create<scf::YieldOp>(tl, addExpert(tb, tl, x, dim, weights, held, e, count,
                                                      *routed, acc, adaptor));
              },
              [&](OpBuilder &eb, Location el) { eb.create<scf::YieldOp>(el, acc); });
          return ifOp.getResult(0);
        },
        [&](OpBuilder &b, Location l, Value first, Value localExperts) {
          routed = routedTokens(b, l, weights, first, localExperts, op.getNumLocalExperts());
        });
    rewriter.replaceOp(op, y);
    return success();
  }

  /// acc plus expert e's weighted output on its `count` routed tokens (`held`
  /// its index in gate/up/down and in the lists).
  static Value addExpert(OpBuilder &b, Location l, Value x, int64_t dim, Value weights, Value held,
                         Value e, Value count, const RoutedTokens &routed, Value acc,
                         OpAdaptor adaptor) {
    // The count is at most the token count: said with a minimum, which
    // tfc-plan-activations reads as the bound of the gathered rows and of the
    // expert's temporaries, so that they get a range of the arena rather than
    // a heap allocation per expert (which would also end the merged OpenMP
    // region of tfc-merge-parallel-regions at the loop over the experts).
    Value tokens = b.create<tensor::DimOp>(l, x, 0);
    Value rowCount = b.create<arith::MinSIOp>(l, count, tokens);
    // Gather: xs[r, c] = x[rows[held, r], c] for r < count.
    Value gathered = emptyTensor(b, l, {rowCount, b.getIndexAttr(dim)});
    Value xs = generic(b, l, ValueRange{}, gathered, {b.getMultiDimIdentityMap(2)}, iterators(2),
                       [&](OpBuilder &nb, Location nl, ValueRange) -> Value {
                         Value r = nb.create<linalg::IndexOp>(nl, 0);
                         Value c = nb.create<linalg::IndexOp>(nl, 1);
                         Value row = nb.create<arith::IndexCastOp>(
                             nl, nb.getIndexType(),
                             nb.create<tensor::ExtractOp>(nl, routed.rows, ValueRange{held, r}));
                         return nb.create<tensor::ExtractOp>(nl, x, ValueRange{row, c});
                       });
    Value out = expertMLP(b, l, xs, adaptor.getGate(), adaptor.getUp(), adaptor.getDown(), held);
    // Scatter-add: every token reads its own row of `out`, if it has one.
    MLIRContext *ctx = b.getContext();
    return generic(b, l, {weightColumn(b, l, weights, e)}, acc,
                   {selectDims(ctx, 2, {0}), b.getMultiDimIdentityMap(2)}, iterators(2),
                   [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                     Value w = a[0], prev = a[1];
                     Value t = nb.create<linalg::IndexOp>(nl, 0);
                     Value c = nb.create<linalg::IndexOp>(nl, 1);
                     Value slot = nb.create<arith::IndexCastOp>(
                         nl, nb.getIndexType(),
                         nb.create<tensor::ExtractOp>(nl, routed.slot, ValueRange{t, held}));
                     Value has = nb.create<arith::CmpIOp>(nl, arith::CmpIPredicate::sge, slot,
                                                          indexConst(nb, nl, 0));
                     Value safe = nb.create<arith::SelectOp>(nl, has, slot, indexConst(nb, nl, 0));
                     Value y = nb.create<tensor::ExtractOp>(nl, out, ValueRange{safe, c});
                     Value add = nb.create<arith::MulFOp>(nl, w, y);
                     Value sum = nb.create<arith::AddFOp>(nl, prev, add);
                     return nb.create<arith::SelectOp>(nl, has, sum, prev);
                   });
  }
};

} // namespace

void tfc::populateAttnMoEToLinalgPatterns(RewritePatternSet &patterns, bool denseReference) {
  if (denseReference)
    patterns.add<MoEDenseLowering>(patterns.getContext());
  else
    patterns.add<MoEGroupedLowering>(patterns.getContext());
}
