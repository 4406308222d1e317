// RUN: tfc-opt %s -tfc-attn-tensor-parallel="ranks=4 weight-type=q8_0" -verify-diagnostics | FileCheck %s --check-prefix=Q8 --enable-var-scope
// RUN: tfc-opt %s -tfc-attn-tensor-parallel="ranks=4 weight-type=q4_k" 2>&1 | FileCheck %s --check-prefix=Q4K --enable-var-scope
// RUN: tfc-opt %s -tfc-attn-tensor-parallel="ranks=4 weight-type=f32" 2>&1 | FileCheck %s --check-prefix=F32 --enable-var-scope
// RUN: tfc-opt %s -tfc-attn-tensor-parallel="ranks=2 weight-type=q8_0" 2>&1 | FileCheck %s --check-prefix=TWO --enable-var-scope
// RUN: tfc-opt %s -tfc-attn-tensor-parallel="ranks=2 weight-type=f32 stored-blocks=l.1.down.weight=Q4_K/256" 2>&1 | FileCheck %s --check-prefix=FILE --enable-var-scope
// RUN: tfc-opt %s -tfc-attn-tensor-parallel="ranks=2 stored-blocks=l.0.o.weight=Q8_0/32,l.1.down.weight=Q8_0/32" 2>&1 | FileCheck %s --check-prefix=FILE32 --enable-var-scope
// RUN: not tfc-opt %s -tfc-attn-tensor-parallel="ranks=2 stored-blocks=l.0.o.weight" 2>&1 | FileCheck %s --check-prefix=BAD

// Under a quantized weight type, every rank must quantize a weight as one
// process does (tfc-lower-entry-points stores a linear layer's rows in ggml
// blocks only when they are whole blocks; else f32). A row-parallel layer cuts
// its rows: o_proj's 64 values (two Q8_0 blocks in one process) would be 16
// per rank over 4 ranks, not a block, and stay f32 there, so the attention is
// replicated; down_proj's 128 values are 32 per rank, one whole block, so the
// MLP splits. Under q4_k the 64 and 128 values are not Q4_K super-blocks (256)
// but whole Q8_0 blocks in one process (its fallback): the same decisions.
// Over 2 ranks, o_proj's 32 values per rank are a block: everything splits.
// Under f32 nothing is in blocks: everything splits.

// Q8: attn.weight "l." * ".q.weight" layers 2 : tensor<2x64x64xf32>
// Q8: attn.weight "l." * ".o.weight" layers 2 : tensor<2x64x64xf32>
// Q8: attn.weight "l." * ".gate.weight" layers 2 {attn.shard = array<i64: 0, 4, 4>} : tensor<2x32x64xf32>
// Q8: attn.weight "l." * ".down.weight" layers 2 {attn.shard = array<i64: 1, 4, 4>} : tensor<2x64x32xf32>
// Q8: attn.attention
// Q8-SAME: heads = 4 : i64
// Q8-NOT: attn.all_reduce
// Q8: attn.linear
// Q8: attn.all_reduce

// Q4K: remark: attention: the output projection's rows, 64 values in q8_0 blocks of 32 in one process, would be 16 per rank, not whole blocks: attention replicated
// Q4K: remark: tensor parallel over 4 ranks: split 0 attention and 1 feed-forward blocks

// F32: remark: tensor parallel over 4 ranks: split 1 attention and 1 feed-forward blocks
// TWO: remark: tensor parallel over 2 ranks: split 1 attention and 1 feed-forward blocks

