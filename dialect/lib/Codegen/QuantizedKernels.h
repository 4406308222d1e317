//===- QuantizedKernels.h - tfc-vectorize-matmul's int8 kernels --*- C++ -*-===//
//
// The patterns for products with Q8_0, Q4_0 and Q6_K weights, kept apart from the
// f32/bf16 kernels of VectorizeMatmul.cpp (they share no loop nest: the int8
// kernels quantize the activations first and work block by block).
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CODEGEN_QUANTIZEDKERNELS_H
#define TFC_CODEGEN_QUANTIZEDKERNELS_H

#include "tfc/Codegen/MatmulStrategy.h"

#include "mlir/IR/PatternMatch.h"

namespace tfc {

/// Adds the quantized product pattern when `int8Dot` is "vnni" (256- and
/// 512-bit vpdpbusd), "avxvnni" (256-bit only) or "avx2" (nothing for
/// "none"); rows are split into parallel blocks of `blockRows`.
void populateQuantizedMatmulPatterns(mlir::RewritePatternSet &patterns,
                                     const MatmulStrategy &strategy, int64_t blockRows,
                                     llvm::StringRef int8Dot);

} // namespace tfc

#endif // TFC_CODEGEN_QUANTIZEDKERNELS_H
