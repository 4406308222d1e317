// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q6_k | FileCheck %s --enable-var-scope

// --weight-type=q6_k: a weight whose rows are a multiple of 256 wide is stored
// as ggml Q6_K super-blocks ([..., k/256, 210] bytes) and its product becomes
// the generic marked tfc.q6_k_matmul, whose maps pick lane j's low-bits byte,
// high-bits byte, sub-block scale and the super-block's f16 scale
// (tfc/Utils/QuantizedMatmul.h). The 96-wide down projection does not fit a
// super-block and falls back to Q8_0, as llama.cpp's quantizer does for Q6_K.

// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$QL:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 128) * 64 + (((d3 mod 128) floordiv 32) mod 2) * 32 + d3 mod 32)>
// CHECK-DAG: #[[$QH:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 128) * 32 + d3 mod 32 + 128)>
// CHECK-DAG: #[[$SC:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3 floordiv 16 + 192)>
// CHECK-DAG: #[[$LO:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 208)>
// CHECK-DAG: #[[$HI:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 209)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK: attn.weight_slots = [#attn.weight_slot<"up.weight", shape = [96, 256], dtype = q6_k, init = random>, #attn.weight_slot<"down.weight", shape = [64, 96], dtype = q8_0, init = random>]
// CHECK-LABEL: func.func @quantized
// CHECK-SAME: %[[UP:[a-z0-9]+]]: memref<96x1x210xi8>, %[[DOWN:[a-z0-9]+]]: memref<64x3x34xi8>
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$QL]], #[[$QH]], #[[$SC]], #[[$LO]], #[[$HI]], #[[$C]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: tensor<?x1x256xf32>, tensor<96x1x210xi8>, tensor<96x1x210xi8>, tensor<96x1x210xi8>, tensor<96x1x210xi8>, tensor<96x1x210xi8>)
// CHECK-SAME: attrs = {tfc.q6_k_matmul}
// CHECK: ^bb0(%[[XA:.*]]: f32, %[[QL8:.*]]: i8, %[[QH8:.*]]: i8, %[[S8:.*]]: i8, %[[B0:.*]]: i8, %[[B1:.*]]: i8, %[[ACC:.*]]: f32):
// CHECK: %[[D:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[SF:.*]] = arith.sitofp %[[S8]] : i8 to f32
// CHECK: %[[SUB:.*]] = arith.mulf %[[SF]], %[[D]] : f32
// CHECK: %[[J:.*]] = linalg.index 3 : index
// CHECK: %[[INHALF:.*]] = arith.remui %[[J]], %{{.*}} : index
// CHECK: %[[GROUP:.*]] = arith.divui %[[INHALF]], %{{.*}} : index
// CHECK: %[[G8:.*]] = arith.index_cast %[[GROUP]] : index to i8
// CHECK: %[[LOWHALF:.*]] = arith.divui %[[G8]], %{{.*}} : i8
// CHECK: %[[LS:.*]] = arith.muli %[[LOWHALF]], %{{.*}} : i8
// CHECK: %[[HS:.*]] = arith.muli %[[G8]], %{{.*}} : i8
// CHECK: %[[L1:.*]] = arith.shrui %[[QL8]], %[[LS]] : i8
// CHECK: %[[LOW:.*]] = arith.andi %[[L1]], %{{.*}} : i8
// CHECK: %[[H1:.*]] = arith.shrui %[[QH8]], %[[HS]] : i8
// CHECK: %[[HIGH:.*]] = arith.andi %[[H1]], %{{.*}} : i8
// CHECK: %[[HIGH4:.*]] = arith.shli %[[HIGH]], %{{.*}} : i8
// CHECK: %[[Q6:.*]] = arith.ori %[[LOW]], %[[HIGH4]] : i8
// CHECK: %[[Q:.*]] = arith.subi %[[Q6]], %{{.*}} : i8
// CHECK: %[[QF:.*]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK: %[[WV:.*]] = arith.mulf %[[QF]], %[[SUB]] : f32
// CHECK: %[[P:.*]] = arith.mulf %[[XA]], %[[WV]] : f32
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK: linalg.yield %[[SUM]] : f32
// CHECK: linalg.generic
// CHECK-SAME: tensor<64x3x34xi8>
// CHECK-SAME: attrs = {tfc.q8_0_matmul}
module {
  func.func @quantized(%x: tensor<?x256xf32>) -> tensor<?x64xf32> {
    %c0 = arith.constant 0 : index
    %up = attn.weight "up.weight" : tensor<96x256xf32>
    %down = attn.weight "down.weight" : tensor<64x96xf32>
    %n = tensor.dim %x, %c0 : tensor<?x256xf32>
    %e96 = tensor.empty(%n) : tensor<?x96xf32>
    %h = linalg.matmul_transpose_b ins(%x, %up : tensor<?x256xf32>, tensor<96x256xf32>) outs(%e96 : tensor<?x96xf32>) -> tensor<?x96xf32>
    %e64 = tensor.empty(%n) : tensor<?x64xf32>
    %o = linalg.matmul_transpose_b ins(%h, %down : tensor<?x96xf32>, tensor<64x96xf32>) outs(%e64 : tensor<?x64xf32>) -> tensor<?x64xf32>
    return %o : tensor<?x64xf32>
  }
}
