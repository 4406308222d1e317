// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q8_0 -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni" -tfc-lower-intrinsic-calls | FileCheck %s --check-prefix=Q8
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_0 -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni" -tfc-lower-intrinsic-calls | FileCheck %s --check-prefix=Q4
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_0 -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni vector-width=8" | FileCheck %s --check-prefix=NARROW
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q8_0 -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=avxvnni" | FileCheck %s --check-prefix=AVXVNNI
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q4_0 -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=avxvnni" | FileCheck %s --check-prefix=AVXVNNI

// tfc-vectorize-matmul's one-token tiles of Q8_0 and Q4_0 weights
// (QuantizedKernels.cpp, kernelPairs and kernelQuads): 37 rows = two tiles of
// 16 rows (each row from one of 16 parts of the first 32 rows), then the
// remainders (one of 4, one single row) on the 256-bit kernel; 352 columns =
// 11 blocks of 32.

// Q8_0: two blocks per 512-bit vpdpbusd, the weights made unsigned by a sign
// flip and the sums starting at -128 * the lane sums of q_a, scaled by the
// token's block scales widened to their 8 lanes and the row's two f16 scales.
// Q8-LABEL: func.func @dec
// Q8: %[[FLAT:.*]] = memref.collapse_shape %arg1 {{\[}}[0], [1, 2]] : memref<37x11x34xi8> into memref<37x374xi8>
// Q8: %[[QA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x11x32xi8>
// Q8: %[[SA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x11x8xi32>
// Q8: %[[DL:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x11x8xf32>
// Q8: %[[SUMS:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%{{.*}}, %{{.*}}, %{{.*}})
// Q8: %[[START:.*]] = arith.muli %[[SUMS]], %[[M128:.*]] : vector<8xi32>
// Q8: vector.store %[[START]], %[[SA]]
// Q8: vector.store %{{.*}}, %[[DL]]
// The 32 rows of whole tiles are 16 parts of PART = 2 consecutive rows; tile
// N0 takes row N0 of the first part and the same row of each other part.
// Q8: %[[PART:.*]] = arith.divui %{{.*}}, %c16 : index
// Q8: %[[PARTEND:.*]] = arith.addi %[[FIRST:.*]], %[[PART]] : index
// Q8: scf.for %[[N0:.*]] = %[[FIRST]] to %[[PARTEND]] step %c1 {
// Q8: %[[R1:.*]] = arith.addi %[[N0]], %[[PART]] : index
// Q8-COUNT-13: arith.addi %{{.*}}, %[[PART]] : index
// Q8: %[[R15:.*]] = arith.addi %{{.*}}, %[[PART]] : index
// Q8: scf.for %[[BLK:.*]] = %c0 to %c10 step %c2 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// Each row prefetched min(16, 11) blocks ahead through the flat view, past its
// end into the next row (that part's next tile); the highest row's prefetch is
// clamped to the matrix's last byte, (37 - R15) * 374 - 1.
// Q8: %[[AHEAD:.*]] = arith.addi %[[BLK]], %c11 : index
// Q8: %[[COLP:.*]] = arith.muli %[[AHEAD]], %c34 : index
// Q8: %[[LEFT:.*]] = arith.subi %c37, %[[R15]] : index
// Q8: %[[LEFTB:.*]] = arith.muli %[[LEFT]], %c374 : index
// Q8: %[[LAST:.*]] = arith.subi %[[LEFTB]], %c1 : index
// Q8: memref.prefetch %[[FLAT]][%[[N0]], %[[COLP]]]
// Q8: memref.prefetch %[[FLAT]][%[[R1]], %[[COLP]]]
// Q8-COUNT-13: memref.prefetch %[[FLAT]][%{{.*}}, %[[COLP]]]
// Q8: %[[CLAMPED:.*]] = arith.minui %[[COLP]], %[[LAST]] : index
// Q8: memref.prefetch %[[FLAT]][%[[R15]], %[[CLAMPED]]]
// Q8: %[[NEXT:.*]] = arith.addi %[[BLK]], %c1 : index
// Q8: vector.load %[[QA]][%{{.*}}, %[[BLK]], %c0] : memref<?x11x32xi8>, vector<32xi8>
// Q8: %[[QAP:.*]] = vector.bitcast %{{.*}} : vector<64xi8> to vector<16xi32>
// Q8: %[[S0:.*]] = vector.load %[[SA]][%{{.*}}, %[[BLK]], %c0] : memref<?x11x8xi32>, vector<8xi32>
// Q8: %[[S1:.*]] = vector.load %[[SA]][%{{.*}}, %[[NEXT]], %c0] : memref<?x11x8xi32>, vector<8xi32>
// Q8: %[[SP:.*]] = vector.shuffle %[[S0]], %[[S1]]
// The two blocks' 68 bytes of a row through the flat view: one 64-byte and
// one 4-byte load, the values permuted out, the scales words 0 and 17.
// Q8: %[[COL:.*]] = arith.muli %[[BLK]], %c34 : index
// Q8: %[[RAW:.*]] = vector.load %[[FLAT]][%[[N0]], %[[COL]]] : memref<37x374xi8>, vector<64xi8>
// Q8: %[[TAIL:.*]] = vector.load %[[FLAT]][%[[N0]], %{{.*}}] : memref<37x374xi8>, vector<4xi8>
// Q8: %[[WP:.*]] = vector.shuffle %[[RAW]], %[[TAIL]] [2, 3, 4,
// Q8-SAME: 32, 33, 36, 37,
// Q8-SAME: 66, 67] : vector<64xi8>, vector<4xi8>
// Q8: %[[WU:.*]] = arith.xori %[[WP]], %{{.*}} : vector<64xi8>
// Q8: %[[WI:.*]] = vector.bitcast %[[WU]] : vector<64xi8> to vector<16xi32>
// Q8: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[SP]], %[[WI]], %[[QAP]])
// Q8: vector.shuffle %{{.*}}, %{{.*}} [0, 0, 0, 0, 0, 0, 0, 0, 17, 17, 17, 17, 17, 17, 17, 17] : vector<32xi16>, vector<32xi16>
// Q8: arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// Q8-COUNT-15: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// Q8-NOT: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// The odd block: the 256-bit kernel, added to the low lanes.
// Q8: scf.for %{{.*}} = %c10 to %c11 step %c1 iter_args({{.*}}) -> (vector<8xf32>,
// Q8: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"
// Q8: vector.reduction <add>, %{{.*}}, %{{.*}} fastmath<reassoc> : vector<16xf32> into f32
// The 4-row and 1-row remainder tiles: the 256-bit kernel, no prefetches.
// Q8-NOT: memref.prefetch
// Q8: scf.for %{{.*}} = %c0 to %c11 step %c1 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// Q8-NOT: memref.prefetch
// Q8: scf.for %{{.*}} = %c0 to %c11 step %c1 iter_args({{.*}}) -> (vector<8xf32>) {
// Q8-NOT: memref.prefetch
// Q8-LABEL: func.func private @__tfc_q8_0_gemm_tile

