//===- Quantize.h - ggml's reference quantizers: Q8_0, Q4_0, Q4_K, Q6_K ---===//
//
// Float32 rows into ggml's block layouts, with the rounding of ggml's
// reference quantizers (`quantize_row_*_ref` in ggml-quants.c, without an
// importance matrix): the same float32 operations in the same order, no FMA
// contraction, so the blocks are bit-identical to what those functions give
// when ggml is built without contraction too. The blocks dequantize with
// Quants.h.
//
// Q8_0, Q4_0 and Q6_K are the load-time quantizers of
// `--weight-type=q8_0|q4_0|q6_k` (storeFloats in Model.cpp); Q4_K waits for
// its kernel (issue 16) and only the tests (test/Runtime/quantize.test) call it.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_QUANTIZE_H
#define TFC_RUNTIME_QUANTIZE_H

#include <cstdint>

namespace tfc::rt {

/// Whether quantize() handles ggml type `type` (Q8_0, Q4_0, Q4_K, Q6_K).
bool canQuantize(uint32_t type);

/// Quantizes the `n` floats at `src` (a whole number of the type's blocks)
/// into blocks of ggml type `type` at `dst`. `type` must be one canQuantize
/// accepts.
void quantize(uint32_t type, const float *src, unsigned char *dst, int64_t n);

} // namespace tfc::rt

#endif // TFC_RUNTIME_QUANTIZE_H
