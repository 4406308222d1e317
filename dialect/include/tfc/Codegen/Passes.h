//===- Passes.h - Code generation passes of tfc ------------------*- C++ -*-===//
//
// Passes on linalg IR (tensors before bufferization, memrefs after) that shape
// the generated code for the CPU.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CODEGEN_PASSES_H
#define TFC_CODEGEN_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace tfc {

#define GEN_PASS_DECL
#include "tfc/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "tfc/Codegen/Passes.h.inc"

//===----------------------------------------------------------------------===//
// Patterns of tfc-fuse-elementwise (linalg on tensors), applied in this order
//===----------------------------------------------------------------------===//

/// `add(x, matmul_transpose_b(A, W, fill 0) [+ bias])` becomes the matmul
/// accumulating into `x` when no later use of `x` needs its old value; a zero
/// fill shared by several products becomes one fill each (else bufferization
/// copies it).
void populateFuseResidualIntoMatmulPatterns(mlir::RewritePatternSet &patterns);

/// Upstream elementwise fusion of linalg.generic chains, restricted to
/// producers with a single use (nothing is recomputed).
void populateFuseElementwiseChainPatterns(mlir::RewritePatternSet &patterns);

/// A 2-d elementwise generic and the row reductions used only by it (a norm)
/// become one scf.forall over rows.
void populateFuseNormRowsPatterns(mlir::RewritePatternSet &patterns);

} // namespace tfc

#endif // TFC_CODEGEN_PASSES_H
