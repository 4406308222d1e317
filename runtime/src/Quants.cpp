//===- Quants.cpp - Dequantizing ggml's block types ------------------------===//
//
// One function per block type, written from the block layouts of ggml's
// ggml-common.h and the arithmetic of its `dequantize_row_*` reference code
// (ggml-quants.c): the same float32 operations in the same order, so results
// are bit-identical. Blocks are read byte by byte (memcpy for the f16 scales):
// GGUF only aligns a tensor's start, and a block of 18 or 210 bytes leaves
// the next one unaligned anyway. The suite's numpy dequantizer
// (test/Runtime/Inputs/gguf_gen.py) is written from the same definitions.
//
//===----------------------------------------------------------------------===//
#include "Quants.h"

#include "Half.h"

#include "tfc/Gguf.h"

#include <cstring>
#include <utility>

// dl * q - ml must round twice, as ggml's (non-FMA) reference does.
#pragma clang fp contract(off)

using namespace tfc::rt;
using tfc::gguf::TensorType;

namespace {

float f16At(const unsigned char *p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return halfToFloat(h);
}

//--- 32-element blocks -----------------------------------------------------------

// block_q4_0: f16 d | 16 bytes, element j in the low nibble of byte j, j + 16 in
// its high nibble; value (q - 8) * d.
void dequantizeQ4_0(const unsigned char *b, float *y) {
  const float d = f16At(b);
  const unsigned char *qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = float((qs[j] & 0x0f) - 8) * d;
    y[j + 16] = float((qs[j] >> 4) - 8) * d;
  }
}

// block_q4_1: f16 d | f16 m | nibbles as Q4_0; value q * d + m.
void dequantizeQ4_1(const unsigned char *b, float *y) {
  const float d = f16At(b), m = f16At(b + 2);
  const unsigned char *qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = float(qs[j] & 0x0f) * d + m;
    y[j + 16] = float(qs[j] >> 4) * d + m;
  }
}

// block_q5_0: f16 d | uint32 qh (bit j: the fifth bit of element j) | nibbles
// as Q4_0; value (q - 16) * d.
void dequantizeQ5_0(const unsigned char *b, float *y) {
  const float d = f16At(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const unsigned char *qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const int high0 = int((qh >> j) << 4) & 0x10;
    const int high1 = int(qh >> (j + 12)) & 0x10;
    y[j] = float(((qs[j] & 0x0f) | high0) - 16) * d;
    y[j + 16] = float(((qs[j] >> 4) | high1) - 16) * d;
  }
}

// block_q5_1: f16 d | f16 m | qh | nibbles; value q * d + m.
void dequantizeQ5_1(const unsigned char *b, float *y) {
  const float d = f16At(b), m = f16At(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const unsigned char *qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    const int high0 = int((qh >> j) << 4) & 0x10;
    const int high1 = int(qh >> (j + 12)) & 0x10;
    y[j] = float((qs[j] & 0x0f) | high0) * d + m;
    y[j + 16] = float((qs[j] >> 4) | high1) * d + m;
  }
}

// block_q8_0: f16 d | 32 int8; value q * d.
void dequantizeQ8_0(const unsigned char *b, float *y) {
  const float d = f16At(b);
  for (int j = 0; j < 32; ++j)
    y[j] = float(int8_t(b[2 + j])) * d;
}

//--- 256-element super-blocks (K-quants) ---------------------------------------

// block_q2_K: 16 scale bytes (low nibble scale, high nibble min, per 16
// elements) | 64 bytes of 2-bit values | f16 d | f16 dmin.
void dequantizeQ2_K(const unsigned char *b, float *y) {
  const unsigned char *scales = b, *q = b + 16;
  const float d = f16At(b + 80), min = f16At(b + 82);
  int is = 0;
  for (int n = 0; n < 256; n += 128) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half = 0; half < 2; ++half) {
        const int sc = scales[is++];
        const float dl = d * float(sc & 0x0f), ml = min * float(sc >> 4);
        for (int l = 0; l < 16; ++l)
          *y++ = dl * float((q[l + 16 * half] >> shift) & 3) - ml;
      }
    }
    q += 32;
  }
}

// block_q3_K: 32 bytes of high bits | 64 bytes of 2-bit values | 12 bytes of
// sixteen 6-bit scales | f16 d; value d * (scale - 32) * (q - (high ? 0 : 4)).
void dequantizeQ3_K(const unsigned char *b, float *y) {
  const unsigned char *hm = b, *q = b + 32, *packed = b + 96;
  const float dAll = f16At(b + 108);
  // Scale i: low 4 bits from byte i % 8 (low nibble for i < 8, high nibble
  // after), high 2 bits from byte 8 + i % 4 at bit 2 * (i / 4).
  int scales[16];
  for (int i = 0; i < 16; ++i) {
    const int low = (i < 8 ? packed[i] : packed[i - 8] >> 4) & 0x0f;
    const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    scales[i] = (low | high << 4) - 32;
  }
  int is = 0;
  unsigned m = 1;
  for (int n = 0; n < 256; n += 128) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half = 0; half < 2; ++half) {
        const float dl = dAll * float(scales[is++]);
        for (int l = 0; l < 16; ++l) {
          const int k = l + 16 * half;
          *y++ = dl * float(((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4));
        }
      }
      m <<= 1;
    }
    q += 32;
  }
}

