//===- Activations.h - Each attention layer's inputs on given tokens -*- C++ -*-===//
//
// Activation-aware compression (`--calibrate`) and the report's per-layer
// attention-output error need what each converted attention layer actually
// reads on the calibration tokens: the rows after its pre-norm, the input of
// its q/k/v projections.
//
// They come from the model itself, compiled by tfc: a variant of the model's
// attn IR whose decoder returns, instead of the logits, every attention
// layer's input side by side ([n, layers * dim]). The layer loops around the
// attention calls are unrolled so that each layer's input is its own value.
// This reuses the compiler for everything before attention (embeddings,
// norms, MLPs of every architecture tfc reads) rather than a second
// interpreter of the model in the converter, and the rows are what the
// compiled model computes (float32).
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERT_ACTIVATIONS_H
#define TFC_CONVERT_ACTIVATIONS_H

#include "RandomizedSVD.h"

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tfc::convert {

/// The attn.attention ops (self-attention: no memory) of `module` in walk
/// order, the order findSelfAttention numbers sites in.
bool isConvertedAttention(mlir::Operation *op);

/// Compiles the variant of `module` (attn IR as tdsl's front end emits it)
/// whose decoder returns the inputs of its self-attention layers, loads it
/// with `weights` and runs it on `tokens` (ids below `vocab`, the model's
/// vocabulary). `inputs[site][layer]`, sized by the caller as [tokens, dim]
/// for each layer of each self-attention call in walk order, receives the
/// input rows. Returns "" or why it could not (self-attention outside the
/// decoder, a layer loop without constant bounds or inside another loop,
/// compilation).
std::string collectAttentionInputs(mlir::ModuleOp module, int64_t vocab,
                                   const std::string &weights,
                                   const std::vector<int32_t> &tokens,
                                   std::vector<std::vector<MatD>> &inputs);

} // namespace tfc::convert

#endif // TFC_CONVERT_ACTIVATIONS_H
