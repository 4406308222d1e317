// RUN: tfc-opt %s -split-input-file -tfc-plan-activations | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-plan-activations=report -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REPORT

// Three buffers of 512 x 8 floats (16 KiB each for the 512-token estimate),
// each live with its neighbour only: %c takes the place %a left, so the arena
// is the live peak, two buffers. The model function gains the arena argument
// and its kind (#attn.arg<arena>) in attn.entry_args; @reuse_arena_bytes returns the size.

// REPORT: remark: @reuse: 3 buffers in an arena of 32768 bytes for 512 tokens (at most 32768 bytes live at once)

// CHECK-LABEL: func.func @reuse_arena_bytes(
// CHECK-SAME: %[[T:.*]]: memref<?xi32>, %{{.*}}: memref<?x8xf32>, %{{.*}}: memref<?xi8>) -> index
// CHECK: memref.dim %[[T]]
// CHECK: return
// CHECK-LABEL: func.func @reuse(
// CHECK-SAME: %[[TOKENS:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[OUT:[a-zA-Z0-9_]+]]: memref<?x8xf32>, %[[ARENA:[a-zA-Z0-9_]+]]: memref<?xi8>)
// CHECK-SAME: attn.arena_bytes = @reuse_arena_bytes
// CHECK-SAME: attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>, #attn.arg<arena>]
// CHECK-NOT: memref.alloc
// CHECK: %[[A:.*]] = memref.view %[[ARENA]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?x8xf32>
// CHECK: %[[B:.*]] = memref.view %[[ARENA]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?x8xf32>
// CHECK: linalg.copy ins(%[[A]] : memref<?x8xf32>) outs(%[[B]] : memref<?x8xf32>)
// CHECK: %[[C:.*]] = memref.view %[[ARENA]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?x8xf32>
// CHECK: linalg.copy ins(%[[B]] : memref<?x8xf32>) outs(%[[C]] : memref<?x8xf32>)
// CHECK: linalg.copy ins(%[[C]] : memref<?x8xf32>) outs(%[[OUT]] : memref<?x8xf32>)
func.func @reuse(%tokens: memref<?xi32>, %out: memref<?x8xf32>) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>]} {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %n = memref.dim %tokens, %c0 : memref<?xi32>
  %a = memref.alloc(%n) {alignment = 64 : i64} : memref<?x8xf32>
  linalg.fill ins(%one : f32) outs(%a : memref<?x8xf32>)
  %b = memref.alloc(%n) {alignment = 64 : i64} : memref<?x8xf32>
  linalg.copy ins(%a : memref<?x8xf32>) outs(%b : memref<?x8xf32>)
  %c = memref.alloc(%n) {alignment = 64 : i64} : memref<?x8xf32>
  linalg.copy ins(%b : memref<?x8xf32>) outs(%c : memref<?x8xf32>)
  linalg.copy ins(%c : memref<?x8xf32>) outs(%out : memref<?x8xf32>)
  return
}

// -----

// Sizes seen through the position argument (a KV length pos + n) and a
// buffer used inside a later loop: it lives until that loop ends, so the
// buffer allocated in the loop body never shares its place.

// REPORT: remark: @loop_use: 2 buffers in an arena of 2112 bytes for 512 tokens (at most 2112 bytes live at once)

// CHECK-LABEL: func.func @loop_use(
// CHECK-SAME: %[[TOKENS:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[POS:[a-zA-Z0-9_]+]]: index
// CHECK-NOT: memref.alloc
// CHECK: %[[KV:.*]] = memref.view
// CHECK-SAME: to memref<?xf32>
// CHECK: scf.for
// CHECK: %[[TMP:.*]] = memref.view
// CHECK-SAME: to memref<4xf32>
func.func @loop_use(%tokens: memref<?xi32>, %pos: index, %out: memref<?x4xf32>) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<pos>, #attn.arg<output>]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.0 : f32
  %n = memref.dim %tokens, %c0 : memref<?xi32>
  %m = arith.addi %pos, %n : index
  %kv = memref.alloc(%m) {alignment = 64 : i64} : memref<?xf32>
  linalg.fill ins(%one : f32) outs(%kv : memref<?xf32>)
  scf.for %i = %c0 to %c4 step %c1 {
    %tmp = memref.alloc() {alignment = 64 : i64} : memref<4xf32>
    %x = memref.load %kv[%i] : memref<?xf32>
    memref.store %x, %tmp[%i] : memref<4xf32>
  }
  return
}

