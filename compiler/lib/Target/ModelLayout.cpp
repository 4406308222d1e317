//===- ModelLayout.cpp - What a compiled model holds, read off the IR -------===//
//
// The model numbers of tfc_model_info (from the attn IR as generated), the KV
// caches after the attn passes (for the info block and `tfc --report` alike),
// and the weight slots, caches and entry functions recorded as attn
// attributes, read without changing the IR so that the module the emitter
// translates is the one `tfc --emit=llvm` prints.
//
//===----------------------------------------------------------------------===//

#include "tfc/Target/ModelLayout.h"
#include "tfc/gen_abi.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;

namespace tfc {

using attn::AttnDialect;

namespace {

int64_t tripCountOf(scf::ForOp loop) {
  auto lb = getConstantIntValue(loop.getLowerBound());
  auto ub = getConstantIntValue(loop.getUpperBound());
  auto step = getConstantIntValue(loop.getStep());
  if (!lb || !ub || !step || *step <= 0)
    return 1;
  return (*ub - *lb + *step - 1) / *step;
}

/// How many times `op` runs per call: the product of enclosing loop trip counts.
int64_t timesRun(Operation *op) {
  int64_t times = 1;
  for (auto loop = op->getParentOfType<scf::ForOp>(); loop;
       loop = loop->getParentOfType<scf::ForOp>())
    times *= tripCountOf(loop);
  return times;
}

/// The vocabulary of embedding `emb`: its table's rows, times the ranks for a
/// vocabulary-parallel table (less its padding when they do not divide it).
int64_t vocabularyOf(attn::EmbeddingOp emb) {
  int64_t rows = emb.getTable().getType().getDimSize(0);
  if (Operation *table = emb.getTable().getDefiningOp())
    if (auto shard = table->getAttrOfType<DenseI64ArrayAttr>("attn.shard");
        shard && shard.size() >= 3 && shard[0] == 0)
      return wholeSizeOfShard(shard.asArrayRef(), rows);
  return rows * emb.getVocabParts().value_or(1);
}

} // namespace

ModelSummary summarizeModel(ModuleOp module) {
  ModelSummary s;
  if (auto name = module->getAttrOfType<StringAttr>("attn.name"))
    s.name = name.str();
  if (auto maxSeq = module->getAttrOfType<IntegerAttr>("attn.max_seq"))
    s.maxSeq = maxSeq.getInt();
  auto decoder = module.lookupSymbol<func::FuncOp>("decoder");
  auto encoder = module.lookupSymbol<func::FuncOp>("encoder");
  auto widthOf = [](func::FuncOp f) {
    return cast<RankedTensorType>(f.getResultTypes().front()).getDimSize(1);
  };
  if (decoder && decoder.getNumResults() == 1)
    s.vocab = widthOf(decoder);
  if (encoder && encoder.getNumResults() == 1)
    s.dim = widthOf(encoder);

  func::FuncOp main = decoder ? decoder : encoder;
  if (!main)
    return s;
  main.walk([&](Operation *op) {
    if (auto emb = dyn_cast<attn::EmbeddingOp>(op)) {
      if (!s.dim)
        s.dim = emb.getType().getDimSize(1);
      if (!s.vocab) // a vocabulary-parallel table holds 1/vocab_parts of the rows
        s.vocab = vocabularyOf(emb);
    } else if (auto a = dyn_cast<attn::AttentionOp>(op)) {
      if (a.getMemory())
        return;
      s.layers += timesRun(op);
      if (!s.heads) {
        s.heads = a.getHeads();
        s.kvHeads = a.getKvHeads();
        s.headDim = a.getHeadDim();
      }
    } else if (auto mla = dyn_cast<attn::LatentAttentionOp>(op)) {
      s.layers += timesRun(op);
      if (!s.heads) {
        s.heads = s.kvHeads = mla.getHeads();
        s.headDim = mla.getNopeDim() + mla.getRopeDim();
        s.kvLatentRank = mla.getKvRank();
      }
    }
  });
  if (s.layers)
    return s;
  // A model written with attend(q, k, v) has its attention at the head level
  // already: its self-attentions are the sdpa of the encoder, and the causal
  // ones of a decoder that also has a memory (the others attend to it).
  bool crossPossible = main == decoder && decoder.getNumArguments() > 1;
  main.walk([&](attn::SDPAOp sdpa) {
    if (crossPossible && !sdpa.getCausal())
      return;
    s.layers += timesRun(sdpa);
    if (!s.heads) {
      s.heads = sdpa.getHeads();
      Value key = sdpa.getKey();
      if (auto repeat = key.getDefiningOp<attn::RepeatKVOp>())
        key = repeat.getInput();
      s.kvHeads = cast<RankedTensorType>(key.getType()).getDimSize(0);
      s.headDim = sdpa.getQuery().getType().getDimSize(2);
    }
  });
  return s;
}

llvm::SmallVector<KVCacheUse> analyzeKVCaches(ModuleOp module) {
  llvm::SmallVector<KVCacheUse> caches;
  auto decoder = module.lookupSymbol<func::FuncOp>("decoder");
  if (!decoder)
    return caches;
  // Each update writes one [heads, d] slice per layer and token into a cache
  // [layers, heads, positions, d]; cross-attention caches (marked tfc.cross by
  // the KV-cache pass) grow with the memory, not the decoding; rolling caches
  // (ring_update) keep their window of positions.
  decoder.walk([&](Operation *op) {
    if (!isa<attn::CacheUpdateOp, attn::RingUpdateOp>(op))
      return;
    auto type = cast<RankedTensorType>(op->getOperand(0).getType());
    KVCacheUse use;
    use.update = op;
    use.cross = op->hasAttr("tfc.cross");
    use.rolling = isa<attn::RingUpdateOp>(op);
    if (auto loop = op->getParentOfType<scf::ForOp>())
      if (std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()))
        use.firstLayer = *lb;
    use.layers = type.getDimSize(0);
    use.heads = type.getDimSize(1);
    use.positions = type.getDimSize(2);
    use.width = type.getDimSize(3);
    use.elementBytes = static_cast<int64_t>(type.getElementTypeBitWidth() / 8);
    caches.push_back(use);
  });
  return caches;
}

