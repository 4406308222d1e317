//===- Convert.cpp - tfc convert: attention conversion by randomized SVD ---===//
//
// The steps of `tfc convert`: read the model (tdsl → attn IR) and find its
// self-attention calls and their weights per layer; check the arguments
// against them; convert each layer's projections (AttentionConversion);
// write OUT.safetensors and OUT.tdsl (the source with the calls rewritten);
// compile and compare both models (Evaluate); write OUT.report.json and print
// a summary. Each failure is one `tfc: error:` line naming the argument, the
// call (file:line:col) or the tensor concerned.
//
//===----------------------------------------------------------------------===//

#include "tfc/Convert/Convert.h"

#include "Activations.h"
#include "AttentionConversion.h"
#include "AttentionOutput.h"
#include "Evaluate.h"
#include "TdslRewrite.h"
#include "TensorFile.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"
#include "tfc/Frontend/MLIRGen.h"
#include "tfc/Frontend/Parser.h"
#include "tfc/Import/HFImport.h"
#include "tfc/Pipeline/Pipeline.h"
#include "tfc/Tokenizer/Tokenizer.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <random>

namespace tfc {

using namespace convert;

namespace {

int fail(const std::string &message) {
  llvm::errs() << "tfc: error: " << message << "\n";
  return 1;
}

//===----------------------------------------------------------------------===//
// The model's self-attention
//===----------------------------------------------------------------------===//

/// One layer's tensors of an attention call.
struct LayerTensors {
  std::string q, k, v, o;
  std::string bq, bk, bv, bo; // attention(..., bias = true)
  std::string normWeight, normBias; // the norm in front (normBias: layer_norm only)
};

/// An attention(...) call of the model (one per layer loop body).
struct AttentionSite {
  std::string where; // file:line:col
  unsigned line = 0, col = 0;
  AttentionShape shape;
  bool causal = false, biases = false;
  /// AttentionOutput evaluates this layer (no sliding window, no RoPE scaling).
  bool evaluable = true;
  enum class Norm { None, RMS, Layer } norm = Norm::None;
  std::vector<LayerTensors> layers;
};

/// The weight behind `v`: an attn.weight, or a layer slice of a stacked one.
attn::WeightOp weightOf(mlir::Value v) {
  if (auto slice = v.getDefiningOp<mlir::tensor::ExtractSliceOp>())
    v = slice.getSource();
  return v.getDefiningOp<attn::WeightOp>();
}

std::string layerName(mlir::Value v, int64_t layer) {
  auto w = weightOf(v);
  return w ? w.nameOfLayer(layer) : "";
}

std::vector<AttentionSite> findSelfAttention(mlir::ModuleOp module) {
  std::vector<AttentionSite> sites;
  module.walk([&](attn::AttentionOp op) {
    // Cross-attention keeps its form (MLA and the cache are for self-attention).
    if (!isConvertedAttention(op))
      return;
    AttentionSite site;
    auto loc = mlir::dyn_cast<mlir::FileLineColLoc>(op.getLoc());
    if (loc) {
      site.line = loc.getLine();
      site.col = loc.getColumn();
      site.where = fmt::format("{}:{}:{}", loc.getFilename().str(), site.line, site.col);
    }
    site.shape.dim = mlir::cast<mlir::ShapedType>(op.getInput().getType()).getDimSize(1);
    site.shape.heads = op.getHeads();
    site.shape.kvHeads = op.getKvHeads();
    site.shape.headDim = op.getHeadDim();
    if (auto theta = op.getRopeTheta())
      site.shape.ropeTheta = theta->convertToDouble();
    site.shape.interleaved =
        op.getRopeStyle() && *op.getRopeStyle() == attn::RopeStyle::interleaved;
    site.causal = op.getCausal();
    site.biases = static_cast<bool>(op.getBq());
    site.evaluable = !op.getWindow() && !op.getRopeScaling();
    mlir::Value normWeight, normBias;
    if (auto rms = op.getInput().getDefiningOp<attn::RMSNormOp>()) {
      site.norm = AttentionSite::Norm::RMS;
      normWeight = rms.getWeight();
    } else if (auto ln = op.getInput().getDefiningOp<attn::LayerNormOp>()) {
      site.norm = AttentionSite::Norm::Layer;
      normWeight = ln.getWeight();
      normBias = ln.getBias();
    }
    auto wq = weightOf(op.getWq());
    int64_t layers = wq && wq.isStacked() ? wq.getName().getLayers() : 1;
    for (int64_t l = 0; l < layers; ++l) {
      LayerTensors t;
      t.q = layerName(op.getWq(), l);
      t.k = layerName(op.getWk(), l);
      t.v = layerName(op.getWv(), l);
      t.o = layerName(op.getWo(), l);
      if (site.biases) {
        t.bq = layerName(op.getBq(), l);
        t.bk = layerName(op.getBk(), l);
        t.bv = layerName(op.getBv(), l);
        t.bo = layerName(op.getBo(), l);
      }
      t.normWeight = normWeight ? layerName(normWeight, l) : "";
      t.normBias = normBias ? layerName(normBias, l) : "";
      site.layers.push_back(std::move(t));
    }
    sites.push_back(std::move(site));
  });
  return sites;
}

//===----------------------------------------------------------------------===//
// Weights in and out
//===----------------------------------------------------------------------===//

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The matrix `name` of shape [rows, cols], or an error naming the tensor.
std::string readMatrix(const TensorFile &file, const std::string &path, const std::string &name,
                       int64_t rows, int64_t cols, MatD &out) {
  auto it = file.tensors.find(name);
  std::string want = cols ? fmt::format("[{}, {}]", rows, cols) : fmt::format("[{}]", rows);
  if (it == file.tensors.end())
    return fmt::format("'{}' has no tensor '{}' (the model needs {})", path, name, want);
  const Tensor &t = it->second;
  if (!t.otherDtype.empty())
    return fmt::format("'{}': tensor '{}' has dtype {}, not a floating-point type", path, name,
                       t.otherDtype);
  bool ok = cols ? t.shape == std::vector<int64_t>{rows, cols} : t.shape == std::vector<int64_t>{rows};
  if (!ok)
    return fmt::format("'{}': tensor '{}' has shape [{}], the model needs {}", path, name,
                       fmt::join(t.shape, ", "), want);
  out = Eigen::Map<const RowMajor>(t.data.data(), rows, cols ? cols : 1);
  return "";
}

Tensor toTensor(const MatD &m) {
  Tensor t;
  t.shape = {m.rows(), m.cols()};
  RowMajor r = m;
  t.data.assign(r.data(), r.data() + r.size());
  return t;
}

Tensor toTensor(const VecD &v) {
  Tensor t;
  t.shape = {v.size()};
  t.data.assign(v.data(), v.data() + v.size());
  return t;
}

/// Everything before "q_proj.weight" in the name of a q projection.
std::string scopeOf(const std::string &qName) {
  return llvm::StringRef(qName).drop_back(strlen("q_proj.weight")).str();
}

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

/// Why `options` cannot convert `site` ("" when they can).
std::string checkSite(const ConvertOptions &options, const AttentionSite &site) {
  const AttentionShape &s = site.shape;
  if (options.target == ConvertOptions::Target::GQA) {
    if (options.kvHeads <= 0)
      return "--to gqa needs --kv-heads K (a positive number of K/V heads)";
    if (options.kvHeads > s.heads || s.heads % options.kvHeads)
      return fmt::format("--kv-heads {} does not divide heads ({}) of the attention at {}",
                         options.kvHeads, s.heads, site.where);
  } else {
    int64_t bound = std::min(s.dim, 2 * s.kvHeads * s.headDim);
    if (options.kvRank <= 0)
      return "--to mla needs --kv-rank R (a positive latent rank)";
    if (options.kvRank > bound)
      return fmt::format("--kv-rank {} is above the rank bound {} of the attention at {} "
                         "(min(dim {}, 2 * kv_heads * head_dim {}))",
                         options.kvRank, bound, site.where, s.dim,
                         2 * s.kvHeads * s.headDim);
    if (!s.ropeTheta && options.ropeDim >= 0)
      return fmt::format("--rope-dim applies to RoPE attention; the attention at {} has no rope",
                         site.where);
    int64_t ropeDim = options.ropeDim < 0 ? s.headDim : options.ropeDim;
    if (s.ropeTheta && (ropeDim < 2 || ropeDim > s.headDim || ropeDim % 2))
      return fmt::format("--rope-dim {} must be even and between 2 and head_dim ({}) of the "
                         "attention at {}",
                         ropeDim, s.headDim, site.where);
    if (site.biases)
      return fmt::format("the attention at {} has biases, which mla(...) does not have",
                         site.where);
    if (site.norm == AttentionSite::Norm::None)
      return fmt::format("the input of the attention at {} does not come from rms_norm or "
                         "layer_norm, so its size has no bound for MLA's latent norm",
                         site.where);
  }
  return "";
}

/// Whether --calibrate's value is token ids (digits and separators only).
bool isTokenIds(llvm::StringRef text) {
  return !text.trim().empty() &&
         text.find_first_not_of("0123456789, \t\n") == llvm::StringRef::npos;
}

/// The tokenizer for calibration text: --tokenizer, else the model
/// directory's tokenizer.json.
std::string tokenizerPath(const ConvertOptions &options, bool modelIsDirectory) {
  if (!options.tokenizer.empty() || !modelIsDirectory)
    return options.tokenizer;
  llvm::SmallString<256> path(options.model);
  llvm::sys::path::append(path, "tokenizer.json");
  return llvm::sys::fs::exists(path) ? std::string(path) : "";
}

/// The tokens of `value`, given to `flag`: ids, or text encoded with the
/// tokenizer of tokenizerPath.
std::string parseTokens(const std::string &value, llvm::StringRef flag,
                        const ConvertOptions &options, bool modelIsDirectory, int64_t vocab,
                        std::vector<int32_t> &tokens) {
  if (isTokenIds(value)) {
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::SplitString(value, parts, ", \t\n");
    for (llvm::StringRef part : parts) {
      int64_t id;
      if (part.getAsInteger(10, id) || id >= vocab)
        return fmt::format("{}: token id {} is outside the vocabulary (0..{})", flag.str(),
                           part.str(), vocab - 1);
      tokens.push_back(static_cast<int32_t>(id));
    }
  } else {
    std::string path = tokenizerPath(options, modelIsDirectory);
    if (path.empty())
      return flag.str() + " is text (not token ids \"1,2,3\"): it needs --tokenizer T "
                          "(tokenizer.json, tokenizer.bin or .gguf), or a model directory with "
                          "a tokenizer.json";
    auto tokenizer = tokenizer::Tokenizer::load(path);
    if (!tokenizer)
      return "--tokenizer: " + llvm::toString(tokenizer.takeError());
    auto ids = tokenizer->encode(value);
    if (!ids)
      return flag.str() + ": " + llvm::toString(ids.takeError());
    for (int32_t id : *ids) {
      if (id < 0 || id >= vocab)
        return fmt::format("{}: the tokenizer '{}' gives id {}, outside the model's "
                           "vocabulary (0..{})",
                           flag.str(), path, id, vocab - 1);
      tokens.push_back(id);
    }
  }
  if (tokens.empty())
    return flag.str() + " has no tokens";
  return "";
}

/// The calibration tokens: those of --calibrate, or 64 drawn from the seed.
std::string calibrationTokens(const ConvertOptions &options, bool modelIsDirectory, int64_t vocab,
                              std::vector<int32_t> &tokens) {
  if (!options.calibrate.empty())
    return parseTokens(options.calibrate, "--calibrate", options, modelIsDirectory, vocab,
                       tokens);
  std::mt19937_64 engine(options.seed);
  for (int i = 0; i < 64; ++i)
    tokens.push_back(static_cast<int32_t>(engine() % uint64_t(vocab)));
  return "";
}

//===----------------------------------------------------------------------===//
// The report
//===----------------------------------------------------------------------===//

nlohmann::json statsJson(const SpectrumStats &s) {
  return {{"singular_values", s.spectra},
          {"energy", s.energy()},
          {"rel_error", s.relError()},
          {"optimal_rel_error", s.optimalRelError()},
          {"rsvd_vs_optimal", s.rsvdVsOptimal()}};
}

nlohmann::json layerJson(const std::string &where, int64_t layer, const LayerReport &r) {
  SpectrumStats all = r.joint;
  for (const SpectrumStats *part : {&r.keys, &r.values}) {
    all.total += part->total;
    all.kept += part->kept;
    all.errorSq += part->errorSq;
    all.optimalErrorSq += part->optimalErrorSq;
    all.spectra.insert(all.spectra.end(), part->spectra.begin(), part->spectra.end());
  }
  nlohmann::json j = statsJson(all);
  if (all.spectra.empty() && r.meanPoolingRelError) {
    // Mean pooling factorizes nothing: its error is the layer's error.
    j["energy"] = nullptr;
    j["rel_error"] = *r.meanPoolingRelError;
    j["optimal_rel_error"] = nullptr;
    j["rsvd_vs_optimal"] = nullptr;
  }
  j["attention"] = where;
  j["layer"] = layer;
  if (!r.keys.spectra.empty()) {
    j["keys"] = statsJson(r.keys);
    j["values"] = statsJson(r.values);
  }
  if (r.meanPoolingRelError)
    j["mean_pooling_rel_error"] = *r.meanPoolingRelError;
  if (r.ropeResidualEnergy) {
    j["rope_residual_energy"] = *r.ropeResidualEnergy;
    j["rope_dropped_energy"] = *r.ropeDroppedEnergy;
  }
  if (r.latentScale)
    j["latent_scale"] = *r.latentScale;
  return j;
}

/// The rewrite of `site`'s attention call in the tdsl: to GQA, `kv_heads`
/// becomes the target's; to MLA, the call keeps `x`, `heads` and `causal` and
/// takes the rotary of `ropeDim` dimensions and the latent's sizes.
CallEdit convertedCall(const AttentionSite &site, const ConvertOptions &options, int64_t ropeDim) {
  CallEdit edit{site.line, site.col, nullptr};
  if (options.target != ConvertOptions::Target::MLA) {
    edit.rewrite = [k = options.kvHeads](const CallArguments &args) {
      CallArguments out;
      for (auto &arg : args) {
        if (arg.first == "kv_heads")
          continue;
        out.push_back(arg);
        if (arg.first == "heads")
          out.emplace_back("kv_heads", std::to_string(k));
      }
      return out;
    };
    return edit;
  }
  const AttentionShape &s = site.shape;
  const int64_t hd = s.headDim;
  std::string rope;
  if (s.ropeTheta)
    rope = fmt::format("rope(theta = {:.12f}, style = \"{}\")",
                       mlaRopeTheta(*s.ropeTheta, hd, ropeDim),
                       s.interleaved ? "interleaved" : "half");
  std::string latent = fmt::format("mla(kv_rank = {}, rope_dim = {}, nope_dim = {}, v_dim = {})",
                                   options.kvRank, ropeDim, hd, hd);
  edit.rewrite = [rope, latent](const CallArguments &args) {
    CallArguments out;
    for (auto &arg : args)
      if (arg.first == "x" || arg.first == "heads" || arg.first == "causal")
        out.push_back(arg);
    if (!rope.empty())
      out.emplace_back("rope", rope);
    out.emplace_back("latent", latent);
    return out;
  };
  return edit;
}

/// The readable summary of a conversion, from its report (OUT.report.json):
/// the files written, the tokens the errors were measured on, each layer's
/// errors, the end-to-end comparison. `randomTokens`: no --calibrate tokens
/// were given.
void printSummary(const nlohmann::json &report, llvm::StringRef command,
                  llvm::StringRef output, bool randomTokens) {
  const nlohmann::json &layers = report["layers"];
  llvm::outs() << fmt::format("tfc convert {}: {} layers -> {}.tdsl, {}.safetensors, "
                              "{}.report.json\n",
                              command.str(), layers.size(), output.str(), output.str(),
                              output.str());
  if (report.contains("calibration_tokens")) {
    std::string unavailable = report.value("attention_inputs_unavailable", "");
    llvm::outs() << fmt::format("  {} on {} {}tokens{}\n",
                                report["metric"] == "activations"
                                    ? "compressed in the metric of the layers' inputs"
                                    : "compressed in weight space; errors measured",
                                report["calibration_tokens"].get<size_t>(),
                                randomTokens ? "random " : "",
                                unavailable.empty()
                                    ? ""
                                    : " (no attention output errors: " + unavailable + ")");
  }
  for (const nlohmann::json &layer : layers) {
    llvm::outs() << fmt::format("  {} layer {}: ", layer["attention"].get<std::string>(),
                                layer["layer"].get<int64_t>());
    if (layer["energy"].is_null())
      llvm::outs() << fmt::format("rel_error {:.3e}", layer["rel_error"].get<double>());
    else
      llvm::outs() << fmt::format(
          "energy {:.6f}, rel_error {:.3e} (optimal {:.3e}, rsvd/optimal {:.4f})",
          layer["energy"].get<double>(), layer["rel_error"].get<double>(),
          layer["optimal_rel_error"].get<double>(), layer["rsvd_vs_optimal"].get<double>());
    if (layer.contains("mean_pooling_rel_error"))
      llvm::outs() << fmt::format(", mean pooling {:.3e}",
                                  layer["mean_pooling_rel_error"].get<double>());
    if (layer.contains("rope_residual_energy"))
      llvm::outs() << fmt::format(", rope residual {:.3e}, rope dropped {:.3e}",
                                  layer["rope_residual_energy"].get<double>(),
                                  layer["rope_dropped_energy"].get<double>());
    if (!layer["attention_rel_error"].is_null())
      llvm::outs() << fmt::format(", attention output error {:.3e}",
                                  layer["attention_rel_error"].get<double>());
    llvm::outs() << "\n";
  }
  if (report.contains("evaluation_tokens"))
    llvm::outs() << fmt::format(
        "  on {} tokens: KL {:.4e} nats, top-1 agreement {:.4f}, max relative logit error "
        "{:.3e}; KV cache {} -> {} bytes per token\n",
        report["evaluation_tokens"].get<size_t>(), report["kl"].get<double>(),
        report["top1_agreement"].get<double>(), report["max_rel_logit_error"].get<double>(),
        report["kv_bytes_per_token_before"].get<int64_t>(),
        report["kv_bytes_per_token_after"].get<int64_t>());
}

} // namespace

//===----------------------------------------------------------------------===//
// tfc convert
//===----------------------------------------------------------------------===//

int runConvert(const ConvertOptions &givenOptions) {
  ConvertOptions options = givenOptions;
  if (options.output.empty())
    return fail("tfc convert needs -o OUT (writes OUT.tdsl, OUT.safetensors, OUT.report.json)");
  if (options.oversample < 0 || options.powerIters < 0)
    return fail("--oversample and --power-iters must not be negative");
  if (!(options.ridge > 0))
    return fail("--calibrate-ridge must be positive");

  // The model, as the driver reads it: a .tdsl file, or the tdsl `tfc import`
  // writes for a Hugging Face directory (whose checkpoint is the default weights).
  const bool modelIsDirectory = llvm::sys::fs::is_directory(options.model);
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer = std::error_code();
  if (modelIsDirectory) {
    options.model = llvm::StringRef(options.model).rtrim('/').str();
    ImportResult imported = importHuggingFaceDir(options.model);
    if (!imported.ok())
      return fail(imported.error);
    buffer = llvm::MemoryBuffer::getMemBufferCopy(imported.tdsl,
                                                  options.model + "/config.json (imported)");
    if (options.weights.empty()) {
      llvm::SmallString<256> checkpoint(options.model);
      llvm::sys::path::append(checkpoint, "model.safetensors");
      if (!llvm::sys::fs::exists(checkpoint))
        return fail("'" + options.model + "' has no model.safetensors (tfc convert reads one "
                    "safetensors file): give --weights FILE");
      options.weights = std::string(checkpoint);
    }
  } else {
    buffer = llvm::MemoryBuffer::getFile(options.model, /*IsText=*/true);
  }
  if (!buffer)
    return fail("cannot read '" + options.model + "': " + buffer.getError().message());
  if (options.weights.empty())
    return fail("tfc convert needs --weights FILE (the model's safetensors)");
  std::string source = (*buffer)->getBuffer().str();
  mlir::DialectRegistry registry;
  registerTfcDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  auto ast = parseTdsl(sourceMgr, context);
  if (!ast)
    return 1;
  mlir::OwningOpRef<mlir::ModuleOp> module = mlirGen(context, *ast);
  if (!module)
    return 1;
  std::vector<AttentionSite> sites = findSelfAttention(*module);
  if (sites.empty())
    return fail("'" + options.model + "' has no self-attention to convert");
  for (const AttentionSite &site : sites)
    if (std::string error = checkSite(options, site); !error.empty())
      return fail(error);
  int64_t vocab = 0;
  if (auto v = (*module)->getAttrOfType<mlir::DictionaryAttr>("attn.config"))
    if (auto attr = v.getAs<mlir::IntegerAttr>("vocab"))
      vocab = attr.getInt();
  // Whitening needs the layers' inputs on the calibration tokens; the
  // per-layer attention errors are measured on them whenever they are read
  // (given tokens always, the default ones when evaluating).
  const bool whiten = options.whiten && !options.calibrate.empty();
  std::vector<int32_t> tokens;
  if (options.evaluate || !options.calibrate.empty()) {
    if (vocab <= 0)
      return fail("the model's config has no vocab, so it cannot be run on tokens "
                  "(--no-evaluate, without --calibrate)");
    if (std::string error = calibrationTokens(options, modelIsDirectory, vocab, tokens);
        !error.empty())
      return fail(error);
  }
  // The end-to-end comparison's tokens: --evaluate-on's, else the calibration tokens.
  std::vector<int32_t> evaluationTokens = tokens;
  if (options.evaluate && !options.evaluateOn.empty()) {
    evaluationTokens.clear();
    if (std::string error = parseTokens(options.evaluateOn, "--evaluate-on", options,
                                        modelIsDirectory, vocab, evaluationTokens);
        !error.empty())
      return fail(error);
  }

  TensorFile weights;
  if (std::string error = weights.load(options.weights); !error.empty())
    return fail(error);

  // inputs[site][layer]: the rows each converted layer reads on the tokens,
  // read once the first layer's weights are known to be there (a compilation).
  std::vector<std::vector<MatD>> inputs;
  std::string inputsUnavailable = "not read (--no-evaluate without --calibrate)";
  bool inputsRead = false;
  auto readInputs = [&]() -> std::string {
    inputsRead = true;
    if (tokens.empty())
      return "";
    for (const AttentionSite &site : sites)
      inputs.emplace_back(site.layers.size(),
                          MatD(static_cast<int64_t>(tokens.size()), site.shape.dim));
    inputsUnavailable = collectAttentionInputs(*module, vocab, options.weights, tokens, inputs);
    if (inputsUnavailable.empty())
      return "";
    inputs.clear();
    return whiten ? inputsUnavailable + " (activation-aware --calibrate needs them; "
                                        "--no-whitening compresses in weight space)"
                  : "";
  };

  // Convert every layer of every call.
  const bool toMla = options.target == ConvertOptions::Target::MLA;
  nlohmann::json layerReports = nlohmann::json::array();
  std::vector<CallEdit> edits;
  SketchOptions sketch{options.oversample, options.powerIters, options.seed};
  int64_t layerIndex = 0;
  for (const AttentionSite &site : sites) {
    const AttentionShape &s = site.shape;
    const int64_t hd = s.headDim, d = s.dim;
    const int64_t ropeDim = s.ropeTheta ? (options.ropeDim < 0 ? hd : options.ropeDim) : 1;
    for (auto [l, names] : llvm::enumerate(site.layers)) {
      AttentionWeights w;
      for (auto [name, rows, cols, out] :
           {std::tuple{&names.q, s.heads * hd, d, &w.q}, {&names.k, s.kvHeads * hd, d, &w.k},
            {&names.v, s.kvHeads * hd, d, &w.v}, {&names.o, d, s.heads * hd, &w.o}})
        if (std::string e = readMatrix(weights, options.weights, *name, rows, cols, *out);
            !e.empty())
          return fail(e);
      if (site.biases) {
        MatD b[4];
        for (auto [name, rows, out] :
             {std::tuple{&names.bq, s.heads * hd, &b[0]}, {&names.bk, s.kvHeads * hd, &b[1]},
              {&names.bv, s.kvHeads * hd, &b[2]}, {&names.bo, d, &b[3]}})
          if (std::string e = readMatrix(weights, options.weights, *name, rows, 0, *out);
              !e.empty())
            return fail(e);
        w.bq = b[0].col(0);
        w.bk = b[1].col(0);
        w.bv = b[2].col(0);
        w.bo = b[3].col(0);
      }
      if (!inputsRead)
        if (std::string e = readInputs(); !e.empty())
          return fail(e);
      const MatD *x = inputs.empty() ? nullptr : &inputs[&site - sites.data()][l];
      std::optional<InputMetric> metric;
      if (whiten)
        metric.emplace(*x, options.ridge);
      // The construction runs on the whitened weights (see InputMetric).
      const AttentionWeights source = metric ? metric->whiten(w) : w;
      std::optional<double> attentionError;
      LayerReport report;
      SketchOptions layerSketch = sketch;
      layerSketch.seed = sketch.seed ^ (0xD1B54A32D192ED03ull * uint64_t(layerIndex + 1));
      if (!toMla) {
        GqaResult r = toGQA(s, source, options.kvHeads,
                            options.gqaMethod == ConvertOptions::GqaMethod::SVD
                                ? GqaMethod::SVD
                                : GqaMethod::MeanPooling,
                            layerSketch, report);
        if (metric) {
          r.weights.q = metric->unwhiten(r.weights.q);
          r.weights.k = metric->unwhiten(r.weights.k);
          r.weights.v = metric->unwhiten(r.weights.v);
        }
        if (x && site.evaluable) {
          AttentionShape converted = s;
          converted.kvHeads = options.kvHeads;
          attentionError = relativeError(attentionOutput(s, site.causal, w, *x),
                                         attentionOutput(converted, site.causal, r.weights, *x));
        }
        weights.put(names.q, toTensor(r.weights.q));
        weights.put(names.k, toTensor(r.weights.k));
        weights.put(names.v, toTensor(r.weights.v));
        weights.put(names.o, toTensor(r.weights.o));
        if (site.biases) {
          weights.put(names.bq, toTensor(r.weights.bq));
          weights.put(names.bk, toTensor(r.weights.bk));
          weights.put(names.bv, toTensor(r.weights.bv));
          weights.put(names.bo, toTensor(r.weights.bo));
        }
      } else {
        MatD normWeight, normBias;
        if (std::string e = readMatrix(weights, options.weights, names.normWeight, d, 0, normWeight);
            !e.empty())
          return fail(e);
        double bound = std::sqrt(double(d)) * normWeight.cwiseAbs().maxCoeff();
        if (site.norm == AttentionSite::Norm::Layer) {
          if (std::string e = readMatrix(weights, options.weights, names.normBias, d, 0, normBias);
              !e.empty())
            return fail(e);
          bound += normBias.norm();
        }
        // The latent's bound is on the whitened input L⁻¹x.
        MlaOptions mla{options.kvRank, ropeDim, metric ? bound * metric->inverseNorm() : bound,
                       layerSketch};
        MlaWeights r = toMLA(s, source, mla, report);
        if (metric) {
          r.q = metric->unwhiten(r.q);
          r.kvA = metric->unwhiten(r.kvA);
        }
        if (x && site.evaluable)
          attentionError = relativeError(attentionOutput(s, site.causal, w, *x),
                                         mlaOutput(s, site.causal, r, options.kvRank, ropeDim, *x));
        std::string scope = scopeOf(names.q);
        weights.erase(names.k);
        weights.erase(names.v);
        weights.put(names.q, toTensor(r.q));
        weights.put(scope + "kv_a_proj_with_mqa.weight", toTensor(r.kvA));
        weights.put(scope + "kv_a_layernorm.weight", toTensor(r.kvNorm));
        weights.put(scope + "kv_b_proj.weight", toTensor(r.kvB));
        weights.put(names.o, toTensor(r.o));
      }
      nlohmann::json layer = layerJson(site.where, static_cast<int64_t>(l), report);
      layer["attention_rel_error"] = attentionError ? nlohmann::json(*attentionError) : nullptr;
      if (metric)
        layer["calibration_ridge_lambda"] = metric->lambda();
      layerReports.push_back(std::move(layer));
      ++layerIndex;
    }

    edits.push_back(convertedCall(site, options, ropeDim));
  }

  std::string tdsl, error;
  if (!rewriteAttentionCalls(source, edits, tdsl, error))
    return fail(options.model + ": " + error);
  std::string command =
      toMla ? fmt::format("--to mla --kv-rank {}{}", options.kvRank,
                          options.ropeDim >= 0 ? fmt::format(" --rope-dim {}", options.ropeDim) : "")
            : fmt::format("--to gqa --kv-heads {}{}", options.kvHeads,
                          options.gqaMethod == ConvertOptions::GqaMethod::MeanPooling
                              ? " --gqa-method=mean"
                              : "");
  tdsl = fmt::format("# Converted by `tfc convert {} {}` (oversample {}, power iterations {}, "
                     "seed {}).\n",
                     options.model, command, options.oversample, options.powerIters,
                     options.seed) +
         tdsl;
  std::string tdslPath = options.output + ".tdsl", weightsPath = options.output + ".safetensors",
              reportPath = options.output + ".report.json";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tdslPath, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return fail("cannot write '" + tdslPath + "': " + ec.message());
    os << tdsl;
  }
  if (std::string e = weights.save(weightsPath); !e.empty())
    return fail(e);

