//===- Passes.td - Passes of the attn dialect --------------------*- tablegen -*-===//
//
// Rewrites on attn IR, alphabetical. Each description shows the IR before and
// after.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_TRANSFORMS_PASSES_TD
#define TFC_DIALECT_ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnAttentionMaps : Pass<"tfc-attn-attention-maps", "::mlir::ModuleOp"> {
  let summary = "Add @attention_maps: the model's attention probabilities per layer and head";
  let description = [{
    `tfc --emit-attention` only. Clones the stateless `@decoder` (or, for a
    model whose decoder reads an encoder memory or that has no decoder,
    `@encoder`) into `@attention_maps(tokens) -> tensor<L x H x ? x ?xf32>`:
    for every attn.sdpa of the clone, in program order (site `s` of `S` in a
    layer loop from `lb` at iteration `i` is map `base + (i - lb) * S + s`),
    the softmax probabilities of its queries over its keys
    (attn.attention_probs: causal zeros, windows and grouped K/V heads as the
    attn.sdpa computes them), inserted into one [maps, heads, n, n] tensor
    threaded through the layer loops. The clone returns only the maps, so the
    output head and whatever else no map depends on is dead code. It must
    run before tfc-attn-kv-cache (the clone runs the whole prompt, without a
    cache) and after the passes that rewrite attention (latent, GQA), whose
    attn.sdpa it observes: the probabilities are a function of the model, so
    every pass must keep them. Without the flag the module is unchanged.

    Before:
    ```mlir
    func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x512xf32> {
      %r = scf.for %i = %c0 to %c5 step %c1 iter_args(%x = %x0) -> (tensor<?x64xf32>) {
        ...
        %o = attn.sdpa %q, %k, %v {causal, heads = 8 : i64, kv_heads = 4 : i64, scale = ...} : ...
        ...
      }
      ...
    }
    ```
    After (in addition to `@decoder`):
    ```mlir
    func.func @attention_maps(%tokens: tensor<?xi32>) -> tensor<5x8x?x?xf32> {
      %maps0 = tensor.empty(%n, %n) : tensor<5x8x?x?xf32>
      %r:2 = scf.for %i = %c0 to %c5 step %c1 iter_args(%x = %x0, %maps = %maps0) -> (...) {
        ...
        %p = attn.attention_probs %q, %k {causal, heads = 8 : i64, kv_heads = 4 : i64, scale = ...} : ...
        %maps1 = tensor.insert_slice %p into %maps[%i, 0, 0, 0] [1, 8, %n, %n] [1, 1, 1, 1] : ...
        %o = attn.sdpa %q, %k, %v {...} : ...
        ...
        scf.yield %x1, %maps1 : ...
      }
      return %r#1 : tensor<5x8x?x?xf32>
    }
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"];
}

def AttnBatchDecode : Pass<"tfc-attn-batch-decode", "::mlir::ModuleOp"> {
  let summary = "Add @decoder_batch: one decoder step over the new tokens of several sessions";
  let description = [{
    Decoding reads every weight for a few rows of work; a call that runs the
    new tokens of several sessions reads each weight once for all of them. The
    pass clones the stateful `@decoder` (after `tfc-attn-kv-cache`) into
    `@decoder_batch`: the rows of the call are segments, one per session, given
    by a table `tensor<?x3xi64>` (first row, rows, position); each cache
    argument becomes a pool `tensor<?xf32>` in which a second table
    `tensor<?xCxi64>` locates each segment's own cache buffer. Linear layers,
    norms and activations run over all rows at once; RoPE, learned and
    sinusoidal positions and attention run in a loop over the segments, at each
    segment's position, against its own cache. A decoder with an encoder memory
    or another use of the position gets no `@decoder_batch` (the runtime then
    decodes the sessions one by one).

    Before (`@decoder`, from tfc-attn-kv-cache):
    ```mlir
    %kr = attn.rope %k offset %pos {...} : tensor<4x?x8xf32>
    %kc2 = attn.cache_update %kci[%i], %kr at %pos : tensor<5x4x512x8xf32>, tensor<4x?x8xf32>
    %keys = attn.cache_view %kc2[%i] upto %len : tensor<5x4x512x8xf32> -> tensor<4x?x8xf32>
    %o = attn.sdpa %q, %keys, %values {causal, ...} : ...
    ```
    After (in addition to `@decoder`), `%segs: tensor<?x3xi64>`, `%offs: tensor<?x2xi64>`,
    `%kpool: tensor<?xf32>`:
    ```mlir
    %kr = scf.for %s = %c0 to %nseg step %c1 iter_args(%acc = %empty) -> (tensor<4x?x8xf32>) {
      %part = attn.rope %kseg offset %segpos {...} : tensor<4x?x8xf32>   // rows of segment %s
      %r = tensor.insert_slice %part into %acc[0, %first, 0] [4, %rows, 8] [1, 1, 1] : ...
      scf.yield %r : tensor<4x?x8xf32>
    }
    %o:3 = scf.for %s = %c0 to %nseg step %c1 iter_args(%acc = %empty2, %kp = %kpool, %vp = %vpool) -> (...) {
      %flat = tensor.extract_slice %kp[%off] [16384] [1] : tensor<?xf32> to tensor<16384xf32>
      %layer = tensor.expand_shape %flat [[0, 1, 2, 3]] ... into tensor<1x4x512x8xf32>
      %kc2 = attn.cache_update %layer[%c0], %kseg at %segpos : tensor<1x4x512x8xf32>, tensor<4x?x8xf32>
      %keys = attn.cache_view %kc2[%c0] upto %len : tensor<1x4x512x8xf32> -> tensor<4x?x8xf32>
      ...
      %part = attn.sdpa %qseg, %keys, %values {causal, ...} : ...
      ...
    }
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect"];
}

def AttnDecompose : Pass<"tfc-attn-decompose"> {
  let summary = "Decompose model-level attention into head-level attn ops";
  let description = [{
    The reference lowering of attention: projections become `attn.linear`, heads
    are split out, RoPE is applied, K/V heads are replicated to every query head
    (`attn.repeat_kv`) and latent attention is decompressed into per-head K/V,
    then `attn.sdpa` computes attention over the whole sequence.

    Before:
    ```mlir
    %y = attn.attention %h weights(%wq, %wk, %wv, %wo : ...)
           {heads = 8 : i64, kv_heads = 4 : i64, head_dim = 8 : i64, causal} : tensor<?x64xf32> -> tensor<?x64xf32>
    ```
    After:
    ```mlir
    %q = attn.linear %h, %wq : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
    %k = attn.linear %h, %wk : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
    %v = attn.linear %h, %wv : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
    %qh = attn.split_heads %q : tensor<?x64xf32> -> tensor<8x?x8xf32>
    %kh = attn.split_heads %k : tensor<?x32xf32> -> tensor<4x?x8xf32>
    %vh = attn.split_heads %v : tensor<?x32xf32> -> tensor<4x?x8xf32>
    %kr = attn.repeat_kv %kh : tensor<4x?x8xf32> -> tensor<8x?x8xf32>
    %vr = attn.repeat_kv %vh : tensor<4x?x8xf32> -> tensor<8x?x8xf32>
    %o = attn.sdpa %qh, %kr, %vr {causal, heads = 8 : i64, kv_heads = 8 : i64, scale = 0.35355339059327379 : f64} : ...
    %m = attn.merge_heads %o : tensor<8x?x8xf32> -> tensor<?x64xf32>
    %y = attn.linear %m, %wo : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect"];
}

def AttnGQA : Pass<"tfc-attn-gqa"> {
  let summary = "Share each key/value head among its group of query heads";
  let description = [{
    Grouped-query attention (and MQA, `kv_heads = 1`) lets `heads / kv_heads`
    query heads share one key/value head. The reference lowering replicates K/V
    with `attn.repeat_kv` (and caches the copies); this pass drops the copies and
    lets `attn.sdpa` map query head `h` to key/value head `h / group` itself, so
    the cache holds `kv_heads` heads and every cached element is read once per
    group, not once per query head. MHA (no `attn.repeat_kv`) is left alone.

    Before:
    ```mlir
    %kr = attn.repeat_kv %k : tensor<2x?x8xf32> -> tensor<8x?x8xf32>
    %vr = attn.repeat_kv %v : tensor<2x?x8xf32> -> tensor<8x?x8xf32>
    %o = attn.sdpa %q, %kr, %vr {causal, heads = 8 : i64, kv_heads = 8 : i64, scale = 0.35355339059327379 : f64}
           : tensor<8x?x8xf32>, tensor<8x?x8xf32>, tensor<8x?x8xf32> -> tensor<8x?x8xf32>
    ```
    After:
    ```mlir
    %o = attn.sdpa %q, %k, %v {causal, heads = 8 : i64, kv_heads = 2 : i64, scale = 0.35355339059327379 : f64}
           : tensor<8x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<8x?x8xf32>
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect"];
}

def AttnKVCache : Pass<"tfc-attn-kv-cache", "::mlir::ModuleOp"> {
  let summary = "Turn the stateless decoder into a step function over a KV cache";
  let description = [{
    Under causal self-attention the keys and values of past tokens never change,
    so the decoder only needs to compute those of the new tokens and remember
    them. For every causal `attn.sdpa` of `@decoder` the pass adds a cache
    argument per cached tensor (`[layers, heads, max_seq, d]`, threaded through
    the layer loop and returned updated), writes the new keys/values at the
    session position (`attn.cache_update`), and attends over all positions so far
    (`attn.cache_view`). The function gains a `%pos: index` argument (the
    session position) which offsets RoPE and learned/sinusoidal positions. When
    the values are a slice of the keys (latent attention caches `[c, k_pe]` and
    reads `c` as values), only the keys are cached. Cross-attention keys and
    values depend on the encoder memory alone: they get caches too, filled
    under `scf.if (pos == 0)` (the first step after `tfc_encode` or a reset)
    and only read afterwards. Encoders are left alone.

    Before:
    ```mlir
    func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x64xf32> {
      ...
      %r = scf.for %i = %c0 to %c5 step %c1 iter_args(%x = %x0) -> (tensor<?x64xf32>) {
        %kr = attn.rope %k {style = #attn<rope_style half>, theta = 1.0e+04 : f64} : tensor<4x?x8xf32>
        %o = attn.sdpa %q, %kr, %v {causal, heads = 8 : i64, kv_heads = 4 : i64, scale = 0.35 : f64} : ...
        ...
      }
    }
    ```
    After:
    ```mlir
    func.func @decoder(%tokens: tensor<?xi32>, %pos: index, %kc: tensor<5x4x512x8xf32>, %vc: tensor<5x4x512x8xf32>)
        -> (tensor<?x64xf32>, tensor<5x4x512x8xf32>, tensor<5x4x512x8xf32>) attributes {tfc.stateful} {
      ...
      %r:3 = scf.for %i = %c0 to %c5 step %c1 iter_args(%x = %x0, %kci = %kc, %vci = %vc) -> (...) {
        %kr = attn.rope %k offset %pos {style = #attn<rope_style half>, theta = 1.0e+04 : f64} : tensor<4x?x8xf32>
        %kc2 = attn.cache_update %kci[%i], %kr at %pos : tensor<5x4x512x8xf32>, tensor<4x?x8xf32>
        %keys = attn.cache_view %kc2[%i] upto %len : tensor<5x4x512x8xf32> -> tensor<4x?x8xf32>
        ...
        %o = attn.sdpa %q, %keys, %values {causal, ...} : ...
        scf.yield %y, %kc2, %vc2 : ...
      }
      return %r#0, %r#1, %r#2 : ...
    }
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"kvType", "kv-type", "std::string", /*default=*/"\"f32\"",
           "How self-attention caches store keys and values (tfc --kv-type): f32, bf16 "
           "(rounded to nearest even) or q8_0 (ggml Q8_0 blocks along the head width, "
           "written as i8 bytes; a width that is not a multiple of 32 stays f32). "
           "Narrow caches are written through attn.kv_quant and read through "
           "attn.kv_dequant; cross-attention caches stay f32.">
  ];
}

def AttnLastTokenLogits : Pass<"tfc-attn-last-token-logits", "::mlir::ModuleOp"> {
  let summary = "Add @decoder_last: the decoder computing only the last token's logits";
  let description = [{
    A prefill call that wants only the next token's distribution
    (`tfc_decode(..., all_logits = 0)`) need not project every token onto the
    vocabulary: the output head is often the largest matrix of the model. This
    pass clones `@decoder` into `@decoder_last`, whose final linear layer reads
    only the last row (linear layers act row by row, so that row's logits are
    unchanged). The runtime calls it when all_logits is 0.

    Before:
    ```mlir
    func.func @decoder(%tokens: tensor<?xi32>, ...) -> (tensor<?x512xf32>, ...) {
      ...
      %logits = attn.linear %x, %w : tensor<?x64xf32>, tensor<512x64xf32> -> tensor<?x512xf32>
      return %logits, ... : tensor<?x512xf32>, ...
    }
    ```
    After (in addition to `@decoder`):
    ```mlir
    func.func @decoder_last(%tokens: tensor<?xi32>, ...) -> (tensor<1x512xf32>, ...) {
      ...
      %last = tensor.extract_slice %x[%nm1, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<1x64xf32>
      %logits = attn.linear %last, %w : tensor<1x64xf32>, tensor<512x64xf32> -> tensor<1x512xf32>
      return %logits, ... : tensor<1x512xf32>, ...
    }
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AttnLatent : Pass<"tfc-attn-latent"> {
  let summary = "Multi-head latent attention in the latent space (weight absorption)";
  let description = [{
    DeepSeek-V2's MLA compresses K and V into a `kv_rank` latent `c` plus one
    shared `rope_dim` key per token. Rather than decompressing `c` into per-head
    K and V, absorb the up-projections: with `W_UK[h]` / `W_UV[h]` the key /
    value rows of head `h` in `kv_b_proj`,

        q_nope[h] · k_nope[h]ᵀ = (q_nope[h] · W_UK[h]) · cᵀ = q_lat[h] · cᵀ
        Σ_j a[h,j] v[h,j]      = (Σ_j a[h,j] c_j) · W_UV[h]ᵀ = o_lat[h] · W_UV[h]ᵀ

    so attention runs as multi-query attention in the latent space: one shared
    key `[c, k_pe]` (`kv_rank + rope_dim` wide), the values are its first
    `kv_rank` columns, queries `[q_lat, q_pe]`, scale `1/sqrt(nope_dim +
    rope_dim)`. With the KV-cache pass only `[c, k_pe]` is cached. `W_UK` and
    `W_UV` are views of the `kv_b_proj` weight (no product of weights is formed).

    Before:
    ```mlir
    %y = attn.latent_attention %h q(%wq : tensor<96x64xf32>) kv(%wa, %n, %wb : tensor<40x64xf32>, tensor<32xf32>, tensor<128x32xf32>)
           o(%wo : tensor<64x64xf32>) {causal, heads = 4 : i64, kv_rank = 32 : i64, nope_dim = 16 : i64,
           q_rank = 0 : i64, rope_dim = 8 : i64, v_dim = 16 : i64} : tensor<?x64xf32> -> tensor<?x64xf32>
    ```
    After:
    ```mlir
    %key = attn.concat_last %c1, %kpe : tensor<1x?x32xf32>, tensor<1x?x8xf32> -> tensor<1x?x40xf32>
    %value = attn.slice_last %key {offset = 0 : i64} : tensor<1x?x40xf32> -> tensor<1x?x32xf32>
    %wuk = tensor.extract_slice %wb3[0, 0, 0] [4, 16, 32] [1, 1, 1] : tensor<4x32x32xf32> to tensor<4x16x32xf32>
    %qlat = attn.batch_matmul %qnope, %wuk : tensor<4x?x16xf32>, tensor<4x16x32xf32> -> tensor<4x?x32xf32>
    %q = attn.concat_last %qlat, %qpe : tensor<4x?x32xf32>, tensor<4x?x8xf32> -> tensor<4x?x40xf32>
    %olat = attn.sdpa %q, %key, %value {causal, heads = 4 : i64, kv_heads = 1 : i64, scale = 0.2041 : f64} : ...
    %o = attn.batch_matmul %olat, %wuv {transpose_rhs} : tensor<4x?x32xf32>, tensor<4x16x32xf32> -> tensor<4x?x16xf32>
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect", "::mlir::tensor::TensorDialect"];
}

def AttnMarkWeightInit : Pass<"tfc-attn-mark-weight-init"> {
  let summary = "Record how tfc_model_random fills each weight (ones, zeros or random)";
  let description = [{
    Random weights must still give a sensible model: norm scales start at one
    and biases at zero, as a freshly initialized PyTorch module does. This
    pass sets `init` on the `attn.weight` ops that norms, linear layers and
    attention read as scales or biases (through a layer slice too);
    tfc-lower-entry-points carries it into the weight slots (TFC_INIT_*).
    Weights it does not mark stay random. Runs on the model graph as
    generated, before any attn rewrite.

    Before:
    ```mlir
    %g = attn.weight "norm.weight" : tensor<64xf32>
    %b = attn.weight "up.bias" : tensor<32xf32>
    %h = attn.rms_norm %x, %g {eps = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
    %y = attn.linear %h, %w, %b : ...
    ```
    After:
    ```mlir
    %g = attn.weight "norm.weight" init ones : tensor<64xf32>
    %b = attn.weight "up.bias" init zeros : tensor<32xf32>
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect"];
}

def AttnTensorParallel : Pass<"tfc-attn-tensor-parallel", "::mlir::ModuleOp"> {
  let summary = "Split the model over `ranks` MPI ranks (Megatron-LM tensor parallelism)";
  let description = [{
    Every rank runs the same code on its shard of the weights; the runtime
    gives each rank its part of each sharded weight (`attn.shard` on the
    attn.weight: `[dim, parts, ranks]`, rank r holding part r * parts /
    ranks along `dim` of each tensor; dim -1: rank 0 holds the tensor, the
    others zeros, for the biases added after a sum over ranks;
    `[dim, parts, ranks, whole]` when `parts` does not divide the tensor's
    `whole` size along `dim`: parts of ceil(whole / parts), the last ones
    padded with zeros).

    * Self-attention: query heads split by rank (`q_proj` rows), key/value
      heads too (`k_proj`/`v_proj` rows) when `kv_heads` is a multiple of
      `ranks`, else, when `ranks` is a multiple of `kv_heads`, each rank holds
      the one K/V head its query heads use (replicated over `ranks /
      kv_heads` ranks, reported as a remark); `o_proj` row-parallel (its
      columns split) followed by `attn.all_reduce`.
    * A linear layer whose input is an elementwise combination of linear
      layers (the MLP: `down(silu(gate(x)) * up(x))`, `proj(gelu(fc(x)))`):
      the inner layers column-parallel (rows split), the outer one
      row-parallel followed by `attn.all_reduce`.
    * MLA (attn.latent_attention) by heads as DeepSeek's tensor parallelism
      splits it: `q_proj` or `q_b_proj` and `kv_b_proj` rows, `o_proj`
      columns, then `attn.all_reduce`; `q_a_proj`, `kv_a_proj_with_mqa` and
      their norms (shared by all heads) replicated, so is the latent cache.
    * A token embedding over the vocabulary (Megatron's VocabParallelEmbedding:
      the table's rows, `attn.embedding {vocab_parts = ranks}` giving zeros
      for the tokens of other ranks) followed by `attn.all_reduce`.
    * The decoder's output head split over the vocabulary (rows) followed by
      `attn.all_gather`; a head tied to the embedding splits with it (the same
      rows), one tied to anything else stays whole.
    * A vocabulary V that `ranks` does not divide is split all the same, in
      shards of ceil(V / ranks) rows, the last padded with zero rows: no
      token is a padding row, and the gathered logits' padding columns (at
      the end) are sliced off (`attn.slice_last`), so they never reach
      sampling; a remark says so.
    * A mixture of experts (attn.moe) by experts: rank r holds experts
      [r * El, (r + 1) * El), El = ceil(E / ranks) (the last rank's past E
      are padding no token selects), each expert whole, `expert_parts =
      ranks` on the op, the router replicated (every rank selects the same
      experts), followed by `attn.all_reduce`; shared experts are an MLP and
      split like one.
    * Under a quantized `weight-type`, a row-parallel layer (`o_proj`, an
      MLP's down projection) whose rows one process stores in blocks but
      whose per-rank share of them (width / ranks) is not whole blocks would
      stay f32 on the ranks: its attention or MLP is replicated instead (a
      remark says so), so every rank quantizes as one process does. (K-quant
      rows that are whole Q8_0 blocks per rank are split, stored as Q8_0.)
      Likewise when the weight file already stores the layer's matrix in
      blocks (`stored-blocks`: a GGUF file's quantized tensors, whatever the
      weight type): a rank's share of each row must be whole blocks of the
      file's type (its blocks are used, or dequantized, as one process does;
      a block is never cut), else the attention or MLP is replicated.
    * Attention written out by the model (tdsl `attend`, as a GGUF file
      imports it: q/k/v `attn.linear`, `attn.split_heads`, optional
      `attn.rope` and `attn.repeat_kv`, `attn.sdpa`, `attn.merge_heads`, the
      output `attn.linear`, each value used once) splits as self-attention
      does: q rows by ranks, k/v rows by whole K/V heads, the output layer's
      columns, the heads of every op on the way narrowed, then
      `attn.all_reduce`. An `attn.sdpa` not in that form is replicated, with
      a remark.
    * Everything else (norms, cross-attention) is replicated: each rank
      computes it whole, which is correct but not split. Any other weight with
      several uses is never sharded.

    Before (`ranks=2`):
    ```mlir
    %wg = attn.weight "mlp.gate_proj.weight" : tensor<172x64xf32>
    %wd = attn.weight "mlp.down_proj.weight" : tensor<64x172xf32>
    %g = attn.linear %h, %wg : tensor<?x64xf32>, tensor<172x64xf32> -> tensor<?x172xf32>
    %a = attn.silu %g : tensor<?x172xf32>
    %d = attn.linear %a, %wd : tensor<?x172xf32>, tensor<64x172xf32> -> tensor<?x64xf32>
    ```
    After:
    ```mlir
    %wg = attn.weight "mlp.gate_proj.weight" {attn.shard = array<i64: 0, 2, 2>} : tensor<86x64xf32>
    %wd = attn.weight "mlp.down_proj.weight" {attn.shard = array<i64: 1, 2, 2>} : tensor<64x86xf32>
    %g = attn.linear %h, %wg : tensor<?x64xf32>, tensor<86x64xf32> -> tensor<?x86xf32>
    %a = attn.silu %g : tensor<?x86xf32>
    %p = attn.linear %a, %wd : tensor<?x86xf32>, tensor<64x86xf32> -> tensor<?x64xf32>
    %d = attn.all_reduce %p ranks 2 : tensor<?x64xf32>
    ```
  }];
  let options = [
    Option<"ranks", "ranks", "int64_t", /*default=*/"2", "number of ranks (MPI processes)">,
    Option<"weightType", "weight-type", "std::string", /*default=*/"\"f32\"",
           "as tfc --weight-type: a row-parallel layer whose per-rank rows would not "
           "be whole blocks of the format one process quantizes them in is replicated">,
    ListOption<"storedBlocks", "stored-blocks", "std::string",
               "NAME=TYPE/N: the weight file stores tensor NAME in blocks of N values of "
               "ggml type TYPE (a GGUF file's quantized tensors): a row-parallel layer "
               "whose per-rank rows would cut such blocks is replicated">
  ];
  let dependentDialects = ["::tfc::attn::AttnDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def AttnTestWrongRewrite : Pass<"tfc-attn-test-wrong-rewrite"> {
  let summary = "A deliberately wrong rewrite, for the tests of tfc --verify-passes";
  let description = [{
    Multiplies the epsilon of every rms_norm and layer_norm by 1000: a small,
    plausible-looking change of the function that `tfc --verify-passes` must
    report. It is in tfc's pipeline only when a test asks for it (the hidden
    `tfc --test-wrong-rewrite`); never use it otherwise.

    Before:
    ```mlir
    %h = attn.rms_norm %x, %g {eps = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
    ```
    After:
    ```mlir
    %h = attn.rms_norm %x, %g {eps = 1.0e-02 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
    ```
  }];
  let dependentDialects = ["::tfc::attn::AttnDialect"];
}

#endif // TFC_DIALECT_ATTN_TRANSFORMS_PASSES_TD
