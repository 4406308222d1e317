// RUN: tfc-opt %s -split-input-file -tfc-attn-attention-maps -verify-diagnostics | FileCheck %s --enable-var-scope

// A layer loop from 0 (3 layers, one attention each): @decoder stays as it is;
// @attention_maps threads a [3, 2, n, n] tensor through the loop and writes the
// probabilities of layer %i at index %i, and returns only the maps.

// CHECK-LABEL: func.func @decoder(%{{.*}}: tensor<?xi32>) -> tensor<?x8xf32>
// CHECK-NOT: attn.attention_probs
// CHECK: return
// CHECK-LABEL: func.func @attention_maps
// CHECK-SAME: (%[[TOK:.*]]: tensor<?xi32>) -> tensor<3x2x?x?xf32>
// CHECK: %[[N:.*]] = tensor.dim %[[TOK]], %{{.*}} : tensor<?xi32>
// CHECK: %[[E:.*]] = tensor.empty(%[[N]], %[[N]]) : tensor<3x2x?x?xf32>
// CHECK: %[[R:.*]]:2 = scf.for %[[I:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[M:.*]] = %[[E]])
// CHECK:   %[[QR:.*]] = attn.rope
// CHECK:   %[[K:.*]] = tensor.extract_slice
// CHECK:   %[[P:.*]] = attn.attention_probs %[[QR]], %[[K]] {causal, heads = 2 : i64, kv_heads = 1 : i64, scale = 5.000000e-01 : f64} : tensor<2x?x4xf32>, tensor<1x?x4xf32> -> tensor<2x?x?xf32>
// CHECK:   %[[M2:.*]] = tensor.insert_slice %[[P]] into %[[M]][%[[I]], 0, 0, 0] [1, 2, %{{.*}}, %{{.*}}] [1, 1, 1, 1] : tensor<2x?x?xf32> into tensor<3x2x?x?xf32>
// CHECK:   attn.sdpa %[[QR]], %[[K]]
// CHECK:   scf.yield %{{.*}}, %[[M2]]
// CHECK: return %[[R]]#1 : tensor<3x2x?x?xf32>
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %emb = attn.weight "emb.weight" : tensor<10x8xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<10x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%x = %x0) -> (tensor<?x8xf32>) {
      %q = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %k1 = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %qr = attn.rope %q {theta = 1.0e4 : f64, style = #attn<rope_style half>} : tensor<2x?x4xf32>
      %kr0 = attn.rope %k1 {theta = 1.0e4 : f64, style = #attn<rope_style half>} : tensor<2x?x4xf32>
      %kr = tensor.extract_slice %kr0[0, 0, 0] [1, %c3, 4] [1, 1, 1] : tensor<2x?x4xf32> to tensor<1x?x4xf32>
      %v = tensor.extract_slice %k1[0, 0, 0] [1, %c3, 4] [1, 1, 1] : tensor<2x?x4xf32> to tensor<1x?x4xf32>
      %o = attn.sdpa %qr, %kr, %v {heads = 2 : i64, kv_heads = 1 : i64, causal, scale = 0.5 : f64} : tensor<2x?x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32> -> tensor<2x?x4xf32>
      %m = attn.merge_heads %o : tensor<2x?x4xf32> -> tensor<?x8xf32>
      scf.yield %m : tensor<?x8xf32>
    }
    return %r : tensor<?x8xf32>
  }
}

// -----

// Two layer loops after one attention at function level (map 0, with a sliding
// window, which the probabilities keep): the first loop's layer 1 is map 1 (its
// index as it is); the second loop from layer 2 has two attentions per layer,
// maps 2 + 2 * (i - 2) + s = 2 * i - 2 + s. 1 + 1 + 2 * 2 = 6 maps.

