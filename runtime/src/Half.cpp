//===- Half.cpp - binary16 and bfloat16 conversions ------------------------===//
//
// Bit-level conversions (Half.h): no reliance on the host's rounding mode or
// on F16C, so every build gives the same bits.
//
//===----------------------------------------------------------------------===//
#include "Half.h"

#include <cmath>
#include <cstring>

using namespace tfc::rt;

namespace {

uint32_t floatBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

} // namespace

float tfc::rt::halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) // zero or subnormal: mant * 2^-24, exactly representable in binary32
    return bitsToFloat(sign | floatBits(float(mant) * 0x1p-24f));
  if (exp == 31)
    return bitsToFloat(sign | 0x7f800000u | (mant << 13));
  return bitsToFloat(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
}

float tfc::rt::bf16ToFloat(uint16_t h) { return bitsToFloat(uint32_t(h) << 16); }

uint16_t tfc::rt::floatToBF16(float f) {
  uint32_t bits = floatBits(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN stays a (quiet) NaN
    return uint16_t((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u); // round to nearest even
  return uint16_t(bits >> 16);
}

uint16_t tfc::rt::floatToHalf(float f) {
  uint32_t bits = floatBits(f);
  uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t absBits = bits & 0x7fffffffu;
  if (absBits > 0x7f800000u)
    return uint16_t(sign | 0x7e00u);
  if (absBits >= 0x477ff000u) // rounds to >= 65520: infinity
    return uint16_t(sign | 0x7c00u);
  if (absBits < 0x38800000u) { // below the smallest normal half: subnormal or zero
    float magnitude;
    std::memcpy(&magnitude, &absBits, sizeof(magnitude));
    // magnitude * 2^24 is the subnormal's integer mantissa; rint rounds to even.
    return uint16_t(sign | uint32_t(std::nearbyint(magnitude * 16777216.0f)));
  }
  uint32_t mant = absBits & 0x7fffffu;
  uint32_t exp = (absBits >> 23) - 127 + 15;
  uint32_t half = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
    ++half; // carries into the exponent correctly
  return uint16_t(sign | half);
}
