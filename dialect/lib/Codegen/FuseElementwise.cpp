//===- FuseElementwise.cpp - Elementwise work fused into its neighbours ---===//
//
// The lowering to linalg gives every mathematical step its own op, and each op
// on tensors becomes its own loop nest (and, with threads, its own parallel
// region) over memory. This pass, on linalg tensors before bufferization,
// merges the elementwise steps into their neighbours so that activations make
// fewer trips through memory and the threads meet at fewer barriers:
//
//  * residual adds disappear into the product that precedes them: the matmul
//    of a linear layer accumulates into its destination, so starting it from
//    the residual instead of zeros computes `x + A·Wᵀ` (and `x + A·Wᵀ + b`
//    with the bias added in place afterwards);
//  * chains of elementwise generics (SiLU(gate)·up, bias then activation,
//    token plus position embeddings) become one generic, through upstream
//    elementwise fusion restricted to producers with a single use, so nothing
//    is computed twice; RoPE reads the projection through permuted indices
//    instead of a transposed copy;
//  * a norm's row reductions and its normalization (scale and shift included)
//    run in one loop over rows: each row is reduced and normalized while it
//    is in cache, in one parallel region.
//
//===----------------------------------------------------------------------===//

#include "tfc/Codegen/Passes.h"
#include "tfc/Utils/LoweringUtils.h"
#include "tfc/Utils/QuantizedMatmul.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tfc {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "tfc/Codegen/Passes.h.inc"
} // namespace tfc

using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// Matchers
//===----------------------------------------------------------------------===//

bool allParallel(linalg::GenericOp op) {
  return llvm::all_of(op.getIteratorTypesArray(), linalg::isParallelIterator);
}

/// Whether the payload of `op` is `yield addf(lhs, rhs)` with {lhs, rhs} the
/// block arguments `a` and `b` in either order.
bool yieldsSumOf(linalg::GenericOp op, BlockArgument a, BlockArgument b) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 2)
    return false;
  auto add = dyn_cast<arith::AddFOp>(body.front());
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (!add || yield.getNumOperands() != 1 || yield.getOperand(0) != add.getResult())
    return false;
  return (add.getLhs() == a && add.getRhs() == b) || (add.getLhs() == b && add.getRhs() == a);
}

/// `x + y` elementwise: two inputs, identity maps, all parallel, the output
/// not read.
bool isElementwiseAdd(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !allParallel(op) ||
      !llvm::all_of(op.getIndexingMapsArray(), [](AffineMap m) { return m.isIdentity(); }))
    return false;
  Block &body = op.getRegion().front();
  return yieldsSumOf(op, body.getArgument(0), body.getArgument(1));
}

/// A bias added in place to `y`: `outs(y)`, one (broadcast) input, yielding
/// `out + in`.
bool isInPlaceBiasAdd(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 || !allParallel(op) ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return false;
  Block &body = op.getRegion().front();
  return yieldsSumOf(op, body.getArgument(0), body.getArgument(1));
}

bool isZeroFill(Value v) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
}

//===----------------------------------------------------------------------===//
// Residual adds into the matmul
//===----------------------------------------------------------------------===//

