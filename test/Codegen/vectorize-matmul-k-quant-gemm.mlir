// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_k -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni" -tfc-lower-intrinsic-calls | FileCheck %s --enable-var-scope --check-prefix=Q4K
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q6_k -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni" -tfc-lower-intrinsic-calls | FileCheck %s --enable-var-scope --check-prefix=Q6K
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_k -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=avx2" | FileCheck %s --check-prefix=NARROW

// tfc-vectorize-matmul's int8 prefill GEMM for K-quant weights
// (QuantizedKernels.cpp, packedGemm): from 32 tokens on, the activations
// quantized per 256 (Q8_K) are packed per sub-block (Q4_K: 32 elements, 16
// per row of 512; Q6_K: 16 elements, 32 per row) into 32-token panels of
// dwords + 128, with the super-block's scale repeated per sub-block. Each
// thread block's weight rows are decoded into a scratch of signed bytes per
// sub-block with its f32 scale d * sc (and for Q4_K -dmin * min), and run by
// the same 512-bit vpdpbusd tile as Q8_0's; Q4_K's mins add one FMA of the
// panel's d_a * (sub-block sum of q_a) by the broadcast -dmin * min.

// Q4K-LABEL: func.func @k
// Q4K: %[[QA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x256xi8>
// Q4K: %[[DA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2xf32>
// Q4K: %[[SA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x8xi32>
// Q4K: %[[MANY:.*]] = arith.cmpi uge, %[[TOKENS:.*]], %c32 : index
// Q4K: scf.if %[[MANY]] {
// Q4K: %[[PACKED:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x16x8x32xi32>
// Q4K: %[[PSCALES:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x16x32xf32>
// Q4K: %[[PMINS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x16x32xf32>
// Q4K: scf.parallel
// Q4K: %[[D:.*]] = memref.load %[[DA]]
// Q4K: %[[DZ:.*]] = arith.select %{{.*}}, %[[D]], %{{.*}} : f32
// Q4K: %[[SB:.*]] = arith.muli %{{.*}}, %c8 : index
// Q4K: vector.load %[[QA]][%{{.*}}, %{{.*}}, %c0] : memref<?x2x256xi8>, vector<32xi8>
// Q4K: memref.store %{{.*}}, %[[PACKED]][%{{.*}}, %[[SB]], %c0, %{{.*}}] : memref<?x16x8x32xi32>
// Q4K: memref.store %[[DZ]], %[[PSCALES]][%{{.*}}, %[[SB]], %{{.*}}] : memref<?x16x32xf32>
// Q4K: %[[SUM:.*]] = memref.load %[[SA]][%{{.*}}, %{{.*}}, %c0] : memref<?x2x8xi32>
// Q4K: %[[SUMF:.*]] = arith.sitofp %[[SUM]] : i32 to f32
// Q4K: %[[MIN:.*]] = arith.mulf %[[SUMF]], %[[DZ]] : f32
// Q4K: memref.store %[[MIN]], %[[PMINS]][%{{.*}}, %[[SB]], %{{.*}}] : memref<?x16x32xf32>
// Q4K: %[[OFFSETS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<13x16xi32>
// Q4K: %[[SCRATCH:.*]] = memref.alloc() {alignment = 64 : i64} : memref<18x16x32xi8>
// Q4K: %[[WSCALES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<18x16xf32>
// Q4K: %[[WMINS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<18x16xf32>
// The six-bit scales and mins of a super-block, times d and -dmin.
// Q4K: %[[SC:.*]] = arith.sitofp %{{.*}} : vector<8xi8> to vector<8xf32>
// Q4K: %[[SCD:.*]] = arith.mulf %[[SC]], %{{.*}} : vector<8xf32>
// Q4K: vector.store %[[SCD]], %[[WSCALES]][%{{.*}}, %{{.*}}] : memref<18x16xf32>, vector<8xf32>
// Q4K: %[[DMIN:.*]] = arith.negf %{{.*}} : f32
// Q4K: %[[MN:.*]] = arith.sitofp %{{.*}} : vector<8xi8> to vector<8xf32>
// Q4K: %[[DMINV:.*]] = vector.broadcast %[[DMIN]] : f32 to vector<8xf32>
// Q4K: %[[MND:.*]] = arith.mulf %[[MN]], %[[DMINV]] : vector<8xf32>
// Q4K: vector.store %[[MND]], %[[WMINS]][%{{.*}}, %{{.*}}] : memref<18x16xf32>, vector<8xf32>
// The nibbles of sub-blocks 0 and 1, with their sums' starts.
// Q4K: %[[NIB:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c16] : memref<13x2x144xi8>, vector<32xi8>
// Q4K: %[[LOW:.*]] = arith.andi %[[NIB]], %{{.*}} : vector<32xi8>
// Q4K: vector.store %[[LOW]], %[[SCRATCH]][%{{.*}}, %{{.*}}, %c0] : memref<18x16x32xi8>, vector<32xi8>
// Q4K: %[[WIDE:.*]] = arith.extsi %[[LOW]] : vector<32xi8> to vector<32xi32>
// Q4K: %[[WSUM:.*]] = vector.reduction <add>, %[[WIDE]] : vector<32xi32> into i32
// Q4K: %[[START:.*]] = arith.muli %[[WSUM]], %c-128_i32 : i32
// Q4K: memref.store %[[START]], %[[OFFSETS]][%{{.*}}, %{{.*}}] : memref<13x16xi32>
// Operands: panels, scales, starts, scratch, C, weight scales, weight mins,
// panel mins, panel, row, tokens, C's row stride, the row in the scratch.
// Q4K: func.call @__tfc_q4_k_gemm_tile_6_k16_s512_32(%[[PACKED]], %[[PSCALES]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[PMINS]], %{{.*}}, %{{.*}}, %[[TOKENS]], %c13, %{{.*}})
// Q4K: func.call @__tfc_q4_k_gemm_tile_1_k16_s512_32(
// Q4K: } else {
// Q4K: llvm.x86.avx512.vpdpwssd.256

