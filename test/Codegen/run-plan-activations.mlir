// Executes a model function after tfc-plan-activations: a loop-carried state
// (the hidden state of a layer loop) whose next value reads the previous one
// with its columns reversed, so the two buffers of the state must never share
// memory, plus temporaries that share the arena by liveness. The driver
// (Inputs/plan-activations-main.mlir) asks @model_arena_bytes for the size,
// allocates the arena and runs @model on 2 tokens. Each step x' = 2x + 1 +
// reverse(x) from x0[i, j] = token_i + j; aliasing state buffers would print
// [[97, 98, 189, 190], ...] instead. mlir-cpu-runner does not know the attn
// dialect, so the ABI attributes (attn.entry_args, ...) are dropped for it.
//
// RUN: (tfc-opt %s -tfc-plan-activations | sed -e '/^}$/d' -e 's/ attributes {attn[^{}]*}//'; \
// RUN:  cat %S/Inputs/plan-activations-main.mlir; echo '}') \
// RUN: | tfc-opt -convert-linalg-to-loops -expand-strided-metadata -lower-affine \
// RUN:   -finalize-memref-to-llvm -convert-scf-to-cf -convert-arith-to-llvm -convert-index-to-llvm \
// RUN:   -convert-func-to-llvm -convert-cf-to-llvm -reconcile-unrealized-casts \
// RUN: | /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so \
// RUN: | FileCheck %s
// RUN: tfc-opt %s -tfc-plan-activations | FileCheck %s --check-prefix=IR

// CHECK: sizes = [2, 4]
// CHECK-NEXT: {{\[}}[79,   80,   81,   82],
// CHECK-NEXT: [106,   107,   108,   109]]

// IR-LABEL: func.func @model_arena_bytes
// IR-SAME: -> index
// IR-LABEL: func.func @model
// IR-SAME: %[[ARENA:[a-zA-Z0-9_]+]]: memref<?xi8>
// IR-NOT: memref.alloc
// IR: scf.for
// IR: memref.view %[[ARENA]]
// IR: %[[PARITY:.*]] = arith.select
// IR: memref.view %[[ARENA]][%[[PARITY]]]
// IR: scf.yield

#id = affine_map<(d0, d1) -> (d0, d1)>
#rev = affine_map<(d0, d1) -> (d0, 3 - d1)>
#row = affine_map<(d0, d1) -> (d0)>

func.func @model(%tokens: memref<?xi32>, %out: memref<?x4xf32>) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1.0 : f32
  %two = arith.constant 2.0 : f32
  %n = memref.dim %tokens, %c0 : memref<?xi32>
  %x0 = memref.alloc(%n) {alignment = 64 : i64} : memref<?x4xf32>
  linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%tokens : memref<?xi32>) outs(%x0 : memref<?x4xf32>) {
  ^bb0(%t: i32, %o: f32):
    %j = linalg.index 1 : index
    %ji = arith.index_cast %j : index to i32
    %s = arith.addi %t, %ji : i32
    %f = arith.sitofp %s : i32 to f32
    linalg.yield %f : f32
  }
  %x3 = scf.for %l = %c0 to %c3 step %c1 iter_args(%x = %x0) -> (memref<?x4xf32>) {
    %m = memref.dim %x, %c0 : memref<?x4xf32>
    %t = memref.alloc(%m) {alignment = 64 : i64} : memref<?x4xf32>
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<?x4xf32>) outs(%t : memref<?x4xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = arith.mulf %a, %two : f32
      linalg.yield %r : f32
    }
    %u = memref.alloc(%m) {alignment = 64 : i64} : memref<?x4xf32>
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%t : memref<?x4xf32>) outs(%u : memref<?x4xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = arith.addf %a, %one : f32
      linalg.yield %r : f32
    }
    // Reads the previous state with its columns reversed: the new state must
    // not share memory with it.
    %next = memref.alloc(%m) {alignment = 64 : i64} : memref<?x4xf32>
    linalg.generic {indexing_maps = [#id, #rev, #id], iterator_types = ["parallel", "parallel"]}
        ins(%u, %x : memref<?x4xf32>, memref<?x4xf32>) outs(%next : memref<?x4xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.addf %a, %b : f32
      linalg.yield %r : f32
    }
    scf.yield %next : memref<?x4xf32>
  }
  linalg.copy ins(%x3 : memref<?x4xf32>) outs(%out : memref<?x4xf32>)
  return
}

