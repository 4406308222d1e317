//===- AttnToLinalg.cpp - attn to linalg on tensors -----------------------===//
//
// The lowering of every head-level and elementwise attn op into
// destination-style linalg on tensors (plus tensor, arith, math and scf). It
// favours obvious correctness: one linalg op per mathematical step, f64 for
// the position angles, a two-pass layer norm. The exception is attn.sdpa,
// which is computed flash-style (online softmax over key tiles inside blocks
// of queries) so that attention over a long context never materializes the
// [heads, n, m] scores, in three stages (strategy, tiling, decomposition:
// SDPAStrategy.cpp, SDPATiling.cpp, OnlineAttentionToLinalg.cpp). The token count stays dynamic: sizes are read with
// tensor.dim (through tensor::getMixedSize) and results start as tensor.empty.
// attn.weight stays for tfc-lower-entry-points; attn.attention and
// attn.latent_attention must have been decomposed by tfc-attn-decompose.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace tfc {
#define GEN_PASS_DEF_CONVERTATTNTOLINALG
#include "tfc/Conversion/Passes.h.inc"
} // namespace tfc

using namespace mlir;
using namespace tfc;
using namespace tfc::attn;

namespace {

//===----------------------------------------------------------------------===//
// Building blocks (the shared ones are in tfc/Utils/LoweringUtils.h)
//===----------------------------------------------------------------------===//

/// Row sums over the last dimension of a [n, d] tensor of `term(x)`.
Value rowSum(OpBuilder &b, Location loc, Value x, Value extra, AffineMap extraMap,
             function_ref<Value(OpBuilder &, Location, Value, Value)> term) {
  MLIRContext *ctx = b.getContext();
  Value init = filledTensor(b, loc, sizesOf(b, loc, x, {0}), 0.0f);
  SmallVector<Value> inputs{x};
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(2)};
  if (extra) {
    inputs.push_back(extra);
    maps.push_back(extraMap);
  }
  maps.push_back(selectDims(ctx, 2, {0}));
  return generic(b, loc, inputs, init, maps, iterators(1, 1),
                 [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
                   Value t = term(nb, nloc, args[0], extra ? args[1] : Value());
                   return nb.create<arith::AddFOp>(nloc, args.back(), t);
                 });
}

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

/// The runtime's rank of this process (gen_abi.h), read by vocabulary-parallel
/// embeddings.
constexpr llvm::StringLiteral kRankIndexFunction = "__tfc_rank_index";

/// Declares kRankIndexFunction in `module` when a vocabulary-parallel embedding
/// will call it (before the conversion: its patterns only rewrite in place).
void declareRankIndex(ModuleOp module) {
  bool needed = false;
  module.walk([&](EmbeddingOp e) { needed |= e.getVocabParts().has_value(); });
  module.walk([&](MoEOp m) { needed |= m.getExpertParts().has_value(); });
  if (!needed || module.lookupSymbol<func::FuncOp>(kRankIndexFunction))
    return;
  OpBuilder b(module.getBodyRegion());
  auto type = b.getFunctionType({}, {b.getI64Type()});
  b.create<func::FuncOp>(module.getLoc(), kRankIndexFunction, type).setPrivate();
}

// attn.embedding => linalg.generic over [n, dim] reading table[tokens[t], c]
//                   with tensor.extract
struct EmbeddingLowering : OpConversionPattern<EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = adaptor.getTable(), tokens = adaptor.getTokens();
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<OpFoldResult> sizes{tensor::getMixedSize(rewriter, loc, tokens, 0),
                                    tensor::getMixedSize(rewriter, loc, table, 1)};
    Value init = emptyTensor(rewriter, loc, sizes);
    Value rows = op.getVocabParts() ? rewriter.create<tensor::DimOp>(loc, table, 0).getResult()
                                    : Value();
    Value first = rows ? shardStart(rewriter, op, rows) : Value();
    Value result = generic(
        rewriter, loc, tokens, init, {selectDims(ctx, 2, {0}), rewriter.getMultiDimIdentityMap(2)},
        iterators(2), [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value row = b.create<arith::IndexCastOp>(l, b.getIndexType(), args[0]);
          Value col = b.create<linalg::IndexOp>(l, 1);
          if (!first)
            return b.create<tensor::ExtractOp>(l, table, ValueRange{row, col});
          // A vocabulary shard: the token's row when this rank holds it, else
          // zeros (an unsigned compare also sends tokens below the shard out).
          Value local = b.create<arith::SubIOp>(l, row, first);
          Value mine = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::ult, local, rows);
          Value zeroRow = b.create<arith::ConstantIndexOp>(l, 0);
          Value safe = b.create<arith::SelectOp>(l, mine, local, zeroRow);
          Value v = b.create<tensor::ExtractOp>(l, table, ValueRange{safe, col});
          Value zero = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(0.0f));
          return b.create<arith::SelectOp>(l, mine, v, zero);
        });
    rewriter.replaceOp(op, castTo(rewriter, loc, result, op.getType()));
    return success();
  }

  /// The first vocabulary row of this rank's shard: rank * rows, the rank from
  /// the runtime (gen_abi.h __tfc_rank_index, declared by declareRankIndex).
  static Value shardStart(ConversionPatternRewriter &rewriter, EmbeddingOp op, Value rows) {
    Location loc = op.getLoc();
    Value rank = rewriter
                     .create<func::CallOp>(loc, kRankIndexFunction, rewriter.getI64Type(),
                                           ValueRange{})
                     .getResult(0);
    Value rankIndex = rewriter.create<arith::IndexCastOp>(loc, rewriter.getIndexType(), rank);
    return rewriter.create<arith::MulIOp>(loc, rankIndex, rows);
  }
};

