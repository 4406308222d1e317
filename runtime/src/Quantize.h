//===- Quantize.h - ggml's reference quantizers: Q8_0 ... Q6_K ---===//
//
// Float32 rows into ggml's block layouts, with the rounding of ggml's
// reference quantizers (`quantize_row_*_ref` in ggml-quants.c, without an
// importance matrix): the same float32 operations in the same order, no FMA
// contraction, so the blocks are bit-identical to what those functions give
// when ggml is built without contraction too. The blocks dequantize with
// Quants.h.
//
// They are the load-time quantizers of `--weight-type=q8_0|q4_0|q6_k|q4_k|q5_k`
// (storeFloats in Model.cpp), and test/Runtime/quantize.test checks them
// against a numpy quantizer.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_QUANTIZE_H
#define TFC_RUNTIME_QUANTIZE_H

#include <cstdint>

namespace tfc::rt {

/// Whether quantize() handles ggml type `type` (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K).
bool canQuantize(uint32_t type);

/// Quantizes the `n` floats at `src` (a whole number of the type's blocks)
/// into blocks of ggml type `type` at `dst`. `type` must be one canQuantize
/// accepts.
void quantize(uint32_t type, const float *src, unsigned char *dst, int64_t n);

} // namespace tfc::rt

#endif // TFC_RUNTIME_QUANTIZE_H