// Q4_0: four blocks per step: the weights read through a flat view of each
// row, the values' bytes permuted out of one 64-byte and one 8-byte load, low
// and high nibbles against the token's values split once per call; the
// scales are words 0, 9, 18, 27 of the same load. Then a two-block step and
// the odd block.
// Q4-LABEL: func.func @dec
// Q4: %[[FLAT:.*]] = memref.collapse_shape %arg1 {{\[}}[0], [1, 2]] : memref<37x11x18xi8> into memref<37x198xi8>
// Q4: %[[SPLIT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x128xi8>
// Q4: %[[SSTART:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x16xi32>
// Q4: %[[SSCALE:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x16xf32>
// Q4: vector.store %{{.*}}, %[[SPLIT]][%{{.*}}, %{{.*}}, %c0] : memref<?x2x128xi8>, vector<64xi8>
// Q4: vector.store %{{.*}}, %[[SPLIT]][%{{.*}}, %{{.*}}, %c64] : memref<?x2x128xi8>, vector<64xi8>
// Q4: vector.store %{{.*}}, %[[SSTART]]
// Q4: vector.shuffle %{{.*}}, %{{.*}} [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3] : vector<4xf32>, vector<4xf32>
// Q4: %[[PART:.*]] = arith.divui %{{.*}}, %c16 : index
// Q4: %[[PARTEND:.*]] = arith.addi %[[FIRST:.*]], %[[PART]] : index
// Q4: scf.for %[[N0:.*]] = %[[FIRST]] to %[[PARTEND]] step %c1 {
// Q4: %[[QUADS:.*]]:16 = scf.for %[[G:.*]] = %c0 to %c2 step %c1 iter_args({{.*}}) -> (vector<16xf32>,
// Q4-COUNT-32: memref.prefetch %[[FLAT]]
// Q4: %[[LOW:.*]] = vector.load %[[SPLIT]][%{{.*}}, %[[G]], %c0] : memref<?x2x128xi8>, vector<64xi8>
// Q4: %[[HIGH:.*]] = vector.load %[[SPLIT]][%{{.*}}, %[[G]], %c64] : memref<?x2x128xi8>, vector<64xi8>
// Q4: %[[LOWI:.*]] = vector.bitcast %[[LOW]]
// Q4: %[[HIGHI:.*]] = vector.bitcast %[[HIGH]]
// Q4: %[[START:.*]] = vector.load %[[SSTART]][%{{.*}}, %[[G]], %c0] : memref<?x2x16xi32>, vector<16xi32>
// Q4: %[[COL:.*]] = arith.muli %[[G]], %c72 : index
// Q4: %[[RAW:.*]] = vector.load %[[FLAT]][%[[N0]], %[[COL]]] : memref<37x198xi8>, vector<64xi8>
// Q4: %[[TAIL:.*]] = vector.load %[[FLAT]][%[[N0]], %{{.*}}] : memref<37x198xi8>, vector<8xi8>
// Q4: %[[VALUES:.*]] = vector.shuffle %[[RAW]], %[[TAIL]] [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21,
// Q4-SAME: 68, 69, 70, 71] : vector<64xi8>, vector<8xi8>
// Q4: %[[LOWW:.*]] = arith.andi %[[VALUES]], %{{.*}} : vector<64xi8>
// Q4: arith.shrui %{{.*}}, %{{.*}} : vector<32xi16>
// Q4: %[[D0:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[START]], %{{.*}}, %[[LOWI]])
// Q4: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[D0]], %{{.*}}, %[[HIGHI]])
// Q4: vector.shuffle %{{.*}}, %{{.*}} [0, 0, 0, 0, 9, 9, 9, 9, 18, 18, 18, 18, 27, 27, 27, 27] : vector<32xi16>, vector<32xi16>
// Q4: arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// Q4: scf.for %{{.*}} = %c8 to %c10 step %c2 iter_args(%{{.*}} = %[[QUADS]]#0,
// Q4: scf.for %{{.*}} = %c10 to %c11 step %c1 iter_args({{.*}}) -> (vector<8xf32>,

