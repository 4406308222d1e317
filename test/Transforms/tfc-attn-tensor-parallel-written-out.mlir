// RUN: tfc-opt %s -split-input-file -tfc-attn-tensor-parallel=ranks=2 -verify-diagnostics | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-attn-tensor-parallel=ranks=4 2>&1 | FileCheck %s --check-prefix=FOUR --enable-var-scope

// Attention written out by the model (tdsl attend, as a GGUF file imports it):
// q/k/v linear layers (with biases), split_heads, rope, repeat_kv, sdpa,
// merge_heads, the output linear layer (with its bias). Split as attn.attention
// is: q rows by ranks, k/v rows by whole K/V heads, o columns, then a sum over
// ranks; every head op on the way narrowed to the rank's heads; o's bias on
// rank 0 only (added once after the sum).

// CHECK-LABEL: func.func @attend_layers
// CHECK-DAG: %[[WQ:.*]] = attn.weight "blk." * ".attn_q.weight" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x4x8xf32>
// CHECK-DAG: %[[BQ:.*]] = attn.weight "blk." * ".attn_q.bias" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x4xf32>
// CHECK-DAG: %[[WK:.*]] = attn.weight "blk." * ".attn_k.weight" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x2x8xf32>
// CHECK-DAG: %[[BK:.*]] = attn.weight "blk." * ".attn_k.bias" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x2xf32>
// CHECK-DAG: %[[WV:.*]] = attn.weight "blk." * ".attn_v.weight" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x2x8xf32>
// CHECK-DAG: %[[BV:.*]] = attn.weight "blk." * ".attn_v.bias" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x2xf32>
// CHECK-DAG: %[[WO:.*]] = attn.weight "blk." * ".attn_output.weight" layers 2 {attn.shard = array<i64: 1, 2, 2>} : tensor<2x8x4xf32>
// CHECK-DAG: %[[BO:.*]] = attn.weight "blk." * ".attn_output.bias" layers 2 {attn.shard = array<i64: -1, 2, 2>} : tensor<2x8xf32>
// CHECK: scf.for %[[L:.*]] = {{.*}} iter_args(%[[X:.*]] = %{{.*}})
// CHECK-DAG: %[[Q:.*]] = attn.linear %[[X]], %{{.*}} bias %{{.*}} : tensor<?x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<?x4xf32>
// CHECK-DAG: %[[K:.*]] = attn.linear %[[X]], %{{.*}} bias %{{.*}} : tensor<?x8xf32>, tensor<2x8xf32>, tensor<2xf32> -> tensor<?x2xf32>
// CHECK-DAG: %[[V:.*]] = attn.linear %[[X]], %{{.*}} bias %{{.*}} : tensor<?x8xf32>, tensor<2x8xf32>, tensor<2xf32> -> tensor<?x2xf32>
// CHECK-DAG: %[[QH:.*]] = attn.split_heads %[[Q]] : tensor<?x4xf32> -> tensor<2x?x2xf32>
// CHECK-DAG: %[[KH:.*]] = attn.split_heads %[[K]] : tensor<?x2xf32> -> tensor<1x?x2xf32>
// CHECK-DAG: %[[VH:.*]] = attn.split_heads %[[V]] : tensor<?x2xf32> -> tensor<1x?x2xf32>
// CHECK-DAG: %[[QR:.*]] = attn.rope %[[QH]] {{.*}} : tensor<2x?x2xf32>
// CHECK-DAG: %[[KR:.*]] = attn.rope %[[KH]] {{.*}} : tensor<1x?x2xf32>
// CHECK-DAG: %[[KE:.*]] = attn.repeat_kv %[[KR]] : tensor<1x?x2xf32> -> tensor<2x?x2xf32>
// CHECK-DAG: %[[VE:.*]] = attn.repeat_kv %[[VH]] : tensor<1x?x2xf32> -> tensor<2x?x2xf32>
// CHECK: %[[S:.*]] = attn.sdpa %[[QR]], %[[KE]], %[[VE]] {causal, heads = 2 : i64, kv_heads = 2 : i64, {{.*}}} : tensor<2x?x2xf32>, tensor<2x?x2xf32>, tensor<2x?x2xf32> -> tensor<2x?x2xf32>
// CHECK: %[[M:.*]] = attn.merge_heads %[[S]] : tensor<2x?x2xf32> -> tensor<?x4xf32>
// CHECK: %[[O:.*]] = attn.linear %[[M]], %{{.*}} bias %{{.*}} : tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32> -> tensor<?x8xf32>
// CHECK: %[[OS:.*]] = attn.all_reduce %[[O]] ranks 2 : tensor<?x8xf32>
// CHECK: attn.add %[[X]], %[[OS]]

