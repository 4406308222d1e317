//===- KVCache.cpp - The decoder as a step function over a KV cache -------===//
//
// Keys and values of past tokens never change under causal self-attention, so a
// decoder that remembers them only has to compute the new tokens. This pass
// makes the cache explicit in the IR: one cache tensor per cached quantity and
// attention site ([layers, heads, max_seq, d]), threaded through the layer loop
// and returned updated, written with attn.cache_update and read with
// attn.cache_view. Because the cache is plain IR, the passes before it decide
// what is stored: GQA leaves kv_heads heads, latent attention leaves [c, k_pe].
// A sliding-window attention (window = W < max_seq) gets a rolling cache of W
// positions instead ([layers, heads, W, d], position p in slot p mod W, written
// with attn.ring_update and read with attn.ring_window), so that the memory of
// a session does not grow with its length.
//
// With `kv-type` bf16 or q8_0 a causal self-attention cache stores its rows
// narrow: the new rows go through attn.kv_quant once, before they are written,
// and what attention reads (the view, or the window of a rolling cache)
// through attn.kv_dequant, which the tiling of attn.sdpa moves onto each key
// tile. The new tokens attend to their own rounded keys and values, as they
// would had they been cached by an earlier call (llama.cpp does the same).
//
// Contract with tfc-lower-entry-points: the rewritten @decoder takes the added
// arguments (%pos: index, then the caches in order) after its own, returns the
// updated caches after its result in the same order, and carries `attn.stateful`.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNKVCACHE
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

/// Marks the cache updates of cross-attention (per memory token, not per
/// decoded token) for the reports.
constexpr llvm::StringLiteral kCrossAttr = "tfc.cross";

RankedTensorType headsType(RankedTensorType t) {
  return RankedTensorType::get({t.getDimSize(0), ShapedType::kDynamic, t.getDimSize(2)},
                               t.getElementType());
}

/// The layer loop around an attention site: the function body itself, or one
/// scf.for with constant bounds and step 1 directly in it. A loop from a
/// layer other than 0 (the layers after `window_from`) caches its own layers,
/// at index iv - lower bound.
struct LayerLoop {
  scf::ForOp loop; // null at function level
  int64_t layers = 1;
};

FailureOr<LayerLoop> layerLoopOf(SDPAOp op, func::FuncOp func) {
  LayerLoop l;
  Operation *parent = op->getParentOp();
  if (parent == func)
    return l;
  auto loop = dyn_cast<scf::ForOp>(parent);
  if (!loop || loop->getParentOp() != func)
    return op.emitError("kv cache: attention must be at function level or directly in one layer "
                        "loop");
  auto lb = getConstantIntValue(loop.getLowerBound());
  auto ub = getConstantIntValue(loop.getUpperBound());
  auto step = getConstantIntValue(loop.getStep());
  if (!lb || !ub || !step || *lb < 0 || *step != 1 || *ub <= *lb)
    return op.emitError("kv cache: the layer loop must run between constants with step 1");
  l.loop = loop;
  l.layers = *ub - *lb;
  return l;
}

struct AttnKVCachePass : tfc::attn::impl::AttnKVCacheBase<AttnKVCachePass> {
  using AttnKVCacheBase::AttnKVCacheBase;

  /// The element type self-attention caches store (kv-type), null when unknown.
  Type storageElement_;

