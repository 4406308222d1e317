// RUN: tfc-opt %s -split-input-file -tfc-attn-tile-sdpa | FileCheck %s --enable-var-scope

// The loops and the data movement of attn.sdpa, one attn.online_attention per
// key tile. With query_rows = 32 and G = 2 query heads per K/V head a block
// holds 16 queries (32 rows); a decode block (one query) takes 64 x 16 = 1024
// keys per tile instead of 64.

// CHECK-DAG: #[[$QMAJOR:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>
// CHECK-LABEL: func @tiled_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<4x?x8xf32>, %[[K:.*]]: tensor<2x?x8xf32>, %[[V:.*]]: tensor<2x?x16xf32>)
// CHECK-DAG: %[[MASKED:.*]] = arith.constant -1.000000e+30 : f32
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 0.353553385 : f32
// CHECK-DAG: %[[KEYTILE:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[DECODETILE:.*]] = arith.constant 1024 : index
// CHECK-DAG: %[[QSTEP:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<4x?x8xf32>
// CHECK-DAG: %[[M:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<2x?x8xf32>
// CHECK: %[[SHIFT:.*]] = arith.subi %[[M]], %[[N]] : index
// CHECK: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [2, 2, %[[N]], 8]
// CHECK: %[[QB:.*]] = arith.minsi %[[N]], %[[QSTEP]] : index
// CHECK: %[[ROWS:.*]] = arith.muli %[[QB]], %{{.*}} : index
// CHECK: %[[STATEROWS:.*]] = arith.muli %[[ROWS]], %{{.*}} : index
// CHECK: %[[ONEQ:.*]] = arith.cmpi eq, %[[QB]], %{{.*}} : index
// CHECK: %[[KSTEP:.*]] = arith.select %[[ONEQ]], %[[DECODETILE]], %[[KEYTILE]] : index
// CHECK: %[[BLOCKS:.*]] = scf.for %[[START:.*]] = %{{.*}} to %[[N]] step %[[QSTEP]] iter_args(%[[OUT:.*]] = %{{.*}}) -> (tensor<2x2x?x16xf32>)
// CHECK:   %[[LASTSTART:.*]] = arith.subi %[[N]], %[[QB]]
// CHECK:   %[[I0:.*]] = arith.minsi %[[START]], %[[LASTSTART]]
// CHECK:   %[[QS:.*]] = tensor.extract_slice %[[Q4]][0, 0, %[[I0]], 0] [2, 2, %[[QB]], 8]
// CHECK:   linalg.generic {indexing_maps = [#[[$QMAJOR]], {{.*}}]{{.*}} ins(%[[QS]] : tensor<2x2x?x8xf32>)
// CHECK:     arith.mulf %{{.*}}, %[[SCALE]]
// CHECK:   %[[QBLK:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3]] : tensor<2x?x2x8xf32> into tensor<2x?x8xf32>
// CHECK:   %[[LAST:.*]] = arith.addi %[[I0]], %[[QB]]
// CHECK:   %[[LASTPOS:.*]] = arith.addi %[[LAST]], %[[SHIFT]]
// CHECK:   %[[KEND:.*]] = arith.minsi %[[M]], %[[LASTPOS]]
// CHECK:   %[[M0E:.*]] = tensor.empty(%[[STATEROWS]]) : tensor<?xf32>
// CHECK:   %[[M0:.*]] = linalg.fill ins(%[[MASKED]] : f32) outs(%[[M0E]] : tensor<?xf32>)
// CHECK:   tensor.empty(%[[ROWS]]) : tensor<2x?x16xf32>
// CHECK:   %[[KEYLOOP:.*]]:3 = scf.for %[[J0:.*]] = %{{.*}} to %[[KEND]] step %[[KSTEP]] iter_args(%[[MAXIN:.*]] = %[[M0]], %[[SUMIN:.*]] = %{{.*}}, %[[ACCIN:.*]] = %{{.*}}) -> (tensor<?xf32>, tensor<?xf32>, tensor<2x?x16xf32>)
// CHECK:     %[[REST:.*]] = arith.subi %[[KEND]], %[[J0]]
// CHECK:     %[[T:.*]] = arith.minsi %[[KSTEP]], %[[REST]]
// CHECK:     %[[KT:.*]] = tensor.extract_slice %[[K]][0, %[[J0]], 0] [2, %[[T]], 8] [1, 1, 1] : tensor<2x?x8xf32> to tensor<2x?x8xf32>
// CHECK:     %[[VT:.*]] = tensor.extract_slice %[[V]][0, %[[J0]], 0] [2, %[[T]], 16] [1, 1, 1] : tensor<2x?x16xf32> to tensor<2x?x16xf32>
// CHECK:     %[[NM:.*]], %[[NS:.*]], %[[NA:.*]] = attn.online_attention %[[QBLK]], %[[KT]], %[[VT]], %[[MAXIN]], %[[SUMIN]], %[[ACCIN]] rows %[[ROWS]] causal(%[[I0]], %[[J0]], %[[SHIFT]]) {group = 2 : i64}
// CHECK:     scf.yield %[[NM]], %[[NS]], %[[NA]]
// CHECK:   %[[OE:.*]] = tensor.expand_shape %[[KEYLOOP]]#2 {{\[}}[0], [1, 2], [3]] output_shape [2, %[[QB]], 2, 16]
// CHECK:   %[[LE:.*]] = tensor.expand_shape %[[KEYLOOP]]#1 {{\[}}[0, 1, 2]] output_shape [2, %[[QB]], 2]
// CHECK:   %[[DEST:.*]] = tensor.extract_slice %[[OUT]][0, 0, %[[I0]], 0] [2, 2, %[[QB]], 16]
// CHECK:   %[[NORMED:.*]] = linalg.generic {{.*}} ins(%[[OE]], %[[LE]] : tensor<2x?x2x16xf32>, tensor<2x?x2xf32>) outs(%[[DEST]] : tensor<2x2x?x16xf32>)
// CHECK:     arith.divf
// CHECK:   %[[INS:.*]] = tensor.insert_slice %[[NORMED]] into %[[OUT]][0, 0, %[[I0]], 0] [2, 2, %[[QB]], 16]
// CHECK:   scf.yield %[[INS]]
// CHECK: %[[RES:.*]] = tensor.collapse_shape %[[BLOCKS]] {{\[}}[0, 1], [2], [3]] : tensor<2x2x?x16xf32> into tensor<4x?x16xf32>
// CHECK: return %[[RES]]
func.func @tiled_causal(%q: tensor<4x?x8xf32>, %k: tensor<2x?x8xf32>, %v: tensor<2x?x16xf32>) -> tensor<4x?x16xf32> {
  %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, causal, scale = 0.35355339059327373 : f64,
                             tiling = #attn.sdpa_tiling<query_rows = 32, key_tile = 64>}
         : tensor<4x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x16xf32> -> tensor<4x?x16xf32>
  return %o : tensor<4x?x16xf32>
}