// attn.position_embedding => linalg.generic over [n, dim] reading
//                            table[offset + t, c] with tensor.extract
struct PositionEmbeddingLowering : OpConversionPattern<PositionEmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(PositionEmbeddingOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = adaptor.getTable(), offset = adaptor.getOffset();
    SmallVector<OpFoldResult> sizes{tensor::getMixedSize(rewriter, loc, adaptor.getTokens(), 0),
                                    tensor::getMixedSize(rewriter, loc, table, 1)};
    Value init = emptyTensor(rewriter, loc, sizes);
    Value result = generic(rewriter, loc, {}, init, {rewriter.getMultiDimIdentityMap(2)},
                           iterators(2), [&](OpBuilder &b, Location l, ValueRange) -> Value {
                             Value row = b.create<linalg::IndexOp>(l, 0);
                             if (offset)
                               row = b.create<arith::AddIOp>(l, row, offset);
                             Value col = b.create<linalg::IndexOp>(l, 1);
                             return b.create<tensor::ExtractOp>(l, table, ValueRange{row, col});
                           });
    rewriter.replaceOp(op, castTo(rewriter, loc, result, op.getType()));
    return success();
  }
};

// attn.sinusoidal => linalg.generic over [n, dim]: sin/cos in f64 of
//                    p * exp(-(2i/dim) ln 10000), truncated to f32
struct SinusoidalLowering : OpConversionPattern<SinusoidalOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(SinusoidalOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value offset = adaptor.getOffset();
    int64_t dim = op.getType().getDimSize(1);
    SmallVector<OpFoldResult> sizes{tensor::getMixedSize(rewriter, loc, adaptor.getTokens(), 0),
                                    rewriter.getIndexAttr(dim)};
    Value init = emptyTensor(rewriter, loc, sizes);
    double logScale = -std::log(10000.0) / static_cast<double>(dim);
    bool halves = op.getStyle() == RopeStyle::half;
    Value result = generic(
        rewriter, loc, {}, init, {rewriter.getMultiDimIdentityMap(2)}, iterators(2),
        [&](OpBuilder &b, Location l, ValueRange) -> Value {
          Value pos = b.create<linalg::IndexOp>(l, 0);
          if (offset)
            pos = b.create<arith::AddIOp>(l, pos, offset);
          Value col = b.create<linalg::IndexOp>(l, 1);
          // Column col holds the sine or the cosine (isCos) of pair i, at
          // exponent 2i: (2i, 2i+1) interleaved, (i, i + dim/2) in halves.
          Value isCos, twoI;
          if (halves) {
            Value half = indexConst(b, l, dim / 2);
            isCos = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::uge, col, half);
            Value i = b.create<arith::SelectOp>(l, isCos, b.create<arith::SubIOp>(l, col, half),
                                                col);
            twoI = b.create<arith::MulIOp>(l, i, indexConst(b, l, 2));
          } else {
            Value odd = b.create<arith::RemUIOp>(l, col, indexConst(b, l, 2));
            twoI = b.create<arith::SubIOp>(l, col, odd);
            isCos = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::ne, odd,
                                            indexConst(b, l, 0));
          }
          Value freq = b.create<math::ExpOp>(
              l, b.create<arith::MulFOp>(l, indexToF64(b, l, twoI), f64Const(b, l, logScale)));
          Value angle = b.create<arith::MulFOp>(l, indexToF64(b, l, pos), freq);
          Value v = b.create<arith::SelectOp>(l, isCos, b.create<math::CosOp>(l, angle),
                                              b.create<math::SinOp>(l, angle));
          return b.create<arith::TruncFOp>(l, b.getF32Type(), v);
        });
    rewriter.replaceOp(op, castTo(rewriter, loc, result, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Dense layers
//===----------------------------------------------------------------------===//

// attn.linear => linalg.fill 0 + linalg.matmul_transpose_b
//                (+ linalg.generic adding the bias in place)
// (with weight_in_out: linalg.matmul)
struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), w = adaptor.getWeight(), bias = adaptor.getBias();
    bool inOut = op.getWeightInOut();
    SmallVector<OpFoldResult> sizes{tensor::getMixedSize(rewriter, loc, x, 0),
                                    tensor::getMixedSize(rewriter, loc, w, inOut ? 1 : 0)};
    Value init = filledTensor(rewriter, loc, sizes, 0.0f);
    // A [in, out] weight (GPT-2's Conv1D) is a plain product x W.
    Value y = inOut ? rewriter
                          .create<linalg::MatmulOp>(loc, TypeRange{init.getType()},
                                                    ValueRange{x, w}, ValueRange{init})
                          .getResult(0)
                    : rewriter
                          .create<linalg::MatmulTransposeBOp>(loc, TypeRange{init.getType()},
                                                              ValueRange{x, w}, ValueRange{init})
                          .getResult(0);
    if (bias) {
      MLIRContext *ctx = rewriter.getContext();
      y = generic(rewriter, loc, bias, y,
                  {selectDims(ctx, 2, {1}), rewriter.getMultiDimIdentityMap(2)}, iterators(2),
                  [](OpBuilder &b, Location l, ValueRange args) -> Value {
                    return b.create<arith::AddFOp>(l, args[1], args[0]);
                  });
    }
    rewriter.replaceOp(op, castTo(rewriter, loc, y, op.getType()));
    return success();
  }
};

