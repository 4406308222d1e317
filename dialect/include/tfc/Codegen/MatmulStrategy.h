//===- MatmulStrategy.h - Tiles of the matmul kernels ------------*- C++ -*-===//
//
// The register tiles and thresholds of tfc-vectorize-matmul's kernels, chosen
// once from the vector width and the bf16 options, so that the emitter reads
// a decision rather than hard-coding one: a new target (more registers, AMX,
// another dot-product instruction) is a new choice here, not edits scattered
// through the loop nests. Numbers measured in shared/design/CODEGEN-NOTES.md.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CODEGEN_MATMULSTRATEGY_H
#define TFC_CODEGEN_MATMULSTRATEGY_H

#include <cstdint>

namespace tfc {

struct MatmulStrategy {
  /// f32 lanes of a vector register (16 for AVX-512, 8 for AVX2).
  int64_t vectorWidth = 16;

  /// Tokens x weight rows of the streaming micro-kernel (decode and short
  /// chunks: each weight row is read once, 16 accumulators).
  int64_t tileTokens = 4, tileRows = 4;

  /// From this many tokens up to gemmMinTokens, the small-batch kernel: tiles
  /// of smallTileRows weight rows, over which all the call's tokens pass in
  /// tiles of smallTileTokens (then halving: 4, 2, 1), so each weight row is
  /// read from memory once per call (a batched decode step of several
  /// sessions). 8 tokens x 3 rows: 11 vector loads per 24 FMAs, against 8 per
  /// 16 of the 4 x 4 tile, whose weight rows come back from L2 for every
  /// 4 tokens.
  int64_t smallBatchMinTokens = 2;
  int64_t smallTileTokens = 8, smallTileRows = 3;
  /// Whether the small-batch kernel prefetches into L1, during each kernel,
  /// the same columns of the next row tile: with 24 FMAs per weight vector the
  /// hardware prefetcher falls behind (perf showed the kernel stalled on the
  /// weight loads), and the row chunks of the k-blocked loop are short streams.
  bool smallPrefetch = true;
  /// The small-batch kernel's reduction is split in chunks whose columns of
  /// all the call's tokens take at most this many bytes of A, which then stay
  /// in L1 (48 KiB here) while the weights stream past: 1024 f32 of 8 tokens.
  /// Between chunks each accumulator is stored and loaded again as a vector
  /// (once a horizontal sum per chunk: then 16 KiB was as fast at 8 tokens on
  /// the TinyLlama slice and slower at 16).
  int64_t smallChunkBytes = 32 * 1024;
  /// The shortest chunk, and half the shortest reduction that is split.
  int64_t smallMinChunkColumns = 256;
  /// The largest stack buffer of a thread's accumulators between chunks (a
  /// vector per token and weight row of its block: 126 KiB at 31 tokens and
  /// 64 rows); beyond it the reduction is not split.
  int64_t smallPartialBytes = 128 * 1024;

  /// With bf16Dot, the small-batch kernel of bf16 weights computes
  /// vdpbf16ps's sums with two FMAs (odd then even products, each exact)
  /// on the weights' halves widened and A rounded to bf16: the same bits as
  /// the one-token kernel, where vdpbf16ps retires at a quarter of the FMA
  /// rate and its 64 FLOP per instruction fall behind 8 tokens x 3 rows of
  /// work per weight vector.
  bool smallBatchDotByFMA = true;

  /// Rows of A per outer-product kernel of linalg.batch_matmul, and vectors
  /// of a row of B it takes at a time.
  int64_t outerRows = 4, outerVectors = 4;

  /// The token count from which the packed GEMM replaces the streaming kernels.
  int64_t gemmMinTokens = 32;

  /// Whether the packed prefill GEMM is used at all (its register tile is
  /// sized for AVX-512 or AVX2 registers).
  bool packedGemm = true;

  /// Weight rows of the GEMM's micro-kernel, whose tile is that many rows x
  /// two vectors of tokens: 12 x 2 = 24 of the 32 AVX-512 registers as
  /// accumulators, 6 x 2 = 12 of the 16 AVX2 ones (the rest hold the two token
  /// vectors and the broadcast weight).
  int64_t gemmRows = 12;

  /// Tokens of a packed panel of A (two vectors).
  int64_t panelTokens = 32;

  /// Weight bytes of a thread's block of the GEMM (whole micro-tiles): they
  /// stay in L2 (2 MiB here) beside the current panel of A (k x 32 tokens)
  /// while all the panels pass.
  int64_t gemmBlockBytes = 512 * 1024;

  /// Blocks run in parallel per wave when narrow weights are widened per
  /// block (the scratch holds one block per slot: slots x gemmBlockBytes).
  int64_t gemmWaveBlocks = 8;

  /// Weight rows of the int8 GEMM's micro-kernel (Q8_0 / Q4_0 weights on
  /// 512-bit vpdpbusd, from gemmMinTokens on): rows x two vectors of 16
  /// tokens hold 12 i32 accumulators of the current 32-block and 12 f32 ones
  /// of the whole reduction, 24 of the 32 registers.
  int64_t int8GemmRows = 6;

  /// BF16 weights multiplied with vdpbf16ps (needs 512-bit vectors).
  bool bf16Dot = false;

  /// The prefill GEMM of bf16 weights on vdpbf16ps too (with bf16Dot) rather
  /// than widening the weights to f32 for the FMA kernel. Off by default:
  /// where vdpbf16ps retires at a quarter of the FMA rate (this machine's
  /// Xeon: 0.5 vs 2 per cycle, bench/machine.c), its 64 FLOP per instruction
  /// make half the FMA peak, and the widened FMA GEMM is faster.
  bool bf16GemmDot = false;
};

/// The strategy for `vectorWidth` f32 lanes, with vdpbf16ps when `bf16Dot`
/// (AVX512_BF16) and the vectors are 512-bit.
inline MatmulStrategy selectMatmulStrategy(int64_t vectorWidth, bool bf16Dot,
                                          bool bf16GemmDot = false) {
  MatmulStrategy s;
  s.vectorWidth = vectorWidth;
  s.packedGemm = vectorWidth == 16 || vectorWidth == 8;
  s.gemmRows = vectorWidth >= 16 ? 12 : 6;
  s.panelTokens = 2 * vectorWidth;
  s.bf16Dot = bf16Dot && vectorWidth == 16;
  s.bf16GemmDot = s.bf16Dot && bf16GemmDot;
  // 8 x 3 accumulators + 3 weight vectors + a token vector of the 32 AVX-512
  // registers; AVX2 has 16: 4 x 2 + 2 + 1.
  if (vectorWidth < 16) {
    s.smallTileTokens = 4;
    s.smallTileRows = 2;
  }
  return s;
}

} // namespace tfc

#endif // TFC_CODEGEN_MATMULSTRATEGY_H
