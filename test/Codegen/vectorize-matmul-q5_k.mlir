// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q5_k -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni vector-width=8" | FileCheck %s --enable-var-scope

// tfc-vectorize-matmul's Q5_K kernel (QuantizedKernels.cpp): Q4_K's (see
// vectorize-matmul-q4_k.mlir) with the 176-byte blocks' nibbles at byte 48 and
// their fifth bits: per super-block and row one 32-byte load of the high bits
// (byte 16); sub-block 2i's bits (bit 2i of each byte) are shifted onto bit 4
// (left by 4 - 2i, or right), masked to 16 and OR-ed onto the low nibbles,
// sub-block 2i + 1's onto the high ones, before the vpmaddubsw.
// (AVX2-sized vectors: the streaming tiles only, no int8 GEMM, see
// vectorize-matmul-k-quant-gemm.mlir.)

// CHECK-LABEL: func.func @q5k
// CHECK-DAG: %[[FOUR:.*]] = arith.constant dense<4> : vector<32xi8>
// CHECK-DAG: %[[THREE:.*]] = arith.constant dense<3> : vector<32xi8>
// CHECK-DAG: %[[SIXTEEN:.*]] = arith.constant dense<16> : vector<32xi8>
// CHECK: memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x8xi32>
// CHECK: %[[PACKED:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c4] : memref<8x2x176xi8>, vector<12xi8>
// CHECK: %[[HIGH:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c16] : memref<8x2x176xi8>, vector<32xi8>
// Sub-blocks 0 and 1: the nibbles of bytes 48..79, fifth bits 0 and 1.
// CHECK: %[[NIB:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c48] : memref<8x2x176xi8>, vector<32xi8>
// CHECK: %[[LOW:.*]] = arith.andi %[[NIB]], %{{.*}} : vector<32xi8>
// CHECK: %[[HIGHNIB:.*]] = arith.shrui %[[NIB]], %[[FOUR]] : vector<32xi8>
// CHECK: %[[B0:.*]] = arith.shli %[[HIGH]], %[[FOUR]] : vector<32xi8>
// CHECK: %[[M0:.*]] = arith.andi %[[B0]], %[[SIXTEEN]] : vector<32xi8>
// CHECK: %[[LOW5:.*]] = arith.ori %[[LOW]], %[[M0]] : vector<32xi8>
// CHECK: %[[B1:.*]] = arith.shli %[[HIGH]], %[[THREE]] : vector<32xi8>
// CHECK: %[[M1:.*]] = arith.andi %[[B1]], %[[SIXTEEN]] : vector<32xi8>
// CHECK: %[[HIGH5:.*]] = arith.ori %[[HIGHNIB]], %[[M1]] : vector<32xi8>
// CHECK: func.call @__tfc_llvm_x86_avx2_pmadd_ub_sw(%[[LOW5]], %{{.*}})
// CHECK: func.call @__tfc_llvm_x86_avx512_vpdpwssd_256(
// CHECK: func.call @__tfc_llvm_x86_avx2_pmadd_ub_sw(%[[HIGH5]], %{{.*}})
// CHECK: func.call @__tfc_llvm_x86_avx512_vpdpwssd_256(
// Sub-blocks 6 and 7: bytes 144..175, fifth bits 6 and 7 shifted right.
// CHECK: %[[NIB3:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c144] : memref<8x2x176xi8>, vector<32xi8>
// CHECK: arith.shrui %[[HIGH]], %{{.*}} : vector<32xi8>
// CHECK: arith.shrui %[[HIGH]], %{{.*}} : vector<32xi8>
// The mins, as for Q4_K.
// CHECK: arith.negf %{{.*}} : f32
module {
  func.func @q5k(%x: tensor<?x512xf32>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %w = attn.weight "w.weight" : tensor<8x512xf32>
    %n = tensor.dim %x, %c0 : tensor<?x512xf32>
    %e = tensor.empty(%n) : tensor<?x8xf32>
    %y = linalg.matmul_transpose_b ins(%x, %w : tensor<?x512xf32>, tensor<8x512xf32>) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}
