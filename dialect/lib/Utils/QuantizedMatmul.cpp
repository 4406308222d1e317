//===- QuantizedMatmul.cpp - Linear layers on ggml block weights -----------===//
//
// The generic that stands for a product with Q8_0 or Q4_0 weights (see the
// header): built in one place and recognized in one place, so the passes that
// build, fuse and vectorize it agree on its operands.
//
//===----------------------------------------------------------------------===//

#include "tfc/Utils/QuantizedMatmul.h"

#include "tfc/Utils/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace tfc {

namespace {

constexpr QuantFormatInfo kFormats[] = {
    {"q8_0", "tfc.q8_0_matmul", 32, 34},
    {"q4_0", "tfc.q4_0_matmul", 32, 18},
    {"q6_k", "tfc.q6_k_matmul", 256, 210},
    {"q4_k", "tfc.q4_k_matmul", 256, 144},
    {"q5_k", "tfc.q5_k_matmul", 256, 176},
};

constexpr QuantFormat kAllFormats[] = {QuantFormat::Q8_0, QuantFormat::Q4_0, QuantFormat::Q6_K,
                                       QuantFormat::Q4_K, QuantFormat::Q5_K};

/// Byte offsets in a Q4_K super-block (ggml's block_q4_K): d, dmin, the 12
/// bytes of packed scales and mins, the 128 bytes of nibbles.
constexpr int64_t kQ4_KMin = 2, kQ4_KScales = 4, kQ4_KNibbles = 16;

/// Q5_K (ggml's block_q5_K): Q4_K's first 16 bytes, then the 32 bytes of
/// fifth bits and the 128 bytes of nibbles.
constexpr int64_t kQ5_KHigh = 16, kQ5_KNibbles = 48;

/// The generic's inputs per format: A, then the weight bytes it reads.
int64_t genericInputs(QuantFormat format) {
  switch (format) {
  case QuantFormat::Q6_K:
    return 6;
  case QuantFormat::Q4_K:
    return 9;
  case QuantFormat::Q5_K:
    return 10;
  default:
    return 4;
  }
}

/// Byte offsets in a Q6_K super-block (ggml's block_q6_K).
constexpr int64_t kQ6_KHigh = 128, kQ6_KScales = 192, kQ6_KScale = 208;

/// f32 of the little-endian f16 whose bytes are `lo` and `hi` (i8).
Value blockScale(OpBuilder &nb, Location l, Value lo, Value hi) {
  Type i16 = nb.getI16Type();
  Value lo16 = nb.create<arith::ExtUIOp>(l, i16, lo);
  Value hi16 = nb.create<arith::ExtUIOp>(l, i16, hi);
  Value eight = nb.create<arith::ConstantOp>(l, nb.getI16IntegerAttr(8));
  Value bits = nb.create<arith::OrIOp>(l, lo16, nb.create<arith::ShLIOp>(l, hi16, eight));
  return nb.create<arith::ExtFOp>(l, nb.getF32Type(),
                                  nb.create<arith::BitcastOp>(l, nb.getF16Type(), bits).getResult());
}

/// The signed integer a Q4_0 byte holds for lane j of its block: the low
/// nibble for j < 16, the high one above, minus 8.
Value q4_0Value(OpBuilder &nb, Location l, Value byte) {
  Type i8 = nb.getI8Type();
  Value j = nb.create<arith::IndexCastOp>(l, i8, nb.create<linalg::IndexOp>(l, 3));
  auto c = [&](int64_t v) { return nb.create<arith::ConstantOp>(l, nb.getIntegerAttr(i8, v)); };
  Value shift = nb.create<arith::MulIOp>(l, nb.create<arith::DivUIOp>(l, j, c(16)), c(4));
  Value nibble = nb.create<arith::AndIOp>(l, nb.create<arith::ShRUIOp>(l, byte, shift), c(15));
  return nb.create<arith::SubIOp>(l, nibble, c(8));
}

/// The signed integer of lane j of a Q6_K super-block, from its low-bits byte
/// `ql` (bits 4 (j mod 128) / 64 of it) and its high-bits byte `qh` (bits 2
/// (j mod 128) / 32 of it), minus 32.
Value q6_kValue(OpBuilder &nb, Location l, Value ql, Value qh) {
  Type i8 = nb.getI8Type();
  auto c = [&](int64_t v) { return nb.create<arith::ConstantOp>(l, nb.getIntegerAttr(i8, v)); };
  // The 32-lane group of the lane in its half, 0..3 (in index arithmetic:
  // lanes go up to 255).
  Value j = nb.create<linalg::IndexOp>(l, 3);
  Value group = nb.create<arith::DivUIOp>(
      l, nb.create<arith::RemUIOp>(l, j, indexConst(nb, l, 128)), indexConst(nb, l, 32));
  group = nb.create<arith::IndexCastOp>(l, i8, group);
  Value lowShift = nb.create<arith::MulIOp>(l, nb.create<arith::DivUIOp>(l, group, c(2)), c(4));
  Value highShift = nb.create<arith::MulIOp>(l, group, c(2));
  Value low = nb.create<arith::AndIOp>(l, nb.create<arith::ShRUIOp>(l, ql, lowShift), c(15));
  Value high = nb.create<arith::AndIOp>(l, nb.create<arith::ShRUIOp>(l, qh, highShift), c(3));
  Value q = nb.create<arith::OrIOp>(l, low, nb.create<arith::ShLIOp>(l, high, c(4)));
  return nb.create<arith::SubIOp>(l, q, c(32));
}

/// The 6-bit scale and min of lane j's sub-block s = j / 32 of a Q4_K
/// super-block (ggml's get_scale_min_k4), from the packed bytes p = scales[s
/// mod 4], q = scales[4 + s mod 4] and r = scales[8 + s mod 4]: for s < 4 the
/// low six bits of p and q; above, r's low (high) nibble under p's (q's) top
/// two bits.
std::pair<Value, Value> q4_kScaleMin(OpBuilder &nb, Location l, Value p, Value q, Value r) {
  Type i8 = nb.getI8Type();
  auto c = [&](int64_t v) { return nb.create<arith::ConstantOp>(l, nb.getIntegerAttr(i8, v)); };
  Value j = nb.create<linalg::IndexOp>(l, 3);
  Value upper = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::uge, j, indexConst(nb, l, 128));
  auto top = [&](Value v) {
    return nb.create<arith::ShLIOp>(l, nb.create<arith::ShRUIOp>(l, v, c(6)), c(4)).getResult();
  };
  Value lowScale = nb.create<arith::AndIOp>(l, p, c(63));
  Value lowMin = nb.create<arith::AndIOp>(l, q, c(63));
  Value highScale = nb.create<arith::OrIOp>(l, nb.create<arith::AndIOp>(l, r, c(15)), top(p));
  Value highMin = nb.create<arith::OrIOp>(l, nb.create<arith::ShRUIOp>(l, r, c(4)), top(q));
  return {nb.create<arith::SelectOp>(l, upper, highScale, lowScale),
          nb.create<arith::SelectOp>(l, upper, highMin, lowMin)};
}

} // namespace

