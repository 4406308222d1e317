//===- TensorParallel.cpp - Megatron-LM tensor parallelism over ranks -------===//
//
// Every rank of a model compiled with --tensor-parallel=N runs the same code on
// its own shard of the weights; which part of a weight a rank holds is recorded
// on the attn.weight (`attn.shard`) and carried to the runtime by the weight
// slots, so the generated code needs the rank only where a vocabulary-parallel
// embedding finds which tokens its rows hold (gen_abi.h __tfc_rank_index).
// Sums over ranks (attn.all_reduce) follow the row-parallel layers and that
// embedding, a gather (attn.all_gather) the vocabulary-parallel output head
// (Passes.td). Whatever the pass does not
// recognize stays replicated: every rank computes it whole, which is always
// correct, so the pass only ever trades work for communication where the
// structure is known.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"
#include "tfc/Utils/QuantizedMatmul.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNTENSORPARALLEL
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

constexpr llvm::StringLiteral kShardAttr = "attn.shard";
constexpr llvm::StringLiteral kTensorParallelAttr = "attn.tensor_parallel";

/// dim of kRankZeroOnly: rank 0 holds the whole tensor, the others zeros (a bias
/// added after a sum over ranks must be added once).
constexpr int64_t kRankZeroOnly = -1;
/// dim of kExpertsSplit: a stacked expert weight whose experts are split by
/// rank, each expert (a manifest entry) whole on the rank that holds it
/// (gen_abi.h TFC_SHARD_EXPERTS); attn.shard = [-2, parts, ranks, experts].
constexpr int64_t kExpertsSplit = -2;

/// A weight operand and the attn.weight it comes from, directly or through
/// the layer slice of a stacked weight.
struct WeightUse {
  WeightOp weight;
  tensor::ExtractSliceOp slice; // null when the operand is the weight itself
};

/// The weight behind operand `w` when nothing else uses it (a tied weight keeps
/// one layout for all its uses, so it is never sharded) and it is not sharded yet.
std::optional<WeightUse> exclusiveWeight(Value w) {
  if (!w || !w.hasOneUse())
    return std::nullopt;
  if (auto op = w.getDefiningOp<WeightOp>())
    return op->hasAttr(kShardAttr) ? std::nullopt : std::optional(WeightUse{op, {}});
  auto slice = w.getDefiningOp<tensor::ExtractSliceOp>();
  if (!slice)
    return std::nullopt;
  auto op = slice.getSource().getDefiningOp<WeightOp>();
  if (!op || !op.getResult().hasOneUse() || op->hasAttr(kShardAttr))
    return std::nullopt;
  // The layer slice must take a whole layer: [l, 0, ...] [1, full...].
  auto type = cast<RankedTensorType>(w.getType());
  if (type.getRank() + 1 != slice.getSourceType().getRank())
    return std::nullopt;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!isConstantIntValue(slice.getMixedOffsets()[d + 1], 0) ||
        !isConstantIntValue(slice.getMixedSizes()[d + 1], type.getDimSize(d)))
      return std::nullopt;
  return WeightUse{op, slice};
}

/// Whether the parts of a split may be padded: a dimension not divisible by
/// the parts is cut into parts of ceil(size / parts), the last ones padded
/// with zero rows. Only the vocabulary is split that way (a padding row is a
/// token no input holds and a logit the gather drops); heads and MLP columns
/// must divide evenly.
enum class Padding { none, allowed };

/// Whether operand `w` (absent: trivially) can take part `parts` along `dim`;
/// of each of `segments` equal segments of `dim` when there are several (a
/// fused projection's q, k and v rows).
bool canShard(Value w, int64_t dim, int64_t parts, Padding padding = Padding::none,
              int64_t segments = 1) {
  if (!w)
    return true;
  auto use = exclusiveWeight(w);
  if (!use)
    return false;
  auto type = cast<RankedTensorType>(w.getType());
  if (dim == kRankZeroOnly)
    return true;
  return dim < type.getRank() && !type.isDynamicDim(dim) &&
         (padding == Padding::allowed || type.getDimSize(dim) % (parts * segments) == 0);
}

/// The size of one of `parts` parts of `size`, padded up when they do not divide it.
int64_t partSize(int64_t size, int64_t parts) { return llvm::divideCeil(size, parts); }

/// The attn.shard of a cut along `dim` of a tensor `whole` wide there: [dim,
/// parts, ranks], and the whole size after them when the parts are padded
/// (LowerEntryPoints and the manifest then know the file's true size); then
/// the number of segments when `dim` is several equal segments each cut into
/// `parts` (a rank holds its part of every segment, in order: a fused q/k/v
/// projection's rows of its heads), [dim, parts, ranks, whole, segments].
DenseI64ArrayAttr shardAttr(OpBuilder &b, int64_t dim, int64_t parts, int64_t ranks,
                            int64_t whole, int64_t segments = 1) {
  if (segments > 1)
    return b.getDenseI64ArrayAttr({dim, parts, ranks, whole, segments});
  if (dim == kRankZeroOnly || whole % parts == 0)
    return b.getDenseI64ArrayAttr({dim, parts, ranks});
  return b.getDenseI64ArrayAttr({dim, parts, ranks, whole});
}

