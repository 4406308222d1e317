// RUN: tfc-opt %s -tfc-parallelize-linalg -split-input-file | FileCheck %s

// Rows of a 2-D elementwise op: one scf.parallel over the outermost dimension,
// each row a linalg.generic on subviews.
// CHECK-LABEL: func.func @rows
// CHECK-SAME: (%[[X:.*]]: memref<?x64xf32>, %[[Y:.*]]: memref<?x64xf32>)
// CHECK: %[[N:.*]] = memref.dim %[[X]], %{{.*}} : memref<?x64xf32>
// CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%[[N]]) step (%{{.*}})
// CHECK-DAG: memref.subview %[[X]][%[[I]], 0] [1, 64] [1, 1]
// CHECK-DAG: memref.subview %[[Y]][%[[I]], 0] [1, 64] [1, 1]
// CHECK: linalg.generic
// CHECK-SAME: memref<1x64xf32, strided<[64, 1], offset: ?>>
// CHECK-NOT: linalg.generic
#id = affine_map<(i, j) -> (i, j)>
func.func @rows(%x: memref<?x64xf32>, %y: memref<?x64xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x64xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A row reduction (RMSNorm's sum of squares) is distributed by rows too; the
// reduction dimension stays inside the row.
// CHECK-LABEL: func.func @row_sums
// CHECK: scf.parallel
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
#in = affine_map<(i, j) -> (i, j)>
#out = affine_map<(i, j) -> (i)>
func.func @row_sums(%x: memref<?x64xf32>, %s: memref<?xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%s : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Left alone: one loop only, an outermost reduction, an output the outermost
// loop does not index (rows would race on it), tensors, and an op that already
// sits inside a parallel loop.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: memref.subview
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: scf.parallel
// CHECK-NEXT: linalg.fill
#v = affine_map<(i) -> (i)>
#col = affine_map<(i, j) -> (i, j)>
#colsum = affine_map<(i, j) -> (j)>
func.func @left_alone(%v: memref<?xf32>, %x: memref<?x64xf32>, %c: memref<64xf32>,
                      %t: tensor<4x4xf32>, %n: index) -> tensor<4x4xf32> {
  linalg.generic {indexing_maps = [#v], iterator_types = ["parallel"]} outs(%v : memref<?xf32>) {
  ^bb0(%a: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#col, #colsum], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<?x64xf32>) outs(%c : memref<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %acc, %a : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#col, #colsum], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x64xf32>) outs(%c : memref<64xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  %r = linalg.generic {indexing_maps = [#col], iterator_types = ["parallel", "parallel"]}
      outs(%t : tensor<4x4xf32>) {
  ^bb0(%a: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  } -> tensor<4x4xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    linalg.fill ins(%zero : f32) outs(%x : memref<?x64xf32>)
  }
  return %r : tensor<4x4xf32>
}
