// The small-batch kernel of tfc-vectorize-matmul (2 to 31 tokens: the sessions
// of a batched decode step) against a float64 linalg reference, for the token
// counts 2, 3, 5 (tiles of 4, 2, 1 tokens only), 8 and 16 (full 8-token tiles),
// 17 and 31 (full tiles and remainders), on 29 weight rows in blocks of 8
// (3-row tiles, the 1-row rest, a partial block) and a reduction of 630 (39
// 16-lane steps and a zero-padded tail of 6). The reduction is split into
// chunks of at most 32 KiB of A: one chunk up to 13 tokens, two uneven ones
// (20 + 19 steps) for 16 and 17 tokens, three for 31; with 8 lanes (78 steps
// of 8, chunks of 1024 / tokens steps) two for 16 and 17, three for 31. f32 and
// bf16 weights, 16 and 8 lanes, serial and on OpenMP threads. Prints the token
// count and the largest |difference| (the sums reach ~300; a lost or repeated
// chunk would be off by units; the bound, 3e-4, is 10 ulps of 300).
//
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8" -tfc-lower-intrinsic-calls \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -lower-affine -convert-scf-to-cf \
// RUN:   -expand-strided-metadata -lower-affine -finalize-memref-to-llvm -convert-vector-to-llvm \
// RUN:   -convert-math-to-llvm -convert-arith-to-llvm -convert-index-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so \
// RUN: | FileCheck %s
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8" -tfc-lower-intrinsic-calls -convert-scf-to-openmp \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -expand-strided-metadata -lower-affine \
// RUN:   -finalize-memref-to-llvm -convert-scf-to-cf -convert-vector-to-llvm -convert-math-to-llvm \
// RUN:   -convert-arith-to-llvm -convert-index-to-llvm -convert-openmp-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | env OMP_NUM_THREADS=2 /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so,/usr/lib/llvm-19/lib/libomp.so \
// RUN: | FileCheck %s
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=8 block-rows=8" -tfc-lower-intrinsic-calls \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -lower-affine -convert-scf-to-cf \
// RUN:   -expand-strided-metadata -lower-affine -finalize-memref-to-llvm -convert-vector-to-llvm \
// RUN:   -convert-math-to-llvm -convert-arith-to-llvm -convert-index-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so \
// RUN: | FileCheck %s

