//===- VectorizeMatmul.cpp - Register-tiled kernels for linear layers -----===//
//
// Upstream tiling + vectorization of linalg.matmul_transpose_b produces one
// vector.multi_reduction per tile and reaches a third of the memory bandwidth
// in decode (shared/design/CODEGEN-NOTES.md). What reaches it is the classic
// register-blocked loop: accumulators that live in vector registers across the
// whole reduction, one horizontal reduction per output at the end. This pass
// writes that loop nest directly; the description in Passes.td shows its shape.
//
//===----------------------------------------------------------------------===//

#include "QuantizedKernels.h"

#include "tfc/Codegen/MatmulStrategy.h"
#include "tfc/Codegen/Passes.h"
#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tfc {
#define GEN_PASS_DEF_VECTORIZEMATMUL
#include "tfc/Codegen/Passes.h.inc"
} // namespace tfc

using namespace mlir;

namespace {

/// True when the innermost dimension of `type` is contiguous.
bool rowsContiguous(MemRefType type) {
  if (type.getRank() != 2 && type.getRank() != 3)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(getStridesAndOffset(type, strides, offset)) && strides.back() == 1;
}

/// The static distance between rows of a 2-D memref with contiguous rows, or
/// ShapedType::kDynamic.
int64_t staticRowStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (type.getRank() != 2 || failed(getStridesAndOffset(type, strides, offset)) ||
      strides[1] != 1)
    return ShapedType::kDynamic;
  return strides[0];
}

/// Emits the loop nest for C[m, n] += Σ_k A[m, k] B[n, k].
class MatmulEmitter {
public:
  MatmulEmitter(OpBuilder &b, Location loc, Value a, Value bT, Value c, int64_t k,
                const tfc::MatmulStrategy &strategy)
      : b(b), loc(loc), a(a), bT(bT), c(c), k(k), width(strategy.vectorWidth),
        gemmRows(strategy.gemmRows), panelTokens(strategy.panelTokens), tiles(strategy),
        vecType(VectorType::get({width}, b.getF32Type())) {}

  Value index(int64_t v) { return tfc::indexConst(b, loc, v); }

  /// For batched products: the batch index that leads every access.
  void setBatch(Value batch) { lead.assign({batch}); }

  /// BF16 weights with AVX512_BF16: `aBF16` is A rounded to bf16, and the
  /// streaming kernels multiply pairs of bf16 with vdpbf16ps (32 weights per
  /// instruction, no widening), accumulating in f32, through calls of
  /// `dpbf16ps` (see tfc::intrinsicDeclaration).
  void setBF16Dot(Value aBF16, func::FuncOp dpbf16ps) {
    aDot = aBF16;
    dot = dpbf16ps;
  }

  /// Rounds A [tokens, k] to a new bf16 buffer (vcvtneps2bf16 once the loop
  /// is vectorized).
  Value roundedToBF16(Value tokens) {
    auto type = MemRefType::get({ShapedType::kDynamic, k}, b.getBF16Type());
    Value out = b.create<memref::AllocOp>(loc, type, ValueRange{tokens}, b.getI64IntegerAttr(64));
    b.create<scf::ForOp>(
        loc, index(0), tokens, index(1), ValueRange{},
        [&](OpBuilder &mb, Location, Value m, ValueRange) {
          mb.create<scf::ForOp>(loc, index(0), index(k), index(1), ValueRange{},
                                [&](OpBuilder &kb, Location, Value kk, ValueRange) {
                                  Value x = kb.create<memref::LoadOp>(loc, a, ValueRange{m, kk});
                                  Value r = kb.create<arith::TruncFOp>(loc, kb.getBF16Type(), x);
                                  kb.create<memref::StoreOp>(loc, r, out, ValueRange{m, kk});
                                  kb.create<scf::YieldOp>(loc);
                                });
          mb.create<scf::YieldOp>(loc);
        });
    return out;
  }

