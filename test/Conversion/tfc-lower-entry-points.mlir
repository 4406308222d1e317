// RUN: tfc-opt %s -split-input-file -tfc-lower-entry-points | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-lower-entry-points=weight-type=bf16 | FileCheck %s --check-prefix=BF16 --enable-var-scope

// Weights become memref arguments (one per distinct name, shared across
// functions, in first-use order), tokens a memref, the result an output
// argument; attn.entry_args lists their kinds (gen_abi.h's TFC_ARG_*) and the
// slot of each weight, attn.out_width the output's columns; the module lists
// the slots (with the init mark of their weight ops) and the caches.

// CHECK: module attributes {attn.kv_caches = [], attn.weight_slots = [#attn.weight_slot<"emb.weight", shape = [10, 4], dtype = f32, init = random>, #attn.weight_slot<"norm.weight", shape = [4], dtype = f32, init = ones>]}
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%[[TOK:.*]]: memref<?xi32>, %[[EMB:.*]]: memref<10x4xf32>, %[[NORM:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<?x4xf32>)
// CHECK-SAME: attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<weight[0]>, #attn.arg<weight[1]>, #attn.arg<output>], attn.out_width = 4 : i64, llvm.emit_c_interface}
// CHECK-DAG: %[[T:.*]] = bufferization.to_tensor %[[TOK]] restrict : memref<?xi32>
// CHECK-DAG: %[[E:.*]] = bufferization.to_tensor %[[EMB]] restrict : memref<10x4xf32>
// CHECK-DAG: %[[N:.*]] = bufferization.to_tensor %[[NORM]] restrict : memref<4xf32>
// CHECK: %[[X:.*]] = attn.embedding %[[E]], %[[T]]
// CHECK: %[[Y:.*]] = attn.rms_norm %[[X]], %[[N]]
// CHECK: bufferization.materialize_in_destination %[[Y]] in restrict writable %[[OUT]]
// CHECK-NEXT: return
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %norm = attn.weight "norm.weight" init ones : tensor<4xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %emb2 = attn.weight "emb.weight" : tensor<10x4xf32>
    %y = attn.rms_norm %x, %norm {eps = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
}

// -----

// A stateful decoder (after tfc-attn-kv-cache): the position stays an index
// (pos), each cache is a writable memref (cache[j]) updated in place, and the
// updated caches are stored back into their own buffers; attn.stateful stays.

// CHECK: module attributes {attn.kv_caches = [#attn.kv_cache<tensor<2x1x8x4xf32>, seq_dim = 2>], attn.weight_slots = []}
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%{{.*}}: memref<?xi32>, %[[POS:.*]]: index, %[[KC:.*]]: memref<2x1x8x4xf32>, %[[OUT:.*]]: memref<?x4xf32>)
// CHECK-SAME: attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<pos>, #attn.arg<cache[0]>, #attn.arg<output>], attn.out_width = 4 : i64, attn.stateful, llvm.emit_c_interface}
// CHECK: %[[C:.*]] = bufferization.to_tensor %[[KC]] restrict writable : memref<2x1x8x4xf32>
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[OUT]]
// CHECK: bufferization.materialize_in_destination %[[C]] in restrict writable %[[KC]]
module {
  func.func @decoder(%tokens: tensor<?xi32>, %pos: index, %kc: tensor<2x1x8x4xf32>) -> (tensor<?x4xf32>, tensor<2x1x8x4xf32>) attributes {attn.stateful} {
    %c0 = arith.constant 0 : index
    %d = tensor.dim %tokens, %c0 : tensor<?xi32>
    %e = tensor.empty(%d) : tensor<?x4xf32>
    return %e, %kc : tensor<?x4xf32>, tensor<2x1x8x4xf32>
  }
}

// -----

// --weight-type=bf16: weights read only by linear layers' matmuls (here a
// stacked one, through its layer slice) are stored as bf16 and the matmul
// widens them; the embedding table, also read by the tied output matmul,
// stays f32.

