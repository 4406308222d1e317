//===- ParameterReport.cpp - tfc --report: parameters and decode bytes ------===//
//
// The second part of `tfc --report`: how many parameters the model has, how
// many a token uses (a mixture of experts routes each token to top_k of its
// experts, so only that fraction of an expert-stacked weight is active), how
// many bytes of weights a decode step reads (the active parameters in the
// weight type they are stored in; one row of an embedding table unless a
// tied output head reads all of it), and the KV
// cache per token. Read off the IR as generated: every attn.weight with its
// shape, and the attn.moe ops for the active fraction of the expert weights.
// The type each weight is stored in is tfc-lower-entry-points' decision (its
// weight slots): under a narrow --weight-type, the matrices it kept f32 are
// listed with the reason, since they cost decode bandwidth the type promises
// to save (GPT-2's Conv1D weights, embedding tables, routers).
//
//===----------------------------------------------------------------------===//

#include "tfc/Pipeline/Pipeline.h"

#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Dialect/Attn/IR/AttnOps.h"
#include "tfc/Target/ModelLayout.h"
#include "tfc/Utils/QuantizedMatmul.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
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

/// Bytes per element of a weight stored as `dtype`.
double bytesPerElement(attn::DType dtype) {
  switch (dtype) {
  case attn::DType::f32:
    return 4.0;
  case attn::DType::bf16:
  case attn::DType::f16:
    return 2.0;
  default: {
    const QuantFormatInfo &format = info(*quantFormatNamed(attn::stringifyDType(dtype)));
    return static_cast<double>(format.blockBytes) / static_cast<double>(format.block);
  }
  }
}

/// Bytes per element of the weight in `slot`: with a type per layer
/// (q4_k_m's value and down projections), the mean over its layers.
double bytesPerElement(attn::WeightSlotAttr slot) {
  llvm::ArrayRef<attn::DType> layers = slot.getLayerDtypes();
  if (layers.empty())
    return bytesPerElement(slot.getDtype());
  double sum = 0;
  for (attn::DType dtype : layers)
    sum += bytesPerElement(dtype);
  return sum / static_cast<double>(layers.size());
}

/// Whether `user`, through the layer and expert slices of `v`, satisfies `pred`.
bool anyUse(Value v, llvm::function_ref<bool(OpOperand &)> pred) {
  for (OpOperand &use : v.getUses()) {
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner());
        slice && use.getOperandNumber() == 0) {
      if (anyUse(slice.getResult(), pred))
        return true;
    } else if (pred(use)) {
      return true;
    }
  }
  return false;
}

/// Why a matrix that a narrow --weight-type leaves f32 stayed f32: the first
/// use tfc-lower-entry-points does not narrow (it narrows a weight only when
/// every use is an [out, in] linear layer's product, a quantized one only
/// with rows of whole blocks and not a mixture of experts' router).
std::string keptF32Reason(llvm::ArrayRef<attn::WeightOp> uses, int64_t width) {
  auto usedAs = [&](llvm::function_ref<bool(OpOperand &)> pred) {
    return llvm::any_of(uses, [&](attn::WeightOp w) { return anyUse(w.getResult(), pred); });
  };
  if (usedAs([](OpOperand &use) {
        auto linear = dyn_cast<attn::LinearOp>(use.getOwner());
        return linear && use.get() == linear.getWeight() && linear.getWeightInOut();
      }))
    return "an [in, out] weight (GPT-2's Conv1D, x W): the narrow kernels read [out, in] rows";
  if (usedAs([](OpOperand &use) {
        return isa<attn::EmbeddingOp, attn::PositionEmbeddingOp>(use.getOwner());
      }))
    return "an embedding table (rows gathered by token)";
  if (usedAs([](OpOperand &use) {
        auto moe = dyn_cast<attn::MoEOp>(use.getOwner());
        return moe && use.get() == moe.getRouter();
      }))
    return "a mixture of experts' router (as llama.cpp keeps ffn_gate_inp)";
  if (width % 32 != 0)
    return fmt::format("rows of {} values are not whole blocks of 32", width);
  return "read other than as a linear layer's [out, in] weight";
}

} // namespace

