//===- QuantizedKernels.cpp - Int8 dot products for ggml block weights ---===//
//
// A product with Q8_0 weights (tfc/Utils/QuantizedMatmul.h) reads 34 bytes per
// 32 weights instead of 128, one with Q4_0 weights 18, so decode is bound by a
// quarter (a seventh) of the memory traffic of f32 -- if the arithmetic keeps
// up. It does when it stays in int8, as ggml's CPU kernels do: the activations
// are quantized to Q8_0 blocks once per call, and each pair of blocks is one
// 32-lane integer dot product (vpdpbusd with VNNI; vpmaddubsw + vpmaddwd on
// AVX2), scaled once per block into f32 accumulators. Q4_0's nibbles are
// unsigned (q + 8), which is what the instructions want of their first
// operand; the -8 is folded into the integer accumulator's start value,
// -8 · (the activations' sums per lane), computed once with the activations.
// Q6_K's 256-element super-blocks go 32 lanes at a time, against
// activations quantized per 256 (ggml's Q8_K): vpmaddubsw sums the products
// in i16 pairs and vpdpwssd multiplies the pairs by their sub-block scales
// into i32, one conversion per super-block. Q4_K's nibbles are unsigned and
// each sub-block has a min: d · Σ_s sc_s (q_w · q_a) in i32 as for Q6_K,
// minus dmin · Σ_s min_s · (the sum of the sub-block's q_a), those sums
// computed once with the activations (ggml's Q8_K bsums). Q5_K is Q4_K with
// a fifth bit per weight, OR-ed above the nibble (values 0..31, still
// unsigned and small enough that vpmaddubsw cannot saturate). K-quant
// decode on AVX-512 takes tiles of 16 rows (Q6_K: 8) on 512-bit vectors
// (kernelQ4_KWide, kernelQ6_KWide).
// Prefill (32
// tokens and more, AVX512-VNNI) runs an int8 GEMM on 512-bit vpdpbusd for
// every format, Q4_0 and the K-quants decoded per thread block first.
// The kernels are in tfc-vectorize-matmul's description (Passes.td); the
// numbers they produce are those of the numpy reference
// test/Numeric/lib/quant.py (dequantized weights, block-wise int8
// activations, f32 math), up to the order of the f32 sums.
//
//===----------------------------------------------------------------------===//

#include "QuantizedKernels.h"

#include "tfc/Utils/LoweringUtils.h"
#include "tfc/Utils/QuantizedMatmul.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace {

/// Whether the innermost dimension of `v`'s memref is contiguous.
bool innermostContiguous(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  return type && succeeded(getStridesAndOffset(type, strides, offset)) && strides.back() == 1;
}

