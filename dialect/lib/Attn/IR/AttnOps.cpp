//===- AttnOps.cpp - Verifiers of the attn operations ---------------------===//
//
// The invariants each op relies on: shapes that agree with the attributes
// (heads, kv_heads, head_dim, ranks), so that passes and the lowering can read
// sizes off the types without checking them again.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace tfc::attn;

namespace {

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

int64_t dimOf(Value v, int64_t d) { return tensorType(v).getDimSize(d); }

/// Two sizes agree when either is dynamic or they are equal.
bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// `[4, ?, 64]`: sizes, `?` for a dynamic one (or, in an expected shape, any).
std::string dimsString(ArrayRef<int64_t> dims) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleave(
      dims, os,
      [&](int64_t d) {
        if (d < 0) // ShapedType::kDynamic too
          os << "?";
        else
          os << d;
      },
      ", ");
  os << "]";
  return s;
}

std::string shapeString(Value v) { return dimsString(tensorType(v).getShape()); }

/// Checks that `v` has rank `rank` and, for each non-negative entry of `expected`,
/// that size; `what` names the operand in the message.
LogicalResult expectShape(Operation *op, Value v, StringRef what, ArrayRef<int64_t> expected) {
  auto type = tensorType(v);
  bool ok = type.getRank() == static_cast<int64_t>(expected.size());
  for (auto [i, e] : llvm::enumerate(expected))
    if (ok && e >= 0 && !compatible(type.getDimSize(i), e))
      ok = false;
  if (ok)
    return success();
  return op->emitOpError() << what << " has shape " << shapeString(v) << ", expected "
                           << dimsString(expected);
}

/// Query heads share the key/value heads in equal groups (GQA).
LogicalResult verifyHeads(Operation *op, int64_t heads, int64_t kvHeads) {
  if (heads <= 0 || kvHeads <= 0)
    return op->emitOpError() << "heads (" << heads << ") and kv_heads (" << kvHeads
                             << ") must be positive";
  if (heads % kvHeads != 0)
    return op->emitOpError() << "heads (" << heads << ") must be divisible by kv_heads ("
                             << kvHeads << ")";
  return success();
}

LogicalResult verifyRope(Operation *op, std::optional<double> theta, bool hasStyle,
                         int64_t rotatedDim) {
  if (hasStyle && !theta)
    return op->emitOpError("rope_style requires rope_theta");
  if (!theta)
    return success();
  if (*theta <= 0)
    return op->emitOpError() << "rope_theta (" << *theta << ") must be positive";
  if (rotatedDim % 2 != 0)
    return op->emitOpError() << "rope needs an even rotated dimension, got " << rotatedDim;
  return success();
}

/// A sliding window is a number of positions and only narrows a causal mask.
LogicalResult verifyWindow(Operation *op, std::optional<uint64_t> window, bool causal) {
  if (!window)
    return success();
  if (static_cast<int64_t>(*window) <= 0)
    return op->emitOpError() << "window (" << static_cast<int64_t>(*window)
                             << ") must be positive";
  if (!causal)
    return op->emitOpError("a sliding window needs causal attention");
  return success();
}

} // namespace

#define GET_OP_CLASSES
#include "tfc/Dialect/Attn/IR/AttnOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Weights and embeddings
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (!getType().hasStaticShape())
    return emitOpError("weight must have a static shape");
  WeightNameAttr name = getName();
  if (name.isStacked() && getType().getRank() < 2)
    return emitOpError() << "stacked weight '" << name.str()
                         << "' needs a leading layer dimension and a tensor per layer, got "
                         << shapeString(getResult());
  // A rank's experts (tfc-attn-tensor-parallel's expert split, `attn.shard`
  // [-2, parts, ranks, experts]): ceil(experts / parts) per layer.
  int64_t entries = name.getEntries();
  if (auto shard = (*this)->getAttrOfType<DenseI64ArrayAttr>("attn.shard");
      shard && shard.size() == 4 && shard[0] == -2 && name.getExperts() > 0 && shard[1] > 0)
    entries = entries / name.getExperts() * llvm::divideCeil(name.getExperts(), shard[1]);
  if (name.isStacked() && getType().getDimSize(0) != entries)
    return emitOpError() << "stacked weight '" << name.str() << "' has " << entries
                         << (name.getExperts() > 0 ? " entries (layers times experts)" : " layers")
                         << " but a leading dimension of " << getType().getDimSize(0);
  return success();
}