// -----

// A tile whose size changes in the loop, min(8, n - i) (the partial last
// tile), is reserved at the bound known at entry, min(8, n) rows of 4 floats.

// REPORT: remark: @partial_tile: 1 buffers in an arena of 128 bytes for 512 tokens (at most 128 bytes live at once)

// CHECK-LABEL: func.func @partial_tile_arena_bytes(
// CHECK-SAME: %[[TOKENS:[a-zA-Z0-9_]+]]: memref<?xi32>
// CHECK-DAG: %[[N:.*]] = memref.dim %[[TOKENS]]
// CHECK-DAG: %[[EIGHT:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[ROW_BYTES:.*]] = arith.constant 16 : index
// CHECK: %[[BOUND:.*]] = arith.minsi %[[N]], %[[EIGHT]] : index
// CHECK: arith.muli %[[ROW_BYTES]], %[[BOUND]] : index
// CHECK: return
// CHECK-LABEL: func.func @partial_tile(
// CHECK-NOT: memref.alloc
// CHECK: scf.for %[[I:.*]] =
// CHECK: %[[ROWS:.*]] = arith.minsi
// CHECK: memref.view %{{.*}}[%{{.*}}][%[[ROWS]]] : memref<?xi8> to memref<?x4xf32>
func.func @partial_tile(%tokens: memref<?xi32>, %out: memref<?x4xf32>) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>]} {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  %n = memref.dim %tokens, %c0 : memref<?xi32>
  scf.for %i = %c0 to %n step %c8 {
    %rest = arith.subi %n, %i : index
    %rows = arith.minsi %rest, %c8 : index
    %tile = memref.alloc(%rows) {alignment = 64 : i64} : memref<?x4xf32>
    linalg.fill ins(%one : f32) outs(%tile : memref<?x4xf32>)
  }
  return
}

// -----

// A row count known only at run time (the tokens a mixture of experts routed to
// one expert, loaded from memory), said to be at most the token count with a
// minimum, and the 32-token panels of those rows, (rows + 31) / 32: reserved at
// n rows of 4 floats and (n + 31) / 32 panels of 32 x 4 floats. Without the
// bound of the quotient the panels would stay a heap allocation.

// REPORT: remark: @routed_rows: 2 buffers in an arena of {{[0-9]+}} bytes for 512 tokens

// CHECK-LABEL: func.func @routed_rows_arena_bytes(
// CHECK-SAME: %[[TOKENS:[a-zA-Z0-9_]+]]: memref<?xi32>
// CHECK-DAG: %[[N:.*]] = memref.dim %[[TOKENS]]
// CHECK: %[[C31:.*]] = arith.constant 31 : index
// CHECK: %[[SUM:.*]] = arith.addi %[[N]], %[[C31]] : index
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: arith.divui %[[SUM]], %[[C32]] : index
// CHECK: return
// CHECK-LABEL: func.func @routed_rows(
// CHECK-NOT: memref.alloc
// CHECK: %[[COUNT:.*]] = memref.load
// CHECK: %[[ROWS:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: memref.view %{{.*}}[%{{.*}}][%[[ROWS]]] : memref<?xi8> to memref<?x4xf32>
// CHECK: %[[PANELS:.*]] = arith.divui
// CHECK: memref.view %{{.*}}[%{{.*}}][%[[PANELS]]] : memref<?xi8> to memref<?x32x4xf32>
func.func @routed_rows(%tokens: memref<?xi32>, %counts: memref<4xi32>, %out: memref<?x4xf32>) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>, #attn.arg<output>]} {
  %c0 = arith.constant 0 : index
  %c31 = arith.constant 31 : index
  %c32 = arith.constant 32 : index
  %one = arith.constant 1.0 : f32
  %n = memref.dim %tokens, %c0 : memref<?xi32>
  %loaded = memref.load %counts[%c0] : memref<4xi32>
  %count = arith.index_cast %loaded : i32 to index
  %rows = arith.minsi %count, %n : index
  %gathered = memref.alloc(%rows) {alignment = 64 : i64} : memref<?x4xf32>
  linalg.fill ins(%one : f32) outs(%gathered : memref<?x4xf32>)
  %sum = arith.addi %rows, %c31 : index
  %panels = arith.divui %sum, %c32 : index
  %packed = memref.alloc(%panels) {alignment = 64 : i64} : memref<?x32x4xf32>
  linalg.fill ins(%one : f32) outs(%packed : memref<?x32x4xf32>)
  return
}

