//===- ConstEval.cpp - Compile-time evaluation of tdsl scalars --------------===//
//
// tdsl folds every scalar at compile time: the config block and the scalar
// arguments in functions (`head_dim = dim / heads`). Integers are exact: `/`
// must divide evenly, overflow and division by zero are errors, so a size
// never silently rounds; any decimal operand makes the result an IEEE double.
// The config is recorded on the module as `attn.config`; `max_seq` is checked
// here because it sizes the KV cache.
//
//===----------------------------------------------------------------------===//

#include "ConstEval.h"

#include "mlir/IR/Builders.h"

#include <algorithm>
#include <cmath>

namespace tfc::frontend {

mlir::LogicalResult evalConfig(const ModuleAST &ast, mlir::MLIRContext &context,
                               ExprEvaluator eval, Config &config) {
  mlir::Builder builder(&context);
  auto error = [&](const Location &l) { return errorAt(context, l); };
  for (const ConfigEntryAST &entry : ast.config) {
    if (config.locs.count(entry.name)) {
      auto diag = error(entry.loc);
      diag << "config '" << entry.name << "' is defined twice";
      diag.attachNote(toMLIR(config.locs.lookup(entry.name), context)) << "first defined here";
      return mlir::failure();
    }
    std::optional<Val> v = eval(*entry.value);
    if (!v)
      return mlir::failure();
    mlir::Attribute attr;
    switch (v->kind) {
    case Val::Int: attr = builder.getI64IntegerAttr(v->i); break;
    case Val::Float: attr = builder.getF64FloatAttr(v->f); break;
    case Val::Bool: attr = builder.getBoolAttr(v->b); break;
    case Val::Str: attr = builder.getStringAttr(v->s); break;
    default:
      return error(entry.value->getLoc())
             << "config '" << entry.name << "' must be a number, a boolean or a string, got "
             << describe(*v);
    }
    if (entry.name == "max_seq") {
      if (v->kind != Val::Int || v->i <= 0 || v->i > kMaxSize)
        return error(entry.value->getLoc())
               << "max_seq must be a positive integer (at most " << kMaxSize << "), got "
               << describe(*v);
      config.maxSeq = v->i;
    }
    config.values[entry.name] = *v;
    config.locs[entry.name] = entry.loc;
    config.attrs.push_back(builder.getNamedAttr(entry.name, attr));
  }
  return mlir::success();
}

std::optional<Val> foldArith(char op, const Val &a, const Val &b, const Location &at,
                             mlir::MLIRContext &context) {
  auto error = [&] { return errorAt(context, at); };
  if (a.kind == Val::Int && b.kind == Val::Int) {
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
    case '+': overflow = __builtin_add_overflow(a.i, b.i, &r); break;
    case '-': overflow = __builtin_sub_overflow(a.i, b.i, &r); break;
    case '*': overflow = __builtin_mul_overflow(a.i, b.i, &r); break;
    case '/':
      if (b.i == 0) {
        error() << "division by zero (" << a.i << " / 0)";
        return std::nullopt;
      }
      if (a.i % b.i != 0) {
        error() << "integer division " << a.i << " / " << b.i << " does not divide evenly";
        return std::nullopt;
      }
      overflow = a.i == INT64_MIN && b.i == -1;
      if (!overflow)
        r = a.i / b.i;
      break;
    }
    if (overflow) {
      error() << "integer overflow in " << a.i << " " << op << " " << b.i;
      return std::nullopt;
    }
    return Val::ofInt(r);
  }
  double x = a.asDouble(), y = b.asDouble();
  switch (op) {
  case '+': return Val::ofFloat(x + y);
  case '-': return Val::ofFloat(x - y);
  case '*': return Val::ofFloat(x * y);
  default:
    if (y == 0) {
      error() << "division by zero (" << formatDouble(x) << " / 0)";
      return std::nullopt;
    }
    return Val::ofFloat(x / y);
  }
}

std::optional<Val> foldNegate(const Val &v, const Location &at, mlir::MLIRContext &context) {
  if (v.kind == Val::Float)
    return Val::ofFloat(-v.f);
  if (v.i == INT64_MIN) {
    errorAt(context, at) << "integer overflow in -(" << v.i << ")";
    return std::nullopt;
  }
  return Val::ofInt(-v.i);
}

std::optional<Val> foldSqrt(const Val &x, const Location &at, mlir::MLIRContext &context) {
  double d = x.asDouble();
  if (d < 0) {
    errorAt(context, at) << "sqrt of a negative number (" << formatDouble(d) << ")";
    return std::nullopt;
  }
  return Val::ofFloat(std::sqrt(d));
}

Val foldMinMax(bool isMin, const Val &a, const Val &b) {
  // Two integers stay an integer, so min/max of sizes can size a weight.
  if (a.kind == Val::Int && b.kind == Val::Int)
    return Val::ofInt(isMin ? std::min(a.i, b.i) : std::max(a.i, b.i));
  double x = a.asDouble(), y = b.asDouble();
  return Val::ofFloat(isMin ? std::min(x, y) : std::max(x, y));
}

} // namespace tfc::frontend
