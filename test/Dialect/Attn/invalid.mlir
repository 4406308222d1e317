// RUN: tfc-opt %s -split-input-file -verify-diagnostics

// One case per verifier message of dialect/lib/Attn/IR/AttnOps.cpp.

//===----------------------------------------------------------------------===//
// attn.weight
//===----------------------------------------------------------------------===//

func.func @weight_empty_name() {
  // expected-error @+1 {{weight name must not be empty}}
  %w = attn.weight "" : tensor<4xf32>
  return
}

// -----

func.func @weight_dynamic() {
  // expected-error @+1 {{'attn.weight' op weight must have a static shape}}
  %w = attn.weight "w" : tensor<?x4xf32>
  return
}

// -----

func.func @weight_stacked_rank1() {
  // expected-error @+1 {{'attn.weight' op stacked weight 'layers.*.norm.weight' needs a leading layer dimension and a tensor per layer, got [4]}}
  %w = attn.weight "layers." * ".norm.weight" layers 4 : tensor<4xf32>
  return
}

// -----

func.func @weight_stacked_layers() {
  // expected-error @+1 {{'attn.weight' op stacked weight 'layers.*.norm.weight' has 3 layers but a leading dimension of 4}}
  %w = attn.weight "layers." * ".norm.weight" layers 3 : tensor<4x8xf32>
  return
}

// -----

func.func @weight_stacked_no_layers() {
  // expected-error @+1 {{weight name with 2 layer index(es) needs a layer count ('layers N')}}
  %w = attn.weight "l." * ".p" * ".weight" : tensor<2x8xf32>
  return
}

// -----

func.func @weight_layers_without_index() {
  // expected-error @+1 {{weight name "norm.weight" has no layer index ('*'), so it cannot be stacked over 2 layers}}
  %w = attn.weight "norm.weight" layers 2 : tensor<2x8xf32>
  return
}

// -----

func.func @weight_negative_layers() {
  // expected-error @+1 {{a weight's layer count must not be negative, got -2}}
  %w = attn.weight "l." * ".w" layers -2 : tensor<2x8xf32>
  return
}

// -----

