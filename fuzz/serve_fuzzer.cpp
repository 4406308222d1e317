//===- serve_fuzzer.cpp - libFuzzer target of tfc-serve's requests -------===//
//
// One input is one request: its first byte chooses the endpoint (modulo 3:
// /v1/completions, /v1/chat/completions, /v1/embeddings), the rest is the
// body. It runs through what tfc-serve's request threads run before the
// model: the parser and checker of Api.cpp, then, for a chat request that
// passed, every chat format's rendering; an error is turned into its JSON
// body and serialized as the server does. Besides crashes, sanitizer reports
// and timeouts, the target aborts on the layer's own contract:
//   * a rejected request has a message and a 4xx status;
//   * an accepted one respects the limits it was checked against.
//
//===----------------------------------------------------------------------===//
#include "Api.h"
#include "ChatTemplate.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace tfc::serve;

namespace {

[[noreturn]] void contractViolation(const char *what) {
  std::fprintf(stderr, "serve_fuzzer: %s\n", what);
  std::abort();
}

void checkError(const ApiError &error) {
  if (error.message.empty() || error.status < 400 || error.status >= 500)
    contractViolation("a rejected request without a message or a 4xx status");
  (void)errorBody(error).dump(-1, ' ', false, json::error_handler_t::replace);
}

void checkGeneration(const GenerationRequest &request, const Limits &limits) {
  if (request.n < 1 || request.prompts.size() * request.n > static_cast<size_t>(limits.maxChoices))
    contractViolation("more choices than the limit");
  if (request.maxTokens && (*request.maxTokens < 1 || *request.maxTokens > limits.contextTokens))
    contractViolation("max_tokens out of range");
  if (request.stop.size() > limits.maxStops)
    contractViolation("too many stop sequences");
  for (const Prompt &prompt : request.prompts)
    for (int32_t id : prompt.ids)
      if (id < 0 || id >= limits.vocabSize)
        contractViolation("a token id out of the vocabulary");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  Limits limits;
  limits.modelId = "fake"; // the fake model of test/Fuzz/serve-corpus.test
  limits.vocabSize = 512;
  limits.contextTokens = 64;
  std::string_view body(reinterpret_cast<const char *>(data) + 1, size - 1);
  switch (data[0] % 3) {
  case 0: {
    ParsedGeneration parsed = parseCompletionRequest(body, limits);
    if (!parsed.request)
      return checkError(parsed.error), 0;
    checkGeneration(*parsed.request, limits);
    break;
  }
  case 1: {
    ParsedGeneration parsed = parseChatRequest(body, limits);
    if (!parsed.request)
      return checkError(parsed.error), 0;
    checkGeneration(*parsed.request, limits);
    for (ChatFormat format : {ChatFormat::Llama2, ChatFormat::Llama3, ChatFormat::ChatML,
                              ChatFormat::Mistral, ChatFormat::DeepSeek})
      (void)renderChat(format, parsed.request->messages, SpecialTokens());
    break;
  }
  default: {
    ParsedEmbedding parsed = parseEmbeddingRequest(body, limits);
    if (!parsed.request)
      return checkError(parsed.error), 0;
    break;
  }
  }
  return 0;
}