/// Shards operand `w` (checked by canShard) and returns the new operand, of the
/// shard's type.
Value shard(OpBuilder &b, Value w, int64_t dim, int64_t parts, int64_t ranks,
            int64_t segments = 1) {
  if (!w)
    return w;
  WeightUse use = *exclusiveWeight(w);
  auto perTensor = cast<RankedTensorType>(w.getType());
  use.weight->setAttr(kShardAttr,
                      shardAttr(b, dim, parts, ranks,
                                dim == kRankZeroOnly ? 0 : perTensor.getDimSize(dim), segments));
  if (dim == kRankZeroOnly)
    return w;
  SmallVector<int64_t> shape(perTensor.getShape());
  shape[dim] = partSize(shape[dim], parts);
  auto shardType = RankedTensorType::get(shape, perTensor.getElementType());
  auto weightType = cast<RankedTensorType>(use.weight.getType());
  SmallVector<int64_t> weightShape(weightType.getShape());
  weightShape[dim + (use.slice ? 1 : 0)] = shape[dim];
  use.weight.getResult().setType(RankedTensorType::get(weightShape, weightType.getElementType()));
  if (!use.slice)
    return use.weight.getResult();
  // The layer slice of the narrower stacked weight.
  SmallVector<OpFoldResult> sizes = use.slice.getMixedSizes();
  sizes[dim + 1] = b.getIndexAttr(shape[dim]);
  b.setInsertionPoint(use.slice);
  auto slice = b.create<tensor::ExtractSliceOp>(use.slice.getLoc(), shardType, use.weight,
                                                use.slice.getMixedOffsets(), sizes,
                                                use.slice.getMixedStrides());
  use.slice.getResult().replaceAllUsesWith(slice.getResult());
  use.slice.erase();
  return slice;
}

/// `[n, w]` -> `[n, ceil(w / parts)]`.
void narrowLastDim(Value v, int64_t parts) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = partSize(shape.back(), parts);
  v.setType(RankedTensorType::get(shape, type.getElementType()));
}

/// Replaces the uses of `partial` (a partial sum on each rank) by its sum over ranks.
void sumOverRanks(OpBuilder &b, Value partial, int64_t ranks) {
  b.setInsertionPointAfterValue(partial);
  auto sum = b.create<AllReduceOp>(partial.getLoc(), partial.getType(), partial,
                                   b.getI64IntegerAttr(ranks));
  partial.replaceAllUsesExcept(sum.getResult(), sum);
}

/// Merges the sums over ranks that one collective can do (the all_reduce
/// canonicalization: add(all_reduce(a), all_reduce(b)) => all_reduce(add(a,
/// b)), a mixture of experts' routed and shared experts), applied to the adds
/// alone so that nothing else of the module changes here. Returns the number
/// of collectives saved.
int64_t mergeSumsOverRanks(ModuleOp module) {
  auto countSums = [&] {
    int64_t sums = 0;
    module.walk([&](AllReduceOp) { ++sums; });
    return sums;
  };
  int64_t before = countSums();
  SmallVector<Operation *> adds;
  module.walk([&](AddOp add) { adds.push_back(add); });
  RewritePatternSet patterns(module.getContext());
  AllReduceOp::getCanonicalizationPatterns(patterns, module.getContext());
  GreedyRewriteConfig config;
  // The adds and what the rewrite makes (a merged sum may be one side of the
  // next add), nothing else.
  config.strictMode = GreedyRewriteStrictness::ExistingAndNewOps;
  (void)applyOpPatternsAndFold(adds, std::move(patterns), config);
  return before - countSums();
}

/// The ggml block format in which one process stores the rows of a linear
/// layer `width` wide under --weight-type=`weightType`, as
/// tfc-lower-entry-points decides it: the type's own format, Q8_0 for K-quant
/// rows that are not whole super-blocks, none (f32, bf16, f16: not in blocks)
/// for rows that are not whole Q8_0 / Q4_0 blocks.
std::optional<tfc::QuantFormat> storedFormat(StringRef weightType, int64_t width) {
  std::optional<tfc::QuantFormat> format =
      weightType == "q4_k_m" ? tfc::QuantFormat::Q4_K : tfc::quantFormatNamed(weightType);
  if (!format)
    return std::nullopt;
  for (tfc::QuantFormat f : {*format, tfc::QuantFormat::Q8_0})
    if (width % tfc::info(f).block == 0)
      return f;
  return std::nullopt;
}

class TensorParallel {
public:
  TensorParallel(int64_t ranks, StringRef weightType, ArrayRef<std::string> storedBlocks)
      : ranks(ranks), weightType(weightType) {
    // "NAME=TYPE/N" (parseStoredBlock, the pass option's form), checked by
    // the pass before the split is made.
    for (const std::string &entry : storedBlocks)
      if (std::optional<StoredBlock> block = parseStoredBlock(entry))
        storedIn[block->tensor] = *block;
  }

  /// A tensor the weight file stores in blocks: `elements` values of ggml
  /// type `type` each.
  struct StoredBlock {
    std::string tensor;
    std::string type;
    int64_t elements = 0;
  };

  /// The parts of "NAME=TYPE/N" (N > 0), or none when `entry` has another form.
  static std::optional<StoredBlock> parseStoredBlock(StringRef entry) {
    auto [tensor, typeAndSize] = entry.rsplit('=');
    auto [type, size] = typeAndSize.rsplit('/');
    int64_t elements;
    if (tensor.empty() || type.empty() || size.getAsInteger(10, elements) || elements <= 0)
      return std::nullopt;
    return StoredBlock{tensor.str(), type.str(), elements};
  }

