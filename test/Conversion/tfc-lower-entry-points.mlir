// RUN: tfc-opt %s -split-input-file -tfc-lower-entry-points | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-lower-entry-points=weight-type=bf16 | FileCheck %s --check-prefix=BF16 --enable-var-scope

// Weights become memref arguments (one per distinct name, shared across
// functions, in first-use order), tokens a memref, the result an output
// argument; tfc.args lists (kind, index) pairs as gen_abi.h numbers them:
// tokens (0, 0), weight slot 0 (2, 0), weight slot 1 (2, 1), output (3, 0).

// CHECK: module attributes {tfc.caches = [], tfc.slots = [{dtype = 0 : i32, init = 0 : i32, name = "emb.weight", shape = array<i64: 10, 4>}, {dtype = 0 : i32, init = 1 : i32, name = "norm.weight", shape = array<i64: 4>}]}
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

// -----

// --weight-type=bf16: weights read only by linear layers' matmuls (here a
// stacked one, through its layer slice) are stored as bf16 and the matmul
// widens them; the embedding table, also read by the tied output matmul,
// stays f32.

// BF16: {dtype = 0 : i32, {{.*}}name = "tied.weight"
// BF16-SAME: {dtype = 1 : i32, {{.*}}name = "l.{i}.weight"
// BF16-LABEL: func.func @narrow
// BF16-SAME: %[[EMB:[a-z0-9]+]]: memref<10x4xf32>, %[[W:[a-z0-9]+]]: memref<2x4x4xbf16>
// BF16: %[[WT:.*]] = bufferization.to_tensor %[[W]] restrict : memref<2x4x4xbf16>
// BF16: %[[S:.*]] = tensor.extract_slice %[[WT]][%{{.*}}, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<2x4x4xbf16> to tensor<4x4xbf16>
// BF16: linalg.matmul_transpose_b ins(%{{.*}}, %[[S]] : tensor<?x4xf32>, tensor<4x4xbf16>)
// BF16: linalg.matmul_transpose_b ins(%{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<10x4xf32>)
module {
  func.func @narrow(%x: tensor<?x4xf32>, %i: index) -> tensor<?x10xf32> {
    %c0 = arith.constant 0 : index
    %emb = attn.weight "tied.weight" : tensor<10x4xf32>
    %w = attn.weight "l.{i}.weight" : tensor<2x4x4xf32>
    %n = tensor.dim %x, %c0 : tensor<?x4xf32>
    %s = tensor.extract_slice %w[%i, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<2x4x4xf32> to tensor<4x4xf32>
    %e = tensor.empty(%n) : tensor<?x4xf32>
    %h = linalg.matmul_transpose_b ins(%x, %s : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
    %e2 = tensor.empty(%n) : tensor<?x10xf32>
    %y = linalg.matmul_transpose_b ins(%h, %emb : tensor<?x4xf32>, tensor<10x4xf32>) outs(%e2 : tensor<?x10xf32>) -> tensor<?x10xf32>
    %g = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]} outs(%y : tensor<?x10xf32>) {
    ^bb0(%o: f32):
      %t = tensor.extract %emb[%c0, %c0] : tensor<10x4xf32>
      linalg.yield %t : f32
    } -> tensor<?x10xf32>
    return %g : tensor<?x10xf32>
  }
}
