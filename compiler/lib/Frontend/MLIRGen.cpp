//===- MLIRGen.cpp - From the tdsl AST to the attn dialect ------------------===//
//
// One walk over the AST checks every name, argument and shape and emits the
// attn dialect as it goes, so checks and emission cannot disagree. Values are
// either compile-time scalars (folded by ConstEval) or activations
// `tensor<?xDxf32>` (the token count is the only dynamic size). A call is
// looked up in the builtin table, its arguments bound and checked there
// (Builtins.cpp) and its lowering run; weight names and scopes are
// WeightNames'. A layer loop becomes one scf.for whose body is emitted once:
// the per-layer weights it creates are emitted before the loop as stacked
// weights (leading dimension = trip count, an #attn.weight_name saying where
// the layer index goes) and sliced with the induction variable in the body; the variables the body reassigns
// are the loop's iter_args.
//
//===----------------------------------------------------------------------===//

#include "tfc/Frontend/MLIRGen.h"

#include "Builtins.h"
#include "ConstEval.h"
#include "Values.h"
#include "WeightNames.h"

#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace tfc {

namespace {

using namespace tfc::frontend;

/// The walk over the AST. It owns the names in force (config, variables,
/// parameters) and the statement structure; scalars go to ConstEval, calls to
/// the builtin table, weights to WeightNames. Every gen* stops at the first
/// error, which it has reported, so only the first error of a file is shown.
class MLIRGenImpl {
public:
  explicit MLIRGenImpl(MLIRContext &context)
      : context(context), builder(&context), names(context, builder),
        lowering(context, builder, names) {}

  OwningOpRef<ModuleOp> gen(const ModuleAST &ast);

private:
  //===--- diagnostics ---------------------------------------------------===//
  mlir::Location loc(const tfc::Location &l) { return toMLIR(l, context); }
  InFlightDiagnostic error(const tfc::Location &l) { return mlir::emitError(loc(l)); }

  //===--- names ---------------------------------------------------------===//
  std::optional<Val> lookup(const VarExprAST &var);
  Val *findLocal(StringRef name);

  //===--- functions and statements --------------------------------------===//
  LogicalResult genFunction(const FunctionAST &function, std::optional<int64_t> memoryWidth,
                            int64_t &resultWidth);
  LogicalResult genBlock(const std::vector<StmtPtr> &body);
  LogicalResult genAssign(const AssignStmtAST &assign);
  LogicalResult genFor(const ForStmtAST &loop);

  //===--- expressions ---------------------------------------------------===//
  std::optional<Val> genExpr(const ExprAST &expr);
  std::optional<Val> genBinary(const BinaryExprAST &expr);
  std::optional<Val> genUnary(const UnaryExprAST &expr);
  Val affine(Val x, double scale, double shift, const tfc::Location &at);
  std::optional<Val> genCall(const CallExprAST &call);

  RankedTensorType activation(int64_t width) { return lowering.activation(width); }

  MLIRContext &context;
  OpBuilder builder;
  ModuleOp module;
  Config config;
  WeightNames names;
  BuiltinContext lowering;