int64_t kvCacheBytesPerToken(llvm::ArrayRef<KVCacheUse> caches) {
  int64_t bytes = 0;
  for (const KVCacheUse &c : caches)
    if (!c.cross && !c.rolling)
      bytes += c.bytesPerToken();
  return bytes;
}

int64_t ModelLayout::parameterCount() const {
  int64_t params = 0;
  for (auto [index, slot] : llvm::enumerate(slots)) {
    int64_t n = 1;
    for (int64_t d : slot.getShape())
      n *= d;
    // A slot holds one rank's part of a sharded tensor (padded: the whole
    // tensor is shorter than parts times the part), or its experts.
    if (index < shards.size() && shards[index].size() >= 3 &&
        shards[index][0] == TFC_SHARD_EXPERTS) {
      n = n / slot.getShape().front() * slot.getName().getEntries();
    } else if (index < shards.size() && shards[index].size() >= 3 && shards[index][0] >= 0) {
      llvm::ArrayRef<int64_t> shape = slot.getTensorShape();
      int64_t along = shape[shards[index][0]];
      n = n / along * wholeSizeOfShard(shards[index], along);
    }
    params += n;
  }
  return params;
}

FailureOr<ModelLayout> readModelLayout(ModuleOp module, ModelSummary summary) {
  ModelLayout layout;
  layout.summary = std::move(summary);
  auto slots = module->getAttrOfType<ArrayAttr>(AttnDialect::kWeightSlotsAttrName);
  if (!slots)
    return module.emitError() << "no " << AttnDialect::kWeightSlotsAttrName
                              << ": tfc-lower-entry-points has not run";
  for (auto slot : slots.getAsRange<attn::WeightSlotAttr>())
    layout.slots.push_back(slot);
  if (auto ranks = module->getAttrOfType<IntegerAttr>("attn.tensor_parallel"))
    layout.tensorParallel = ranks.getInt();
  layout.shards.resize(layout.slots.size());
  if (auto shards = module->getAttrOfType<ArrayAttr>("attn.weight_shards")) {
    if (shards.size() != layout.slots.size())
      return module.emitError("attn.weight_shards does not match attn.weight_slots");
    for (auto [i, shard] : llvm::enumerate(shards)) {
      auto values = dyn_cast<DenseI64ArrayAttr>(shard);
      if (!values || (values.size() != 0 && values.size() != 3 && values.size() != 4 &&
                      values.size() != 5))
        return module.emitError("attn.weight_shards: entry ")
               << i << " is not [dim, parts, ranks], [dim, parts, ranks, whole] or [dim, "
               << "parts, ranks, whole, segments]";
      layout.shards[i].assign(values.asArrayRef().begin(), values.asArrayRef().end());
    }
  }
  if (auto caches = module->getAttrOfType<ArrayAttr>(AttnDialect::kKVCachesAttrName))
    for (auto cache : caches.getAsRange<attn::KVCacheAttr>())
      layout.caches.push_back(cache);

  for (auto func : module.getOps<FunctionOpInterface>()) {
    auto args = func->getAttrOfType<ArrayAttr>(AttnDialect::kEntryArgsAttrName);
    // convert-func-to-llvm gives the C-interface wrappers the attributes too.
    if (!args || func.getName().starts_with("_mlir_ciface_"))
      continue;
    EntryFunction entry;
    entry.symbol = func.getName().str();
    for (auto arg : args.getAsRange<attn::EntryArgAttr>())
      entry.args.push_back(arg);
    if (auto width = func->getAttrOfType<IntegerAttr>(AttnDialect::kOutWidthAttrName))
      entry.outWidth = width.getInt();
    entry.stateful = func->hasAttr(AttnDialect::kStatefulAttrName);
    if (auto arena = func->getAttrOfType<FlatSymbolRefAttr>(AttnDialect::kArenaBytesAttrName))
      entry.arenaBytes = arena.getValue().str();
    if (auto count = func->getAttrOfType<IntegerAttr>(AttnDialect::kAttentionMapCountAttrName))
      entry.attentionMapCount = count.getInt();
    if (entry.symbol == "decoder")
      layout.decoder = std::move(entry);
    else if (entry.symbol == "encoder")
      layout.encoder = std::move(entry);
    else if (entry.symbol == "decoder_last")
      layout.decoderLast = std::move(entry);
    else if (entry.symbol == "decoder_batch")
      layout.decoderBatch = std::move(entry);
    else if (entry.symbol == "attention_maps")
      layout.attentionMaps = std::move(entry);
    else
      return func.emitError("unexpected model function '") << entry.symbol << "'";
  }
  return layout;
}

} // namespace tfc
