//===- Passes.td - Conversions out of the attn dialect -----------*- tablegen -*-===//
//
// Lowerings from attn to upstream dialects, alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERSION_PASSES_TD
#define TFC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnSDPAStrategy : Pass<"tfc-attn-sdpa-strategy"> {
  let summary = "Choose the query-block and key-tile sizes of each attn.sdpa";
  let description = [{
    The first stage of attention's lowering (then the tiling,
    `tfc-attn-tile-sdpa`, and the decomposition of each tile into the
    online-softmax math, both also run by `tfc-convert-attn-to-linalg`):
    records on every attn.sdpa without one a `tiling` attribute, read by the
    tiling. `query-rows` counts the rows of a block after stacking the query
    heads of each key/value head; `key-tile` the keys per tile of such a
    block (a block of fewer rows, decode's one query per head, takes
    proportionally more). An attn.sdpa without `tiling` is tiled 256 x 256.

    Before:
    ```mlir
    %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, causal, scale = 0.35 : f64} : ...
    ```
    After (`key-tile=64 query-rows=32`):
    ```mlir
    %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, causal, scale = 0.35 : f64,
                               tiling = #attn.sdpa_tiling<query_rows = 32, key_tile = 64>} : ...
    ```
  }];
  let options = [
    Option<"keyTile", "key-tile", "int64_t", /*default=*/"256",
           "Keys per tile of attn.sdpa's online softmax (for a block of query-rows rows)">,
    Option<"queryRows", "query-rows", "int64_t", /*default=*/"256",
           "Query rows (queries x query heads per key/value head) per block of attn.sdpa">
  ];
}

