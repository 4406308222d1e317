// RUN: tfc-opt %s -split-input-file \
// RUN:   -pass-pipeline="builtin.module(convert-scf-to-openmp,func.func(tfc-merge-parallel-regions))" \
// RUN:   | FileCheck %s

// Two kernels with sequential work and index arithmetic between them: one
// region; the worksharing loops keep their barriers, the 1-D fill runs in
// omp.single, and the arithmetic that needs nothing of the run is hoisted
// before the region.
// CHECK-LABEL: func.func @two_kernels
// CHECK: %[[M:.*]] = arith.muli
// CHECK: omp.parallel {
// CHECK-NEXT: omp.wsloop {
// CHECK: omp.single {
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: omp.terminator
// CHECK: omp.wsloop {
// CHECK: omp.loop_nest (%{{.*}}) : index = (%{{.*}}) to (%[[M]])
// CHECK-NOT: omp.barrier
// CHECK-NOT: omp.parallel
// CHECK: return
func.func @two_kernels(%x: memref<?xf32>, %y: memref<?xf32>, %m: memref<4xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %y[%i] : memref<?xf32>
  }
  linalg.fill ins(%zero : f32) outs(%m : memref<4xf32>)
  %half = arith.muli %n, %c2 : index
  scf.parallel (%i) = (%c0) to (%half) step (%c1) {
    %v = memref.load %y[%i] : memref<?xf32>
    memref.store %v, %x[%i] : memref<?xf32>
  }
  return
}

// -----

// A load from a buffer the function writes runs on every thread; before the
// next kernel writes, a barrier (no thread may overwrite what another still
// reads). A load from an argument that is only loaded from needs none.
// CHECK-LABEL: func.func @reads
// CHECK: omp.parallel {
// CHECK: omp.wsloop {
// CHECK: memref.load %{{.*}}[%{{.*}}] : memref<4xindex>
// CHECK-NOT: omp.barrier
// CHECK: omp.wsloop {
// CHECK: memref.load %{{.*}}[%c0] : memref<?xf32>
// CHECK-NEXT: omp.barrier
// CHECK-NEXT: omp.wsloop {
func.func @reads(%x: memref<?xf32>, %y: memref<?xf32>, %offsets: memref<4xindex>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %y[%i] : memref<?xf32>
  }
  %o = memref.load %offsets[%c1] : memref<4xindex>
  scf.parallel (%i) = (%o) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %y[%i] : memref<?xf32>
  }
  %s = memref.load %y[%c0] : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %s, %y[%i] : memref<?xf32>
  }
  return
}

// -----

// A loop over layers around kernels runs on every thread: one region around
// the loop, the kernels' worksharing loops inside it. The read of the
// first kernel's result is followed by a barrier before the kernel that
// overwrites it; the next iteration needs none (that barrier came after it).
// CHECK-LABEL: func.func @layers
// CHECK: omp.parallel {
// CHECK-NEXT: scf.for
// CHECK-NOT: omp.barrier
// CHECK: omp.wsloop {
// CHECK: memref.load %{{.*}}[%{{.*}}] : memref<?xf32>
// CHECK: omp.barrier
// CHECK-NEXT: omp.wsloop {
// CHECK: omp.terminator
// CHECK-NOT: omp.parallel
// CHECK: return
func.func @layers(%x: memref<?xf32>, %y: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c6 = arith.constant 6 : index
  scf.for %layer = %c0 to %c6 step %c1 {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      %v = memref.load %x[%i] : memref<?xf32>
      memref.store %v, %y[%i] : memref<?xf32>
    }
    %first = memref.load %y[%c0] : memref<?xf32>
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      %v = memref.load %x[%i] : memref<?xf32>
      %w = arith.addf %v, %first : f32
      memref.store %w, %y[%i] : memref<?xf32>
    }
  }
  return
}

// -----

// Kernels in both ways of a branch (prefill GEMM or decode kernels): the
// branch runs on every thread inside one region.
// CHECK-LABEL: func.func @branch
// CHECK: omp.parallel {
// CHECK-NEXT: omp.wsloop {
// CHECK: scf.if
// CHECK-NOT: omp.parallel
// CHECK: omp.wsloop {
// CHECK: } else {
// CHECK-NOT: omp.parallel
// CHECK: omp.wsloop {
// CHECK-NOT: omp.parallel
// CHECK: return
func.func @branch(%x: memref<?xf32>, %y: memref<?xf32>, %n: index, %many: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %y[%i] : memref<?xf32>
  }
  scf.if %many {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      %v = memref.load %y[%i] : memref<?xf32>
      memref.store %v, %x[%i] : memref<?xf32>
    }
  } else {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      %v = memref.load %y[%i] : memref<?xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %x[%i] : memref<?xf32>
    }
  }
  return
}

// -----

// A value read between two kernels and used after an allocation (which ends
// any run: a region would allocate once per thread) cannot leave a region:
// the run is cut before the read, each part holds one kernel, and nothing
// is merged.
// CHECK-LABEL: func.func @escaping
// CHECK: omp.parallel {
// CHECK: omp.terminator
// CHECK-NEXT: }
// CHECK-NEXT: omp.terminator
// CHECK-NEXT: }
// CHECK-NEXT: memref.load
// CHECK-NEXT: omp.parallel {
// CHECK-NEXT: omp.wsloop {
// CHECK: memref.alloc
func.func @escaping(%x: memref<?xf32>, %y: memref<?xf32>, %n: index) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %y[%i] : memref<?xf32>
  }
  %s = memref.load %y[%c0] : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %y[%i] : memref<?xf32>
    memref.store %v, %x[%i] : memref<?xf32>
  }
  %a = memref.alloc() : memref<4xf32>
  memref.store %s, %a[%c0] : memref<4xf32>
  return %a : memref<4xf32>
}

// -----

// Consecutive sequential ops share one omp.single; a lone kernel keeps its
// own region.
// CHECK-LABEL: func.func @singles
// CHECK: omp.parallel {
// CHECK: omp.single {
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: linalg.copy
// CHECK-NEXT: omp.terminator
// CHECK-NOT: omp.single
// CHECK: omp.wsloop
// CHECK-LABEL: func.func @lone_kernel
// CHECK: omp.parallel {
// CHECK-NEXT: omp.wsloop
// CHECK-NOT: omp.single
func.func @singles(%x: memref<?xf32>, %y: memref<?xf32>, %a: memref<4xf32>, %b: memref<4xf32>,
                   %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %y[%i] : memref<?xf32>
  }
  linalg.fill ins(%zero : f32) outs(%a : memref<4xf32>)
  linalg.copy ins(%a : memref<4xf32>) outs(%b : memref<4xf32>)
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %y[%i] : memref<?xf32>
    memref.store %v, %x[%i] : memref<?xf32>
  }
  return
}

func.func @lone_kernel(%x: memref<?xf32>, %a: memref<4xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%a : memref<4xf32>)
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %zero, %x[%i] : memref<?xf32>
  }
  return
}
