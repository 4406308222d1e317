//===- AttnLoweringAttrs.td - Attributes read by the lowering ----*- tablegen -*-===//
//
// The attributes that carry a decision from one stage of the attention
// lowering to the next: the RoPE pairing (chosen by the front end, read by the
// decomposition and the conversion to linalg) and the tile sizes of attn.sdpa
// (chosen by tfc-attn-sdpa-strategy, read by the tiling). Typed, so that a
// misspelt style or an out-of-range tile is a verifier error, not a string
// compared in the passes.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_IR_ATTNLOWERINGATTRS_TD
#define TFC_DIALECT_ATTN_IR_ATTNLOWERINGATTRS_TD

include "tfc/Dialect/Attn/IR/AttnDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// RoPE
//===----------------------------------------------------------------------===//

def Attn_RopeStyle : I32EnumAttr<"RopeStyle", "how RoPE pairs the elements of a head", [
    // Element j with j + d/2 (Llama, GPT-NeoX, Hugging Face's rotate_half).
    I32EnumAttrCase<"half", 0>,
    // Element 2j with 2j + 1 (GPT-J, the original RoFormer).
    I32EnumAttrCase<"interleaved", 1>
  ]> {
  let cppNamespace = "::tfc::attn";
  let genSpecializedAttr = 0;
}

/// `#attn<rope_style half>` in an attribute dictionary.
def Attn_RopeStyleAttr : EnumAttr<Attn_Dialect, Attn_RopeStyle, "rope_style">;

def Attn_RopeScalingKind : I32EnumAttr<"RopeScalingKind", "how RoPE's frequencies are rescaled", [
    // Every frequency divided by `factor` (positions / factor): Hugging Face
    // `rope_type = "linear"`.
    I32EnumAttrCase<"linear", 0>,
    // Llama 3.1's per-frequency rule: wavelengths longer than
    // original_max_position / low_freq_factor divided by `factor`, shorter than
    // original_max_position / high_freq_factor kept, smoothly interpolated in
    // between (Hugging Face `_compute_llama3_parameters`).
    I32EnumAttrCase<"llama3", 1>,
    // YaRN as DeepSeek-V2's modeling_deepseek.py has it (DeepseekV2YarnRotaryEmbedding):
    // frequencies divided by `factor` below the correction range of beta_fast /
    // beta_slow rotations over original_max_position, kept above it, blended
    // linearly inside; cos and sin times mscale(factor, mscale) /
    // mscale(factor, mscale_all_dim); and the softmax scale of the attention
    // that rotates with it times mscale(factor, mscale_all_dim)^2
    // (ropeAttentionFactors).
    I32EnumAttrCase<"yarn", 2>
  ]> {
  let cppNamespace = "::tfc::attn";
  let genSpecializedAttr = 0;
}

def Attn_RopeScalingKindAttr : EnumAttr<Attn_Dialect, Attn_RopeScalingKind, "rope_scaling_kind">;

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def Attn_MoeTopKMethod : I32EnumAttr<"MoeTopKMethod",
    "how a mixture of experts picks a token's experts from the router scores", [
    // The top_k experts of the highest scores (DeepSeek-V2 `greedy`, Mixtral).
    I32EnumAttrCase<"greedy", 0>,
    // The topk_group groups (of n_group equal groups of consecutive experts)
    // with the highest best expert score, then the top_k experts of those
    // (DeepSeek-V2 `group_limited_greedy`, the others' scores masked to 0).
    I32EnumAttrCase<"group_limited_greedy", 1>,
    // DeepSeek-V3 `noaux_tc`: the scores plus a per-expert correction bias
    // choose (the weights stay the scores); a group's score is the sum of its
    // best two; the experts outside the topk_group best groups count as 0.
    I32EnumAttrCase<"noaux_tc", 2>
  ]> {
  let cppNamespace = "::tfc::attn";
  let genSpecializedAttr = 0;
}

/// `#attn<moe_topk greedy>` in an attribute dictionary.
def Attn_MoeTopKMethodAttr : EnumAttr<Attn_Dialect, Attn_MoeTopKMethod, "moe_topk">;

def Attn_MoeScoring : I32EnumAttr<"MoeScoring",
    "how a mixture of experts turns router logits into scores", [
    // softmax over the experts (DeepSeek-V2, Mixtral).
    I32EnumAttrCase<"softmax", 0>,
    // an independent sigmoid per expert (DeepSeek-V3).
    I32EnumAttrCase<"sigmoid", 1>
  ]> {
  let cppNamespace = "::tfc::attn";
  let genSpecializedAttr = 0;
}

/// `#attn<moe_scoring sigmoid>` in an attribute dictionary.
def Attn_MoeScoringAttr : EnumAttr<Attn_Dialect, Attn_MoeScoring, "moe_scoring">;