def AttnTileSDPA : Pass<"tfc-attn-tile-sdpa"> {
  let summary = "Tile attn.sdpa into blocks of queries x tiles of keys";
  let description = [{
    The second stage of attention's lowering, alone (`tfc-convert-attn-to-linalg`
    runs it too): each attn.sdpa becomes an `scf.for` over blocks of queries
    (the query heads of each key/value head stacked query-major, scaled) holding
    an `scf.for` over tiles of keys that carries the running row max, row sum
    and output accumulator, with one `attn.online_attention` per tile; each
    block's result is normalized into its queries of the output. Sizes come
    from the op's `tiling` (default 256 x 256): every block has the same number
    of queries (the last overlaps the one before), causal blocks stop at their
    last visible key.

    Before:
    ```mlir
    %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, causal, scale = 0.35 : f64,
                               tiling = #attn.sdpa_tiling<query_rows = 32, key_tile = 64>}
           : tensor<4x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x16xf32> -> tensor<4x?x16xf32>
    ```
    After:
    ```mlir
    %blocks = scf.for %i = %c0 to %n step %c16 iter_args(%out = %init) -> (tensor<2x2x?x16xf32>) {
      ...
      %r:3 = scf.for %j0 = %c0 to %kend step %kstep iter_args(%m = %m0, %l = %l0, %acc = %acc0) -> (...) {
        %kt = tensor.extract_slice %k[0, %j0, 0] [2, %t, 8] [1, 1, 1] : tensor<2x?x8xf32> to tensor<2x?x8xf32>
        %vt = tensor.extract_slice %v[0, %j0, 0] [2, %t, 16] [1, 1, 1] : tensor<2x?x16xf32> to tensor<2x?x16xf32>
        %m2, %l2, %acc2 = attn.online_attention %qb, %kt, %vt, %m, %l, %acc rows %rows
            causal(%i0, %j0, %shift) {group = 2 : i64} : ...
        scf.yield %m2, %l2, %acc2 : ...
      }
      ...
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::mlir::scf::SCFDialect"
  ];
}

def ConvertAttnToLinalg : Pass<"tfc-convert-attn-to-linalg"> {
  let summary = "Lower head-level attn ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Every attn op except `attn.weight` (bound to function arguments later by
    `tfc-lower-entry-points`) becomes destination-style linalg on tensors; the
    token count stays dynamic (`tensor.dim` + `tensor.empty`). Model-level
    attention must have been decomposed first (`tfc-attn-decompose`).

    Before:
    ```mlir
    %y = attn.linear %x, %w : tensor<?x64xf32>, tensor<172x64xf32> -> tensor<?x172xf32>
    ```
    After:
    ```mlir
    %c0 = arith.constant 0 : index
    %n = tensor.dim %x, %c0 : tensor<?x64xf32>
    %e = tensor.empty(%n) : tensor<?x172xf32>
    %zero = arith.constant 0.0 : f32
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?x172xf32>) -> tensor<?x172xf32>
    %y = linalg.matmul_transpose_b ins(%x, %w : tensor<?x64xf32>, tensor<172x64xf32>)
           outs(%init : tensor<?x172xf32>) -> tensor<?x172xf32>
    ```

    `attn.sdpa` is computed flash-style, in the sizes its `tiling` records
    (`tfc-attn-sdpa-strategy`; 256 x 256 without): tiled as
    `tfc-attn-tile-sdpa` does, then each `attn.online_attention` decomposed
    into the online-softmax math, so the largest score tensor is `[kv_heads,
    rows, keys]` with rows x keys <= `query_rows` x `key_tile` whatever the
    context. The per-tile products are `linalg.batch_matmul_transpose_b`
    (scores) and `linalg.batch_matmul` (accumulating into the output), the
    shapes `tfc-vectorize-matmul` takes.

    `attn.moe` routes densely (router matmul, softmax, top-k by rank) and
    then computes each expert on the tokens that selected it (rows gathered
    by a permutation computed at run time; experts no token selected are
    skipped); with `moe-dense-reference`, every expert on every token,
    weighted by the routing weights (the reference the other is tested
    against).
  }];
  let options = [
    Option<"moeDenseReference", "moe-dense-reference", "bool", /*default=*/"false",
           "compute every expert of a mixture of experts on every token (the reference lowering)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def LowerEntryPoints : Pass<"tfc-lower-entry-points", "::mlir::ModuleOp"> {
  let summary = "Turn the model functions into the runtime's calling convention";
  let description = [{
    Rewrites each public model function (`decoder`, `encoder`) into the form the
    runtime calls (runtime/include/tfc/gen_abi.h): every `attn.weight` becomes a
    memref argument (one per distinct name, in first-use order), the token ids
    and the cross-attention memory become memref arguments, and the result is
    written into a trailing output memref argument. After `tfc-attn-kv-cache`,
    the `%pos: index` argument stays a scalar and each KV cache (a rank-4
    argument, returned updated) becomes a writable memref that the function
    updates in place. The argument kinds are recorded in the function's
    `attn.entry_args` (#attn.arg, and its output width in `attn.out_width`),
    the weight buffers and caches in the module's `attn.weight_slots`
    (#attn.weight_slot) and `attn.kv_caches` (#attn.kv_cache). They stay on
    the IR down to the LLVM dialect, where the emitter reads them to write the
    model descriptor.

    A layer-stacked weight (`layers N`, sliced per layer in the layer
    loop) is passed as a 1-d base buffer and a table of where each layer starts
    in it (elements, i64): each layer slice becomes a view at `table[l]` with the
    layer's static sizes and strides (`memref.reinterpret_cast`), so the layers
    need not lie side by side and the runtime can pass a safetensors file's
    tensors in place.

    ```mlir
    %w = attn.weight "l." * ".weight" layers 2 : tensor<2x4x4xf32>
    %s = tensor.extract_slice %w[%i, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<2x4x4xf32> to tensor<4x4xf32>
    ```
    becomes, with arguments `%base: memref<?xf32>` and `%table: memref<2xi64>`:
    ```mlir
    %o = memref.load %table[%i] : memref<2xi64>
    %oi = arith.index_cast %o : i64 to index
    %v = memref.reinterpret_cast %base to offset: [%oi], sizes: [4, 4], strides: [4, 1]
        : memref<?xf32> to memref<4x4xf32, strided<[4, 1], offset: ?>>
    %s = bufferization.to_tensor %v restrict : memref<4x4xf32, strided<[4, 1], offset: ?>>
    ```

    Before:
    ```mlir
    func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x512xf32> {
      %w = attn.weight "model.embed_tokens.weight" : tensor<512x64xf32>
      ...
      return %logits : tensor<?x512xf32>
    }
    ```
    After:
    ```mlir
    func.func @decoder(%tokens: memref<?xi32>, %w: memref<512x64xf32>, %out: memref<?x512xf32>)
        attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<weight[0]>, #attn.arg<output>],
                    attn.out_width = 512 : i64, llvm.emit_c_interface} {
      %t = bufferization.to_tensor %tokens restrict : memref<?xi32>
      %wt = bufferization.to_tensor %w restrict : memref<512x64xf32>
      ...
      bufferization.materialize_in_destination %logits in restrict writable %out : (tensor<?x512xf32>, memref<?x512xf32>) -> ()
      return
    }
    ```
  }];
  let options = [
    Option<"weightType", "weight-type", "std::string", /*default=*/"\"f32\"",
           "Element type of the weights of linear layers: f32, bf16 or f16 (the "
           "matmuls widen them to f32 on the fly), or q8_0 / q4_0 / q6_k / q4_k / q5_k "
           "(ggml blocks, for rows a multiple of 32 wide, 256 for the K-quants, "
           "which fall back to q8_0; the product becomes a linalg.generic marked "
           "tfc.<type>_matmul); q4_k_m: llama.cpp's Q4_K_M mixture, per "
           "weight and, for the value and down projections, per layer (the "
           "product then branches on the layer's type); other weights stay f32">,
    ListOption<"weightTypes", "weight-types", "std::string",
               "The type each weight tensor has in the file it loads from, as "
               "`tensor=type` (a GGUF file's tensors whose ggml type has kernels, "
               "by their own names; an expert's name without its [j]): a linear "
               "layer's slot takes its tensors' types, used in place (a stacked "
               "slot whose layers disagree takes them per layer when they are "
               "K-quants, else the type most of its layers have); weights not "
               "listed take weight-type">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

#endif // TFC_CONVERSION_PASSES_TD
