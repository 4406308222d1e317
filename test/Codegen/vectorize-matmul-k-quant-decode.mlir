// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_k -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni" -tfc-lower-intrinsic-calls | FileCheck %s --check-prefix=Q4K
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q5_k -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni" -tfc-lower-intrinsic-calls | FileCheck %s --check-prefix=Q5K
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q6_k -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni" -tfc-lower-intrinsic-calls | FileCheck %s --check-prefix=Q6K
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_k -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni vector-width=8" -tfc-lower-intrinsic-calls | FileCheck %s --check-prefix=NARROW

// tfc-vectorize-matmul's one-token tiles of K-quant weights on 512-bit
// vectors (QuantizedKernels.cpp, kernelQ4_KWide, kernelQ6_KWide): 37 rows =
// two tiles of 16 rows (Q6_K: four of 8), then the remainders (one of 4, one
// single row) on the 256-bit kernel; 512 columns = 2 super-blocks.

// Q4_K: per super-block the token's four vectors of two sub-blocks (0|2,
// 1|3, 4|6, 5|7), its scale and its sub-block sums four times over in i16;
// per four rows the 16-byte headers in one vector, scales and mins unpacked
// together, the mins against the sums in one vpdpwssd; per row two 64-byte
// loads of nibbles and four vpmaddubsw + vpdpwssd; one accumulator per four
// rows (vector<16xf32>, four lanes a row).
// Q4K-LABEL: func.func @dec
// Q4K: scf.for %[[N0:.*]] = %{{.*}} to %{{.*}} step %c16 {
// Q4K: scf.for %[[BLK:.*]] = %c0 to %c2 step %c1 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// Every row prefetched 2 super-blocks ahead, the three lines of 144 bytes.
// Q4K-COUNT-48: memref.prefetch %arg1
// Q4K: %[[S0:.*]] = vector.load %[[QA:.*]][%{{.*}}, %[[BLK]], %c0] : memref<?x2x256xi8>, vector<32xi8>
// Q4K: %[[S2:.*]] = vector.load %[[QA]][%{{.*}}, %[[BLK]], %c64] : memref<?x2x256xi8>, vector<32xi8>
// Q4K: %[[A02:.*]] = vector.shuffle %[[S0]], %[[S2]]
// Q4K: %[[SUMS:.*]] = vector.load %{{.*}}[%{{.*}}, %[[BLK]], %c0] : memref<?x2x8xi32>, vector<8xi32>
// Q4K: arith.trunci %[[SUMS]] : vector<8xi32> to vector<8xi16>
// Q4K: %[[H0:.*]] = vector.load %arg1[%[[N0]], %[[BLK]], %c0] : memref<37x2x144xi8>, vector<16xi8>
// Q4K-COUNT-3: vector.load %arg1[%{{.*}}, %[[BLK]], %c0] : memref<37x2x144xi8>, vector<16xi8>
// The unpacked bytes of lane r: scales 0-7 from h[4..7], h[12..15] (low
// bits) and h[4..7] (top bits of 4-7), mins from h[8..15] and h[8..11].
// Q4K: vector.shuffle %{{.*}}, %{{.*}} [4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15, 20,
// Q4K: vector.shuffle %{{.*}}, %{{.*}} [64, 64, 64, 64, 4, 5, 6, 7, 64, 64, 64, 64, 8, 9, 10, 11, 64,
// The mins as i16 words against the token's sums.
// Q4K: vector.shuffle %{{.*}}, %{{.*}} [8, 64, 9, 64, 10, 64, 11, 64, 12, 64, 13, 64, 14, 64, 15, 64, 24, 64,
// Q4K: llvm.call_intrinsic "llvm.x86.avx512.vpdpwssd.512"
// Two rows' scales in every 128-bit lane, then per value vector its two
// sub-blocks' scales as words (row 0: sub-blocks 0 and 2).
// Q4K: %[[TWO:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23, 0, 1,
// Q4K: %[[NIB:.*]] = vector.load %arg1[%[[N0]], %[[BLK]], %c16] : memref<37x2x144xi8>, vector<64xi8>
// Q4K: %[[LOW:.*]] = arith.andi %[[NIB]], %{{.*}} : vector<64xi8>
// Q4K: vector.shuffle %[[TWO]], %{{.*}} [0, 64, 0, 64, 0, 64, 0, 64, 0, 64, 0, 64, 0, 64, 0, 64, 16, 64, 16, 64, 16, 64, 16, 64, 16, 64, 16, 64, 16, 64, 16, 64, 34, 64,
// Q4K: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"(%[[LOW]], %[[A02]])
// Q4K: llvm.call_intrinsic "llvm.x86.avx512.vpdpwssd.512"
// Q4K: arith.shrui %[[NIB]], %{{.*}} : vector<64xi8>
// Q4K: vector.load %arg1[%[[N0]], %[[BLK]], %c80] : memref<37x2x144xi8>, vector<64xi8>
// Q4K-COUNT-6: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"
// Q4K-NOT: scf.yield
// The four rows' i32 sums down to four lanes each, then d_a · d and -d_a · dmin.
// Q4K: arith.addi %{{.*}}, %{{.*}} : vector<16xi32>
// Q4K: arith.addi %{{.*}}, %{{.*}} : vector<16xi32>
// Q4K: arith.addi %{{.*}}, %{{.*}} : vector<16xi32>
// Q4K: arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// Q4K: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// Q4K: vector.fma
// Q4K: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// Q4K: vector.fma
// Q4K-COUNT-48: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"
// Q4K-NOT: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"
// Q4K: scf.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>
// Q4K: vector.extract_strided_slice %{{.*}} {offsets = [4], sizes = [4], strides = [1]} : vector<16xf32> to vector<4xf32>
// Q4K: vector.reduction <add>, %{{.*}}, %{{.*}} fastmath<reassoc> : vector<4xf32> into f32
// The 4-row and 1-row remainder tiles: the 256-bit kernel, no prefetches.
// Q4K-NOT: memref.prefetch
// Q4K: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// Q4K-NOT: memref.prefetch
// Q4K: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args({{.*}}) -> (vector<8xf32>) {
// Q4K-NOT: memref.prefetch
// Q4K-LABEL: func.func private @__tfc_q4_k_gemm_tile