  // attention(x) => all_reduce(attention(x) with heads / N, q/k/v rows and o columns split)
  void splitAttention(AttentionOp op) {
    if (op.getMemory())
      return; // cross-attention stays replicated
    int64_t heads = op.getHeads(), kvHeads = op.getKvHeads();
    std::optional<int64_t> kvPartsOrNone = kvPartsFor(op.getLoc(), heads, kvHeads);
    if (!kvPartsOrNone)
      return;
    int64_t kvParts = *kvPartsOrNone;
    if (!canShard(op.getWq(), 0, ranks) || !canShard(op.getWk(), 0, kvParts) ||
        !canShard(op.getWv(), 0, kvParts) || !canShard(op.getWo(), 1, ranks) ||
        !canShard(op.getBq(), 0, ranks) || !canShard(op.getBk(), 0, kvParts) ||
        !canShard(op.getBv(), 0, kvParts) || !canShard(op.getBo(), kRankZeroOnly, ranks)) {
      emitRemark(op.getLoc(), "a projection weight has other uses: attention replicated");
      return;
    }
    if (!rowsStayQuantized(op, "attention", op.getWo(), false))
      return;
    if (kvParts != ranks)
      emitRemark(op.getLoc()) << "kv_heads (" << kvHeads << ") is not a multiple of ranks (" << ranks
                      << "): each K/V head is replicated on " << ranks / kvHeads << " ranks";
    OpBuilder b(op);
    op.getWqMutable().assign(shard(b, op.getWq(), 0, ranks, ranks));
    op.getWkMutable().assign(shard(b, op.getWk(), 0, kvParts, ranks));
    op.getWvMutable().assign(shard(b, op.getWv(), 0, kvParts, ranks));
    op.getWoMutable().assign(shard(b, op.getWo(), 1, ranks, ranks));
    if (op.getBq()) {
      op.getBqMutable().assign(shard(b, op.getBq(), 0, ranks, ranks));
      op.getBkMutable().assign(shard(b, op.getBk(), 0, kvParts, ranks));
      op.getBvMutable().assign(shard(b, op.getBv(), 0, kvParts, ranks));
    }
    if (op.getBo())
      shard(b, op.getBo(), kRankZeroOnly, ranks, ranks);
    op.setHeadsAttr(b.getI64IntegerAttr(heads / ranks));
    op.setKvHeadsAttr(b.getI64IntegerAttr(kvParts == ranks ? kvHeads / ranks : 1));
    sumOverRanks(b, op.getResult(), ranks);
    ++attentions;
  }

  // In how many parts the K/V heads of an attention of `heads` query heads
  // split over the ranks: with the query heads, or one K/V head per rank when
  // there are fewer K/V heads than ranks (each rank's query heads then share
  // one). None, with a remark, when the heads do not split: the attention
  // stays replicated.
  std::optional<int64_t> kvPartsFor(Location loc, int64_t heads, int64_t kvHeads) {
    if (heads % ranks != 0) {
      emitRemark(loc) << "heads (" << heads << ") not divisible by ranks (" << ranks
                      << "): attention replicated";
      return std::nullopt;
    }
    if (kvHeads % ranks == 0)
      return ranks;
    if (ranks % kvHeads == 0)
      return kvHeads;
    emitRemark(loc) << "kv_heads (" << kvHeads << ") and ranks (" << ranks
                    << ") do not divide one another: attention replicated";
    return std::nullopt;
  }