// The kernel's shape: from 2 tokens (below the packed GEMM's 32), the
// reduction's chunks outside row tiles of 3, themselves outside token tiles
// of 8 (24 accumulators, each of the 3 weight vectors read once per step for
// the 8 tokens, 3 prefetches of the next row tile's columns, clamped to the
// last row), the tail step in the last chunk only, then the 4-, 2- and 1-token
// remainders over the same rows; one token keeps the 1 x 4 decode kernel.
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8" | FileCheck %s --check-prefix=IR
// IR-LABEL: func.func @check(
// IR: arith.cmpi uge, %[[TOKENS:.+]], %c32
// IR: } else {
// IR: %[[FEW:.+]] = arith.cmpi uge, %[[TOKENS]], %c2 : index
// IR: scf.if %[[FEW]] {
// 32 KiB of A = 512 steps of 16 f32, over the tokens; a vector of partial
// sums per token and weight row of the block between chunks, on the stack
// (128 KiB: 2048 vectors, else one chunk of all 624 columns).
// IR: arith.divui %c512, %[[TOKENS]] : index
// IR: %[[SLOTS:.+]] = arith.muli %{{.+}}, %[[TOKENS]] : index
// IR: %[[FITS:.+]] = arith.cmpi ule, %[[SLOTS]], %c2048 : index
// IR: arith.select %[[FITS]], %{{.+}}, %c624 : index
// IR: arith.select %[[FITS]], %[[SLOTS]], %c0 : index
// IR: %[[STACK:.+]] = func.call @__tfc_llvm_stacksave_p0() : () -> !llvm.ptr
// IR: %[[PARTIALS:.+]] = memref.alloca(%{{.+}}) {alignment = 64 : i64} : memref<?x16xf32>
// IR: scf.for %[[K0:.+]] = %c0 to %c624 step %[[CHUNK:[^ ]+]] {
// IR: %[[KEND:.+]] = arith.addi %[[K0]], %[[CHUNK]] : index
// IR: %[[KHI:.+]] = arith.minui %[[KEND]], %c624 : index
// IR: %[[FIRST:.+]] = arith.cmpi eq, %[[K0]], %c0 : index
// IR: %[[LAST:.+]] = arith.cmpi eq, %[[KHI]], %c624 : index
// IR: scf.for %[[ROW:.+]] = %{{.+}} to %{{.+}} step %c3 {
// IR: scf.for %{{.+}} = %c0 to %{{.+}} step %c8 {
// IR: scf.if %[[FIRST]] -> (
// IR-NEXT: scf.yield %cst
// IR-NEXT: } else {
// IR-COUNT-24: vector.load %[[PARTIALS]]
// IR: scf.for %[[COL:.+]] = %[[K0]] to %[[KHI]] step %c16 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// IR: %[[NEXT:.+]] = arith.addi %[[ROW]], %c3 : index
// IR: %[[CLAMPED:.+]] = arith.minui %[[NEXT]], %c28 : index
// IR: func.call @__tfc_prefetch_0(%{{.+}}, %[[CLAMPED]], %[[COL]]) : (memref<29x630xf32>, index, index) -> ()
// IR-COUNT-2: func.call @__tfc_prefetch_0
// IR-COUNT-11: vector.load
// IR-COUNT-24: vector.fma
// IR: scf.yield
// The last chunk takes the tail and sums horizontally into C; the others
// store their vectors.
// IR: scf.if %[[LAST]] {
// IR-COUNT-11: vector.transfer_read {{.+}}, %c624]
// IR-COUNT-24: vector.fma
// IR-COUNT-24: vector.reduction <add>
// IR: } else {
// IR-COUNT-24: vector.store %{{.+}}, %[[PARTIALS]]
// IR: arith.cmpi uge, %{{.+}}, %c4 : index
// IR: arith.cmpi uge, %{{.+}}, %c2 : index
// IR: arith.cmpi uge, %{{.+}}, %c1 : index
// IR: func.call @__tfc_llvm_stackrestore_p0(%[[STACK]]) : (!llvm.ptr) -> ()
// IR: } else {
// IR: step %c4 {
// IR-LABEL: func.func @check_bf16(
// IR: func.call @__tfc_prefetch_1(%{{.+}}, %{{.+}}, %{{.+}}) : (memref<29x630xbf16>, index, index) -> ()
// IR: func.func private @__tfc_prefetch_0(memref<29x630xf32>, index, index) attributes {tfc.prefetch}
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8" -tfc-lower-intrinsic-calls | FileCheck %s --check-prefix=LOWERED
// LOWERED: memref.prefetch %{{.+}}[%{{.+}}, %{{.+}}], read, locality<3>, data : memref<29x630xf32>
// LOWERED: memref.prefetch %{{.+}}[%{{.+}}, %{{.+}}], read, locality<3>, data : memref<29x630xbf16>
// LOWERED-NOT: __tfc_prefetch

// CHECK: {{^}}2{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}3{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}5{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}8{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}16{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}17{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}31{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}2 bf16{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}3 bf16{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}5 bf16{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}8 bf16{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}16 bf16{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}17 bf16{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}31 bf16{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// Then the same bits as one token at a time: 8 tokens (one chunk of 16 lanes,
// two of 8), 16 and 31 (chunks).
// CHECK: {{^}}8 same{{ *$}}
// CHECK-NEXT: {{^}}0{{ *$}}
// CHECK: {{^}}16 same{{ *$}}
// CHECK-NEXT: {{^}}0{{ *$}}
// CHECK: {{^}}31 same{{ *$}}
// CHECK-NEXT: {{^}}0{{ *$}}