// attn.rms_norm => linalg.generic row sum of squares
//                  + linalg.generic x * w / sqrt(sum / d + eps)
struct RMSNormLowering : OpConversionPattern<RMSNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(RMSNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), w = adaptor.getWeight();
    int64_t d = tensorType(w).getDimSize(0);
    if (ShapedType::isDynamic(d))
      return rewriter.notifyMatchFailure(op, "needs a static row width");
    MLIRContext *ctx = rewriter.getContext();
    Value sumSq = rowSum(rewriter, loc, x, nullptr, AffineMap(),
                         [](OpBuilder &b, Location l, Value v, Value) -> Value {
                           return b.create<arith::MulFOp>(l, v, v);
                         });
    double eps = op.getEps().convertToDouble();
    Value y = mapElementwiseWith(
        rewriter, loc, x, {sumSq, w}, {selectDims(ctx, 2, {0}), selectDims(ctx, 2, {1})},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value mean = b.create<arith::DivFOp>(l, args[1], f32Const(b, l, d));
          Value rms = b.create<math::SqrtOp>(
              l, b.create<arith::AddFOp>(l, mean, f32Const(b, l, eps)));
          Value normed = b.create<arith::DivFOp>(l, args[0], rms);
          return b.create<arith::MulFOp>(l, normed, args[2]);
        });
    rewriter.replaceOp(op, castTo(rewriter, loc, y, op.getType()));
    return success();
  }

  /// Elementwise over [n, d] with x and per-row/per-column operands.
  static Value mapElementwiseWith(OpBuilder &b, Location loc, Value x, ValueRange others,
                                  ArrayRef<AffineMap> otherMaps, BodyFn body) {
    Value init = emptyTensor(b, loc, tensor::getMixedSizes(b, loc, x));
    SmallVector<Value> inputs{x};
    inputs.append(others.begin(), others.end());
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(2)};
    maps.append(otherMaps.begin(), otherMaps.end());
    maps.push_back(b.getMultiDimIdentityMap(2));
    return generic(b, loc, inputs, init, maps, iterators(2), body);
  }
};

