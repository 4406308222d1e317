// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q8_0 -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni" -tfc-lower-intrinsic-calls | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q8_0 -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=vnni vector-width=8" | FileCheck %s --check-prefix=NARROW
// RUN: tfc-opt %s -tfc-lower-entry-points=weight-type=q8_0 -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -tfc-vectorize-matmul="int8-dot=avx2" | FileCheck %s --check-prefix=NARROW

// tfc-vectorize-matmul's int8 prefill GEMM for Q8_0 weights (QuantizedKernels.cpp,
// packedGemm): from 32 tokens on, the activations quantized per 32-block are
// packed into 32-token panels of dwords (+ 128: vpdpbusd's unsigned operand)
// with their scales; each weight row's blocks get the i32 start -128 * sum(q_w);
// the 6-row tile function (13 rows: two tiles of 6, one of 1) broadcasts a
// weight dword against two 16-token vectors with 512-bit vpdpbusd, then scales
// each block's i32 sums by d_a (vector) * d_w (broadcast) into f32 accumulators,
// added down C's columns by masked gather/scatter.

// CHECK-LABEL: func.func @q8
// CHECK: %[[QA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x32xi8>
// CHECK: %[[DA:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2xf32>
// CHECK: %[[MANY:.*]] = arith.cmpi uge, %[[TOKENS:.*]], %c32 : index
// CHECK: scf.if %[[MANY]] {
// CHECK: %[[PACKED:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x8x32xi32>
// CHECK: %[[PSCALES:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x2x32xf32>
// CHECK: scf.parallel
// CHECK: %[[Q:.*]] = vector.load %[[QA]][%{{.*}}, %{{.*}}, %c0] : memref<?x2x32xi8>, vector<32xi8>
// CHECK: %[[QZ:.*]] = arith.select %{{.*}}, %[[Q]], %{{.*}} : vector<32xi8>
// CHECK: %[[BIASED:.*]] = arith.xori %[[QZ]], %{{.*}} : vector<32xi8>
// CHECK: %[[WORDS:.*]] = vector.bitcast %[[BIASED]] : vector<32xi8> to vector<8xi32>
// CHECK: %[[W0:.*]] = vector.extract %[[WORDS]][0] : i32 from vector<8xi32>
// CHECK: memref.store %[[W0]], %[[PACKED]][%{{.*}}, %{{.*}}, %c0, %{{.*}}] : memref<?x2x8x32xi32>
// CHECK: memref.store %{{.*}}, %[[PSCALES]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x2x32xf32>
// CHECK: %[[OFFSETS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<13x2xi32>
// CHECK: %[[WQ:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c2] : memref<13x2x34xi8>, vector<32xi8>
// CHECK: %[[WIDE:.*]] = arith.extsi %[[WQ]] : vector<32xi8> to vector<32xi32>
// CHECK: %[[SUM:.*]] = vector.reduction <add>, %[[WIDE]] : vector<32xi32> into i32
// CHECK: %[[START:.*]] = arith.muli %[[SUM]], %c-128_i32 : i32
// CHECK: memref.store %[[START]], %[[OFFSETS]][%{{.*}}, %{{.*}}] : memref<13x2xi32>
// Operands: panels, scales, starts, W, C, panel, row, tokens, C's row stride,
// the row in W (the same row for Q8_0; Q4_0 passes its decoded scratch).
// CHECK: func.call @__tfc_q8_0_gemm_tile_6_k2_s68_34(%[[PACKED]], %[[PSCALES]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ROW:[a-z0-9_]+]], %[[TOKENS]], %c13, %[[ROW]])
// CHECK: func.call @__tfc_q8_0_gemm_tile_1_k2_s68_34(%[[PACKED]], %[[PSCALES]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ROW1:[a-z0-9_]+]], %[[TOKENS]], %c13, %[[ROW1]])
// Fewer tokens: the streaming 256-bit tiles.
// CHECK: } else {
// CHECK: llvm.x86.avx512.vpdpbusd.256