/// The row stride of a 2-d memref with a contiguous innermost dimension, or
/// kDynamic.
int64_t rowStride(Value v) {
  auto type = cast<MemRefType>(v.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (type.getRank() != 2 || failed(getStridesAndOffset(type, strides, offset)) || strides[1] != 1)
    return ShapedType::kDynamic;
  return strides[0];
}

/// Elements per block (the same for Q8_0 and Q4_0; Q6_K's 256-element
/// super-blocks are multiplied 32 lanes at a time).
constexpr int64_t kBlock = 32;

/// How many blocks ahead the one-token tiles prefetch their rows: with 16
/// rows, 16 blocks (16 x 544 bytes of Q8_0, 16 x 288 of Q4_0) measured best
/// here (8 was 5-10 % slower on Q4_0; 24 and 32 no better). Past a row's
/// end the prefetch goes on into the next row, where the same stream of
/// the tile continues (the rows of a tile are far apart; see block()).
constexpr int64_t kPrefetchBlocks = 16;

/// Q6_K: elements per super-block, and the byte offsets in one of its high
/// bits, sub-block scales and f16 scale (ggml's block_q6_K).
constexpr int64_t kSuperBlock = 256, kQ6_KHigh = 128, kQ6_KScales = 192, kQ6_KScale = 208;

/// Q4_K: the byte offsets of dmin, the packed scales and mins, the nibbles
/// (ggml's block_q4_K; d is at 0).
constexpr int64_t kQ4_KMin = 2, kQ4_KScales = 4, kQ4_KNibbles = 16;

/// Q5_K: the byte offsets of the fifth bits and of the nibbles (ggml's
/// block_q5_K; its first 16 bytes are Q4_K's).
constexpr int64_t kQ5_KHigh = 16, kQ5_KNibbles = 48;

/// Q4_K and Q5_K on 512-bit vectors: rows of a one-token tile (a multiple of
/// the four rows whose scales are unpacked together; 16 measured a little
/// faster than 8), and how many super-blocks ahead the rows are prefetched
/// (288 bytes, as Q4_0's 16 blocks; all three cache lines a super-block
/// can touch: one line per row was 20 % slower, none 40 %, in CPU time).
constexpr int64_t kWideScaleMinRows = 16, kScaleMinPrefetch = 2;

/// Q6_K on 512-bit vectors: rows of a one-token tile (one f32 accumulator
/// each beside the token's four value vectors), prefetched as Q4_K's.
constexpr int64_t kWideQ6_KRows = 8;

/// Emits C[m, n] += Σ_b d_a[m, b] d_w[n, b] Σ_j q_a[m, b, j] q_w[n, b, j].
class QuantizedEmitter {
public:
  QuantizedEmitter(OpBuilder &b, Location loc, tfc::QuantFormat format, Value a3, Value w, Value c,
                   bool vnni, int64_t tileTokens, int64_t tileRows, int64_t decodeRows, bool wide)
      : b(b), loc(loc), format(format), a3(a3), w(w), c(c), vnni(vnni), tileTokens(tileTokens),
        tileRows(tileRows), blocks(cast<MemRefType>(w.getType()).getDimSize(1)),
        decodeRows(decodeRows), wide(wide && vnni && blockFormat()),
        wideScaleMin(wide && vnni && scaleMinFormat()),
        wideQ6_K(wide && vnni && format == tfc::QuantFormat::Q6_K) {
    Type i8 = b.getI8Type();
    lanes8 = VectorType::get({kBlock}, i8);
    sums = VectorType::get({8}, b.getI32Type());
    floats = VectorType::get({8}, b.getF32Type());
    module = b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
    psign = tfc::intrinsicDeclaration(module, "llvm.x86.avx2.psign.b",
                                      b.getFunctionType({lanes8, lanes8}, {lanes8}));
    if (blockFormat()) {
      // The flat view needs the blocks of a row contiguous; the one-token
      // tiles' row streams (block()) need the rows contiguous too.
      auto type = cast<MemRefType>(w.getType());
      SmallVector<int64_t> strides;
      int64_t offset;
      if (succeeded(getStridesAndOffset(type, strides, offset)) && strides[2] == 1 &&
          strides[1] == type.getDimSize(2)) {
        wFlat = b.create<memref::CollapseShapeOp>(loc, w, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
        rowsContiguous = strides[0] == blocks * type.getDimSize(2);
        quads = this->wide && format == tfc::QuantFormat::Q4_0 && blocks >= 4;
      }
    }
    if (wideScaleMin)
      this->decodeRows = kWideScaleMinRows;
    if (wideQ6_K)
      this->decodeRows = kWideQ6_KRows;
    if (this->wide) {
      auto lanes = VectorType::get({16}, b.getI32Type());
      dot512 = tfc::intrinsicDeclaration(module, "llvm.x86.avx512.vpdpbusd.512",
                                         b.getFunctionType({lanes, lanes, lanes}, {lanes}));
    }
    if (vnni) {
      dot = tfc::intrinsicDeclaration(module, "llvm.x86.avx512.vpdpbusd.256",
                                      b.getFunctionType({sums, sums, sums}, {sums}));
    } else {
      auto pairs = VectorType::get({16}, b.getI16Type());
      maddubs = tfc::intrinsicDeclaration(module, "llvm.x86.avx2.pmadd.ub.sw",
                                          b.getFunctionType({lanes8, lanes8}, {pairs}));
      maddwd = tfc::intrinsicDeclaration(module, "llvm.x86.avx2.pmadd.wd",
                                         b.getFunctionType({pairs, pairs}, {sums}));
    }
  }

  Value index(int64_t v) { return tfc::indexConst(b, loc, v); }

  /// Quantizes A ([tokens, blocks, 32] f32) into qa (int8) and da (f32 scales
  /// rounded through f16), as ggml's quantize_row_q8_0 does for activations;
  /// for Q4_0 weights also the integer start values of the dot products,
  /// sa[m, b, i] = -8 · Σ_{j < 4} qa[m, b, 4i + j] (the lanes of vpdpbusd).
  void quantizeActivations(Value tokens) {
    if (format == tfc::QuantFormat::Q6_K || scaleMinFormat())
      return quantizeActivationsQ8_K(tokens);
    auto qaType = MemRefType::get({ShapedType::kDynamic, blocks, kBlock}, b.getI8Type());
    auto daType = MemRefType::get({ShapedType::kDynamic, blocks}, b.getF32Type());
    IntegerAttr align = b.getI64IntegerAttr(64);
    qa = b.create<memref::AllocOp>(loc, qaType, ValueRange{tokens}, align);
    da = b.create<memref::AllocOp>(loc, daType, ValueRange{tokens}, align);
    // The start values of the dot products: Q4_0's -8 · the lane sums, and
    // for the 512-bit one-token kernel of Q8_0 (whose weights are made
    // unsigned by + 128) -128 · the lane sums.
    const int64_t startFactor = format == tfc::QuantFormat::Q4_0 ? -8 : -128;
    if (format == tfc::QuantFormat::Q4_0 || wide) {
      auto saType = MemRefType::get({ShapedType::kDynamic, blocks, 8}, b.getI32Type());
      sa = b.create<memref::AllocOp>(loc, saType, ValueRange{tokens}, align);
    }
    if (quads) {
      const int64_t groups = blocks / 4;
      auto alloc = [&](int64_t inner, Type element) {
        return b.create<memref::AllocOp>(
            loc, MemRefType::get({ShapedType::kDynamic, groups, inner}, element), ValueRange{tokens},
            align);
      };
      qaSplit = alloc(128, b.getI8Type());
      saSplit = alloc(16, b.getI32Type());
      daSplit = alloc(16, b.getF32Type());
    }
    // Each block's scale in the eight lanes of its dot product's sums.
    if (wide)
      daLanes = b.create<memref::AllocOp>(
          loc, MemRefType::get({ShapedType::kDynamic, blocks, 8}, b.getF32Type()),
          ValueRange{tokens}, align);
    auto f32Vec = VectorType::get({kBlock}, b.getF32Type());
    forLoop(b, index(0), tokens, 1, [&](OpBuilder &mb, Value m) {
      forLoop(mb, index(0), index(blocks), 1, [&](OpBuilder &kb, Value blk) {
        Value x = kb.create<vector::LoadOp>(loc, f32Vec, a3, ValueRange{m, blk, index(0)});
        Value amax = kb.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXNUMF,
                                                    kb.create<math::AbsFOp>(loc, x));
        Value zero = tfc::f32Const(kb, loc, 0.0), limit = tfc::f32Const(kb, loc, 127.0);
        Value d = kb.create<arith::DivFOp>(loc, amax, limit);
        d = kb.create<arith::ExtFOp>(loc, kb.getF32Type(),
                                     kb.create<arith::TruncFOp>(loc, kb.getF16Type(), d).getResult());
        kb.create<memref::StoreOp>(loc, d, da, ValueRange{m, blk});
        Value nonzero = kb.create<arith::CmpFOp>(loc, arith::CmpFPredicate::ONE, amax, zero);
        Value inverse = kb.create<arith::SelectOp>(
            loc, nonzero, kb.create<arith::DivFOp>(loc, limit, amax), zero);
        Value scaled = kb.create<arith::MulFOp>(
            loc, x, kb.create<vector::BroadcastOp>(loc, f32Vec, inverse));
        Value q = kb.create<arith::FPToSIOp>(loc, lanes8, kb.create<math::RoundEvenOp>(loc, scaled));
        kb.create<vector::StoreOp>(loc, q, qa, ValueRange{m, blk, index(0)});
        if (sa)
          kb.create<vector::StoreOp>(loc, offsetSums(kb, q, startFactor), sa,
                                     ValueRange{m, blk, index(0)});
        if (daLanes)
          kb.create<vector::StoreOp>(loc, kb.create<vector::BroadcastOp>(loc, floats, d), daLanes,
                                     ValueRange{m, blk, index(0)});
      });
      if (quads)
        splitActivations(mb, m);
    });
  }

  /// kernelQuads' operands of token m, from qa and da: per four blocks the
  /// 16 low-half values of each block (64 bytes), then the high halves; the
  /// start values -8 · (the four low and four high values of each i32 lane);
  /// each block's scale in its four lanes.
  void splitActivations(OpBuilder &mb, Value m) {
    const int64_t groups = blocks / 4;
    Type i8 = mb.getI8Type();
    auto half = VectorType::get({16}, i8);
    auto bytes64 = VectorType::get({64}, i8);
    auto lanes = VectorType::get({16}, mb.getI32Type());
    forLoop(mb, index(0), index(groups), 1, [&](OpBuilder &kb, Value g) {
      Value blk0 = kb.create<arith::MulIOp>(loc, g, index(4));
      SmallVector<Value> blks{blk0};
      for (int64_t k = 1; k < 4; ++k)
        blks.push_back(kb.create<arith::AddIOp>(loc, blk0, index(k)));
      SmallVector<Value> lows, highs;
      for (Value blk : blks) {
        lows.push_back(kb.create<vector::LoadOp>(loc, half, qa, ValueRange{m, blk, index(0)}));
        highs.push_back(kb.create<vector::LoadOp>(loc, half, qa, ValueRange{m, blk, index(16)}));
      }
      auto concat = [&](ArrayRef<Value> parts) {
        SmallVector<int64_t> pair = llvm::to_vector(llvm::seq<int64_t>(0, 32));
        SmallVector<int64_t> all = llvm::to_vector(llvm::seq<int64_t>(0, 64));
        Value a = kb.create<vector::ShuffleOp>(loc, parts[0], parts[1], pair);
        Value c = kb.create<vector::ShuffleOp>(loc, parts[2], parts[3], pair);
        return kb.create<vector::ShuffleOp>(loc, a, c, all).getResult();
      };
      Value low = concat(lows), high = concat(highs);
      kb.create<vector::StoreOp>(loc, low, qaSplit, ValueRange{m, g, index(0)});
      kb.create<vector::StoreOp>(loc, high, qaSplit, ValueRange{m, g, index(64)});
      Value ones = kb.create<vector::BitCastOp>(loc, lanes, splat(kb, bytes64, 1));
      Value zero = kb.create<arith::ConstantOp>(loc, kb.getZeroAttr(lanes));
      Value sum = kb.create<func::CallOp>(loc, dot512,
                                          ValueRange{zero, ones, kb.create<vector::BitCastOp>(loc, lanes, low)})
                      .getResult(0);
      sum = kb.create<func::CallOp>(loc, dot512,
                                    ValueRange{sum, ones, kb.create<vector::BitCastOp>(loc, lanes, high)})
                .getResult(0);
      kb.create<vector::StoreOp>(loc, kb.create<arith::MulIOp>(loc, sum, splat(kb, lanes, -8)), saSplit,
                                 ValueRange{m, g, index(0)});
      Value scales = kb.create<vector::LoadOp>(loc, VectorType::get({4}, kb.getF32Type()), da,
                                               ValueRange{m, blk0});
      SmallVector<int64_t> spread;
      for (int64_t k = 0; k < 4; ++k)
        spread.append(4, k);
      kb.create<vector::StoreOp>(loc, kb.create<vector::ShuffleOp>(loc, scales, scales, spread), daSplit,
                                 ValueRange{m, g, index(0)});
    });
  }

  /// Quantizes A ([tokens, blocks, 256] f32) per super-block as ggml's
  /// quantize_row_q8_K does for the activations of K-quant products: amax =
  /// max |x|, q = roundeven(x · (127 / amax)), d = 1 / (127 / amax) in f32
  /// (ggml scales by -127 / the signed extreme; q and d both change sign,
  /// their product does not), 0 for an all-zero block. Also the sums of the
  /// sixteen 16-lane groups in i16 (at most 16 · 127), sa[m, b, k] = Σ_j
  /// qa[m, b, 16k + j], against which the Q6_K kernel cancels the + 32 of its
  /// values; for Q4_K and Q5_K instead the sums of each 32-lane sub-block,
  /// sa[m, b, c] = Σ_j qa[m, b, 32c + j], which its mins multiply.
  void quantizeActivationsQ8_K(Value tokens) {
    const bool subBlockSums = scaleMinFormat();
    const int64_t chunks = kSuperBlock / kBlock;
    IntegerAttr align = b.getI64IntegerAttr(64);
    auto alloc = [&](ArrayRef<int64_t> dims, Type element) {
      SmallVector<int64_t> shape{ShapedType::kDynamic};
      shape.append(dims.begin(), dims.end());
      return b.create<memref::AllocOp>(loc, MemRefType::get(shape, element), ValueRange{tokens},
                                       align);
    };
    qa = alloc({blocks, kSuperBlock}, b.getI8Type());
    da = alloc({blocks}, b.getF32Type());
    sa = subBlockSums ? alloc({blocks, chunks}, b.getI32Type()) : alloc({blocks, 2 * chunks}, b.getI16Type());
    auto f32Vec = VectorType::get({kBlock}, b.getF32Type());
    forLoop(b, index(0), tokens, 1, [&](OpBuilder &mb, Value m) {
      forLoop(mb, index(0), index(blocks), 1, [&](OpBuilder &kb, Value blk) {
        SmallVector<Value> xs;
        Value amax;
        for (int64_t c = 0; c < chunks; ++c) {
          xs.push_back(kb.create<vector::LoadOp>(loc, f32Vec, a3, ValueRange{m, blk, index(c * kBlock)}));
          Value chunkMax = kb.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXNUMF,
                                                          kb.create<math::AbsFOp>(loc, xs.back()));
          amax = amax ? kb.create<arith::MaxNumFOp>(loc, amax, chunkMax).getResult() : chunkMax;
        }
        Value zero = tfc::f32Const(kb, loc, 0.0), limit = tfc::f32Const(kb, loc, 127.0);
        Value nonzero = kb.create<arith::CmpFOp>(loc, arith::CmpFPredicate::ONE, amax, zero);
        Value inverse = kb.create<arith::SelectOp>(
            loc, nonzero, kb.create<arith::DivFOp>(loc, limit, amax), zero);
        Value d = kb.create<arith::SelectOp>(
            loc, nonzero, kb.create<arith::DivFOp>(loc, tfc::f32Const(kb, loc, 1.0), inverse), zero);
        kb.create<memref::StoreOp>(loc, d, da, ValueRange{m, blk});
        Value scale = kb.create<vector::BroadcastOp>(loc, f32Vec, inverse);
        for (int64_t c = 0; c < chunks; ++c) {
          Value scaled = kb.create<arith::MulFOp>(loc, xs[c], scale);
          Value q = kb.create<arith::FPToSIOp>(loc, lanes8, kb.create<math::RoundEvenOp>(loc, scaled));
          kb.create<vector::StoreOp>(loc, q, qa, ValueRange{m, blk, index(c * kBlock)});
          if (subBlockSums) {
            Value wide = kb.create<arith::ExtSIOp>(loc, VectorType::get({kBlock}, kb.getI32Type()), q);
            Value sum = kb.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, wide);
            kb.create<memref::StoreOp>(loc, sum, sa, ValueRange{m, blk, index(c)});
          } else {
            for (int64_t half = 0; half < 2; ++half) {
              Value group = kb.create<vector::ExtractStridedSliceOp>(
                  loc, q, ArrayRef<int64_t>{16 * half}, ArrayRef<int64_t>{16}, ArrayRef<int64_t>{1});
              Value wide = kb.create<arith::ExtSIOp>(loc, VectorType::get({16}, kb.getI32Type()), group);
              Value sum = kb.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, wide);
              kb.create<memref::StoreOp>(loc, kb.create<arith::TruncIOp>(loc, kb.getI16Type(), sum), sa,
                                         ValueRange{m, blk, index(2 * c + half)});
            }
          }
        }
      });
    });
  }

  /// All tokens against weight rows [nStart, nEnd): tiles of tileTokens x
  /// tileRows, then the remainders one token or one row at a time.
  void block(Value nStart, Value nEnd, Value tokens) {
    Value count = b.create<arith::SubIOp>(loc, nEnd, nStart);
    Value nMain = b.create<arith::AddIOp>(loc, nStart, roundDown(count, tileRows));
    Value mMain = roundDown(tokens, tileTokens);
    auto tokenLoop = [&](Value lo, Value hi, int64_t tm) {
      forLoop(b, lo, hi, tm, [&](OpBuilder &, Value m0) {
        forLoop(b, nStart, nMain, tileRows, [&](OpBuilder &, Value n0) { kernel(m0, n0, tm, tileRows); });
        forLoop(b, nMain, nEnd, 1, [&](OpBuilder &, Value n0) { kernel(m0, n0, tm, 1); });
      });
    };
    tokenLoop(index(0), mMain, tileTokens);
    if (!blockFormat() && !wideScaleMin && !wideQ6_K)
      return tokenLoop(mMain, tokens, 1);
    // The tokens left one at a time (the whole of a decode step): Q8_0 and
    // Q4_0 (with 512-bit vectors Q4_K and Q5_K too) take tiles of
    // decodeRows rows, each prefetching its rows ahead.
    // One token's activations serve many rows, and the many row streams
    // with their prefetches keep enough cache misses in flight for a core
    // to read at the memory's pace while it computes (with 4 rows it
    // alternated between the two). The rows [nStart, nTall) are cut into
    // decodeRows parts of consecutive rows, and tile t takes row t of each
    // part: each part is then read front to back, one sequential stream
    // across its rows, far from the others. Tiles of consecutive rows put
    // about two rows in each 4 KiB page, their streams interleaved and a
    // row long, and read about 25 % slower (measured by CPU time of one
    // thread, the access pattern alone and the whole decode step).
    Value partRows = b.create<arith::DivUIOp>(loc, count, index(decodeRows));
    Value nTall = b.create<arith::AddIOp>(loc, nStart,
                                          b.create<arith::MulIOp>(loc, partRows, index(decodeRows)));
    Value nShort = b.create<arith::AddIOp>(
        loc, nTall, roundDown(b.create<arith::SubIOp>(loc, nEnd, nTall), tileRows));
    forLoop(b, mMain, tokens, 1, [&](OpBuilder &, Value m0) {
      if (rowsContiguous)
        forLoop(b, nStart, b.create<arith::AddIOp>(loc, nStart, partRows), 1, [&](OpBuilder &, Value n0) {
          kernel(m0, n0, 1, decodeRows, /*prefetch=*/true, partRows);
        });
      else
        forLoop(b, nStart, nTall, decodeRows,
                [&](OpBuilder &, Value n0) { kernel(m0, n0, 1, decodeRows); });
      forLoop(b, nTall, nShort, tileRows, [&](OpBuilder &, Value n0) { kernel(m0, n0, 1, tileRows); });
      forLoop(b, nShort, nEnd, 1, [&](OpBuilder &, Value n0) { kernel(m0, n0, 1, 1); });
    });
  }

  /// The int8 prefill GEMM (512-bit vpdpbusd), after quantizeActivations:
  /// C[m, n] += Σ_b d_a[m, b] d_w[n, b] Σ_j q_a q_w.
  ///
  /// Tokens lie along the vector lanes and the weights are broadcast, as in
  /// the f32 GEMM: the quantized activations are packed once per call into
  /// panels of 32 tokens, Ap[t][b][g][token] = the four bytes 4g..4g+3 of
  /// block b of that token (one i32 lane of vpdpbusd), and one weight dword
  /// W[n, b, 4g..4g+3] broadcast against two such token vectors is two
  /// instructions of 64 multiply-adds each. vpdpbusd multiplies unsigned by
  /// signed bytes: the packed activations are stored + 128 (unsigned) and the
  /// weights stay signed, so each block's i32 sums start at -128 · Σ_j q_w[n,
  /// b, j], computed once per call per weight row and block by the thread that
  /// owns the row (while it brings the weights into L2). After the block's
  /// eight steps the i32 sums are scaled into f32 accumulators, d_a (a vector
  /// of the panel's token scales) times d_w (broadcast). The micro-kernel is
  /// `tileRows` weight rows × 32 tokens: 2 · tileRows · 2 registers of
  /// accumulators, no horizontal sums; its results are added down the
  /// columns of C as the f32 GEMM's are. Threads take blocks of tiles of about
  /// `blockBytes` of weights, which stay in L2 while the panels pass.
  ///
  /// The K-quants run the same tile on their sub-blocks (32 elements; Q6_K's
  /// 16, four steps), decoded per thread block as Q4_0's are into a scratch of
  /// signed bytes (Q4_K, Q5_K: the values 0..31; Q6_K: q - 32) with one f32
  /// scale per sub-block, d · sc_s (exact: an f16 times a 6- or 8-bit
  /// integer). Their activations are ggml's Q8_K, one scale per 256 that the
  /// panels repeat per sub-block. Q4_K's and Q5_K's mins add per sub-block
  /// (d_a · Σ q_a) · (-dmin · min_s): a vector of the panel's tokens, packed
  /// with it from the sub-block sums, times a broadcast weight scalar, one
  /// FMA beside the scale's.
  void packedGemm(Value tokens, int64_t rows, int64_t tileRows, int64_t blockBytes,
                  int64_t waveBlocks, int64_t cRowStride) {
    constexpr int64_t panelTokens = 32, width = 16;
    const bool kQuant = format == tfc::QuantFormat::Q6_K || scaleMinFormat();
    const bool withMins = scaleMinFormat();
    // The tile's blocks: their elements, how many per block of `w`, in all.
    const int64_t sub = format == tfc::QuantFormat::Q6_K ? 16 : kBlock;
    const int64_t perBlock = kQuant ? kSuperBlock / sub : 1;
    const int64_t subBlocks = blocks * perBlock, steps = sub / 4;
    Type i32 = b.getI32Type(), f32 = b.getF32Type(), i8 = b.getI8Type();
    IntegerAttr align = b.getI64IntegerAttr(64);
    auto lanes = VectorType::get({width}, i32);
    auto subBytes = VectorType::get({sub}, i8);
    func::FuncOp dot512 = tfc::intrinsicDeclaration(module, "llvm.x86.avx512.vpdpbusd.512",
                                                    b.getFunctionType({lanes, lanes, lanes}, {lanes}));
    Value panels = b.create<arith::DivUIOp>(
        loc, b.create<arith::AddIOp>(loc, tokens, index(panelTokens - 1)), index(panelTokens));
    Value packed = b.create<memref::AllocOp>(
        loc, MemRefType::get({ShapedType::kDynamic, subBlocks, steps, panelTokens}, i32),
        ValueRange{panels}, align);
    auto panelFloats = MemRefType::get({ShapedType::kDynamic, subBlocks, panelTokens}, f32);
    Value packedScales = b.create<memref::AllocOp>(loc, panelFloats, ValueRange{panels}, align);
    Value packedMins =
        withMins ? b.create<memref::AllocOp>(loc, panelFloats, ValueRange{panels}, align).getResult()
                 : Value();
    // Panels in parallel; a token past the end packs q_a = 0 (+ 128) with
    // scale 0, so it adds nothing, and its lanes are masked off at the store.
    b.create<scf::ParallelOp>(
        loc, ValueRange{index(0)}, ValueRange{panels}, ValueRange{index(1)},
        [&](OpBuilder &pb, Location, ValueRange ivs) {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(pb.getInsertionBlock(), pb.getInsertionPoint());
          Value t = ivs[0];
          auto dwords = VectorType::get({steps}, i32);
          forLoop(b, index(0), index(panelTokens), 1, [&](OpBuilder &jb, Value j) {
            Value m = jb.create<arith::AddIOp>(loc, jb.create<arith::MulIOp>(loc, t, index(panelTokens)), j);
            Value inside = jb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, m, tokens);
            // Clamped so that the loads of a padding token stay in bounds.
            Value last = jb.create<arith::SubIOp>(loc, tokens, index(1));
            Value mIn = jb.create<arith::MinUIOp>(loc, m, last);
            forLoop(jb, index(0), index(blocks), 1, [&](OpBuilder &kb, Value blk) {
              Value d = kb.create<memref::LoadOp>(loc, da, ValueRange{mIn, blk});
              d = kb.create<arith::SelectOp>(loc, inside, d, tfc::f32Const(kb, loc, 0.0));
              Value first = kQuant ? kb.create<arith::MulIOp>(loc, blk, index(perBlock)).getResult() : blk;
              for (int64_t c = 0; c < perBlock; ++c) {
                Value sb = c ? kb.create<arith::AddIOp>(loc, first, index(c)).getResult() : first;
                Value q = kb.create<vector::LoadOp>(loc, subBytes, qa, ValueRange{mIn, blk, index(c * sub)});
                Value zero8 = kb.create<arith::ConstantOp>(loc, kb.getZeroAttr(subBytes));
                q = kb.create<arith::SelectOp>(loc, inside, q, zero8);
                Value biased = kb.create<arith::XOrIOp>(loc, q, splat(kb, subBytes, -128));
                Value words = kb.create<vector::BitCastOp>(loc, dwords, biased);
                for (int64_t s = 0; s < steps; ++s)
                  kb.create<memref::StoreOp>(loc, kb.create<vector::ExtractOp>(loc, words, s), packed,
                                             ValueRange{t, sb, index(s), j});
                kb.create<memref::StoreOp>(loc, d, packedScales, ValueRange{t, sb, j});
                if (withMins) {
                  Value sum = kb.create<memref::LoadOp>(loc, sa, ValueRange{mIn, blk, index(c)});
                  Value scaled = kb.create<arith::MulFOp>(
                      loc, kb.create<arith::SIToFPOp>(loc, f32, sum), d);
                  kb.create<memref::StoreOp>(loc, scaled, packedMins, ValueRange{t, sb, j});
                }
              }
            });
          });
        });

    // -128 · Σ_j q_w[n, b, j]: the start of each block's i32 sums.
    Value offsets = b.create<memref::AllocOp>(loc, MemRefType::get({rows, subBlocks}, i32), align);
    auto storeStart = [&](OpBuilder &kb, Value q, Value n, Value sb) {
      auto wide = VectorType::get({cast<VectorType>(q.getType()).getNumElements()}, i32);
      Value sum = kb.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD,
                                                 kb.create<arith::ExtSIOp>(loc, wide, q));
      Value start = kb.create<arith::MulIOp>(
          loc, sum, kb.create<arith::ConstantOp>(loc, kb.getI32IntegerAttr(-128)));
      kb.create<memref::StoreOp>(loc, start, offsets, ValueRange{n, sb});
    };
    const bool q4 = format == tfc::QuantFormat::Q4_0;
    const bool decoded = q4 || kQuant;
    // The bytes in L2 are Q8_0 ones (Q4_0 is decoded per block, below), or
    // the K-quants' decoded sub-blocks with their f32 scales (and mins).
    int64_t rowBytes = kQuant ? subBlocks * (sub + 4 + (withMins ? 4 : 0)) : blocks * (kBlock + 2);
    int64_t tileBytes = tileRows * rowBytes;
    int64_t fullTiles = rows / tileRows;
    int64_t blockTiles = std::clamp<int64_t>(blockBytes / std::max<int64_t>(1, tileBytes), 1,
                                             std::max<int64_t>(1, fullTiles / 8));
    int64_t blockRows = std::min(blockTiles * tileRows, rows);
    int64_t rowBlocks = (rows + blockRows - 1) / blockRows;
    // Q4_0: each block's rows are decoded into a Q8_0 scratch slot (the f16
    // scale, then the 32 values q - 8 as signed bytes) that the same tile
    // function reads; waves of `slots` blocks in parallel, block wave·slots +
    // s in slot s, so the scratch is a fixed-size temporary (the arena's).
    // The K-quants likewise, into sub-blocks of bytes and f32 scale arrays.
    const int64_t slots = std::min<int64_t>(waveBlocks, rowBlocks);
    Value scratch, scratchScales, scratchMins;
    if (q4)
      scratch = b.create<memref::AllocOp>(
          loc, MemRefType::get({slots * blockRows, blocks, kBlock + 2}, i8), align);
    if (kQuant) {
      scratch = b.create<memref::AllocOp>(loc, MemRefType::get({slots * blockRows, subBlocks, sub}, i8),
                                          align);
      auto perSub = MemRefType::get({slots * blockRows, subBlocks}, f32);
      scratchScales = b.create<memref::AllocOp>(loc, perSub, align);
      if (withMins)
        scratchMins = b.create<memref::AllocOp>(loc, perSub, align);
    }
    // Super-block `blk` of row `n` into scratch row r: its sub-blocks' bytes,
    // scales (and -dmin · mins), and the starts of their sums.
    auto decodeSuperBlock = [&](OpBuilder &kb, Value n, Value r, Value blk) {
      Value first = kb.create<arith::MulIOp>(loc, blk, index(perBlock));
      auto at = [&](int64_t s) { return kb.create<arith::AddIOp>(loc, first, index(s)).getResult(); };
      auto storeScaled = [&](Value ints, Value factor, Value into) {
        auto type = VectorType::get({cast<VectorType>(ints.getType()).getNumElements()}, f32);
        Value v = kb.create<arith::MulFOp>(loc, kb.create<arith::SIToFPOp>(loc, type, ints),
                                           kb.create<vector::BroadcastOp>(loc, type, factor));
        kb.create<vector::StoreOp>(loc, v, into, ValueRange{r, first});
      };
      auto storeValues = [&](Value q, int64_t s) {
        kb.create<vector::StoreOp>(loc, q, scratch, ValueRange{r, at(s), index(0)});
        storeStart(kb, q, n, at(s));
      };
      if (format == tfc::QuantFormat::Q6_K) {
        Value bytes = kb.create<vector::LoadOp>(loc, VectorType::get({16}, i8), w,
                                                ValueRange{n, blk, index(kQ6_KScales)});
        storeScaled(kb.create<arith::ExtSIOp>(loc, VectorType::get({16}, i32), bytes),
                    weightScale(kb, n, blk, kQ6_KScale), scratchScales);
        for (int64_t h = 0; h < 2; ++h) {
          SmallVector<Value> values = sixBitValues(kb, n, blk, h);
          for (int64_t g = 0; g < 4; ++g) {
            Value q = kb.create<arith::SubIOp>(loc, values[g], splat(kb, lanes8, 32));
            for (int64_t half = 0; half < 2; ++half)
              storeValues(kb.create<vector::ExtractStridedSliceOp>(loc, q, ArrayRef<int64_t>{16 * half},
                                                                   ArrayRef<int64_t>{16},
                                                                   ArrayRef<int64_t>{1}),
                          8 * h + 2 * g + half);
          }
        }
        return;
      }
      auto [scales, mins] = q4_kScalesAndMins(kb, n, blk);
      storeScaled(scales, weightScale(kb, n, blk), scratchScales);
      storeScaled(mins, kb.create<arith::NegFOp>(loc, weightScale(kb, n, blk, kQ4_KMin)), scratchMins);
      Value fifthBits = format == tfc::QuantFormat::Q5_K
                            ? kb.create<vector::LoadOp>(loc, lanes8, w, ValueRange{n, blk, index(kQ5_KHigh)})
                                  .getResult()
                            : Value();
      for (int64_t pair = 0; pair < 4; ++pair) {
        auto [low, high] = q4_kValues(kb, n, blk, pair, fifthBits);
        storeValues(low, 2 * pair);
        storeValues(high, 2 * pair + 1);
      }
    };
    // Rows [lo, hi); with `slot`, the weights are read from scratch rows
    // slot · blockRows + (n - lo).
    auto rowBlock = [&](Value lo, Value hi, Value slot) {
      Value wBase = slot ? b.create<arith::MulIOp>(loc, slot, index(blockRows)).getResult() : Value();
      forLoop(b, lo, hi, 1, [&](OpBuilder &rb, Value n) {
        Value r = wBase ? rb.create<arith::AddIOp>(loc, wBase, rb.create<arith::SubIOp>(loc, n, lo))
                              .getResult()
                        : Value();
        forLoop(rb, index(0), index(blocks), 1, [&](OpBuilder &kb, Value blk) {
          if (kQuant)
            return decodeSuperBlock(kb, n, r, blk);
          Value q;
          if (q4) {
            q = kb.create<arith::SubIOp>(loc, nibbles(kb, n, blk), splat(kb, lanes8, 8));
            kb.create<vector::StoreOp>(loc, q, scratch, ValueRange{r, blk, index(2)});
            auto scale = VectorType::get({2}, kb.getI8Type());
            kb.create<vector::StoreOp>(
                loc, kb.create<vector::LoadOp>(loc, scale, w, ValueRange{n, blk, index(0)}), scratch,
                ValueRange{r, blk, index(0)});
          } else {
            q = kb.create<vector::LoadOp>(loc, lanes8, w, ValueRange{n, blk, index(2)});
          }
          storeStart(kb, q, n, blk);
        });
      });
      Value weights = decoded ? scratch : w;
      Value count = b.create<arith::SubIOp>(loc, hi, lo);
      Value nMain = b.create<arith::AddIOp>(loc, lo, roundDown(count, tileRows));
      TileLayout layout{sub, kQuant ? 0 : 2, subBlocks, kQuant ? scratchScales : Value(),
                        scratchMins, packedMins};
      auto tile = [&](int64_t tn, Value t, Value n0) {
        Value wRow0 = wBase ? b.create<arith::AddIOp>(loc, wBase, b.create<arith::SubIOp>(loc, n0, lo))
                                  .getResult()
                            : n0;
        callTile(tn, {packed, packedScales, offsets, t, n0, tokens, wRow0}, weights, layout, dot512,
                 cRowStride);
      };
      forLoop(b, index(0), panels, 1, [&](OpBuilder &, Value t) {
        forLoop(b, lo, nMain, tileRows, [&](OpBuilder &, Value n0) { tile(tileRows, t, n0); });
        forLoop(b, nMain, hi, 1, [&](OpBuilder &, Value n0) { tile(1, t, n0); });
      });
    };
    auto bounds = [&](Value blk) {
      Value lo = b.create<arith::MulIOp>(loc, blk, index(blockRows));
      Value hi = b.create<arith::MinUIOp>(loc, b.create<arith::AddIOp>(loc, lo, index(blockRows)),
                                          index(rows));
      return std::make_pair(lo, hi);
    };
    if (!decoded) {
      tfc::parallelRowBlocks(b, loc, rows, blockRows,
                             [&](Value lo, Value hi) { rowBlock(lo, hi, Value()); });
      return;
    }
    forLoop(b, index(0), index((rowBlocks + slots - 1) / slots), 1, [&](OpBuilder &, Value wave) {
      b.create<scf::ParallelOp>(
          loc, ValueRange{index(0)}, ValueRange{index(slots)}, ValueRange{index(1)},
          [&](OpBuilder &nb, Location, ValueRange ivs) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            Value blk = b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, wave, index(slots)),
                                                ivs[0]);
            Value exists = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, blk, index(rowBlocks));
            auto ifOp = b.create<scf::IfOp>(loc, exists, /*withElseRegion=*/false);
            b.setInsertionPointToStart(ifOp.thenBlock());
            auto [lo, hi] = bounds(blk);
            rowBlock(lo, hi, ivs[0]);
          });
    });
  }

