//===- Quantize.cpp - ggml's reference quantizers --------------------------===//
//
// Written from the definitions of ggml-quants.c's reference quantizers (see
// Quantize.h): per 32-element block, Q8_0 scales by amax/127 and rounds half
// away from zero; Q4_0 scales by the value of largest magnitude over -8 and
// truncates x/d + 8.5; the K-quants fit sub-block scales (and, for Q4_K and
// Q5_K, mins) by ggml's weighted least-squares searches (make_qkx2_quants for
// Q4_K's and Q5_K's 32-element sub-blocks, make_qx_quants with x^2 weights for
// Q6_K's 16-element ones), quantize those scales to 6 (Q4_K, Q5_K) or 8 (Q6_K)
// bits against an f16 super-block scale, and requantize each element against the scale it will
// be decoded with. Every accumulation runs in float32 in ggml's order.
//
//===----------------------------------------------------------------------===//
#include "Quantize.h"

#include "Half.h"
#include "Quants.h"
#include "Threads.h"

#include "tfc/Gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>

// Bit-identity with ggml's reference needs exactly its roundings.
#pragma clang fp contract(off)

using namespace tfc::rt;
using tfc::gguf::TensorType;

namespace {

/// ggml's nearest_int: round to nearest, ties to even, through the float
/// adder (valid for |x| <= 2^22, which every caller guarantees).
int nearestInt(float x) {
  float shifted = x + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

void storeHalf(unsigned char *p, float f) {
  uint16_t h = floatToHalf(f);
  std::memcpy(p, &h, 2);
}

float loadHalf(const unsigned char *p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return halfToFloat(h);
}

//--- Q8_0 and Q4_0 ---------------------------------------------------------------

// block_q8_0: f16 d | 32 int8.
void quantizeQ8_0(const float *x, unsigned char *b) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j)
    amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  storeHalf(b, d);
  for (int j = 0; j < 32; ++j)
    b[2 + j] = static_cast<unsigned char>(static_cast<int8_t>(std::round(x[j] * id)));
}

// block_q4_0: f16 d | element j in the low nibble of byte j, j + 16 in its high one.
void quantizeQ4_0(const float *x, unsigned char *b) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  storeHalf(b, d);
  for (int j = 0; j < 16; ++j) {
    // The conversion truncates toward zero, as ggml's (int8_t) cast does.
    const int low = std::min(15, int(static_cast<int8_t>(x[j] * id + 8.5f)));
    const int high = std::min(15, int(static_cast<int8_t>(x[16 + j] * id + 8.5f)));
    b[2 + j] = static_cast<unsigned char>(low | high << 4);
  }
}

//--- Q4_K ------------------------------------------------------------------------

/// ggml's make_qkx2_quants: the scale and (negated) min of `n` values mapped
/// to [0, nmax] that minimize the weighted error (squared, or absolute with
/// `useMad`), trying nstep + 1 scales around nmax / (max - min).
float fitScaleMin(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                  float &theMin, uint8_t *Laux, float rmin, float rdelta, int nstep,
                  bool useMad) {
  float min = x[0], max = x[0];
  float sumW = weights[0];
  float sumX = sumW * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min)
      min = x[i];
    if (x[i] > max)
      max = x[i];
    const float w = weights[i];
    sumW += w;
    sumX += w * x[i];
  }
  if (min > 0)
    min = 0;
  if (max == min) {
    std::fill(L, L + n, 0);
    theMin = -min;
    return 0.0f;
  }
  float iscale = float(nmax) / (max - min);
  float scale = 1 / iscale;
  auto error = [&](float diff) { return useMad ? std::fabs(diff) : diff * diff; };
  float bestError = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearestInt(iscale * (x[i] - min));
    L[i] = uint8_t(std::max(0, std::min(nmax, l)));
    bestError += weights[i] * error(scale * float(L[i]) + min - x[i]);
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * float(is) + float(nmax)) / (max - min);
    float sumL = 0, sumL2 = 0, sumXL = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(0, std::min(nmax, nearestInt(iscale * (x[i] - min))));
      Laux[i] = uint8_t(l);
      const float w = weights[i];
      sumL += w * float(l);
      sumL2 += w * float(l) * float(l);
      sumXL += w * float(l) * x[i];
    }
    const float D = sumW * sumL2 - sumL * sumL;
    if (D > 0) {
      float thisScale = (sumW * sumXL - sumX * sumL) / D;
      float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = sumXL / sumL2;
      }
      float err = 0;
      for (int i = 0; i < n; ++i)
        err += weights[i] * error(thisScale * float(Laux[i]) + thisMin - x[i]);
      if (err < bestError) {
        std::copy(Laux, Laux + n, L);
        bestError = err;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  theMin = -min;
  return scale;
}