// The tile: per sub-block 8 steps of 2 activation vectors x 6 broadcast weight
// dwords (from byte 0 of a scratch sub-block), then per row and vector the
// scale's FMA and the mins' FMA.
// Q4K-LABEL: func.func private @__tfc_q4_k_gemm_tile_6_k16_s512_32(
// Q4K-SAME: %[[P:[a-z0-9]+]]: memref<?x16x8x32xi32>, %[[PS:[a-z0-9]+]]: memref<?x16x32xf32>, %[[OFF:[a-z0-9]+]]: memref<?x16xi32>, %[[W:[a-z0-9]+]]: memref<?x16x32xi8, strided<[512, 32, 1], offset: ?>>, %[[C:[a-z0-9]+]]: memref<?x?xf32, strided<[?, 1], offset: ?>>, %[[WS:[a-z0-9]+]]: memref<?x16xf32>, %[[WM:[a-z0-9]+]]: memref<?x16xf32>, %[[PM:[a-z0-9]+]]: memref<?x16x32xf32>
// Q4K: scf.for %[[BLK:.*]] = %c0 to %c16{{.*}} step %c1{{.*}} iter_args
// Q4K: %[[WB:.*]] = vector.load %[[W]][%{{.*}}, %[[BLK]], %c0{{.*}}] : memref<?x16x32xi8, strided<[512, 32, 1], offset: ?>>, vector<4xi8>
// Q4K-COUNT-96: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// Q4K-NOT: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// Q4K: %[[SA0:.*]] = vector.load %[[PS]][%{{.*}}, %[[BLK]], %c0{{.*}}] : memref<?x16x32xf32>, vector<16xf32>
// Q4K: %[[MA0:.*]] = vector.load %[[PM]][%{{.*}}, %[[BLK]], %c0{{.*}}] : memref<?x16x32xf32>, vector<16xf32>
// Q4K: %[[SW:.*]] = memref.load %[[WS]][%{{.*}}, %[[BLK]]] : memref<?x16xf32>
// Q4K: %[[SWV:.*]] = vector.broadcast %[[SW]] : f32 to vector<16xf32>
// Q4K: %[[MW:.*]] = memref.load %[[WM]][%{{.*}}, %[[BLK]]] : memref<?x16xf32>
// Q4K: %[[MWV:.*]] = vector.broadcast %[[MW]] : f32 to vector<16xf32>
// Q4K: %[[I2F:.*]] = arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// Q4K: %[[PART:.*]] = arith.mulf %[[I2F]], %[[SA0]] : vector<16xf32>
// Q4K: %[[ACC:.*]] = vector.fma %[[PART]], %[[SWV]], %{{.*}} : vector<16xf32>
// Q4K: vector.fma %[[MA0]], %[[MWV]], %[[ACC]] : vector<16xf32>
// Q4K: scf.yield
// Q4K: vector.scatter %[[C]]

