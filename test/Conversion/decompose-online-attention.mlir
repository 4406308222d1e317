// RUN: tfc-opt %s -split-input-file -tfc-convert-attn-to-linalg | FileCheck %s --enable-var-scope

// The DecomposeOnlineAttention pattern of tfc-convert-attn-to-linalg: one key
// tile of the online softmax, on its own (the tiling's loops around it are
// tested in tfc-attn-tile-sdpa.mlir).

// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @causal_tile
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<2x?x8xf32>, %[[K:[^:]*]]: tensor<2x?x8xf32>, %[[V:[^:]*]]: tensor<2x?x16xf32>, %[[MAX:[^:]*]]: tensor<?xf32>, %[[SUM:[^:]*]]: tensor<?xf32>, %[[ACC:[^:]*]]: tensor<2x?x16xf32>, %[[ROWS:[^:]*]]: index, %[[I0:[^:]*]]: index, %[[J0:[^:]*]]: index, %[[SHIFT:[^:]*]]: index)
// CHECK: %[[T:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<2x?x8xf32>
// CHECK: %[[SE:.*]] = tensor.empty(%[[ROWS]], %[[T]]) : tensor<2x?x?xf32>
// CHECK: %[[SZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[SE]] : tensor<2x?x?xf32>)
// CHECK: %[[S:.*]] = linalg.batch_matmul_transpose_b ins(%[[Q]], %[[K]] : tensor<2x?x8xf32>, tensor<2x?x8xf32>) outs(%[[SZ]] : tensor<2x?x?xf32>)
// CHECK: %[[S2:.*]] = tensor.collapse_shape %[[S]] {{\[}}[0, 1], [2]] : tensor<2x?x?xf32> into tensor<?x?xf32>
// CHECK: %[[LIM0:.*]] = arith.addi %[[I0]], %[[SHIFT]]
// CHECK: %[[LIM:.*]] = arith.subi %[[LIM0]], %[[J0]]
// CHECK: %[[STATEROWS:.*]] = arith.muli %[[ROWS]], %{{.*}} : index
// CHECK: %[[TME:.*]] = tensor.empty(%[[STATEROWS]]) : tensor<?xf32>
// CHECK: %[[TM0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[TME]] : tensor<?xf32>)
// CHECK: %[[TMAX:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[S2]] : tensor<?x?xf32>) outs(%[[TM0]] : tensor<?xf32>)
// CHECK:   %[[RHO:.*]] = linalg.index 0
// CHECK:   %[[J:.*]] = linalg.index 1
// CHECK:   %[[R:.*]] = arith.remui %[[RHO]], %[[ROWS]]
// CHECK:   %[[QI:.*]] = arith.divui %[[R]], %{{.*}}
// CHECK:   %[[QLAST:.*]] = arith.addi %[[QI]], %[[LIM]]
// CHECK:   %[[MASKED:.*]] = arith.cmpi sgt, %[[J]], %[[QLAST]]
// CHECK:   %[[NEG:.*]] = arith.constant -1.000000e+30 : f32
// CHECK:   %[[X:.*]] = arith.select %[[MASKED]], %[[NEG]], %{{.*}}
// CHECK:   arith.maximumf %{{.*}}, %[[X]]
// CHECK: %[[AE:.*]] = tensor.empty(%[[STATEROWS]]) : tensor<?xf32>
// CHECK: %[[UPD:.*]]:3 = linalg.generic {indexing_maps = [#[[$ID1]], #[[$ID1]], #[[$ID1]], #[[$ID1]]], iterator_types = ["parallel"]} ins(%[[TMAX]] : tensor<?xf32>) outs(%[[MAX]], %[[SUM]], %[[AE]] : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK: ^bb0(%[[TIN:.*]]: f32, %[[MIN:.*]]: f32, %[[LIN:.*]]: f32, %{{.*}}: f32):
// CHECK:   %[[NEWMAX:.*]] = arith.maximumf %[[MIN]], %[[TIN]]
// CHECK:   %[[DIFF:.*]] = arith.subf %[[MIN]], %[[NEWMAX]]
// CHECK:   %[[ALPHA:.*]] = math.exp %[[DIFF]]
// CHECK:   %[[LSCALED:.*]] = arith.mulf %[[LIN]], %[[ALPHA]]
// CHECK:   linalg.yield %[[NEWMAX]], %[[LSCALED]], %[[ALPHA]]
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[$ROW]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[UPD]]#0 : tensor<?xf32>) outs(%[[S2]] : tensor<?x?xf32>)
// CHECK:   %[[E:.*]] = math.exp
// CHECK:   arith.cmpi sgt
// CHECK:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:   arith.select %{{.*}}, %[[ZERO]], %[[E]]
// CHECK: %[[L:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[P]] : tensor<?x?xf32>) outs(%[[UPD]]#1 : tensor<?xf32>)
// CHECK:   arith.addf
// CHECK: %[[O2:.*]] = tensor.collapse_shape %[[ACC]] {{\[}}[0, 1], [2]] : tensor<2x?x16xf32> into tensor<?x16xf32>
// CHECK: %[[OS:.*]] = linalg.generic {indexing_maps = [#[[$ROW]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[UPD]]#2 : tensor<?xf32>) outs(%[[O2]] : tensor<?x16xf32>)
// CHECK:   arith.mulf
// CHECK: %[[O3:.*]] = tensor.expand_shape %[[OS]] {{\[}}[0, 1], [2]] output_shape [2, %[[ROWS]], 16]
// CHECK: %[[P3:.*]] = tensor.expand_shape %[[P]] {{\[}}[0, 1], [2]] output_shape [2, %[[ROWS]], %[[T]]]
// CHECK: %[[ONEW:.*]] = linalg.batch_matmul ins(%[[P3]], %[[V]] : tensor<2x?x?xf32>, tensor<2x?x16xf32>) outs(%[[O3]] : tensor<2x?x16xf32>)
// CHECK: return %[[UPD]]#0, %[[L]], %[[ONEW]]
func.func @causal_tile(%q: tensor<2x?x8xf32>, %k: tensor<2x?x8xf32>, %v: tensor<2x?x16xf32>,
                       %m: tensor<?xf32>, %l: tensor<?xf32>, %acc: tensor<2x?x16xf32>,
                       %rows: index, %i0: index, %j0: index, %shift: index)
    -> (tensor<?xf32>, tensor<?xf32>, tensor<2x?x16xf32>) {
  %m2, %l2, %acc2 = attn.online_attention %q, %k, %v, %m, %l, %acc rows %rows causal(%i0, %j0, %shift) {group = 2 : i64}
      : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x16xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x16xf32>
  return %m2, %l2, %acc2 : tensor<?xf32>, tensor<?xf32>, tensor<2x?x16xf32>
}

