// Executes the vector kernels of tfc-vectorize-matmul against a plain linalg
// reference on shapes that hit every remainder path: tokens 1, 4, 7 (4-token
// tiles and the 1-token rest), 29 weight rows in blocks of 8 (4-row tiles, the
// 1-row rest and a partial block), and a reduction of 37 (two 16-lane steps and
// a zero-padded tail); tokens 45 and 70 take the packed GEMM (a full 32-token
// panel and a zero-padded one; two 12-row blocks and a 5-row rest; with 8
// lanes, 16-token panels and 6-row blocks). Prints the largest |difference| per
// token count.
//
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8" -tfc-lower-intrinsic-calls \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -lower-affine -convert-scf-to-cf \
// RUN:   -expand-strided-metadata -lower-affine -finalize-memref-to-llvm -convert-vector-to-llvm \
// RUN:   -convert-math-to-llvm -convert-arith-to-llvm -convert-index-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so \
// RUN: | FileCheck %s
// The same kernels with the row blocks on OpenMP threads, as tfc compiles them:
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8" -tfc-lower-intrinsic-calls -convert-scf-to-openmp \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -expand-strided-metadata -lower-affine \
// RUN:   -finalize-memref-to-llvm -convert-scf-to-cf -convert-vector-to-llvm -convert-math-to-llvm \
// RUN:   -convert-arith-to-llvm -convert-index-to-llvm -convert-openmp-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | env OMP_NUM_THREADS=2 /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so,/usr/lib/llvm-19/lib/libomp.so \
// RUN: | FileCheck %s
// RUN: tfc-opt %s -tfc-vectorize-matmul | FileCheck %s --check-prefix=IR
// AVX2's width: 8 lanes, a 6-row x 16-token GEMM tile, 16-token panels.
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=8 block-rows=8" -tfc-lower-intrinsic-calls \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -lower-affine -convert-scf-to-cf \
// RUN:   -expand-strided-metadata -lower-affine -finalize-memref-to-llvm -convert-vector-to-llvm \
// RUN:   -convert-math-to-llvm -convert-arith-to-llvm -convert-index-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so \
// RUN: | FileCheck %s
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=8" | FileCheck %s --check-prefix=IR8
// IR8-LABEL: func.func @check
// IR8: memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x37x16xf32>
// IR8-COUNT-12: vector.fma {{.*}} : vector<8xf32>
// IR8: vector.scatter

// IR-LABEL: func.func @check
// IR-NOT: linalg.matmul_transpose_b
// IR: scf.parallel
// IR: vector.fma
// IR: vector.reduction <add>

// CHECK: max |vector - reference| for 1 token(s)
// CHECK-NEXT: {{^}}[[ZERO:0|[0-9](\.[0-9]+)?e-0[6-9]]]
// CHECK: max |vector - reference| for 4 token(s)
// CHECK-NEXT: {{^}}[[ZERO2:0|[0-9](\.[0-9]+)?e-0[6-9]]]
// CHECK: max |vector - reference| for 7 token(s)
// CHECK-NEXT: {{^}}[[ZERO3:0|[0-9](\.[0-9]+)?e-0[6-9]]]
// CHECK: max |vector - reference| for 45 token(s)
// CHECK-NEXT: {{^}}[[ZERO5:0|[0-9](\.[0-9]+)?e-0[6-9]]]
// CHECK: max |vector - reference| for 70 token(s)
// CHECK-NEXT: {{^}}[[ZERO6:0|[0-9](\.[0-9]+)?e-0[6-9]]]
// CHECK: max |vector - reference| for 7 token(s), bf16 weights
// CHECK-NEXT: {{^}}[[ZERO4:0|[0-9](\.[0-9]+)?e-0[6-9]]]
// CHECK: max |vector - reference| for 45 token(s), bf16 weights
// CHECK-NEXT: {{^}}[[ZERO7:0|[0-9](\.[0-9]+)?e-0[6-9]]]

#id2 = affine_map<(m, n) -> (m, n)>
#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>

func.func private @printF32(f32)
func.func private @printNewline()
func.func private @printString(!llvm.ptr)

