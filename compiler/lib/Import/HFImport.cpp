//===- HFImport.cpp - tdsl from a Hugging Face model directory ------------===//
//
// Reads config.json as transformers reads it for each supported architecture
// (its configuration_*.py defaults, the 4.x and 5.x spellings of the rotary
// parameters) and writes the model as tdsl: a config block of the sizes, each
// commented with the field it comes from, and the forward pass of the
// architecture's modeling_*.py with the checkpoint's tensor names. Every field
// that changes the computation is either honoured or an error naming it; the
// fields that cannot (dropout, initialization, generation settings) are read
// by nobody here.
//
// Errors are one line: `config.json: 'hidden_size' must be a positive
// integer, got "64"`. The first error ends the import.
//
//===----------------------------------------------------------------------===//

#include "tfc/Import/HFImport.h"

#include "TdslWriter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

using llvm::StringRef;
namespace json = llvm::json;

namespace tfc {

namespace {

/// The largest size tdsl accepts (the front end's kMaxSize): a config asking
/// for more is absurd for this compiler and is refused while importing.
constexpr int64_t kMaxImportSize = int64_t(1) << 24;
/// Layer counts beyond any published model (the deepest have a few hundred):
/// a config asking for more is refused rather than compiled for hours.
constexpr int64_t kMaxImportLayers = 1024;
/// Elements of one weight matrix at most (2^34 floats: 64 GiB).
constexpr int64_t kMaxImportElements = int64_t(1) << 34;

/// A JSON value as an error message quotes it, shortened.
std::string quote(const json::Value &v) {
  std::string s = llvm::formatv("{0}", v).str();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

//===----------------------------------------------------------------------===//
// Reading config.json
//===----------------------------------------------------------------------===//

/// Typed access to one JSON object of the config, recording the first error
/// (`config.json: 'rope_scaling.factor' must be ...`). A field that is null
/// counts as absent, as transformers' defaults do.
class ConfigReader {
public:
  ConfigReader(const json::Object &object, std::string prefix, std::string &error)
      : object(object), prefix(std::move(prefix)), error(error) {}

  bool failed() const { return !error.empty(); }
  void fail(const llvm::Twine &message) {
    if (error.empty())
      error = "config.json: " + message.str();
  }
  std::string field(StringRef key) const { return "'" + prefix + key.str() + "'"; }

  const json::Value *get(StringRef key) const {
    const json::Value *v = object.get(key);
    return v && v->kind() != json::Value::Null ? v : nullptr;
  }
  bool has(StringRef key) const { return get(key) != nullptr; }

  /// A positive integer (non-negative with `allowZero`) of at most
  /// kMaxImportSize; `def` when absent, else an error.
  int64_t size(StringRef key, std::optional<int64_t> def = std::nullopt, bool allowZero = false) {
    const json::Value *v = get(key);
    if (!v) {
      if (!def)
        fail("missing " + field(key));
      return def.value_or(1);
    }
    std::optional<int64_t> i = v->getAsInteger();
    if (!i || *i < (allowZero ? 0 : 1)) {
      fail(field(key) + " must be a " + (allowZero ? "non-negative" : "positive") +
           " integer, got " + quote(*v));
      return 1;
    }
    if (*i > kMaxImportSize) {
      fail(field(key) + " is " + llvm::Twine(*i) + ", more than tfc's limit of " +
           llvm::Twine(kMaxImportSize));
      return 1;
    }
    return *i;
  }

  /// A layer count: a positive integer of at most kMaxImportLayers.
  int64_t layers(StringRef key) {
    int64_t n = size(key);
    if (!failed() && n > kMaxImportLayers)
      fail(field(key) + " is " + llvm::Twine(n) + ", more than tfc's limit of " +
           llvm::Twine(kMaxImportLayers) + " layers");
    return n;
  }

  /// Fails when a `rows` x `cols` weight (sizes read from `rowsKey`,
  /// `colsKey`) would exceed kMaxImportElements.
  void checkMatrix(int64_t rows, StringRef rowsKey, int64_t cols, StringRef colsKey) {
    if (!failed() && rows * cols > kMaxImportElements)
      fail(field(rowsKey) + " x " + field(colsKey) + " = " + llvm::Twine(rows * cols) +
           " elements in one weight, more than tfc's limit of " +
           llvm::Twine(kMaxImportElements));
  }

  /// Fails unless `heads` (from `headsKey`) divides `width` (from `widthKey`).
  void checkDivides(int64_t width, StringRef widthKey, int64_t heads, StringRef headsKey,
                    StringRef because = "") {
    if (!failed() && width % heads != 0)
      fail(field(widthKey) + " (" + llvm::Twine(width) + ") is not a multiple of " +
           field(headsKey) + " (" + llvm::Twine(heads) + ")" + because);
  }

  /// A finite number, positive unless `allowZero` (then non-negative).
  double number(StringRef key, std::optional<double> def = std::nullopt, bool allowZero = false) {
    const json::Value *v = get(key);
    if (!v) {
      if (!def)
        fail("missing " + field(key));
      return def.value_or(1.0);
    }
    std::optional<double> d = v->getAsNumber();
    if (!d || !std::isfinite(*d) || *d < 0 || (!allowZero && *d == 0)) {
      fail(field(key) + " must be a " + (allowZero ? "non-negative" : "positive") +
           " number, got " + quote(*v));
      return 1.0;
    }
    return *d;
  }

  bool flag(StringRef key, bool def) {
    const json::Value *v = get(key);
    if (!v)
      return def;
    if (std::optional<bool> b = v->getAsBoolean())
      return *b;
    fail(field(key) + " must be true or false, got " + quote(*v));
    return def;
  }

  std::string string(StringRef key, std::optional<std::string> def = std::nullopt) {
    const json::Value *v = get(key);
    if (!v) {
      if (!def)
        fail("missing " + field(key));
      return def.value_or("");
    }
    if (std::optional<StringRef> s = v->getAsString())
      return s->str();
    fail(field(key) + " must be a string, got " + quote(*v));
    return "";
  }

  /// A reader of a nested object whose fields are named `<prefix>key` and
  /// whose errors are this reader's.
  ConfigReader nested(const json::Object &inner, std::string innerPrefix) const {
    return ConfigReader(inner, std::move(innerPrefix), error);
  }

  /// A nested object (null when absent); an error when present but not one.
  const json::Object *objectField(StringRef key) {
    const json::Value *v = get(key);
    if (!v)
      return nullptr;
    if (const json::Object *o = v->getAsObject())
      return o;
    fail(field(key) + " must be an object, got " + quote(*v));
    return nullptr;
  }

  /// Fails when `key` is present with a value other than `neutral`: a field
  /// that would change the computation in a way tfc does not implement.
  void unsupportedUnless(StringRef key, double neutral, StringRef why) {
    const json::Value *v = get(key);
    if (!v)
      return;
    std::optional<double> d = v->getAsNumber();
    if (!d || *d != neutral)
      fail(field(key) + " = " + quote(*v) + " is not supported (" + why + ")");
  }
  void unsupported(StringRef key, StringRef why) {
    if (const json::Value *v = get(key))
      fail(field(key) + " = " + quote(*v) + " is not supported (" + why + ")");
  }

  const json::Object &object;
  std::string prefix;

private:
  std::string &error;
};

/// Rotary embedding parameters: theta and an optional rescaling, from
/// `rope_theta` / `rope_scaling` (transformers 4.x) or `rope_parameters`
/// (5.x), with `rope_type` or the legacy `type`.
struct RopeConfig {
  double theta = 10000.0;
  std::string scaling = "none"; // or linear, llama3, yarn
  double factor = 1.0, lowFreqFactor = 1.0, highFreqFactor = 4.0;
  int64_t originalMaxPos = 8192;
  double betaFast = 32.0, betaSlow = 1.0, mscale = 1.0, mscaleAllDim = 0.0; // yarn
  std::string style = "half"; // tdsl's default pairing

  /// `rope(theta = ...)` as tdsl writes it.
  std::string tdsl() const {
    std::string s = "rope(theta = " + decimal(theta);
    if (style != "half")
      s += ", style = \"" + style + "\"";
    if (scaling == "linear")
      s += ", scaling = \"linear\", factor = " + decimal(factor);
    else if (scaling == "llama3")
      s += ", scaling = \"llama3\", factor = " + decimal(factor) +
           ", low_freq_factor = " + decimal(lowFreqFactor) +
           ", high_freq_factor = " + decimal(highFreqFactor) +
           ", original_max_pos = " + std::to_string(originalMaxPos);
    else if (scaling == "yarn")
      s += ", scaling = \"yarn\", factor = " + decimal(factor) +
           ", original_max_pos = " + std::to_string(originalMaxPos) +
           ",\n                                    beta_fast = " + decimal(betaFast) +
           ", beta_slow = " + decimal(betaSlow) + ", mscale = " + decimal(mscale) +
           ", mscale_all_dim = " + decimal(mscaleAllDim);
    return s + ")";
  }
};

/// `allowYarn`: DeepSeek-V2's yarn (DeepseekV2YarnRotaryEmbedding's defaults).
RopeConfig readRope(ConfigReader &c, double defaultTheta = 10000.0, bool allowYarn = false) {
  RopeConfig rope;
  const json::Object *parameters = c.objectField("rope_parameters");
  const json::Object *scaling = parameters ? parameters : c.objectField("rope_scaling");
  if (parameters) {
    ConfigReader p = c.nested(*parameters, "rope_parameters.");
    rope.theta =
        p.has("rope_theta") ? p.number("rope_theta") : c.number("rope_theta", defaultTheta);
    p.unsupportedUnless("partial_rotary_factor", 1.0, "rotary embedding of part of a head");
  } else {
    rope.theta = c.number("rope_theta", defaultTheta);
  }
  c.unsupportedUnless("partial_rotary_factor", 1.0, "rotary embedding of part of a head");
  if (!scaling || c.failed())
    return rope;
  ConfigReader s = c.nested(*scaling, parameters ? "rope_parameters." : "rope_scaling.");
  std::string type = s.has("rope_type") ? s.string("rope_type") : s.string("type", "default");
  if (type == "default")
    return rope;
  if (type == "yarn" && allowYarn) {
    rope.scaling = type;
    rope.factor = s.number("factor");
    rope.originalMaxPos = s.size("original_max_position_embeddings", 4096);
    rope.betaFast = s.number("beta_fast", 32.0);
    rope.betaSlow = s.number("beta_slow", 1.0);
    rope.mscale = s.number("mscale", 1.0, /*allowZero=*/true);
    rope.mscaleAllDim = s.number("mscale_all_dim", 0.0, /*allowZero=*/true);
    if (!s.failed() && !(rope.betaFast > rope.betaSlow))
      s.fail(s.field("beta_fast") + " (" + decimal(rope.betaFast) + ") must be greater than " +
             s.field("beta_slow") + " (" + decimal(rope.betaSlow) + ")");
    return rope;
  }
  if (type == "linear" || type == "llama3") {
    rope.scaling = type;
    rope.factor = s.number("factor");
    if (type == "llama3") {
      rope.lowFreqFactor = s.number("low_freq_factor");
      rope.highFreqFactor = s.number("high_freq_factor");
      rope.originalMaxPos = s.size("original_max_position_embeddings");
      if (!s.failed() && !(rope.highFreqFactor > rope.lowFreqFactor))
        s.fail(s.field("high_freq_factor") + " (" + decimal(rope.highFreqFactor) +
               ") must be greater than " + s.field("low_freq_factor") + " (" +
               decimal(rope.lowFreqFactor) + ")");
    }
    // Only yarn and longrope read an attention factor; any other value
    // would scale the scores.
    s.unsupportedUnless("attention_factor", 1.0, "scaled attention scores");
    return rope;
  }
  s.fail(s.field(s.has("rope_type") ? "rope_type" : "type") + " = \"" + type +
         "\" is not supported (default, linear, llama3" + (allowYarn ? ", yarn)" : ")"));
  return rope;
}

/// The tdsl builtin of an activation named by `key` (`hidden_act`,
/// `activation_function`): transformers' ACT2FN names that tfc computes.
std::string readActivation(ConfigReader &c, StringRef key, StringRef def) {
  std::string name = c.string(key, def.str());
  static const std::pair<StringRef, StringRef> table[] = {
      {"silu", "silu"},           {"swish", "silu"},
      {"gelu", "gelu"},           {"gelu_python", "gelu"},
      {"gelu_new", "gelu_tanh"},  {"gelu_pytorch_tanh", "gelu_tanh"},
      {"gelu_fast", "gelu_tanh"}, {"relu", "relu"}};
  for (auto [hf, builtin] : table)
    if (name == hf)
      return builtin.str();
  if (!c.failed())
    c.fail(c.field(key) + " = \"" + name +
           "\" is not supported (silu, swish, gelu, gelu_python, gelu_new, gelu_pytorch_tanh, "
           "gelu_fast, relu)");
  return "silu";
}

/// What every architecture's import reads: the config, the checkpoint's
/// tensor names (when known), the output.
struct ImportContext {
  ConfigReader &c;
  const llvm::StringSet<> *tensors;
  TdslWriter &out;
  std::string architecture;

  /// Fails unless the checkpoint (when its names are known) has `name`.
  void requireTensor(const std::string &name, StringRef because) {
    if (tensors && !c.failed() && !tensors->contains(name))
      c.fail("the checkpoint has no tensor '" + name + "' (" + because + ")");
  }
  bool hasTensor(const std::string &name) const { return tensors && tensors->contains(name); }
};

/// The output head's `return`: tied to the token embedding `embedding` (a
/// full weight name), or its own `lm_head`.
std::string outputHead(bool tied, const std::string &embedding) {
  return tied ? "    return linear(x, vocab, tied = \"" + embedding + "\")\n"
              : "    return linear(x, vocab) @ \"lm_head\"\n";
}

//===----------------------------------------------------------------------===//
// Mixtral's experts (modeling_mixtral.py MixtralSparseMoeBlock)
//===----------------------------------------------------------------------===//

/// The mixture of experts that replaces Mixtral's MLP: `num_local_experts`
/// SwiGLU experts of `intermediate_size`, the top `num_experts_per_tok` of a
/// softmax router, their weights renormalized to sum to 1
/// (MixtralSparseMoeBlock.forward), in block_sparse_moe's names (gate, and
/// w1 / w3 / w2 for the experts' gate / up / down).
struct MixtralExperts {
  int64_t experts = 8, topK = 2;

  void writeConfig(TdslWriter &out) const {
    out.config("experts", experts, "num_local_experts");
    out.config("top_k", topK, "num_experts_per_tok");
  }
  static std::string tdsl() {
    return "      x = x + moe(h, experts = experts, top_k = top_k, ffn = ffn, norm_topk_prob = "
           "true,\n"
           "                  w123 = true) @ \"block_sparse_moe\"\n";
  }
};

MixtralExperts readMixtralExperts(ConfigReader &c, StringRef act) {
  MixtralExperts e;
  e.experts = c.size("num_local_experts", 8);
  e.topK = c.size("num_experts_per_tok", 2);
  if (!c.failed() && e.topK > e.experts)
    c.fail("'num_experts_per_tok' (" + llvm::Twine(e.topK) + ") must be at most " +
           "'num_local_experts' (" + llvm::Twine(e.experts) + ")");
  // The experts are SwiGLU (the moe builtin's); router_jitter_noise only
  // applies in training, router_aux_loss_coef and output_router_logits only to
  // the loss.
  if (!c.failed() && act != "silu")
    c.fail("'hidden_act' must be silu or swish for Mixtral's experts (tfc's moe is SwiGLU)");
  return e;
}

//===----------------------------------------------------------------------===//
// Llama, Mistral, Qwen2: pre-norm RMS, rotary GQA attention, gated MLP
//===----------------------------------------------------------------------===//

/// Which layers slide a window: those from `from` on, through `window`
/// positions (0: none).
struct WindowLayers {
  int64_t window = 0;
  int64_t from = 0;
};

/// Mistral: all layers when `sliding_window` is set. Qwen2 (configuration_qwen2.py):
/// `sliding_window` only with `use_sliding_window`, on the layers from
/// `max_window_layers` on, or on those `layer_types` (transformers >= 4.53)
/// marks "sliding_attention"; these must follow the full ones (one split of the
/// layer loop, tdsl's window_from).
WindowLayers readWindow(ImportContext &ctx, int64_t layers) {
  ConfigReader &c = ctx.c;
  WindowLayers w;
  if (ctx.architecture != "Qwen2ForCausalLM") {
    w.window = c.has("sliding_window") ? c.size("sliding_window") : 0;
    return w;
  }
  if (c.flag("use_sliding_window", false)) {
    w.window = c.size("sliding_window", 4096);
    w.from = c.size("max_window_layers", 28, /*allowZero=*/true);
  }
  if (const json::Value *types = c.get("layer_types")) {
    const json::Array *array = types->getAsArray();
    if (!array || array->size() != static_cast<size_t>(layers)) {
      c.fail("'layer_types' must be a list of " + llvm::Twine(layers) + " strings, got " +
             quote(*types));
      return {};
    }
    int64_t full = 0, sliding = 0;
    for (const json::Value &t : *array) {
      std::optional<StringRef> s = t.getAsString();
      if (!s || (*s != "full_attention" && *s != "sliding_attention")) {
        c.fail("'layer_types' has " + quote(t) +
               ", not \"full_attention\" or \"sliding_attention\"");
        return {};
      }
      if (*s == "full_attention" && sliding) {
        c.fail("'layer_types' has full attention after sliding attention, which is not "
               "supported (the sliding layers must follow the full ones)");
        return {};
      }
      ++(*s == "full_attention" ? full : sliding);
    }
    w.from = full;
  }
  if (w.from >= layers)
    w.window = 0;
  if (!w.window)
    w.from = 0;
  return w;
}

void importLlamaFamily(ImportContext &ctx) {
  ConfigReader &c = ctx.c;
  TdslWriter &out = ctx.out;
  const StringRef arch = ctx.architecture;
  bool qwen2 = arch == "Qwen2ForCausalLM", mixtral = arch == "MixtralForCausalLM";
  // Mixtral is Mistral with a mixture of experts in place of the MLP.
  bool mistral = arch == "MistralForCausalLM" || mixtral;

  // The sizes are required: save_pretrained always writes them, and a config
  // without them would silently become configuration_*.py's 7B default, which
  // no small checkpoint matches. The rest takes those defaults.
  int64_t vocab = c.size("vocab_size");
  int64_t dim = c.size("hidden_size");
  int64_t ffn = c.size("intermediate_size");
  int64_t layers = c.layers("num_hidden_layers");
  int64_t heads = c.size("num_attention_heads");
  c.checkMatrix(vocab, "vocab_size", dim, "hidden_size");
  c.checkMatrix(ffn, "intermediate_size", dim, "hidden_size");
  int64_t kvHeads = c.size("num_key_value_heads", mistral ? 8 : heads);
  int64_t maxSeq = c.size("max_position_embeddings",
                          mistral ? 4096 * 32 : qwen2 ? 32768 : 2048);
  double eps = c.number("rms_norm_eps", mixtral ? 1e-5 : 1e-6);
  std::string act = readActivation(c, "hidden_act", "silu");
  std::optional<MixtralExperts> experts;
  if (mixtral)
    experts = readMixtralExperts(c, act);
  bool tied = c.flag("tie_word_embeddings", false);
  // Llama's switches; Mistral has no biases, Qwen2 q/k/v biases only.
  bool attentionBias = !mistral && !qwen2 && c.flag("attention_bias", false);
  bool mlpBias = !mistral && !qwen2 && c.flag("mlp_bias", false);
  if (mistral || qwen2) {
    c.unsupported("attention_bias", "not an option of " + arch.str());
    c.unsupported("mlp_bias", "not an option of " + arch.str());
  }
  c.unsupported("quantization_config", "quantized checkpoints");
  RopeConfig rope = readRope(c, mixtral ? 1e6 : 10000.0);
  WindowLayers windowLayers = readWindow(ctx, layers);
  int64_t window = windowLayers.window;
  if (c.failed())
    return;

  bool headDimGiven = c.has("head_dim");
  if (!headDimGiven)
    c.checkDivides(dim, "hidden_size", heads, "num_attention_heads", " and there is no 'head_dim'");
  if (c.failed())
    return;
  int64_t headDim = headDimGiven ? c.size("head_dim") : dim / heads;
  if (heads * headDim > kMaxImportSize)
    c.fail("'num_attention_heads' x the head dimension = " + llvm::Twine(heads * headDim) +
           ", more than tfc's limit of " + llvm::Twine(kMaxImportSize));
  c.checkMatrix(heads * headDim, "num_attention_heads", dim, "hidden_size");
  c.checkDivides(heads, "num_attention_heads", kvHeads, "num_key_value_heads");
  if (!c.failed() && headDim % 2 != 0)
    c.fail("the head dimension (" + llvm::Twine(headDim) + ") must be even for rotary embeddings");
  ctx.requireTensor("model.embed_tokens.weight", "the token embedding");
  if (!tied)
    ctx.requireTensor("lm_head.weight", "'tie_word_embeddings' is false");
  if (c.failed())
    return;

  out.config("vocab", vocab, "vocab_size");
  out.config("dim", dim, "hidden_size");
  out.config("layers", layers, "num_hidden_layers");
  out.config("heads", heads, "num_attention_heads");
  out.config("kv_heads", kvHeads,
             c.has("num_key_value_heads") ? "num_key_value_heads"
             : mistral                    ? "num_key_value_heads (MistralConfig's default)"
                                          : "num_attention_heads");
  out.config("head_dim", headDim, headDimGiven ? "head_dim" : "hidden_size / num_attention_heads");
  out.config("ffn", ffn, "intermediate_size");
  out.config("max_seq", maxSeq, "max_position_embeddings");
  out.config("eps", decimal(eps), "rms_norm_eps");
  if (window)
    out.config("window", window, "sliding_window");
  if (windowLayers.from)
    out.config("full_layers", windowLayers.from,
               c.has("layer_types") ? "layer_types: the leading full_attention"
                                    : "max_window_layers");
  if (experts)
    experts->writeConfig(out);

  std::string attnArgs = "heads = heads, kv_heads = kv_heads, head_dim = head_dim, causal = true";
  if (qwen2)
    attnArgs += ", bias = true, out_bias = false";
  else if (attentionBias)
    attnArgs += ", bias = true";
  if (window)
    attnArgs += ", window = window";
  if (windowLayers.from)
    attnArgs += ", window_from = full_layers";
  std::string mlpArgs = mlpBias ? ", bias = true" : "";

  out.body("  decoder(tokens) {\n"
           "    x = embedding(tokens, vocab, dim) @ \"model.embed_tokens\"\n"
           "    for i in 0 .. layers @ \"model.layers.{i}\" {\n"
           "      h = rms_norm(x, eps) @ \"input_layernorm\"\n"
           "      x = x + attention(h, " + attnArgs + ",\n"
           "                        rope = " + rope.tdsl() + ") @ \"self_attn\"\n"
           "      h = rms_norm(x, eps) @ \"post_attention_layernorm\"\n" +
           (experts ? MixtralExperts::tdsl()
                    : "      g = " + act + "(linear(h, ffn" + mlpArgs +
                          ") @ \"mlp.gate_proj\") * linear(h, ffn" + mlpArgs +
                          ") @ \"mlp.up_proj\"\n"
                          "      x = x + linear(g, dim" + mlpArgs + ") @ \"mlp.down_proj\"\n") +
           "    }\n"
           "    x = rms_norm(x, eps) @ \"model.norm\"\n");
  out.body(outputHead(tied, "model.embed_tokens.weight") + "  }\n");
}

//===----------------------------------------------------------------------===//
// GPT-2: learned positions, pre-LN, fused Conv1D attention, tied head
//===----------------------------------------------------------------------===//

void importGPT2(ImportContext &ctx) {
  ConfigReader &c = ctx.c;
  TdslWriter &out = ctx.out;
  int64_t vocab = c.size("vocab_size");
  int64_t dim = c.size("n_embd");
  int64_t layers = c.layers("n_layer");
  int64_t heads = c.size("n_head");
  int64_t maxSeq = c.size("n_positions", 1024);
  bool ffnGiven = c.has("n_inner");
  int64_t ffn = ffnGiven ? c.size("n_inner") : 4 * dim;
  if (!c.failed() && std::max(3 * dim, ffn) > kMaxImportSize)
    c.fail("'n_embd' (" + llvm::Twine(dim) + ") makes c_attn (3 * n_embd) or the MLP (" +
           llvm::Twine(ffn) + ") wider than tfc's limit of " + llvm::Twine(kMaxImportSize));
  c.checkMatrix(vocab, "vocab_size", dim, "n_embd");
  c.checkMatrix(ffn, ffnGiven ? "n_inner" : "4 * n_embd", 3 * dim, "n_embd");
  c.checkMatrix(maxSeq, "n_positions", dim, "n_embd");
  double eps = c.number("layer_norm_epsilon", 1e-5);
  std::string act = readActivation(c, "activation_function", "gelu_new");
  bool tied = c.flag("tie_word_embeddings", true);
  if (!c.flag("scale_attn_weights", true))
    c.fail("'scale_attn_weights' = false is not supported (unscaled attention scores)");
  if (c.flag("scale_attn_by_inverse_layer_idx", false))
    c.fail("'scale_attn_by_inverse_layer_idx' = true is not supported (scores scaled per layer)");
  if (c.flag("add_cross_attention", false))
    c.fail("'add_cross_attention' = true is not supported (GPT-2 with cross-attention)");
  c.unsupported("quantization_config", "quantized checkpoints");
  c.checkDivides(dim, "n_embd", heads, "n_head");
  if (c.failed())
    return;
  // save_pretrained writes GPT2LMHeadModel's names (transformer.wte, ...); the
  // original hub files have GPT2Model's, without the prefix.
  std::string prefix = "transformer.";
  if (ctx.hasTensor("wte.weight") && !ctx.hasTensor("transformer.wte.weight"))
    prefix = "";
  ctx.requireTensor(prefix + "wte.weight", "the token embedding");
  if (!tied)
    ctx.requireTensor("lm_head.weight", "'tie_word_embeddings' is false");
  if (c.failed())
    return;

  out.config("vocab", vocab, "vocab_size");
  out.config("dim", dim, "n_embd");
  out.config("layers", layers, "n_layer");
  out.config("heads", heads, "n_head");
  out.config("ffn", ffn, ffnGiven ? "n_inner" : "4 * n_embd (n_inner is null)");
  out.config("max_seq", maxSeq, "n_positions");
  out.config("eps", decimal(eps), "layer_norm_epsilon");
  std::string p = prefix;
  out.body("  decoder(tokens) {\n"
           "    x = embedding(tokens, vocab, dim) @ \"" + p +
           "wte\" + position_embedding(max_seq, dim) @ \"" + p + "wpe\"\n"
           "    for i in 0 .. layers @ \"" + p + "h.{i}\" {\n"
           "      h = layer_norm(x, eps) @ \"ln_1\"\n"
           "      # c_attn is a Conv1D [dim, 3 * dim]: queries, keys and values side by side.\n"
           "      qkv = conv1d(h, 3 * dim) @ \"attn.c_attn\"\n"
           "      a = attend(slice(qkv, 0, dim), slice(qkv, dim, dim), slice(qkv, 2 * dim, dim),\n"
           "                 heads = heads, causal = true)\n"
           "      x = x + conv1d(a, dim) @ \"attn.c_proj\"\n"
           "      h = layer_norm(x, eps) @ \"ln_2\"\n"
           "      x = x + conv1d(" + act + "(conv1d(h, ffn) @ \"mlp.c_fc\"), dim) @ \"mlp.c_proj\"\n"
           "    }\n"
           "    x = layer_norm(x, eps) @ \"" + p + "ln_f\"\n");
  out.body(outputHead(tied, p + "wte.weight") + "  }\n");
}

//===----------------------------------------------------------------------===//
// BERT: post-LN encoder, token type 0, last_hidden_state
//===----------------------------------------------------------------------===//

void importBert(ImportContext &ctx) {
  ConfigReader &c = ctx.c;
  TdslWriter &out = ctx.out;
  int64_t vocab = c.size("vocab_size");
  int64_t dim = c.size("hidden_size");
  int64_t layers = c.layers("num_hidden_layers");
  int64_t heads = c.size("num_attention_heads");
  int64_t ffn = c.size("intermediate_size");
  int64_t maxSeq = c.size("max_position_embeddings", 512);
  int64_t types = c.size("type_vocab_size", 2);
  c.checkMatrix(vocab, "vocab_size", dim, "hidden_size");
  c.checkMatrix(ffn, "intermediate_size", dim, "hidden_size");
  c.checkMatrix(maxSeq, "max_position_embeddings", dim, "hidden_size");
  c.checkMatrix(types, "type_vocab_size", dim, "hidden_size");
  double eps = c.number("layer_norm_eps", 1e-12);
  std::string act = readActivation(c, "hidden_act", "gelu");
  std::string positions = c.string("position_embedding_type", "absolute");
  if (!c.failed() && positions != "absolute")
    c.fail("'position_embedding_type' = \"" + positions +
           "\" is not supported (absolute: learned positions)");
  if (c.flag("is_decoder", false))
    c.fail("'is_decoder' = true is not supported (BERT as a causal decoder)");
  if (c.flag("add_cross_attention", false))
    c.fail("'add_cross_attention' = true is not supported (BERT with cross-attention)");
  c.unsupported("quantization_config", "quantized checkpoints");
  c.checkDivides(dim, "hidden_size", heads, "num_attention_heads");
  if (c.failed())
    return;
  // BertForMaskedLM keeps the encoder under "bert."; old hub files name the
  // layer norms' weights gamma and beta.
  std::string p = ctx.architecture == "BertForMaskedLM" ? "bert." : "";
  bool gammaBeta = ctx.hasTensor(p + "embeddings.LayerNorm.gamma") &&
                   !ctx.hasTensor(p + "embeddings.LayerNorm.weight");
  ctx.requireTensor(p + "embeddings.word_embeddings.weight", "the token embedding");
  if (c.failed())
    return;

  out.config("vocab", vocab, "vocab_size");
  out.config("dim", dim, "hidden_size");
  out.config("layers", layers, "num_hidden_layers");
  out.config("heads", heads, "num_attention_heads");
  out.config("ffn", ffn, "intermediate_size");
  out.config("max_seq", maxSeq, "max_position_embeddings");
  out.config("types", types, "type_vocab_size");
  out.config("eps", decimal(eps), "layer_norm_eps");
  std::string ln = gammaBeta ? "eps, gamma_beta = true" : "eps";
  out.body("  # last_hidden_state, every token of type 0 (no token_type_ids through the C ABI).\n"
           "  encoder(tokens) {\n"
           "    x = embedding(tokens, vocab, dim) @ \"" + p + "embeddings.word_embeddings\"\n"
           "        + position_embedding(max_seq, dim) @ \"" + p + "embeddings.position_embeddings\"\n"
           "        + row_embedding(types, dim) @ \"" + p + "embeddings.token_type_embeddings\"\n"
           "    x = layer_norm(x, " + ln + ") @ \"" + p + "embeddings.LayerNorm\"\n"
           "    for i in 0 .. layers @ \"" + p + "encoder.layer.{i}\" {\n"
           "      q = linear(x, dim, bias = true) @ \"attention.self.query\"\n"
           "      k = linear(x, dim, bias = true) @ \"attention.self.key\"\n"
           "      v = linear(x, dim, bias = true) @ \"attention.self.value\"\n"
           "      a = linear(attend(q, k, v, heads = heads), dim, bias = true) @ \"attention.output.dense\"\n"
           "      x = layer_norm(x + a, " + ln + ") @ \"attention.output.LayerNorm\"\n"
           "      h = " + act + "(linear(x, ffn, bias = true) @ \"intermediate.dense\")\n"
           "      x = layer_norm(x + linear(h, dim, bias = true) @ \"output.dense\", " + ln +
           ") @ \"output.LayerNorm\"\n"
           "    }\n"
           "    return x\n"
           "  }\n");
}

//===----------------------------------------------------------------------===//
// Marian: the original Transformer as Opus-MT ships it
//===----------------------------------------------------------------------===//

/// One Marian attention block (MarianAttention: q/k/v/out_proj with biases,
/// q scaled by head_dim^-0.5), its residual and post-LN layer norm.
std::string marianAttention(StringRef scope, StringRef keysFrom, StringRef heads, bool causal) {
  std::string s = scope.str();
  return "      q = linear(x, dim, bias = true) @ \"" + s + ".q_proj\"\n"
         "      k = linear(" + keysFrom.str() + ", dim, bias = true) @ \"" + s + ".k_proj\"\n"
         "      v = linear(" + keysFrom.str() + ", dim, bias = true) @ \"" + s + ".v_proj\"\n"
         "      a = attend(q, k, v, heads = " + heads.str() + (causal ? ", causal = true" : "") +
         ")\n"
         "      x = layer_norm(x + linear(a, dim, bias = true) @ \"" + s + ".out_proj\", eps) @ \"" +
         s + "_layer_norm\"\n";
}

/// fc2(act(fc1(x))), the residual and final_layer_norm.
std::string marianFeedForward(StringRef act, StringRef ffn) {
  return "      h = " + act.str() + "(linear(x, " + ffn.str() + ", bias = true) @ \"fc1\")\n"
         "      x = layer_norm(x + linear(h, dim, bias = true) @ \"fc2\", eps) @ "
         "\"final_layer_norm\"\n";
}

void importMarian(ImportContext &ctx) {
  ConfigReader &c = ctx.c;
  TdslWriter &out = ctx.out;
  int64_t vocab = c.size("vocab_size");
  int64_t dim = c.size("d_model");
  int64_t encLayers = c.layers("encoder_layers");
  int64_t decLayers = c.layers("decoder_layers");
  int64_t encHeads = c.size("encoder_attention_heads");
  int64_t decHeads = c.size("decoder_attention_heads");
  int64_t encFfn = c.size("encoder_ffn_dim");
  int64_t decFfn = c.size("decoder_ffn_dim");
  int64_t maxSeq = c.size("max_position_embeddings", 1024);
  c.checkMatrix(vocab, "vocab_size", dim, "d_model");
  c.checkMatrix(encFfn, "encoder_ffn_dim", dim, "d_model");
  c.checkMatrix(decFfn, "decoder_ffn_dim", dim, "d_model");
  std::string act = readActivation(c, "activation_function", "gelu");
  bool scale = c.flag("scale_embedding", false);
  bool tied = c.flag("tie_word_embeddings", true);
  if (c.has("decoder_vocab_size") && c.size("decoder_vocab_size") != vocab)
    c.fail("'decoder_vocab_size' differs from 'vocab_size' (separate decoder embeddings are "
           "not supported)");
  if (!c.flag("share_encoder_decoder_embeddings", true))
    c.fail("'share_encoder_decoder_embeddings' = false is not supported (separate encoder and "
           "decoder embeddings)");
  if (!c.flag("is_encoder_decoder", true))
    c.fail("'is_encoder_decoder' = false is not supported (MarianMTModel is an "
           "encoder-decoder)");
  c.unsupported("quantization_config", "quantized checkpoints");
  c.checkDivides(dim, "d_model", encHeads, "encoder_attention_heads");
  c.checkDivides(dim, "d_model", decHeads, "decoder_attention_heads");
  if (!c.failed() && dim % 2 != 0)
    c.fail("'d_model' (" + llvm::Twine(dim) + ") must be even for sinusoidal positions");
  ctx.requireTensor("model.shared.weight", "the shared token embedding");
  ctx.requireTensor("final_logits_bias", "the output bias");
  if (!tied)
    ctx.requireTensor("lm_head.weight", "'tie_word_embeddings' is false");
  if (c.failed())
    return;

  out.config("vocab", vocab, "vocab_size");
  out.config("dim", dim, "d_model");
  out.config("enc_layers", encLayers, "encoder_layers");
  out.config("dec_layers", decLayers, "decoder_layers");
  out.config("enc_heads", encHeads, "encoder_attention_heads");
  out.config("dec_heads", decHeads, "decoder_attention_heads");
  out.config("enc_ffn", encFfn, "encoder_ffn_dim");
  out.config("dec_ffn", decFfn, "decoder_ffn_dim");
  out.config("max_seq", maxSeq, "max_position_embeddings");
  out.config("eps", "1e-05", "nn.LayerNorm's default (Marian's layer norms)");
  out.config("emb_scale", scale ? "sqrt(dim)" : "1.0", "scale_embedding");
  std::string embed = "embedding(tokens, vocab, dim";
  out.body("  encoder(tokens) {\n"
           "    x = " + embed + ") @ \"model.shared\" * emb_scale + sinusoidal(dim, style = \"half\")\n"
           "    for i in 0 .. enc_layers @ \"model.encoder.layers.{i}\" {\n" +
           marianAttention("self_attn", "x", "enc_heads", false) +
           marianFeedForward(act, "enc_ffn") +
           "    }\n"
           "    return x\n"
           "  }\n\n"
           "  decoder(tokens, memory) {\n"
           "    x = " + embed + ", tied = \"model.shared.weight\") * emb_scale\n"
           "        + sinusoidal(dim, style = \"half\")\n"
           "    for i in 0 .. dec_layers @ \"model.decoder.layers.{i}\" {\n" +
           marianAttention("self_attn", "x", "dec_heads", true) +
           marianAttention("encoder_attn", "memory", "dec_heads", false) +
           marianFeedForward(act, "dec_ffn") +
           "    }\n" +
           (tied ? "    x = linear(x, vocab, tied = \"model.shared.weight\")\n"
                 : "    x = linear(x, vocab) @ \"lm_head\"\n") +
           "    return output_bias(x) @ \"final_logits_bias\"\n"
           "  }\n");
}

//===----------------------------------------------------------------------===//
// DeepSeek-V2: multi-head latent attention, mixtures of experts
//===----------------------------------------------------------------------===//

/// DeepseekV2MoE's routing fields (configuration_deepseek.py), as moe(...)'s
/// arguments: MoEGate normalizes the top-k weights when top_k > 1 and
/// norm_topk_prob, and otherwise multiplies them by routed_scaling_factor.
/// DeepSeek-V3's routing fields (scoring_func sigmoid, topk_method noaux_tc,
/// and the gate's e_score_correction_bias) are read too: its MoEGate
/// normalizes, then always scales.
///
/// A DeepseekV3ForCausalLM config routes with noaux_tc and sigmoid scores when
/// it does not say (transformers' own DeepseekV3Config has neither field; the
/// hub's config.json spells both), and with nothing else: the checkpoint's
/// modeling_deepseek.py raises NotImplementedError for any other topk_method.
std::string deepseekMoEArguments(ConfigReader &c, int64_t experts, int64_t topK, bool v3Arch) {
  std::string method = v3Arch ? c.string("topk_method", "noaux_tc") : c.string("topk_method");
  if (!c.failed() && v3Arch && method != "noaux_tc")
    c.fail("'topk_method' = \"" + method +
           "\" is not supported for DeepseekV3ForCausalLM (its MoEGate implements noaux_tc only)");
  std::string args = "experts, top_k, moe_ffn";
  if (method == "group_limited_greedy" || method == "noaux_tc") {
    // Both route within the best 'topk_group' of 'n_group' groups; DeepSeek-V3's
    // noaux_tc (its modeling_deepseek.py implements only that, with sigmoid
    // scores) scores a group by its best two choices, so it needs two per group.
    bool v3 = method == "noaux_tc";
    int64_t groups = c.size("n_group"), topGroups = c.size("topk_group");
    if (!c.failed() && v3 && (experts % groups != 0 || experts / groups < 2))
      c.fail("'n_routed_experts' (" + llvm::Twine(experts) + ") must be a multiple of 'n_group' (" +
             llvm::Twine(groups) + ") with at least 2 experts per group for noaux_tc");
    if (!c.failed() && experts % groups != 0)
      c.fail("'n_routed_experts' (" + llvm::Twine(experts) + ") is not a multiple of 'n_group' (" +
             llvm::Twine(groups) + ")");
    if (!c.failed() && topGroups > groups)
      c.fail("'topk_group' (" + llvm::Twine(topGroups) + ") must be at most 'n_group' (" +
             llvm::Twine(groups) + ")");
    if (!c.failed() && topK > topGroups * (experts / groups))
      c.fail("'num_experts_per_tok' (" + llvm::Twine(topK) + ") exceeds the experts of the " +
             "'topk_group' groups (" + llvm::Twine(topGroups * (experts / groups)) + ")");
    args += ", topk_method = \"" + method + "\", n_group = " + std::to_string(groups) +
            ", topk_group = " + std::to_string(topGroups);
  } else if (method != "greedy" && !c.failed()) {
    c.fail("'topk_method' = \"" + method +
           "\" is not supported (greedy, group_limited_greedy, noaux_tc)");
  }
  bool v3 = method == "noaux_tc";
  std::string scoring = c.string("scoring_func", v3Arch ? "sigmoid" : "softmax");
  if (!c.failed() && scoring != (v3 ? "sigmoid" : "softmax"))
    c.fail("'scoring_func' = \"" + scoring + "\" is not supported with 'topk_method' = \"" +
           method + "\" (" + (v3 ? "sigmoid" : "softmax") +
           ": DeepSeek-V2 routes softmax scores, DeepSeek-V3 sigmoid ones with noaux_tc)");
  if (v3)
    args += ", scoring_func = \"sigmoid\"";
  bool norm = c.flag("norm_topk_prob", false) && topK > 1;
  double scale = c.number("routed_scaling_factor", 1.0);
  // DeepSeek-V2's MoEGate scales only weights it did not normalize; V3's
  // scales them all.
  if (norm)
    args += ", norm_topk_prob = true";
  if ((!norm || v3) && scale != 1.0)
    args += ", routed_scaling_factor = " + decimal(scale);
  if (c.has("n_shared_experts"))
    args += ", shared_experts = shared";
  return args;
}

/// DeepSeek-V2 and V3 (`v3Arch`): V3 is V2's layout (MLA with q_lora_rank,
/// YaRN, a dense first few layers, shared experts) with the noaux_tc router.
/// Its checkpoints also hold num_nextn_predict_layers multi-token-prediction
/// layers after the last one (model.layers.{num_hidden_layers}...), which
/// transformers skips on load and which a next-token forward does not use:
/// they are not part of the model.
void importDeepseek(ImportContext &ctx, bool v3Arch) {
  ConfigReader &c = ctx.c;
  TdslWriter &out = ctx.out;
  int64_t vocab = c.size("vocab_size");
  int64_t dim = c.size("hidden_size");
  int64_t ffn = c.size("intermediate_size");
  int64_t layers = c.layers("num_hidden_layers");
  int64_t heads = c.size("num_attention_heads");
  int64_t kvRank = c.size("kv_lora_rank", 512);
  int64_t qRank = c.has("q_lora_rank") ? c.size("q_lora_rank") : 0;
  int64_t ropeDim = c.size("qk_rope_head_dim", 64);
  int64_t nopeDim = c.size("qk_nope_head_dim", 128);
  int64_t vDim = c.size("v_head_dim", 128);
  int64_t maxSeq = c.size("max_position_embeddings", 2048);
  double eps = c.number("rms_norm_eps", 1e-6);
  bool tied = c.flag("tie_word_embeddings", false);
  std::string act = readActivation(c, "hidden_act", "silu");
  if (!c.failed() && act != "silu")
    c.fail("'hidden_act' must be silu or swish (tfc's DeepSeek-V2 MLPs and experts are SwiGLU)");
  if (c.flag("attention_bias", false))
    c.fail("'attention_bias' = true is not supported (DeepSeek-V2's projections have no bias)");
  c.unsupported("quantization_config", "quantized checkpoints");
  c.checkMatrix(vocab, "vocab_size", dim, "hidden_size");
  c.checkMatrix(ffn, "intermediate_size", dim, "hidden_size");
  if (!c.failed() && ropeDim % 2 != 0)
    c.fail("'qk_rope_head_dim' (" + llvm::Twine(ropeDim) + ") must be even for rotary embeddings");
  RopeConfig rope = readRope(c, 10000.0, /*allowYarn=*/true);
  rope.style = "interleaved";
  if (!c.failed() && rope.scaling != "none" && rope.scaling != "yarn")
    c.fail("'rope_scaling' of type \"" + rope.scaling +
           "\" is not supported with latent attention (yarn)");

  // Which layers have a mixture of experts (DeepseekV2DecoderLayer):
  // n_routed_experts set, layer >= first_k_dense_replace, layer % moe_layer_freq == 0.
  bool hasExperts = c.has("n_routed_experts");
  int64_t experts = 0, topK = 0, moeFfn = 0, shared = 0, firstMoE = 0, freq = 1;
  std::string moeArgs;
  if (hasExperts) {
    experts = c.size("n_routed_experts");
    topK = c.size("num_experts_per_tok");
    moeFfn = c.size("moe_intermediate_size");
    shared = c.has("n_shared_experts") ? c.size("n_shared_experts") : 0;
    firstMoE = c.size("first_k_dense_replace", 0, /*allowZero=*/true);
    freq = c.size("moe_layer_freq", 1);
    c.checkMatrix(moeFfn, "moe_intermediate_size", dim, "hidden_size");
    if (!c.failed() && topK > experts)
      c.fail("'num_experts_per_tok' (" + llvm::Twine(topK) + ") must be at most " +
             "'n_routed_experts' (" + llvm::Twine(experts) + ")");
    if (!c.failed())
      moeArgs = deepseekMoEArguments(c, experts, topK, v3Arch);
  }
  ctx.requireTensor("model.embed_tokens.weight", "the token embedding");
  if (!tied)
    ctx.requireTensor("lm_head.weight", "'tie_word_embeddings' is false");
  if (c.failed())
    return;
  auto isMoE = [&](int64_t layer) {
    return hasExperts && layer >= firstMoE && layer % freq == 0;
  };

  out.config("vocab", vocab, "vocab_size");
  out.config("dim", dim, "hidden_size");
  out.config("layers", layers, "num_hidden_layers");
  out.config("heads", heads, "num_attention_heads");
  out.config("kv_rank", kvRank, "kv_lora_rank");
  out.config("q_rank", qRank, qRank ? "q_lora_rank" : "q_lora_rank (null: a plain q_proj)");
  out.config("rope_dim", ropeDim, "qk_rope_head_dim");
  out.config("nope_dim", nopeDim, "qk_nope_head_dim");
  out.config("v_dim", vDim, "v_head_dim");
  out.config("ffn", ffn, "intermediate_size");
  if (hasExperts) {
    out.config("moe_ffn", moeFfn, "moe_intermediate_size");
    out.config("experts", experts, "n_routed_experts");
    out.config("top_k", topK, "num_experts_per_tok");
    if (shared)
      out.config("shared", shared, "n_shared_experts");
  }
  out.config("max_seq", maxSeq, "max_position_embeddings");
  out.config("eps", decimal(eps), "rms_norm_eps");

  // The attention of the checkpoint's modeling_deepseek.py: rope on the
  // (2j, 2j+1) pairs of q_pe and k_pe (apply_rotary_pos_emb's view/transpose
  // before rotate_half), q_a/kv_a norms of eps 1e-6 (attn.latent_attention's).
  std::string layerHead =
      "      h = rms_norm(x, eps) @ \"input_layernorm\"\n"
      "      x = x + attention(h, heads = heads, causal = true,\n"
      "                        rope = " + rope.tdsl() + ",\n"
      "                        latent = mla(kv_rank, rope_dim, nope_dim, v_dim, q_rank = q_rank))"
      " @ \"self_attn\"\n"
      "      h = rms_norm(x, eps) @ \"post_attention_layernorm\"\n";
  std::string dense = "      g = silu(linear(h, ffn) @ \"mlp.gate_proj\") * linear(h, ffn) @ "
                      "\"mlp.up_proj\"\n"
                      "      x = x + linear(g, dim) @ \"mlp.down_proj\"\n";
  std::string moe = "      x = x + moe(h, " + moeArgs + ") @ \"mlp\"\n";
  out.body("  decoder(tokens) {\n"
           "    x = embedding(tokens, vocab, dim) @ \"model.embed_tokens\"\n");
  // One loop per run of layers of the same kind (a loop body is one kind).
  for (int64_t first = 0; first < layers;) {
    int64_t last = first;
    while (last + 1 < layers && isMoE(last + 1) == isMoE(first))
      ++last;
    std::string end = last + 1 == layers ? "layers" : std::to_string(last + 1);
    out.body("    for i in " + std::to_string(first) + " .. " + end +
             " @ \"model.layers.{i}\" {   # " + (isMoE(first) ? "mixture of experts" : "dense MLP") +
             "\n" + layerHead + (isMoE(first) ? moe : dense) + "    }\n");
    first = last + 1;
  }
  out.body("    x = rms_norm(x, eps) @ \"model.norm\"\n");
  out.body(outputHead(tied, "model.embed_tokens.weight") + "  }\n");
}

void importDeepseekV2(ImportContext &ctx) { importDeepseek(ctx, /*v3Arch=*/false); }
void importDeepseekV3(ImportContext &ctx) { importDeepseek(ctx, /*v3Arch=*/true); }

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

struct Architecture {
  const char *name;       // `architectures[0]`
  const char *modelType;  // its `model_type`
  void (*import)(ImportContext &);
};

const Architecture kArchitectures[] = {
    {"LlamaForCausalLM", "llama", importLlamaFamily},
    {"MistralForCausalLM", "mistral", importLlamaFamily},
    {"Qwen2ForCausalLM", "qwen2", importLlamaFamily},
    {"MixtralForCausalLM", "mixtral", importLlamaFamily},
    {"DeepseekV2ForCausalLM", "deepseek_v2", importDeepseekV2},
    {"DeepseekV3ForCausalLM", "deepseek_v3", importDeepseekV3},
    {"GPT2LMHeadModel", "gpt2", importGPT2},
    {"BertModel", "bert", importBert},
    {"BertForMaskedLM", "bert", importBert},
    {"MarianMTModel", "marian", importMarian},
};

std::string architectureList() {
  std::string list;
  for (const Architecture &a : kArchitectures)
    list += (list.empty() ? "" : ", ") + std::string(a.name);
  return list;
}

} // namespace

ImportResult importHuggingFaceConfig(StringRef configJson, StringRef model, StringRef source,
                                     const llvm::StringSet<> *tensorNames) {
  ImportResult result;
  llvm::Expected<json::Value> parsed = json::parse(configJson);
  if (!parsed) {
    result.error = "config.json: not valid JSON: " + llvm::toString(parsed.takeError());
    return result;
  }
  const json::Object *root = parsed->getAsObject();
  if (!root) {
    result.error = "config.json: the top level must be an object, got " + quote(*parsed);
    return result;
  }
  ConfigReader c(*root, "", result.error);

  // `architectures` names the head; `model_type` alone (a base model's
  // config) is not enough to know what the checkpoint computes.
  const json::Value *archs = c.get("architectures");
  std::string arch;
  if (!archs) {
    c.fail("missing 'architectures' (one of " + architectureList() + ")");
    return result;
  }
  const json::Array *list = archs->getAsArray();
  if (!list || list->size() != 1 || !(*list)[0].getAsString()) {
    c.fail("'architectures' must be a list of one string, got " + quote(*archs));
    return result;
  }
  arch = (*list)[0].getAsString()->str();
  const Architecture *found = llvm::find_if(
      kArchitectures, [&](const Architecture &a) { return arch == a.name; });
  if (found == std::end(kArchitectures)) {
    c.fail("'architectures' = \"" + arch + "\" is not supported (" + architectureList() + ")");
    return result;
  }
  std::string modelType = c.string("model_type", found->modelType);
  if (!c.failed() && modelType != found->modelType)
    c.fail("'model_type' = \"" + modelType + "\" does not match 'architectures' " + arch +
           " (model_type \"" + found->modelType + "\")");
  if (c.failed())
    return result;

  TdslWriter out;
  out.comment("Imported by `tfc import` from " + source.str() + ":");
  std::string version = c.string("transformers_version", "");
  out.comment("Hugging Face " + arch + " (model_type \"" + modelType + "\"" +
              (version.empty() ? "" : ", written by transformers " + version) + ").");
  out.comment("Weight names are the checkpoint's tensor names; each config entry names its field.");
  ImportContext ctx{c, tensorNames, out, arch};
  found->import(ctx);
  if (c.failed())
    return result;
  result.tdsl = out.finish(modelIdentifier(model));
  return result;
}

std::optional<llvm::StringSet<>> readCheckpointTensorNames(StringRef path, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (std::error_code ec = buffer.getError()) {
    error = "cannot read '" + path.str() + "': " + ec.message();
    return std::nullopt;
  }
  StringRef bytes = (*buffer)->getBuffer();
  StringRef header = bytes;
  bool index = path.ends_with(".json");
  if (!index) {
    // safetensors: an 8-byte little-endian header length, then the JSON header.
    if (bytes.size() < 8) {
      error = path.str() + ": too short for a safetensors header (" +
              std::to_string(bytes.size()) + " bytes)";
      return std::nullopt;
    }
    uint64_t length = llvm::support::endian::read64le(bytes.data());
    if (length > bytes.size() - 8) {
      error = path.str() + ": the header length " + std::to_string(length) +
              " at byte offset 0 runs past the end of the file (" +
              std::to_string(bytes.size()) + " bytes)";
      return std::nullopt;
    }
    header = bytes.substr(8, length);
  }
  llvm::Expected<json::Value> parsed = json::parse(header);
  if (!parsed) {
    error = path.str() + ": header is not valid JSON: " + llvm::toString(parsed.takeError());
    return std::nullopt;
  }
  const json::Object *object = parsed->getAsObject();
  if (object && index) {
    const json::Value *map = object->get("weight_map");
    object = map ? map->getAsObject() : nullptr;
    if (!object) {
      error = path.str() + ": no 'weight_map' object";
      return std::nullopt;
    }
  }
  if (!object) {
    error = path.str() + ": the header must be a JSON object";
    return std::nullopt;
  }
  llvm::StringSet<> names;
  for (const auto &entry : *object)
    if (entry.first != "__metadata__")
      names.insert(entry.first.str());
  return names;
}

ImportResult importHuggingFaceDir(StringRef dir) {
  ImportResult result;
  llvm::SmallString<256> config(dir);
  llvm::sys::path::append(config, "config.json");
  if (!llvm::sys::fs::exists(config)) {
    result.error = "'" + dir.str() + "' has no config.json: not a Hugging Face model directory";
    return result;
  }
  auto buffer = llvm::MemoryBuffer::getFile(config, /*IsText=*/true);
  if (std::error_code ec = buffer.getError()) {
    result.error = "cannot read '" + config.str().str() + "': " + ec.message();
    return result;
  }
  // The checkpoint's names, from whichever file save_pretrained wrote.
  std::optional<llvm::StringSet<>> names;
  for (StringRef file : {"model.safetensors", "model.safetensors.index.json"}) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, file);
    if (!llvm::sys::fs::exists(path))
      continue;
    names = readCheckpointTensorNames(path, result.error);
    if (!names)
      return result;
    break;
  }
  llvm::SmallString<256> absolute(dir);
  llvm::sys::fs::make_absolute(absolute);
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  StringRef model = llvm::sys::path::filename(absolute);
  return importHuggingFaceConfig((*buffer)->getBuffer(), model, config.str(),
                                 names ? &*names : nullptr);
}

} // namespace tfc
