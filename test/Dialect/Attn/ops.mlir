// RUN: tfc-opt %s | tfc-opt | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s --mlir-print-op-generic | tfc-opt | FileCheck %s --enable-var-scope

// Round trip of every attn op, with each optional operand present and absent.

// CHECK-LABEL: func @weights_and_embeddings
func.func @weights_and_embeddings(%tokens: tensor<?xi32>, %pos: index) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<3x64x64xf32>) {
  // CHECK: %[[T:.*]] = attn.weight "model.embed_tokens.weight" : tensor<512x64xf32>
  %table = attn.weight "model.embed_tokens.weight" : tensor<512x64xf32>
  // CHECK: attn.weight "model.layers." * ".q_proj.weight" layers 3 : tensor<3x64x64xf32>
  %stacked = attn.weight "model.layers." * ".q_proj.weight" layers 3 : tensor<3x64x64xf32>
  // CHECK: attn.weight "" * ".p" * "" layers 3 : tensor<3x64xf32>
  %edges = attn.weight "" * ".p" * "" layers 3 : tensor<3x64xf32>
  // CHECK: attn.weight "model.norm.weight" init ones : tensor<64xf32>
  %ones = attn.weight "model.norm.weight" init ones : tensor<64xf32>
  // CHECK: attn.weight "l." * ".bias" layers 3 init zeros : tensor<3x64xf32>
  %zeros = attn.weight "l." * ".bias" layers 3 init zeros : tensor<3x64xf32>
  // CHECK: attn.weight "w\22quoted\22" : tensor<4xf32>
  %quoted = attn.weight "w\22quoted\22" : tensor<4xf32>
  // CHECK: attn.embedding %[[T]], %{{.*}} : tensor<512x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %x = attn.embedding %table, %tokens : tensor<512x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %ptable = attn.weight "wpe.weight" : tensor<1024x64xf32>
  // CHECK: attn.position_embedding %{{.*}}, %{{.*}} : tensor<1024x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %p0 = attn.position_embedding %ptable, %tokens : tensor<1024x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: attn.position_embedding %{{.*}}, %{{.*}} offset %{{.*}} : tensor<1024x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %p1 = attn.position_embedding %ptable, %tokens offset %pos : tensor<1024x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: attn.sinusoidal %{{.*}} : tensor<?xi32> -> tensor<?x64xf32>
  %s0 = attn.sinusoidal %tokens : tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: attn.sinusoidal %{{.*}} offset %{{.*}} : tensor<?xi32> -> tensor<?x64xf32>
  %s1 = attn.sinusoidal %tokens offset %pos : tensor<?xi32> -> tensor<?x64xf32>
  return %x, %p0, %p1, %s0, %s1, %stacked : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<3x64x64xf32>
}

// CHECK-LABEL: func @dense
func.func @dense(%x: tensor<?x64xf32>, %w: tensor<172x64xf32>, %b: tensor<172xf32>, %g: tensor<64xf32>, %beta: tensor<64xf32>) -> tensor<?x64xf32> {
  // CHECK: attn.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<172x64xf32> -> tensor<?x172xf32>
  %y0 = attn.linear %x, %w : tensor<?x64xf32>, tensor<172x64xf32> -> tensor<?x172xf32>
  // CHECK: attn.linear %{{.*}}, %{{.*}} bias %{{.*}} : tensor<?x64xf32>, tensor<172x64xf32>, tensor<172xf32> -> tensor<?x172xf32>
  %y1 = attn.linear %x, %w bias %b : tensor<?x64xf32>, tensor<172x64xf32>, tensor<172xf32> -> tensor<?x172xf32>
  // CHECK: attn.linear %{{.*}}, %{{.*}} {weight_in_out} : tensor<?x172xf32>, tensor<172x64xf32> -> tensor<?x64xf32>
  %y2 = attn.linear %y1, %w {weight_in_out} : tensor<?x172xf32>, tensor<172x64xf32> -> tensor<?x64xf32>
  // CHECK: attn.rms_norm %{{.*}}, %{{.*}} {eps = 1.000000e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %n0 = attn.rms_norm %x, %g {eps = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  // CHECK: attn.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-05 : f64} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %n1 = attn.layer_norm %n0, %g, %beta {eps = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  // CHECK: attn.relu %{{.*}} : tensor<?x172xf32>
  %a0 = attn.relu %y0 : tensor<?x172xf32>
  // CHECK: attn.gelu %{{.*}} : tensor<?x172xf32>
  %a1 = attn.gelu %a0 : tensor<?x172xf32>
  // CHECK: attn.gelu_tanh %{{.*}} : tensor<?x172xf32>
  %a2 = attn.gelu_tanh %a1 : tensor<?x172xf32>
  // CHECK: attn.silu %{{.*}} : tensor<?x172xf32>
  %a3 = attn.silu %a2 : tensor<?x172xf32>
  // CHECK: attn.add %{{.*}}, %{{.*}} : tensor<?x172xf32>
  %e0 = attn.add %a3, %y1 : tensor<?x172xf32>
  // CHECK: attn.sub %{{.*}}, %{{.*}} : tensor<?x172xf32>
  %e1 = attn.sub %e0, %y1 : tensor<?x172xf32>
  // CHECK: attn.mul %{{.*}}, %{{.*}} : tensor<?x172xf32>
  %e2 = attn.mul %e1, %y1 : tensor<?x172xf32>
  // CHECK: attn.div %{{.*}}, %{{.*}} : tensor<?x172xf32>
  %e3 = attn.div %e2, %y1 : tensor<?x172xf32>
  // CHECK: attn.affine %{{.*}} {scale = 5.000000e-01 : f64, shift = 1.000000e+00 : f64} : tensor<?x64xf32>
  %e4 = attn.affine %n1 {scale = 0.5 : f64, shift = 1.0 : f64} : tensor<?x64xf32>
  return %e4 : tensor<?x64xf32>
}

