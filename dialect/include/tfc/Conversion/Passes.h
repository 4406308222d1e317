//===- Passes.h - Conversions out of the attn dialect ------------*- C++ -*-===//
//
// Pass declarations and pattern entry points of the attn lowerings.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERSION_PASSES_H
#define TFC_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace tfc {

#define GEN_PASS_DECL
#include "tfc/Conversion/Passes.h.inc"

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Head-level and elementwise attn ops (everything but attn.weight,
/// attn.attention and attn.latent_attention) into linalg/tensor/arith/math/scf;
/// attn.sdpa through the tiling and the decomposition below.
void populateAttnToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// attn.sdpa into loops over blocks of queries and tiles of keys around one
/// attn.online_attention per tile, in the sizes of sdpaTilingOf.
void populateAttnTileSDPAPatterns(mlir::RewritePatternSet &patterns);

/// attn.online_attention into the online-softmax math on linalg.
void populateOnlineAttentionToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// attn.moe: the routing, then each expert on the tokens that selected it
/// (grouped by expert), or with `denseReference` every expert on every token.
void populateAttnMoEToLinalgPatterns(mlir::RewritePatternSet &patterns, bool denseReference);

/// The tile sizes recorded on `op` by tfc-attn-sdpa-strategy, or the defaults
/// of SDPATiling when it has none.
SDPATiling sdpaTilingOf(attn::SDPAOp op);

/// The ops of the attn passes: attn.cache_update / attn.cache_view into tensor
/// slices, attn.batch_matmul into linalg batch matmuls.
void populateAttnCacheAndLatentToLinalgPatterns(mlir::RewritePatternSet &patterns);

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

#define GEN_PASS_REGISTRATION
#include "tfc/Conversion/Passes.h.inc"

} // namespace tfc

#endif // TFC_CONVERSION_PASSES_H