const QuantFormatInfo &info(QuantFormat format) { return kFormats[static_cast<int>(format)]; }

bool q4_k_mSixBits(StringRef name) {
  if (name == "lm_head.weight" || name == "output.weight")
    return true;
  // llama.cpp matches "ffn_down" anywhere in the GGUF name, so the stacked
  // routed experts (ffn_down_exps) and the shared ones (ffn_down_shexp) take
  // Q6_K like a dense layer's ffn_down; Mixtral's Hugging Face experts call
  // their down projection w2.
  for (StringRef part : {"v_proj.", "attn_v.", "attention.wv.", "down_proj.", "ffn_down.",
                         "ffn_down_exps.", "ffn_down_shexp.", "feed_forward.w2.", "mlp.c_proj."})
    if (name.contains(part))
      return true;
  return name.contains("block_sparse_moe.experts.") && name.ends_with(".w2.weight");
}

bool q4_k_mFiveBits(StringRef name) {
  return name.contains("attn_qkv.") || name.contains("attn.c_attn.");
}

bool q4_k_mUseMoreBits(int64_t layer, int64_t layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

std::optional<QuantFormat> quantFormatNamed(StringRef name) {
  for (QuantFormat f : kAllFormats)
    if (info(f).name == name)
      return f;
  return std::nullopt;
}

SmallVector<int64_t> quantStoredShape(QuantFormat format, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> stored(shape.drop_back());
  stored.append({shape.back() / info(format).block, info(format).blockBytes});
  return stored;
}

Value buildQuantizedMatmul(OpBuilder &b, Location loc, QuantFormat format, Value a, Value wq,
                           Value init) {
  MLIRContext *ctx = b.getContext();
  const int64_t block = info(format).block;
  RankedTensorType aType = tensorType(a);
  int64_t blocks = tensorType(wq).getDimSize(1);
  // [m, k] -> [m, k/32, 32]: the lanes of a block become a loop of their own,
  // so that every index of the generic is a plain loop or a constant.
  auto a3Type = RankedTensorType::get({aType.getDimSize(0), blocks, block}, b.getF32Type());
  SmallVector<OpFoldResult> a3Sizes{knownSize(b, loc, a, 0), b.getIndexAttr(blocks),
                                    b.getIndexAttr(block)};
  Value a3 = b.create<tensor::ExpandShapeOp>(loc, a3Type, a, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
                                             a3Sizes);
  // Loops (m, n, b, j).
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             blk = getAffineDimExpr(2, ctx), j = getAffineDimExpr(3, ctx);
  auto map = [&](ArrayRef<AffineExpr> results) { return AffineMap::get(4, 0, results, ctx); };
  auto at = [&](int64_t byte) { return map({n, blk, getAffineConstantExpr(byte, ctx)}); };
  if (format == QuantFormat::Q6_K) {
    // Inputs: A, the low-bits byte of lane j, its high-bits byte, its
    // sub-block's int8 scale (16 lanes each), the f16 super-block scale.
    AffineExpr half = j.floorDiv(128), lane = j % 32;
    AffineExpr ql = half * 64 + (j % 128).floorDiv(32) % 2 * 32 + lane;
    AffineExpr qh = half * 32 + lane + kQ6_KHigh;
    SmallVector<AffineMap> maps{map({m, blk, j}),          map({n, blk, ql}),
                                map({n, blk, qh}),         map({n, blk, j.floorDiv(16) + kQ6_KScales}),
                                at(kQ6_KScale),            at(kQ6_KScale + 1),
                                map({m, n})};
    Value product = generic(
        b, loc, ValueRange{a3, wq, wq, wq, wq, wq}, init, maps, iterators(2, 2),
        [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
          Type f32 = nb.getF32Type();
          Value scale = blockScale(nb, l, args[4], args[5]);
          Value sub = nb.create<arith::MulFOp>(l, nb.create<arith::SIToFPOp>(l, f32, args[3]), scale);
          Value q = q6_kValue(nb, l, args[1], args[2]);
          Value w = nb.create<arith::MulFOp>(l, nb.create<arith::SIToFPOp>(l, f32, q), sub);
          return nb.create<arith::AddFOp>(l, args[6], nb.create<arith::MulFOp>(l, args[0], w));
        });
    product.getDefiningOp()->setAttr(info(format).attr, b.getUnitAttr());
    return product;
  }
  if (format == QuantFormat::Q4_K || format == QuantFormat::Q5_K) {
    // Inputs: A, the byte of lane j's nibble (sub-blocks 2i and 2i + 1 share
    // bytes 32i.., low and high nibble), the three packed bytes of its
    // sub-block's scale and min, d, dmin; Q5_K then the byte of lane j's
    // fifth bit (bit j / 32 of byte j mod 32 of the high bits).
    const bool five = format == QuantFormat::Q5_K;
    AffineExpr sub = j.floorDiv(32) % 4;
    const int64_t nibbles = five ? kQ5_KNibbles : kQ4_KNibbles;
    SmallVector<AffineMap> maps{map({m, blk, j}),
                                map({n, blk, j.floorDiv(64) * 32 + j % 32 + nibbles}),
                                map({n, blk, sub + kQ4_KScales}),
                                map({n, blk, sub + kQ4_KScales + 4}),
                                map({n, blk, sub + kQ4_KScales + 8}),
                                at(0), at(1), at(kQ4_KMin), at(kQ4_KMin + 1)};
    SmallVector<Value> inputs(9, wq);
    inputs.front() = a3;
    if (five) {
      maps.push_back(map({n, blk, j % 32 + kQ5_KHigh}));
      inputs.push_back(wq);
    }
    maps.push_back(map({m, n}));
    Value product = generic(
        b, loc, inputs, init, maps, iterators(2, 2),
        [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
          Type f32 = nb.getF32Type(), i8 = nb.getI8Type();
          auto c = [&](int64_t v) { return nb.create<arith::ConstantOp>(l, nb.getIntegerAttr(i8, v)); };
          Value subBlock =
              nb.create<arith::DivUIOp>(l, nb.create<linalg::IndexOp>(l, 3), indexConst(nb, l, 32));
          Value high = nb.create<arith::CmpIOp>(
              l, arith::CmpIPredicate::eq, nb.create<arith::RemUIOp>(l, subBlock, indexConst(nb, l, 2)),
              indexConst(nb, l, 1));
          Value q = nb.create<arith::SelectOp>(l, high, nb.create<arith::ShRUIOp>(l, args[1], c(4)),
                                               nb.create<arith::AndIOp>(l, args[1], c(15)));
          if (five) {
            // q + 16 * (bit s of the high-bits byte), s the sub-block.
            Value bit = nb.create<arith::AndIOp>(
                l,
                nb.create<arith::ShRUIOp>(l, args[9], nb.create<arith::IndexCastOp>(l, i8, subBlock)),
                c(1));
            q = nb.create<arith::OrIOp>(l, q, nb.create<arith::ShLIOp>(l, bit, c(4)));
          }
          auto [scale, min] = q4_kScaleMin(nb, l, args[2], args[3], args[4]);
          auto f = [&](Value v) { return nb.create<arith::UIToFPOp>(l, f32, v).getResult(); };
          // ggml's dequantize_row_q4_K / _q5_K: (d * scale) * q - dmin * min.
          Value d = nb.create<arith::MulFOp>(l, blockScale(nb, l, args[5], args[6]), f(scale));
          Value dm = nb.create<arith::MulFOp>(l, blockScale(nb, l, args[7], args[8]), f(min));
          Value w = nb.create<arith::SubFOp>(l, nb.create<arith::MulFOp>(l, d, f(q)), dm);
          return nb.create<arith::AddFOp>(l, args.back(), nb.create<arith::MulFOp>(l, args[0], w));
        });
    product.getDefiningOp()->setAttr(info(format).attr, b.getUnitAttr());
    return product;
  }
  // The byte holding lane j: its own (Q8_0), or one of 16 bytes of pairs (Q4_0).
  AffineExpr byteOfLane = format == QuantFormat::Q4_0 ? j % (block / 2) + 2 : j + 2;
  SmallVector<AffineMap> maps{map({m, blk, j}), map({n, blk, byteOfLane}), at(0), at(1),
                              map({m, n})};
  Value product = generic(
      b, loc, ValueRange{a3, wq, wq, wq}, init, maps, iterators(2, 2),
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value scale = blockScale(nb, l, args[2], args[3]);
        Value q = format == QuantFormat::Q4_0 ? q4_0Value(nb, l, args[1]) : args[1];
        Value w = nb.create<arith::MulFOp>(l, nb.create<arith::SIToFPOp>(l, nb.getF32Type(), q),
                                           scale);
        return nb.create<arith::AddFOp>(l, args[4], nb.create<arith::MulFOp>(l, args[0], w));
      });
  product.getDefiningOp()->setAttr(info(format).attr, b.getUnitAttr());
  return product;
}

