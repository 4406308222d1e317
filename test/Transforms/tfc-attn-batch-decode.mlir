// RUN: tfc-opt %s -split-input-file -tfc-attn-batch-decode | FileCheck %s --enable-var-scope

// @decoder stays; @decoder_batch takes pools for the caches and the two tables for
// the position, and runs RoPE and attention once per segment (its rows, its
// position, its layer of its cache in the pool).

// CHECK-LABEL: func.func @decoder(
// CHECK-SAME: %{{.*}}: tensor<?xi32>, %{{.*}}: index, %{{.*}}: tensor<2x1x8x4xf32>, %{{.*}}: tensor<2x1x8x4xf32>)
// CHECK-LABEL: func.func @decoder_batch(
// CHECK-SAME: %[[TOK:[^:]*]]: tensor<?xi32>,
// CHECK-SAME: %[[KP:[^:]*]]: tensor<?xf32> {attn.batch_arg = "cache_pool"},
// CHECK-SAME: %[[VP:[^:]*]]: tensor<?xf32> {attn.batch_arg = "cache_pool"},
// CHECK-SAME: %[[SEGS:[^:]*]]: tensor<?x3xi64> {attn.batch_arg = "segments"},
// CHECK-SAME: %[[OFFS:[^:]*]]: tensor<?x2xi64> {attn.batch_arg = "cache_offsets"})
// CHECK-SAME: -> (tensor<?x4xf32>, tensor<?xf32>, tensor<?xf32>) attributes {attn.stateful}
// CHECK: %[[LOOP:.*]]:3 = scf.for %[[L:.*]] = {{.*}} iter_args(%[[X:.*]] = %{{.*}}, %[[KI:.*]] = %[[KP]], %[[VI:.*]] = %[[VP]])
// The RoPE of the keys: segment s's rows at segment s's position.
// CHECK: %[[NSEG:.*]] = tensor.dim %[[SEGS]], %{{.*}} : tensor<?x3xi64>
// CHECK: %[[KR:.*]] = scf.for %[[S:.*]] = %{{.*}} to %[[NSEG]] step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<1x?x4xf32>)
// CHECK:   %[[COUNT:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK:   %[[ROWS:.*]] = arith.minsi %[[COUNT]], %{{.*}} : index
// CHECK:   %[[FIRST:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK:   %[[POS:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK:   %[[PART:.*]] = tensor.extract_slice %{{.*}}[0, %[[FIRST]], 0] [1, %[[ROWS]], 4] [1, 1, 1]
// CHECK:   %[[R:.*]] = attn.rope %[[PART]] offset %[[POS]]
// CHECK:   tensor.insert_slice %[[R]] into %[[ACC]][0, %[[FIRST]], 0]
// Attention: the keys into layer %L of the segment's key cache at offsets[s][0].
// CHECK: %[[ATT:.*]]:3 = scf.for %[[S:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[OUT:.*]] = %{{.*}}, %[[KC:.*]] = %[[KI]], %[[VC:.*]] = %[[VI]])
// CHECK:   arith.index_cast %{{.*}} : i64 to index
// CHECK:   arith.index_cast %{{.*}} : i64 to index
// CHECK:   %[[POS:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK:   %[[Q:.*]] = tensor.extract_slice
// CHECK:   %[[KOFF:.*]] = tensor.extract %[[OFFS]][%[[S]], %{{.*}}] : tensor<?x2xi64>
// CHECK:   %[[KB:.*]] = arith.index_cast %[[KOFF]]
// CHECK:   %[[LAYER:.*]] = arith.muli %[[L]], %{{.*}} : index
// CHECK:   %[[AT:.*]] = arith.addi %[[KB]], %[[LAYER]]
// CHECK:   %[[FLAT:.*]] = tensor.extract_slice %[[KC]][%[[AT]]] [32] [1] : tensor<?xf32> to tensor<32xf32>
// CHECK:   %[[BLOCK:.*]] = tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1, 2, 3]] output_shape [1, 1, 8, 4]
// CHECK:   %[[UPD:.*]] = attn.cache_update %[[BLOCK]][%{{.*}}], %{{.*}} at %[[POS]] : tensor<1x1x8x4xf32>
// CHECK:   %[[KEYS:.*]] = attn.cache_view %[[UPD]][%{{.*}}] upto %{{.*}} : tensor<1x1x8x4xf32> -> tensor<1x?x4xf32>
// CHECK:   %[[VALUES:.*]] = attn.cache_view
// CHECK:   %[[O:.*]] = attn.sdpa %[[Q]], %[[KEYS]], %[[VALUES]] {causal
// CHECK:   %[[NEWOUT:.*]] = tensor.insert_slice %[[O]] into %[[OUT]]
// The layers go back into the pools after attention read them.
// CHECK:   %[[BACK:.*]] = tensor.collapse_shape %[[UPD]]
// CHECK:   %[[NEWK:.*]] = tensor.insert_slice %[[BACK]] into %[[KC]][%[[AT]]] [32] [1]
// CHECK:   scf.yield %[[NEWOUT]], %[[NEWK]], %{{.*}}
// CHECK: scf.yield %{{.*}}, %[[ATT]]#1, %[[ATT]]#2
// CHECK: return %{{.*}}, %[[LOOP]]#1, %[[LOOP]]#2 : tensor<?x4xf32>, tensor<?xf32>, tensor<?xf32>
module attributes {attn.max_seq = 8 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>, %pos: index, %kc0: tensor<2x1x8x4xf32>, %vc0: tensor<2x1x8x4xf32>)
      -> (tensor<?x4xf32>, tensor<2x1x8x4xf32>, tensor<2x1x8x4xf32>) attributes {attn.stateful} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %r:3 = scf.for %l = %c0 to %c2 step %c1 iter_args(%x = %x0, %kc = %kc0, %vc = %vc0)
        -> (tensor<?x4xf32>, tensor<2x1x8x4xf32>, tensor<2x1x8x4xf32>) {
      %h = attn.split_heads %x : tensor<?x4xf32> -> tensor<1x?x4xf32>
      %kr = attn.rope %h offset %pos {style = #attn<rope_style half>, theta = 1.0e+04 : f64} : tensor<1x?x4xf32>
      %kc2 = attn.cache_update %kc[%l], %kr at %pos : tensor<2x1x8x4xf32>, tensor<1x?x4xf32>
      %n = tensor.dim %kr, %c1 : tensor<1x?x4xf32>
      %len = arith.addi %pos, %n : index
      %keys = attn.cache_view %kc2[%l] upto %len : tensor<2x1x8x4xf32> -> tensor<1x?x4xf32>
      %vc2 = attn.cache_update %vc[%l], %h at %pos : tensor<2x1x8x4xf32>, tensor<1x?x4xf32>
      %values = attn.cache_view %vc2[%l] upto %len : tensor<2x1x8x4xf32> -> tensor<1x?x4xf32>
      %o = attn.sdpa %h, %keys, %values {causal, heads = 1 : i64, kv_heads = 1 : i64, scale = 0.5 : f64}
          : tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32> -> tensor<1x?x4xf32>
      %m = attn.merge_heads %o : tensor<1x?x4xf32> -> tensor<?x4xf32>
      scf.yield %m, %kc2, %vc2 : tensor<?x4xf32>, tensor<2x1x8x4xf32>, tensor<2x1x8x4xf32>
    }
    return %r#0, %r#1, %r#2 : tensor<?x4xf32>, tensor<2x1x8x4xf32>, tensor<2x1x8x4xf32>
  }
}

