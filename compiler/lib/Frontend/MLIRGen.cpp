//===- MLIRGen.cpp - From the tdsl AST to the attn dialect ------------------===//
//
// One walk over the AST evaluates the config, checks every name, argument and
// shape, and emits the attn dialect. Values are either compile-time scalars
// (folded here) or activations `tensor<?xDxf32>` (the token count is the only
// dynamic size). A layer loop becomes one scf.for whose body is emitted once:
// the per-layer weights it creates are emitted before the loop as stacked
// weights (leading dimension = trip count, `{i}` kept in the name) and sliced
// with the induction variable in the body; the variables the body reassigns are
// the loop's iter_args. The same generator is the semantic checker: parseTdsl
// runs it into a module it throws away (checkModule), so checks and emission
// cannot disagree.
//
//===----------------------------------------------------------------------===//

#include "tfc/Frontend/MLIRGen.h"

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

#include <cmath>

using namespace mlir;

namespace tfc {

namespace {

/// Largest size accepted for any dimension or count, so that products of a
/// few of them cannot overflow int64_t.
constexpr int64_t kMaxSize = int64_t(1) << 24;
constexpr int64_t kDefaultMaxSeq = 2048;

struct RopeSpec {
  double theta = 10000.0;
  std::string style = "half";
};

struct MlaSpec {
  int64_t kvRank = 0, ropeDim = 0, nopeDim = 0, vDim = 0, qRank = 0;
};

/// What a tdsl expression evaluates to.
struct Val {
  enum Kind { Int, Float, Bool, Str, Tensor, Tokens, LoopIndex, Rope, Mla } kind = Int;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;
  Value value;       // Tensor, Tokens
  int64_t width = 0; // Tensor: [n, width]
  RopeSpec rope;
  MlaSpec mla;

  static Val ofInt(int64_t v) { Val r; r.kind = Int; r.i = v; return r; }
  static Val ofFloat(double v) { Val r; r.kind = Float; r.f = v; return r; }
  static Val ofTensor(Value v, int64_t width) {
    Val r;
    r.kind = Tensor;
    r.value = v;
    r.width = width;
    return r;
  }
  bool isNumber() const { return kind == Int || kind == Float; }
  double asDouble() const { return kind == Int ? double(i) : f; }
};

std::string shapeOf(int64_t width) { return "[n, " + std::to_string(width) + "]"; }

std::string shapeOf(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [k, d] : llvm::enumerate(shape))
    s += (k ? ", " : "") + std::to_string(d);
  return s + "]";
}

std::string formatDouble(double v) {
  for (int precision = 1; precision <= 17; ++precision) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v)
      return buf;
  }
  return std::to_string(v);
}

/// How a value reads in a diagnostic: "integer 7", "tensor [n, 64]", ...
std::string describe(const Val &v) {
  switch (v.kind) {
  case Val::Int: return "integer " + std::to_string(v.i);
  case Val::Float: return "number " + formatDouble(v.f);
  case Val::Bool: return v.b ? "boolean true" : "boolean false";
  case Val::Str: return "string \"" + v.s + "\"";
  case Val::Tensor: return "tensor " + shapeOf(v.width);
  case Val::Tokens: return "token ids";
  case Val::LoopIndex: return "loop index";
  case Val::Rope: return "rope(...)";
  case Val::Mla: return "mla(...)";
  }
  return "value";
}

/// A builtin's parameter: its name and whether a call must give it.
struct Param {
  const char *name;
  bool required;
};

/// The arguments of a call, bound to the builtin's parameters (null: default).
struct BoundArgs {
  const CallExprAST *call;
  SmallVector<const ExprAST *> exprs;
  SmallVector<Location> locs;
  const ExprAST *get(unsigned k) const { return exprs[k]; }
};

/// A weight created so far: for duplicate checks and `tied`.
struct WeightInfo {
  Location loc;
  SmallVector<int64_t> shape; // per layer for a stacked weight
  bool stacked = false;
  func::FuncOp func;
  Value value;
};

/// The innermost layer loop being emitted.
struct LoopState {
  scf::ForOp op;
  int64_t tripCount = 0;
  std::string var;
  llvm::StringSet<> carried; // iter_arg names
};

class MLIRGenImpl {
public:
  MLIRGenImpl(MLIRContext &context, bool checkOnly)
      : context(context), builder(&context), checkOnly(checkOnly) {}

  OwningOpRef<ModuleOp> gen(const ModuleAST &ast);

private:
  //===--- diagnostics ---------------------------------------------------===//
  mlir::Location loc(const tfc::Location &l) { return toMLIR(l, context); }
  InFlightDiagnostic error(const tfc::Location &l) { return mlir::emitError(loc(l)); }

  //===--- config and names ----------------------------------------------===//
  LogicalResult genConfig(const ModuleAST &ast);
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
  std::optional<Val> scalarArith(char op, const Val &a, const Val &b, const tfc::Location &at);
  Val affine(Val x, double scale, double shift, const tfc::Location &at);
  std::optional<Val> genCall(const CallExprAST &call);
  std::optional<Val> genScalarCall(const CallExprAST &call);

  std::optional<BoundArgs> bind(const CallExprAST &call, ArrayRef<Param> params);
  std::optional<Val> arg(const BoundArgs &args, unsigned k);
  std::optional<int64_t> argInt(const BoundArgs &args, unsigned k, StringRef name,
                                int64_t minValue = 1);
  std::optional<double> argNumber(const BoundArgs &args, unsigned k, StringRef name);
  std::optional<bool> argBool(const BoundArgs &args, unsigned k, StringRef name);
  std::optional<Val> argTensor(const BoundArgs &args, unsigned k, StringRef name);
  InFlightDiagnostic argError(const BoundArgs &args, unsigned k);

