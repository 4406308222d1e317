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
// on the tokens that selected it: passes over the tokens make every (token,
// chosen expert) pair a row of one buffer, packed expert by expert (a
// permutation computed at run time from the routing weights); x is gathered
// into those rows once, then per expert its three matmuls run on its rows
// (SwiGLU once over all rows between the gate/up loop and the down loop), and
// each token sums its rows weighted by the router. An expert that no token
// selected is skipped, so a decode step reads only the selected experts'
// weights. Nothing in the loops over the experts but their kernels writes
// memory, and their buffers are bounded by tokens x top_k, so the loops run
// inside the function's one OpenMP region (tfc-merge-parallel-regions) with
// their buffers in the arena, and meet only at their products' barriers.
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

#include <algorithm>
#include <limits>
#include <tuple>

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

/// The experts this lowering computes: [first, first + count) of the
/// router's. All of them; with `expert_parts` this rank's, from rank * El
/// (the rank from the runtime, kRankIndexFunction), never past the last real
/// expert.
std::pair<Value, Value> localExperts(OpBuilder &b, Location loc, MoEOp op) {
  Value first = indexConst(b, loc, 0);
  Value count = indexConst(b, loc, op.getNumLocalExperts());
  if (op.getExpertParts()) {
    Value rank = b.create<func::CallOp>(loc, kRankIndexFunction, b.getI64Type(), ValueRange{})
                     .getResult(0);
    first = b.create<arith::MulIOp>(
        loc, b.create<arith::IndexCastOp>(loc, b.getIndexType(), rank), count);
    // The padding experts of the last rank (first + El > E) are skipped.
    Value left = b.create<arith::SubIOp>(
        loc, indexConst(b, loc, op.getNumExperts()),
        b.create<arith::MinSIOp>(loc, first, indexConst(b, loc, op.getNumExperts())));
    count = b.create<arith::MinSIOp>(loc, count, left);
  }
  return {first, count};
}

