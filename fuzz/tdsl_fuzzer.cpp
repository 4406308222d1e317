//===- tdsl_fuzzer.cpp - libFuzzer target of the tdsl front end ------------===//
//
// Feeds every input, as the text of a .tdsl file, through what `tfc --emit=attn`
// runs: parseTdsl (lexing, parsing), mlirGen (semantic checks and emission in
// one walk), then mlir::verify of the module. Diagnostics are counted and
// swallowed. Besides crashes, sanitizer reports and timeouts, the target aborts
// on the front end's own contract (MLIRGen.h, Parser.h):
//   * a failure (null AST or module) must have reported an error;
//   * a module mlirGen returns must verify.
// The front end's sources are compiled into this binary with the fuzzer flags;
// MLIR and the attn dialect are not instrumented (see fuzz/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Frontend/MLIRGen.h"
#include "tfc/Frontend/Parser.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

/// The dialects MLIRGen creates ops of; registered once, loaded per input.
const mlir::DialectRegistry &registry() {
  static const mlir::DialectRegistry *r = [] {
    auto *reg = new mlir::DialectRegistry;
    reg->insert<tfc::attn::AttnDialect, mlir::arith::ArithDialect, mlir::func::FuncDialect,
                mlir::math::MathDialect, mlir::scf::SCFDialect, mlir::tensor::TensorDialect>();
    return reg;
  }();
  return *r;
}

[[noreturn]] void contractViolation(const char *what) {
  std::fprintf(stderr, "tdsl_fuzzer: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A fresh context per input: nothing carries over from one input to the next.
  mlir::MLIRContext context(registry(), mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  unsigned errors = 0;
  context.getDiagEngine().registerHandler([&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error)
      ++errors;
    return mlir::success();
  });

  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.tdsl"),
      llvm::SMLoc());

  std::unique_ptr<tfc::ModuleAST> ast = tfc::parseTdsl(sourceMgr, context);
  if (!ast) {
    if (errors == 0)
      contractViolation("parseTdsl failed without reporting an error");
    return 0;
  }
  mlir::OwningOpRef<mlir::ModuleOp> module = tfc::mlirGen(context, *ast);
  if (!module) {
    if (errors == 0)
      contractViolation("mlirGen failed without reporting an error");
    return 0;
  }
  if (mlir::failed(mlir::verify(*module)))
    contractViolation("mlirGen returned a module that does not verify");
  return 0;
}
