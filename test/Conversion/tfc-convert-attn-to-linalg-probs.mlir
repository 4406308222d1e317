// RUN: tfc-opt %s -tfc-convert-attn-to-linalg | FileCheck %s --enable-var-scope

// attn.attention_probs (tfc --emit-attention) lowers to the plain softmax over
// [heads, n, m]: scores reading key head h floordiv (heads / kv_heads), row maxima
// of the scaled visible scores, exp (0 where masked), row sums, division.

// CHECK-DAG: #[[$Q:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$K:.*]] = affine_map<(d0, d1, d2, d3) -> (d0 floordiv 4, d2, d3)>
// CHECK-DAG: #[[$S:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @probs_gqa_window
// CHECK-SAME: (%[[Q:.*]]: tensor<8x?x16xf32>, %[[K:.*]]: tensor<2x?x16xf32>)
// CHECK: %[[SC:.*]] = linalg.generic {indexing_maps = [#[[$Q]], #[[$K]], #[[$S]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[Q]], %[[K]] : tensor<8x?x16xf32>, tensor<2x?x16xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[SHIFT:.*]] = arith.subi
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[SC]] :
// CHECK:   %[[SCALE:.*]] = arith.constant 2.500000e-01 : f32
// CHECK:   arith.mulf %{{.*}}, %[[SCALE]]
// CHECK:   %[[I:.*]] = linalg.index 1 : index
// CHECK:   %[[J:.*]] = linalg.index 2 : index
// CHECK:   %[[LAST:.*]] = arith.addi %[[I]], %[[SHIFT]]
// CHECK:   %[[FUT:.*]] = arith.cmpi sgt, %[[J]], %[[LAST]]
// CHECK:   %[[W:.*]] = arith.constant 3 : index
// CHECK:   %[[REACH:.*]] = arith.addi %[[J]], %[[W]]
// CHECK:   %[[OLD:.*]] = arith.cmpi sle, %[[REACH]], %[[LAST]]
// CHECK:   %[[MASKED:.*]] = arith.ori %[[FUT]], %[[OLD]]
// CHECK:   arith.select %[[MASKED]], %{{.*}}, %{{.*}}
// CHECK:   arith.maximumf
// CHECK: %[[E:.*]] = linalg.generic {{.*}}ins(%[[SC]], %[[MAX]] :
// CHECK:   math.exp
// CHECK:   arith.select
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[E]] :
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[$ROW]], #{{.*}}], {{.*}}ins(%[[E]], %[[SUM]] :
// CHECK:   arith.divf
// CHECK: return %[[P]] : tensor<8x?x?xf32>
func.func @probs_gqa_window(%q: tensor<8x?x16xf32>, %k: tensor<2x?x16xf32>) -> tensor<8x?x?xf32> {
  %p = attn.attention_probs %q, %k {heads = 8 : i64, kv_heads = 2 : i64, causal, scale = 0.25 : f64, window = 3 : i64} : tensor<8x?x16xf32>, tensor<2x?x16xf32> -> tensor<8x?x?xf32>
  return %p : tensor<8x?x?xf32>
}

// Without a mask: no index arithmetic, no select.
// CHECK-LABEL: func @probs_full
// CHECK-NOT: linalg.index
// CHECK-NOT: arith.select
// CHECK: return
func.func @probs_full(%q: tensor<2x?x4xf32>, %k: tensor<2x?x4xf32>) -> tensor<2x?x?xf32> {
  %p = attn.attention_probs %q, %k {heads = 2 : i64, kv_heads = 2 : i64, scale = 0.5 : f64} : tensor<2x?x4xf32>, tensor<2x?x4xf32> -> tensor<2x?x?xf32>
  return %p : tensor<2x?x?xf32>
}