// attn.layer_norm => linalg.generic row sum, linalg.generic row sum of squared
//                    deviations, linalg.generic (x - mean) / sqrt(var + eps) * w + b
struct LayerNormLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), w = adaptor.getWeight(), bias = adaptor.getBias();
    int64_t d = tensorType(w).getDimSize(0);
    if (ShapedType::isDynamic(d))
      return rewriter.notifyMatchFailure(op, "needs a static row width");
    MLIRContext *ctx = rewriter.getContext();
    AffineMap rowMap = selectDims(ctx, 2, {0}), colMap = selectDims(ctx, 2, {1});
    double eps = op.getEps().convertToDouble();

    Value sum = rowSum(rewriter, loc, x, nullptr, AffineMap(),
                       [](OpBuilder &, Location, Value v, Value) { return v; });
    // Biased variance, from the deviations (two passes: no cancellation).
    Value sumSqDev = rowSum(rewriter, loc, x, sum, rowMap,
                            [&](OpBuilder &b, Location l, Value v, Value s) -> Value {
                              Value mean = b.create<arith::DivFOp>(l, s, f32Const(b, l, d));
                              Value dev = b.create<arith::SubFOp>(l, v, mean);
                              return b.create<arith::MulFOp>(l, dev, dev);
                            });
    Value y = RMSNormLowering::mapElementwiseWith(
        rewriter, loc, x, {sum, sumSqDev, w, bias}, {rowMap, rowMap, colMap, colMap},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value width = f32Const(b, l, d);
          Value mean = b.create<arith::DivFOp>(l, args[1], width);
          Value var = b.create<arith::DivFOp>(l, args[2], width);
          Value stddev =
              b.create<math::SqrtOp>(l, b.create<arith::AddFOp>(l, var, f32Const(b, l, eps)));
          Value normed = b.create<arith::DivFOp>(l, b.create<arith::SubFOp>(l, args[0], mean),
                                                 stddev);
          return b.create<arith::AddFOp>(l, b.create<arith::MulFOp>(l, normed, args[3]), args[4]);
        });
    rewriter.replaceOp(op, castTo(rewriter, loc, y, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

// The scalar computation of each elementwise op, on the generic's block
// arguments (the operands' elements).
Value scalarOf(OpBuilder &b, Location l, ReluOp, ValueRange a) {
  return b.create<arith::MaximumFOp>(l, a[0], f32Const(b, l, 0.0));
}
Value scalarOf(OpBuilder &b, Location l, GeluOp, ValueRange a) {
  // x * (1 + erf(x / sqrt 2)) / 2
  Value scaled = b.create<arith::MulFOp>(l, a[0], f32Const(b, l, M_SQRT1_2));
  Value onePlus = b.create<arith::AddFOp>(l, f32Const(b, l, 1.0), b.create<math::ErfOp>(l, scaled));
  Value half = b.create<arith::MulFOp>(l, a[0], f32Const(b, l, 0.5));
  return b.create<arith::MulFOp>(l, half, onePlus);
}
Value scalarOf(OpBuilder &b, Location l, GeluTanhOp, ValueRange a) {
  // x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2
  Value x = a[0];
  Value x3 = b.create<arith::MulFOp>(l, b.create<arith::MulFOp>(l, x, x), x);
  Value inner = b.create<arith::AddFOp>(l, x, b.create<arith::MulFOp>(l, f32Const(b, l, 0.044715), x3));
  Value t = b.create<math::TanhOp>(
      l, b.create<arith::MulFOp>(l, f32Const(b, l, std::sqrt(2.0 / M_PI)), inner));
  Value onePlus = b.create<arith::AddFOp>(l, f32Const(b, l, 1.0), t);
  return b.create<arith::MulFOp>(l, b.create<arith::MulFOp>(l, x, f32Const(b, l, 0.5)), onePlus);
}
Value scalarOf(OpBuilder &b, Location l, SiluOp, ValueRange a) {
  // x / (1 + exp(-x))
  Value e = b.create<math::ExpOp>(l, b.create<arith::NegFOp>(l, a[0]));
  return b.create<arith::DivFOp>(l, a[0], b.create<arith::AddFOp>(l, f32Const(b, l, 1.0), e));
}
Value scalarOf(OpBuilder &b, Location l, AddOp, ValueRange a) {
  return b.create<arith::AddFOp>(l, a[0], a[1]);
}
Value scalarOf(OpBuilder &b, Location l, SubOp, ValueRange a) {
  return b.create<arith::SubFOp>(l, a[0], a[1]);
}
Value scalarOf(OpBuilder &b, Location l, MulOp, ValueRange a) {
  return b.create<arith::MulFOp>(l, a[0], a[1]);
}
Value scalarOf(OpBuilder &b, Location l, DivOp, ValueRange a) {
  return b.create<arith::DivFOp>(l, a[0], a[1]);
}
Value scalarOf(OpBuilder &b, Location l, AffineOp op, ValueRange a) {
  Value scaled = b.create<arith::MulFOp>(l, a[0], f32Const(b, l, op.getScale().convertToDouble()));
  return b.create<arith::AddFOp>(l, scaled, f32Const(b, l, op.getShift().convertToDouble()));
}

// attn.{relu,gelu,gelu_tanh,silu,add,sub,mul,div,affine} => linalg.generic
//   with identity maps and the op's scalar body
template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Value result = mapElementwise(rewriter, op.getLoc(), adaptor.getOperands(),
                                  [&](OpBuilder &b, Location l, ValueRange args) {
                                    return scalarOf(b, l, op, args.drop_back());
                                  });
    rewriter.replaceOp(op, castTo(rewriter, op.getLoc(), result, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Head layout
//===----------------------------------------------------------------------===//

// attn.split_heads => tensor.expand_shape [n, H*d] -> [n, H, d]
//                     + linalg.transpose -> [H, n, d]
struct SplitHeadsLowering : OpConversionPattern<SplitHeadsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(SplitHeadsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto resultType = op.getType();
    int64_t heads = resultType.getDimSize(0), d = resultType.getDimSize(2);
    int64_t n = tensorType(x).getDimSize(0);
    auto expandedType = RankedTensorType::get({n, heads, d}, rewriter.getF32Type());
    OpFoldResult nSize = tensor::getMixedSize(rewriter, loc, x, 0);
    SmallVector<OpFoldResult> expandedShape{nSize, rewriter.getIndexAttr(heads),
                                            rewriter.getIndexAttr(d)};
    SmallVector<ReassociationIndices> reassociation{{0}, {1, 2}};
    Value expanded = rewriter.create<tensor::ExpandShapeOp>(loc, expandedType, x, reassociation,
                                                            expandedShape);
    Value init = emptyTensor(
        rewriter, loc, {rewriter.getIndexAttr(heads), nSize, rewriter.getIndexAttr(d)});
    Value result = rewriter.create<linalg::TransposeOp>(loc, expanded, init,
                                                        ArrayRef<int64_t>{1, 0, 2})
                       ->getResult(0);
    rewriter.replaceOp(op, castTo(rewriter, loc, result, resultType));
    return success();
  }
};

// attn.merge_heads => linalg.transpose [H, n, d] -> [n, H, d]
//                     + tensor.collapse_shape -> [n, H*d]
struct MergeHeadsLowering : OpConversionPattern<MergeHeadsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(MergeHeadsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Value init = emptyTensor(rewriter, loc, sizesOf(rewriter, loc, x, {1, 0, 2}));
    Value transposed = rewriter.create<linalg::TransposeOp>(loc, x, init,
                                                            ArrayRef<int64_t>{1, 0, 2})
                           ->getResult(0);
    auto t = tensorType(x);
    auto collapsedType = RankedTensorType::get(
        {t.getDimSize(1), t.getDimSize(0) * t.getDimSize(2)}, rewriter.getF32Type());
    SmallVector<ReassociationIndices> reassociation{{0}, {1, 2}};
    Value result =
        rewriter.create<tensor::CollapseShapeOp>(loc, collapsedType, transposed, reassociation);
    rewriter.replaceOp(op, castTo(rewriter, loc, result, op.getType()));
    return success();
  }
};

// attn.slice_last => tensor.extract_slice of the last dimension
struct SliceLastLowering : OpConversionPattern<SliceLastOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(SliceLastOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    int64_t rank = tensorType(x).getRank();
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    offsets.back() = rewriter.getIndexAttr(op.getOffset());
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    sizes.back() = rewriter.getIndexAttr(tensorType(op.getResult()).getShape().back());
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    Value result = rewriter.create<tensor::ExtractSliceOp>(loc, x, offsets, sizes, strides);
    rewriter.replaceOp(op, castTo(rewriter, loc, result, op.getType()));
    return success();
  }
};

// attn.concat_last => tensor.empty + tensor.insert_slice ×2
struct ConcatLastLowering : OpConversionPattern<ConcatLastOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(ConcatLastOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    int64_t rank = tensorType(lhs).getRank();
    int64_t lhsWidth = tensorType(lhs).getShape().back();
    int64_t width = tensorType(op.getResult()).getShape().back();
    if (ShapedType::isDynamic(lhsWidth) || ShapedType::isDynamic(width))
      return rewriter.notifyMatchFailure(op, "needs static widths");
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, lhs);
    sizes.back() = rewriter.getIndexAttr(width);
    Value result = emptyTensor(rewriter, loc, sizes);
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    result = rewriter.create<tensor::InsertSliceOp>(
        loc, lhs, result, offsets, tensor::getMixedSizes(rewriter, loc, lhs), strides);
    offsets.back() = rewriter.getIndexAttr(lhsWidth);
    result = rewriter.create<tensor::InsertSliceOp>(
        loc, rhs, result, offsets, tensor::getMixedSizes(rewriter, loc, rhs), strides);
    rewriter.replaceOp(op, castTo(rewriter, loc, result, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Attention at the head level
//===----------------------------------------------------------------------===//

// attn.rope => linalg.generic over [H, n, d]: out[j] = x[j] cos ± x[partner(j)] sin
//              with the partner read by tensor.extract, angles in f64
struct RopeLowering : OpConversionPattern<RopeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(RopeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), offset = adaptor.getOffset();
    int64_t d = tensorType(x).getDimSize(2);
    if (ShapedType::isDynamic(d) || d % 2 != 0)
      return rewriter.notifyMatchFailure(op, "needs a static even head width");
    bool interleaved = op.getStyle() == RopeStyle::interleaved;
    // theta^(-2i/d) = exp(i * (-2 ln theta / d)), or, when rescaled, a table of
    // the d/2 frequencies computed at compile time.
    double logScale = -2.0 * std::log(op.getTheta().convertToDouble()) / static_cast<double>(d);
    Value freqTable;
    double cosSinFactor = ropeAttentionFactors(op.getScalingAttr()).cosSin;
    if (RopeScalingAttr scaling = op.getScalingAttr()) {
      std::vector<double> invFreq =
          ropeInverseFrequencies(op.getTheta().convertToDouble(), d, scaling);
      auto tableType = RankedTensorType::get({d / 2}, rewriter.getF64Type());
      freqTable = rewriter.create<arith::ConstantOp>(
          loc, DenseElementsAttr::get(tableType, ArrayRef<double>(invFreq)));
    }

    Value result = mapElementwise(
        rewriter, loc, x, [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value h = b.create<linalg::IndexOp>(l, 0);
          Value t = b.create<linalg::IndexOp>(l, 1);
          Value j = b.create<linalg::IndexOp>(l, 2);
          // `first`: j is the first element of its pair (rotated by -sin).
          Value first, freqIndex, partner;
          if (interleaved) {
            Value one = indexConst(b, l, 1), two = indexConst(b, l, 2);
            first = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq,
                                            b.create<arith::RemUIOp>(l, j, two),
                                            indexConst(b, l, 0));
            freqIndex = b.create<arith::DivUIOp>(l, j, two);
            partner = b.create<arith::SelectOp>(l, first, b.create<arith::AddIOp>(l, j, one),
                                                b.create<arith::SubIOp>(l, j, one));
          } else {
            Value half = indexConst(b, l, d / 2);
            first = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::ult, j, half);
            Value up = b.create<arith::AddIOp>(l, j, half);
            Value down = b.create<arith::SubIOp>(l, j, half);
            freqIndex = b.create<arith::SelectOp>(l, first, j, down);
            partner = b.create<arith::SelectOp>(l, first, up, down);
          }
          Value pos = offset ? b.create<arith::AddIOp>(l, t, offset).getResult() : t;
          Value invFreq =
              freqTable
                  ? b.create<tensor::ExtractOp>(l, freqTable, ValueRange{freqIndex}).getResult()
                  : b.create<math::ExpOp>(l, b.create<arith::MulFOp>(l, indexToF64(b, l, freqIndex),
                                                                     f64Const(b, l, logScale)))
                        .getResult();
          Value angle = b.create<arith::MulFOp>(l, indexToF64(b, l, pos), invFreq);
          Value cosAngle = b.create<math::CosOp>(l, angle);
          Value sinAngle = b.create<math::SinOp>(l, angle);
          if (cosSinFactor != 1.0) { // yarn's mscale ratio
            cosAngle = b.create<arith::MulFOp>(l, cosAngle, f64Const(b, l, cosSinFactor));
            sinAngle = b.create<arith::MulFOp>(l, sinAngle, f64Const(b, l, cosSinFactor));
          }
          Value cos = b.create<arith::TruncFOp>(l, b.getF32Type(), cosAngle);
          Value sin = b.create<arith::TruncFOp>(l, b.getF32Type(), sinAngle);
          Value other = b.create<tensor::ExtractOp>(l, x, ValueRange{h, t, partner});
          Value xc = b.create<arith::MulFOp>(l, args[0], cos);
          Value os = b.create<arith::MulFOp>(l, other, sin);
          return b.create<arith::SelectOp>(l, first, b.create<arith::SubFOp>(l, xc, os),
                                           b.create<arith::AddFOp>(l, xc, os));
        });
    rewriter.replaceOp(op, castTo(rewriter, loc, result, op.getType()));
    return success();
  }
};

