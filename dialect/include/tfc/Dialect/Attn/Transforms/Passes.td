//===- Passes.td - Passes of the attn dialect --------------------*- tablegen -*-===//
//
// Rewrites on attn IR, alphabetical. Each description shows the IR before and
// after.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_TRANSFORMS_PASSES_TD
#define TFC_DIALECT_ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnDecompose : Pass<"tfc-attn-decompose"> {
  let summary = "Decompose model-level attention into head-level attn ops";
  let description = [{
    The reference lowering of attention: projections become `attn.linear`, heads
    are split out, RoPE is applied, K/V heads are replicated to every query head
    (`attn.repeat_kv`) and latent attention is decompressed into per-head K/V,
    then `attn.sdpa` computes attention over the whole sequence.

    Before:
    ```mlir
    %y = attn.attention %h weights(%wq, %wk, %wv, %wo : ...)
           {heads = 8 : i64, kv_heads = 4 : i64, head_dim = 8 : i64, causal} : tensor<?x64xf32> -> tensor<?x64xf32>
    ```
    After:
    ```mlir
    %q = attn.linear %h, %wq : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
    %k = attn.linear %h, %wk : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
    %v = attn.linear %h, %wv : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
    %qh = attn.split_heads %q : tensor<?x64xf32> -> tensor<8x?x8xf32>
    %kh = attn.split_heads %k : tensor<?x32xf32> -> tensor<4x?x8xf32>
    %vh = attn.split_heads %v : tensor<?x32xf32> -> tensor<4x?x8xf32>
    %kr = attn.repeat_kv %kh : tensor<4x?x8xf32> -> tensor<8x?x8xf32>
    %vr = attn.repeat_kv %vh : tensor<4x?x8xf32> -> tensor<8x?x8xf32>
    %o = attn.sdpa %qh, %kr, %vr {causal, heads = 8 : i64, kv_heads = 8 : i64, scale = 0.35355339059327379 : f64} : ...
    %m = attn.merge_heads %o : tensor<8x?x8xf32> -> tensor<?x64xf32>
    %y = attn.linear %m, %wo : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect"];
}

#endif // TFC_DIALECT_ATTN_TRANSFORMS_PASSES_TD