  /// The FMA form of vdpbf16ps (setDotByFMA). vdpbf16ps adds, per f32 lane
  /// i, the product of the odd elements 2i + 1 of its pair, then of the even
  /// ones 2i, each sum rounded to f32 (the products of bf16 are exact): two
  /// FMAs give the same bits (but for denormals, which vdpbf16ps flushes to
  /// zero), at the FMA's rate where vdpbf16ps retires at a quarter of it.
  /// A [tokens, k] becomes, per block of 2 x width columns, its even columns
  /// then its odd ones, rounded to bf16 (nearest even, as roundedToBF16) but
  /// stored as f32, zero past k: [tokens, k rounded up to the block].
  Value splitPairsThroughBF16(Value tokens) {
    const int64_t pair = 2 * width, padded = (k + pair - 1) / pair * pair;
    auto type = MemRefType::get({ShapedType::kDynamic, padded}, b.getF32Type());
    Value out = b.create<memref::AllocOp>(loc, type, ValueRange{tokens}, b.getI64IntegerAttr(64));
    Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
    b.create<scf::ForOp>(
        loc, index(0), tokens, index(1), ValueRange{},
        [&](OpBuilder &mb, Location, Value m, ValueRange) {
          mb.create<scf::ForOp>(
              loc, index(0), index(padded), index(1), ValueRange{},
              [&](OpBuilder &kb, Location, Value kk, ValueRange) {
                // Column kk takes A's column 2·width·(kk / 2·width) +
                // 2·(kk % width) + (kk % 2·width) / width.
                Value block = kb.create<arith::MulIOp>(
                    loc, kb.create<arith::DivUIOp>(loc, kk, index(pair)), index(pair));
                Value lane = kb.create<arith::RemUIOp>(loc, kk, index(width));
                Value odd = kb.create<arith::DivUIOp>(
                    loc, kb.create<arith::RemUIOp>(loc, kk, index(pair)), index(width));
                Value src = kb.create<arith::AddIOp>(
                    loc, block,
                    kb.create<arith::AddIOp>(loc, kb.create<arith::MulIOp>(loc, lane, index(2)),
                                             odd));
                Value inside = kb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, src,
                                                        index(k));
                Value x = kb.create<memref::LoadOp>(
                    loc, a, ValueRange{m, kb.create<arith::MinUIOp>(loc, src, index(k - 1))});
                Value half = kb.create<arith::TruncFOp>(loc, kb.getBF16Type(), x);
                Value r = kb.create<arith::ExtFOp>(loc, kb.getF32Type(), half);
                kb.create<memref::StoreOp>(loc, kb.create<arith::SelectOp>(loc, inside, r, zero),
                                           out, ValueRange{m, kk});
                kb.create<scf::YieldOp>(loc);
              });
          mb.create<scf::YieldOp>(loc);
        });
    return out;
  }

  /// The streaming kernels compute vdpbf16ps's sums with FMAs: A from
  /// `aSplit` (splitPairsThroughBF16), bf16 weights split into their even
  /// and odd elements widened (a shift and a mask of each 32-bit pair).
  void setDotByFMA(Value aSplit) { aPairs = aSplit; }

  /// Indices of element (row, col) of a 2-D matrix, or of the current batch.
  SmallVector<Value> at(Value row, Value col) {
    SmallVector<Value> idx(lead);
    idx.append({row, col});
    return idx;
  }

  /// Elements of A and B that one vector step of the kernel consumes (a
  /// vdpbf16ps step consumes two bf16 per f32 lane).
  int64_t stepWidth() const { return aDot || aPairs ? 2 * width : width; }

  /// One chunk [kLo, kHi) of the reduction of a k-blocked kernel (the
  /// small-batch kernel): its accumulators start from the vectors the
  /// previous chunk left in `partials` (zeros in the first chunk) and are
  /// stored back there, except after the last chunk, which also takes the
  /// zero-padded tail and adds their horizontal sums to C. Each lane thus sums
  /// its products in the order of the whole-row kernel, and the outputs are
  /// those of one token at a time, bit for bit, whatever the chunks.
  struct Chunk {
    Value kLo, kHi;     // multiples of stepWidth() apart, kHi <= the last full step
    Value first, last;  // i1
    /// [rows of the block x tokens, vectorWidth] f32: the accumulator of
    /// token m and weight row n at (n - row0) * tokens + m.
    Value partials, row0, tokens;
  };

  /// One tm × tn micro-kernel at tokens [m0, m0 + tm), rows [n0, n0 + tn),
  /// adding to C: over the whole reduction, or over one chunk of it.
  void kernel(Value m0, Value n0, int64_t tm, int64_t tn, const Chunk *chunk = nullptr) {
    SmallVector<Value> ms, ns;
    for (int64_t i = 0; i < tm; ++i)
      ms.push_back(i ? b.create<arith::AddIOp>(loc, m0, index(i)).getResult() : m0);
    for (int64_t j = 0; j < tn; ++j)
      ns.push_back(j ? b.create<arith::AddIOp>(loc, n0, index(j)).getResult() : n0);

    Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(vecType));
    SmallVector<Value> inits(tm * tn, zero);
    const int64_t stepWidth = this->stepWidth();
    int64_t kMain = k - k % stepWidth;

    // Accumulates one vector step at column `col` into `accs`; `tail` reads
    // past the end of the rows as zeros.
    auto step = [&](OpBuilder &nb, Value col, ValueRange accs, bool tail) {
      // Narrow (bf16/f16) weights are widened to f32 right after the load.
      auto read = [&](Value mem, Value row) -> Value {
        Type element = cast<MemRefType>(mem.getType()).getElementType();
        auto loadType = VectorType::get({width}, element);
        Value v;
        if (!tail) {
          v = nb.create<vector::LoadOp>(loc, loadType, mem, at(row, col));
        } else {
          Value pad = nb.create<arith::ConstantOp>(loc, nb.getFloatAttr(element, 0.0));
          v = nb.create<vector::TransferReadOp>(loc, loadType, mem, at(row, col), pad,
                                                ArrayRef<bool>{false});
        }
        if (element != vecType.getElementType())
          v = nb.create<arith::ExtFOp>(loc, vecType, v);
        return v;
      };
      // Both operands bf16, loaded 2 × width at a time (tail zero-padded).
      auto readPairs = [&](Value mem, Value row) -> Value {
        auto loadType = VectorType::get({stepWidth}, nb.getBF16Type());
        if (!tail)
          return nb.create<vector::LoadOp>(loc, loadType, mem, at(row, col));
        Value pad = nb.create<arith::ConstantOp>(loc, nb.getFloatAttr(nb.getBF16Type(), 0.0));
        return nb.create<vector::TransferReadOp>(loc, loadType, mem, at(row, col), pad,
                                                 ArrayRef<bool>{false});
      };
      SmallVector<Value> av, bv, out;
      if (prefetch && !tail) {
        // The same columns of the next tile's rows (clamped to the last row:
        // a prefetch past the end of the buffer is pointless), which the
        // next kernel reads: one kernel's time ahead.
        for (Value n : ns) {
          Value ahead = nb.create<arith::MinUIOp>(
              loc, nb.create<arith::AddIOp>(loc, n, index(tn)), index(prefetchLastRow));
          SmallVector<Value> operands{bT};
          operands.append(at(ahead, col));
          nb.create<func::CallOp>(loc, prefetch, operands);
        }
      }
      if (aPairs) {
        // vdpbf16ps by FMAs: the odd products first, then the even ones.
        auto words = VectorType::get({width}, nb.getI32Type());
        Value highHalf = nb.create<arith::ConstantOp>(
            loc, DenseElementsAttr::get(words, nb.getI32IntegerAttr(int32_t(0xFFFF0000u))));
        Value sixteen = nb.create<arith::ConstantOp>(
            loc, DenseElementsAttr::get(words, nb.getI32IntegerAttr(16)));
        Value oddCol = nb.create<arith::AddIOp>(loc, col, index(width));
        SmallVector<Value> aEven, aOdd, wEven, wOdd;
        for (Value m : ms) {
          aEven.push_back(nb.create<vector::LoadOp>(loc, vecType, aPairs, at(m, col)));
          aOdd.push_back(nb.create<vector::LoadOp>(loc, vecType, aPairs, at(m, oddCol)));
        }
        for (Value n : ns) {
          Value w = nb.create<vector::BitCastOp>(loc, words, readPairs(bT, n));
          wEven.push_back(nb.create<vector::BitCastOp>(
              loc, vecType, nb.create<arith::ShLIOp>(loc, w, sixteen)));
          wOdd.push_back(nb.create<vector::BitCastOp>(
              loc, vecType, nb.create<arith::AndIOp>(loc, w, highHalf)));
        }
        for (int64_t i = 0; i < tm; ++i)
          for (int64_t j = 0; j < tn; ++j) {
            Value acc = nb.create<vector::FMAOp>(loc, aOdd[i], wOdd[j], accs[i * tn + j]);
            out.push_back(nb.create<vector::FMAOp>(loc, aEven[i], wEven[j], acc));
          }
        return out;
      }
      for (Value m : ms)
        av.push_back(aDot ? readPairs(aDot, m) : read(a, m));
      for (Value n : ns)
        bv.push_back(aDot ? readPairs(bT, n) : read(bT, n));
      for (int64_t i = 0; i < tm; ++i)
        for (int64_t j = 0; j < tn; ++j) {
          Value acc = accs[i * tn + j];
          if (aDot)
            out.push_back(
                nb.create<func::CallOp>(loc, dot, ValueRange{acc, av[i], bv[j]}).getResult(0));
          else
            out.push_back(nb.create<vector::FMAOp>(loc, av[i], bv[j], acc));
        }
      return out;
    };

    // Row of `partials` of token ms[i] and weight row ns[j].
    auto partialRow = [&](int64_t i, int64_t j) -> Value {
      Value rowBase = b.create<arith::MulIOp>(
          loc, b.create<arith::SubIOp>(loc, ns[j], chunk->row0), chunk->tokens);
      return b.create<arith::AddIOp>(loc, rowBase, ms[i]);
    };
    if (chunk) {
      SmallVector<Type> types(inits.size(), vecType);
      auto ifOp = b.create<scf::IfOp>(loc, types, chunk->first, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      b.create<scf::YieldOp>(loc, inits);
      b.setInsertionPointToStart(ifOp.elseBlock());
      SmallVector<Value> stored;
      for (int64_t i = 0; i < tm; ++i)
        for (int64_t j = 0; j < tn; ++j)
          stored.push_back(b.create<vector::LoadOp>(loc, vecType, chunk->partials,
                                                    ValueRange{partialRow(i, j), index(0)}));
      b.create<scf::YieldOp>(loc, stored);
      inits.assign(ifOp.getResults().begin(), ifOp.getResults().end());
    }

    SmallVector<Value> accs = inits;
    if (chunk || kMain > 0) {
      auto loop = b.create<scf::ForOp>(
          loc, chunk ? chunk->kLo : index(0), chunk ? chunk->kHi : index(kMain),
          index(stepWidth), inits, [&](OpBuilder &nb, Location, Value col, ValueRange iter) {
            nb.create<scf::YieldOp>(loc, step(nb, col, iter, /*tail=*/false));
          });
      accs = loop.getResults();
    }

    // The tail, then the horizontal sums added to C.
    auto finish = [&](SmallVector<Value> accs) {
      if (kMain < k)
        accs = step(b, index(kMain), accs, /*tail=*/true);
      for (int64_t i = 0; i < tm; ++i)
        for (int64_t j = 0; j < tn; ++j) {
          // Reassociable, so that the 16 lanes are summed as a tree rather than a
          // chain of dependent adds (with a head dimension of 64 the reductions
          // cost as much as the products).
          Value old = b.create<memref::LoadOp>(loc, c, at(ms[i], ns[j]));
          Value sum = b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD,
                                                    accs[i * tn + j], old,
                                                    arith::FastMathFlags::reassoc);
          b.create<memref::StoreOp>(loc, sum, c, at(ms[i], ns[j]));
        }
    };
    if (!chunk) {
      finish(accs);
      return;
    }
    auto ifOp = b.create<scf::IfOp>(loc, chunk->last, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    finish(accs);
    b.setInsertionPointToStart(ifOp.elseBlock());
    for (int64_t i = 0; i < tm; ++i)
      for (int64_t j = 0; j < tn; ++j)
        b.create<vector::StoreOp>(loc, accs[i * tn + j], chunk->partials,
                                  ValueRange{partialRow(i, j), index(0)});
  }

  /// `for n in [lo, hi) step tn: kernel(m0, n, tm, tn)`.
  void rowLoop(Value m0, Value lo, Value hi, int64_t tm, int64_t tn) {
    b.create<scf::ForOp>(loc, lo, hi, index(tn), ValueRange{},
                         [&](OpBuilder &nb, Location, Value n, ValueRange) {
                           OpBuilder::InsertionGuard g(b);
                           b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                           kernel(m0, n, tm, tn);
                           b.create<scf::YieldOp>(loc);
                         });
  }

  /// All tokens against weight rows [nStart, nEnd).
  void block(Value nStart, Value nEnd, Value tokens) {
    Value tileRows = index(tiles.tileRows), tileTokens = index(tiles.tileTokens);
    Value count = b.create<arith::SubIOp>(loc, nEnd, nStart);
    Value nMain = b.create<arith::AddIOp>(
        loc, nStart,
        b.create<arith::MulIOp>(loc, b.create<arith::DivUIOp>(loc, count, tileRows), tileRows));
    Value mMain = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, tokens, tileTokens), tileTokens);

    auto tokenLoop = [&](Value lo, Value hi, int64_t tm) {
      b.create<scf::ForOp>(loc, lo, hi, index(tm), ValueRange{},
                           [&](OpBuilder &nb, Location, Value m0, ValueRange) {
                             OpBuilder::InsertionGuard g(b);
                             b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                             rowLoop(m0, nStart, nMain, tm, tiles.tileRows);
                             rowLoop(m0, nMain, nEnd, tm, 1);
                             b.create<scf::YieldOp>(loc);
                           });
    };
    tokenLoop(index(0), mMain, tiles.tileTokens);
    tokenLoop(mMain, tokens, 1);
  }

  /// A few tokens (2 .. gemmMinTokens - 1: the sessions of a batched decode
  /// step, short prefill chunks) against weight rows [nStart, nEnd). `block`
  /// runs the token tiles outside the row loop, so a weight row comes from
  /// memory again for every tile of tokens once the block no longer stays in
  /// cache; here the row tiles are outside and all the call's tokens pass
  /// over a tile of smallTileRows rows while it is in L1, so each weight
  /// vector is read from memory once per call: token tiles of smallTileTokens
  /// (smallTileRows x smallTileTokens accumulators), then the remainder in
  /// halving tiles (4, 2, 1 tokens) over the same rows.
  ///
  /// The reduction is split into chunks outside the row tiles (k-blocking):
  /// the tokens' chunk of A (at most smallChunkBytes) stays in L1 while the
  /// weight rows' chunks stream past, where whole rows of 8 tokens (64 KiB at
  /// k = 2048) came from L2 again for every row tile, and those L2 reads took
  /// the L1 miss buffers the weight stream needs. Between chunks the
  /// accumulators wait as vectors in a buffer of the block (Chunk), so a
  /// chunk costs a load and a store per accumulator rather than a horizontal
  /// sum, and each output is summed in the order of the one-token kernel.
  /// Chunks are balanced multiples of the vector step; the last one also
  /// takes the zero-padded tail and sums into C.
  void smallBatchBlock(Value nStart, Value nEnd, Value tokens) {
    const int64_t tn = tiles.smallTileRows, tm = tiles.smallTileTokens;
    auto bType = cast<MemRefType>(bT.getType());
    assert(!bType.isDynamicDim(lead.size()) && "the weight rows are static");
    if (tiles.smallPrefetch) {
      prefetchLastRow = bType.getDimSize(lead.size()) - 1;
      SmallVector<Type> operands{bT.getType()};
      operands.append(lead.size() + 2, b.getIndexType());
      // (The insertion point may be inside an op under construction; the
      // operand A is defined in the function.)
      prefetch = tfc::prefetchDeclaration(a.getParentRegion()->getParentOfType<ModuleOp>(),
                                          b.getFunctionType(operands, {}));
    }
    Value count = b.create<arith::SubIOp>(loc, nEnd, nStart);
    Value nMain = b.create<arith::AddIOp>(
        loc, nStart,
        b.create<arith::MulIOp>(loc, b.create<arith::DivUIOp>(loc, count, index(tn)), index(tn)));
    // All the row tiles over one chunk of the columns (the whole rows when null).
    auto rowTile = [&](Value lo, Value hi, int64_t rowsPerTile, const Chunk *chunk) {
      b.create<scf::ForOp>(
          loc, lo, hi, index(rowsPerTile), ValueRange{},
          [&](OpBuilder &nb, Location, Value n0, ValueRange) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            // Full tiles of tm tokens, then at most one tile of each smaller
            // power of two: tokens [done, done + size) when that many remain.
            Value done = b.create<arith::MulIOp>(
                loc, b.create<arith::DivUIOp>(loc, tokens, index(tm)), index(tm));
            b.create<scf::ForOp>(loc, index(0), done, index(tm), ValueRange{},
                                 [&](OpBuilder &tb, Location, Value m0, ValueRange) {
                                   OpBuilder::InsertionGuard g2(b);
                                   b.setInsertionPoint(tb.getInsertionBlock(),
                                                       tb.getInsertionPoint());
                                   kernel(m0, n0, tm, rowsPerTile, chunk);
                                   b.create<scf::YieldOp>(loc);
                                 });
            for (int64_t size = tm / 2; size >= 1; size /= 2) {
              Value left = b.create<arith::SubIOp>(loc, tokens, done);
              Value fits = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, left,
                                                   index(size));
              auto ifOp = b.create<scf::IfOp>(loc, fits, /*withElseRegion=*/false);
              {
                OpBuilder::InsertionGuard g2(b);
                b.setInsertionPointToStart(ifOp.thenBlock());
                kernel(done, n0, size, rowsPerTile, chunk);
              }
              done = b.create<arith::SelectOp>(
                  loc, fits, b.create<arith::AddIOp>(loc, done, index(size)), done);
            }
            b.create<scf::YieldOp>(loc);
          });
    };
    auto allTiles = [&](const Chunk *chunk) {
      rowTile(nStart, nMain, tn, chunk);
      rowTile(nMain, nEnd, 1, chunk);
    };

    const int64_t step = stepWidth(), kMain = k - k % step;
    // Chunks of at least smallMinChunkColumns: shorter ones cost more in
    // partial sums stored and loaded again than they save.
    const int64_t minSteps = std::max<int64_t>(1, tiles.smallMinChunkColumns / step);
    if (kMain < 2 * minSteps * step) {
      allTiles(nullptr);
    } else {
      // Chunk length: the longest multiple of the step whose columns of all
      // the call's tokens fit smallChunkBytes (at least one step), then
      // balanced over the chunks it takes.
      const int64_t elementBytes = aDot ? 2 : 4;
      Value fit = b.create<arith::DivUIOp>(
          loc, index(tiles.smallChunkBytes / elementBytes / step), tokens);
      Value maxSteps = b.create<arith::MaxUIOp>(loc, fit, index(minSteps));
      // (arith.ceildivui needs arith-expand; the pipelines lower arith directly.)
      auto ceilDiv = [&](Value x, Value y) -> Value {
        return b.create<arith::DivUIOp>(
            loc, b.create<arith::SubIOp>(loc, b.create<arith::AddIOp>(loc, x, y), index(1)), y);
      };
      Value chunks = ceilDiv(index(kMain / step), maxSteps);
      Value chunkSteps = ceilDiv(index(kMain / step), chunks);
      Value chunkColumns = b.create<arith::MulIOp>(loc, chunkSteps, index(step));
      // The accumulators between chunks: a vector per token and row of the
      // block (the unit of work of a thread; 32 KiB at 8 tokens and 64 rows),
      // on the thread's stack, so that a call allocates nothing. The stack
      // pointer is saved and restored around it by hand: memref.alloca_scope
      // cannot be lowered inside the scf.parallel of a --threads=1 build, and
      // an alloca in a loop would otherwise grow the stack per block. Past
      // smallPartialBytes (many tokens where no packed GEMM takes them) the
      // reduction is one chunk, which needs no buffer.
      Value slots = b.create<arith::MulIOp>(loc, count, tokens);
      Value fits = b.create<arith::CmpIOp>(
          loc, arith::CmpIPredicate::ule, slots,
          index(tiles.smallPartialBytes / (width * int64_t(sizeof(float)))));
      chunkColumns = b.create<arith::SelectOp>(loc, fits, chunkColumns, index(kMain));
      slots = b.create<arith::SelectOp>(loc, fits, slots, index(0));
      // (Calls of intrinsics until tfc-lower-intrinsic-calls: the deallocation
      // pipeline refuses LLVM ops, whose memory effects it does not know.)
      auto module = a.getParentRegion()->getParentOfType<ModuleOp>();
      Type pointer = LLVM::LLVMPointerType::get(b.getContext());
      func::FuncOp save = tfc::intrinsicDeclaration(module, "llvm.stacksave.p0",
                                                    b.getFunctionType({}, {pointer}));
      func::FuncOp restore = tfc::intrinsicDeclaration(module, "llvm.stackrestore.p0",
                                                       b.getFunctionType({pointer}, {}));
      Value stack = b.create<func::CallOp>(loc, save, ValueRange{}).getResult(0);
      Value partials = b.create<memref::AllocaOp>(
          loc, MemRefType::get({ShapedType::kDynamic, width}, b.getF32Type()), ValueRange{slots},
          b.getI64IntegerAttr(64));
      b.create<scf::ForOp>(
          loc, index(0), index(kMain), chunkColumns, ValueRange{},
          [&](OpBuilder &cb, Location, Value kLo, ValueRange) {
            OpBuilder::InsertionGuard g2(b);
            b.setInsertionPoint(cb.getInsertionBlock(), cb.getInsertionPoint());
            Chunk chunk;
            chunk.kLo = kLo;
            chunk.kHi = b.create<arith::MinUIOp>(
                loc, b.create<arith::AddIOp>(loc, kLo, chunkColumns), index(kMain));
            chunk.first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, kLo, index(0));
            chunk.last =
                b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, chunk.kHi, index(kMain));
            chunk.partials = partials;
            chunk.row0 = nStart;
            chunk.tokens = tokens;
            allTiles(&chunk);
            b.create<scf::YieldOp>(loc);
          });
      b.create<func::CallOp>(loc, restore, ValueRange{stack});
    }
    prefetch = {};
  }

  /// C[m, e] += Σ_j A[m, j] · B[j, e] (B not transposed: rows of B are
  /// contiguous along e) for rows [lo, hi) of A: an outer-product kernel that
  /// broadcasts one element of A against vectors of a row of B; `cols` (static,
  /// a multiple of the vector width) is processed in chunks of 4 vectors.
  void outerProductRows(Value lo, Value hi, Value inner, int64_t cols) {
    auto rowLoop = [&](Value from, Value to, int64_t tm) {
      b.create<scf::ForOp>(
          loc, from, to, index(tm), ValueRange{},
          [&](OpBuilder &nb, Location, Value m0, ValueRange) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            const int64_t chunk = tiles.outerVectors;
            for (int64_t c0 = 0; c0 < cols; c0 += chunk * width)
              outerProductKernel(m0, tm, c0, std::min<int64_t>(chunk, (cols - c0) / width), inner);
            b.create<scf::YieldOp>(loc);
          });
    };
    Value four = index(tiles.outerRows);
    Value count = b.create<arith::SubIOp>(loc, hi, lo);
    Value mid = b.create<arith::AddIOp>(
        loc, lo, b.create<arith::MulIOp>(loc, b.create<arith::DivUIOp>(loc, count, four), four));
    rowLoop(lo, mid, tiles.outerRows);
    rowLoop(mid, hi, 1);
  }

  /// Prefill: C[m, n] += Σ_k A[m, k] B[n, k] for many tokens, as a GEMM with a
  /// packed, transposed A. The x·Wᵀ form has the reduction contiguous in both
  /// operands, so a register tile that reuses loads in both directions needs one
  /// operand transposed; A (the activations) is the smaller and is transposed
  /// once per call into panels Ap[t][k][0..panelTokens) of panelTokens
  /// tokens (zero-padded past the last token). The micro-kernel then
  /// broadcasts one weight element W[n, k] against two token vectors of a
  /// panel: gemmRows weight rows × panelTokens tokens (two vectors) of
  /// accumulators in registers over the whole reduction (no horizontal
  /// reductions at all).
  /// Threads take blocks of gemmRows weight rows, which stay in L2 while the
  /// panels stream past.
  ///
  /// With `dpbf16ps` (bf16 weights, AVX512_BF16) the panels hold A rounded to
  /// bf16 with the reduction interleaved by two, Ap[t][k/2][token][2], and the
  /// micro-kernel broadcasts a pair of weights W[n, 2p..2p+1] (32 bits) against
  /// 16 tokens' pairs: one vdpbf16ps does 32 multiply-adds where the FMA does
  /// 16, and the weights are never widened.
  void packedGemm(Value tokens, int64_t rows, func::FuncOp dpbf16ps = {}) {
    Value panels = b.create<arith::DivUIOp>(
        loc, b.create<arith::AddIOp>(loc, tokens, index(panelTokens - 1)), index(panelTokens));
    Value packed;
    if (dpbf16ps) {
      auto packedType = MemRefType::get({ShapedType::kDynamic, (k + 1) / 2, 2 * panelTokens},
                                        b.getBF16Type());
      packed = b.create<memref::AllocOp>(loc, packedType, ValueRange{panels},
                                         b.getI64IntegerAttr(64));
      packPanelsBF16(packed, panels, tokens);
    } else {
      auto packedType = MemRefType::get({ShapedType::kDynamic, k, panelTokens}, b.getF32Type());
      packed = b.create<memref::AllocOp>(loc, packedType, ValueRange{panels},
                                         b.getI64IntegerAttr(64));
      packPanels(packed, panels, tokens);
    }

    // A thread's block is blockTiles micro-tiles of weight rows, whose
    // weights stay in L2 while each panel, read once from L3 per block,
    // serves all of them from L2 (a block of one tile re-read the whole packed
    // A from L3 per gemmRows rows). At least ~8 blocks keep the threads busy.
    int64_t fullTiles = rows / gemmRows, restRows = rows % gemmRows;
    // Narrow weights (bf16, f16) of the FMA kernel are widened per block
    // into an f32 scratch of the block: the bytes in L2 are f32 ones.
    Type wElement = cast<MemRefType>(bT.getType()).getElementType();
    const bool widen = !dpbf16ps && !wElement.isF32();
    int64_t tileBytes = gemmRows * k * (dpbf16ps ? 2 : 4);
    int64_t blockTiles = std::clamp<int64_t>(tiles.gemmBlockBytes / std::max<int64_t>(1, tileBytes),
                                             1, std::max<int64_t>(1, fullTiles / 8));
    int64_t fullBlocks = (fullTiles + blockTiles - 1) / blockTiles;
    int64_t blocks = fullBlocks + (restRows ? 1 : 0);
    // The widened weights: one [capacity, k] f32 slot per block of a wave.
    const int64_t slots = std::min<int64_t>(tiles.gemmWaveBlocks, blocks);
    const int64_t capacity = fullTiles ? blockTiles * gemmRows : restRows;
    Value scratch;
    if (widen)
      scratch = b.create<memref::AllocOp>(
          loc, MemRefType::get({slots, capacity, k}, b.getF32Type()), b.getI64IntegerAttr(64));
    // The kernel of rows [n0, n0 + tn), reading the weights from `wide`
    // (rows from `wideRow0` on) when they were widened.
    // (in slot `slot` of the scratch).
    auto kernelAt = [&](Value t, Value n0, int64_t tn, Value slot, Value wideRow0) {
      if (dpbf16ps)
        gemmKernelBF16(packed, t, n0, tn, tokens, dpbf16ps);
      else
        gemmKernel(packed, t, n0, tn, tokens, widen ? scratch : Value(), slot, wideRow0);
    };
    // Block `blk`, widening into scratch slot `slot` when the weights are narrow.
    auto blockBody = [&](Value blk, Value slot) {
          // for t in panels: for tile in [lo, hi): kernel
          auto fullBlock = [&] {
            Value lo = b.create<arith::MulIOp>(loc, blk, index(blockTiles * gemmRows));
            Value hi = b.create<arith::MinSIOp>(
                loc, b.create<arith::AddIOp>(loc, lo, index(blockTiles * gemmRows)),
                index(fullTiles * gemmRows));
            if (widen)
              widenRows(scratch, slot, lo, hi);
            b.create<scf::ForOp>(
                loc, index(0), panels, index(1), ValueRange{},
                [&](OpBuilder &lb, Location, Value t, ValueRange) {
                  lb.create<scf::ForOp>(loc, lo, hi, index(gemmRows), ValueRange{},
                                        [&](OpBuilder &rb, Location, Value n0, ValueRange) {
                                          OpBuilder::InsertionGuard g2(b);
                                          b.setInsertionPoint(rb.getInsertionBlock(),
                                                              rb.getInsertionPoint());
                                          kernelAt(t, n0, gemmRows, slot, lo);
                                          b.create<scf::YieldOp>(loc);
                                        });
                  lb.create<scf::YieldOp>(loc);
                });
          };
          auto restBlock = [&] {
            Value lo = index(fullTiles * gemmRows);
            if (widen)
              widenRows(scratch, slot, lo, index(rows));
            b.create<scf::ForOp>(loc, index(0), panels, index(1), ValueRange{},
                                 [&](OpBuilder &lb, Location, Value t, ValueRange) {
                                   OpBuilder::InsertionGuard g2(b);
                                   b.setInsertionPoint(lb.getInsertionBlock(),
                                                       lb.getInsertionPoint());
                                   kernelAt(t, lo, restRows, slot, lo);
                                   b.create<scf::YieldOp>(loc);
                                 });
          };
          if (!restRows) {
            fullBlock();
          } else if (!fullTiles) {
            restBlock();
          } else {
            Value full = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, blk,
                                                 index(fullBlocks));
            auto ifOp = b.create<scf::IfOp>(loc, full, /*withElseRegion=*/true);
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPointToStart(ifOp.thenBlock());
            fullBlock();
            b.setInsertionPointToStart(ifOp.elseBlock());
            restBlock();
          }
    };
    if (!widen) {
      b.create<scf::ParallelOp>(
          loc, ValueRange{index(0)}, ValueRange{index(blocks)}, ValueRange{index(1)},
          [&](OpBuilder &nb, Location, ValueRange ivs) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            blockBody(ivs[0], Value());
          });
      return;
    }
    // Waves of `slots` blocks in parallel, block wave·slots + s widening into
    // slot s: the scratch is a fixed-size temporary that tfc-plan-activations
    // places in the arena (an allocation per thread inside the parallel loop
    // would be a heap allocation per call).
    b.create<scf::ForOp>(
        loc, index(0), index((blocks + slots - 1) / slots), index(1), ValueRange{},
        [&](OpBuilder &wb, Location, Value wave, ValueRange) {
          wb.create<scf::ParallelOp>(
              loc, ValueRange{index(0)}, ValueRange{index(slots)}, ValueRange{index(1)},
              [&](OpBuilder &nb, Location, ValueRange ivs) {
                OpBuilder::InsertionGuard g(b);
                b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                Value blk = b.create<arith::AddIOp>(
                    loc, b.create<arith::MulIOp>(loc, wave, index(slots)), ivs[0]);
                Value exists =
                    b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, blk, index(blocks));
                auto ifOp = b.create<scf::IfOp>(loc, exists, /*withElseRegion=*/false);
                b.setInsertionPointToStart(ifOp.thenBlock());
                blockBody(blk, ivs[0]);
              });
          wb.create<scf::YieldOp>(loc);
        });
  }

