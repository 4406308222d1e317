//===- tokenizer_config_fuzzer.cpp - libFuzzer target of tokenizer_config.json -===//
//
// One input is the text of a Hugging Face tokenizer_config.json, read the two
// ways the tools read it next to a tokenizer.json: its special tokens and
// add_bos/add_eos flags (tfc::tokenizer::readGenerationConfig, applied to a
// small WordLevel tokenizer, which then encodes and decodes a text), as tfc-run
// and tfc-serve do; and its chat_template's family (readChatTemplate), as
// tfc-serve does. Both readers take a path, so the input is written to one
// temporary file first. A rejection must be a message naming the file; ASan,
// UBSan and libFuzzer report anything worse. The tokenizer engine's sources and
// tfc-serve's ChatTemplate.cpp are compiled into this binary with the fuzzer
// flags (see fuzz/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#include "ChatTemplate.h"
#include "tfc/Tokenizer/Tokenizer.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

using tfc::tokenizer::Tokenizer;

namespace {

/// The tokenizer the config's tokens are looked up in: `<s>` and `</s>` are in
/// its vocabulary, so a config naming them is accepted and changes encoding.
constexpr llvm::StringLiteral kTokenizerJson = R"({
  "added_tokens": [{"id": 0, "content": "<unk>", "special": true},
                   {"id": 1, "content": "<s>", "special": true},
                   {"id": 2, "content": "</s>", "special": true}],
  "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
  "decoder": null,
  "model": {"type": "WordLevel", "unk_token": "<unk>",
            "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "hello": 3, "world": 4}}})";

[[noreturn]] void finding(const std::string &what) {
  std::fprintf(stderr, "tokenizer_config_fuzzer: %s\n", what.c_str());
  std::abort();
}

/// The file every input is written to (removed at exit).
const std::string &configPath() {
  static const std::string path = [] {
    std::string pattern = "/tmp/tfc-fuzz-tokenizer-config-XXXXXX";
    int fd = mkstemp(pattern.data());
    if (fd < 0)
      finding("cannot create a temporary file");
    close(fd);
    std::atexit([] { std::remove(configPath().c_str()); });
    return pattern;
  }();
  return path;
}

/// A rejection must say what is wrong, in one line that names the file.
void expectRejection(llvm::Error err, const char *what) {
  std::string message = llvm::toString(std::move(err));
  if (message.find(configPath()) == std::string::npos || message.find('\n') != std::string::npos)
    finding(std::string(what) + ": a rejection that is not one line naming the file: " + message);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = configPath();
  if (FILE *file = std::fopen(path.c_str(), "wb")) {
    if (std::fwrite(data, 1, size, file) != size)
      finding("cannot write the temporary file");
    std::fclose(file);
  } else {
    finding("cannot open the temporary file");
  }

  if (auto config = tfc::tokenizer::readGenerationConfig(path)) {
    auto tokenizer = Tokenizer::fromBytes(kTokenizerJson, "fuzz");
    if (!tokenizer)
      finding("the fixed tokenizer does not load: " + llvm::toString(tokenizer.takeError()));
    if (llvm::Error err = tokenizer->applyGenerationConfig(*config)) {
      // A token the vocabulary lacks: named in the message.
      if (llvm::toString(std::move(err)).empty())
        finding("applying the config failed without a message");
    } else {
      auto ids = tokenizer->encode("hello world", /*addSpecial=*/true);
      if (!ids)
        finding("encoding after the config: " + llvm::toString(ids.takeError()));
      for (int32_t id : *ids)
        if (id < 0 || id >= tokenizer->vocabSize())
          finding("encoding after the config gave id " + std::to_string(id));
      auto text = tokenizer->decode(*ids);
      if (!text)
        finding("decoding after the config: " + llvm::toString(text.takeError()));
    }
  } else {
    expectRejection(config.takeError(), "readGenerationConfig");
  }

  auto format = tfc::serve::readChatTemplate(path);
  if (!format)
    expectRejection(format.takeError(), "readChatTemplate");
  return 0;
}