// CHECK-LABEL: func.func @attention_maps
// CHECK-SAME: -> tensor<6x2x?x?xf32>
// CHECK: %[[E:.*]] = tensor.empty({{.*}}) : tensor<6x2x?x?xf32>
// CHECK: %[[P0:.*]] = attn.attention_probs %{{.*}}, %{{.*}} {causal, heads = 2 : i64, kv_heads = 2 : i64, scale = 5.000000e-01 : f64, window = 3 : i64}
// CHECK: %[[M0:.*]] = tensor.insert_slice %[[P0]] into %[[E]][0, 0, 0, 0]
// CHECK: %[[R1:.*]]:2 = scf.for %[[I:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[MA:.*]] = %[[M0]])
// CHECK-NOT: arith.addi
// CHECK:   tensor.insert_slice %{{.*}} into %[[MA]][%[[I]], 0, 0, 0]
// CHECK: %[[R2:.*]]:2 = scf.for %[[J:.*]] = {{.*}} iter_args(%{{.*}} = %[[R1]]#0, %[[MB:.*]] = %[[R1]]#1)
// CHECK:   %[[J2:.*]] = arith.muli %[[J]], %{{.*}} : index
// CHECK:   %[[MINUS2:.*]] = arith.constant -2 : index
// CHECK:   %[[JB:.*]] = arith.addi %[[J2]], %[[MINUS2]] : index
// CHECK:   %[[MB1:.*]] = tensor.insert_slice %{{.*}} into %[[MB]][%[[JB]], 0, 0, 0]
// CHECK:   attn.sdpa
// CHECK:   %[[JS:.*]] = arith.addi %[[JB]], %{{.*}} : index
// CHECK:   %[[MB2:.*]] = tensor.insert_slice %{{.*}} into %[[MB1]][%[[JS]], 0, 0, 0]
// CHECK:   attn.sdpa
// CHECK:   scf.yield %{{.*}}, %[[MB2]]
// CHECK: return %[[R2]]#1
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %emb = attn.weight "emb.weight" : tensor<10x8xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<10x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %h0 = attn.split_heads %x0 : tensor<?x8xf32> -> tensor<2x?x4xf32>
    %o0 = attn.sdpa %h0, %h0, %h0 {heads = 2 : i64, kv_heads = 2 : i64, causal, scale = 0.5 : f64, window = 3 : i64} : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32> -> tensor<2x?x4xf32>
    %x1 = attn.merge_heads %o0 : tensor<2x?x4xf32> -> tensor<?x8xf32>
    %r1 = scf.for %i = %c1 to %c2 step %c1 iter_args(%x = %x1) -> (tensor<?x8xf32>) {
      %h = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %o = attn.sdpa %h, %h, %h {heads = 2 : i64, kv_heads = 2 : i64, causal, scale = 0.5 : f64} : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32> -> tensor<2x?x4xf32>
      %m = attn.merge_heads %o : tensor<2x?x4xf32> -> tensor<?x8xf32>
      scf.yield %m : tensor<?x8xf32>
    }
    %r2 = scf.for %i = %c2 to %c4 step %c1 iter_args(%x = %r1) -> (tensor<?x8xf32>) {
      %h = attn.split_heads %x : tensor<?x8xf32> -> tensor<2x?x4xf32>
      %o = attn.sdpa %h, %h, %h {heads = 2 : i64, kv_heads = 2 : i64, causal, scale = 0.5 : f64} : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32> -> tensor<2x?x4xf32>
      %o2 = attn.sdpa %o, %h, %h {heads = 2 : i64, kv_heads = 2 : i64, scale = 0.5 : f64} : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32> -> tensor<2x?x4xf32>
      %m = attn.merge_heads %o2 : tensor<2x?x4xf32> -> tensor<?x8xf32>
      scf.yield %m : tensor<?x8xf32>
    }
    return %r2 : tensor<?x8xf32>
  }
}

// -----

// An encoder-decoder: the decoder needs the encoder memory, so the maps are
// the encoder's (non-causal: no mask).

// CHECK-LABEL: func.func @attention_maps
// CHECK-SAME: -> tensor<1x2x?x?xf32>
// CHECK: attn.attention_probs %{{.*}}, %{{.*}} {heads = 2 : i64, kv_heads = 2 : i64, scale = 5.000000e-01 : f64}
module {
  func.func @encoder(%tokens: tensor<?xi32>) -> tensor<?x8xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x8xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<10x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %h = attn.split_heads %x0 : tensor<?x8xf32> -> tensor<2x?x4xf32>
    %o = attn.sdpa %h, %h, %h {heads = 2 : i64, kv_heads = 2 : i64, scale = 0.5 : f64} : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32> -> tensor<2x?x4xf32>
    %m = attn.merge_heads %o : tensor<2x?x4xf32> -> tensor<?x8xf32>
    return %m : tensor<?x8xf32>
  }
  func.func @decoder(%tokens: tensor<?xi32>, %memory: tensor<?x8xf32>) -> tensor<?x8xf32> {
    return %memory : tensor<?x8xf32>
  }
}

// -----

// expected-error @+1 {{attention maps: the model has no decoder or encoder over tokens alone}}
module {
  func.func @decoder(%tokens: tensor<?xi32>, %memory: tensor<?x8xf32>) -> tensor<?x8xf32> {
    return %memory : tensor<?x8xf32>
  }
}

// -----

module {
  // expected-error @+1 {{attention maps: the model has no attention}}
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x8xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x8xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<10x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    return %x0 : tensor<?x8xf32>
  }
}

// -----

module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x8xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x8xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<10x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %h = attn.split_heads %x0 : tensor<?x8xf32> -> tensor<2x?x4xf32>
    %o = attn.sdpa %h, %h, %h {heads = 2 : i64, kv_heads = 2 : i64, scale = 0.5 : f64} : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32> -> tensor<2x?x4xf32>
    %m = attn.merge_heads %o : tensor<2x?x4xf32> -> tensor<?x8xf32>
    %g = attn.split_heads %m : tensor<?x8xf32> -> tensor<4x?x2xf32>
    // expected-error @+1 {{attention maps: every attention must have the same heads (4 here, 2 before)}}
    %o2 = attn.sdpa %g, %g, %g {heads = 4 : i64, kv_heads = 4 : i64, scale = 0.5 : f64} : tensor<4x?x2xf32>, tensor<4x?x2xf32>, tensor<4x?x2xf32> -> tensor<4x?x2xf32>
    %m2 = attn.merge_heads %o2 : tensor<4x?x2xf32> -> tensor<?x8xf32>
    return %m2 : tensor<?x8xf32>
  }
}
