// RUN: tfc-opt %s -split-input-file \
// RUN:   -pass-pipeline="builtin.module(convert-scf-to-openmp,func.func(tfc-merge-parallel-regions),tfc-outline-kernels{min-ops=4})" \
// RUN:   | FileCheck %s --check-prefix=OMP
// RUN: tfc-opt %s -split-input-file -pass-pipeline="builtin.module(tfc-outline-kernels{min-ops=3})" \
// RUN:   | FileCheck %s --check-prefix=SEQ
// The outlined calls survive the lowering to LLVM IR (OpenMP translation
// included) as calls of internal, noinline functions.
// RUN: tfc-opt %s -split-input-file \
// RUN:   -pass-pipeline="builtin.module(convert-scf-to-openmp,func.func(tfc-merge-parallel-regions),tfc-outline-kernels{min-ops=4},finalize-memref-to-llvm,convert-scf-to-cf,convert-openmp-to-llvm,convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts)" \
// RUN:   | mlir-translate --mlir-to-llvmir --split-input-file | FileCheck %s --check-prefix=LLVM

// Two kernels of one shape on different buffers (q and k of a layer): one
// function, called in both worksharing loops with the induction variable and
// the buffers; the constants are rebuilt in it. A kernel of another width
// (the 8-wide one) is a function of its own.
// OMP-LABEL: func.func @projections
// OMP: omp.parallel {
// OMP: omp.wsloop {
// OMP-NEXT: omp.loop_nest (%[[I:.*]]) : index
// OMP-NEXT: func.call @[[ROW4:tfc_kernel_[0-9]+]](%[[I]], %arg0, %arg1) : (index, memref<?x4xf32>, memref<?x4xf32>) -> ()
// OMP-NEXT: omp.yield
// OMP: omp.wsloop {
// OMP-NEXT: omp.loop_nest (%[[J:.*]]) : index
// OMP-NEXT: func.call @[[ROW4]](%[[J]], %arg2, %arg3) : (index, memref<?x4xf32>, memref<?x4xf32>) -> ()
// OMP: omp.wsloop {
// OMP-NEXT: omp.loop_nest (%[[K:.*]]) : index
// OMP-NEXT: func.call @[[ROW8:tfc_kernel_[0-9]+]](%[[K]], %arg4, %arg5) : (index, memref<?x8xf32>, memref<?x8xf32>) -> ()
// OMP: func.func private @[[ROW4]](%[[ROW:.*]]: index, %[[X:.*]]: memref<?x4xf32>, %[[Y:.*]]: memref<?x4xf32>)
// OMP-SAME: llvm.linkage = #llvm.linkage<internal>
// OMP-SAME: passthrough = ["noinline"]
// OMP-DAG: arith.constant 2.000000e+00 : f32
// OMP-DAG: arith.constant 4 : index
// OMP: scf.for
// OMP: memref.load %[[X]][%[[ROW]], %{{.*}}] : memref<?x4xf32>
// OMP: memref.store %{{.*}}, %[[Y]][%[[ROW]], %{{.*}}] : memref<?x4xf32>
// OMP: return
// OMP: func.func private @[[ROW8]](%{{.*}}: index, %{{.*}}: memref<?x8xf32>, %{{.*}}: memref<?x8xf32>)
// OMP: arith.constant 8 : index
// OMP-NOT: func.func private @tfc_kernel
//
// Without OpenMP (--threads=1) the scf.parallel bodies are outlined alike.
// SEQ-LABEL: func.func @projections
// SEQ: scf.parallel (%[[I:.*]]) =
// SEQ-NEXT: func.call @[[ROW4:tfc_kernel_[0-9]+]](%[[I]], %arg0, %arg1)
// SEQ: scf.parallel (%[[J:.*]]) =
// SEQ-NEXT: func.call @[[ROW4]](%[[J]], %arg2, %arg3)
// SEQ: scf.parallel (%[[K:.*]]) =
// SEQ-NEXT: func.call @[[ROW8:tfc_kernel_[0-9]+]](%[[K]], %arg4, %arg5)
// SEQ: func.func private @[[ROW4]](
// SEQ: func.func private @[[ROW8]](
// SEQ-NOT: func.func private @tfc_kernel
//
// LLVM-LABEL: define void @projections(
// LLVM: define internal void @projections..omp_par
// LLVM: call void @[[ROW4:tfc_kernel_[0-9]+]](
// LLVM: call void @[[ROW4]](
// LLVM: call void @[[ROW8:tfc_kernel_[0-9]+]](
// LLVM: define internal void @[[ROW4]]({{.*}}) #[[ATTRS:[0-9]+]]
// LLVM: attributes #[[ATTRS]] = { noinline }
func.func @projections(%xq: memref<?x4xf32>, %q: memref<?x4xf32>,
                       %xk: memref<?x4xf32>, %k: memref<?x4xf32>,
                       %xw: memref<?x8xf32>, %w: memref<?x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %two = arith.constant 2.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.for %j = %c0 to %c4 step %c1 {
      %v = memref.load %xq[%i, %j] : memref<?x4xf32>
      %s = arith.mulf %v, %two : f32
      memref.store %s, %q[%i, %j] : memref<?x4xf32>
    }
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.for %j = %c0 to %c4 step %c1 {
      %v = memref.load %xk[%i, %j] : memref<?x4xf32>
      %s = arith.mulf %v, %two : f32
      memref.store %s, %k[%i, %j] : memref<?x4xf32>
    }
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %xw[%i, %j] : memref<?x8xf32>
      %s = arith.mulf %v, %two : f32
      memref.store %s, %w[%i, %j] : memref<?x8xf32>
    }
  }
  return
}