// Q5_K: the nibbles at byte 48, each value vector or-ed with 16 where its
// fifth bit is set (bit s of the 32 high-bit bytes for sub-block s).
// Q5K-LABEL: func.func @dec
// Q5K: scf.for %[[N0:.*]] = %{{.*}} to %{{.*}} step %c16 {
// Q5K: %[[QH:.*]] = vector.load %arg1[%[[N0]], %[[BLK:.*]], %c16] : memref<37x2x176xi8>, vector<32xi8>
// Q5K: %[[QH2:.*]] = vector.shuffle %[[QH]], %[[QH]]
// Q5K: %[[NIB:.*]] = vector.load %arg1[%[[N0]], %[[BLK]], %c48] : memref<37x2x176xi8>, vector<64xi8>
// Q5K: %[[LOW:.*]] = arith.andi %[[NIB]], %{{.*}} : vector<64xi8>
// Q5K: %[[BITS:.*]] = arith.andi %[[QH2]], %{{.*}} : vector<64xi8>
// Q5K: %[[SET:.*]] = arith.cmpi ne, %[[BITS]], %{{.*}} : vector<64xi8>
// Q5K: %[[FIFTH:.*]] = arith.select %[[SET]], %{{.*}}, %{{.*}} : vector<64xi1>, vector<64xi8>
// Q5K: %[[VALUES:.*]] = arith.ori %[[LOW]], %[[FIFTH]] : vector<64xi8>
// Q5K: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"(%[[VALUES]],
// Q5K: vector.load %arg1[%[[N0]], %[[BLK]], %c112] : memref<37x2x176xi8>, vector<64xi8>