LogicalResult EmbeddingOp::verify() {
  if (tensorType(getTable()).getRank() != 2)
    return emitOpError("table must be of rank 2");
  if (getVocabParts() && *getVocabParts() < 2)
    return emitOpError("vocab_parts must be at least 2");
  return expectShape(*this, getResult(), "result", {dimOf(getTokens(), 0), dimOf(getTable(), 1)});
}

LogicalResult PositionEmbeddingOp::verify() {
  if (tensorType(getTable()).getRank() != 2)
    return emitOpError("table must be of rank 2");
  return expectShape(*this, getResult(), "result", {dimOf(getTokens(), 0), dimOf(getTable(), 1)});
}

LogicalResult SinusoidalOp::verify() {
  int64_t dim = dimOf(getResult(), 1);
  if (ShapedType::isDynamic(dim) || dim % 2 != 0)
    return emitOpError() << "width must be static and even, got " << shapeString(getResult());
  return expectShape(*this, getResult(), "result", {dimOf(getTokens(), 0), dim});
}

//===----------------------------------------------------------------------===//
// Dense layers
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  if (failed(expectShape(*this, getWeight(), "weight", {-1, -1})))
    return failure();
  int64_t out = dimOf(getWeight(), 0), in = dimOf(getWeight(), 1);
  if (getWeightInOut())
    std::swap(out, in);
  if (!compatible(dimOf(getInput(), 1), in))
    return emitOpError() << "input width (" << dimOf(getInput(), 1)
                         << ") does not match the weight's input width (" << in << ")";
  if (getBias() && failed(expectShape(*this, getBias(), "bias", {out})))
    return failure();
  return expectShape(*this, getResult(), "result", {dimOf(getInput(), 0), out});
}

LogicalResult RMSNormOp::verify() {
  if (getEps().convertToDouble() < 0)
    return emitOpError("eps must not be negative");
  if (failed(expectShape(*this, getWeight(), "weight", {dimOf(getInput(), 1)})))
    return failure();
  return expectShape(*this, getResult(), "result", tensorType(getInput()).getShape());
}

LogicalResult LayerNormOp::verify() {
  if (getEps().convertToDouble() < 0)
    return emitOpError("eps must not be negative");
  int64_t d = dimOf(getInput(), 1);
  if (failed(expectShape(*this, getWeight(), "weight", {d})) ||
      failed(expectShape(*this, getBias(), "bias", {d})))
    return failure();
  return expectShape(*this, getResult(), "result", tensorType(getInput()).getShape());
}

//===----------------------------------------------------------------------===//
// Attention at the model level
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  int64_t heads = getHeads(), kvHeads = getKvHeads(), hd = getHeadDim();
  if (heads <= 0 || kvHeads <= 0 || hd <= 0)
    return emitOpError() << "heads (" << heads << "), kv_heads (" << kvHeads << ") and head_dim ("
                         << hd << ") must be positive";
  if (heads % kvHeads != 0)
    return emitOpError() << "heads (" << heads << ") must be divisible by kv_heads (" << kvHeads
                         << ")";
  if (getMemory() && getCausal())
    return emitOpError("cross-attention over a memory cannot be causal");
  int64_t dim = dimOf(getInput(), 1);
  int64_t memDim = getMemory() ? dimOf(getMemory(), 1) : dim;
  if (failed(expectShape(*this, getWq(), "wq", {heads * hd, dim})) ||
      failed(expectShape(*this, getWk(), "wk", {kvHeads * hd, memDim})) ||
      failed(expectShape(*this, getWv(), "wv", {kvHeads * hd, memDim})) ||
      failed(expectShape(*this, getWo(), "wo", {-1, heads * hd})))
    return failure();
  if (getBq() && (failed(expectShape(*this, getBq(), "bq", {heads * hd})) ||
                  failed(expectShape(*this, getBk(), "bk", {kvHeads * hd})) ||
                  failed(expectShape(*this, getBv(), "bv", {kvHeads * hd}))))
    return failure();
  if (getBo() && failed(expectShape(*this, getBo(), "bo", {dimOf(getWo(), 0)})))
    return failure();
  if (failed(verifyRope(*this, getRopeTheta().has_value()
                                   ? std::optional<double>(getRopeTheta()->convertToDouble())
                                   : std::nullopt,
                        getRopeStyle().has_value(), hd)))
    return failure();
  if (getRopeScaling() && !getRopeTheta())
    return emitOpError("rope_scaling requires rope_theta");
  if (failed(verifyWindow(*this, getWindow(), getCausal())))
    return failure();
  return expectShape(*this, getResult(), "result", {dimOf(getInput(), 0), dimOf(getWo(), 0)});
}