private:
  /// scratch[slot][n - lo][:] = f32(W[n][:]) for the weight rows n in [lo, hi).
  void widenRows(Value scratch, Value slot, Value lo, Value hi) {
    Type f32 = b.getF32Type();
    Type narrow = cast<MemRefType>(bT.getType()).getElementType();
    const int64_t kMain = k - k % width;
    b.create<scf::ForOp>(
        loc, lo, hi, index(1), ValueRange{},
        [&](OpBuilder &rb, Location, Value n, ValueRange) {
          Value r = rb.create<arith::SubIOp>(loc, n, lo);
          if (kMain > 0)
            rb.create<scf::ForOp>(
                loc, index(0), index(kMain), index(width), ValueRange{},
                [&](OpBuilder &kb, Location, Value kk, ValueRange) {
                  Value v = kb.create<vector::LoadOp>(loc, VectorType::get({width}, narrow), bT,
                                                      at(n, kk));
                  kb.create<vector::StoreOp>(loc, kb.create<arith::ExtFOp>(loc, vecType, v), scratch,
                                             ValueRange{slot, r, kk});
                  kb.create<scf::YieldOp>(loc);
                });
          for (int64_t kk = kMain; kk < k; ++kk) {
            Value x = rb.create<memref::LoadOp>(loc, bT, at(n, index(kk)));
            rb.create<memref::StoreOp>(loc, rb.create<arith::ExtFOp>(loc, f32, x), scratch,
                                       ValueRange{slot, r, index(kk)});
          }
          rb.create<scf::YieldOp>(loc);
        });
  }

  /// Ap[t][k][j] = A[t·P + j, k], zero for tokens past the end; panels in parallel.
  void packPanels(Value packed, Value panels, Value tokens) {
    b.create<scf::ParallelOp>(
        loc, ValueRange{index(0)}, ValueRange{panels}, ValueRange{index(1)},
        [&](OpBuilder &nb, Location, ValueRange ivs) {
          Value t = ivs[0];
          nb.create<scf::ForOp>(
              loc, index(0), index(panelTokens), index(1), ValueRange{},
              [&](OpBuilder &jb, Location, Value j, ValueRange) {
                Value m = jb.create<arith::AddIOp>(
                    loc, jb.create<arith::MulIOp>(loc, t, index(panelTokens)), j);
                Value inside =
                    jb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, m, tokens);
                auto copyRow = [&](OpBuilder &rb, bool zero) {
                  rb.create<scf::ForOp>(
                      loc, index(0), index(k), index(1), ValueRange{},
                      [&](OpBuilder &kb, Location, Value kk, ValueRange) {
                        Value v = zero ? kb.create<arith::ConstantOp>(loc, kb.getF32FloatAttr(0))
                                             .getResult()
                                       : kb.create<memref::LoadOp>(loc, a, at(m, kk)).getResult();
                        kb.create<memref::StoreOp>(loc, v, packed, ValueRange{t, kk, j});
                        kb.create<scf::YieldOp>(loc);
                      });
                  rb.create<scf::YieldOp>(loc);
                };
                jb.create<scf::IfOp>(
                    loc, inside, [&](OpBuilder &rb, Location) { copyRow(rb, false); },
                    [&](OpBuilder &rb, Location) { copyRow(rb, true); });
                jb.create<scf::YieldOp>(loc);
              });
        });
  }

  /// One tile: weight rows [n0, n0 + tn) × the panelTokens tokens of panel t.
  void gemmKernel(Value packed, Value t, Value n0, int64_t tn, Value tokens, Value wide = {},
                  Value wideSlot = {}, Value wideRow0 = {}) {
    const int64_t vectors = panelTokens / width;
    VectorType laneType = vecType;
    SmallVector<Value> ns;
    for (int64_t i = 0; i < tn; ++i)
      ns.push_back(i ? b.create<arith::AddIOp>(loc, n0, index(i)).getResult() : n0);
    SmallVector<Value> wideRows;
    if (wide) {
      Value first = b.create<arith::SubIOp>(loc, n0, wideRow0);
      for (int64_t i = 0; i < tn; ++i)
        wideRows.push_back(i ? b.create<arith::AddIOp>(loc, first, index(i)).getResult() : first);
    }
    Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(laneType));
    SmallVector<Value> inits(tn * vectors, zero);
    auto loop = b.create<scf::ForOp>(
        loc, index(0), index(k), index(1), inits,
        [&](OpBuilder &nb, Location, Value kk, ValueRange accs) {
          SmallVector<Value> av, out;
          for (int64_t v = 0; v < vectors; ++v)
            av.push_back(nb.create<vector::LoadOp>(loc, laneType, packed,
                                                   ValueRange{t, kk, index(width * v)}));
          for (int64_t i = 0; i < tn; ++i) {
            Value w = wide ? nb.create<memref::LoadOp>(loc, wide, ValueRange{wideSlot, wideRows[i], kk})
                           : nb.create<memref::LoadOp>(loc, bT, at(ns[i], kk));
            if (w.getType() != b.getF32Type())
              w = nb.create<arith::ExtFOp>(loc, b.getF32Type(), w);
            Value wv = nb.create<vector::BroadcastOp>(loc, laneType, w);
            for (int64_t v = 0; v < vectors; ++v)
              out.push_back(nb.create<vector::FMAOp>(loc, wv, av[v], accs[i * vectors + v]));
          }
          nb.create<scf::YieldOp>(loc, out);
        });
    addTileToC(loop.getResults(), t, ns, tokens);
  }

  /// Ap[t][p][2j + e] = bf16(A[t·P + j, 2p + e]), zero for tokens past the end
  /// and for the pad column of an odd reduction; panels in parallel.
  void packPanelsBF16(Value packed, Value panels, Value tokens) {
    Type bf16 = b.getBF16Type();
    b.create<scf::ParallelOp>(
        loc, ValueRange{index(0)}, ValueRange{panels}, ValueRange{index(1)},
        [&](OpBuilder &nb, Location, ValueRange ivs) {
          Value t = ivs[0];
          nb.create<scf::ForOp>(
              loc, index(0), index(panelTokens), index(1), ValueRange{},
              [&](OpBuilder &jb, Location, Value j, ValueRange) {
                Value m = jb.create<arith::AddIOp>(
                    loc, jb.create<arith::MulIOp>(loc, t, index(panelTokens)), j);
                Value inside =
                    jb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, m, tokens);
                Value j2 = jb.create<arith::MulIOp>(loc, j, index(2));
                Value zero = jb.create<arith::ConstantOp>(loc, jb.getFloatAttr(bf16, 0.0));
                auto copyRow = [&](OpBuilder &rb, bool pad) {
                  rb.create<scf::ForOp>(
                      loc, index(0), index(k / 2), index(1), ValueRange{},
                      [&](OpBuilder &kb, Location, Value p, ValueRange) {
                        Value k0 = kb.create<arith::MulIOp>(loc, p, index(2));
                        for (int64_t e = 0; e < 2; ++e) {
                          Value kk = e ? kb.create<arith::AddIOp>(loc, k0, index(1)).getResult() : k0;
                          Value v = zero;
                          if (!pad)
                            v = kb.create<arith::TruncFOp>(
                                loc, bf16, kb.create<memref::LoadOp>(loc, a, at(m, kk)));
                          Value col = e ? kb.create<arith::AddIOp>(loc, j2, index(1)).getResult() : j2;
                          kb.create<memref::StoreOp>(loc, v, packed, ValueRange{t, p, col});
                        }
                        kb.create<scf::YieldOp>(loc);
                      });
                  if (k % 2) {
                    Value last = index(k / 2);
                    Value v = zero;
                    if (!pad)
                      v = rb.create<arith::TruncFOp>(
                          loc, bf16, rb.create<memref::LoadOp>(loc, a, at(m, index(k - 1))));
                    rb.create<memref::StoreOp>(loc, v, packed, ValueRange{t, last, j2});
                    rb.create<memref::StoreOp>(
                        loc, zero, packed,
                        ValueRange{t, last, rb.create<arith::AddIOp>(loc, j2, index(1))});
                  }
                  rb.create<scf::YieldOp>(loc);
                };
                jb.create<scf::IfOp>(
                    loc, inside, [&](OpBuilder &rb, Location) { copyRow(rb, false); },
                    [&](OpBuilder &rb, Location) { copyRow(rb, true); });
                jb.create<scf::YieldOp>(loc);
              });
        });
  }

  /// The bf16 tile: weight rows [n0, n0 + tn) × the panelTokens tokens of
  /// panel t, one vdpbf16ps per (row, token vector) and pair of the reduction.
  void gemmKernelBF16(Value packed, Value t, Value n0, int64_t tn, Value tokens,
                      func::FuncOp dpbf16ps) {
    const int64_t vectors = panelTokens / width;
    auto pairsType = VectorType::get({2 * width}, b.getBF16Type());
    auto wordsType = VectorType::get({width}, b.getI32Type());
    auto pairType = VectorType::get({2}, b.getBF16Type());
    SmallVector<Value> ns;
    for (int64_t i = 0; i < tn; ++i)
      ns.push_back(i ? b.create<arith::AddIOp>(loc, n0, index(i)).getResult() : n0);
    Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(vecType));
    SmallVector<Value> inits(tn * vectors, zero);
    // One reduction pair p; `odd` reads the last, half-padded pair of an odd
    // reduction (the weight's second half is zero, the panel's too).
    auto step = [&](OpBuilder &nb, Value p, ValueRange accs, bool odd) {
      SmallVector<Value> av, out;
      for (int64_t v = 0; v < vectors; ++v)
        av.push_back(nb.create<vector::LoadOp>(loc, pairsType, packed,
                                               ValueRange{t, p, index(2 * width * v)}));
      Value k0 = nb.create<arith::MulIOp>(loc, p, index(2));
      for (int64_t i = 0; i < tn; ++i) {
        Value pair;
        if (!odd) {
          pair = nb.create<vector::LoadOp>(loc, pairType, bT, at(ns[i], k0));
        } else {
          Value pad = nb.create<arith::ConstantOp>(loc, nb.getFloatAttr(nb.getBF16Type(), 0.0));
          pair = nb.create<vector::TransferReadOp>(loc, pairType, bT, at(ns[i], k0), pad,
                                                   ArrayRef<bool>{false});
        }
        // The 32-bit pair broadcast to every lane (vpbroadcastd).
        Value word = nb.create<vector::ExtractOp>(
            loc, nb.create<vector::BitCastOp>(loc, VectorType::get({1}, nb.getI32Type()), pair),
            ArrayRef<int64_t>{0});
        Value wv = nb.create<vector::BitCastOp>(
            loc, pairsType, nb.create<vector::BroadcastOp>(loc, wordsType, word));
        for (int64_t v = 0; v < vectors; ++v)
          out.push_back(
              nb.create<func::CallOp>(loc, dpbf16ps, ValueRange{accs[i * vectors + v], wv, av[v]})
                  .getResult(0));
      }
      return out;
    };
    SmallVector<Value> accs = inits;
    if (k / 2 > 0) {
      auto loop = b.create<scf::ForOp>(
          loc, index(0), index(k / 2), index(1), inits,
          [&](OpBuilder &nb, Location, Value p, ValueRange iter) {
            nb.create<scf::YieldOp>(loc, step(nb, p, iter, /*odd=*/false));
          });
      accs = loop.getResults();
    }
    if (k % 2)
      accs = step(b, index(k / 2), accs, /*odd=*/true);
    addTileToC(accs, t, ns, tokens);
  }

  /// C[m0 + lane, n0 + i] += acc[i][v][lane] for the tokens of panel t that
  /// exist: a masked gather / add / scatter down a column of C per accumulator
  /// (amortized over the whole reduction; no scratch memory).
  void addTileToC(ValueRange accs, Value t, ArrayRef<Value> ns, Value tokens) {
    const int64_t vectors = panelTokens / width;
    const int64_t tn = ns.size();
    VectorType laneType = vecType;
    int64_t rowStride = staticRowStride(cast<MemRefType>(c.getType()));
    auto laneIndexType = VectorType::get({width}, b.getI32Type());
    SmallVector<int32_t> offsets, lanes;
    for (int64_t lane = 0; lane < width; ++lane) {
      offsets.push_back(static_cast<int32_t>(lane * rowStride));
      lanes.push_back(static_cast<int32_t>(lane));
    }
    Value columnOffsets =
        b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(laneIndexType, ArrayRef(offsets)));
    Value laneIds =
        b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(laneIndexType, ArrayRef(lanes)));
    Value tokens32 = b.create<arith::IndexCastOp>(loc, b.getI32Type(), tokens);
    Value zeroVec = b.create<arith::ConstantOp>(loc, b.getZeroAttr(laneType));
    Value m0 = b.create<arith::MulIOp>(loc, t, index(panelTokens));
    for (int64_t v = 0; v < vectors; ++v) {
      Value first = b.create<arith::AddIOp>(loc, m0, index(v * width));
      Value first32 = b.create<arith::IndexCastOp>(loc, b.getI32Type(), first);
      Value rows = b.create<arith::AddIOp>(
          loc, laneIds, b.create<vector::BroadcastOp>(loc, laneIndexType, first32));
      Value mask = b.create<arith::CmpIOp>(
          loc, arith::CmpIPredicate::slt, rows,
          b.create<vector::BroadcastOp>(loc, laneIndexType, tokens32));
      for (int64_t i = 0; i < tn; ++i) {
        SmallVector<Value> base = at(first, ns[i]);
        Value old = b.create<vector::GatherOp>(loc, laneType, c, base, columnOffsets, mask,
                                               zeroVec);
        Value sum = b.create<arith::AddFOp>(loc, old, accs[i * vectors + v]);
        b.create<vector::ScatterOp>(loc, c, base, columnOffsets, mask, sum);
      }
    }
  }

  void outerProductKernel(Value m0, int64_t tm, int64_t col0, int64_t vectors, Value inner) {
    SmallVector<Value> ms, cols;
    for (int64_t i = 0; i < tm; ++i)
      ms.push_back(i ? b.create<arith::AddIOp>(loc, m0, index(i)).getResult() : m0);
    for (int64_t v = 0; v < vectors; ++v)
      cols.push_back(index(col0 + v * width));
    Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(vecType));
    SmallVector<Value> inits(tm * vectors, zero);
    auto loop = b.create<scf::ForOp>(
        loc, index(0), inner, index(1), inits,
        [&](OpBuilder &nb, Location, Value j, ValueRange accs) {
          SmallVector<Value> av, bv, out;
          for (Value m : ms)
            av.push_back(nb.create<vector::BroadcastOp>(
                loc, vecType, nb.create<memref::LoadOp>(loc, a, at(m, j))));
          // A bf16 B (the value tile of a --kv-type=bf16 cache) is widened
          // after the load.
          Type bElement = cast<MemRefType>(bT.getType()).getElementType();
          for (Value col : cols) {
            Value row = nb.create<vector::LoadOp>(loc, VectorType::get({width}, bElement), bT,
                                                  at(j, col));
            if (bElement != vecType.getElementType())
              row = nb.create<arith::ExtFOp>(loc, vecType, row);
            bv.push_back(row);
          }
          for (int64_t i = 0; i < tm; ++i)
            for (int64_t v = 0; v < vectors; ++v)
              out.push_back(nb.create<vector::FMAOp>(loc, av[i], bv[v], accs[i * vectors + v]));
          nb.create<scf::YieldOp>(loc, out);
        });
    for (int64_t i = 0; i < tm; ++i)
      for (int64_t v = 0; v < vectors; ++v) {
        Value old = b.create<vector::LoadOp>(loc, vecType, c, at(ms[i], cols[v]));
        Value sum = b.create<arith::AddFOp>(loc, old, loop.getResult(i * vectors + v));
        b.create<vector::StoreOp>(loc, sum, c, at(ms[i], cols[v]));
      }
  }

  OpBuilder &b;
  Location loc;
  Value a, bT, c;
  int64_t k, width;
  int64_t gemmRows, panelTokens; // the prefill GEMM's register tile
  tfc::MatmulStrategy tiles;
  VectorType vecType;
  SmallVector<Value> lead;
  Value aDot;
  func::FuncOp dot;
  Value aPairs;
  /// While set (the small-batch kernel, MatmulStrategy::smallPrefetch), each
  /// vector step prefetches the next row tile's columns, up to the weight row
  /// prefetchLastRow.
  func::FuncOp prefetch;
  int64_t prefetchLastRow = 0;
};

