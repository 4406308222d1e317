// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q5_k | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_k_m | FileCheck %s --check-prefix=MIX

// --weight-type=q5_k: a weight whose rows are a multiple of 256 wide is stored
// as ggml Q5_K super-blocks ([..., k/256, 176] bytes) and its product becomes
// the generic marked tfc.q5_k_matmul: Q4_K's maps with the nibbles 32 bytes
// further (byte 48 on), plus lane j's byte of fifth bits (16 + j mod 32); the
// body is ggml's dequantize_row_q5_K, (d * scale) * (nibble + 16 * bit j / 32
// of that byte) - dmin * min. The 96-wide down projection does not fit a
// super-block and falls back to Q8_0 (llama.cpp's quantizer takes Q5_1, which
// tfc has no kernel for).

// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$QS:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 64) * 32 + d3 mod 32 + 48)>
// CHECK-DAG: #[[$P:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 32) mod 4 + 4)>
// CHECK-DAG: #[[$Q:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 32) mod 4 + 8)>
// CHECK-DAG: #[[$R:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, (d3 floordiv 32) mod 4 + 12)>
// CHECK-DAG: #[[$D0:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 0)>
// CHECK-DAG: #[[$D1:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 1)>
// CHECK-DAG: #[[$M0:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 2)>
// CHECK-DAG: #[[$M1:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, 3)>
// CHECK-DAG: #[[$QH:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3 mod 32 + 16)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK: attn.weight_slots = [#attn.weight_slot<"up.weight", shape = [96, 256], dtype = q5_k, init = random>, #attn.weight_slot<"down.weight", shape = [64, 96], dtype = q8_0, init = random>, #attn.weight_slot<"blk.0.attn_qkv.weight", shape = [192, 256], dtype = q5_k, init = random>, #attn.weight_slot<"h.0.attn.c_attn.weight", shape = [192, 256], dtype = q5_k, init = random>, #attn.weight_slot<"blk.0.ffn_down.weight", shape = [64, 256], dtype = q5_k, init = random>, #attn.weight_slot<"blk.0.attn_q.weight", shape = [64, 256], dtype = q5_k, init = random>]
// CHECK-LABEL: func.func @quantized
// CHECK-SAME: %[[UP:[a-z0-9]+]]: memref<96x1x176xi8>, %[[DOWN:[a-z0-9]+]]: memref<64x3x34xi8>
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$QS]], #[[$P]], #[[$Q]], #[[$R]], #[[$D0]], #[[$D1]], #[[$M0]], #[[$M1]], #[[$QH]], #[[$C]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: tensor<?x1x256xf32>, tensor<96x1x176xi8>, tensor<96x1x176xi8>, tensor<96x1x176xi8>, tensor<96x1x176xi8>, tensor<96x1x176xi8>, tensor<96x1x176xi8>, tensor<96x1x176xi8>, tensor<96x1x176xi8>, tensor<96x1x176xi8>)
// CHECK-SAME: attrs = {tfc.q5_k_matmul}
// CHECK: ^bb0(%[[XA:.*]]: f32, %[[QS8:.*]]: i8, %[[P8:.*]]: i8, %[[Q8:.*]]: i8, %[[R8:.*]]: i8, %[[DLO:.*]]: i8, %[[DHI:.*]]: i8, %[[MLO:.*]]: i8, %[[MHI:.*]]: i8, %[[QH8:.*]]: i8, %[[ACC:.*]]: f32):
// The nibble: high for odd sub-blocks.
// CHECK: %[[J:.*]] = linalg.index 3 : index
// CHECK: %[[SUB:.*]] = arith.divui %[[J]], %{{.*}} : index
// CHECK: %[[ODD:.*]] = arith.remui %[[SUB]], %{{.*}} : index
// CHECK: %[[HIGHNIB:.*]] = arith.cmpi eq, %[[ODD]], %{{.*}} : index
// CHECK: %[[QHI:.*]] = arith.shrui %[[QS8]], %{{.*}} : i8
// CHECK: %[[QLO:.*]] = arith.andi %[[QS8]], %{{.*}} : i8
// CHECK: %[[QV:.*]] = arith.select %[[HIGHNIB]], %[[QHI]], %[[QLO]] : i8
// The fifth bit: bit s (the sub-block) of the high-bits byte, as 16.
// CHECK: %[[S8:.*]] = arith.index_cast %[[SUB]] : index to i8
// CHECK: %[[SHIFTED:.*]] = arith.shrui %[[QH8]], %[[S8]] : i8
// CHECK: %[[BIT:.*]] = arith.andi %[[SHIFTED]], %[[ONE:.*]] : i8
// CHECK: %[[SIXTEEN:.*]] = arith.shli %[[BIT]], %{{.*}} : i8
// CHECK: %[[Q5:.*]] = arith.ori %[[QV]], %[[SIXTEEN]] : i8
// Scale and min as for Q4_K (get_scale_min_k4).
// CHECK: %[[SC:.*]] = arith.select %{{.*}} : i8
// CHECK: %[[MIN:.*]] = arith.select %{{.*}} : i8
// CHECK: %[[D:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[SCF:.*]] = arith.uitofp %[[SC]] : i8 to f32
// CHECK: %[[DSC:.*]] = arith.mulf %[[D]], %[[SCF]] : f32
// CHECK: %[[DMIN:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[MINF:.*]] = arith.uitofp %[[MIN]] : i8 to f32
// CHECK: %[[DM:.*]] = arith.mulf %[[DMIN]], %[[MINF]] : f32
// CHECK: %[[QF:.*]] = arith.uitofp %[[Q5]] : i8 to f32
// CHECK: %[[SCALED:.*]] = arith.mulf %[[DSC]], %[[QF]] : f32
// CHECK: %[[WV:.*]] = arith.subf %[[SCALED]], %[[DM]] : f32
// CHECK: %[[PR:.*]] = arith.mulf %[[XA]], %[[WV]] : f32
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[PR]] : f32
// CHECK: linalg.yield %[[SUM]] : f32
// CHECK: linalg.generic
// CHECK-SAME: tensor<64x3x34xi8>
// CHECK-SAME: attrs = {tfc.q8_0_matmul}

