//===- Manifest.h - The weight manifest of an attn module --------*- C++ -*-===//
//
// The list of tensors a compiled model loads: one entry per weight name, with
// stacked layer weights (`layers N`, leading layer dimension) expanded to one
// entry per layer by WeightNameAttr::nameOfLayer, as the emitter expands them. `tfc --print-weights` prints it and the emitter bakes it
// into model.so, so both read it off the same IR.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_FRONTEND_MANIFEST_H
#define TFC_FRONTEND_MANIFEST_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>

namespace tfc {

struct WeightEntry {
  std::string name;
  llvm::SmallVector<int64_t> shape;
};

/// The manifest of `module`: every `attn.weight` in walk order (first
/// appearance), each name once; a stacked weight `"a." * ".b" layers L :
/// tensor<LxD...>` becomes `a.0.b`, ..., `a.<L-1>.b`, each of shape `D...`. The stacked weights
/// of one layer loop are listed layer-major where the first of them appears:
/// all of layer 0's tensors, then layer 1's, ...
llvm::SmallVector<WeightEntry> collectWeightManifest(mlir::ModuleOp module);

} // namespace tfc

#endif // TFC_FRONTEND_MANIFEST_H
