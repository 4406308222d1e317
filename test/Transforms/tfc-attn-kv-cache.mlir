// RUN: tfc-opt %s -split-input-file -tfc-attn-kv-cache | FileCheck %s --enable-var-scope

// A causal self-attention in a layer loop: K and V get one cache each, threaded
// through the loop, written at the session position and read up to pos + n;
// RoPE is offset by the position; the caches are returned updated.

// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%[[TOK:.*]]: tensor<?xi32>, %[[POS:.*]]: index, %[[KC:.*]]: tensor<3x2x16x4xf32>, %[[VC:.*]]: tensor<3x2x16x4xf32>)
// CHECK-SAME: -> (tensor<?x8xf32>, tensor<3x2x16x4xf32>, tensor<3x2x16x4xf32>)
// CHECK-SAME: attributes {attn.stateful}
// CHECK: %[[R:.*]]:3 = scf.for %[[I:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[KI:.*]] = %[[KC]], %[[VI:.*]] = %[[VC]])
// CHECK:   attn.rope %{{.*}} offset %[[POS]]
// CHECK:   %[[KR:.*]] = attn.rope %{{.*}} offset %[[POS]]
// CHECK:   %[[K2:.*]] = attn.cache_update %[[KI]][%[[I]]], %[[KR]] at %[[POS]]
// CHECK:   %[[N:.*]] = tensor.dim %[[KR]]
// CHECK:   %[[LEN:.*]] = arith.addi %[[POS]], %[[N]]
// CHECK:   %[[KV:.*]] = attn.cache_view %[[K2]][%[[I]]] upto %[[LEN]]
// CHECK:   %[[V2:.*]] = attn.cache_update %[[VI]][%[[I]]], %[[V:.*]] at %[[POS]]
// CHECK:   %[[VV:.*]] = attn.cache_view %[[V2]][%[[I]]]
// CHECK:   attn.sdpa %{{.*}}, %[[KV]], %[[VV]] {causal
// CHECK:   scf.yield %{{.*}}, %[[K2]], %[[V2]]
// CHECK: return %[[R]]#0, %[[R]]#1, %[[R]]#2
module attributes {attn.max_seq = 16 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %emb = attn.weight "emb.weight" : tensor<10x8xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<10x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%x = %x0) -> (tensor<?x8xf32>) {
      %q = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %k = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %v = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %qr = attn.rope %q {theta = 1.0e4 : f64, style = #attn<rope_style half>} : tensor<2x?x4xf32>
      %kr = attn.rope %k {theta = 1.0e4 : f64, style = #attn<rope_style half>} : tensor<2x?x4xf32>
      %o = attn.sdpa %qr, %kr, %v {heads = 2 : i64, kv_heads = 2 : i64, causal, scale = 0.5 : f64} : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32> -> tensor<2x?x4xf32>
      %m = attn.merge_heads %o : tensor<2x?x4xf32> -> tensor<?x8xf32>
      scf.yield %m : tensor<?x8xf32>
    }
    return %r : tensor<?x8xf32>
  }
}

// -----

// Attention at function level (no loop): layer index 0; learned positions are
// offset by the session position.

// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%{{.*}}: tensor<?xi32>, %[[POS:.*]]: index, %[[KC:.*]]: tensor<1x1x32x4xf32>, %[[VC:.*]]: tensor<1x1x32x4xf32>)
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: attn.position_embedding %{{.*}}, %{{.*}} offset %[[POS]]
// CHECK: %[[K2:.*]] = attn.cache_update %[[KC]][%[[C0]]], %{{.*}} at %[[POS]]
// CHECK: %[[V2:.*]] = attn.cache_update %[[VC]][%[[C0]]]
// CHECK: return %{{.*}}, %[[K2]], %[[V2]]
module attributes {attn.max_seq = 32 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %pt = attn.weight "pos.weight" : tensor<32x4xf32>
    %x = attn.position_embedding %pt, %tokens : tensor<32x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %q = attn.split_heads %x : tensor<?x4xf32> -> tensor<1x?x4xf32>
    %o = attn.sdpa %q, %q, %q {heads = 1 : i64, kv_heads = 1 : i64, causal, scale = 0.5 : f64} : tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32> -> tensor<1x?x4xf32>
    %m = attn.merge_heads %o : tensor<1x?x4xf32> -> tensor<?x4xf32>
    return %m : tensor<?x4xf32>
  }
}