/// The result of the dense reference lowering: `addExpert(b, l, held, e, acc)`
/// adds the share of expert e (the router's index; `held` its index in
/// gate/up/down) to the sum over the local experts, which starts at zero [n, d].
Value sumOverExperts(ConversionPatternRewriter &rewriter, Location loc, MoEOp op, Value x,
                     function_ref<Value(OpBuilder &, Location, Value, Value, Value)> addExpert) {
  Value zero = filledTensor(rewriter, loc, tensor::getMixedSizes(rewriter, loc, x), 0.0f);
  Value first, count;
  std::tie(first, count) = localExperts(rewriter, loc, op);
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

/// The rows of the grouped lowering's work: every (token, local expert) pair
/// the router chose is one row, and the rows are packed expert by expert
/// (tokens in order within an expert), so that expert h's rows are
/// [offsets[h], offsets[h + 1]) of one buffer. Built in passes over the tokens
/// before the loops over the experts, so that those loops write nothing but
/// through their kernels and every thread of the merged OpenMP region can run
/// them (see tfc-merge-parallel-regions); the passes write memory only (no
/// scalar result), so after bufferization they are ops with writes and no
/// results, one omp.single. Entries are i32 (a row count fits), which
/// tfc-plan-activations places in the arena (it plans integer and float
/// elements, not index). With n tokens and kk = min(top_k, El) (a token
/// selects at most kk of the local experts):
///   counts [El]: how many tokens chose local expert h (first + h globally);
///   offsets [El + 1]: where expert h's rows start (offsets[local] = rows used);
///   order [n * kk]: the token of each row;
///   tokenRows [n, kk]: each token's rows, in expert order, then -1;
///   tokenWeights [n, kk]: their routing weights (0 past the last row).
struct RoutedRows {
  Value counts, offsets, order, tokenRows, tokenWeights;
};

RoutedRows routedRows(OpBuilder &b, Location loc, Value weights, Value first, Value local,
                      int64_t heldExperts, int64_t perToken) {
  OpFoldResult n = tensor::getMixedSize(b, loc, weights, 0);
  Value tokens = getValueOrCreateConstantIndexOp(b, loc, n);
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
  auto i32Const = [&](OpBuilder &cb, Location l, int32_t v) -> Value {
    return cb.create<arith::ConstantOp>(l, cb.getI32IntegerAttr(v));
  };
  auto toIndex = [](OpBuilder &cb, Location l, Value v) -> Value {
    return cb.create<arith::IndexCastOp>(l, cb.getIndexType(), v);
  };
  // Whether token t chose local expert h, and its routing weight.
  auto routing = [&](OpBuilder &cb, Location l, Value t, Value h) -> std::pair<Value, Value> {
    Value e = cb.create<arith::AddIOp>(l, first, h);
    Value w = cb.create<tensor::ExtractOp>(l, weights, ValueRange{t, e});
    Value routed = cb.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNE, w, f32Const(cb, l, 0.0));
    return {routed, w};
  };
  auto filled = [&](ArrayRef<OpFoldResult> sizes, Type type, Value value) -> Value {
    return b.create<linalg::FillOp>(loc, value, emptyTensor(b, loc, sizes, type)).getResult(0);
  };

  // counts[h] = the tokens that chose h.
  Value counts = filled({b.getIndexAttr(heldExperts)}, i32, i32Const(b, loc, 0));
  counts = b.create<scf::ForOp>(
                loc, zero, tokens, one, ValueRange{counts},
                [&](OpBuilder &tb, Location l, Value t, ValueRange perTokenState) {
                  auto experts = tb.create<scf::ForOp>(
                      l, zero, local, one, perTokenState,
                      [&](OpBuilder &nb, Location l, Value h, ValueRange state) {
                        Value routed = routing(nb, l, t, h).first;
                        Value count = nb.create<tensor::ExtractOp>(l, state[0], ValueRange{h});
                        Value next = nb.create<arith::SelectOp>(
                            l, routed, nb.create<arith::AddIOp>(l, count, i32Const(nb, l, 1)),
                            count);
                        nb.create<scf::YieldOp>(
                            l, ValueRange{nb.create<tensor::InsertOp>(l, next, state[0], h)});
                      });
                  tb.create<scf::YieldOp>(l, experts.getResults());
                })
               .getResult(0);

  // offsets[h + 1] = offsets[h] + counts[h]; the next free row of each expert
  // (`cursor`) starts at its offset.
  Value offsets = filled({b.getIndexAttr(heldExperts + 1)}, i32, i32Const(b, loc, 0));
  Value cursor = emptyTensor(b, loc, {b.getIndexAttr(heldExperts)}, i32);
  auto prefix = b.create<scf::ForOp>(
      loc, zero, local, one, ValueRange{offsets, cursor},
      [&](OpBuilder &nb, Location l, Value h, ValueRange state) {
        Value start = nb.create<tensor::ExtractOp>(l, state[0], ValueRange{h});
        Value count = nb.create<tensor::ExtractOp>(l, counts, ValueRange{h});
        Value end = nb.create<arith::AddIOp>(l, start, count);
        Value next = nb.create<arith::AddIOp>(l, h, indexConst(nb, l, 1));
        nb.create<scf::YieldOp>(
            l, ValueRange{nb.create<tensor::InsertOp>(l, end, state[0], next),
                          nb.create<tensor::InsertOp>(l, start, state[1], h)});
      });
  offsets = prefix.getResult(0);
  cursor = prefix.getResult(1);

  // Each token's rows: the next free row of every expert it chose.
  OpFoldResult rowsCap = b.create<arith::MulIOp>(loc, tokens, indexConst(b, loc, perToken))
                             .getResult();
  Value order = emptyTensor(b, loc, {rowsCap}, i32);
  Value tokenRows = emptyTensor(b, loc, {n, b.getIndexAttr(perToken)}, i32);
  Value tokenWeights = emptyTensor(b, loc, {n, b.getIndexAttr(perToken)}, f32);
  auto place = b.create<scf::ForOp>(
      loc, zero, tokens, one, ValueRange{order, tokenRows, tokenWeights, cursor},
      [&](OpBuilder &tb, Location l, Value t, ValueRange state) {
        auto padding = tb.create<scf::ForOp>(
            l, zero, indexConst(tb, l, perToken), one, ValueRange{state[1], state[2]},
            [&](OpBuilder &pb, Location l, Value s, ValueRange lists) {
              pb.create<scf::YieldOp>(
                  l, ValueRange{pb.create<tensor::InsertOp>(l, i32Const(pb, l, -1), lists[0],
                                                            ValueRange{t, s}),
                                pb.create<tensor::InsertOp>(l, f32Const(pb, l, 0.0), lists[1],
                                                            ValueRange{t, s})});
            });
        SmallVector<Value> init{state[0], padding.getResult(0), padding.getResult(1), state[3],
                                zero};
        auto experts = tb.create<scf::ForOp>(
            l, zero, local, one, init,
            [&](OpBuilder &nb, Location l, Value h, ValueRange st) {
              Value routed, w;
              std::tie(routed, w) = routing(nb, l, t, h);
              auto ifOp = nb.create<scf::IfOp>(
                  l, routed,
                  [&](OpBuilder &ib, Location l) {
                    Value row = ib.create<tensor::ExtractOp>(l, st[3], ValueRange{h});
                    Value token = ib.create<arith::IndexCastOp>(l, i32, t);
                    Value newOrder =
                        ib.create<tensor::InsertOp>(l, token, st[0], toIndex(ib, l, row));
                    Value newCursor = ib.create<tensor::InsertOp>(
                        l, ib.create<arith::AddIOp>(l, row, i32Const(ib, l, 1)), st[3], h);
                    // At most perToken local experts per token (top-k); the
                    // minimum only keeps a broken routing inside the lists.
                    Value s = ib.create<arith::MinUIOp>(l, st[4], indexConst(ib, l, perToken - 1));
                    Value rows = ib.create<tensor::InsertOp>(l, row, st[1], ValueRange{t, s});
                    Value ws = ib.create<tensor::InsertOp>(l, w, st[2], ValueRange{t, s});
                    Value nextSlot = ib.create<arith::AddIOp>(l, st[4], indexConst(ib, l, 1));
                    ib.create<scf::YieldOp>(l, ValueRange{newOrder, rows, ws, newCursor, nextSlot});
                  },
                  [&](OpBuilder &eb, Location l) { eb.create<scf::YieldOp>(l, st); });
              nb.create<scf::YieldOp>(l, ifOp.getResults());
            });
        tb.create<scf::YieldOp>(l, experts.getResults().take_front(4));
      });
  return {counts, offsets, place.getResult(0), place.getResult(1), place.getResult(2)};
}

