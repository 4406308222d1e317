//===- Passes.h - Passes of the attn dialect ---------------------*- C++ -*-===//
//
// Pass declarations and pattern entry points of the attn rewrites.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_TRANSFORMS_PASSES_H
#define TFC_DIALECT_ATTN_TRANSFORMS_PASSES_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace tfc::attn {

#define GEN_PASS_DECL
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// attn.attention and attn.latent_attention into head-level ops (the naive,
/// reference form: K/V replicated per query head, latent K/V decompressed).
void populateAttnDecomposePatterns(mlir::RewritePatternSet &patterns);

/// attn.sdpa over attn.repeat_kv'd keys and values into grouped attn.sdpa.
void populateAttnGQAPatterns(mlir::RewritePatternSet &patterns);

/// attn.latent_attention into latent-space multi-query attention with the
/// key/value up-projections absorbed.
void populateAttnLatentPatterns(mlir::RewritePatternSet &patterns);

//===----------------------------------------------------------------------===//
// Bufferization
//===----------------------------------------------------------------------===//

/// Marks the runtime declarations the collectives call (CollectiveBufferization).
inline constexpr llvm::StringLiteral kCollectiveAttrName = "tfc.collective";

/// attn.all_reduce and attn.all_gather bufferize into calls of the runtime's
/// collectives (gen_abi.h).
void registerCollectiveBufferization(mlir::DialectRegistry &registry);

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

#define GEN_PASS_REGISTRATION
#include "tfc/Dialect/Attn/Transforms/Passes.h.inc"

} // namespace tfc::attn

#endif // TFC_DIALECT_ATTN_TRANSFORMS_PASSES_H
