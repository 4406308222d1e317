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
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

#endif // TFC_DIALECT_ATTN_IR_ATTNDIALECT_TD
