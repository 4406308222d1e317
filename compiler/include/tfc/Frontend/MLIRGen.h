//===- MLIRGen.h - From the tdsl AST to the attn dialect ---------*- C++ -*-===//
//
// The front end's entry points: parseTdsl (Parser.h) builds the AST, mlirGen
// checks it and emits the attn-dialect module in one walk (one func.func per
// tdsl function, one scf.for per layer loop with stacked weights), dumpAST
// (AST.h) prints the tree, printBuiltinReference the builtin table.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_FRONTEND_MLIRGEN_H
#define TFC_FRONTEND_MLIRGEN_H

#include "tfc/Frontend/AST.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/raw_ostream.h"

namespace tfc {

/// Checks `module` (names, arguments, shapes, weight names...) and emits the
/// attn-dialect module; null after an error. Diagnostics are reported at source
/// locations; only the first error is, since the walk stops there.
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context, const ModuleAST &module);

/// Prints the builtin table as the reference section of docs/tdsl.md
/// (`tfc --print-builtins`).
void printBuiltinReference(llvm::raw_ostream &os);

} // namespace tfc

#endif // TFC_FRONTEND_MLIRGEN_H
