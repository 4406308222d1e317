//===- tfc-opt.cpp - The mlir-opt of tfc ------------------------------------===//
//
// The dialects tfc compiles through, every tfc pass, and tfc's pipeline as
// named pass pipelines (`--tfc-pipeline`, one per stage), for lit tests and
// for replaying or bisecting what `tfc` does by hand.
//
//===----------------------------------------------------------------------===//

#include "tfc/Pipeline/Pipeline.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  tfc::registerTfcPasses();
  mlir::DialectRegistry registry;
  tfc::registerTfcDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "tfc optimizer driver\n", registry));
}
