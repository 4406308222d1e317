//===- Evaluate.cpp - The original and the converted model, compared -------===//
//
// Compilation goes through runDriver (as `tfc MODEL -o X.so` would), the
// libraries are opened with the tools' ModelLibrary (TfcRunner) (dlopen, RTLD_LOCAL: two
// models live side by side), and the logits are compared in float64.
//
//===----------------------------------------------------------------------===//

#include "Evaluate.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>

namespace tfc::convert {

std::string compileAndLoad(const std::string &tdsl, const PipelineOptions &pipeline,
                           const std::string &weights, uint64_t seed, llvm::StringRef dir,
                           llvm::StringRef stem, LoadedModel &out) {
  llvm::SmallString<128> so(dir);
  llvm::sys::path::append(so, stem + ".so");
  DriverOptions options;
  options.input = tdsl;
  options.output = std::string(so);
  options.pipeline = pipeline;
  if (runDriver(options) != 0)
    return "cannot compile '" + tdsl + "'";
  auto lib = ModelLibrary::open(so);
  if (!lib)
    return llvm::toString(lib.takeError());
  out.lib = *lib;
  out.model = weights.empty() ? out.lib.modelRandom(seed) : out.lib.modelLoad(weights.c_str());
  if (!out.model)
    return (weights.empty() ? std::string("random weights") : "'" + weights + "'") + ": " +
           out.lib.errorText();
  return "";
}

std::string runSession(LoadedModel &m, const std::vector<int32_t> &prompt,
                       const std::vector<int32_t> &steps, std::vector<float> &out) {
  const tfc_model_info *info = m.lib.info();
  int64_t total = static_cast<int64_t>(prompt.size() + steps.size());
  if (total > info->max_seq)
    return "the run has " + std::to_string(total) + " tokens, more than max_seq (" +
           std::to_string(info->max_seq) + ")";
  tfc_session *session = m.lib.sessionNew(m.model, static_cast<int32_t>(total));
  if (!session)
    return m.lib.errorText();
  std::string error;
  auto check = [&](int32_t status) {
    if (status && error.empty())
      error = m.lib.errorText();
    return status == 0;
  };
  size_t at = out.size();
  if (info->has_encoder) {
    // Encoder-decoder: the prompt is also the source the decoder attends to.
    out.resize(at + prompt.size() * info->dim);
    if (!check(m.lib.encode(session, prompt.data(), static_cast<int32_t>(prompt.size()),
                            out.data() + at)))
      out.resize(at);
    else if (info->has_decoder)
      out.resize(at); // the decoder's logits depend on the hidden states; compare those
  }
  if (error.empty() && info->has_decoder) {
    out.resize(at + prompt.size() * info->vocab_size);
    if (check(m.lib.decode(session, prompt.data(), static_cast<int32_t>(prompt.size()),
                           out.data() + at, /*all_logits=*/1))) {
      for (int32_t token : steps) {
        size_t here = out.size();
        out.resize(here + info->vocab_size);
        if (!check(m.lib.decode(session, &token, 1, out.data() + here, /*all_logits=*/1)))
          break;
      }
    }
  }
  m.lib.sessionFree(session);
  return error;
}

namespace {

/// log softmax of one row, in float64.
std::vector<double> logSoftmax(const float *row, int64_t n) {
  double max = *std::max_element(row, row + n), sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(double(row[i]) - max);
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i)
    out[i] = double(row[i]) - max - std::log(sum);
  return out;
}

} // namespace

std::string compareModels(const std::string &originalTdsl, const std::string &originalWeights,
                          const std::string &convertedTdsl, const std::string &convertedWeights,
                          const std::vector<int32_t> &tokens, Comparison &result) {
  llvm::SmallString<128> dir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("tfc-convert", dir))
    return "cannot create a temporary directory: " + ec.message();
  LoadedModel original, converted;
  PipelineOptions pipeline;
  std::string error =
      compileAndLoad(originalTdsl, pipeline, originalWeights, 0, dir, "original", original);
  if (error.empty())
    error = compileAndLoad(convertedTdsl, pipeline, convertedWeights, 0, dir, "converted",
                           converted);
  // The libraries stay mapped after their files are gone.
  llvm::sys::fs::remove_directories(dir);
  if (!error.empty())
    return error;

  if (!original.lib.info()->has_decoder)
    return "the model has no decoder to compare logits of";
  std::vector<float> p, q;
  if (!(error = runSession(original, tokens, {}, p)).empty() ||
      !(error = runSession(converted, tokens, {}, q)).empty())
    return error;
  int64_t vocab = original.lib.info()->vocab_size, n = tokens.size();
  if (converted.lib.info()->vocab_size != vocab)
    return "the converted model's vocabulary differs from the original's";
  double kl = 0, maxAbs = 0, maxDiff = 0;
  int64_t agree = 0;
  for (int64_t t = 0; t < n; ++t) {
    const float *pr = p.data() + t * vocab, *qr = q.data() + t * vocab;
    std::vector<double> lp = logSoftmax(pr, vocab), lq = logSoftmax(qr, vocab);
    for (int64_t i = 0; i < vocab; ++i) {
      kl += std::exp(lp[i]) * (lp[i] - lq[i]);
      maxAbs = std::max(maxAbs, std::fabs(double(pr[i])));
      maxDiff = std::max(maxDiff, std::fabs(double(pr[i]) - double(qr[i])));
    }
    agree += std::max_element(pr, pr + vocab) - pr == std::max_element(qr, qr + vocab) - qr;
  }
  result.meanKL = kl / double(n);
  result.top1Agreement = double(agree) / double(n);
  result.maxRelLogitError = maxAbs > 0 ? maxDiff / maxAbs : maxDiff;
  result.kvBytesBefore = original.lib.info()->kv_cache_bytes_per_token;
  result.kvBytesAfter = converted.lib.info()->kv_cache_bytes_per_token;
  return "";
}

} // namespace tfc::convert