// Four ranks: one query head each; the 2 K/V heads cannot be split 4 ways, so
// each rank holds the K/V head of its query head (each on 2 ranks).
// FOUR-LABEL: remark: kv_heads (2) is not a multiple of ranks (4): each K/V head is replicated on 2 ranks
// FOUR: attn.weight "blk." * ".attn_q.weight" layers 2 {attn.shard = array<i64: 0, 4, 4>} : tensor<2x2x8xf32>
// FOUR: attn.weight "blk." * ".attn_k.weight" layers 2 {attn.shard = array<i64: 0, 2, 4>} : tensor<2x2x8xf32>
// FOUR: attn.weight "blk." * ".attn_v.weight" layers 2 {attn.shard = array<i64: 0, 2, 4>} : tensor<2x2x8xf32>
// FOUR: attn.weight "blk." * ".attn_output.weight" layers 2 {attn.shard = array<i64: 1, 4, 4>} : tensor<2x8x2xf32>
// FOUR: attn.split_heads %{{.*}} : tensor<?x2xf32> -> tensor<1x?x2xf32>
// FOUR: attn.repeat_kv %{{.*}} : tensor<1x?x2xf32> -> tensor<1x?x2xf32>
// FOUR: attn.sdpa {{.*}} {causal, heads = 1 : i64, kv_heads = 1 : i64, {{.*}}} : tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32> -> tensor<1x?x2xf32>
// FOUR: attn.merge_heads %{{.*}} : tensor<1x?x2xf32> -> tensor<?x2xf32>
// FOUR: attn.all_reduce %{{.*}} ranks 4 : tensor<?x8xf32>

