//===- Builtins.cpp - The table of tdsl builtins ----------------------------===//
//
// One entry per builtin: parameters (type, required or default), the weights
// it creates with their shape rules, where it may be called, its lowering.
// The generic parts read the table: bindArgs binds and type-checks arguments
// (so every builtin words `missing argument 'out' of 'linear'` alike),
// createWeights names and shapes weights from the rules, and
// printBuiltinReference prints the table as docs/tdsl.md shows it (a test
// keeps the two equal). What is left per builtin is its lowering: the checks
// that relate arguments (`heads (8) must be divisible by kv_heads (3)`) and
// the op it builds.
//
//===----------------------------------------------------------------------===//

#include "Builtins.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"
#include "tfc/Frontend/MLIRGen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/ErrorHandling.h"

#include <cmath>
#include <type_traits>

using namespace mlir;

namespace tfc::frontend {

namespace {

//===----------------------------------------------------------------------===//
// Parameter types
//===----------------------------------------------------------------------===//

/// How a type reads in the reference, and in `... must be <expected>, got ...`.
struct TypeInfo {
  const char *doc;
  const char *expected;
  const char *legend;
};

TypeInfo typeInfo(ParamType type) {
  switch (type) {
  case ParamType::Tensor: return {"tensor", "a tensor", "an activation `[n, d]`"};
  case ParamType::Tokens: return {"tokens", "the token ids", "the function's token ids"};
  case ParamType::Size: return {"size", "a positive integer", "a positive integer, at most 2^24"};
  case ParamType::Count:
    return {"count", "a non-negative integer", "a non-negative integer, at most 2^24"};
  case ParamType::Number: return {"number", "a number", "an integer or a decimal"};
  case ParamType::Bool: return {"bool", "true or false", "`true` or `false`"};
  case ParamType::WeightName:
    return {"name", "a weight name string", "a string: the full name of a weight"};
  case ParamType::RopeStyle:
    return {"rope_style", "\"half\" or \"interleaved\"", "`\"half\"` or `\"interleaved\"`"};
  case ParamType::RopeScaling:
    return {"rope_scaling", "\"none\", \"linear\", \"llama3\" or \"yarn\"",
            "`\"none\"`, `\"linear\"`, `\"llama3\"` or `\"yarn\"` (latent attention only)"};
  case ParamType::Rope: return {"rope", "rope(...)", "a `rope(...)` descriptor"};
  case ParamType::Mla: return {"mla", "mla(...)", "an `mla(...)` descriptor"};
  case ParamType::MoeTopK:
    return {"moe_topk", "\"greedy\", \"group_limited_greedy\" or \"noaux_tc\"",
            "`\"greedy\"`, `\"group_limited_greedy\"` or `\"noaux_tc\"` (DeepSeek-V3)"};
  case ParamType::MoeScoring:
    return {"moe_scoring", "\"softmax\" or \"sigmoid\"",
            "`\"softmax\"` or `\"sigmoid\"` (DeepSeek-V3)"};
  case ParamType::Operand: return {"number", "numbers", "a number"};
  }
  llvm_unreachable("unknown parameter type");
}

/// Whether `v` is of `type`; reports the error at the argument otherwise.
bool checkType(const Val &v, ParamType type, StringRef param, const CallExprAST &call,
               const Location &at, MLIRContext &context) {
  StringRef callee = call.callee;
  auto mustBe = [&]() {
    auto diag = errorAt(context, at);
    diag << "argument '" << param << "' of '" << callee << "' must be ";
    return diag;
  };
  switch (type) {
  case ParamType::Size:
  case ParamType::Count: {
    int64_t minValue = type == ParamType::Size ? 1 : 0;
    if (v.kind == Val::Int && v.i >= minValue && v.i <= kMaxSize)
      return true;
    mustBe() << typeInfo(type).expected
             << (v.kind == Val::Int && v.i > kMaxSize ? " of at most " + std::to_string(kMaxSize)
                                                      : std::string())
             << ", got " << describe(v);
    return false;
  }
  case ParamType::Number:
    if (v.isNumber())
      return true;
    break;
  case ParamType::Operand:
    if (v.isNumber())
      return true;
    errorAt(context, at) << "'" << callee << "' takes numbers, got " << describe(v);
    return false;
  case ParamType::RopeStyle:
    // The spellings are the enum's (#attn<rope_style ...>); the lowering
    // symbolizes the checked string.
    if (v.kind == Val::Str && attn::symbolizeRopeStyle(v.s))
      return true;
    errorAt(context, at) << "rope style must be \"half\" or \"interleaved\", got " << describe(v);
    return false;
  case ParamType::RopeScaling:
    if (v.kind == Val::Str && (v.s == "none" || attn::symbolizeRopeScalingKind(v.s)))
      return true;
    errorAt(context, at) << "rope scaling must be \"none\", \"linear\", \"llama3\" or "
                            "\"yarn\", got "
                         << describe(v);
    return false;
  case ParamType::MoeTopK:
    if (v.kind == Val::Str && attn::symbolizeMoeTopKMethod(v.s))
      return true;
    errorAt(context, at)
        << "topk_method must be \"greedy\", \"group_limited_greedy\" or \"noaux_tc\", got "
        << describe(v);
    return false;
  case ParamType::MoeScoring:
    if (v.kind == Val::Str && attn::symbolizeMoeScoring(v.s))
      return true;
    errorAt(context, at) << "scoring_func must be \"softmax\" or \"sigmoid\", got " << describe(v);
    return false;
  case ParamType::Tensor: if (v.kind == Val::Tensor) return true; break;
  case ParamType::Tokens: if (v.kind == Val::Tokens) return true; break;
  case ParamType::Bool: if (v.kind == Val::Bool) return true; break;
  case ParamType::WeightName: if (v.kind == Val::Str) return true; break;
  case ParamType::Rope: if (v.kind == Val::Rope) return true; break;
  case ParamType::Mla: if (v.kind == Val::Mla) return true; break;
  }
  mustBe() << typeInfo(type).expected << ", got " << describe(v);
  return false;
}

//===----------------------------------------------------------------------===//
// Weight rules: "[heads*(nope_dim+rope_dim), d]" and "latent && !q_rank"
//===----------------------------------------------------------------------===//

/// The value of a name in a rule. The table's rules name only what every call
/// reaching them defines, so a missing name is a bug of the table.
int64_t dimNamed(StringRef name, const llvm::StringMap<int64_t> &dims) {
  auto it = dims.find(name);
  if (it == dims.end())
    llvm::report_fatal_error("builtin weight rule names undefined '" + name + "'");
  return it->second;
}

/// Evaluates one dimension of a shape rule: names, integers, `+`, `*`, parens.
class RuleEval {
public:
  RuleEval(StringRef text, const llvm::StringMap<int64_t> &dims) : text(text), dims(dims) {}