// The tile: 12 f32 accumulators over the blocks; per block, 12 i32 sums from
// the rows' starts, 8 steps of 2 activation vectors x 6 broadcast weight dwords.
// CHECK-LABEL: func.func private @__tfc_q8_0_gemm_tile_6_k2_s68_34(
// CHECK-SAME: %[[P:[a-z0-9]+]]: memref<?x2x8x32xi32>, %[[PS:[a-z0-9]+]]: memref<?x2x32xf32>, %[[OFF:[a-z0-9]+]]: memref<?x2xi32>, %[[W:[a-z0-9]+]]: memref<?x2x34xi8, strided<[68, 34, 1], offset: ?>>, %[[C:[a-z0-9]+]]: memref<?x?xf32, strided<[?, 1], offset: ?>>
// Its buffers may live in the arena (tfc-plan-activations).
// CHECK-SAME: attributes {tfc.no_capture}
// CHECK: scf.for %[[BLK:.*]] = %c0 to %c2{{.*}} step %c1{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[S0:.*]] = memref.load %[[OFF]][%{{.*}}, %[[BLK]]] : memref<?x2xi32>
// CHECK: %[[S0V:.*]] = vector.broadcast %[[S0]] : i32 to vector<16xi32>
// CHECK: %[[A0:.*]] = vector.load %[[P]][%{{.*}}, %[[BLK]], %c0{{.*}}, %c0{{.*}}] : memref<?x2x8x32xi32>, vector<16xi32>
// CHECK: %[[A1:.*]] = vector.load %[[P]][%{{.*}}, %[[BLK]], %c0{{.*}}, %c16{{.*}}] : memref<?x2x8x32xi32>, vector<16xi32>
// CHECK: %[[WB:.*]] = vector.load %[[W]][%{{.*}}, %[[BLK]], %c2{{.*}}] : memref<?x2x34xi8, strided<[68, 34, 1], offset: ?>>, vector<4xi8>
// CHECK: %[[WW:.*]] = vector.bitcast %[[WB]] : vector<4xi8> to vector<1xi32>
// CHECK: %[[WS:.*]] = vector.extract %[[WW]][0] : i32 from vector<1xi32>
// CHECK: %[[WV:.*]] = vector.broadcast %[[WS]] : i32 to vector<16xi32>
// CHECK: %[[D0:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[S0V]], %[[A0]], %[[WV]]) : (vector<16xi32>, vector<16xi32>, vector<16xi32>) -> vector<16xi32>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[S0V]], %[[A1]], %[[WV]])
// CHECK-COUNT-94: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// CHECK-NOT: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// CHECK: %[[SA0:.*]] = vector.load %[[PS]][%{{.*}}, %[[BLK]], %c0{{.*}}] : memref<?x2x32xf32>, vector<16xf32>
// CHECK: %[[I2F:.*]] = arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: %[[PART:.*]] = arith.mulf %[[I2F]], %[[SA0]] : vector<16xf32>
// CHECK: vector.fma %[[PART]], %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: scf.yield
// CHECK: vector.gather %[[C]]
// CHECK: vector.scatter %[[C]]
// The 1-row remainder: two blocks per iteration (2 x 8 steps x 2 vectors),
// which doubles its independent vpdpbusd chains; K = 2 blocks leaves no odd one.
// CHECK-LABEL: func.func private @__tfc_q8_0_gemm_tile_1_k2_s68_34(
// CHECK: scf.for %{{.*}} = %c0 to %c2{{.*}} step %c2
// CHECK-COUNT-32: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// CHECK-NOT: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"

// AVX2-sized vectors (or AVX2 without VNNI): no GEMM, the streaming tiles for
// every token count.
// NARROW-LABEL: func.func @q8
// NARROW-NOT: scf.if
// NARROW-NOT: vpdpbusd.512
// NARROW-NOT: gemm_tile
module {
  func.func @q8(%x: tensor<?x64xf32>) -> tensor<?x13xf32> {
    %c0 = arith.constant 0 : index
    %w = attn.weight "w.weight" : tensor<13x64xf32>
    %n = tensor.dim %x, %c0 : tensor<?x64xf32>
    %e = tensor.empty(%n) : tensor<?x13xf32>
    %y = linalg.matmul_transpose_b ins(%x, %w : tensor<?x64xf32>, tensor<13x64xf32>) outs(%e : tensor<?x13xf32>) -> tensor<?x13xf32>
    return %y : tensor<?x13xf32>
  }
}