// linalg.matmul_transpose_b (A: [m, k], B: [n, k] static, C: [m, n]) on memrefs
//   => scf.parallel over row blocks of B { 4x4 / 4x1 / 1x4 / 1x1 vector micro-kernels }
struct VectorizeMatmulTransposeB : OpRewritePattern<linalg::MatmulTransposeBOp> {
  VectorizeMatmulTransposeB(MLIRContext *ctx, tfc::MatmulStrategy strategy, int64_t blockRows)
      : OpRewritePattern(ctx), strategy(strategy), blockRows(blockRows) {}

  LogicalResult matchAndRewrite(linalg::MatmulTransposeBOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureBufferSemantics())
      return rewriter.notifyMatchFailure(op, "expects memrefs");
    Value a = op.getDpsInputs()[0], bT = op.getDpsInputs()[1], c = op.getDpsInits()[0];
    auto aType = cast<MemRefType>(a.getType()), bType = cast<MemRefType>(bT.getType());
    auto cType = cast<MemRefType>(c.getType());
    Type bElement = bType.getElementType();
    if (!aType.getElementType().isF32() || !cType.getElementType().isF32() ||
        !(bElement.isF32() || bElement.isBF16() || bElement.isF16()))
      return rewriter.notifyMatchFailure(op, "expects f32 activations and f32/bf16/f16 weights");
    if (!rowsContiguous(aType) || !rowsContiguous(bType))
      return rewriter.notifyMatchFailure(op, "expects contiguous rows");
    if (ShapedType::isDynamic(bType.getDimSize(0)) || ShapedType::isDynamic(bType.getDimSize(1)))
      return rewriter.notifyMatchFailure(op, "expects a static weight");

