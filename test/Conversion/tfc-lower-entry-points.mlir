// RUN: tfc-opt %s -split-input-file -tfc-lower-entry-points | FileCheck %s --enable-var-scope

// Weights become memref arguments (one per distinct name, shared across
// functions, in first-use order), tokens a memref, the result an output
// argument; tfc.args lists (kind, index) pairs as gen_abi.h numbers them:
// tokens (0, 0), weight slot 0 (2, 0), weight slot 1 (2, 1), output (3, 0).

// CHECK: module attributes {tfc.caches = [], tfc.slots = [{init = 0 : i32, name = "emb.weight", shape = array<i64: 10, 4>}, {init = 1 : i32, name = "norm.weight", shape = array<i64: 4>}]}
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%[[TOK:.*]]: memref<?xi32>, %[[EMB:.*]]: memref<10x4xf32>, %[[NORM:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<?x4xf32>)
// CHECK-SAME: attributes {llvm.emit_c_interface, tfc.args = array<i32: 0, 0, 2, 0, 2, 1, 3, 0>}
// CHECK-DAG: %[[T:.*]] = bufferization.to_tensor %[[TOK]] restrict : memref<?xi32>
// CHECK-DAG: %[[E:.*]] = bufferization.to_tensor %[[EMB]] restrict : memref<10x4xf32>
// CHECK-DAG: %[[N:.*]] = bufferization.to_tensor %[[NORM]] restrict : memref<4xf32>
// CHECK: %[[X:.*]] = attn.embedding %[[E]], %[[T]]
// CHECK: %[[Y:.*]] = attn.rms_norm %[[X]], %[[N]]
// CHECK: bufferization.materialize_in_destination %[[Y]] in restrict writable %[[OUT]]
// CHECK-NEXT: return
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %norm = attn.weight "norm.weight" {tfc.init = 1 : i32} : tensor<4xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %emb2 = attn.weight "emb.weight" : tensor<10x4xf32>
    %y = attn.rms_norm %x, %norm {eps = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
}

// -----

// A stateful decoder (after tfc-attn-kv-cache): the position stays an index
// (4, 0), each cache is a writable memref (5, j) updated in place, and the
// updated caches are stored back into their own buffers.

// CHECK: module attributes {tfc.caches = [array<i64: 2, 1, 8, 4>], tfc.slots = []}
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%{{.*}}: memref<?xi32>, %[[POS:.*]]: index, %[[KC:.*]]: memref<2x1x8x4xf32>, %[[OUT:.*]]: memref<?x4xf32>)
// CHECK-SAME: tfc.args = array<i32: 0, 0, 4, 0, 5, 0, 3, 0>
// CHECK: %[[C:.*]] = bufferization.to_tensor %[[KC]] restrict writable : memref<2x1x8x4xf32>
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[OUT]]
// CHECK: bufferization.materialize_in_destination %[[C]] in restrict writable %[[KC]]
module {
  func.func @decoder(%tokens: tensor<?xi32>, %pos: index, %kc: tensor<2x1x8x4xf32>) -> (tensor<?x4xf32>, tensor<2x1x8x4xf32>) attributes {tfc.stateful} {
    %c0 = arith.constant 0 : index
    %d = tensor.dim %tokens, %c0 : tensor<?xi32>
    %e = tensor.empty(%d) : tensor<?x4xf32>
    return %e, %kc : tensor<?x4xf32>, tensor<2x1x8x4xf32>
  }
}