// -----

// Without a tiling attribute: 256 x 256 (SDPATiling's defaults), here one
// query head per K/V head, so 256 queries per block and 256 x 256 keys per
// decode tile. Without causal, every block visits all m keys and the tile has
// no mask operands.

// CHECK-LABEL: func @default_tiling_plain
// CHECK-SAME: (%[[Q:.*]]: tensor<2x?x8xf32>, %[[K:.*]]: tensor<2x?x8xf32>)
// CHECK-DAG: %[[DECODETILE:.*]] = arith.constant 65536 : index
// CHECK-DAG: %[[TILE:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[M:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<2x?x8xf32>
// CHECK-NOT: arith.subi %[[M]]
// CHECK: %[[KSTEP:.*]] = arith.select %{{.*}}, %[[DECODETILE]], %[[TILE]] : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[TILE]]
// CHECK:   scf.for %{{.*}} = %{{.*}} to %[[M]] step %[[KSTEP]]
// CHECK:     attn.online_attention {{.*}} rows %{{[^ ]*}} {group = 1 : i64}
// CHECK: return
func.func @default_tiling_plain(%q: tensor<2x?x8xf32>, %k: tensor<2x?x8xf32>) -> tensor<2x?x8xf32> {
  %o = attn.sdpa %q, %k, %k {heads = 2 : i64, kv_heads = 2 : i64, scale = 0.125 : f64}
         : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return %o : tensor<2x?x8xf32>
}