private:
  /// Q8_0 and Q4_0: 32-element blocks with one f16 scale (kernelBlocks).
  bool blockFormat() const {
    return format == tfc::QuantFormat::Q8_0 || format == tfc::QuantFormat::Q4_0;
  }

  /// Q4_K and Q5_K: sub-block scales and mins (ggml's get_scale_min_k4).
  bool scaleMinFormat() const {
    return format == tfc::QuantFormat::Q4_K || format == tfc::QuantFormat::Q5_K;
  }

  /// What the GEMM tile reads besides the panels: blocks of `elements` (steps
  /// of four), `blockCount` per row, their values from byte `valueOffset` of
  /// a weight block, their scales from its f16 at byte 0 or, when set, from
  /// `scales` (f32 per row and block); for Q4_K / Q5_K the mins' terms,
  /// `weightMins` (f32 per row and block) times `panelMins` (per token).
  struct TileLayout {
    int64_t elements, valueOffset, blockCount;
    Value scales, weightMins, panelMins;
  };

  /// Calls the module's tile function of `tn` rows (created on first use)
  /// with operands {packed, packedScales, offsets, t, n0, tokens, wRow0}: one
  /// function serves every GEMM of a format of the module (each product site
  /// inlining its own 96-instruction tile doubled the compile time of a
  /// quantized model; a call per tile of 64 · K/32 vpdpbusd costs nothing).
  void callTile(int64_t tn, ArrayRef<Value> operands, Value weights, const TileLayout &layout,
                func::FuncOp dot512, int64_t cRowStride) {
    constexpr int64_t dyn = ShapedType::kDynamic;
    MLIRContext *ctx = b.getContext();
    Type i32 = b.getI32Type(), f32 = b.getF32Type();
    const int64_t count = layout.blockCount;
    // The reduction length and the weights' strides stay static (dynamic
    // strides cost the tile registers for addresses, and it spilled
    // accumulators): one function per tile height, K and weight layout.
    auto wType = cast<MemRefType>(weights.getType());
    SmallVector<int64_t> wStrides;
    int64_t wOffset;
    if (failed(getStridesAndOffset(wType, wStrides, wOffset)))
      wStrides.assign({dyn, dyn, 1});
    auto perBlock = MemRefType::get({dyn, count}, f32);
    auto panelFloats = MemRefType::get({dyn, count, 32}, f32);
    SmallVector<Type> types{
        MemRefType::get({dyn, count, layout.elements / 4, 32}, i32), panelFloats,
        MemRefType::get({dyn, count}, i32),
        MemRefType::get({dyn, count, wType.getDimSize(2)}, b.getI8Type(),
                        StridedLayoutAttr::get(ctx, dyn, {wStrides[0], wStrides[1], 1})),
        MemRefType::get({dyn, dyn}, f32, StridedLayoutAttr::get(ctx, dyn, {dyn, 1}))};
    SmallVector<Value> memrefs{operands[0], operands[1], operands[2], weights, c};
    if (layout.scales) {
      types.push_back(perBlock);
      memrefs.push_back(layout.scales);
    }
    if (layout.weightMins) {
      types.append({perBlock, panelFloats});
      memrefs.append({layout.weightMins, layout.panelMins});
    }
    const int64_t memrefCount = memrefs.size();
    Type indexType = b.getIndexType();
    types.append(5, indexType); // t, n0, tokens, C's row stride, the row of n0 in the weights
    auto strideName = [](int64_t v) { return ShapedType::isDynamic(v) ? std::string("d") : std::to_string(v); };
    StringRef prefix = format == tfc::QuantFormat::Q6_K ? "__tfc_q6_k_gemm_tile_"
                       : scaleMinFormat()                ? "__tfc_q4_k_gemm_tile_"
                                                         : "__tfc_q8_0_gemm_tile_";
    std::string name = prefix.str() + std::to_string(tn) + "_k" + std::to_string(count) + "_s" +
                       strideName(wStrides[0]) + "_" + strideName(wStrides[1]);
    auto fn = module.lookupSymbol<func::FuncOp>(name);
    if (!fn) {
      OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
      fn = mb.create<func::FuncOp>(loc, name, mb.getFunctionType(types, {}));
      fn.setPrivate();
      // Its memref arguments are used only during the call, so the buffers
      // passed to it can live in the arena (tfc-plan-activations).
      fn->setAttr("tfc.no_capture", mb.getUnitAttr());
      Block *entry = fn.addEntryBlock();
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(entry);
      Value savedW = w, savedC = c;
      w = entry->getArgument(3);
      c = entry->getArgument(4);
      TileLayout inner = layout;
      int64_t next = 5;
      if (layout.scales)
        inner.scales = entry->getArgument(next++);
      if (layout.weightMins) {
        inner.weightMins = entry->getArgument(next++);
        inner.panelMins = entry->getArgument(next++);
      }
      auto scalar = [&](int64_t i) { return entry->getArgument(memrefCount + i); };
      gemmTile(scalar(0), scalar(1), tn, scalar(2), entry->getArgument(0), entry->getArgument(1),
               entry->getArgument(2), dot512, scalar(3), inner, scalar(4));
      b.create<func::ReturnOp>(loc);
      w = savedW;
      c = savedC;
    }
    SmallVector<Value> args;
    for (int64_t i = 0; i < memrefCount; ++i)
      args.push_back(b.create<memref::CastOp>(loc, types[i], memrefs[i]));
    args.append({operands[3], operands[4], operands[5], index(cRowStride), operands[6]});
    b.create<func::CallOp>(loc, fn, args);
  }

  /// One int8 GEMM tile: weight rows [n0, n0 + tn) × the 32 tokens of panel t.
  void gemmTile(Value t, Value n0, int64_t tn, Value tokens, Value packed, Value packedScales,
                Value offsets, func::FuncOp dot512, Value cRowStride, const TileLayout &layout,
                Value wRow0) {
    constexpr int64_t vectors = 2, width = 16;
    const int64_t steps = layout.elements / 4, blockCount = layout.blockCount;
    Type i32 = b.getI32Type(), f32 = b.getF32Type();
    auto lanes = VectorType::get({width}, i32);
    auto lanesF = VectorType::get({width}, f32);
    // ns: the rows of C and of the starts; wns: the same rows in the weights.
    SmallVector<Value> ns, wns;
    for (int64_t i = 0; i < tn; ++i) {
      ns.push_back(i ? b.create<arith::AddIOp>(loc, n0, index(i)).getResult() : n0);
      wns.push_back(i ? b.create<arith::AddIOp>(loc, wRow0, index(i)).getResult() : wRow0);
    }
    Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(lanesF));
    SmallVector<Value> inits(tn * vectors, zero);
    auto dword = VectorType::get({4}, b.getI8Type());
    auto oneWord = VectorType::get({1}, i32);
    // Blocks `blks` (interleaved step by step), their i32 sums scaled into accs.
    auto blockBody = [&](OpBuilder &nb, ArrayRef<Value> blks, ValueRange accs) {
      const int64_t unroll = blks.size();
      // isum[(u * tn + i) * vectors + v]: block u, row i, token vector v.
      SmallVector<Value> isum;
      for (Value blk : blks)
        for (Value n : ns) {
          Value start = nb.create<vector::BroadcastOp>(
              loc, lanes, nb.create<memref::LoadOp>(loc, offsets, ValueRange{n, blk}));
          isum.append(vectors, start);
        }
      for (int64_t s = 0; s < steps; ++s)
        for (int64_t u = 0; u < unroll; ++u) {
          SmallVector<Value> av;
          for (int64_t v = 0; v < vectors; ++v)
            av.push_back(nb.create<vector::LoadOp>(
                loc, lanes, packed, ValueRange{t, blks[u], index(s), index(width * v)}));
          for (int64_t i = 0; i < tn; ++i) {
            Value bytes = nb.create<vector::LoadOp>(loc, dword, w,
                                                    ValueRange{wns[i], blks[u],
                                                               index(layout.valueOffset + 4 * s)});
            Value word = nb.create<vector::ExtractOp>(
                loc, nb.create<vector::BitCastOp>(loc, oneWord, bytes), 0);
            Value wv = nb.create<vector::BroadcastOp>(loc, lanes, word);
            for (int64_t v = 0; v < vectors; ++v) {
              Value &sum = isum[(u * tn + i) * vectors + v];
              sum = nb.create<func::CallOp>(loc, dot512, ValueRange{sum, av[v], wv}).getResult(0);
            }
          }
        }
      SmallVector<Value> out(accs.begin(), accs.end());
      for (int64_t u = 0; u < unroll; ++u) {
        SmallVector<Value> scaleA, minsA;
        for (int64_t v = 0; v < vectors; ++v) {
          scaleA.push_back(nb.create<vector::LoadOp>(loc, lanesF, packedScales,
                                                     ValueRange{t, blks[u], index(width * v)}));
          if (layout.panelMins)
            minsA.push_back(nb.create<vector::LoadOp>(loc, lanesF, layout.panelMins,
                                                      ValueRange{t, blks[u], index(width * v)}));
        }
        for (int64_t i = 0; i < tn; ++i) {
          Value scalar = layout.scales
                             ? nb.create<memref::LoadOp>(loc, layout.scales, ValueRange{wns[i], blks[u]})
                                   .getResult()
                             : weightScale(nb, wns[i], blks[u]);
          Value scaleW = nb.create<vector::BroadcastOp>(loc, lanesF, scalar);
          Value minW = layout.weightMins
                           ? nb.create<vector::BroadcastOp>(
                                   loc, lanesF,
                                   nb.create<memref::LoadOp>(loc, layout.weightMins,
                                                             ValueRange{wns[i], blks[u]}))
                                 .getResult()
                           : Value();
          for (int64_t v = 0; v < vectors; ++v) {
            Value partial = nb.create<arith::MulFOp>(
                loc, nb.create<arith::SIToFPOp>(loc, lanesF, isum[(u * tn + i) * vectors + v]),
                scaleA[v]);
            Value &acc = out[i * vectors + v];
            acc = nb.create<vector::FMAOp>(loc, partial, scaleW, acc);
            if (minW)
              acc = nb.create<vector::FMAOp>(loc, minsA[v], minW, acc);
          }
        }
      }
      return out;
    };
    // Blocks in pairs where the tile is small enough for two blocks' i32
    // sums in registers: twice the independent vpdpbusd chains (each
    // block's eight steps are a chain of 5-cycle latencies).
    const int64_t unroll = tn * vectors * 3 <= 24 ? 2 : 1;
    const int64_t mainBlocks = blockCount - blockCount % unroll;
    auto pairs = b.create<scf::ForOp>(
        loc, index(0), index(mainBlocks), index(unroll), inits,
        [&](OpBuilder &nb, Location, Value blk, ValueRange accs) {
          SmallVector<Value> blks{blk};
          for (int64_t u = 1; u < unroll; ++u)
            blks.push_back(nb.create<arith::AddIOp>(loc, blk, index(u)));
          nb.create<scf::YieldOp>(loc, blockBody(nb, blks, accs));
        });
    ValueRange results = pairs.getResults();
    if (mainBlocks < blockCount)
      results = b.create<scf::ForOp>(
                     loc, index(mainBlocks), index(blockCount), index(1), results,
                     [&](OpBuilder &nb, Location, Value blk, ValueRange accs) {
                       nb.create<scf::YieldOp>(loc, blockBody(nb, {blk}, accs));
                     })
                    .getResults();
    // C[m, n] += the tile, down the columns (lanes are tokens, cRowStride apart).
    SmallVector<int32_t> laneIds;
    for (int64_t lane = 0; lane < width; ++lane)
      laneIds.push_back(static_cast<int32_t>(lane));
    Value ids = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(lanes, ArrayRef(laneIds)));
    Value offsetsVec = b.create<arith::MulIOp>(
        loc, ids,
        b.create<vector::BroadcastOp>(loc, lanes, b.create<arith::IndexCastOp>(loc, i32, cRowStride)));
    Value tokens32 = b.create<arith::IndexCastOp>(loc, i32, tokens);
    Value m0 = b.create<arith::MulIOp>(loc, t, index(32));
    for (int64_t v = 0; v < vectors; ++v) {
      Value first = b.create<arith::AddIOp>(loc, m0, index(v * width));
      Value first32 = b.create<arith::IndexCastOp>(loc, i32, first);
      Value mask = b.create<arith::CmpIOp>(
          loc, arith::CmpIPredicate::slt,
          b.create<arith::AddIOp>(loc, ids, b.create<vector::BroadcastOp>(loc, lanes, first32)),
          b.create<vector::BroadcastOp>(loc, lanes, tokens32));
      for (int64_t i = 0; i < tn; ++i) {
        Value old = b.create<vector::GatherOp>(loc, lanesF, c, ValueRange{first, ns[i]}, offsetsVec,
                                               mask, zero);
        Value sum = b.create<arith::AddFOp>(loc, old, results[i * vectors + v]);
        b.create<vector::ScatterOp>(loc, c, ValueRange{first, ns[i]}, offsetsVec, mask, sum);
      }
    }
  }

  /// `factor` · the sums of the four bytes of each i32 lane of q
  /// (vector<32xi8>): the dot product of q with ones.
  Value offsetSums(OpBuilder &kb, Value q, int64_t factor) {
    return kb.create<arith::MulIOp>(loc, dotProduct(kb, splat(kb, lanes8, 1), q, Value()),
                                    splat(kb, sums, factor));
  }

  /// The integer vector of `type` with every element `v`.
  Value splat(OpBuilder &nb, VectorType type, int64_t v) {
    APInt value(type.getElementTypeBitWidth(), v, /*isSigned=*/true);
    return nb.create<arith::ConstantOp>(loc, DenseElementsAttr::get(type, value));
  }

  Value roundDown(Value v, int64_t step) {
    return b.create<arith::MulIOp>(loc, b.create<arith::DivUIOp>(loc, v, index(step)), index(step));
  }

  /// `for i in [lo, hi) step s: body(i)`, with `b` inserting into the body.
  void forLoop(OpBuilder &at, Value lo, Value hi, int64_t step,
               llvm::function_ref<void(OpBuilder &, Value)> body) {
    at.create<scf::ForOp>(loc, lo, hi, index(step), ValueRange{},
                          [&](OpBuilder &nb, Location, Value i, ValueRange) {
                            OpBuilder::InsertionGuard g(b);
                            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                            body(b, i);
                            b.create<scf::YieldOp>(loc);
                          });
  }

  /// The scale of block `blk` of weight row `n`: the little-endian f16 at
  /// byte `at` (its first two bytes, but for Q6_K).
  Value weightScale(OpBuilder &nb, Value n, Value blk, int64_t at = 0) {
    Type i16 = nb.getI16Type();
    auto byte = [&](int64_t i) {
      Value v = nb.create<memref::LoadOp>(loc, w, ValueRange{n, blk, index(at + i)});
      return nb.create<arith::ExtUIOp>(loc, i16, v).getResult();
    };
    Value eight = nb.create<arith::ConstantOp>(loc, nb.getI16IntegerAttr(8));
    Value bits = nb.create<arith::OrIOp>(loc, byte(0), nb.create<arith::ShLIOp>(loc, byte(1), eight));
    return nb.create<arith::ExtFOp>(loc, nb.getF32Type(),
                                    nb.create<arith::BitcastOp>(loc, nb.getF16Type(), bits).getResult());
  }

  /// start + Σ_j ua[j] · sw[j] in eight i32 partial sums (ua unsigned, at
  /// most 127; sw signed, at most 127 in magnitude: no saturation on either
  /// path); a null `start` is zero.
  Value dotProduct(OpBuilder &nb, Value ua, Value sw, Value start) {
    if (vnni) {
      if (!start)
        start = nb.create<arith::ConstantOp>(loc, nb.getZeroAttr(sums));
      Value u = nb.create<vector::BitCastOp>(loc, sums, ua);
      Value s = nb.create<vector::BitCastOp>(loc, sums, sw);
      return nb.create<func::CallOp>(loc, dot, ValueRange{start, u, s}).getResult(0);
    }
    Value pairs = nb.create<func::CallOp>(loc, maddubs, ValueRange{ua, sw}).getResult(0);
    Value ones = splat(nb, cast<VectorType>(pairs.getType()), 1);
    Value sum = nb.create<func::CallOp>(loc, maddwd, ValueRange{pairs, ones}).getResult(0);
    return start ? nb.create<arith::AddIOp>(loc, sum, start).getResult() : sum;
  }

  /// The sixteen i16 sums of adjacent products ua[2i] sw[2i] + ua[2i + 1]
  /// sw[2i + 1] of vector<32xi8> ua (unsigned, at most 63) and sw (signed,
  /// at most 127 in magnitude): vpmaddubsw, whose saturation they cannot reach.
  Value pairProducts(OpBuilder &nb, Value ua, Value sw) {
    auto pairs = VectorType::get({16}, nb.getI16Type());
    func::FuncOp f = tfc::intrinsicDeclaration(module, "llvm.x86.avx2.pmadd.ub.sw",
                                               nb.getFunctionType({lanes8, lanes8}, {pairs}));
    return nb.create<func::CallOp>(loc, f, ValueRange{ua, sw}).getResult(0);
  }

  /// acc + the sums of adjacent products of the i16 vectors x and y
  /// (vector<16xi16>) in eight i32 lanes: vpdpwssd with VNNI, else vpmaddwd
  /// and an add.
  Value addWordProducts(OpBuilder &nb, Value acc, Value x, Value y) {
    if (vnni) {
      func::FuncOp f = tfc::intrinsicDeclaration(module, "llvm.x86.avx512.vpdpwssd.256",
                                                 nb.getFunctionType({sums, sums, sums}, {sums}));
      Value xs = nb.create<vector::BitCastOp>(loc, sums, x);
      Value ys = nb.create<vector::BitCastOp>(loc, sums, y);
      return nb.create<func::CallOp>(loc, f, ValueRange{acc, xs, ys}).getResult(0);
    }
    func::FuncOp f = tfc::intrinsicDeclaration(module, "llvm.x86.avx2.pmadd.wd",
                                               nb.getFunctionType({x.getType(), x.getType()}, {sums}));
    return nb.create<arith::AddIOp>(loc, acc, nb.create<func::CallOp>(loc, f, ValueRange{x, y}).getResult(0));
  }

  /// The 32 nibbles of Q4_0 block `blk` of row `n` in element order: the low
  /// nibbles of its 16 bytes, then the high ones (values 0..15, q + 8).
  Value nibbles(OpBuilder &nb, Value n, Value blk) {
    auto bytes = VectorType::get({kBlock / 2}, nb.getI8Type());
    Value packed = nb.create<vector::LoadOp>(loc, bytes, w, ValueRange{n, blk, index(2)});
    Value low = nb.create<arith::AndIOp>(loc, packed, splat(nb, bytes, 15));
    Value high = nb.create<arith::ShRUIOp>(loc, packed, splat(nb, bytes, 4));
    SmallVector<int64_t> order = llvm::to_vector(llvm::seq<int64_t>(0, kBlock));
    return nb.create<vector::ShuffleOp>(loc, low, high, order);
  }

  /// The 6-bit values (q + 32) of lanes 128 h + 32 g .. + 32 of Q6_K
  /// super-block `blk` of row `n`, g = 0..3: low nibbles from the 64 bytes at
  /// 64 h (g = 0, 1: low halves of the two 32-byte rows; 2, 3: high halves),
  /// high two bits from the 32 bytes at 128 + 32 h (bits 2g, 2g + 1).
  SmallVector<Value> sixBitValues(OpBuilder &nb, Value n, Value blk, int64_t h) {
    auto load = [&](int64_t at) {
      return nb.create<vector::LoadOp>(loc, lanes8, w, ValueRange{n, blk, index(at)}).getResult();
    };
    Value rows[2] = {load(64 * h), load(64 * h + 32)};
    Value high = load(kQ6_KHigh + 32 * h);
    SmallVector<Value> values;
    for (int64_t g = 0; g < 4; ++g) {
      Value row = rows[g % 2];
      Value low = g < 2 ? nb.create<arith::AndIOp>(loc, row, splat(nb, lanes8, 15)).getResult()
                        : nb.create<arith::ShRUIOp>(loc, row, splat(nb, lanes8, 4)).getResult();
      Value bits = nb.create<arith::AndIOp>(
          loc, nb.create<arith::ShRUIOp>(loc, high, splat(nb, lanes8, 2 * g)), splat(nb, lanes8, 3));
      values.push_back(nb.create<arith::OrIOp>(
          loc, low, nb.create<arith::ShLIOp>(loc, bits, splat(nb, lanes8, 4))));
    }
    return values;
  }

  /// One Q6_K tm x tn tile: per super-block, each 32-lane chunk's products
  /// of the values (q + 32, unsigned) with q_a summed in adjacent pairs to
  /// i16 (vpmaddubsw), the pairs multiplied by their sub-block's int8 scale
  /// (words 0-7 and 8-15: two sub-blocks of 16) and summed into the i32
  /// accumulator (vpdpwssd; vpmaddwd + vpaddd on AVX2). The + 32 cancels
  /// once per super-block: the accumulator starts at Σ_k (-32 · sc_k) · (the
  /// sum of q_a over sub-block k), one more vpdpwssd of the scales against
  /// the activations' sixteen group sums (sa). The i32 sums are scaled once by
  /// d_a · d_w into the f32 accumulators.
  SmallVector<Value> kernelQ6_K(ArrayRef<Value> ms, ArrayRef<Value> ns, ValueRange inits) {
    const int64_t tm = ms.size(), tn = ns.size();
    auto words = VectorType::get({16}, b.getI16Type());
    auto loop = b.create<scf::ForOp>(
        loc, index(0), index(blocks), index(1), inits,
        [&](OpBuilder &nb, Location, Value blk, ValueRange accs) {
          SmallVector<Value> scaleA, groupSums, scaleW, subScales, offsetScales;
          for (Value m : ms) {
            scaleA.push_back(nb.create<memref::LoadOp>(loc, da, ValueRange{m, blk}));
            groupSums.push_back(nb.create<vector::LoadOp>(loc, words, sa, ValueRange{m, blk, index(0)}));
          }
          for (Value n : ns) {
            scaleW.push_back(weightScale(nb, n, blk, kQ6_KScale));
            Value bytes = nb.create<vector::LoadOp>(loc, VectorType::get({16}, nb.getI8Type()), w,
                                                    ValueRange{n, blk, index(kQ6_KScales)});
            subScales.push_back(nb.create<arith::ExtSIOp>(loc, words, bytes));
            offsetScales.push_back(nb.create<arith::MulIOp>(loc, subScales.back(), splat(nb, words, -32)));
          }
          Value zero = nb.create<arith::ConstantOp>(loc, nb.getZeroAttr(sums));
          SmallVector<Value> isum;
          for (int64_t i = 0; i < tm; ++i)
            for (int64_t j = 0; j < tn; ++j)
              isum.push_back(addWordProducts(nb, zero, offsetScales[j], groupSums[i]));
          for (int64_t h = 0; h < 2; ++h) {
            SmallVector<SmallVector<Value>> values;
            for (Value n : ns)
              values.push_back(sixBitValues(nb, n, blk, h));
            for (int64_t g = 0; g < 4; ++g) {
              const int64_t chunk = 4 * h + g;
              SmallVector<Value> qaChunk;
              for (Value m : ms)
                qaChunk.push_back(nb.create<vector::LoadOp>(loc, lanes8, qa,
                                                            ValueRange{m, blk, index(chunk * kBlock)}));
              SmallVector<int64_t> pick(8, 2 * chunk);
              pick.append(8, 2 * chunk + 1);
              for (int64_t j = 0; j < tn; ++j) {
                Value scales = nb.create<vector::ShuffleOp>(loc, subScales[j], subScales[j], pick);
                for (int64_t i = 0; i < tm; ++i)
                  isum[i * tn + j] = addWordProducts(nb, isum[i * tn + j],
                                                     pairProducts(nb, values[j][g], qaChunk[i]), scales);
              }
            }
          }
          SmallVector<Value> out;
          for (int64_t i = 0; i < tm; ++i)
            for (int64_t j = 0; j < tn; ++j) {
              Value partial = nb.create<arith::SIToFPOp>(loc, floats, isum[i * tn + j]);
              Value scale = nb.create<vector::BroadcastOp>(
                  loc, floats, nb.create<arith::MulFOp>(loc, scaleA[i], scaleW[j]));
              out.push_back(nb.create<vector::FMAOp>(loc, partial, scale, accs[i * tn + j]));
            }
          nb.create<scf::YieldOp>(loc, out);
        });
    return loop.getResults();
  }

  /// The eight 6-bit scales and the eight mins of Q4_K super-block `blk` of
  /// row `n` as i8 (ggml's get_scale_min_k4 on its 12 packed bytes q):
  /// sub-block s < 4 has scale q[s] & 63 and min q[s + 4] & 63; s >= 4 has
  /// scale q[s + 4] & 15 and min q[s + 4] >> 4, each with the top two bits of
  /// q[s - 4] (scale) or q[s] (min) above them.
  std::pair<Value, Value> q4_kScalesAndMins(OpBuilder &nb, Value n, Value blk) {
    auto packedType = VectorType::get({12}, nb.getI8Type());
    auto eight = VectorType::get({8}, nb.getI8Type());
    auto constant = [&](ArrayRef<int8_t> v) {
      return nb.create<arith::ConstantOp>(loc, DenseIntElementsAttr::get(eight, v)).getResult();
    };
    Value q = nb.create<vector::LoadOp>(loc, packedType, w, ValueRange{n, blk, index(kQ4_KScales)});
    Value zeros = nb.create<arith::ConstantOp>(loc, nb.getZeroAttr(packedType));
    // Lane 12 of the shuffles is a zero (the first of `zeros`).
    auto pick = [&](ArrayRef<int64_t> lanes) {
      return nb.create<vector::ShuffleOp>(loc, q, zeros, lanes).getResult();
    };
    Value six = splat(nb, eight, 6), four = splat(nb, eight, 4);
    auto topBits = [&](Value v) {
      return nb.create<arith::ShLIOp>(loc, nb.create<arith::ShRUIOp>(loc, v, six), four).getResult();
    };
    Value lowMask = constant({63, 63, 63, 63, 15, 15, 15, 15});
    Value scales = nb.create<arith::OrIOp>(
        loc, nb.create<arith::AndIOp>(loc, pick({0, 1, 2, 3, 8, 9, 10, 11}), lowMask),
        topBits(pick({12, 12, 12, 12, 0, 1, 2, 3})));
    Value minLow = nb.create<arith::ShRUIOp>(loc, pick({4, 5, 6, 7, 8, 9, 10, 11}),
                                             constant({0, 0, 0, 0, 4, 4, 4, 4}));
    Value mins = nb.create<arith::OrIOp>(loc, nb.create<arith::AndIOp>(loc, minLow, lowMask),
                                         topBits(pick({12, 12, 12, 12, 4, 5, 6, 7})));
    return {scales, mins};
  }

  /// The values of sub-blocks 2 pair and 2 pair + 1 of Q4_K (Q5_K) super-block
  /// `blk` of row `n`, 32 unsigned bytes each: the low and the high nibbles of
  /// the 32 bytes of the pair, for Q5_K with the fifth bits of `fifthBits`
  /// (the super-block's 32 high-bit bytes) above them.
  std::pair<Value, Value> q4_kValues(OpBuilder &nb, Value n, Value blk, int64_t pair, Value fifthBits) {
    const int64_t nibbleBytes = fifthBits ? kQ5_KNibbles : kQ4_KNibbles;
    Value bytes = nb.create<vector::LoadOp>(loc, lanes8, w, ValueRange{n, blk, index(nibbleBytes + 32 * pair)});
    Value low = nb.create<arith::AndIOp>(loc, bytes, splat(nb, lanes8, 15));
    Value high = nb.create<arith::ShRUIOp>(loc, bytes, splat(nb, lanes8, 4));
    if (!fifthBits)
      return {low, high};
    // Sub-block 2 pair (2 pair + 1) has its fifth bits in bit 2 pair (2 pair
    // + 1) of the 32 high-bit bytes: 16 where set.
    auto fifth = [&](int64_t bit) {
      Value shifted = bit < 4 ? nb.create<arith::ShLIOp>(loc, fifthBits, splat(nb, lanes8, 4 - bit)).getResult()
                              : nb.create<arith::ShRUIOp>(loc, fifthBits, splat(nb, lanes8, bit - 4)).getResult();
      return nb.create<arith::AndIOp>(loc, shifted, splat(nb, lanes8, 16)).getResult();
    };
    return {nb.create<arith::OrIOp>(loc, low, fifth(2 * pair)),
            nb.create<arith::OrIOp>(loc, high, fifth(2 * pair + 1))};
  }

  /// One Q4_K (Q5_K) tm x tn tile: per super-block, each 32-lane sub-block's
  /// products of the unsigned nibbles (Q5_K: with the fifth bit above) with
  /// q_a summed in adjacent pairs to i16 (vpmaddubsw), whose pairs are then
  /// multiplied by the sub-block's 6-bit scale and summed into the i32
  /// accumulator in one instruction (vpdpwssd; vpmaddwd + vpaddd on AVX2):
  /// two instructions per sub-block where a dot product, a multiply by the
  /// scale (vpmulld, two micro-ops) and an add were four. The i32 sums are
  /// scaled once per super-block by d_a · d; then the mins' share, the i32
  /// products min_s · Σ q_a of the sub-block (eight lanes, one per
  /// sub-block) scaled by -d_a · dmin into the same f32 accumulators (their
  /// lanes are summed at the end).
  SmallVector<Value> kernelQ4_K(ArrayRef<Value> ms, ArrayRef<Value> ns, ValueRange inits) {
    const int64_t tm = ms.size(), tn = ns.size();
    const bool five = format == tfc::QuantFormat::Q5_K;
    auto loop = b.create<scf::ForOp>(
        loc, index(0), index(blocks), index(1), inits,
        [&](OpBuilder &nb, Location, Value blk, ValueRange accs) {
          SmallVector<Value> scaleA, sumsA, scaleW, minW, subScales, subMins, fifthBits;
          for (Value m : ms) {
            scaleA.push_back(nb.create<memref::LoadOp>(loc, da, ValueRange{m, blk}));
            sumsA.push_back(nb.create<vector::LoadOp>(loc, sums, sa, ValueRange{m, blk, index(0)}));
          }
          for (Value n : ns) {
            scaleW.push_back(weightScale(nb, n, blk));
            minW.push_back(weightScale(nb, n, blk, kQ4_KMin));
            auto [scales, mins] = q4_kScalesAndMins(nb, n, blk);
            subScales.push_back(nb.create<arith::ExtUIOp>(loc, VectorType::get({8}, nb.getI16Type()), scales));
            subMins.push_back(nb.create<arith::ExtUIOp>(loc, sums, mins));
            if (five)
              fifthBits.push_back(
                  nb.create<vector::LoadOp>(loc, lanes8, w, ValueRange{n, blk, index(kQ5_KHigh)}));
          }
          Value zero = nb.create<arith::ConstantOp>(loc, nb.getZeroAttr(sums));
          SmallVector<Value> isum(tm * tn, zero);
          for (int64_t pair = 0; pair < 4; ++pair) {
            SmallVector<Value> low, high;
            for (auto indexed : llvm::enumerate(ns)) {
              auto [lowValues, highValues] =
                  q4_kValues(nb, indexed.value(), blk, pair, five ? fifthBits[indexed.index()] : Value());
              low.push_back(lowValues);
              high.push_back(highValues);
            }
            for (int64_t half = 0; half < 2; ++half) {
              const int64_t sub = 2 * pair + half;
              SmallVector<Value> qaSub;
              for (Value m : ms)
                qaSub.push_back(
                    nb.create<vector::LoadOp>(loc, lanes8, qa, ValueRange{m, blk, index(sub * kBlock)}));
              SmallVector<int64_t> lane(16, sub);
              for (int64_t j = 0; j < tn; ++j) {
                Value scale = nb.create<vector::ShuffleOp>(loc, subScales[j], subScales[j], lane);
                Value nib = half ? high[j] : low[j];
                for (int64_t i = 0; i < tm; ++i)
                  isum[i * tn + j] = addWordProducts(nb, isum[i * tn + j], pairProducts(nb, nib, qaSub[i]), scale);
              }
            }
          }
          SmallVector<Value> out;
          for (int64_t i = 0; i < tm; ++i)
            for (int64_t j = 0; j < tn; ++j) {
              Value partial = nb.create<arith::SIToFPOp>(loc, floats, isum[i * tn + j]);
              Value scale = nb.create<vector::BroadcastOp>(
                  loc, floats, nb.create<arith::MulFOp>(loc, scaleA[i], scaleW[j]));
              Value acc = nb.create<vector::FMAOp>(loc, partial, scale, accs[i * tn + j]);
              Value minSums = nb.create<arith::SIToFPOp>(
                  loc, floats, nb.create<arith::MulIOp>(loc, subMins[j], sumsA[i]));
              Value minScale = nb.create<vector::BroadcastOp>(
                  loc, floats,
                  nb.create<arith::NegFOp>(loc, nb.create<arith::MulFOp>(loc, scaleA[i], minW[j])));
              out.push_back(nb.create<vector::FMAOp>(loc, minSums, minScale, acc));
            }
          nb.create<scf::YieldOp>(loc, out);
        });
    return loop.getResults();
  }

  /// One token against the rows `ns` (a multiple of 4), Q4_K or Q5_K on
  /// 512-bit vectors. Per super-block:
  ///  - the token's operands, shared by the rows: its 256 values as four
  ///    vectors of two 32-value sub-blocks each, in the order a row's 64
  ///    nibble bytes give them (bytes 0-63: low nibbles = sub-blocks 0 and
  ///    2, high nibbles = 1 and 3; bytes 64-127: 4, 6 and 5, 7); its scale;
  ///    its eight sub-block sums in i16, four times over.
  ///  - per four rows, their 16-byte headers (d, dmin, the 12 packed bytes)
  ///    in one vector, the scales and mins of all four unpacked at once with
  ///    in-lane byte shuffles and masks (q4_kScalesAndMins' arithmetic).
  ///  - per row, two 64-byte loads, four value vectors (and, shift; Q5_K:
  ///    the fifth bit or-ed in under a byte mask), and per value vector one
  ///    vpmaddubsw (pairs of products in i16) and one vpdpwssd against its
  ///    two sub-blocks' scales as i16 (an in-lane byte shuffle of a vector
  ///    that holds the scales of two rows in every 128-bit lane).
  ///  - per four rows, their i32 sums added down to four lanes per row (in
  ///    i32, exact: at most 64 products of 6-bit scales, 5-bit values and
  ///    int8 activations, below 2^24 so that the conversion is exact too),
  ///    converted and scaled by d_a · d of each row in one FMA into the
  ///    group's f32 accumulator (lanes 4r .. 4r + 3: row r); the mins' share
  ///    Σ_s m_s · (the token's sum over sub-block s) of the four rows in one
  ///    vpdpwssd (the same lanes), scaled by -d_a · dmin into it too.
  /// The same integers as kernelQ4_K's, summed in another order in f32; one
  /// accumulator per four rows, so that 16 rows' tiles fit the registers.
  SmallVector<Value> kernelQ4_KWide(Value m, ArrayRef<Value> ns) {
    const int64_t tn = ns.size(), groups = tn / 4;
    const bool five = format == tfc::QuantFormat::Q5_K;
    const int64_t nibbleBytes = five ? kQ5_KNibbles : kQ4_KNibbles;
    Type i8 = b.getI8Type(), i16 = b.getI16Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
    auto bytes64 = VectorType::get({64}, i8), bytes32 = VectorType::get({32}, i8);
    auto words = VectorType::get({32}, i16), lanes = VectorType::get({16}, i32);
    auto lanesF = VectorType::get({16}, f32);
    func::FuncOp maddubs512 = tfc::intrinsicDeclaration(module, "llvm.x86.avx512.pmaddubs.w.512",
                                                        b.getFunctionType({bytes64, bytes64}, {words}));
    func::FuncOp dpwssd512 = tfc::intrinsicDeclaration(module, "llvm.x86.avx512.vpdpwssd.512",
                                                       b.getFunctionType({lanes, lanes, lanes}, {lanes}));
    // The same 16 bytes in each 128-bit lane.
    auto laneConst = [&](OpBuilder &nb, llvm::function_ref<int8_t(int64_t)> perByte) {
      SmallVector<int8_t> all;
      for (int64_t i = 0; i < 64; ++i)
        all.push_back(perByte(i % 16));
      return nb.create<arith::ConstantOp>(loc, DenseIntElementsAttr::get(bytes64, ArrayRef(all))).getResult();
    };
    auto zeros64 = [&](OpBuilder &nb) { return nb.create<arith::ConstantOp>(loc, nb.getZeroAttr(bytes64)); };
    // Lanes of `of` index the concatenation of v and zeros (64 and up: zero).
    auto pick = [&](OpBuilder &nb, Value v, ArrayRef<int64_t> of) {
      return nb.create<vector::ShuffleOp>(loc, v, zeros64(nb), of).getResult();
    };
    auto inLanes = [](llvm::function_ref<int64_t(int64_t, int64_t)> perByte) {
      SmallVector<int64_t> idx;
      for (int64_t i = 0; i < 64; ++i) {
        int64_t v = perByte(i / 16, i % 16);
        idx.push_back(v < 0 ? 64 : 16 * (i / 16) + v);
      }
      return idx;
    };
    // Lane r of the headers is row r's h[0..15] (q[i] = h[4 + i] packed);
    // unpacked, scales s = 0..7 in bytes 0-7 and mins in bytes 8-15: the
    // byte with the low bits (low), masked or shifted, or-ed with the top
    // two bits of another byte (top, zero where none) shifted to bits 4, 5.
    SmallVector<int64_t> pickLow =
        inLanes([](int64_t, int64_t j) { return j < 4 ? 4 + j : j < 8 ? 8 + j : j; });
    SmallVector<int64_t> pickTop = inLanes(
        [](int64_t, int64_t j) { return j < 4 || (j >= 8 && j < 12) ? -1 : j < 8 ? j : j - 4; });
    // Per four rows: d and dmin as f16 (lanes 4r .. 4r + 3: row r).
    SmallVector<int64_t> pickD, pickDMin;
    for (int64_t l = 0; l < 16; ++l) {
      pickD.append({16 * (l / 4), 16 * (l / 4) + 1});
      pickDMin.append({16 * (l / 4) + 2, 16 * (l / 4) + 3});
    }
    // Per two rows of four (p = 0, 1 of pair q): their scales in every
    // 128-bit lane (bytes 0-7 and 8-15), and per value vector k the
    // scales' bytes as i16 words: words 0-15 sub-block `first`, 16-31
    // `first + 2`.
    auto pairScales = [&](int64_t q) {
      SmallVector<int64_t> idx;
      for (int64_t i = 0; i < 64; ++i)
        idx.push_back(16 * (2 * q + (i % 16) / 8) + i % 8);
      return idx;
    };
    auto scaleWords = [&](int64_t p, int64_t first) {
      return inLanes([=](int64_t lane, int64_t j) { return j % 2 ? -1 : 8 * p + first + 2 * (lane / 2); });
    };
    // Sums of lanes down to four per row: halves of two rows, then quarters.
    auto addShuffled = [&](OpBuilder &nb, Value x, Value y, ArrayRef<int64_t> lo, ArrayRef<int64_t> hi) {
      return nb.create<arith::AddIOp>(loc, nb.create<vector::ShuffleOp>(loc, x, y, lo),
                                      nb.create<vector::ShuffleOp>(loc, x, y, hi))
          .getResult();
    };
    SmallVector<int64_t> halfLo, halfHi, quarterLo, quarterHi;
    for (int64_t i = 0; i < 16; ++i) {
      halfLo.push_back(i % 8 + (i / 8) * 16);
      halfHi.push_back(i % 8 + 8 + (i / 8) * 16);
      quarterLo.push_back(i % 4 + (i / 4) * 8);
      quarterHi.push_back(i % 4 + 4 + (i / 4) * 8);
    }
    SmallVector<Value> inits(groups, b.create<arith::ConstantOp>(loc, b.getZeroAttr(lanesF)));
    auto loop = b.create<scf::ForOp>(
        loc, index(0), index(blocks), index(1), inits,
        [&](OpBuilder &nb, Location, Value blk, ValueRange accs) {
          prefetchConsecutiveAhead(nb, ns, blk, kScaleMinPrefetch, {0, 64, 128});
          auto concat = [&](Value x, Value y) {
            int64_t width = cast<VectorType>(x.getType()).getNumElements();
            return nb.create<vector::ShuffleOp>(loc, x, y, llvm::to_vector(llvm::seq<int64_t>(0, 2 * width)))
                .getResult();
          };
          // The token's operands.
          auto subBlock = [&](int64_t s) {
            return nb.create<vector::LoadOp>(loc, bytes32, qa, ValueRange{m, blk, index(kBlock * s)}).getResult();
          };
          Value acts[4];
          for (int64_t k = 0; k < 4; ++k) {
            const int64_t first = 4 * (k / 2) + k % 2;
            acts[k] = concat(subBlock(first), subBlock(first + 2));
          }
          Value scaleA = nb.create<vector::BroadcastOp>(
              loc, lanesF, nb.create<memref::LoadOp>(loc, da, ValueRange{m, blk}));
          Value subSums = nb.create<arith::TruncIOp>(
              loc, VectorType::get({8}, i16),
              nb.create<vector::LoadOp>(loc, VectorType::get({8}, i32), sa, ValueRange{m, blk, index(0)}));
          SmallVector<int64_t> fourTimes;
          for (int64_t wd = 0; wd < 32; ++wd)
            fourTimes.push_back(wd % 8);
          Value sumWords = nb.create<vector::BitCastOp>(
              loc, lanes, nb.create<vector::ShuffleOp>(loc, subSums, subSums, fourTimes));
          Value zeroSums = nb.create<arith::ConstantOp>(loc, nb.getZeroAttr(lanes));
          SmallVector<Value> out;
          for (int64_t g = 0; g < groups; ++g) {
            ArrayRef<Value> rows = ns.slice(4 * g, 4);
            Value headers[4];
            for (int64_t r = 0; r < 4; ++r)
              headers[r] = nb.create<vector::LoadOp>(loc, VectorType::get({16}, i8), w,
                                                     ValueRange{rows[r], blk, index(0)});
            Value h = concat(concat(headers[0], headers[1]), concat(headers[2], headers[3]));
            Value low = pick(nb, h, pickLow), top = pick(nb, h, pickTop);
            Value lowMask = laneConst(nb, [](int64_t j) -> int8_t { return j < 4 || (j >= 8 && j < 12) ? 63 : j < 8 ? 15 : 0; });
            Value highNibble = laneConst(nb, [](int64_t j) -> int8_t { return j >= 12 ? 15 : 0; });
            Value unpacked = nb.create<arith::OrIOp>(
                loc,
                nb.create<arith::OrIOp>(
                    loc, nb.create<arith::AndIOp>(loc, low, lowMask),
                    nb.create<arith::AndIOp>(loc, nb.create<arith::ShRUIOp>(loc, low, splat(nb, bytes64, 4)),
                                             highNibble)),
                nb.create<arith::ShLIOp>(loc, nb.create<arith::ShRUIOp>(loc, top, splat(nb, bytes64, 6)),
                                         splat(nb, bytes64, 4)));
            auto halves = [&](ArrayRef<int64_t> of) {
              auto halfType = VectorType::get({16}, nb.getF16Type());
              Value bits = nb.create<vector::ShuffleOp>(loc, h, h, of);
              return nb.create<arith::ExtFOp>(loc, lanesF,
                                              nb.create<vector::BitCastOp>(loc, halfType, bits).getResult())
                  .getResult();
            };
            // The mins as i16 words (8r .. 8r + 7: row r) against the sums.
            SmallVector<int64_t> pickMins;
            for (int64_t wd = 0; wd < 32; ++wd)
              pickMins.append({16 * (wd / 8) + 8 + wd % 8, 64});
            Value mins = nb.create<vector::BitCastOp>(loc, lanes, pick(nb, unpacked, pickMins));
            Value minSums =
                nb.create<func::CallOp>(loc, dpwssd512, ValueRange{zeroSums, mins, sumWords}).getResult(0);
            SmallVector<Value> rowSums;
            for (int64_t q = 0; q < 2; ++q) {
              Value twoRows = nb.create<vector::ShuffleOp>(loc, unpacked, unpacked, pairScales(q));
              for (int64_t p = 0; p < 2; ++p) {
                Value n = rows[2 * q + p];
                Value fifthBits;
                if (five) {
                  Value qh = nb.create<vector::LoadOp>(loc, bytes32, w, ValueRange{n, blk, index(kQ5_KHigh)});
                  fifthBits = concat(qh, qh);
                }
                Value isum = zeroSums;
                for (int64_t z = 0; z < 2; ++z) {
                  Value packed = nb.create<vector::LoadOp>(loc, bytes64, w,
                                                           ValueRange{n, blk, index(nibbleBytes + 64 * z)});
                  for (int64_t half = 0; half < 2; ++half) {
                    const int64_t k = 2 * z + half, first = 4 * z + half;
                    Value values =
                        half ? nb.create<arith::ShRUIOp>(loc, packed, splat(nb, bytes64, 4)).getResult()
                             : nb.create<arith::AndIOp>(loc, packed, splat(nb, bytes64, 15)).getResult();
                    if (five) {
                      // Sub-block s has its fifth bits in bit s of the 32 bytes.
                      SmallVector<int8_t> bit(32, int8_t(1 << first));
                      bit.append(32, int8_t(1 << (first + 2)));
                      Value mask =
                          nb.create<arith::ConstantOp>(loc, DenseIntElementsAttr::get(bytes64, ArrayRef(bit)));
                      Value set = nb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne,
                                                           nb.create<arith::AndIOp>(loc, fifthBits, mask),
                                                           zeros64(nb));
                      values = nb.create<arith::OrIOp>(
                          loc, values,
                          nb.create<arith::SelectOp>(loc, set, splat(nb, bytes64, 16), zeros64(nb)));
                    }
                    Value scales =
                        nb.create<vector::BitCastOp>(loc, lanes, pick(nb, twoRows, scaleWords(p, first)));
                    Value pairs =
                        nb.create<func::CallOp>(loc, maddubs512, ValueRange{values, acts[k]}).getResult(0);
                    isum = nb.create<func::CallOp>(
                                   loc, dpwssd512,
                                   ValueRange{isum, nb.create<vector::BitCastOp>(loc, lanes, pairs), scales})
                               .getResult(0);
                  }
                }
                rowSums.push_back(isum);
              }
            }
            Value sums4 = addShuffled(nb, addShuffled(nb, rowSums[0], rowSums[1], halfLo, halfHi),
                                      addShuffled(nb, rowSums[2], rowSums[3], halfLo, halfHi), quarterLo,
                                      quarterHi);
            Value rowScales = nb.create<arith::MulFOp>(loc, halves(pickD), scaleA);
            Value minScales =
                nb.create<arith::MulFOp>(loc, halves(pickDMin), nb.create<arith::NegFOp>(loc, scaleA));
            Value acc = nb.create<vector::FMAOp>(loc, nb.create<arith::SIToFPOp>(loc, lanesF, sums4), rowScales,
                                                 accs[g]);
            out.push_back(nb.create<vector::FMAOp>(loc, nb.create<arith::SIToFPOp>(loc, lanesF, minSums),
                                                   minScales, acc));
          }
          nb.create<scf::YieldOp>(loc, out);
        });
    // Row j: lanes 4 (j % 4) .. + 3 of its group's accumulator.
    SmallVector<Value> results;
    for (int64_t j = 0; j < tn; ++j)
      results.push_back(b.create<vector::ExtractStridedSliceOp>(loc, loop.getResult(j / 4),
                                                                ArrayRef<int64_t>{4 * (j % 4)},
                                                                ArrayRef<int64_t>{4}, ArrayRef<int64_t>{1}));
    return results;
  }

  /// One token against the rows `ns` (kWideQ6_KRows of them), Q6_K on
  /// 512-bit vectors. Per super-block and half h (128 values), the token's
  /// values are two contiguous 64-byte loads; a row's 64 bytes of low bits
  /// (ql) give the values' low nibbles for both (and, shift), its 32 bytes
  /// of high bits (qh, in both 256-bit halves) their bits 4-5 (shifted per
  /// 16-bit word by 4 | 2, resp. 0 | -2, masked with 0x30): 6-bit values
  /// q + 32, unsigned. Each vector's products with the token's values are
  /// summed in pairs to i16 (vpmaddubsw) and multiplied by the four
  /// sub-blocks' int8 scales as words (a word permutation of the row's 16
  /// sign-extended scales) into the i32 sums (vpdpwssd), which start at
  /// (-32 · the scales) against the token's 16 group sums (the + 32
  /// cancelled); converted and scaled by d_a · d once per super-block into
  /// the row's f32 accumulator. The same integers as kernelQ6_K's.
  SmallVector<Value> kernelQ6_KWide(Value m, ArrayRef<Value> ns) {
    const int64_t tn = ns.size();
    Type i8 = b.getI8Type(), i16 = b.getI16Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
    auto bytes64 = VectorType::get({64}, i8), bytes32 = VectorType::get({32}, i8);
    auto words = VectorType::get({32}, i16), words16 = VectorType::get({16}, i16);
    auto lanes = VectorType::get({16}, i32), lanesF = VectorType::get({16}, f32);
    func::FuncOp maddubs512 = tfc::intrinsicDeclaration(module, "llvm.x86.avx512.pmaddubs.w.512",
                                                        b.getFunctionType({bytes64, bytes64}, {words}));
    func::FuncOp dpwssd512 = tfc::intrinsicDeclaration(module, "llvm.x86.avx512.vpdpwssd.512",
                                                       b.getFunctionType({lanes, lanes, lanes}, {lanes}));
    auto wordsConst = [&](OpBuilder &nb, int64_t low, int64_t high) {
      SmallVector<int16_t> v(16, int16_t(low));
      v.append(16, int16_t(high));
      return nb.create<arith::ConstantOp>(loc, DenseIntElementsAttr::get(words, ArrayRef(v))).getResult();
    };
    SmallVector<Value> inits(tn, b.create<arith::ConstantOp>(loc, b.getZeroAttr(lanesF)));
    auto loop = b.create<scf::ForOp>(
        loc, index(0), index(blocks), index(1), inits,
        [&](OpBuilder &nb, Location, Value blk, ValueRange accs) {
          prefetchConsecutiveAhead(nb, ns, blk, kScaleMinPrefetch, {0, 64, 128, 192});
          auto concat = [&](Value x, Value y) {
            int64_t width = cast<VectorType>(x.getType()).getNumElements();
            return nb.create<vector::ShuffleOp>(loc, x, y, llvm::to_vector(llvm::seq<int64_t>(0, 2 * width)))
                .getResult();
          };
          Value acts[4];
          for (int64_t k = 0; k < 4; ++k)
            acts[k] = nb.create<vector::LoadOp>(loc, bytes64, qa, ValueRange{m, blk, index(64 * k)});
          Value scaleA = nb.create<memref::LoadOp>(loc, da, ValueRange{m, blk});
          Value zero16 = nb.create<arith::ConstantOp>(loc, nb.getZeroAttr(words16));
          Value groupSums = nb.create<vector::BitCastOp>(
              loc, lanes,
              concat(nb.create<vector::LoadOp>(loc, words16, sa, ValueRange{m, blk, index(0)}), zero16));
          Value zeroSums = nb.create<arith::ConstantOp>(loc, nb.getZeroAttr(lanes));
          Value mask15 = splat(nb, bytes64, 15), mask48 = splat(nb, bytes64, 0x30);
          SmallVector<Value> out;
          for (int64_t j = 0; j < tn; ++j) {
            Value n = ns[j];
            Value scales = nb.create<arith::ExtSIOp>(
                loc, words16,
                nb.create<vector::LoadOp>(loc, VectorType::get({16}, i8), w, ValueRange{n, blk, index(kQ6_KScales)}));
            Value offsets = nb.create<arith::MulIOp>(loc, scales, splat(nb, words16, -32));
            Value isum = nb.create<func::CallOp>(
                             loc, dpwssd512,
                             ValueRange{zeroSums, nb.create<vector::BitCastOp>(loc, lanes, concat(offsets, zero16)),
                                        groupSums})
                             .getResult(0);
            for (int64_t h = 0; h < 2; ++h) {
              Value low = nb.create<vector::LoadOp>(loc, bytes64, w, ValueRange{n, blk, index(64 * h)});
              Value qh = nb.create<vector::LoadOp>(loc, bytes32, w, ValueRange{n, blk, index(kQ6_KHigh + 32 * h)});
              Value high = nb.create<vector::BitCastOp>(loc, words, concat(qh, qh));
              for (int64_t part = 0; part < 2; ++part) {
                // Values 128 h + 64 part .. + 63: sub-blocks 8 h + 4 part .. + 3.
                Value nibble = part ? nb.create<arith::ShRUIOp>(loc, low, splat(nb, bytes64, 4)).getResult()
                                    : nb.create<arith::AndIOp>(loc, low, mask15).getResult();
                // Bits 2 (2 part) and 2 (2 part + 1) of qh up to bits 4-5.
                Value shifted = part ? nb.create<arith::ShRUIOp>(loc, high, wordsConst(nb, 0, 2)).getResult()
                                     : nb.create<arith::ShLIOp>(loc, high, wordsConst(nb, 4, 2)).getResult();
                Value top = nb.create<arith::AndIOp>(loc, nb.create<vector::BitCastOp>(loc, bytes64, shifted), mask48);
                Value values = nb.create<arith::OrIOp>(loc, nibble, top);
                SmallVector<int64_t> pickScales;
                for (int64_t wd = 0; wd < 32; ++wd)
                  pickScales.push_back(8 * h + 4 * part + wd / 8);
                Value subScales = nb.create<vector::BitCastOp>(
                    loc, lanes, nb.create<vector::ShuffleOp>(loc, scales, scales, pickScales));
                Value pairs = nb.create<func::CallOp>(loc, maddubs512, ValueRange{values, acts[2 * h + part]})
                                  .getResult(0);
                isum = nb.create<func::CallOp>(
                               loc, dpwssd512,
                               ValueRange{isum, nb.create<vector::BitCastOp>(loc, lanes, pairs), subScales})
                           .getResult(0);
              }
            }
            Value scale = nb.create<vector::BroadcastOp>(
                loc, lanesF, nb.create<arith::MulFOp>(loc, scaleA, weightScale(nb, n, blk, kQ6_KScale)));
            out.push_back(
                nb.create<vector::FMAOp>(loc, nb.create<arith::SIToFPOp>(loc, lanesF, isum), scale, accs[j]));
          }
          nb.create<scf::YieldOp>(loc, out);
        });
    return loop.getResults();
  }

  /// One tm x tn tile at tokens [m0, m0 + tm), rows n0 + j · rowStep (j <
  /// tn; consecutive rows without rowStep); with `prefetch` (Q8_0, Q4_0,
  /// rows contiguous), each block step prefetches its rows ahead.
  void kernel(Value m0, Value n0, int64_t tm, int64_t tn, bool prefetch = false, Value rowStep = {}) {
    auto offsets = [&](Value base, int64_t count, Value step) {
      SmallVector<Value> v{base};
      for (int64_t i = 1; i < count; ++i)
        v.push_back(b.create<arith::AddIOp>(loc, v.back(), step ? step : index(1)));
      return v;
    };
    SmallVector<Value> ms = offsets(m0, tm, {}), ns = offsets(n0, tn, rowStep);
    Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(floats));
    SmallVector<Value> inits(tm * tn, zero);
    SmallVector<Value> results;
    // The tall one-token tiles only: the 4- and 1-row remainders keep the
    // 256-bit kernel (a few rows; each distinct kernel costs compile time).
    if (wide && tm == 1 && tn == decodeRows)
      results = quads ? kernelQuads(ms[0], ns, prefetch) : kernelPairs(ms[0], ns, prefetch);
    else if (wideScaleMin && tm == 1 && tn == decodeRows)
      results = kernelQ4_KWide(ms[0], ns);
    else if (wideQ6_K && tm == 1 && tn == decodeRows)
      results = kernelQ6_KWide(ms[0], ns);
    else
      results = format == tfc::QuantFormat::Q6_K ? kernelQ6_K(ms, ns, inits)
                : scaleMinFormat()              ? kernelQ4_K(ms, ns, inits)
                                                : kernelBlocks(ms, ns, inits, prefetch);
    for (int64_t i = 0; i < tm; ++i)
      for (int64_t j = 0; j < tn; ++j) {
        Value old = b.create<memref::LoadOp>(loc, c, ValueRange{ms[i], ns[j]});
        Value sum = b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, results[i * tn + j],
                                                  old, arith::FastMathFlags::reassoc);
        b.create<memref::StoreOp>(loc, sum, c, ValueRange{ms[i], ns[j]});
      }
  }

  /// Prefetches, for block step `blk` of a tile of the rows `ns`, each
  /// row's block kPrefetchBlocks ahead (at most a row ahead): past the end
  /// of a row, the first blocks of the next one (the rows are contiguous,
  /// so the flat view's column simply runs on; the next tile reads them).
  /// The tile's last row is also its highest: its prefetches are clamped to
  /// the matrix, so that none leaves the weights (the others stay below it).
  void prefetchAhead(OpBuilder &nb, ArrayRef<Value> ns, Value blk) {
    auto type = cast<MemRefType>(wFlat.getType());
    const int64_t rows = type.getDimSize(0), rowBytes = type.getDimSize(1);
    const int64_t blockBytes = rowBytes / blocks;
    if (!prefetch)
      prefetch = tfc::prefetchDeclaration(module,
                                          nb.getFunctionType({type, nb.getIndexType(), nb.getIndexType()}, {}));
    Value ahead = nb.create<arith::AddIOp>(loc, blk, index(std::min(kPrefetchBlocks, blocks)));
    Value column = nb.create<arith::MulIOp>(loc, ahead, index(blockBytes));
    Value rowsLeft = nb.create<arith::SubIOp>(loc, index(rows), ns.back());
    Value lastByte = nb.create<arith::SubIOp>(
        loc, nb.create<arith::MulIOp>(loc, rowsLeft, index(rowBytes)), index(1));
    for (auto [j, n] : llvm::enumerate(ns)) {
      Value at = j + 1 == ns.size() ? nb.create<arith::MinUIOp>(loc, column, lastByte).getResult() : column;
      nb.create<func::CallOp>(loc, prefetch, ValueRange{wFlat, n, at});
    }
  }

  /// The K-quant tiles' prefetch (their rows are consecutive, n0, n0 + 1,
  /// ...; the Q8_0/Q4_0 tiles' rows are far apart, see prefetchAhead): for
  /// block step `blk`, each row's super-block `distance` ahead (the cache
  /// lines at `byteOffsets` in it); past the end of the rows, the same place
  /// in the next tile's rows (the last tile's clamped to the last tn rows).
  /// One select for the tile, so that the rows' addresses are constant
  /// offsets of one base.
  void prefetchConsecutiveAhead(OpBuilder &nb, ArrayRef<Value> ns, Value blk, int64_t distance,
                                ArrayRef<int64_t> byteOffsets) {
    auto type = cast<MemRefType>(w.getType());
    const int64_t rows = type.getDimSize(0), tn = ns.size();
    if (!prefetch)
      prefetch = tfc::prefetchDeclaration(
          module, nb.getFunctionType({type, nb.getIndexType(), nb.getIndexType(), nb.getIndexType()}, {}));
    Value ahead = nb.create<arith::AddIOp>(loc, blk, index(distance));
    Value wraps = nb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, ahead, index(blocks));
    Value wrapped = nb.create<arith::MinUIOp>(
        loc, nb.create<arith::SubIOp>(loc, ahead, index(blocks)), index(blocks - 1));
    Value column = nb.create<arith::SelectOp>(loc, wraps, wrapped, ahead);
    Value nextTile = nb.create<arith::MinUIOp>(
        loc, nb.create<arith::AddIOp>(loc, ns.front(), index(tn)), index(rows - tn));
    Value first = nb.create<arith::SelectOp>(loc, wraps, nextTile, ns.front());
    for (int64_t j = 0; j < tn; ++j) {
      Value row = j ? nb.create<arith::AddIOp>(loc, first, index(j)).getResult() : first;
      for (int64_t offset : byteOffsets)
        nb.create<func::CallOp>(loc, prefetch, ValueRange{w, row, column, index(offset)});
    }
  }

  /// One token against the rows `ns`, Q4_0 on 512-bit vpdpbusd, four blocks
  /// (72 bytes) per step: one 64-byte load of a row and one of its last 8
  /// bytes, one byte permutation to the four blocks' 16 value bytes, whose
  /// low nibbles (elements 0-15 of each block) and high nibbles (16-31) are
  /// two unsigned operands against the token's values split the same way
  /// once per call (qaSplit); i32 lanes 4k..4k+3 sum block k, starting at
  /// saSplit (-8 · their q_a) so that the nibbles' + 8 cancels. The four f16
  /// scales come from the same load (words 0, 9, 18, 27), converted together
  /// and spread to their lanes by one word permutation; the token's scales
  /// are in daSplit. The blocks past the last four take kernelPairs.
  SmallVector<Value> kernelQuads(Value m, ArrayRef<Value> ns, bool prefetchRows) {
    const int64_t tn = ns.size(), groups = blocks / 4;
    Type i8 = b.getI8Type(), i16 = b.getI16Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
    auto bytes64 = VectorType::get({64}, i8);
    auto words = VectorType::get({32}, i16);
    auto lanes = VectorType::get({16}, i32);
    auto lanesF = VectorType::get({16}, f32);
    Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(lanesF));
    SmallVector<Value> inits(tn, zero);
    SmallVector<int64_t> valueBytes, scaleWords;
    for (int64_t k = 0; k < 4; ++k) {
      for (int64_t i = 0; i < 16; ++i)
        valueBytes.push_back(18 * k + 2 + i);
      scaleWords.append(4, 9 * k);
    }
    auto loop = b.create<scf::ForOp>(
        loc, index(0), index(groups), index(1), inits,
        [&](OpBuilder &nb, Location, Value g, ValueRange accs) {
          Value blk = nb.create<arith::MulIOp>(loc, g, index(4));
          if (prefetchRows) {
            // 72 bytes a step: a second line per row, 36 bytes on.
            prefetchAhead(nb, ns, blk);
            prefetchAhead(nb, ns, nb.create<arith::AddIOp>(loc, blk, index(2)));
          }
          Value lowA = nb.create<vector::LoadOp>(loc, bytes64, qaSplit, ValueRange{m, g, index(0)});
          Value highA = nb.create<vector::LoadOp>(loc, bytes64, qaSplit, ValueRange{m, g, index(64)});
          lowA = nb.create<vector::BitCastOp>(loc, lanes, lowA);
          highA = nb.create<vector::BitCastOp>(loc, lanes, highA);
          Value start = nb.create<vector::LoadOp>(loc, lanes, saSplit, ValueRange{m, g, index(0)});
          Value scaleA = nb.create<vector::LoadOp>(loc, lanesF, daSplit, ValueRange{m, g, index(0)});
          Value column = nb.create<arith::MulIOp>(loc, g, index(4 * (kBlock / 2 + 2)));
          Value columnTail = nb.create<arith::AddIOp>(loc, column, index(64));
          SmallVector<Value> out;
          for (auto [j, n] : llvm::enumerate(ns)) {
            Value raw = nb.create<vector::LoadOp>(loc, bytes64, wFlat, ValueRange{n, column});
            Value tail = nb.create<vector::LoadOp>(loc, VectorType::get({8}, i8), wFlat,
                                                   ValueRange{n, columnTail});
            Value values = nb.create<vector::ShuffleOp>(loc, raw, tail, valueBytes);
            Value low = nb.create<arith::AndIOp>(loc, values, splat(nb, bytes64, 15));
            Value high = nb.create<arith::ShRUIOp>(loc, nb.create<vector::BitCastOp>(loc, words, values),
                                                   splat(nb, words, 4));
            high = nb.create<arith::AndIOp>(loc, nb.create<vector::BitCastOp>(loc, bytes64, high),
                                            splat(nb, bytes64, 15));
            Value dotted = nb.create<func::CallOp>(
                                 loc, dot512,
                                 ValueRange{start, nb.create<vector::BitCastOp>(loc, lanes, low), lowA})
                               .getResult(0);
            dotted = nb.create<func::CallOp>(
                           loc, dot512,
                           ValueRange{dotted, nb.create<vector::BitCastOp>(loc, lanes, high), highA})
                         .getResult(0);
            Value rawWords = nb.create<vector::BitCastOp>(loc, words, raw);
            Value scaleBitsW = nb.create<vector::ShuffleOp>(loc, rawWords, rawWords, scaleWords);
            Value scaleW = nb.create<arith::ExtFOp>(
                loc, lanesF,
                nb.create<arith::BitcastOp>(loc, VectorType::get({16}, nb.getF16Type()), scaleBitsW)
                    .getResult());
            Value partial = nb.create<arith::MulFOp>(
                loc, nb.create<arith::SIToFPOp>(loc, lanesF, dotted), scaleA);
            out.push_back(nb.create<vector::FMAOp>(loc, partial, scaleW, accs[j]));
          }
          nb.create<scf::YieldOp>(loc, out);
        });
    if (4 * groups == blocks)
      return loop.getResults();
    return kernelPairs(m, ns, /*prefetchRows=*/false, 4 * groups, loop.getResults());
  }

  /// One token against the rows `ns` (Q8_0, Q4_0, 512-bit vpdpbusd): two
  /// blocks per instruction. Each row's two blocks of values become one
  /// 64-byte unsigned operand (Q8_0: q_w + 128, the sign bit flipped; Q4_0:
  /// each block's 16 bytes twice, shifted by 0 and 4 within 16-bit words and
  /// masked, its nibbles in element order), the token's two blocks of q_a
  /// (contiguous) the signed one, and the sums start at sa (-128 or -8 · the
  /// lane sums of q_a) so that the offset cancels. The 16 i32 sums (eight
  /// per block) are scaled by the token's block scales in their lanes
  /// (daLanes) and by the row's two f16 scales, converted together and
  /// spread to their eight lanes, into one 16-lane f32 accumulator per row.
  /// An odd last block takes the 256-bit kernel; the two accumulators are
  /// summed at the end. Returns one 16-lane f32 vector per row.
  SmallVector<Value> kernelPairs(Value m, ArrayRef<Value> ns, bool prefetchRows,
                                 int64_t firstBlock = 0, ValueRange initial = {}) {
    const int64_t tn = ns.size();
    Type i8 = b.getI8Type(), i16 = b.getI16Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
    auto bytes64 = VectorType::get({64}, i8);
    auto lanes = VectorType::get({16}, i32);
    auto lanesF = VectorType::get({16}, f32);
    const bool q4 = format == tfc::QuantFormat::Q4_0;
    Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(lanesF));
    SmallVector<Value> inits(tn, zero);
    if (!initial.empty())
      inits.assign(initial.begin(), initial.end());
    const int64_t pairBlocks = blocks - (blocks - firstBlock) % 2;
    auto loop = b.create<scf::ForOp>(
        loc, index(firstBlock), index(pairBlocks), index(2), inits,
        [&](OpBuilder &nb, Location, Value blk, ValueRange accs) {
          if (prefetchRows)
            prefetchAhead(nb, ns, blk);
          Value next = nb.create<arith::AddIOp>(loc, blk, index(1));
          // The token's operands, shared by the rows.
          auto pairOf = [&](Value mem, VectorType half) {
            Value lo = nb.create<vector::LoadOp>(loc, half, mem, ValueRange{m, blk, index(0)});
            Value hi = nb.create<vector::LoadOp>(loc, half, mem, ValueRange{m, next, index(0)});
            SmallVector<int64_t> order = llvm::to_vector(llvm::seq<int64_t>(0, 2 * half.getNumElements()));
            return nb.create<vector::ShuffleOp>(loc, lo, hi, order).getResult();
          };
          Value qaPair = nb.create<vector::BitCastOp>(loc, lanes, pairOf(qa, lanes8));
          Value start = pairOf(sa, sums);
          Value scaleA = pairOf(daLanes, floats);
          // Q4_0: shift counts of the 16-bit words, 0 for the low nibbles'
          // copy of each block and 4 for the high ones'.
          auto words = VectorType::get({32}, i16);
          SmallVector<int16_t> shiftCounts;
          for (int64_t i = 0; i < 32; ++i)
            shiftCounts.push_back(i / 8 % 2 ? 4 : 0);
          Value shifts = nb.create<arith::ConstantOp>(
              loc, DenseElementsAttr::get(words, ArrayRef<int16_t>(shiftCounts)));
          SmallVector<Value> out;
          Value flatColumn, flatTail;
          if (wFlat && !q4) {
            flatColumn = nb.create<arith::MulIOp>(loc, blk, index(kBlock + 2));
            flatTail = nb.create<arith::AddIOp>(loc, flatColumn, index(64));
          }
          for (auto [j, n] : llvm::enumerate(ns)) {
            Value values, raw;
            if (q4) {
              auto half = VectorType::get({kBlock / 2}, i8);
              Value lo = nb.create<vector::LoadOp>(loc, half, w, ValueRange{n, blk, index(2)});
              Value hi = nb.create<vector::LoadOp>(loc, half, w, ValueRange{n, next, index(2)});
              SmallVector<int64_t> order;
              for (int64_t base : {0, 0, 16, 16})
                for (int64_t i = 0; i < 16; ++i)
                  order.push_back(base + i);
              Value twice = nb.create<vector::ShuffleOp>(loc, lo, hi, order);
              Value shifted = nb.create<arith::ShRUIOp>(
                  loc, nb.create<vector::BitCastOp>(loc, words, twice), shifts);
              values = nb.create<arith::AndIOp>(loc, nb.create<vector::BitCastOp>(loc, bytes64, shifted),
                                                splat(nb, bytes64, 15));
            } else if (wFlat) {
              // Q8_0 through the flat view: the two blocks' 68 bytes are one
              // 64-byte load and one of 4 bytes, their values one (word)
              // permutation, their scales words 0 and 17 of the same load.
              raw = nb.create<vector::LoadOp>(loc, bytes64, wFlat, ValueRange{n, flatColumn});
              Value tail = nb.create<vector::LoadOp>(loc, VectorType::get({4}, i8), wFlat,
                                                     ValueRange{n, flatTail});
              SmallVector<int64_t> order;
              for (int64_t k = 0; k < 2; ++k)
                for (int64_t i = 0; i < kBlock; ++i)
                  order.push_back((kBlock + 2) * k + 2 + i);
              values = nb.create<arith::XOrIOp>(loc, nb.create<vector::ShuffleOp>(loc, raw, tail, order),
                                                splat(nb, bytes64, -128));
            } else {
              Value lo = nb.create<vector::LoadOp>(loc, lanes8, w, ValueRange{n, blk, index(2)});
              Value hi = nb.create<vector::LoadOp>(loc, lanes8, w, ValueRange{n, next, index(2)});
              SmallVector<int64_t> order = llvm::to_vector(llvm::seq<int64_t>(0, 2 * kBlock));
              values = nb.create<arith::XOrIOp>(loc, nb.create<vector::ShuffleOp>(loc, lo, hi, order),
                                                splat(nb, bytes64, -128));
            }
            Value dotted = nb.create<func::CallOp>(
                                 loc, dot512,
                                 ValueRange{start, nb.create<vector::BitCastOp>(loc, lanes, values), qaPair})
                               .getResult(0);
            Value partial = nb.create<arith::MulFOp>(
                loc, nb.create<arith::SIToFPOp>(loc, lanesF, dotted), scaleA);
            if (raw) {
              Value rawWords = nb.create<vector::BitCastOp>(loc, VectorType::get({32}, i16), raw);
              SmallVector<int64_t> spread(8, 0);
              spread.append(8, (kBlock + 2) / 2);
              Value bits16 = nb.create<vector::ShuffleOp>(loc, rawWords, rawWords, spread);
              Value scaleW = nb.create<arith::ExtFOp>(
                  loc, lanesF,
                  nb.create<arith::BitcastOp>(loc, VectorType::get({16}, nb.getF16Type()), bits16)
                      .getResult());
              out.push_back(nb.create<vector::FMAOp>(loc, partial, scaleW, accs[j]));
              continue;
            }
            // The row's two scales, converted together, each in its 8 lanes.
            auto twoBits = VectorType::get({2}, i16);
            Value bits = nb.create<arith::ConstantOp>(loc, nb.getZeroAttr(twoBits));
            bits = nb.create<vector::InsertOp>(loc, scaleBits(nb, n, blk), bits, 0);
            bits = nb.create<vector::InsertOp>(loc, scaleBits(nb, n, next), bits, 1);
            Value two = nb.create<arith::ExtFOp>(
                loc, VectorType::get({2}, f32),
                nb.create<arith::BitcastOp>(loc, VectorType::get({2}, nb.getF16Type()), bits)
                    .getResult());
            SmallVector<int64_t> spread(8, 0);
            spread.append(8, 1);
            Value scaleW = nb.create<vector::ShuffleOp>(loc, two, two, spread);
            out.push_back(nb.create<vector::FMAOp>(loc, partial, scaleW, accs[j]));
          }
          nb.create<scf::YieldOp>(loc, out);
        });
    SmallVector<Value> results(loop.getResults());
    if (pairBlocks == blocks)
      return results;
    // The odd block: 8 lanes, added to the low half.
    Value zero8 = b.create<arith::ConstantOp>(loc, b.getZeroAttr(floats));
    SmallVector<Value> tail = kernelBlocks({m}, ns, SmallVector<Value>(tn, zero8), false, pairBlocks);
    SmallVector<int64_t> widen = llvm::to_vector(llvm::seq<int64_t>(0, 16));
    for (int64_t j = 0; j < tn; ++j)
      results[j] = b.create<arith::AddFOp>(
          loc, results[j], b.create<vector::ShuffleOp>(loc, tail[j], zero8, widen));
    return results;
  }

  /// The f16 bits (i16) of the scale of block `blk` of weight row `n`.
  Value scaleBits(OpBuilder &nb, Value n, Value blk) {
    Type i16 = nb.getI16Type();
    auto byte = [&](int64_t i) {
      Value v = nb.create<memref::LoadOp>(loc, w, ValueRange{n, blk, index(i)});
      return nb.create<arith::ExtUIOp>(loc, i16, v).getResult();
    };
    Value eight = nb.create<arith::ConstantOp>(loc, nb.getI16IntegerAttr(8));
    return nb.create<arith::OrIOp>(loc, byte(0), nb.create<arith::ShLIOp>(loc, byte(1), eight));
  }

  /// The Q8_0 / Q4_0 block loop of a tile: f32 accumulators from `inits`.
  SmallVector<Value> kernelBlocks(ArrayRef<Value> ms, ArrayRef<Value> ns, ValueRange inits,
                                  bool prefetchRows, int64_t firstBlock = 0) {
    const int64_t tm = ms.size(), tn = ns.size();
    auto loop = b.create<scf::ForOp>(
        loc, index(firstBlock), index(blocks), index(1), inits,
        [&](OpBuilder &nb, Location, Value blk, ValueRange accs) {
          if (prefetchRows)
            prefetchAhead(nb, ns, blk);
          // Q8_0: |q_a| once per token; the weights take q_a's sign (q_a · q_w
          // = |q_a| · (sign(q_a) q_w), vpsignb), since the instructions
          // multiply unsigned by signed bytes. Q4_0: the nibbles are the
          // unsigned operand, q_a the signed one, and the sums start at sa.
          const bool q4 = format == tfc::QuantFormat::Q4_0;
          SmallVector<Value> absA, signA, startA, scaleA, qw, scaleW, out;
          for (Value m : ms) {
            Value q = nb.create<vector::LoadOp>(loc, lanes8, qa, ValueRange{m, blk, index(0)});
            absA.push_back(q4 ? Value() : nb.create<math::AbsIOp>(loc, q).getResult());
            signA.push_back(q);
            startA.push_back(
                q4 ? nb.create<vector::LoadOp>(loc, sums, sa, ValueRange{m, blk, index(0)}).getResult()
                   : Value());
            scaleA.push_back(nb.create<memref::LoadOp>(loc, da, ValueRange{m, blk}));
          }
          for (Value n : ns) {
            Value bytes = q4 ? Value()
                             : nb.create<vector::LoadOp>(loc, lanes8, w, ValueRange{n, blk, index(2)});
            qw.push_back(q4 ? nibbles(nb, n, blk) : bytes);
            scaleW.push_back(weightScale(nb, n, blk));
          }
          for (int64_t i = 0; i < tm; ++i)
            for (int64_t j = 0; j < tn; ++j) {
              Value dotted;
              if (q4) {
                dotted = dotProduct(nb, qw[j], signA[i], startA[i]);
              } else {
                Value signedW =
                    nb.create<func::CallOp>(loc, psign, ValueRange{qw[j], signA[i]}).getResult(0);
                dotted = dotProduct(nb, absA[i], signedW, Value());
              }
              Value partial = nb.create<arith::SIToFPOp>(loc, floats, dotted);
              Value scale = nb.create<vector::BroadcastOp>(
                  loc, floats, nb.create<arith::MulFOp>(loc, scaleA[i], scaleW[j]));
              out.push_back(nb.create<vector::FMAOp>(loc, partial, scale, accs[i * tn + j]));
            }
          nb.create<scf::YieldOp>(loc, out);
        });
    return loop.getResults();
  }

  OpBuilder &b;
  Location loc;
  ModuleOp module; // where the intrinsic declarations and the GEMM's tile functions go
  tfc::QuantFormat format;
  Value a3, w, c;
  bool vnni;
  int64_t tileTokens, tileRows, blocks;
  VectorType lanes8, sums, floats;
  func::FuncOp psign, dot, maddubs, maddwd;
  func::FuncOp prefetch; // declared on first use (tfc::prefetchDeclaration)
  int64_t decodeRows;    // rows of a one-token tile (Q8_0, Q4_0; with 512-bit vectors the K-quants)
  bool wide;             // one-token tiles on 512-bit vpdpbusd (kernelPairs)
  bool wideScaleMin;     // Q4_K, Q5_K one-token tiles on 512-bit vectors (kernelQ4_KWide)
  bool wideQ6_K;         // Q6_K one-token tiles on 512-bit vectors (kernelQ6_KWide)
  func::FuncOp dot512;
  Value daLanes;         // wide: the activations' block scales, 8 lanes each
  // Q4_0 on kernelQuads: the weights as [rows, blocks · 18] bytes, and per
  // token and four blocks the values split into low (elements 0-15) and
  // high halves, the start values and the scales of kernelQuads' lanes.
  bool quads = false;
  Value wFlat, qaSplit, saSplit, daSplit;
  bool rowsContiguous = false; // wFlat's rows follow each other (one-token tiles' streams)
  Value qa, da; // the quantized activations and their scales
  Value sa;     // Q4_0, Q6_K: the dot products' start values; Q4_K, Q5_K: sub-block sums
};

