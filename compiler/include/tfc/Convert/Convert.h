//===- Convert.h - tfc convert: attention conversion by randomized SVD -*- C++ -*-===//
//
// `tfc convert MODEL --weights W (--to gqa --kv-heads K | --to mla --kv-rank R
// [--rope-dim D]) ... -o OUT` (SPEC §6, issue 21): rewrites the self-attention
// of a trained model into grouped-query or multi-head latent attention, writes
// OUT.tdsl, OUT.safetensors and OUT.report.json, and prints a summary of what
// the compression cost. docs/convert.md is the user's documentation.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERT_CONVERT_H
#define TFC_CONVERT_CONVERT_H

#include "tfc/Pipeline/Pipeline.h"

#include <cstdint>
#include <string>

namespace tfc {

struct ConvertOptions {
  enum class Target { GQA, MLA };
  enum class GqaMethod { SVD, MeanPooling };

  std::string model;   // a .tdsl file or a Hugging Face model directory
  std::string weights; // its safetensors file ("" for a directory: its model.safetensors)
  std::string output;  // OUT: writes OUT.tdsl, OUT.safetensors, OUT.report.json
  Target target = Target::GQA;
  int64_t kvHeads = 0;  // --to gqa
  int64_t kvRank = 0;   // --to mla
  int64_t ropeDim = -1; // --to mla on a RoPE model; -1: head_dim
  GqaMethod gqaMethod = GqaMethod::SVD;
  int64_t oversample = 10;
  int64_t powerIters = 2;
  uint64_t seed = 0;
  /// The calibration tokens: ids ("1,2,3" or "1 2 3") or text, encoded with
  /// `tokenizer` (or a model directory's tokenizer.json). With them the
  /// projections are compressed in the metric of each layer's inputs on these
  /// tokens (unless `whiten` is off), and the report's end-to-end and
  /// per-layer attention errors are measured on them. Empty: weight-space
  /// compression, measured on 64 tokens drawn from the seed.
  std::string calibrate;
  /// The tokens (ids or text) of the end-to-end comparison when they should
  /// not be the calibration tokens (held-out text); empty: the calibration tokens.
  std::string evaluateOn;
  std::string tokenizer;
  /// Activation-aware compression when calibration tokens are given.
  bool whiten = true;
  /// The ridge added to the input covariance, relative to its mean eigenvalue
  /// (docs/convert.md, activation-aware compression).
  double ridge = 1e-3;
  /// Compile the original and the converted model and compare their logits
  /// (KL, top-1 agreement, KV bytes per token). Off, those report entries are null.
  bool evaluate = true;
};

/// Runs the conversion; returns the process exit status (0, or 1 after one
/// `tfc: error:` line or a diagnostic).
int runConvert(const ConvertOptions &options);

/// `tfc --verify-passes MODEL`: compiles the model with the given pipeline
/// and again with each rewrite that has an off switch toggled (the attn
/// passes, the elementwise fusion, and the test-only wrong rewrite when
/// `testWrongRewrite` is set), runs every variant on the same random weights
/// and prompts (prefill, then decode steps) and prints per rewrite the largest
/// difference of the outputs relative to their largest magnitude. Exit status
/// 1 when one is above `tolerance`.
struct VerifyPassesOptions {
  std::string model;
  PipelineOptions pipeline;
  double tolerance = 1e-4;
  uint64_t seed = 1;
};
int runVerifyPasses(const VerifyPassesOptions &options);

} // namespace tfc

#endif // TFC_CONVERT_CONVERT_H
