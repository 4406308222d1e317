//===- LatentAttention.cpp - MLA in the latent space ----------------------===//
//
// DeepSeek-V2's multi-head latent attention, computed the way its paper argues:
// keys and values stay in the kv_rank latent; the key up-projection is absorbed
// into the queries and the value up-projection is applied after attention, so
// attention itself is multi-query attention over one shared key [c, k_pe] whose
// first kv_rank columns are the values. The algebra is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "HeadBuilder.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNLATENT
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

/// k_b [heads, kv_rank, nope] and v_b [heads, v, kv_rank] when `kvB` is the
/// kv_b_proj the tdsl frontend builds from them (mla(split_kv_b = true)):
/// collapse_shape(insert_slice(v_b, insert_slice(transpose(k_b), empty) at row
/// 0) at row nope).
std::optional<std::pair<Value, Value>> splitUpProjections(Value kvB, int64_t nope, int64_t vDim) {
  auto collapse = kvB.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse)
    return std::nullopt;
  auto putV = collapse.getSrc().getDefiningOp<tensor::InsertSliceOp>();
  auto putK = putV ? putV.getDest().getDefiningOp<tensor::InsertSliceOp>() : nullptr;
  if (!putK || !putK.getDest().getDefiningOp<tensor::EmptyOp>() || !putV.hasUnitStride() ||
      !putK.hasUnitStride() || putV.getStaticOffsets() != ArrayRef<int64_t>{0, nope, 0} ||
      putK.getStaticOffsets() != ArrayRef<int64_t>{0, 0, 0} ||
      putV.getSourceType().getDimSize(1) != vDim || putK.getSourceType().getDimSize(1) != nope)
    return std::nullopt;
  auto transpose = putK.getSource().getDefiningOp<linalg::TransposeOp>();
  if (!transpose || transpose.getPermutation() != ArrayRef<int64_t>{0, 2, 1})
    return std::nullopt;
  return std::make_pair(transpose.getInput(), putV.getSource());
}

// attn.latent_attention => q projections, [c, k_pe] as one shared latent key,
//   attn.batch_matmul (q_nope · W_UK), attn.sdpa {kv_heads = 1} in the latent
//   space, attn.batch_matmul (o_lat · W_UVᵀ), attn.merge_heads, attn.linear
struct AbsorbLatentAttention : OpRewritePattern<LatentAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LatentAttentionOp op, PatternRewriter &rewriter) const override {
    if (op.getQWeights().size() != 1 && op.getQWeights().size() != 3)
      return rewriter.notifyMatchFailure(op, "expected one or three q weights");
    Location loc = op.getLoc();
    HeadBuilder b(rewriter, loc);
    int64_t heads = op.getHeads(), rank = op.getKvRank(), ropeDim = op.getRopeDim(),
            nope = op.getNopeDim(), vDim = op.getVDim();
    auto [qNope, qPe, c, kPe] = b.latentInputs(op);

    // The shared latent key [c, k_pe]; its first kv_rank columns are the values.
    Value key = b.concatLast(b.splitHeads(c, 1), kPe);
    Value value = b.sliceLast(key, 0, rank);

    // W_UK[h] = kv_b_proj rows [h*(nope+v), h*(nope+v)+nope), W_UV[h] the next v rows.
    // A kv_b_proj built from a GGUF file's split attn_k_b (W_UK[h] transposed)
    // and attn_v_b (W_UV) takes those two as they are: nothing is copied.
    Value qUK;
    Value wUV;
    if (std::optional<std::pair<Value, Value>> split = splitUpProjections(op.getWkvB(), nope, vDim)) {
      qUK = b.batchMatmul(qNope, split->first, /*transposeRhs=*/true);
      wUV = split->second;
    } else {
      auto perHead = b.f32Tensor({heads, nope + vDim, rank});
      Value w3 = rewriter.create<tensor::ExpandShapeOp>(
          loc, perHead, op.getWkvB(), ArrayRef<ReassociationIndices>{{0, 1}, {2}});
      auto view = [&](int64_t row, int64_t rows) -> Value {
        return rewriter.create<tensor::ExtractSliceOp>(
            loc, b.f32Tensor({heads, rows, rank}), w3, ValueRange{}, ValueRange{}, ValueRange{},
            rewriter.getDenseI64ArrayAttr({0, row, 0}),
            rewriter.getDenseI64ArrayAttr({heads, rows, rank}),
            rewriter.getDenseI64ArrayAttr({1, 1, 1}));
      };
      Value wUK = view(0, nope);
      wUV = view(nope, vDim);
      qUK = b.batchMatmul(qNope, wUK, /*transposeRhs=*/false);
    }

    Value qAbs = b.concatLast(qUK, qPe);
    double scale = ropeAttentionFactors(op.getRopeScalingAttr()).softmax /
                   std::sqrt(static_cast<double>(nope + ropeDim));
    Value oLat = b.sdpa(qAbs, key, value, op.getCausal(), scale);
    Value o = b.batchMatmul(oLat, wUV, /*transposeRhs=*/true);
    rewriter.replaceOp(op, b.linear(b.mergeHeads(o), op.getWo()));
    return success();
  }
};

struct AttnLatentPass : tfc::attn::impl::AttnLatentBase<AttnLatentPass> {
  void runOnOperation() override {
    if (failed(tfc::applyPopulatedPatterns(getOperation(), populateAttnLatentPatterns)))
      signalPassFailure();
  }
};

} // namespace

void tfc::attn::populateAttnLatentPatterns(RewritePatternSet &patterns) {
  patterns.add<AbsorbLatentAttention>(patterns.getContext());
}