  /// The storage element of a cache of rows `width` wide: the kv-type's, or
  /// f32 when it is f32 or cannot hold the width (Q8_0 of a width that is not a
  /// multiple of 32, the documented fallback, shown by tfc --report).
  Type storageFor(int64_t width, bool causal) {
    Type f32 = Float32Type::get(&getContext());
    if (!causal || kvStorageWidth(storageElement_, width) < 0)
      return f32;
    return storageElement_;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (kvType == "f32")
      storageElement_ = Float32Type::get(ctx);
    else if (kvType == "bf16")
      storageElement_ = BFloat16Type::get(ctx);
    else if (kvType == "q8_0")
      storageElement_ = IntegerType::get(ctx, 8);
    else {
      module.emitError() << "kv cache: kv-type must be f32, bf16 or q8_0, not '" << kvType << "'";
      return signalPassFailure();
    }
    auto func = module.lookupSymbol<func::FuncOp>("decoder");
    if (!func || func.isExternal())
      return;
    // Causal self-attention, and cross-attention over the encoder memory (the
    // decoder's second argument), whose keys and values only change when the
    // memory does: they are computed at position 0 and read back afterwards.
    Value memory = func.getNumArguments() > 1 ? func.getArgument(1) : Value();
    SmallVector<SDPAOp> sites;
    func.walk([&](SDPAOp op) {
      if (op.getCausal() || (memory && dependsOn(op.getKey(), memory) &&
                             dependsOn(op.getValue(), memory) &&
                             !dependsOn(op.getKey(), func.getArgument(0)) &&
                             !dependsOn(op.getValue(), func.getArgument(0))))
        sites.push_back(op);
    });
    if (sites.empty())
      return;
    memory_ = memory;
    auto maxSeqAttr = module->getAttrOfType<IntegerAttr>("attn.max_seq");
    if (!maxSeqAttr || maxSeqAttr.getInt() <= 0) {
      module.emitError("kv cache: the module has no positive attn.max_seq");
      return signalPassFailure();
    }
    int64_t maxSeq = maxSeqAttr.getInt();

    IRRewriter rewriter(&getContext());
    Block &entry = func.getBody().front();
    Location loc = func.getLoc();
    Value pos = entry.addArgument(rewriter.getIndexType(), loc);
    offsetPositions(rewriter, func, pos);

    rewriter.setInsertionPointToStart(&entry);
    Value zero = tfc::indexConst(rewriter, loc, 0);

    // One group per layer loop (or the function body), so that each loop is
    // rebuilt with its extra iter_args once.
    llvm::MapVector<Operation *, SmallVector<SDPAOp>> groups;
    for (SDPAOp site : sites) {
      FailureOr<LayerLoop> layer = layerLoopOf(site, func);
      if (failed(layer))
        return signalPassFailure();
      groups[layer->loop ? layer->loop.getOperation() : func.getOperation()].push_back(site);
    }
    SmallVector<Value> finalCaches;
    for (auto &[parent, group] : groups)
      if (failed(cacheGroup(rewriter, func, parent, group, pos, zero, maxSeq, finalCaches)))
        return signalPassFailure();

    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    rewriter.modifyOpInPlace(ret, [&] { ret.getOperandsMutable().append(finalCaches); });
    func.setType(rewriter.getFunctionType(entry.getArgumentTypes(), ret.getOperandTypes()));
    func.removeArgAttrsAttr();
    func.removeResAttrsAttr();
    func->setAttr(AttnDialect::kStatefulAttrName, rewriter.getUnitAttr());
  }

  /// Whether `v` is computed from `root` (within the function).
  static bool dependsOn(Value v, Value root) {
    llvm::SmallPtrSet<Operation *, 32> seen;
    SmallVector<Value> work = {v};
    while (!work.empty()) {
      Value cur = work.pop_back_val();
      if (cur == root)
        return true;
      Operation *def = cur.getDefiningOp();
      if (!def || !seen.insert(def).second)
        continue;
      llvm::append_range(work, def->getOperands());
    }
    return false;
  }

  Value memory_; // the decoder's encoder memory, when it has one

  /// Tokens start at the session position: RoPE, learned and sinusoidal
  /// positions all see `pos + t`.
  static void offsetPositions(IRRewriter &rewriter, func::FuncOp func, Value pos) {
    func.walk([&](Operation *op) {
      if (auto rope = dyn_cast<RopeOp>(op); rope && !rope.getOffset())
        rewriter.modifyOpInPlace(rope, [&] { rope.getOffsetMutable().assign(pos); });
      else if (auto pe = dyn_cast<PositionEmbeddingOp>(op); pe && !pe.getOffset())
        rewriter.modifyOpInPlace(pe, [&] { pe.getOffsetMutable().assign(pos); });
      else if (auto sin = dyn_cast<SinusoidalOp>(op); sin && !sin.getOffset())
        rewriter.modifyOpInPlace(sin, [&] { sin.getOffsetMutable().assign(pos); });
    });
  }