// -----

// Learned positions: the position table is read per segment, at its position.

// CHECK-LABEL: func.func @decoder_batch(
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<?x4xf32>)
// CHECK:   arith.index_cast %{{.*}} : i64 to index
// CHECK:   arith.index_cast %{{.*}} : i64 to index
// CHECK:   %[[POS:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK:   %[[T:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}] [%{{.*}}] [1] : tensor<?xi32> to tensor<?xi32>
// CHECK:   attn.position_embedding %{{.*}}, %[[T]] offset %[[POS]]
module attributes {attn.max_seq = 8 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>, %pos: index, %kc0: tensor<1x1x8x4xf32>)
      -> (tensor<?x4xf32>, tensor<1x1x8x4xf32>) attributes {attn.stateful} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %table = attn.weight "pos.weight" : tensor<8x4xf32>
    %x = attn.position_embedding %table, %tokens offset %pos : tensor<8x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %h = attn.split_heads %x : tensor<?x4xf32> -> tensor<1x?x4xf32>
    %kc2 = attn.cache_update %kc0[%c0], %h at %pos : tensor<1x1x8x4xf32>, tensor<1x?x4xf32>
    %n = tensor.dim %h, %c1 : tensor<1x?x4xf32>
    %len = arith.addi %pos, %n : index
    %keys = attn.cache_view %kc2[%c0] upto %len : tensor<1x1x8x4xf32> -> tensor<1x?x4xf32>
    %values = attn.slice_last %keys {offset = 0 : i64} : tensor<1x?x4xf32> -> tensor<1x?x4xf32>
    %o = attn.sdpa %h, %keys, %values {causal, heads = 1 : i64, kv_heads = 1 : i64, scale = 0.5 : f64}
        : tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32> -> tensor<1x?x4xf32>
    %m = attn.merge_heads %o : tensor<1x?x4xf32> -> tensor<?x4xf32>
    return %m, %kc2 : tensor<?x4xf32>, tensor<1x1x8x4xf32>
  }
}

// -----

// Bidirectional attention in a stateful decoder would mix the sessions: no
// @decoder_batch (and no error; the runtime decodes one session at a time).

// CHECK-LABEL: func.func @decoder(
// CHECK-NOT: @decoder_batch
module attributes {attn.max_seq = 8 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>, %pos: index, %kc0: tensor<1x1x8x4xf32>)
      -> (tensor<?x4xf32>, tensor<1x1x8x4xf32>) attributes {attn.stateful} {
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %h = attn.split_heads %x : tensor<?x4xf32> -> tensor<1x?x4xf32>
    %o = attn.sdpa %h, %h, %h {heads = 1 : i64, kv_heads = 1 : i64, scale = 0.5 : f64}
        : tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32> -> tensor<1x?x4xf32>
    %m = attn.merge_heads %o : tensor<1x?x4xf32> -> tensor<?x4xf32>
    return %m, %kc0 : tensor<?x4xf32>, tensor<1x1x8x4xf32>
  }
}

// -----

// A decoder without a KV cache (recomputing every call) has nothing to batch.

// CHECK-LABEL: func.func @decoder(
// CHECK-NOT: @decoder_batch
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    return %x : tensor<?x4xf32>
  }
}
