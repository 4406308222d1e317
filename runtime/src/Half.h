//===- Half.h - binary16 and bfloat16 conversions --------------------------===//
//
// The 16-bit float formats weights come in. Conversions to them round to
// nearest even, as F16C's vcvtps2ph, ggml's GGML_FP32_TO_FP16 and PyTorch do;
// conversions from them are exact. Dependency-free (the GGUF dequantizers use
// them outside the model runtime too).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_HALF_H
#define TFC_RUNTIME_HALF_H

#include <cstdint>

namespace tfc::rt {

/// IEEE binary16 to binary32, exact for every input (subnormals, infinities,
/// NaN payloads).
float halfToFloat(uint16_t h);
/// bfloat16 (the high half of a binary32) to binary32.
float bf16ToFloat(uint16_t h);
/// binary32 to binary16, rounding to nearest even; NaN stays a quiet NaN.
uint16_t floatToHalf(float f);
/// binary32 to bfloat16, rounding to nearest even; NaN stays a quiet NaN.
uint16_t floatToBF16(float f);

} // namespace tfc::rt

#endif // TFC_RUNTIME_HALF_H
