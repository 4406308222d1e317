//===- AttnDialect.cpp - The attn dialect ---------------------------------===//
//
// Registers the attn operations and attributes with the dialect.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Dialect/Attn/IR/AttnAttrs.h"
#include "tfc/Dialect/Attn/IR/AttnOps.h"

using namespace mlir;
using namespace tfc::attn;

#include "tfc/Dialect/Attn/IR/AttnOpsDialect.cpp.inc"

void AttnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "tfc/Dialect/Attn/IR/AttnOps.cpp.inc"
      >();
  registerAttributes();
}
