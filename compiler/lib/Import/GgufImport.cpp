//===- GgufImport.cpp - tdsl from a GGUF file's metadata -------------------===//
//
// `tfc import model.gguf` and `tfc model.gguf -o model.so`. A GGUF file made by
// llama.cpp's convert_hf_to_gguf.py carries the hyperparameters as metadata
// (`{arch}.block_count`, `{arch}.attention.head_count`, ...) and the tensors
// under ggml's names (`token_embd`, `blk.{i}.attn_q`, ...). This importer
// writes the tdsl of the architectures it knows, with those names, so the
// compiled model loads the file itself (tfc_model_load reads GGUF).
//
// What the converter changed on the way is undone here, not in the weights:
//   * `llama`: convert_hf_to_gguf.py permutes the rows of attn_q / attn_k from
//     Hugging Face's half-split rotary layout to ggml's interleaved one
//     (LlamaModel.permute), so the model rotates adjacent pairs:
//     `rope(style = "interleaved")`. Mistral and Llama 3 files are `llama` too.
//   * `qwen2`: no permutation (ggml runs it with NEOX rotary): `style = "half"`.
//   * `gpt2`: the Conv1D weights were transposed into ordinary [out, in]
//     matrices, so they are plain `linear` layers.
// Every piece of metadata that changes the computation and is not supported
// (rotary scaling other than linear, partial rotary, per-frequency factors in
// `rope_freqs`, experts) is an error naming the key.
//
// The linear layers' weight type is the file's: `tfc model.gguf` compiles for
// the type most of them have when the code generator has kernels for it
// (ImportResult::weightType), so they are used in place from the mapping.
//
//===----------------------------------------------------------------------===//

#include "tfc/Import/GgufImport.h"

#include "TdslWriter.h"

#include "tfc/Gguf.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

using llvm::StringRef;

namespace tfc {

namespace {

/// Sizes beyond these are refused as in the Hugging Face import.
constexpr int64_t kMaxImportSize = int64_t(1) << 24;
constexpr int64_t kMaxImportLayers = 1024;

/// A string from the file as messages and comments quote it: control
/// characters as '?' (one line, never a line break into the tdsl), at most 60
/// bytes.
std::string printable(std::string_view text) {
  std::string s(text.substr(0, 60));
  for (char &c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = '?';
  return text.size() > 60 ? s + "..." : s;
}

/// The decimal a float32 was written from: the shortest that rounds to the
/// same float32 (1e-05, not 9.999999747378752e-06), as a double. A converter
/// stores config.json's 1e-05 as float32; tdsl and the reference mean 1e-05.
double shortestFloat32(double value) {
  float f = static_cast<float>(value);
  char buf[32];
  for (int precision = 1; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, static_cast<double>(f));
    if (std::strtof(buf, nullptr) == f)
      return std::strtod(buf, nullptr);
  }
  return value;
}

/// Typed access to the metadata of one architecture (`{arch}.` keys),
/// recording the first error (`model.gguf: metadata 'llama.block_count' ...`).
class MetadataReader {
public:
  MetadataReader(const gguf::File &file, std::string arch, std::string source,
                 std::string &error)
      : file(file), arch(std::move(arch)), source(std::move(source)), error(error) {}

  bool failed() const { return !error.empty(); }
  void fail(const llvm::Twine &message) {
    if (error.empty())
      error = source + ": " + message.str();
  }
  std::string key(StringRef suffix) const { return arch + "." + suffix.str(); }
  bool has(StringRef suffix) const { return file.find(key(suffix)) != nullptr; }

  /// A positive integer at most `limit`; `def` when absent, else an error.
  int64_t size(StringRef suffix, std::optional<int64_t> def = std::nullopt,
               int64_t limit = kMaxImportSize) {
    std::string k = key(suffix);
    const gguf::Value *v = file.find(k);
    if (!v) {
      if (!def)
        fail("missing metadata '" + k + "'");
      return def.value_or(1);
    }
    int64_t i = 0;
    if (!v->toInt(i) || v->type == gguf::ValueType::Bool || i < 1) {
      fail("metadata '" + k + "' (at byte " + llvm::Twine(v->offset) +
           ") must be a positive integer");
      return 1;
    }
    if (i > limit) {
      fail("metadata '" + k + "' is " + llvm::Twine(i) + ", more than tfc's limit of " +
           llvm::Twine(limit));
      return 1;
    }
    return i;
  }

  /// A non-negative integer at most `limit`; `def` when absent.
  int64_t count(StringRef suffix, int64_t def, int64_t limit = kMaxImportSize) {
    std::string k = key(suffix);
    const gguf::Value *v = file.find(k);
    if (!v)
      return def;
    int64_t i = 0;
    if (!v->toInt(i) || v->type == gguf::ValueType::Bool || i < 0 || i > limit) {
      fail("metadata '" + k + "' (at byte " + llvm::Twine(v->offset) +
           ") must be an integer from 0 to " + llvm::Twine(limit));
      return def;
    }
    return i;
  }

  /// A bool; `def` when absent.
  bool flag(StringRef suffix, bool def) {
    std::string k = key(suffix);
    const gguf::Value *v = file.find(k);
    if (!v)
      return def;
    int64_t i = 0;
    if (v->type != gguf::ValueType::Bool || !v->toInt(i)) {
      fail("metadata '" + k + "' (at byte " + llvm::Twine(v->offset) + ") must be a bool");
      return def;
    }
    return i != 0;
  }

