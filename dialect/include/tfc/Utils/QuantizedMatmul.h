//===- QuantizedMatmul.h - Linear layers on ggml block weights ---*- C++ -*-===//
//
// A linear layer whose weight is stored as ggml blocks (--weight-type=q8_0 or
// q4_0, gen_abi.h) has no linalg named op: its weight operand is the bytes of
// the blocks, tensor<n x k/32 x B x i8> (B bytes per block), not an [n, k]
// tensor of numbers. It is a linalg.generic marked with the format's attribute
// (tfc.q8_0_matmul, tfc.q4_0_matmul) whose body spells out the format, so that
// the IR means what it computes without the kernel:
//
//   Q8_0: C[m, n] += A[m, b, j] * f32(W[n, b, 2 + j]) * scale(W[n, b, 0..1])
//   Q4_0: C[m, n] += A[m, b, j] * f32(nibble(W[n, b, 2 + j mod 16], j / 16) - 8)
//                               * scale(W[n, b, 0..1])
//   Q6_K: 256-lane super-blocks of 210 bytes (ggml's block_q6_K): lane j's low
//         4 bits in byte 64 (j / 128) + 32 ((j mod 128) / 32 mod 2) + j mod 32
//         (nibble (j mod 128) / 64), its high 2 bits in byte
//         128 + 32 (j / 128) + j mod 32 (bits 2 ((j mod 128) / 32)), value
//         (q - 32) * int8 W[n, b, 192 + j / 16] * scale(W[n, b, 208..209])
//   Q4_K: 256-lane super-blocks of 144 bytes (ggml's block_q4_K): lane j in
//         sub-block s = j / 32 is nibble s mod 2 of byte
//         16 + 32 (j / 64) + j mod 32, value
//         scale(W[n, b, 0..1]) * sc_s * q - scale(W[n, b, 2..3]) * min_s, the
//         6-bit sc_s and min_s unpacked from bytes 4 + s mod 4, 8 + s mod 4
//         and 12 + s mod 4 as ggml's get_scale_min_k4 does
//   Q5_K: 256-lane super-blocks of 176 bytes (ggml's block_q5_K): as Q4_K
//         with the nibbles at byte 48 + 32 (j / 64) + j mod 32, plus
//         16 x bit j / 32 of byte 16 + j mod 32 (q in 0..31)
//
// over tokens m, weight rows n, blocks b and lanes j (A is the activations
// reshaped to [tokens, k/32, 32]; the scale is the little-endian f16 in the
// block's first two bytes; a Q4_0 byte holds element j in its low nibble and
// element j + 16 in its high one). tfc-lower-entry-points builds it,
// tfc-fuse-elementwise starts it from a residual like a matmul, and
// tfc-vectorize-matmul replaces it with the int8 dot-product kernel (which
// also quantizes A per block, as ggml does); anything left of it becomes loops
// of exactly this arithmetic.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_UTILS_QUANTIZEDMATMUL_H
#define TFC_UTILS_QUANTIZEDMATMUL_H

#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::linalg {
class GenericOp;
} // namespace mlir::linalg

namespace tfc {

/// The ggml block formats linear layers' weights can be stored in.
enum class QuantFormat { Q8_0, Q4_0, Q6_K, Q4_K, Q5_K };

/// What the passes need to know of a format: its elements and bytes per block
/// (TFC_<FORMAT>_BLOCK[_BYTES] in gen_abi.h) and the unit attribute marking
/// its generic.
struct QuantFormatInfo {
  llvm::StringLiteral name;
  llvm::StringLiteral attr;
  int64_t block, blockBytes;
};
const QuantFormatInfo &info(QuantFormat format);

/// The format of --weight-type=`name` (q8_0, q4_0), if it is one.
std::optional<QuantFormat> quantFormatNamed(llvm::StringRef name);

/// The shape a weight of `shape` ([..., k], k a multiple of the block) is
/// stored in as `format`: [..., k/block, blockBytes] bytes.
llvm::SmallVector<int64_t> quantStoredShape(QuantFormat format, llvm::ArrayRef<int64_t> shape);

/// `init + a · dequantize(wq)ᵀ` for activations a: tensor<?xk x f32>, blocks
/// wq: tensor<n x k/block x blockBytes x i8> and init: tensor<?xn x f32>.
mlir::Value buildQuantizedMatmul(mlir::OpBuilder &b, mlir::Location loc, QuantFormat format,
                                 mlir::Value a, mlir::Value wq, mlir::Value init);

/// The unit attribute of a mixture of experts' router matmul (attn.moe's
/// lowering): its weight keeps f32 under a quantized --weight-type, as
/// llama.cpp's quantizer leaves ffn_gate_inp in f32, since a rounding there
/// changes which experts a token takes rather than adding a small error.
inline constexpr llvm::StringLiteral kMoERouterAttrName = "tfc.moe_router";

/// Whether --weight-type=q4_k_m (llama.cpp's Q4_K_M mixture) stores the linear
/// layer weight `name` as Q6_K rather than Q4_K: the output matrix and the
/// value and down projections, by their Hugging Face, GGUF, llama2.c and GPT-2
/// names, the experts' down projections included (llama.cpp's
/// llama_tensor_get_type matches "ffn_down" in ffn_down_exps and
/// ffn_down_shexp too). llama.cpp gives Q6_K to the value and down projections
/// of only its "use_more_bits" layers (q4_k_mUseMoreBits), Q4_K to the others.
bool q4_k_mSixBits(llvm::StringRef name);

/// Whether --weight-type=q4_k_m stores the linear layer weight `name` as
/// Q5_K: the fused query/key/value projection (GGUF attn_qkv, GPT-2's
/// attn.c_attn), which llama.cpp's llama_tensor_get_type gives Q5_K under
/// Q4_K_M in every layer.
bool q4_k_mFiveBits(llvm::StringRef name);

/// llama.cpp's `use_more_bits(i_layer, n_layers)` (llama-quant.cpp): the
/// first and last eighth of the layers and every third between, which Q4_K_M
/// keeps in Q6_K for the value and down projections.
bool q4_k_mUseMoreBits(int64_t layer, int64_t layers);

/// The format of `op` if it is a generic built by buildQuantizedMatmul (on
/// tensors or buffers): inputs (A reshaped to [m, k/block, block], W, W, W;
/// Q6_K: W five times; Q4_K: eight; Q5_K: nine), one output C.
std::optional<QuantFormat> quantizedMatmulFormat(mlir::linalg::GenericOp op);

} // namespace tfc

#endif // TFC_UTILS_QUANTIZEDMATMUL_H
