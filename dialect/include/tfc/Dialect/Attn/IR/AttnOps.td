//===- AttnOps.td - Operations of the attn dialect ---------------*- tablegen -*-===//
//
// Two levels live here. The model level is what the front end emits: one op per
// tdsl builtin (attn.attention and attn.latent_attention carry the whole attention
// block with its projections). The head level is what attention decomposes into
// (split_heads, rope, repeat_kv, sdpa, merge_heads, ...) before the conversion to
// linalg; the attn passes rewrite between the two.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_IR_ATTNOPS_TD
#define TFC_DIALECT_ATTN_IR_ATTNOPS_TD

include "tfc/Dialect/Attn/IR/AttnDialect.td"
include "tfc/Dialect/Attn/IR/AttnAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"


def Attn_F32Tensor : RankedTensorOf<[F32]>;
def Attn_Activation : 2DTensorOf<[F32]>;
def Attn_HeadTensor : 3DTensorOf<[F32]>;
// Keys or values as a KV cache stores them (tfc --kv-type): f32, bf16, or the
// bytes of ggml Q8_0 blocks along the last dimension (i8, 34 per 32 values).
def Attn_KVRows : 3DTensorOf<[F32, BF16, I8]>;
def Attn_KVCache : 4DTensorOf<[F32, BF16, I8]>;
// A key or value tile as attention's products read it: f32, or bf16 widened
// by the kernels after each load.
def Attn_KVTile : 3DTensorOf<[F32, BF16]>;
def Attn_TokenIds : 1DTensorOf<[I32]>;

//===----------------------------------------------------------------------===//
// Weights and embeddings
//===----------------------------------------------------------------------===//

def Attn_WeightOp : Attn_Op<"weight", [Pure]> {
  let summary = "a named model weight, loaded at run time";
  let description = [{
    Introduces the weight tensor stored under `name` in the safetensors file.
    Inside a layer loop the front end emits one stacked weight per per-layer
    tensor: its leading dimension is the layer count (`layers N`), and its
    name (#attn.weight_name) is the list of parts that the layer index joins,
    written with `*` where the index goes (any number of times); the loop body
    takes its layer with `tensor.extract_slice`. `init` tells tfc_model_random
    how to fill the weight (set by tfc-attn-mark-weight-init; random when
    absent).

    ```mlir
    %wq = attn.weight "model.layers." * ".self_attn.q_proj.weight" layers 5 : tensor<5x64x64xf32>
    %emb = attn.weight "model.embed_tokens.weight" : tensor<512x64xf32>
    %g = attn.weight "model.norm.weight" init ones : tensor<64xf32>
    ```
  }];
  let arguments = (ins Attn_WeightNameAttr:$name, OptionalAttr<Attn_WeightInit>:$init);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "custom<WeightName>($name) (`init` $init^)? attr-dict `:` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True when the weight stacks one tensor per layer.
    bool isStacked() { return getName().isStacked(); }
    /// The name of layer `layer` (see WeightNameAttr::nameOfLayer).
    std::string nameOfLayer(int64_t layer) { return getName().nameOfLayer(layer); }
  }];
}

