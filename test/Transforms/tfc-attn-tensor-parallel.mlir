// RUN: tfc-opt %s -split-input-file -tfc-attn-tensor-parallel=ranks=2 -verify-diagnostics | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-attn-tensor-parallel=ranks=4 2>&1 | FileCheck %s --check-prefix=FOUR --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-attn-tensor-parallel=ranks=2 -tfc-attn-last-token-logits 2>/dev/null | FileCheck %s --check-prefix=LAST --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-attn-tensor-parallel=ranks=2 -tfc-attn-latent 2>/dev/null | FileCheck %s --check-prefix=LATENT --enable-var-scope

// A Llama layer loop and head: q/k/v rows, o columns split by heads; gate/up
// rows, down columns; the head's rows (the vocabulary); a sum after o_proj and
// down_proj, a gather after the head; the embedding's rows (the vocabulary: a
// token's row on the rank that holds it, zeros elsewhere) and a sum; norms whole.

// CHECK-LABEL: func.func @decoder
// CHECK-DAG: %[[EMB:.*]] = attn.weight "emb.weight" {attn.shard = array<i64: 0, 2, 2>} : tensor<8x8xf32>
// CHECK-DAG: %[[X0:.*]] = attn.embedding %[[EMB]], %{{.*}} {vocab_parts = 2 : i64} : tensor<8x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
// CHECK-DAG: %[[X0S:.*]] = attn.all_reduce %[[X0]] ranks 2 : tensor<?x8xf32>
// CHECK-DAG: %[[NORM:.*]] = attn.weight "l." * ".norm.weight" layers 2 : tensor<2x8xf32>
// CHECK-DAG: %[[WQ:.*]] = attn.weight "l." * ".q.weight" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x4x8xf32>
// CHECK-DAG: %[[WK:.*]] = attn.weight "l." * ".k.weight" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x2x8xf32>
// CHECK-DAG: %[[WV:.*]] = attn.weight "l." * ".v.weight" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x2x8xf32>
// CHECK-DAG: %[[WO:.*]] = attn.weight "l." * ".o.weight" layers 2 {attn.shard = array<i64: 1, 2, 2>} : tensor<2x8x4xf32>
// CHECK-DAG: %[[WG:.*]] = attn.weight "l." * ".gate.weight" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x8x8xf32>
// CHECK-DAG: %[[WU:.*]] = attn.weight "l." * ".up.weight" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x8x8xf32>
// CHECK-DAG: %[[WD:.*]] = attn.weight "l." * ".down.weight" layers 2 {attn.shard = array<i64: 1, 2, 2>} : tensor<2x8x8xf32>
// CHECK: scf.for %[[L:.*]] = {{.*}} iter_args(%[[X:.*]] = %[[X0S]])
// CHECK-DAG: %[[Q:.*]] = tensor.extract_slice %[[WQ]][%[[L]], 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<4x8xf32>
// CHECK-DAG: %[[O:.*]] = tensor.extract_slice %[[WO]][%[[L]], 0, 0] [1, 8, 4] [1, 1, 1] : tensor<2x8x4xf32> to tensor<8x4xf32>
// CHECK: %[[A:.*]] = attn.attention %{{.*}} weights(%[[Q]], %{{.*}}, %{{.*}}, %[[O]] : tensor<4x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<8x4xf32>)
// CHECK-SAME: heads = 2 : i64, kv_heads = 1 : i64
// CHECK: %[[AS:.*]] = attn.all_reduce %[[A]] ranks 2 : tensor<?x8xf32>
// CHECK: %[[X1:.*]] = attn.add %[[X]], %[[AS]]
// CHECK: %[[G:.*]] = attn.linear %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
// CHECK: attn.silu %[[G]] : tensor<?x8xf32>
// CHECK: %[[GU:.*]] = attn.mul %{{.*}}, %{{.*}} : tensor<?x8xf32>
// CHECK: %[[D:.*]] = attn.linear %[[GU]], %{{.*}} : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
// CHECK: %[[DS:.*]] = attn.all_reduce %[[D]] ranks 2 : tensor<?x8xf32>
// CHECK: attn.add %[[X1]], %[[DS]]
// CHECK: %[[WH:.*]] = attn.weight "head.weight" {attn.shard = array<i64: 0, 2, 2>} : tensor<8x8xf32>
// CHECK: %[[H:.*]] = attn.linear %{{.*}}, %[[WH]] : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
// CHECK: %[[LOGITS:.*]] = attn.all_gather %[[H]] ranks 2 : tensor<?x8xf32> -> tensor<?x16xf32>
// CHECK: return %[[LOGITS]]

