// RUN: tfc-opt %s -split-input-file -tfc-convert-attn-to-linalg -canonicalize -cse | FileCheck %s --enable-var-scope

// attn.kv_quant to Q8_0: the row's blocks seen as [H, n, 2, 32]; amax by a
// reduction, the int8 round(x * (1 / s)) and the two bytes of the f16 scale
// inserted at byte 2 and bytes 0 and 1 of each 34-byte block.
// CHECK-LABEL: func.func @quant_q8_0
// CHECK: %[[X:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] {{.*}} into tensor<2x?x2x32xf32>
// CHECK: %[[AMAX:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]{{.*}} ins(%[[X]]
// CHECK:   math.absf
// CHECK:   arith.maximumf
// CHECK: %[[Q:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[AMAX]] : {{.*}}) outs({{.*}} : tensor<2x?x2x32xi8>)
// CHECK:   math.round
// CHECK:   arith.fptosi {{.*}} : f32 to i8
// CHECK: %[[B2:.*]] = tensor.insert_slice %[[Q]] into %{{.*}}[0, 0, 0, 2] [2, %{{.*}}, 2, 32]
// CHECK: %[[LO:.*]] = linalg.generic {{.*}} ins(%[[AMAX]]
// CHECK:   arith.truncf {{.*}} : f32 to f16
// CHECK: %[[B0:.*]] = tensor.insert_slice %[[LO]] into %[[B2]][0, 0, 0, 0] [2, %{{.*}}, 2, 1]
// CHECK: %[[HI:.*]] = linalg.generic {{.*}} ins(%[[AMAX]]
// CHECK:   arith.shrui
// CHECK: %[[B1:.*]] = tensor.insert_slice %[[HI]] into %[[B0]][0, 0, 0, 1] [2, %{{.*}}, 2, 1]
// CHECK: tensor.collapse_shape %[[B1]] {{.*}} into tensor<2x?x68xi8>
func.func @quant_q8_0(%k: tensor<2x?x64xf32>) -> tensor<2x?x68xi8> {
  %q = attn.kv_quant %k : tensor<2x?x64xf32> -> tensor<2x?x68xi8>
  return %q : tensor<2x?x68xi8>
}

// -----

// attn.kv_quant to bf16 rounds to nearest even on the bits (no libcall).
// CHECK-LABEL: func.func @quant_bf16
// CHECK: linalg.generic
// CHECK:   arith.bitcast {{.*}} : f32 to i32
// CHECK:   arith.addi
// CHECK:   arith.cmpf uno
// CHECK:   arith.bitcast {{.*}} : i16 to bf16
func.func @quant_bf16(%k: tensor<2x?x64xf32>) -> tensor<2x?x64xbf16> {
  %q = attn.kv_quant %k : tensor<2x?x64xf32> -> tensor<2x?x64xbf16>
  return %q : tensor<2x?x64xbf16>
}

// -----

// Attention over narrow caches converts one key tile at a time, never the whole
// cache: the Q8_0 key tile is sliced from the stored bytes and dequantized (scale
// from bytes 0 and 1, int8 from byte 2 on) before the scores' product; the bf16
// value tile goes to the product as it is.
// CHECK-LABEL: func.func @sdpa_narrow
// CHECK-SAME: (%{{.*}}: tensor<4x?x64xf32>, %[[KS:.*]]: tensor<2x?x68xi8>, %[[VS:.*]]: tensor<2x?x64xbf16>)
// CHECK: scf.for
// CHECK: scf.for %[[J:.*]] = {{.*}} step %c256
// CHECK:   %[[KT:.*]] = tensor.extract_slice %[[KS]][0, %[[J]], 0] [2, %[[T:.*]], 68]
// CHECK:   %[[KB:.*]] = tensor.expand_shape %[[KT]] {{.*}} into tensor<2x?x2x34xi8>
// CHECK:   %[[QS:.*]] = tensor.extract_slice %[[KB]][0, 0, 0, 2] [2, %[[T]], 2, 32]
// CHECK:   %[[LO:.*]] = tensor.extract_slice %[[KB]][0, 0, 0, 0] [2, %[[T]], 2, 1]
// CHECK:   %[[HI:.*]] = tensor.extract_slice %[[KB]][0, 0, 0, 1] [2, %[[T]], 2, 1]
// CHECK:   %[[DQ:.*]] = linalg.generic {{.*}} ins(%[[QS]], %[[LO]], %[[HI]] : tensor<2x?x2x32xi8>, tensor<2x?x2xi8>, tensor<2x?x2xi8>) outs(%{{.*}} : tensor<2x?x2x32xf32>)
// CHECK:     arith.bitcast {{.*}} : i16 to f16
// CHECK:     arith.sitofp {{.*}} : i8 to f32
// CHECK:   %[[K:.*]] = tensor.collapse_shape %[[DQ]] {{.*}} into tensor<2x?x64xf32>
// CHECK:   %[[VT:.*]] = tensor.extract_slice %[[VS]][0, %[[J]], 0] [2, %[[T]], 64] {{.*}} to tensor<2x?x64xbf16>
// CHECK:   linalg.batch_matmul_transpose_b ins(%{{.*}}, %[[K]] : tensor<2x?x64xf32>, tensor<2x?x64xf32>)
// CHECK:   linalg.batch_matmul ins(%{{.*}}, %[[VT]] : tensor<2x?x?xf32>, tensor<2x?x64xbf16>)
func.func @sdpa_narrow(%q: tensor<4x?x64xf32>, %s: tensor<2x?x68xi8>, %t: tensor<2x?x64xbf16>) -> tensor<4x?x64xf32> {
  %k = attn.kv_dequant %s : tensor<2x?x68xi8> -> tensor<2x?x64xf32>
  %v = attn.kv_dequant %t : tensor<2x?x64xbf16> -> tensor<2x?x64xf32>
  %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, causal, scale = 0.125 : f64} : tensor<4x?x64xf32>, tensor<2x?x64xf32>, tensor<2x?x64xf32> -> tensor<4x?x64xf32>
  return %o : tensor<4x?x64xf32>
}

// -----

// A view read whole (the GQA-replicating lowering's repeat_kv) is dequantized whole.
// CHECK-LABEL: func.func @dequant_whole
// CHECK: linalg.generic
// CHECK:   arith.extf {{.*}} : bf16 to f32
func.func @dequant_whole(%t: tensor<2x?x64xbf16>) -> tensor<2x?x64xf32> {
  %v = attn.kv_dequant %t : tensor<2x?x64xbf16> -> tensor<2x?x64xf32>
  return %v : tensor<2x?x64xf32>
}