// CHECK-LABEL: func @attention
func.func @attention(%h: tensor<?x64xf32>, %enc: tensor<?x32xf32>, %wq: tensor<64x64xf32>, %wk: tensor<32x64xf32>, %wv: tensor<32x64xf32>, %wo: tensor<64x64xf32>,
                     %wkm: tensor<64x32xf32>, %wvm: tensor<64x32xf32>, %bq: tensor<64xf32>, %bk: tensor<64xf32>, %bv: tensor<64xf32>, %bo: tensor<64xf32>,
                     %bk2: tensor<32xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: attn.attention %{{.*}} weights(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x64xf32>)
  // CHECK-SAME: {causal, head_dim = 8 : i64, heads = 8 : i64, kv_heads = 4 : i64, rope_style = #attn<rope_style half>, rope_theta = 1.000000e+04 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  %y = attn.attention %h weights(%wq, %wk, %wv, %wo : tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x64xf32>)
         {heads = 8 : i64, kv_heads = 4 : i64, head_dim = 8 : i64, causal, rope_theta = 1.0e+04 : f64, rope_style = #attn<rope_style half>}
         : tensor<?x64xf32> -> tensor<?x64xf32>
  // CHECK: attn.attention %{{.*}} memory(%{{.*}} : tensor<?x32xf32>) weights(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<64x64xf32>, tensor<64x32xf32>, tensor<64x32xf32>, tensor<64x64xf32>)
  // CHECK-SAME: biases(%{{.*}}, %{{.*}}, %{{.*}} : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) out_bias(%{{.*}} : tensor<64xf32>) {head_dim = 8 : i64, heads = 8 : i64, kv_heads = 8 : i64}
  %c = attn.attention %y memory(%enc : tensor<?x32xf32>) weights(%wq, %wkm, %wvm, %wo : tensor<64x64xf32>, tensor<64x32xf32>, tensor<64x32xf32>, tensor<64x64xf32>)
         biases(%bq, %bk, %bv : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) out_bias(%bo : tensor<64xf32>) {heads = 8 : i64, kv_heads = 8 : i64, head_dim = 8 : i64}
         : tensor<?x64xf32> -> tensor<?x64xf32>
  // Qwen2's biases (q, k, v without the output's), a sliding window, llama3 rope scaling.
  // CHECK: attn.attention %{{.*}} weights({{.*}}) biases(%{{.*}}, %{{.*}}, %{{.*}} : tensor<64xf32>, tensor<32xf32>, tensor<32xf32>) {causal
  // CHECK-SAME: rope_scaling = #attn.rope_scaling<llama3, factor = 8.000000e+00 : f64, low_freq_factor = 1.000000e+00 : f64, high_freq_factor = 4.000000e+00 : f64, original_max_position = 8192>
  // CHECK-SAME: window = 4096 : i64
  %w = attn.attention %h weights(%wq, %wk, %wv, %wo : tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x64xf32>)
         biases(%bq, %bk2, %bk2 : tensor<64xf32>, tensor<32xf32>, tensor<32xf32>)
         {heads = 8 : i64, kv_heads = 4 : i64, head_dim = 8 : i64, causal, rope_theta = 5.0e+05 : f64,
          rope_scaling = #attn.rope_scaling<llama3, factor = 8.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_position = 8192>,
          window = 4096 : i64}
         : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y, %c : tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func @latent_attention
func.func @latent_attention(%h: tensor<?x64xf32>, %wq: tensor<96x64xf32>, %wqa: tensor<16x64xf32>, %qn: tensor<16xf32>, %wqb: tensor<96x16xf32>,
                            %wkva: tensor<40x64xf32>, %kvn: tensor<32xf32>, %wkvb: tensor<128x32xf32>, %wo: tensor<64x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: attn.latent_attention %{{.*}} q(%{{.*}} : tensor<96x64xf32>) kv(%{{.*}}, %{{.*}}, %{{.*}} : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>) o(%{{.*}} : tensor<64x64xf32>)
  // CHECK-SAME: q_rank = 0 : i64
  %y0 = attn.latent_attention %h q(%wq : tensor<96x64xf32>)
          kv(%wkva, %kvn, %wkvb : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>) o(%wo : tensor<64x64xf32>)
          {heads = 4 : i64, kv_rank = 32 : i64, rope_dim = 8 : i64, nope_dim = 16 : i64, v_dim = 16 : i64, q_rank = 0 : i64,
           causal, rope_theta = 1.0e+04 : f64, rope_style = #attn<rope_style interleaved>} : tensor<?x64xf32> -> tensor<?x64xf32>
  // CHECK: attn.latent_attention %{{.*}} q(%{{.*}}, %{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<16xf32>, tensor<96x16xf32>)
  // CHECK-SAME: q_rank = 16 : i64
  %y1 = attn.latent_attention %h q(%wqa, %qn, %wqb : tensor<16x64xf32>, tensor<16xf32>, tensor<96x16xf32>)
          kv(%wkva, %kvn, %wkvb : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>) o(%wo : tensor<64x64xf32>)
          {heads = 4 : i64, kv_rank = 32 : i64, rope_dim = 8 : i64, nope_dim = 16 : i64, v_dim = 16 : i64, q_rank = 16 : i64}
          : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y0, %y1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func @heads
func.func @heads(%x: tensor<?x64xf32>, %kv: tensor<?x16xf32>, %pos: index) -> (tensor<?x64xf32>, tensor<4x?x24xf32>) {
  // CHECK: %[[Q:.*]] = attn.split_heads %{{.*}} : tensor<?x64xf32> -> tensor<8x?x8xf32>
  %q = attn.split_heads %x : tensor<?x64xf32> -> tensor<8x?x8xf32>
  // CHECK: attn.rope %[[Q]] {style = #attn<rope_style half>, theta = 1.000000e+04 : f64} : tensor<8x?x8xf32>
  %qr = attn.rope %q {theta = 1.0e+04 : f64, style = #attn<rope_style half>} : tensor<8x?x8xf32>
  %k = attn.split_heads %kv : tensor<?x16xf32> -> tensor<2x?x8xf32>
  // CHECK: attn.rope %{{.*}} offset %{{.*}} {style = #attn<rope_style interleaved>, theta = 5.000000e+05 : f64} : tensor<2x?x8xf32>
  %kr = attn.rope %k offset %pos {theta = 5.0e+05 : f64, style = #attn<rope_style interleaved>} : tensor<2x?x8xf32>
  // CHECK: attn.rope %{{.*}} {scaling = #attn.rope_scaling<linear, factor = 2.000000e+00 : f64, low_freq_factor = 1.000000e+00 : f64, high_freq_factor = 4.000000e+00 : f64, original_max_position = 4096>, style = #attn<rope_style half>, theta = 1.000000e+04 : f64} : tensor<8x?x8xf32>
  %qs = attn.rope %q {theta = 1.0e+04 : f64, style = #attn<rope_style half>,
                      scaling = #attn.rope_scaling<linear, factor = 2.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_position = 4096>} : tensor<8x?x8xf32>
  // CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, heads = 8 : i64, kv_heads = 2 : i64, scale = 1.250000e-01 : f64, window = 16 : i64}
  %ow = attn.sdpa %qs, %kr, %k {heads = 8 : i64, kv_heads = 2 : i64, causal, scale = 0.125 : f64, window = 16 : i64}
         : tensor<8x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<8x?x8xf32>
  // CHECK: attn.attention_probs %{{.*}}, %{{.*}} {causal, heads = 8 : i64, kv_heads = 2 : i64, scale = 1.250000e-01 : f64, window = 16 : i64} : tensor<8x?x8xf32>, tensor<2x?x8xf32> -> tensor<8x?x?xf32>
  %pw = attn.attention_probs %qs, %kr {heads = 8 : i64, kv_heads = 2 : i64, causal, scale = 0.125 : f64, window = 16 : i64}
         : tensor<8x?x8xf32>, tensor<2x?x8xf32> -> tensor<8x?x?xf32>
  // CHECK: attn.attention_probs %{{.*}}, %{{.*}} {heads = 8 : i64, kv_heads = 2 : i64, scale = 1.250000e-01 : f64} : tensor<8x?x8xf32>, tensor<2x?x8xf32> -> tensor<8x?x?xf32>
  %pb = attn.attention_probs %qs, %kr {heads = 8 : i64, kv_heads = 2 : i64, scale = 0.125 : f64}
         : tensor<8x?x8xf32>, tensor<2x?x8xf32> -> tensor<8x?x?xf32>
  // CHECK: attn.repeat_kv %{{.*}} : tensor<2x?x8xf32> -> tensor<8x?x8xf32>
  %k8 = attn.repeat_kv %kr : tensor<2x?x8xf32> -> tensor<8x?x8xf32>
  // CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, heads = 8 : i64, kv_heads = 2 : i64, scale = 0.35355339059327373 : f64} : tensor<8x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<8x?x8xf32>
  %o = attn.sdpa %qr, %kr, %k {heads = 8 : i64, kv_heads = 2 : i64, causal, scale = 0.35355339059327373 : f64}
         : tensor<8x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<8x?x8xf32>
  // CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {heads = 8 : i64, kv_heads = 8 : i64, scale = 1.250000e-01 : f64, tiling = #attn.sdpa_tiling<query_rows = 64, key_tile = 128>}
  %o2 = attn.sdpa %o, %k8, %k8 {heads = 8 : i64, kv_heads = 8 : i64, scale = 0.125 : f64,
                               tiling = #attn.sdpa_tiling<query_rows = 64, key_tile = 128>}
         : tensor<8x?x8xf32>, tensor<8x?x8xf32>, tensor<8x?x8xf32> -> tensor<8x?x8xf32>
  // CHECK: attn.merge_heads %{{.*}} : tensor<8x?x8xf32> -> tensor<?x64xf32>
  %m = attn.merge_heads %o2 : tensor<8x?x8xf32> -> tensor<?x64xf32>
  %wide = attn.split_heads %x : tensor<?x64xf32> -> tensor<4x?x16xf32>
  // CHECK: attn.slice_last %{{.*}} {offset = 8 : i64} : tensor<4x?x16xf32> -> tensor<4x?x8xf32>
  %pe = attn.slice_last %wide {offset = 8 : i64} : tensor<4x?x16xf32> -> tensor<4x?x8xf32>
  // CHECK: attn.concat_last %{{.*}}, %{{.*}} : tensor<4x?x16xf32>, tensor<4x?x8xf32> -> tensor<4x?x24xf32>
  %cat = attn.concat_last %wide, %pe : tensor<4x?x16xf32>, tensor<4x?x8xf32> -> tensor<4x?x24xf32>
  return %m, %cat : tensor<?x64xf32>, tensor<4x?x24xf32>
}

// CHECK-LABEL: func @online_attention
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<2x?x8xf32>, %[[K:[^:]*]]: tensor<2x?x8xf32>, %[[V:[^:]*]]: tensor<2x?x16xf32>, %[[M:[^:]*]]: tensor<?xf32>, %[[L:[^:]*]]: tensor<?xf32>, %[[A:[^:]*]]: tensor<2x?x16xf32>, %[[R:[^:]*]]: index, %[[I:[^:]*]]: index, %[[J:[^:]*]]: index, %[[S:[^:]*]]: index)
func.func @online_attention(%q: tensor<2x?x8xf32>, %k: tensor<2x?x8xf32>, %v: tensor<2x?x16xf32>,
                            %m: tensor<?xf32>, %l: tensor<?xf32>, %acc: tensor<2x?x16xf32>,
                            %rows: index, %i0: index, %j0: index, %shift: index) {
  // CHECK: attn.online_attention %[[Q]], %[[K]], %[[V]], %[[M]], %[[L]], %[[A]] rows %[[R]] causal(%[[I]], %[[J]], %[[S]]) {group = 2 : i64} : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x16xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x16xf32>
  %a:3 = attn.online_attention %q, %k, %v, %m, %l, %acc rows %rows causal(%i0, %j0, %shift) {group = 2 : i64}
      : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x16xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x16xf32>
  // CHECK: attn.online_attention %[[Q]], %[[K]], %[[V]], %[[M]], %[[L]], %[[A]] rows %[[R]] {group = 1 : i64} :
  %b:3 = attn.online_attention %q, %k, %v, %m, %l, %acc rows %rows {group = 1 : i64}
      : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x16xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x16xf32>
  return
}

// CHECK-LABEL: func.func @ring
// CHECK-SAME: (%[[C:.*]]: tensor<2x1x4x16xf32>, %[[K:.*]]: tensor<1x?x16xf32>, %[[L:.*]]: index, %[[P:.*]]: index)
func.func @ring(%cache: tensor<2x1x4x16xf32>, %k: tensor<1x?x16xf32>, %layer: index, %pos: index) {
  // CHECK: attn.ring_window %[[C]][%[[L]]], %[[K]] at %[[P]] : tensor<2x1x4x16xf32>, tensor<1x?x16xf32> -> tensor<1x?x16xf32>
  %w = attn.ring_window %cache[%layer], %k at %pos : tensor<2x1x4x16xf32>, tensor<1x?x16xf32> -> tensor<1x?x16xf32>
  // CHECK: attn.ring_update %[[C]][%[[L]]], %[[K]] at %[[P]] : tensor<2x1x4x16xf32>, tensor<1x?x16xf32>
  %u = attn.ring_update %cache[%layer], %k at %pos : tensor<2x1x4x16xf32>, tensor<1x?x16xf32>
  return
}

// A mixture of experts, and the weights it reads: stacked per expert (and per
// layer, numbered from layer 1).
// CHECK-LABEL: func @moe
func.func @moe(%x: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<6x32x64xf32>, tensor<3x8xf32>) {
  // CHECK: attn.weight "model.layers." * ".mlp.experts." * ".up_proj.weight" layers 2 first 1 experts 3 : tensor<6x32x64xf32>
  %stacked = attn.weight "model.layers." * ".mlp.experts." * ".up_proj.weight" layers 2 first 1 experts 3 : tensor<6x32x64xf32>
  // CHECK: attn.weight "model.layers." * ".mlp.gate.weight" layers 3 first 1 : tensor<3x8xf32>
  %first = attn.weight "model.layers." * ".mlp.gate.weight" layers 3 first 1 : tensor<3x8xf32>
  %r = attn.weight "gate.weight" : tensor<8x64xf32>
  // CHECK: attn.weight "experts." * ".w1.weight" experts 8 : tensor<8x32x64xf32>
  %g = attn.weight "experts." * ".w1.weight" experts 8 : tensor<8x32x64xf32>
  %u = attn.weight "experts." * ".w3.weight" experts 8 : tensor<8x32x64xf32>
  %d = attn.weight "experts." * ".w2.weight" experts 8 : tensor<8x64x32xf32>
  // CHECK: attn.moe %{{.*}} router(%{{.*}} : tensor<8x64xf32>) experts(%{{.*}}, %{{.*}}, %{{.*}} : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
  // CHECK-SAME: n_group = 1 : i64, norm_topk_prob, routed_scaling_factor = 1.000000e+00 : f64, top_k = 2 : i64, topk_group = 1 : i64, topk_method = #attn<moe_topk greedy>
  %y = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %u, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk greedy>, n_group = 1 : i64, topk_group = 1 : i64,
          norm_topk_prob, routed_scaling_factor = 1.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  // CHECK: topk_method = #attn<moe_topk group_limited_greedy>
  %z = attn.moe %x router(%r : tensor<8x64xf32>) experts(%g, %u, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 3 : i64, topk_method = #attn<moe_topk group_limited_greedy>, n_group = 4 : i64, topk_group = 2 : i64,
          routed_scaling_factor = 16.0 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  // DeepSeek-V3's routing: sigmoid scores, noaux_tc with a correction bias.
  // CHECK: attn.moe %{{.*}} router(%{{.*}} : tensor<8x64xf32>) bias(%{{.*}} : tensor<8xf32>) experts(
  // CHECK-SAME: scoring = #attn<moe_scoring sigmoid>
  // CHECK-SAME: topk_method = #attn<moe_topk noaux_tc>
  %b = attn.weight "gate.e_score_correction_bias" : tensor<8xf32>
  %v = attn.moe %x router(%r : tensor<8x64xf32>) bias(%b : tensor<8xf32>) experts(%g, %u, %d : tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
         {top_k = 3 : i64, topk_method = #attn<moe_topk noaux_tc>, n_group = 4 : i64, topk_group = 2 : i64,
          scoring = #attn<moe_scoring sigmoid>, routed_scaling_factor = 2.5 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y, %z, %stacked, %first : tensor<?x64xf32>, tensor<?x64xf32>, tensor<6x32x64xf32>, tensor<3x8xf32>
}

// YaRN's parameters follow the others, only with kind yarn.
// CHECK-LABEL: func @rope_yarn
// CHECK: scaling = #attn.rope_scaling<yarn, factor = 4.000000e+00 : f64, low_freq_factor = 1.000000e+00 : f64, high_freq_factor = 4.000000e+00 : f64, original_max_position = 64, beta_fast = 3.200000e+01 : f64, beta_slow = 1.000000e+00 : f64, mscale = 1.000000e+00 : f64, mscale_all_dim = 7.070000e-01 : f64>
func.func @rope_yarn(%q: tensor<2x?x8xf32>) -> tensor<2x?x8xf32> {
  %r = attn.rope %q {theta = 1.0e+04 : f64, style = #attn<rope_style interleaved>,
                     scaling = #attn.rope_scaling<yarn, factor = 4.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_position = 64,
                                                  beta_fast = 32.0 : f64, beta_slow = 1.0 : f64, mscale = 1.0 : f64, mscale_all_dim = 0.707 : f64>} : tensor<2x?x8xf32>
  return %r : tensor<2x?x8xf32>
}

// CHECK-LABEL: func @collectives
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>)
// CHECK: %[[S:.*]] = attn.all_reduce %[[X]] ranks 2 : tensor<?x8xf32>
// CHECK: attn.all_gather %[[S]] ranks 2 : tensor<?x8xf32> -> tensor<?x16xf32>
func.func @collectives(%x: tensor<?x8xf32>) -> tensor<?x16xf32> {
  %s = attn.all_reduce %x ranks 2 : tensor<?x8xf32>
  %g = attn.all_gather %s ranks 2 : tensor<?x8xf32> -> tensor<?x16xf32>
  return %g : tensor<?x16xf32>
}

// Narrow caches (--kv-type): rows stored as bf16 or Q8_0 bytes and read back as f32.
// CHECK-LABEL: func @kv_types
// CHECK: %[[Q:.*]] = attn.kv_quant %{{.*}} : tensor<2x?x64xf32> -> tensor<2x?x68xi8>
// CHECK: %[[U:.*]] = attn.cache_update %{{.*}}[%{{.*}}], %[[Q]] at %{{.*}} : tensor<3x2x16x68xi8>, tensor<2x?x68xi8>
// CHECK: %[[V:.*]] = attn.cache_view %[[U]][%{{.*}}] upto %{{.*}} : tensor<3x2x16x68xi8> -> tensor<2x?x68xi8>
// CHECK: attn.kv_dequant %[[V]] : tensor<2x?x68xi8> -> tensor<2x?x64xf32>
// CHECK: attn.kv_quant %{{.*}} : tensor<2x?x64xf32> -> tensor<2x?x64xbf16>
// CHECK: attn.kv_dequant %{{.*}} : tensor<2x?x64xbf16> -> tensor<2x?x64xf32>
func.func @kv_types(%c: tensor<3x2x16x68xi8>, %k: tensor<2x?x64xf32>, %i: index) -> (tensor<2x?x64xf32>, tensor<2x?x64xf32>) {
  %q = attn.kv_quant %k : tensor<2x?x64xf32> -> tensor<2x?x68xi8>
  %u = attn.cache_update %c[%i], %q at %i : tensor<3x2x16x68xi8>, tensor<2x?x68xi8>
  %v = attn.cache_view %u[%i] upto %i : tensor<3x2x16x68xi8> -> tensor<2x?x68xi8>
  %d = attn.kv_dequant %v : tensor<2x?x68xi8> -> tensor<2x?x64xf32>
  %b = attn.kv_quant %k : tensor<2x?x64xf32> -> tensor<2x?x64xbf16>
  %w = attn.kv_dequant %b : tensor<2x?x64xbf16> -> tensor<2x?x64xf32>
  return %d, %w : tensor<2x?x64xf32>, tensor<2x?x64xf32>
}
