//===- tfc-opt.cpp - The mlir-opt of tfc ------------------------------------===//
//
// Every upstream dialect and pass plus the attn dialect and the tfc passes, for
// lit tests and for running pipelines by hand.
//
//===----------------------------------------------------------------------===//

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "tfc/Codegen/Passes.h"
#include "tfc/Conversion/Passes.h"
#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Dialect/Attn/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  tfc::attn::registerAttnPasses();
  tfc::registerTfcConversionPasses();
  tfc::registerTfcCodegenPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<tfc::attn::AttnDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "tfc optimizer driver\n", registry));
}
