//===- AttnLoweringAttrs.h - Attributes read by the lowering -----*- C++ -*-===//
//
// The limits and defaults of attn.sdpa's tiling attribute (AttnLoweringAttrs.td),
// which the strategy, the tiling and the attribute's verifier share, and the
// inverse frequencies that a RoPE scaling attribute stands for.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_IR_ATTNLOWERINGATTRS_H
#define TFC_DIALECT_ATTN_IR_ATTNLOWERINGATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include <cstdint>

namespace tfc {

/// How attn.sdpa's online softmax is tiled: keys per tile, and query rows per
/// block counted after stacking the query heads that share a key/value head
/// (a block holds max(1, queryRows / group) queries). Every block has the same
/// number of queries (the last overlaps the one before); a decode step's block
/// (G rows) takes keyTile x max(1, queryRows / G) keys per tile: the score
/// block stays within queryRows x keyTile per key/value head. Both are at most
/// kMaxSDPATile, so that index arithmetic on them cannot overflow. The
/// defaults are what the tiling uses on an attn.sdpa without a `tiling`
/// attribute.
constexpr int64_t kMaxSDPATile = 1 << 16;
struct SDPATiling {
  int64_t keyTile = 256;
  int64_t queryRows = 256;

  static bool validSize(int64_t size) { return size >= 1 && size <= kMaxSDPATile; }
  bool valid() const { return validSize(keyTile) && validSize(queryRows); }
};

} // namespace tfc

// The enum and attribute classes of AttnLoweringAttrs.td are generated with
// those of AttnAttrs.td (AttnAttrs.h).
#include "tfc/Dialect/Attn/IR/AttnAttrs.h"

#include <vector>

namespace tfc::attn {

/// RoPE's inverse frequencies theta^(-2i/d), i < d/2, for a rotated width `d`,
/// rescaled by `scaling` when given: the one definition the lowering and the
/// tests' references follow (Hugging Face's `_compute_linear_scaling_rope_parameters`
/// and `_compute_llama3_parameters`).
std::vector<double> ropeInverseFrequencies(double theta, int64_t d, RopeScalingAttr scaling);

/// What a rescaling does to attention besides the frequencies: the factor of
/// RoPE's cos and sin, and that of the softmax scale of the attention that
/// rotates with it. 1 and 1 except for yarn (DeepSeek-V2's
/// DeepseekV2YarnRotaryEmbedding and DeepseekV2Attention.softmax_scale).
struct RopeAttentionFactors {
  double cosSin = 1.0;
  double softmax = 1.0;
};
RopeAttentionFactors ropeAttentionFactors(RopeScalingAttr scaling);

} // namespace tfc::attn

#endif // TFC_DIALECT_ATTN_IR_ATTNLOWERINGATTRS_H
