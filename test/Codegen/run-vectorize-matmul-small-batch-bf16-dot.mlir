// The small-batch kernel with bf16-dot: one token runs the decode kernel on
// vdpbf16ps (A rounded to bf16); 2 to 31 tokens compute the same sums with
// FMAs (odd products, then even ones, as vdpbf16ps; A rounded to bf16 and
// split into even and odd columns once per call, the weights' halves widened
// by a shift and a mask). Against a float64 reference of the same rounded
// operands, for 1, 2, 5, 8, 16 and 31 tokens on 29 weight rows (blocks of 8:
// 3-row tiles, the 1-row rest, a partial block) and a reduction of 630 (19
// steps of 32 and a zero-padded tail of 22). The reduction's chunks hold at
// most 32 KiB of A: one chunk up to 13 tokens, two (10 + 9 steps) for 16,
// three (7 + 7 + 5) for 31 (the sums reach ~300; a lost or repeated chunk
// would be off by units; the bound, 3e-4, is 10 ulps of 300). Then the same
// bits as one token at a time: 2, 5 and 8 tokens (one chunk), 16 and 31
// (chunks, the accumulators carried between them as vectors, so each lane
// sums in the decode kernel's order) equal the vdpbf16ps kernel's outputs
// exactly.
// Serial and on OpenMP threads.
//
// REQUIRES: avx512bf16
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8 bf16-dot=1" -tfc-lower-intrinsic-calls \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -lower-affine -convert-scf-to-cf \
// RUN:   -expand-strided-metadata -lower-affine -finalize-memref-to-llvm -convert-vector-to-llvm \
// RUN:   -convert-math-to-llvm -convert-arith-to-llvm -convert-index-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so \
// RUN: | FileCheck %s
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8 bf16-dot=1" -tfc-lower-intrinsic-calls -convert-scf-to-openmp \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -expand-strided-metadata -lower-affine \
// RUN:   -finalize-memref-to-llvm -convert-scf-to-cf -convert-vector-to-llvm -convert-math-to-llvm \
// RUN:   -convert-arith-to-llvm -convert-index-to-llvm -convert-openmp-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | env OMP_NUM_THREADS=2 /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so,/usr/lib/llvm-19/lib/libomp.so \
// RUN: | FileCheck %s
//
// The shape: A split and rounded into an f32 buffer padded to 640, chunks of
// 32 KiB / 4 bytes / 32 = 256 steps over the tokens; per step 16 loads of A
// (even and odd columns of 8 tokens), per weight row one 32 x bf16 load split
// by a shift and a mask, 48 FMAs; the 22-element tail under the last chunk;
// one token on vdpbf16ps.
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8 bf16-dot=1" | FileCheck %s --check-prefix=IR
// IR-LABEL: func.func @check(
// IR: %[[FEW:.+]] = arith.cmpi uge, %{{.+}}, %c2 : index
// IR: scf.if %[[FEW]] {
// IR: %[[SPLIT:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?x640xf32>
// IR: arith.truncf %{{.+}} : f32 to bf16
// IR: arith.extf %{{.+}} : bf16 to f32
// IR: scf.parallel
// IR: arith.divui %c256, %{{.+}} : index
// IR: scf.for %[[K0:.+]] = %c0 to %c608 step %{{.+}} {
// IR: scf.for %[[COL:.+]] = %[[K0]] to %{{.+}} step %c32 iter_args(
// IR-COUNT-16: vector.load %[[SPLIT]]
// IR: vector.load {{.+}} : memref<29x630xbf16>, vector<32xbf16>
// IR: arith.shli
// IR: arith.andi
// IR-COUNT-48: vector.fma
// IR: scf.if
// IR: vector.transfer_read %{{.+}}[%{{.+}}, %c608], %{{.+}} : memref<29x630xbf16>, vector<32xbf16>
// IR: } else {
// IR: memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?x630xbf16>
// IR: scf.parallel
// IR: step %c32 iter_args(
// IR: call @__tfc_llvm_x86_avx512bf16_dpbf16ps_512

// CHECK: {{^}}1{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}2{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}5{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}8{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}16{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}31{{ *$}}
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[5-9]|[1-2](\.[0-9]+)?e-04}}
// CHECK: {{^}}2 same{{ *$}}
// CHECK-NEXT: {{^}}0{{ *$}}
// CHECK: {{^}}5 same{{ *$}}
// CHECK-NEXT: {{^}}0{{ *$}}
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
func.func private @printI64(i64)
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

