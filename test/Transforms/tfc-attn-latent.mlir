// RUN: tfc-opt %s -split-input-file -tfc-attn-latent | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-attn-latent -tfc-attn-decompose -tfc-attn-gqa -tfc-attn-kv-cache | FileCheck %s --check-prefix=CACHE --enable-var-scope

// MLA with q_rank = 0: heads 4, kv_rank 32, rope 8, nope 16, v 16. The key
// up-projection is absorbed into the queries (q_nope · W_UK), attention runs
// over one shared latent key [c, k_pe] whose first 32 columns are the values,
// and the value up-projection follows (o_lat · W_UVᵀ).

// CHECK-LABEL: func.func @decoder
// CHECK: %[[WB:.*]] = attn.weight "kv_b.weight" : tensor<128x32xf32>
// CHECK: %[[Q:.*]] = attn.split_heads %{{.*}} : tensor<?x96xf32> -> tensor<4x?x24xf32>
// CHECK: %[[QNOPE:.*]] = attn.slice_last %[[Q]] {offset = 0 : i64} : tensor<4x?x24xf32> -> tensor<4x?x16xf32>
// CHECK: %[[QPE:.*]] = attn.slice_last %[[Q]] {offset = 16 : i64} : tensor<4x?x24xf32> -> tensor<4x?x8xf32>
// CHECK: %[[QROT:.*]] = attn.rope %[[QPE]]
// CHECK: %[[KVA:.*]] = attn.linear %{{.*}} -> tensor<?x40xf32>
// CHECK: %[[C:.*]] = attn.slice_last %[[KVA]] {offset = 0 : i64} : tensor<?x40xf32> -> tensor<?x32xf32>
// CHECK: %[[CN:.*]] = attn.rms_norm %[[C]]
// CHECK: %[[KPE:.*]] = attn.slice_last %[[KVA]] {offset = 32 : i64} : tensor<?x40xf32> -> tensor<?x8xf32>
// CHECK: %[[KPEH:.*]] = attn.split_heads %[[KPE]] : tensor<?x8xf32> -> tensor<1x?x8xf32>
// CHECK: %[[KROT:.*]] = attn.rope %[[KPEH]]
// CHECK: %[[CH:.*]] = attn.split_heads %[[CN]] : tensor<?x32xf32> -> tensor<1x?x32xf32>
// CHECK: %[[KEY:.*]] = attn.concat_last %[[CH]], %[[KROT]] : tensor<1x?x32xf32>, tensor<1x?x8xf32> -> tensor<1x?x40xf32>
// CHECK: %[[VAL:.*]] = attn.slice_last %[[KEY]] {offset = 0 : i64} : tensor<1x?x40xf32> -> tensor<1x?x32xf32>
// CHECK: %[[W3:.*]] = tensor.expand_shape %[[WB]] {{\[}}[0, 1], [2]] output_shape [4, 32, 32]
// CHECK: %[[WUK:.*]] = tensor.extract_slice %[[W3]][0, 0, 0] [4, 16, 32] [1, 1, 1]
// CHECK: %[[WUV:.*]] = tensor.extract_slice %[[W3]][0, 16, 0] [4, 16, 32] [1, 1, 1]
// CHECK: %[[QLAT:.*]] = attn.batch_matmul %[[QNOPE]], %[[WUK]] : tensor<4x?x16xf32>, tensor<4x16x32xf32> -> tensor<4x?x32xf32>
// CHECK: %[[QABS:.*]] = attn.concat_last %[[QLAT]], %[[QROT]] : tensor<4x?x32xf32>, tensor<4x?x8xf32> -> tensor<4x?x40xf32>
// CHECK: %[[OLAT:.*]] = attn.sdpa %[[QABS]], %[[KEY]], %[[VAL]] {causal, heads = 4 : i64, kv_heads = 1 : i64, scale = 0.20412414523193154 : f64}
// CHECK: %[[O:.*]] = attn.batch_matmul %[[OLAT]], %[[WUV]] {transpose_rhs} : tensor<4x?x32xf32>, tensor<4x16x32xf32> -> tensor<4x?x16xf32>
// CHECK: attn.merge_heads %[[O]] : tensor<4x?x16xf32> -> tensor<?x64xf32>

