// Executes the packed prefill GEMM of tfc-vectorize-matmul in its default
// form, the FMA micro-kernel, on thread blocks of several 12-row micro-tiles
// (200 rows: 16 tiles in 8 blocks of 2, and an 8-row rest; 29 rows: one tile
// per block and a 5-row rest), with f32 weights and with bf16 weights widened
// to f32 once per block into the block's scratch; reductions of 37 (vector
// widening plus a scalar tail) and 48; 32, 45 and 70 tokens (full and
// zero-padded panels). With bf16-dot as tfc sets it on AVX512_BF16, the GEMM
// still widens (the activations are not rounded), so the reference is the
// plain f32 product of the same bf16 values. Prints the largest |difference|.
//
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 bf16-dot=1" -tfc-lower-intrinsic-calls \
// RUN:   -convert-scf-to-openmp \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -expand-strided-metadata -lower-affine \
// RUN:   -finalize-memref-to-llvm -convert-scf-to-cf -convert-vector-to-llvm -convert-math-to-llvm \
// RUN:   -convert-arith-to-llvm -convert-index-to-llvm -convert-openmp-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | env OMP_NUM_THREADS=2 /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so,/usr/lib/llvm-19/lib/libomp.so \
// RUN: | FileCheck %s
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16" -tfc-lower-intrinsic-calls \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -expand-strided-metadata -lower-affine \
// RUN:   -finalize-memref-to-llvm -convert-scf-to-cf -convert-vector-to-llvm -convert-math-to-llvm \
// RUN:   -convert-arith-to-llvm -convert-index-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so \
// RUN: | FileCheck %s
//
// The blocks: 9 blocks (8 of two tiles, rows [24 b, 24 b + 24), and the
// 8-row rest) in two waves of 8 parallel slots; each block's bf16 weights
// widened into its slot of one [8 x 24 x 48] f32 scratch (a temporary of fixed
// size, for the arena) that the kernel broadcasts from; no vdpbf16ps.
// RUN: tfc-opt %s -tfc-vectorize-matmul="bf16-dot=1" | FileCheck %s --check-prefix=IR
// IR-LABEL: func.func @check_bf16_48x200(
// IR: memref.alloc() {alignment = 64 : i64} : memref<8x24x48xf32>
// IR-NEXT: scf.for %{{.*}} = %c0 to %c2 step %c1
// IR-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c8) step (%c1)
// IR: arith.extf {{.*}} : vector<16xbf16> to vector<16xf32>
// IR: vector.store {{.*}} : memref<8x24x48xf32>, vector<16xf32>
// IR-NOT: dpbf16ps
// IR: memref.load {{.*}} : memref<8x24x48xf32>
// IR: vector.fma
// IR: } else {
// IR-LABEL: func.func @check_f32_48x200(
// IR-NOT: memref<8x24x48xf32>
// IR: scf.parallel (%{{.*}}) = (%c0) to (%c9) step (%c1)
// IR-LABEL: func.func @main
// CHECK: max |vector - reference| for bf16 weights 29x37, 32 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 29x37, 45 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 29x37, 70 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 200x48, 32 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 200x48, 45 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 200x48, 70 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for f32 weights 200x48, 45 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for f32 weights 200x48, 70 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for f32 weights 29x37, 45 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}

  #id2 = affine_map<(m, n) -> (m, n)>
  #mk = affine_map<(m, n, k) -> (m, k)>
  #nk = affine_map<(m, n, k) -> (n, k)>
  #mn = affine_map<(m, n, k) -> (m, n)>

  func.func private @printF32(f32)
  func.func private @printNewline()
  func.func private @printString(!llvm.ptr)
  
