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

#include <cstddef>
#include <cstdint>
#include <string>

namespace tfc::rt {

/// One entry of a table of per-block functions (dequantizers here, the
/// quantizers of Quantize.cpp) by ggml type number.
template <typename Fn> struct BlockFunction {
  uint32_t type;
  Fn fn;
};

/// The function `table` has for ggml type `type`, or null.
template <typename Fn, size_t N>
Fn findBlockFunction(const BlockFunction<Fn> (&table)[N], uint32_t type) {
  for (const BlockFunction<Fn> &entry : table)
    if (entry.type == type)
      return entry.fn;
  return nullptr;
}

/// Whether dequantize() handles ggml type `type`.
bool canDequantize(uint32_t type);

/// "Q4_0, Q4_1, ...": the names of the types canDequantize accepts.
std::string dequantizableTypeNames();

/// Bytes of `n` elements of block type `type` (n a whole number of blocks).
uint64_t quantizedBytes(uint32_t type, int64_t n);

/// Writes the `n` floats (a whole number of blocks) that the blocks at `src`
/// hold. `type` must be one canDequantize accepts.
void dequantize(uint32_t type, const unsigned char *src, float *dst, int64_t n);

/// The 6-bit scale and min of sub-block j (0-7) of a Q4_K/Q5_K super-block
/// from its 12 packed bytes (ggml's get_scale_min_k4): j < 4 in the low 6
/// bits of bytes j and j + 4, the others split between a nibble of byte
/// j + 4 and the top 2 bits of bytes j - 4 and j.
void scaleMinK4(int j, const unsigned char *packed, int &scale, int &min);

} // namespace tfc::rt

#endif // TFC_RUNTIME_QUANTS_H