def Attn_RopeScalingAttr : AttrDef<Attn_Dialect, "RopeScaling"> {
  let mnemonic = "rope_scaling";
  let summary = "a rescaling of RoPE's inverse frequencies (context extension)";
  let description = [{
    Chosen by the front end (tdsl `rope(scaling = ...)`), read by the RoPE
    lowering, which computes the rescaled inverse frequencies at compile time
    (ropeInverseFrequencies). `linear` reads only `factor`; `llama3` all four
    (`factor`, `low_freq_factor`, `high_freq_factor`, `original_max_position`);
    `yarn` `factor`, `original_max_position` and its own four (`beta_fast`,
    `beta_slow`, `mscale`, `mscale_all_dim`, present only with yarn).

    ```mlir
    rope_scaling = #attn.rope_scaling<llama3, factor = 8.0 : f64, low_freq_factor = 1.0 : f64,
                                      high_freq_factor = 4.0 : f64, original_max_position = 8192>
    rope_scaling = #attn.rope_scaling<yarn, factor = 40.0 : f64, low_freq_factor = 1.0 : f64,
                                      high_freq_factor = 4.0 : f64, original_max_position = 4096,
                                      beta_fast = 32.0 : f64, beta_slow = 1.0 : f64,
                                      mscale = 0.707 : f64, mscale_all_dim = 0.707 : f64>
    ```
  }];
  let parameters = (ins "::tfc::attn::RopeScalingKind":$kind, "::mlir::FloatAttr":$factor,
                        "::mlir::FloatAttr":$lowFreqFactor, "::mlir::FloatAttr":$highFreqFactor,
                        "int64_t":$originalMaxPosition,
                        OptionalParameter<"::mlir::FloatAttr">:$betaFast,
                        OptionalParameter<"::mlir::FloatAttr">:$betaSlow,
                        OptionalParameter<"::mlir::FloatAttr">:$mscale,
                        OptionalParameter<"::mlir::FloatAttr">:$mscaleAllDim);
  let assemblyFormat = [{
    `<` $kind `,` `factor` `=` $factor `,` `low_freq_factor` `=` $lowFreqFactor `,`
    `high_freq_factor` `=` $highFreqFactor `,` `original_max_position` `=` $originalMaxPosition
    (`,` `beta_fast` `=` $betaFast^)? (`,` `beta_slow` `=` $betaSlow^)?
    (`,` `mscale` `=` $mscale^)? (`,` `mscale_all_dim` `=` $mscaleAllDim^)? `>`
  }];
  let builders = [
    // linear and llama3: no yarn parameters.
    AttrBuilder<(ins "::tfc::attn::RopeScalingKind":$kind, "::mlir::FloatAttr":$factor,
                     "::mlir::FloatAttr":$lowFreqFactor, "::mlir::FloatAttr":$highFreqFactor,
                     "int64_t":$originalMaxPosition), [{
      return $_get($_ctxt, kind, factor, lowFreqFactor, highFreqFactor, originalMaxPosition,
                   ::mlir::FloatAttr(), ::mlir::FloatAttr(), ::mlir::FloatAttr(),
                   ::mlir::FloatAttr());
    }]>
  ];
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Tiling of attn.sdpa
//===----------------------------------------------------------------------===//

def Attn_SDPATilingAttr : AttrDef<Attn_Dialect, "SDPATiling"> {
  let mnemonic = "sdpa_tiling";
  let summary = "the query-block and key-tile sizes of attn.sdpa's online softmax";
  let description = [{
    Chosen by `tfc-attn-sdpa-strategy`, read by the tiling of attn.sdpa.
    `query_rows` counts the rows of a block after stacking the query heads
    that share a key/value head (group G = heads / kv_heads): a block holds
    max(1, query_rows / G) queries. `key_tile` is the keys per tile of such a
    block; a decode step's block (G rows) takes key_tile x max(1, query_rows /
    G) keys per tile, so the score block stays within query_rows x key_tile per
    key/value head. Both lie in [1, 65536] (index arithmetic on them cannot
    overflow).

    ```mlir
    %o = attn.sdpa %q, %k, %v {heads = 8 : i64, kv_heads = 2 : i64, causal, scale = 0.35 : f64,
                               tiling = #attn.sdpa_tiling<query_rows = 256, key_tile = 256>} : ...
    ```
  }];
  let parameters = (ins "int64_t":$queryRows, "int64_t":$keyTile);
  let assemblyFormat = "`<` `query_rows` `=` $queryRows `,` `key_tile` `=` $keyTile `>`";
  let genVerifyDecl = 1;
}

#endif // TFC_DIALECT_ATTN_IR_ATTNLOWERINGATTRS_TD
