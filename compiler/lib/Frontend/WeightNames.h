//===- WeightNames.h - Scopes and the names of weights ----------*- C++ -*-===//
//
// The `@` scopes in force, the layer loop being emitted, and every weight
// created so far, with the checks on them (see WeightNames.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef TFC_LIB_FRONTEND_WEIGHTNAMES_H
#define TFC_LIB_FRONTEND_WEIGHTNAMES_H

#include "Values.h"

#include "tfc/Frontend/AST.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <optional>
#include <string>

namespace tfc::frontend {

/// How a builtin's weight suffix spells the expert index of a mixture of
/// experts (`experts.{j}.up_proj.weight`); loop placeholders never reach a
/// suffix, so the two cannot be confused.
inline constexpr llvm::StringLiteral kExpertIndex = "{j}";

/// The innermost layer loop being emitted.
struct LoopState {
  mlir::scf::ForOp op;
  int64_t tripCount = 0;
  /// The first layer's index (`for i in F .. L`): the loop runs L - F times.
  int64_t firstLayer = 0;
  std::string var;
  llvm::StringSet<> carried; // iter_arg names
  /// Layers below it attend without the window of the loop's attention
  /// (`window_from`): the loop is emitted as two, split there.
  std::optional<int64_t> windowFrom;
};

/// A weight created so far: for duplicate checks and `tied`.
struct WeightInfo {
  Location loc;
  llvm::SmallVector<int64_t> shape; // per layer for a stacked weight
  bool stacked = false;
  mlir::func::FuncOp func;
  mlir::Value value;
};

/// Scope strings and weight names: resolves `@` scopes (with their `{var}`
/// placeholders), joins them into weight prefixes, and creates each weight
/// once per model (`attn.weight`, stacked before the loop inside a layer loop).
class WeightNames {
public:
  WeightNames(mlir::MLIRContext &context, mlir::OpBuilder &builder)
      : context(context), builder(builder) {}

  /// `scope` with every `{var}` checked and spelled `{i}`.
  std::optional<std::string> resolveScope(const ScopeAST &scope);
  /// The enclosing scopes and the call's own, joined by `.`.
  std::optional<std::string> weightPrefix(const CallExprAST &call);
  /// Creates the weight `prefix.suffix` (`prefix` alone for an empty suffix)
  /// of `shape` (per layer inside a loop). A suffix with the expert index
  /// (kExpertIndex) names one tensor per expert of `experts`: the value is
  /// then `[experts, shape...]` (the layer's experts inside a loop).
  std::optional<mlir::Value> weight(const CallExprAST &call, const std::string &prefix,
                                    llvm::StringRef suffix, llvm::ArrayRef<int64_t> shape,
                                    int64_t experts = 0);
  /// The weight `name` created earlier, for a call (`user`, as an error
  /// quotes it: "linear(x, 256) of [n, 64]") that needs it to have `shape`.
  std::optional<mlir::Value> tied(const CallExprAST &call, const Location &argLoc,
                                  const std::string &name, llvm::ArrayRef<int64_t> shape,
                                  const std::string &user);

  /// The function being emitted (a tied weight of another one is named again).
  mlir::func::FuncOp func;
  /// The layer loop being emitted, if any.
  std::optional<LoopState> loop;
  /// The resolved `@` scopes of the enclosing loops.
  llvm::SmallVector<std::string> scopeStack;

private:
  mlir::Location loc(const Location &l) { return toMLIR(l, context); }
  mlir::InFlightDiagnostic error(const Location &l) { return errorAt(context, l); }

  mlir::MLIRContext &context;
  mlir::OpBuilder &builder;
  // Every weight of the model by literal name, and by expanded per-layer name.
  llvm::StringMap<WeightInfo> weights;
  llvm::StringMap<Location> expandedNames;
};

} // namespace tfc::frontend

#endif // TFC_LIB_FRONTEND_WEIGHTNAMES_H
