// RUN: tfc-opt %s -split-input-file -tfc-attn-gqa | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-attn-decompose -tfc-attn-gqa -tfc-attn-kv-cache | FileCheck %s --check-prefix=CACHE --enable-var-scope

// GQA: 8 query heads over 2 K/V heads; the replicas disappear and attn.sdpa
// maps the groups itself.

// CHECK-LABEL: func.func @gqa
// CHECK-SAME: (%[[Q:.*]]: tensor<8x?x4xf32>, %[[K:.*]]: tensor<2x?x4xf32>, %[[V:.*]]: tensor<2x?x4xf32>)
// CHECK-NOT: attn.repeat_kv
// CHECK: attn.sdpa %[[Q]], %[[K]], %[[V]] {causal, heads = 8 : i64, kv_heads = 2 : i64
func.func @gqa(%q: tensor<8x?x4xf32>, %k: tensor<2x?x4xf32>, %v: tensor<2x?x4xf32>) -> tensor<8x?x4xf32> {
  %kr = attn.repeat_kv %k : tensor<2x?x4xf32> -> tensor<8x?x4xf32>
  %vr = attn.repeat_kv %v : tensor<2x?x4xf32> -> tensor<8x?x4xf32>
  %o = attn.sdpa %q, %kr, %vr {heads = 8 : i64, kv_heads = 8 : i64, causal, scale = 0.5 : f64} : tensor<8x?x4xf32>, tensor<8x?x4xf32>, tensor<8x?x4xf32> -> tensor<8x?x4xf32>
  return %o : tensor<8x?x4xf32>
}

// -----

// MQA: one K/V head for all query heads.

// CHECK-LABEL: func.func @mqa
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {heads = 4 : i64, kv_heads = 1 : i64
func.func @mqa(%q: tensor<4x?x4xf32>, %k: tensor<1x?x4xf32>) -> tensor<4x?x4xf32> {
  %kr = attn.repeat_kv %k : tensor<1x?x4xf32> -> tensor<4x?x4xf32>
  %o = attn.sdpa %q, %kr, %kr {heads = 4 : i64, kv_heads = 4 : i64, scale = 0.5 : f64} : tensor<4x?x4xf32>, tensor<4x?x4xf32>, tensor<4x?x4xf32> -> tensor<4x?x4xf32>
  return %o : tensor<4x?x4xf32>
}

// -----

// MHA has nothing to share: unchanged.

// CHECK-LABEL: func.func @mha
// CHECK-SAME: (%[[Q:.*]]: tensor<4x?x4xf32>, %[[K:.*]]: tensor<4x?x4xf32>, %[[V:.*]]: tensor<4x?x4xf32>)
// CHECK: attn.sdpa %[[Q]], %[[K]], %[[V]] {heads = 4 : i64, kv_heads = 4 : i64
func.func @mha(%q: tensor<4x?x4xf32>, %k: tensor<4x?x4xf32>, %v: tensor<4x?x4xf32>) -> tensor<4x?x4xf32> {
  %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 4 : i64, scale = 0.5 : f64} : tensor<4x?x4xf32>, tensor<4x?x4xf32>, tensor<4x?x4xf32> -> tensor<4x?x4xf32>
  return %o : tensor<4x?x4xf32>
}

// -----

// Composition with the KV cache: the cache stores kv_heads (2) heads, not 8.

// CACHE-LABEL: func.func @decoder
// CACHE-SAME: %{{.*}}: index, %{{.*}}: tensor<1x2x16x4xf32>, %{{.*}}: tensor<1x2x16x4xf32>)
// CACHE-NOT: attn.repeat_kv
// CACHE: attn.sdpa {{.*}} {causal, heads = 8 : i64, kv_heads = 2 : i64
module attributes {attn.max_seq = 16 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x32xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x32xf32>
    %wq = attn.weight "q.weight" : tensor<32x32xf32>
    %wk = attn.weight "k.weight" : tensor<8x32xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
    %y = attn.attention %x weights(%wq, %wk, %wk, %wq : tensor<32x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<32x32xf32>) {heads = 8 : i64, kv_heads = 2 : i64, head_dim = 4 : i64, causal} : tensor<?x32xf32> -> tensor<?x32xf32>
    return %y : tensor<?x32xf32>
  }
}