// --weight-type=q4_k_m gives Q5_K to a fused query/key/value projection (GGUF
// attn_qkv, GPT-2's attn.c_attn), as llama.cpp's llama_tensor_get_type does
// under Q4_K_M; Q6_K to the down projection, Q4_K to a separate query one.
// MIX: attn.weight_slots = [#attn.weight_slot<"up.weight", shape = [96, 256], dtype = q4_k, init = random>, #attn.weight_slot<"down.weight", shape = [64, 96], dtype = q8_0, init = random>, #attn.weight_slot<"blk.0.attn_qkv.weight", shape = [192, 256], dtype = q5_k, init = random>, #attn.weight_slot<"h.0.attn.c_attn.weight", shape = [192, 256], dtype = q5_k, init = random>, #attn.weight_slot<"blk.0.ffn_down.weight", shape = [64, 256], dtype = q6_k, init = random>, #attn.weight_slot<"blk.0.attn_q.weight", shape = [64, 256], dtype = q4_k, init = random>]
// MIX-LABEL: func.func @fused
// MIX-SAME: memref<192x1x176xi8>, %{{.*}}: memref<192x1x176xi8>
// MIX-COUNT-2: attrs = {tfc.q5_k_matmul}
// MIX-LABEL: func.func @mixture
// MIX-SAME: memref<64x1x210xi8>, %{{.*}}: memref<64x1x144xi8>
// MIX: attrs = {tfc.q6_k_matmul}
// MIX: attrs = {tfc.q4_k_matmul}
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
  func.func @fused(%x: tensor<?x256xf32>) -> tensor<?x192xf32> {
    %c0 = arith.constant 0 : index
    %qkv = attn.weight "blk.0.attn_qkv.weight" : tensor<192x256xf32>
    %cattn = attn.weight "h.0.attn.c_attn.weight" : tensor<192x256xf32>
    %n = tensor.dim %x, %c0 : tensor<?x256xf32>
    %e = tensor.empty(%n) : tensor<?x192xf32>
    %a = linalg.matmul_transpose_b ins(%x, %qkv : tensor<?x256xf32>, tensor<192x256xf32>) outs(%e : tensor<?x192xf32>) -> tensor<?x192xf32>
    %b = linalg.matmul_transpose_b ins(%x, %cattn : tensor<?x256xf32>, tensor<192x256xf32>) outs(%a : tensor<?x192xf32>) -> tensor<?x192xf32>
    return %b : tensor<?x192xf32>
  }
  func.func @mixture(%x: tensor<?x256xf32>) -> tensor<?x64xf32> {
    %c0 = arith.constant 0 : index
    %down = attn.weight "blk.0.ffn_down.weight" : tensor<64x256xf32>
    %q = attn.weight "blk.0.attn_q.weight" : tensor<64x256xf32>
    %n = tensor.dim %x, %c0 : tensor<?x256xf32>
    %e = tensor.empty(%n) : tensor<?x64xf32>
    %c = linalg.matmul_transpose_b ins(%x, %down : tensor<?x256xf32>, tensor<64x256xf32>) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
    %d = linalg.matmul_transpose_b ins(%x, %q : tensor<?x256xf32>, tensor<64x256xf32>) outs(%c : tensor<?x64xf32>) -> tensor<?x64xf32>
    return %d : tensor<?x64xf32>
  }
}
