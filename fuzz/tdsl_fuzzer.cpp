//===- tdsl_fuzzer.cpp - libFuzzer target of the tdsl front end ------------===//
//
// Feeds every input, as the text of a .tdsl file, through what `tfc --emit=attn`
// runs (FrontendHarness.h): parseTdsl (lexing, parsing), mlirGen (semantic
// checks and emission in one walk), then mlir::verify of the module.
// Diagnostics are counted and swallowed. Besides crashes, sanitizer reports and timeouts, the target aborts
// on the front end's own contract (MLIRGen.h, Parser.h):
//   * a failure (null AST or module) must have reported an error;
//   * a module mlirGen returns must verify.
// The front end's sources are compiled into this binary with the fuzzer flags;
// MLIR and the attn dialect are not instrumented (see fuzz/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#include "FrontendHarness.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tfc::fuzz::runFrontend(llvm::StringRef(reinterpret_cast<const char *>(data), size),
                         "tdsl_fuzzer");
  return 0;
}
