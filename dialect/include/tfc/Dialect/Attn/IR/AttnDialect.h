//===- AttnDialect.h - The attn dialect --------------------------*- C++ -*-===//
//
// Declares the attn dialect class generated from AttnDialect.td.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_IR_ATTNDIALECT_H
#define TFC_DIALECT_ATTN_IR_ATTNDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "tfc/Dialect/Attn/IR/AttnOpsDialect.h.inc"

#endif // TFC_DIALECT_ATTN_IR_ATTNDIALECT_H
