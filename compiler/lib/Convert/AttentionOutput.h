//===- AttentionOutput.h - One attention layer evaluated in float64 -*- C++ -*-===//
//
// What an attention layer computes on given input rows, in float64, for the
// report's per-layer `attention_rel_error`: the source layer (tdsl's
// attention(...), attn.attention's definition) and the converted one (the
// same with fewer K/V heads, or DeepSeek-V2 MLA as attn.latent_attention
// defines it) evaluated on the same inputs, the layer's actual inputs on the
// calibration tokens. Independent of the compiled code: written from the ops'
// definitions (AttnOps.td, SPEC §2), causal softmax attention with RoPE at
// positions 0..n-1.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERT_ATTENTIONOUTPUT_H
#define TFC_CONVERT_ATTENTIONOUTPUT_H

#include "AttentionConversion.h"

namespace tfc::convert {

/// attention(x, heads, kv_heads, head_dim, causal, rope, bias) of `w` on the
/// rows of `x` ([n, dim]): the [n, dim] output, biases included.
MatD attentionOutput(const AttentionShape &shape, bool causal, const AttentionWeights &w,
                     const MatD &x);

/// mla(kv_rank, rope_dim, nope_dim = v_dim = head_dim, q_rank = 0) of `w` on
/// the rows of `x`, with RoPE of `ropeTheta` on the rope_dim parts when the
/// source layer has RoPE (`shape.ropeTheta`; its style), the latent norm's
/// epsilon kLatentNormEps.
MatD mlaOutput(const AttentionShape &shape, bool causal, const MlaWeights &w, int64_t kvRank,
               int64_t ropeDim, const MatD &x);

/// ‖a − b‖_F / ‖a‖_F (0 when both are zero).
double relativeError(const MatD &a, const MatD &b);

} // namespace tfc::convert

#endif // TFC_CONVERT_ATTENTIONOUTPUT_H