// add(x, matmul_transpose_b(A, W, fill(0)) [+ bias in place])
//   => matmul_transpose_b(A, W, x) [+ bias in place]
struct FuseResidualIntoMatmul : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp add,
                                PatternRewriter &rewriter) const override {
    if (!add.hasPureTensorSemantics() || !isElementwiseAdd(add))
      return rewriter.notifyMatchFailure(add, "not an elementwise add on tensors");
    for (int64_t i = 0; i < 2; ++i) {
      Value product = add.getDpsInputs()[i], residual = add.getDpsInputs()[1 - i];
      if (succeeded(fuse(rewriter, add, product, residual)))
        return success();
    }
    return rewriter.notifyMatchFailure(add, "no operand is a fusable product");
  }

  /// Makes the matmul behind `product` start from `residual`.
  static LogicalResult fuse(PatternRewriter &rewriter, linalg::GenericOp add, Value product,
                            Value residual) {
    if (!product.hasOneUse() || product.getType() != residual.getType() ||
        product.getType() != add.getResult(0).getType())
      return failure();
    linalg::GenericOp bias = product.getDefiningOp<linalg::GenericOp>();
    Value mmResult = product;
    if (bias) {
      if (!bias.hasPureTensorSemantics() || !isInPlaceBiasAdd(bias))
        return failure();
      mmResult = bias.getDpsInits()[0];
      if (!mmResult.hasOneUse())
        return failure();
    }
    // A linear layer's product: of f32/bf16/f16 weights, or of ggml blocks.
    auto mm = mmResult.getDefiningOp<linalg::LinalgOp>();
    if (!mm || !(isa<linalg::MatmulTransposeBOp>(mm) ||
                 (isa<linalg::GenericOp>(mm) &&
                  tfc::quantizedMatmulFormat(cast<linalg::GenericOp>(mm)))) ||
        !isZeroFill(mm.getDpsInits()[0]))
      return failure();
    // The residual must exist before the product, and its buffer must be free
    // to be overwritten: every other use of it comes before the matmul
    // (otherwise bufferization would copy it, or the matmul would read what it
    // writes).
    if (!DominanceInfo(mm->getParentOp()).properlyDominates(residual, mm))
      return failure();
    for (OpOperand &use : residual.getUses()) {
      if (use.getOwner() == add)
        continue;
      Operation *ancestor = mm->getBlock()->findAncestorOpInBlock(*use.getOwner());
      if (!ancestor || !ancestor->isBeforeInBlock(mm))
        return failure();
    }
    rewriter.modifyOpInPlace(mm, [&] { mm.getDpsInitsMutable()[0].set(residual); });
    rewriter.replaceOp(add, product);
    return success();
  }
};

// %z = fill(0) used as the destination of several products
//   => one fill per product
//
// CSE gives all products of a shape one zero fill; bufferization then fills
// one buffer and copies it for every other product (a read and a write of the
// whole output instead of a write).
struct UnshareFillDestination : OpRewritePattern<linalg::FillOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::FillOp fill, PatternRewriter &rewriter) const override {
    if (!fill.hasPureTensorSemantics() || fill->hasOneUse() || fill->use_empty())
      return rewriter.notifyMatchFailure(fill, "not a shared fill on tensors");
    SmallVector<OpOperand *> destinations;
    for (OpOperand &use : fill->getUses()) {
      auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
      if (!dps || !dps.isDpsInit(&use))
        return rewriter.notifyMatchFailure(fill, "read as an input");
      destinations.push_back(&use);
    }
    // Each product gets its fill right before it (the fill's operands come
    // before all of them).
    for (OpOperand *use : destinations) {
      rewriter.setInsertionPoint(use->getOwner());
      Operation *copy = rewriter.clone(*fill);
      rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(copy->getResult(0)); });
    }
    rewriter.eraseOp(fill);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Elementwise chains
//===----------------------------------------------------------------------===//

// generic ins(b) outs(y) { reads y } => generic ins(b, y) outs(tensor.empty)
//   when its one use is an input of another generic
//
// The lowering adds biases in place (`outs` is the product, read by the
// payload). Fused as it is, such a producer stays an output of the fused op,
// so the fused loop would still store the biased product next to the
// activation; read as an input, it is just a value in the fused payload.
struct ReadInitAsInput : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || !allParallel(op) || op.getNumDpsInits() != 1 ||
        op.getNumResults() != 1 || !op->hasOneUse())
      return rewriter.notifyMatchFailure(op, "not a single-use elementwise op on tensors");
    OpOperand *init = op.getDpsInitOperand(0);
    AffineMap initMap = op.getMatchingIndexingMap(init);
    if (!initMap.isIdentity() || !op.payloadUsesValueFromOperand(init))
      return rewriter.notifyMatchFailure(op, "does not read its output");
    OpOperand &use = *op->use_begin();
    auto consumer = dyn_cast<linalg::GenericOp>(use.getOwner());
    if (!consumer || !consumer.isDpsInput(&use))
      return rewriter.notifyMatchFailure(op, "not an input of a generic");

    Location loc = op.getLoc();
    SmallVector<Value> inputs = op.getDpsInputs();
    inputs.push_back(init->get());
    SmallVector<AffineMap> maps;
    for (OpOperand *input : op.getDpsInputOperands())
      maps.push_back(op.getMatchingIndexingMap(input));
    maps.append({initMap, initMap});
    auto type = cast<RankedTensorType>(init->get().getType());
    Value empty = rewriter.create<tensor::EmptyOp>(
        loc, tensor::getMixedSizes(rewriter, loc, init->get()), type.getElementType());
    auto moved = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{type}, inputs, ValueRange{empty}, maps, op.getIteratorTypesArray(),
        [&](OpBuilder &b, Location, ValueRange args) {
          // Old block arguments: the inputs, then the output (now the last input).
          IRMapping mapping;
          mapping.map(op.getRegion().front().getArguments(), args.drop_back());
          for (Operation &payload : op.getRegion().front())
            b.clone(payload, mapping);
        });
    rewriter.replaceOp(op, moved.getResults());
    return success();
  }
};