// Q6_K: per super-block the token's four 64-byte vectors and its 16 group
// sums; per row the sums start at (-32 · its sign-extended scales) against
// them, then per half two vectors of 6-bit values: ql's low nibbles (high
// nibbles) or-ed with qh's bits shifted per word by 4 | 2 (0 | 2 right) and
// masked with 0x30, each against its four sub-blocks' scales as words.
// Q6K-LABEL: func.func @dec
// Q6K: scf.for %[[N0:.*]] = %{{.*}} to %{{.*}} step %c8 {
// Q6K: scf.for %[[BLK:.*]] = %c0 to %c2 step %c1 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// Q6K-COUNT-32: memref.prefetch %arg1
// Q6K: %[[A0:.*]] = vector.load %[[QA:.*]][%{{.*}}, %[[BLK]], %c0] : memref<?x2x256xi8>, vector<64xi8>
// Q6K: vector.load %{{.*}}[%{{.*}}, %[[BLK]], %c0] : memref<?x2x16xi16>, vector<16xi16>
// Q6K: %[[SC8:.*]] = vector.load %arg1[%[[N0]], %[[BLK]], %c192] : memref<37x2x210xi8>, vector<16xi8>
// Q6K: %[[SC:.*]] = arith.extsi %[[SC8]] : vector<16xi8> to vector<16xi16>
// Q6K: arith.muli %[[SC]], %{{.*}} : vector<16xi16>
// Q6K: llvm.call_intrinsic "llvm.x86.avx512.vpdpwssd.512"
// Q6K: %[[QL:.*]] = vector.load %arg1[%[[N0]], %[[BLK]], %c0] : memref<37x2x210xi8>, vector<64xi8>
// Q6K: vector.load %arg1[%[[N0]], %[[BLK]], %c128] : memref<37x2x210xi8>, vector<32xi8>
// Q6K: %[[LOW:.*]] = arith.andi %[[QL]], %{{.*}} : vector<64xi8>
// Q6K: arith.shli %{{.*}}, %{{.*}} : vector<32xi16>
// Q6K: %[[TOP:.*]] = arith.andi %{{.*}}, %{{.*}} : vector<64xi8>
// Q6K: %[[V:.*]] = arith.ori %[[LOW]], %[[TOP]] : vector<64xi8>
// Q6K: vector.shuffle %[[SC]], %[[SC]] [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3]
// Q6K: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"(%[[V]], %[[A0]])
// Q6K: arith.shrui %{{.*}}, %{{.*}} : vector<32xi16>
// Q6K: vector.shuffle %[[SC]], %[[SC]] [4, 4, 4, 4, 4, 4, 4, 4, 5, 5,
// Q6K: vector.load %arg1[%[[N0]], %[[BLK]], %c64] : memref<37x2x210xi8>, vector<64xi8>
// Q6K: vector.load %arg1[%[[N0]], %[[BLK]], %c160] : memref<37x2x210xi8>, vector<32xi8>
// Q6K: vector.shuffle %[[SC]], %[[SC]] [12, 12, 12, 12, 12, 12, 12, 12, 13, 13,
// Q6K: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// Q6K: vector.fma
// Q6K-COUNT-28: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"
// Q6K-NOT: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"
// Q6K: scf.yield
// Q6K: vector.reduction <add>, %{{.*}}, %{{.*}} fastmath<reassoc> : vector<16xf32> into f32
// Q6K-NOT: memref.prefetch
// Q6K: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// Q6K-LABEL: func.func private @__tfc_q6_k_gemm_tile

// AVX2-sized vectors: the 256-bit tiles only.
// NARROW-LABEL: func.func @dec
// NARROW-NOT: avx512.pmaddubs
// NARROW-NOT: memref.prefetch
// NARROW-NOT: vector<64xi8>
// NARROW: llvm.call_intrinsic "llvm.x86.avx512.vpdpwssd.256"
// NARROW-NOT: vector<64xi8>
module {
  func.func @dec(%x: tensor<?x512xf32>) -> tensor<?x37xf32> {
    %c0 = arith.constant 0 : index
    %w = attn.weight "w.weight" : tensor<37x512xf32>
    %n = tensor.dim %x, %c0 : tensor<?x512xf32>
    %e = tensor.empty(%n) : tensor<?x37xf32>
    %y = linalg.matmul_transpose_b ins(%x, %w : tensor<?x512xf32>, tensor<37x512xf32>) outs(%e : tensor<?x37xf32>) -> tensor<?x37xf32>
    return %y : tensor<?x37xf32>
  }
}