  /// Cross-attention keys or values `t` (computed from the memory) into
  /// `cache` at the first step of a sequence only:
  ///   scf.if (pos == 0) { t' = <t's computation, cloned>; cache_update } else { cache }
  /// The original computation of `t` loses its last use and is erased.
  static Value cacheFromMemory(OpBuilder &b, Location loc, Value cache, Value t, Value layer,
                               Value pos) {
    Value zero = tfc::indexConst(b, loc, 0);
    Value first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, pos, zero);
    SetVector<Operation *> slice;
    BackwardSliceOptions options;
    Block *block = t.getDefiningOp()->getBlock();
    options.filter = [&](Operation *op) { return op->getBlock() == block; };
    options.inclusive = true;
    getBackwardSlice(t.getDefiningOp(), &slice, options);
    auto ifOp = b.create<scf::IfOp>(
        loc, first,
        [&](OpBuilder &tb, Location l) {
          IRMapping map;
          for (Operation *op : slice)
            tb.clone(*op, map);
          Value computed = map.lookupOrDefault(t);
          auto update = tb.create<CacheUpdateOp>(l, cache.getType(), cache, computed, layer, zero);
          update->setAttr(kCrossAttr, tb.getUnitAttr());
          tb.create<scf::YieldOp>(l, ValueRange{update.getResult()});
        },
        [&](OpBuilder &eb, Location l) { eb.create<scf::YieldOp>(l, ValueRange{cache}); });
    return ifOp.getResult(0);
  }

  /// What one attention site caches: its keys and, unless the values are a
  /// slice of the keys (latent attention), its values.
  struct Site {
    SDPAOp op;
    SliceLastOp valueSlice; // set when the values are read off the cached keys
    SmallVector<Value> cached;
    SmallVector<Type> storage; // element type of each cached tensor's cache
    SmallVector<Value> views;
    /// The positions its caches hold: max_seq, or the window of a rolling cache.
    int64_t positions = 0;
  };

  /// Caches every site of one layer loop (or of the function body when
  /// `parent` is the function); appends the final caches for the return.
  LogicalResult cacheGroup(IRRewriter &rewriter, func::FuncOp func, Operation *parent,
                           ArrayRef<SDPAOp> group, Value pos, Value zero, int64_t maxSeq,
                           SmallVector<Value> &finalCaches) {
    Block &entry = func.getBody().front();
    auto loop = dyn_cast<scf::ForOp>(parent);
    int64_t layers = 1, first = 0;
    if (loop) {
      first = *getConstantIntValue(loop.getLowerBound());
      layers = *getConstantIntValue(loop.getUpperBound()) - first;
    }

    SmallVector<Site> sites;
    SmallVector<Value> cacheArgs;
    for (SDPAOp op : group) {
      Site site{op, {}, {op.getKey()}, {}, {}, maxSeq};
      // A window of max_seq or more never drops a position: a plain cache.
      if (std::optional<uint64_t> window = op.getWindow();
          window && op.getCausal() && static_cast<int64_t>(*window) < maxSeq)
        site.positions = static_cast<int64_t>(*window);
      auto slice = op.getValue().getDefiningOp<SliceLastOp>();
      if (slice && slice.getInput() == op.getKey())
        site.valueSlice = slice;
      else
        site.cached.push_back(op.getValue());
      for (Value t : site.cached) {
        auto type = cast<RankedTensorType>(t.getType());
        Type storage = storageFor(type.getDimSize(2), op.getCausal());
        site.storage.push_back(storage);
        auto cacheType = RankedTensorType::get(
            {layers, type.getDimSize(0), site.positions,
             kvStorageWidth(storage, type.getDimSize(2))},
            storage);
        cacheArgs.push_back(entry.addArgument(cacheType, op.getLoc()));
      }
      sites.push_back(std::move(site));
    }

    // Writes each cached tensor at [layer, :, pos : pos + n, :] of its cache
    // (given in `caches`), records the view over positions [0, pos + n), and
    // returns the updated caches. A rolling cache is read before it is written
    // (the window of the new tokens, from the cache as it was, then the new
    // rows), so that its W slots never need to hold more than W positions.
    auto update = [&](OpBuilder &b, ValueRange caches, Value layer) {
      SmallVector<Value> updated;
      for (Site &site : sites) {
        b.setInsertionPoint(site.op);
        Location loc = site.op.getLoc();
        for (auto [cachedRows, storage] : llvm::zip(site.cached, site.storage)) {
          Value t = cachedRows;
          Value cache = caches[updated.size()];
          Value u, length;
          // Narrow caches: the rows as stored, and what attention reads back.
          auto f32Rows = cast<RankedTensorType>(t.getType());
          auto cacheType = cast<RankedTensorType>(cache.getType());
          auto rowsType = RankedTensorType::get(
              {f32Rows.getDimSize(0), ShapedType::kDynamic, cacheType.getDimSize(3)}, storage);
          const bool narrow = !storage.isF32();
          if (narrow)
            t = b.create<KVQuantOp>(loc, rowsType, t);
          auto readBack = [&](Value stored) -> Value {
            return narrow ? b.create<KVDequantOp>(loc, headsType(f32Rows), stored).getResult()
                          : stored;
          };
          if (site.positions != maxSeq) {
            site.views.push_back(
                readBack(b.create<RingWindowOp>(loc, rowsType, cache, t, layer, pos)));
            updated.push_back(b.create<RingUpdateOp>(loc, cache.getType(), cache, t, layer, pos));
            continue;
          }
          if (site.op.getCausal()) {
            u = b.create<CacheUpdateOp>(loc, cache.getType(), cache, t, layer, pos);
            Value n = b.create<tensor::DimOp>(loc, t, 1);
            length = b.create<arith::AddIOp>(loc, pos, n);
          } else {
            u = cacheFromMemory(b, loc, cache, t, layer, pos);
            length = b.create<tensor::DimOp>(loc, memory_, 0);
          }
          site.views.push_back(
              readBack(b.create<CacheViewOp>(loc, rowsType, u, layer, length)));
          updated.push_back(u);
        }
      }
      return updated;
    };

    if (!loop) {
      llvm::append_range(finalCaches, update(rewriter, cacheArgs, zero));
    } else {
      auto newLoop = loop.replaceWithAdditionalYields(
          rewriter, cacheArgs, /*replaceInitOperandUsesInLoop=*/false,
          [&](OpBuilder &b, Location l, ArrayRef<BlockArgument> newArgs) -> SmallVector<Value> {
            SmallVector<Value> caches(newArgs.begin(), newArgs.end());
            Value layer = loop.getInductionVar();
            if (first != 0) {
              OpBuilder::InsertionGuard guard(b);
              b.setInsertionPointToStart(loop.getBody());
              layer = b.create<arith::SubIOp>(l, layer, tfc::indexConst(b, l, first));
            }
            return update(b, caches, layer);
          });
      if (failed(newLoop))
        return func.emitError("kv cache: cannot thread the caches through the layer loop");
      auto results = newLoop->getOperation()->getResults();
      llvm::append_range(finalCaches, results.take_back(cacheArgs.size()));
    }

    // Attention reads every position so far.
    for (Site &site : sites) {
      rewriter.setInsertionPoint(site.op);
      Value key = site.views[0];
      Value value = site.valueSlice ? Value() : site.views[1];
      if (site.valueSlice) {
        auto vType = headsType(site.valueSlice.getType());
        value = rewriter.create<SliceLastOp>(site.op.getLoc(), vType, key,
                                             site.valueSlice.getOffsetAttr());
      }
      rewriter.modifyOpInPlace(site.op, [&] {
        site.op.getKeyMutable().assign(key);
        site.op.getValueMutable().assign(value);
      });
    }
    return success();
  }
};

} // namespace