LogicalResult LatentAttentionOp::verify() {
  int64_t heads = getHeads(), rank = getKvRank(), rope = getRopeDim(), nope = getNopeDim(),
          vdim = getVDim(), qRank = getQRank();
  if (heads <= 0 || rank <= 0 || rope <= 0 || nope <= 0 || vdim <= 0 || qRank < 0)
    return emitOpError("heads, kv_rank, rope_dim, nope_dim and v_dim must be positive, q_rank "
                       "non-negative");
  int64_t dim = dimOf(getInput(), 1);
  int64_t qk = nope + rope;
  auto qw = getQWeights();
  if (qRank == 0) {
    if (qw.size() != 1)
      return emitOpError() << "q_rank = 0 takes one q weight, got " << qw.size();
    if (failed(expectShape(*this, qw[0], "wq", {heads * qk, dim})))
      return failure();
  } else {
    if (qw.size() != 3)
      return emitOpError() << "q_rank > 0 takes three q weights (q_a, q_norm, q_b), got "
                           << qw.size();
    if (failed(expectShape(*this, qw[0], "wq_a", {qRank, dim})) ||
        failed(expectShape(*this, qw[1], "q_norm", {qRank})) ||
        failed(expectShape(*this, qw[2], "wq_b", {heads * qk, qRank})))
      return failure();
  }
  if (failed(expectShape(*this, getWkvA(), "wkv_a", {rank + rope, dim})) ||
      failed(expectShape(*this, getKvNorm(), "kv_norm", {rank})) ||
      failed(expectShape(*this, getWkvB(), "wkv_b", {heads * (nope + vdim), rank})) ||
      failed(expectShape(*this, getWo(), "wo", {-1, heads * vdim})))
    return failure();
  if (failed(verifyRope(*this, getRopeTheta().has_value()
                                   ? std::optional<double>(getRopeTheta()->convertToDouble())
                                   : std::nullopt,
                        getRopeStyle().has_value(), rope)))
    return failure();
  return expectShape(*this, getResult(), "result", {dimOf(getInput(), 0), dimOf(getWo(), 0)});
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

LogicalResult MoEOp::verify() {
  if (tensorType(getRouter()).getRank() != 2)
    return emitOpError() << "router must be [experts, d], got " << shapeString(getRouter());
  if (tensorType(getGate()).getRank() != 3)
    return emitOpError() << "gate must be [experts, ffn, d], got " << shapeString(getGate());
  int64_t experts = dimOf(getRouter(), 0), dim = dimOf(getInput(), 1);
  int64_t ffn = dimOf(getGate(), 1);
  if (getExpertParts() && (*getExpertParts() < 2 || static_cast<int64_t>(*getExpertParts()) > experts))
    return emitOpError() << "expert_parts must be between 2 and the " << experts << " experts";
  int64_t held = getNumLocalExperts();
  if (failed(expectShape(*this, getRouter(), "router", {experts, dim})) ||
      failed(expectShape(*this, getGate(), "gate", {held, ffn, dim})) ||
      failed(expectShape(*this, getUp(), "up", {held, ffn, dim})) ||
      failed(expectShape(*this, getDown(), "down", {held, dim, ffn})))
    return failure();
  int64_t topK = getTopK(), groups = getNGroup(), topGroups = getTopkGroup();
  if (topK < 1 || topK > experts)
    return emitOpError() << "top_k (" << topK << ") must be between 1 and the " << experts
                         << " experts";
  if (groups < 1 || experts % groups != 0)
    return emitOpError() << "n_group (" << groups << ") must divide the " << experts
                         << " experts";
  if (topGroups < 1 || topGroups > groups)
    return emitOpError() << "topk_group (" << topGroups << ") must be between 1 and n_group ("
                         << groups << ")";
  if (getTopkMethod() == MoeTopKMethod::greedy && (groups != 1 || topGroups != 1))
    return emitOpError("greedy selection takes n_group = topk_group = 1");
  bool noauxTc = getTopkMethod() == MoeTopKMethod::noaux_tc;
  if (noauxTc != static_cast<bool>(getCorrectionBias()))
    return emitOpError("a correction bias goes with topk_method noaux_tc, and only with it");
  if (noauxTc && failed(expectShape(*this, getCorrectionBias(), "bias", {experts})))
    return failure();
  if (noauxTc && experts / groups < 2)
    return emitOpError() << "noaux_tc sums the best two experts of a group, but the " << groups
                         << " groups have " << experts / groups << " expert each";
  if (topK > topGroups * (experts / groups))
    return emitOpError() << "top_k (" << topK << ") exceeds the " << topGroups * (experts / groups)
                         << " experts of the topk_group groups";
  double scale = getRoutedScalingFactor().convertToDouble();
  if (!(scale > 0) || !std::isfinite(scale))
    return emitOpError() << "routed_scaling_factor must be positive, got " << scale;
  return expectShape(*this, getResult(), "result", {dimOf(getInput(), 0), dim});
}

//===----------------------------------------------------------------------===//
// Attention at the head level
//===----------------------------------------------------------------------===//

LogicalResult SplitHeadsOp::verify() {
  int64_t heads = dimOf(getResult(), 0), d = dimOf(getResult(), 2);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(d))
    return emitOpError("heads and head width of the result must be static");
  if (!compatible(heads * d, dimOf(getInput(), 1)))
    return emitOpError() << "input width (" << dimOf(getInput(), 1) << ") is not heads (" << heads
                         << ") x head width (" << d << ")";
  return expectShape(*this, getResult(), "result", {heads, dimOf(getInput(), 0), d});
}