#id2 = affine_map<(m, n) -> (m, n)>
#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>

func.func private @printF32(f32)
func.func private @printNewline()
func.func private @printString(!llvm.ptr)

// A deterministic, sign-varying fill: sin(3.1 * i + 0.7 * j).
func.func @fill(%m: memref<?x630xf32>) {
  linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]} outs(%m : memref<?x630xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %jj = arith.index_cast %j : index to i32
    %fi = arith.sitofp %ii : i32 to f32
    %fj = arith.sitofp %jj : i32 to f32
    %c1 = arith.constant 3.1 : f32
    %c2 = arith.constant 0.7 : f32
    %a = arith.mulf %fi, %c1 : f32
    %b = arith.mulf %fj, %c2 : f32
    %s = arith.addf %a, %b : f32
    %r = math.sin %s : f32
    linalg.yield %r : f32
  }
  return
}

func.func @check(%tokens: index) -> f32 {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc(%tokens) : memref<?x630xf32>
  %w = memref.alloc() : memref<29x630xf32>
  %w0 = memref.cast %w : memref<29x630xf32> to memref<?x630xf32>
  call @fill(%a) : (memref<?x630xf32>) -> ()
  call @fill(%w0) : (memref<?x630xf32>) -> ()
  %vec = memref.alloc(%tokens) : memref<?x29xf32>
  %ref = memref.alloc(%tokens) : memref<?x29xf64>
  %zero64 = arith.constant 0.0 : f64
  linalg.fill ins(%zero : f32) outs(%vec : memref<?x29xf32>)
  linalg.fill ins(%zero64 : f64) outs(%ref : memref<?x29xf64>)
  linalg.matmul_transpose_b ins(%a, %w : memref<?x630xf32>, memref<29x630xf32>) outs(%vec : memref<?x29xf32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x630xf32>, memref<29x630xf32>) outs(%ref : memref<?x29xf64>) {
  ^bb0(%x: f32, %y: f32, %acc: f64):
    %xd = arith.extf %x : f32 to f64
    %yd = arith.extf %y : f32 to f64
    %p = arith.mulf %xd, %yd : f64
    %s = arith.addf %acc, %p : f64
    linalg.yield %s : f64
  }
  %max = memref.alloca() : memref<f32>
  memref.store %zero, %max[] : memref<f32>
  linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%vec, %ref : memref<?x29xf32>, memref<?x29xf64>) outs(%vec : memref<?x29xf32>) {
  ^bb0(%x: f32, %y: f64, %o: f32):
    %xd = arith.extf %x : f32 to f64
    %dd = arith.subf %xd, %y : f64
    %d = arith.truncf %dd : f64 to f32
    %ad = math.absf %d : f32
    %cur = memref.load %max[] : memref<f32>
    %nm = arith.maximumf %cur, %ad : f32
    memref.store %nm, %max[] : memref<f32>
    linalg.yield %o : f32
  }
  %r = memref.load %max[] : memref<f32>
  memref.dealloc %a : memref<?x630xf32>
  memref.dealloc %w : memref<29x630xf32>
  memref.dealloc %vec : memref<?x29xf32>
  memref.dealloc %ref : memref<?x29xf64>
  return %r : f32
}

