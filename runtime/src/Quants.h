//===- Quants.h - ggml's quantized block types: sizes and dequantization --===//
//
// The block types a GGUF file may hold tensors in (ggml's Q4_0 ... Q6_K), as
// far as loading them into F32, BF16 or F16 slots needs: how many bytes n
// elements take, and the dequantizers, which compute exactly what ggml's
// `dequantize_row_*` compute (the same float operations in the same order, no
// contraction into FMAs), so a dequantized weight is bit-identical to ggml's.
// Numbers are ggml type numbers (tfc::gguf::TensorType).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_QUANTS_H
#define TFC_RUNTIME_QUANTS_H

#include <cstdint>
#include <string>

namespace tfc::rt {

/// Whether dequantize() handles ggml type `type`.
bool canDequantize(uint32_t type);

/// "Q4_0, Q4_1, ...": the names of the types canDequantize accepts.
std::string dequantizableTypeNames();

/// Bytes of `n` elements of block type `type` (n a whole number of blocks).
uint64_t quantizedBytes(uint32_t type, int64_t n);

/// Writes the `n` floats (a whole number of blocks) that the blocks at `src`
/// hold. `type` must be one canDequantize accepts.
void dequantize(uint32_t type, const unsigned char *src, float *dst, int64_t n);

/// Quantizes `n` floats (a whole number of 32-blocks) into ggml Q8_0 blocks at
/// `dst`, as ggml's quantize_row_q8_0_ref does: per block d = max|x| / 127
/// stored as f16, q = roundf(x / d) (half away from zero) with the f32 d, or
/// all zeros when the block is.
void quantizeQ8_0(const float *src, unsigned char *dst, int64_t n);

} // namespace tfc::rt

#endif // TFC_RUNTIME_QUANTS_H