// -----

// Latent attention: the values are the first columns of the keys, so only the
// keys are cached and the values are sliced off the cached view.

// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%{{.*}}: tensor<?xi32>, %[[POS:.*]]: index, %[[KC:.*]]: tensor<1x1x8x6xf32>)
// CHECK-SAME: -> (tensor<?x6xf32>, tensor<1x1x8x6xf32>)
// CHECK: %[[K2:.*]] = attn.cache_update %[[KC]]
// CHECK: %[[KV:.*]] = attn.cache_view %[[K2]]
// CHECK: %[[VV:.*]] = attn.slice_last %[[KV]] {offset = 0 : i64} : tensor<1x?x6xf32> -> tensor<1x?x4xf32>
// CHECK: attn.sdpa %{{.*}}, %[[KV]], %[[VV]]
module attributes {attn.max_seq = 8 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x6xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x6xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x6xf32>, tensor<?xi32> -> tensor<?x6xf32>
    %key = attn.split_heads %x : tensor<?x6xf32> -> tensor<1x?x6xf32>
    %q = attn.split_heads %x : tensor<?x6xf32> -> tensor<1x?x6xf32>
    %value = attn.slice_last %key {offset = 0 : i64} : tensor<1x?x6xf32> -> tensor<1x?x4xf32>
    %o = attn.sdpa %q, %key, %value {heads = 1 : i64, kv_heads = 1 : i64, causal, scale = 0.5 : f64} : tensor<1x?x6xf32>, tensor<1x?x6xf32>, tensor<1x?x4xf32> -> tensor<1x?x4xf32>
    %m = attn.merge_heads %o : tensor<1x?x4xf32> -> tensor<?x4xf32>
    %y = attn.concat_last %m, %m : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x8xf32>
    %z = attn.slice_last %y {offset = 0 : i64} : tensor<?x8xf32> -> tensor<?x6xf32>
    return %z : tensor<?x6xf32>
  }
}

// -----

// Encoders are left alone. Cross-attention over the encoder memory is cached
// too, but filled only at the first step of a sequence (pos == 0): its keys and
// values depend on the memory alone, which tfc_encode sets once.

// CHECK-LABEL: func.func @encoder
// CHECK-SAME: (%{{.*}}: tensor<?xi32>) -> tensor<?x4xf32>
// CHECK-NOT: attn.cache_update
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%{{.*}}: tensor<?xi32>, %[[MEM:.*]]: tensor<?x4xf32>, %[[POS:.*]]: index, %[[KC:.*]]: tensor<1x1x8x4xf32>, %[[VC:.*]]: tensor<1x1x8x4xf32>)
// CHECK-SAME: attributes {attn.stateful}
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[POS]], %[[C0:.*]] : index
// CHECK: %[[K2:.*]] = scf.if %[[FIRST]] -> (tensor<1x1x8x4xf32>) {
// CHECK:   %[[K:.*]] = attn.split_heads %[[MEM]]
// CHECK:   %[[U:.*]] = attn.cache_update %[[KC]][%{{.*}}], %[[K]] at %{{.*}} {tfc.cross}
// CHECK:   scf.yield %[[U]]
// CHECK: } else {
// CHECK:   scf.yield %[[KC]]
// CHECK: %[[M:.*]] = tensor.dim %[[MEM]], %{{.*}} : tensor<?x4xf32>
// CHECK: %[[KV:.*]] = attn.cache_view %[[K2]][%{{.*}}] upto %[[M]]
// CHECK: attn.sdpa %{{.*}}, %[[KV]], %{{.*}} {heads = 1
module attributes {attn.max_seq = 8 : i64} {
  func.func @encoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %q = attn.split_heads %x : tensor<?x4xf32> -> tensor<1x?x4xf32>
    %o = attn.sdpa %q, %q, %q {heads = 1 : i64, kv_heads = 1 : i64, scale = 0.5 : f64} : tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32> -> tensor<1x?x4xf32>
    %m = attn.merge_heads %o : tensor<1x?x4xf32> -> tensor<?x4xf32>
    return %m : tensor<?x4xf32>
  }
  func.func @decoder(%tokens: tensor<?xi32>, %memory: tensor<?x4xf32>) -> tensor<?x4xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %q = attn.split_heads %x : tensor<?x4xf32> -> tensor<1x?x4xf32>
    %k = attn.split_heads %memory : tensor<?x4xf32> -> tensor<1x?x4xf32>
    %v = attn.split_heads %memory : tensor<?x4xf32> -> tensor<1x?x4xf32>
    %o = attn.sdpa %q, %k, %v {heads = 1 : i64, kv_heads = 1 : i64, scale = 0.5 : f64} : tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32> -> tensor<1x?x4xf32>
    %m = attn.merge_heads %o : tensor<1x?x4xf32> -> tensor<?x4xf32>
    return %m : tensor<?x4xf32>
  }
}

