//===- Passes.h - Code generation passes of tfc ------------------*- C++ -*-===//
//
// Passes on bufferized IR that shape the generated code for the CPU.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CODEGEN_PASSES_H
#define TFC_CODEGEN_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace tfc {

#define GEN_PASS_DECL
#include "tfc/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "tfc/Codegen/Passes.h.inc"

} // namespace tfc

#endif // TFC_CODEGEN_PASSES_H
