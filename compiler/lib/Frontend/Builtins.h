//===- Builtins.h - The table of tdsl builtins ------------------*- C++ -*-===//
//
// Every builtin is one BuiltinSpec (Builtins.cpp): its parameters with their
// types and defaults, the weights it creates (suffix, shape rule, condition),
// where it may be called, and its lowering. The argument checker (bindArgs),
// MLIRGen's call dispatch, weight creation and the reference in docs/tdsl.md
// (`tfc --print-builtins`) all read the table, so adding a builtin is one
// entry plus its lowering.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_LIB_FRONTEND_BUILTINS_H
#define TFC_LIB_FRONTEND_BUILTINS_H

#include "ConstEval.h"
#include "Values.h"
#include "WeightNames.h"

#include "tfc/Frontend/AST.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <vector>

namespace tfc::frontend {

/// What a parameter accepts; bindArgs checks it before the lowering runs.
enum class ParamType {
  Tensor,     // an activation [n, d]
  Tokens,     // the function's token ids
  Size,       // a positive integer, at most kMaxSize
  Count,      // a non-negative integer, at most kMaxSize
  Number,     // an integer or a decimal
  Bool,       // true or false
  WeightName, // a string: the full name of a weight
  RopeStyle,  // "half" or "interleaved"
  RopeScaling, // "none", "linear" or "llama3"
  Rope,       // a rope(...) descriptor
  Mla,        // an mla(...) descriptor
  MoeTopK,    // "greedy", "group_limited_greedy" or "noaux_tc"
  MoeScoring, // "softmax" or "sigmoid"
  Operand,    // a number, as the config builtins take it
};

struct ParamSpec {
  const char *name;
  ParamType type;
  bool required = false;
  /// The value of an omitted argument; without one (and not required) the
  /// argument is absent, or the lowering derives it (`derivedDefault`).
  std::optional<Val> defaultValue;
  /// How a default the lowering computes reads in the reference ("heads").
  const char *derivedDefault = nullptr;
  /// The name a tensor argument's width has in the weight rules ("d").
  const char *width = nullptr;
};

/// One weight a builtin may create: `<scope>.<suffix>` of `shape`, when
/// `when` holds. `shape` ("[heads*head_dim, d]") and `when` ("bias",
/// "latent && !q_rank") are evaluated over CallArgs::dims and printed as they
/// are in the reference.
struct WeightSpec {
  const char *suffix;
  const char *shape;
  const char *when = nullptr; // null: always
};

class BuiltinContext;
struct CallArgs;
/// Emits a checked call (or folds it); nullopt after a reported error.
using Lowering = std::optional<Val> (*)(BuiltinContext &, CallArgs &);

/// Where a builtin may be called.
enum BuiltinWhere : unsigned { InConfig = 1u << 0, InFunctions = 1u << 1 };

struct BuiltinSpec {
  const char *name;
  unsigned where;
  std::vector<ParamSpec> params;
  /// The result, as the reference describes it.
  const char *result;
  std::vector<WeightSpec> weights;
  Lowering lower;

  /// A builtin without weights takes no `@` scope.
  bool takesScope() const { return !weights.empty(); }
};

/// The lowering of moe(...) (BuiltinMoE.cpp).
std::optional<Val> lowerMoE(BuiltinContext &b, CallArgs &a);

/// Every builtin, in the order of the reference.
llvm::ArrayRef<BuiltinSpec> builtinTable();
/// The builtin called `name`, or null.
const BuiltinSpec *lookupBuiltin(llvm::StringRef name);
/// "sqrt, min and max": the builtins allowed in the config.
std::string configBuiltinList();

/// A call's arguments bound to its builtin's parameters, evaluated and checked.
struct CallArgs {
  const CallExprAST &call;
  const BuiltinSpec &spec;
  /// Per parameter: the given or default value; nullopt when absent.
  llvm::SmallVector<std::optional<Val>, 0> values;
  /// Per parameter: the argument's expression; null when not given.
  llvm::SmallVector<const ExprAST *> exprs;
  /// Per parameter: where the argument starts (its keyword), else the call.
  llvm::SmallVector<Location> locs;
  /// The names the weight rules read: sizes and counts by parameter name,
  /// booleans and presence as 0/1, tensor widths by ParamSpec::width; the
  /// lowering adds what it derives (head_dim) before creating weights.
  llvm::StringMap<int64_t> dims;

  unsigned index(llvm::StringRef param) const;
  bool has(llvm::StringRef param) const { return values[index(param)].has_value(); }
  bool given(llvm::StringRef param) const { return exprs[index(param)]; }
  const Val &get(llvm::StringRef param) const { return *values[index(param)]; }
  /// Where an error about the argument's value goes: its expression, else the call.
  const Location &valueLoc(llvm::StringRef param) const;
  const Location &argLoc(llvm::StringRef param) const { return locs[index(param)]; }
};

/// Binds `call`'s arguments to `spec` (arity, unknown and repeated keywords,
/// missing required ones), then evaluates the given ones in parameter order
/// with `eval` and checks their types; nullopt after the first error.
std::optional<CallArgs> bindArgs(const CallExprAST &call, const BuiltinSpec &spec,
                                 ExprEvaluator eval, mlir::MLIRContext &context);

/// What a lowering may use of the generator's state.
class BuiltinContext {
public:
  BuiltinContext(mlir::MLIRContext &context, mlir::OpBuilder &builder, WeightNames &names)
      : context(context), builder(builder), names(names) {}

  mlir::Location loc(const Location &l) { return toMLIR(l, context); }
  mlir::InFlightDiagnostic error(const Location &l) { return errorAt(context, l); }
  mlir::RankedTensorType activation(int64_t width) {
    return mlir::RankedTensorType::get({mlir::ShapedType::kDynamic, width},
                                       builder.getF32Type());
  }
  /// Creates, in table order, the weights of `args.spec` whose condition
  /// holds, shaped by their rules; by suffix. nullopt after an error.
  std::optional<llvm::StringMap<mlir::Value>> createWeights(const CallArgs &args);
  /// Row `row` of `table` for every token of the function: `[n, width]`.
  mlir::Value rowForEveryToken(mlir::Value table, int64_t row, int64_t width, mlir::Location l);

  mlir::MLIRContext &context;
  mlir::OpBuilder &builder;
  WeightNames &names;
  /// The token ids of the function being emitted.
  mlir::Value tokens;
  /// The rows of the smallest position_embedding table (bounds max_seq).
  std::optional<int64_t> positionRows;
};

} // namespace tfc::frontend

#endif // TFC_LIB_FRONTEND_BUILTINS_H
