//===- Activations.cpp - Each attention layer's inputs on given tokens ------===//
//
// The variant module: the self-attention ops are tagged with their site
// number, the layer loops around them unrolled (each copy of an attention op
// tagged with its layer, the loop's induction value, which is the layer its
// stacked weights are sliced at), and the decoder's result replaced by the
// tagged ops' inputs concatenated in (site, layer) order. Everything the
// logits needed and the inputs do not is dead and left to the pipeline's
// canonicalization. The variant is printed as attn IR, which tfc compiles like
// a .tdsl file, and run like any model: its "logits" are the inputs.
//
//===----------------------------------------------------------------------===//

#include "Activations.h"

#include "Evaluate.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <map>

namespace tfc::convert {

namespace {

constexpr llvm::StringLiteral kSiteAttr = "tfc.convert_site";
constexpr llvm::StringLiteral kLayerAttr = "tfc.convert_layer";

/// Replaces `loop` (constant bounds) by copies of its body, one per
/// iteration; copies of tagged attention ops get the iteration's index.
std::string unroll(mlir::scf::ForOp loop) {
  auto lower = mlir::getConstantIntValue(loop.getLowerBound());
  auto upper = mlir::getConstantIntValue(loop.getUpperBound());
  auto step = mlir::getConstantIntValue(loop.getStep());
  if (!lower || !upper || !step || *step <= 0)
    return "a layer loop around self-attention has no constant bounds";
  mlir::OpBuilder b(loop);
  llvm::SmallVector<mlir::Value> carried(loop.getInitArgs());
  for (int64_t i = *lower; i < *upper; i += *step) {
    mlir::IRMapping map;
    map.map(loop.getInductionVar(),
            b.create<mlir::arith::ConstantIndexOp>(loop.getLoc(), i).getResult());
    for (auto [arg, value] : llvm::zip(loop.getRegionIterArgs(), carried))
      map.map(arg, value);
    for (mlir::Operation &op : loop.getBody()->without_terminator()) {
      mlir::Operation *copy = b.clone(op, map);
      copy->walk([&](mlir::Operation *inner) {
        if (inner->hasAttr(kSiteAttr))
          inner->setAttr(kLayerAttr, b.getI64IntegerAttr(i));
      });
    }
    auto yield = mlir::cast<mlir::scf::YieldOp>(loop.getBody()->getTerminator());
    for (auto [k, value] : llvm::enumerate(yield.getOperands()))
      carried[k] = map.lookupOrDefault(value);
  }
  loop.replaceAllUsesWith(carried);
  loop.erase();
  return "";
}

/// concat_last(lhs, rhs) before `at`.
mlir::Value concat(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs, mlir::Value rhs) {
  auto l = mlir::cast<mlir::RankedTensorType>(lhs.getType());
  auto r = mlir::cast<mlir::RankedTensorType>(rhs.getType());
  auto type = mlir::RankedTensorType::get(
      {mlir::ShapedType::kDynamic, l.getDimSize(1) + r.getDimSize(1)}, b.getF32Type());
  return b.create<attn::ConcatLastOp>(loc, type, lhs, rhs);
}

/// The variant described above, in place on `module`; its result is at
/// least `vocab` wide (see collectAttentionInputs).
std::string returnAttentionInputs(mlir::ModuleOp module, int64_t vocab) {
  int64_t sites = 0;
  llvm::SetVector<mlir::scf::ForOp> loops;
  std::string error;
  module.walk([&](mlir::Operation *op) {
    if (!isConvertedAttention(op))
      return;
    op->setAttr(kSiteAttr, mlir::IntegerAttr::get(mlir::IntegerType::get(op->getContext(), 64),
                                                  sites++));
    auto function = op->getParentOfType<mlir::func::FuncOp>();
    if (!function || function.getSymName() != "decoder")
      error = "the layers' inputs are read from the decoder; this model has self-attention "
              "outside it";
    if (auto loop = mlir::dyn_cast<mlir::scf::ForOp>(op->getParentOp())) {
      if (loop->getParentOp() != function)
        error = "a layer loop around self-attention is inside another loop";
      loops.insert(loop);
    } else if (op->getParentOp() != function) {
      error = "a self-attention call is inside a region other than a layer loop";
    }
  });
  if (!error.empty())
    return error;
  for (mlir::scf::ForOp loop : loops)
    if (std::string e = unroll(loop); !e.empty())
      return e;

  // The inputs in (site, layer) order; a call outside a loop is layer 0.
  std::map<std::pair<int64_t, int64_t>, mlir::Value> inputs;
  auto decoder = module.lookupSymbol<mlir::func::FuncOp>("decoder");
  decoder.walk([&](attn::AttentionOp op) {
    auto site = op->getAttrOfType<mlir::IntegerAttr>(kSiteAttr);
    auto layer = op->getAttrOfType<mlir::IntegerAttr>(kLayerAttr);
    if (site)
      inputs[{site.getInt(), layer ? layer.getInt() : 0}] = op.getInput();
  });
  auto ret = mlir::cast<mlir::func::ReturnOp>(decoder.getBody().front().getTerminator());
  if (ret.getNumOperands() != 1)
    return "the decoder has more than one result";
  mlir::OpBuilder b(ret);
  mlir::Value all;
  for (auto &[key, input] : inputs)
    all = all ? concat(b, ret.getLoc(), all, input) : input;
  // The runtime takes the decoder's output width for the vocabulary and
  // refuses ids beyond it: the inputs are repeated (doubling) until the width
  // reaches the model's vocabulary; the reader takes the first copy.
  while (mlir::cast<mlir::RankedTensorType>(all.getType()).getDimSize(1) < vocab)
    all = concat(b, ret.getLoc(), all, all);
  ret->setOperands(all);
  decoder.setType(b.getFunctionType(decoder.getArgumentTypes(), all.getType()));
  return "";
}

} // namespace

bool isConvertedAttention(mlir::Operation *op) {
  auto attention = mlir::dyn_cast<attn::AttentionOp>(op);
  return attention && !attention.getMemory();
}

std::string collectAttentionInputs(mlir::ModuleOp module, int64_t vocab,
                                   const std::string &weights,
                                   const std::vector<int32_t> &tokens,
                                   std::vector<std::vector<MatD>> &inputs) {
  mlir::OwningOpRef<mlir::ModuleOp> variant = module.clone();
  if (std::string e = returnAttentionInputs(*variant, vocab); !e.empty())
    return "cannot read the attention layers' inputs: " + e;

  llvm::SmallString<128> dir, path;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("tfc-convert-inputs", dir))
    return "cannot create a temporary directory: " + ec.message();
  path = dir;
  llvm::sys::path::append(path, "inputs.mlir");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return "cannot write '" + path.str().str() + "': " + ec.message();
    variant->print(os);
  }
  LoadedModel model;
  std::string error = compileAndLoad(std::string(path), PipelineOptions(), weights, 0, dir,
                                     "inputs", model);
  llvm::sys::fs::remove_directories(dir);
  std::vector<float> rows;
  if (error.empty())
    error = runSession(model, tokens, {}, rows);
  if (!error.empty())
    return "cannot read the attention layers' inputs: " + error;

  // Split [n, sum of widths] back into the layers, in the order of `inputs`.
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t width = static_cast<int64_t>(rows.size()) / std::max<int64_t>(n, 1);
  int64_t column = 0;
  for (std::vector<MatD> &site : inputs)
    for (MatD &layer : site) {
      const int64_t dim = layer.cols();
      if (column + dim > width)
        return "the attention inputs' variant returned fewer columns than the layers have";
      for (int64_t t = 0; t < n; ++t)
        for (int64_t c = 0; c < dim; ++c)
          layer(t, c) = rows[t * width + column + c];
      column += dim;
    }
  if (width % column)
    return fmt::format("the attention inputs' variant returned {} columns, not copies of the "
                       "layers' {}",
                       width, column);
  return "";
}

} // namespace tfc::convert
