//===- generation_config_fuzzer.cpp - libFuzzer target of generation settings -===//
//
// One input is the text of a generation_config.json (or a config.json), read
// as tfc-run reads a model directory's (Runner/ModelDirectory). It is accepted
// with token ids in [0, 2^31), or rejected with one line that names the file;
// ASan/UBSan and libFuzzer report anything worse. ModelDirectory.cpp is
// compiled into this binary with the fuzzer flags (see fuzz/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#include "tfc/Runner/ModelDirectory.h"

#include <cstdio>
#include <cstdlib>

namespace {

constexpr llvm::StringLiteral kFile = "fuzz/generation_config.json";

[[noreturn]] void finding(const std::string &what) {
  std::fprintf(stderr, "generation_config_fuzzer: %s\n", what.c_str());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto settings = tfc::parseGenerationSettings(text, kFile);
  if (!settings) {
    std::string message = llvm::toString(settings.takeError());
    if (!llvm::StringRef(message).starts_with(kFile) || message.find('\n') != std::string::npos)
      finding("a rejection that is not one line naming the file: " + message);
    return 0;
  }
  for (const std::vector<int32_t> *ids : {&settings->eosIds, &settings->bannedIds})
    for (int32_t id : *ids)
      if (id < 0)
        finding("a negative token id was accepted");
  if (settings->decoderStartId && *settings->decoderStartId < 0)
    finding("a negative decoder_start_token_id was accepted");
  return 0;
}