LogicalResult MergeHeadsOp::verify() {
  int64_t heads = dimOf(getInput(), 0), d = dimOf(getInput(), 2);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(d))
    return emitOpError("heads and head width of the input must be static");
  return expectShape(*this, getResult(), "result", {dimOf(getInput(), 1), heads * d});
}

LogicalResult SliceLastOp::verify() {
  auto in = tensorType(getInput()), out = tensorType(getResult());
  if (in.getRank() != out.getRank())
    return emitOpError("input and result must have the same rank");
  int64_t last = in.getRank() - 1;
  for (int64_t i = 0; i < last; ++i)
    if (!compatible(in.getDimSize(i), out.getDimSize(i)))
      return emitOpError() << "dimension " << i << " differs between input and result";
  int64_t offset = getOffset(), size = out.getDimSize(last), width = in.getDimSize(last);
  if (ShapedType::isDynamic(size) || ShapedType::isDynamic(width))
    return emitOpError("the sliced dimension must be static");
  if (offset < 0 || offset + size > width)
    return emitOpError() << "columns [" << offset << ", " << offset + size
                         << ") are outside the input's " << width;
  return success();
}

LogicalResult ConcatLastOp::verify() {
  auto a = tensorType(getLhs()), b = tensorType(getRhs()), r = tensorType(getResult());
  if (a.getRank() != b.getRank() || a.getRank() != r.getRank())
    return emitOpError("operands and result must have the same rank");
  int64_t last = a.getRank() - 1;
  for (int64_t i = 0; i < last; ++i)
    if (!compatible(a.getDimSize(i), b.getDimSize(i)) ||
        !compatible(a.getDimSize(i), r.getDimSize(i)))
      return emitOpError() << "dimension " << i << " differs between the operands";
  if (!compatible(a.getDimSize(last) + b.getDimSize(last), r.getDimSize(last)))
    return emitOpError() << "result width (" << r.getDimSize(last) << ") is not "
                         << a.getDimSize(last) << " + " << b.getDimSize(last);
  return success();
}

LogicalResult RopeOp::verify() {
  return verifyRope(*this, getTheta().convertToDouble(), /*hasStyle=*/true, dimOf(getInput(), 2));
}

LogicalResult RepeatKVOp::verify() {
  int64_t in = dimOf(getInput(), 0), out = dimOf(getResult(), 0);
  if (ShapedType::isDynamic(in) || ShapedType::isDynamic(out) || in <= 0 || out % in != 0)
    return emitOpError() << "result heads (" << out << ") must be a multiple of input heads (" << in
                         << ")";
  return expectShape(*this, getResult(), "result", {out, dimOf(getInput(), 1), dimOf(getInput(), 2)});
}

