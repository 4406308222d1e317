//===- ConstEval.h - Compile-time evaluation of tdsl scalars ----*- C++ -*-===//
//
// The config block and every scalar subexpression are folded at compile time
// with exact integer rules (see ConstEval.cpp). The expression walk itself is
// MLIRGen's, one walk for scalars and activations alike; it hands numbers to
// the folders here, and the config block to evalConfig.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_LIB_FRONTEND_CONSTEVAL_H
#define TFC_LIB_FRONTEND_CONSTEVAL_H

#include "Values.h"

#include "tfc/Frontend/AST.h"

#include "mlir/IR/Attributes.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <optional>

namespace tfc::frontend {

/// The evaluated config block.
struct Config {
  llvm::StringMap<Val> values;
  llvm::StringMap<Location> locs;
  /// `attn.config`, in order of definition.
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  std::optional<int64_t> maxSeq;

  bool contains(llvm::StringRef name) const { return values.count(name); }
};

/// Evaluates one expression (MLIRGen's walk); nullopt after a reported error.
using ExprEvaluator = llvm::function_ref<std::optional<Val>(const ExprAST &)>;

/// Evaluates the config entries in order into `config`, which `eval` reads
/// back for the names an entry uses, so each entry sees the ones before it.
mlir::LogicalResult evalConfig(const ModuleAST &ast, mlir::MLIRContext &context,
                               ExprEvaluator eval, Config &config);

/// `a op b` on two numbers (op one of + - * /).
std::optional<Val> foldArith(char op, const Val &a, const Val &b, const Location &at,
                             mlir::MLIRContext &context);
/// `-v` on a number.
std::optional<Val> foldNegate(const Val &v, const Location &at, mlir::MLIRContext &context);
/// The config builtins `sqrt(x)`, `min(a, b)`, `max(a, b)` on numbers.
std::optional<Val> foldSqrt(const Val &x, const Location &at, mlir::MLIRContext &context);
Val foldMinMax(bool isMin, const Val &a, const Val &b);

} // namespace tfc::frontend

#endif // TFC_LIB_FRONTEND_CONSTEVAL_H