// -----

// Equal bodies in two functions (the entry points) share one kernel; bodies
// that differ only in a constant (the scale) do not. The sequential loop that
// tfc-merge-parallel-regions puts in omp.single is outlined from there. A body
// under min-ops stays inline; a loop that reduces is left alone.
// OMP-LABEL: func.func @decode
// OMP: func.call @[[SCALE2:tfc_kernel_[0-9]+]](
// OMP-LABEL: func.func @prefill
// OMP: func.call @[[SCALE2]](
// OMP: omp.single {
// OMP-NEXT: func.call @[[SINGLE:tfc_kernel_[0-9]+]](%arg0, %arg1) : (memref<?xf32>, memref<?xf32>) -> ()
// OMP-NEXT: omp.terminator
// OMP: func.call @[[SCALE3:tfc_kernel_[0-9]+]](
// OMP: omp.loop_nest
// OMP-NEXT: memref.alloca_scope
// OMP-NEXT: memref.store
// OMP-NEXT: }
// OMP-NEXT: omp.yield
// OMP: omp.loop_nest
// OMP-NOT: func.call
// OMP: omp.yield
// OMP-DAG: func.func private @[[SCALE2]](
// OMP-DAG: func.func private @[[SINGLE]](
// OMP-DAG: func.func private @[[SCALE3]](
//
// SEQ-LABEL: func.func @decode
// SEQ: func.call @[[SCALE2:tfc_kernel_[0-9]+]](
// SEQ-LABEL: func.func @prefill
// SEQ: func.call @[[SCALE2]](
// SEQ: scf.for
// SEQ: func.call @[[SCALE3:tfc_kernel_[0-9]+]](
// SEQ: scf.parallel
// SEQ-NEXT: memref.store
// SEQ: scf.parallel
// SEQ-NOT: func.call
// SEQ: scf.reduce
func.func @decode(%x: memref<?xf32>, %y: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %two = arith.constant 2.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    %s = arith.mulf %v, %two : f32
    memref.store %s, %y[%i] : memref<?xf32>
  }
  return
}
func.func @prefill(%x: memref<?xf32>, %y: memref<?xf32>, %z: memref<?xf32>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %three = arith.constant 3.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    %s = arith.mulf %v, %two : f32
    memref.store %s, %y[%i] : memref<?xf32>
  }
  %c4 = arith.constant 4 : index
  scf.for %j = %c0 to %c4 step %c1 {
    %v = memref.load %x[%j] : memref<?xf32>
    %s = arith.addf %v, %three : f32
    memref.store %s, %y[%j] : memref<?xf32>
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %y[%i] : memref<?xf32>
    %s = arith.mulf %v, %three : f32
    memref.store %s, %z[%i] : memref<?xf32>
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %zero, %z[%i] : memref<?xf32>
  }
  %sum = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%zero) -> f32 {
    %v = memref.load %y[%i] : memref<?xf32>
    %s = arith.mulf %v, %three : f32
    %t = arith.addf %s, %v : f32
    scf.reduce(%t : f32) {
    ^bb0(%a: f32, %b: f32):
      %r = arith.addf %a, %b : f32
      scf.reduce.return %r : f32
    }
  }
  return %sum : f32
}