// BF16: attn.weight_slots = [#attn.weight_slot<"tied.weight", shape = [10, 4], dtype = f32, init = random>, #attn.weight_slot<"l." * ".weight" layers 2, shape = [2, 4, 4], dtype = bf16, init = random>]
// BF16-LABEL: func.func @narrow
// BF16-SAME: %[[I:[a-z0-9]+]]: index, %[[EMB:[a-z0-9]+]]: memref<10x4xf32>, %[[W:[a-z0-9]+]]: memref<?xbf16>, %[[TAB:[a-z0-9]+]]: memref<2xi64>
// BF16-SAME: attn.entry_args = [#attn.arg<memory>, #attn.arg<pos>, #attn.arg<weight[0]>, #attn.arg<weight[1]>, #attn.arg<layer_offsets[1]>, #attn.arg<output>], attn.out_width = 10 : i64
// BF16: %[[O:.*]] = memref.load %[[TAB]][%[[I]]] : memref<2xi64>
// BF16: %[[OI:.*]] = arith.index_cast %[[O]] : i64 to index
// BF16: %[[V:.*]] = memref.reinterpret_cast %[[W]] to offset: [%[[OI]]], sizes: [4, 4], strides: [4, 1] : memref<?xbf16> to memref<4x4xbf16, strided<[4, 1], offset: ?>>
// BF16: %[[S:.*]] = bufferization.to_tensor %[[V]] restrict : memref<4x4xbf16, strided<[4, 1], offset: ?>>
// BF16: linalg.matmul_transpose_b ins(%{{.*}}, %[[S]] : tensor<?x4xf32>, tensor<4x4xbf16>)
// BF16: linalg.matmul_transpose_b ins(%{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<10x4xf32>)
module {
  func.func @narrow(%x: tensor<?x4xf32>, %i: index) -> tensor<?x10xf32> {
    %c0 = arith.constant 0 : index
    %emb = attn.weight "tied.weight" : tensor<10x4xf32>
    %w = attn.weight "l." * ".weight" layers 2 : tensor<2x4x4xf32>
    %n = tensor.dim %x, %c0 : tensor<?x4xf32>
    %s = tensor.extract_slice %w[%i, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<2x4x4xf32> to tensor<4x4xf32>
    %e = tensor.empty(%n) : tensor<?x4xf32>
    %h = linalg.matmul_transpose_b ins(%x, %s : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
    %e2 = tensor.empty(%n) : tensor<?x10xf32>
    %y = linalg.matmul_transpose_b ins(%h, %emb : tensor<?x4xf32>, tensor<10x4xf32>) outs(%e2 : tensor<?x10xf32>) -> tensor<?x10xf32>
    %g = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]} outs(%y : tensor<?x10xf32>) {
    ^bb0(%o: f32):
      %t = tensor.extract %emb[%c0, %c0] : tensor<10x4xf32>
      linalg.yield %t : f32
    } -> tensor<?x10xf32>
    return %g : tensor<?x10xf32>
  }
}

// -----

// A layer-stacked weight (f32 here, as in place from a file) is a base buffer
// and a table of layer offsets (weight[slot], layer_offsets[slot]), in first-use order among
// the weights: each layer slice loads its layer's offset from the table and
// views the base there with the layer's static sizes and strides. A slice of
// part of a layer slices that view.

// CHECK: attn.weight_slots = [#attn.weight_slot<"l." * ".w" layers 3, shape = [3, 8, 4], dtype = f32, init = random>, #attn.weight_slot<"out.weight", shape = [4, 4], dtype = f32, init = random>]
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%[[TOK:.*]]: memref<?xi32>, %[[BASE:.*]]: memref<?xf32>, %[[TAB:.*]]: memref<3xi64>, %[[OUTW:.*]]: memref<4x4xf32>, %[[OUT:.*]]: memref<?x4xf32>)
// CHECK-SAME: attn.entry_args = [#attn.arg<tokens>, #attn.arg<weight[0]>, #attn.arg<layer_offsets[0]>, #attn.arg<weight[1]>, #attn.arg<output>]
// CHECK: scf.for %[[L:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: %[[O:.*]] = memref.load %[[TAB]][%[[L]]] : memref<3xi64>
// CHECK: %[[OI:.*]] = arith.index_cast %[[O]] : i64 to index
// CHECK: %[[V:.*]] = memref.reinterpret_cast %[[BASE]] to offset: [%[[OI]]], sizes: [8, 4], strides: [4, 1] : memref<?xf32> to memref<8x4xf32, strided<[4, 1], offset: ?>>
// CHECK: %[[W:.*]] = bufferization.to_tensor %[[V]] restrict : memref<8x4xf32, strided<[4, 1], offset: ?>>
// CHECK: %[[TOP:.*]] = tensor.extract_slice %[[W]][0, 0] [4, 4] [1, 1] : tensor<8x4xf32> to tensor<4x4xf32>
// CHECK: linalg.matmul_transpose_b ins(%{{.*}}, %[[TOP]] : tensor<?x4xf32>, tensor<4x4xf32>)
// CHECK-NOT: memref.reinterpret_cast
// CHECK: scf.yield
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %w = attn.weight "l." * ".w" layers 3 : tensor<3x8x4xf32>
    %n = tensor.dim %tokens, %c0 : tensor<?xi32>
    %x0 = tensor.empty(%n) : tensor<?x4xf32>
    %x = scf.for %l = %c0 to %c3 step %c1 iter_args(%x1 = %x0) -> tensor<?x4xf32> {
      %s = tensor.extract_slice %w[%l, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<3x8x4xf32> to tensor<4x4xf32>
      %e = tensor.empty(%n) : tensor<?x4xf32>
      %y = linalg.matmul_transpose_b ins(%x1, %s : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
      scf.yield %y : tensor<?x4xf32>
    }
    %o = attn.weight "out.weight" : tensor<4x4xf32>
    %e2 = tensor.empty(%n) : tensor<?x4xf32>
    %r = linalg.matmul_transpose_b ins(%x, %o : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e2 : tensor<?x4xf32>) -> tensor<?x4xf32>
    return %r : tensor<?x4xf32>
  }
}