    Location loc = op.getLoc();
    int64_t rows = bType.getDimSize(0), k = bType.getDimSize(1);
    const int64_t width = strategy.vectorWidth;
    MatmulEmitter emit(rewriter, loc, a, bT, c, k, strategy);
    // The token count (the rows of C, equal to those of A).
    Value tokens = rewriter.create<memref::DimOp>(loc, c, 0);
    // vdpbf16ps needs 512-bit vectors of bf16 pairs (the strategy's bf16Dot).
    bool dot = strategy.bf16Dot && bElement.isBF16();
    func::FuncOp dpbf16ps;
    if (dot) {
      auto pairs = VectorType::get({32}, rewriter.getBF16Type());
      auto lanes = VectorType::get({16}, rewriter.getF32Type());
      dpbf16ps = tfc::intrinsicDeclaration(op->getParentOfType<ModuleOp>(),
                                           "llvm.x86.avx512bf16.dpbf16ps.512",
                                           rewriter.getFunctionType({lanes, pairs, pairs}, {lanes}));
    }
    auto streamingKernels = [&] {
      if (dot && strategy.smallBatchDotByFMA) {
        // One token: the decode kernel on vdpbf16ps. A few: the small-batch
        // kernel on FMAs that give vdpbf16ps's bits (setDotByFMA): a batched
        // session's logits are those of the session alone, where the
        // rounding of the activations to bf16 would turn any other order of
        // the sums into differences of bf16's precision downstream.
        Value few = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, tokens,
                                                   emit.index(strategy.smallBatchMinTokens));
        auto ifOp = rewriter.create<scf::IfOp>(loc, few, /*withElseRegion=*/true);
        OpBuilder::InsertionGuard g(rewriter);
        rewriter.setInsertionPointToStart(ifOp.thenBlock());
        emit.setDotByFMA(emit.splitPairsThroughBF16(tokens));
        tfc::parallelRowBlocks(rewriter, loc, rows, blockRows, [&](Value nStart, Value nEnd) {
          emit.smallBatchBlock(nStart, nEnd, tokens);
        });
        emit.setDotByFMA(Value());
        rewriter.setInsertionPointToStart(ifOp.elseBlock());
        emit.setBF16Dot(emit.roundedToBF16(tokens), dpbf16ps);
        tfc::parallelRowBlocks(rewriter, loc, rows, blockRows, [&](Value nStart, Value nEnd) {
          emit.block(nStart, nEnd, tokens);
        });
        emit.setBF16Dot(Value(), func::FuncOp());
        return;
      }
      if (dot)
        emit.setBF16Dot(emit.roundedToBF16(tokens), dpbf16ps);
      tfc::parallelRowBlocks(rewriter, loc, rows, blockRows, [&](Value nStart, Value nEnd) {
        // One token (decode) keeps the 1 x tileRows kernel; a few tokens take
        // the small-batch kernel, which reads each weight row once for all.
        Value few = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, tokens,
                                                   emit.index(strategy.smallBatchMinTokens));
        auto ifOp = rewriter.create<scf::IfOp>(loc, few, /*withElseRegion=*/true);
        OpBuilder::InsertionGuard g(rewriter);
        rewriter.setInsertionPointToStart(ifOp.thenBlock());
        emit.smallBatchBlock(nStart, nEnd, tokens);
        rewriter.setInsertionPointToStart(ifOp.elseBlock());
        emit.block(nStart, nEnd, tokens);
      });
      if (dot)
        emit.setBF16Dot(Value(), func::FuncOp());
    };
    int64_t cStride = staticRowStride(cType);
    if (!strategy.packedGemm || ShapedType::isDynamic(cStride) ||
        cStride * width >= (int64_t{1} << 31)) {
      // The packed GEMM's register tile is sized for AVX-512 or AVX2
      // registers, and its results are scattered down columns of C at 32-bit
      // offsets.
      streamingKernels();
    } else {
      // Decode and short chunks stream the weights once (bandwidth-bound);
      // longer prefills run the packed GEMM (compute-bound).
      Value many = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, tokens,
                                                  emit.index(strategy.gemmMinTokens));
      auto ifOp = rewriter.create<scf::IfOp>(loc, many, /*withElseRegion=*/true);
      rewriter.setInsertionPointToStart(ifOp.thenBlock());
      emit.packedGemm(tokens, rows, strategy.bf16GemmDot ? dpbf16ps : func::FuncOp());
      rewriter.setInsertionPointToStart(ifOp.elseBlock());
      streamingKernels();
      rewriter.setInsertionPointAfter(ifOp);
    }
    rewriter.eraseOp(op);
    return success();
  }

  tfc::MatmulStrategy strategy;
  int64_t blockRows;
};

