// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_k | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_k_m | FileCheck %s --check-prefix=MIX
// RUN: tfc-opt %s '-tfc-lower-entry-points=weight-type=q4_k weight-types=blk.0.attn_v.weight=q5_k,blk.1.attn_v.weight=q6_k,blk.2.attn_v.weight=q4_k,up.weight=q4_0,down.weight=f16,l.v_proj.weight=q8_0,lm_head.weight=f32' | FileCheck %s --check-prefix=FILE
// RUN: tfc-opt %s '-tfc-lower-entry-points=weight-type=q4_k weight-types=blk.0.attn_v.weight=q6_k,blk.1.attn_v.weight=q8_0,blk.2.attn_v.weight=q6_k' | FileCheck %s --check-prefix=MOST

// --weight-type=q4_k: a weight whose rows are a multiple of 256 wide is stored
// as ggml Q4_K super-blocks ([..., k/256, 144] bytes) and its product becomes
// the generic marked tfc.q4_k_matmul, whose maps pick lane j's nibble byte,
// the three packed bytes its sub-block's 6-bit scale and min are made of, d and
// dmin (tfc/Utils/QuantizedMatmul.h); the body is ggml's dequantize_row_q4_K,
// (d * scale) * q - dmin * min. The 96-wide down projection does not fit a
// super-block and falls back to Q8_0 (llama.cpp's quantizer takes Q5_0, which
// tfc has no kernel for).

// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$QS:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 64) * 32 + d3 mod 32 + 16)>
// CHECK-DAG: #[[$P:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 32) mod 4 + 4)>
// CHECK-DAG: #[[$Q:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 32) mod 4 + 8)>
// CHECK-DAG: #[[$R:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 32) mod 4 + 12)>
// CHECK-DAG: #[[$D0:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 0)>
// CHECK-DAG: #[[$D1:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 1)>
// CHECK-DAG: #[[$M0:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 2)>
// CHECK-DAG: #[[$M1:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 3)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK: attn.weight_slots = [#attn.weight_slot<"up.weight", shape = [96, 256], dtype = q4_k, init = random>, #attn.weight_slot<"down.weight", shape = [64, 96], dtype = q8_0, init = random>, #attn.weight_slot<"l.v_proj.weight", shape = [64, 256], dtype = q4_k, init = random>, #attn.weight_slot<"lm_head.weight", shape = [64, 256], dtype = q4_k, init = random>, #attn.weight_slot<"blk.0.ffn_down.weight", shape = [64, 256], dtype = q4_k, init = random>, #attn.weight_slot<"blk.0.attn_output.weight", shape = [64, 256], dtype = q4_k, init = random>, #attn.weight_slot<"blk." * ".attn_v.weight" layers 3, shape = [3, 64, 256], dtype = q4_k, init = random>]
// CHECK-LABEL: func.func @quantized
// CHECK-SAME: %[[UP:[a-z0-9]+]]: memref<96x1x144xi8>, %[[DOWN:[a-z0-9]+]]: memref<64x3x34xi8>
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$QS]], #[[$P]], #[[$Q]], #[[$R]], #[[$D0]], #[[$D1]], #[[$M0]], #[[$M1]], #[[$C]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: tensor<?x1x256xf32>, tensor<96x1x144xi8>, tensor<96x1x144xi8>, tensor<96x1x144xi8>, tensor<96x1x144xi8>, tensor<96x1x144xi8>, tensor<96x1x144xi8>, tensor<96x1x144xi8>, tensor<96x1x144xi8>)
// CHECK-SAME: attrs = {tfc.q4_k_matmul}
// CHECK: ^bb0(%[[XA:.*]]: f32, %[[QS8:.*]]: i8, %[[P8:.*]]: i8, %[[Q8:.*]]: i8, %[[R8:.*]]: i8, %[[DLO:.*]]: i8, %[[DHI:.*]]: i8, %[[MLO:.*]]: i8, %[[MHI:.*]]: i8, %[[ACC:.*]]: f32):
// The nibble: high for odd sub-blocks.
// CHECK: %[[J:.*]] = linalg.index 3 : index
// CHECK: %[[SUB:.*]] = arith.divui %[[J]], %{{.*}} : index
// CHECK: %[[ODD:.*]] = arith.remui %[[SUB]], %{{.*}} : index
// CHECK: %[[HIGHNIB:.*]] = arith.cmpi eq, %[[ODD]], %{{.*}} : index
// CHECK: %[[QH:.*]] = arith.shrui %[[QS8]], %{{.*}} : i8
// CHECK: %[[QL:.*]] = arith.andi %[[QS8]], %{{.*}} : i8
// CHECK: %[[QV:.*]] = arith.select %[[HIGHNIB]], %[[QH]], %[[QL]] : i8
// Sub-blocks 0-3: the low six bits of p and q; 4-7: r's nibbles under the top
// two bits of p and q.
// CHECK: %[[J2:.*]] = linalg.index 3 : index
// CHECK: %[[UPPER:.*]] = arith.cmpi uge, %[[J2]], %{{.*}} : index
// CHECK: %[[LSC:.*]] = arith.andi %[[P8]], %[[C63:.*]] : i8
// CHECK: %[[LMIN:.*]] = arith.andi %[[Q8]], %{{.*}} : i8
// CHECK: %[[RLO:.*]] = arith.andi %[[R8]], %{{.*}} : i8
// CHECK: %[[PTOP:.*]] = arith.shrui %[[P8]], %{{.*}} : i8
// CHECK: %[[PTOP4:.*]] = arith.shli %[[PTOP]], %{{.*}} : i8
// CHECK: %[[HSC:.*]] = arith.ori %[[RLO]], %[[PTOP4]] : i8
// CHECK: %[[RHI:.*]] = arith.shrui %[[R8]], %{{.*}} : i8
// CHECK: %[[QTOP:.*]] = arith.shrui %[[Q8]], %{{.*}} : i8
// CHECK: %[[QTOP4:.*]] = arith.shli %[[QTOP]], %{{.*}} : i8
// CHECK: %[[HMIN:.*]] = arith.ori %[[RHI]], %[[QTOP4]] : i8
// CHECK: %[[SC:.*]] = arith.select %[[UPPER]], %[[HSC]], %[[LSC]] : i8
// CHECK: %[[MIN:.*]] = arith.select %[[UPPER]], %[[HMIN]], %[[LMIN]] : i8
// CHECK: %[[D:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[SCF:.*]] = arith.uitofp %[[SC]] : i8 to f32
// CHECK: %[[DSC:.*]] = arith.mulf %[[D]], %[[SCF]] : f32
// CHECK: %[[DMIN:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[MINF:.*]] = arith.uitofp %[[MIN]] : i8 to f32
// CHECK: %[[DM:.*]] = arith.mulf %[[DMIN]], %[[MINF]] : f32
// CHECK: %[[QF:.*]] = arith.uitofp %[[QV]] : i8 to f32
// CHECK: %[[SCALED:.*]] = arith.mulf %[[DSC]], %[[QF]] : f32
// CHECK: %[[WV:.*]] = arith.subf %[[SCALED]], %[[DM]] : f32
// CHECK: %[[PR:.*]] = arith.mulf %[[XA]], %[[WV]] : f32
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[PR]] : f32
// CHECK: linalg.yield %[[SUM]] : f32
// CHECK: linalg.generic
// CHECK-SAME: tensor<64x3x34xi8>
// CHECK-SAME: attrs = {tfc.q8_0_matmul}

