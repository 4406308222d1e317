//===- Values.h - What tdsl expressions evaluate to -------------*- C++ -*-===//
//
// The vocabulary the parts of the front end share (internal to
// compiler/lib/Frontend): Val, what an expression evaluates to (a compile-time
// scalar, the token ids, an activation, a rope or mla descriptor); the size
// limits every check uses; and how values and shapes read in diagnostics, so
// that ConstEval, WeightNames, Builtins and MLIRGen word their errors alike.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_LIB_FRONTEND_VALUES_H
#define TFC_LIB_FRONTEND_VALUES_H

#include "tfc/Frontend/Lexer.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <string>

namespace tfc::frontend {

/// Largest size accepted for any dimension or count, so that products of a
/// few of them cannot overflow int64_t.
constexpr int64_t kMaxSize = int64_t(1) << 24;
/// max_seq of a model that gives neither max_seq nor a position_embedding.
constexpr int64_t kDefaultMaxSeq = 2048;

struct RopeSpec {
  double theta = 10000.0;
  std::string style = "half";
  /// "none", or a #attn.rope_scaling kind ("linear", "llama3", "yarn") with
  /// its parameters (llama3 reads all four, linear only the factor, yarn the
  /// factor, original_max_pos and its own four).
  std::string scaling = "none";
  double factor = 1.0, lowFreqFactor = 1.0, highFreqFactor = 4.0;
  int64_t originalMaxPos = 8192;
  /// yarn's (DeepSeek-V2's DeepseekV2YarnRotaryEmbedding).
  double betaFast = 32.0, betaSlow = 1.0, mscale = 1.0, mscaleAllDim = 0.0;
};

struct MlaSpec {
  int64_t kvRank = 0, ropeDim = 0, nopeDim = 0, vDim = 0, qRank = 0;
  /// The weights carry ggml's names (attn_q_a, attn_kv_b, ...): mla(gguf = true).
  bool gguf = false;
  /// The key and value up-projections are two tensors, attn_k_b [heads,
  /// kv_rank, nope_dim] and attn_v_b [heads, v_dim, kv_rank], as newer
  /// llama.cpp converters split attn_kv_b: mla(gguf = true, split_kv_b = true).
  bool splitKvB = false;
};

/// What a tdsl expression evaluates to.
struct Val {
  enum Kind { Int, Float, Bool, Str, Tensor, Tokens, LoopIndex, Rope, Mla } kind = Int;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;
  mlir::Value value; // Tensor, Tokens
  int64_t width = 0; // Tensor: [n, width]
  RopeSpec rope;
  MlaSpec mla;

  static Val ofInt(int64_t v) { Val r; r.kind = Int; r.i = v; return r; }
  static Val ofFloat(double v) { Val r; r.kind = Float; r.f = v; return r; }
  static Val ofBool(bool v) { Val r; r.kind = Bool; r.b = v; return r; }
  static Val ofStr(std::string v) { Val r; r.kind = Str; r.s = std::move(v); return r; }
  static Val ofKind(Kind kind) { Val r; r.kind = kind; return r; }
  static Val ofTensor(mlir::Value v, int64_t width) {
    Val r;
    r.kind = Tensor;
    r.value = v;
    r.width = width;
    return r;
  }
  bool isNumber() const { return kind == Int || kind == Float; }
  double asDouble() const { return kind == Int ? double(i) : f; }
};

/// "[n, 64]": an activation of that width.
std::string shapeOf(int64_t width);
/// "[4, 8]": a static shape.
std::string shapeOf(llvm::ArrayRef<int64_t> shape);
/// The shortest decimal that reads back as `v` ("1e-05", "0.5").
std::string formatDouble(double v);
/// How a value reads in a diagnostic: "integer 7", "tensor [n, 64]", ...
std::string describe(const Val &v);

/// An error at a tdsl source location.
inline mlir::InFlightDiagnostic errorAt(mlir::MLIRContext &context, const Location &l) {
  return mlir::emitError(toMLIR(l, context));
}

} // namespace tfc::frontend

#endif // TFC_LIB_FRONTEND_VALUES_H
