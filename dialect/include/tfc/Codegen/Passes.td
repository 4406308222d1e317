//===- Passes.td - Code generation passes of tfc -----------------*- tablegen -*-===//
//
// Passes on linalg IR (on tensors before bufferization, on memrefs after) that
// shape the code for the CPU, alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CODEGEN_PASSES_TD
#define TFC_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseElementwise : Pass<"tfc-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Fuses elementwise work (residual adds, activations, norms) into its neighbours";
  let description = [{
    On linalg tensors, right before bufferization (no CSE or
    canonicalization in between: they would merge the fills again and drop
    the norm loops' shared outputs), in three steps (each can be turned off
    by its option; `tfc --no-fuse` skips the pass):

    1. `residual`: a residual add of a linear layer's output,
       `add(x, matmul_transpose_b(A, W, fill(0)))` (possibly with the bias
       added in place in between), becomes the matmul starting from `x`:
       the products accumulate into their destination, so the add and its
       pass over memory disappear. Only when every other use of `x` comes
       before the matmul, so that bufferization writes into `x`'s buffer in
       place rather than copying it. A zero fill that CSE shared between
       several products becomes one fill per product, since bufferization
       would otherwise fill one buffer and copy it for the others.
    2. `elementwise`: chains of elementwise `linalg.generic`s (SiLU(gate)·up,
       bias then activation, token plus position embeddings) become one
       generic (upstream elementwise fusion), only for producers with a
       single use, so nothing is computed twice. A bias added in place is
       first read as an input, so the fused op does not store it too; RoPE
       reads the q/k projection through permuted indices instead of the
       transposed copy that split the heads off.
    3. `norm-rows`: a 2-d elementwise generic and the row reductions used
       only by it (RMSNorm's sum of squares, LayerNorm's sum and squared
       deviations) become one `scf.forall` over rows: each row is reduced and
       normalized (scale and shift included) while it is in cache, in one
       parallel region instead of one per op.

    Before:
    ```mlir
    %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
    %p = linalg.matmul_transpose_b ins(%a, %w : tensor<?x32xf32>, tensor<64x32xf32>)
                                   outs(%z : tensor<?x64xf32>) -> tensor<?x64xf32>
    %y = linalg.generic {indexing_maps = [#id, #id, #id], ...}
        ins(%x, %p : tensor<?x64xf32>, tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) {
      ^bb0(%l: f32, %r: f32, %o: f32):
        %s = arith.addf %l, %r : f32
        linalg.yield %s : f32
    } -> tensor<?x64xf32>
    ```
    After:
    ```mlir
    %y = linalg.matmul_transpose_b ins(%a, %w : tensor<?x32xf32>, tensor<64x32xf32>)
                                   outs(%x : tensor<?x64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let options = [
    Option<"residual", "residual", "bool", /*default=*/"true",
           "start linear layers' matmuls from the residual they are added to">,
    Option<"elementwise", "elementwise", "bool", /*default=*/"true",
           "fuse chains of elementwise generics">,
    Option<"normRows", "norm-rows", "bool", /*default=*/"true",
           "one loop over rows for a norm's reductions and normalization">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

def LowerIntrinsicCalls : Pass<"tfc-lower-intrinsic-calls", "::mlir::ModuleOp"> {
  let summary = "Calls of declarations marked tfc.llvm_intrinsic become LLVM intrinsic calls";
  let description = [{
    The kernels of `tfc-vectorize-matmul` call CPU instructions that have no
    MLIR op (vdpbf16ps) through private `func.func` declarations carrying
    `tfc.llvm_intrinsic = "<name>"`, so that buffer deallocation and the
    activation plan see ordinary calls without memrefs. This pass, after
    them, replaces each such `func.call` by `llvm.call_intrinsic "<name>"` and
    erases the declarations.

    Before:
    ```mlir
    func.func private @__tfc_llvm_x86_avx512bf16_dpbf16ps_512(vector<16xf32>, vector<32xbf16>, vector<32xbf16>) -> vector<16xf32>
        attributes {tfc.llvm_intrinsic = "llvm.x86.avx512bf16.dpbf16ps.512"}
    %r = func.call @__tfc_llvm_x86_avx512bf16_dpbf16ps_512(%acc, %a, %b) : ...
    ```
    After:
    ```mlir
    %r = llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"(%acc, %a, %b) : ...
    ```

    Likewise calls of declarations marked `tfc.prefetch` (the weight
    prefetches of the small-batch kernel; `memref.prefetch` declares no memory
    effects either) become `memref.prefetch %m[%i, %j], read, locality<3>, data`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect"];
}

def OutlineKernels : Pass<"tfc-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Moves each kernel's loop body into a private function, one per distinct body";
  let description = [{
    Runs after `tfc-merge-parallel-regions` (or `convert-scf-to-openmp`, or
    on the `scf.parallel` loops of a `--threads=1` build). The body of each
    outermost `omp.loop_nest`, `omp.single` and reduction-free `scf.parallel`
    with at least `min-ops` ops becomes a call of a private function
    `tfc_kernel_N(ivs..., captured...)`: its arguments are the loop's
    induction variables, then the values from above that the body uses;
    constants are cloned into the callee, so its shapes and offsets stay
    static. Structurally equal bodies (`OperationEquivalence`: the same ops,
    attributes, properties and types, each operand the corresponding value;
    not names or locations) share one function: the kernels of equal shapes
    in a layer and across entry points are compiled once.

    The loops and their threads are not touched: an `omp.wsloop` keeps its
    schedule and implicit barrier, an `omp.single` its barrier. The callee
    holds no OpenMP ops (a loop's body cannot: the outermost candidate is
    taken and an omp.parallel inside a kernel body is not produced by tfc).

    Before:
    ```mlir
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %row = memref.subview %x[%i, 0] [1, 64] [1, 1] : ...
        linalg.fill ins(%cst : f32) outs(%row : ...)
        omp.yield
      }
    }
    ```
    After:
    ```mlir
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        func.call @tfc_kernel_0(%i, %x) : (index, memref<?x64xf32>) -> ()
        omp.yield
      }
    }
    func.func private @tfc_kernel_0(%i: index, %x: memref<?x64xf32>) {
      %cst = arith.constant 0.0 : f32
      ...
    }
    ```
  }];
  let options = [
    Option<"minOps", "min-ops", "int64_t", /*default=*/"8",
           "bodies with fewer ops (nested ones counted) stay inline">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::LLVM::LLVMDialect"];
}

def MergeParallelRegions : Pass<"tfc-merge-parallel-regions", "::mlir::func::FuncOp"> {
  let summary = "Puts runs of OpenMP kernel regions, and the code between them, into one omp.parallel";
  let description = [{
    Runs after `convert-scf-to-openmp`, which gives every `scf.parallel` its own
    `omp.parallel`: a decode step of a small model forks and joins the threads
    around every kernel (about 27 times per layer). This pass puts each maximal
    run of such regions in a block, with the code between them, into one
    `omp.parallel`:

    * a kernel's `omp.wsloop` keeps its implicit barrier, which orders the
      kernels as the joins did;
    * ops without memory effects run redundantly on every thread, as do loads
      from entry arguments that the function only loads from (layer offsets);
    * other reads run on every thread, followed by an `omp.barrier` before the
      next write (so no thread writes what another is still reading);
    * side-effecting ops without results (sequential linalg ops, loops of
      stores) run in one `omp.single`, whose implicit barrier publishes them;
      consecutive ones share a single;
    * `scf.for` and `scf.if` around kernels run on every thread: their bounds
      and conditions are computed identically everywhere, so every thread
      meets the same barriers.

    A run ends at anything else: an op with regions other than those, or with
    side effects and results (an allocation), or whose results are used after
    the run (ops without effects whose operands are defined before the run are
    first hoisted out of it). Runs holding a single kernel are left alone.

    Before:
    ```mlir
    omp.parallel { omp.wsloop { ... } omp.terminator }
    linalg.fill ins(%zero : f32) outs(%m : memref<?xf32>)
    omp.parallel { omp.wsloop { ... } omp.terminator }
    ```
    After:
    ```mlir
    omp.parallel {
      omp.wsloop { ... }
      omp.single { linalg.fill ins(%zero : f32) outs(%m : memref<?xf32>) omp.terminator }
      omp.wsloop { ... }
      omp.terminator
    }
    ```
  }];
  let dependentDialects = ["::mlir::omp::OpenMPDialect"];
}

def ParallelizeLinalg : Pass<"tfc-parallelize-linalg", "::mlir::func::FuncOp"> {
  let summary = "Distributes the rows of the remaining linalg ops over threads";
  let description = [{
    Tiles the outermost dimension of every linalg op on memrefs (at least two
    loops, the outermost parallel, not already inside an `scf.parallel`) by one
    into an `scf.parallel` over rows, which `convert-scf-to-openmp` puts on the
    threads. The rest of each row stays a linalg op on a subview, so it lowers
    to a plain inner loop that LLVM's loop vectorizer takes; upstream
    `convert-linalg-to-parallel-loops` would instead put every parallel
    dimension into one collapsed OpenMP loop whose index is divided back into
    coordinates on every iteration.

    Before:
    ```mlir
    linalg.generic {iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<?x64xf32>) outs(%y : memref<?x64xf32>) { ... }
    ```
    After:
    ```mlir
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      %xi = memref.subview %x[%i, 0] [1, 64] [1, 1] : ...
      %yi = memref.subview %y[%i, 0] [1, 64] [1, 1] : ...
      linalg.generic {iterator_types = ["parallel", "parallel"]}
          ins(%xi : memref<1x64xf32, strided<...>>) outs(%yi : ...) { ... }
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def PlanActivations : Pass<"tfc-plan-activations", "::mlir::ModuleOp"> {
  let summary = "A static memory plan: the temporaries of each model function become views of one arena";
  let description = [{
    Runs on bufferized IR, before the deallocation pipeline. In each model
    function (a `func.func` with `attn.entry_args`), every `memref.alloc` in
    sequential code whose sizes follow from the function's arguments becomes
    a `memref.view` of a trailing `memref<?xi8>` arena argument at an offset
    planned by liveness (ops numbered in pre-order; a use inside a loop that
    does not hold the alloc lasts to the loop's end; a buffer allocated in an
    `scf.for` body and yielded gets two ranges used by even and odd
    iterations). Sizes depend on the token count, so offsets are computed at
    the top of the function: greedy by size with gap filling, decided on the
    sizes of a prefill of `estimate-tokens` tokens, each range in the lowest
    gap between the ranges placed before it that are live at the same time;
    a run-time guard (a select) moves a range above all of those when its
    actual size does not fit the gap. No two buffers live at the same time
    overlap, whatever the sizes. A function
    `@<name>_arena_bytes` with the same arguments returns the arena's size,
    which the runtime reserves per session before the call (`attn.entry_args` gains
    the arena, #attn.arg<arena>; `attn.arena_bytes` names the function). Allocs
    inside parallel loops, with layouts or escaping buffers stay heap
    allocations.

    Before:
    ```mlir
    func.func @decoder(%tokens: memref<?xi32>, %out: memref<?x8xf32>) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>]} {
      %n = memref.dim %tokens, %c0 : memref<?xi32>
      %h = memref.alloc(%n) {alignment = 64 : i64} : memref<?x8xf32>
      ...
    }
    ```
    After:
    ```mlir
    func.func @decoder(%tokens: memref<?xi32>, %out: memref<?x8xf32>, %arena: memref<?xi8>)
        attributes {attn.arena_bytes = @decoder_arena_bytes,
                    attn.entry_args = [#attn.arg<tokens>, #attn.arg<output>, #attn.arg<arena>]} {
      %n = memref.dim %tokens, %c0 : memref<?xi32>
      %bytes = ... (%n * 32 + 63) & -64, offsets as maxui of the ranges below ...
      %h = memref.view %arena[%offset][%n] : memref<?xi8> to memref<?x8xf32>
      ...
    }
    func.func @decoder_arena_bytes(%tokens: memref<?xi32>, %out: memref<?x8xf32>, %arena: memref<?xi8>) -> index
    ```
  }];
  let options = [
    Option<"estimateTokens", "estimate-tokens", "int64_t", /*default=*/"512",
           "the prefill (tokens at position 0) the placement optimizes for">,
    Option<"report", "report", "bool", /*default=*/"false",
           "remark per function: buffers planned, the arena and the live peak for estimate-tokens">
  ];
  let statistics = [
    Statistic<"numPlanned", "num-planned", "Allocs replaced by views of the arena">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

def VectorizeMatmul : Pass<"tfc-vectorize-matmul", "::mlir::ModuleOp"> {
  let summary = "Register-tiled vector kernels for the x·Wᵀ products of linear layers";
  let description = [{
    Rewrites each `linalg.matmul_transpose_b` on memrefs (`C[m, n] += Σ_k
    A[m, k] · B[n, k]`, B a weight with a static shape, both rows contiguous)
    (B of f32, bf16 or f16; narrow weights are widened to f32 right after each
    vector load, so they cost half the memory traffic) into explicit vector
    code: an `scf.parallel` over blocks of `block-rows`
    weight rows (the unit of work of a thread; it stays in cache while the
    tokens stream past), and inside it micro-kernels of 4 tokens × 4 weight rows
    whose 16 accumulators of `vector-width` lanes stay in registers for the whole
    reduction (`vector.fma`), reduced horizontally once at the end. Remainders
    use 1-token / 1-row kernels and a zero-padded tail read. Decode (one token)
    streams each weight row exactly once, which is what bounds it by memory
    bandwidth.

    From 2 to 31 tokens (the sessions of a batched decode step) the
    small-batch kernel runs tiles of 3 weight rows × 8 tokens (24
    accumulators; then 4, 2, 1 tokens) with the row tiles outside the token
    tiles, so each weight vector is read once per call, and the reduction
    blocked in chunks outside the row tiles: the chunk of A of all the
    call's tokens (at most 32 KiB) stays in L1 while the weight rows' chunks
    stream past, each kernel prefetching the next row tile's columns;
    between chunks the accumulators wait as vectors in a stack buffer of
    the thread's block (a load and a store each rather than a horizontal
    sum; at most 128 KiB, else the reduction is not split),
    so every output is summed in the order of the one-token kernel, bit for
    bit, and the last chunk sums them into C. With `bf16-dot` it computes vdpbf16ps's sums
    with FMAs (odd products, then even ones: the same bits as the one-token
    kernel, at the FMA's rate) on A rounded to bf16 and split into even and
    odd columns once per call.

    With 32 tokens or more (prefill; only for 16-lane vectors) the product is
    computed instead as a packed GEMM: A is transposed once into zero-padded
    panels `[k][32 tokens]`, threads take blocks of 12 weight rows, and a
    micro-kernel broadcasts each weight element against the two token vectors
    of a panel, 24 accumulators in registers for the whole reduction and no
    horizontal sums; masked gathers and scatters add the result into C. This is
    compute-bound where the streaming kernels are bound by cache bandwidth.
    Its packed panels (and the bf16-rounded activations below) are plain
    `memref.alloc`s without deallocation: the pass runs before
    `tfc-plan-activations`, which places them in the arena, and the
    deallocation pipeline frees whatever stays on the heap.

    With `bf16-dot` (set by tfc when the target has AVX512_BF16), the
    streaming kernels of bf16 weights round the activations to bf16 once per
    product and multiply-accumulate pairs of bf16 with vdpbf16ps
    (`llvm.x86.avx512bf16.dpbf16ps.512`) into f32 accumulators: 32 weights per
    instruction and no widening, so decode stays bound by memory bandwidth.
    The instruction is a call of a private declaration marked
    `tfc.llvm_intrinsic` until `tfc-lower-intrinsic-calls`.

    The packed GEMM of bf16 (or f16) weights widens each thread's block of
    weight rows to f32 once, into a scratch buffer of the block (allocated
    inside the parallel loop, so per thread), and runs the f32 micro-kernel on
    it: the widening is paid once per block instead of once per panel, and the
    kernel's weight broadcasts stay single loads. With `bf16-gemm-dot` as well,
    it runs on vdpbf16ps instead: A packed to bf16 panels `[k/2][32 tokens][2]`
    (k interleaved by two, an odd k's last pair zero-padded), each weight pair
    broadcast as 32 bits against 16 tokens' pairs. That doubles the work per
    instruction but only wins where vdpbf16ps retires at more than half the
    FMA rate; on this machine's Xeon it retires at a quarter (bench/machine.c).
    Thread blocks hold several 12-row micro-tiles (about 512 KiB of the
    weights the kernel reads, at least ~8 blocks), looping over the panels
    outside the tiles: each panel comes from L3 once per block and serves all
    its tiles from L2.

    Q8_0 weights (the generic marked `tfc.q8_0_matmul`, see
    tfc/Utils/QuantizedMatmul.h) get the int8 kernel when `int8-dot` is `vnni`,
    `avxvnni` or `avx2`: each call first quantizes the activations per 32-block as ggml
    quantizes Q8_0 activations (amax = max |x|, scale d = f16(amax / 127),
    q = roundeven(x · 127 / amax), 0 for an all-zero block) into an int8
    buffer and a scale buffer (planned in the arena like the other scratch);
    then, over blocks of `block-rows` weight rows in parallel, tiles of up to
    4 tokens × 4 rows read each weight block (34 bytes) once per tile, take
    the 32-lane integer dot product of a token's block with a row's block
    (vpdpbusd on |q_a| and q_w with the sign of q_a, vpsignb, for `vnni` and
    `avxvnni`;
    vpmaddubsw then vpmaddwd for `avx2`: exact either way, |q| <= 127), convert its eight i32
    partial sums to f32 and multiply-add them with d_a · d_w into 8-lane
    accumulators, reduced horizontally once per output. One token at a time
    (a decode step, and the tokens left over by the 4-token tiles) runs
    against 16 rows per tile with AVX-512 (8 with AVX2), row t of each of 16
    (8) equal parts of the row block, each step prefetching each of its rows
    16 blocks ahead (past a row's end, into the next row: each part is one
    sequential stream): many far-apart row streams with prefetches keep
    enough misses in flight for the core to read at the memory's pace while
    it computes.
    With 512-bit vectors and `vnni` (not `avxvnni`) the 16-row one-token tiles (not the
    remainders of 4 and 1 rows) take two blocks per 512-bit vpdpbusd. The two blocks' 68 bytes of a row are one 64-byte and
    one 4-byte load through a flat view of the row (`memref.collapse_shape`
    of the blocks), their 64 values one permutation of those, made unsigned
    (+ 128, a sign flip) against the token's two blocks of q_a, the i32 sums
    starting at -128 · the lane sums of q_a (computed with the activations)
    so that the offset cancels; the 16 sums are scaled by the token's block
    scales in their lanes (stored widened once per call) and the row's two
    f16 scales (words 0 and 17 of the same load, converted together) into
    one 16-lane accumulator per row. No vpsignb, which has no 512-bit form;
    no load-time repacking: the kernels read the GGUF blocks as they are.
    With `none` the generic
    is left alone and becomes scalar loops of the exact dequantized arithmetic.

    Q4_0 weights (`tfc.q4_0_matmul`) get the same kernel with the same
    activations: a block's 16 bytes (18 with the scale) are unpacked into 32
    nibbles in element order (low nibbles, then high ones; values 0..15, the
    weight + 8), the unsigned operand, and q_a is the signed one (no vpsignb).
    The -8 is folded into the integer sums' start value, -8 · Σ of each i32
    lane's four q_a bytes, computed per block with the activations (their dot
    product with ones). Its 512-bit one-token tiles take four blocks (72
    bytes) per step: one 64-byte load and one of the last 8 bytes, a word
    permutation to the four blocks' 16 value bytes, whose low nibbles
    (elements 0-15 of each block) and high nibbles (16-31) are two unsigned
    operands against the token's values split the same way once per call;
    i32 lanes 4k..4k+3 hold block k, whose four f16 scales come from the same
    load (one word permutation, one conversion). Blocks past the last four
    take the two-block step.

    Q6_K weights (`tfc.q6_k_matmul`, 256-element super-blocks) take their
    activations quantized per 256 as ggml's quantize_row_q8_K does (amax, q =
    roundeven(x · 127 / amax), d = 1 / (127 / amax) in f32) with the sums of
    each 16-lane group in i16. Per super-block and tile, each row's 2 × 32
    bytes of low bits and 32 of high bits are unpacked into eight 32-lane
    vectors of 6-bit values (q + 32); each chunk's products with q_a are
    summed in pairs to i16 (vpmaddubsw), and vpdpwssd (vpmaddwd + add on
    `avx2`) multiplies the pairs by their two sub-blocks' scales (words 0-7
    and 8-15, a shuffle of the 16 sign-extended scales) into the i32 sums,
    which start at (-32 · the scales) against the group sums (the + 32
    cancelled), and are converted and scaled by d_a · d_w once per
    super-block. With `vnni` and 16-lane vectors, one token (decode) takes
    tiles of 8 rows on 512-bit vectors, each row prefetched two super-blocks
    ahead: 64 values per vpmaddubsw, the 32 bytes of high bits of a half in
    both 256-bit halves of one vector, shifted into bits 4-5 per 16-bit word,
    the four sub-blocks' scales of a vector as words by one permutation of
    the row's 16 sign-extended scales.

    Q4_K and Q5_K weights (`tfc.q4_k_matmul`, `tfc.q5_k_matmul`) take the
    same per-256 activations with, instead of start values, each 32-lane
    sub-block's sum of q_a. Each sub-block's dot product of the unsigned
    values (Q4_K's nibbles; Q5_K's nibbles with the sub-block's bit of the 32
    fifth-bit bytes OR-ed in as 16, values 0..31) with q_a is summed in pairs
    to i16 (vpmaddubsw), the pairs multiplied by its 6-bit scale
    (get_scale_min_k4 on the 12 packed bytes, as one 8-lane vector, broadcast
    to 16 words) and summed into i32 (vpdpwssd; vpmaddwd + add on `avx2`);
    the f32 accumulators take it times d_a · d and the eight products min_s ·
    Σ q_a of the sub-blocks times -d_a · dmin. With `vnni` and 16-lane
    vectors, one token (decode) takes tiles of 16 rows on 512-bit vectors,
    each row prefetched two super-blocks ahead: per super-block the token's
    values as four vectors of two sub-blocks each (in the order of a row's
    64-byte nibble loads), per four rows the 16-byte headers in one vector
    whose scales and mins are unpacked together by in-lane byte shuffles, the
    mins of the four against the token's sums in one vpdpwssd; per row four
    vpmaddubsw + vpdpwssd against the scales as words (an in-lane byte
    shuffle each), the four rows' i32 sums added down to four lanes a row
    and scaled by d_a · d into one f32 accumulator per four rows.

    From `gemm-min-tokens` on, with `vnni` (not `avxvnni`) and 16-lane vectors, every format
    runs the int8 prefill GEMM on 512-bit vpdpbusd (tiles of 6 weight rows ×
    32 tokens packed + 128, one tile function per module and shape); Q4_0
    and the K-quants are first decoded per thread block into signed bytes
    (K-quants: per sub-block, with f32 scales d · sc and, for Q4_K and Q5_K,
    -dmin · min, whose terms add one FMA per sub-block against the packed
    activation sums).

    Before:
    ```mlir
    linalg.matmul_transpose_b ins(%x, %w : memref<?x64xf32>, memref<172x64xf32>) outs(%y : memref<?x172xf32>)
    ```
    After (sketch):
    ```mlir
    scf.parallel (%blk) = (%c0) to (%c3) step (%c1) {
      scf.for %m = %c0 to %m4 step %c4 {
        scf.for %n = %n0 to %nmain step %c4 {
          %acc:16 = scf.for %k = %c0 to %c64 step %c16 iter_args(...) -> (vector<16xf32>, ...) {
            %a0 = vector.load %x[%m, %k] : memref<?x64xf32>, vector<16xf32>
            %b0 = vector.load %w[%n, %k] : memref<172x64xf32>, vector<16xf32>
            %f00 = vector.fma %a0, %b0, %acc00 : vector<16xf32>
            ...
          }
          %s00 = vector.reduction <add>, %acc#0 : vector<16xf32> into f32
          ...
        }
      }
    }
    ```
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector (16 for AVX-512, 8 for AVX2)">,
    Option<"blockRows", "block-rows", "int64_t", /*default=*/"64",
           "weight rows per parallel block">,
    Option<"bf16Dot", "bf16-dot", "bool", /*default=*/"false",
           "bf16 weights: round the activations to bf16 and use vdpbf16ps "
           "(AVX512_BF16) in the streaming kernels">,
    Option<"bf16GemmDot", "bf16-gemm-dot", "bool", /*default=*/"false",
           "with bf16-dot, the prefill GEMM of bf16 weights on vdpbf16ps too "
           "(bf16 panels of A) instead of the FMA GEMM on weights widened per block">,
    Option<"int8Dot", "int8-dot", "std::string", /*default=*/"\"none\"",
           "Q8_0/Q4_0/K-quant products: vnni (vpdpbusd, 512-bit too: AVX512-VNNI), avxvnni "
           "(256-bit vpdpbusd only: AVX-VNNI), avx2 (vpmaddubsw + vpmaddwd) or none (left to "
           "scalar loops)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // TFC_CODEGEN_PASSES_TD