// attn.repeat_kv => linalg.generic with input map (h, t, d) -> (h floordiv g, t, d)
struct RepeatKVLowering : OpConversionPattern<RepeatKVOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(RepeatKVOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    int64_t inHeads = tensorType(x).getDimSize(0);
    int64_t outHeads = op.getType().getDimSize(0);
    int64_t group = outHeads / inHeads;
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr h, t, e;
    bindDims(ctx, h, t, e);
    AffineMap inMap = AffineMap::get(3, 0, {h.floorDiv(group), t, e}, ctx);
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    sizes[0] = rewriter.getIndexAttr(outHeads);
    Value init = emptyTensor(rewriter, loc, sizes);
    Value result = generic(rewriter, loc, x, init, {inMap, rewriter.getMultiDimIdentityMap(3)},
                           iterators(3),
                           [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    rewriter.replaceOp(op, castTo(rewriter, loc, result, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Attention probabilities (tfc --emit-attention)
//===----------------------------------------------------------------------===//

/// The score of a masked key before the softmax (as in the online softmax).
constexpr float kMaskedProbScore = -1.0e30f;

// attn.attention_probs => scores q . k (key head h / group) as a generic over
// [heads, n, m] reducing d; row maxima of the visible scaled scores; exp(scaled
// score - max), 0 where masked; row sums; probabilities = exp / sum. The
// [heads, n, m] tensor is the point here (@attention_maps only), so it is
// written plainly, one linalg op per step.
struct AttentionProbsLowering : OpConversionPattern<AttentionProbsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(AttentionProbsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto &b = rewriter;
    MLIRContext *ctx = b.getContext();
    Value q = adaptor.getQuery(), k = adaptor.getKey();
    const int64_t heads = op.getHeads(), group = heads / op.getKvHeads();
    const bool causal = op.getCausal();
    const std::optional<uint64_t> window = op.getWindow();
    OpFoldResult n = knownSize(b, loc, q, 1), m = knownSize(b, loc, k, 1);
    OpFoldResult h = b.getIndexAttr(heads);
    AffineExpr dh, di, dj, de;
    bindDims(ctx, dh, di, dj, de);
    AffineMap qMap = AffineMap::get(4, 0, {dh, di, de}, ctx);
    AffineMap kMap = AffineMap::get(4, 0, {dh.floorDiv(group), dj, de}, ctx);
    AffineMap sMap = AffineMap::get(4, 0, {dh, di, dj}, ctx);
    Value scores = filledTensor(b, loc, {h, n, m}, 0.0f);
    scores = generic(b, loc, ValueRange{q, k}, scores, {qMap, kMap, sMap}, iterators(3, 1),
                     [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       Value prod = nb.create<arith::MulFOp>(l, a[0], a[1]);
                       return nb.create<arith::AddFOp>(l, a[2], prod);
                     });

    // Query i is position i + shift of the m keys (shift = m - n); key j is
    // masked when j > i + shift, or with a window W when j + W <= i + shift.
    Value shift;
    if (causal)
      shift = b.create<arith::SubIOp>(loc, getValueOrCreateConstantIndexOp(b, loc, m),
                                      getValueOrCreateConstantIndexOp(b, loc, n));
    auto masked = [&](OpBuilder &nb, Location l) -> Value {
      Value i = nb.create<linalg::IndexOp>(l, 1);
      Value j = nb.create<linalg::IndexOp>(l, 2);
      Value last = nb.create<arith::AddIOp>(l, i, shift);
      Value future = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sgt, j, last);
      if (!window)
        return future;
      Value reach = nb.create<arith::AddIOp>(l, j, indexConst(nb, l, int64_t(*window)));
      Value old = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sle, reach, last);
      return nb.create<arith::OrIOp>(l, future, old);
    };
    const double scale = op.getScale().convertToDouble();
    auto scaled = [&](OpBuilder &nb, Location l, Value s) -> Value {
      return nb.create<arith::MulFOp>(l, s, f32Const(nb, l, scale));
    };

    AffineMap id3 = b.getMultiDimIdentityMap(3), rowOf = selectDims(ctx, 3, {0, 1});
    Value rowMax = filledTensor(b, loc, {h, n}, kMaskedProbScore);
    rowMax = generic(b, loc, scores, rowMax, {id3, rowOf}, iterators(2, 1),
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       Value x = scaled(nb, l, a[0]);
                       if (causal)
                         x = nb.create<arith::SelectOp>(l, masked(nb, l),
                                                        f32Const(nb, l, kMaskedProbScore), x);
                       return nb.create<arith::MaximumFOp>(l, a[1], x);
                     });
    Value exps = generic(b, loc, ValueRange{scores, rowMax}, emptyTensor(b, loc, {h, n, m}),
                         {id3, rowOf, id3}, iterators(3),
                         [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           Value e = nb.create<math::ExpOp>(
                               l, nb.create<arith::SubFOp>(l, scaled(nb, l, a[0]), a[1]));
                           if (!causal)
                             return e;
                           return nb.create<arith::SelectOp>(l, masked(nb, l),
                                                             f32Const(nb, l, 0.0), e);
                         });
    Value sums = filledTensor(b, loc, {h, n}, 0.0f);
    sums = generic(b, loc, exps, sums, {id3, rowOf}, iterators(2, 1),
                   [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     return nb.create<arith::AddFOp>(l, a[1], a[0]);
                   });
    // Every row sees at least its own position, so its sum is positive.
    Value probs = generic(b, loc, ValueRange{exps, sums}, emptyTensor(b, loc, {h, n, m}),
                          {id3, rowOf, id3}, iterators(3),
                          [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            return nb.create<arith::DivFOp>(l, a[0], a[1]);
                          });
    rewriter.replaceOp(op, castTo(rewriter, loc, probs, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Model-level attention has no lowering here; report it by name rather than
/// as a generic legalization failure.
LogicalResult checkDecomposed(Operation *root) {
  WalkResult walk = root->walk([](Operation *op) {
    if (!isa<AttentionOp, LatentAttentionOp>(op))
      return WalkResult::advance();
    op->emitOpError("must be decomposed before the conversion to linalg (run "
                    "tfc-attn-decompose first)");
    return WalkResult::interrupt();
  });
  return failure(walk.wasInterrupted());
}

struct ConvertAttnToLinalgPass : tfc::impl::ConvertAttnToLinalgBase<ConvertAttnToLinalgPass> {
  using ConvertAttnToLinalgBase::ConvertAttnToLinalgBase;

  void runOnOperation() override {
    if (failed(checkDecomposed(getOperation())))
      return signalPassFailure();
    if (auto module = dyn_cast<ModuleOp>(getOperation()))
      declareRankIndex(module);
    else if (auto module = getOperation()->getParentOfType<ModuleOp>())
      declareRankIndex(module);
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addLegalDialect<affine::AffineDialect, arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect, tensor::TensorDialect>();
    target.addIllegalDialect<AttnDialect>();
    target.addLegalOp<WeightOp>();
    // The collectives stay until bufferization turns them into runtime calls.
    target.addLegalOp<AllReduceOp, AllGatherOp>();
    // A vocabulary-parallel embedding asks the runtime for the rank.
    target.addLegalOp<func::CallOp>();
    RewritePatternSet patterns(ctx);
    tfc::populateAttnToLinalgPatterns(patterns);
    tfc::populateAttnCacheAndLatentToLinalgPatterns(patterns);
    tfc::populateAttnMoEToLinalgPatterns(patterns, moeDenseReference);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void tfc::populateAttnToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<EmbeddingLowering, PositionEmbeddingLowering, SinusoidalLowering, LinearLowering,
               RMSNormLowering, LayerNormLowering, SplitHeadsLowering, MergeHeadsLowering,
               SliceLastLowering, ConcatLastLowering, RopeLowering, RepeatKVLowering,
               AttentionProbsLowering>(
      patterns.getContext());
  populateAttnTileSDPAPatterns(patterns);
  populateOnlineAttentionToLinalgPatterns(patterns);
  patterns.add<ElementwiseLowering<ReluOp>, ElementwiseLowering<GeluOp>,
               ElementwiseLowering<GeluTanhOp>, ElementwiseLowering<SiluOp>,
               ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>, ElementwiseLowering<MulOp>,
               ElementwiseLowering<DivOp>, ElementwiseLowering<AffineOp>>(patterns.getContext());
}