LogicalResult SDPAOp::verify() {
  int64_t heads = getHeads(), kvHeads = getKvHeads();
  if (failed(verifyHeads(*this, heads, kvHeads)))
    return failure();
  int64_t d = dimOf(getQuery(), 2), dv = dimOf(getValue(), 2);
  if (failed(expectShape(*this, getQuery(), "query", {heads, -1, -1})) ||
      failed(expectShape(*this, getKey(), "key", {kvHeads, -1, d})) ||
      failed(expectShape(*this, getValue(), "value", {kvHeads, dimOf(getKey(), 1), -1})))
    return failure();
  if (failed(verifyWindow(*this, getWindow(), getCausal())))
    return failure();
  return expectShape(*this, getResult(), "result", {heads, dimOf(getQuery(), 1), dv});
}

LogicalResult AttentionProbsOp::verify() {
  int64_t heads = getHeads(), kvHeads = getKvHeads();
  if (failed(verifyHeads(*this, heads, kvHeads)))
    return failure();
  if (failed(expectShape(*this, getQuery(), "query", {heads, -1, -1})) ||
      failed(expectShape(*this, getKey(), "key", {kvHeads, -1, dimOf(getQuery(), 2)})))
    return failure();
  if (failed(verifyWindow(*this, getWindow(), getCausal())))
    return failure();
  return expectShape(*this, getResult(), "result",
                     {heads, dimOf(getQuery(), 1), dimOf(getKey(), 1)});
}

LogicalResult OnlineAttentionOp::verify() {
  if (getGroup() <= 0)
    return emitOpError() << "group (" << getGroup() << ") must be positive";
  if (getQueryStart() && (!getKeyStart() || !getShift()))
    return emitOpError("causal needs query_start, key_start and shift");
  if (failed(verifyWindow(*this, getWindow(), isCausal())))
    return failure();
  int64_t kv = dimOf(getQuery(), 0), d = dimOf(getQuery(), 2), dv = dimOf(getValue(), 2);
  if (failed(expectShape(*this, getKey(), "key", {kv, -1, d})) ||
      failed(expectShape(*this, getValue(), "value", {kv, dimOf(getKey(), 1), -1})))
    return failure();
  return expectShape(*this, getAcc(), "acc", {kv, dimOf(getQuery(), 1), dv});
}

//===----------------------------------------------------------------------===//
// The KV cache and latent-space products
//===----------------------------------------------------------------------===//

int64_t tfc::attn::kvStorageWidth(Type storage, int64_t width) {
  if (storage.isF32() || storage.isBF16())
    return width;
  if (storage.isInteger(8) && width % kKVQ8Block == 0)
    return width / kKVQ8Block * kKVQ8BlockBytes;
  return -1;
}

namespace {

/// attn.kv_quant / attn.kv_dequant: `values` [H, n, d] f32 and `stored`
/// [H, n, W] of a narrow storage type with W = kvStorageWidth(type, d).
LogicalResult verifyKVConversion(Operation *op, Value values, Value stored) {
  auto storage = tensorType(stored).getElementType();
  if (storage.isF32())
    return op->emitOpError("storage type must be bf16 or i8 (Q8_0 blocks), not f32");
  int64_t d = dimOf(values, 2);
  if (ShapedType::isDynamic(d))
    return op->emitOpError("needs a static head width");
  int64_t width = kvStorageWidth(storage, d);
  if (width < 0)
    return op->emitOpError() << "Q8_0 needs a head width that is a multiple of " << kKVQ8Block
                             << ", got " << d;
  return expectShape(op, stored, "storage", {dimOf(values, 0), dimOf(values, 1), width});
}

/// A cache op's rows have the cache's element type.
LogicalResult expectCacheElements(Operation *op, Value cache, Value rows, StringRef what) {
  Type element = tensorType(cache).getElementType();
  if (tensorType(rows).getElementType() != element)
    return op->emitOpError() << what << " must have the cache's element type " << element;
  return success();
}


/// The cache ops' shared rule: a static [layers, heads, max_seq, head_dim]
/// cache, and rows of it ([heads, n, head_dim], any n) in its element type.
LogicalResult verifyCacheRows(Operation *op, Value cache,
                              ArrayRef<std::pair<Value, StringRef>> rowOperands) {
  auto type = tensorType(cache);
  if (!type.hasStaticShape())
    return op->emitOpError("cache must have a static shape");
  SmallVector<int64_t> rows = {type.getDimSize(1), -1, type.getDimSize(3)};
  for (auto [value, what] : rowOperands)
    if (failed(expectCacheElements(op, cache, value, what)) ||
        failed(expectShape(op, value, what, rows)))
      return failure();
  return success();
}

} // namespace