/// `scf.parallel` over (batch, blocks of `blockRows` of `rows`), calling
/// `body(lo, hi)` for rows [lo, hi) with the emitter set to the batch.
void parallelOverBatchBlocks(PatternRewriter &rewriter, Location loc, MatmulEmitter &emit,
                             Value batches, Value rows, int64_t blockRows,
                             function_ref<void(Value, Value)> body) {
  Value blocks = tfc::ceilDivIndex(rewriter, loc, rows, blockRows);
  rewriter.create<scf::ParallelOp>(
      loc, ValueRange{emit.index(0), emit.index(0)}, ValueRange{batches, blocks},
      ValueRange{emit.index(1), emit.index(1)}, [&](OpBuilder &nb, Location, ValueRange ivs) {
        OpBuilder::InsertionGuard g(rewriter);
        rewriter.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        emit.setBatch(ivs[0]);
        Value lo = rewriter.create<arith::MulIOp>(loc, ivs[1], emit.index(blockRows));
        Value hi = rewriter.create<arith::MinSIOp>(
            loc, rewriter.create<arith::AddIOp>(loc, lo, emit.index(blockRows)), rows);
        body(lo, hi);
      });
}

bool f32Memrefs(ValueRange values) {
  return llvm::all_of(values, [](Value v) {
    auto t = dyn_cast<MemRefType>(v.getType());
    return t && t.getElementType().isF32() && rowsContiguous(t);
  });
}

