//===- Manifest.cpp - The weight manifest of an attn module -----------------===//
//
// Reads the manifest off the attn.weight ops, so that whatever produced the IR
// (the front end or a hand-written test) the printed and the embedded
// manifests agree.
//
//===----------------------------------------------------------------------===//

#include "tfc/Frontend/Manifest.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "llvm/ADT/StringSet.h"

namespace tfc {

llvm::SmallVector<WeightEntry> collectWeightManifest(mlir::ModuleOp module) {
  llvm::SmallVector<WeightEntry> entries;
  llvm::StringSet<> seen; // a tied weight appears once per function that uses it
  module.walk([&](attn::WeightOp w) {
    llvm::StringRef name = w.getName();
    llvm::ArrayRef<int64_t> shape = w.getType().getShape();
    if (!seen.insert(name).second)
      return;
    if (!w.isStacked() || shape.empty()) {
      entries.push_back({name.str(), llvm::SmallVector<int64_t>(shape)});
      return;
    }
    for (int64_t layer = 0; layer < shape.front(); ++layer) {
      std::string expanded = name.str();
      for (size_t p = expanded.find("{i}"); p != std::string::npos; p = expanded.find("{i}"))
        expanded.replace(p, 3, std::to_string(layer));
      entries.push_back({expanded, llvm::SmallVector<int64_t>(shape.drop_front())});
    }
  });
  return entries;
}

} // namespace tfc