// AVX2-sized vectors: the 256-bit tiles only, of 8 rows from 8 parts, each
// row prefetched through the flat view.
// NARROW-LABEL: func.func @dec
// NARROW-NOT: vpdpbusd.512
// NARROW: %[[FLAT:.*]] = memref.collapse_shape %arg1 {{\[}}[0], [1, 2]] : memref<37x11x18xi8> into memref<37x198xi8>
// NARROW-NOT: vpdpbusd.512
// NARROW: %[[PART:.*]] = arith.divui %{{.*}}, %c8 : index
// NARROW: %[[PARTEND:.*]] = arith.addi %[[FIRST:.*]], %[[PART]] : index
// NARROW: scf.for %[[N0:.*]] = %[[FIRST]] to %[[PARTEND]] step %c1 {
// NARROW-COUNT-8: func.call @__tfc_prefetch_0(%[[FLAT]],
// NARROW-NOT: vpdpbusd.512
// AVX-VNNI without AVX512-VNNI, even with 16-lane vectors (AVX-512F shown
// without AVX512-VNNI, as some virtual machines do): the 256-bit vpdpbusd
// only, in 16-row one-token tiles; no 512-bit tiles, no prefill GEMM.
// AVXVNNI-LABEL: func.func @dec
// AVXVNNI-NOT: vpdpbusd.512
// AVXVNNI: vpdpbusd.256
// AVXVNNI-NOT: vpdpbusd.512
// AVXVNNI-NOT: func.func private @__tfc_q8_0_gemm_tile
module {
  func.func @dec(%x: tensor<?x352xf32>) -> tensor<?x37xf32> {
    %c0 = arith.constant 0 : index
    %w = attn.weight "w.weight" : tensor<37x352xf32>
    %n = tensor.dim %x, %c0 : tensor<?x352xf32>
    %e = tensor.empty(%n) : tensor<?x37xf32>
    %y = linalg.matmul_transpose_b ins(%x, %w : tensor<?x352xf32>, tensor<37x352xf32>) outs(%e : tensor<?x37xf32>) -> tensor<?x37xf32>
    return %y : tensor<?x37xf32>
  }
}