// Prints `tokens` and max |kernel - reference| over the [tokens, 29] outputs.
func.func @check(%tokens: index) {
  %zero = arith.constant 0.0 : f32
  %zero64 = arith.constant 0.0 : f64
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
  linalg.fill ins(%zero : f32) outs(%vec : memref<?x29xf32>)
  linalg.fill ins(%zero64 : f64) outs(%ref : memref<?x29xf64>)
  linalg.matmul_transpose_b ins(%a, %w : memref<?x630xf32>, memref<29x630xbf16>) outs(%vec : memref<?x29xf32>)
  // The kernel rounds A to bf16 (round to nearest even) for vdpbf16ps.
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x630xf32>, memref<29x630xbf16>) outs(%ref : memref<?x29xf64>) {
  ^bb0(%x: f32, %y: bf16, %acc: f64):
    %xr = arith.truncf %x : f32 to bf16
    %xd = arith.extf %xr : bf16 to f64
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
  %count = arith.index_cast %tokens : index to i64
  call @printI64(%count) : (i64) -> ()
  call @printNewline() : () -> ()
  call @printF32(%r) : (f32) -> ()
  call @printNewline() : () -> ()
  memref.dealloc %a : memref<?x630xf32>
  memref.dealloc %wf : memref<29x630xf32>
  memref.dealloc %w : memref<29x630xbf16>
  memref.dealloc %vec : memref<?x29xf32>
  memref.dealloc %ref : memref<?x29xf64>
  return
}

// Prints `tokens` "same" and max |batched - one by one|: the outputs of the
// small-batch kernel against the same rows multiplied one token at a time
// (the vdpbf16ps decode kernel).
func.func @exact(%tokens: index) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c29 = arith.constant 29 : index
  %c630 = arith.constant 630 : index
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
  %all = memref.alloc(%tokens) : memref<?x29xf32>
  linalg.fill ins(%zero : f32) outs(%all : memref<?x29xf32>)
  linalg.matmul_transpose_b ins(%a, %w : memref<?x630xf32>, memref<29x630xbf16>) outs(%all : memref<?x29xf32>)
  %row = memref.alloc(%c1) : memref<?x630xf32>
  %one = memref.alloc(%c1) : memref<?x29xf32>
  %max = memref.alloca() : memref<f32>
  memref.store %zero, %max[] : memref<f32>
  scf.for %m = %c0 to %tokens step %c1 {
    scf.for %j = %c0 to %c630 step %c1 {
      %x = memref.load %a[%m, %j] : memref<?x630xf32>
      memref.store %x, %row[%c0, %j] : memref<?x630xf32>
    }
    linalg.fill ins(%zero : f32) outs(%one : memref<?x29xf32>)
    linalg.matmul_transpose_b ins(%row, %w : memref<?x630xf32>, memref<29x630xbf16>) outs(%one : memref<?x29xf32>)
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
  memref.dealloc %wf : memref<29x630xf32>
  memref.dealloc %w : memref<29x630xbf16>
  memref.dealloc %all : memref<?x29xf32>
  memref.dealloc %row : memref<?x630xf32>
  memref.dealloc %one : memref<?x29xf32>
  return
}

llvm.mlir.global internal constant @same(" same\0A\00") {addr_space = 0 : i32}

func.func @main() {
  %c1 = arith.constant 1 : index
  call @check(%c1) : (index) -> ()
  %c2 = arith.constant 2 : index
  call @check(%c2) : (index) -> ()
  %c5 = arith.constant 5 : index
  call @check(%c5) : (index) -> ()
  %c8 = arith.constant 8 : index
  call @check(%c8) : (index) -> ()
  %c16 = arith.constant 16 : index
  call @check(%c16) : (index) -> ()
  %c31 = arith.constant 31 : index
  call @check(%c31) : (index) -> ()
  call @exact(%c2) : (index) -> ()
  call @exact(%c5) : (index) -> ()
  call @exact(%c8) : (index) -> ()
  call @exact(%c16) : (index) -> ()
  call @exact(%c31) : (index) -> ()
  return
}