// --weight-type=q4_k_m picks the type per slot by name (llama.cpp's Q4_K_M):
// Q6_K for the output matrix and for value and down projections, Q4_K for the
// rest, with the same fallbacks.
// MIX: attn.weight_slots = [#attn.weight_slot<"up.weight", shape = [96, 256], dtype = q4_k, init = random>, #attn.weight_slot<"down.weight", shape = [64, 96], dtype = q8_0, init = random>, #attn.weight_slot<"l.v_proj.weight", shape = [64, 256], dtype = q6_k, init = random>, #attn.weight_slot<"lm_head.weight", shape = [64, 256], dtype = q6_k, init = random>, #attn.weight_slot<"blk.0.ffn_down.weight", shape = [64, 256], dtype = q6_k, init = random>, #attn.weight_slot<"blk.0.attn_output.weight", shape = [64, 256], dtype = q4_k, init = random>, #attn.weight_slot<"blk." * ".attn_v.weight" layers 3, shape = [3, 64, 256], dtype = q4_k, layer_dtypes = [q4_k, q4_k, q6_k], init = random>]
// MIX-LABEL: func.func @quantized
// MIX-LABEL: func.func @mixture
// MIX-SAME: memref<64x1x210xi8>, %{{.*}}: memref<64x1x210xi8>, %{{.*}}: memref<64x1x210xi8>, %{{.*}}: memref<64x1x144xi8>
// MIX-COUNT-3: attrs = {tfc.q6_k_matmul}
// MIX: attrs = {tfc.q4_k_matmul}
// A stacked value projection read per layer takes llama.cpp's per-layer types
// (use_more_bits: of 3 layers, only the last keeps Q6_K): the slot lists them,
// and each product branches on its layer's entry in a constant table, viewing
// the layer at its offset as Q6_K or Q4_K blocks.
// MIX-LABEL: func.func @layers
// MIX-SAME: %{{.*}}: memref<?xi8>, %[[TABLE:.*]]: memref<3xi64>
// MIX: scf.for %[[L:[a-z0-9]+]] =
// MIX: %[[KINDS:.*]] = arith.constant dense<[0, 0, 1]> : tensor<3xi32>
// MIX: %[[KIND:.*]] = tensor.extract %[[KINDS]][%[[L]]] : tensor<3xi32>
// MIX: memref.load %[[TABLE]][%[[L]]] : memref<3xi64>
// MIX: %[[FOUR:.*]] = arith.cmpi eq, %[[KIND]], %c0_i32 : i32
// MIX: scf.if %[[FOUR]] -> (tensor<?x64xf32>) {
// MIX: memref.reinterpret_cast %{{.*}} to offset: [%{{.*}}], sizes: [64, 1, 144], strides: [144, 144, 1]
// MIX: attrs = {tfc.q4_k_matmul}
// MIX: } else {
// MIX: memref.reinterpret_cast %{{.*}} to offset: [%{{.*}}], sizes: [64, 1, 210], strides: [210, 210, 1]
// MIX: attrs = {tfc.q6_k_matmul}

