//===- ggufimport_fuzzer.cpp - libFuzzer target of the GGUF importer -------===//
//
// Feeds every input, as the bytes of a .gguf file, through what `tfc
// model.gguf` runs before the pipeline: importGgufBytes (the GGUF reader, the
// metadata of each architecture, the tensor table), then the tdsl it writes
// through the front end (FrontendHarness.h). Besides crashes, sanitizer
// reports and timeouts, the target aborts on the importer's contract
// (GgufImport.h):
//   * a rejected file has a one-line error that starts with "fuzz.gguf: ";
//   * an accepted file's tdsl compiles: parse, check and MLIRGen report no
//     error, and the module verifies.
// The importer's and the front end's sources are compiled into this binary
// with the fuzzer flags; the GGUF reader is tfc-fuzz-gguf's target and is
// linked as it is (see fuzz/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#include "FrontendHarness.h"

#include "tfc/Import/GgufImport.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  tfc::ImportResult result = tfc::importGgufBytes(bytes, "fuzz.gguf");
  if (!result.ok()) {
    llvm::StringRef error = result.error;
    if (!error.starts_with("fuzz.gguf: ") || error.contains('\n'))
      tfc::fuzz::contractViolation("ggufimport_fuzzer",
                                   "a rejected file's error is not one fuzz.gguf line");
    return 0;
  }
  if (!tfc::fuzz::runFrontend(result.tdsl, "ggufimport_fuzzer"))
    tfc::fuzz::contractViolation("ggufimport_fuzzer", "the imported tdsl does not compile");
  return 0;
}