/// The levels L (0..nmax) of one 256-element super-block of Q4_K (nmax 15)
/// or Q5_K (nmax 31), with its d, dmin and 12 packed scale/min bytes stored
/// at `b`: ggml's quantize_row_q4_K_ref / quantize_row_q5_K_ref up to the
/// packing of the levels, which differ only in nmax and in make_qkx2_quants'
/// search (rmin -1 and 20 steps for Q4_K, -0.5 and 15 for Q5_K).
void quantizeScaleMinSuperBlock(const float *x, unsigned char *b, int nmax, float rmin,
                                int nstep, uint8_t *L) {
  uint8_t Laux[32];
  float weights[32], mins[8], scales[8];
  float maxScale = 0, maxMin = 0;
  for (int j = 0; j < 8; ++j) {
    const float *xs = x + 32 * j;
    float sumX2 = 0;
    for (int l = 0; l < 32; ++l)
      sumX2 += xs[l] * xs[l];
    const float avX = std::sqrt(sumX2 / 32);
    for (int l = 0; l < 32; ++l)
      weights[l] = avX + std::fabs(xs[l]);
    scales[j] = fitScaleMin(32, nmax, xs, weights, L + 32 * j, mins[j], Laux, rmin, 0.1f, nstep,
                            false);
    maxScale = std::max(maxScale, scales[j]);
    maxMin = std::max(maxMin, mins[j]);
  }
  unsigned char *packed = b + 4;
  std::memset(packed, 0, 12);
  const float invScale = maxScale > 0 ? 63.0f / maxScale : 0.0f;
  const float invMin = maxMin > 0 ? 63.0f / maxMin : 0.0f;
  for (int j = 0; j < 8; ++j) {
    // ggml stores nearest_int into a uint8_t before clamping: keep the wrap.
    const int ls = std::min(63, int(uint8_t(nearestInt(invScale * scales[j]))));
    const int lm = std::min(63, int(uint8_t(nearestInt(invMin * mins[j]))));
    if (j < 4) {
      packed[j] = uint8_t(ls);
      packed[j + 4] = uint8_t(lm);
    } else {
      packed[j + 4] = uint8_t((ls & 0x0f) | ((lm & 0x0f) << 4));
      packed[j - 4] |= uint8_t((ls >> 4) << 6);
      packed[j] |= uint8_t((lm >> 4) << 6);
    }
  }
  storeHalf(b, maxScale / 63.0f);
  storeHalf(b + 2, maxMin / 63.0f);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    scaleMinK4(j, packed, sc, m);
    const float d = loadHalf(b) * float(sc);
    if (d == 0.0f)
      continue; // ggml keeps the levels of the search then
    const float dm = loadHalf(b + 2) * float(m);
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] =
          uint8_t(std::max(0, std::min(nmax, nearestInt((x[32 * j + i] + dm) / d))));
  }
}

// block_q4_K: f16 d | f16 dmin | 12 bytes of eight 6-bit scales and mins | 128
// bytes of nibbles, 64 elements per 32 bytes.
void quantizeQ4_K(const float *x, unsigned char *b) {
  uint8_t L[256];
  quantizeScaleMinSuperBlock(x, b, 15, -1.0f, 20, L);
  unsigned char *q = b + 16;
  for (int j = 0; j < 256; j += 64, q += 32)
    for (int l = 0; l < 32; ++l)
      q[l] = uint8_t(L[j + l] | (L[j + l + 32] << 4));
}

// block_q5_K: as Q4_K, with the fifth bits of the levels in 32 bytes before
// the nibbles: element 64i + l (l < 32) has bit 2i of byte l, element
// 64i + 32 + l bit 2i + 1.
void quantizeQ5_K(const float *x, unsigned char *b) {
  uint8_t L[256];
  quantizeScaleMinSuperBlock(x, b, 31, -0.5f, 15, L);
  unsigned char *qh = b + 16, *ql = b + 48;
  std::memset(qh, 0, 32);
  for (int i = 0; i < 4; ++i, ql += 32)
    for (int l = 0; l < 32; ++l) {
      const int low = L[64 * i + l], high = L[64 * i + 32 + l];
      qh[l] |= uint8_t((low >> 4) << (2 * i) | (high >> 4) << (2 * i + 1));
      ql[l] = uint8_t((low & 0x0f) | (high & 0x0f) << 4);
    }
}

//--- Q6_K ------------------------------------------------------------------------

