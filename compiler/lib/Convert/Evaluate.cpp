//===- Evaluate.cpp - The original and the converted model, compared -------===//
//
// Compilation goes through runDriver (as `tfc MODEL -o X.so` would), the
// libraries are opened with tfc-run's ModelLibrary (dlopen, RTLD_LOCAL: two
// models live side by side), and the logits are compared in float64.
//
//===----------------------------------------------------------------------===//

#include "Evaluate.h"

#include "../../tools/tfc-run/ModelLibrary.h"
#include "tfc/Pipeline/Pipeline.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>

namespace tfc::convert {

namespace {

/// A compiled model with its weights loaded, freed with the object.
struct LoadedModel {
  ModelLibrary lib;
  tfc_model *model = nullptr;
  ~LoadedModel() {
    if (model)
      lib.modelFree(model);
  }
};

std::string compileAndLoad(const std::string &tdsl, const std::string &weights,
                           llvm::StringRef dir, llvm::StringRef stem, LoadedModel &out) {
  llvm::SmallString<128> so(dir);
  llvm::sys::path::append(so, stem + ".so");
  DriverOptions options;
  options.input = tdsl;
  options.output = std::string(so);
  if (runDriver(options) != 0)
    return "cannot compile '" + tdsl + "'";
  auto lib = ModelLibrary::open(so);
  if (!lib)
    return llvm::toString(lib.takeError());
  out.lib = *lib;
  out.model = out.lib.modelLoad(weights.c_str());
  if (!out.model)
    return "'" + weights + "': " + out.lib.errorText();
  return "";
}

/// All-position logits of `tokens`, [n * vocab].
std::string runLogits(LoadedModel &m, const std::vector<int32_t> &tokens,
                      std::vector<float> &logits) {
  const tfc_model_info *info = m.lib.info();
  if (!info->has_decoder)
    return "the model has no decoder to compare logits of";
  if (static_cast<int64_t>(tokens.size()) > info->max_seq)
    return "the calibration has " + std::to_string(tokens.size()) +
           " tokens, more than max_seq (" + std::to_string(info->max_seq) + ")";
  tfc_session *session = m.lib.sessionNew(m.model, static_cast<int32_t>(tokens.size()));
  if (!session)
    return m.lib.errorText();
  logits.assign(tokens.size() * info->vocab_size, 0.0f);
  int32_t status = m.lib.decode(session, tokens.data(), static_cast<int32_t>(tokens.size()),
                                logits.data(), /*all_logits=*/1);
  std::string error = status ? m.lib.errorText() : "";
  m.lib.sessionFree(session);
  return error;
}

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
  std::string error = compileAndLoad(originalTdsl, originalWeights, dir, "original", original);
  if (error.empty())
    error = compileAndLoad(convertedTdsl, convertedWeights, dir, "converted", converted);
  // The libraries stay mapped after their files are gone.
  llvm::sys::fs::remove_directories(dir);
  if (!error.empty())
    return error;

  std::vector<float> p, q;
  if (!(error = runLogits(original, tokens, p)).empty() ||
      !(error = runLogits(converted, tokens, q)).empty())
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