// expected-remark @+1 {{tensor parallel over 2 ranks: split 1 attention and 0 feed-forward blocks (per layer loop body), 0 mixtures of experts, 0 embeddings; output head replicated}}
module {
  func.func @attend_layers(%x0: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %wq = attn.weight "blk." * ".attn_q.weight" layers 2 : tensor<2x8x8xf32>
    %bq = attn.weight "blk." * ".attn_q.bias" layers 2 : tensor<2x8xf32>
    %wk = attn.weight "blk." * ".attn_k.weight" layers 2 : tensor<2x4x8xf32>
    %bk = attn.weight "blk." * ".attn_k.bias" layers 2 : tensor<2x4xf32>
    %wv = attn.weight "blk." * ".attn_v.weight" layers 2 : tensor<2x4x8xf32>
    %bv = attn.weight "blk." * ".attn_v.bias" layers 2 : tensor<2x4xf32>
    %wo = attn.weight "blk." * ".attn_output.weight" layers 2 : tensor<2x8x8xf32>
    %bo = attn.weight "blk." * ".attn_output.bias" layers 2 : tensor<2x8xf32>
    %y = scf.for %l = %c0 to %c2 step %c1 iter_args(%x = %x0) -> (tensor<?x8xf32>) {
      %sq = tensor.extract_slice %wq[%l, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
      %sbq = tensor.extract_slice %bq[%l, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %sk = tensor.extract_slice %wk[%l, 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<4x8xf32>
      %sbk = tensor.extract_slice %bk[%l, 0] [1, 4] [1, 1] : tensor<2x4xf32> to tensor<4xf32>
      %sv = tensor.extract_slice %wv[%l, 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<4x8xf32>
      %sbv = tensor.extract_slice %bv[%l, 0] [1, 4] [1, 1] : tensor<2x4xf32> to tensor<4xf32>
      %so = tensor.extract_slice %wo[%l, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
      %sbo = tensor.extract_slice %bo[%l, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %q = attn.linear %x, %sq bias %sbq : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
      %k = attn.linear %x, %sk bias %sbk : tensor<?x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<?x4xf32>
      %v = attn.linear %x, %sv bias %sbv : tensor<?x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<?x4xf32>
      %qh = attn.split_heads %q : tensor<?x8xf32> -> tensor<4x?x2xf32>
      %kh = attn.split_heads %k : tensor<?x4xf32> -> tensor<2x?x2xf32>
      %vh = attn.split_heads %v : tensor<?x4xf32> -> tensor<2x?x2xf32>
      %qr = attn.rope %qh {style = #attn<rope_style interleaved>, theta = 1.0e+04 : f64} : tensor<4x?x2xf32>
      %kr = attn.rope %kh {style = #attn<rope_style interleaved>, theta = 1.0e+04 : f64} : tensor<2x?x2xf32>
      %ke = attn.repeat_kv %kr : tensor<2x?x2xf32> -> tensor<4x?x2xf32>
      %ve = attn.repeat_kv %vh : tensor<2x?x2xf32> -> tensor<4x?x2xf32>
      %s = attn.sdpa %qr, %ke, %ve {causal, heads = 4 : i64, kv_heads = 4 : i64, scale = 0.7071067811865476 : f64} : tensor<4x?x2xf32>, tensor<4x?x2xf32>, tensor<4x?x2xf32> -> tensor<4x?x2xf32>
      %m = attn.merge_heads %s : tensor<4x?x2xf32> -> tensor<?x8xf32>
      %o = attn.linear %m, %so bias %sbo : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
      %x1 = attn.add %x, %o : tensor<?x8xf32>
      scf.yield %x1 : tensor<?x8xf32>
    }
    return %y : tensor<?x8xf32>
  }
}

// -----

// The output projection's weight has another use (read whole elsewhere): the
// attention stays whole, every weight unsplit.

// CHECK-LABEL: func.func @shared_output
// CHECK-NOT: attn.shard
// CHECK-NOT: attn.all_reduce
// CHECK: return

// expected-remark @+1 {{tensor parallel over 2 ranks: split 0 attention and 0 feed-forward blocks (per layer loop body), 0 mixtures of experts, 0 embeddings; output head replicated}}
module {
  func.func @shared_output(%x: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
    %wq = attn.weight "q.weight" : tensor<8x8xf32>
    %wk = attn.weight "k.weight" : tensor<8x8xf32>
    %wv = attn.weight "v.weight" : tensor<8x8xf32>
    %wo = attn.weight "o.weight" : tensor<8x8xf32>
    %q = attn.linear %x, %wq : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    %k = attn.linear %x, %wk : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    %v = attn.linear %x, %wv : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    %qh = attn.split_heads %q : tensor<?x8xf32> -> tensor<4x?x2xf32>
    %kh = attn.split_heads %k : tensor<?x8xf32> -> tensor<4x?x2xf32>
    %vh = attn.split_heads %v : tensor<?x8xf32> -> tensor<4x?x2xf32>
    // expected-remark @+1 {{a projection weight has other uses: attention replicated}}
    %s = attn.sdpa %qh, %kh, %vh {heads = 4 : i64, kv_heads = 4 : i64, scale = 0.7071067811865476 : f64} : tensor<4x?x2xf32>, tensor<4x?x2xf32>, tensor<4x?x2xf32> -> tensor<4x?x2xf32>
    %m = attn.merge_heads %s : tensor<4x?x2xf32> -> tensor<?x8xf32>
    %o = attn.linear %m, %wo : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    %again = attn.linear %x, %wo : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    return %o, %again : tensor<?x8xf32>, tensor<?x8xf32>
  }
}

// -----

// Heads not taken from a linear layer (the function's own input, split into
// heads): not the written-out form; replicated, which a remark says.

// CHECK-LABEL: func.func @heads_from_input
// CHECK-NOT: attn.shard
// CHECK-NOT: attn.all_reduce
// CHECK: return

// expected-remark @+1 {{tensor parallel over 2 ranks: split 0 attention and 0 feed-forward blocks (per layer loop body), 0 mixtures of experts, 0 embeddings; output head replicated}}
module {
  func.func @heads_from_input(%x: tensor<?x8xf32>, %kv: tensor<4x?x2xf32>) -> tensor<?x8xf32> {
    %wq = attn.weight "q.weight" : tensor<8x8xf32>
    %wo = attn.weight "o.weight" : tensor<8x8xf32>
    %q = attn.linear %x, %wq : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    %qh = attn.split_heads %q : tensor<?x8xf32> -> tensor<4x?x2xf32>
    // expected-remark @+1 {{attention written out (split_heads, sdpa, merge_heads) not between q/k/v and output linear layers: replicated}}
    %s = attn.sdpa %qh, %kv, %kv {heads = 4 : i64, kv_heads = 4 : i64, scale = 0.7071067811865476 : f64} : tensor<4x?x2xf32>, tensor<4x?x2xf32>, tensor<4x?x2xf32> -> tensor<4x?x2xf32>
    %m = attn.merge_heads %s : tensor<4x?x2xf32> -> tensor<?x8xf32>
    %o = attn.linear %m, %wo : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    return %o : tensor<?x8xf32>
  }
}

// -----

// Grouped query attention without repeat_kv (the sdpa takes 2 K/V heads for its
// 4 query heads): each rank 2 query heads and their one K/V head.

// CHECK-LABEL: func.func @grouped
// CHECK: attn.sdpa {{.*}} {heads = 2 : i64, kv_heads = 1 : i64, {{.*}}} : tensor<2x?x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32> -> tensor<2x?x2xf32>
// CHECK: attn.all_reduce %{{.*}} ranks 2 : tensor<?x8xf32>

// expected-remark @+1 {{tensor parallel over 2 ranks: split 1 attention and 0 feed-forward blocks (per layer loop body), 0 mixtures of experts, 0 embeddings; output head replicated}}
module {
  func.func @grouped(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %wq = attn.weight "q.weight" : tensor<8x8xf32>
    %wk = attn.weight "k.weight" : tensor<4x8xf32>
    %wv = attn.weight "v.weight" : tensor<4x8xf32>
    %wo = attn.weight "o.weight" : tensor<8x8xf32>
    %q = attn.linear %x, %wq : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    %k = attn.linear %x, %wk : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
    %v = attn.linear %x, %wv : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
    %qh = attn.split_heads %q : tensor<?x8xf32> -> tensor<4x?x2xf32>
    %kh = attn.split_heads %k : tensor<?x4xf32> -> tensor<2x?x2xf32>
    %vh = attn.split_heads %v : tensor<?x4xf32> -> tensor<2x?x2xf32>
    %s = attn.sdpa %qh, %kh, %vh {heads = 4 : i64, kv_heads = 2 : i64, scale = 0.7071067811865476 : f64} : tensor<4x?x2xf32>, tensor<2x?x2xf32>, tensor<2x?x2xf32> -> tensor<4x?x2xf32>
    %m = attn.merge_heads %s : tensor<4x?x2xf32> -> tensor<?x8xf32>
    %o = attn.linear %m, %wo : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    return %o : tensor<?x8xf32>
  }
}

// -----

// q, k and v sliced from one fused projection (GPT-2's c_attn, a GGUF file's
// attn_qkv): its rows are three segments (q, k, v), each cut by heads; a rank
// holds its heads' rows of each, side by side (attn.shard [dim, parts, ranks,
// whole, segments]), so its projection is [q | k | v] of its heads and the
// slices move to a third of its width.

// CHECK-LABEL: func.func @fused_qkv
// CHECK-DAG: %[[W:.*]] = attn.weight "attn_qkv.weight" {attn.shard = array<i64: 0, 2, 2, 24, 3>} : tensor<12x8xf32>
// CHECK-DAG: %[[B:.*]] = attn.weight "attn_qkv.bias" {attn.shard = array<i64: 0, 2, 2, 24, 3>} : tensor<12xf32>
// CHECK-DAG: %[[WO:.*]] = attn.weight "attn_output.weight" {attn.shard = array<i64: 1, 2, 2>} : tensor<8x4xf32>
// CHECK: %[[QKV:.*]] = attn.linear %{{.*}}, %[[W]] bias %[[B]] : tensor<?x8xf32>, tensor<12x8xf32>, tensor<12xf32> -> tensor<?x12xf32>
// CHECK-DAG: %[[Q:.*]] = attn.slice_last %[[QKV]] {offset = 0 : i64} : tensor<?x12xf32> -> tensor<?x4xf32>
// CHECK-DAG: %[[K:.*]] = attn.slice_last %[[QKV]] {offset = 4 : i64} : tensor<?x12xf32> -> tensor<?x4xf32>
// CHECK-DAG: %[[V:.*]] = attn.slice_last %[[QKV]] {offset = 8 : i64} : tensor<?x12xf32> -> tensor<?x4xf32>
// CHECK-DAG: %[[QH:.*]] = attn.split_heads %[[Q]] : tensor<?x4xf32> -> tensor<2x?x2xf32>
// CHECK-DAG: %[[KH:.*]] = attn.split_heads %[[K]] : tensor<?x4xf32> -> tensor<2x?x2xf32>
// CHECK-DAG: %[[VH:.*]] = attn.split_heads %[[V]] : tensor<?x4xf32> -> tensor<2x?x2xf32>
// CHECK: attn.sdpa %[[QH]], %[[KH]], %[[VH]] {causal, heads = 2 : i64, kv_heads = 2 : i64, {{.*}}} : tensor<2x?x2xf32>, tensor<2x?x2xf32>, tensor<2x?x2xf32> -> tensor<2x?x2xf32>
// CHECK: attn.merge_heads %{{.*}} : tensor<2x?x2xf32> -> tensor<?x4xf32>
// CHECK: attn.linear %{{.*}}, %[[WO]] : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
// CHECK: attn.all_reduce %{{.*}} ranks 2 : tensor<?x8xf32>

// Four ranks: one head each, two rows of each segment.
// FOUR-LABEL: func.func @fused_qkv
// FOUR: attn.weight "attn_qkv.weight" {attn.shard = array<i64: 0, 4, 4, 24, 3>} : tensor<6x8xf32>
// FOUR: attn.slice_last %{{.*}} {offset = 0 : i64} : tensor<?x6xf32> -> tensor<?x2xf32>
// FOUR: attn.slice_last %{{.*}} {offset = 2 : i64} : tensor<?x6xf32> -> tensor<?x2xf32>
// FOUR: attn.slice_last %{{.*}} {offset = 4 : i64} : tensor<?x6xf32> -> tensor<?x2xf32>
// FOUR: attn.sdpa {{.*}} {causal, heads = 1 : i64, kv_heads = 1 : i64, {{.*}}} : tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32> -> tensor<1x?x2xf32>
// FOUR: attn.all_reduce %{{.*}} ranks 4 : tensor<?x8xf32>

// expected-remark @+1 {{tensor parallel over 2 ranks: split 1 attention and 0 feed-forward blocks (per layer loop body), 0 mixtures of experts, 0 embeddings; output head replicated}}
module {
  func.func @fused_qkv(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w = attn.weight "attn_qkv.weight" : tensor<24x8xf32>
    %b = attn.weight "attn_qkv.bias" : tensor<24xf32>
    %wo = attn.weight "attn_output.weight" : tensor<8x8xf32>
    %qkv = attn.linear %x, %w bias %b : tensor<?x8xf32>, tensor<24x8xf32>, tensor<24xf32> -> tensor<?x24xf32>
    %q = attn.slice_last %qkv {offset = 0 : i64} : tensor<?x24xf32> -> tensor<?x8xf32>
    %k = attn.slice_last %qkv {offset = 8 : i64} : tensor<?x24xf32> -> tensor<?x8xf32>
    %v = attn.slice_last %qkv {offset = 16 : i64} : tensor<?x24xf32> -> tensor<?x8xf32>
    %qh = attn.split_heads %q : tensor<?x8xf32> -> tensor<4x?x2xf32>
    %kh = attn.split_heads %k : tensor<?x8xf32> -> tensor<4x?x2xf32>
    %vh = attn.split_heads %v : tensor<?x8xf32> -> tensor<4x?x2xf32>
    %s = attn.sdpa %qh, %kh, %vh {causal, heads = 4 : i64, kv_heads = 4 : i64, scale = 0.7071067811865476 : f64} : tensor<4x?x2xf32>, tensor<4x?x2xf32>, tensor<4x?x2xf32> -> tensor<4x?x2xf32>
    %m = attn.merge_heads %s : tensor<4x?x2xf32> -> tensor<?x8xf32>
    %o = attn.linear %m, %wo : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    return %o : tensor<?x8xf32>
  }
}

// -----

// A fused projection of grouped query attention (8 query values, 4 key and 4
// value values per token): segments of different widths, which one cut of
// equal segments cannot take; replicated, with a remark.

// CHECK-LABEL: func.func @fused_grouped
// CHECK-NOT: attn.shard
// CHECK-NOT: attn.all_reduce
// CHECK: return

// expected-remark @+1 {{tensor parallel over 2 ranks: split 0 attention and 0 feed-forward blocks (per layer loop body), 0 mixtures of experts, 0 embeddings; output head replicated}}
module {
  func.func @fused_grouped(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w = attn.weight "attn_qkv.weight" : tensor<16x8xf32>
    %wo = attn.weight "attn_output.weight" : tensor<8x8xf32>
    %qkv = attn.linear %x, %w : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
    %q = attn.slice_last %qkv {offset = 0 : i64} : tensor<?x16xf32> -> tensor<?x8xf32>
    %k = attn.slice_last %qkv {offset = 8 : i64} : tensor<?x16xf32> -> tensor<?x4xf32>
    %v = attn.slice_last %qkv {offset = 12 : i64} : tensor<?x16xf32> -> tensor<?x4xf32>
    %qh = attn.split_heads %q : tensor<?x8xf32> -> tensor<4x?x2xf32>
    %kh = attn.split_heads %k : tensor<?x4xf32> -> tensor<2x?x2xf32>
    %vh = attn.split_heads %v : tensor<?x4xf32> -> tensor<2x?x2xf32>
    // expected-remark @+1 {{q, k and v of a fused projection that does not cut into the same heads of each: attention replicated}}
    %s = attn.sdpa %qh, %kh, %vh {heads = 4 : i64, kv_heads = 2 : i64, scale = 0.7071067811865476 : f64} : tensor<4x?x2xf32>, tensor<2x?x2xf32>, tensor<2x?x2xf32> -> tensor<4x?x2xf32>
    %m = attn.merge_heads %s : tensor<4x?x2xf32> -> tensor<?x8xf32>
    %o = attn.linear %m, %wo : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    return %o : tensor<?x8xf32>
  }
}