void printParameterReport(ModuleOp attnModule, ModuleOp attnOptModule, ModuleOp loweredModule,
                          llvm::StringRef weightType, llvm::raw_ostream &os,
                          llvm::ArrayRef<std::string> fileTypes) {
  // The file's type of each tensor ("name=type"), by name.
  llvm::StringMap<llvm::StringRef> fileTypeOf;
  for (const std::string &entry : fileTypes) {
    auto [name, type] = llvm::StringRef(entry).rsplit('=');
    fileTypeOf[name] = type;
  }
  auto fileType = [&](attn::WeightNameAttr name) {
    std::string first = name.isStacked() ? name.nameOfLayer(0) : name.str();
    return fileTypeOf.lookup(llvm::StringRef(first).split('[').first);
  };
  // The type each weight is stored in (everything f32 without a lowered module).
  llvm::DenseMap<attn::WeightNameAttr, attn::WeightSlotAttr> slotOf;
  if (loweredModule)
    if (auto slots = loweredModule->getAttrOfType<ArrayAttr>(attn::AttnDialect::kWeightSlotsAttrName))
      for (auto slot : slots.getAsRange<attn::WeightSlotAttr>())
        slotOf[slot.getName()] = slot;
  // Every use of a weight, for the reason one stayed f32.
  llvm::DenseMap<attn::WeightNameAttr, SmallVector<attn::WeightOp>> usesOf;
  attnModule.walk([&](attn::WeightOp weight) { usesOf[weight.getName()].push_back(weight); });
  struct KeptF32 {
    attn::WeightOp weight;
    std::string reason;
  };
  SmallVector<KeptF32> keptF32;
  SmallVector<std::pair<attn::WeightOp, attn::WeightSlotAttr>> narrowed;
  // The fraction of each expert-stacked weight a token uses: top_k of E.
  llvm::DenseMap<Operation *, double> activeFraction;
  attnModule.walk([&](attn::MoEOp moe) {
    double fraction = static_cast<double>(moe.getTopK()) / static_cast<double>(moe.getNumExperts());
    for (Value w : {moe.getGate(), moe.getUp(), moe.getDown()})
      if (attn::WeightOp weight = weightOf(w))
        activeFraction[weight] = fraction;
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
    // An embedding table only gathered is read one row per token; anything
    // else whole, a table that a tied output head also multiplies by included
    // (the head reads every row at every step).
    auto gathers = [](OpOperand &use) {
      return isa<attn::EmbeddingOp, attn::PositionEmbeddingOp>(use.getOwner());
    };
    auto usedSo = [&](llvm::function_ref<bool(OpOperand &)> pred) {
      return llvm::any_of(usesOf[weight.getName()],
                          [&](attn::WeightOp w) { return anyUse(w.getResult(), pred); });
    };
    bool onlyGathered = usedSo(gathers) && !usedSo([&](OpOperand &use) { return !gathers(use); });
    int64_t rank = weight.getType().getRank() - (weight.getName().isStacked() ? 1 : 0);
    double read = onlyGathered ? static_cast<double>(weight.getType().getShape().back()) : used;
    attn::WeightSlotAttr slot = slotOf.lookup(weight.getName());
    double bytes = slot ? bytesPerElement(slot) : 4.0;
    decodeBytes += read * bytes;
    if (slot && rank >= 2 && slot.getDtype() == attn::DType::f32) {
      std::string reason =
          keptF32Reason(usesOf[weight.getName()], weight.getType().getShape().back());
      // A linear layer's matrix the file stores in F32 stays so.
      if (fileType(weight.getName()) == "f32" && llvm::StringRef(reason).starts_with("read other"))
        reason = "stored F32 in the weight file";
      keptF32.push_back({weight, reason});
    } else if (slot && rank >= 2) {
      narrowed.push_back({weight, slot});
    }
  });
  auto shapeString = [](attn::WeightOp weight) {
    std::string shape;
    llvm::raw_string_ostream shapeOs(shape);
    shapeOs << "[";
    llvm::interleaveComma(weight.getType().getShape(), shapeOs);
    shapeOs << "]";
    return shape;
  };
  int64_t kvBytes = kvCacheBytesPerToken(analyzeKVCaches(attnOptModule));
  if (fileTypes.empty())
    os << fmt::format("\nparameters (weights stored as {} for the linear layers)\n", weightType);
  else
    os << fmt::format("\nparameters (linear layers stored in the weight file's types, most {})\n",
                      weightType);
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
  // The file's types: each narrowed matrix's, used in place where the file
  // stores that type (a tensor of a type without kernels was converted).
  if (!fileTypes.empty() && !narrowed.empty()) {
    os << "\nlinear layers by type (the weight file's blocks in place, unless it says converted)\n";
    for (auto [weight, slot] : narrowed) {
      std::string type(attn::stringifyDType(slot.getDtype()));
      if (!slot.getLayerDtypes().empty()) {
        type = "per layer:";
        for (attn::DType d : slot.getLayerDtypes())
          type += " " + attn::stringifyDType(d).str();
      }
      // The file's types of the entries the slot's type differs from.
      attn::WeightNameAttr name = weight.getName();
      llvm::ArrayRef<attn::DType> layers = slot.getLayerDtypes();
      std::string converted;
      for (int64_t e = 0; e < (name.isStacked() ? name.getEntries() : 1); ++e) {
        std::string entry = name.isStacked() ? name.nameOfLayer(e) : name.str();
        llvm::StringRef inFile = fileTypeOf.lookup(llvm::StringRef(entry).split('[').first);
        attn::DType stored = layers.empty() ? slot.getDtype() : layers[e];
        std::string from = inFile.empty() ? "a type without kernels" : inFile.str();
        if (inFile != attn::stringifyDType(stored) && !llvm::StringRef(converted).contains(from))
          converted += (converted.empty() ? " (converted at load from " : ", ") + from;
      }
      if (!converted.empty())
        converted += ")";
      os << fmt::format("{:<44} {:<16} {}{}\n", name.str(), shapeString(weight), type, converted);
    }
  }
  if (keptF32.empty())
    return;
  if (fileTypes.empty())
    os << fmt::format("\nmatrices kept f32 under --weight-type={} (read at 4 bytes per value)\n",
                      weightType);
  else
    os << "\nmatrices kept f32 (read at 4 bytes per value)\n";
  for (KeptF32 &kept : keptF32)
    os << fmt::format("{:<44} {:<16} {}\n", kept.weight.getName().str(), shapeString(kept.weight),
                      kept.reason);
}

} // namespace tfc