/// The B operand of a batched attention product: f32, or bf16 (the key and
/// value tiles of a --kv-type=bf16 cache), with contiguous rows.
bool f32OrBF16Memref(Value v) {
  auto t = dyn_cast<MemRefType>(v.getType());
  return t && (t.getElementType().isF32() || t.getElementType().isBF16()) && rowsContiguous(t);
}

// linalg.batch_matmul_transpose_b (A: [b, m, k], B: [b, n, k] with k static) on memrefs
//   => scf.parallel over (batch, row blocks of B) { the micro-kernels of one batch }
struct VectorizeBatchMatmulTransposeB : OpRewritePattern<linalg::BatchMatmulTransposeBOp> {
  VectorizeBatchMatmulTransposeB(MLIRContext *ctx, tfc::MatmulStrategy strategy, int64_t blockRows)
      : OpRewritePattern(ctx), strategy(strategy), blockRows(blockRows) {}

  LogicalResult matchAndRewrite(linalg::BatchMatmulTransposeBOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureBufferSemantics())
      return rewriter.notifyMatchFailure(op, "expects memrefs");
    Value a = op.getDpsInputs()[0], bT = op.getDpsInputs()[1], c = op.getDpsInits()[0];
    if (!f32Memrefs({a, c}) || !f32OrBF16Memref(bT))
      return rewriter.notifyMatchFailure(op, "expects f32 (B: or bf16) memrefs with contiguous rows");
    int64_t k = cast<MemRefType>(bT.getType()).getDimSize(2);
    if (ShapedType::isDynamic(k))
      return rewriter.notifyMatchFailure(op, "expects a static reduction size");
    Location loc = op.getLoc();
    MatmulEmitter emit(rewriter, loc, a, bT, c, k, strategy);
    Value batches = rewriter.create<memref::DimOp>(loc, a, 0);
    Value tokens = rewriter.create<memref::DimOp>(loc, a, 1);
    Value rows = rewriter.create<memref::DimOp>(loc, bT, 1);
    parallelOverBatchBlocks(rewriter, loc, emit, batches, rows, blockRows,
                            [&](Value lo, Value hi) { emit.block(lo, hi, tokens); });
    rewriter.eraseOp(op);
    return success();
  }

  tfc::MatmulStrategy strategy;
  int64_t blockRows;
};