  // Attention written out by the model (tdsl attend, as a GGUF file imports):
  //   o(merge_heads(sdpa(Q, K, V))), Q = rope(split_heads(q(x))),
  //   K = repeat_kv(rope(split_heads(k(x)))), V = repeat_kv(split_heads(v(x)))
  // (rope and repeat_kv optional) => all_reduce of the same with q/k/v
  // column-parallel by whole heads and o row-parallel: the split of
  // splitAttention, the heads of every step on the way narrowed with it.
  // q, k and v may be slices of one fused projection (GPT-2's, as a GGUF
  // file's attn_qkv imports): its rows are then cut in each of the three.
  // Returns false when `sdpa` is not of that form (nothing changed, the caller
  // says so); true when it is, split or refused with a remark.
  bool splitWrittenOutAttention(SDPAOp sdpa) {
    std::optional<HeadChain> q = headChain(sdpa.getQuery()), k = headChain(sdpa.getKey()),
                             v = headChain(sdpa.getValue());
    if (!q || !k || !v || !sdpa.getResult().hasOneUse())
      return false;
    auto merge = dyn_cast<MergeHeadsOp>(*sdpa->getUsers().begin());
    if (!merge || !merge.getResult().hasOneUse())
      return false;
    auto out = dyn_cast<LinearOp>(*merge->getUsers().begin());
    if (!out || out.getInput() != merge.getResult() || done.contains(out))
      return false;
    int64_t heads = headsOf(q->split.getResult()), kvHeads = headsOf(k->split.getResult());
    if (headsOf(v->split.getResult()) != kvHeads)
      return false;
    std::optional<int64_t> kvPartsOrNone = kvPartsFor(sdpa.getLoc(), heads, kvHeads);
    if (!kvPartsOrNone)
      return true;
    int64_t kvParts = *kvPartsOrNone;
    // The heads each operand of the sdpa will have on a rank: every repeat_kv
    // must still repeat a whole number of times, and the sdpa must still be
    // grouped query attention (the query's heads a multiple of the key's,
    // the key's those of the value).
    auto heldAtSdpa = [&](const HeadChain &chain, int64_t held) -> std::optional<int64_t> {
      for (Operation *step : llvm::reverse(chain.steps)) {
        if (!isa<RepeatKVOp>(step))
          continue;
        int64_t repeated = headsOf(step->getResult(0));
        if (repeated % ranks != 0 || (repeated / ranks) % held != 0)
          return std::nullopt;
        held = repeated / ranks;
      }
      return held;
    };
    int64_t kvHeld = kvParts == ranks ? kvHeads / ranks : 1;
    int64_t sdpaHeads = sdpa.getHeads();
    std::optional<int64_t> qAt = heldAtSdpa(*q, heads / ranks), kAt = heldAtSdpa(*k, kvHeld),
                           vAt = heldAtSdpa(*v, kvHeld);
    if (!qAt || !kAt || !vAt || sdpaHeads % ranks != 0 || *qAt != sdpaHeads / ranks ||
        *kAt != *vAt || *qAt % *kAt != 0)
      return false;
    // A fused q/k/v projection is cut in each of its 3 segments: a rank's
    // rows are its heads' q rows, then k rows, then v rows.
    const bool fused = q->fused || k->fused || v->fused;
    if (fused && !splittableFusion(*q, *k, *v, kvParts, ranks)) {
      emitRemark(sdpa.getLoc(), "q, k and v of a fused projection that does not cut into "
                                "the same heads of each: attention replicated");
      return true;
    }
    const int64_t segments = fused ? 3 : 1;
    auto outDim = [](LinearOp l) -> int64_t { return l.getWeightInOut() ? 1 : 0; };
    if (!canShard(q->proj.getWeight(), outDim(q->proj), ranks, Padding::none, segments) ||
        !canShard(k->proj.getWeight(), outDim(k->proj), kvParts, Padding::none, segments) ||
        !canShard(v->proj.getWeight(), outDim(v->proj), kvParts, Padding::none, segments) ||
        !canShard(q->proj.getBias(), 0, ranks, Padding::none, segments) ||
        !canShard(k->proj.getBias(), 0, kvParts, Padding::none, segments) ||
        !canShard(v->proj.getBias(), 0, kvParts, Padding::none, segments) ||
        !canShard(out.getWeight(), 1 - outDim(out), ranks) ||
        !canShard(out.getBias(), kRankZeroOnly, ranks)) {
      emitRemark(sdpa.getLoc(), "a projection weight has other uses: attention replicated");
      return true;
    }
    if (!rowsStayQuantized(out, "attention", out.getWeight(), out.getWeightInOut()))
      return true;
    if (kvParts != ranks)
      emitRemark(sdpa.getLoc()) << "kv_heads (" << kvHeads << ") is not a multiple of ranks ("
                                << ranks << "): each K/V head is replicated on "
                                << ranks / kvHeads << " ranks";
    OpBuilder b(sdpa);
    for (auto [chain, parts] : {std::pair(&*q, ranks), std::pair(&*k, kvParts),
                                std::pair(&*v, kvParts)}) {
      LinearOp proj = chain->proj;
      if (!done.contains(proj)) { // a fused projection: once for q, k and v
        b.setInsertionPoint(proj);
        proj.getWeightMutable().assign(
            shard(b, proj.getWeight(), outDim(proj), parts, ranks, segments));
        if (proj.getBias())
          proj.getBiasMutable().assign(shard(b, proj.getBias(), 0, parts, ranks, segments));
        narrowLastDim(proj.getResult(), parts);
        done.insert(proj);
      }
      if (SliceLastOp slice = chain->fused) {
        slice.setOffset(slice.getOffset() / parts);
        narrowLastDim(slice.getResult(), parts);
      }
      Value heads = chain->split.getResult();
      setHeads(heads, headsOf(heads) / parts);
      // rope keeps its input's type; repeat_kv repeats to its heads / ranks.
      for (Operation *step : llvm::reverse(chain->steps))
        setHeads(step->getResult(0), isa<RepeatKVOp>(step) ? headsOf(step->getResult(0)) / ranks
                                                           : headsOf(step->getOperand(0)));
    }
    sdpa.setHeadsAttr(b.getI64IntegerAttr(sdpaHeads / ranks));
    sdpa.setKvHeadsAttr(b.getI64IntegerAttr(headsOf(sdpa.getKey())));
    setHeads(sdpa.getResult(), headsOf(sdpa.getResult()) / ranks);
    narrowLastDim(merge.getResult(), ranks);
    b.setInsertionPoint(out);
    out.getWeightMutable().assign(shard(b, out.getWeight(), 1 - outDim(out), ranks, ranks));
    if (out.getBias())
      shard(b, out.getBias(), kRankZeroOnly, ranks, ranks);
    sumOverRanks(b, out.getResult(), ranks);
    done.insert(out);
    ++attentions;
    return true;
  }

  // latent_attention(x) => all_reduce(latent_attention(x) with heads / N), as
  // DeepSeek's own tensor parallelism splits MLA: the per-head up-projections
  // (q_proj or q_b_proj, kv_b_proj) by their rows, o_proj by its columns; the
  // down-projections (q_a_proj, kv_a_proj_with_mqa) and their norms, small and
  // shared by all heads, replicated, so every rank computes (and caches) the
  // whole latent.
  void splitLatentAttention(LatentAttentionOp op) {
    int64_t heads = op.getHeads();
    if (heads % ranks != 0) {
      emitRemark(op.getLoc()) << "heads (" << heads << ") not divisible by ranks (" << ranks
                      << "): latent attention replicated";
      return;
    }
    Value wq = op.getQWeights().back(); // q_proj, or q_b_proj after q_a_proj and q_norm
    if (!canShard(wq, 0, ranks) || !canShard(op.getWkvB(), 0, ranks) ||
        !canShard(op.getWo(), 1, ranks)) {
      emitRemark(op.getLoc(), "a projection weight has other uses: latent attention replicated");
      return;
    }
    if (!rowsStayQuantized(op, "latent attention", op.getWo(), false))
      return;
    OpBuilder b(op);
    unsigned last = op.getQWeights().size() - 1;
    op.getQWeightsMutable()[last].assign(shard(b, wq, 0, ranks, ranks));
    op.getWkvBMutable().assign(shard(b, op.getWkvB(), 0, ranks, ranks));
    op.getWoMutable().assign(shard(b, op.getWo(), 1, ranks, ranks));
    op.setHeadsAttr(b.getI64IntegerAttr(heads / ranks));
    sumOverRanks(b, op.getResult(), ranks);
    ++attentions;
  }

