//===- AttnOps.h - Operations of the attn dialect ----------------*- C++ -*-===//
//
// Declares the op classes generated from AttnOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_IR_ATTNOPS_H
#define TFC_DIALECT_ATTN_IR_ATTNOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "tfc/Dialect/Attn/IR/AttnAttrs.h"
#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Dialect/Attn/IR/AttnLoweringAttrs.h"

#define GET_OP_CLASSES
#include "tfc/Dialect/Attn/IR/AttnOps.h.inc"

#endif // TFC_DIALECT_ATTN_IR_ATTNOPS_H