// -----

// An expert-stacked weight has one table entry per (layer, expert): the layer
// loop slices its layer's E experts (entries l*E .. l*E+E-1) and the expert
// loop one expert of those, whose entry is the sum of the two offsets.

// CHECK: attn.weight_slots = [#attn.weight_slot<"l." * ".e." * ".w" layers 2 experts 3, shape = [6, 4, 4], dtype = f32, init = random>]
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%[[TOK:.*]]: memref<?xi32>, %[[BASE:.*]]: memref<?xf32>, %[[TAB:.*]]: memref<6xi64>, %[[OUT:.*]]: memref<?x4xf32>)
// CHECK: scf.for %[[L:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: %[[FIRST:.*]] = arith.muli %[[L]], %{{.*}} : index
// CHECK: scf.for %[[E:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: %[[K:.*]] = arith.addi %[[FIRST]], %[[E]] : index
// CHECK: %[[O:.*]] = memref.load %[[TAB]][%[[K]]] : memref<6xi64>
// CHECK: memref.reinterpret_cast %[[BASE]] to offset: [%{{.*}}], sizes: [4, 4], strides: [4, 1]
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %w = attn.weight "l." * ".e." * ".w" layers 2 experts 3 : tensor<6x4x4xf32>
    %n = tensor.dim %tokens, %c0 : tensor<?xi32>
    %x0 = tensor.empty(%n) : tensor<?x4xf32>
    %x = scf.for %l = %c0 to %c2 step %c1 iter_args(%x1 = %x0) -> tensor<?x4xf32> {
      %first = arith.muli %l, %c3 : index
      %layer = tensor.extract_slice %w[%first, 0, 0] [3, 4, 4] [1, 1, 1] : tensor<6x4x4xf32> to tensor<3x4x4xf32>
      %y = scf.for %e = %c0 to %c3 step %c1 iter_args(%x2 = %x1) -> tensor<?x4xf32> {
        %s = tensor.extract_slice %layer[%e, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<3x4x4xf32> to tensor<4x4xf32>
        %init = tensor.empty(%n) : tensor<?x4xf32>
        %p = linalg.matmul_transpose_b ins(%x2, %s : tensor<?x4xf32>, tensor<4x4xf32>) outs(%init : tensor<?x4xf32>) -> tensor<?x4xf32>
        scf.yield %p : tensor<?x4xf32>
      }
      scf.yield %y : tensor<?x4xf32>
    }
    return %x : tensor<?x4xf32>
  }
}

// -----

// Weights are slots by their whole name, parts and layer count alike: the
// same parts stacked over another layer count, or joined differently, are
// other weights.

// CHECK: attn.weight_slots = [#attn.weight_slot<"l." * ".p" * ".weight" layers 2, shape = [2, 4, 4], dtype = f32, init = random>, #attn.weight_slot<"l.p" * ".weight" layers 2, shape = [2, 4, 4], dtype = f32, init = random>, #attn.weight_slot<"l." * ".p" * ".weight" layers 3, shape = [3, 4, 4], dtype = f32, init = random>]
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: attn.entry_args = [#attn.arg<memory>, #attn.arg<pos>, #attn.arg<weight[0]>, #attn.arg<layer_offsets[0]>, #attn.arg<weight[1]>, #attn.arg<layer_offsets[1]>, #attn.arg<weight[2]>, #attn.arg<layer_offsets[2]>, #attn.arg<output>]
module {
  func.func @decoder(%x: tensor<?x4xf32>, %i: index) -> tensor<?x4xf32> {
    %c0 = arith.constant 0 : index
    %a = attn.weight "l." * ".p" * ".weight" layers 2 : tensor<2x4x4xf32>
    %b = attn.weight "l.p" * ".weight" layers 2 : tensor<2x4x4xf32>
    %c = attn.weight "l." * ".p" * ".weight" layers 3 : tensor<3x4x4xf32>
    %a2 = attn.weight "l." * ".p" * ".weight" layers 2 : tensor<2x4x4xf32>
    %n = tensor.dim %x, %c0 : tensor<?x4xf32>
    %e = tensor.empty(%n) : tensor<?x4xf32>
    %sa = tensor.extract_slice %a[%i, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<2x4x4xf32> to tensor<4x4xf32>
    %sb = tensor.extract_slice %b[%i, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<2x4x4xf32> to tensor<4x4xf32>
    %sc = tensor.extract_slice %c[%i, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<3x4x4xf32> to tensor<4x4xf32>
    %sa2 = tensor.extract_slice %a2[%i, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<2x4x4xf32> to tensor<4x4xf32>
    %y1 = linalg.matmul_transpose_b ins(%x, %sa : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
    %y2 = linalg.matmul_transpose_b ins(%y1, %sb : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
    %y3 = linalg.matmul_transpose_b ins(%y2, %sc : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
    %y4 = linalg.matmul_transpose_b ins(%y3, %sa2 : tensor<?x4xf32>, tensor<4x4xf32>) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
    return %y4 : tensor<?x4xf32>
  }
}