// A deterministic, sign-varying fill: sin(3.1 * i + 0.7 * j).
func.func @fill(%m: memref<?x37xf32>) {
  linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]} outs(%m : memref<?x37xf32>) {
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
  %a = memref.alloc(%tokens) : memref<?x37xf32>
  %w = memref.alloc() : memref<29x37xf32>
  %w0 = memref.cast %w : memref<29x37xf32> to memref<?x37xf32>
  call @fill(%a) : (memref<?x37xf32>) -> ()
  call @fill(%w0) : (memref<?x37xf32>) -> ()
  %vec = memref.alloc(%tokens) : memref<?x29xf32>
  %ref = memref.alloc(%tokens) : memref<?x29xf32>
  linalg.fill ins(%zero : f32) outs(%vec : memref<?x29xf32>)
  linalg.fill ins(%zero : f32) outs(%ref : memref<?x29xf32>)
  linalg.matmul_transpose_b ins(%a, %w : memref<?x37xf32>, memref<29x37xf32>) outs(%vec : memref<?x29xf32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x37xf32>, memref<29x37xf32>) outs(%ref : memref<?x29xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %max = memref.alloca() : memref<f32>
  memref.store %zero, %max[] : memref<f32>
  linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%vec, %ref : memref<?x29xf32>, memref<?x29xf32>) outs(%vec : memref<?x29xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %cur = memref.load %max[] : memref<f32>
    %nm = arith.maximumf %cur, %ad : f32
    memref.store %nm, %max[] : memref<f32>
    linalg.yield %o : f32
  }
  %r = memref.load %max[] : memref<f32>
  memref.dealloc %a : memref<?x37xf32>
  memref.dealloc %w : memref<29x37xf32>
  memref.dealloc %vec : memref<?x29xf32>
  memref.dealloc %ref : memref<?x29xf32>
  return %r : f32
}

// The same with the weights stored as bf16 (--weight-type=bf16): the
// reference widens the same bf16 values, so only the summation order differs.
func.func @check_bf16(%tokens: index) -> f32 {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc(%tokens) : memref<?x37xf32>
  %wf = memref.alloc() : memref<29x37xf32>
  %wfd = memref.cast %wf : memref<29x37xf32> to memref<?x37xf32>
  call @fill(%a) : (memref<?x37xf32>) -> ()
  call @fill(%wfd) : (memref<?x37xf32>) -> ()
  %w = memref.alloc() : memref<29x37xbf16>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%wf : memref<29x37xf32>) outs(%w : memref<29x37xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %t = arith.truncf %x : f32 to bf16
    linalg.yield %t : bf16
  }
  %vec = memref.alloc(%tokens) : memref<?x29xf32>
  %ref = memref.alloc(%tokens) : memref<?x29xf32>
  linalg.fill ins(%zero : f32) outs(%vec : memref<?x29xf32>)
  linalg.fill ins(%zero : f32) outs(%ref : memref<?x29xf32>)
  linalg.matmul_transpose_b ins(%a, %w : memref<?x37xf32>, memref<29x37xbf16>) outs(%vec : memref<?x29xf32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x37xf32>, memref<29x37xbf16>) outs(%ref : memref<?x29xf32>) {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %x, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %max = memref.alloca() : memref<f32>
  memref.store %zero, %max[] : memref<f32>
  linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%vec, %ref : memref<?x29xf32>, memref<?x29xf32>) outs(%vec : memref<?x29xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %cur = memref.load %max[] : memref<f32>
    %nm = arith.maximumf %cur, %ad : f32
    memref.store %nm, %max[] : memref<f32>
    linalg.yield %o : f32
  }
  %r = memref.load %max[] : memref<f32>
  memref.dealloc %a : memref<?x37xf32>
  memref.dealloc %wf : memref<29x37xf32>
  memref.dealloc %w : memref<29x37xbf16>
  memref.dealloc %vec : memref<?x29xf32>
  memref.dealloc %ref : memref<?x29xf32>
  return %r : f32
}

