//===- VerifyPasses.cpp - tfc --verify-passes: each rewrite, measured ------===//
//
// Every rewrite of tfc's pipeline that has an off switch must keep the
// model's function (SPEC §1: both lowerings compute the same function to
// floating-point tolerance). This compiles the model as asked and once more
// with each switch flipped, runs all of them on the same tfc_model_random
// weights and prompts — one prefill with every position's logits, then
// single-token decode steps, which exercise the KV cache — and reports per
// rewrite the largest absolute difference over the largest magnitude of the
// reference outputs. With --emit-attention, the attention maps of the same
// prompt lengths are compared too (their largest absolute difference).
//
//===----------------------------------------------------------------------===//

#include "tfc/Convert/Convert.h"

#include "Evaluate.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <cmath>
#include <random>

namespace tfc {

using namespace convert;

namespace {

/// A rewrite and the pipeline flag that turns it on.
struct Rewrite {
  const char *name;
  bool PipelineOptions::*enabled;
};

constexpr Rewrite kRewrites[] = {
    {"tfc-attn-kv-cache", &PipelineOptions::kvCache},
    {"tfc-attn-gqa", &PipelineOptions::gqa},
    {"tfc-attn-latent", &PipelineOptions::latent},
    {"tfc-fuse-elementwise", &PipelineOptions::fuse},
    {"tfc-attn-test-wrong-rewrite", &PipelineOptions::testWrongRewrite},
};

/// Prompts of 1, 5 and 17 tokens, each followed by 3 decode steps.
constexpr int kPromptLengths[] = {1, 5, 17};
constexpr int kDecodeSteps = 3;

std::string runPrompts(LoadedModel &m, uint64_t seed, std::vector<float> &out) {
  const tfc_model_info *info = m.lib.info();
  int64_t vocab = std::max<int32_t>(info->vocab_size, 1);
  std::mt19937_64 engine(seed);
  for (int length : kPromptLengths) {
    std::vector<int32_t> prompt(length), steps(info->has_decoder ? kDecodeSteps : 0);
    for (int32_t &t : prompt)
      t = static_cast<int32_t>(engine() % uint64_t(vocab));
    for (int32_t &t : steps)
      t = static_cast<int32_t>(engine() % uint64_t(vocab));
    if (std::string error = runSession(m, prompt, steps, out); !error.empty())
      return error;
  }
  return "";
}

/// With --emit-attention: the attention maps (tfc_attention_maps) of prompts
/// of the same lengths, appended to `out`. They are probabilities, so their
/// differences are absolute.
std::string runMaps(LoadedModel &m, uint64_t seed, std::vector<float> &out) {
  const tfc_model_info *info = m.lib.info();
  int64_t vocab = std::max<int32_t>(info->vocab_size, 1);
  std::mt19937_64 engine(seed + 1);
  for (int length : kPromptLengths) {
    std::vector<int32_t> prompt(length);
    for (int32_t &t : prompt)
      t = static_cast<int32_t>(engine() % uint64_t(vocab));
    int64_t dims[4];
    if (m.lib.attentionMapsShape(length, dims) != 4)
      return m.lib.errorText();
    size_t at = out.size();
    out.resize(at + size_t(dims[0] * dims[1] * dims[2] * dims[3]));
    if (m.lib.attentionMaps(m.model, prompt.data(), length, out.data() + at) != 0)
      return m.lib.errorText();
  }
  return "";
}

/// The largest |got - want|, infinite when the sizes differ or a NaN shows.
double maxDifference(const std::vector<float> &got, const std::vector<float> &want) {
  double diff = got.size() == want.size() ? 0 : INFINITY;
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    double d = std::fabs(double(got[i]) - double(want[i]));
    diff = std::isnan(d) ? INFINITY : std::max(diff, d);
  }
  return diff;
}

} // namespace

int runVerifyPasses(const VerifyPassesOptions &options) {
  llvm::SmallString<128> dir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("tfc-verify-passes", dir)) {
    llvm::errs() << "tfc: error: cannot create a temporary directory: " << ec.message() << "\n";
    return 1;
  }
  auto fail = [&](const std::string &message) {
    llvm::sys::fs::remove_directories(dir);
    llvm::errs() << "tfc: error: " << message << "\n";
    return 1;
  };
  LoadedModel reference;
  std::vector<float> expected;
  if (std::string e = compileAndLoad(options.model, options.pipeline, "", options.seed, dir,
                                     "reference", reference);
      !e.empty())
    return fail(e);
  if (std::string e = runPrompts(reference, options.seed, expected); !e.empty())
    return fail(e);
  const bool maps = options.pipeline.emitAttention;
  std::vector<float> expectedMaps;
  if (maps)
    if (std::string e = runMaps(reference, options.seed, expectedMaps); !e.empty())
      return fail(e);
  double scale = 0;
  for (float v : expected)
    scale = std::max(scale, std::fabs(double(v)));

  llvm::outs() << fmt::format("{}: {} outputs compared per rewrite (prompts of 1, 5 and 17 "
                              "tokens, {} decode steps each; largest magnitude {:.3e}), "
                              "tolerance {:.1e}\n",
                              options.model, expected.size(), kDecodeSteps, scale,
                              options.tolerance);
  bool anyAbove = false;
  for (const Rewrite &rewrite : kRewrites) {
    // The test-only rewrite is compared only when asked for, and then against
    // the pipeline without it.
    bool isTest = rewrite.enabled == &PipelineOptions::testWrongRewrite;
    if (isTest && !options.pipeline.testWrongRewrite)
      continue;
    PipelineOptions flipped = options.pipeline;
    flipped.*rewrite.enabled = !(options.pipeline.*rewrite.enabled);
    LoadedModel variant;
    std::vector<float> got;
    if (std::string e = compileAndLoad(options.model, flipped, "", options.seed, dir,
                                       rewrite.name, variant);
        !e.empty())
      return fail(e);
    if (std::string e = runPrompts(variant, options.seed, got); !e.empty())
      return fail(rewrite.name + std::string(": ") + e);
    double diff = maxDifference(got, expected);
    double relative = scale > 0 ? diff / scale : diff;
    bool above = !(relative <= options.tolerance);
    // The attention maps must be kept too: they are a function of the model.
    std::string mapsText;
    if (maps) {
      std::vector<float> gotMaps;
      if (std::string e = runMaps(variant, options.seed, gotMaps); !e.empty())
        return fail(rewrite.name + std::string(": ") + e);
      double mapsDiff = maxDifference(gotMaps, expectedMaps);
      above |= !(mapsDiff <= options.tolerance);
      mapsText = fmt::format(", attention maps {:.3e}", mapsDiff);
    }
    anyAbove |= above;
    llvm::outs() << fmt::format("  {:<28} {:<4} max relative difference {:.3e}{}{}\n",
                                rewrite.name, options.pipeline.*rewrite.enabled ? "off" : "on",
                                relative, mapsText, above ? "  ABOVE TOLERANCE" : "");
  }
  llvm::sys::fs::remove_directories(dir);
  return anyAbove ? 1 : 0;
}

} // namespace tfc
