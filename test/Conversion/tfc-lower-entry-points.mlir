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
// BF16-SAME: %[[I:[a-z0-9]+]]: index, %[[EMB:[a-z0-9]+]]: memref<10x4xf32>, %[[W:[a-z0-9]+]]: memref<?xbf16>, %[[TAB:[a-z0-9]+]]: memref<2xi64>
// BF16-SAME: tfc.args = array<i32: 1, 0, 4, 0, 2, 0, 2, 1, 7, 1, 3, 0>
// BF16: %[[O:.*]] = memref.load %[[TAB]][%[[I]]] : memref<2xi64>
// BF16: %[[OI:.*]] = arith.index_cast %[[O]] : i64 to index
// BF16: %[[V:.*]] = memref.reinterpret_cast %[[W]] to offset: [%[[OI]]], sizes: [4, 4], strides: [4, 1] : memref<?xbf16> to memref<4x4xbf16, strided<[4, 1], offset: ?>>
// BF16: %[[S:.*]] = bufferization.to_tensor %[[V]] restrict : memref<4x4xbf16, strided<[4, 1], offset: ?>>
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

// -----

// A layer-stacked weight (f32 here, as in place from a file) is a base buffer
// and a table of layer offsets (2, slot) (7, slot), in first-use order among
// the weights: each layer slice loads its layer's offset from the table and
// views the base there with the layer's static sizes and strides. A slice of
// part of a layer slices that view.

// CHECK: tfc.slots = [{dtype = 0 : i32, init = 0 : i32, name = "l.{i}.w", shape = array<i64: 3, 8, 4>}, {dtype = 0 : i32, init = 0 : i32, name = "out.weight", shape = array<i64: 4, 4>}]
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%[[TOK:.*]]: memref<?xi32>, %[[BASE:.*]]: memref<?xf32>, %[[TAB:.*]]: memref<3xi64>, %[[OUTW:.*]]: memref<4x4xf32>, %[[OUT:.*]]: memref<?x4xf32>)
// CHECK-SAME: tfc.args = array<i32: 0, 0, 2, 0, 7, 0, 2, 1, 3, 0>
// CHECK: scf.for %[[L:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: %[[O:.*]] = memref.load %[[TAB]][%[[L]]] : memref<3xi64>
// CHECK: %[[OI:.*]] = arith.index_cast %[[O]] : i64 to index
// CHECK: %[[V:.*]] = memref.reinterpret_cast %[[BASE]] to offset: [%[[OI]]], sizes: [8, 4], strides: [4, 1] : memref<?xf32> to memref<8x4xf32, strided<[4, 1], offset: ?>>
// CHECK: %[[W:.*]] = bufferization.to_tensor %[[V]] restrict : memref<8x4xf32, strided<[4, 1], offset: ?>>
// CHECK: %[[TOP:.*]] = tensor.extract_slice %[[W]][0, 0] [4, 4] [1, 1] : tensor<8x4xf32> to tensor<4x4xf32>
// CHECK: linalg.matmul_transpose_b ins(%{{.*}}, %[[TOP]] : tensor<?x4xf32>, tensor<4x4xf32>)
// CHECK-NOT: memref.reinterpret_cast
// CHECK: scf.yield
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %w = attn.weight "l.{i}.w" : tensor<3x8x4xf32>
    %n = tensor.dim %tokens, %c0 : tensor<?xi32>
    %x0 = tensor.empty(%n) : tensor<?x4xf32>
    %x = scf.for %l = %c0 to %c3 step %c1 iter_args(%x1 = %x0) -> tensor<?x4xf32> {
      %s = tensor.extract_slice %w[%l, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<3x8x4xf32> to tensor<4x4xf32>
      %e = tensor.empty(%n) : tensor<?x4xf32>
      %y = linalg.matmul_transpose_b ins(%x1, %s : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
      scf.yield %y : tensor<?x4xf32>
    }
    %o = attn.weight "out.weight" : tensor<4x4xf32>
    %e2 = tensor.empty(%n) : tensor<?x4xf32>
    %r = linalg.matmul_transpose_b ins(%x, %o : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e2 : tensor<?x4xf32>) -> tensor<?x4xf32>
    return %r : tensor<?x4xf32>
  }
}