// Four ranks: 2 K/V heads cannot be split 4 ways, so each rank holds the K/V
// head of its query heads (2 parts, each on 2 ranks); the rest splits in 4.
// FOUR: remark: kv_heads (2) is not a multiple of ranks (4): each K/V head is replicated on 2 ranks
// FOUR: attn.weight "l." * ".q.weight" layers 2 {attn.shard = array<i64: 0, 4, 4>} : tensor<2x2x8xf32>
// FOUR: attn.weight "l." * ".k.weight" layers 2 {attn.shard = array<i64: 0, 2, 4>} : tensor<2x2x8xf32>
// FOUR: attn.weight "l." * ".v.weight" layers 2 {attn.shard = array<i64: 0, 2, 4>} : tensor<2x2x8xf32>
// FOUR: attn.weight "l." * ".o.weight" layers 2 {attn.shard = array<i64: 1, 4, 4>} : tensor<2x8x2xf32>
// FOUR: heads = 1 : i64, kv_heads = 1 : i64

// The last token's logits: the head reads the last row, then gathers it.
// LAST-LABEL: func.func @decoder_last
// LAST: %[[ROW:.*]] = tensor.extract_slice %{{.*}} : tensor<?x8xf32> to tensor<1x8xf32>
// LAST: %[[H:.*]] = attn.linear %[[ROW]], %{{.*}} : tensor<1x8xf32>, tensor<8x8xf32> -> tensor<1x8xf32>
// LAST: %[[G:.*]] = attn.all_gather %[[H]] ranks 2 : tensor<1x8xf32> -> tensor<1x16xf32>
// LAST: return %[[G]]