/// Sub-block j's scale and min as floats: d * scale and dmin * min.
std::pair<float, float> subBlockScaleMin(int j, const unsigned char *scales, float d,
                                         float dmin) {
  int scale, min;
  scaleMinK4(j, scales, scale, min);
  return {d * float(scale), dmin * float(min)};
}

// block_q4_K: f16 d | f16 dmin | 12 bytes of eight 6-bit scales and mins | 128
// bytes: 64 elements per 32 bytes, low nibbles first; value d*sc*q - dmin*m.
void dequantizeQ4_K(const unsigned char *b, float *y) {
  const float d = f16At(b), min = f16At(b + 2);
  const unsigned char *scales = b + 4, *q = b + 16;
  for (int is = 0; is < 8; is += 2) {
    const auto [d1, m1] = subBlockScaleMin(is, scales, d, min);
    const auto [d2, m2] = subBlockScaleMin(is + 1, scales, d, min);
    for (int l = 0; l < 32; ++l)
      *y++ = d1 * float(q[l] & 0x0f) - m1;
    for (int l = 0; l < 32; ++l)
      *y++ = d2 * float(q[l] >> 4) - m2;
    q += 32;
  }
}

// block_q5_K: as Q4_K, with 32 bytes of fifth bits (bit 2k and 2k+1 of byte l
// for the low and high nibbles of the k-th 32 bytes) before the nibbles.
void dequantizeQ5_K(const unsigned char *b, float *y) {
  const float d = f16At(b), min = f16At(b + 2);
  const unsigned char *scales = b + 4, *qh = b + 16, *ql = b + 48;
  unsigned u1 = 1, u2 = 2;
  for (int is = 0; is < 8; is += 2) {
    const auto [d1, m1] = subBlockScaleMin(is, scales, d, min);
    const auto [d2, m2] = subBlockScaleMin(is + 1, scales, d, min);
    for (int l = 0; l < 32; ++l)
      *y++ = d1 * float((ql[l] & 0x0f) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l)
      *y++ = d2 * float((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    ql += 32;
    u1 <<= 2;
    u2 <<= 2;
  }
}

// block_q6_K: 128 bytes of low nibbles | 64 bytes of high 2-bit pairs | 16
// int8 scales | f16 d; value d * scale * (q - 32).
void dequantizeQ6_K(const unsigned char *b, float *y) {
  const unsigned char *ql = b, *qh = b + 128;
  const auto *sc = reinterpret_cast<const int8_t *>(b + 192);
  const float d = f16At(b + 208);
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32;
      const int q2 = ((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32;
      const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
      const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
      y[l] = d * float(sc[is]) * float(q1);
      y[l + 32] = d * float(sc[is + 2]) * float(q2);
      y[l + 64] = d * float(sc[is + 4]) * float(q3);
      y[l + 96] = d * float(sc[is + 6]) * float(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

using BlockDequantizer = void (*)(const unsigned char *, float *);

constexpr BlockFunction<BlockDequantizer> kDequantizers[] = {
    {uint32_t(TensorType::Q4_0), dequantizeQ4_0}, {uint32_t(TensorType::Q4_1), dequantizeQ4_1},
    {uint32_t(TensorType::Q5_0), dequantizeQ5_0}, {uint32_t(TensorType::Q5_1), dequantizeQ5_1},
    {uint32_t(TensorType::Q8_0), dequantizeQ8_0}, {uint32_t(TensorType::Q2_K), dequantizeQ2_K},
    {uint32_t(TensorType::Q3_K), dequantizeQ3_K}, {uint32_t(TensorType::Q4_K), dequantizeQ4_K},
    {uint32_t(TensorType::Q5_K), dequantizeQ5_K}, {uint32_t(TensorType::Q6_K), dequantizeQ6_K},
};

} // namespace

bool tfc::rt::canDequantize(uint32_t type) {
  return findBlockFunction(kDequantizers, type) != nullptr;
}

std::string tfc::rt::dequantizableTypeNames() {
  std::string names;
  for (const BlockFunction<BlockDequantizer> &d : kDequantizers) {
    if (!names.empty())
      names += ", ";
    names += tfc::gguf::typeTraits(d.type)->name;
  }
  return names;
}

uint64_t tfc::rt::quantizedBytes(uint32_t type, int64_t n) {
  const tfc::gguf::TypeTraits *traits = tfc::gguf::typeTraits(type);
  return uint64_t(n / traits->blockElements) * uint64_t(traits->blockBytes);
}

void tfc::rt::dequantize(uint32_t type, const unsigned char *src, float *dst, int64_t n) {
  const tfc::gguf::TypeTraits *traits = tfc::gguf::typeTraits(type);
  const BlockDequantizer block = findBlockFunction(kDequantizers, type);
  for (int64_t i = 0; i < n; i += traits->blockElements) {
    block(src, dst + i);
    src += traits->blockBytes;
  }
}

void tfc::rt::scaleMinK4(int j, const unsigned char *packed, int &scale, int &min) {
  if (j < 4) {
    scale = packed[j] & 63;
    min = packed[j + 4] & 63;
  } else {
    scale = (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4);
    min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
}