func.func @fill37(%m: memref<?x37xf32>) {
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

func.func @fill48(%m: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]} outs(%m : memref<?x48xf32>) {
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

func.func @check_bf16_37x29(%tokens: index) -> f32 {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc(%tokens) : memref<?x37xf32>
  %wf = memref.alloc() : memref<29x37xf32>
  %wfd = memref.cast %wf : memref<29x37xf32> to memref<?x37xf32>
  call @fill37(%a) : (memref<?x37xf32>) -> ()
  call @fill37(%wfd) : (memref<?x37xf32>) -> ()
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
    %xf = arith.addf %x, %zero : f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
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

func.func @check_bf16_48x200(%tokens: index) -> f32 {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc(%tokens) : memref<?x48xf32>
  %wf = memref.alloc() : memref<200x48xf32>
  %wfd = memref.cast %wf : memref<200x48xf32> to memref<?x48xf32>
  call @fill48(%a) : (memref<?x48xf32>) -> ()
  call @fill48(%wfd) : (memref<?x48xf32>) -> ()
  %w = memref.alloc() : memref<200x48xbf16>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%wf : memref<200x48xf32>) outs(%w : memref<200x48xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %t = arith.truncf %x : f32 to bf16
    linalg.yield %t : bf16
  }
  %vec = memref.alloc(%tokens) : memref<?x200xf32>
  %ref = memref.alloc(%tokens) : memref<?x200xf32>
  linalg.fill ins(%zero : f32) outs(%vec : memref<?x200xf32>)
  linalg.fill ins(%zero : f32) outs(%ref : memref<?x200xf32>)
  linalg.matmul_transpose_b ins(%a, %w : memref<?x48xf32>, memref<200x48xbf16>) outs(%vec : memref<?x200xf32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x48xf32>, memref<200x48xbf16>) outs(%ref : memref<?x200xf32>) {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %xf = arith.addf %x, %zero : f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %max = memref.alloca() : memref<f32>
  memref.store %zero, %max[] : memref<f32>
  linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%vec, %ref : memref<?x200xf32>, memref<?x200xf32>) outs(%vec : memref<?x200xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %cur = memref.load %max[] : memref<f32>
    %nm = arith.maximumf %cur, %ad : f32
    memref.store %nm, %max[] : memref<f32>
    linalg.yield %o : f32
  }
  %r = memref.load %max[] : memref<f32>
  memref.dealloc %a : memref<?x48xf32>
  memref.dealloc %wf : memref<200x48xf32>
  memref.dealloc %w : memref<200x48xbf16>
  memref.dealloc %vec : memref<?x200xf32>
  memref.dealloc %ref : memref<?x200xf32>
  return %r : f32
}

func.func @check_f32_48x200(%tokens: index) -> f32 {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc(%tokens) : memref<?x48xf32>
  %wf = memref.alloc() : memref<200x48xf32>
  %wfd = memref.cast %wf : memref<200x48xf32> to memref<?x48xf32>
  call @fill48(%a) : (memref<?x48xf32>) -> ()
  call @fill48(%wfd) : (memref<?x48xf32>) -> ()
  %vec = memref.alloc(%tokens) : memref<?x200xf32>
  %ref = memref.alloc(%tokens) : memref<?x200xf32>
  linalg.fill ins(%zero : f32) outs(%vec : memref<?x200xf32>)
  linalg.fill ins(%zero : f32) outs(%ref : memref<?x200xf32>)
  linalg.matmul_transpose_b ins(%a, %wf : memref<?x48xf32>, memref<200x48xf32>) outs(%vec : memref<?x200xf32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %wf : memref<?x48xf32>, memref<200x48xf32>) outs(%ref : memref<?x200xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %max = memref.alloca() : memref<f32>
  memref.store %zero, %max[] : memref<f32>
  linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%vec, %ref : memref<?x200xf32>, memref<?x200xf32>) outs(%vec : memref<?x200xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %cur = memref.load %max[] : memref<f32>
    %nm = arith.maximumf %cur, %ad : f32
    memref.store %nm, %max[] : memref<f32>
    linalg.yield %o : f32
  }
  %r = memref.load %max[] : memref<f32>
  memref.dealloc %a : memref<?x48xf32>
  memref.dealloc %wf : memref<200x48xf32>
  memref.dealloc %vec : memref<?x200xf32>
  memref.dealloc %ref : memref<?x200xf32>
  return %r : f32
}

func.func @check_f32_37x29(%tokens: index) -> f32 {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc(%tokens) : memref<?x37xf32>
  %wf = memref.alloc() : memref<29x37xf32>
  %wfd = memref.cast %wf : memref<29x37xf32> to memref<?x37xf32>
  call @fill37(%a) : (memref<?x37xf32>) -> ()
  call @fill37(%wfd) : (memref<?x37xf32>) -> ()
  %vec = memref.alloc(%tokens) : memref<?x29xf32>
  %ref = memref.alloc(%tokens) : memref<?x29xf32>
  linalg.fill ins(%zero : f32) outs(%vec : memref<?x29xf32>)
  linalg.fill ins(%zero : f32) outs(%ref : memref<?x29xf32>)
  linalg.matmul_transpose_b ins(%a, %wf : memref<?x37xf32>, memref<29x37xf32>) outs(%vec : memref<?x29xf32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %wf : memref<?x37xf32>, memref<29x37xf32>) outs(%ref : memref<?x29xf32>) {
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
  memref.dealloc %wf : memref<29x37xf32>
  memref.dealloc %vec : memref<?x29xf32>
  memref.dealloc %ref : memref<?x29xf32>
  return %r : f32
}
llvm.mlir.global internal constant @msg_bf16_37_29_32("max |vector - reference| for bf16 weights 29x37, 32 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_37_29_45("max |vector - reference| for bf16 weights 29x37, 45 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_37_29_70("max |vector - reference| for bf16 weights 29x37, 70 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_48_200_32("max |vector - reference| for bf16 weights 200x48, 32 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_48_200_45("max |vector - reference| for bf16 weights 200x48, 45 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_48_200_70("max |vector - reference| for bf16 weights 200x48, 70 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_f32_48_200_45("max |vector - reference| for f32 weights 200x48, 45 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_f32_48_200_70("max |vector - reference| for f32 weights 200x48, 70 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_f32_37_29_45("max |vector - reference| for f32 weights 29x37, 45 token(s)\0A\00") {addr_space = 0 : i32}

func.func @main() {
  %t_bf16_37_29_32 = arith.constant 32 : index
    %p_bf16_37_29_32 = llvm.mlir.addressof @msg_bf16_37_29_32 : !llvm.ptr
    call @printString(%p_bf16_37_29_32) : (!llvm.ptr) -> ()
    %e_bf16_37_29_32 = call @check_bf16_37x29(%t_bf16_37_29_32) : (index) -> f32
    call @printF32(%e_bf16_37_29_32) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_bf16_37_29_45 = arith.constant 45 : index
    %p_bf16_37_29_45 = llvm.mlir.addressof @msg_bf16_37_29_45 : !llvm.ptr
    call @printString(%p_bf16_37_29_45) : (!llvm.ptr) -> ()
    %e_bf16_37_29_45 = call @check_bf16_37x29(%t_bf16_37_29_45) : (index) -> f32
    call @printF32(%e_bf16_37_29_45) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_bf16_37_29_70 = arith.constant 70 : index
    %p_bf16_37_29_70 = llvm.mlir.addressof @msg_bf16_37_29_70 : !llvm.ptr
    call @printString(%p_bf16_37_29_70) : (!llvm.ptr) -> ()
    %e_bf16_37_29_70 = call @check_bf16_37x29(%t_bf16_37_29_70) : (index) -> f32
    call @printF32(%e_bf16_37_29_70) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_bf16_48_200_32 = arith.constant 32 : index
    %p_bf16_48_200_32 = llvm.mlir.addressof @msg_bf16_48_200_32 : !llvm.ptr
    call @printString(%p_bf16_48_200_32) : (!llvm.ptr) -> ()
    %e_bf16_48_200_32 = call @check_bf16_48x200(%t_bf16_48_200_32) : (index) -> f32
    call @printF32(%e_bf16_48_200_32) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_bf16_48_200_45 = arith.constant 45 : index
    %p_bf16_48_200_45 = llvm.mlir.addressof @msg_bf16_48_200_45 : !llvm.ptr
    call @printString(%p_bf16_48_200_45) : (!llvm.ptr) -> ()
    %e_bf16_48_200_45 = call @check_bf16_48x200(%t_bf16_48_200_45) : (index) -> f32
    call @printF32(%e_bf16_48_200_45) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_bf16_48_200_70 = arith.constant 70 : index
    %p_bf16_48_200_70 = llvm.mlir.addressof @msg_bf16_48_200_70 : !llvm.ptr
    call @printString(%p_bf16_48_200_70) : (!llvm.ptr) -> ()
    %e_bf16_48_200_70 = call @check_bf16_48x200(%t_bf16_48_200_70) : (index) -> f32
    call @printF32(%e_bf16_48_200_70) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_f32_48_200_45 = arith.constant 45 : index
    %p_f32_48_200_45 = llvm.mlir.addressof @msg_f32_48_200_45 : !llvm.ptr
    call @printString(%p_f32_48_200_45) : (!llvm.ptr) -> ()
    %e_f32_48_200_45 = call @check_f32_48x200(%t_f32_48_200_45) : (index) -> f32
    call @printF32(%e_f32_48_200_45) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_f32_48_200_70 = arith.constant 70 : index
    %p_f32_48_200_70 = llvm.mlir.addressof @msg_f32_48_200_70 : !llvm.ptr
    call @printString(%p_f32_48_200_70) : (!llvm.ptr) -> ()
    %e_f32_48_200_70 = call @check_f32_48x200(%t_f32_48_200_70) : (index) -> f32
    call @printF32(%e_f32_48_200_70) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_f32_37_29_45 = arith.constant 45 : index
    %p_f32_37_29_45 = llvm.mlir.addressof @msg_f32_37_29_45 : !llvm.ptr
    call @printString(%p_f32_37_29_45) : (!llvm.ptr) -> ()
    %e_f32_37_29_45 = call @check_f32_37x29(%t_f32_37_29_45) : (index) -> f32
    call @printF32(%e_f32_37_29_45) : (f32) -> ()
    call @printNewline() : () -> ()
    return
}
