//===- MLIRGen.h - From the tdsl AST to the attn dialect ---------*- C++ -*-===//
//
// The front end's entry points: parseTdsl (Parser.h) builds and checks the AST,
// mlirGen emits the attn-dialect module (one func.func per tdsl function, one
// scf.for per layer loop with stacked weights), dumpAST (AST.h) prints the tree.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_FRONTEND_MLIRGEN_H
#define TFC_FRONTEND_MLIRGEN_H

#include "tfc/Frontend/AST.h"
#include "tfc/Frontend/Parser.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace tfc {

/// Emits the attn-dialect module; null after an error (errors emitted at source
/// locations).
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context, const ModuleAST &module);

/// The semantic checks of `module` (names, arguments, shapes, weight names...),
/// reported as errors at source locations. They are the checks mlirGen makes:
/// both run the same generator, this one into a module it discards.
mlir::LogicalResult checkModule(mlir::MLIRContext &context, const ModuleAST &module);

} // namespace tfc

#endif // TFC_FRONTEND_MLIRGEN_H
