// Executes the packed prefill GEMM of tfc-vectorize-matmul with bf16-gemm-dot
// (vdpbf16ps; off by default, see MatmulStrategy.h) against a plain linalg reference: the streaming kernels (1 and 7
// tokens) and the packed bf16 GEMM (Ap[t][k/2][token][2] panels, a pair of
// weights broadcast against 16 tokens' pairs): 32 tokens (one full panel), 45
// (a full and a zero-padded panel), 64 and 70; 29 weight rows (two 12-row
// tiles and a 5-row rest); an odd reduction of 37 (the last pair half padded)
// and an even one of 48. 200 rows make thread blocks of several micro-tiles
// (16 tiles: 8 blocks of 2, and an 8-row rest), for bf16 and f32 weights.
// Prints the largest |difference| per case.
//
// REQUIRES: avx512bf16
// RUN: tfc-opt %s -tfc-vectorize-matmul="vector-width=16 block-rows=8 bf16-dot=1 bf16-gemm-dot=1" \
// RUN:   -tfc-lower-intrinsic-calls -convert-scf-to-openmp \
// RUN:   -convert-linalg-to-loops -convert-vector-to-scf -expand-strided-metadata -lower-affine \
// RUN:   -finalize-memref-to-llvm -convert-scf-to-cf -convert-vector-to-llvm -convert-math-to-llvm \
// RUN:   -convert-arith-to-llvm -convert-index-to-llvm -convert-openmp-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | env OMP_NUM_THREADS=2 /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so,/usr/lib/llvm-19/lib/libomp.so \
// RUN: | FileCheck %s
//
// The GEMM's shape: bf16 panels of token pairs, the weight pair broadcast as
// 32 bits, 12 rows x 2 token vectors of vdpbf16ps; the odd reduction's last
// pair read zero-padded.
// RUN: tfc-opt %s -tfc-vectorize-matmul="bf16-dot=1 bf16-gemm-dot=1" | FileCheck %s --check-prefix=IR
// IR-LABEL: func.func @check_bf16_37x29(
// IR: memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x19x64xbf16>
// IR: scf.for
// IR: vector.load {{.*}} : memref<?x19x64xbf16>, vector<32xbf16>
// IR: vector.load {{.*}} : memref<29x37xbf16>, vector<2xbf16>
// IR: vector.bitcast {{.*}} : vector<2xbf16> to vector<1xi32>
// IR: vector.broadcast {{.*}} : i32 to vector<16xi32>
// IR: vector.bitcast {{.*}} : vector<16xi32> to vector<32xbf16>
// IR-COUNT-24: call @__tfc_llvm_x86_avx512bf16_dpbf16ps_512
// IR: vector.transfer_read {{.*}} : memref<29x37xbf16>, vector<2xbf16>
// IR: vector.scatter
// IR-LABEL: func.func @check_bf16_48x29(
// IR: memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x24x64xbf16>
// IR-NOT: vector.transfer_read {{.*}} vector<2xbf16>
// IR-LABEL: func.func @check_f32_48x200(
// IR-NOT: dpbf16ps
// IR: vector.fma
// IR: func.func @main
// CHECK: max |vector - reference| for bf16 weights 29x37, 1 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 29x37, 7 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 29x37, 32 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 29x37, 45 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 29x37, 70 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 29x48, 32 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 29x48, 45 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 29x48, 64 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 200x48, 1 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 200x48, 45 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for bf16 weights 200x48, 70 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for f32 weights 200x48, 45 token(s)
// CHECK-NEXT: {{^}}{{0|[0-9](\.[0-9]+)?e-0[6-9]}}
// CHECK: max |vector - reference| for f32 weights 200x48, 70 token(s)
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
    %xb = arith.truncf %x : f32 to bf16
    %xf = arith.extf %xb : bf16 to f32
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