// linalg.generic {tfc.q8_0_matmul | tfc.q4_0_matmul} (A3: [m, k/32, 32] f32,
//   W: [n, k/32, 34 | 18] i8, C: [m, n] f32) on memrefs
//   => quantize A3 per block; scf.parallel over row blocks of W { int8 tiles }
struct VectorizeQuantizedMatmul : OpRewritePattern<linalg::GenericOp> {
  VectorizeQuantizedMatmul(MLIRContext *ctx, const tfc::MatmulStrategy &strategy,
                           int64_t blockRows, bool vnni, bool vnni512)
      : OpRewritePattern(ctx), strategy(strategy), blockRows(blockRows), vnni(vnni),
        vnni512(vnni512) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    std::optional<tfc::QuantFormat> format = tfc::quantizedMatmulFormat(op);
    if (!op.hasPureBufferSemantics() || !format)
      return rewriter.notifyMatchFailure(op, "not a quantized product on memrefs");
    Value a3 = op.getDpsInputs()[0], w = op.getDpsInputs()[1], c = op.getDpsInits()[0];
    if (!innermostContiguous(a3) || !innermostContiguous(w) || !innermostContiguous(c))
      return rewriter.notifyMatchFailure(op, "expects contiguous innermost dimensions");
    Location loc = op.getLoc();
    int64_t rows = cast<MemRefType>(w.getType()).getDimSize(0);
    // 8-lane accumulators: 4 x 4 of them fit the 32 registers of AVX-512
    // (EVEX) with the operands; the 16 of AVX2 take 2 tokens x 4 rows.
    int64_t tileTokens = strategy.vectorWidth >= 16 ? 4 : 2;
    // One token against 16 rows: 16 accumulators and the token's operands
    // fit the 32 registers of AVX-512; 8 of AVX2's 16 registers.
    int64_t decodeRows = strategy.vectorWidth >= 16 ? 16 : 8;
    const bool wide = vnni512 && strategy.vectorWidth >= 16;
    QuantizedEmitter emit(rewriter, loc, *format, a3, w, c, vnni, tileTokens, /*tileRows=*/4,
                          decodeRows, wide);
    Value tokens = rewriter.create<memref::DimOp>(loc, c, 0);
    emit.quantizeActivations(tokens);
    auto streaming = [&] {
      tfc::parallelRowBlocks(rewriter, loc, rows, blockRows,
                             [&](Value nStart, Value nEnd) { emit.block(nStart, nEnd, tokens); });
    };
    // From gemmMinTokens on, every format takes the int8 GEMM where vpdpbusd
    // has 512-bit vectors (its results are scattered down columns of C at
    // 32-bit offsets); AVX2 and AVX-VNNI keep the streaming tiles.
    int64_t cStride = rowStride(c);
    if (!wide || ShapedType::isDynamic(cStride) ||
        cStride * 16 >= (int64_t{1} << 31)) {
      streaming();
    } else {
      Value many = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, tokens,
                                                  emit.index(strategy.gemmMinTokens));
      auto ifOp = rewriter.create<scf::IfOp>(loc, many, /*withElseRegion=*/true);
      rewriter.setInsertionPointToStart(ifOp.thenBlock());
      emit.packedGemm(tokens, rows, strategy.int8GemmRows, strategy.gemmBlockBytes,
                      strategy.gemmWaveBlocks, cStride);
      rewriter.setInsertionPointToStart(ifOp.elseBlock());
      streaming();
      rewriter.setInsertionPointAfter(ifOp);
    }
    rewriter.eraseOp(op);
    return success();
  }

  tfc::MatmulStrategy strategy;
  int64_t blockRows;
  bool vnni;    // vpdpbusd (256-bit): int8-dot vnni or avxvnni
  bool vnni512; // its 512-bit form too (AVX512-VNNI): int8-dot vnni
};

} // namespace

void tfc::populateQuantizedMatmulPatterns(RewritePatternSet &patterns,
                                          const MatmulStrategy &strategy, int64_t blockRows,
                                          StringRef int8Dot) {
  if (int8Dot == "vnni" || int8Dot == "avxvnni" || int8Dot == "avx2")
    patterns.add<VectorizeQuantizedMatmul>(patterns.getContext(), strategy, blockRows,
                                           /*vnni=*/int8Dot != "avx2", /*vnni512=*/int8Dot == "vnni");
}