// linalg.batch_matmul (A: [b, m, j], B: [b, j, e] with e a static multiple of
//   the vector width) on memrefs => scf.parallel over (batch, row blocks of A)
//   { 4-row / 1-row outer-product kernels: broadcast A[m, j] x vectors of B[j, :] }
struct VectorizeBatchMatmul : OpRewritePattern<linalg::BatchMatmulOp> {
  VectorizeBatchMatmul(MLIRContext *ctx, tfc::MatmulStrategy strategy, int64_t blockRows)
      : OpRewritePattern(ctx), strategy(strategy), blockRows(blockRows) {}

  LogicalResult matchAndRewrite(linalg::BatchMatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureBufferSemantics())
      return rewriter.notifyMatchFailure(op, "expects memrefs");
    Value a = op.getDpsInputs()[0], bm = op.getDpsInputs()[1], c = op.getDpsInits()[0];
    if (!f32Memrefs({a, c}) || !f32OrBF16Memref(bm))
      return rewriter.notifyMatchFailure(op, "expects f32 (B: or bf16) memrefs with contiguous rows");
    int64_t cols = cast<MemRefType>(bm.getType()).getDimSize(2);
    const int64_t width = strategy.vectorWidth;
    if (ShapedType::isDynamic(cols) || cols % width != 0)
      return rewriter.notifyMatchFailure(op, "expects a static multiple of the vector width");
    Location loc = op.getLoc();
    MatmulEmitter emit(rewriter, loc, a, bm, c, /*k=*/0, strategy);
    Value batches = rewriter.create<memref::DimOp>(loc, a, 0);
    Value rows = rewriter.create<memref::DimOp>(loc, a, 1);
    Value inner = rewriter.create<memref::DimOp>(loc, a, 2);
    parallelOverBatchBlocks(rewriter, loc, emit, batches, rows, blockRows,
                            [&](Value lo, Value hi) { emit.outerProductRows(lo, hi, inner, cols); });
    rewriter.eraseOp(op);
    return success();
  }

  tfc::MatmulStrategy strategy;
  int64_t blockRows;
};

struct VectorizeMatmulPass : tfc::impl::VectorizeMatmulBase<VectorizeMatmulPass> {
  using VectorizeMatmulBase::VectorizeMatmulBase;

  void runOnOperation() override {
    if (vectorWidth <= 0 || blockRows <= 0) {
      getOperation().emitError("tfc-vectorize-matmul: vector-width and block-rows must be positive");
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    const tfc::MatmulStrategy strategy =
        tfc::selectMatmulStrategy(vectorWidth, bf16Dot, bf16GemmDot);
    patterns.add<VectorizeMatmulTransposeB, VectorizeBatchMatmulTransposeB, VectorizeBatchMatmul>(
        &getContext(), strategy, blockRows);
    if (int8Dot != "none" && int8Dot != "vnni" && int8Dot != "avxvnni" && int8Dot != "avx2") {
      getOperation().emitError()
          << "tfc-vectorize-matmul: int8-dot must be none, avx2, avxvnni or vnni, not '"
                                 << int8Dot << "'";
      return signalPassFailure();
    }
    tfc::populateQuantizedMatmulPatterns(patterns, strategy, blockRows, int8Dot);
    FrozenRewritePatternSet frozen(std::move(patterns));
    for (auto func : llvm::to_vector(getOperation().getOps<func::FuncOp>()))
      if (failed(applyPatternsAndFoldGreedily(func, frozen)))
        return signalPassFailure();
  }
};

} // namespace