func.func @check_bf16_48x29(%tokens: index) -> f32 {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc(%tokens) : memref<?x48xf32>
  %wf = memref.alloc() : memref<29x48xf32>
  %wfd = memref.cast %wf : memref<29x48xf32> to memref<?x48xf32>
  call @fill48(%a) : (memref<?x48xf32>) -> ()
  call @fill48(%wfd) : (memref<?x48xf32>) -> ()
  %w = memref.alloc() : memref<29x48xbf16>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%wf : memref<29x48xf32>) outs(%w : memref<29x48xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %t = arith.truncf %x : f32 to bf16
    linalg.yield %t : bf16
  }
  %vec = memref.alloc(%tokens) : memref<?x29xf32>
  %ref = memref.alloc(%tokens) : memref<?x29xf32>
  linalg.fill ins(%zero : f32) outs(%vec : memref<?x29xf32>)
  linalg.fill ins(%zero : f32) outs(%ref : memref<?x29xf32>)
  linalg.matmul_transpose_b ins(%a, %w : memref<?x48xf32>, memref<29x48xbf16>) outs(%vec : memref<?x29xf32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x48xf32>, memref<29x48xbf16>) outs(%ref : memref<?x29xf32>) {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %xb = arith.truncf %x : f32 to bf16
    %xf = arith.extf %xb : bf16 to f32
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
  memref.dealloc %a : memref<?x48xf32>
  memref.dealloc %wf : memref<29x48xf32>
  memref.dealloc %w : memref<29x48xbf16>
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
    %xb = arith.truncf %x : f32 to bf16
    %xf = arith.extf %xb : bf16 to f32
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
llvm.mlir.global internal constant @msg_bf16_37_29_1("max |vector - reference| for bf16 weights 29x37, 1 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_37_29_7("max |vector - reference| for bf16 weights 29x37, 7 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_37_29_32("max |vector - reference| for bf16 weights 29x37, 32 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_37_29_45("max |vector - reference| for bf16 weights 29x37, 45 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_37_29_70("max |vector - reference| for bf16 weights 29x37, 70 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_48_29_32("max |vector - reference| for bf16 weights 29x48, 32 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_48_29_45("max |vector - reference| for bf16 weights 29x48, 45 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_48_29_64("max |vector - reference| for bf16 weights 29x48, 64 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_48_200_1("max |vector - reference| for bf16 weights 200x48, 1 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_48_200_45("max |vector - reference| for bf16 weights 200x48, 45 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_bf16_48_200_70("max |vector - reference| for bf16 weights 200x48, 70 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_f32_48_200_45("max |vector - reference| for f32 weights 200x48, 45 token(s)\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @msg_f32_48_200_70("max |vector - reference| for f32 weights 200x48, 70 token(s)\0A\00") {addr_space = 0 : i32}

func.func @main() {
  %t_bf16_37_29_1 = arith.constant 1 : index
    %p_bf16_37_29_1 = llvm.mlir.addressof @msg_bf16_37_29_1 : !llvm.ptr
    call @printString(%p_bf16_37_29_1) : (!llvm.ptr) -> ()
    %e_bf16_37_29_1 = call @check_bf16_37x29(%t_bf16_37_29_1) : (index) -> f32
    call @printF32(%e_bf16_37_29_1) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_bf16_37_29_7 = arith.constant 7 : index
    %p_bf16_37_29_7 = llvm.mlir.addressof @msg_bf16_37_29_7 : !llvm.ptr
    call @printString(%p_bf16_37_29_7) : (!llvm.ptr) -> ()
    %e_bf16_37_29_7 = call @check_bf16_37x29(%t_bf16_37_29_7) : (index) -> f32
    call @printF32(%e_bf16_37_29_7) : (f32) -> ()
    call @printNewline() : () -> ()
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
    %t_bf16_48_29_32 = arith.constant 32 : index
    %p_bf16_48_29_32 = llvm.mlir.addressof @msg_bf16_48_29_32 : !llvm.ptr
    call @printString(%p_bf16_48_29_32) : (!llvm.ptr) -> ()
    %e_bf16_48_29_32 = call @check_bf16_48x29(%t_bf16_48_29_32) : (index) -> f32
    call @printF32(%e_bf16_48_29_32) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_bf16_48_29_45 = arith.constant 45 : index
    %p_bf16_48_29_45 = llvm.mlir.addressof @msg_bf16_48_29_45 : !llvm.ptr
    call @printString(%p_bf16_48_29_45) : (!llvm.ptr) -> ()
    %e_bf16_48_29_45 = call @check_bf16_48x29(%t_bf16_48_29_45) : (index) -> f32
    call @printF32(%e_bf16_48_29_45) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_bf16_48_29_64 = arith.constant 64 : index
    %p_bf16_48_29_64 = llvm.mlir.addressof @msg_bf16_48_29_64 : !llvm.ptr
    call @printString(%p_bf16_48_29_64) : (!llvm.ptr) -> ()
    %e_bf16_48_29_64 = call @check_bf16_48x29(%t_bf16_48_29_64) : (index) -> f32
    call @printF32(%e_bf16_48_29_64) : (f32) -> ()
    call @printNewline() : () -> ()
    %t_bf16_48_200_1 = arith.constant 1 : index
    %p_bf16_48_200_1 = llvm.mlir.addressof @msg_bf16_48_200_1 : !llvm.ptr
    call @printString(%p_bf16_48_200_1) : (!llvm.ptr) -> ()
    %e_bf16_48_200_1 = call @check_bf16_48x200(%t_bf16_48_200_1) : (index) -> f32
    call @printF32(%e_bf16_48_200_1) : (f32) -> ()
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
    return
}