/// x W^T added into `init` [m, rows of W] (a slice of a zero-filled buffer).
Value matmulTransposeBInto(OpBuilder &b, Location loc, Value x, Value w, Value init) {
  return b
      .create<linalg::MatmulTransposeBOp>(loc, TypeRange{init.getType()}, ValueRange{x, w},
                                          ValueRange{init})
      .getResult(0);
}

/// Rows [offset, offset + count) and columns [column, column + width) of a
/// 2-D tensor (all its columns by default), and the insertion of such a
/// slice back.
Value rowSlice(OpBuilder &b, Location loc, Value t, OpFoldResult offset, Value count,
               int64_t column = 0, int64_t width = -1) {
  if (width < 0)
    width = tensorType(t).getDimSize(1);
  auto type = RankedTensorType::get({ShapedType::kDynamic, width}, tensorType(t).getElementType());
  return b.create<tensor::ExtractSliceOp>(
      loc, type, t, SmallVector<OpFoldResult>{offset, b.getIndexAttr(column)},
      SmallVector<OpFoldResult>{count, b.getIndexAttr(width)},
      SmallVector<OpFoldResult>(2, b.getIndexAttr(1)));
}
Value insertRows(OpBuilder &b, Location loc, Value slice, Value into, Value offset, Value count,
                 int64_t column = 0) {
  int64_t width = tensorType(slice).getDimSize(1);
  return b.create<tensor::InsertSliceOp>(
      loc, slice, into, SmallVector<OpFoldResult>{offset, b.getIndexAttr(column)},
      SmallVector<OpFoldResult>{count, b.getIndexAttr(width)},
      SmallVector<OpFoldResult>(2, b.getIndexAttr(1)));
}

