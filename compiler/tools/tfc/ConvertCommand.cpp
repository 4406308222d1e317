//===- ConvertCommand.cpp - The `tfc convert` subcommand's options ---------===//
//
// `tfc convert MODEL --weights W (--to gqa --kv-heads K | --to mla --kv-rank R
// [--rope-dim D]) [--oversample P] [--power-iters Q] [--seed S] [--calibrate X]
// -o OUT` (SPEC §6): the command line of the subcommand into ConvertOptions,
// then one call into compiler/lib/Convert.
//
//===----------------------------------------------------------------------===//

#include "ConvertCommand.h"

#include "tfc/Convert/Convert.h"

#include "llvm/Support/CommandLine.h"

namespace cl = llvm::cl;

namespace {

cl::SubCommand convertCommand("convert", "Convert a model's attention to GQA or MLA (randomized "
                                         "SVD) and report the error");

cl::opt<std::string> model(cl::Positional, cl::desc("<model.tdsl or Hugging Face directory>"), cl::Required,
                           cl::sub(convertCommand));
cl::opt<std::string> weights("weights", cl::desc("The model's weights (safetensors; default for a directory: its model.safetensors)"),
                             cl::value_desc("file"), cl::sub(convertCommand));
cl::opt<std::string> output("o", cl::desc("Writes OUT.tdsl, OUT.safetensors, OUT.report.json"),
                            cl::value_desc("OUT"), cl::sub(convertCommand));
cl::opt<tfc::ConvertOptions::Target> target(
    "to", cl::desc("The attention to convert to"), cl::Required,
    cl::values(clEnumValN(tfc::ConvertOptions::Target::GQA, "gqa", "grouped-query attention"),
               clEnumValN(tfc::ConvertOptions::Target::MLA, "mla", "multi-head latent attention")),
    cl::sub(convertCommand));
cl::opt<int64_t> kvHeads("kv-heads", cl::desc("--to gqa: K/V heads (divides heads)"),
                         cl::init(0), cl::sub(convertCommand));
cl::opt<int64_t> kvRank("kv-rank", cl::desc("--to mla: the latent rank of keys and values"),
                        cl::init(0), cl::sub(convertCommand));
cl::opt<int64_t> ropeDim("rope-dim",
                         cl::desc("--to mla on RoPE attention: dims of the decoupled rope key "
                                  "(even, <= head_dim; default head_dim)"),
                         cl::init(-1), cl::sub(convertCommand));
cl::opt<tfc::ConvertOptions::GqaMethod> gqaMethod(
    "gqa-method", cl::desc("--to gqa: how a group's K/V head is formed"),
    cl::init(tfc::ConvertOptions::GqaMethod::SVD),
    cl::values(clEnumValN(tfc::ConvertOptions::GqaMethod::SVD, "svd",
                          "best factorization, the per-head maps absorbed (default)"),
               clEnumValN(tfc::ConvertOptions::GqaMethod::MeanPooling, "mean",
                          "mean of the group's heads (baseline)")),
    cl::sub(convertCommand));
cl::opt<int64_t> oversample("oversample", cl::desc("Randomized SVD oversampling (default 10)"),
                            cl::init(10), cl::sub(convertCommand));
cl::opt<int64_t> powerIters("power-iters", cl::desc("Randomized SVD power iterations (default 2)"),
                            cl::init(2), cl::sub(convertCommand));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the random sketches (default 0)"), cl::init(0),
                       cl::sub(convertCommand));
cl::opt<std::string> calibrate(
    "calibrate",
    cl::desc("Calibration tokens, ids (\"1,2,3\") or text (with --tokenizer): the projections "
             "are compressed in the metric of each layer's inputs on them, and the errors "
             "measured on them (default: weight space, measured on 64 seeded random tokens)"),
    cl::value_desc("ids or text"), cl::sub(convertCommand));
cl::opt<std::string> evaluateOn(
    "evaluate-on",
    cl::desc("Tokens (ids or text) the end-to-end KL and top-1 are measured on (default: the "
             "calibration tokens), e.g. held-out text"),
    cl::value_desc("ids or text"), cl::sub(convertCommand));
cl::opt<std::string> tokenizer("tokenizer",
                               cl::desc("Tokenizer of --calibrate's text (tokenizer.json, "
                                        "tokenizer.bin or .gguf; default: the model "
                                        "directory's tokenizer.json)"),
                               cl::value_desc("file"), cl::sub(convertCommand));
cl::opt<bool> noWhitening("no-whitening",
                          cl::desc("With --calibrate, compress in weight space anyway (the "
                                   "tokens only measure)"),
                          cl::sub(convertCommand));
cl::opt<double> ridge("calibrate-ridge",
                      cl::desc("Ridge added to the inputs' covariance, relative to its mean "
                               "eigenvalue (default 1e-3)"),
                      cl::init(1e-3), cl::sub(convertCommand));
cl::opt<bool> noEvaluate("no-evaluate",
                         cl::desc("Skip compiling and comparing the two models (kl, "
                                  "top1_agreement and the KV bytes are null; the layers' "
                                  "inputs are still read with --calibrate)"),
                         cl::sub(convertCommand));

} // namespace

bool convertCommandChosen() { return static_cast<bool>(convertCommand); }

int runConvertCommand() {
  tfc::ConvertOptions options;
  options.model = model;
  options.weights = weights;
  options.output = output;
  options.target = target;
  options.kvHeads = kvHeads;
  options.kvRank = kvRank;
  options.ropeDim = ropeDim;
  options.gqaMethod = gqaMethod;
  options.oversample = oversample;
  options.powerIters = powerIters;
  options.seed = seed;
  options.calibrate = calibrate;
  options.evaluateOn = evaluateOn;
  options.tokenizer = tokenizer;
  options.whiten = !noWhitening;
  options.ridge = ridge;
  options.evaluate = !noEvaluate;
  return tfc::runConvert(options);
}
