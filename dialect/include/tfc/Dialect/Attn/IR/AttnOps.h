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

namespace tfc::attn {

/// ggml Q8_0 blocks of a KV cache stored as i8 bytes (attn.kv_quant): 32
/// values, an f16 scale and 32 int8.
constexpr int64_t kKVQ8Block = 32;
constexpr int64_t kKVQ8BlockBytes = 34;

/// Columns of `width` f32 values stored as `storage` (f32 or bf16: width; i8:
/// the bytes of its Q8_0 blocks), or -1 when they cannot be (Q8_0 of a width
/// that is not a multiple of 32, another element type).
int64_t kvStorageWidth(mlir::Type storage, int64_t width);

} // namespace tfc::attn

#endif // TFC_DIALECT_ATTN_IR_ATTNOPS_H