  //===--- builtins ------------------------------------------------------===//
  std::optional<Val> genEmbedding(const CallExprAST &call);
  std::optional<Val> genPositionEmbedding(const CallExprAST &call);
  std::optional<Val> genSinusoidal(const CallExprAST &call);
  std::optional<Val> genLinear(const CallExprAST &call);
  std::optional<Val> genNorm(const CallExprAST &call, bool layerNorm);
  std::optional<Val> genActivation(const CallExprAST &call);
  std::optional<Val> genAttention(const CallExprAST &call);
  std::optional<Val> genRope(const CallExprAST &call);
  std::optional<Val> genMla(const CallExprAST &call);

  //===--- weights and scopes --------------------------------------------===//
  std::optional<std::string> resolveScope(const ScopeAST &scope);
  std::optional<std::string> weightPrefix(const CallExprAST &call);
  std::optional<Value> weight(const CallExprAST &call, const std::string &prefix,
                              StringRef suffix, ArrayRef<int64_t> shape);
  Value tokensValue() { return tokens; }
  RankedTensorType activation(int64_t width) {
    return RankedTensorType::get({ShapedType::kDynamic, width}, builder.getF32Type());
  }

  MLIRContext &context;
  OpBuilder builder;
  bool checkOnly;
  ModuleOp module;

  // Config, in order of definition.
  llvm::StringMap<Val> config;
  llvm::StringMap<tfc::Location> configLocs;
  SmallVector<NamedAttribute> configAttrs;
  std::optional<int64_t> maxSeq;
  std::optional<int64_t> positionRows; // rows of the first position_embedding table

  // The function being emitted.
  func::FuncOp func;
  Value tokens;
  std::string memoryName;
  bool memoryUsed = false;
  SmallVector<llvm::StringMap<Val>> scopes; // function level, then a loop body
  SmallVector<std::string> scopeStack;      // resolved enclosing `@` scopes
  std::optional<LoopState> loop;

  // Every weight of the model by literal name, and by expanded per-layer name.
  llvm::StringMap<WeightInfo> weights;
  llvm::StringMap<tfc::Location> expandedNames;
};

//===----------------------------------------------------------------------===//
// The model and its config
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> MLIRGenImpl::gen(const ModuleAST &ast) {
  OwningOpRef<ModuleOp> owned = ModuleOp::create(loc(ast.loc));
  module = *owned;
  if (failed(genConfig(ast)))
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

  if (maxSeq && positionRows && *positionRows < *maxSeq) {
    error(configLocs.lookup("max_seq")) << "max_seq (" << *maxSeq
                                        << ") exceeds the rows of the position_embedding table ("
                                        << *positionRows << ")";
    return nullptr;
  }
  module->setAttr("attn.name", builder.getStringAttr(ast.name));
  module->setAttr("attn.max_seq",
                  builder.getI64IntegerAttr(maxSeq ? *maxSeq : positionRows ? *positionRows
                                                                            : kDefaultMaxSeq));
  module->setAttr("attn.config", builder.getDictionaryAttr(configAttrs));
  return owned;
}