  // linear_o(f(linear_1(x), ..., linear_k(x))) => all_reduce(the same with
  // linear_1..k column-parallel and linear_o row-parallel), f elementwise
  void splitFeedForward(LinearOp outer) {
    if (done.contains(outer))
      return;
    SmallVector<LinearOp> inner;
    SmallVector<Operation *> elementwise;
    if (!collectInner(outer.getInput(), inner, elementwise) || inner.empty())
      return;
    int64_t width = cast<RankedTensorType>(outer.getInput().getType()).getDimSize(1);
    if (ShapedType::isDynamic(width) || width % ranks != 0)
      return;
    auto outDim = [](LinearOp l) -> int64_t { return l.getWeightInOut() ? 1 : 0; };
    for (LinearOp l : inner)
      if (!canShard(l.getWeight(), outDim(l), ranks) || !canShard(l.getBias(), 0, ranks))
        return;
    if (!canShard(outer.getWeight(), 1 - outDim(outer), ranks) ||
        !canShard(outer.getBias(), kRankZeroOnly, ranks) ||
        !rowsStayQuantized(outer, "feed-forward block", outer.getWeight(),
                           outer.getWeightInOut()))
      return;
    OpBuilder b(outer);
    for (LinearOp l : inner) {
      l.getWeightMutable().assign(shard(b, l.getWeight(), outDim(l), ranks, ranks));
      if (l.getBias())
        l.getBiasMutable().assign(shard(b, l.getBias(), 0, ranks, ranks));
      narrowLastDim(l.getResult(), ranks);
      done.insert(l);
    }
    for (Operation *op : elementwise)
      narrowLastDim(op->getResult(0), ranks);
    outer.getWeightMutable().assign(shard(b, outer.getWeight(), 1 - outDim(outer), ranks, ranks));
    if (outer.getBias())
      shard(b, outer.getBias(), kRankZeroOnly, ranks, ranks);
    done.insert(outer);
    sumOverRanks(b, outer.getResult(), ranks);
    ++feedForwards;
  }

  // return linear(x) => return all_gather(linear(x) with the vocabulary split)
  void splitOutputHead(func::FuncOp decoder) {
    auto ret = cast<func::ReturnOp>(decoder.getBody().front().getTerminator());
    auto head = ret.getNumOperands() ? ret.getOperand(0).getDefiningOp<LinearOp>() : LinearOp();
    if (!head || done.contains(head) || !head.getResult().hasOneUse())
      return;
    int64_t outDim = head.getWeightInOut() ? 1 : 0;
    if (!exclusiveWeight(head.getWeight())) {
      emitRemark(head.getLoc(), "the output head's weight is tied to another use: head replicated");
      return;
    }
    if (!canShard(head.getWeight(), outDim, ranks, Padding::allowed) ||
        !canShard(head.getBias(), 0, ranks, Padding::allowed)) {
      emitRemark(head.getLoc(), "the output head's vocabulary is not static or its bias has "
                                "other uses: head replicated");
      return;
    }
    OpBuilder b(head);
    head.getWeightMutable().assign(shard(b, head.getWeight(), outDim, ranks, ranks));
    gatherVocabulary(b, head);
  }

  // embedding(table, tokens) => all_reduce(embedding(this rank's rows of table,
  // tokens) {vocab_parts}), Megatron's VocabParallelEmbedding; an output head
  // tied to the table, linear(x, table), splits with it (its rows are the same
  // vocabulary) into the gathered vocabulary-parallel head. `tables` are the
  // attn.weight ops of one tensor (every function names it separately).
  void splitEmbedding(ArrayRef<WeightOp> tables, func::FuncOp decoder) {
    SmallVector<EmbeddingOp> lookups;
    SmallVector<LinearOp> heads;
    for (WeightOp w : tables) {
      if (w.getName().isStacked() || w->hasAttr(kShardAttr) || w.getType().getRank() != 2)
        return;
      for (Operation *user : w->getUsers()) {
        if (auto e = dyn_cast<EmbeddingOp>(user); e && e.getTable() == w && !e.getVocabParts()) {
          lookups.push_back(e);
          continue;
        }
        auto head = dyn_cast<LinearOp>(user);
        if (head && isOutputHead(head, decoder) && head.getWeight() == w && !head.getWeightInOut() &&
            !done.contains(head) && canShard(head.getBias(), 0, ranks, Padding::allowed)) {
          heads.push_back(head);
          continue;
        }
        return; // another use needs the whole table
      }
    }
    if (lookups.empty())
      return;
    int64_t vocab = WeightOp(tables.front()).getType().getDimSize(0);
    if (ShapedType::isDynamic(vocab))
      return;
    OpBuilder b(lookups.front());
    // A vocabulary not divisible by the ranks: shards of ceil(vocab / ranks)
    // rows, the last rank's padded with zero rows that no token selects (the
    // lowering offsets tokens by rank * rows) and whose logits the gather drops.
    if (vocab % ranks != 0)
      emitRemark(lookups.front().getLoc())
          << "vocabulary (" << vocab << ") not divisible by ranks (" << ranks
          << "): shards of " << partSize(vocab, ranks) << " rows, the last padded";
    for (WeightOp w : tables) {
      w->setAttr(kShardAttr, shardAttr(b, 0, ranks, ranks, vocab));
      auto type = w.getType();
      w.getResult().setType(RankedTensorType::get({partSize(vocab, ranks), type.getDimSize(1)},
                                                  type.getElementType()));
    }
    for (EmbeddingOp e : lookups) {
      e.setVocabPartsAttr(b.getI64IntegerAttr(ranks));
      sumOverRanks(b, e.getResult(), ranks);
      ++embeddings;
    }
    for (LinearOp head : heads)
      gatherVocabulary(b, head);
  }