// %t = linalg.transpose ins(%e) ; generic ins(%t) { tensor.extract %t[i] }
//   => generic ins(%e, permuted map) { tensor.extract %e[permuted i] }
//
// RoPE reads the heads of q and k ([H, n, d], split off [n, H, d] by a
// transpose) elementwise and its partner element by tensor.extract. Read
// through permuted indices, the projection needs no transposed copy.
struct FoldTransposeIntoGeneric : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    for (OpOperand *input : op.getDpsInputOperands()) {
      auto transpose = input->get().getDefiningOp<linalg::TransposeOp>();
      if (!transpose || !transpose.hasPureTensorSemantics())
        continue;
      Value transposed = input->get();
      // Only this operand and element reads inside `op` see the transpose.
      SmallVector<tensor::ExtractOp> extracts;
      bool onlyHere = llvm::all_of(transposed.getUses(), [&](OpOperand &use) {
        if (&use == input)
          return true;
        auto extract = dyn_cast<tensor::ExtractOp>(use.getOwner());
        if (!extract || extract.getTensor() != transposed || !op->isProperAncestor(extract))
          return false;
        extracts.push_back(extract);
        return true;
      });
      if (!onlyHere)
        continue;
      // transposed[t] = source[s] with s[perm[i]] = t[i], i.e. s = t permuted
      // by the inverse of perm.
      SmallVector<int64_t> inverse = invertPermutationVector(transpose.getPermutation());
      Value source = transpose.getInput();
      AffineMap map = op.getMatchingIndexingMap(input);
      SmallVector<AffineExpr> sourceExprs = applyPermutation(map.getResults(), inverse);
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      maps[input->getOperandNumber()] =
          AffineMap::get(map.getNumDims(), map.getNumSymbols(), sourceExprs, op.getContext());
      rewriter.modifyOpInPlace(op, [&] {
        input->set(source);
        op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      });
      for (tensor::ExtractOp extract : extracts) {
        SmallVector<Value> indices =
            applyPermutation(SmallVector<Value>(extract.getIndices()), inverse);
        rewriter.modifyOpInPlace(extract, [&] {
          extract.getTensorMutable().set(source);
          extract.getIndicesMutable().assign(indices);
        });
      }
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no transposed input read only here");
  }
};

/// Upstream elementwise fusion, only where nothing is recomputed: the producer
/// is a generic whose one result has its one use in the consumer.
/// A producer that reads its output waits for ReadInitAsInput.
bool fuseIntoConsumer(OpOperand *operand) {
  auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
  return producer && producer->hasOneUse() &&
         llvm::none_of(producer.getDpsInitsMutable(), [&](OpOperand &init) {
           return producer.payloadUsesValueFromOperand(&init);
         });
}

//===----------------------------------------------------------------------===//
// Norm rows
//===----------------------------------------------------------------------===//

/// A reduction over the last of two dimensions whose result is one value per
/// row: `(d0, d1) -> (d0)`.
bool isRowReduction(linalg::GenericOp op) {
  if (op.getNumLoops() != 2 || op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics())
    return false;
  auto its = op.getIteratorTypesArray();
  if (!linalg::isParallelIterator(its[0]) || !linalg::isReductionIterator(its[1]))
    return false;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  return out.getNumResults() == 1 && out.getResult(0) == getAffineDimExpr(0, op.getContext());
}

/// The row reductions feeding `op` through row-indexed operands, transitively
/// (LayerNorm's squared deviations read the row sums); empty unless each of
/// them is used only by `op` and the others.
llvm::SetVector<Operation *> rowReductionsOf(linalg::GenericOp op) {
  llvm::SetVector<Operation *> reductions;
  SmallVector<linalg::GenericOp> worklist{op};
  while (!worklist.empty()) {
    linalg::GenericOp user = worklist.pop_back_val();
    for (OpOperand *operand : user.getDpsInputOperands()) {
      auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
      if (!producer || !isRowReduction(producer))
        continue;
      AffineMap map = user.getMatchingIndexingMap(operand);
      if (map.getNumResults() != 1 || map.getResult(0) != getAffineDimExpr(0, op.getContext()))
        return {};
      if (reductions.insert(producer))
        worklist.push_back(producer);
    }
  }
  for (Operation *reduction : reductions)
    for (Operation *user : reduction->getUsers())
      if (user != op && !reductions.contains(user))
        return {};
  return reductions;
}

