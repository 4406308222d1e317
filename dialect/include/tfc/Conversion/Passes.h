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

/// How attn.sdpa's online softmax is tiled: keys per tile, and query rows per
/// block counted after stacking the query heads that share a key/value head
/// (a block holds max(1, queryRows / group) queries). Every block has the same
/// number of queries (the last overlaps the one before); a decode step's block
/// (G rows) takes keyTile x max(1, queryRows / G) keys per tile: the score
/// block stays within queryRows x keyTile per key/value head. Both are at most
/// kMaxSDPATile, so that index arithmetic on them cannot overflow.
constexpr int64_t kMaxSDPATile = 1 << 16;
struct SDPATiling {
  int64_t keyTile = 256;
  int64_t queryRows = 256;

  static bool validSize(int64_t size) { return size >= 1 && size <= kMaxSDPATile; }
  bool valid() const { return validSize(keyTile) && validSize(queryRows); }
};

/// Head-level and elementwise attn ops (everything but attn.weight,
/// attn.attention and attn.latent_attention) into linalg/tensor/arith/math/scf.
void populateAttnToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                  SDPATiling sdpaTiling = {});

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