LogicalResult KVQuantOp::verify() { return verifyKVConversion(*this, getInput(), getResult()); }

LogicalResult KVDequantOp::verify() { return verifyKVConversion(*this, getResult(), getInput()); }

LogicalResult CacheUpdateOp::verify() {
  return verifyCacheRows(*this, getCache(), {{getUpdate(), "update"}});
}

LogicalResult CacheViewOp::verify() {
  return verifyCacheRows(*this, getCache(), {{getResult(), "result"}});
}

LogicalResult RingUpdateOp::verify() {
  return verifyCacheRows(*this, getCache(), {{getUpdate(), "update"}});
}

LogicalResult RingWindowOp::verify() {
  return verifyCacheRows(*this, getCache(), {{getNewRows(), "new rows"}, {getResult(), "result"}});
}

LogicalResult BatchMatmulOp::verify() {
  int64_t b = dimOf(getLhs(), 0), k = dimOf(getLhs(), 2);
  int64_t m = getTransposeRhs() ? dimOf(getRhs(), 1) : dimOf(getRhs(), 2);
  int64_t rk = getTransposeRhs() ? dimOf(getRhs(), 2) : dimOf(getRhs(), 1);
  if (!compatible(dimOf(getRhs(), 0), b))
    return emitOpError() << "batch sizes differ: " << b << " and " << dimOf(getRhs(), 0);
  if (!compatible(k, rk))
    return emitOpError() << "contraction sizes differ: " << k << " and " << rk;
  return expectShape(*this, getResult(), "result", {b, dimOf(getLhs(), 1), m});
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

LogicalResult AllReduceOp::verify() {
  if (getRanks() < 2)
    return emitOpError() << "needs at least 2 ranks, not " << getRanks();
  return success();
}

namespace {
/// add(all_reduce(a), all_reduce(b)) => all_reduce(add(a, b)): a sum of two
/// sums over ranks is the sum over ranks of the sum, so one collective does
/// the work of two (a mixture of experts' routed experts plus its shared
/// ones, each split and summed over ranks, then added). Only when each sum
/// has no other use: a value needed whole elsewhere keeps its own collective.
/// (Floating-point sums in another order: the ranks' partial sums are added
/// before the collective rather than after, within rounding of each other.)
struct SumOfSumsOverRanks : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    auto lhs = add.getLhs().getDefiningOp<AllReduceOp>();
    auto rhs = add.getRhs().getDefiningOp<AllReduceOp>();
    if (!lhs || !rhs || lhs == rhs || lhs.getRanks() != rhs.getRanks() ||
        !lhs.getResult().hasOneUse() || !rhs.getResult().hasOneUse())
      return rewriter.notifyMatchFailure(add, "not a sum of two single-use sums over ranks");
    Value partial =
        rewriter.create<AddOp>(add.getLoc(), add.getType(), lhs.getInput(), rhs.getInput());
    rewriter.replaceOpWithNewOp<AllReduceOp>(add, add.getType(), partial, lhs.getRanksAttr());
    rewriter.eraseOp(lhs);
    rewriter.eraseOp(rhs);
    return success();
  }
};
} // namespace

void AllReduceOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<SumOfSumsOverRanks>(context);
}

LogicalResult AllGatherOp::verify() {
  if (getRanks() < 2)
    return emitOpError() << "needs at least 2 ranks, not " << getRanks();
  auto in = tensorType(getInput()), out = tensorType(getResult());
  if (!compatible(in.getDimSize(0), out.getDimSize(0)))
    return emitOpError("input and result must have the same number of rows");
  if (in.isDynamicDim(1) || out.isDynamicDim(1))
    return emitOpError("the gathered dimension must be static");
  if (out.getDimSize(1) != in.getDimSize(1) * static_cast<int64_t>(getRanks()))
    return emitOpError() << "result width " << out.getDimSize(1) << " is not ranks ("
                         << getRanks() << ") times the input width " << in.getDimSize(1);
  return success();
}