// Q6_K: sub-blocks of 16 (4 steps), q - 32 as signed bytes, scales d * sc,
// no mins.
// Q6K-LABEL: func.func @k
// Q6K: scf.if
// Q6K: %[[PACKED:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x32x4x32xi32>
// Q6K: %[[PSCALES:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x32x32xf32>
// Q6K-NOT: memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x32x32xf32>
// Q6K: vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c16] : memref<?x2x256xi8>, vector<16xi8>
// Q6K: %[[SCRATCH:.*]] = memref.alloc() {alignment = 64 : i64} : memref<18x32x16xi8>
// Q6K: %[[WSCALES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<18x32xf32>
// Q6K: %[[SC:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c192] : memref<13x2x210xi8>, vector<16xi8>
// Q6K: %[[SCW:.*]] = arith.extsi %[[SC]] : vector<16xi8> to vector<16xi32>
// Q6K: %[[SCF:.*]] = arith.sitofp %[[SCW]] : vector<16xi32> to vector<16xf32>
// Q6K: %[[SCD:.*]] = arith.mulf %[[SCF]], %{{.*}} : vector<16xf32>
// Q6K: vector.store %[[SCD]], %[[WSCALES]][%{{.*}}, %{{.*}}] : memref<18x32xf32>, vector<16xf32>
// Q6K: %[[Q:.*]] = arith.subi %{{.*}}, %{{.*}} : vector<32xi8>
// Q6K: %[[LO:.*]] = vector.extract_strided_slice %[[Q]] {offsets = [0], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
// Q6K: vector.store %[[LO]], %[[SCRATCH]][%{{.*}}, %{{.*}}, %c0] : memref<18x32x16xi8>, vector<16xi8>
// Q6K: %[[HI:.*]] = vector.extract_strided_slice %[[Q]] {offsets = [16], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
// Q6K: func.call @__tfc_q6_k_gemm_tile_6_k32_s512_16(%[[PACKED]], %[[PSCALES]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c13, %{{.*}}) : (memref<?x32x4x32xi32>, memref<?x32x32xf32>, memref<?x32xi32>, memref<?x32x16xi8, strided<[512, 16, 1], offset: ?>>, memref<?x?xf32, strided<[?, 1], offset: ?>>, memref<?x32xf32>, index, index, index, index, index) -> ()
// Q6K-LABEL: func.func private @__tfc_q6_k_gemm_tile_6_k32_s512_16(
// Q6K: scf.for %{{.*}} = %c0 to %c32{{.*}} step %c1{{.*}} iter_args
// Q6K-COUNT-48: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// Q6K-NOT: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// Q6K: scf.yield

// AVX2-sized vectors or no VNNI: no GEMM, the streaming tiles.
// NARROW-LABEL: func.func @k
// NARROW-NOT: scf.if
// NARROW-NOT: vpdpbusd.512
// NARROW-NOT: gemm_tile
module {
  func.func @k(%x: tensor<?x512xf32>) -> tensor<?x13xf32> {
    %c0 = arith.constant 0 : index
    %w = attn.weight "w.weight" : tensor<13x512xf32>
    %n = tensor.dim %x, %c0 : tensor<?x512xf32>
    %e = tensor.empty(%n) : tensor<?x13xf32>
    %y = linalg.matmul_transpose_b ins(%x, %w : tensor<?x512xf32>, tensor<13x512xf32>) outs(%e : tensor<?x13xf32>) -> tensor<?x13xf32>
    return %y : tensor<?x13xf32>
  }
}