// -----

// Equal bodies are equal op for op, each operand the corresponding value
// (OperationEquivalence): a body that differs only in its locations shares
// the kernel; one with the same ops, types and attributes whose subtraction
// takes its operands the other way round does not.
// SEQ-LABEL: func.func @differences
// SEQ: scf.parallel
// SEQ-NEXT: func.call @[[XY:tfc_kernel_[0-9]+]](
// SEQ: scf.parallel
// SEQ-NEXT: func.call @[[XY]](
// SEQ: scf.parallel
// SEQ-NEXT: func.call @[[YX:tfc_kernel_[0-9]+]](
// SEQ: func.func private @[[XY]](%[[I:.*]]: index, %[[X:.*]]: memref<?xf32>, %[[Y:.*]]: memref<?xf32>, %{{.*}}: memref<?xf32>)
// SEQ-DAG: %[[A:.*]] = memref.load %[[X]][%[[I]]]
// SEQ-DAG: %[[B:.*]] = memref.load %[[Y]][%[[I]]]
// SEQ: arith.subf %[[A]], %[[B]] : f32
// SEQ: func.func private @[[YX]](%[[I2:.*]]: index, %[[X2:.*]]: memref<?xf32>, %[[Y2:.*]]: memref<?xf32>, %{{.*}}: memref<?xf32>)
// SEQ-DAG: %[[A2:.*]] = memref.load %[[X2]][%[[I2]]]
// SEQ-DAG: %[[B2:.*]] = memref.load %[[Y2]][%[[I2]]]
// SEQ: arith.subf %[[B2]], %[[A2]] : f32
// SEQ-NOT: func.func private @tfc_kernel
func.func @differences(%x: memref<?xf32>, %y: memref<?xf32>, %z: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %a = memref.load %x[%i] : memref<?xf32> loc("a.tdsl":1:1)
    %b = memref.load %y[%i] : memref<?xf32> loc("a.tdsl":1:2)
    %d = arith.subf %a, %b : f32 loc("a.tdsl":1:3)
    memref.store %d, %z[%i] : memref<?xf32> loc("a.tdsl":1:4)
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %a = memref.load %x[%i] : memref<?xf32> loc("b.tdsl":9:1)
    %b = memref.load %y[%i] : memref<?xf32> loc("b.tdsl":9:2)
    %d = arith.subf %a, %b : f32 loc("b.tdsl":9:3)
    memref.store %d, %z[%i] : memref<?xf32> loc("b.tdsl":9:4)
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %a = memref.load %x[%i] : memref<?xf32>
    %b = memref.load %y[%i] : memref<?xf32>
    %d = arith.subf %b, %a : f32
    memref.store %d, %z[%i] : memref<?xf32>
  }
  return
}