def Attn_EmbeddingOp : Attn_Op<"embedding", [Pure]> {
  let summary = "looks up one table row per token";
  let description = [{
    `result[t, :] = table[tokens[t], :]`.

    With `vocab_parts = P` (tfc-attn-tensor-parallel's vocabulary-parallel
    embedding) the table is this rank's shard: rows `[r * R, (r + 1) * R)` of a
    vocabulary of at most `P * R` rows (`R` the table's rows, `r` the rank,
    which the runtime gives: `__tfc_rank_index`; the last shards' rows past
    the vocabulary are padding, which no token selects). A token outside the
    shard gives a row of zeros, so the sum over ranks (attn.all_reduce) is the
    whole lookup.

    ```mlir
    %x = attn.embedding %table, %tokens : tensor<512x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
    %p = attn.embedding %shard, %tokens {vocab_parts = 2 : i64} : tensor<256x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$table, Attn_TokenIds:$tokens,
                       OptionalAttr<I64Attr>:$vocab_parts);
  let results = (outs Attn_Activation:$result);
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$table, "::mlir::Value":$tokens), [{
      build($_builder, $_state, result, table, tokens, ::mlir::IntegerAttr());
    }]>
  ];
  let assemblyFormat = "$table `,` $tokens attr-dict `:` type($table) `,` type($tokens) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_PositionEmbeddingOp : Attn_Op<"position_embedding", [Pure]> {
  let summary = "learned absolute position embeddings (GPT-2, BERT)";
  let description = [{
    `result[t, :] = table[offset + t, :]` for each token `t`; `offset` (the
    session position, default 0) is how a cached step sees absolute positions.

    ```mlir
    %p = attn.position_embedding %table, %tokens : tensor<1024x768xf32>, tensor<?xi32> -> tensor<?x768xf32>
    %p2 = attn.position_embedding %table, %tokens offset %pos : tensor<1024x768xf32>, tensor<?xi32> -> tensor<?x768xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$table, Attn_TokenIds:$tokens, Optional<Index>:$offset);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = [{
    $table `,` $tokens (`offset` $offset^)? attr-dict `:` type($table) `,` type($tokens) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_SinusoidalOp : Attn_Op<"sinusoidal", [Pure]> {
  let summary = "the original Transformer's fixed position encodings";
  let description = [{
    `result[t, 2i] = sin(p / 10000^(2i/dim))`, `result[t, 2i+1] = cos(...)` with
    `p = offset + t`; `dim` is the result width. With `style =
    #attn<rope_style half>` (Marian's MarianSinusoidalPositionalEmbedding) the
    sines fill the first half and the cosines the second: `result[t, i]` and
    `result[t, i + dim/2]` for the frequency of pair `i`.

    ```mlir
    %pe = attn.sinusoidal %tokens : tensor<?xi32> -> tensor<?x512xf32>
    ```
  }];
  let arguments = (ins Attn_TokenIds:$tokens, Optional<Index>:$offset,
                   OptionalAttr<Attn_RopeStyleAttr>:$style);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = "$tokens (`offset` $offset^)? attr-dict `:` type($tokens) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Dense layers and elementwise operations
//===----------------------------------------------------------------------===//

def Attn_LinearOp : Attn_Op<"linear", [Pure]> {
  let summary = "x W^T (+ b), W of shape [out, in] as in torch.nn.Linear";
  let description = [{
    With `weight_in_out`, W is stored `[in, out]` and the product is `x W (+ b)`:
    the Conv1D layers of Hugging Face GPT-2.

    ```mlir
    %y = attn.linear %x, %w : tensor<?x64xf32>, tensor<172x64xf32> -> tensor<?x172xf32>
    %z = attn.linear %x, %w bias %b : tensor<?x64xf32>, tensor<172x64xf32>, tensor<172xf32> -> tensor<?x172xf32>
    %c = attn.linear %x, %wc bias %b {weight_in_out} : tensor<?x64xf32>, tensor<64x172xf32>, tensor<172xf32> -> tensor<?x172xf32>
    ```
  }];
  let arguments = (ins Attn_Activation:$input, Attn_F32Tensor:$weight, Optional<Attn_F32Tensor>:$bias,
                   UnitAttr:$weight_in_out);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_RMSNormOp : Attn_Op<"rms_norm", [Pure]> {
  let summary = "x / sqrt(mean(x^2) + eps) * w, per row";
  let description = [{
    ```mlir
    %h = attn.rms_norm %x, %w {eps = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Attn_Activation:$input, Attn_F32Tensor:$weight, F64Attr:$eps);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_LayerNormOp : Attn_Op<"layer_norm", [Pure]> {
  let summary = "(x - mean) / sqrt(var + eps) * w + b, per row";
  let description = [{
    ```mlir
    %h = attn.layer_norm %x, %w, %b {eps = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Attn_Activation:$input, Attn_F32Tensor:$weight, Attn_F32Tensor:$bias, F64Attr:$eps);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight) `,` type($bias) `->` type($result)
  }];
  let hasVerifier = 1;
}

class Attn_UnaryOp<string mnemonic, string formula>
    : Attn_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise " # formula;
  let description = [{
    ```mlir
    %y = attn.}] # mnemonic # [{ %x : tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Attn_ReluOp : Attn_UnaryOp<"relu", "max(x, 0)">;
def Attn_GeluOp : Attn_UnaryOp<"gelu", "x * (1 + erf(x / sqrt(2))) / 2">;
def Attn_GeluTanhOp : Attn_UnaryOp<"gelu_tanh",
    "x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2">;
def Attn_SiluOp : Attn_UnaryOp<"silu", "x * sigmoid(x)">;

class Attn_BinaryOp<string mnemonic, string formula>
    : Attn_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise " # formula # " of two tensors of one shape";
  let description = [{
    ```mlir
    %z = attn.}] # mnemonic # [{ %x, %y : tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$lhs, Attn_F32Tensor:$rhs);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Attn_AddOp : Attn_BinaryOp<"add", "lhs + rhs">;
def Attn_SubOp : Attn_BinaryOp<"sub", "lhs - rhs">;
def Attn_MulOp : Attn_BinaryOp<"mul", "lhs * rhs">;
def Attn_DivOp : Attn_BinaryOp<"div", "lhs / rhs">;

def Attn_AffineOp : Attn_Op<"affine", [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise x * scale + shift with compile-time scalars";
  let description = [{
    How tdsl's tensor-scalar arithmetic (`x * 0.5`, `x + 1`, `-x`) is held.

    ```mlir
    %y = attn.affine %x {scale = 2.2627416997969522e+01 : f64, shift = 0.0 : f64} : tensor<?x512xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, F64Attr:$scale, F64Attr:$shift);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Attention at the model level
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Attn_Op<"attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "multi-head attention with its projections (MHA, GQA, MQA, cross)";
  let description = [{
    `q = x Wq^T`, `k = m Wk^T`, `v = m Wv^T` with `m = memory` when present
    (cross-attention) else `x`; query head `h` attends with key/value head
    `h / (heads / kv_heads)`; RoPE (when `rope_theta` is set) rotates q and k by
    absolute position, pairing element `j` with `j + head_dim/2` (`rope_style =
    #attn<rope_style half>`, the default) or `2j` with `2j+1` (`interleaved`);
    `rope_scaling` rescales RoPE's frequencies (#attn.rope_scaling); scores are
    scaled by `1/sqrt(head_dim)`, masked when `causal` (and, with `window = W`,
    for keys W or more positions before the query: a sliding window of W
    positions, the query's own included), softmaxed over keys; the result is
    `concat_h(a_h v_h) Wo^T` plus the biases when present: `biases` are the q,
    k and v biases, `out_bias` the output projection's (Qwen2 has the first
    and not the second).

    ```mlir
    %y = attn.attention %h weights(%wq, %wk, %wv, %wo : tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x64xf32>)
           {heads = 8 : i64, kv_heads = 4 : i64, head_dim = 8 : i64, causal, rope_theta = 1.0e+04 : f64, rope_style = #attn<rope_style half>}
           : tensor<?x64xf32> -> tensor<?x64xf32>
    %c = attn.attention %h memory(%enc : tensor<?x512xf32>) weights(%wq, %wk, %wv, %wo : ...)
           biases(%bq, %bk, %bv : ...) out_bias(%bo : tensor<512xf32>) {heads = 8 : i64, kv_heads = 8 : i64, head_dim = 64 : i64}
           : tensor<?x512xf32> -> tensor<?x512xf32>
    ```
  }];
  let arguments = (ins Attn_Activation:$input, Optional<Attn_Activation>:$memory,
                   Attn_F32Tensor:$wq, Attn_F32Tensor:$wk, Attn_F32Tensor:$wv, Attn_F32Tensor:$wo,
                   Optional<Attn_F32Tensor>:$bq, Optional<Attn_F32Tensor>:$bk,
                   Optional<Attn_F32Tensor>:$bv, Optional<Attn_F32Tensor>:$bo,
                   I64Attr:$heads, I64Attr:$kv_heads, I64Attr:$head_dim, UnitAttr:$causal,
                   OptionalAttr<F64Attr>:$rope_theta, OptionalAttr<Attn_RopeStyleAttr>:$rope_style,
                   OptionalAttr<Attn_RopeScalingAttr>:$rope_scaling, OptionalAttr<I64Attr>:$window);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = [{
    $input (`memory` `(` $memory^ `:` type($memory) `)`)?
    `weights` `(` $wq `,` $wk `,` $wv `,` $wo `:` type($wq) `,` type($wk) `,` type($wv) `,` type($wo) `)`
    (`biases` `(` $bq^ `,` $bk `,` $bv `:` type($bq) `,` type($bk) `,` type($bv) `)`)?
    (`out_bias` `(` $bo^ `:` type($bo) `)`)?
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_LatentAttentionOp : Attn_Op<"latent_attention", [Pure]> {
  let summary = "DeepSeek-V2 multi-head latent attention (MLA) with its projections";
  let description = [{
    Keys and values pass through a `kv_rank` latent: `[c, k_pe] = x Wkv_a^T`,
    `c = rms_norm(c) * kv_norm`, per head `[k_nope, v] = c Wkv_b[h]^T`; queries are
    `x Wq^T` (`q_rank = 0`, one q weight) or `rms_norm(x Wq_a^T) * q_norm Wq_b^T`
    (three q weights), split per head into `[q_nope, q_pe]`. RoPE rotates `q_pe`
    and the single shared `k_pe`; scores `(q_nope k_nope + q_pe k_pe) /
    sqrt(nope_dim + rope_dim)`; output `concat_h(a_h v_h) Wo^T`. Weight shapes
    follow DeepSeek-V2's Hugging Face layout (SPEC §2). `rope_scaling` (yarn,
    as DeepSeek-V2 has it) rescales RoPE's frequencies and cos/sin, and the
    scores by ropeAttentionFactors' softmax factor.

    ```mlir
    %y = attn.latent_attention %h q(%wq : tensor<384x64xf32>)
           kv(%wkva, %kvn, %wkvb : tensor<40x64xf32>, tensor<32xf32>, tensor<512x32xf32>)
           o(%wo : tensor<64x256xf32>)
           {heads = 4 : i64, kv_rank = 32 : i64, rope_dim = 8 : i64, nope_dim = 16 : i64,
            v_dim = 16 : i64, q_rank = 0 : i64, causal, rope_theta = 1.0e+04 : f64, rope_style = #attn<rope_style half>}
           : tensor<?x64xf32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Attn_Activation:$input, Variadic<Attn_F32Tensor>:$q_weights,
                   Attn_F32Tensor:$wkv_a, Attn_F32Tensor:$kv_norm, Attn_F32Tensor:$wkv_b,
                   Attn_F32Tensor:$wo,
                   I64Attr:$heads, I64Attr:$kv_rank, I64Attr:$rope_dim, I64Attr:$nope_dim,
                   I64Attr:$v_dim, I64Attr:$q_rank, UnitAttr:$causal,
                   OptionalAttr<F64Attr>:$rope_theta, OptionalAttr<Attn_RopeStyleAttr>:$rope_style,
                   OptionalAttr<Attn_RopeScalingAttr>:$rope_scaling);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = [{
    $input `q` `(` $q_weights `:` type($q_weights) `)`
    `kv` `(` $wkv_a `,` $kv_norm `,` $wkv_b `:` type($wkv_a) `,` type($kv_norm) `,` type($wkv_b) `)`
    `o` `(` $wo `:` type($wo) `)`
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def Attn_MoEOp : Attn_Op<"moe", [Pure]> {
  let summary = "a routed mixture of SwiGLU experts (DeepSeek-V2, Mixtral)";
  let description = [{
    Per token `x` (a row of `input`): router scores `s = softmax(x R^T)` over
    the E experts (`router` is [E, d]), or `sigmoid(x R^T)` elementwise with
    `scoring = sigmoid`; the selected experts `S` are the
    `top_k` highest scores (`topk_method = greedy`), or the `top_k` highest
    among the experts of the `topk_group` groups with the highest best score
    when the experts form `n_group` groups of E / n_group consecutive ones
    (`group_limited_greedy`), or with `noaux_tc` (DeepSeek-V3) the `top_k`
    highest of `c = s + correction_bias` among the experts of the
    `topk_group` groups whose best two `c` sum highest (the other experts'
    `c` counted as 0). Equal values are ranked lowest index first. The
    weights are `w_e = s_e` for e in S (never the bias), divided by their sum
    (plus 1e-20) when `norm_topk_prob`, then multiplied by
    `routed_scaling_factor`. The result is
    `sum_{e in S} w_e * (silu(x G_e^T) * (x U_e^T)) D_e^T`, with `gate` and
    `up` [E, ffn, d] and `down` [E, d, ffn] one tensor per expert.

    With `expert_parts = P` (tfc-attn-tensor-parallel's expert split) `gate`,
    `up` and `down` hold this rank's experts only: `[r * El, (r + 1) * El)`,
    `El = ceil(E / P)` of them (`r` the rank, which the runtime gives:
    `__tfc_rank_index`; the last rank's experts past E are padding, which no
    token is routed to). The router stays whole, so every rank selects the
    same experts; the result is the sum over the rank's own selected experts,
    which the sum over ranks (attn.all_reduce) completes.

    ```mlir
    %y = attn.moe %h router(%r : tensor<8x64xf32>)
           experts(%g, %u, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
           {top_k = 2 : i64, topk_method = #attn<moe_topk greedy>, n_group = 1 : i64,
            topk_group = 1 : i64, norm_topk_prob, routed_scaling_factor = 1.0 : f64}
           : tensor<?x64xf32> -> tensor<?x64xf32>
    %z = attn.moe %h router(%r : tensor<8x64xf32>) bias(%b : tensor<8xf32>)
           experts(%g, %u, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
           {top_k = 2 : i64, topk_method = #attn<moe_topk noaux_tc>, n_group = 4 : i64,
            topk_group = 2 : i64, scoring = #attn<moe_scoring sigmoid>,
            routed_scaling_factor = 2.5 : f64}
           : tensor<?x64xf32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Attn_Activation:$input, Attn_F32Tensor:$router,
                   Optional<Attn_F32Tensor>:$correction_bias, Attn_F32Tensor:$gate,
                   Attn_F32Tensor:$up, Attn_F32Tensor:$down,
                   I64Attr:$top_k, Attn_MoeTopKMethodAttr:$topk_method, I64Attr:$n_group,
                   I64Attr:$topk_group, UnitAttr:$norm_topk_prob,
                   F64Attr:$routed_scaling_factor,
                   DefaultValuedAttr<Attn_MoeScoringAttr, "::tfc::attn::MoeScoring::softmax">:$scoring,
                   OptionalAttr<I64Attr>:$expert_parts);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = [{
    $input `router` `(` $router `:` type($router) `)`
    (`bias` `(` $correction_bias^ `:` type($correction_bias) `)`)?
    `experts` `(` $gate `,` $up `,` $down `:` type($gate) `,` type($up) `,` type($down) `)`
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of routed experts (E).
    int64_t getNumExperts() { return ::llvm::cast<::mlir::RankedTensorType>(getRouter().getType()).getDimSize(0); }
    /// The experts this op's gate/up/down hold: E, or ceil(E / expert_parts).
    int64_t getNumLocalExperts() {
      int64_t parts = getExpertParts().value_or(1);
      return (getNumExperts() + parts - 1) / parts;
    }
  }];
}

//===----------------------------------------------------------------------===//
// Attention at the head level
//===----------------------------------------------------------------------===//

def Attn_SplitHeadsOp : Attn_Op<"split_heads", [Pure]> {
  let summary = "[n, heads * d] -> [heads, n, d]";
  let description = [{
    ```mlir
    %q = attn.split_heads %x : tensor<?x64xf32> -> tensor<8x?x8xf32>
    ```
  }];
  let arguments = (ins Attn_Activation:$input);
  let results = (outs Attn_HeadTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_MergeHeadsOp : Attn_Op<"merge_heads", [Pure]> {
  let summary = "[heads, n, d] -> [n, heads * d]";
  let description = [{
    ```mlir
    %x = attn.merge_heads %o : tensor<8x?x8xf32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Attn_HeadTensor:$input);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_SliceLastOp : Attn_Op<"slice_last", [Pure]> {
  let summary = "columns [offset, offset + size) of the last dimension";
  let description = [{
    ```mlir
    %pe = attn.slice_last %q {offset = 16 : i64} : tensor<4x?x24xf32> -> tensor<4x?x8xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, I64Attr:$offset);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_ConcatLastOp : Attn_Op<"concat_last", [Pure]> {
  let summary = "concatenation of two tensors along the last dimension";
  let description = [{
    ```mlir
    %k = attn.concat_last %k_nope, %k_pe : tensor<4x?x16xf32>, tensor<4x?x8xf32> -> tensor<4x?x24xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$lhs, Attn_F32Tensor:$rhs);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_RopeOp : Attn_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "rotary position embedding of [heads, n, d] at positions offset + t";
  let description = [{
    Rotates each pair `(a, b)` by the angle `p * theta^(-2j/d)`, `p = offset + t`:
    pairs are `(j, j + d/2)` for `style = #attn<rope_style half>` and `(2j, 2j +
    1)` for `#attn<rope_style interleaved>`. With `scaling`, the frequencies are
    rescaled as #attn.rope_scaling says (ropeInverseFrequencies).

    ```mlir
    %qr = attn.rope %q {theta = 1.0e+04 : f64, style = #attn<rope_style half>} : tensor<8x?x8xf32>
    %kr = attn.rope %k offset %pos {theta = 1.0e+04 : f64, style = #attn<rope_style half>} : tensor<4x?x8xf32>
    ```
  }];
  let arguments = (ins Attn_HeadTensor:$input, Optional<Index>:$offset, F64Attr:$theta,
                   Attn_RopeStyleAttr:$style, OptionalAttr<Attn_RopeScalingAttr>:$scaling);
  let results = (outs Attn_HeadTensor:$result);
  let assemblyFormat = "$input (`offset` $offset^)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Attn_RepeatKVOp : Attn_Op<"repeat_kv", [Pure]> {
  let summary = "replicates each key/value head for its group of query heads";
  let description = [{
    `result[h] = input[h / (result_heads / input_heads)]`: the naive GQA/MQA
    lowering, which the GQA pass avoids.

    ```mlir
    %k8 = attn.repeat_kv %k : tensor<2x?x8xf32> -> tensor<8x?x8xf32>
    ```
  }];
  let arguments = (ins Attn_HeadTensor:$input);
  let results = (outs Attn_HeadTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_SDPAOp : Attn_Op<"sdpa", [Pure]> {
  let summary = "scaled dot-product attention over heads";
  let description = [{
    `q: [heads, n, d]`, `k: [kv_heads, m, d]`, `v: [kv_heads, m, dv]` ->
    `[heads, n, dv]`. Query head `h` uses key/value head `h / (heads / kv_heads)`;
    `softmax(scale * q k^T) v`; with `causal`, query `i` sees keys
    `j <= i + (m - n)` (the queries are the last `n` of the `m` positions), and
    with `window = W` (causal only) also `j > i + (m - n) - W`: the W latest
    positions.

    `tiling` (set by `tfc-attn-sdpa-strategy`) fixes the query-block and
    key-tile sizes of its lowering; without it the lowering uses 256 x 256.

    ```mlir
    %o = attn.sdpa %q, %k, %v {heads = 8 : i64, kv_heads = 8 : i64, causal, scale = 0.35355339059327373 : f64}
           : tensor<8x?x8xf32>, tensor<8x?x8xf32>, tensor<8x?x8xf32> -> tensor<8x?x8xf32>
    %t = attn.sdpa %q, %k, %v {heads = 8 : i64, kv_heads = 8 : i64, scale = 0.35355339059327373 : f64,
                               tiling = #attn.sdpa_tiling<query_rows = 64, key_tile = 128>}
           : tensor<8x?x8xf32>, tensor<8x?x8xf32>, tensor<8x?x8xf32> -> tensor<8x?x8xf32>
    ```
  }];
  let arguments = (ins Attn_HeadTensor:$query, Attn_HeadTensor:$key, Attn_HeadTensor:$value,
                   I64Attr:$heads, I64Attr:$kv_heads, UnitAttr:$causal, F64Attr:$scale,
                   OptionalAttr<Attn_SDPATilingAttr>:$tiling, OptionalAttr<I64Attr>:$window);
  let results = (outs Attn_HeadTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_AttentionProbsOp : Attn_Op<"attention_probs", [Pure]> {
  let summary = "the softmax probabilities of attn.sdpa, materialized";
  let description = [{
    `q: [heads, n, d]`, `k: [kv_heads, m, d]` -> `[heads, n, m]`: the matrix
    `softmax(scale * q k^T)` that attn.sdpa with the same operands and
    attributes multiplies its values by, with the same masking (`causal`,
    `window`; the queries are the last `n` of the `m` positions). Masked
    entries are exactly 0 and every row sums to 1. Query head `h` reads
    key head `h / (heads / kv_heads)`. Only `tfc-attn-attention-maps` creates
    it, for the `@attention_maps` entry point (`tfc --emit-attention`): the
    [heads, n, m] tensor that attn.sdpa's flash-style lowering never forms.

    ```mlir
    %p = attn.attention_probs %q, %k {heads = 8 : i64, kv_heads = 4 : i64, causal, scale = 0.35355339059327373 : f64}
           : tensor<8x?x8xf32>, tensor<4x?x8xf32> -> tensor<8x?x?xf32>
    ```
  }];
  let arguments = (ins Attn_HeadTensor:$query, Attn_HeadTensor:$key,
                   I64Attr:$heads, I64Attr:$kv_heads, UnitAttr:$causal, F64Attr:$scale,
                   OptionalAttr<I64Attr>:$window);
  let results = (outs Attn_HeadTensor:$result);
  let assemblyFormat = [{
    $query `,` $key attr-dict `:` type($query) `,` type($key) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_OnlineAttentionOp : Attn_Op<"online_attention", [Pure, AttrSizedOperandSegments,
    AllTypesMatch<["max", "new_max"]>, AllTypesMatch<["sum", "new_sum"]>,
    AllTypesMatch<["acc", "new_acc"]>]> {
  let summary = "one key tile of attn.sdpa's online softmax";
  let description = [{
    What the tiling of attn.sdpa leaves in its key loop, and what the
    decomposition expands into the online-softmax math. For every key/value
    head `a` and stacked query row `r` of the block (`query: [kv, rows, d]`,
    already scaled; flat row `a * rows + r` of the running state), with the
    tile's keys `key: [kv, tile, d]` and values `value: [kv, tile, dv]`:

    ```
    s      = query[a, r, :] . key[a, j, :]          (-1e30 where masked)
    m'     = max(max[a*rows + r], max_j s)
    alpha  = exp(max - m')
    p      = exp(s - m')                            (0 where masked)
    sum'   = alpha * sum + sum_j p
    acc'   = alpha * acc + p . value[a]
    ```

    `rows` is the block's row count (dimension 1 of `query`). With `causal`
    (the block's first query at position `query_start`, the tile's first key
    at `key_start`, the queries the last n of the m positions: `shift` = m -
    n), key `j` is masked for row `r` when `key_start + j > query_start + r /
    group + shift`: rows are stacked query-major, `group` query heads per
    key/value head. With `window = W` (causal only), also when `key_start + j
    + W <= query_start + r / group + shift` (outside the sliding window).

    ```mlir
    %m2, %l2, %o2 = attn.online_attention %q, %k, %v, %m, %l, %o rows %rows
        causal(%i0, %j0, %shift) {group = 2 : i64}
        : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x16xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x16xf32>
    ```
  }];
  let arguments = (ins Attn_HeadTensor:$query, Attn_KVTile:$key, Attn_KVTile:$value,
                   1DTensorOf<[F32]>:$max, 1DTensorOf<[F32]>:$sum, Attn_HeadTensor:$acc,
                   Index:$rows, Optional<Index>:$query_start, Optional<Index>:$key_start,
                   Optional<Index>:$shift, I64Attr:$group, OptionalAttr<I64Attr>:$window);
  let results = (outs 1DTensorOf<[F32]>:$new_max, 1DTensorOf<[F32]>:$new_sum,
                      Attn_HeadTensor:$new_acc);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $max `,` $sum `,` $acc `rows` $rows
    (`causal` `(` $query_start^ `,` $key_start `,` $shift `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `,` type($max) `,` type($sum) `,` type($acc)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    bool isCausal() { return static_cast<bool>(getQueryStart()); }
  }];
}

//===----------------------------------------------------------------------===//
// The KV cache and latent-space products
//===----------------------------------------------------------------------===//

def Attn_CacheUpdateOp : Attn_Op<"cache_update", [Pure, AllTypesMatch<["cache", "result"]>]> {
  let summary = "writes the new tokens' keys (or values) into a layer of the cache";
  let description = [{
    The cache holds one `[heads, max_seq, d]` block per layer: `cache[layer, :,
    pos : pos + n, :] = update` where `update` is `[heads, n, d]`. Produced by
    `tfc-attn-kv-cache`; the result is the whole updated cache (updated in place
    once bufferized).

    ```mlir
    %kc2 = attn.cache_update %kc[%layer], %k at %pos : tensor<5x4x512x8xf32>, tensor<4x?x8xf32>
    ```
  }];
  let arguments = (ins Attn_KVCache:$cache, Attn_KVRows:$update, Index:$layer, Index:$pos);
  let results = (outs Attn_KVCache:$result);
  let assemblyFormat = [{
    $cache `[` $layer `]` `,` $update `at` $pos attr-dict `:` type($cache) `,` type($update)
  }];
  let hasVerifier = 1;
}

def Attn_CacheViewOp : Attn_Op<"cache_view", [Pure]> {
  let summary = "the first `length` positions of a layer of the cache";
  let description = [{
    `result = cache[layer, :, 0 : length, :]`: the keys (or values) of every
    token so far, which the attention of the new tokens reads.

    ```mlir
    %keys = attn.cache_view %kc2[%layer] upto %len : tensor<5x4x512x8xf32> -> tensor<4x?x8xf32>
    ```
  }];
  let arguments = (ins Attn_KVCache:$cache, Index:$layer, Index:$length);
  let results = (outs Attn_KVRows:$result);
  let assemblyFormat = [{
    $cache `[` $layer `]` `upto` $length attr-dict `:` type($cache) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_RingUpdateOp : Attn_Op<"ring_update", [Pure, AllTypesMatch<["cache", "result"]>]> {
  let summary = "writes the new tokens' keys (or values) into a rolling cache of S positions";
  let description = [{
    The rolling cache of a sliding-window attention keeps the latest `S`
    positions of each layer (`[layers, heads, S, d]`, `S` the window): position
    `p` lives in slot `p mod S`. With `update` of `[heads, n, d]` the new
    tokens at positions `pos .. pos + n - 1`, the last `min(n, S)` of them are
    written, `cache[layer, :, (pos + j) mod S, :] = update[:, j, :]`; older
    positions in their slots are overwritten. Produced by `tfc-attn-kv-cache`
    for a windowed `attn.sdpa`; the result is the whole updated cache (updated
    in place once bufferized).

    ```mlir
    %kc2 = attn.ring_update %kc[%layer], %k at %pos : tensor<2x1x4x16xf32>, tensor<1x?x16xf32>
    ```
  }];
  let arguments = (ins Attn_KVCache:$cache, Attn_KVRows:$update, Index:$layer, Index:$pos);
  let results = (outs Attn_KVCache:$result);
  let assemblyFormat = [{
    $cache `[` $layer `]` `,` $update `at` $pos attr-dict `:` type($cache) `,` type($update)
  }];
  let hasVerifier = 1;
}

def Attn_RingWindowOp : Attn_Op<"ring_window", [Pure]> {
  let summary = "the keys (or values) a windowed attention of new tokens reads";
  let description = [{
    Reads a rolling cache of `S` slots (see `attn.ring_update`) as it was
    before the new tokens: `result` is `[heads, c + n, d]` with `c = min(pos,
    S - 1)`, the cached positions `pos - c .. pos - 1` in order (from slots
    `p mod S`) followed by `new`, the `[heads, n, d]` of the new tokens. The
    first of the new tokens sees `S - 1` earlier positions at most, which is
    all a sliding window of `S` lets it see, and the later ones see theirs
    in `new`, so the attention over the result with `window = S` (its queries
    the last `n` positions) is that over the whole history.

    ```mlir
    %keys = attn.ring_window %kc[%layer], %k at %pos : tensor<2x1x4x16xf32>, tensor<1x?x16xf32> -> tensor<1x?x16xf32>
    ```
  }];
  let arguments = (ins Attn_KVCache:$cache, Attn_KVRows:$new_rows, Index:$layer,
                   Index:$pos);
  let results = (outs Attn_KVRows:$result);
  let assemblyFormat = [{
    $cache `[` $layer `]` `,` $new_rows `at` $pos attr-dict `:` type($cache) `,` type($new_rows)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_KVQuantOp : Attn_Op<"kv_quant", [Pure]> {
  let summary = "keys or values rounded to the KV cache's storage type";
  let description = [{
    `[heads, n, d]` f32 rows into the storage of a KV cache (`tfc --kv-type`):
    `bf16` rounds each value to nearest even (`result` `[heads, n, d]` bf16);
    `i8` stores ggml Q8_0 blocks along `d` (a multiple of 32) exactly as
    ggml's `quantize_row_q8_0_ref`: per 32 values `amax = max |x|`,
    `s = amax / 127`, the f16 of `s` (2 bytes, little-endian) then the 32
    int8 `round(x / s)` (0 when `s` is 0), so `result` is `[heads, n, d / 32
    * 34]` i8. `tfc-attn-kv-cache` writes the new tokens' keys and values
    through it once per position.

    ```mlir
    %q = attn.kv_quant %k : tensor<4x?x64xf32> -> tensor<4x?x68xi8>
    ```
  }];
  let arguments = (ins Attn_HeadTensor:$input);
  let results = (outs Attn_KVRows:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_KVDequantOp : Attn_Op<"kv_dequant", [Pure]> {
  let summary = "keys or values of a KV cache's storage type as f32";
  let description = [{
    The inverse of `attn.kv_quant`: bf16 widened, Q8_0 blocks `q * s`.
    Attention over a narrow cache reads its keys and values through it; the
    tiling of `attn.sdpa` moves it onto each key tile (bf16 tiles go to the
    products as they are, widened in registers), so that no f32 copy of the
    whole cache is made.

    ```mlir
    %k = attn.kv_dequant %view : tensor<4x?x68xi8> -> tensor<4x?x64xf32>
    ```
  }];
  let arguments = (ins Attn_KVRows:$input);
  let results = (outs Attn_HeadTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_BatchMatmulOp : Attn_Op<"batch_matmul", [Pure]> {
  let summary = "per-head matrix product [b, n, k] x [b, k, m] (or [b, m, k] transposed)";
  let description = [{
    `result[h] = lhs[h] · rhs[h]`, or `lhs[h] · rhs[h]^T` with `transpose_rhs`.
    The latent-attention pass uses it to absorb the key up-projection into the
    queries and to apply the value up-projection after attention.

    ```mlir
    %ql = attn.batch_matmul %q_nope, %w_uk : tensor<4x?x16xf32>, tensor<4x16x32xf32> -> tensor<4x?x32xf32>
    %o = attn.batch_matmul %o_lat, %w_uv {transpose_rhs} : tensor<4x?x32xf32>, tensor<4x16x32xf32> -> tensor<4x?x16xf32>
    ```
  }];
  let arguments = (ins Attn_HeadTensor:$lhs, Attn_HeadTensor:$rhs, UnitAttr:$transpose_rhs);
  let results = (outs Attn_HeadTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Collectives of tensor parallelism (tfc-attn-tensor-parallel)
//===----------------------------------------------------------------------===//

def Attn_AllReduceOp : Attn_Op<"all_reduce", [NoMemoryEffect, SameOperandsAndResultType]> {
  let summary = "the elementwise sum of a tensor over the ranks of the model";
  let description = [{
    Every rank of a model compiled with `--tensor-parallel=N` holds a partial
    sum (the output of a row-parallel linear layer); the result is the sum
    over the `ranks` ranks, the same on all of them. It bufferizes in place
    on its operand's buffer and becomes a call to the runtime's
    `MPI_Allreduce` (`__tfc_all_reduce_f32`). Every rank must run the same
    collectives in the same order, which the generated code does: it is the
    same code on every rank.

    Canonicalization: `add(all_reduce(a), all_reduce(b))` becomes
    `all_reduce(add(a, b))` (a sum of sums over ranks is the sum over ranks of
    the sum: one collective instead of two) when neither sum has another use.

    ```mlir
    %y = attn.all_reduce %x ranks 2 : tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Attn_Activation:$input, I64Attr:$ranks);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = "$input `ranks` $ranks attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Attn_AllGatherOp : Attn_Op<"all_gather", [NoMemoryEffect]> {
  let summary = "the columns of every rank side by side, rank 0 first";
  let description = [{
    Rank `r` holds columns `[r * c, (r + 1) * c)` of the result (`c` the
    input's width, the result `ranks * c` wide): the vocabulary-parallel
    output head's logits. Lowers to the runtime's `MPI_Allgather`
    (`__tfc_all_gather_f32`) into a new buffer of the result's shape.

    ```mlir
    %logits = attn.all_gather %part ranks 2 : tensor<?x256xf32> -> tensor<?x512xf32>
    ```
  }];
  let arguments = (ins Attn_Activation:$input, I64Attr:$ranks);
  let results = (outs Attn_Activation:$result);
  let assemblyFormat = "$input `ranks` $ranks attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

#endif // TFC_DIALECT_ATTN_IR_ATTNOPS_TD