// -----

// Sizes followed through reshapes: rows of a collapse_shape are the product of
// the source's, an expand_shape's sizes are its output_shape. For 512 tokens:
// [512, 4, 8] and [2048, 8] floats live at once (64 KiB each; a wrong product
// for the collapse would size the second differently).

// REPORT: remark: @reshaped: 3 buffers in an arena of 131072 bytes for 512 tokens (at most 131072 bytes live at once)

// CHECK-LABEL: func.func @reshaped(
// CHECK-NOT: memref.alloc
// CHECK: return
func.func @reshaped(%tokens: memref<?xi32>, %out: memref<?x4xf32>) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>]} {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %n = memref.dim %tokens, %c0 : memref<?xi32>
  %heads = memref.alloc(%n) {alignment = 64 : i64} : memref<?x4x8xf32>
  linalg.fill ins(%one : f32) outs(%heads : memref<?x4x8xf32>)
  %flat = memref.collapse_shape %heads [[0, 1], [2]] : memref<?x4x8xf32> into memref<?x8xf32>
  %rows = memref.dim %flat, %c0 : memref<?x8xf32>
  %copy = memref.alloc(%rows) {alignment = 64 : i64} : memref<?x8xf32>
  linalg.copy ins(%flat : memref<?x8xf32>) outs(%copy : memref<?x8xf32>)
  %split = memref.expand_shape %copy [[0, 1], [2]] output_shape [%n, 4, 8] : memref<?x8xf32> into memref<?x4x8xf32>
  %tokens2 = memref.dim %split, %c0 : memref<?x4x8xf32>
  %last = memref.alloc(%tokens2) {alignment = 64 : i64} : memref<?xf32>
  linalg.fill ins(%one : f32) outs(%last : memref<?xf32>)
  return
}

// -----

// Left alone: functions that are not model functions (no attn.entry_args), allocs in
// parallel loops, sizes read from memory, buffers passed to calls.

// CHECK-LABEL: func.func @helper(
// CHECK: memref.alloc
func.func @helper(%n: index) {
  %a = memref.alloc(%n) : memref<?xf32>
  return
}

// CHECK-LABEL: func.func @unplanned(
// CHECK-SAME: %{{.*}}: memref<?x4xf32>) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>]} {
// CHECK: scf.parallel
// CHECK: memref.alloc() : memref<16xf32>
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: memref.alloc() : memref<8xf32>
// CHECK: call @sink
func.func private @sink(memref<8xf32>)
func.func @unplanned(%tokens: memref<?xi32>, %out: memref<?x4xf32>) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %p = memref.alloc() : memref<16xf32>
    scf.reduce
  }
  %t = memref.load %tokens[%c0] : memref<?xi32>
  %k = arith.index_cast %t : i32 to index
  %d = memref.alloc(%k) : memref<?xf32>
  %s = memref.alloc() : memref<8xf32>
  call @sink(%s) : (memref<8xf32>) -> ()
  return
}