/// ggml's make_qx_quants with rmse_type 1 and no importance weights: a
/// symmetric scale for `n` values mapped to [-nmax, nmax - 1], the best of
/// 19 candidates under x^2-weighted least squares. L receives l + nmax.
float fitSymmetricScale(int n, int nmax, const float *x, int8_t *L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < 1e-30f) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  auto level = [&](float iscale, int i) {
    return std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i])));
  };
  float iscale = float(-nmax) / max;
  float sumLX = 0, sumL2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = level(iscale, i);
    L[i] = int8_t(l + nmax);
    const float w = x[i] * x[i];
    sumLX += w * x[i] * float(l);
    sumL2 += w * float(l) * float(l);
  }
  float scale = sumLX / sumL2;
  float best = scale * sumLX;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0)
      continue;
    iscale = -(float(nmax) + 0.1f * float(is)) / max;
    sumLX = sumL2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = level(iscale, i);
      const float w = x[i] * x[i];
      sumLX += w * x[i] * float(l);
      sumL2 += w * float(l) * float(l);
    }
    if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
      for (int i = 0; i < n; ++i)
        L[i] = int8_t(nmax + level(iscale, i));
      scale = sumLX / sumL2;
      best = scale * sumLX;
    }
  }
  return scale;
}

// block_q6_K: 128 bytes of low nibbles | 64 bytes of high bit pairs | 16 int8
// scales | f16 d.
void quantizeQ6_K(const float *x, unsigned char *b) {
  int8_t L[256];
  float scales[16];
  float maxScale = 0, maxAbsScale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = fitSymmetricScale(16, 32, x + 16 * ib, L + 16 * ib);
    const float absScale = std::fabs(scales[ib]);
    if (absScale > maxAbsScale) {
      maxAbsScale = absScale;
      maxScale = scales[ib];
    }
  }
  if (maxAbsScale == 0.0f) {
    std::memset(b, 0, 210);
    storeHalf(b + 208, 0.0f);
    return;
  }
  auto *sc = reinterpret_cast<int8_t *>(b + 192);
  const float iscale = -128.0f / maxScale;
  storeHalf(b + 208, 1 / iscale);
  for (int ib = 0; ib < 16; ++ib)
    sc[ib] = int8_t(std::min(127, nearestInt(iscale * scales[ib])));
  for (int j = 0; j < 16; ++j) {
    const float d = loadHalf(b + 208) * float(sc[j]);
    if (d == 0.0f)
      continue;
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = int8_t(std::max(-32, std::min(31, nearestInt(x[16 * j + i] / d))) + 32);
  }
  unsigned char *ql = b, *qh = b + 128;
  for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
    for (int l = 0; l < 32; ++l) {
      const int q1 = L[j + l] & 0x0f, q2 = L[j + l + 32] & 0x0f;
      const int q3 = L[j + l + 64] & 0x0f, q4 = L[j + l + 96] & 0x0f;
      ql[l] = uint8_t(q1 | (q3 << 4));
      ql[l + 32] = uint8_t(q2 | (q4 << 4));
      qh[l] = uint8_t((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                      ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
    }
}

using BlockQuantizer = void (*)(const float *, unsigned char *);

constexpr BlockFunction<BlockQuantizer> kQuantizers[] = {
    {uint32_t(TensorType::Q8_0), quantizeQ8_0},
    {uint32_t(TensorType::Q4_0), quantizeQ4_0},
    {uint32_t(TensorType::Q4_K), quantizeQ4_K},
    {uint32_t(TensorType::Q5_K), quantizeQ5_K},
    {uint32_t(TensorType::Q6_K), quantizeQ6_K},
};

} // namespace

bool tfc::rt::canQuantize(uint32_t type) {
  return findBlockFunction(kQuantizers, type) != nullptr;
}

void tfc::rt::quantize(uint32_t type, const float *src, unsigned char *dst, int64_t n) {
  const tfc::gguf::TypeTraits *traits = tfc::gguf::typeTraits(type);
  const BlockQuantizer block = findBlockFunction(kQuantizers, type);
  const int64_t elements = traits->blockElements, bytes = traits->blockBytes;
  // Every block is quantized on its own, so any split over threads gives the
  // same bytes. A part of at least 16K values (a few ms for the K-quants)
  // makes creating its thread negligible.
  parallelFor(n / elements, std::max<int64_t>(1, (int64_t(1) << 14) / elements),
              [&](int64_t first, int64_t last) {
                for (int64_t i = first; i < last; ++i)
                  block(src + i * elements, dst + i * bytes);
              });
}