// attn.moe => routing weights [n, E]; the rows of every (token, chosen local
//   expert) pair, packed expert by expert (routedRows); x gathered into them
//   [rows, d] in one pass; scf.for over the experts with rows (scf.if): the
//   gate and up products of its rows into its slices of G and U [rows, ffn];
//   silu(G) * U in one pass; scf.for over the experts: the down product of
//   its rows into its slice of D [rows, d]; then every token sums its rows of
//   D weighted by the router (y[t, :] = sum_s w[t, s] * D[row[t, s], :], in
//   expert order, as the dense lowering adds them).
// Per expert only its three products: the elementwise work, the gather and
// the sum run once over all rows (fewer barriers in a decode step), and the
// sum reads each token's top-k rows, not every expert's output.
struct MoEGroupedLowering : OpConversionPattern<MoEOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(MoEOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    Value gate = adaptor.getGate(), up = adaptor.getUp(), down = adaptor.getDown();
    int64_t dim = tensorType(x).getDimSize(1);
    int64_t ffn = tensorType(gate).getDimSize(1);
    int64_t held = op.getNumLocalExperts();
    int64_t perToken = std::min<int64_t>(op.getTopK(), held);
    Value weights = routingWeights(rewriter, loc, op, x, adaptor.getRouter(), adaptor.getCorrectionBias());
    Value first, local;
    std::tie(first, local) = localExperts(rewriter, loc, op);
    RoutedRows routed = routedRows(rewriter, loc, weights, first, local, held, perToken);

    auto toIndex = [](OpBuilder &b, Location l, Value v) -> Value {
      return b.create<arith::IndexCastOp>(l, b.getIndexType(), v);
    };
    // The rows used, said with a minimum of the bound n * kk, which
    // tfc-plan-activations reads as the size of the buffers below, so that
    // they get ranges of the arena rather than heap allocations (which would
    // also end the merged OpenMP region; see tfc-merge-parallel-regions).
    Value tokens = rewriter.create<tensor::DimOp>(loc, x, 0);
    Value rowsCap = rewriter.create<arith::MulIOp>(loc, tokens, indexConst(rewriter, loc, perToken));
    Value total = toIndex(rewriter, loc,
                          rewriter.create<tensor::ExtractOp>(loc, routed.offsets, ValueRange{local}));
    Value rows = rewriter.create<arith::MinSIOp>(loc, total, rowsCap);

    // Gather: xs[r, c] = x[order[r], c].
    Value xs = generic(rewriter, loc, ValueRange{},
                       emptyTensor(rewriter, loc, {rows, rewriter.getIndexAttr(dim)}),
                       {rewriter.getMultiDimIdentityMap(2)}, iterators(2),
                       [&](OpBuilder &nb, Location nl, ValueRange) -> Value {
                         Value r = nb.create<linalg::IndexOp>(nl, 0);
                         Value c = nb.create<linalg::IndexOp>(nl, 1);
                         Value token = toIndex(
                             nb, nl, nb.create<tensor::ExtractOp>(nl, routed.order, ValueRange{r}));
                         return nb.create<tensor::ExtractOp>(nl, x, ValueRange{token, c});
                       });

    // forEachExpert(state, body): scf.for over the local experts carrying
    // `state`; body(b, l, held, offset, count, state) runs for an expert with
    // rows only and returns the new state.
    auto forEachExpert =
        [&](ValueRange state,
            function_ref<SmallVector<Value>(OpBuilder &, Location, Value, Value, Value, ValueRange)>
                body) {
          return rewriter
              .create<scf::ForOp>(
                  loc, indexConst(rewriter, loc, 0), local, indexConst(rewriter, loc, 1), state,
                  [&](OpBuilder &b, Location l, Value h, ValueRange st) {
                    // At most the token count: said with a minimum, which
                    // tfc-plan-activations reads as the bound of the scratch
                    // buffers of the expert's kernels (sized by its rows).
                    Value count = b.create<arith::MinSIOp>(
                        l,
                        toIndex(b, l, b.create<tensor::ExtractOp>(l, routed.counts, ValueRange{h})),
                        tokens);
                    Value any = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::ugt, count,
                                                        indexConst(b, l, 0));
                    auto ifOp = b.create<scf::IfOp>(
                        l, any,
                        [&](OpBuilder &tb, Location tl) {
                          Value offset = toIndex(
                              tb, tl, tb.create<tensor::ExtractOp>(tl, routed.offsets, ValueRange{h}));
                          tb.create<scf::YieldOp>(tl, body(tb, tl, h, offset, count, st));
                        },
                        [&](OpBuilder &eb, Location el) { eb.create<scf::YieldOp>(el, st); });
                    b.create<scf::YieldOp>(l, ifOp.getResults());
                  })
              .getResults();
        };

    // Gate and up products of each expert's rows, side by side in one buffer
    // GU [rows, 2 * ffn] (one zero fill; each product adds into its slice).
    Value gu0 = filledTensor(rewriter, loc, {rows, rewriter.getIndexAttr(2 * ffn)}, 0.0f);
    Value gu = forEachExpert(
        ValueRange{gu0},
        [&](OpBuilder &b, Location l, Value h, Value offset, Value count,
            ValueRange st) -> SmallVector<Value> {
          Value in = rowSlice(b, l, xs, offset, count);
          Value g = matmulTransposeBInto(b, l, in, expertSlice(b, l, gate, h),
                                         rowSlice(b, l, st[0], offset, count, 0, ffn));
          Value withG = insertRows(b, l, g, st[0], offset, count);
          Value u = matmulTransposeBInto(b, l, in, expertSlice(b, l, up, h),
                                         rowSlice(b, l, withG, offset, count, ffn, ffn));
          return {insertRows(b, l, u, withG, offset, count, ffn)};
        })[0];
    OpFoldResult zeroRow = rewriter.getIndexAttr(0);
    Value hidden = generic(
        rewriter, loc,
        {rowSlice(rewriter, loc, gu, zeroRow, rows, 0, ffn),
         rowSlice(rewriter, loc, gu, zeroRow, rows, ffn, ffn)},
        emptyTensor(rewriter, loc, {rows, rewriter.getIndexAttr(ffn)}),
        SmallVector<AffineMap>(3, rewriter.getMultiDimIdentityMap(2)), iterators(2),
        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
          // silu(g) * u = g / (1 + exp(-g)) * u
          Value ex = nb.create<math::ExpOp>(l, nb.create<arith::NegFOp>(l, a[0]));
          Value silu = nb.create<arith::DivFOp>(
              l, a[0], nb.create<arith::AddFOp>(l, f32Const(nb, l, 1.0), ex));
          return nb.create<arith::MulFOp>(l, silu, a[1]);
        });

    // Down products. D has n * kk rows (at least one, n >= 1): the sum below
    // reads row 0 for a token's unused entries (and discards it).
    Value d0 = filledTensor(rewriter, loc, {rowsCap, rewriter.getIndexAttr(dim)}, 0.0f);
    Value outs = forEachExpert(
        ValueRange{d0},
        [&](OpBuilder &b, Location l, Value h, Value offset, Value count,
            ValueRange st) -> SmallVector<Value> {
          Value d = matmulTransposeBInto(b, l, rowSlice(b, l, hidden, offset, count),
                                         expertSlice(b, l, down, h),
                                         rowSlice(b, l, st[0], offset, count));
          return {insertRows(b, l, d, st[0], offset, count)};
        })[0];

    // y[t, c] = sum over s of tokenWeights[t, s] * D[tokenRows[t, s], c]:
    // loops (t, s, c), s a reduction in the middle so that c stays the inner,
    // contiguous loop.
    Value y0 = filledTensor(rewriter, loc, tensor::getMixedSizes(rewriter, loc, x), 0.0f);
    SmallVector<utils::IteratorType> its{utils::IteratorType::parallel,
                                         utils::IteratorType::reduction,
                                         utils::IteratorType::parallel};
    Value y = generic(rewriter, loc, {routed.tokenRows, routed.tokenWeights}, y0,
                      {selectDims(ctx, 3, {0, 1}), selectDims(ctx, 3, {0, 1}),
                       selectDims(ctx, 3, {0, 2})},
                      its, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                        Value row = a[0], w = a[1], prev = a[2];
                        Value c = nb.create<linalg::IndexOp>(nl, 2);
                        Value has = nb.create<arith::CmpIOp>(
                            nl, arith::CmpIPredicate::sge, row,
                            nb.create<arith::ConstantOp>(nl, nb.getI32IntegerAttr(0)));
                        Value safe = nb.create<arith::SelectOp>(
                            nl, has, toIndex(nb, nl, row), indexConst(nb, nl, 0));
                        Value v = nb.create<tensor::ExtractOp>(nl, outs, ValueRange{safe, c});
                        Value sum = nb.create<arith::AddFOp>(nl, prev,
                                                             nb.create<arith::MulFOp>(nl, w, v));
                        return nb.create<arith::SelectOp>(nl, has, sum, prev);
                      });
    rewriter.replaceOp(op, castTo(rewriter, loc, y, op.getType()));
    return success();
  }
};

} // namespace

void tfc::populateAttnMoEToLinalgPatterns(RewritePatternSet &patterns, bool denseReference) {
  if (denseReference)
    patterns.add<MoEDenseLowering>(patterns.getContext());
  else
    patterns.add<MoEGroupedLowering>(patterns.getContext());
}