// The same with the weights stored as bf16 (--weight-type=bf16): the
// reference widens the same bf16 values, so only the summation order differs.
func.func @check_bf16(%tokens: index) -> f32 {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc(%tokens) : memref<?x630xf32>
  %wf = memref.alloc() : memref<29x630xf32>
  %wfd = memref.cast %wf : memref<29x630xf32> to memref<?x630xf32>
  call @fill(%a) : (memref<?x630xf32>) -> ()
  call @fill(%wfd) : (memref<?x630xf32>) -> ()
  %w = memref.alloc() : memref<29x630xbf16>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%wf : memref<29x630xf32>) outs(%w : memref<29x630xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %t = arith.truncf %x : f32 to bf16
    linalg.yield %t : bf16
  }
  %vec = memref.alloc(%tokens) : memref<?x29xf32>
  %ref = memref.alloc(%tokens) : memref<?x29xf64>
  %zero64 = arith.constant 0.0 : f64
  linalg.fill ins(%zero : f32) outs(%vec : memref<?x29xf32>)
  linalg.fill ins(%zero64 : f64) outs(%ref : memref<?x29xf64>)
  linalg.matmul_transpose_b ins(%a, %w : memref<?x630xf32>, memref<29x630xbf16>) outs(%vec : memref<?x29xf32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x630xf32>, memref<29x630xbf16>) outs(%ref : memref<?x29xf64>) {
  ^bb0(%x: f32, %y: bf16, %acc: f64):
    %xd = arith.extf %x : f32 to f64
    %yd = arith.extf %y : bf16 to f64
    %p = arith.mulf %xd, %yd : f64
    %s = arith.addf %acc, %p : f64
    linalg.yield %s : f64
  }
  %max = memref.alloca() : memref<f32>
  memref.store %zero, %max[] : memref<f32>
  linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%vec, %ref : memref<?x29xf32>, memref<?x29xf64>) outs(%vec : memref<?x29xf32>) {
  ^bb0(%x: f32, %y: f64, %o: f32):
    %xd = arith.extf %x : f32 to f64
    %dd = arith.subf %xd, %y : f64
    %d = arith.truncf %dd : f64 to f32
    %ad = math.absf %d : f32
    %cur = memref.load %max[] : memref<f32>
    %nm = arith.maximumf %cur, %ad : f32
    memref.store %nm, %max[] : memref<f32>
    linalg.yield %o : f32
  }
  %r = memref.load %max[] : memref<f32>
  memref.dealloc %a : memref<?x630xf32>
  memref.dealloc %wf : memref<29x630xf32>
  memref.dealloc %w : memref<29x630xbf16>
  memref.dealloc %vec : memref<?x29xf32>
  memref.dealloc %ref : memref<?x29xf64>
  return %r : f32
}

llvm.mlir.global internal constant @bf16(" bf16\0A\00") {addr_space = 0 : i32}

func.func private @printI64(i64)

// Prints `count` and the largest difference for f32 (or bf16) weights.
func.func @report(%count: i64, %bf16: i1) {
  %n = arith.index_cast %count : i64 to index
  call @printI64(%count) : (i64) -> ()
  scf.if %bf16 {
    %p = llvm.mlir.addressof @bf16 : !llvm.ptr
    func.call @printString(%p) : (!llvm.ptr) -> ()
    %e = func.call @check_bf16(%n) : (index) -> f32
    func.call @printF32(%e) : (f32) -> ()
  } else {
    func.call @printNewline() : () -> ()
    %e = func.call @check(%n) : (index) -> f32
    func.call @printF32(%e) : (f32) -> ()
  }
  call @printNewline() : () -> ()
  return
}

