//===- AttnToLinalg.cpp - attn to linalg on tensors -----------------------===//
//
// The reference lowering of every head-level and elementwise attn op into
// destination-style linalg on tensors (plus tensor, arith and math). It favours
// obvious correctness over speed: one linalg op per mathematical step, f64 for
// the position angles, a two-pass layer norm and a max-subtracted softmax. The
// token count stays dynamic: sizes are read with tensor.dim (through
// tensor::getMixedSize) and results start as tensor.empty. attn.weight stays
// for tfc-lower-entry-points; attn.attention and attn.latent_attention must
// have been decomposed by tfc-attn-decompose.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

namespace tfc {
#define GEN_PASS_DEF_CONVERTATTNTOLINALG
#include "tfc/Conversion/Passes.h.inc"
} // namespace tfc

using namespace mlir;
using namespace tfc::attn;

namespace {

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;



//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

/// An empty f32 tensor of the given sizes (static or read off a tensor).
Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return b.create<tensor::EmptyOp>(loc, sizes, b.getF32Type());
}

/// `value` splatted into an empty f32 tensor of the given sizes.
Value filledTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, float value) {
  Value cst = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(value));
  return b.create<linalg::FillOp>(loc, cst, emptyTensor(b, loc, sizes)).getResult(0);
}

/// Sizes of `v` along `dims`, in that order.
SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> dims) {
  return llvm::map_to_vector(dims, [&](int64_t d) { return tensor::getMixedSize(b, loc, v, d); });
}

/// The lowering builds its types from the operand types; the op's result type
/// may be more static than that (the verifiers accept a static size against a
/// dynamic one), in which case a tensor.cast restores it.
Value castTo(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  return b.create<tensor::CastOp>(loc, type, v);
}

SmallVector<utils::IteratorType> iterators(int64_t parallel, int64_t reductions = 0) {
  SmallVector<utils::IteratorType> its(parallel, utils::IteratorType::parallel);
  its.append(reductions, utils::IteratorType::reduction);
  return its;
}

/// An affine map over `numDims` loops selecting `dims`.
AffineMap selectDims(MLIRContext *ctx, unsigned numDims, ArrayRef<unsigned> dims) {
  return AffineMap::getMultiDimMapWithTargets(numDims, dims, ctx);
}

/// One linalg.generic: `body` maps the block arguments (inputs then the output)
/// to the value yielded; the output is also the init, and its map is the last.
Value generic(OpBuilder &b, Location loc, ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
              ArrayRef<utils::IteratorType> its, BodyFn body) {
  auto op = b.create<linalg::GenericOp>(
      loc, init.getType(), inputs, init, maps, its,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc, body(nb, nloc, args));
      });
  return op.getResult(0);
}

/// Elementwise generic with identity maps writing a fresh tensor shaped like
/// inputs[0].
Value mapElementwise(OpBuilder &b, Location loc, ValueRange inputs, BodyFn body) {
  int64_t rank = tensorType(inputs[0]).getRank();
  Value init = emptyTensor(b, loc, tensor::getMixedSizes(b, loc, inputs[0]));
  SmallVector<AffineMap> maps(inputs.size() + 1, b.getMultiDimIdentityMap(rank));
  return generic(b, loc, inputs, init, maps, iterators(rank), body);
}

Value f32Const(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(static_cast<float>(v)));
}

Value f64Const(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v));
}

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

