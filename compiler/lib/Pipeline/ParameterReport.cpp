//===- ParameterReport.cpp - tfc --report: parameters and decode bytes ------===//
//
// The second part of `tfc --report`: how many parameters the model has, how
// many a token uses (a mixture of experts routes each token to top_k of its
// experts, so only that fraction of an expert-stacked weight is active), how
// many bytes of weights a decode step reads (the active parameters in the
// weight type they are stored in; one row of an embedding table), and the KV
// cache per token. Read off the IR as generated: every attn.weight with its
// shape, and the attn.moe ops for the active fraction of the expert weights.
//
//===----------------------------------------------------------------------===//

#include "tfc/Pipeline/Pipeline.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"
#include "tfc/Target/ModelLayout.h"
#include "tfc/Utils/QuantizedMatmul.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

using namespace mlir;

namespace tfc {

namespace {

/// The attn.weight a weight operand reads, through the layer and expert slices.
attn::WeightOp weightOf(Value v) {
  while (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>())
    v = slice.getSource();
  return v.getDefiningOp<attn::WeightOp>();
}

/// Bytes per element of weight `name`, whose rows are `width` wide, as
/// `weightType` stores it: the linear layers' matrices narrow (q4_k_m per name,
/// K-quant rows that do not fit 256 as q8_0, quantized rows that do not fit 32
/// f32, as tfc-lower-entry-points stores them), everything else (norms,
/// biases, tables) f32.
double elementBytes(bool matrix, llvm::StringRef weightType, llvm::StringRef name, int64_t width) {
  if (!matrix || weightType == "f32")
    return 4.0;
  if (weightType == "q4_k_m")
    weightType = tfc::q4_k_mSixBits(name)    ? "q6_k"
                 : tfc::q4_k_mFiveBits(name) ? "q5_k"
                                             : "q4_k";
  if ((weightType == "q6_k" || weightType == "q4_k" || weightType == "q5_k") && width % 256 != 0)
    weightType = "q8_0";
  if ((weightType == "q8_0" || weightType == "q4_0") && width % 32 != 0)
    return 4.0;
  if (weightType == "q8_0")
    return 34.0 / 32.0; // a block of 32 int8 and one f16 scale
  if (weightType == "q4_0")
    return 18.0 / 32.0;
  if (weightType == "q6_k")
    return 210.0 / 256.0;
  if (weightType == "q4_k")
    return 144.0 / 256.0;
  if (weightType == "q5_k")
    return 176.0 / 256.0;
  return 2.0;           // bf16, f16
}

} // namespace

void printParameterReport(ModuleOp attnModule, ModuleOp attnOptModule,
                          llvm::StringRef weightType, llvm::raw_ostream &os) {
  // The fraction of each expert-stacked weight a token uses: top_k of E.
  llvm::DenseMap<Operation *, double> activeFraction;
  attnModule.walk([&](attn::MoEOp moe) {
    double fraction = static_cast<double>(moe.getTopK()) / static_cast<double>(moe.getNumExperts());
    for (Value w : {moe.getGate(), moe.getUp(), moe.getDown()})
      if (attn::WeightOp weight = weightOf(w))
        activeFraction[weight] = fraction;
  });
  // The model's layer count, as its stacked weights tell it (q4_k_m's
  // use_more_bits counts over all layers).
  int64_t modelLayers = 0;
  attnModule.walk([&](attn::WeightOp weight) {
    attn::WeightNameAttr name = weight.getName();
    if (name.isStacked())
      modelLayers = std::max(modelLayers, name.getFirstLayer() + name.getLayers());
  });
  // A tied weight is one tensor however many functions name it.
  llvm::DenseMap<attn::WeightNameAttr, bool> seen;
  double total = 0, active = 0, decodeBytes = 0;
  attnModule.walk([&](attn::WeightOp weight) {
    if (!seen.try_emplace(weight.getName(), true).second)
      return;
    double elements = static_cast<double>(weight.getType().getNumElements());
    double used = elements * activeFraction.lookup(weight.getOperation());
    if (!activeFraction.count(weight.getOperation()))
      used = elements;
    total += elements;
    active += used;
    // An embedding table is read one row per token; anything else whole.
    bool table = llvm::any_of(weight->getUsers(), [](Operation *user) {
      return isa<attn::EmbeddingOp, attn::PositionEmbeddingOp>(user);
    });
    int64_t rank = weight.getType().getRank() - (weight.getName().isStacked() ? 1 : 0);
    double read = table ? static_cast<double>(weight.getType().getShape().back()) : used;
    const int64_t width = weight.getType().getShape().back();
    attn::WeightNameAttr name = weight.getName();
    double bytes = elementBytes(!table && rank >= 2, weightType, name.nameOfLayer(0), width);
    // q4_k_m's value and down projections: Q6_K in llama.cpp's use_more_bits
    // layers only (as tfc-lower-entry-points stores a stacked weight read
    // per layer), the mean over the layers.
    if (weightType == "q4_k_m" && !table && rank >= 2 && name.isStacked() &&
        name.getExperts() == 0 && width % 256 == 0 && tfc::q4_k_mSixBits(name.nameOfLayer(0))) {
      const int64_t layers = name.getLayers(), first = name.getFirstLayer();
      double sum = 0;
      for (int64_t l = first; l < first + layers; ++l)
        sum += (tfc::q4_k_mUseMoreBits(l, modelLayers) ? 210.0 : 144.0) / 256.0;
      bytes = sum / static_cast<double>(layers);
    }
    decodeBytes += read * bytes;
  });
  int64_t kvBytes = kvCacheBytesPerToken(analyzeKVCaches(attnOptModule));
  os << fmt::format("\nparameters (weights stored as {} for the linear layers)\n", weightType);
  os << fmt::format("{:<44} {:>16.0f}\n", "total parameters", total);
  os << fmt::format("{:<44} {:>16.0f}\n", "active parameters per token", active);
  os << fmt::format("{:<44} {:>16.0f}\n", "weight bytes a decode step reads", decodeBytes);
  // Tensor parallelism: the cache is per rank (its heads, or the replicated
  // latent or K/V heads), and so is tfc_model_info.kv_cache_bytes_per_token;
  // the parameters above are the whole model's.
  if (auto tp = attnOptModule->getAttrOfType<IntegerAttr>("attn.tensor_parallel")) {
    os << fmt::format("{:<44} {:>16}\n", "KV cache bytes per token per rank", kvBytes);
    os << fmt::format("{:<44} {:>16}\n",
                      fmt::format("KV cache bytes per token, all {} ranks", tp.getInt()),
                      kvBytes * tp.getInt());
  } else {
    os << fmt::format("{:<44} {:>16}\n", "KV cache bytes per token", kvBytes);
  }
}

} // namespace tfc