// -----

// Without causal nothing is masked; with one query head per K/V head the row
// index is not divided. A key tile cut by tensor.extract_slice keeps the
// slice's size (no tensor.dim read back).

// CHECK-LABEL: func @plain_tile
// CHECK-SAME: (%{{[^:]*}}: tensor<2x?x8xf32>, %[[KFULL:[^:]*]]: tensor<2x?x8xf32>, %{{.*}}: index, %[[T:[^:]*]]: index)
// CHECK-NOT: tensor.dim
// CHECK: tensor.empty(%{{.*}}, %[[T]]) : tensor<2x?x?xf32>
// CHECK-NOT: arith.cmpi
// CHECK-NOT: arith.divui
// CHECK-NOT: arith.select
// CHECK: linalg.batch_matmul ins
// CHECK: return
func.func @plain_tile(%q: tensor<2x?x8xf32>, %kfull: tensor<2x?x8xf32>, %m: tensor<?xf32>,
                      %l: tensor<?xf32>, %acc: tensor<2x?x8xf32>, %rows: index, %t: index)
    -> (tensor<?xf32>, tensor<?xf32>, tensor<2x?x8xf32>) {
  %k = tensor.extract_slice %kfull[0, 0, 0] [2, %t, 8] [1, 1, 1] : tensor<2x?x8xf32> to tensor<2x?x8xf32>
  %m2, %l2, %acc2 = attn.online_attention %q, %k, %k, %m, %l, %acc rows %rows {group = 1 : i64}
      : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<?xf32>, tensor<?xf32>, tensor<2x?x8xf32>
  return %m2, %l2, %acc2 : tensor<?xf32>, tensor<?xf32>, tensor<2x?x8xf32>
}