// With the KV cache only [c, k_pe] is stored: kv_rank + rope_dim = 40 floats per token.
// CACHE-LABEL: func.func @decoder
// CACHE-SAME: %{{.*}}: index, %{{.*}}: tensor<1x1x64x40xf32>)
// CACHE-SAME: -> (tensor<?x64xf32>, tensor<1x1x64x40xf32>)
module attributes {attn.max_seq = 64 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x64xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x64xf32>
    %wq = attn.weight "q.weight" : tensor<96x64xf32>
    %wa = attn.weight "kv_a.weight" : tensor<40x64xf32>
    %n = attn.weight "kv_norm.weight" : tensor<32xf32>
    %wb = attn.weight "kv_b.weight" : tensor<128x32xf32>
    %wo = attn.weight "o.weight" : tensor<64x64xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
    %y = attn.latent_attention %x q(%wq : tensor<96x64xf32>) kv(%wa, %n, %wb : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>) o(%wo : tensor<64x64xf32>) {heads = 4 : i64, kv_rank = 32 : i64, rope_dim = 8 : i64, nope_dim = 16 : i64, v_dim = 16 : i64, q_rank = 0 : i64, causal, rope_theta = 1.0e4 : f64, rope_style = #attn<rope_style interleaved>} : tensor<?x64xf32> -> tensor<?x64xf32>
    return %y : tensor<?x64xf32>
  }
}

// -----

// q_rank > 0: the queries pass through q_a_proj, an RMS norm (eps 1e-6) and q_b_proj.

// CHECK-LABEL: func.func @qrank
// CHECK: %[[QA:.*]] = attn.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<16x64xf32> -> tensor<?x16xf32>
// CHECK: %[[QN:.*]] = attn.rms_norm %[[QA]], %{{.*}} {eps = 9.9999999999999995E-7 : f64}
// CHECK: attn.linear %[[QN]], %{{.*}} : tensor<?x16xf32>, tensor<96x16xf32> -> tensor<?x96xf32>
// CHECK: attn.sdpa {{.*}}kv_heads = 1 : i64
func.func @qrank(%x: tensor<?x64xf32>, %wqa: tensor<16x64xf32>, %qn: tensor<16xf32>, %wqb: tensor<96x16xf32>, %wa: tensor<40x64xf32>, %n: tensor<32xf32>, %wb: tensor<128x32xf32>, %wo: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %y = attn.latent_attention %x q(%wqa, %qn, %wqb : tensor<16x64xf32>, tensor<16xf32>, tensor<96x16xf32>) kv(%wa, %n, %wb : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>) o(%wo : tensor<64x64xf32>) {heads = 4 : i64, kv_rank = 32 : i64, rope_dim = 8 : i64, nope_dim = 16 : i64, v_dim = 16 : i64, q_rank = 16 : i64, causal} : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// A kv_b_proj that mla(split_kv_b = true) stacked from a GGUF file's attn_k_b
// [heads, kv_rank, nope] (transposed per head) and attn_v_b [heads, v, kv_rank]:
// the absorbed products take k_b (q_nope · k_bᵀ) and v_b as they are, and the
// stacking is left dead (canonicalization drops it).

// CHECK-LABEL: func.func @split
// CHECK-SAME: %[[KB:[a-z0-9]+]]: tensor<4x32x16xf32>, %[[VB:[a-z0-9]+]]: tensor<4x16x32xf32>
// CHECK-NOT: tensor.expand_shape
// CHECK: attn.batch_matmul %{{.*}}, %[[KB]] {transpose_rhs} : tensor<4x?x16xf32>, tensor<4x32x16xf32> -> tensor<4x?x32xf32>
// CHECK: attn.sdpa
// CHECK: attn.batch_matmul %{{.*}}, %[[VB]] {transpose_rhs} : tensor<4x?x32xf32>, tensor<4x16x32xf32> -> tensor<4x?x16xf32>
func.func @split(%x: tensor<?x64xf32>, %kb: tensor<4x32x16xf32>, %vb: tensor<4x16x32xf32>, %wq: tensor<96x64xf32>, %wa: tensor<40x64xf32>, %n: tensor<32xf32>, %wo: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %kt0 = tensor.empty() : tensor<4x16x32xf32>
  %kt = linalg.transpose ins(%kb : tensor<4x32x16xf32>) outs(%kt0 : tensor<4x16x32xf32>) permutation = [0, 2, 1]
  %e = tensor.empty() : tensor<4x32x32xf32>
  %k = tensor.insert_slice %kt into %e[0, 0, 0] [4, 16, 32] [1, 1, 1] : tensor<4x16x32xf32> into tensor<4x32x32xf32>
  %kv = tensor.insert_slice %vb into %k[0, 16, 0] [4, 16, 32] [1, 1, 1] : tensor<4x16x32xf32> into tensor<4x32x32xf32>
  %wb = tensor.collapse_shape %kv [[0, 1], [2]] : tensor<4x32x32xf32> into tensor<128x32xf32>
  %y = attn.latent_attention %x q(%wq : tensor<96x64xf32>) kv(%wa, %n, %wb : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>) o(%wo : tensor<64x64xf32>) {heads = 4 : i64, kv_rank = 32 : i64, rope_dim = 8 : i64, nope_dim = 16 : i64, v_dim = 16 : i64, q_rank = 0 : i64, causal} : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