func.func @weight_unknown_init() {
  // expected-error @+1 {{custom op 'attn.weight' expected string or keyword containing one of the following enum values for attribute 'init' [random, ones, zeros]}}
  %w = attn.weight "w" init twos : tensor<8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// ABI attributes (tfc-lower-entry-points, tfc-plan-activations)
//===----------------------------------------------------------------------===//

// expected-error @+1 {{stacked weight slot 'l.*.w' has 3 layers but a leading dimension of 2}}
module attributes {attn.weight_slots = [#attn.weight_slot<"l." * ".w" layers 3, shape = [2, 4], dtype = f32, init = random>]} {}

// -----

// expected-error @+1 {{weight slot 'w' has rank 9, more than the ABI's 8}}
module attributes {attn.weight_slots = [#attn.weight_slot<"w", shape = [1, 1, 1, 1, 1, 1, 1, 1, 1], dtype = f32, init = random>]} {}

// -----

// expected-error @+1 {{weight slot 'w' must have a static, non-negative shape}}
module attributes {attn.weight_slots = [#attn.weight_slot<"w", shape = [-1, 4], dtype = f32, init = random>]} {}

// -----

// expected-error @+1 {{unknown weight dtype 'f64' (expected f32, bf16, f16, q8_0, q4_0, q6_k, q4_k or q5_k)}}
module attributes {attn.weight_slots = [#attn.weight_slot<"w", shape = [4], dtype = f64, init = random>]} {}

// -----

// expected-error @+1 {{q4_k weight slot 'w' needs rows a multiple of 256 wide and a rank below 8}}
module attributes {attn.weight_slots = [#attn.weight_slot<"w", shape = [4, 288], dtype = q4_k, init = random>]} {}

// -----

// expected-error @+1 {{weight slot 'l.*.v' has 1 layer dtypes for 2 entries}}
module attributes {attn.weight_slots = [#attn.weight_slot<"l." * ".v" layers 2, shape = [2, 4, 256], dtype = q4_k, layer_dtypes = [q6_k], init = random>]} {}

// -----

// expected-error @+1 {{weight slot 'l.*.v': per-layer dtypes must be K-quants (q4_k, q5_k, q6_k) over a K-quant dtype}}
module attributes {attn.weight_slots = [#attn.weight_slot<"l." * ".v" layers 2, shape = [2, 4, 256], dtype = q4_k, layer_dtypes = [q6_k, q8_0], init = random>]} {}

// -----

// expected-error @+1 {{unknown weight init 'twos' (expected random, ones or zeros)}}
module attributes {attn.weight_slots = [#attn.weight_slot<"w", shape = [4], dtype = f32, init = twos>]} {}

// -----

// expected-error @+1 {{'builtin.module' op 'attn.weight_slots' must be an array of #attn.weight_slot}}
module attributes {attn.weight_slots = [{name = "w"}]} {}

// -----

func.func @slots_on_function() attributes {attn.weight_slots = []} {
  // expected-error @-1 {{'func.func' op 'attn.weight_slots' belongs on a module}}
  return
}

// -----

// expected-error @+1 {{kv cache elements must be f32, bf16 or i8 (Q8_0 bytes), got 'f16'}}
module attributes {attn.kv_caches = [#attn.kv_cache<tensor<2x1x8x4xf16>, seq_dim = 2>]} {}

// -----

// expected-error @+1 {{kv cache seq_dim 4 is not a dimension of 'tensor<2x1x8x4xf32>'}}
module attributes {attn.kv_caches = [#attn.kv_cache<tensor<2x1x8x4xf32>, seq_dim = 4>]} {}

// -----

// expected-error @+1 {{kv cache of rank 9 exceeds the ABI's 8}}
module attributes {attn.kv_caches = [#attn.kv_cache<tensor<1x1x1x1x1x1x1x1x1xf32>, seq_dim = 2>]} {}

// -----

// expected-error @+1 {{'builtin.module' op 'attn.kv_caches' must be an array of #attn.kv_cache}}
module attributes {attn.kv_caches = [array<i64: 2, 1, 8, 4>]} {}

// -----

// expected-error @+1 {{unknown argument kind 'weights'}}
func.func @unknown_kind(%t: memref<?xi32>) attributes {attn.entry_args = [#attn.arg<weights[0]>]} {
  return
}

// -----

// expected-error @+1 {{expected '['}}
func.func @weight_without_index(%t: memref<?xi32>) attributes {attn.entry_args = [#attn.arg<weight>]} {
  return
}

// -----

// expected-error @+1 {{argument index must not be negative, got -1}}
func.func @negative_index(%t: memref<?xi32>) attributes {attn.entry_args = [#attn.arg<cache[-1]>]} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'attn.entry_args' lists 1 arguments, but the function has 2}}
func.func @arg_count(%t: memref<?xi32>, %o: memref<?x4xf32>) attributes {attn.entry_args = [#attn.arg<tokens>]} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'attn.entry_args' must be an array of #attn.arg}}
func.func @arg_table(%t: memref<?xi32>) attributes {attn.entry_args = array<i32: 0, 0>} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'attn.out_width' must be a positive integer}}
func.func @out_width() attributes {attn.out_width = 0 : i64} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'attn.stateful' must be a unit attribute}}
func.func @stateful() attributes {attn.stateful = 1 : i32} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'attn.arena_bytes' must name a function (@symbol)}}
func.func @arena() attributes {attn.arena_bytes = "decoder_arena_bytes"} {
  return
}

// -----

// expected-error @+1 {{'builtin.module' op 'attn.stateful' belongs on a function}}
module attributes {attn.stateful} {}

// -----

module attributes {attn.kv_caches = [], attn.weight_slots = [#attn.weight_slot<"w", shape = [4], dtype = f32, init = random>]} {
  // expected-error @+1 {{'func.func' op argument #attn.arg<weight[1]> names slot 1 of 1}}
  func.func @decoder(%w: memref<4xf32>) attributes {attn.entry_args = [#attn.arg<weight[1]>]} {
    return
  }
}

// -----

module attributes {attn.kv_caches = [], attn.weight_slots = [#attn.weight_slot<"w", shape = [4], dtype = f32, init = random>]} {
  // expected-error @+1 {{'func.func' op argument #attn.arg<layer_offsets[0]> is the layer table of slot 0, which is not stacked}}
  func.func @decoder(%t: memref<1xi64>) attributes {attn.entry_args = [#attn.arg<layer_offsets[0]>]} {
    return
  }
}

// -----

module attributes {attn.kv_caches = [], attn.weight_slots = []} {
  // expected-error @+1 {{'func.func' op argument #attn.arg<cache[0]> names cache 0 of 0}}
  func.func @decoder(%c: memref<1x1x4x4xf32>) attributes {attn.entry_args = [#attn.arg<cache[0]>]} {
    return
  }
}

// -----

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

func.func @embedding_table_rank(%t: tensor<4x8x2xf32>, %tok: tensor<?xi32>) {
  // expected-error @+1 {{'attn.embedding' op table must be of rank 2}}
  %x = attn.embedding %t, %tok : tensor<4x8x2xf32>, tensor<?xi32> -> tensor<?x8xf32>
  return
}

// -----

func.func @embedding_result(%t: tensor<4x8xf32>, %tok: tensor<?xi32>) {
  // expected-error @+1 {{'attn.embedding' op result has shape [?, 16], expected [?, 8]}}
  %x = attn.embedding %t, %tok : tensor<4x8xf32>, tensor<?xi32> -> tensor<?x16xf32>
  return
}

// -----

func.func @position_embedding_table_rank(%t: tensor<8xf32>, %tok: tensor<?xi32>) {
  // expected-error @+1 {{'attn.position_embedding' op table must be of rank 2}}
  %x = attn.position_embedding %t, %tok : tensor<8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  return
}

// -----

func.func @position_embedding_result(%t: tensor<16x8xf32>, %tok: tensor<3xi32>) {
  // expected-error @+1 {{'attn.position_embedding' op result has shape [4, 8], expected [3, 8]}}
  %x = attn.position_embedding %t, %tok : tensor<16x8xf32>, tensor<3xi32> -> tensor<4x8xf32>
  return
}

// -----

func.func @sinusoidal_odd(%tok: tensor<?xi32>) {
  // expected-error @+1 {{'attn.sinusoidal' op width must be static and even, got [?, 7]}}
  %x = attn.sinusoidal %tok : tensor<?xi32> -> tensor<?x7xf32>
  return
}

// -----

func.func @sinusoidal_tokens(%tok: tensor<3xi32>) {
  // expected-error @+1 {{'attn.sinusoidal' op result has shape [2, 8], expected [3, 8]}}
  %x = attn.sinusoidal %tok : tensor<3xi32> -> tensor<2x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Dense layers
//===----------------------------------------------------------------------===//

func.func @linear_weight_rank(%x: tensor<?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'attn.linear' op weight has shape [8], expected [?, ?]}}
  %y = attn.linear %x, %w : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_width(%x: tensor<?x8xf32>, %w: tensor<4x16xf32>) {
  // expected-error @+1 {{'attn.linear' op input width (8) does not match the weight's input width (16)}}
  %y = attn.linear %x, %w : tensor<?x8xf32>, tensor<4x16xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'attn.linear' op bias has shape [8], expected [4]}}
  %y = attn.linear %x, %w bias %b : tensor<?x8xf32>, tensor<4x8xf32>, tensor<8xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @linear_result(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{'attn.linear' op result has shape [?, 8], expected [?, 4]}}
  %y = attn.linear %x, %w : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @rms_norm_eps(%x: tensor<?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'attn.rms_norm' op eps must not be negative}}
  %y = attn.rms_norm %x, %w {eps = -1.0e-05 : f64} : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @rms_norm_weight(%x: tensor<?x8xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'attn.rms_norm' op weight has shape [4], expected [8]}}
  %y = attn.rms_norm %x, %w {eps = 1.0e-05 : f64} : tensor<?x8xf32>, tensor<4xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @rms_norm_result(%x: tensor<3x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'attn.rms_norm' op result has shape [4, 8], expected [3, 8]}}
  %y = attn.rms_norm %x, %w {eps = 1.0e-05 : f64} : tensor<3x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @layer_norm_eps(%x: tensor<?x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'attn.layer_norm' op eps must not be negative}}
  %y = attn.layer_norm %x, %w, %b {eps = -1.0 : f64} : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @layer_norm_bias(%x: tensor<?x8xf32>, %w: tensor<8xf32>, %b: tensor<6xf32>) {
  // expected-error @+1 {{'attn.layer_norm' op bias has shape [6], expected [8]}}
  %y = attn.layer_norm %x, %w, %b {eps = 1.0e-05 : f64} : tensor<?x8xf32>, tensor<8xf32>, tensor<6xf32> -> tensor<?x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attn.attention
//===----------------------------------------------------------------------===//

func.func @attention_nonpositive(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>) {
  // expected-error @+1 {{'attn.attention' op heads (0), kv_heads (1) and head_dim (8) must be positive}}
  %y = attn.attention %h weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 0 : i64, kv_heads = 1 : i64, head_dim = 8 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @attention_divisible(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>) {
  // expected-error @+1 {{'attn.attention' op heads (4) must be divisible by kv_heads (3)}}
  %y = attn.attention %h weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 4 : i64, kv_heads = 3 : i64, head_dim = 2 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @attention_causal_memory(%h: tensor<?x8xf32>, %m: tensor<?x8xf32>, %w: tensor<8x8xf32>) {
  // expected-error @+1 {{'attn.attention' op cross-attention over a memory cannot be causal}}
  %y = attn.attention %h memory(%m : tensor<?x8xf32>) weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 4 : i64, causal} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @attention_wk(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>, %wk: tensor<8x8xf32>) {
  // expected-error @+1 {{'attn.attention' op wk has shape [8, 8], expected [4, 8]}}
  %y = attn.attention %h weights(%w, %wk, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 2 : i64, kv_heads = 1 : i64, head_dim = 4 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @attention_bias(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %bk: tensor<6xf32>) {
  // expected-error @+1 {{'attn.attention' op bk has shape [6], expected [8]}}
  %y = attn.attention %h weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         biases(%b, %bk, %b : tensor<8xf32>, tensor<6xf32>, tensor<8xf32>) out_bias(%b : tensor<8xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 4 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @attention_style_without_theta(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>) {
  // expected-error @+1 {{'attn.attention' op rope_style requires rope_theta}}
  %y = attn.attention %h weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 4 : i64, rope_style = #attn<rope_style half>} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @attention_theta(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>) {
  // expected-error @+1 {{'attn.attention' op rope_theta (-1.000000e+00) must be positive}}
  %y = attn.attention %h weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 4 : i64, rope_theta = -1.0 : f64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @attention_style(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>) {
  // A string is not a style (the style is an enum attribute).
  // expected-error @+2 {{'attn.attention' op attribute 'rope_style' failed to satisfy constraint: how RoPE pairs the elements of a head}}
  %y = attn.attention %h weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 4 : i64, rope_theta = 1.0e+04 : f64, rope_style = "half"} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @attention_odd_rope(%h: tensor<?x6xf32>, %w: tensor<6x6xf32>) {
  // expected-error @+1 {{'attn.attention' op rope needs an even rotated dimension, got 3}}
  %y = attn.attention %h weights(%w, %w, %w, %w : tensor<6x6xf32>, tensor<6x6xf32>, tensor<6x6xf32>, tensor<6x6xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 3 : i64, rope_theta = 1.0e+04 : f64} : tensor<?x6xf32> -> tensor<?x6xf32>
  return
}

// -----

func.func @attention_result(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>, %wo: tensor<4x8xf32>) {
  // expected-error @+1 {{'attn.attention' op result has shape [?, 8], expected [?, 4]}}
  %y = attn.attention %h weights(%w, %w, %w, %wo : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 4 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attn.latent_attention
//===----------------------------------------------------------------------===//

func.func @mla_nonpositive(%h: tensor<?x8xf32>, %wq: tensor<12x8xf32>, %wkva: tensor<6x8xf32>, %kvn: tensor<4xf32>, %wkvb: tensor<8x4xf32>, %wo: tensor<8x4xf32>) {
  // expected-error @+1 {{'attn.latent_attention' op heads, kv_rank, rope_dim, nope_dim and v_dim must be positive, q_rank non-negative}}
  %y = attn.latent_attention %h q(%wq : tensor<12x8xf32>) kv(%wkva, %kvn, %wkvb : tensor<6x8xf32>, tensor<4xf32>, tensor<8x4xf32>) o(%wo : tensor<8x4xf32>)
         {heads = 2 : i64, kv_rank = 4 : i64, rope_dim = 2 : i64, nope_dim = 2 : i64, v_dim = 2 : i64, q_rank = -1 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @mla_one_q_weight(%h: tensor<?x8xf32>, %wq: tensor<8x8xf32>, %wkva: tensor<6x8xf32>, %kvn: tensor<4xf32>, %wkvb: tensor<8x4xf32>, %wo: tensor<8x4xf32>) {
  // expected-error @+1 {{'attn.latent_attention' op q_rank = 0 takes one q weight, got 2}}
  %y = attn.latent_attention %h q(%wq, %wq : tensor<8x8xf32>, tensor<8x8xf32>) kv(%wkva, %kvn, %wkvb : tensor<6x8xf32>, tensor<4xf32>, tensor<8x4xf32>) o(%wo : tensor<8x4xf32>)
         {heads = 2 : i64, kv_rank = 4 : i64, rope_dim = 2 : i64, nope_dim = 2 : i64, v_dim = 2 : i64, q_rank = 0 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @mla_wq(%h: tensor<?x8xf32>, %wq: tensor<12x8xf32>, %wkva: tensor<6x8xf32>, %kvn: tensor<4xf32>, %wkvb: tensor<8x4xf32>, %wo: tensor<8x4xf32>) {
  // expected-error @+1 {{'attn.latent_attention' op wq has shape [12, 8], expected [8, 8]}}
  %y = attn.latent_attention %h q(%wq : tensor<12x8xf32>) kv(%wkva, %kvn, %wkvb : tensor<6x8xf32>, tensor<4xf32>, tensor<8x4xf32>) o(%wo : tensor<8x4xf32>)
         {heads = 2 : i64, kv_rank = 4 : i64, rope_dim = 2 : i64, nope_dim = 2 : i64, v_dim = 2 : i64, q_rank = 0 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @mla_three_q_weights(%h: tensor<?x8xf32>, %wq: tensor<8x8xf32>, %wkva: tensor<6x8xf32>, %kvn: tensor<4xf32>, %wkvb: tensor<8x4xf32>, %wo: tensor<8x4xf32>) {
  // expected-error @+1 {{'attn.latent_attention' op q_rank > 0 takes three q weights (q_a, q_norm, q_b), got 1}}
  %y = attn.latent_attention %h q(%wq : tensor<8x8xf32>) kv(%wkva, %kvn, %wkvb : tensor<6x8xf32>, tensor<4xf32>, tensor<8x4xf32>) o(%wo : tensor<8x4xf32>)
         {heads = 2 : i64, kv_rank = 4 : i64, rope_dim = 2 : i64, nope_dim = 2 : i64, v_dim = 2 : i64, q_rank = 3 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @mla_q_norm(%h: tensor<?x8xf32>, %wqa: tensor<3x8xf32>, %qn: tensor<4xf32>, %wqb: tensor<8x3xf32>, %wkva: tensor<6x8xf32>, %kvn: tensor<4xf32>, %wkvb: tensor<8x4xf32>, %wo: tensor<8x4xf32>) {
  // expected-error @+1 {{'attn.latent_attention' op q_norm has shape [4], expected [3]}}
  %y = attn.latent_attention %h q(%wqa, %qn, %wqb : tensor<3x8xf32>, tensor<4xf32>, tensor<8x3xf32>) kv(%wkva, %kvn, %wkvb : tensor<6x8xf32>, tensor<4xf32>, tensor<8x4xf32>) o(%wo : tensor<8x4xf32>)
         {heads = 2 : i64, kv_rank = 4 : i64, rope_dim = 2 : i64, nope_dim = 2 : i64, v_dim = 2 : i64, q_rank = 3 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @mla_wkv_b(%h: tensor<?x8xf32>, %wq: tensor<8x8xf32>, %wkva: tensor<6x8xf32>, %kvn: tensor<4xf32>, %wkvb: tensor<6x4xf32>, %wo: tensor<8x4xf32>) {
  // expected-error @+1 {{'attn.latent_attention' op wkv_b has shape [6, 4], expected [8, 4]}}
  %y = attn.latent_attention %h q(%wq : tensor<8x8xf32>) kv(%wkva, %kvn, %wkvb : tensor<6x8xf32>, tensor<4xf32>, tensor<6x4xf32>) o(%wo : tensor<8x4xf32>)
         {heads = 2 : i64, kv_rank = 4 : i64, rope_dim = 2 : i64, nope_dim = 2 : i64, v_dim = 2 : i64, q_rank = 0 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @mla_odd_rope(%h: tensor<?x8xf32>, %wq: tensor<10x8xf32>, %wkva: tensor<7x8xf32>, %kvn: tensor<4xf32>, %wkvb: tensor<8x4xf32>, %wo: tensor<8x4xf32>) {
  // expected-error @+1 {{'attn.latent_attention' op rope needs an even rotated dimension, got 3}}
  %y = attn.latent_attention %h q(%wq : tensor<10x8xf32>) kv(%wkva, %kvn, %wkvb : tensor<7x8xf32>, tensor<4xf32>, tensor<8x4xf32>) o(%wo : tensor<8x4xf32>)
         {heads = 2 : i64, kv_rank = 4 : i64, rope_dim = 3 : i64, nope_dim = 2 : i64, v_dim = 2 : i64, q_rank = 0 : i64, rope_theta = 1.0e+04 : f64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @mla_result(%h: tensor<?x8xf32>, %wq: tensor<8x8xf32>, %wkva: tensor<6x8xf32>, %kvn: tensor<4xf32>, %wkvb: tensor<8x4xf32>, %wo: tensor<6x4xf32>) {
  // expected-error @+1 {{'attn.latent_attention' op result has shape [?, 8], expected [?, 6]}}
  %y = attn.latent_attention %h q(%wq : tensor<8x8xf32>) kv(%wkva, %kvn, %wkvb : tensor<6x8xf32>, tensor<4xf32>, tensor<8x4xf32>) o(%wo : tensor<6x4xf32>)
         {heads = 2 : i64, kv_rank = 4 : i64, rope_dim = 2 : i64, nope_dim = 2 : i64, v_dim = 2 : i64, q_rank = 0 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Head-level ops
//===----------------------------------------------------------------------===//

func.func @split_heads_dynamic(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{'attn.split_heads' op heads and head width of the result must be static}}
  %y = attn.split_heads %x : tensor<?x8xf32> -> tensor<?x?x4xf32>
  return
}

// -----

func.func @split_heads_width(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{'attn.split_heads' op input width (8) is not heads (2) x head width (3)}}
  %y = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x3xf32>
  return
}

// -----

func.func @split_heads_tokens(%x: tensor<3x8xf32>) {
  // expected-error @+1 {{'attn.split_heads' op result has shape [2, 4, 4], expected [2, 3, 4]}}
  %y = attn.split_heads %x : tensor<3x8xf32> -> tensor<2x4x4xf32>
  return
}

// -----

func.func @merge_heads_dynamic(%x: tensor<2x?x?xf32>) {
  // expected-error @+1 {{'attn.merge_heads' op heads and head width of the input must be static}}
  %y = attn.merge_heads %x : tensor<2x?x?xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @merge_heads_result(%x: tensor<2x?x4xf32>) {
  // expected-error @+1 {{'attn.merge_heads' op result has shape [?, 6], expected [?, 8]}}
  %y = attn.merge_heads %x : tensor<2x?x4xf32> -> tensor<?x6xf32>
  return
}

// -----

func.func @slice_last_rank(%x: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.slice_last' op input and result must have the same rank}}
  %y = attn.slice_last %x {offset = 0 : i64} : tensor<2x?x8xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @slice_last_dim(%x: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.slice_last' op dimension 0 differs between input and result}}
  %y = attn.slice_last %x {offset = 0 : i64} : tensor<2x?x8xf32> -> tensor<3x?x4xf32>
  return
}

// -----

func.func @slice_last_dynamic(%x: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.slice_last' op the sliced dimension must be static}}
  %y = attn.slice_last %x {offset = 0 : i64} : tensor<2x?x8xf32> -> tensor<2x?x?xf32>
  return
}

// -----

func.func @slice_last_bounds(%x: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.slice_last' op columns [6, 10) are outside the input's 8}}
  %y = attn.slice_last %x {offset = 6 : i64} : tensor<2x?x8xf32> -> tensor<2x?x4xf32>
  return
}

// -----

func.func @concat_last_rank(%a: tensor<2x?x8xf32>, %b: tensor<?x8xf32>) {
  // expected-error @+1 {{'attn.concat_last' op operands and result must have the same rank}}
  %y = attn.concat_last %a, %b : tensor<2x?x8xf32>, tensor<?x8xf32> -> tensor<2x?x16xf32>
  return
}

// -----

func.func @concat_last_dim(%a: tensor<2x?x8xf32>, %b: tensor<3x?x8xf32>) {
  // expected-error @+1 {{'attn.concat_last' op dimension 0 differs between the operands}}
  %y = attn.concat_last %a, %b : tensor<2x?x8xf32>, tensor<3x?x8xf32> -> tensor<2x?x16xf32>
  return
}

// -----

func.func @concat_last_width(%a: tensor<2x?x8xf32>, %b: tensor<2x?x4xf32>) {
  // expected-error @+1 {{'attn.concat_last' op result width (16) is not 8 + 4}}
  %y = attn.concat_last %a, %b : tensor<2x?x8xf32>, tensor<2x?x4xf32> -> tensor<2x?x16xf32>
  return
}

// -----

func.func @rope_style(%x: tensor<2x?x8xf32>) {
  // expected-error @+2 {{expected ::tfc::attn::RopeStyle to be one of: half, interleaved}}
  // expected-error @+1 {{failed to parse Attn_RopeStyleAttr parameter 'value'}}
  %y = attn.rope %x {theta = 1.0e+04 : f64, style = #attn<rope_style neox>} : tensor<2x?x8xf32>
  return
}

// -----

func.func @rope_odd(%x: tensor<2x?x7xf32>) {
  // expected-error @+1 {{'attn.rope' op rope needs an even rotated dimension, got 7}}
  %y = attn.rope %x {theta = 1.0e+04 : f64, style = #attn<rope_style half>} : tensor<2x?x7xf32>
  return
}

// -----

func.func @rope_theta(%x: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.rope' op rope_theta (0.000000e+00) must be positive}}
  %y = attn.rope %x {theta = 0.0 : f64, style = #attn<rope_style half>} : tensor<2x?x8xf32>
  return
}

// -----

func.func @repeat_kv_multiple(%x: tensor<4x?x8xf32>) {
  // expected-error @+1 {{'attn.repeat_kv' op result heads (6) must be a multiple of input heads (4)}}
  %y = attn.repeat_kv %x : tensor<4x?x8xf32> -> tensor<6x?x8xf32>
  return
}

// -----

func.func @repeat_kv_result(%x: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.repeat_kv' op result has shape [4, ?, 4], expected [4, ?, 8]}}
  %y = attn.repeat_kv %x : tensor<2x?x8xf32> -> tensor<4x?x4xf32>
  return
}

// -----

func.func @attention_probs_nonpositive(%q: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.attention_probs' op heads (2) and kv_heads (0) must be positive}}
  %p = attn.attention_probs %q, %q {heads = 2 : i64, kv_heads = 0 : i64, scale = 1.0 : f64} : tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x?xf32>
  return
}

// -----

func.func @attention_probs_divisible(%q: tensor<4x?x8xf32>, %k: tensor<3x?x8xf32>) {
  // expected-error @+1 {{'attn.attention_probs' op heads (4) must be divisible by kv_heads (3)}}
  %p = attn.attention_probs %q, %k {heads = 4 : i64, kv_heads = 3 : i64, scale = 1.0 : f64} : tensor<4x?x8xf32>, tensor<3x?x8xf32> -> tensor<4x?x?xf32>
  return
}

// -----

func.func @attention_probs_query(%q: tensor<4x?x8xf32>, %k: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.attention_probs' op query has shape [4, ?, 8], expected [2, ?, ?]}}
  %p = attn.attention_probs %q, %k {heads = 2 : i64, kv_heads = 2 : i64, scale = 1.0 : f64} : tensor<4x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x?xf32>
  return
}

// -----

func.func @attention_probs_key(%q: tensor<4x?x8xf32>, %k: tensor<2x?x4xf32>) {
  // expected-error @+1 {{'attn.attention_probs' op key has shape [2, ?, 4], expected [2, ?, 8]}}
  %p = attn.attention_probs %q, %k {heads = 4 : i64, kv_heads = 2 : i64, scale = 1.0 : f64} : tensor<4x?x8xf32>, tensor<2x?x4xf32> -> tensor<4x?x?xf32>
  return
}

// -----

func.func @attention_probs_window(%q: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.attention_probs' op a sliding window needs causal attention}}
  %p = attn.attention_probs %q, %q {heads = 2 : i64, kv_heads = 2 : i64, scale = 1.0 : f64, window = 4 : i64} : tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x?xf32>
  return
}

// -----

func.func @attention_probs_result(%q: tensor<2x5x8xf32>, %k: tensor<2x6x8xf32>) {
  // expected-error @+1 {{'attn.attention_probs' op result has shape [2, 5, 5], expected [2, 5, 6]}}
  %p = attn.attention_probs %q, %k {heads = 2 : i64, kv_heads = 2 : i64, scale = 1.0 : f64} : tensor<2x5x8xf32>, tensor<2x6x8xf32> -> tensor<2x5x5xf32>
  return
}

// -----

func.func @sdpa_nonpositive(%q: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.sdpa' op heads (2) and kv_heads (0) must be positive}}
  %o = attn.sdpa %q, %q, %q {heads = 2 : i64, kv_heads = 0 : i64, scale = 1.0 : f64} : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return
}

// -----

func.func @sdpa_divisible(%q: tensor<4x?x8xf32>, %k: tensor<3x?x8xf32>) {
  // expected-error @+1 {{'attn.sdpa' op heads (4) must be divisible by kv_heads (3)}}
  %o = attn.sdpa %q, %k, %k {heads = 4 : i64, kv_heads = 3 : i64, scale = 1.0 : f64} : tensor<4x?x8xf32>, tensor<3x?x8xf32>, tensor<3x?x8xf32> -> tensor<4x?x8xf32>
  return
}

// -----

func.func @sdpa_query(%q: tensor<4x?x8xf32>, %k: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.sdpa' op query has shape [4, ?, 8], expected [2, ?, ?]}}
  %o = attn.sdpa %q, %k, %k {heads = 2 : i64, kv_heads = 2 : i64, scale = 1.0 : f64} : tensor<4x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<4x?x8xf32>
  return
}

// -----

func.func @sdpa_key(%q: tensor<4x?x8xf32>, %k: tensor<2x?x4xf32>, %v: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.sdpa' op key has shape [2, ?, 4], expected [2, ?, 8]}}
  %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, scale = 1.0 : f64} : tensor<4x?x8xf32>, tensor<2x?x4xf32>, tensor<2x?x8xf32> -> tensor<4x?x8xf32>
  return
}

// -----

func.func @sdpa_value(%q: tensor<4x?x8xf32>, %k: tensor<2x5x8xf32>, %v: tensor<2x6x8xf32>) {
  // expected-error @+1 {{'attn.sdpa' op value has shape [2, 6, 8], expected [2, 5, ?]}}
  %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, scale = 1.0 : f64} : tensor<4x?x8xf32>, tensor<2x5x8xf32>, tensor<2x6x8xf32> -> tensor<4x?x8xf32>
  return
}

// -----

func.func @sdpa_result(%q: tensor<4x?x8xf32>, %k: tensor<2x?x8xf32>, %v: tensor<2x?x6xf32>) {
  // expected-error @+1 {{'attn.sdpa' op result has shape [4, ?, 8], expected [4, ?, 6]}}
  %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, scale = 1.0 : f64} : tensor<4x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x6xf32> -> tensor<4x?x8xf32>
  return
}

// -----

func.func @sdpa_tiling_range(%q: tensor<2x?x8xf32>) {
  // expected-error @+1 {{sdpa_tiling: query_rows (0) and key_tile (256) must be between 1 and 65536}}
  %o = attn.sdpa %q, %q, %q {heads = 2 : i64, kv_heads = 2 : i64, scale = 1.0 : f64, tiling = #attn.sdpa_tiling<query_rows = 0, key_tile = 256>} : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return
}

// -----

func.func @sdpa_tiling_huge(%q: tensor<2x?x8xf32>) {
  // expected-error @+1 {{sdpa_tiling: query_rows (256) and key_tile (65537) must be between 1 and 65536}}
  %o = attn.sdpa %q, %q, %q {heads = 2 : i64, kv_heads = 2 : i64, scale = 1.0 : f64, tiling = #attn.sdpa_tiling<query_rows = 256, key_tile = 65537>} : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return
}

// -----

func.func @online_attention_group(%q: tensor<2x?x8xf32>, %m: tensor<?xf32>, %acc: tensor<2x?x8xf32>, %rows: index) {
  // expected-error @+1 {{'attn.online_attention' op group (0) must be positive}}
  %a:3 = attn.online_attention %q, %q, %q, %m, %m, %acc rows %rows {group = 0 : i64} : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x8xf32>
  return
}

// -----

func.func @online_attention_causal(%q: tensor<2x?x8xf32>, %m: tensor<?xf32>, %acc: tensor<2x?x8xf32>, %rows: index) {
  // expected-error @+1 {{'attn.online_attention' op causal needs query_start, key_start and shift}}
  %a:3 = "attn.online_attention"(%q, %q, %q, %m, %m, %acc, %rows, %rows) <{group = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 0, 0>}> : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x8xf32>, index, index) -> (tensor<?xf32>, tensor<?xf32>, tensor<2x?x8xf32>)
  return
}

// -----

func.func @online_attention_key(%q: tensor<2x?x8xf32>, %k: tensor<2x?x4xf32>, %m: tensor<?xf32>, %acc: tensor<2x?x8xf32>, %rows: index) {
  // expected-error @+1 {{'attn.online_attention' op key has shape [2, ?, 4], expected [2, ?, 8]}}
  %a:3 = attn.online_attention %q, %k, %q, %m, %m, %acc rows %rows {group = 1 : i64} : tensor<2x?x8xf32>, tensor<2x?x4xf32>, tensor<2x?x8xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x8xf32>
  return
}

// -----

func.func @online_attention_value(%q: tensor<2x?x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x5x8xf32>, %m: tensor<?xf32>, %acc: tensor<2x?x8xf32>, %rows: index) {
  // expected-error @+1 {{'attn.online_attention' op value has shape [2, 5, 8], expected [2, 4, ?]}}
  %a:3 = attn.online_attention %q, %k, %v, %m, %m, %acc rows %rows {group = 1 : i64} : tensor<2x?x8xf32>, tensor<2x4x8xf32>, tensor<2x5x8xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x8xf32>
  return
}

// -----

func.func @online_attention_acc(%q: tensor<2x?x8xf32>, %m: tensor<?xf32>, %acc: tensor<2x?x6xf32>, %rows: index) {
  // expected-error @+1 {{'attn.online_attention' op acc has shape [2, ?, 6], expected [2, ?, 8]}}
  %a:3 = attn.online_attention %q, %q, %q, %m, %m, %acc rows %rows {group = 1 : i64} : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x6xf32>
  return
}

// -----

func.func @attention_window_not_causal(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>) {
  // expected-error @+1 {{'attn.attention' op a sliding window needs causal attention}}
  %y = attn.attention %h weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 4 : i64, window = 4 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @attention_scaling_without_theta(%h: tensor<?x8xf32>, %w: tensor<8x8xf32>) {
  // expected-error @+1 {{'attn.attention' op rope_scaling requires rope_theta}}
  %y = attn.attention %h weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 4 : i64, causal,
          rope_scaling = #attn.rope_scaling<linear, factor = 2.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_position = 64>}
         : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @sdpa_window_nonpositive(%q: tensor<2x?x8xf32>) {
  // expected-error @+1 {{'attn.sdpa' op window (0) must be positive}}
  %o = attn.sdpa %q, %q, %q {heads = 2 : i64, kv_heads = 2 : i64, causal, scale = 1.0 : f64, window = 0 : i64} : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return
}

// -----

func.func @rope_scaling_factor(%q: tensor<2x?x8xf32>) {
  // expected-error @+2 {{rope_scaling: factor (0.000000e+00) must be positive}}
  %r = attn.rope %q {theta = 1.0e+04 : f64, style = #attn<rope_style half>,
                     scaling = #attn.rope_scaling<linear, factor = 0.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_position = 64>} : tensor<2x?x8xf32>
  return
}

// -----

func.func @rope_scaling_llama3(%q: tensor<2x?x8xf32>) {
  // expected-error @+2 {{rope_scaling: llama3 needs 0 < low_freq_factor (4.000000e+00) < high_freq_factor (1.000000e+00) and a positive original_max_position (64)}}
  %r = attn.rope %q {theta = 1.0e+04 : f64, style = #attn<rope_style half>,
                     scaling = #attn.rope_scaling<llama3, factor = 8.0 : f64, low_freq_factor = 4.0 : f64, high_freq_factor = 1.0 : f64, original_max_position = 64>} : tensor<2x?x8xf32>
  return
}

// -----

func.func @linear_in_out_width(%x: tensor<?x8xf32>, %w: tensor<4x16xf32>) {
  // expected-error @+1 {{'attn.linear' op input width (8) does not match the weight's input width (4)}}
  %y = attn.linear %x, %w {weight_in_out} : tensor<?x8xf32>, tensor<4x16xf32> -> tensor<?x16xf32>
  return
}

// -----

func.func @ring_update_heads(%c: tensor<2x1x4x16xf32>, %k: tensor<2x?x16xf32>, %i: index) {
  // expected-error @+1 {{'attn.ring_update' op update has shape [2, ?, 16], expected [1, ?, 16]}}
  %u = attn.ring_update %c[%i], %k at %i : tensor<2x1x4x16xf32>, tensor<2x?x16xf32>
  return
}

// -----

func.func @ring_update_dynamic(%c: tensor<2x1x?x16xf32>, %k: tensor<1x?x16xf32>, %i: index) {
  // expected-error @+1 {{'attn.ring_update' op cache must have a static shape}}
  %u = attn.ring_update %c[%i], %k at %i : tensor<2x1x?x16xf32>, tensor<1x?x16xf32>
  return
}

// -----

func.func @ring_window_width(%c: tensor<2x1x4x16xf32>, %k: tensor<1x?x8xf32>, %i: index) {
  // expected-error @+1 {{'attn.ring_window' op new rows has shape [1, ?, 8], expected [1, ?, 16]}}
  %w = attn.ring_window %c[%i], %k at %i : tensor<2x1x4x16xf32>, tensor<1x?x8xf32> -> tensor<1x?x8xf32>
  return
}

// -----

func.func @ring_window_result(%c: tensor<2x1x4x16xf32>, %k: tensor<1x?x16xf32>, %i: index) {
  // expected-error @+1 {{'attn.ring_window' op result has shape [2, ?, 16], expected [1, ?, 16]}}
  %w = attn.ring_window %c[%i], %k at %i : tensor<2x1x4x16xf32>, tensor<1x?x16xf32> -> tensor<2x?x16xf32>
  return
}

// -----

func.func @ring_window_dynamic(%c: tensor<2x1x?x16xf32>, %k: tensor<1x?x16xf32>, %i: index) {
  // expected-error @+1 {{'attn.ring_window' op cache must have a static shape}}
  %w = attn.ring_window %c[%i], %k at %i : tensor<2x1x?x16xf32>, tensor<1x?x16xf32> -> tensor<1x?x16xf32>
  return
}

// -----

func.func @expert_weight_entries() {
  // expected-error @+1 {{'attn.weight' op stacked weight 'l.*.e.*.w' has 6 entries (layers times experts) but a leading dimension of 3}}
  %w = attn.weight "l." * ".e." * ".w" layers 2 experts 3 : tensor<3x4x4xf32>
  return
}

// -----

func.func @expert_weight_index() {
  // expected-error @+1 {{weight name "e.w" has no expert index ('*'), so it cannot be stacked over 3 experts}}
  %w = attn.weight "e.w" experts 3 : tensor<3x4x4xf32>
  return
}

// -----

func.func @expert_weight_first_layer() {
  // expected-error @+1 {{a weight's first layer must be non-negative and needs a layer count, got 2}}
  %w = attn.weight "e." * ".w" first 2 experts 3 : tensor<3x4x4xf32>
  return
}

// -----

func.func @moe_shapes(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op down has shape [8, 32, 64], expected [8, 64, 32]}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %g, %g : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x32x64xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk greedy>, n_group = 1 : i64, topk_group = 1 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_top_k(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op top_k (9) must be between 1 and the 8 experts}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 9 : i64, topk_method = #attn<moe_topk greedy>, n_group = 1 : i64, topk_group = 1 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_groups(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op n_group (3) must divide the 8 experts}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk group_limited_greedy>, n_group = 3 : i64, topk_group = 1 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_top_groups(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op topk_group (5) must be between 1 and n_group (4)}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk group_limited_greedy>, n_group = 4 : i64, topk_group = 5 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_greedy_groups(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op greedy selection takes n_group = topk_group = 1}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk greedy>, n_group = 2 : i64, topk_group = 1 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_top_k_in_groups(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op top_k (3) exceeds the 2 experts of the topk_group groups}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 3 : i64, topk_method = #attn<moe_topk group_limited_greedy>, n_group = 4 : i64, topk_group = 1 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_scale(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op routed_scaling_factor must be positive, got 0}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk greedy>, n_group = 1 : i64, topk_group = 1 : i64,
          routed_scaling_factor = 0.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @rope_yarn_parameters(%q: tensor<2x?x8xf32>) {
  // expected-error @+2 {{rope_scaling: yarn needs beta_fast, beta_slow, mscale and mscale_all_dim}}
  %r = attn.rope %q {theta = 1.0e+04 : f64, style = #attn<rope_style half>,
                     scaling = #attn.rope_scaling<yarn, factor = 4.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_position = 64>} : tensor<2x?x8xf32>
  return
}

// -----

func.func @rope_yarn_betas(%q: tensor<2x?x8xf32>) {
  // expected-error @+2 {{rope_scaling: yarn needs 0 < beta_slow < beta_fast, finite mscales and a positive original_max_position (64)}}
  %r = attn.rope %q {theta = 1.0e+04 : f64, style = #attn<rope_style half>,
                     scaling = #attn.rope_scaling<yarn, factor = 4.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_position = 64, beta_fast = 1.0 : f64, beta_slow = 2.0 : f64, mscale = 1.0 : f64, mscale_all_dim = 1.0 : f64>} : tensor<2x?x8xf32>
  return
}

// -----

func.func @rope_yarn_on_linear(%q: tensor<2x?x8xf32>) {
  // expected-error @+2 {{rope_scaling: beta_fast, beta_slow, mscale and mscale_all_dim are yarn's parameters}}
  %r = attn.rope %q {theta = 1.0e+04 : f64, style = #attn<rope_style half>,
                     scaling = #attn.rope_scaling<linear, factor = 4.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_position = 64, beta_fast = 32.0 : f64>} : tensor<2x?x8xf32>
  return
}

// -----

func.func @all_reduce_one_rank(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{'attn.all_reduce' op needs at least 2 ranks, not 1}}
  %r = attn.all_reduce %x ranks 1 : tensor<?x8xf32>
  return
}

// -----

func.func @all_gather_width(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{'attn.all_gather' op result width 24 is not ranks (2) times the input width 8}}
  %r = attn.all_gather %x ranks 2 : tensor<?x8xf32> -> tensor<?x24xf32>
  return
}

// -----

func.func @all_gather_rows(%x: tensor<3x8xf32>) {
  // expected-error @+1 {{'attn.all_gather' op input and result must have the same number of rows}}
  %r = attn.all_gather %x ranks 2 : tensor<3x8xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @all_gather_one_rank(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{'attn.all_gather' op needs at least 2 ranks, not 1}}
  %r = attn.all_gather %x ranks 1 : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

//===----------------------------------------------------------------------===//
// attn.kv_quant, attn.kv_dequant and narrow caches (--kv-type)
//===----------------------------------------------------------------------===//

// -----

func.func @kv_quant_f32(%k: tensor<2x?x64xf32>) {
  // expected-error @+1 {{'attn.kv_quant' op storage type must be bf16 or i8 (Q8_0 blocks), not f32}}
  %q = attn.kv_quant %k : tensor<2x?x64xf32> -> tensor<2x?x64xf32>
  return
}

// -----

func.func @kv_quant_width(%k: tensor<2x?x40xf32>) {
  // expected-error @+1 {{'attn.kv_quant' op Q8_0 needs a head width that is a multiple of 32, got 40}}
  %q = attn.kv_quant %k : tensor<2x?x40xf32> -> tensor<2x?x42xi8>
  return
}

// -----

func.func @kv_quant_bytes(%k: tensor<2x?x64xf32>) {
  // expected-error @+1 {{'attn.kv_quant' op storage has shape [2, ?, 64], expected [2, ?, 68]}}
  %q = attn.kv_quant %k : tensor<2x?x64xf32> -> tensor<2x?x64xi8>
  return
}

// -----

func.func @kv_dequant_dynamic(%s: tensor<2x?x64xbf16>) {
  // expected-error @+1 {{'attn.kv_dequant' op needs a static head width}}
  %k = attn.kv_dequant %s : tensor<2x?x64xbf16> -> tensor<2x?x?xf32>
  return
}

// -----

func.func @cache_update_element(%c: tensor<2x2x16x64xbf16>, %k: tensor<2x?x64xf32>, %i: index) {
  // expected-error @+1 {{'attn.cache_update' op update must have the cache's element type 'bf16'}}
  %u = attn.cache_update %c[%i], %k at %i : tensor<2x2x16x64xbf16>, tensor<2x?x64xf32>
  return
}

// -----

func.func @cache_view_element(%c: tensor<2x2x16x68xi8>, %i: index) {
  // expected-error @+1 {{'attn.cache_view' op result must have the cache's element type 'i8'}}
  %v = attn.cache_view %c[%i] upto %i : tensor<2x2x16x68xi8> -> tensor<2x?x68xbf16>
  return
}

// -----

func.func @ring_update_element(%c: tensor<2x1x4x16xbf16>, %k: tensor<1x?x16xf32>, %i: index) {
  // expected-error @+1 {{'attn.ring_update' op update must have the cache's element type 'bf16'}}
  %u = attn.ring_update %c[%i], %k at %i : tensor<2x1x4x16xbf16>, tensor<1x?x16xf32>
  return
}

// -----

func.func @ring_window_element(%c: tensor<2x1x4x16xbf16>, %k: tensor<1x?x16xbf16>, %i: index) {
  // expected-error @+1 {{'attn.ring_window' op result must have the cache's element type 'bf16'}}
  %w = attn.ring_window %c[%i], %k at %i : tensor<2x1x4x16xbf16>, tensor<1x?x16xbf16> -> tensor<1x?x16xf32>
  return
}

// -----

func.func @moe_bias_without_noaux(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %b: tensor<8xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op a correction bias goes with topk_method noaux_tc, and only with it}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) bias(%b : tensor<8xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk greedy>, n_group = 1 : i64, topk_group = 1 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_noaux_without_bias(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op a correction bias goes with topk_method noaux_tc, and only with it}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk noaux_tc>, n_group = 4 : i64, topk_group = 2 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_bias_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %b: tensor<4xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op bias has shape [4], expected [8]}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) bias(%b : tensor<4xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk noaux_tc>, n_group = 4 : i64, topk_group = 2 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_noaux_groups_of_one(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>, %b: tensor<8xf32>, %g: tensor<8x32x64xf32>, %d: tensor<8x64x32xf32>) {
  // expected-error @+1 {{'attn.moe' op noaux_tc sums the best two experts of a group, but the 8 groups have 1 expert each}}
  %y = attn.moe %x router(%r : tensor<8x64xf32>) bias(%b : tensor<8xf32>) experts(%g, %g, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk noaux_tc>, n_group = 8 : i64, topk_group = 2 : i64,
          routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}
