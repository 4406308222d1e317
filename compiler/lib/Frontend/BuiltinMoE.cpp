//===- BuiltinMoE.cpp - The moe(...) builtin --------------------------------===//
//
// moe(x, experts, top_k, ffn, ...) is a routed mixture of SwiGLU experts as
// DeepSeek-V2 and Mixtral have it: the checks that relate its arguments, its
// weights in the checkpoints' own names (one tensor per expert, stacked over
// the experts by WeightNames), one attn.moe for the routed experts, and the
// shared experts (DeepSeek's always-active SwiGLU of shared_experts * ffn)
// as ordinary linear layers added to its result. Its table entry is in
// Builtins.cpp with the others.
//
//===----------------------------------------------------------------------===//

#include "Builtins.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include <cmath>

using namespace mlir;

namespace tfc::frontend {

namespace {

/// The argument checks that relate moe's parameters. False after an error.
bool checkRouting(BuiltinContext &b, CallArgs &a, attn::MoeTopKMethod method) {
  int64_t experts = a.get("experts").i, topK = a.get("top_k").i;
  int64_t groups = a.get("n_group").i, topGroups = a.get("topk_group").i;
  if (topK > experts) {
    b.error(a.valueLoc("top_k")) << "top_k (" << topK << ") must be at most experts (" << experts
                                 << ")";
    return false;
  }
  if (method == attn::MoeTopKMethod::greedy) {
    for (StringRef p : {"n_group", "topk_group"})
      if (a.given(p)) {
        b.error(a.argLoc(p)) << "'" << p << "' needs topk_method = \"group_limited_greedy\"";
        return false;
      }
  }
  if (experts % groups != 0) {
    b.error(a.valueLoc("n_group")) << "n_group (" << groups << ") must divide experts ("
                                   << experts << ")";
    return false;
  }
  if (method == attn::MoeTopKMethod::noaux_tc && experts / groups < 2) {
    b.error(a.valueLoc("n_group")) << "noaux_tc sums the best two experts of each group, but "
                                   << groups << " groups of " << experts << " experts have "
                                   << experts / groups << " each";
    return false;
  }
  if (topGroups > groups) {
    b.error(a.valueLoc("topk_group")) << "topk_group (" << topGroups
                                      << ") must be at most n_group (" << groups << ")";
    return false;
  }
  if (topK > topGroups * (experts / groups)) {
    b.error(a.valueLoc("top_k")) << "top_k (" << topK << ") exceeds the "
                                 << topGroups * (experts / groups) << " experts of topk_group ("
                                 << topGroups << ") groups of " << experts / groups;
    return false;
  }
  double scale = a.get("routed_scaling_factor").asDouble();
  if (!(scale > 0) || !std::isfinite(scale)) {
    b.error(a.valueLoc("routed_scaling_factor"))
        << "routed_scaling_factor must be a positive number, got " << formatDouble(scale);
    return false;
  }
  return true;
}

} // namespace

std::optional<Val> lowerMoE(BuiltinContext &b, CallArgs &a) {
  const Val &x = a.get("x");
  int64_t dim = x.width;
  attn::MoeTopKMethod method = *attn::symbolizeMoeTopKMethod(a.get("topk_method").s);
  if (!checkRouting(b, a, method))
    return std::nullopt;
  if (a.get("w123").b && a.get("gguf").b) {
    b.error(a.argLoc("gguf")) << "'w123' and 'gguf' name the experts two ways; give one";
    return std::nullopt;
  }
  a.dims["noaux_tc"] = method == attn::MoeTopKMethod::noaux_tc;
  std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
  if (!w)
    return std::nullopt;
  bool w123 = a.get("w123").b, gguf = a.get("gguf").b;
  // Expert j's matrix: its own tensor in Hugging Face checkpoints, row j of the
  // layer's stacked [experts, rows, cols] tensor in a GGUF file.
  auto expertWeight = [&](const char *proj, const char *mixtral, const char *ggml) {
    if (gguf)
      return w->lookup((Twine(ggml) + ".weight[" + kExpertIndex + "]").str());
    return w->lookup((Twine("experts.") + kExpertIndex + "." + (w123 ? mixtral : proj) + ".weight")
                         .str());
  };
  OpBuilder &builder = b.builder;
  mlir::Location l = b.loc(a.call.getLoc());
  Value y = builder.create<attn::MoEOp>(
      l, b.activation(dim), x.value, w->lookup(gguf ? "ffn_gate_inp.weight" : "gate.weight"),
      w->lookup(gguf ? "exp_probs_b.bias" : "gate.e_score_correction_bias"), expertWeight("gate_proj", "w1", "ffn_gate_exps"),
      expertWeight("up_proj", "w3", "ffn_up_exps"),
      expertWeight("down_proj", "w2", "ffn_down_exps"), builder.getI64IntegerAttr(a.get("top_k").i),
      attn::MoeTopKMethodAttr::get(&b.context, method),
      builder.getI64IntegerAttr(a.get("n_group").i),
      builder.getI64IntegerAttr(a.get("topk_group").i),
      a.get("norm_topk_prob").b ? builder.getUnitAttr() : UnitAttr(),
      builder.getF64FloatAttr(a.get("routed_scaling_factor").asDouble()),
      attn::MoeScoringAttr::get(&b.context, *attn::symbolizeMoeScoring(a.get("scoring_func").s)),
      /*expert_parts=*/IntegerAttr());
  if (int64_t shared = a.get("shared_experts").i) {
    // DeepseekV2MoE: y + shared_experts(x), one SwiGLU of shared * ffn.
    int64_t width = shared * a.get("ffn").i;
    auto linear = [&](Value in, const char *proj, int64_t out) {
      std::string name = gguf ? (Twine("ffn_") + proj + "_shexp.weight").str()
                              : (Twine("shared_experts.") + proj + "_proj.weight").str();
      return builder.create<attn::LinearOp>(l, b.activation(out), in, w->lookup(name), Value());
    };
    Value gate =
        builder.create<attn::SiluOp>(l, b.activation(width), linear(x.value, "gate", width));
    Value h = builder.create<attn::MulOp>(l, b.activation(width), gate,
                                          linear(x.value, "up", width));
    y = builder.create<attn::AddOp>(l, b.activation(dim), y, linear(h, "down", dim));
  }
  return Val::ofTensor(y, dim);
}

} // namespace tfc::frontend