// expected-remark @+1 {{tensor parallel over 2 ranks: split 1 attention and 1 feed-forward blocks (per layer loop body), 0 mixtures of experts, 1 embeddings; output head split}}
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x16xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %emb = attn.weight "emb.weight" : tensor<16x8xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<16x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %wn = attn.weight "l." * ".norm.weight" layers 2 : tensor<2x8xf32>
    %wq = attn.weight "l." * ".q.weight" layers 2 : tensor<2x8x8xf32>
    %wk = attn.weight "l." * ".k.weight" layers 2 : tensor<2x4x8xf32>
    %wv = attn.weight "l." * ".v.weight" layers 2 : tensor<2x4x8xf32>
    %wo = attn.weight "l." * ".o.weight" layers 2 : tensor<2x8x8xf32>
    %wg = attn.weight "l." * ".gate.weight" layers 2 : tensor<2x16x8xf32>
    %wu = attn.weight "l." * ".up.weight" layers 2 : tensor<2x16x8xf32>
    %wd = attn.weight "l." * ".down.weight" layers 2 : tensor<2x8x16xf32>
    %y = scf.for %l = %c0 to %c2 step %c1 iter_args(%x = %x0) -> (tensor<?x8xf32>) {
      %n = tensor.extract_slice %wn[%l, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %h = attn.rms_norm %x, %n {eps = 1.0e-05 : f64} : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
      %q = tensor.extract_slice %wq[%l, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
      %k = tensor.extract_slice %wk[%l, 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<4x8xf32>
      %v = tensor.extract_slice %wv[%l, 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<4x8xf32>
      %o = tensor.extract_slice %wo[%l, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
      %a = attn.attention %h weights(%q, %k, %v, %o : tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>)
             {causal, heads = 4 : i64, kv_heads = 2 : i64, head_dim = 2 : i64, rope_theta = 1.0e+04 : f64}
             : tensor<?x8xf32> -> tensor<?x8xf32>
      %x1 = attn.add %x, %a : tensor<?x8xf32>
      %h2 = attn.rms_norm %x1, %n {eps = 1.0e-05 : f64} : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
      %g = tensor.extract_slice %wg[%l, 0, 0] [1, 16, 8] [1, 1, 1] : tensor<2x16x8xf32> to tensor<16x8xf32>
      %u = tensor.extract_slice %wu[%l, 0, 0] [1, 16, 8] [1, 1, 1] : tensor<2x16x8xf32> to tensor<16x8xf32>
      %d = tensor.extract_slice %wd[%l, 0, 0] [1, 8, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<8x16xf32>
      %gx = attn.linear %h2, %g : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
      %gs = attn.silu %gx : tensor<?x16xf32>
      %ux = attn.linear %h2, %u : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
      %gu = attn.mul %gs, %ux : tensor<?x16xf32>
      %dx = attn.linear %gu, %d : tensor<?x16xf32>, tensor<8x16xf32> -> tensor<?x8xf32>
      %x2 = attn.add %x1, %dx : tensor<?x8xf32>
      scf.yield %x2 : tensor<?x8xf32>
    }
    %wh = attn.weight "head.weight" : tensor<16x8xf32>
    %logits = attn.linear %y, %wh : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
    return %logits : tensor<?x16xf32>
  }
}

// -----

// A head tied to the embedding splits with it (one tensor, the same rows);
// an MLP whose inner product has a second use stays whole; a GPT-2 style
// layer (Conv1D weights [in, out] and biases) splits the other way round, its
// output bias on rank 0 only.

// CHECK-LABEL: func.func @decoder
// CHECK: %[[EMB:.*]] = attn.weight "wte.weight" {attn.shard = array<i64: 0, 2, 2>} : tensor<8x8xf32>
// CHECK: %[[E:.*]] = attn.embedding %[[EMB]], %{{.*}} {vocab_parts = 2 : i64}
// CHECK: attn.all_reduce %[[E]] ranks 2
// CHECK: %[[FC:.*]] = attn.weight "fc.weight" {attn.shard = array<i64: 1, 2, 2>} : tensor<8x8xf32>
// CHECK: %[[FCB:.*]] = attn.weight "fc.bias" {attn.shard = array<i64: 0, 2, 2>} : tensor<8xf32>
// CHECK: %[[PR:.*]] = attn.weight "proj.weight" {attn.shard = array<i64: 0, 2, 2>} : tensor<8x8xf32>
// CHECK: %[[PRB:.*]] = attn.weight "proj.bias" {attn.shard = array<i64: -1, 2, 2>} : tensor<8xf32>
// CHECK: %[[F:.*]] = attn.linear %{{.*}}, %[[FC]] bias %[[FCB]] {weight_in_out} : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
// CHECK: %[[P:.*]] = attn.linear %{{.*}}, %[[PR]] bias %[[PRB]] {weight_in_out}
// CHECK: attn.all_reduce %[[P]] ranks 2
// CHECK: %[[W2:.*]] = attn.weight "twice.weight" : tensor<16x8xf32>
// CHECK-NOT: all_reduce
// CHECK: %[[H:.*]] = attn.linear %{{.*}}, %[[EMB]] : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
// CHECK: %[[G:.*]] = attn.all_gather %[[H]] ranks 2 : tensor<?x8xf32> -> tensor<?x16xf32>
// CHECK: return %[[G]]

// expected-remark @+1 {{tensor parallel over 2 ranks: split 0 attention and 1 feed-forward blocks (per layer loop body), 0 mixtures of experts, 1 embeddings; output head split}}
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x16xf32> {
    %emb = attn.weight "wte.weight" : tensor<16x8xf32>
    %x = attn.embedding %emb, %tokens : tensor<16x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %fc = attn.weight "fc.weight" : tensor<8x16xf32>
    %fcb = attn.weight "fc.bias" : tensor<16xf32>
    %pr = attn.weight "proj.weight" : tensor<16x8xf32>
    %prb = attn.weight "proj.bias" : tensor<8xf32>
    %f = attn.linear %x, %fc bias %fcb {weight_in_out} : tensor<?x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
    %fg = attn.gelu_tanh %f : tensor<?x16xf32>
    %p = attn.linear %fg, %pr bias %prb {weight_in_out} : tensor<?x16xf32>, tensor<16x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
    %x1 = attn.add %x, %p : tensor<?x8xf32>
    %w2 = attn.weight "twice.weight" : tensor<16x8xf32>
    %w3 = attn.weight "back.weight" : tensor<8x16xf32>
    %t = attn.linear %x1, %w2 : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
    %tt = attn.mul %t, %t : tensor<?x16xf32>
    %b = attn.linear %tt, %w3 : tensor<?x16xf32>, tensor<8x16xf32> -> tensor<?x8xf32>
    %logits = attn.linear %b, %emb : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
    return %logits : tensor<?x16xf32>
  }
}

// -----

// MLA as DeepSeek's tensor parallelism splits it: by heads, q_b_proj (or
// q_proj) and kv_b_proj by rows, o_proj by columns, then a sum; the
// down-projections q_a_proj and kv_a_proj_with_mqa and their norms, shared by
// all heads, stay whole on every rank (so does the latent the KV cache holds).
// A vocabulary of 15 does not divide by 2: the embedding splits into shards
// of 8 rows, the last padded with a zero row (the whole size, 15, last in
// attn.shard).

// CHECK-LABEL: func.func @decoder
// CHECK: attn.weight "emb.weight" {attn.shard = array<i64: 0, 2, 2, 15>} : tensor<8x64xf32>
// CHECK: %[[QA:.*]] = attn.weight "q_a.weight" : tensor<16x64xf32>
// CHECK: %[[QN:.*]] = attn.weight "q_norm.weight" : tensor<16xf32>
// CHECK: %[[QB:.*]] = attn.weight "q_b.weight" {attn.shard = array<i64: 0, 2, 2>} : tensor<48x16xf32>
// CHECK: %[[KVA:.*]] = attn.weight "kv_a.weight" : tensor<40x64xf32>
// CHECK: %[[KVN:.*]] = attn.weight "kv_norm.weight" : tensor<32xf32>
// CHECK: %[[KVB:.*]] = attn.weight "kv_b.weight" {attn.shard = array<i64: 0, 2, 2>} : tensor<64x32xf32>
// CHECK: %[[WO:.*]] = attn.weight "o.weight" {attn.shard = array<i64: 1, 2, 2>} : tensor<64x32xf32>
// CHECK: %[[A:.*]] = attn.latent_attention %{{.*}} q(%[[QA]], %[[QN]], %[[QB]] : tensor<16x64xf32>, tensor<16xf32>, tensor<48x16xf32>) kv(%[[KVA]], %[[KVN]], %[[KVB]] : tensor<40x64xf32>, tensor<32xf32>, tensor<64x32xf32>) o(%[[WO]] : tensor<64x32xf32>)
// CHECK-SAME: heads = 2 : i64
// CHECK: attn.all_reduce %[[A]] ranks 2 : tensor<?x64xf32>

// The latent (absorption) pass then sees two heads: kv_b_proj as [2, 32, 32],
// attention over the one shared latent key.
// LATENT-LABEL: func.func @decoder
// LATENT: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [2, 32, 32] : tensor<64x32xf32> into tensor<2x32x32xf32>
// LATENT: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, heads = 2 : i64, kv_heads = 1 : i64
// LATENT: attn.all_reduce

// expected-remark @+1 {{tensor parallel over 2 ranks: split 1 attention and 0 feed-forward blocks (per layer loop body), 0 mixtures of experts, 1 embeddings; output head replicated}}
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x64xf32> {
    %emb = attn.weight "emb.weight" : tensor<15x64xf32>
    // expected-remark @+1 {{vocabulary (15) not divisible by ranks (2): shards of 8 rows, the last padded}}
    %x = attn.embedding %emb, %tokens : tensor<15x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
    %qa = attn.weight "q_a.weight" : tensor<16x64xf32>
    %qn = attn.weight "q_norm.weight" : tensor<16xf32>
    %qb = attn.weight "q_b.weight" : tensor<96x16xf32>
    %kva = attn.weight "kv_a.weight" : tensor<40x64xf32>
    %kvn = attn.weight "kv_norm.weight" : tensor<32xf32>
    %kvb = attn.weight "kv_b.weight" : tensor<128x32xf32>
    %wo = attn.weight "o.weight" : tensor<64x64xf32>
    %y = attn.latent_attention %x q(%qa, %qn, %qb : tensor<16x64xf32>, tensor<16xf32>, tensor<96x16xf32>)
           kv(%kva, %kvn, %kvb : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>)
           o(%wo : tensor<64x64xf32>)
           {heads = 4 : i64, kv_rank = 32 : i64, rope_dim = 8 : i64, nope_dim = 16 : i64,
            v_dim = 16 : i64, q_rank = 16 : i64, causal, rope_theta = 1.0e+04 : f64, rope_style = #attn<rope_style half>}
           : tensor<?x64xf32> -> tensor<?x64xf32>
    %r = attn.add %x, %y : tensor<?x64xf32>
    return %r : tensor<?x64xf32>
  }
}

// -----

// A vocabulary of 13 over 2 ranks (7 rows each, the last one padded) and over
// 4 (4 rows each, the last holding 1 and 3 padding rows): the embedding and
// the head (with its bias) split with padding, the head's logits gathered
// ranks * 7 (or 4) wide and the padding's columns, at the end, sliced off, so
// the decoder still returns 13 logits and a padding row's logit never reaches
// sampling. The last-token entry point keeps the slice after its gather.

// CHECK-LABEL: func.func @decoder
// CHECK: %[[EMB:.*]] = attn.weight "emb.weight" {attn.shard = array<i64: 0, 2, 2, 13>} : tensor<7x8xf32>
// CHECK: %[[E:.*]] = attn.embedding %[[EMB]], %{{.*}} {vocab_parts = 2 : i64} : tensor<7x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
// CHECK: attn.all_reduce %[[E]] ranks 2
// CHECK: %[[WH:.*]] = attn.weight "head.weight" {attn.shard = array<i64: 0, 2, 2, 13>} : tensor<7x8xf32>
// CHECK: %[[BH:.*]] = attn.weight "head.bias" {attn.shard = array<i64: 0, 2, 2, 13>} : tensor<7xf32>
// CHECK: %[[H:.*]] = attn.linear %{{.*}}, %[[WH]] bias %[[BH]] : tensor<?x8xf32>, tensor<7x8xf32>, tensor<7xf32> -> tensor<?x7xf32>
// CHECK: %[[G:.*]] = attn.all_gather %[[H]] ranks 2 : tensor<?x7xf32> -> tensor<?x14xf32>
// CHECK: %[[L:.*]] = attn.slice_last %[[G]] {offset = 0 : i64} : tensor<?x14xf32> -> tensor<?x13xf32>
// CHECK: return %[[L]] : tensor<?x13xf32>

// FOUR: remark: vocabulary (13) not divisible by ranks (4): shards of 4 rows, the last padded
// FOUR: attn.weight "emb.weight" {attn.shard = array<i64: 0, 4, 4, 13>} : tensor<4x8xf32>
// FOUR: attn.weight "head.weight" {attn.shard = array<i64: 0, 4, 4, 13>} : tensor<4x8xf32>
// FOUR: attn.all_gather %{{.*}} ranks 4 : tensor<?x4xf32> -> tensor<?x16xf32>
// FOUR: attn.slice_last %{{.*}} {offset = 0 : i64} : tensor<?x16xf32> -> tensor<?x13xf32>

// LAST-LABEL: func.func @decoder_last
// LAST: %[[H:.*]] = attn.linear %{{.*}} : tensor<1x8xf32>, tensor<7x8xf32>, tensor<7xf32> -> tensor<1x7xf32>
// LAST: %[[G:.*]] = attn.all_gather %[[H]] ranks 2 : tensor<1x7xf32> -> tensor<1x14xf32>
// LAST: %[[L:.*]] = attn.slice_last %[[G]] {offset = 0 : i64} : tensor<1x14xf32> -> tensor<1x13xf32>
// LAST: return %[[L]] : tensor<1x13xf32>

// expected-remark @+1 {{tensor parallel over 2 ranks: split 0 attention and 0 feed-forward blocks (per layer loop body), 0 mixtures of experts, 1 embeddings; output head split}}
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x13xf32> {
    %emb = attn.weight "emb.weight" : tensor<13x8xf32>
    // expected-remark @+1 {{vocabulary (13) not divisible by ranks (2): shards of 7 rows, the last padded}}
    %x = attn.embedding %emb, %tokens : tensor<13x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %n = attn.weight "norm.weight" : tensor<8xf32>
    %h = attn.rms_norm %x, %n {eps = 1.0e-05 : f64} : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
    %wh = attn.weight "head.weight" : tensor<13x8xf32>
    %bh = attn.weight "head.bias" : tensor<13xf32>
    %logits = attn.linear %h, %wh bias %bh : tensor<?x8xf32>, tensor<13x8xf32>, tensor<13xf32> -> tensor<?x13xf32>
    return %logits : tensor<?x13xf32>
  }
}

// -----

// A head tied to an embedding of 13 rows splits with it into the same padded
// shards: one tensor of 7 rows per rank, the logits gathered 14 wide and the
// padding column sliced off.

// CHECK-LABEL: func.func @decoder
// CHECK: %[[EMB:.*]] = attn.weight "wte.weight" {attn.shard = array<i64: 0, 2, 2, 13>} : tensor<7x8xf32>
// CHECK: attn.embedding %[[EMB]], %{{.*}} {vocab_parts = 2 : i64} : tensor<7x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
// CHECK: %[[H:.*]] = attn.linear %{{.*}}, %[[EMB]] : tensor<?x8xf32>, tensor<7x8xf32> -> tensor<?x7xf32>
// CHECK: %[[G:.*]] = attn.all_gather %[[H]] ranks 2 : tensor<?x7xf32> -> tensor<?x14xf32>
// CHECK: %[[L:.*]] = attn.slice_last %[[G]] {offset = 0 : i64} : tensor<?x14xf32> -> tensor<?x13xf32>
// CHECK: return %[[L]] : tensor<?x13xf32>

// expected-remark @+1 {{tensor parallel over 2 ranks: split 0 attention and 0 feed-forward blocks (per layer loop body), 0 mixtures of experts, 1 embeddings; output head split}}
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x13xf32> {
    %emb = attn.weight "wte.weight" : tensor<13x8xf32>
    // expected-remark @+1 {{vocabulary (13) not divisible by ranks (2): shards of 7 rows, the last padded}}
    %x = attn.embedding %emb, %tokens : tensor<13x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %logits = attn.linear %x, %emb : tensor<?x8xf32>, tensor<13x8xf32> -> tensor<?x13xf32>
    return %logits : tensor<?x13xf32>
  }
}

// -----

// A mixture of experts split by experts: 3 experts over 2 ranks, 2 per rank
// (the last rank's second one padding); each stacked expert weight holds 2
// experts per layer ([2 layers x 2, ...], attn.shard [-2, parts, ranks,
// experts]: whole experts, not a cut inside one), the layer's slice starts at
// o / 3 * 2 for the single-process offset o = l * 3; the router stays whole;
// a sum over ranks follows. Over 4 ranks, fewer experts than ranks: replicated.

// CHECK-LABEL: func.func @decoder
// CHECK-DAG: %[[R:.*]] = attn.weight "l." * ".router.weight" layers 2 : tensor<2x3x8xf32>
// CHECK-DAG: %[[G:.*]] = attn.weight "l." * ".e." * ".gate.weight" layers 2 experts 3 {attn.shard = array<i64: -2, 2, 2, 3>} : tensor<4x4x8xf32>
// CHECK-DAG: %[[U:.*]] = attn.weight "l." * ".e." * ".up.weight" layers 2 experts 3 {attn.shard = array<i64: -2, 2, 2, 3>} : tensor<4x4x8xf32>
// CHECK-DAG: %[[D:.*]] = attn.weight "l." * ".e." * ".down.weight" layers 2 experts 3 {attn.shard = array<i64: -2, 2, 2, 3>} : tensor<4x8x4xf32>
// CHECK: scf.for %[[L:[^ ]*]] =
// CHECK: %[[RL:.*]] = tensor.extract_slice %[[R]][%[[L]], 0, 0] [1, 3, 8]
// CHECK: %[[O:.*]] = arith.muli %[[L]], %{{.*}} : index
// CHECK: %[[LAYER:.*]] = arith.divui %[[O]], %[[C3:.*]] : index
// CHECK: %[[OFF:.*]] = arith.muli %[[LAYER]], %[[C2:.*]] : index
// CHECK: %[[GL:.*]] = tensor.extract_slice %[[G]][%[[OFF]], 0, 0] [2, 4, 8] [1, 1, 1] : tensor<4x4x8xf32> to tensor<2x4x8xf32>
// CHECK: %[[M:.*]] = attn.moe %{{.*}} router(%[[RL]] : tensor<3x8xf32>) experts(%[[GL]], %{{.*}}, %{{.*}} : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x8x4xf32>)
// CHECK-SAME: expert_parts = 2 : i64
// CHECK: %[[S:.*]] = attn.all_reduce %[[M]] ranks 2 : tensor<?x8xf32>
// CHECK: attn.add %{{.*}}, %[[S]]

// FOUR: remark: fewer experts (3) than ranks (4): mixture of experts replicated
// FOUR: attn.weight "l." * ".e." * ".gate.weight" layers 2 experts 3 : tensor<6x4x8xf32>

// expected-remark @+1 {{tensor parallel over 2 ranks: split 0 attention and 0 feed-forward blocks (per layer loop body), 1 mixtures of experts, 0 embeddings; output head replicated}}
module {
  func.func @decoder(%x0: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %r = attn.weight "l." * ".router.weight" layers 2 : tensor<2x3x8xf32>
    %g = attn.weight "l." * ".e." * ".gate.weight" layers 2 experts 3 : tensor<6x4x8xf32>
    %u = attn.weight "l." * ".e." * ".up.weight" layers 2 experts 3 : tensor<6x4x8xf32>
    %d = attn.weight "l." * ".e." * ".down.weight" layers 2 experts 3 : tensor<6x8x4xf32>
    %y = scf.for %l = %c0 to %c2 step %c1 iter_args(%x = %x0) -> (tensor<?x8xf32>) {
      %rl = tensor.extract_slice %r[%l, 0, 0] [1, 3, 8] [1, 1, 1] : tensor<2x3x8xf32> to tensor<3x8xf32>
      %o1 = arith.muli %l, %c3 : index
      %gl = tensor.extract_slice %g[%o1, 0, 0] [3, 4, 8] [1, 1, 1] : tensor<6x4x8xf32> to tensor<3x4x8xf32>
      %o2 = arith.muli %l, %c3 : index
      %ul = tensor.extract_slice %u[%o2, 0, 0] [3, 4, 8] [1, 1, 1] : tensor<6x4x8xf32> to tensor<3x4x8xf32>
      %o3 = arith.muli %l, %c3 : index
      %dl = tensor.extract_slice %d[%o3, 0, 0] [3, 8, 4] [1, 1, 1] : tensor<6x8x4xf32> to tensor<3x8x4xf32>
      // expected-remark @+1 {{experts (3) not divisible by ranks (2): 2 per rank, the last padded}}
      %m = attn.moe %x router(%rl : tensor<3x8xf32>) experts(%gl, %ul, %dl : tensor<3x4x8xf32>, tensor<3x4x8xf32>, tensor<3x8x4xf32>)
             {top_k = 2 : i64, topk_method = #attn<moe_topk greedy>, n_group = 1 : i64, topk_group = 1 : i64,
              norm_topk_prob, routed_scaling_factor = 1.0 : f64} : tensor<?x8xf32> -> tensor<?x8xf32>
      %x1 = attn.add %x, %m : tensor<?x8xf32>
      scf.yield %x1 : tensor<?x8xf32>
    }
    return %y : tensor<?x8xf32>
  }
}

// -----

// DeepSeek's mixture of experts: routed experts (attn.moe) plus shared experts
// (an MLP) added. Each is split and is a partial sum on every rank; their sum
// is summed over ranks once (add(all_reduce(a), all_reduce(b)) =>
// all_reduce(add(a, b))): one all-reduce per layer, not two. The residual add
// keeps its operand (x is whole on every rank): no sum moves past it.

// CHECK-LABEL: func.func @decoder
// CHECK-DAG: %[[SG:.*]] = attn.weight "l." * ".s.gate.weight" layers 2 {attn.shard = array<i64: 0, 2, 2>} : tensor<2x8x8xf32>
// CHECK-DAG: %[[SD:.*]] = attn.weight "l." * ".s.down.weight" layers 2 {attn.shard = array<i64: 1, 2, 2>} : tensor<2x8x8xf32>
// CHECK: scf.for
// CHECK: %[[M:.*]] = attn.moe
// CHECK-SAME: expert_parts = 2 : i64
// CHECK-NOT: attn.all_reduce
// CHECK: %[[H:.*]] = attn.mul
// CHECK-NEXT: %[[S:.*]] = attn.linear %[[H]], %{{.*}} : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
// CHECK-NOT: attn.all_reduce
// CHECK: %[[P:.*]] = attn.add %[[M]], %[[S]] : tensor<?x8xf32>
// CHECK-NEXT: %[[R:.*]] = attn.all_reduce %[[P]] ranks 2 : tensor<?x8xf32>
// CHECK-NEXT: attn.add %{{.*}}, %[[R]] : tensor<?x8xf32>
// CHECK-NOT: attn.all_reduce
// CHECK: scf.yield

// expected-remark @+1 {{tensor parallel over 2 ranks: split 0 attention and 1 feed-forward blocks (per layer loop body), 1 mixtures of experts, 0 embeddings; output head replicated; 1 all-reduces saved}}
module {
  func.func @decoder(%x0: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %r = attn.weight "l." * ".router.weight" layers 2 : tensor<2x4x8xf32>
    %g = attn.weight "l." * ".e." * ".gate.weight" layers 2 experts 4 : tensor<8x4x8xf32>
    %u = attn.weight "l." * ".e." * ".up.weight" layers 2 experts 4 : tensor<8x4x8xf32>
    %d = attn.weight "l." * ".e." * ".down.weight" layers 2 experts 4 : tensor<8x8x4xf32>
    %sg = attn.weight "l." * ".s.gate.weight" layers 2 : tensor<2x16x8xf32>
    %su = attn.weight "l." * ".s.up.weight" layers 2 : tensor<2x16x8xf32>
    %sd = attn.weight "l." * ".s.down.weight" layers 2 : tensor<2x8x16xf32>
    %y = scf.for %l = %c0 to %c2 step %c1 iter_args(%x = %x0) -> (tensor<?x8xf32>) {
      %rl = tensor.extract_slice %r[%l, 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<4x8xf32>
      %o = arith.muli %l, %c4 : index
      %gl = tensor.extract_slice %g[%o, 0, 0] [4, 4, 8] [1, 1, 1] : tensor<8x4x8xf32> to tensor<4x4x8xf32>
      %ul = tensor.extract_slice %u[%o, 0, 0] [4, 4, 8] [1, 1, 1] : tensor<8x4x8xf32> to tensor<4x4x8xf32>
      %dl = tensor.extract_slice %d[%o, 0, 0] [4, 8, 4] [1, 1, 1] : tensor<8x8x4xf32> to tensor<4x8x4xf32>
      %m = attn.moe %x router(%rl : tensor<4x8xf32>) experts(%gl, %ul, %dl : tensor<4x4x8xf32>, tensor<4x4x8xf32>, tensor<4x8x4xf32>)
             {top_k = 2 : i64, topk_method = #attn<moe_topk greedy>, n_group = 1 : i64, topk_group = 1 : i64,
              norm_topk_prob, routed_scaling_factor = 1.0 : f64} : tensor<?x8xf32> -> tensor<?x8xf32>
      %sgl = tensor.extract_slice %sg[%l, 0, 0] [1, 16, 8] [1, 1, 1] : tensor<2x16x8xf32> to tensor<16x8xf32>
      %sul = tensor.extract_slice %su[%l, 0, 0] [1, 16, 8] [1, 1, 1] : tensor<2x16x8xf32> to tensor<16x8xf32>
      %sdl = tensor.extract_slice %sd[%l, 0, 0] [1, 8, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<8x16xf32>
      %a = attn.linear %x, %sgl : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
      %as = attn.silu %a : tensor<?x16xf32>
      %b = attn.linear %x, %sul : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
      %h = attn.mul %as, %b : tensor<?x16xf32>
      %s = attn.linear %h, %sdl : tensor<?x16xf32>, tensor<8x16xf32> -> tensor<?x8xf32>
      %ms = attn.add %m, %s : tensor<?x8xf32>
      %x1 = attn.add %x, %ms : tensor<?x8xf32>
      scf.yield %x1 : tensor<?x8xf32>
    }
    return %y : tensor<?x8xf32>
  }
}
