//===- QuantizedMatmul.h - Linear layers on ggml Q8_0 weights ----*- C++ -*-===//
//
// A linear layer whose weight is stored as ggml Q8_0 blocks (--weight-type=q8_0,
// gen_abi.h) has no linalg named op: its weight operand is the bytes of the
// blocks, tensor<n x k/32 x 34 x i8>, not an [n, k] tensor of numbers. It is a
// linalg.generic marked with kQ8_0MatmulAttr whose body spells out the
// format, so that the IR means what it computes without the kernel:
//
//   C[m, n] += A[m, b, j] * f32(W[n, b, 2 + j]) * f32(f16(W[n, b, 0..1]))
//
// over tokens m, weight rows n, blocks b and lanes j (A is the activations
// reshaped to [tokens, k/32, 32]; the scale is the little-endian f16 in the
// block's first two bytes). tfc-lower-entry-points builds it,
// tfc-fuse-elementwise starts it from a residual like a matmul, and
// tfc-vectorize-matmul replaces it with the int8 dot-product kernel (which
// also quantizes A per block, as ggml does); anything left of it becomes loops
// of exactly this arithmetic.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_UTILS_QUANTIZEDMATMUL_H
#define TFC_UTILS_QUANTIZEDMATMUL_H

#include "mlir/IR/Builders.h"

namespace mlir::linalg {
class GenericOp;
} // namespace mlir::linalg

namespace tfc {

/// Elements per Q8_0 block and bytes per block (TFC_Q8_0_BLOCK[_BYTES]).
constexpr int64_t kQ8_0Block = 32, kQ8_0BlockBytes = 34;

/// The unit attribute marking the generic.
constexpr llvm::StringLiteral kQ8_0MatmulAttr = "tfc.q8_0_matmul";

/// The shape a Q8_0 weight of `shape` ([..., k], k a multiple of 32) is
/// stored in: [..., k/32, 34] bytes.
llvm::SmallVector<int64_t> q8_0StoredShape(llvm::ArrayRef<int64_t> shape);

/// `init + a · dequantize(wq)ᵀ` for activations a: tensor<?xk x f32>, blocks
/// wq: tensor<n x k/32 x 34 x i8> and init: tensor<?xn x f32>.
mlir::Value buildQ8_0Matmul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a, mlir::Value wq,
                            mlir::Value init);

/// Whether `op` is a generic built by buildQ8_0Matmul (on tensors or buffers):
/// inputs (A reshaped to [m, k/32, 32], W, W, W), one output C.
bool isQ8_0Matmul(mlir::linalg::GenericOp op);

} // namespace tfc

#endif // TFC_UTILS_QUANTIZEDMATMUL_H