// weight-types (what `tfc model.gguf` passes: the type each tensor has in the
// file) gives each slot its tensors' types, whatever weight-type says: Q4_0,
// F16 and Q8_0 slots, an F32 one kept f32, and the stacked value projection
// whose layers are Q5_K, Q6_K and Q4_K takes them per layer (the base type is
// the first of the most common), one branch per format in the order they
// first appear. Slots the file does not list take weight-type (Q4_K).
// FILE: attn.weight_slots = [#attn.weight_slot<"up.weight", shape = [96, 256], dtype = q4_0, init = random>, #attn.weight_slot<"down.weight", shape = [64, 96], dtype = f16, init = random>, #attn.weight_slot<"l.v_proj.weight", shape = [64, 256], dtype = q8_0, init = random>, #attn.weight_slot<"lm_head.weight", shape = [64, 256], dtype = f32, init = random>, #attn.weight_slot<"blk.0.ffn_down.weight", shape = [64, 256], dtype = q4_k, init = random>, #attn.weight_slot<"blk.0.attn_output.weight", shape = [64, 256], dtype = q4_k, init = random>, #attn.weight_slot<"blk." * ".attn_v.weight" layers 3, shape = [3, 64, 256], dtype = q5_k, layer_dtypes = [q5_k, q6_k, q4_k], init = random>]
// FILE-LABEL: func.func @quantized
// FILE-SAME: memref<96x8x18xi8>, %{{.*}}: memref<64x96xf16>
// FILE: attrs = {tfc.q4_0_matmul}
// FILE: linalg.matmul_transpose_b {{.*}}tensor<64x96xf16>
// FILE-LABEL: func.func @mixture
// FILE-SAME: memref<64x8x34xi8>, %{{.*}}: memref<64x256xf32>
// FILE-LABEL: func.func @layers
// FILE: arith.constant dense<[0, 1, 2]> : tensor<3xi32>
// FILE: scf.if
// FILE: sizes: [64, 1, 176]
// FILE: attrs = {tfc.q5_k_matmul}
// FILE: } else {
// FILE: scf.if
// FILE: sizes: [64, 1, 210]
// FILE: attrs = {tfc.q6_k_matmul}
// FILE: } else {
// FILE: sizes: [64, 1, 144]
// FILE: attrs = {tfc.q4_k_matmul}
// Layers of types that cannot be had per layer (Q8_0 with Q6_K: not one
// super-block width) take the most precise of them (most bytes per value);
// the load converts the others.
// MOST: #attn.weight_slot<"blk." * ".attn_v.weight" layers 3, shape = [3, 64, 256], dtype = q8_0, init = random>
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
  func.func @mixture(%x: tensor<?x256xf32>) -> tensor<?x64xf32> {
    %c0 = arith.constant 0 : index
    %v = attn.weight "l.v_proj.weight" : tensor<64x256xf32>
    %out = attn.weight "lm_head.weight" : tensor<64x256xf32>
    %down = attn.weight "blk.0.ffn_down.weight" : tensor<64x256xf32>
    %o = attn.weight "blk.0.attn_output.weight" : tensor<64x256xf32>
    %n = tensor.dim %x, %c0 : tensor<?x256xf32>
    %e = tensor.empty(%n) : tensor<?x64xf32>
    %a = linalg.matmul_transpose_b ins(%x, %v : tensor<?x256xf32>, tensor<64x256xf32>) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
    %b = linalg.matmul_transpose_b ins(%x, %out : tensor<?x256xf32>, tensor<64x256xf32>) outs(%a : tensor<?x64xf32>) -> tensor<?x64xf32>
    %c = linalg.matmul_transpose_b ins(%x, %down : tensor<?x256xf32>, tensor<64x256xf32>) outs(%b : tensor<?x64xf32>) -> tensor<?x64xf32>
    %d = linalg.matmul_transpose_b ins(%x, %o : tensor<?x256xf32>, tensor<64x256xf32>) outs(%c : tensor<?x64xf32>) -> tensor<?x64xf32>
    return %d : tensor<?x64xf32>
  }
  func.func @layers(%x: tensor<?x256xf32>) -> tensor<?x64xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %v = attn.weight "blk." * ".attn_v.weight" layers 3 : tensor<3x64x256xf32>
    %n = tensor.dim %x, %c0 : tensor<?x256xf32>
    %e = tensor.empty(%n) : tensor<?x64xf32>
    %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%acc = %e) -> (tensor<?x64xf32>) {
      %w = tensor.extract_slice %v[%i, 0, 0] [1, 64, 256] [1, 1, 1] : tensor<3x64x256xf32> to tensor<64x256xf32>
      %p = linalg.matmul_transpose_b ins(%x, %w : tensor<?x256xf32>, tensor<64x256xf32>) outs(%acc : tensor<?x64xf32>) -> tensor<?x64xf32>
      scf.yield %p : tensor<?x64xf32>
    }
    return %r : tensor<?x64xf32>
  }
}
