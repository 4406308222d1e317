//===- Report.cpp - tfc --report: what the compiled KV cache holds ---------===//
//
// The table is read off the IR after the attn passes (the cache_update and
// ring_update ops the KV-cache pass created and what attention reads from
// them), not recomputed from the config, so it shows what the passes really
// did: GQA shrinks the head count, latent attention replaces keys and values
// by [c, k_pe], a sliding window makes the cache a ring of W positions. The
// caches and their bytes come from the same analysis (analyzeKVCaches) that
// gives the library its kv_cache_bytes_per_token.
//
//===----------------------------------------------------------------------===//

#include "tfc/Pipeline/Pipeline.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"
#include "tfc/Target/ModelLayout.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

using namespace mlir;

namespace tfc {

namespace {

/// What attention reads from the view of one cache.
/// The view attention reads the cache written by `update` through: the
/// cache_view of the updated cache, or the ring_window of a rolling cache
/// (which reads the cache before the update, with the same new rows).
SmallVector<Value> viewsOf(Operation *update) {
  SmallVector<Value> views;
  if (auto ring = dyn_cast<attn::RingUpdateOp>(update)) {
    for (Operation *user : ring.getCache().getUsers())
      if (auto window = dyn_cast<attn::RingWindowOp>(user);
          window && window.getNewRows() == ring.getUpdate())
        views.push_back(window.getResult());
    return views;
  }
  // A cross-attention update sits in an scf.if (first step only): follow it out.
  Value updated = update->getResult(0);
  for (Operation *user : updated.getUsers())
    if (auto yield = dyn_cast<scf::YieldOp>(user))
      if (auto ifOp = dyn_cast<scf::IfOp>(yield->getParentOp()))
        updated = ifOp.getResult(0);
  for (Operation *user : updated.getUsers())
    if (auto view = dyn_cast<attn::CacheViewOp>(user))
      views.push_back(view.getResult());
  return views;
}

/// The --kv-type a cache element type stands for.
std::string kvTypeName(Type element) {
  if (element.isBF16())
    return "bf16";
  if (element.isInteger(8))
    return "q8_0";
  return "f32";
}

/// Values per cached row of `c` (a Q8_0 row's width counts bytes).
int64_t valuesPerRow(const KVCacheUse &c) {
  Type element = cast<ShapedType>(c.update->getOperand(0).getType()).getElementType();
  return element.isInteger(8) ? c.width / attn::kKVQ8BlockBytes * attn::kKVQ8Block : c.width;
}

std::string cachedQuantity(Operation *update) {
  SmallVector<Value> reads;
  // A narrow cache is read through attn.kv_dequant.
  for (Value view : viewsOf(update)) {
    reads.push_back(view);
    for (Operation *user : view.getUsers())
      if (auto dequant = dyn_cast<attn::KVDequantOp>(user))
        reads.push_back(dequant.getResult());
  }
  for (Value view : reads) {
    for (Operation *reader : view.getUsers()) {
      if (auto sdpa = dyn_cast<attn::SDPAOp>(reader)) {
        if (sdpa.getKey() != view)
          return "values";
        auto slice = sdpa.getValue().getDefiningOp<attn::SliceLastOp>();
        if (slice && slice.getInput() == view)
          return fmt::format("latent [c, k_pe] (values = first {})",
                             slice.getType().getDimSize(2));
        return "keys";
      }
    }
  }
  return "?";
}

struct Row {
  bool cross, rolling;
  std::string layers, what;
  int64_t heads, width, elements, bytes, bytesAtMax;
};

} // namespace

void printKVCacheReport(ModuleOp attnModule, ModuleOp attnOptModule, llvm::raw_ostream &os) {
  auto name = attnModule->getAttrOfType<StringAttr>("attn.name");
  auto maxSeqAttr = attnModule->getAttrOfType<IntegerAttr>("attn.max_seq");
  int64_t maxSeq = maxSeqAttr ? maxSeqAttr.getInt() : 0;
  llvm::SmallVector<KVCacheUse> caches = analyzeKVCaches(attnOptModule);
  std::string elementTypes;
  for (KVCacheUse c : caches) {
    std::string t = kvTypeName(cast<ShapedType>(c.update->getOperand(0).getType())
                                   .getElementType());
    if (!llvm::is_contained(llvm::split(elementTypes, ", "), t))
      elementTypes += (elementTypes.empty() ? "" : ", ") + t;
  }
  os << fmt::format("KV cache of model '{}' as compiled (max_seq {}, {})\n",
                    name ? name.str() : std::string("?"), maxSeq,
                    elementTypes.empty() ? "f32" : elementTypes);
  // A tensor-parallel rank caches its own heads (an MLA latent or a K/V head
  // replicated over ranks whole on each): the table is one rank's.
  if (auto tp = attnOptModule->getAttrOfType<IntegerAttr>("attn.tensor_parallel"))
    os << fmt::format("per rank of {} (--tensor-parallel): what one rank caches; the {} ranks "
                      "together hold {} times as much\n",
                      tp.getInt(), tp.getInt(), tp.getInt());

  std::vector<Row> rows;
  if (!attnOptModule.lookupSymbol<func::FuncOp>("decoder")) {
    os << "no KV cache: the model has no decoder\n";
    return;
  }
  for (const KVCacheUse &c : caches) {
    std::string what = cachedQuantity(c.update);
    if (c.cross)
      what = "cross-attention " + what + " (per memory token)";
    if (c.rolling)
      what += fmt::format(" (rolling, last {})", c.positions);
    // Narrow caches (--kv-type) say so; width and elements count values.
    std::string type = kvTypeName(cast<ShapedType>(c.update->getOperand(0).getType())
                                      .getElementType());
    if (type != "f32")
      what += " (" + type + ")";
    rows.push_back(Row{c.cross, c.rolling,
                       c.layers == 1 ? fmt::format("{}", c.firstLayer)
                                     : fmt::format("{}-{}", c.firstLayer,
                                                   c.firstLayer + c.layers - 1),
                       what, c.heads, valuesPerRow(c), c.layers * c.heads * valuesPerRow(c),
                       c.bytesPerToken(), c.bytesAfter(maxSeq)});
  }
  if (rows.empty()) {
    os << "no KV cache: the decoder recomputes the whole sequence at every call "
          "(--no-kv-cache, or no causal self-attention)\n";
    return;
  }
  os << fmt::format("{:<8} {:<44} {:>6} {:>6} {:>14} {:>12} {:>16}\n", "layers", "cached",
                    "heads", "width", "elements/token", "bytes/token", "bytes at max_seq");
  int64_t elements = 0, atMax = 0;
  bool rolling = false;
  for (const Row &r : rows) {
    os << fmt::format("{:<8} {:<44} {:>6} {:>6} {:>14} {:>12} {:>16}\n", r.layers, r.what, r.heads,
                      r.width, r.elements, r.bytes, r.bytesAtMax);
    // A cross-attention cache is filled once per sequence from the memory; a
    // rolling one stops growing at its window.
    if (!r.cross && !r.rolling)
      elements += r.elements;
    if (!r.cross)
      atMax += r.bytesAtMax;
    rolling |= r.rolling;
  }
  // The library's kv_cache_bytes_per_token (tfc_model_info), by definition.
  int64_t bytes = kvCacheBytesPerToken(caches);
  os << fmt::format("{:<8} {:<44} {:>6} {:>6} {:>14} {:>12} {:>16}\n", "total", "(self-attention)", "", "",
                    elements, bytes, atMax);
  if (rolling)
    os << "rolling caches (sliding window) hold their last W positions whatever the length: "
          "their bytes at max_seq are those of W positions, and the per-token total leaves "
          "them out\n";

  // The seed paper's comparison for latent attention: the same model with full
  // per-head keys and values (MHA), grouped (GQA, 8 heads per group), or one
  // shared head (MQA), against what MLA caches.
  int64_t layers = 0, heads = 0, keyWidth = 0, valueWidth = 0, latentWidth = 0;
  if (auto decoder = attnModule.lookupSymbol<func::FuncOp>("decoder")) {
    decoder.walk([&](attn::LatentAttentionOp mla) {
      int64_t times = 1;
      for (auto loop = mla->getParentOfType<scf::ForOp>(); loop;
           loop = loop->getParentOfType<scf::ForOp>()) {
        auto lb = getConstantIntValue(loop.getLowerBound());
        auto ub = getConstantIntValue(loop.getUpperBound());
        if (lb && ub)
          times *= *ub - *lb;
      }
      layers += times;
      heads = mla.getHeads();
      keyWidth = mla.getNopeDim() + mla.getRopeDim();
      valueWidth = mla.getVDim();
      latentWidth = mla.getKvRank() + mla.getRopeDim();
    });
  }
  if (!layers)
    return;
  // Values as large as those of the compiled caches (34/32 bytes for Q8_0).
  double valueBytes = 4;
  if (!caches.empty())
    valueBytes = double(caches.front().bytesPerToken()) /
                 double(caches.front().layers * caches.front().heads * valuesPerRow(caches.front()));
  auto line = [&](llvm::StringRef what, int64_t perLayer) {
    int64_t bytes = int64_t(double(layers * perLayer) * valueBytes + 0.5);
    os << fmt::format("{:<44} {:>14} {:>12} {:>16}\n", what, layers * perLayer, bytes,
                      bytes * maxSeq);
  };
  os << fmt::format("\ncache per token for this attention width ({} layers, {} heads):\n", layers,
                    heads);
  os << fmt::format("{:<44} {:>14} {:>12} {:>16}\n", "attention", "elements/token", "bytes/token",
                    "bytes at max_seq");
  int64_t groups = std::max<int64_t>(1, heads / 8);
  line(fmt::format("MHA ({} K + V heads)", heads), heads * (keyWidth + valueWidth));
  line(fmt::format("GQA ({} K/V heads)", groups), groups * (keyWidth + valueWidth));
  line("MQA (1 K/V head)", keyWidth + valueWidth);
  line(fmt::format("MLA (kv_rank + rope_dim = {})", latentWidth), latentWidth);
}

} // namespace tfc