  // moe(x, router, gate, up, down) => all_reduce(moe(x, router, this rank's
  // experts of gate, up, down) {expert_parts}): the router whole, so every
  // rank selects the same experts, each rank adding up its own; ceil(E / N)
  // experts per rank, the last rank's past E padding that no token selects.
  // The weights are a layer's slice [l * E, E) of the stacked [L * E, ...]
  // expert weight (one manifest entry per expert), or the weight itself.
  void splitExperts(MoEOp op) {
    int64_t experts = op.getNumExperts();
    if (op.getExpertParts())
      return;
    if (experts < ranks) {
      emitRemark(op.getLoc()) << "fewer experts (" << experts << ") than ranks (" << ranks
                              << "): mixture of experts replicated";
      return;
    }
    int64_t held = partSize(experts, ranks);
    for (Value w : {op.getGate(), op.getUp(), op.getDown()})
      if (!expertWeight(w, experts)) {
        emitRemark(op.getLoc(), "an expert weight has other uses or is not a layer's "
                                "experts: mixture of experts replicated");
        return;
      }
    if (experts % ranks != 0)
      emitRemark(op.getLoc()) << "experts (" << experts << ") not divisible by ranks (" << ranks
                              << "): " << held << " per rank, the last padded";
    OpBuilder b(op);
    op.getGateMutable().assign(shardExperts(b, op.getGate(), experts, held));
    op.getUpMutable().assign(shardExperts(b, op.getUp(), experts, held));
    op.getDownMutable().assign(shardExperts(b, op.getDown(), experts, held));
    op.setExpertPartsAttr(b.getI64IntegerAttr(ranks));
    sumOverRanks(b, op.getResult(), ranks);
    ++mixtures;
  }

  int64_t attentions = 0, feedForwards = 0, embeddings = 0, mixtures = 0;
  bool headSplit = false;

private:
  /// An operand of a written-out attn.sdpa traced back to its projection:
  /// `steps` (attn.rope, attn.repeat_kv, nearest the sdpa first) on
  /// split_heads(proj(x)), or split_heads(slice_last(proj(x))) when `proj`
  /// is a fused projection of q, k and v (GPT-2's c_attn, GGUF attn_qkv),
  /// each value on the way used once (but the fused projection's result).
  struct HeadChain {
    LinearOp proj;
    SliceLastOp fused; // null unless the projection is fused
    SplitHeadsOp split;
    SmallVector<Operation *> steps;
  };

  /// Whether q, k and v come from one fused projection that the split can cut
  /// by heads: its result is exactly their three slices, of equal width
  /// (kv_heads == heads) and tiling it, and every rank holds its heads of
  /// each (kvParts == ranks: K/V heads replicated over ranks would need
  /// segments of different parts). The rank's projection is then its q, k
  /// and v rows side by side, in the file's order.
  static bool splittableFusion(HeadChain q, HeadChain k, HeadChain v, int64_t kvParts,
                               int64_t ranks) {
    if (q.proj != k.proj || q.proj != v.proj || !q.fused || !k.fused || !v.fused ||
        kvParts != ranks)
      return false;
    Value fusedResult = q.proj.getResult();
    if (llvm::range_size(fusedResult.getUses()) != 3)
      return false;
    int64_t width = cast<RankedTensorType>(q.fused.getType()).getDimSize(1);
    if (ShapedType::isDynamic(width) ||
        cast<RankedTensorType>(fusedResult.getType()).getDimSize(1) != 3 * width)
      return false;
    SmallVector<int64_t> offsets;
    for (HeadChain *c : {&q, &k, &v}) {
      if (cast<RankedTensorType>(c->fused.getType()).getDimSize(1) != width)
        return false;
      offsets.push_back(c->fused.getOffset());
    }
    llvm::sort(offsets);
    return offsets == SmallVector<int64_t>{0, width, 2 * width} && width % ranks == 0;
  }

  std::optional<HeadChain> headChain(Value v) const {
    HeadChain chain;
    while (v.hasOneUse()) {
      Operation *def = v.getDefiningOp();
      if (isa_and_nonnull<RopeOp, RepeatKVOp>(def)) {
        chain.steps.push_back(def);
        v = def->getOperand(0);
        continue;
      }
      auto split = dyn_cast_or_null<SplitHeadsOp>(def);
      if (!split || !split.getInput().hasOneUse())
        return std::nullopt;
      Value projected = split.getInput();
      if (auto slice = projected.getDefiningOp<SliceLastOp>()) {
        chain.fused = slice;
        projected = slice.getInput();
      }
      auto proj = projected.getDefiningOp<LinearOp>();
      if (!proj || done.contains(proj))
        return std::nullopt;
      chain.proj = proj;
      chain.split = split;
      return chain;
    }
    return std::nullopt;
  }

  /// The heads of `[heads, n, d]` (static: the verifiers of the head ops say so).
  static int64_t headsOf(Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(0); }