// Prints `tokens` "same" and max |batched - one by one|: the small-batch
// kernel's outputs against the same rows multiplied one token at a time (the
// decode kernel), both added to a C of 1.5 (as a residual): the chunks carry
// their accumulators as vectors, so each lane sums in the decode kernel's
// order and the outputs are the same bits.
func.func @exact(%tokens: index) {
  %zero = arith.constant 0.0 : f32
  %init = arith.constant 1.5 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c29 = arith.constant 29 : index
  %c630 = arith.constant 630 : index
  %a = memref.alloc(%tokens) : memref<?x630xf32>
  %w = memref.alloc() : memref<29x630xf32>
  %w0 = memref.cast %w : memref<29x630xf32> to memref<?x630xf32>
  call @fill(%a) : (memref<?x630xf32>) -> ()
  call @fill(%w0) : (memref<?x630xf32>) -> ()
  %all = memref.alloc(%tokens) : memref<?x29xf32>
  linalg.fill ins(%init : f32) outs(%all : memref<?x29xf32>)
  linalg.matmul_transpose_b ins(%a, %w : memref<?x630xf32>, memref<29x630xf32>) outs(%all : memref<?x29xf32>)
  %row = memref.alloc(%c1) : memref<?x630xf32>
  %one = memref.alloc(%c1) : memref<?x29xf32>
  %max = memref.alloca() : memref<f32>
  memref.store %zero, %max[] : memref<f32>
  scf.for %m = %c0 to %tokens step %c1 {
    scf.for %j = %c0 to %c630 step %c1 {
      %x = memref.load %a[%m, %j] : memref<?x630xf32>
      memref.store %x, %row[%c0, %j] : memref<?x630xf32>
    }
    linalg.fill ins(%init : f32) outs(%one : memref<?x29xf32>)
    linalg.matmul_transpose_b ins(%row, %w : memref<?x630xf32>, memref<29x630xf32>) outs(%one : memref<?x29xf32>)
    scf.for %n = %c0 to %c29 step %c1 {
      %x = memref.load %all[%m, %n] : memref<?x29xf32>
      %y = memref.load %one[%c0, %n] : memref<?x29xf32>
      %d = arith.subf %x, %y : f32
      %ad = math.absf %d : f32
      %cur = memref.load %max[] : memref<f32>
      %nm = arith.maximumf %cur, %ad : f32
      memref.store %nm, %max[] : memref<f32>
    }
  }
  %r = memref.load %max[] : memref<f32>
  %count = arith.index_cast %tokens : index to i64
  call @printI64(%count) : (i64) -> ()
  %p = llvm.mlir.addressof @same : !llvm.ptr
  call @printString(%p) : (!llvm.ptr) -> ()
  call @printF32(%r) : (f32) -> ()
  call @printNewline() : () -> ()
  memref.dealloc %a : memref<?x630xf32>
  memref.dealloc %w : memref<29x630xf32>
  memref.dealloc %all : memref<?x29xf32>
  memref.dealloc %row : memref<?x630xf32>
  memref.dealloc %one : memref<?x29xf32>
  return
}

llvm.mlir.global internal constant @same(" same\0A\00") {addr_space = 0 : i32}

func.func @main() {
  %false = arith.constant false
  %true = arith.constant true
  %n2f = arith.constant 2 : i64
  call @report(%n2f, %false) : (i64, i1) -> ()
  %n3f = arith.constant 3 : i64
  call @report(%n3f, %false) : (i64, i1) -> ()
  %n5f = arith.constant 5 : i64
  call @report(%n5f, %false) : (i64, i1) -> ()
  %n8f = arith.constant 8 : i64
  call @report(%n8f, %false) : (i64, i1) -> ()
  %n16f = arith.constant 16 : i64
  call @report(%n16f, %false) : (i64, i1) -> ()
  %n17f = arith.constant 17 : i64
  call @report(%n17f, %false) : (i64, i1) -> ()
  %n31f = arith.constant 31 : i64
  call @report(%n31f, %false) : (i64, i1) -> ()
  %n2t = arith.constant 2 : i64
  call @report(%n2t, %true) : (i64, i1) -> ()
  %n3t = arith.constant 3 : i64
  call @report(%n3t, %true) : (i64, i1) -> ()
  %n5t = arith.constant 5 : i64
  call @report(%n5t, %true) : (i64, i1) -> ()
  %n8t = arith.constant 8 : i64
  call @report(%n8t, %true) : (i64, i1) -> ()
  %n16t = arith.constant 16 : i64
  call @report(%n16t, %true) : (i64, i1) -> ()
  %n17t = arith.constant 17 : i64
  call @report(%n17t, %true) : (i64, i1) -> ()
  %n31t = arith.constant 31 : i64
  call @report(%n31t, %true) : (i64, i1) -> ()
  %c8 = arith.constant 8 : index
  call @exact(%c8) : (index) -> ()
  %c16 = arith.constant 16 : index
  call @exact(%c16) : (index) -> ()
  %c31 = arith.constant 31 : index
  call @exact(%c31) : (index) -> ()
  return
}