  /// A positive finite number (non-negative with `allowZero`); `def` when absent.
  double number(StringRef suffix, double def, bool allowZero = false) {
    std::string k = key(suffix);
    const gguf::Value *v = file.find(k);
    if (!v)
      return def;
    double d = 0;
    if (!v->toDouble(d) || v->type == gguf::ValueType::Bool ||
        !(allowZero ? d >= 0 : d > 0) || !std::isfinite(d)) {
      fail("metadata '" + k + "' (at byte " + llvm::Twine(v->offset) + ") must be a " +
           (allowZero ? "non-negative" : "positive") + " number");
      return def;
    }
    return v->type == gguf::ValueType::Float32 ? shortestFloat32(d) : d;
  }

  /// A string; `def` when absent.
  std::string string(StringRef suffix, StringRef def) {
    std::string k = key(suffix);
    const gguf::Value *v = file.find(k);
    if (!v)
      return def.str();
    if (v->type != gguf::ValueType::String) {
      fail("metadata '" + k + "' (at byte " + llvm::Twine(v->offset) + ") must be a string");
      return def.str();
    }
    return std::string(v->string);
  }

  /// Fails unless `a` (the value of key `aSuffix`) is a multiple of `b` (of
  /// `bSuffix`); `why` ends the message.
  void checkDivides(StringRef aSuffix, int64_t a, StringRef bSuffix, int64_t b,
                    StringRef why = "") {
    if (!failed() && a % b != 0)
      fail("'" + key(aSuffix) + "' (" + llvm::Twine(a) + ") is not a multiple of '" +
           key(bSuffix) + "' (" + llvm::Twine(b) + ")" + why);
  }

  /// Whether `suffix` is present as the number 0 (convert_hf_to_gguf.py
  /// writes expert_count = 0 for some models without experts).
  bool isZero(StringRef suffix) const {
    const gguf::Value *v = file.find(key(suffix));
    double d = 1;
    return v && v->type != gguf::ValueType::Bool && v->toDouble(d) && d == 0;
  }

  /// Fails when `suffix` is present (and, for numbers, not `neutral`).
  void unsupported(StringRef suffix, StringRef why, std::optional<double> neutral = std::nullopt) {
    std::string k = key(suffix);
    const gguf::Value *v = file.find(k);
    double d = 0;
    if (!v || (neutral && v->toDouble(d) && d == *neutral))
      return;
    fail("metadata '" + k + "' is not supported (" + why + ")");
  }

private:
  const gguf::File &file;
  std::string arch, source;
  std::string &error;
};

/// The file's tensors by name: their row-major shapes and ggml types.
struct TensorTable {
  struct Entry {
    std::vector<int64_t> shape;
    uint32_t type;
  };
  llvm::StringMap<Entry> byName;

  const Entry *find(StringRef name) const {
    auto it = byName.find(name);
    return it == byName.end() ? nullptr : &it->second;
  }
};

/// tfc's --weight-type name of a ggml type whose blocks tfc can use as they
/// are, or empty (the type is then converted at load).
StringRef weightTypeOfGgml(uint32_t type) {
  switch (static_cast<gguf::TensorType>(type)) {
  case gguf::TensorType::F32:
    return "f32";
  case gguf::TensorType::F16:
    return "f16";
  case gguf::TensorType::BF16:
    return "bf16";
  case gguf::TensorType::Q8_0:
    return "q8_0";
  case gguf::TensorType::Q4_0:
    return "q4_0";
  case gguf::TensorType::Q4_K:
    return "q4_k";
  case gguf::TensorType::Q5_K:
    return "q5_k";
  case gguf::TensorType::Q6_K:
    return "q6_k";
  default:
    return "";
  }
}

/// What one architecture's import needs.
struct GgufContext {
  MetadataReader &meta;
  const TensorTable &tensors;
  TdslWriter &out;

  /// Fails unless the file has tensor `name` of `shape` (row-major).
  void requireTensor(const std::string &name, llvm::ArrayRef<int64_t> shape) {
    if (meta.failed())
      return;
    const TensorTable::Entry *t = tensors.find(name);
    if (!t) {
      meta.fail("no tensor '" + name + "'");
      return;
    }
    if (!llvm::equal(t->shape, shape)) {
      auto dims = [](llvm::ArrayRef<int64_t> s) {
        std::string text;
        for (int64_t d : s)
          text += (text.empty() ? "" : ", ") + std::to_string(d);
        return "[" + text + "]";
      };
      meta.fail("tensor '" + name + "' is " + dims(t->shape) + ", the metadata makes it " +
                dims(shape));
    }
  }
  bool hasTensor(const std::string &name) const { return tensors.find(name) != nullptr; }