  // The function being emitted; null while the config is evaluated.
  func::FuncOp func;
  std::string memoryName;
  bool memoryUsed = false;
  SmallVector<llvm::StringMap<Val>> scopes; // function level, then a loop body
};

//===----------------------------------------------------------------------===//
// The model
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> MLIRGenImpl::gen(const ModuleAST &ast) {
  OwningOpRef<ModuleOp> owned = ModuleOp::create(loc(ast.loc));
  module = *owned;
  if (failed(evalConfig(ast, context, [&](const ExprAST &e) { return genExpr(e); }, config)))
    return nullptr;

  // The functions: encoder first, since its result width is the decoder's memory width.
  const FunctionAST *encoder = nullptr, *decoder = nullptr;
  for (const FunctionAST &f : ast.functions) {
    const FunctionAST *&slot = f.name == "encoder" ? encoder : decoder;
    if (slot) {
      error(f.loc) << "duplicate function '" << f.name << "'";
      return nullptr;
    }
    slot = &f;
  }
  if (!encoder && !decoder) {
    error(ast.loc) << "model '" << ast.name << "' has neither a decoder nor an encoder";
    return nullptr;
  }
  std::optional<int64_t> memoryWidth;
  if (encoder) {
    if (encoder->params.size() != 1) {
      error(encoder->params.size() > 1 ? encoder->params[1].loc : encoder->loc)
          << "encoder takes one argument (tokens), got " << encoder->params.size();
      return nullptr;
    }
    int64_t width = 0;
    if (failed(genFunction(*encoder, std::nullopt, width)))
      return nullptr;
    memoryWidth = width;
  }
  if (decoder) {
    size_t n = decoder->params.size();
    if (n > 2) {
      error(decoder->params[2].loc)
          << "decoder takes (tokens) or (tokens, memory), got " << n << " arguments";
      return nullptr;
    }
    if (encoder && n != 2) {
      error(decoder->loc) << "the decoder of an encoder-decoder model must take (tokens, memory)";
      return nullptr;
    }
    if (!encoder && n == 2) {
      error(decoder->params[1].loc) << "decoder takes a memory argument '"
                                    << decoder->params[1].name << "' but the model has no encoder";
      return nullptr;
    }
    int64_t width = 0;
    if (failed(genFunction(*decoder, memoryWidth, width)))
      return nullptr;
  }

  std::optional<int64_t> maxSeq = config.maxSeq, positionRows = lowering.positionRows;
  if (maxSeq && positionRows && *positionRows < *maxSeq) {
    error(config.locs.lookup("max_seq")) << "max_seq (" << *maxSeq
                                        << ") exceeds the rows of the position_embedding table ("
                                        << *positionRows << ")";
    return nullptr;
  }
  module->setAttr("attn.name", builder.getStringAttr(ast.name));
  module->setAttr("attn.max_seq",
                  builder.getI64IntegerAttr(maxSeq ? *maxSeq : positionRows ? *positionRows
                                                                            : kDefaultMaxSeq));
  module->setAttr("attn.config", builder.getDictionaryAttr(config.attrs));
  return owned;
}

Val *MLIRGenImpl::findLocal(StringRef name) {
  for (auto &scope : llvm::reverse(scopes)) {
    auto it = scope.find(name);
    if (it != scope.end())
      return &it->second;
  }
  return nullptr;
}

std::optional<Val> MLIRGenImpl::lookup(const VarExprAST &var) {
  if (Val *v = findLocal(var.name)) {
    if (v->kind == Val::LoopIndex) {
      error(var.getLoc()) << "loop index '" << var.name
                          << "' can only be used in a scope string ('{" << var.name << "}')";
      return std::nullopt;
    }
    if (var.name == memoryName)
      memoryUsed = true;
    return *v;
  }
  auto it = config.values.find(var.name);
  if (it != config.values.end())
    return it->second;
  error(var.getLoc()) << "unknown name '" << var.name << "'";
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Functions and statements
//===----------------------------------------------------------------------===//

LogicalResult MLIRGenImpl::genFunction(const FunctionAST &f, std::optional<int64_t> memoryWidth,
                                       int64_t &resultWidth) {
  SmallVector<Type> argTypes{RankedTensorType::get({ShapedType::kDynamic}, builder.getI32Type())};
  if (memoryWidth)
    argTypes.push_back(activation(*memoryWidth));
  for (auto [k, p] : llvm::enumerate(f.params)) {
    if (config.contains(p.name))
      return error(p.loc) << "parameter '" << p.name << "' shadows the config constant '"
                          << p.name << "'";
    for (size_t j = 0; j < k; ++j)
      if (f.params[j].name == p.name)
        return error(p.loc) << "duplicate parameter '" << p.name << "'";
  }

  builder.setInsertionPointToEnd(module.getBody());
  func = builder.create<func::FuncOp>(loc(f.loc), f.name, builder.getFunctionType(argTypes, {}));
  names.func = func;
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  Value tokens = lowering.tokens = entry->getArgument(0);
  scopes.clear();
  scopes.emplace_back();
  Val tokVal = Val::ofKind(Val::Tokens);
  tokVal.value = tokens;
  scopes.back()[f.params[0].name] = tokVal;
  memoryName.clear();
  memoryUsed = false;
  if (memoryWidth) {
    memoryName = f.params[1].name;
    scopes.back()[memoryName] = Val::ofTensor(entry->getArgument(1), *memoryWidth);
  }

  if (failed(genBlock(f.body)))
    return failure();
  std::optional<Val> result = genExpr(*f.returnValue);
  if (!result)
    return failure();
  if (result->kind != Val::Tensor)
    return error(f.returnValue->getLoc())
           << f.name << " must return a tensor, got " << describe(*result);
  bool isDecoder = f.name == "decoder";
  StringRef widthName = isDecoder ? "vocab" : "dim";
  auto expected = config.values.find(widthName);
  if (expected != config.values.end() && expected->second.kind == Val::Int &&
      expected->second.i != result->width)
    return error(f.returnValue->getLoc())
           << f.name << " must return " << (isDecoder ? "logits" : "hidden states")
           << " of width " << widthName << " (" << expected->second.i << "), got "
           << result->width;
  if (memoryWidth && !memoryUsed)
    mlir::emitWarning(loc(f.params[1].loc))
        << "memory argument '" << memoryName << "' is never used";
  builder.create<func::ReturnOp>(loc(f.returnLoc), result->value);
  func.setType(builder.getFunctionType(argTypes, {result->value.getType()}));
  resultWidth = result->width;
  return success();
}

LogicalResult MLIRGenImpl::genBlock(const std::vector<StmtPtr> &body) {
  for (const StmtPtr &stmt : body) {
    if (auto *assign = llvm::dyn_cast<AssignStmtAST>(stmt.get())) {
      if (failed(genAssign(*assign)))
        return failure();
    } else if (failed(genFor(llvm::cast<ForStmtAST>(*stmt)))) {
      return failure();
    }
  }
  return success();
}

LogicalResult MLIRGenImpl::genAssign(const AssignStmtAST &assign) {
  if (config.contains(assign.name))
    return error(assign.getLoc()) << "cannot assign to the config constant '" << assign.name
                                  << "'";
  Val *existing = findLocal(assign.name);
  if (existing && (existing->kind == Val::Tokens || existing->kind == Val::LoopIndex ||
                   assign.name == memoryName))
    return error(assign.getLoc()) << "cannot assign to '" << assign.name << "', which is "
                                  << (existing->kind == Val::LoopIndex ? "the loop index"
                                                                       : "a parameter");
  std::optional<Val> v = genExpr(*assign.value);
  if (!v)
    return failure();
  if (v->kind == Val::Tokens || v->kind == Val::LoopIndex)
    return error(assign.value->getLoc()) << "cannot assign " << describe(*v) << " to '"
                                         << assign.name << "'";
  if (names.loop && names.loop->carried.contains(assign.name) &&
      (v->kind != Val::Tensor || v->width != existing->width))
    return error(assign.getLoc())
           << "'" << assign.name << "' is carried through the layer loop as "
           << describe(*existing) << " but is assigned " << describe(*v) << " here";
  if (existing)
    *existing = *v;
  else
    scopes.back()[assign.name] = *v;
  return success();
}

/// Appends the names assigned in `body` in order of first assignment.
void collectAssigned(const std::vector<StmtPtr> &body,
                     SmallVectorImpl<std::pair<std::string, tfc::Location>> &names,
                     llvm::StringSet<> &seen) {
  for (const StmtPtr &stmt : body) {
    if (auto *assign = llvm::dyn_cast<AssignStmtAST>(stmt.get())) {
      if (seen.insert(assign->name).second)
        names.emplace_back(assign->name, assign->getLoc());
    } else {
      collectAssigned(llvm::cast<ForStmtAST>(*stmt).body, names, seen);
    }
  }
}

/// Layers below `from` attend without the window (`window_from`, Qwen2's
/// max_window_layers): the loop over all layers becomes two, 0 .. from with
/// the window dropped from its attention and from .. L as written, which
/// starts from the first one's results. Both read the same stacked weights at
/// their layer index; each gets its own KV caches (a rolling one for the
/// second). Returns the second loop.
scf::ForOp splitAtWindowFrom(OpBuilder &builder, scf::ForOp loop, int64_t from) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(loop);
  mlir::Location l = loop.getLoc();
  Value split = builder.create<arith::ConstantIndexOp>(l, from);
  auto full = cast<scf::ForOp>(builder.clone(*loop));
  full.getUpperBoundMutable().assign(split);
  full.walk([](Operation *op) {
    if (auto attention = dyn_cast<attn::AttentionOp>(op))
      attention.removeWindowAttr();
    else if (auto sdpa = dyn_cast<attn::SDPAOp>(op))
      sdpa.removeWindowAttr();
  });
  loop.getLowerBoundMutable().assign(split);
  loop.getInitArgsMutable().assign(full.getResults());
  return loop;
}

LogicalResult MLIRGenImpl::genFor(const ForStmtAST &ast) {
  if (names.loop)
    return error(ast.getLoc()) << "nested layer loops are not supported in tdsl v1";
  auto bound = [&](const ExprAST &e) -> std::optional<Val> {
    std::optional<Val> v = genExpr(e);
    if (v && v->kind != Val::Int) {
      error(e.getLoc()) << "loop bounds must be compile-time integers, got " << describe(*v);
      return std::nullopt;
    }
    return v;
  };
  std::optional<Val> start = bound(*ast.start);
  if (!start)
    return failure();
  std::optional<Val> end = bound(*ast.end);
  if (!end)
    return failure();
  // A loop may start past layer 0 (DeepSeek's first_k_dense_replace: the
  // dense layers in one loop, the mixture-of-experts layers in the next).
  if (start->i < 0 || start->i > kMaxSize)
    return error(ast.start->getLoc()) << "a layer loop's first layer must be between 0 and "
                                      << kMaxSize << ", got " << start->i;
  if (end->i <= start->i || end->i > kMaxSize)
    return error(ast.end->getLoc()) << "layer loop " << start->i << " .. " << end->i
                                    << " must run at least once (and at most " << kMaxSize
                                    << " times)";
  if (findLocal(ast.var) || config.contains(ast.var))
    return error(ast.varLoc) << "loop variable '" << ast.var << "' shadows an existing name";

  // The body's layer-dependent state: the variables it reassigns.
  SmallVector<std::pair<std::string, tfc::Location>> assigned;
  llvm::StringSet<> seen;
  collectAssigned(ast.body, assigned, seen);
  SmallVector<std::string> carried;
  SmallVector<Value> inits;
  SmallVector<int64_t> widths;
  for (auto &[name, at] : assigned) {
    Val *outer = findLocal(name);
    if (!outer)
      continue;
    if (outer->kind != Val::Tensor)
      return error(at) << "'" << name << "' holds " << describe(*outer)
                       << " from before the loop; only tensors can be reassigned in a layer loop";
    carried.push_back(name);
    inits.push_back(outer->value);
    widths.push_back(outer->width);
  }

  mlir::Location l = loc(ast.getLoc());
  Value lb = builder.create<arith::ConstantIndexOp>(l, 0);
  // The loop counts from 0; weight names add the first layer back.
  Value ub = builder.create<arith::ConstantIndexOp>(l, end->i - start->i);
  Value step = builder.create<arith::ConstantIndexOp>(l, 1);
  auto forOp = builder.create<scf::ForOp>(l, lb, ub, step, inits,
                                          [](OpBuilder &, mlir::Location, Value, ValueRange) {});
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(forOp.getBody());

  std::optional<LoopState> &loop = names.loop;
  loop.emplace();
  loop->op = forOp;
  loop->tripCount = end->i - start->i;
  loop->firstLayer = start->i;
  loop->var = ast.var;
  auto clearLoop = llvm::make_scope_exit([&] { loop.reset(); });
  scopes.emplace_back();
  scopes.back()[ast.var] = Val::ofKind(Val::LoopIndex);
  for (auto [k, name] : llvm::enumerate(carried)) {
    scopes.back()[name] = Val::ofTensor(forOp.getRegionIterArg(k), widths[k]);
    loop->carried.insert(name);
  }
  SmallVector<std::string> &scopeStack = names.scopeStack;
  size_t scopeDepth = scopeStack.size();
  if (ast.scope) {
    std::optional<std::string> prefix = names.resolveScope(*ast.scope);
    if (!prefix)
      return failure();
    scopeStack.push_back(*prefix);
  }
  auto popScope = llvm::make_scope_exit([&] { scopeStack.resize(scopeDepth); });

  if (failed(genBlock(ast.body)))
    return failure();
  SmallVector<Value> yields;
  for (const std::string &name : carried)
    yields.push_back(scopes.back()[name].value);
  builder.create<scf::YieldOp>(l, yields);
  if (loop->windowFrom && *loop->windowFrom > 0)
    forOp = splitAtWindowFrom(builder, forOp, *loop->windowFrom);
  scopes.pop_back();
  for (auto [k, name] : llvm::enumerate(carried))
    *findLocal(name) = Val::ofTensor(forOp.getResult(k), widths[k]);
  return success();
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

std::optional<Val> MLIRGenImpl::genExpr(const ExprAST &expr) {
  switch (expr.getKind()) {
  case ExprAST::Number: {
    auto &n = llvm::cast<NumberExprAST>(expr);
    return n.isInteger ? Val::ofInt(n.intValue) : Val::ofFloat(n.floatValue);
  }
  case ExprAST::String:
    return Val::ofStr(llvm::cast<StringExprAST>(expr).value);
  case ExprAST::Bool:
    return Val::ofBool(llvm::cast<BoolExprAST>(expr).value);
  case ExprAST::Var:
    return lookup(llvm::cast<VarExprAST>(expr));
  case ExprAST::Unary:
    return genUnary(llvm::cast<UnaryExprAST>(expr));
  case ExprAST::Binary:
    return genBinary(llvm::cast<BinaryExprAST>(expr));
  case ExprAST::Call:
    return genCall(llvm::cast<CallExprAST>(expr));
  }
  return std::nullopt;
}

Val MLIRGenImpl::affine(Val x, double scale, double shift, const tfc::Location &at) {
  Value r = builder.create<attn::AffineOp>(loc(at), x.value.getType(), x.value,
                                           builder.getF64FloatAttr(scale),
                                           builder.getF64FloatAttr(shift));
  return Val::ofTensor(r, x.width);
}

std::optional<Val> MLIRGenImpl::genUnary(const UnaryExprAST &expr) {
  std::optional<Val> v = genExpr(*expr.operand);
  if (!v)
    return std::nullopt;
  switch (v->kind) {
  case Val::Int:
  case Val::Float:
    return foldNegate(*v, expr.getLoc(), context);
  case Val::Tensor:
    return affine(*v, -1.0, 0.0, expr.getLoc());
  default:
    error(expr.getLoc()) << "cannot negate " << describe(*v);
    return std::nullopt;
  }
}

std::optional<Val> MLIRGenImpl::genBinary(const BinaryExprAST &expr) {
  std::optional<Val> a = genExpr(*expr.lhs);
  if (!a)
    return std::nullopt;
  std::optional<Val> b = genExpr(*expr.rhs);
  if (!b)
    return std::nullopt;
  char op = expr.op;
  const tfc::Location &at = expr.getLoc();
  if (a->isNumber() && b->isNumber())
    return foldArith(op, *a, *b, at, context);

  if (a->kind == Val::Tensor && b->kind == Val::Tensor) {
    if (a->width != b->width) {
      const char *verb = op == '+' ? "add" : op == '-' ? "subtract" : op == '*' ? "multiply"
                                                                                 : "divide";
      error(at) << "cannot " << verb << " tensors of shapes " << shapeOf(a->width) << " and "
                << shapeOf(b->width);
      return std::nullopt;
    }
    mlir::Location l = loc(at);
    Value r;
    switch (op) {
    case '+': r = builder.create<attn::AddOp>(l, a->value, b->value); break;
    case '-': r = builder.create<attn::SubOp>(l, a->value, b->value); break;
    case '*': r = builder.create<attn::MulOp>(l, a->value, b->value); break;
    default: r = builder.create<attn::DivOp>(l, a->value, b->value); break;
    }
    return Val::ofTensor(r, a->width);
  }
  if (a->kind == Val::Tensor && b->isNumber()) {
    double c = b->asDouble();
    switch (op) {
    case '+': return affine(*a, 1.0, c, at);
    case '-': return affine(*a, 1.0, -c, at);
    case '*': return affine(*a, c, 0.0, at);
    default:
      if (c == 0) {
        error(at) << "division of a tensor by zero";
        return std::nullopt;
      }
      return affine(*a, 1.0 / c, 0.0, at);
    }
  }
  if (a->isNumber() && b->kind == Val::Tensor) {
    double c = a->asDouble();
    switch (op) {
    case '+': return affine(*b, 1.0, c, at);
    case '-': return affine(*b, -1.0, c, at);
    case '*': return affine(*b, c, 0.0, at);
    default:
      error(at) << "cannot divide a scalar by a tensor (" << describe(*a) << " / "
                << describe(*b) << ")";
      return std::nullopt;
    }
  }
  error(at) << "cannot apply '" << op << "' to " << describe(*a) << " and " << describe(*b);
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

std::optional<Val> MLIRGenImpl::genCall(const CallExprAST &call) {
  const BuiltinSpec *spec = lookupBuiltin(call.callee);
  if (!spec) {
    error(call.getLoc()) << "unknown builtin '" << call.callee << "'";
    return std::nullopt;
  }
  if (!func && !(spec->where & InConfig)) {
    error(call.getLoc()) << "'" << call.callee << "' cannot be used in the config (only "
                         << configBuiltinList() << ")";
    return std::nullopt;
  }
  if (call.scope && !spec->takesScope()) {
    error(call.scope->loc) << "'" << call.callee << "' has no weights, so it takes no scope";
    return std::nullopt;
  }
  std::optional<CallArgs> args =
      bindArgs(call, *spec, [&](const ExprAST &e) { return genExpr(e); }, context);
  if (!args)
    return std::nullopt;
  return spec->lower(lowering, *args);
}

} // namespace

OwningOpRef<ModuleOp> mlirGen(MLIRContext &context, const ModuleAST &module) {
  context.getOrLoadDialect<attn::AttnDialect>();
  context.getOrLoadDialect<func::FuncDialect>();
  context.getOrLoadDialect<arith::ArithDialect>();
  context.getOrLoadDialect<tensor::TensorDialect>();
  context.getOrLoadDialect<scf::SCFDialect>();
  bool sawError = false;
  ScopedDiagnosticHandler watch(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      sawError = true;
    return failure();
  });
  OwningOpRef<ModuleOp> result = MLIRGenImpl(context).gen(module);
  if (sawError)
    return nullptr;
  return result;
}

} // namespace tfc
