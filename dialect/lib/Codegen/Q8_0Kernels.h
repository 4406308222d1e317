//===- Q8_0Kernels.h - tfc-vectorize-matmul's Q8_0 kernels -------*- C++ -*-===//
//
// The patterns for products with Q8_0 weights, kept apart from the f32/bf16
// kernels of VectorizeMatmul.cpp (they share no loop nest: the int8 kernel
// quantizes the activations first and works block by block).
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CODEGEN_Q8_0KERNELS_H
#define TFC_CODEGEN_Q8_0KERNELS_H

#include "tfc/Codegen/MatmulStrategy.h"

#include "mlir/IR/PatternMatch.h"

namespace tfc {

/// Adds the Q8_0 product pattern when `int8Dot` is "vnni" or "avx2" (nothing
/// for "none"); rows are split into parallel blocks of `blockRows`.
void populateQ8_0MatmulPatterns(mlir::RewritePatternSet &patterns, const MatmulStrategy &strategy,
                                int64_t blockRows, llvm::StringRef int8Dot);

} // namespace tfc

#endif // TFC_CODEGEN_Q8_0KERNELS_H