  /// The config entries every architecture has, each naming its key.
  void configSizes(int64_t vocab, int64_t dim, int64_t layers, int64_t heads) {
    out.config("vocab", vocab, meta.has("vocab_size") ? meta.key("vocab_size")
                                                      : "rows of token_embd.weight");
    out.config("dim", dim, meta.key("embedding_length"));
    out.config("layers", layers, meta.key("block_count"));
    out.config("heads", heads, meta.key("attention.head_count"));
  }
};

/// The vocabulary size: `{arch}.vocab_size`, else the token embedding's rows
/// (convert_hf_to_gguf.py writes the key only for some architectures).
int64_t readVocab(GgufContext &ctx) {
  if (ctx.meta.has("vocab_size"))
    return ctx.meta.size("vocab_size");
  const TensorTable::Entry *embedding = ctx.tensors.find("token_embd.weight");
  if (!embedding || embedding->shape.size() != 2) {
    ctx.meta.fail("no metadata '" + ctx.meta.key("vocab_size") +
                  "' and no 2-D tensor 'token_embd.weight' to read it from");
    return 1;
  }
  return embedding->shape[0];
}

/// The output head: `output.weight` when the file has it, else tied to the
/// token embedding (as llama.cpp's loader falls back).
std::string outputHead(GgufContext &ctx, int64_t vocab, int64_t dim) {
  if (ctx.hasTensor("output.weight")) {
    ctx.requireTensor("output.weight", {vocab, dim});
    return "    return linear(x, vocab) @ \"output\"\n";
  }
  return "    # No output.weight: the head is the token embedding, as llama.cpp ties it.\n"
         "    return linear(x, vocab, tied = \"token_embd.weight\")\n";
}

//===----------------------------------------------------------------------===//
// llama (Llama, Mistral, Llama 3 files) and qwen2
//===----------------------------------------------------------------------===//

void importLlamaLike(GgufContext &ctx, bool qwen2) {
  MetadataReader &m = ctx.meta;
  TdslWriter &out = ctx.out;
  int64_t dim = m.size("embedding_length");
  int64_t layers = m.size("block_count", std::nullopt, kMaxImportLayers);
  int64_t ffn = m.size("feed_forward_length");
  int64_t heads = m.size("attention.head_count");
  int64_t kvHeads = m.size("attention.head_count_kv", heads);
  int64_t maxSeq = m.size("context_length");
  double eps = m.number("attention.layer_norm_rms_epsilon", 1e-5);
  double theta = m.number("rope.freq_base", 10000.0);
  int64_t vocab = readVocab(ctx);
  if (m.failed())
    return;
  if (!m.has("attention.key_length"))
    m.checkDivides("embedding_length", dim, "attention.head_count", heads,
                   " and there is no '" + m.key("attention.key_length") + "'");
  m.checkDivides("attention.head_count", heads, "attention.head_count_kv", kvHeads);
  if (m.failed())
    return;
  int64_t headDim = m.size("attention.key_length", dim / heads);
  if (m.size("attention.value_length", headDim) != headDim)
    m.fail("'" + m.key("attention.value_length") + "' differs from the key length (" +
           llvm::Twine(headDim) + "), which tfc does not support");
  if (m.size("rope.dimension_count", headDim) != headDim)
    m.fail("'" + m.key("rope.dimension_count") +
           "' is not the head dimension: rotary embedding of part of a head is not supported");
  if (!m.failed() && headDim % 2 != 0)
    m.fail("the head dimension (" + llvm::Twine(headDim) + ") must be even for rotary embeddings");

  // Rotary scaling: linear is a divisor of every frequency; the rest (yarn,
  // Llama 3.1's per-frequency factors in a rope_freqs tensor) is not supported.
  std::string scaling = m.string("rope.scaling.type", "none");
  double factor = 1.0;
  if (scaling == "linear")
    factor = m.number("rope.scaling.factor", 1.0);
  else if (scaling != "none")
    m.fail("metadata '" + m.key("rope.scaling.type") + "' = \"" + printable(scaling) +
           "\" is not supported (none, linear)");
  if (!m.failed() && ctx.hasTensor("rope_freqs.weight"))
    m.fail("tensor 'rope_freqs.weight' (per-frequency rotary factors, Llama 3.1's rope "
           "scaling) is not supported");
  // Mixtral files are `llama` with experts: the MLP is a mixture of
  // expert_count SwiGLU experts of feed_forward_length, the top
  // expert_used_count of a softmax router, their weights renormalized (llama.cpp
  // builds the llama MoE with softmax gating and norm_w, as MixtralSparseMoeBlock).
  int64_t experts = 0, topK = 0;
  if (!m.failed() && m.has("expert_count") && !m.isZero("expert_count")) {
    experts = m.size("expert_count");
    topK = m.size("expert_used_count");
    if (!m.failed() && topK > experts)
      m.fail("'" + m.key("expert_used_count") + "' (" + llvm::Twine(topK) +
             ") must be at most '" + m.key("expert_count") + "' (" + llvm::Twine(experts) + ")");
  } else if (!m.failed() && m.has("expert_used_count") && !m.isZero("expert_used_count")) {
    m.fail("metadata '" + m.key("expert_used_count") + "' needs '" + m.key("expert_count") + "'");
  }
  m.unsupported("attention.sliding_window", "sliding window in a GGUF file");
  m.unsupported("attn_logit_softcapping", "soft-capped attention scores", 0.0);
  if (m.failed())
    return;

  int64_t qWidth = heads * headDim, kvWidth = kvHeads * headDim;
  ctx.requireTensor("token_embd.weight", {vocab, dim});
  ctx.requireTensor("output_norm.weight", {dim});
  // The shapes of one layer stand for all: the loader checks every tensor.
  ctx.requireTensor("blk.0.attn_q.weight", {qWidth, dim});
  ctx.requireTensor("blk.0.attn_k.weight", {kvWidth, dim});
  ctx.requireTensor("blk.0.attn_v.weight", {kvWidth, dim});
  ctx.requireTensor("blk.0.attn_output.weight", {dim, qWidth});
  if (experts) {
    ctx.requireTensor("blk.0.ffn_gate_inp.weight", {experts, dim});
    ctx.requireTensor("blk.0.ffn_gate_exps.weight", {experts, ffn, dim});
    ctx.requireTensor("blk.0.ffn_up_exps.weight", {experts, ffn, dim});
    ctx.requireTensor("blk.0.ffn_down_exps.weight", {experts, dim, ffn});
  } else {
    ctx.requireTensor("blk.0.ffn_gate.weight", {ffn, dim});
    ctx.requireTensor("blk.0.ffn_down.weight", {dim, ffn});
  }
  // Qwen2's q/k/v biases; a llama file may have them too (attention_bias).
  bool bias = ctx.hasTensor("blk.0.attn_q.bias");
  bool outBias = ctx.hasTensor("blk.0.attn_output.bias");
  if (m.failed())
    return;

  ctx.configSizes(vocab, dim, layers, heads);
  out.config("kv_heads", kvHeads, m.key("attention.head_count_kv"));
  out.config("head_dim", headDim,
             m.has("attention.key_length") ? m.key("attention.key_length")
                                           : "embedding_length / head_count");
  out.config("ffn", ffn, m.key("feed_forward_length"));
  if (experts) {
    out.config("experts", experts, m.key("expert_count"));
    out.config("top_k", topK, m.key("expert_used_count"));
  }
  out.config("max_seq", maxSeq, m.key("context_length"));
  out.config("eps", decimal(eps), m.key("attention.layer_norm_rms_epsilon"));

  std::string mlp =
      experts ? "      # The experts' matrices are rows of one 3-D tensor per projection\n"
                "      # (blk.{i}.ffn_up_exps.weight[{j}]), used in place.\n"
                "      x = x + moe(h, experts = experts, top_k = top_k, ffn = ffn,\n"
                "                  norm_topk_prob = true, gguf = true)\n"
              : "      g = silu(linear(h, ffn) @ \"ffn_gate\") * linear(h, ffn) @ \"ffn_up\"\n"
                "      x = x + linear(g, dim) @ \"ffn_down\"\n";
  std::string rope = "rope(theta = " + decimal(theta) + ", style = \"" +
                     (qwen2 ? "half" : "interleaved") + "\"";
  if (scaling == "linear")
    rope += ", scaling = \"linear\", factor = " + decimal(factor);
  rope += ")";
  std::string qkvBias = bias ? ", bias = true" : "";
  out.body(std::string("  decoder(tokens) {\n") +
           "    x = embedding(tokens, vocab, dim) @ \"token_embd\"\n"
           "    for i in 0 .. layers @ \"blk.{i}\" {\n"
           "      h = rms_norm(x, eps) @ \"attn_norm\"\n" +
           (qwen2 ? ""
                  : "      # attn_q/attn_k rows are in ggml's interleaved rotary order\n"
                    "      # (convert_hf_to_gguf.py permuted them), hence style \"interleaved\".\n") +
           "      q = linear(h, heads * head_dim" + qkvBias + ") @ \"attn_q\"\n"
           "      k = linear(h, kv_heads * head_dim" + qkvBias + ") @ \"attn_k\"\n"
           "      v = linear(h, kv_heads * head_dim" + qkvBias + ") @ \"attn_v\"\n"
           "      a = attend(q, k, v, heads = heads, kv_heads = kv_heads, causal = true,\n"
           "                 rope = " + rope + ")\n"
           "      x = x + linear(a, dim" + (outBias ? ", bias = true" : "") +
           ") @ \"attn_output\"\n"
           "      h = rms_norm(x, eps) @ \"ffn_norm\"\n" +
           mlp +
           "    }\n"
           "    x = rms_norm(x, eps) @ \"output_norm\"\n" +
           outputHead(ctx, vocab, dim) + "  }\n");
}

//===----------------------------------------------------------------------===//
// gpt2
//===----------------------------------------------------------------------===//

void importGpt2(GgufContext &ctx) {
  MetadataReader &m = ctx.meta;
  TdslWriter &out = ctx.out;
  int64_t dim = m.size("embedding_length");
  int64_t layers = m.size("block_count", std::nullopt, kMaxImportLayers);
  int64_t ffn = m.size("feed_forward_length", 4 * dim);
  int64_t heads = m.size("attention.head_count");
  int64_t maxSeq = m.size("context_length");
  double eps = m.number("attention.layer_norm_epsilon", 1e-5);
  int64_t vocab = readVocab(ctx);
  m.checkDivides("embedding_length", dim, "attention.head_count", heads);
  ctx.requireTensor("token_embd.weight", {vocab, dim});
  ctx.requireTensor("position_embd.weight", {maxSeq, dim});
  ctx.requireTensor("blk.0.attn_qkv.weight", {3 * dim, dim});
  ctx.requireTensor("blk.0.ffn_up.weight", {ffn, dim});
  if (m.failed())
    return;

  ctx.configSizes(vocab, dim, layers, heads);
  out.config("ffn", ffn, m.key("feed_forward_length"));
  out.config("max_seq", maxSeq, m.key("context_length"));
  out.config("eps", decimal(eps), m.key("attention.layer_norm_epsilon"));
  out.body("  decoder(tokens) {\n"
           "    x = embedding(tokens, vocab, dim) @ \"token_embd\" +\n"
           "        position_embedding(max_seq, dim) @ \"position_embd\"\n"
           "    for i in 0 .. layers @ \"blk.{i}\" {\n"
           "      h = layer_norm(x, eps) @ \"attn_norm\"\n"
           "      # GPT-2's Conv1D c_attn, transposed by convert_hf_to_gguf.py into an\n"
           "      # ordinary [3 * dim, dim] matrix: queries, keys, values side by side.\n"
           "      qkv = linear(h, 3 * dim, bias = true) @ \"attn_qkv\"\n"
           "      a = attend(slice(qkv, 0, dim), slice(qkv, dim, dim), slice(qkv, 2 * dim, dim),\n"
           "                 heads = heads, causal = true)\n"
           "      x = x + linear(a, dim, bias = true) @ \"attn_output\"\n"
           "      h = layer_norm(x, eps) @ \"ffn_norm\"\n"
           "      x = x + linear(gelu_tanh(linear(h, ffn, bias = true) @ \"ffn_up\"), dim,\n"
           "                     bias = true) @ \"ffn_down\"\n"
           "    }\n"
           "    x = layer_norm(x, eps) @ \"output_norm\"\n" +
           outputHead(ctx, vocab, dim) + "  }\n");
}

//===----------------------------------------------------------------------===//
// deepseek2 (DeepSeek-V2, V2-Lite)
//===----------------------------------------------------------------------===//

/// The `rope(...)` of a deepseek2 file. ggml rotates adjacent pairs (NORM),
/// which is modeling_deepseek.py's interleaved layout, so nothing was
/// permuted. YaRN: the file keeps factor, original context and
/// yarn_log_multiplier = 0.1 * mscale_all_dim (convert_hf_to_gguf.py
/// DeepseekV2Model); llama.cpp's build_deepseek2 scales the softmax by
/// (1 + log_mul * ln factor)^2 and leaves cos/sin unscaled, which is
/// DeepseekV2YarnRotaryEmbedding with mscale = mscale_all_dim, and
/// beta_fast 32, beta_slow 1 (ggml's defaults, and DeepSeek-V2's).
std::string deepseekRope(MetadataReader &m, double theta) {
  std::string scaling = m.string("rope.scaling.type", "none");
  std::string rope = "rope(theta = " + decimal(theta) + ", style = \"interleaved\"";
  if (scaling == "yarn") {
    double factor = m.number("rope.scaling.factor", 1.0);
    int64_t original = m.size("rope.scaling.original_context_length");
    double mscale = shortestFloat32(10 * m.number("rope.scaling.yarn_log_multiplier", 0.0,
                                                  /*allowZero=*/true));
    rope += ", scaling = \"yarn\", factor = " + decimal(factor) +
            ", original_max_pos = " + std::to_string(original) +
            ",\n                                    beta_fast = 32.0, beta_slow = 1.0, mscale = " +
            decimal(mscale) + ", mscale_all_dim = " + decimal(mscale);
  } else if (scaling != "none") {
    m.fail("metadata '" + m.key("rope.scaling.type") + "' = \"" + printable(scaling) +
           "\" is not supported (none, yarn)");
  }
  return rope + ")";
}

void importDeepseek2(GgufContext &ctx) {
  MetadataReader &m = ctx.meta;
  TdslWriter &out = ctx.out;
  int64_t dim = m.size("embedding_length");
  int64_t layers = m.size("block_count", std::nullopt, kMaxImportLayers);
  int64_t heads = m.size("attention.head_count");
  int64_t maxSeq = m.size("context_length");
  double eps = m.number("attention.layer_norm_rms_epsilon", 1e-6);
  double theta = m.number("rope.freq_base", 10000.0);
  int64_t vocab = readVocab(ctx);
  int64_t kvRank = m.size("attention.kv_lora_rank");
  // DeepSeek-V2-Lite has no q_lora_rank: a plain attn_q.
  int64_t qRank = m.count("attention.q_lora_rank", 0);
  // Newer converters write MLA as the multi-query attention it decompresses
  // to (key_length = kv_lora_rank + rope, value_length = kv_lora_rank) and
  // the per-head sizes as key_length_mla and value_length_mla.
  bool mlaLengths = m.has("attention.key_length_mla");
  int64_t keyLength = m.size(mlaLengths ? "attention.key_length_mla" : "attention.key_length");
  int64_t vDim = m.size(mlaLengths ? "attention.value_length_mla" : "attention.value_length");
  int64_t ropeDim = m.size("rope.dimension_count");
  int64_t dense = m.count("leading_dense_block_count", 0, kMaxImportLayers);
  bool hasExperts = m.has("expert_count") && !m.isZero("expert_count");
  int64_t ffn = dense > 0 || !hasExperts ? m.size("feed_forward_length") : 0;
  int64_t experts = 0, topK = 0, moeFfn = 0, shared = 0, groups = 0, topGroups = 0;
  double scale = 1.0;
  bool normalize = false, sigmoid = false;
  if (hasExperts) {
    experts = m.size("expert_count");
    topK = m.size("expert_used_count");
    moeFfn = m.size("expert_feed_forward_length");
    shared = m.count("expert_shared_count", 0);
    scale = m.number("expert_weights_scale", 1.0);
    normalize = m.flag("expert_weights_norm", false);
    // Newer converters write the routing groups (n_group, topk_group).
    groups = m.count("expert_group_count", 0);
    topGroups = m.count("expert_group_used_count", 0);
    // 1 softmax (DeepSeek-V2; files without the key are V2), 2 sigmoid
    // (DeepSeek-V3: noaux_tc routing with the exp_probs_b selection bias).
    int64_t gating = m.count("expert_gating_func", 1);
    if (!m.failed() && gating != 1 && gating != 2)
      m.fail("metadata '" + m.key("expert_gating_func") + "' = " + llvm::Twine(gating) +
             " is not supported (1: softmax, DeepSeek-V2; 2: sigmoid, DeepSeek-V3)");
    sigmoid = gating == 2;
  }
  if (m.failed())
    return;
  if (ropeDim >= keyLength)
    m.fail("'" + m.key("rope.dimension_count") + "' (" + llvm::Twine(ropeDim) +
           ") must be less than '" + m.key(mlaLengths ? "attention.key_length_mla" : "attention.key_length") + "' (" +
           llvm::Twine(keyLength) + "), the key being its non-rotated part followed by the rotated one");
  else if (ropeDim % 2 != 0)
    m.fail("'" + m.key("rope.dimension_count") + "' (" + llvm::Twine(ropeDim) +
           ") must be even for rotary embeddings");
  if (!m.failed() && dense > layers)
    m.fail("'" + m.key("leading_dense_block_count") + "' (" + llvm::Twine(dense) +
           ") exceeds '" + m.key("block_count") + "' (" + llvm::Twine(layers) + ")");
  if (!m.failed() && topK > experts)
    m.fail("'" + m.key("expert_used_count") + "' (" + llvm::Twine(topK) + ") must be at most '" +
           m.key("expert_count") + "' (" + llvm::Twine(experts) + ")");
  // DeepSeek-V3 files route by noaux_tc, in groups or (no groups) in one.
  bool grouped = groups > 1 || sigmoid;
  if (sigmoid && groups == 0)
    groups = topGroups = 1;
  if (!m.failed() && sigmoid && experts / groups < 2)
    m.fail("'" + m.key("expert_count") + "' (" + llvm::Twine(experts) + ") in '" +
           m.key("expert_group_count") + "' (" + llvm::Twine(groups) +
           ") groups leaves fewer than the 2 experts per group that DeepSeek-V3's routing sums");
  if (!m.failed() && grouped) {
    if (experts % groups != 0)
      m.fail("'" + m.key("expert_count") + "' (" + llvm::Twine(experts) +
             ") is not a multiple of '" + m.key("expert_group_count") + "' (" +
             llvm::Twine(groups) + ")");
    else if (topGroups < 1 || topGroups > groups)
      m.fail("'" + m.key("expert_group_used_count") + "' (" + llvm::Twine(topGroups) +
             ") must be from 1 to '" + m.key("expert_group_count") + "' (" +
             llvm::Twine(groups) + ")");
    else if (topK > topGroups * (experts / groups))
      m.fail("'" + m.key("expert_used_count") + "' (" + llvm::Twine(topK) +
             ") exceeds the experts of the '" + m.key("expert_group_used_count") + "' groups (" +
             llvm::Twine(topGroups * (experts / groups)) + ")");
  }
  std::string rope = deepseekRope(m, theta);
  if (m.failed())
    return;

  int64_t nopeDim = keyLength - ropeDim;
  ctx.requireTensor("token_embd.weight", {vocab, dim});
  ctx.requireTensor("output_norm.weight", {dim});
  if (qRank) {
    ctx.requireTensor("blk.0.attn_q_a.weight", {qRank, dim});
    ctx.requireTensor("blk.0.attn_q_b.weight", {heads * keyLength, qRank});
  } else {
    ctx.requireTensor("blk.0.attn_q.weight", {heads * keyLength, dim});
  }
  ctx.requireTensor("blk.0.attn_kv_a_mqa.weight", {kvRank + ropeDim, dim});
  // Newer converters split attn_kv_b into attn_k_b (transposed per head) and
  // attn_v_b, and may drop it: then the split pair is read
  // (mla(split_kv_b = true)); a file with both reads attn_kv_b.
  bool splitKvB = !ctx.hasTensor("blk.0.attn_kv_b.weight") && ctx.hasTensor("blk.0.attn_k_b.weight");
  if (splitKvB) {
    ctx.requireTensor("blk.0.attn_k_b.weight", {heads, kvRank, nopeDim});
    ctx.requireTensor("blk.0.attn_v_b.weight", {heads, vDim, kvRank});
  } else {
    ctx.requireTensor("blk.0.attn_kv_b.weight", {heads * (nopeDim + vDim), kvRank});
  }
  ctx.requireTensor("blk.0.attn_output.weight", {dim, heads * vDim});
  if (dense > 0) {
    ctx.requireTensor("blk.0.ffn_gate.weight", {ffn, dim});
    ctx.requireTensor("blk.0.ffn_down.weight", {dim, ffn});
  }
  if (hasExperts && dense < layers) {
    std::string b = "blk." + std::to_string(dense) + ".";
    ctx.requireTensor(b + "ffn_gate_inp.weight", {experts, dim});
    ctx.requireTensor(b + "ffn_gate_exps.weight", {experts, moeFfn, dim});
    ctx.requireTensor(b + "ffn_up_exps.weight", {experts, moeFfn, dim});
    ctx.requireTensor(b + "ffn_down_exps.weight", {experts, dim, moeFfn});
    if (shared)
      ctx.requireTensor(b + "ffn_down_shexp.weight", {dim, shared * moeFfn});
    if (sigmoid)
      ctx.requireTensor(b + "exp_probs_b.bias", {experts});
    else if (!m.failed() && ctx.hasTensor(b + "exp_probs_b.bias"))
      m.fail("tensor '" + b + "exp_probs_b.bias' (DeepSeek-V3's selection bias) needs '" +
             m.key("expert_gating_func") + "' = 2 (sigmoid)");
  }
  if (m.failed())
    return;

  ctx.configSizes(vocab, dim, layers, heads);
  out.config("kv_rank", kvRank, m.key("attention.kv_lora_rank"));
  out.config("q_rank", qRank,
             m.has("attention.q_lora_rank") ? m.key("attention.q_lora_rank")
                                            : "no attention.q_lora_rank: a plain attn_q");
  out.config("rope_dim", ropeDim, m.key("rope.dimension_count"));
  out.config("nope_dim", nopeDim,
             mlaLengths ? "key_length_mla - rope.dimension_count" : "key_length - rope.dimension_count");
  out.config("v_dim", vDim, m.key(mlaLengths ? "attention.value_length_mla" : "attention.value_length"));
  if (ffn)
    out.config("ffn", ffn, m.key("feed_forward_length"));
  if (hasExperts) {
    out.config("moe_ffn", moeFfn, m.key("expert_feed_forward_length"));
    out.config("experts", experts, m.key("expert_count"));
    out.config("top_k", topK, m.key("expert_used_count"));
    if (shared)
      out.config("shared", shared, m.key("expert_shared_count"));
  }
  out.config("max_seq", maxSeq, m.key("context_length"));
  out.config("eps", decimal(eps), m.key("attention.layer_norm_rms_epsilon"));

  std::string moeArgs = "experts, top_k, moe_ffn";
  // llama.cpp's build_moe_ffn: the selection bias added to the sigmoid
  // scores for the choice only, the weights normalized (expert_weights_norm)
  // and then scaled (expert_weights_scale), as DeepSeek-V3's MoEGate.
  if (grouped)
    moeArgs += std::string(", topk_method = \"") +
               (sigmoid ? "noaux_tc" : "group_limited_greedy") +
               "\", n_group = " + std::to_string(groups) +
               ", topk_group = " + std::to_string(topGroups);
  if (sigmoid)
    moeArgs += ", scoring_func = \"sigmoid\"";
  if (normalize)
    moeArgs += ", norm_topk_prob = true";
  if (scale != 1.0)
    moeArgs += ", routed_scaling_factor = " + decimal(scale);
  if (shared)
    moeArgs += ", shared_experts = shared";
  std::string head =
      "      h = rms_norm(x, eps) @ \"attn_norm\"\n"
      "      x = x + attention(h, heads = heads, causal = true,\n"
      "                        rope = " + rope + ",\n"
      "                        latent = mla(kv_rank, rope_dim, nope_dim, v_dim, q_rank = q_rank,\n"
      "                                     gguf = true" +
      std::string(splitKvB ? ", split_kv_b = true" : "") + "))\n"
      "      h = rms_norm(x, eps) @ \"ffn_norm\"\n";
  std::string body = "  decoder(tokens) {\n"
                     "    x = embedding(tokens, vocab, dim) @ \"token_embd\"\n";
  int64_t firstMoE = hasExperts ? dense : layers;
  if (firstMoE > 0)
    body += "    for i in 0 .. " + (firstMoE == layers ? std::string("layers") : std::to_string(firstMoE)) +
            " @ \"blk.{i}\" {   # dense MLP (leading_dense_block_count)\n" + head +
            "      g = silu(linear(h, ffn) @ \"ffn_gate\") * linear(h, ffn) @ \"ffn_up\"\n"
            "      x = x + linear(g, dim) @ \"ffn_down\"\n"
            "    }\n";
  if (firstMoE < layers)
    body += "    for i in " + std::to_string(firstMoE) +
            " .. layers @ \"blk.{i}\" {   # mixture of experts\n" + head +
            "      # The experts' matrices are rows of one 3-D tensor per projection\n"
            "      # (blk.{i}.ffn_up_exps.weight[{j}]), used in place.\n"
            "      x = x + moe(h, " + moeArgs + ", gguf = true)\n"
            "    }\n";
  body += "    x = rms_norm(x, eps) @ \"output_norm\"\n" + outputHead(ctx, vocab, dim) + "  }\n";
  out.body(body);
}

struct GgufArchitecture {
  const char *name;
  const char *description;
  void (*import)(GgufContext &);
};

const GgufArchitecture kGgufArchitectures[] = {
    {"llama", "Llama, Mistral and Llama 3 files",
     [](GgufContext &ctx) { importLlamaLike(ctx, /*qwen2=*/false); }},
    {"qwen2", "Qwen2", [](GgufContext &ctx) { importLlamaLike(ctx, /*qwen2=*/true); }},
    {"gpt2", "GPT-2", importGpt2},
    {"deepseek2", "DeepSeek-V2: latent attention, mixture of experts", importDeepseek2},
};

/// The weight type of the linear layers: the ggml type most of their
/// matrices have, when tfc has kernels for it; empty otherwise. A file of
/// mostly Q4_K whose value or down projections hold Q6_K is llama.cpp's
/// Q4_K_M mixture: q4_k_m, which stores those slots (and the output) as Q6_K.
std::string linearWeightType(const gguf::File &file) {
  std::map<uint32_t, int64_t> elementsByType;
  bool sixBitProjections = false;
  for (const gguf::TensorInfo &t : file.tensors()) {
    StringRef name(t.name.data(), t.name.size());
    // The stacked experts count too: they are most of a mixture's weights.
    bool linear = (name.starts_with("blk.") || name == "output.weight") &&
                  name.ends_with(".weight") &&
                  (t.ne.size() == 2 || (t.ne.size() == 3 && name.ends_with("_exps.weight")));
    if (linear)
      elementsByType[t.type] += t.elements();
    if (linear && t.type == uint32_t(gguf::TensorType::Q6_K) &&
        (name.contains(".attn_v.") || name.contains(".ffn_down.") ||
         name.contains(".ffn_down_exps.") || name.contains(".ffn_down_shexp.")))
      sixBitProjections = true;
  }
  uint32_t best = 0;
  int64_t most = -1;
  for (auto [type, elements] : elementsByType)
    if (elements > most)
      best = type, most = elements;
  if (best == uint32_t(gguf::TensorType::Q4_K) && sixBitProjections)
    return "q4_k_m";
  return most < 0 ? std::string() : weightTypeOfGgml(best).str();
}

std::string architectureList() {
  std::string list;
  for (const GgufArchitecture &a : kGgufArchitectures)
    list += (list.empty() ? "" : ", ") + std::string(a.name);
  return list;
}

} // namespace

bool isGgufPath(StringRef path) { return path.ends_with_insensitive(".gguf"); }

ImportResult importGgufFile(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (std::error_code ec = buffer.getError()) {
    ImportResult result;
    result.error = "cannot read '" + path.str() + "': " + ec.message();
    return result;
  }
  return importGgufBytes((*buffer)->getBuffer(), llvm::sys::path::filename(path));
}

ImportResult importGgufBytes(StringRef bytes, StringRef fileName) {
  ImportResult result;
  std::string source = fileName.str();
  gguf::File file;
  if (!file.parse(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size())) {
    result.error = source + ": " + file.error();
    return result;
  }
  std::string_view archView;
  if (!file.findString("general.architecture", archView)) {
    const gguf::Value *v = file.find("general.architecture");
    result.error = v ? source + ": metadata 'general.architecture' (at byte " +
                           std::to_string(v->offset) + ") must be a string"
                     : source + ": missing metadata 'general.architecture'";
    return result;
  }
  std::string arch(archView);
  const GgufArchitecture *found = llvm::find_if(
      kGgufArchitectures, [&](const GgufArchitecture &a) { return arch == a.name; });
  if (found == std::end(kGgufArchitectures)) {
    result.error = source + ": 'general.architecture' = \"" + printable(arch) +
                   "\" is not supported (" +
                   architectureList() + ")";
    return result;
  }

  TensorTable tensors;
  for (const gguf::TensorInfo &t : file.tensors())
    tensors.byName[StringRef(t.name.data(), t.name.size())] = {t.shape(), t.type};

  MetadataReader meta(file, arch, source, result.error);
  TdslWriter out;
  out.comment("Imported by `tfc import` from " + source + ":");
  std::string_view name;
  out.comment("GGUF v" + std::to_string(file.version()) + ", architecture \"" + arch + "\" (" +
              found->description + ")" +
              (file.findString("general.name", name) ? ", \"" + printable(name) + "\"" : "") +
              ".");
  out.comment("Weight names are the file's tensor names; each config entry names its key.");
  GgufContext ctx{meta, tensors, out};
  found->import(ctx);
  if (meta.failed())
    return result;
  result.tdsl = out.finish(modelIdentifier(llvm::sys::path::stem(fileName)));
  result.weightType = linearWeightType(file);
  for (const gguf::TensorInfo &t : file.tensors())
    if (StringRef type = weightTypeOfGgml(t.type); !type.empty())
      result.weightTypes.push_back(std::string(t.name) + "=" + type.str());
  for (const gguf::TensorInfo &t : file.tensors())
    if (const gguf::TypeTraits *traits = gguf::typeTraits(t.type);
        traits && traits->blockElements > 1)
      result.storedBlocks.push_back(std::string(t.name) + "=" + traits->name + "/" +
                                    std::to_string(traits->blockElements));
  return result;
}

} // namespace tfc
