//===- WeightNames.cpp - Scopes and the names of weights --------------------===//
//
// A weight's name is the chain of enclosing `@` scopes (the loop's, then the
// call's) joined by `.`, plus the builtin's suffix. Scope strings are checked
// here: not empty, no empty component, `{name}` only inside a layer loop and
// only naming its variable. Inside a loop the name must contain the layer
// index, and the weight is stacked: one `attn.weight` before the loop with the
// trip count as leading dimension, sliced with the induction variable in the
// body. Every name, and every per-layer name after expansion, is created once
// per model; reusing a weight is what `tied` is for.
//
//===----------------------------------------------------------------------===//

#include "WeightNames.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace tfc::frontend {

/// How a resolved scope (and the weight names built from it) spells the layer
/// index, whatever the loop variable: the tdsl spelling, shown in messages and
/// matched by `tied`. Weights carry the parts between as an #attn.weight_name.
static constexpr llvm::StringLiteral kLayerIndex = "{i}";

std::optional<std::string> WeightNames::resolveScope(const ScopeAST &scope) {
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
    out += kLayerIndex;
    k = close;
  }
  for (StringRef part : llvm::split(StringRef(out), '.'))
    if (part.empty()) {
      error(scope.loc) << "scope \"" << text << "\" has an empty name component";
      return std::nullopt;
    }
  return out;
}

std::optional<std::string> WeightNames::weightPrefix(const CallExprAST &call) {
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

/// `name` cut at its layer and expert indices: the parts an #attn.weight_name
/// joins, and whether the last cut is the expert index.
static SmallVector<StringRef> splitAtIndices(StringRef name, bool &hasExpert) {
  SmallVector<StringRef> parts;
  hasExpert = false;
  while (true) {
    size_t layerAt = name.find(kLayerIndex), expertAt = name.find(kExpertIndex);
    size_t at = std::min(layerAt, expertAt);
    if (at == StringRef::npos) {
      parts.push_back(name);
      return parts;
    }
    // The expert index comes from a builtin's suffix: after every layer index.
    hasExpert = at == expertAt;
    parts.push_back(name.take_front(at));
    name = name.drop_front(at + (hasExpert ? kExpertIndex.size() : kLayerIndex.size()));
  }
}

std::optional<Value> WeightNames::weight(const CallExprAST &call, const std::string &prefix,
                                         StringRef suffix, ArrayRef<int64_t> shape,
                                         int64_t experts) {
  std::string name = suffix.empty() ? prefix : prefix + "." + suffix.str();
  bool hasExpert;
  SmallVector<StringRef> parts = splitAtIndices(name, hasExpert);
  if (!hasExpert)
    experts = 0;
  bool layered = parts.size() > (hasExpert ? 2u : 1u);
  SmallVector<StringAttr> partAttrs;
  for (StringRef part : parts)
    partAttrs.push_back(builder.getStringAttr(part));
  auto nameAttr = attn::WeightNameAttr::get(builder.getContext(), partAttrs,
                                            layered ? loop->tripCount : 0,
                                            layered ? loop->firstLayer : 0, experts);
  if (loop && !layered) {
    error(call.getLoc()) << "weight '" << name
                         << "' is created in a layer loop, so its name needs the loop index: "
                            "put '{"
                         << loop->var << "}' in the loop's or the call's scope";
    return std::nullopt;
  }
  // Two loops over different layers may create the same per-layer name
  // (`for i in 1 .. L` after `for i in 0 .. 1`): for those, the expanded names
  // below are what must not repeat.
  auto [it, inserted] = weights.try_emplace(name);
  if (!inserted && !nameAttr.isStacked()) {
    auto diag = error(call.getLoc());
    diag << "duplicate weight name '" << name << "'";
    diag.attachNote(loc(it->second.loc)) << "first used here";
    return std::nullopt;
  }
  // Per-layer names must not collide with a weight outside the loop either.
  SmallVector<std::string> expanded;
  for (int64_t l = 0; l < std::max<int64_t>(nameAttr.getEntries(), 1); ++l)
    expanded.push_back(nameAttr.nameOfLayer(l));
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
  info.stacked = nameAttr.isStacked();
  info.func = func;
  mlir::Location l = loc(call.getLoc());
  SmallVector<int64_t> full;
  if (nameAttr.isStacked())
    full.push_back(nameAttr.getEntries());
  full.append(shape.begin(), shape.end());
  auto fullType = RankedTensorType::get(full, builder.getF32Type());
  if (!layered) {
    info.value = builder.create<attn::WeightOp>(l, fullType, nameAttr, attn::WeightInitAttr());
    return info.value;
  }
  OpBuilder outside(loop->op);
  Value stackedValue = outside.create<attn::WeightOp>(l, fullType, nameAttr, attn::WeightInitAttr());
  info.value = stackedValue;
  // This layer's entry, or its `experts` entries (which stay a leading dimension).
  OpFoldResult first = loop->op.getInductionVar();
  SmallVector<int64_t> sliceShape;
  if (experts > 0) {
    Value count = builder.create<arith::ConstantIndexOp>(l, experts);
    first = builder.create<arith::MulIOp>(l, loop->op.getInductionVar(), count).getResult();
    sliceShape.push_back(experts);
  }
  sliceShape.append(shape.begin(), shape.end());
  SmallVector<OpFoldResult> offsets{first};
  SmallVector<OpFoldResult> sizes{builder.getIndexAttr(std::max<int64_t>(experts, 1))};
  SmallVector<OpFoldResult> strides{builder.getIndexAttr(1)};
  for (int64_t d : shape) {
    offsets.push_back(builder.getIndexAttr(0));
    sizes.push_back(builder.getIndexAttr(d));
    strides.push_back(builder.getIndexAttr(1));
  }
  return builder
      .create<tensor::ExtractSliceOp>(l, RankedTensorType::get(sliceShape, builder.getF32Type()),
                                      stackedValue, offsets, sizes, strides)
      .getResult();
}

std::optional<Value> WeightNames::tied(const CallExprAST &call, const Location &argLoc,
                                       const std::string &name, ArrayRef<int64_t> shape,
                                       const std::string &user) {
  auto it = weights.find(name);
  if (it == weights.end()) {
    error(argLoc) << "tied weight '" << name << "' is not defined before this call";
    return std::nullopt;
  }
  WeightInfo &info = it->second;
  if (info.stacked) {
    error(argLoc) << "tied weight '" << name
                  << "' is a per-layer weight; only weights outside layer loops can be tied";
    return std::nullopt;
  }
  if (ArrayRef<int64_t>(info.shape) != shape) {
    error(argLoc) << "tied weight '" << name << "' has shape " << shapeOf(info.shape) << ", but "
                  << user << " needs " << shapeOf(shape);
    return std::nullopt;
  }
  if (info.func == func)
    return info.value;
  // Another function's weight: the same name again (one manifest entry).
  OpBuilder at = builder;
  if (loop)
    at.setInsertionPoint(loop->op);
  return at.create<attn::WeightOp>(loc(call.getLoc()), info.value.getType(),
                                   info.value.getDefiningOp<attn::WeightOp>().getName(),
                                   attn::WeightInitAttr())
      .getResult();
}

} // namespace tfc::frontend