// Inputs 2 and on (the other bytes of a block) are input 1 again as
// buildQuantizedMatmul made them; after bufferization they may be distinct
// values of the same buffer, so they are not compared.
std::optional<QuantFormat> quantizedMatmulFormat(linalg::GenericOp op) {
  for (QuantFormat format : kAllFormats) {
    const QuantFormatInfo &f = info(format);
    if (!op->hasAttr(f.attr) || op.getNumDpsInputs() != genericInputs(format) || op.getNumDpsInits() != 1)
      continue;
    auto shaped = [](Value v) { return dyn_cast<ShapedType>(v.getType()); };
    ShapedType a = shaped(op.getDpsInputs()[0]), w = shaped(op.getDpsInputs()[1]),
               c = shaped(op.getDpsInits()[0]);
    if (a && w && c && a.getRank() == 3 && w.getRank() == 3 && c.getRank() == 2 &&
        a.getElementType().isF32() && w.getElementType().isInteger(8) &&
        c.getElementType().isF32() && a.getDimSize(2) == f.block &&
        w.getDimSize(2) == f.blockBytes && !ShapedType::isDynamic(w.getDimSize(0)) &&
        !ShapedType::isDynamic(w.getDimSize(1)) && a.getDimSize(1) == w.getDimSize(1))
      return format;
  }
  return std::nullopt;
}

} // namespace tfc