  nlohmann::json report;
  report["model"] = options.model;
  report["target"] = toMla ? "mla" : "gqa";
  if (toMla)
    report["kv_rank"] = options.kvRank;
  else
    report["kv_heads"] = options.kvHeads;
  report["oversample"] = options.oversample;
  report["power_iters"] = options.powerIters;
  report["seed"] = options.seed;
  // "activations": errors and spectra are of the whitened matrices (the error
  // on the calibration inputs); "weights": of the matrices themselves.
  report["metric"] = whiten ? "activations" : "weights";
  if (!tokens.empty())
    report["calibration_tokens"] = tokens.size();
  if (options.evaluate)
    report["evaluation_tokens"] = evaluationTokens.size();
  if (whiten)
    report["calibration_ridge"] = options.ridge;
  if (!inputsUnavailable.empty())
    report["attention_inputs_unavailable"] = inputsUnavailable;
  report["layers"] = layerReports;
  for (const char *key : {"kl", "top1_agreement", "max_rel_logit_error",
                          "kv_bytes_per_token_before", "kv_bytes_per_token_after"})
    report[key] = nullptr;
  if (options.evaluate) {
    Comparison c;
    if (std::string e = compareModels(options.model, options.weights, tdslPath, weightsPath,
                                      evaluationTokens, c);
        !e.empty())
      return fail(e);
    report["kl"] = c.meanKL;
    report["top1_agreement"] = c.top1Agreement;
    report["max_rel_logit_error"] = c.maxRelLogitError;
    report["kv_bytes_per_token_before"] = c.kvBytesBefore;
    report["kv_bytes_per_token_after"] = c.kvBytesAfter;
  }
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(reportPath, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return fail("cannot write '" + reportPath + "': " + ec.message());
    os << report.dump(2) << "\n";
  }

  printSummary(report, command, options.output, /*randomTokens=*/options.calibrate.empty());
  return 0;
}

} // namespace tfc
