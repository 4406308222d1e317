//===- AttentionMaps.cpp - An entry point returning the attention probabilities ===//
//
// What a model attends to is its softmax probabilities, which the flash-style
// lowering of attn.sdpa never forms. `tfc --emit-attention` adds
// @attention_maps, a stateless clone of the model function that runs a prompt
// and returns, per attention site and head, the [n, n] probabilities
// (attn.attention_probs next to each attn.sdpa), in one [maps, heads, n, n]
// tensor threaded through the layer loops. The clone sees attention as the
// passes before it left it (latent absorbed, K/V heads grouped), so the maps
// are those of the compiled model; the passes keep the function, hence the maps
// (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/Transforms/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace tfc::attn {
#define GEN_PASS_DEF_ATTNATTENTIONMAPS
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace tfc::attn

using namespace mlir;
using namespace tfc::attn;

namespace {

/// The attention sites of one layer loop (or of the function body, `loop`
/// null), in program order, and where their maps start.
struct SiteGroup {
  scf::ForOp loop;
  SmallVector<SDPAOp> sites;
  int64_t first = 0, trips = 1; // the loop's lower bound and trip count
  int64_t base = 0;             // index of the group's first map
};

/// `p` (attn.attention_probs of `site`, [heads, n, m]) written at map `index`
/// of `maps` ([maps, heads, n, n]); returns the updated maps.
Value insertProbabilities(OpBuilder &b, SDPAOp site, Value maps, OpFoldResult index) {
  Location loc = site.getLoc();
  b.setInsertionPoint(site);
  auto q = cast<RankedTensorType>(site.getQuery().getType());
  auto k = cast<RankedTensorType>(site.getKey().getType());
  auto type = RankedTensorType::get({q.getDimSize(0), q.getDimSize(1), k.getDimSize(1)},
                                    b.getF32Type());
  Value p = b.create<AttentionProbsOp>(loc, type, site.getQuery(), site.getKey(),
                                       site.getHeadsAttr(), site.getKvHeadsAttr(),
                                       site.getCausalAttr(), site.getScaleAttr(),
                                       site.getWindowAttr());
  SmallVector<OpFoldResult> offsets = {index, b.getIndexAttr(0), b.getIndexAttr(0),
                                       b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(q.getDimSize(0)),
                                     tfc::knownSize(b, loc, p, 1), tfc::knownSize(b, loc, p, 2)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return b.create<tensor::InsertSliceOp>(loc, p, maps, offsets, sizes, strides);
}

struct AttnAttentionMapsPass : tfc::attn::impl::AttnAttentionMapsBase<AttnAttentionMapsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (module.lookupSymbol("attention_maps"))
      return;
    // The decoder when it runs on tokens alone; else the encoder (the
    // encoder-decoder models' decoder needs a memory; BERT has no decoder).
    auto decoder = module.lookupSymbol<func::FuncOp>("decoder");
    auto encoder = module.lookupSymbol<func::FuncOp>("encoder");
    func::FuncOp source;
    if (decoder && !decoder.isExternal() && decoder.getNumArguments() == 1)
      source = decoder;
    else if (encoder && !encoder.isExternal() && encoder.getNumArguments() == 1)
      source = encoder;
    if (!source) {
      module.emitError("attention maps: the model has no decoder or encoder over tokens alone");
      return signalPassFailure();
    }
    if (source->hasAttr(AttnDialect::kStatefulAttrName)) {
      source.emitError("attention maps: must run before tfc-attn-kv-cache");
      return signalPassFailure();
    }

    OpBuilder cloner(source);
    cloner.setInsertionPointAfter(source);
    auto maps = cast<func::FuncOp>(cloner.clone(*source));
    maps.setSymName("attention_maps");
    maps.removeResAttrsAttr();
    Block &entry = maps.getBody().front();

    // Sites directly in the body or directly in a layer loop with constant
    // bounds (as the front end writes `for i in a .. b`), as tfc-attn-kv-cache
    // requires too.
    SmallVector<SiteGroup> groups;
    int64_t count = 0, heads = 0;
    for (Operation &op : entry) {
      SiteGroup group;
      if (auto site = dyn_cast<SDPAOp>(op)) {
        group.sites.push_back(site);
      } else if (auto loop = dyn_cast<scf::ForOp>(op)) {
        loop.getBody()->walk([&](SDPAOp site) { group.sites.push_back(site); });
        if (group.sites.empty())
          continue;
        auto lb = getConstantIntValue(loop.getLowerBound());
        auto ub = getConstantIntValue(loop.getUpperBound());
        auto step = getConstantIntValue(loop.getStep());
        if (!lb || !ub || !step || *step != 1 || *ub <= *lb) {
          loop.emitError("attention maps: the layer loop must run between constants with step 1");
          return signalPassFailure();
        }
        group.loop = loop;
        group.first = *lb;
        group.trips = *ub - *lb;
      } else {
        bool nested = false;
        op.walk([&](SDPAOp) { nested = true; });
        if (nested) {
          op.emitError("attention maps: attention must be at function level or directly in "
                       "one layer loop");
          return signalPassFailure();
        }
        continue;
      }
      for (SDPAOp site : group.sites) {
        if (site->getParentOp() != op.getParentOp() && site->getParentOp() != group.loop) {
          site.emitError("attention maps: attention must be at function level or directly in "
                         "one layer loop");
          return signalPassFailure();
        }
        if (heads && site.getHeads() != static_cast<uint64_t>(heads)) {
          site.emitError() << "attention maps: every attention must have the same heads ("
                           << site.getHeads() << " here, " << heads << " before)";
          return signalPassFailure();
        }
        heads = site.getHeads();
      }
      group.base = count;
      count += group.trips * static_cast<int64_t>(group.sites.size());
      groups.push_back(std::move(group));
    }
    if (groups.empty()) {
      source.emitError("attention maps: the model has no attention");
      return signalPassFailure();
    }

    IRRewriter rewriter(&getContext());
    Location loc = maps.getLoc();
    rewriter.setInsertionPointToStart(&entry);
    Value n = rewriter.create<tensor::DimOp>(loc, entry.getArgument(0), 0);
    auto mapsType = RankedTensorType::get(
        {count, heads, ShapedType::kDynamic, ShapedType::kDynamic}, rewriter.getF32Type());
    Value current = rewriter.create<tensor::EmptyOp>(loc, mapsType, ValueRange{n, n});

    for (SiteGroup &group : groups) {
      if (!group.loop) {
        current = insertProbabilities(rewriter, group.sites[0], current,
                                      rewriter.getIndexAttr(group.base));
        continue;
      }
      scf::ForOp loop = group.loop;
      const int64_t perTrip = static_cast<int64_t>(group.sites.size());
      auto newLoop = loop.replaceWithAdditionalYields(
          rewriter, ValueRange{current}, /*replaceInitOperandUsesInLoop=*/false,
          [&](OpBuilder &b, Location l, ArrayRef<BlockArgument> newArgs) -> SmallVector<Value> {
            // Map of site s at iteration iv: base + (iv - first) * perTrip + s.
            Value layerMaps;
            {
              OpBuilder::InsertionGuard guard(b);
              b.setInsertionPointToStart(loop.getBody());
              Value iv = loop.getInductionVar();
              layerMaps = perTrip == 1 ? iv
                                       : b.create<arith::MulIOp>(l, iv,
                                                                 tfc::indexConst(b, l, perTrip));
              int64_t shift = group.base - group.first * perTrip;
              if (shift != 0)
                layerMaps =
                    b.create<arith::AddIOp>(l, layerMaps, tfc::indexConst(b, l, shift));
            }
            Value inLoop = newArgs[0];
            for (auto [s, site] : llvm::enumerate(group.sites)) {
              OpBuilder::InsertionGuard guard(b);
              b.setInsertionPoint(site);
              Value index = s == 0 ? layerMaps
                                   : b.create<arith::AddIOp>(
                                         l, layerMaps,
                                         tfc::indexConst(b, l, static_cast<int64_t>(s)));
              inLoop = insertProbabilities(b, site, inLoop, index);
            }
            return {inLoop};
          });
      if (failed(newLoop)) {
        maps.emitError("attention maps: cannot thread the maps through the layer loop");
        return signalPassFailure();
      }
      current = newLoop->getOperation()->getResults().back();
    }

    // Only the maps come out: the output head and the work no map depends on
    // become dead code for the canonicalizer.
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    rewriter.setInsertionPoint(ret);
    rewriter.replaceOpWithNewOp<func::ReturnOp>(ret, ValueRange{current});
    maps.setType(rewriter.getFunctionType(maps.getArgumentTypes(), {mapsType}));
  }
};

} // namespace