  /// `[heads, n, d]` -> `[heads', n, d]`.
  static void setHeads(Value v, int64_t heads) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape(type.getShape());
    shape[0] = heads;
    v.setType(RankedTensorType::get(shape, type.getElementType()));
  }

  /// The stacked expert weight behind operand `w` of a moe with `experts`
  /// experts, when only it uses it: the attn.weight itself ([E, ...]) or its
  /// slice [o, 0, ...] [E, full...] with unit strides.
  static std::optional<WeightUse> expertWeight(Value w, int64_t experts) {
    if (!w.hasOneUse())
      return std::nullopt;
    auto slice = w.getDefiningOp<tensor::ExtractSliceOp>();
    auto op = slice ? slice.getSource().getDefiningOp<WeightOp>() : w.getDefiningOp<WeightOp>();
    if (!op || !op.getResult().hasOneUse() || op->hasAttr(kShardAttr) ||
        op.getName().getExperts() != experts)
      return std::nullopt;
    if (!slice)
      return WeightUse{op, {}};
    auto type = cast<RankedTensorType>(w.getType());
    if (type.getRank() != slice.getSourceType().getRank() || !slice.hasUnitStride() ||
        type.getDimSize(0) != experts)
      return std::nullopt;
    for (int64_t d = 1; d < type.getRank(); ++d)
      if (!isConstantIntValue(slice.getMixedOffsets()[d], 0) ||
          type.getDimSize(d) != slice.getSourceType().getDimSize(d))
        return std::nullopt;
    return WeightUse{op, slice};
  }

  /// Narrows operand `w` (checked by expertWeight) to `held` experts per
  /// layer: the weight to [layers * held, ...], the layer's slice to
  /// [o / experts * held, held); returns the new operand.
  Value shardExperts(OpBuilder &b, Value w, int64_t experts, int64_t held) {
    WeightUse use = *expertWeight(w, experts);
    use.weight->setAttr(kShardAttr, b.getDenseI64ArrayAttr({kExpertsSplit, ranks, ranks, experts}));
    auto weightType = cast<RankedTensorType>(use.weight.getType());
    SmallVector<int64_t> shape(weightType.getShape());
    shape[0] = shape[0] / experts * held;
    use.weight.getResult().setType(RankedTensorType::get(shape, weightType.getElementType()));
    if (!use.slice)
      return use.weight.getResult();
    auto perLayer = cast<RankedTensorType>(w.getType());
    SmallVector<int64_t> layerShape(perLayer.getShape());
    layerShape[0] = held;
    b.setInsertionPoint(use.slice);
    Location loc = use.slice.getLoc();
    SmallVector<OpFoldResult> offsets = use.slice.getMixedOffsets();
    if (auto first = getConstantIntValue(offsets[0])) {
      offsets[0] = b.getIndexAttr(*first / experts * held);
    } else {
      Value layer = b.create<arith::DivUIOp>(loc, cast<Value>(offsets[0]),
                                             b.create<arith::ConstantIndexOp>(loc, experts));
      offsets[0] =
          b.create<arith::MulIOp>(loc, layer, b.create<arith::ConstantIndexOp>(loc, held))
              .getResult();
    }
    SmallVector<OpFoldResult> sizes = use.slice.getMixedSizes();
    sizes[0] = b.getIndexAttr(held);
    auto slice = b.create<tensor::ExtractSliceOp>(
        loc, RankedTensorType::get(layerShape, perLayer.getElementType()), use.weight, offsets,
        sizes, use.slice.getMixedStrides());
    use.slice.getResult().replaceAllUsesWith(slice.getResult());
    use.slice.erase();
    return slice;
  }

  /// Whether `l` computes the decoder's result (the output head, the logits).
  static bool isOutputHead(LinearOp l, func::FuncOp decoder) {
    if (!decoder || l->getParentOp() != decoder || !l.getResult().hasOneUse())
      return false;
    auto ret = dyn_cast<func::ReturnOp>(*l->getUsers().begin());
    return ret && ret.getNumOperands() == 1 && ret.getOperand(0) == l.getResult();
  }

  /// The head's weight holds this rank's rows already: its bias follows and
  /// the logits of all ranks are gathered into the decoder's result. With a
  /// padded vocabulary the gather is ranks * ceil(vocab / ranks) wide and the
  /// padding's logits (zero rows, zero bias) are sliced off its end, so they
  /// never reach sampling.
  void gatherVocabulary(OpBuilder &b, LinearOp head) {
    b.setInsertionPoint(head);
    if (head.getBias())
      head.getBiasMutable().assign(shard(b, head.getBias(), 0, ranks, ranks));
    auto full = cast<RankedTensorType>(head.getType());
    narrowLastDim(head.getResult(), ranks);
    int64_t padded = cast<RankedTensorType>(head.getType()).getDimSize(1) * ranks;
    b.setInsertionPointAfter(head);
    auto gather = b.create<AllGatherOp>(
        head.getLoc(), RankedTensorType::get({full.getDimSize(0), padded}, full.getElementType()),
        head.getResult(), b.getI64IntegerAttr(ranks));
    Value logits = gather.getResult();
    if (padded != full.getDimSize(1))
      logits = b.create<SliceLastOp>(head.getLoc(), full, logits, b.getI64IntegerAttr(0));
    head.getResult().replaceAllUsesExcept(logits, gather);
    done.insert(head);
    headSplit = true;
  }

  /// Collects the linear layers that feed `v` through elementwise ops only,
  /// each value on the way used once (so narrowing it changes nothing else).
  bool collectInner(Value v, SmallVectorImpl<LinearOp> &inner,
                    SmallVectorImpl<Operation *> &elementwise) {
    if (!v.hasOneUse())
      return false;
    Operation *def = v.getDefiningOp();
    if (auto l = dyn_cast_or_null<LinearOp>(def)) {
      if (done.contains(l))
        return false;
      inner.push_back(l);
      return true;
    }
    if (isa_and_nonnull<ReluOp, GeluOp, GeluTanhOp, SiluOp, AffineOp>(def)) {
      elementwise.push_back(def);
      return collectInner(def->getOperand(0), inner, elementwise);
    }
    if (isa_and_nonnull<AddOp, SubOp, MulOp, DivOp>(def)) {
      elementwise.push_back(def);
      return collectInner(def->getOperand(0), inner, elementwise) &&
             collectInner(def->getOperand(1), inner, elementwise);
    }
    return false;
  }

  /// Whether a row-parallel layer whose rows are `width` wide in one process
  /// keeps its rows in blocks when each rank holds width / ranks of them: a
  /// quantized weight whose per-rank rows are not whole blocks would stay f32
  /// on the ranks (logits a quantization error away from one process's, and
  /// hardly fewer bytes per rank than the whole quantized matrix), so such a
  /// layer is better replicated. False then, after a remark naming `what`.
  /// (A K-quant whose per-rank rows fall back to Q8_0 blocks is still split.)
  /// Likewise when the weight file stores the matrix `weight` (of any layer)
  /// in blocks (storedIn: a GGUF file's quantized tensors): one process uses
  /// or dequantizes those blocks whole, a rank could only cut them, so its
  /// share of each row must be whole blocks of the file's type.
  bool rowsStayQuantized(Operation *op, StringRef what, Value weight, bool weightInOut) {
    int64_t width = inputWidth(weight, weightInOut);
    std::optional<tfc::QuantFormat> whole = storedFormat(weightType, width);
    if (whole && !storedFormat(weightType, width / ranks)) {
      emitRemark(op->getLoc()) << what << ": the output projection's rows, " << width
                               << " values in " << tfc::info(*whole).name << " blocks of "
                               << tfc::info(*whole).block << " in one process, would be "
                               << width / ranks << " per rank, not whole blocks: " << what
                               << " replicated";
      return false;
    }
    std::optional<WeightUse> use = exclusiveWeight(weight);
    if (!use || storedIn.empty())
      return true;
    WeightNameAttr name = use->weight.getName();
    for (int64_t entry = 0, entries = std::max<int64_t>(name.getEntries(), 1); entry < entries;
         ++entry) {
      auto stored = storedIn.find(name.nameOfLayer(entry));
      if (stored == storedIn.end() || (width / ranks) % stored->second.elements == 0)
        continue;
      emitRemark(op->getLoc()) << what << ": the output projection's rows, " << width
                               << " values in " << stored->second.type << " blocks of "
                               << stored->second.elements << " in the weight file ('"
                               << stored->first() << "'), would be " << width / ranks
                               << " per rank, not whole blocks: " << what << " replicated";
      return false;
    }
    return true;
  }

  /// The width of the rows a row-parallel layer's weight `w` splits (its
  /// input features; canShard has checked that it is static).
  static int64_t inputWidth(Value w, bool weightInOut) {
    auto type = cast<RankedTensorType>(w.getType());
    return type.getDimSize(weightInOut ? 0 : 1);
  }

  int64_t ranks;
  std::string weightType;
  /// The tensors the weight file stores in blocks, by name.
  llvm::StringMap<StoredBlock> storedIn;
  llvm::SmallPtrSet<Operation *, 16> done;
};