llvm.mlir.global internal constant @msgbf("max |vector - reference| for 7 token(s), bf16 weights\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg1("max |vector - reference| for 1 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg4("max |vector - reference| for 4 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg45("max |vector - reference| for 45 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg70("max |vector - reference| for 70 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msgbf45("max |vector - reference| for 45 token(s), bf16 weights\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg7("max |vector - reference| for 7 token(s)\0A\00") {addr_space = 0 : i32}

func.func @main() {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c7 = arith.constant 7 : index
  %p1 = llvm.mlir.addressof @msg1 : !llvm.ptr
  %p4 = llvm.mlir.addressof @msg4 : !llvm.ptr
  %p7 = llvm.mlir.addressof @msg7 : !llvm.ptr
  call @printString(%p1) : (!llvm.ptr) -> ()
  %e1 = call @check(%c1) : (index) -> f32
  call @printF32(%e1) : (f32) -> ()
  call @printNewline() : () -> ()
  call @printString(%p4) : (!llvm.ptr) -> ()
  %e4 = call @check(%c4) : (index) -> f32
  call @printF32(%e4) : (f32) -> ()
  call @printNewline() : () -> ()
  call @printString(%p7) : (!llvm.ptr) -> ()
  %e7 = call @check(%c7) : (index) -> f32
  call @printF32(%e7) : (f32) -> ()
  call @printNewline() : () -> ()
  %c45 = arith.constant 45 : index
  %c70 = arith.constant 70 : index
  %p45 = llvm.mlir.addressof @msg45 : !llvm.ptr
  %p70 = llvm.mlir.addressof @msg70 : !llvm.ptr
  call @printString(%p45) : (!llvm.ptr) -> ()
  %e45 = call @check(%c45) : (index) -> f32
  call @printF32(%e45) : (f32) -> ()
  call @printNewline() : () -> ()
  call @printString(%p70) : (!llvm.ptr) -> ()
  %e70 = call @check(%c70) : (index) -> f32
  call @printF32(%e70) : (f32) -> ()
  call @printNewline() : () -> ()
  %pb = llvm.mlir.addressof @msgbf : !llvm.ptr
  call @printString(%pb) : (!llvm.ptr) -> ()
  %eb = call @check_bf16(%c7) : (index) -> f32
  call @printF32(%eb) : (f32) -> ()
  call @printNewline() : () -> ()
  %pb45 = llvm.mlir.addressof @msgbf45 : !llvm.ptr
  call @printString(%pb45) : (!llvm.ptr) -> ()
  %eb45 = call @check_bf16(%c45) : (index) -> f32
  call @printF32(%eb45) : (f32) -> ()
  call @printNewline() : () -> ()
  return
}

// With bf16-dot, bf16 weights go through vdpbf16ps (executed in
// test/Numeric/bf16-dot.test on CPUs that have it); f32 weights never do. The
// instruction is a call of a marked declaration until tfc-lower-intrinsic-calls.
// RUN: tfc-opt %s -tfc-vectorize-matmul="bf16-dot=1" | FileCheck %s --check-prefix=DOT
// DOT-LABEL: func.func @check(
// DOT-NOT: call @__tfc_llvm_x86_avx512bf16_dpbf16ps_512
// DOT-LABEL: func.func @check_bf16(
// DOT: arith.truncf {{.*}} : f32 to bf16
// DOT: vector.load {{.*}} : memref<?x37xbf16>, vector<32xbf16>
// DOT: call @__tfc_llvm_x86_avx512bf16_dpbf16ps_512({{.*}}) : (vector<16xf32>, vector<32xbf16>, vector<32xbf16>) -> vector<16xf32>
// DOT: vector.transfer_read {{.*}} : memref<29x37xbf16>, vector<32xbf16>
// DOT: func.func private @__tfc_llvm_x86_avx512bf16_dpbf16ps_512(vector<16xf32>, vector<32xbf16>, vector<32xbf16>) -> vector<16xf32> attributes {tfc.llvm_intrinsic = "llvm.x86.avx512bf16.dpbf16ps.512"}
// RUN: tfc-opt %s -tfc-vectorize-matmul="bf16-dot=1" -tfc-lower-intrinsic-calls | FileCheck %s --check-prefix=INTR
// INTR-LABEL: func.func @check_bf16(
// INTR: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"({{.*}}) : (vector<16xf32>, vector<32xbf16>, vector<32xbf16>) -> vector<16xf32>
// INTR-NOT: __tfc_llvm_x86