LogicalResult MLIRGenImpl::genConfig(const ModuleAST &ast) {
  for (const ConfigEntryAST &entry : ast.config) {
    if (configLocs.count(entry.name)) {
      auto diag = error(entry.loc);
      diag << "config '" << entry.name << "' is defined twice";
      diag.attachNote(loc(configLocs.lookup(entry.name))) << "first defined here";
      return failure();
    }
    std::optional<Val> v = genExpr(*entry.value);
    if (!v)
      return failure();
    Attribute attr;
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
      maxSeq = v->i;
    }
    config[entry.name] = *v;
    configLocs[entry.name] = entry.loc;
    configAttrs.push_back(builder.getNamedAttr(entry.name, attr));
  }
  return success();
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
  auto it = config.find(var.name);
  if (it != config.end())
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
    if (config.count(p.name))
      return error(p.loc) << "parameter '" << p.name << "' shadows the config constant '"
                          << p.name << "'";
    for (size_t j = 0; j < k; ++j)
      if (f.params[j].name == p.name)
        return error(p.loc) << "duplicate parameter '" << p.name << "'";
  }

  builder.setInsertionPointToEnd(module.getBody());
  func = builder.create<func::FuncOp>(loc(f.loc), f.name, builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  tokens = entry->getArgument(0);
  scopes.clear();
  scopes.emplace_back();
  Val tokVal;
  tokVal.kind = Val::Tokens;
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
  auto expected = config.find(widthName);
  if (expected != config.end() && expected->second.kind == Val::Int &&
      expected->second.i != result->width)
    return error(f.returnValue->getLoc())
           << f.name << " must return " << (isDecoder ? "logits" : "hidden states")
           << " of width " << widthName << " (" << expected->second.i << "), got "
           << result->width;
  if (memoryWidth && !memoryUsed && checkOnly)
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
  if (config.count(assign.name))
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
  if (loop && loop->carried.contains(assign.name) &&
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

LogicalResult MLIRGenImpl::genFor(const ForStmtAST &ast) {
  if (loop)
    return error(ast.getLoc()) << "nested layer loops are not supported in tdsl v1";
  std::optional<Val> start = genExpr(*ast.start);
  if (!start)
    return failure();
  if (start->kind != Val::Int)
    return error(ast.start->getLoc())
           << "loop bounds must be compile-time integers, got " << describe(*start);
  std::optional<Val> end = genExpr(*ast.end);
  if (!end)
    return failure();
  if (end->kind != Val::Int)
    return error(ast.end->getLoc())
           << "loop bounds must be compile-time integers, got " << describe(*end);
  if (start->i != 0)
    return error(ast.start->getLoc()) << "layer loops start at 0, got " << start->i;
  if (end->i <= 0 || end->i > kMaxSize)
    return error(ast.end->getLoc()) << "layer loop 0 .. " << end->i
                                    << " must run at least once (and at most " << kMaxSize
                                    << " times)";
  if (findLocal(ast.var) || config.count(ast.var))
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
  Value ub = builder.create<arith::ConstantIndexOp>(l, end->i);
  Value step = builder.create<arith::ConstantIndexOp>(l, 1);
  auto forOp = builder.create<scf::ForOp>(l, lb, ub, step, inits,
                                          [](OpBuilder &, mlir::Location, Value, ValueRange) {});
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(forOp.getBody());

  loop.emplace();
  loop->op = forOp;
  loop->tripCount = end->i;
  loop->var = ast.var;
  auto clearLoop = llvm::make_scope_exit([&] { loop.reset(); });
  scopes.emplace_back();
  Val index;
  index.kind = Val::LoopIndex;
  scopes.back()[ast.var] = index;
  for (auto [k, name] : llvm::enumerate(carried)) {
    scopes.back()[name] = Val::ofTensor(forOp.getRegionIterArg(k), widths[k]);
    loop->carried.insert(name);
  }
  size_t scopeDepth = scopeStack.size();
  if (ast.scope) {
    std::optional<std::string> prefix = resolveScope(*ast.scope);
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
  case ExprAST::String: {
    Val v;
    v.kind = Val::Str;
    v.s = llvm::cast<StringExprAST>(expr).value;
    return v;
  }
  case ExprAST::Bool: {
    Val v;
    v.kind = Val::Bool;
    v.b = llvm::cast<BoolExprAST>(expr).value;
    return v;
  }
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

std::optional<Val> MLIRGenImpl::scalarArith(char op, const Val &a, const Val &b,
                                            const tfc::Location &at) {
  if (a.kind == Val::Int && b.kind == Val::Int) {
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
    case '+': overflow = __builtin_add_overflow(a.i, b.i, &r); break;
    case '-': overflow = __builtin_sub_overflow(a.i, b.i, &r); break;
    case '*': overflow = __builtin_mul_overflow(a.i, b.i, &r); break;
    case '/':
      if (b.i == 0) {
        error(at) << "division by zero (" << a.i << " / 0)";
        return std::nullopt;
      }
      if (a.i % b.i != 0) {
        error(at) << "integer division " << a.i << " / " << b.i << " does not divide evenly";
        return std::nullopt;
      }
      overflow = a.i == INT64_MIN && b.i == -1;
      if (!overflow)
        r = a.i / b.i;
      break;
    }
    if (overflow) {
      error(at) << "integer overflow in " << a.i << " " << op << " " << b.i;
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
      error(at) << "division by zero (" << formatDouble(x) << " / 0)";
      return std::nullopt;
    }
    return Val::ofFloat(x / y);
  }
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
    if (v->i == INT64_MIN) {
      error(expr.getLoc()) << "integer overflow in -(" << v->i << ")";
      return std::nullopt;
    }
    return Val::ofInt(-v->i);
  case Val::Float:
    return Val::ofFloat(-v->f);
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
    return scalarArith(op, *a, *b, at);

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
// Calls: argument binding
//===----------------------------------------------------------------------===//

std::optional<BoundArgs> MLIRGenImpl::bind(const CallExprAST &call, ArrayRef<Param> params) {
  BoundArgs args;
  args.call = &call;
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
    auto it = llvm::find_if(params, [&](const Param &p) { return kw.name == p.name; });
    if (it == params.end()) {
      auto diag = error(kw.loc);
      diag << "'" << call.callee << "' has no argument named '" << kw.name << "' (arguments: ";
      llvm::interleaveComma(params, diag, [&](const Param &p) { diag << p.name; });
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
  return args;
}

InFlightDiagnostic MLIRGenImpl::argError(const BoundArgs &args, unsigned k) {
  return error(args.exprs[k] ? args.exprs[k]->getLoc() : args.call->getLoc());
}

std::optional<Val> MLIRGenImpl::arg(const BoundArgs &args, unsigned k) {
  return genExpr(*args.exprs[k]);
}

std::optional<int64_t> MLIRGenImpl::argInt(const BoundArgs &args, unsigned k, StringRef name,
                                           int64_t minValue) {
  std::optional<Val> v = arg(args, k);
  if (!v)
    return std::nullopt;
  if (v->kind != Val::Int || v->i < minValue || v->i > kMaxSize) {
    argError(args, k) << "argument '" << name << "' of '" << args.call->callee << "' must be "
                      << (minValue > 0 ? "a positive" : "a non-negative") << " integer"
                      << (v->kind == Val::Int && v->i > kMaxSize
                              ? " of at most " + std::to_string(kMaxSize)
                              : std::string())
                      << ", got " << describe(*v);
    return std::nullopt;
  }
  return v->i;
}

std::optional<double> MLIRGenImpl::argNumber(const BoundArgs &args, unsigned k, StringRef name) {
  std::optional<Val> v = arg(args, k);
  if (!v)
    return std::nullopt;
  if (!v->isNumber()) {
    argError(args, k) << "argument '" << name << "' of '" << args.call->callee
                      << "' must be a number, got " << describe(*v);
    return std::nullopt;
  }
  return v->asDouble();
}

std::optional<bool> MLIRGenImpl::argBool(const BoundArgs &args, unsigned k, StringRef name) {
  std::optional<Val> v = arg(args, k);
  if (!v)
    return std::nullopt;
  if (v->kind != Val::Bool) {
    argError(args, k) << "argument '" << name << "' of '" << args.call->callee
                      << "' must be true or false, got " << describe(*v);
    return std::nullopt;
  }
  return v->b;
}

std::optional<Val> MLIRGenImpl::argTensor(const BoundArgs &args, unsigned k, StringRef name) {
  std::optional<Val> v = arg(args, k);
  if (!v)
    return std::nullopt;
  if (v->kind != Val::Tensor) {
    argError(args, k) << "argument '" << name << "' of '" << args.call->callee
                      << "' must be a tensor, got " << describe(*v);
    return std::nullopt;
  }
  return v;
}

//===----------------------------------------------------------------------===//
// Weights and scopes
//===----------------------------------------------------------------------===//

std::optional<std::string> MLIRGenImpl::resolveScope(const ScopeAST &scope) {
  const std::string &text = scope.text;
  if (text.empty()) {
    error(scope.loc) << "empty scope string";
    return std::nullopt;
  }
  std::string out;
  for (size_t k = 0; k < text.size(); ++k) {
    char c = text[k];
    if (c == '}') {
      error(scope.loc) << "unbalanced '}' in scope \"" << text << "\"";
      return std::nullopt;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    size_t close = text.find('}', k);
    if (close == std::string::npos) {
      error(scope.loc) << "unterminated '{' in scope \"" << text << "\"";
      return std::nullopt;
    }
    std::string name = text.substr(k + 1, close - k - 1);
    if (!loop) {
      error(scope.loc) << "'{" << name << "}' in scope \"" << text
                       << "\" outside a layer loop";
      return std::nullopt;
    }
    if (name != loop->var) {
      error(scope.loc) << "unknown placeholder '{" << name << "}' in scope \"" << text
                       << "\" (the loop variable is '" << loop->var << "')";
      return std::nullopt;
    }
    out += "{i}"; // stacked weight names spell the layer index `{i}` whatever the variable
    k = close;
  }
  for (StringRef part : llvm::split(StringRef(out), '.'))
    if (part.empty()) {
      error(scope.loc) << "scope \"" << text << "\" has an empty name component";
      return std::nullopt;
    }
  return out;
}

std::optional<std::string> MLIRGenImpl::weightPrefix(const CallExprAST &call) {
  SmallVector<std::string> parts(scopeStack.begin(), scopeStack.end());
  if (call.scope) {
    std::optional<std::string> own = resolveScope(*call.scope);
    if (!own)
      return std::nullopt;
    parts.push_back(*own);
  }
  if (parts.empty()) {
    error(call.getLoc()) << "'" << call.callee
                         << "' creates weights and needs a scope naming them: " << call.callee
                         << "(...) @ \"name\"";
    return std::nullopt;
  }
  return llvm::join(parts, ".");
}

std::optional<Value> MLIRGenImpl::weight(const CallExprAST &call, const std::string &prefix,
                                         StringRef suffix, ArrayRef<int64_t> shape) {
  std::string name = prefix + "." + suffix.str();
  bool stacked = StringRef(name).contains("{i}");
  if (loop && !stacked) {
    error(call.getLoc()) << "weight '" << name
                         << "' is created in a layer loop, so its name needs the loop index: "
                            "put '{"
                         << loop->var << "}' in the loop's or the call's scope";
    return std::nullopt;
  }
  auto [it, inserted] = weights.try_emplace(name);
  if (!inserted) {
    auto diag = error(call.getLoc());
    diag << "duplicate weight name '" << name << "'";
    diag.attachNote(loc(it->second.loc)) << "first used here";
    return std::nullopt;
  }
  // Per-layer names must not collide with a weight outside the loop either.
  SmallVector<std::string> expanded;
  if (stacked) {
    for (int64_t l = 0; l < loop->tripCount; ++l) {
      std::string n = name;
      for (size_t p = n.find("{i}"); p != std::string::npos; p = n.find("{i}"))
        n.replace(p, 3, std::to_string(l));
      expanded.push_back(n);
    }
  } else {
    expanded.push_back(name);
  }
  for (const std::string &n : expanded) {
    auto [e, fresh] = expandedNames.try_emplace(n, call.getLoc());
    if (!fresh) {
      auto diag = error(call.getLoc());
      diag << "duplicate weight name '" << n << "'";
      diag.attachNote(loc(e->second)) << "first used here";
      return std::nullopt;
    }
  }

  WeightInfo &info = it->second;
  info.loc = call.getLoc();
  info.shape.assign(shape.begin(), shape.end());
  info.stacked = stacked;
  info.func = func;
  mlir::Location l = loc(call.getLoc());
  if (!stacked) {
    info.value = builder.create<attn::WeightOp>(l, RankedTensorType::get(shape, builder.getF32Type()),
                                                builder.getStringAttr(name));
    return info.value;
  }
  SmallVector<int64_t> full{loop->tripCount};
  full.append(shape.begin(), shape.end());
  OpBuilder outside(loop->op);
  Value stackedValue = outside.create<attn::WeightOp>(
      l, RankedTensorType::get(full, builder.getF32Type()), builder.getStringAttr(name));
  info.value = stackedValue;
  SmallVector<OpFoldResult> offsets{loop->op.getInductionVar()};
  SmallVector<OpFoldResult> sizes{builder.getIndexAttr(1)};
  SmallVector<OpFoldResult> strides{builder.getIndexAttr(1)};
  for (int64_t d : shape) {
    offsets.push_back(builder.getIndexAttr(0));
    sizes.push_back(builder.getIndexAttr(d));
    strides.push_back(builder.getIndexAttr(1));
  }
  return builder
      .create<tensor::ExtractSliceOp>(l, RankedTensorType::get(shape, builder.getF32Type()),
                                      stackedValue, offsets, sizes, strides)
      .getResult();
}

//===----------------------------------------------------------------------===//
// Builtins
//===----------------------------------------------------------------------===//

std::optional<Val> MLIRGenImpl::genCall(const CallExprAST &call) {
  StringRef name = call.callee;
  bool inFunction = bool(func);
  if (name == "sqrt" || name == "min" || name == "max")
    return genScalarCall(call);
  if (!inFunction) {
    if (name == "embedding" || name == "position_embedding" || name == "sinusoidal" ||
        name == "linear" || name == "rms_norm" || name == "layer_norm" || name == "relu" ||
        name == "gelu" || name == "gelu_tanh" || name == "silu" || name == "attention" ||
        name == "rope" || name == "mla") {
      error(call.getLoc()) << "'" << name
                           << "' cannot be used in the config (only sqrt, min and max)";
      return std::nullopt;
    }
    error(call.getLoc()) << "unknown builtin '" << name << "'";
    return std::nullopt;
  }
  if (call.scope &&
      (name == "sinusoidal" || name == "relu" || name == "gelu" || name == "gelu_tanh" ||
       name == "silu" || name == "rope" || name == "mla")) {
    error(call.scope->loc) << "'" << name << "' has no weights, so it takes no scope";
    return std::nullopt;
  }
  if (name == "embedding")
    return genEmbedding(call);
  if (name == "position_embedding")
    return genPositionEmbedding(call);
  if (name == "sinusoidal")
    return genSinusoidal(call);
  if (name == "linear")
    return genLinear(call);
  if (name == "rms_norm" || name == "layer_norm")
    return genNorm(call, name == "layer_norm");
  if (name == "relu" || name == "gelu" || name == "gelu_tanh" || name == "silu")
    return genActivation(call);
  if (name == "attention")
    return genAttention(call);
  if (name == "rope")
    return genRope(call);
  if (name == "mla")
    return genMla(call);
  error(call.getLoc()) << "unknown builtin '" << name << "'";
  return std::nullopt;
}

std::optional<Val> MLIRGenImpl::genScalarCall(const CallExprAST &call) {
  bool isSqrt = call.callee == "sqrt";
  if (call.scope) {
    error(call.scope->loc) << "'" << call.callee << "' has no weights, so it takes no scope";
    return std::nullopt;
  }
  static const Param sqrtParams[] = {{"x", true}};
  static const Param minMaxParams[] = {{"a", true}, {"b", true}};
  std::optional<BoundArgs> args =
      isSqrt ? bind(call, sqrtParams) : bind(call, minMaxParams);
  if (!args)
    return std::nullopt;
  SmallVector<Val> vals;
  for (unsigned k = 0; k < args->exprs.size(); ++k) {
    std::optional<Val> v = arg(*args, k);
    if (!v)
      return std::nullopt;
    if (!v->isNumber()) {
      argError(*args, k) << "'" << call.callee << "' takes numbers, got " << describe(*v);
      return std::nullopt;
    }
    vals.push_back(*v);
  }
  if (isSqrt) {
    double x = vals[0].asDouble();
    if (x < 0) {
      error(call.getLoc()) << "sqrt of a negative number (" << formatDouble(x) << ")";
      return std::nullopt;
    }
    return Val::ofFloat(std::sqrt(x));
  }
  bool isMin = call.callee == "min";
  if (vals[0].kind == Val::Int && vals[1].kind == Val::Int)
    return Val::ofInt(isMin ? std::min(vals[0].i, vals[1].i) : std::max(vals[0].i, vals[1].i));
  double a = vals[0].asDouble(), b = vals[1].asDouble();
  return Val::ofFloat(isMin ? std::min(a, b) : std::max(a, b));
}

std::optional<Val> MLIRGenImpl::genEmbedding(const CallExprAST &call) {
  static const Param params[] = {{"tokens", true}, {"vocab", true}, {"dim", true}};
  std::optional<BoundArgs> args = bind(call, params);
  if (!args)
    return std::nullopt;
  std::optional<Val> toks = arg(*args, 0);
  if (!toks)
    return std::nullopt;
  if (toks->kind != Val::Tokens) {
    argError(*args, 0) << "argument 'tokens' of 'embedding' must be the token ids, got "
                       << describe(*toks);
    return std::nullopt;
  }
  std::optional<int64_t> vocab = argInt(*args, 1, "vocab");
  std::optional<int64_t> dim = vocab ? argInt(*args, 2, "dim") : std::nullopt;
  if (!dim)
    return std::nullopt;
  std::optional<std::string> prefix = weightPrefix(call);
  if (!prefix)
    return std::nullopt;
  std::optional<Value> table = weight(call, *prefix, "weight", {*vocab, *dim});
  if (!table)
    return std::nullopt;
  Value r = builder.create<attn::EmbeddingOp>(loc(call.getLoc()), activation(*dim), *table,
                                              toks->value);
  return Val::ofTensor(r, *dim);
}

std::optional<Val> MLIRGenImpl::genPositionEmbedding(const CallExprAST &call) {
  static const Param params[] = {{"max_pos", true}, {"dim", true}};
  std::optional<BoundArgs> args = bind(call, params);
  if (!args)
    return std::nullopt;
  std::optional<int64_t> maxPos = argInt(*args, 0, "max_pos");
  std::optional<int64_t> dim = maxPos ? argInt(*args, 1, "dim") : std::nullopt;
  if (!dim)
    return std::nullopt;
  std::optional<std::string> prefix = weightPrefix(call);
  if (!prefix)
    return std::nullopt;
  std::optional<Value> table = weight(call, *prefix, "weight", {*maxPos, *dim});
  if (!table)
    return std::nullopt;
  positionRows = positionRows ? std::min(*positionRows, *maxPos) : *maxPos;
  Value r = builder.create<attn::PositionEmbeddingOp>(loc(call.getLoc()), activation(*dim),
                                                      *table, tokens, Value());
  return Val::ofTensor(r, *dim);
}

std::optional<Val> MLIRGenImpl::genSinusoidal(const CallExprAST &call) {
  static const Param params[] = {{"dim", true}};
  std::optional<BoundArgs> args = bind(call, params);
  if (!args)
    return std::nullopt;
  std::optional<int64_t> dim = argInt(*args, 0, "dim");
  if (!dim)
    return std::nullopt;
  if (*dim % 2 != 0) {
    argError(*args, 0) << "sinusoidal needs an even dim, got " << *dim;
    return std::nullopt;
  }
  Value r = builder.create<attn::SinusoidalOp>(loc(call.getLoc()), activation(*dim), tokens,
                                               Value());
  return Val::ofTensor(r, *dim);
}

std::optional<Val> MLIRGenImpl::genLinear(const CallExprAST &call) {
  static const Param params[] = {{"x", true}, {"out", true}, {"bias", false}, {"tied", false}};
  std::optional<BoundArgs> args = bind(call, params);
  if (!args)
    return std::nullopt;
  std::optional<Val> x = argTensor(*args, 0, "x");
  if (!x)
    return std::nullopt;
  std::optional<int64_t> out = argInt(*args, 1, "out");
  if (!out)
    return std::nullopt;
  bool bias = false;
  if (args->get(2)) {
    std::optional<bool> b = argBool(*args, 2, "bias");
    if (!b)
      return std::nullopt;
    bias = *b;
  }
  SmallVector<int64_t> shape{*out, x->width};
  Value w, b;
  if (args->get(3)) {
    std::optional<Val> tied = arg(*args, 3);
    if (!tied)
      return std::nullopt;
    if (tied->kind != Val::Str) {
      argError(*args, 3) << "argument 'tied' of 'linear' must be a weight name string, got "
                         << describe(*tied);
      return std::nullopt;
    }
    auto it = weights.find(tied->s);
    if (it == weights.end()) {
      argError(*args, 3) << "tied weight '" << tied->s << "' is not defined before this call";
      return std::nullopt;
    }
    WeightInfo &info = it->second;
    if (info.stacked) {
      argError(*args, 3) << "tied weight '" << tied->s
                         << "' is a per-layer weight; only weights outside layer loops can be tied";
      return std::nullopt;
    }
    if (ArrayRef<int64_t>(info.shape) != ArrayRef<int64_t>(shape)) {
      argError(*args, 3) << "tied weight '" << tied->s << "' has shape " << shapeOf(info.shape)
                         << ", but linear(x, " << *out << ") of " << shapeOf(x->width)
                         << " needs " << shapeOf(shape);
      return std::nullopt;
    }
    if (info.func == func) {
      w = info.value;
    } else {
      // Another function's weight: the same name again (one manifest entry).
      OpBuilder at = builder;
      if (loop)
        at.setInsertionPoint(loop->op);
      w = at.create<attn::WeightOp>(loc(call.getLoc()), info.value.getType(),
                                    builder.getStringAttr(tied->s));
    }
  }
  if (!w || bias) {
    std::optional<std::string> prefix = weightPrefix(call);
    if (!prefix)
      return std::nullopt;
    if (!w) {
      std::optional<Value> own = weight(call, *prefix, "weight", shape);
      if (!own)
        return std::nullopt;
      w = *own;
    }
    if (bias) {
      std::optional<Value> own = weight(call, *prefix, "bias", {*out});
      if (!own)
        return std::nullopt;
      b = *own;
    }
  }
  Value r = builder.create<attn::LinearOp>(loc(call.getLoc()), activation(*out), x->value, w, b);
  return Val::ofTensor(r, *out);
}

std::optional<Val> MLIRGenImpl::genNorm(const CallExprAST &call, bool layerNorm) {
  static const Param params[] = {{"x", true}, {"eps", true}};
  std::optional<BoundArgs> args = bind(call, params);
  if (!args)
    return std::nullopt;
  std::optional<Val> x = argTensor(*args, 0, "x");
  if (!x)
    return std::nullopt;
  std::optional<double> eps = argNumber(*args, 1, "eps");
  if (!eps)
    return std::nullopt;
  if (*eps < 0 || !std::isfinite(*eps)) {
    argError(*args, 1) << "eps of '" << call.callee << "' must be a non-negative number, got "
                       << formatDouble(*eps);
    return std::nullopt;
  }
  std::optional<std::string> prefix = weightPrefix(call);
  if (!prefix)
    return std::nullopt;
  std::optional<Value> w = weight(call, *prefix, "weight", {x->width});
  if (!w)
    return std::nullopt;
  mlir::Location l = loc(call.getLoc());
  Value r;
  if (layerNorm) {
    std::optional<Value> b = weight(call, *prefix, "bias", {x->width});
    if (!b)
      return std::nullopt;
    r = builder.create<attn::LayerNormOp>(l, x->value.getType(), x->value, *w, *b,
                                          builder.getF64FloatAttr(*eps));
  } else {
    r = builder.create<attn::RMSNormOp>(l, x->value.getType(), x->value, *w,
                                        builder.getF64FloatAttr(*eps));
  }
  return Val::ofTensor(r, x->width);
}

std::optional<Val> MLIRGenImpl::genActivation(const CallExprAST &call) {
  static const Param params[] = {{"x", true}};
  std::optional<BoundArgs> args = bind(call, params);
  if (!args)
    return std::nullopt;
  std::optional<Val> x = argTensor(*args, 0, "x");
  if (!x)
    return std::nullopt;
  mlir::Location l = loc(call.getLoc());
  Value r;
  if (call.callee == "relu")
    r = builder.create<attn::ReluOp>(l, x->value);
  else if (call.callee == "gelu")
    r = builder.create<attn::GeluOp>(l, x->value);
  else if (call.callee == "gelu_tanh")
    r = builder.create<attn::GeluTanhOp>(l, x->value);
  else
    r = builder.create<attn::SiluOp>(l, x->value);
  return Val::ofTensor(r, x->width);
}

std::optional<Val> MLIRGenImpl::genRope(const CallExprAST &call) {
  static const Param params[] = {{"theta", false}, {"style", false}};
  std::optional<BoundArgs> args = bind(call, params);
  if (!args)
    return std::nullopt;
  Val v;
  v.kind = Val::Rope;
  if (args->get(0)) {
    std::optional<double> theta = argNumber(*args, 0, "theta");
    if (!theta)
      return std::nullopt;
    if (!(*theta > 0) || !std::isfinite(*theta)) {
      argError(*args, 0) << "rope theta must be positive, got " << formatDouble(*theta);
      return std::nullopt;
    }
    v.rope.theta = *theta;
  }
  if (args->get(1)) {
    std::optional<Val> style = arg(*args, 1);
    if (!style)
      return std::nullopt;
    if (style->kind != Val::Str || (style->s != "half" && style->s != "interleaved")) {
      argError(*args, 1) << "rope style must be \"half\" or \"interleaved\", got "
                         << describe(*style);
      return std::nullopt;
    }
    v.rope.style = style->s;
  }
  return v;
}

std::optional<Val> MLIRGenImpl::genMla(const CallExprAST &call) {
  static const Param params[] = {{"kv_rank", true},  {"rope_dim", true}, {"nope_dim", true},
                                 {"v_dim", true},    {"q_rank", false}};
  std::optional<BoundArgs> args = bind(call, params);
  if (!args)
    return std::nullopt;
  Val v;
  v.kind = Val::Mla;
  int64_t *fields[] = {&v.mla.kvRank, &v.mla.ropeDim, &v.mla.nopeDim, &v.mla.vDim, &v.mla.qRank};
  for (unsigned k = 0; k < 5; ++k) {
    if (!args->get(k))
      continue;
    std::optional<int64_t> n = argInt(*args, k, params[k].name, k == 4 ? 0 : 1);
    if (!n)
      return std::nullopt;
    *fields[k] = *n;
  }
  return v;
}

std::optional<Val> MLIRGenImpl::genAttention(const CallExprAST &call) {
  enum { X, Heads, KVHeads, HeadDim, Causal, Rope, Memory, Bias, Latent };
  static const Param params[] = {{"x", true},       {"heads", true},   {"kv_heads", false},
                                 {"head_dim", false}, {"causal", false}, {"rope", false},
                                 {"memory", false}, {"bias", false},   {"latent", false}};
  std::optional<BoundArgs> args = bind(call, params);
  if (!args)
    return std::nullopt;
  std::optional<Val> x = argTensor(*args, X, "x");
  if (!x)
    return std::nullopt;
  int64_t dim = x->width;
  std::optional<int64_t> heads = argInt(*args, Heads, "heads");
  if (!heads)
    return std::nullopt;
  bool causal = false;
  if (args->get(Causal)) {
    std::optional<bool> c = argBool(*args, Causal, "causal");
    if (!c)
      return std::nullopt;
    causal = *c;
  }
  std::optional<RopeSpec> rope;
  if (args->get(Rope)) {
    std::optional<Val> r = arg(*args, Rope);
    if (!r)
      return std::nullopt;
    if (r->kind != Val::Rope) {
      argError(*args, Rope) << "argument 'rope' of 'attention' must be rope(...), got "
                            << describe(*r);
      return std::nullopt;
    }
    rope = r->rope;
  }
  FloatAttr ropeTheta = rope ? builder.getF64FloatAttr(rope->theta) : FloatAttr();
  attn::RopeStyleAttr ropeStyle =
      rope ? attn::RopeStyleAttr::get(builder.getContext(), *attn::symbolizeRopeStyle(rope->style))
           : attn::RopeStyleAttr();
  UnitAttr causalAttr = causal ? builder.getUnitAttr() : UnitAttr();
  mlir::Location l = loc(call.getLoc());

  if (args->get(Latent)) {
    std::optional<Val> m = arg(*args, Latent);
    if (!m)
      return std::nullopt;
    if (m->kind != Val::Mla) {
      argError(*args, Latent) << "argument 'latent' of 'attention' must be mla(...), got "
                              << describe(*m);
      return std::nullopt;
    }
    for (unsigned k : {unsigned(KVHeads), unsigned(HeadDim), unsigned(Memory), unsigned(Bias)})
      if (args->get(k)) {
        error(args->locs[k]) << "'" << params[k].name
                             << "' cannot be combined with latent attention";
        return std::nullopt;
      }
    const MlaSpec &s = m->mla;
    if (rope && s.ropeDim % 2 != 0) {
      argError(*args, Rope) << "rope needs an even rope_dim, got " << s.ropeDim;
      return std::nullopt;
    }
    std::optional<std::string> prefix = weightPrefix(call);
    if (!prefix)
      return std::nullopt;
    int64_t qk = s.nopeDim + s.ropeDim;
    SmallVector<Value> q;
    auto add = [&](StringRef name, ArrayRef<int64_t> shape, SmallVectorImpl<Value> &into) {
      std::optional<Value> w = weight(call, *prefix, (name + ".weight").str(), shape);
      if (!w)
        return false;
      into.push_back(*w);
      return true;
    };
    SmallVector<Value> kv, o;
    if (s.qRank == 0) {
      if (!add("q_proj", {*heads * qk, dim}, q))
        return std::nullopt;
    } else if (!add("q_a_proj", {s.qRank, dim}, q) || !add("q_a_layernorm", {s.qRank}, q) ||
               !add("q_b_proj", {*heads * qk, s.qRank}, q)) {
      return std::nullopt;
    }
    if (!add("kv_a_proj_with_mqa", {s.kvRank + s.ropeDim, dim}, kv) ||
        !add("kv_a_layernorm", {s.kvRank}, kv) ||
        !add("kv_b_proj", {*heads * (s.nopeDim + s.vDim), s.kvRank}, kv) ||
        !add("o_proj", {dim, *heads * s.vDim}, o))
      return std::nullopt;
    Value r = builder.create<attn::LatentAttentionOp>(
        l, activation(dim), x->value, q, kv[0], kv[1], kv[2], o[0],
        builder.getI64IntegerAttr(*heads), builder.getI64IntegerAttr(s.kvRank),
        builder.getI64IntegerAttr(s.ropeDim), builder.getI64IntegerAttr(s.nopeDim),
        builder.getI64IntegerAttr(s.vDim), builder.getI64IntegerAttr(s.qRank), causalAttr,
        ropeTheta, ropeStyle);
    return Val::ofTensor(r, dim);
  }

  int64_t kvHeads = *heads;
  if (args->get(KVHeads)) {
    std::optional<int64_t> k = argInt(*args, KVHeads, "kv_heads");
    if (!k)
      return std::nullopt;
    kvHeads = *k;
  }
  if (*heads % kvHeads != 0) {
    argError(*args, args->get(KVHeads) ? KVHeads : Heads)
        << "heads (" << *heads << ") must be divisible by kv_heads (" << kvHeads << ")";
    return std::nullopt;
  }
  int64_t headDim;
  if (args->get(HeadDim)) {
    std::optional<int64_t> hd = argInt(*args, HeadDim, "head_dim");
    if (!hd)
      return std::nullopt;
    headDim = *hd;
  } else {
    if (dim % *heads != 0) {
      argError(*args, Heads) << "head_dim defaults to dim / heads, but " << dim << " / "
                             << *heads << " does not divide evenly; give head_dim";
      return std::nullopt;
    }
    headDim = dim / *heads;
  }
  if (rope && headDim % 2 != 0) {
    argError(*args, Rope) << "rope needs an even head_dim, got " << headDim;
    return std::nullopt;
  }
  Value memory;
  int64_t memDim = dim;
  if (args->get(Memory)) {
    std::optional<Val> m = argTensor(*args, Memory, "memory");
    if (!m)
      return std::nullopt;
    if (causal) {
      argError(*args, Causal) << "cross-attention over a memory cannot be causal";
      return std::nullopt;
    }
    memory = m->value;
    memDim = m->width;
  }
  bool bias = false;
  if (args->get(Bias)) {
    std::optional<bool> b = argBool(*args, Bias, "bias");
    if (!b)
      return std::nullopt;
    bias = *b;
  }
  std::optional<std::string> prefix = weightPrefix(call);
  if (!prefix)
    return std::nullopt;
  struct Proj {
    const char *name;
    int64_t out, in;
  } projs[] = {{"q_proj", *heads * headDim, dim},
               {"k_proj", kvHeads * headDim, memDim},
               {"v_proj", kvHeads * headDim, memDim},
               {"o_proj", dim, *heads * headDim}};
  Value w[4], b[4];
  for (auto [k, p] : llvm::enumerate(projs)) {
    std::optional<Value> wv = weight(call, *prefix, std::string(p.name) + ".weight", {p.out, p.in});
    if (!wv)
      return std::nullopt;
    w[k] = *wv;
    if (bias) {
      std::optional<Value> bv = weight(call, *prefix, std::string(p.name) + ".bias", {p.out});
      if (!bv)
        return std::nullopt;
      b[k] = *bv;
    }
  }
  Value r = builder.create<attn::AttentionOp>(
      l, activation(dim), x->value, memory, w[0], w[1], w[2], w[3], b[0], b[1], b[2], b[3],
      builder.getI64IntegerAttr(*heads), builder.getI64IntegerAttr(kvHeads),
      builder.getI64IntegerAttr(headDim), causalAttr, ropeTheta, ropeStyle);
  return Val::ofTensor(r, dim);
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
  OwningOpRef<ModuleOp> result = MLIRGenImpl(context, /*checkOnly=*/false).gen(module);
  if (sawError)
    return nullptr;
  return result;
}

LogicalResult checkModule(MLIRContext &context, const ModuleAST &module) {
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
  OwningOpRef<ModuleOp> scratch = MLIRGenImpl(context, /*checkOnly=*/true).gen(module);
  return success(scratch && !sawError);
}

} // namespace tfc
