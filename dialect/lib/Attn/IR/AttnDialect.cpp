//===- AttnDialect.cpp - The attn dialect ---------------------------------===//
//
// Registers the attn operations and attributes with the dialect; verifies
// the attributes.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Dialect/Attn/IR/AttnAttrs.h"
#include "tfc/Dialect/Attn/IR/AttnOps.h"

using namespace mlir;
using namespace tfc::attn;

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include "tfc/Dialect/Attn/IR/AttnOpsDialect.cpp.inc"

void AttnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "tfc/Dialect/Attn/IR/AttnOps.cpp.inc"
      >();
  registerAttributes();
}

//===----------------------------------------------------------------------===//
// Attributes read by the lowering (AttnLoweringAttrs.td)
//===----------------------------------------------------------------------===//

LogicalResult SDPATilingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     int64_t queryRows, int64_t keyTile) {
  if (!tfc::SDPATiling{keyTile, queryRows}.valid())
    return emitError() << "sdpa_tiling: query_rows (" << queryRows << ") and key_tile (" << keyTile
                       << ") must be between 1 and " << tfc::kMaxSDPATile;
  return success();
}
