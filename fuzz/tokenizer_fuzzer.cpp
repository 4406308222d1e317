//===- tokenizer_fuzzer.cpp - libFuzzer target of the tokenizer engine ----===//
//
// One input is a tokenizer file and a text: the bytes before the first line
// `#TEXT#` are a tokenizer.json, a llama2.c tokenizer.bin or a GGUF file (told
// apart as Tokenizer::load does), the bytes after it the text (when there is no such
// line, a fixed text). The target loads the tokenizer, encodes the text with
// and without special tokens, decodes the ids in one call and through a
// DecodeStream, and decodes ids taken from the text's bytes. Every failure
// must carry a message; ASan/UBSan and libFuzzer report anything worse. The
// engine's sources are compiled into this binary with the fuzzer flags (see
// fuzz/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#include "tfc/Tokenizer/Tokenizer.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

using tfc::tokenizer::DecodeStream;
using tfc::tokenizer::Tokenizer;

namespace {

constexpr llvm::StringLiteral kMarker = "\n#TEXT#\n";

/// Aborts (a finding) when a failure comes without a message.
void expectMessage(llvm::Error err, const char *what) {
  std::string message = llvm::toString(std::move(err));
  if (message.empty()) {
    std::fprintf(stderr, "tokenizer_fuzzer: %s failed without a message\n", what);
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef input(reinterpret_cast<const char *>(data), size);
  size_t cut = input.find(kMarker);
  llvm::StringRef file = input.substr(0, cut);
  llvm::StringRef text = cut == llvm::StringRef::npos
                             ? llvm::StringRef("Hello world! 123 caf\xC3\xA9 <s> \xF0\x9F\x99\x82")
                             : input.substr(cut + kMarker.size());

  auto tokenizer = Tokenizer::fromBytes(file, "fuzz");
  if (!tokenizer) {
    expectMessage(tokenizer.takeError(), "loading");
    return 0;
  }
  for (bool special : {true, false}) {
    auto ids = tokenizer->encode(text, special);
    if (!ids) {
      expectMessage(ids.takeError(), "encoding");
      continue;
    }
    auto decoded = tokenizer->decode(*ids);
    if (!decoded)
      expectMessage(decoded.takeError(), "decoding");
    DecodeStream stream(*tokenizer);
    for (int32_t id : *ids) {
      auto piece = stream.step(id);
      if (!piece) {
        expectMessage(piece.takeError(), "stream decoding");
        break;
      }
    }
  }
  // Arbitrary ids, in and out of range.
  std::vector<int32_t> ids;
  for (size_t i = 0; i + 1 < text.size() && ids.size() < 64; i += 2)
    ids.push_back(static_cast<uint8_t>(text[i]) | (static_cast<uint8_t>(text[i + 1]) << 8));
  auto decoded = tokenizer->decode(ids);
  if (!decoded)
    expectMessage(decoded.takeError(), "decoding arbitrary ids");
  return 0;
}