  int64_t expr() {
    int64_t v = term();
    while (eat('+'))
      v += term();
    return v;
  }

private:
  int64_t term() {
    int64_t v = factor();
    while (eat('*'))
      v *= factor();
    return v;
  }
  int64_t factor() {
    if (eat('(')) {
      int64_t v = expr();
      eat(')');
      return v;
    }
    text = text.ltrim();
    StringRef word = text.take_while([](char c) { return llvm::isAlnum(c) || c == '_'; });
    text = text.drop_front(word.size());
    int64_t v;
    return word.getAsInteger(10, v) ? dimNamed(word, dims) : v;
  }
  bool eat(char c) {
    text = text.ltrim();
    return text.consume_front(StringRef(&c, 1));
  }

  StringRef text;
  const llvm::StringMap<int64_t> &dims;
};

SmallVector<int64_t> evalShape(StringRef rule, const llvm::StringMap<int64_t> &dims) {
  SmallVector<int64_t> shape;
  SmallVector<StringRef> parts;
  rule.trim().drop_front().drop_back().split(parts, ',');
  for (StringRef part : parts)
    shape.push_back(RuleEval(part, dims).expr());
  return shape;
}

/// `when` is `&&`-joined names, each optionally negated by `!`; a name holds
/// when nonzero. Evaluated left to right, so later names may exist only when
/// earlier ones hold (`latent && q_rank`).
bool holds(const char *when, const llvm::StringMap<int64_t> &dims) {
  if (!when)
    return true;
  SmallVector<StringRef> terms;
  StringRef(when).split(terms, "&&");
  for (StringRef term : terms) {
    term = term.trim();
    bool negate = term.consume_front("!");
    if ((dimNamed(term, dims) != 0) == negate)
      return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Lowerings
//===----------------------------------------------------------------------===//

std::optional<Val> lowerSqrt(BuiltinContext &b, CallArgs &a) {
  return foldSqrt(a.get("x"), a.call.getLoc(), b.context);
}

template <bool isMin>
std::optional<Val> lowerMinMax(BuiltinContext &, CallArgs &a) {
  return foldMinMax(isMin, a.get("a"), a.get("b"));
}

std::optional<Val> lowerEmbedding(BuiltinContext &b, CallArgs &a) {
  int64_t vocab = a.get("vocab").i, dim = a.get("dim").i;
  Value table;
  if (a.has("tied")) {
    // A table shared with another embedding or the output head (Marian's model.shared).
    std::optional<Value> t = b.names.tied(
        a.call, a.valueLoc("tied"), a.get("tied").s, {vocab, dim},
        "embedding(tokens, " + std::to_string(vocab) + ", " + std::to_string(dim) + ")");
    if (!t)
      return std::nullopt;
    table = *t;
  }
  std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
  if (!w)
    return std::nullopt;
  Value r = b.builder.create<attn::EmbeddingOp>(b.loc(a.call.getLoc()), b.activation(dim),
                                                table ? table : w->lookup("weight"),
                                                a.get("tokens").value);
  return Val::ofTensor(r, dim);
}

/// x plus row 0 of a [1, d] weight named by the scope alone (Marian's
/// final_logits_bias).
std::optional<Val> lowerOutputBias(BuiltinContext &b, CallArgs &a) {
  std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
  if (!w)
    return std::nullopt;
  const Val &x = a.get("x");
  mlir::Location l = b.loc(a.call.getLoc());
  Value row = b.rowForEveryToken(w->lookup(""), 0, x.width, l);
  Value r = b.builder.create<attn::AddOp>(l, x.value, row);
  return Val::ofTensor(r, x.width);
}

std::optional<Val> lowerPositionEmbedding(BuiltinContext &b, CallArgs &a) {
  std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
  if (!w)
    return std::nullopt;
  int64_t maxPos = a.get("max_pos").i, dim = a.get("dim").i;
  b.positionRows = b.positionRows ? std::min(*b.positionRows, maxPos) : maxPos;
  Value r = b.builder.create<attn::PositionEmbeddingOp>(
      b.loc(a.call.getLoc()), b.activation(dim), w->lookup("weight"), b.tokens, Value());
  return Val::ofTensor(r, dim);
}

/// Row `row` of a table for every token (BERT's token type 0): an embedding
/// lookup of ids that are all `row`.
std::optional<Val> lowerRowEmbedding(BuiltinContext &b, CallArgs &a) {
  int64_t rows = a.get("rows").i, dim = a.get("dim").i, row = a.get("row").i;
  if (row >= rows) {
    b.error(a.valueLoc("row")) << "row " << row << " of a table of " << rows << " rows";
    return std::nullopt;
  }
  std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
  if (!w)
    return std::nullopt;
  Value r = b.rowForEveryToken(w->lookup("weight"), row, dim, b.loc(a.call.getLoc()));
  return Val::ofTensor(r, dim);
}

std::optional<Val> lowerSinusoidal(BuiltinContext &b, CallArgs &a) {
  int64_t dim = a.get("dim").i;
  if (dim % 2 != 0) {
    b.error(a.valueLoc("dim")) << "sinusoidal needs an even dim, got " << dim;
    return std::nullopt;
  }
  // The original layout (sin at 2i, cos at 2i+1) is the op's default.
  attn::RopeStyle style = *attn::symbolizeRopeStyle(a.get("style").s);
  Value r = b.builder.create<attn::SinusoidalOp>(
      b.loc(a.call.getLoc()), b.activation(dim), b.tokens, Value(),
      style == attn::RopeStyle::half ? attn::RopeStyleAttr::get(&b.context, style)
                                     : attn::RopeStyleAttr());
  return Val::ofTensor(r, dim);
}

std::optional<Val> lowerLinear(BuiltinContext &b, CallArgs &a) {
  const Val &x = a.get("x");
  int64_t out = a.get("out").i;
  SmallVector<int64_t> shape{out, x.width};
  Value tiedWeight;
  if (a.has("tied")) {
    std::optional<Value> w =
        b.names.tied(a.call, a.valueLoc("tied"), a.get("tied").s, shape,
                     "linear(x, " + std::to_string(out) + ") of " + shapeOf(x.width));
    if (!w)
      return std::nullopt;
    tiedWeight = *w;
  }
  std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
  if (!w)
    return std::nullopt;
  Value weight = tiedWeight ? tiedWeight : w->lookup("weight");
  Value r = b.builder.create<attn::LinearOp>(b.loc(a.call.getLoc()), b.activation(out),
                                             x.value, weight, w->lookup("bias"));
  return Val::ofTensor(r, out);
}

/// GPT-2's Conv1D: x W + b with W stored [in, out].
std::optional<Val> lowerConv1d(BuiltinContext &b, CallArgs &a) {
  std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
  if (!w)
    return std::nullopt;
  int64_t out = a.get("out").i;
  Value r = b.builder.create<attn::LinearOp>(b.loc(a.call.getLoc()), b.activation(out),
                                             a.get("x").value, w->lookup("weight"),
                                             w->lookup("bias"), b.builder.getUnitAttr());
  return Val::ofTensor(r, out);
}

std::optional<Val> lowerSlice(BuiltinContext &b, CallArgs &a) {
  const Val &x = a.get("x");
  int64_t offset = a.get("offset").i, size = a.get("size").i;
  if (offset + size > x.width) {
    b.error(a.valueLoc("size")) << "slice(x, " << offset << ", " << size << ") reads columns ["
                                << offset << ", " << offset + size << ") of a tensor "
                                << shapeOf(x.width);
    return std::nullopt;
  }
  Value r = b.builder.create<attn::SliceLastOp>(b.loc(a.call.getLoc()), b.activation(size),
                                                x.value, b.builder.getI64IntegerAttr(offset));
  return Val::ofTensor(r, size);
}

template <typename NormOp>
std::optional<Val> lowerNorm(BuiltinContext &b, CallArgs &a) {
  const Val &x = a.get("x");
  double eps = a.get("eps").asDouble();
  if (eps < 0 || !std::isfinite(eps)) {
    b.error(a.valueLoc("eps")) << "eps of '" << a.call.callee
                               << "' must be a non-negative number, got " << formatDouble(eps);
    return std::nullopt;
  }
  std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
  if (!w)
    return std::nullopt;
  mlir::Location l = b.loc(a.call.getLoc());
  FloatAttr epsAttr = b.builder.getF64FloatAttr(eps);
  Value r;
  // Old TensorFlow-converted checkpoints name a layer norm's weights gamma and beta.
  Value scale = w->lookup("weight") ? w->lookup("weight") : w->lookup("gamma");
  if constexpr (std::is_same_v<NormOp, attn::LayerNormOp>)
    r = b.builder.create<NormOp>(l, x.value.getType(), x.value, scale,
                                 w->lookup("bias") ? w->lookup("bias") : w->lookup("beta"),
                                 epsAttr);
  else
    r = b.builder.create<NormOp>(l, x.value.getType(), x.value, scale, epsAttr);
  return Val::ofTensor(r, x.width);
}

template <typename ActivationOp>
std::optional<Val> lowerActivation(BuiltinContext &b, CallArgs &a) {
  const Val &x = a.get("x");
  Value r = b.builder.create<ActivationOp>(b.loc(a.call.getLoc()), x.value);
  return Val::ofTensor(r, x.width);
}

std::optional<Val> lowerRope(BuiltinContext &b, CallArgs &a) {
  Val v = Val::ofKind(Val::Rope);
  double theta = a.get("theta").asDouble();
  if (!(theta > 0) || !std::isfinite(theta)) {
    b.error(a.valueLoc("theta")) << "rope theta must be positive, got " << formatDouble(theta);
    return std::nullopt;
  }
  v.rope.theta = theta;
  v.rope.style = a.get("style").s;
  RopeSpec &r = v.rope;
  r.scaling = a.get("scaling").s;
  r.factor = a.get("factor").asDouble();
  r.lowFreqFactor = a.get("low_freq_factor").asDouble();
  r.highFreqFactor = a.get("high_freq_factor").asDouble();
  r.originalMaxPos = a.get("original_max_pos").i;
  r.betaFast = a.get("beta_fast").asDouble();
  r.betaSlow = a.get("beta_slow").asDouble();
  r.mscale = a.get("mscale").asDouble();
  r.mscaleAllDim = a.get("mscale_all_dim").asDouble();
  // The scaling parameters mean something only with a scaling that reads them.
  struct Reader {
    StringRef param, scalings;
  };
  static const Reader readers[] = {
      {"factor", "\"linear\", \"llama3\" or \"yarn\""},
      {"low_freq_factor", "\"llama3\""},
      {"high_freq_factor", "\"llama3\""},
      {"original_max_pos", "\"llama3\" or \"yarn\""},
      {"beta_fast", "\"yarn\""},
      {"beta_slow", "\"yarn\""},
      {"mscale", "\"yarn\""},
      {"mscale_all_dim", "\"yarn\""}};
  for (const Reader &reader : readers)
    if (a.given(reader.param) && !StringRef(reader.scalings).contains("\"" + r.scaling + "\"")) {
      b.error(a.argLoc(reader.param)) << "'" << reader.param << "' needs scaling = "
                                      << reader.scalings;
      return std::nullopt;
    }
  bool llama3 = r.scaling == "llama3";
  if (r.scaling != "none" && (!(r.factor > 0) || !std::isfinite(r.factor))) {
    b.error(a.valueLoc("factor")) << "rope scaling factor must be positive, got "
                                  << formatDouble(r.factor);
    return std::nullopt;
  }
  if (llama3 && !(r.lowFreqFactor > 0 && r.highFreqFactor > r.lowFreqFactor &&
                  std::isfinite(r.highFreqFactor))) {
    b.error(a.valueLoc("high_freq_factor"))
        << "llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor, got "
        << formatDouble(r.lowFreqFactor) << " and " << formatDouble(r.highFreqFactor);
    return std::nullopt;
  }
  if (r.scaling == "yarn" &&
      !(r.betaSlow > 0 && r.betaFast > r.betaSlow && std::isfinite(r.betaFast) &&
        std::isfinite(r.mscale) && std::isfinite(r.mscaleAllDim))) {
    b.error(a.valueLoc("beta_fast")) << "yarn rope scaling needs 0 < beta_slow < beta_fast, got "
                                     << formatDouble(r.betaSlow) << " and "
                                     << formatDouble(r.betaFast);
    return std::nullopt;
  }
  return v;
}

std::optional<Val> lowerMla(BuiltinContext &b, CallArgs &a) {
  if (a.get("split_kv_b").b && !a.get("gguf").b) {
    b.error(a.valueLoc("split_kv_b"))
        << "split_kv_b (attn_k_b and attn_v_b) names ggml tensors: it needs gguf = true";
    return std::nullopt;
  }
  Val v = Val::ofKind(Val::Mla);
  v.mla = {a.get("kv_rank").i, a.get("rope_dim").i, a.get("nope_dim").i, a.get("v_dim").i,
           a.get("q_rank").i, a.get("gguf").b, a.get("split_kv_b").b};
  return v;
}

/// kv_b_proj [heads*(nope+v), kv_rank] from the split up-projections of newer
/// llama.cpp converters (convert_hf_to_gguf.py's DeepseekV2Model views kv_b as
/// [heads, nope+v, kv_rank], splits it into k_b [heads, nope, kv_rank] and v_b,
/// and writes k_b transposed, [heads, kv_rank, nope]): per head, k_b
/// transposed back, then v_b, the rows stacked. attn-latent uses k_b and v_b
/// as they are (AbsorbLatentAttention), so only the unabsorbed path
/// (--no-latent) builds this tensor.
Value kvBFromSplit(OpBuilder &builder, mlir::Location l, Value kB, Value vB, int64_t heads,
                   int64_t kvRank, int64_t nope, int64_t vDim) {
  Type f32 = builder.getF32Type();
  auto kT = builder.create<tensor::EmptyOp>(l, ArrayRef<int64_t>{heads, nope, kvRank}, f32);
  Value kUp = builder.create<linalg::TransposeOp>(l, kB, kT, ArrayRef<int64_t>{0, 2, 1})->getResult(0);
  Value perHead = builder.create<tensor::EmptyOp>(l, ArrayRef<int64_t>{heads, nope + vDim, kvRank}, f32);
  auto put = [&](Value part, Value into, int64_t row, int64_t rows) -> Value {
    return builder.create<tensor::InsertSliceOp>(
        l, part, into, ValueRange{}, ValueRange{}, ValueRange{},
        builder.getDenseI64ArrayAttr({0, row, 0}), builder.getDenseI64ArrayAttr({heads, rows, kvRank}),
        builder.getDenseI64ArrayAttr({1, 1, 1}));
  };
  perHead = put(vB, put(kUp, perHead, 0, nope), nope, vDim);
  return builder.create<tensor::CollapseShapeOp>(
      l, RankedTensorType::get({heads * (nope + vDim), kvRank}, f32), perHead,
      ArrayRef<ReassociationIndices>{{0, 1}, {2}});
}

/// The attributes of a `rope` argument (all null without one).
struct RopeAttrs {
  FloatAttr theta;
  attn::RopeStyleAttr style;
  attn::RopeScalingAttr scaling;
};

RopeAttrs ropeAttrs(OpBuilder &builder, CallArgs &a) {
  if (!a.has("rope"))
    return {};
  const RopeSpec &rope = a.get("rope").rope;
  MLIRContext *ctx = builder.getContext();
  RopeAttrs attrs{builder.getF64FloatAttr(rope.theta),
                  attn::RopeStyleAttr::get(ctx, *attn::symbolizeRopeStyle(rope.style)), {}};
  bool yarn = rope.scaling == "yarn";
  auto yarnParameter = [&](double v) { return yarn ? builder.getF64FloatAttr(v) : FloatAttr(); };
  if (rope.scaling != "none")
    attrs.scaling = attn::RopeScalingAttr::get(
        ctx, *attn::symbolizeRopeScalingKind(rope.scaling), builder.getF64FloatAttr(rope.factor),
        builder.getF64FloatAttr(rope.lowFreqFactor), builder.getF64FloatAttr(rope.highFreqFactor),
        rope.originalMaxPos, yarnParameter(rope.betaFast), yarnParameter(rope.betaSlow),
        yarnParameter(rope.mscale), yarnParameter(rope.mscaleAllDim));
  return attrs;
}

/// The checks attention and attend share: kv_heads divides heads, a window
/// only on causal attention, window_from only with a window, in a layer loop
/// and below its layer count, the same for every attention of the loop (which
/// MLIRGen splits there: LoopState::windowFrom). False after an error.
bool checkHeadsAndWindow(BuiltinContext &b, CallArgs &a, int64_t heads, int64_t kvHeads) {
  if (heads % kvHeads != 0) {
    b.error(a.valueLoc(a.given("kv_heads") ? "kv_heads" : "heads"))
        << "heads (" << heads << ") must be divisible by kv_heads (" << kvHeads << ")";
    return false;
  }
  if (a.has("window") && !a.get("causal").b) {
    b.error(a.valueLoc("window")) << "a sliding window needs causal = true";
    return false;
  }
  if (!a.has("window_from"))
    return true;
  int64_t from = a.get("window_from").i;
  std::optional<LoopState> &loop = b.names.loop;
  if (!a.has("window")) {
    b.error(a.valueLoc("window_from")) << "window_from needs a window";
    return false;
  }
  if (!loop) {
    b.error(a.valueLoc("window_from")) << "window_from is only meaningful in a layer loop";
    return false;
  }
  if (from >= loop->tripCount) {
    b.error(a.valueLoc("window_from"))
        << "window_from (" << from << ") must be below the loop's layer count ("
        << loop->tripCount << ")";
    return false;
  }
  if (loop->windowFrom && *loop->windowFrom != from) {
    b.error(a.valueLoc("window_from"))
        << "window_from (" << from << ") differs from the loop's other attention ("
        << *loop->windowFrom << ")";
    return false;
  }
  loop->windowFrom = from;
  return true;
}

/// attend(q, k, v, heads, ...): the attention of already projected queries,
/// keys and values, built at the head level (split, rope, shared K/V heads
/// replicated, sdpa, merge) as tfc-attn-decompose builds it from
/// attn.attention, so that the KV-cache and GQA passes apply alike.
std::optional<Val> lowerAttend(BuiltinContext &b, CallArgs &a) {
  const Val &q = a.get("q"), &k = a.get("k"), &v = a.get("v");
  int64_t heads = a.get("heads").i;
  int64_t kvHeads = a.has("kv_heads") ? a.get("kv_heads").i : heads;
  bool causal = a.get("causal").b;
  if (!checkHeadsAndWindow(b, a, heads, kvHeads))
    return std::nullopt;
  if (q.width % heads != 0) {
    b.error(a.valueLoc("q")) << "the width of q (" << q.width << ") must be a multiple of heads ("
                             << heads << ")";
    return std::nullopt;
  }
  int64_t headDim = q.width / heads;
  if (k.width != kvHeads * headDim) {
    b.error(a.valueLoc("k")) << "k must be [n, kv_heads * " << headDim << "] = "
                             << shapeOf(kvHeads * headDim) << ", got " << shapeOf(k.width);
    return std::nullopt;
  }
  if (v.width % kvHeads != 0) {
    b.error(a.valueLoc("v")) << "the width of v (" << v.width
                             << ") must be a multiple of kv_heads (" << kvHeads << ")";
    return std::nullopt;
  }
  RopeAttrs rope = ropeAttrs(b.builder, a);
  if (rope.scaling && rope.scaling.getKind() == attn::RopeScalingKind::yarn) {
    b.error(a.valueLoc("rope")) << "rope scaling \"yarn\" needs latent attention";
    return std::nullopt;
  }
  if (rope.theta && headDim % 2 != 0) {
    b.error(a.valueLoc("rope")) << "rope needs an even head_dim, got " << headDim;
    return std::nullopt;
  }
  OpBuilder &builder = b.builder;
  mlir::Location l = b.loc(a.call.getLoc());
  auto headsType = [&](int64_t h, int64_t d) {
    return RankedTensorType::get({h, ShapedType::kDynamic, d}, builder.getF32Type());
  };
  int64_t valueDim = v.width / kvHeads;
  Value qh = builder.create<attn::SplitHeadsOp>(l, headsType(heads, headDim), q.value);
  Value kh = builder.create<attn::SplitHeadsOp>(l, headsType(kvHeads, headDim), k.value);
  Value vh = builder.create<attn::SplitHeadsOp>(l, headsType(kvHeads, valueDim), v.value);
  if (rope.theta) {
    qh = builder.create<attn::RopeOp>(l, qh.getType(), qh, Value(), rope.theta, rope.style,
                                      rope.scaling);
    kh = builder.create<attn::RopeOp>(l, kh.getType(), kh, Value(), rope.theta, rope.style,
                                      rope.scaling);
  }
  if (kvHeads != heads) {
    kh = builder.create<attn::RepeatKVOp>(l, headsType(heads, headDim), kh);
    vh = builder.create<attn::RepeatKVOp>(l, headsType(heads, valueDim), vh);
  }
  Value o = builder.create<attn::SDPAOp>(
      l, headsType(heads, valueDim), qh, kh, vh, builder.getI64IntegerAttr(heads),
      builder.getI64IntegerAttr(heads), causal ? builder.getUnitAttr() : UnitAttr(),
      builder.getF64FloatAttr(1.0 / std::sqrt(static_cast<double>(headDim))),
      /*tiling=*/nullptr,
      a.has("window") ? builder.getI64IntegerAttr(a.get("window").i) : IntegerAttr());
  Value r = builder.create<attn::MergeHeadsOp>(l, b.activation(heads * valueDim), o);
  return Val::ofTensor(r, heads * valueDim);
}

std::optional<Val> lowerAttention(BuiltinContext &b, CallArgs &a) {
  const Val &x = a.get("x");
  int64_t dim = x.width;
  int64_t heads = a.get("heads").i;
  bool causal = a.get("causal").b;
  OpBuilder &builder = b.builder;
  RopeAttrs rope = ropeAttrs(builder, a);
  FloatAttr ropeTheta = rope.theta;
  attn::RopeStyleAttr ropeStyle = rope.style;
  attn::RopeScalingAttr ropeScaling = rope.scaling;
  UnitAttr causalAttr = causal ? builder.getUnitAttr() : UnitAttr();
  mlir::Location l = b.loc(a.call.getLoc());

  // yarn is DeepSeek-V2's: its mscale also scales the latent attention's softmax.
  if (ropeScaling && (ropeScaling.getKind() == attn::RopeScalingKind::yarn) != a.has("latent")) {
    b.error(a.valueLoc("rope")) << (a.has("latent")
                                        ? "latent attention supports rope scaling \"yarn\" only"
                                        : "rope scaling \"yarn\" needs latent attention");
    return std::nullopt;
  }
  if (a.has("latent")) {
    for (StringRef p : {"kv_heads", "head_dim", "memory", "bias", "out_bias", "window"})
      if (a.given(p)) {
        b.error(a.argLoc(p)) << "'" << p << "' cannot be combined with latent attention";
        return std::nullopt;
      }
    const MlaSpec &s = a.get("latent").mla;
    if (ropeTheta && s.ropeDim % 2 != 0) {
      b.error(a.valueLoc("rope")) << "rope needs an even rope_dim, got " << s.ropeDim;
      return std::nullopt;
    }
    a.dims["kv_rank"] = s.kvRank;
    a.dims["rope_dim"] = s.ropeDim;
    a.dims["nope_dim"] = s.nopeDim;
    a.dims["v_dim"] = s.vDim;
    a.dims["q_rank"] = s.qRank;
    a.dims["gguf"] = s.gguf;
    a.dims["split_kv_b"] = s.splitKvB;
    std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
    if (!w)
      return std::nullopt;
    // The weight of Hugging Face name `hf`, or of ggml name `gguf` with mla(gguf = true).
    auto weight = [&](const char *hf, const char *gguf) {
      return w->lookup((Twine(s.gguf ? gguf : hf) + ".weight").str());
    };
    SmallVector<Value> q;
    if (s.qRank == 0)
      q.push_back(weight("q_proj", "attn_q"));
    else
      q.append({weight("q_a_proj", "attn_q_a"), weight("q_a_layernorm", "attn_q_a_norm"),
                weight("q_b_proj", "attn_q_b")});
    Value kvB = s.splitKvB ? kvBFromSplit(builder, l, weight("", "attn_k_b"), weight("", "attn_v_b"),
                                          heads, s.kvRank, s.nopeDim, s.vDim)
                           : weight("kv_b_proj", "attn_kv_b");
    Value r = builder.create<attn::LatentAttentionOp>(
        l, b.activation(dim), x.value, q, weight("kv_a_proj_with_mqa", "attn_kv_a_mqa"),
        weight("kv_a_layernorm", "attn_kv_a_norm"), kvB,
        weight("o_proj", "attn_output"), builder.getI64IntegerAttr(heads),
        builder.getI64IntegerAttr(s.kvRank), builder.getI64IntegerAttr(s.ropeDim),
        builder.getI64IntegerAttr(s.nopeDim), builder.getI64IntegerAttr(s.vDim),
        builder.getI64IntegerAttr(s.qRank), causalAttr, ropeTheta, ropeStyle, ropeScaling);
    return Val::ofTensor(r, dim);
  }

  int64_t kvHeads = a.has("kv_heads") ? a.get("kv_heads").i : heads;
  if (!checkHeadsAndWindow(b, a, heads, kvHeads))
    return std::nullopt;
  int64_t headDim;
  if (a.has("head_dim")) {
    headDim = a.get("head_dim").i;
  } else {
    if (dim % heads != 0) {
      b.error(a.valueLoc("heads")) << "head_dim defaults to dim / heads, but " << dim << " / "
                                   << heads << " does not divide evenly; give head_dim";
      return std::nullopt;
    }
    headDim = dim / heads;
  }
  if (ropeTheta && headDim % 2 != 0) {
    b.error(a.valueLoc("rope")) << "rope needs an even head_dim, got " << headDim;
    return std::nullopt;
  }
  Value memory;
  if (a.has("memory")) {
    if (causal) {
      b.error(a.valueLoc("causal")) << "cross-attention over a memory cannot be causal";
      return std::nullopt;
    }
    memory = a.get("memory").value;
  } else {
    a.dims["d_mem"] = dim;
  }
  a.dims["kv_heads"] = kvHeads;
  a.dims["head_dim"] = headDim;
  if (!a.given("out_bias"))
    a.dims["out_bias"] = a.get("bias").b;
  std::optional<llvm::StringMap<Value>> w = b.createWeights(a);
  if (!w)
    return std::nullopt;
  static const char *const projs[] = {"q_proj", "k_proj", "v_proj", "o_proj"};
  Value ws[4], bs[4];
  for (auto [k, proj] : llvm::enumerate(projs)) {
    ws[k] = w->lookup((Twine(proj) + ".weight").str());
    bs[k] = w->lookup((Twine(proj) + ".bias").str());
  }
  Value r = builder.create<attn::AttentionOp>(
      l, b.activation(dim), x.value, memory, ws[0], ws[1], ws[2], ws[3], bs[0], bs[1], bs[2],
      bs[3], builder.getI64IntegerAttr(heads), builder.getI64IntegerAttr(kvHeads),
      builder.getI64IntegerAttr(headDim), causalAttr, ropeTheta, ropeStyle, ropeScaling,
      a.has("window") ? builder.getI64IntegerAttr(a.get("window").i) : IntegerAttr());
  return Val::ofTensor(r, dim);
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

ParamSpec required(const char *name, ParamType type, const char *width = nullptr) {
  return {name, type, /*required=*/true, std::nullopt, nullptr, width};
}
ParamSpec withDefault(const char *name, ParamType type, Val value) {
  return {name, type, false, std::move(value), nullptr, nullptr};
}
/// Absent unless given (`none` in the reference).
ParamSpec none(const char *name, ParamType type, const char *width = nullptr) {
  return {name, type, false, std::nullopt, nullptr, width};
}
/// Computed by the lowering from the other arguments unless given.
ParamSpec derived(const char *name, ParamType type, const char *how) {
  return {name, type, false, std::nullopt, how, nullptr};
}

using PT = ParamType;

const std::vector<BuiltinSpec> &table() {
  static const std::vector<BuiltinSpec> builtins = {
      {"sqrt", InConfig | InFunctions, {required("x", PT::Operand)}, "a decimal", {}, lowerSqrt},
      {"min", InConfig | InFunctions,
       {required("a", PT::Operand), required("b", PT::Operand)},
       "the smaller (an integer if both are)", {}, lowerMinMax<true>},
      {"max", InConfig | InFunctions,
       {required("a", PT::Operand), required("b", PT::Operand)},
       "the larger (an integer if both are)", {}, lowerMinMax<false>},
      {"embedding", InFunctions,
       {required("tokens", PT::Tokens), required("vocab", PT::Size), required("dim", PT::Size),
        none("tied", PT::WeightName)},
       "`[n, dim]`, one table row per token", {{"weight", "[vocab, dim]", "!tied"}},
       lowerEmbedding},
      {"position_embedding", InFunctions,
       {required("max_pos", PT::Size), required("dim", PT::Size)},
       "`[n, dim]`, rows of the positions", {{"weight", "[max_pos, dim]"}},
       lowerPositionEmbedding},
      {"row_embedding", InFunctions,
       {required("rows", PT::Size), required("dim", PT::Size),
        withDefault("row", PT::Count, Val::ofInt(0))},
       "`[n, dim]`, table row `row` for every token (BERT's token type 0)",
       {{"weight", "[rows, dim]"}}, lowerRowEmbedding},
      {"sinusoidal", InFunctions,
       {required("dim", PT::Size), withDefault("style", PT::RopeStyle, Val::ofStr("interleaved"))},
       "`[n, dim]`, `sin(p/10000^(2i/dim))` at `2i`, `cos` at `2i+1` (`\"interleaved\"`), or at "
       "`i` and `i + dim/2` (`\"half\"`, Marian); dim even",
       {}, lowerSinusoidal},
      {"linear", InFunctions,
       {required("x", PT::Tensor, "d"), required("out", PT::Size),
        withDefault("bias", PT::Bool, Val::ofBool(false)), none("tied", PT::WeightName)},
       "`[n, out]`", {{"weight", "[out, d]", "!tied"}, {"bias", "[out]", "bias"}}, lowerLinear},
      {"conv1d", InFunctions, {required("x", PT::Tensor, "d"), required("out", PT::Size)},
       "`[n, out]`: `x W + b`, W stored `[in, out]` (GPT-2's Conv1D)",
       {{"weight", "[d, out]"}, {"bias", "[out]"}}, lowerConv1d},
      {"slice", InFunctions,
       {required("x", PT::Tensor), required("offset", PT::Count), required("size", PT::Size)},
       "`[n, size]`: columns `[offset, offset + size)`", {}, lowerSlice},
      {"output_bias", InFunctions, {required("x", PT::Tensor, "d")},
       "`[n, d]`: x plus a `[1, d]` bias named by the scope alone (Marian's final_logits_bias)",
       {{"", "[1, d]"}}, lowerOutputBias},
      {"rms_norm", InFunctions, {required("x", PT::Tensor, "d"), required("eps", PT::Number)},
       "`[n, d]`", {{"weight", "[d]"}}, lowerNorm<attn::RMSNormOp>},
      {"layer_norm", InFunctions,
       {required("x", PT::Tensor, "d"), required("eps", PT::Number),
        withDefault("gamma_beta", PT::Bool, Val::ofBool(false))},
       "`[n, d]`",
       {{"weight", "[d]", "!gamma_beta"},
        {"bias", "[d]", "!gamma_beta"},
        {"gamma", "[d]", "gamma_beta"},
        {"beta", "[d]", "gamma_beta"}},
       lowerNorm<attn::LayerNormOp>},
      {"relu", InFunctions, {required("x", PT::Tensor)}, "`[n, d]`", {},
       lowerActivation<attn::ReluOp>},
      {"gelu", InFunctions, {required("x", PT::Tensor)}, "`[n, d]` (erf)", {},
       lowerActivation<attn::GeluOp>},
      {"gelu_tanh", InFunctions, {required("x", PT::Tensor)}, "`[n, d]`", {},
       lowerActivation<attn::GeluTanhOp>},
      {"silu", InFunctions, {required("x", PT::Tensor)}, "`[n, d]`", {},
       lowerActivation<attn::SiluOp>},
      {"attention", InFunctions,
       {required("x", PT::Tensor, "d"), required("heads", PT::Size),
        derived("kv_heads", PT::Size, "heads"), derived("head_dim", PT::Size, "d / heads"),
        withDefault("causal", PT::Bool, Val::ofBool(false)), none("rope", PT::Rope),
        none("memory", PT::Tensor, "d_mem"),
        withDefault("bias", PT::Bool, Val::ofBool(false)), none("latent", PT::Mla),
        derived("out_bias", PT::Bool, "bias"), none("window", PT::Size),
        none("window_from", PT::Count)},
       "`[n, d]`",
       {{"q_proj.weight", "[heads*head_dim, d]", "!latent"},
        {"q_proj.bias", "[heads*head_dim]", "bias"},
        {"k_proj.weight", "[kv_heads*head_dim, d_mem]", "!latent"},
        {"k_proj.bias", "[kv_heads*head_dim]", "bias"},
        {"v_proj.weight", "[kv_heads*head_dim, d_mem]", "!latent"},
        {"v_proj.bias", "[kv_heads*head_dim]", "bias"},
        {"o_proj.weight", "[d, heads*head_dim]", "!latent"},
        {"o_proj.bias", "[d]", "out_bias"},
        {"q_proj.weight", "[heads*(nope_dim+rope_dim), d]", "latent && !gguf && !q_rank"},
        {"q_a_proj.weight", "[q_rank, d]", "latent && !gguf && q_rank"},
        {"q_a_layernorm.weight", "[q_rank]", "latent && !gguf && q_rank"},
        {"q_b_proj.weight", "[heads*(nope_dim+rope_dim), q_rank]", "latent && !gguf && q_rank"},
        {"kv_a_proj_with_mqa.weight", "[kv_rank+rope_dim, d]", "latent && !gguf"},
        {"kv_a_layernorm.weight", "[kv_rank]", "latent && !gguf"},
        {"kv_b_proj.weight", "[heads*(nope_dim+v_dim), kv_rank]", "latent && !gguf"},
        {"o_proj.weight", "[d, heads*v_dim]", "latent && !gguf"},
        // The same weights under ggml's names (a deepseek2 GGUF file, mla(gguf = true)).
        {"attn_q.weight", "[heads*(nope_dim+rope_dim), d]", "latent && gguf && !q_rank"},
        {"attn_q_a.weight", "[q_rank, d]", "latent && gguf && q_rank"},
        {"attn_q_a_norm.weight", "[q_rank]", "latent && gguf && q_rank"},
        {"attn_q_b.weight", "[heads*(nope_dim+rope_dim), q_rank]", "latent && gguf && q_rank"},
        {"attn_kv_a_mqa.weight", "[kv_rank+rope_dim, d]", "latent && gguf"},
        {"attn_kv_a_norm.weight", "[kv_rank]", "latent && gguf"},
        {"attn_kv_b.weight", "[heads*(nope_dim+v_dim), kv_rank]", "latent && gguf && !split_kv_b"},
        {"attn_k_b.weight", "[heads, kv_rank, nope_dim]", "latent && gguf && split_kv_b"},
        {"attn_v_b.weight", "[heads, v_dim, kv_rank]", "latent && gguf && split_kv_b"},
        {"attn_output.weight", "[d, heads*v_dim]", "latent && gguf"}},
       lowerAttention},
      {"attend", InFunctions,
       {required("q", PT::Tensor), required("k", PT::Tensor), required("v", PT::Tensor),
        required("heads", PT::Size), derived("kv_heads", PT::Size, "heads"),
        withDefault("causal", PT::Bool, Val::ofBool(false)), none("rope", PT::Rope),
        none("window", PT::Size), none("window_from", PT::Count)},
       "`[n, heads*dv]`: attention of projected `q [n, heads*hd]`, `k [m, kv_heads*hd]`, "
       "`v [m, kv_heads*dv]`",
       {}, lowerAttend},
      {"rope", InFunctions,
       {withDefault("theta", PT::Number, Val::ofFloat(10000.0)),
        withDefault("style", PT::RopeStyle, Val::ofStr("half")),
        withDefault("scaling", PT::RopeScaling, Val::ofStr("none")),
        withDefault("factor", PT::Number, Val::ofFloat(1.0)),
        withDefault("low_freq_factor", PT::Number, Val::ofFloat(1.0)),
        withDefault("high_freq_factor", PT::Number, Val::ofFloat(4.0)),
        withDefault("original_max_pos", PT::Size, Val::ofInt(8192)),
        withDefault("beta_fast", PT::Number, Val::ofFloat(32.0)),
        withDefault("beta_slow", PT::Number, Val::ofFloat(1.0)),
        withDefault("mscale", PT::Number, Val::ofFloat(1.0)),
        withDefault("mscale_all_dim", PT::Number, Val::ofFloat(0.0))},
       "rope descriptor", {}, lowerRope},
      {"mla", InFunctions,
       {required("kv_rank", PT::Size), required("rope_dim", PT::Size),
        required("nope_dim", PT::Size), required("v_dim", PT::Size),
        withDefault("q_rank", PT::Count, Val::ofInt(0)),
        withDefault("gguf", PT::Bool, Val::ofBool(false)),
        withDefault("split_kv_b", PT::Bool, Val::ofBool(false))},
       "latent descriptor", {}, lowerMla},
      {"moe", InFunctions,
       {required("x", PT::Tensor, "d"), required("experts", PT::Size), required("top_k", PT::Size),
        required("ffn", PT::Size), withDefault("topk_method", PT::MoeTopK, Val::ofStr("greedy")),
        withDefault("n_group", PT::Size, Val::ofInt(1)),
        withDefault("topk_group", PT::Size, Val::ofInt(1)),
        withDefault("norm_topk_prob", PT::Bool, Val::ofBool(false)),
        withDefault("routed_scaling_factor", PT::Number, Val::ofFloat(1.0)),
        withDefault("shared_experts", PT::Count, Val::ofInt(0)),
        withDefault("w123", PT::Bool, Val::ofBool(false)),
        withDefault("gguf", PT::Bool, Val::ofBool(false)),
        withDefault("scoring_func", PT::MoeScoring, Val::ofStr("softmax"))},
       "`[n, d]`: the routed SwiGLU experts weighted by the router, plus the shared experts",
       {{"gate.weight", "[experts, d]", "!gguf"},
        // DeepSeek-V3's selection bias (topk_method = "noaux_tc").
        {"gate.e_score_correction_bias", "[experts]", "noaux_tc && !gguf"},
        {"experts.{j}.gate_proj.weight", "[ffn, d]", "!w123 && !gguf"},
        {"experts.{j}.up_proj.weight", "[ffn, d]", "!w123 && !gguf"},
        {"experts.{j}.down_proj.weight", "[d, ffn]", "!w123 && !gguf"},
        {"experts.{j}.w1.weight", "[ffn, d]", "w123"},
        {"experts.{j}.w3.weight", "[ffn, d]", "w123"},
        {"experts.{j}.w2.weight", "[d, ffn]", "w123"},
        {"shared_experts.gate_proj.weight", "[shared_experts*ffn, d]", "shared_experts && !gguf"},
        {"shared_experts.up_proj.weight", "[shared_experts*ffn, d]", "shared_experts && !gguf"},
        {"shared_experts.down_proj.weight", "[d, shared_experts*ffn]", "shared_experts && !gguf"},
        // ggml's names: the router, and one 3-D tensor per projection holding every
        // expert, of which `[{j}]` names expert j's matrix (used in place).
        {"ffn_gate_inp.weight", "[experts, d]", "gguf"},
        {"exp_probs_b.bias", "[experts]", "noaux_tc && gguf"},
        {"ffn_gate_exps.weight[{j}]", "[ffn, d]", "gguf"},
        {"ffn_up_exps.weight[{j}]", "[ffn, d]", "gguf"},
        {"ffn_down_exps.weight[{j}]", "[d, ffn]", "gguf"},
        {"ffn_gate_shexp.weight", "[shared_experts*ffn, d]", "shared_experts && gguf"},
        {"ffn_up_shexp.weight", "[shared_experts*ffn, d]", "shared_experts && gguf"},
        {"ffn_down_shexp.weight", "[d, shared_experts*ffn]", "shared_experts && gguf"}},
       lowerMoE},
  };
  return builtins;
}

//===----------------------------------------------------------------------===//
// The reference (docs/tdsl.md)
//===----------------------------------------------------------------------===//

/// A default as tdsl source spells it.
std::string spellDefault(const ParamSpec &p) {
  if (p.derivedDefault)
    return p.derivedDefault;
  if (!p.defaultValue)
    return "none";
  const Val &v = *p.defaultValue;
  switch (v.kind) {
  case Val::Int: return std::to_string(v.i);
  case Val::Bool: return v.b ? "true" : "false";
  case Val::Str: return "\"" + v.s + "\"";
  case Val::Float: // as a decimal literal: 10000.0
    if (v.f == std::trunc(v.f) && std::fabs(v.f) < 1e15)
      return std::to_string(int64_t(v.f)) + ".0";
    return formatDouble(v.f);
  default: llvm_unreachable("defaults are scalars");
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Table access, binding, weights
//===----------------------------------------------------------------------===//

ArrayRef<BuiltinSpec> builtinTable() { return table(); }

const BuiltinSpec *lookupBuiltin(StringRef name) {
  for (const BuiltinSpec &spec : table())
    if (name == spec.name)
      return &spec;
  return nullptr;
}

std::string configBuiltinList() {
  SmallVector<StringRef> names;
  for (const BuiltinSpec &spec : table())
    if (spec.where & InConfig)
      names.push_back(spec.name);
  std::string list;
  for (auto [k, name] : llvm::enumerate(names))
    list += (k == 0 ? "" : k + 1 == names.size() ? " and " : ", ") + name.str();
  return list;
}

unsigned CallArgs::index(StringRef param) const {
  for (auto [k, p] : llvm::enumerate(spec.params))
    if (param == p.name)
      return k;
  llvm::report_fatal_error("builtin '" + Twine(spec.name) + "' has no parameter '" + param + "'");
}

const Location &CallArgs::valueLoc(StringRef param) const {
  const ExprAST *e = exprs[index(param)];
  return e ? e->getLoc() : call.getLoc();
}

std::optional<CallArgs> bindArgs(const CallExprAST &call, const BuiltinSpec &spec,
                                 ExprEvaluator eval, MLIRContext &context) {
  ArrayRef<ParamSpec> params = spec.params;
  auto error = [&](const Location &l) { return errorAt(context, l); };
  CallArgs args{call, spec, {}, {}, {}, {}};
  args.exprs.assign(params.size(), nullptr);
  args.locs.assign(params.size(), call.getLoc());
  if (call.args.size() > params.size()) {
    error(call.args[params.size()]->getLoc())
        << "'" << call.callee << "' takes at most " << params.size() << " argument"
        << (params.size() == 1 ? "" : "s") << ", got " << call.args.size();
    return std::nullopt;
  }
  for (auto [k, a] : llvm::enumerate(call.args)) {
    args.exprs[k] = a.get();
    args.locs[k] = a->getLoc();
  }
  for (const KeywordArgAST &kw : call.keywords) {
    auto it = llvm::find_if(params, [&](const ParamSpec &p) { return kw.name == p.name; });
    if (it == params.end()) {
      auto diag = error(kw.loc);
      diag << "'" << call.callee << "' has no argument named '" << kw.name << "' (arguments: ";
      llvm::interleaveComma(params, diag, [&](const ParamSpec &p) { diag << p.name; });
      diag << ")";
      return std::nullopt;
    }
    size_t k = it - params.begin();
    if (args.exprs[k]) {
      error(kw.loc) << "argument '" << kw.name << "' of '" << call.callee
                    << "' is given twice";
      return std::nullopt;
    }
    args.exprs[k] = kw.value.get();
    args.locs[k] = kw.loc;
  }
  for (auto [k, p] : llvm::enumerate(params))
    if (p.required && !args.exprs[k]) {
      error(call.getLoc()) << "missing argument '" << p.name << "' of '" << call.callee << "'";
      return std::nullopt;
    }

  // Evaluated in parameter order whatever the order in the source.
  for (auto [k, p] : llvm::enumerate(params)) {
    if (args.exprs[k]) {
      std::optional<Val> v = eval(*args.exprs[k]);
      if (!v || !checkType(*v, p.type, p.name, call, args.exprs[k]->getLoc(), context))
        return std::nullopt;
      args.values.push_back(std::move(*v));
    } else {
      args.values.push_back(p.defaultValue);
    }
    const std::optional<Val> &v = args.values.back();
    int64_t &dim = args.dims[p.name];
    if (!v)
      dim = 0;
    else if (v->kind == Val::Int)
      dim = v->i;
    else if (v->kind == Val::Bool)
      dim = v->b;
    else
      dim = 1;
    if (p.width && v)
      args.dims[p.width] = v->width;
  }
  return args;
}

Value BuiltinContext::rowForEveryToken(Value table, int64_t row, int64_t width,
                                       mlir::Location l) {
  // An embedding lookup of ids that are all `row`, as many as the tokens.
  Value n = builder.create<tensor::DimOp>(l, tokens, 0);
  Value empty = builder.create<tensor::EmptyOp>(l, ArrayRef<OpFoldResult>{n},
                                                builder.getI32Type());
  Value rowId = builder.create<arith::ConstantIntOp>(l, row, 32);
  Value ids = builder.create<linalg::FillOp>(l, rowId, empty).getResult(0);
  return builder.create<attn::EmbeddingOp>(l, activation(width), table, ids);
}

std::optional<llvm::StringMap<Value>> BuiltinContext::createWeights(const CallArgs &args) {
  llvm::StringMap<Value> created;
  std::optional<std::string> prefix;
  for (const WeightSpec &w : args.spec.weights) {
    if (!holds(w.when, args.dims))
      continue;
    // Only a call that creates a weight needs (and checks) its scope.
    if (!prefix && !(prefix = names.weightPrefix(args.call)))
      return std::nullopt;
    // A suffix with the expert index names one tensor per expert.
    int64_t experts = StringRef(w.suffix).contains(kExpertIndex) ? dimNamed("experts", args.dims) : 0;
    std::optional<Value> v =
        names.weight(args.call, *prefix, w.suffix, evalShape(w.shape, args.dims), experts);
    if (!v)
      return std::nullopt;
    created[w.suffix] = *v;
  }
  return created;
}

} // namespace tfc::frontend

void tfc::printBuiltinReference(llvm::raw_ostream &os) {
  using namespace tfc::frontend;
  os << "| builtin | in | result | weights |\n|---|---|---|---|\n";
  for (const BuiltinSpec &spec : builtinTable()) {
    os << "| `" << spec.name << "(";
    llvm::interleaveComma(spec.params, os, [&](const ParamSpec &p) {
      os << p.name << ": " << typeInfo(p.type).doc;
      if (!p.required)
        os << " = " << spellDefault(p);
    });
    os << ")` | " << (spec.where & InConfig ? "config, functions" : "functions") << " | "
       << spec.result << " | ";
    if (spec.weights.empty())
      os << "none";
    llvm::interleave(
        spec.weights, os,
        [&](const WeightSpec &w) {
          if (*w.suffix)
            os << "`." << w.suffix << " " << w.shape << "`";
          else
            os << "the scope itself `" << w.shape << "`";
          if (w.when)
            os << " if `" << w.when << "`";
        },
        ", ");
    os << " |\n";
  }
  os << "\nParameter types:\n\n";
  // Operand reads as `number` too; only its error message differs.
  for (ParamType type : {PT::Tensor, PT::Tokens, PT::Size, PT::Count, PT::Number, PT::Bool,
                         PT::WeightName, PT::RopeStyle, PT::RopeScaling, PT::Rope, PT::Mla,
                         PT::MoeTopK, PT::MoeScoring}) {
    TypeInfo info = typeInfo(type);
    os << "* `" << info.doc << "`: " << info.legend << "\n";
  }
}
