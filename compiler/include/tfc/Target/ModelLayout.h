//===- ModelLayout.h - What a compiled model holds, read off the IR -*- C++ -*-===//
//
// The one analysis of a model's layout that the library emitter and
// `tfc --report` share: the KV caches the decoder updates (with their element
// sizes and bytes per token), and the weight slots, caches and entry functions
// that tfc-lower-entry-points and tfc-plan-activations record on the IR as
// attn attributes (AttnAttrs.td), read from the final LLVM-dialect module.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_TARGET_MODELLAYOUT_H
#define TFC_TARGET_MODELLAYOUT_H

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <optional>
#include <string>

namespace tfc {

/// The tfc_model_info numbers, read off the attn-level IR.
struct ModelSummary {
  std::string name;
  int64_t vocab = 0, dim = 0, layers = 0, heads = 0, kvHeads = 0, headDim = 0;
  int64_t kvLatentRank = 0, maxSeq = 0, kvCacheBytesPerToken = 0;
};

/// Reads the model numbers off the attn IR as generated (before the attn passes).
ModelSummary summarizeModel(mlir::ModuleOp attnModule);

/// One KV cache the decoder updates (an attn.cache_update or attn.ring_update
/// of tfc-attn-kv-cache): [layers, heads, positions, width] of
/// `elementBytes`-byte elements, `positions` max_seq, or the window of a
/// rolling cache.
struct KVCacheUse {
  mlir::Operation *update = nullptr;
  bool cross = false;   // cross-attention: filled per memory token, not per decoded token
  bool rolling = false; // a sliding window's ring: holds the last `positions` tokens
  int64_t firstLayer = 0; // of the model: a layer loop may start past 0 (window_from)
  int64_t layers = 0, heads = 0, positions = 0, width = 0, elementBytes = 0;
  int64_t elementsPerToken() const { return layers * heads * width; }
  int64_t bytesPerToken() const { return elementsPerToken() * elementBytes; }
  /// What the cache holds once `tokens` tokens went through it.
  int64_t bytesAfter(int64_t tokens) const {
    return bytesPerToken() * (rolling ? std::min(tokens, positions) : tokens);
  }
};

/// The KV caches of @decoder after the attn passes, in IR order (none without
/// a decoder or a cache).
llvm::SmallVector<KVCacheUse> analyzeKVCaches(mlir::ModuleOp attnOptModule);

/// Bytes the decoder's self-attention caches grow by per token, all layers
/// (tfc_model_info.kv_cache_bytes_per_token): rolling caches, whose size is
/// their window whatever the length, are not counted.
int64_t kvCacheBytesPerToken(llvm::ArrayRef<KVCacheUse> caches);

/// A generated function as the runtime calls it (gen_abi.h tfc_gen_function).
struct EntryFunction {
  std::string symbol; // e.g. "decoder"
  llvm::SmallVector<attn::EntryArgAttr> args;
  int64_t outWidth = 0;
  bool stateful = false;
  std::string arenaBytes; // "" or the function returning its arena's size
  int64_t attentionMapCount = 0; // @attention_maps: the maps of its output
};

/// Everything the descriptor (gen_abi.h tfc_gen_model) is made of.
struct ModelLayout {
  ModelSummary summary;
  llvm::SmallVector<attn::WeightSlotAttr> slots;
  llvm::SmallVector<attn::KVCacheAttr> caches;
  std::optional<EntryFunction> decoder, encoder, decoderLast, decoderBatch,
      attentionMaps;
  /// Tensor parallelism (attn.tensor_parallel, attn.weight_shards): the ranks
  /// the model is split over (1: none) and per slot its shard {dim, parts,
  /// ranks}, or {dim, parts, ranks, whole} when the parts are padded (empty:
  /// every rank holds it whole).
  int64_t tensorParallel = 1;
  llvm::SmallVector<llvm::SmallVector<int64_t, 4>> shards;

  /// Parameters of the model: the elements of every manifest tensor.
  int64_t parameterCount() const;
};

/// The whole tensor's size along the dim cut by `shard` ({dim, parts, ranks[,
/// whole[, segments]]}, dim >= 0) whose parts are `part` long: parts * part
/// unless the parts are padded (a vocabulary not divisible by the ranks).
inline int64_t wholeSizeOfShard(llvm::ArrayRef<int64_t> shard, int64_t part) {
  return shard.size() >= 4 ? shard[3] : shard[1] * part;
}

/// The equal segments of the dim cut by `shard`, each cut into its parts (a
/// fused q/k/v projection's rows: 3); 1 for an ordinary cut.
inline int64_t segmentsOfShard(llvm::ArrayRef<int64_t> shard) {
  return shard.size() >= 5 ? shard[4] : 1;
}

/// Reads the layout that the passes left on `module` (attn.weight_slots,
/// attn.kv_caches on the module; attn.entry_args, attn.out_width,
/// attn.stateful, attn.arena_bytes on the model functions), at any stage after
/// tfc-lower-entry-points, the LLVM dialect included. Leaves the IR as it is.
mlir::FailureOr<ModelLayout> readModelLayout(mlir::ModuleOp module, ModelSummary summary);

} // namespace tfc

#endif // TFC_TARGET_MODELLAYOUT_H