// -----

// A sliding window shorter than max_seq: rolling caches of `window` positions,
// read (ring_window, the cache as it was plus the new rows) before they are
// written (ring_update); attention reads the window view.

// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%{{.*}}: tensor<?xi32>, %[[POS:.*]]: index, %[[KC:.*]]: tensor<3x2x5x4xf32>, %[[VC:.*]]: tensor<3x2x5x4xf32>)
// CHECK-SAME: -> (tensor<?x8xf32>, tensor<3x2x5x4xf32>, tensor<3x2x5x4xf32>)
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[KI:.*]] = %[[KC]], %[[VI:.*]] = %[[VC]])
// CHECK:   attn.rope
// CHECK:   %[[KR:.*]] = attn.rope
// CHECK:   %[[KW:.*]] = attn.ring_window %[[KI]][%[[I]]], %[[KR]] at %[[POS]]
// CHECK:   %[[K2:.*]] = attn.ring_update %[[KI]][%[[I]]], %[[KR]] at %[[POS]]
// CHECK:   %[[VW:.*]] = attn.ring_window %[[VI]][%[[I]]], %[[V:.*]] at %[[POS]]
// CHECK:   %[[V2:.*]] = attn.ring_update %[[VI]][%[[I]]], %[[V]] at %[[POS]]
// CHECK:   attn.sdpa %{{.*}}, %[[KW]], %[[VW]] {causal, {{.*}}window = 5 : i64}
// CHECK:   scf.yield %{{.*}}, %[[K2]], %[[V2]]
// CHECK-NOT: attn.cache_update
module attributes {attn.max_seq = 16 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %emb = attn.weight "emb.weight" : tensor<10x8xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<10x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%x = %x0) -> (tensor<?x8xf32>) {
      %q = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %k = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %v = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %qr = attn.rope %q {theta = 1.0e4 : f64, style = #attn<rope_style half>} : tensor<2x?x4xf32>
      %kr = attn.rope %k {theta = 1.0e4 : f64, style = #attn<rope_style half>} : tensor<2x?x4xf32>
      %o = attn.sdpa %qr, %kr, %v {heads = 2 : i64, kv_heads = 2 : i64, causal, scale = 0.5 : f64, window = 5 : i64} : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32> -> tensor<2x?x4xf32>
      %m = attn.merge_heads %o : tensor<2x?x4xf32> -> tensor<?x8xf32>
      scf.yield %m : tensor<?x8xf32>
    }
    return %r : tensor<?x8xf32>
  }
}

// -----

// A window of max_seq or more never drops a position: plain caches of max_seq.

// CHECK-LABEL: func.func @decoder
// CHECK-SAME: tensor<1x1x8x4xf32>, %{{.*}}: tensor<1x1x8x4xf32>)
// CHECK: attn.cache_update
// CHECK-NOT: attn.ring_
module attributes {attn.max_seq = 8 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %q = attn.split_heads %x : tensor<?x4xf32> -> tensor<1x?x4xf32>
    %o = attn.sdpa %q, %q, %q {heads = 1 : i64, kv_heads = 1 : i64, causal, scale = 0.5 : f64, window = 8 : i64} : tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32> -> tensor<1x?x4xf32>
    %m = attn.merge_heads %o : tensor<1x?x4xf32> -> tensor<?x4xf32>
    return %m : tensor<?x4xf32>
  }
}
