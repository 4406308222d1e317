// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8" | FileCheck %s --enable-var-scope

// Attention's products over a --kv-type=bf16 cache read the key and value tiles
// as bf16 (the tiles of the cache itself) and widen them in registers: the
// batched kernels take a bf16 B operand (numbers: Numeric/kv-type.test).

// CHECK-LABEL: func.func @scores
// CHECK-NOT: linalg.batch_matmul_transpose_b
// CHECK: scf.parallel
// CHECK: %[[K:.*]] = vector.load %{{.*}} : memref<2x?x64xbf16, strided<[?, 64, 1], offset: ?>>, vector<16xbf16>
// CHECK: arith.extf %[[K]] : vector<16xbf16> to vector<16xf32>
// CHECK: vector.fma
func.func @scores(%q: memref<2x?x64xf32>, %k: memref<2x?x64xbf16, strided<[?, 64, 1], offset: ?>>, %s: memref<2x?x?xf32>) {
  linalg.batch_matmul_transpose_b ins(%q, %k : memref<2x?x64xf32>, memref<2x?x64xbf16, strided<[?, 64, 1], offset: ?>>) outs(%s : memref<2x?x?xf32>)
  return
}

// CHECK-LABEL: func.func @values
// CHECK-NOT: linalg.batch_matmul
// CHECK: scf.parallel
// CHECK: %[[V:.*]] = vector.load %{{.*}} : memref<2x?x64xbf16, strided<[?, 64, 1], offset: ?>>, vector<16xbf16>
// CHECK: arith.extf %[[V]] : vector<16xbf16> to vector<16xf32>
// CHECK: vector.fma
func.func @values(%p: memref<2x?x?xf32>, %v: memref<2x?x64xbf16, strided<[?, 64, 1], offset: ?>>, %o: memref<2x?x64xf32>) {
  linalg.batch_matmul ins(%p, %v : memref<2x?x?xf32>, memref<2x?x64xbf16, strided<[?, 64, 1], offset: ?>>) outs(%o : memref<2x?x64xf32>)
  return
}
