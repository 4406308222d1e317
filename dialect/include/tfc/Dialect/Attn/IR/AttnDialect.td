//===- AttnDialect.td - The attn dialect -------------------------*- tablegen -*-===//
//
// The attn dialect holds a transformer as a graph of model-level operations on
// tensors: projections, norms, activations and, above all, attention with its
// configuration (heads, kv_heads, rope, causality, latent compression) kept as
// attributes, so that the KV-cache, GQA and latent-attention rewrites can see and
// change it before anything is lowered to loops.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_IR_ATTNDIALECT_TD
#define TFC_DIALECT_ATTN_IR_ATTNDIALECT_TD

include "mlir/IR/OpBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::tfc::attn";
  let summary = "Transformer model graphs: attention and its neighbours";
  let description = [{
    Activations are `tensor<?xDxf32>` (one row per token; the token count is the
    only dynamic dimension). Weights are static tensors introduced by
    `attn.weight`, each carrying its full safetensors name, so the weight
    manifest of a model is a walk over its `attn.weight` ops.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect"];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Adds the attributes of AttnAttrs.td (defined where their storage is).
    void registerAttributes();

    // The ABI metadata that tfc-lower-entry-points (and tfc-plan-activations,
    // tfc-attn-kv-cache) leave on the IR for the emitter, kept down to the
    // LLVM dialect (AttnAttrs.td); verified by verifyOperationAttribute.
    /// On the module: the weight slots, an array of #attn.weight_slot.
    static constexpr ::llvm::StringLiteral kWeightSlotsAttrName = "attn.weight_slots";
    /// On the module: the KV cache buffers, an array of #attn.kv_cache.
    static constexpr ::llvm::StringLiteral kKVCachesAttrName = "attn.kv_caches";
    /// On a model function: its arguments, an array of #attn.arg.
    static constexpr ::llvm::StringLiteral kEntryArgsAttrName = "attn.entry_args";
    /// On a model function: columns of its output (vocab or dim).
    static constexpr ::llvm::StringLiteral kOutWidthAttrName = "attn.out_width";
    /// On a model function: it runs only new tokens against its KV caches.
    static constexpr ::llvm::StringLiteral kStatefulAttrName = "attn.stateful";
    /// On a model function: the function returning its arena's size.
    static constexpr ::llvm::StringLiteral kArenaBytesAttrName = "attn.arena_bytes";
    /// On @attention_maps: the attention sites its [maps, heads, n, n] output
    /// holds (its out_width is the heads).
    static constexpr ::llvm::StringLiteral kAttentionMapCountAttrName = "attn.attention_map_count";
    /// On an argument of @decoder_batch before tfc-lower-entry-points: which of
    /// its batch arguments it is ("segments", "cache_offsets" or "cache_pool").
    static constexpr ::llvm::StringLiteral kBatchArgAttrName = "attn.batch_arg";
  }];
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

#endif // TFC_DIALECT_ATTN_IR_ATTNDIALECT_TD
