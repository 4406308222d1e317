//===- hfimport_fuzzer.cpp - libFuzzer target of the Hugging Face importer --===//
//
// Feeds every input, as the bytes of a config.json, through what `tfc HF_DIR`
// runs before the pipeline: importHuggingFaceConfig (JSON, the config fields of
// each architecture), then the tdsl it writes through the front end
// (FrontendHarness.h). Besides crashes, sanitizer reports and timeouts, the
// target aborts on the importer's contract (HFImport.h):
//   * a rejected config has a one-line error that starts with "config.json: ";
//   * an accepted config's tdsl compiles: parse, check and MLIRGen report no
//     error, and the module verifies.
// The importer's and the front end's sources are compiled into this binary
// with the fuzzer flags (see fuzz/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#include "FrontendHarness.h"

#include "tfc/Import/HFImport.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef config(reinterpret_cast<const char *>(data), size);
  tfc::ImportResult result =
      tfc::importHuggingFaceConfig(config, "fuzz", "fuzz/config.json", /*tensorNames=*/nullptr);
  if (!result.ok()) {
    llvm::StringRef error = result.error;
    if (!error.starts_with("config.json: ") || error.contains('\n'))
      tfc::fuzz::contractViolation("hfimport_fuzzer",
                                   "a rejected config's error is not one config.json line");
    return 0;
  }
  if (!tfc::fuzz::runFrontend(result.tdsl, "hfimport_fuzzer"))
    tfc::fuzz::contractViolation("hfimport_fuzzer", "the imported tdsl does not compile");
  return 0;
}
