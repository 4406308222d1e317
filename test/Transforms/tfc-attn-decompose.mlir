// RUN: tfc-opt %s -split-input-file -tfc-attn-decompose | FileCheck %s --enable-var-scope

// GQA (8 query heads over 4 K/V heads): K and V are replicated to 8 heads, RoPE
// (default style "half") rotates q and k without an offset, and the sdpa then
// sees heads == kv_heads.

// CHECK-LABEL: func @gqa_rope
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[WQ:.*]]: tensor<64x64xf32>, %[[WK:.*]]: tensor<32x64xf32>, %[[WV:.*]]: tensor<32x64xf32>, %[[WO:.*]]: tensor<64x64xf32>)
// CHECK-DAG: %[[Q:.*]] = attn.linear %[[X]], %[[WQ]] : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
// CHECK-DAG: %[[K:.*]] = attn.linear %[[X]], %[[WK]] : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
// CHECK-DAG: %[[V:.*]] = attn.linear %[[X]], %[[WV]] : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
// CHECK-DAG: %[[QH:.*]] = attn.split_heads %[[Q]] : tensor<?x64xf32> -> tensor<8x?x8xf32>
// CHECK-DAG: %[[KH:.*]] = attn.split_heads %[[K]] : tensor<?x32xf32> -> tensor<4x?x8xf32>
// CHECK-DAG: %[[VH:.*]] = attn.split_heads %[[V]] : tensor<?x32xf32> -> tensor<4x?x8xf32>
// CHECK-DAG: %[[QR:.*]] = attn.rope %[[QH]] {style = #attn<rope_style half>, theta = 1.000000e+04 : f64} : tensor<8x?x8xf32>
// CHECK-DAG: %[[KR:.*]] = attn.rope %[[KH]] {style = #attn<rope_style half>, theta = 1.000000e+04 : f64} : tensor<4x?x8xf32>
// CHECK-DAG: %[[K8:.*]] = attn.repeat_kv %[[KR]] : tensor<4x?x8xf32> -> tensor<8x?x8xf32>
// CHECK-DAG: %[[V8:.*]] = attn.repeat_kv %[[VH]] : tensor<4x?x8xf32> -> tensor<8x?x8xf32>
// CHECK: %[[O:.*]] = attn.sdpa %[[QR]], %[[K8]], %[[V8]] {causal, heads = 8 : i64, kv_heads = 8 : i64, scale = 0.35355339059327373 : f64}
// CHECK: %[[M:.*]] = attn.merge_heads %[[O]] : tensor<8x?x8xf32> -> tensor<?x64xf32>
// CHECK: %[[Y:.*]] = attn.linear %[[M]], %[[WO]] : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
// CHECK: return %[[Y]]
// CHECK-NOT: attn.attention
func.func @gqa_rope(%x: tensor<?x64xf32>, %wq: tensor<64x64xf32>, %wk: tensor<32x64xf32>, %wv: tensor<32x64xf32>, %wo: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %y = attn.attention %x weights(%wq, %wk, %wv, %wo : tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x64xf32>)
         {heads = 8 : i64, kv_heads = 4 : i64, head_dim = 8 : i64, causal, rope_theta = 1.0e+04 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// MHA without RoPE: no repeat_kv, no rope, not causal; interleaved style is
// passed through when asked for (second function).

// CHECK-LABEL: func @mha
// CHECK-NOT: attn.repeat_kv
// CHECK-NOT: attn.rope
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {heads = 4 : i64, kv_heads = 4 : i64, scale = 2.500000e-01 : f64} : tensor<4x?x16xf32>, tensor<4x?x16xf32>, tensor<4x?x16xf32> -> tensor<4x?x16xf32>
// CHECK-NOT: attn.repeat_kv
func.func @mha(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %y = attn.attention %x weights(%w, %w, %w, %w : tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>)
         {heads = 4 : i64, kv_heads = 4 : i64, head_dim = 16 : i64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func @mqa_interleaved
// CHECK: attn.rope %{{.*}} {style = #attn<rope_style interleaved>, theta = 5.000000e+05 : f64} : tensor<4x?x16xf32>
// CHECK: attn.rope %{{.*}} {style = #attn<rope_style interleaved>, theta = 5.000000e+05 : f64} : tensor<1x?x16xf32>
// CHECK: attn.repeat_kv %{{.*}} : tensor<1x?x16xf32> -> tensor<4x?x16xf32>
// CHECK: attn.repeat_kv %{{.*}} : tensor<1x?x16xf32> -> tensor<4x?x16xf32>
// CHECK: attn.sdpa {{.*}} {causal, heads = 4 : i64, kv_heads = 4 : i64
func.func @mqa_interleaved(%x: tensor<?x64xf32>, %wq: tensor<64x64xf32>, %wkv: tensor<16x64xf32>) -> tensor<?x64xf32> {
  %y = attn.attention %x weights(%wq, %wkv, %wkv, %wq : tensor<64x64xf32>, tensor<16x64xf32>, tensor<16x64xf32>, tensor<64x64xf32>)
         {heads = 4 : i64, kv_heads = 1 : i64, head_dim = 16 : i64, causal, rope_theta = 5.0e+05 : f64, rope_style = #attn<rope_style interleaved>} : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Cross-attention: K and V are projected from the memory, with the biases.

// CHECK-LABEL: func @cross_bias
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[MEM:.*]]: tensor<?x32xf32>, %[[WQ:.*]]: tensor<64x64xf32>, %[[WK:.*]]: tensor<64x32xf32>, %[[WV:.*]]: tensor<64x32xf32>, %[[WO:.*]]: tensor<64x64xf32>, %[[BQ:.*]]: tensor<64xf32>, %[[BK:.*]]: tensor<64xf32>, %[[BV:.*]]: tensor<64xf32>, %[[BO:.*]]: tensor<64xf32>)
// CHECK-DAG: attn.linear %[[X]], %[[WQ]] bias %[[BQ]] : tensor<?x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
// CHECK-DAG: attn.linear %[[MEM]], %[[WK]] bias %[[BK]] : tensor<?x32xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<?x64xf32>
// CHECK-DAG: attn.linear %[[MEM]], %[[WV]] bias %[[BV]] : tensor<?x32xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<?x64xf32>
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {heads = 8 : i64, kv_heads = 8 : i64, scale = 0.35355339059327373 : f64}
// CHECK: %[[M:.*]] = attn.merge_heads
// CHECK: attn.linear %[[M]], %[[WO]] bias %[[BO]]
func.func @cross_bias(%x: tensor<?x64xf32>, %mem: tensor<?x32xf32>, %wq: tensor<64x64xf32>, %wk: tensor<64x32xf32>, %wv: tensor<64x32xf32>, %wo: tensor<64x64xf32>,
                      %bq: tensor<64xf32>, %bk: tensor<64xf32>, %bv: tensor<64xf32>, %bo: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = attn.attention %x memory(%mem : tensor<?x32xf32>) weights(%wq, %wk, %wv, %wo : tensor<64x64xf32>, tensor<64x32xf32>, tensor<64x32xf32>, tensor<64x64xf32>)
         biases(%bq, %bk, %bv : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) out_bias(%bo : tensor<64xf32>)
         {heads = 8 : i64, kv_heads = 8 : i64, head_dim = 8 : i64} : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// MLA with q_rank = 0: heads 4, kv_rank 32, rope 8, nope 16, v 16.

// CHECK-LABEL: func @mla
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[WQ:.*]]: tensor<96x64xf32>, %[[WKVA:.*]]: tensor<40x64xf32>, %[[KVN:.*]]: tensor<32xf32>, %[[WKVB:.*]]: tensor<128x32xf32>, %[[WO:.*]]: tensor<64x64xf32>)
// CHECK: %[[Q:.*]] = attn.linear %[[X]], %[[WQ]] : tensor<?x64xf32>, tensor<96x64xf32> -> tensor<?x96xf32>
// CHECK: %[[QH:.*]] = attn.split_heads %[[Q]] : tensor<?x96xf32> -> tensor<4x?x24xf32>
// CHECK: %[[QNOPE:.*]] = attn.slice_last %[[QH]] {offset = 0 : i64} : tensor<4x?x24xf32> -> tensor<4x?x16xf32>
// CHECK: %[[QPE:.*]] = attn.slice_last %[[QH]] {offset = 16 : i64} : tensor<4x?x24xf32> -> tensor<4x?x8xf32>
// CHECK: %[[QPER:.*]] = attn.rope %[[QPE]] {style = #attn<rope_style interleaved>, theta = 1.000000e+04 : f64} : tensor<4x?x8xf32>
// CHECK: %[[KVA:.*]] = attn.linear %[[X]], %[[WKVA]] : tensor<?x64xf32>, tensor<40x64xf32> -> tensor<?x40xf32>
// CHECK: %[[C0:.*]] = attn.slice_last %[[KVA]] {offset = 0 : i64} : tensor<?x40xf32> -> tensor<?x32xf32>
// CHECK: %[[C:.*]] = attn.rms_norm %[[C0]], %[[KVN]] {eps = 9.9999999999999995E-7 : f64}
// CHECK: %[[KPE0:.*]] = attn.slice_last %[[KVA]] {offset = 32 : i64} : tensor<?x40xf32> -> tensor<?x8xf32>
// CHECK: %[[KPE1:.*]] = attn.split_heads %[[KPE0]] : tensor<?x8xf32> -> tensor<1x?x8xf32>
// CHECK: %[[KPE2:.*]] = attn.rope %[[KPE1]] {style = #attn<rope_style interleaved>, theta = 1.000000e+04 : f64} : tensor<1x?x8xf32>
// CHECK: %[[KPE:.*]] = attn.repeat_kv %[[KPE2]] : tensor<1x?x8xf32> -> tensor<4x?x8xf32>
// CHECK: %[[KV:.*]] = attn.linear %[[C]], %[[WKVB]] : tensor<?x32xf32>, tensor<128x32xf32> -> tensor<?x128xf32>
// CHECK: %[[KVH:.*]] = attn.split_heads %[[KV]] : tensor<?x128xf32> -> tensor<4x?x32xf32>
// CHECK: %[[KNOPE:.*]] = attn.slice_last %[[KVH]] {offset = 0 : i64} : tensor<4x?x32xf32> -> tensor<4x?x16xf32>
// CHECK: %[[V:.*]] = attn.slice_last %[[KVH]] {offset = 16 : i64} : tensor<4x?x32xf32> -> tensor<4x?x16xf32>
// CHECK: %[[K:.*]] = attn.concat_last %[[KNOPE]], %[[KPE]] : tensor<4x?x16xf32>, tensor<4x?x8xf32> -> tensor<4x?x24xf32>
// CHECK: %[[QF:.*]] = attn.concat_last %[[QNOPE]], %[[QPER]] : tensor<4x?x16xf32>, tensor<4x?x8xf32> -> tensor<4x?x24xf32>
// CHECK: %[[O:.*]] = attn.sdpa %[[QF]], %[[K]], %[[V]] {causal, heads = 4 : i64, kv_heads = 4 : i64, scale = 0.20412414523193154 : f64}
// CHECK-SAME: -> tensor<4x?x16xf32>
// CHECK: %[[M:.*]] = attn.merge_heads %[[O]] : tensor<4x?x16xf32> -> tensor<?x64xf32>
// CHECK: attn.linear %[[M]], %[[WO]] : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
func.func @mla(%x: tensor<?x64xf32>, %wq: tensor<96x64xf32>, %wkva: tensor<40x64xf32>, %kvn: tensor<32xf32>, %wkvb: tensor<128x32xf32>, %wo: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %y = attn.latent_attention %x q(%wq : tensor<96x64xf32>)
         kv(%wkva, %kvn, %wkvb : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>) o(%wo : tensor<64x64xf32>)
         {heads = 4 : i64, kv_rank = 32 : i64, rope_dim = 8 : i64, nope_dim = 16 : i64, v_dim = 16 : i64, q_rank = 0 : i64,
          causal, rope_theta = 1.0e+04 : f64, rope_style = #attn<rope_style interleaved>} : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// MLA with q_rank > 0 (q through its own RMS-normalized latent) and no RoPE.

// CHECK-LABEL: func @mla_q_rank
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[WQA:.*]]: tensor<16x64xf32>, %[[QN:.*]]: tensor<16xf32>, %[[WQB:.*]]: tensor<96x16xf32>
// CHECK: %[[QA:.*]] = attn.linear %[[X]], %[[WQA]] : tensor<?x64xf32>, tensor<16x64xf32> -> tensor<?x16xf32>
// CHECK: %[[QAN:.*]] = attn.rms_norm %[[QA]], %[[QN]] {eps = 9.9999999999999995E-7 : f64} : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
// CHECK: %[[Q:.*]] = attn.linear %[[QAN]], %[[WQB]] : tensor<?x16xf32>, tensor<96x16xf32> -> tensor<?x96xf32>
// CHECK: attn.split_heads %[[Q]] : tensor<?x96xf32> -> tensor<4x?x24xf32>
// CHECK-NOT: attn.rope
// CHECK: attn.sdpa {{.*}} {heads = 4 : i64, kv_heads = 4 : i64, scale = 0.20412414523193154 : f64}
func.func @mla_q_rank(%x: tensor<?x64xf32>, %wqa: tensor<16x64xf32>, %qn: tensor<16xf32>, %wqb: tensor<96x16xf32>, %wkva: tensor<40x64xf32>, %kvn: tensor<32xf32>, %wkvb: tensor<128x32xf32>, %wo: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %y = attn.latent_attention %x q(%wqa, %qn, %wqb : tensor<16x64xf32>, tensor<16xf32>, tensor<96x16xf32>)
         kv(%wkva, %kvn, %wkvb : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>) o(%wo : tensor<64x64xf32>)
         {heads = 4 : i64, kv_rank = 32 : i64, rope_dim = 8 : i64, nope_dim = 16 : i64, v_dim = 16 : i64, q_rank = 16 : i64}
         : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