/// An index as an f64 (positions and frequency indices, exact below 2^53).
Value indexToF64(OpBuilder &b, Location loc, Value index) {
  Value i64 = b.create<arith::IndexCastOp>(loc, b.getI64Type(), index);
  return b.create<arith::SIToFPOp>(loc, b.getF64Type(), i64);
}

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
    Value result = generic(rewriter, loc, tokens, init,
                           {selectDims(ctx, 2, {0}), rewriter.getMultiDimIdentityMap(2)},
                           iterators(2), [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                             Value row = b.create<arith::IndexCastOp>(l, b.getIndexType(), args[0]);
                             Value col = b.create<linalg::IndexOp>(l, 1);
                             return b.create<tensor::ExtractOp>(l, table, ValueRange{row, col});
                           });
    rewriter.replaceOp(op, castTo(rewriter, loc, result, op.getType()));
    return success();
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
    Value result = generic(
        rewriter, loc, {}, init, {rewriter.getMultiDimIdentityMap(2)}, iterators(2),
        [&](OpBuilder &b, Location l, ValueRange) -> Value {
          Value pos = b.create<linalg::IndexOp>(l, 0);
          if (offset)
            pos = b.create<arith::AddIOp>(l, pos, offset);
          Value col = b.create<linalg::IndexOp>(l, 1);
          Value odd = b.create<arith::RemUIOp>(l, col, indexConst(b, l, 2));
          Value even = b.create<arith::SubIOp>(l, col, odd); // 2i
          Value freq = b.create<math::ExpOp>(
              l, b.create<arith::MulFOp>(l, indexToF64(b, l, even), f64Const(b, l, logScale)));
          Value angle = b.create<arith::MulFOp>(l, indexToF64(b, l, pos), freq);
          Value isOdd = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::ne, odd,
                                                indexConst(b, l, 0));
          Value v = b.create<arith::SelectOp>(l, isOdd, b.create<math::CosOp>(l, angle),
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
struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), w = adaptor.getWeight(), bias = adaptor.getBias();
    SmallVector<OpFoldResult> sizes{tensor::getMixedSize(rewriter, loc, x, 0),
                                    tensor::getMixedSize(rewriter, loc, w, 0)};
    Value init = filledTensor(rewriter, loc, sizes, 0.0f);
    Value y = rewriter
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
    bool interleaved = op.getStyle() == "interleaved";
    if (!interleaved && op.getStyle() != "half")
      return rewriter.notifyMatchFailure(op, "unknown rope style");
    // theta^(-2i/d) = exp(i * (-2 ln theta / d))
    double logScale = -2.0 * std::log(op.getTheta().convertToDouble()) / static_cast<double>(d);

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
          Value invFreq = b.create<math::ExpOp>(
              l, b.create<arith::MulFOp>(l, indexToF64(b, l, freqIndex), f64Const(b, l, logScale)));
          Value angle = b.create<arith::MulFOp>(l, indexToF64(b, l, pos), invFreq);
          Value cos = b.create<arith::TruncFOp>(l, b.getF32Type(), b.create<math::CosOp>(l, angle));
          Value sin = b.create<arith::TruncFOp>(l, b.getF32Type(), b.create<math::SinOp>(l, angle));
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

// attn.sdpa => flash-style attention over tiles of kKeyTile keys. The query
//   rows of each key/value head's group are stacked, q [kv, G*n, d]
//   (G = heads / kv_heads), so each cached key/value row is read once per step,
//   not once per query head. An scf.for over key tiles carries, per query row,
//   the running max M, the running sum L and the unnormalized output O:
//     S = q · k_tileᵀ (linalg.batch_matmul_transpose_b)  [kv, G*n, tile]
//     M' = max(M, max_j S·scale)       over the keys the row may see
//     P = exp(S·scale - M')            (0 where masked: causal j > (r mod n) + m - n)
//     L' = L·exp(M - M') + Σ_j P
//     O' = O·exp(M - M') + P · v_tile  (linalg.batch_matmul accumulating into O)
//   and O / L at the end, back to [heads, n, dv]. Only a [kv, G*n, tile]
//   score block exists at a time, however long the context.
struct SDPALowering : OpConversionPattern<SDPAOp> {
  /// `keyTile` keys per tile (the pass option; 128 by default: the score
  /// block is [kv_heads, G·n, 128] floats, 8 MiB for a 512-token prefill of
  /// TinyLlama's 32 query heads, however long the context).
  SDPALowering(MLIRContext *ctx, int64_t keyTile)
      : OpConversionPattern(ctx), keyTile(keyTile) {}

  LogicalResult matchAndRewrite(SDPAOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value q = adaptor.getQuery(), k = adaptor.getKey(), v = adaptor.getValue();
    int64_t kvHeads = op.getKvHeads();
    int64_t group = op.getHeads() / op.getKvHeads();
    auto &b = rewriter;

    // q [H, n, d] -> [kv, G, n, d] -> [kv, G*n, d].
    auto qType = tensorType(q);
    int64_t nStatic = qType.getDimSize(1), d = qType.getDimSize(2);
    int64_t rowsStatic = ShapedType::isDynamic(nStatic) ? ShapedType::kDynamic : group * nStatic;
    OpFoldResult n = tensor::getMixedSize(b, loc, q, 1), m = tensor::getMixedSize(b, loc, k, 1);
    OpFoldResult dv = tensor::getMixedSize(b, loc, v, 2);
    Value qg = b.create<tensor::ExpandShapeOp>(
        loc, RankedTensorType::get({kvHeads, group, nStatic, d}, qType.getElementType()), q,
        ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
    Value qRows = b.create<tensor::CollapseShapeOp>(
        loc, RankedTensorType::get({kvHeads, rowsStatic, d}, qType.getElementType()), qg,
        ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});

    OpFoldResult kvs = b.getIndexAttr(kvHeads);
    OpFoldResult rows = tensor::getMixedSize(b, loc, qRows, 1);
    AffineMap id3 = b.getMultiDimIdentityMap(3);
    AffineMap id2 = b.getMultiDimIdentityMap(2);
    AffineMap rowMap = AffineMap::get(3, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(1)},
                                      b.getContext());
    int64_t dk = tensorType(k).getDimSize(2);

    // Row r is query r mod n, at position (r mod n) + m - n: the queries are
    // the last n of the m positions.
    Value mValue = getValueOrCreateConstantIndexOp(b, loc, m);
    Value shift, nValue;
    if (op.getCausal()) {
      nValue = getValueOrCreateConstantIndexOp(b, loc, n);
      shift = b.create<arith::SubIOp>(loc, mValue, nValue);
    }
    float scale = static_cast<float>(op.getScale().convertToDouble());
    // Whether key j0 + j (j: loop 2 of the tile) is hidden from row (loop 1).
    auto masked = [&](OpBuilder &nb, Location l, Value j0) -> Value {
      if (!shift)
        return {};
      Value qi = nb.create<arith::RemUIOp>(l, nb.create<linalg::IndexOp>(l, 1), nValue);
      Value kj = nb.create<arith::AddIOp>(l, j0, nb.create<linalg::IndexOp>(l, 2));
      Value last = nb.create<arith::AddIOp>(l, qi, shift);
      return nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sgt, kj, last);
    };

    Value negInf = f32Const(b, loc, -std::numeric_limits<float>::infinity());
    Value rowMax0 = filledTensor(b, loc, {kvs, rows}, -std::numeric_limits<float>::infinity());
    Value rowSum0 = filledTensor(b, loc, {kvs, rows}, 0.0f);
    Value out0 = filledTensor(b, loc, {kvs, rows, dv}, 0.0f);
    Value c0 = indexConst(b, loc, 0), tileSize = indexConst(b, loc, keyTile);
    auto loop = b.create<scf::ForOp>(
        loc, c0, mValue, tileSize, ValueRange{rowMax0, rowSum0, out0},
        [&](OpBuilder &lb, Location l, Value j0, ValueRange carried) {
          Value rowMax = carried[0], rowSum = carried[1], out = carried[2];
          Value tile = lb.create<arith::MinSIOp>(l, tileSize,
                                                 lb.create<arith::SubIOp>(l, mValue, j0));
          OpFoldResult zero = lb.getIndexAttr(0), one = lb.getIndexAttr(1);
          Value kTile = lb.create<tensor::ExtractSliceOp>(
              l, k, ArrayRef<OpFoldResult>{zero, j0, zero},
              ArrayRef<OpFoldResult>{kvs, tile, lb.getIndexAttr(dk)},
              ArrayRef<OpFoldResult>{one, one, one});
          Value vTile = lb.create<tensor::ExtractSliceOp>(
              l, v, ArrayRef<OpFoldResult>{zero, j0, zero},
              ArrayRef<OpFoldResult>{kvs, tile, dv}, ArrayRef<OpFoldResult>{one, one, one});

          // S = q k_tileᵀ.
          // The score block is a slice of a full-tile buffer, so that its
          // size does not depend on the iteration (the last tile may be
          // partial) and the activation plan can place it.
          Value block = emptyTensor(lb, l, {kvs, rows, lb.getIndexAttr(keyTile)});
          Value scores = lb.create<tensor::ExtractSliceOp>(
              l, block, ArrayRef<OpFoldResult>{zero, zero, zero},
              ArrayRef<OpFoldResult>{kvs, rows, tile}, ArrayRef<OpFoldResult>{one, one, one});
          scores = lb.create<linalg::FillOp>(l, f32Const(lb, l, 0.0), scores).getResult(0);
          scores = lb.create<linalg::BatchMatmulTransposeBOp>(l, scores.getType(),
                                                              ValueRange{qRows, kTile}, scores)
                       .getResult(0);

          // The tile's max of S·scale over the keys each row may see.
          Value tileMax = generic(
              lb, l, scores,
              filledTensor(lb, l, {kvs, rows}, -std::numeric_limits<float>::infinity()),
              {id3, rowMap}, iterators(2, 1),
              [&](OpBuilder &nb, Location ll, ValueRange a) -> Value {
                Value s = nb.create<arith::MulFOp>(ll, a[0], f32Const(nb, ll, scale));
                Value mx = nb.create<arith::MaximumFOp>(ll, a[1], s);
                if (Value hidden = masked(nb, ll, j0))
                  return nb.create<arith::SelectOp>(ll, hidden, a[1], mx);
                return mx;
              });
          // exp(M - M') with M' = max(M, tile max): how much of what was
          // summed so far survives. Rows that have seen no key yet (M = -inf)
          // have nothing to rescale.
          Value correction = generic(
              lb, l, ValueRange{rowMax, tileMax}, emptyTensor(lb, l, {kvs, rows}),
              {id2, id2, id2}, iterators(2), [&](OpBuilder &nb, Location ll, ValueRange a) {
                Value fresh = nb.create<arith::CmpFOp>(ll, arith::CmpFPredicate::OEQ, a[0], negInf);
                Value mx = nb.create<arith::MaximumFOp>(ll, a[0], a[1]);
                Value c = nb.create<math::ExpOp>(ll, nb.create<arith::SubFOp>(ll, a[0], mx));
                return nb.create<arith::SelectOp>(ll, fresh, f32Const(nb, ll, 0.0), c).getResult();
              });
          // M' (in place of M, which nothing reads after this).
          Value newMax = generic(lb, l, tileMax, rowMax, {id2, id2}, iterators(2),
                                 [](OpBuilder &nb, Location ll, ValueRange a) -> Value {
                                   return nb.create<arith::MaximumFOp>(ll, a[1], a[0]);
                                 });
          // P = exp(S·scale - M') in place of S, 0 where masked. A masked
          // key's exponent is replaced by 0 before the exp: its score may be
          // anything, and the vector exp leaves its fast path for overflow,
          // underflow and infinities.
          Value probs = generic(
              lb, l, newMax, scores, {rowMap, id3}, iterators(3),
              [&](OpBuilder &nb, Location ll, ValueRange a) -> Value {
                Value s = nb.create<arith::MulFOp>(ll, a[1], f32Const(nb, ll, scale));
                Value x = nb.create<arith::SubFOp>(ll, s, a[0]);
                Value hidden = masked(nb, ll, j0);
                if (!hidden)
                  return nb.create<math::ExpOp>(ll, x);
                Value zero = f32Const(nb, ll, 0.0);
                Value p = nb.create<math::ExpOp>(ll, nb.create<arith::SelectOp>(ll, hidden, zero, x));
                return nb.create<arith::SelectOp>(ll, hidden, zero, p);
              });
          // L' = L·exp(M - M') + Σ_j P.
          Value scaledSum = generic(lb, l, correction, rowSum, {id2, id2}, iterators(2),
                                    [](OpBuilder &nb, Location ll, ValueRange a) -> Value {
                                      return nb.create<arith::MulFOp>(ll, a[1], a[0]);
                                    });
          Value newSum = generic(lb, l, probs, scaledSum, {id3, rowMap}, iterators(2, 1),
                                 [](OpBuilder &nb, Location ll, ValueRange a) -> Value {
                                   return nb.create<arith::AddFOp>(ll, a[1], a[0]);
                                 });
          // O' = O·exp(M - M') + P v_tile.
          Value scaledOut = generic(lb, l, correction, out, {rowMap, id3}, iterators(3),
                                    [](OpBuilder &nb, Location ll, ValueRange a) -> Value {
                                      return nb.create<arith::MulFOp>(ll, a[1], a[0]);
                                    });
          Value newOut =
              lb.create<linalg::BatchMatmulOp>(l, scaledOut.getType(), ValueRange{probs, vTile},
                                               scaledOut)
                  .getResult(0);
          lb.create<scf::YieldOp>(l, ValueRange{newMax, newSum, newOut});
        });

    // O / L (every row sees at least key 0, so L >= 1).
    Value out = generic(b, loc, loop.getResult(1), loop.getResult(2), {rowMap, id3}, iterators(3),
                        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          return nb.create<arith::DivFOp>(l, a[1], a[0]);
                        });

    // [kv, G*n, dv] -> [kv, G, n, dv] -> [heads, n, dv].
    auto outType = tensorType(out);
    int64_t dvStatic = outType.getDimSize(2);
    Value grouped = b.create<tensor::ExpandShapeOp>(
        loc, RankedTensorType::get({kvHeads, group, nStatic, dvStatic}, outType.getElementType()),
        out, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}},
        ArrayRef<OpFoldResult>{kvs, b.getIndexAttr(group), n, dv});
    Value merged = b.create<tensor::CollapseShapeOp>(
        loc,
        RankedTensorType::get({static_cast<int64_t>(op.getHeads()), nStatic, dvStatic},
                              outType.getElementType()),
        grouped, ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
    rewriter.replaceOp(op, castTo(rewriter, loc, merged, op.getType()));
    return success();
  }

  int64_t keyTile;
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
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addLegalDialect<affine::AffineDialect, arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect, tensor::TensorDialect>();
    target.addIllegalDialect<AttnDialect>();
    target.addLegalOp<WeightOp>();
    RewritePatternSet patterns(ctx);
    if (keyTile <= 0) {
      getOperation()->emitError("tfc-convert-attn-to-linalg: key-tile must be positive");
      return signalPassFailure();
    }
    tfc::populateAttnToLinalgPatterns(patterns, keyTile);
    tfc::populateAttnCacheAndLatentToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void tfc::populateAttnToLinalgPatterns(RewritePatternSet &patterns, int64_t keyTile) {
  patterns.add<EmbeddingLowering, PositionEmbeddingLowering, SinusoidalLowering, LinearLowering,
               RMSNormLowering, LayerNormLowering, SplitHeadsLowering, MergeHeadsLowering,
               SliceLastLowering, ConcatLastLowering, RopeLowering, RepeatKVLowering>(
      patterns.getContext());
  patterns.add<SDPALowering>(patterns.getContext(), keyTile);
  patterns.add<ElementwiseLowering<ReluOp>, ElementwiseLowering<GeluOp>,
               ElementwiseLowering<GeluTanhOp>, ElementwiseLowering<SiluOp>,
               ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>, ElementwiseLowering<MulOp>,
               ElementwiseLowering<DivOp>, ElementwiseLowering<AffineOp>>(patterns.getContext());
}
