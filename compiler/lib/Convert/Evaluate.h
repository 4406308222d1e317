//===- Evaluate.h - The original and the converted model, compared -*- C++ -*-===//
//
// `tfc convert` measures what a conversion did to the whole model the way a
// user runs it: both .tdsl files are compiled by tfc's own driver, loaded
// through the C ABI with their weights, and run on the calibration tokens.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERT_EVALUATE_H
#define TFC_CONVERT_EVALUATE_H

#include "tfc/Runner/ModelLibrary.h"
#include "tfc/Pipeline/Pipeline.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tfc::convert {

/// A model.so opened with its weights; the weights are freed with the object
/// (the library stays mapped, see ModelLibrary).
struct LoadedModel {
  ModelLibrary lib;
  tfc_model *model = nullptr;
  LoadedModel() = default;
  LoadedModel(const LoadedModel &) = delete;
  LoadedModel &operator=(const LoadedModel &) = delete;
  ~LoadedModel() {
    if (model)
      lib.modelFree(model);
  }
};

/// Compiles `tdsl` with `pipeline` into `dir`/`stem`.so (as `tfc` would) and
/// loads it with the weights of `weights`, or tfc_model_random(`seed`) when
/// `weights` is empty. Returns "" or why it failed.
std::string compileAndLoad(const std::string &tdsl, const PipelineOptions &pipeline,
                           const std::string &weights, uint64_t seed, llvm::StringRef dir,
                           llvm::StringRef stem, LoadedModel &out);

/// Runs `prompt` as one prefill and then `steps` one token at a time in a new
/// session, appending every position's logits (or, for an encoder-only
/// model, the encoder's hidden states of `prompt`) to `out`.
std::string runSession(LoadedModel &m, const std::vector<int32_t> &prompt,
                       const std::vector<int32_t> &steps, std::vector<float> &out);

struct Comparison {
  double meanKL = 0;        // mean over positions of KL(original || converted), nats
  double top1Agreement = 0; // share of positions whose argmax agrees
  double maxRelLogitError = 0; // max |converted - original| / max |original|, all logits
  int64_t kvBytesBefore = 0, kvBytesAfter = 0; // tfc_info()->kv_cache_bytes_per_token
};

/// Compiles `originalTdsl` and `convertedTdsl` into a temporary directory,
/// loads each with its weights and compares next-token distributions on
/// `tokens` (one prefill with all logits). Returns "" or the reason it failed.
std::string compareModels(const std::string &originalTdsl, const std::string &originalWeights,
                          const std::string &convertedTdsl, const std::string &convertedWeights,
                          const std::vector<int32_t> &tokens, Comparison &result);

} // namespace tfc::convert

#endif // TFC_CONVERT_EVALUATE_H
