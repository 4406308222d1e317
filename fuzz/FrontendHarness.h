//===- FrontendHarness.h - tdsl text through the front end, for fuzzers ----===//
//
// What `tfc --emit=attn` runs on tdsl text, for the fuzz targets that reach the
// front end (tdsl_fuzzer.cpp directly, hfimport_fuzzer.cpp through the
// importer): parseTdsl, mlirGen, mlir::verify in a fresh context, diagnostics
// counted and swallowed. Returns whether a module came out, and aborts on the
// front end's own contract (MLIRGen.h, Parser.h): a failure must have
// reported an error, and a module mlirGen returns must verify.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_FUZZ_FRONTENDHARNESS_H
#define TFC_FUZZ_FRONTENDHARNESS_H

#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Frontend/MLIRGen.h"
#include "tfc/Frontend/Parser.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdio>
#include <cstdlib>

namespace tfc::fuzz {

[[noreturn]] inline void contractViolation(const char *target, const char *what) {
  std::fprintf(stderr, "%s: %s\n", target, what);
  std::abort();
}

/// The dialects MLIRGen creates ops of; registered once, loaded per input.
inline const mlir::DialectRegistry &frontendRegistry() {
  static const mlir::DialectRegistry *r = [] {
    auto *reg = new mlir::DialectRegistry;
    reg->insert<tfc::attn::AttnDialect, mlir::arith::ArithDialect, mlir::func::FuncDialect,
                mlir::linalg::LinalgDialect, mlir::math::MathDialect, mlir::scf::SCFDialect,
                mlir::tensor::TensorDialect>();
    return reg;
  }();
  return *r;
}

/// Runs `text` through the front end; true when it gave a (verified) module.
inline bool runFrontend(llvm::StringRef text, const char *target) {
  // A fresh context per input: nothing carries over from one input to the next.
  mlir::MLIRContext context(frontendRegistry(), mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  unsigned errors = 0;
  context.getDiagEngine().registerHandler([&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error)
      ++errors;
    return mlir::success();
  });
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.tdsl"),
                               llvm::SMLoc());
  std::unique_ptr<tfc::ModuleAST> ast = tfc::parseTdsl(sourceMgr, context);
  if (!ast) {
    if (errors == 0)
      contractViolation(target, "parseTdsl failed without reporting an error");
    return false;
  }
  mlir::OwningOpRef<mlir::ModuleOp> module = tfc::mlirGen(context, *ast);
  if (!module) {
    if (errors == 0)
      contractViolation(target, "mlirGen failed without reporting an error");
    return false;
  }
  if (mlir::failed(mlir::verify(*module)))
    contractViolation(target, "mlirGen returned a module that does not verify");
  return true;
}

} // namespace tfc::fuzz

#endif // TFC_FUZZ_FRONTENDHARNESS_H
