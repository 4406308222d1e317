//===- VerifyPasses.cpp - tfc --verify-passes: each rewrite, measured ------===//
//
// Every rewrite of tfc's pipeline that has an off switch must keep the
// model's function (SPEC §1: both lowerings compute the same function to
// floating-point tolerance). This compiles the model as asked and once more
// with each switch flipped, runs all of them on the same tfc_model_random
// weights and prompts — one prefill with every position's logits, then
// single-token decode steps, which exercise the KV cache — and reports per
// rewrite the largest absolute difference over the largest magnitude of the
// reference outputs.
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
    double diff = got.size() == expected.size() ? 0 : INFINITY;
    for (size_t i = 0; i < expected.size() && i < got.size(); ++i) {
      double d = std::fabs(double(got[i]) - double(expected[i]));
      diff = std::isnan(d) ? INFINITY : std::max(diff, d);
    }
    double relative = scale > 0 ? diff / scale : diff;
    bool above = !(relative <= options.tolerance);
    anyAbove |= above;
    llvm::outs() << fmt::format("  {:<28} {:<4} max relative difference {:.3e}{}\n",
                                rewrite.name, options.pipeline.*rewrite.enabled ? "off" : "on",
                                relative, above ? "  ABOVE TOLERANCE" : "");
  }
  llvm::sys::fs::remove_directories(dir);
  return anyAbove ? 1 : 0;
}

} // namespace tfc