// The weight file's own blocks (stored-blocks, a GGUF file's quantized
// tensors), whatever the weight type: one layer's down matrix stored in Q4_K
// super-blocks of 256 would be cut into 64 values per rank, so the MLP is
// replicated (under f32 too: the file's blocks are dequantized whole); Q8_0
// blocks of 32 are whole per rank (32 of o's 64, 64 of down's 128): all split.
// FILE: remark: feed-forward block: the output projection's rows, 128 values in Q4_K blocks of 256 in the weight file ('l.1.down.weight'), would be 64 per rank, not whole blocks: feed-forward block replicated
// FILE: remark: tensor parallel over 2 ranks: split 1 attention and 0 feed-forward blocks
// FILE: attn.weight "l." * ".down.weight" layers 2 : tensor<2x64x128xf32>
// FILE32: remark: tensor parallel over 2 ranks: split 1 attention and 1 feed-forward blocks
// BAD: error: stored-blocks: 'l.0.o.weight' is not NAME=TYPE/N (N a positive block size)

// expected-remark @+1 {{tensor parallel over 4 ranks: split 0 attention and 1 feed-forward blocks (per layer loop body), 0 mixtures of experts, 0 embeddings; output head replicated; 0 all-reduces saved}}
module {
  func.func @decoder(%x0: tensor<?x64xf32>) -> tensor<?x64xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %wq = attn.weight "l." * ".q.weight" layers 2 : tensor<2x64x64xf32>
    %wk = attn.weight "l." * ".k.weight" layers 2 : tensor<2x64x64xf32>
    %wv = attn.weight "l." * ".v.weight" layers 2 : tensor<2x64x64xf32>
    %wo = attn.weight "l." * ".o.weight" layers 2 : tensor<2x64x64xf32>
    %wg = attn.weight "l." * ".gate.weight" layers 2 : tensor<2x128x64xf32>
    %wd = attn.weight "l." * ".down.weight" layers 2 : tensor<2x64x128xf32>
    %y = scf.for %l = %c0 to %c2 step %c1 iter_args(%x = %x0) -> (tensor<?x64xf32>) {
      %q = tensor.extract_slice %wq[%l, 0, 0] [1, 64, 64] [1, 1, 1] : tensor<2x64x64xf32> to tensor<64x64xf32>
      %k = tensor.extract_slice %wk[%l, 0, 0] [1, 64, 64] [1, 1, 1] : tensor<2x64x64xf32> to tensor<64x64xf32>
      %v = tensor.extract_slice %wv[%l, 0, 0] [1, 64, 64] [1, 1, 1] : tensor<2x64x64xf32> to tensor<64x64xf32>
      %o = tensor.extract_slice %wo[%l, 0, 0] [1, 64, 64] [1, 1, 1] : tensor<2x64x64xf32> to tensor<64x64xf32>
      // expected-remark @+1 {{attention: the output projection's rows, 64 values in q8_0 blocks of 32 in one process, would be 16 per rank, not whole blocks: attention replicated}}
      %a = attn.attention %x weights(%q, %k, %v, %o : tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>)
             {causal, heads = 4 : i64, kv_heads = 4 : i64, head_dim = 16 : i64, rope_theta = 1.0e+04 : f64}
             : tensor<?x64xf32> -> tensor<?x64xf32>
      %x1 = attn.add %x, %a : tensor<?x64xf32>
      %g = tensor.extract_slice %wg[%l, 0, 0] [1, 128, 64] [1, 1, 1] : tensor<2x128x64xf32> to tensor<128x64xf32>
      %d = tensor.extract_slice %wd[%l, 0, 0] [1, 64, 128] [1, 1, 1] : tensor<2x64x128xf32> to tensor<64x128xf32>
      %gx = attn.linear %x1, %g : tensor<?x64xf32>, tensor<128x64xf32> -> tensor<?x128xf32>
      %gs = attn.silu %gx : tensor<?x128xf32>
      %dx = attn.linear %gs, %d : tensor<?x128xf32>, tensor<64x128xf32> -> tensor<?x64xf32>
      %x2 = attn.add %x1, %dx : tensor<?x64xf32>
      scf.yield %x2 : tensor<?x64xf32>
    }
    return %y : tensor<?x64xf32>
  }
}
