//===- AttnAttrs.h - Attributes of the attn dialect --------------*- C++ -*-===//
//
// Declares the enums and attribute classes generated from AttnAttrs.td: weight
// names and the ABI metadata (gen_abi.h) carried on the IR.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_IR_ATTNATTRS_H
#define TFC_DIALECT_ATTN_IR_ATTNATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"

#include "tfc/Dialect/Attn/IR/AttnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "tfc/Dialect/Attn/IR/AttnAttrs.h.inc"

namespace tfc::attn {

/// `custom<WeightName>` of attn.weight: the name without the `<...>` of
/// #attn.weight_name, e.g. `"model.layers." * ".q_proj.weight" layers 22`.
mlir::ParseResult parseWeightName(mlir::OpAsmParser &parser, WeightNameAttr &name);
void printWeightName(mlir::OpAsmPrinter &printer, mlir::Operation *op, WeightNameAttr name);

} // namespace tfc::attn

#endif // TFC_DIALECT_ATTN_IR_ATTNATTRS_H