struct AttnTensorParallelPass
    : tfc::attn::impl::AttnTensorParallelBase<AttnTensorParallelPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (ranks < 2)
      return; // one rank: nothing to split
    for (const std::string &entry : storedBlocks)
      if (!TensorParallel::parseStoredBlock(entry)) {
        getOperation().emitError() << "stored-blocks: '" << entry
                                   << "' is not NAME=TYPE/N (N a positive block size)";
        return signalPassFailure();
      }
    TensorParallel split(ranks.getValue(), weightType.getValue(), storedBlocks);
    SmallVector<AttentionOp> attentions;
    SmallVector<LatentAttentionOp> latents;
    SmallVector<LinearOp> linears;
    SmallVector<MoEOp> mixtures;
    module.walk([&](Operation *op) {
      if (auto a = dyn_cast<AttentionOp>(op))
        attentions.push_back(a);
      else if (auto m = dyn_cast<LatentAttentionOp>(op))
        latents.push_back(m);
      else if (auto moe = dyn_cast<MoEOp>(op))
        mixtures.push_back(moe);
      else if (auto l = dyn_cast<LinearOp>(op))
        linears.push_back(l);
    });
    for (MoEOp moe : mixtures)
      split.splitExperts(moe);
    for (AttentionOp a : attentions)
      split.splitAttention(a);
    for (LatentAttentionOp m : latents)
      split.splitLatentAttention(m);
    // Attention spelled out by the model (tdsl attend(q, k, v): split_heads,
    // rope, repeat_kv, sdpa, merge_heads between its own linear layers, as a
    // GGUF file imports); any other form around an sdpa is replicated, said
    // once per function. (No attn.attention is decomposed yet: every sdpa
    // here is the model's own.)
    SmallVector<SDPAOp> sdpas;
    module.walk([&](SDPAOp sdpa) { sdpas.push_back(sdpa); });
    llvm::SmallPtrSet<Operation *, 4> saidIn;
    for (SDPAOp sdpa : sdpas)
      if (!split.splitWrittenOutAttention(sdpa) &&
          saidIn.insert(sdpa->getParentOfType<func::FuncOp>()).second)
        emitRemark(sdpa.getLoc(), "attention written out (split_heads, sdpa, merge_heads) "
                                  "not between q/k/v and output linear layers: replicated");
    for (LinearOp l : linears)
      split.splitFeedForward(l);
    auto decoder = module.lookupSymbol<func::FuncOp>("decoder");
    if (decoder && decoder.isExternal())
      decoder = {};
    // The embedding tables, each tensor with all the attn.weight ops naming
    // it, in the order of the module.
    llvm::MapVector<WeightNameAttr, SmallVector<WeightOp>> tables;
    module.walk([&](WeightOp w) { tables[w.getName()].push_back(w); });
    for (auto &[name, ops] : tables)
      if (llvm::any_of(ops, [](WeightOp w) {
            return llvm::any_of(w->getUsers(), [](Operation *u) { return isa<EmbeddingOp>(u); });
          }))
        split.splitEmbedding(ops, decoder);
    if (decoder)
      split.splitOutputHead(decoder);
    int64_t merged = mergeSumsOverRanks(module);
    module->setAttr(kTensorParallelAttr, OpBuilder(module).getI64IntegerAttr(ranks));
    emitRemark(module.getLoc()) << "tensor parallel over " << ranks.getValue()
                                << " ranks: split " << split.attentions << " attention and "
                                << split.feedForwards
                                << " feed-forward blocks (per layer loop body), "
                                << split.mixtures << " mixtures of experts, "
                                << split.embeddings << " embeddings; output head "
                                << (split.headSplit ? "split" : "replicated")
                                << "; " << merged << " all-reduces saved";
  }
};

} // namespace
