// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_0 | FileCheck %s --enable-var-scope

// --weight-type=q4_0: as with q8_0 (tfc-lower-entry-points-q8_0.mlir) the
// weights that only linear layers read, with rows a multiple of 32 wide, are
// stored as blocks, here Q4_0's ([..., k/32, 18] bytes), and their products
// become the generic marked tfc.q4_0_matmul. Lane j of a block reads byte
// 2 + j mod 16, its low nibble for j < 16 and its high one above, minus 8.

// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$Q:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3 mod 16 + 2)>
// CHECK-DAG: #[[$LO:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 0)>
// CHECK-DAG: #[[$HI:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 1)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK: attn.weight_slots = [#attn.weight_slot<"tied.weight", shape = [10, 64], dtype = f32, init = random>, #attn.weight_slot<"l." * ".weight" layers 2, shape = [2, 64, 64], dtype = q4_0, init = random>, #attn.weight_slot<"narrow.weight", shape = [64, 40], dtype = f32, init = random>, #attn.weight_slot<"up.weight", shape = [40, 64], dtype = q4_0, init = random>]
// CHECK-LABEL: func.func @quantized
// CHECK-SAME: %[[W:[a-z0-9]+]]: memref<?xi8>, %[[TAB:[a-z0-9]+]]: memref<2xi64>, %[[NARROW:[a-z0-9]+]]: memref<64x40xf32>, %[[UP:[a-z0-9]+]]: memref<40x2x18xi8>
// CHECK: %[[V:.*]] = memref.reinterpret_cast %[[W]] to offset: [%{{.*}}], sizes: [64, 2, 18], strides: [36, 18, 1] : memref<?xi8> to memref<64x2x18xi8, strided<[36, 18, 1], offset: ?>>
// CHECK: %[[S:.*]] = bufferization.to_tensor %[[V]] restrict
// CHECK: %[[X3:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 2, 32] : tensor<?x64xf32> into tensor<?x2x32xf32>
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$Q]], #[[$LO]], #[[$HI]], #[[$C]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[X3]], %[[S]], %[[S]], %[[S]] : tensor<?x2x32xf32>, tensor<64x2x18xi8>, tensor<64x2x18xi8>, tensor<64x2x18xi8>)
// CHECK-SAME: attrs = {tfc.q4_0_matmul}
// CHECK: ^bb0(%[[XA:.*]]: f32, %[[QW:.*]]: i8, %[[B0:.*]]: i8, %[[B1:.*]]: i8, %[[ACC:.*]]: f32):
// CHECK: %[[D:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[J:.*]] = linalg.index 3 : index
// CHECK: %[[J8:.*]] = arith.index_cast %[[J]] : index to i8
// CHECK: %[[HALF:.*]] = arith.divui %[[J8]], %{{.*}} : i8
// CHECK: %[[SHIFT:.*]] = arith.muli %[[HALF]], %{{.*}} : i8
// CHECK: %[[SH:.*]] = arith.shrui %[[QW]], %[[SHIFT]] : i8
// CHECK: %[[NIB:.*]] = arith.andi %[[SH]], %{{.*}} : i8
// CHECK: %[[Q:.*]] = arith.subi %[[NIB]], %{{.*}} : i8
// CHECK: %[[QF:.*]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK: %[[WV:.*]] = arith.mulf %[[QF]], %[[D]] : f32
// CHECK: %[[P:.*]] = arith.mulf %[[XA]], %[[WV]] : f32
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK: linalg.yield %[[SUM]] : f32
// CHECK: linalg.generic
// CHECK-SAME: tensor<40x2x18xi8>
// CHECK-SAME: attrs = {tfc.q4_0_matmul}
// CHECK: linalg.matmul_transpose_b ins(%{{.*}}, %{{.*}} : tensor<?x40xf32>, tensor<64x40xf32>)
// CHECK: linalg.matmul_transpose_b ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<10x64xf32>)
module {
  func.func @quantized(%x: tensor<?x64xf32>, %i: index) -> tensor<?x10xf32> {
    %c0 = arith.constant 0 : index
    %emb = attn.weight "tied.weight" : tensor<10x64xf32>
    %w = attn.weight "l." * ".weight" layers 2 : tensor<2x64x64xf32>
    %narrow = attn.weight "narrow.weight" : tensor<64x40xf32>
    %up = attn.weight "up.weight" : tensor<40x64xf32>
    %n = tensor.dim %x, %c0 : tensor<?x64xf32>
    %s = tensor.extract_slice %w[%i, 0, 0] [1, 64, 64] [1, 1, 1] : tensor<2x64x64xf32> to tensor<64x64xf32>
    %e = tensor.empty(%n) : tensor<?x64xf32>
    %h = linalg.matmul_transpose_b ins(%x, %s : tensor<?x64xf32>, tensor<64x64xf32>) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
    %e40 = tensor.empty(%n) : tensor<?x40xf32>
    %g = linalg.matmul_transpose_b ins(%h, %up : tensor<?x64xf32>, tensor<40x64xf32>) outs(%e40 : tensor<?x40xf32>) -> tensor<?x40xf32>
    %h2 = linalg.matmul_transpose_b ins(%g, %narrow : tensor<?x40xf32>, tensor<64x40xf32>) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
    %e2 = tensor.empty(%n) : tensor<?x10xf32>
    %o = linalg.matmul_transpose_b ins(%h2, %emb : tensor<?x64xf32>, tensor<10x64xf32>) outs(%e2 : tensor<?x10xf32>) -> tensor<?x10xf32>
    %first = tensor.extract %emb[%c0, %c0] : tensor<10x64xf32>
    %ob = linalg.fill ins(%first : f32) outs(%o : tensor<?x10xf32>) -> tensor<?x10xf32>
    return %ob : tensor<?x10xf32>
  }
}
