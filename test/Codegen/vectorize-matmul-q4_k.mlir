// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_k -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni vector-width=8" | FileCheck %s --enable-var-scope

// tfc-vectorize-matmul's Q4_K kernel (QuantizedKernels.cpp): the activations
// quantized per 256 (one f32 scale per super-block, 8 sub-block sums of the
// int8 values); per super-block and row, the 12 packed bytes unpacked into
// eight 6-bit scales and mins by shuffles; each 32-byte load of nibbles is two
// sub-blocks (low and high nibbles), each one vpmaddubsw against the
// activations (i16 pairs) and one vpdpwssd of the pairs by its scale (a
// broadcast i16 lane) into the i32 sums; then one conversion scaled by
// d_a * d, and the mins folded in as (mins * sums) scaled by -(d_a * dmin),
// into the same f32 accumulator. (AVX2-sized vectors: the streaming tiles
// only, no int8 GEMM, see vectorize-matmul-k-quant-gemm.mlir.)

// CHECK-LABEL: func.func @q4k
// CHECK: %[[QA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x256xi8>
// CHECK: %[[DA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2xf32>
// CHECK: %[[SA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x8xi32>
// The sub-block sums of the quantized activations.
// CHECK: %[[WIDE:.*]] = arith.extsi %{{.*}} : vector<32xi8> to vector<32xi32>
// CHECK: %[[SUM0:.*]] = vector.reduction <add>, %[[WIDE]] : vector<32xi32> into i32
// CHECK: memref.store %[[SUM0]], %[[SA]][%{{.*}}, %{{.*}}, %c0] : memref<?x2x8xi32>
// Scales and mins of a super-block.
// CHECK: %[[PACKED:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c4] : memref<8x2x144xi8>, vector<12xi8>
// CHECK: vector.shuffle %[[PACKED]], %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11] : vector<12xi8>, vector<12xi8>
// CHECK: vector.shuffle %[[PACKED]], %{{.*}} [12, 12, 12, 12, 0, 1, 2, 3] : vector<12xi8>, vector<12xi8>
// CHECK: vector.shuffle %[[PACKED]], %{{.*}} [4, 5, 6, 7, 8, 9, 10, 11] : vector<12xi8>, vector<12xi8>
// CHECK: vector.shuffle %[[PACKED]], %{{.*}} [12, 12, 12, 12, 4, 5, 6, 7] : vector<12xi8>, vector<12xi8>
// CHECK: %[[SCALES:.*]] = arith.extui %{{.*}} : vector<8xi8> to vector<8xi16>
// CHECK: %[[MINS:.*]] = arith.extui %{{.*}} : vector<8xi8> to vector<8xi32>
// Sub-blocks 0 and 1: one load, low and high nibbles.
// CHECK: %[[NIB:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c16] : memref<8x2x144xi8>, vector<32xi8>
// CHECK: %[[LOW:.*]] = arith.andi %[[NIB]], %{{.*}} : vector<32xi8>
// CHECK: arith.shrui %[[NIB]], %{{.*}} : vector<32xi8>
// CHECK: %[[Q0:.*]] = vector.load %[[QA]][%{{.*}}, %{{.*}}, %c0] : memref<?x2x256xi8>, vector<32xi8>
// CHECK: %[[SC0:.*]] = vector.shuffle %[[SCALES]], %[[SCALES]] [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] : vector<8xi16>, vector<8xi16>
// CHECK: %[[PAIRS:.*]] = func.call @__tfc_llvm_x86_avx2_pmadd_ub_sw(%[[LOW]], %[[Q0]]) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// CHECK: %[[P:.*]] = vector.bitcast %[[PAIRS]] : vector<16xi16> to vector<8xi32>
// CHECK: %[[S:.*]] = vector.bitcast %[[SC0]] : vector<16xi16> to vector<8xi32>
// CHECK: func.call @__tfc_llvm_x86_avx512_vpdpwssd_256(%{{.*}}, %[[P]], %[[S]])
// CHECK: vector.shuffle %[[SCALES]], %[[SCALES]] [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] : vector<8xi16>, vector<8xi16>
// The end of a super-block: d_a * d, then the mins.
// CHECK: %[[PART:.*]] = arith.sitofp %{{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: %[[DD:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: %[[DDV:.*]] = vector.broadcast %[[DD]] : f32 to vector<8xf32>
// CHECK: %[[ACC:.*]] = vector.fma %[[PART]], %[[DDV]], %{{.*}} : vector<8xf32>
// CHECK: %[[MS:.*]] = arith.muli %[[MINS]], %{{.*}} : vector<8xi32>
// CHECK: %[[MSF:.*]] = arith.sitofp %[[MS]] : vector<8xi32> to vector<8xf32>
// CHECK: %[[DM:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: %[[NEG:.*]] = arith.negf %[[DM]] : f32
// CHECK: %[[NEGV:.*]] = vector.broadcast %[[NEG]] : f32 to vector<8xf32>
// CHECK: vector.fma %[[MSF]], %[[NEGV]], %[[ACC]] : vector<8xf32>
module {
  func.func @q4k(%x: tensor<?x512xf32>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %w = attn.weight "w.weight" : tensor<8x512xf32>
    %n = tensor.dim %x, %c0 : tensor<?x512xf32>
    %e = tensor.empty(%n) : tensor<?x8xf32>
    %y = linalg.matmul_transpose_b ins(%x, %w : tensor<?x512xf32>, tensor<8x512xf32>) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}
