//===- Manifest.cpp - The weight manifest of an attn module -----------------===//
//
// Reads the manifest off the attn.weight ops, so that whatever produced the IR
// (the front end or a hand-written test) the printed and the embedded
// manifests agree.
//
//===----------------------------------------------------------------------===//

#include "tfc/Frontend/Manifest.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringSet.h"

namespace tfc {

namespace {

/// The layer loop a stacked weight is sliced in (the op itself when unused), so
/// that the weights of one loop are listed layer by layer.
mlir::Operation *groupOf(attn::WeightOp w) {
  for (mlir::Operation *user : w->getUsers())
    if (auto loop = user->getParentOfType<mlir::scf::ForOp>())
      return loop;
  return w;
}

} // namespace

llvm::SmallVector<WeightEntry> collectWeightManifest(mlir::ModuleOp module) {
  llvm::SmallVector<attn::WeightOp> all;
  llvm::MapVector<mlir::Operation *, llvm::SmallVector<attn::WeightOp>> groups;
  module.walk([&](attn::WeightOp w) {
    all.push_back(w);
    if (w.isStacked() && w.getType().getRank() >= 1)
      groups[groupOf(w)].push_back(w);
  });

  llvm::SmallVector<WeightEntry> entries;
  llvm::StringSet<> seen; // a tied weight appears once per function that uses it
  llvm::DenseSet<mlir::Operation *> listedGroups;
  auto add = [&](std::string name, llvm::ArrayRef<int64_t> shape) {
    if (seen.insert(name).second)
      entries.push_back({std::move(name), llvm::SmallVector<int64_t>(shape)});
  };
  for (attn::WeightOp w : all) {
    llvm::ArrayRef<int64_t> shape = w.getType().getShape();
    if (!w.isStacked() || shape.empty()) {
      add(w.nameOfLayer(0), shape); // not stacked: its one name
      continue;
    }
    mlir::Operation *group = groupOf(w);
    if (!listedGroups.insert(group).second)
      continue;
    // Layer-major: layer 0's tensors, then layer 1's, ... (each weight's own
    // entry count bounds its layers); an expert-stacked weight lists its
    // experts of the layer in order.
    llvm::SmallVector<attn::WeightOp> &members = groups[group];
    auto perLayer = [](attn::WeightOp m) { return std::max<int64_t>(m.getName().getExperts(), 1); };
    int64_t layers = 0;
    for (attn::WeightOp m : members)
      layers = std::max(layers, m.getType().getShape().front() / perLayer(m));
    for (int64_t layer = 0; layer < layers; ++layer)
      for (attn::WeightOp m : members)
        for (int64_t e = 0, n = perLayer(m); e < n; ++e)
          if (layer * n + e < m.getType().getShape().front())
            add(m.nameOfLayer(layer * n + e), m.getType().getShape().drop_front());
  }
  return entries;
}

} // namespace tfc