// row reductions r_j (x) from fills ; generic (x, r_1, ..., w) over [n, d]
//   => scf.forall (%i) in (n) shared_outs(%r_j = alloc_tensor [n], %y = init) {
//        r_j (x[i]) into fill(%r_j[i]) ; generic (x[i], r_1[i], ..., w) into %y[i] }
//
// Built by hand rather than by upstream tile-and-fuse, which tiles a producer
// once per use (LayerNorm's row sum twice) and leaves each row's reduction to
// be privatized by bufferization in a heap buffer of its own. Here each
// reduction writes its row of a shared buffer and the later ops of the row
// read the tiled values. The buffers are bufferization.alloc_tensor, not
// tensor.empty: CSE would merge two empties into one value, and one-shot
// bufferization (MLIR 19) then puts both shared outputs in one buffer.
// Canonicalization must not run between this and bufferization: it drops the
// unused shared outputs, which brings the privatized buffers back.
struct FuseNormRows : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumLoops() != 2 || !allParallel(op) ||
        op.getNumDpsInits() != 1 || op.getNumResults() != 1 ||
        !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
      return rewriter.notifyMatchFailure(op, "not a 2-d elementwise op on tensors");
    if (op->getParentOfType<scf::ForallOp>())
      return rewriter.notifyMatchFailure(op, "already inside a loop over rows");
    llvm::SetVector<Operation *> reductionSet = rowReductionsOf(op);
    if (reductionSet.empty())
      return rewriter.notifyMatchFailure(op, "no row reduction used only here");
    // Program order, all in the consumer's block (so that their operands are
    // available at the consumer), each starting from a fill.
    SmallVector<linalg::GenericOp> reductions;
    SmallVector<linalg::FillOp> fills;
    for (Operation *r : reductionSet) {
      auto reduction = cast<linalg::GenericOp>(r);
      auto fill = reduction.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
      if (r->getBlock() != op->getBlock() || !fill)
        return rewriter.notifyMatchFailure(r, "not a reduction from a fill in this block");
      reductions.push_back(reduction);
    }
    llvm::sort(reductions, [](linalg::GenericOp a, linalg::GenericOp b) {
      return a->isBeforeInBlock(b);
    });
    for (linalg::GenericOp r : reductions)
      fills.push_back(r.getDpsInits()[0].getDefiningOp<linalg::FillOp>());
    Type element = cast<ShapedType>(fills.front().getOutputs()[0].getType()).getElementType();
    if (llvm::any_of(fills, [&](linalg::FillOp f) {
          return cast<ShapedType>(f.getOutputs()[0].getType()).getElementType() != element;
        }))
      return rewriter.notifyMatchFailure(op, "reductions of different element types");

    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    Value init = op.getDpsInits()[0];
    OpFoldResult rows = tensor::getMixedSize(rewriter, loc, init, 0);
    int64_t k = reductions.size();
    auto sumType = RankedTensorType::get({cast<RankedTensorType>(init.getType()).getDimSize(0)},
                                         element);
    SmallVector<Value> dynamicRows;
    if (sumType.isDynamicDim(0))
      dynamicRows.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, rows));
    SmallVector<Value> shared;
    for (int64_t j = 0; j < k; ++j)
      shared.push_back(rewriter.create<bufferization::AllocTensorOp>(loc, sumType, dynamicRows));
    shared.push_back(init);
    auto forall = rewriter.create<scf::ForallOp>(loc, ArrayRef<OpFoldResult>{rows}, shared,
                                                 /*mapping=*/std::nullopt);
    Value row = forall.getInductionVar(0);
    Block::BlockArgListType sharedArgs = forall.getRegionIterArgs();
    Value sharedOut = sharedArgs.back();
    rewriter.setInsertionPoint(forall.getTerminator());
    OpFoldResult one = rewriter.getIndexAttr(1);
    SmallVector<OpFoldResult> sumOffsets{row}, sumSizes{one}, sumStrides{one};

    // Tile each op to its row: a slice of an earlier reduction's result
    // becomes its tiled value; a reduction's init its filled column of the
    // shared sums; the consumer's init stays the slice of its shared output.
    DenseMap<Value, Value> tiledOf;
    SmallVector<Value> tiledSums;
    SmallVector<linalg::GenericOp> ops(reductions);
    ops.push_back(op);
    Value tiledOut;
    for (auto [j, o] : llvm::enumerate(ops)) {
      auto tilable = cast<TilingInterface>(o.getOperation());
      SmallVector<Range> domain = tilable.getIterationDomain(rewriter);
      SmallVector<OpFoldResult> offsets{row, domain[1].offset};
      SmallVector<OpFoldResult> sizes{one, domain[1].size};
      FailureOr<TilingResult> tiled = tilable.getTiledImplementation(rewriter, offsets, sizes);
      if (failed(tiled) || tiled->tiledOps.size() != 1 || tiled->tiledValues.size() != 1)
        return rewriter.notifyMatchFailure(o, "cannot tile to a row");
      auto tiledOp = cast<linalg::GenericOp>(tiled->tiledOps.front());
      // (The slice goes: nothing may still read a reduction erased below.)
      for (OpOperand *input : tiledOp.getDpsInputOperands())
        if (auto slice = input->get().getDefiningOp<tensor::ExtractSliceOp>())
          if (Value t = tiledOf.lookup(slice.getSource()))
            rewriter.replaceOp(slice, t);
      OpOperand *out = tiledOp.getDpsInitOperand(0);
      auto outSlice = out->get().getDefiningOp<tensor::ExtractSliceOp>();
      if (!outSlice)
        return rewriter.notifyMatchFailure(o, "unexpected tiled destination");
      if (o == op) {
        rewriter.modifyOpInPlace(outSlice, [&] { outSlice.getSourceMutable().set(sharedOut); });
        tiledOut = tiled->tiledValues.front();
        continue;
      }
      rewriter.setInsertionPoint(tiledOp);
      Value rowSum = rewriter.create<tensor::ExtractSliceOp>(loc, sharedArgs[j], sumOffsets,
                                                             sumSizes, sumStrides);
      Value filled =
          rewriter.create<linalg::FillOp>(loc, fills[j].getInputs(), rowSum).getResult(0);
      rewriter.modifyOpInPlace(tiledOp, [&] { out->set(filled); });
      rewriter.setInsertionPoint(forall.getTerminator());
      tiledOf[o->getResult(0)] = tiled->tiledValues.front();
      tiledSums.push_back(tiled->tiledValues.front());
    }

    rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
    for (auto [j, sum] : llvm::enumerate(tiledSums))
      rewriter.create<tensor::ParallelInsertSliceOp>(loc, sum, sharedArgs[j], sumOffsets,
                                                     sumSizes, sumStrides);
    SmallVector<OpFoldResult> outOffsets{row, rewriter.getIndexAttr(0)};
    rewriter.create<tensor::ParallelInsertSliceOp>(
        loc, tiledOut, sharedOut, outOffsets, tensor::getMixedSizes(rewriter, loc, tiledOut),
        SmallVector<OpFoldResult>{one, one});
    rewriter.replaceOp(op, forall.getResults().back());
    for (linalg::GenericOp r : llvm::reverse(reductions))
      rewriter.eraseOp(r);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct FuseElementwisePass : tfc::impl::FuseElementwiseBase<FuseElementwisePass> {
  using FuseElementwiseBase::FuseElementwiseBase;

  void runOnOperation() override {
    // In this order: elementwise fusion would otherwise fold a bias add into
    // the residual add, and the norm rows want the fused generics.
    using Populate = void (*)(RewritePatternSet &);
    const std::pair<bool, Populate> stages[] = {
        {residual, tfc::populateFuseResidualIntoMatmulPatterns},
        {elementwise, tfc::populateFuseElementwiseChainPatterns},
        {normRows, tfc::populateFuseNormRowsPatterns}};
    for (auto [enabled, populate] : stages)
      if (enabled && failed(tfc::applyPopulatedPatterns(getOperation(), populate)))
        return signalPassFailure();
  }
};

} // namespace

void tfc::populateFuseResidualIntoMatmulPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseResidualIntoMatmul, UnshareFillDestination>(patterns.getContext());
}

void tfc::populateFuseElementwiseChainPatterns(RewritePatternSet &patterns) {
  patterns.add<FoldTransposeIntoGeneric, ReadInitAsInput>(patterns.getContext());
  linalg::populateElementwiseOpsFusionPatterns(patterns, fuseIntoConsumer);
}

void tfc::populateFuseNormRowsPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseNormRows>(patterns.getContext());
}
