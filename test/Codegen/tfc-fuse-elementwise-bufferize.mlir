// RUN: tfc-opt %s -split-input-file -tfc-fuse-elementwise -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -canonicalize -cse -canonicalize | FileCheck %s --enable-var-scope

// What the fused IR becomes in buffers (the order of tfc's pipeline: one-shot
// bufferization right after the pass; the self-copies of the parallel inserts
// fold away after CSE, as in buffer-deallocation-pipeline).

#id = affine_map<(i, j) -> (i, j)>

// The residual's buffer is the matmul's destination: no copy, no buffer for
// the product, no loop for the add.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: (%[[X:.*]]: memref<?x64xf32>, %[[A:.*]]: memref<?x32xf32>, %[[W:.*]]: memref<64x32xf32>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: linalg.matmul_transpose_b ins(%[[A]], %[[W]] : {{.*}}) outs(%[[X]] : memref<?x64xf32>)
// CHECK-NEXT: return %[[X]]
func.func @residual(%x: tensor<?x64xf32>, %a: tensor<?x32xf32>, %w: tensor<64x32xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %a, %c0 : tensor<?x32xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
  %p = linalg.matmul_transpose_b ins(%a, %w : tensor<?x32xf32>, tensor<64x32xf32>) outs(%z : tensor<?x64xf32>) -> tensor<?x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %p : tensor<?x64xf32>, tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%l: f32, %r: f32, %o: f32):
    %s = arith.addf %l, %r : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#row = affine_map<(i, j) -> (i)>

// LayerNorm's two row reductions each write a row of their own buffer,
// allocated once outside the loop (no heap buffer per row, and not the same
// buffer for both although CSE made their destinations one value).
// CHECK-LABEL: func.func @layer_norm
// CHECK-DAG: %[[Y:.*]] = memref.alloc() {{.*}} : memref<8x64xf32>
// CHECK-DAG: %[[S:.*]] = memref.alloc() {{.*}} : memref<8xf32>
// CHECK-DAG: %[[V:.*]] = memref.alloc() {{.*}} : memref<8xf32>
// CHECK: scf.forall (%[[I:.*]]) in (8) {
// CHECK-NOT: memref.alloc
// CHECK: %[[SI:.*]] = memref.subview %[[S]][%[[I]]] [1] [1]
// CHECK: linalg.generic {{.*}} outs(%[[SI]] :
// CHECK: %[[VI:.*]] = memref.subview %[[V]][%[[I]]] [1] [1]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[SI]] : {{.*}}) outs(%[[VI]] :
// CHECK: %[[YI:.*]] = memref.subview %[[Y]][%[[I]], 0] [1, 64] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[SI]], %[[VI]], %{{.*}}, %{{.*}} : {{.*}}) outs(%[[YI]] :
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: return %[[Y]]
func.func @layer_norm(%x: tensor<8x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %d = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x64xf32>) outs(%z : tensor<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %dev = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %sum : tensor<8x64xf32>, tensor<8xf32>) outs(%z : tensor<8xf32>) {
  ^bb0(%v: f32, %s: f32, %acc: f32):
    %mean = arith.divf %s, %d : f32
    %dv = arith.subf %v, %mean : f32
    %sq = arith.mulf %dv, %dv : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e = tensor.empty() : tensor<8x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %dev, %w, %b : tensor<8x64xf32>, tensor<8xf32>, tensor<8xf32>, tensor<64xf32>, tensor<64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%v: f32, %s: f32, %q: f32, %wi: f32, %bi: f32, %o: f32):
    %mean = arith.divf %s, %d : f32
    %var = arith.divf %q, %d : f32
    %ve = arith.addf %var, %eps : f32
    %sd = math.sqrt %ve : f32
    %c = arith.subf %v, %mean : f32
    %nv = arith.divf %c, %sd : f32
    %sc = arith.mulf %nv, %wi : f32
    %r = arith.addf %sc, %bi : f32
    linalg.yield %r : f32
  } -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
