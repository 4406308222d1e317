//===- Api.h - tfc-serve's OpenAI request and response layer ----*- C++ -*-===//
//
// The part of tfc-serve that reads untrusted bytes: a request body is parsed
// and checked here into plain structs (or one OpenAI-style error with its
// HTTP status), and the answers are built here as JSON. Nothing in this
// layer touches the model or the tokenizer, so the libFuzzer target
// (fuzz/serve_request_fuzzer.cpp) runs all of it on arbitrary input.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOOLS_TFC_SERVE_API_H
#define TFC_TOOLS_TFC_SERVE_API_H

#include "ChatTemplate.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tfc::serve {

using json = nlohmann::json;

/// An error as OpenAI reports it: the HTTP status and the body
/// {"error": {"message", "type", "param", "code"}}.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param; // empty: null
  std::string code;  // empty: null
};

json errorBody(const ApiError &error);

/// What a request may ask for; the server fills it from its options and the
/// model.
struct Limits {
  std::string modelId;
  int32_t vocabSize = 0;
  /// Tokens of one sequence: prompt plus completion.
  int32_t contextTokens = 0;
  /// Sequences of one request (prompts x n).
  int32_t maxChoices = 16;
  size_t maxStops = 4;
  size_t maxStopBytes = 256;
  size_t maxMessages = 1024;
  size_t maxInputs = 256; // embedding inputs
};

/// One prompt of /v1/completions or input of /v1/embeddings: text to
/// tokenize, or token ids given by the client (already range-checked).
struct Prompt {
  bool isText = true;
  std::string text;
  std::vector<int32_t> ids;
};

struct SamplingRequest {
  double temperature = 1.0; // OpenAI's default; 0 is greedy
  double topP = 1.0;
  int32_t topK = 0;
  std::optional<uint64_t> seed;
};

/// /v1/completions and /v1/chat/completions after parsing.
struct GenerationRequest {
  std::vector<Prompt> prompts;       // completions
  std::vector<ChatMessage> messages; // chat
  /// Unset: 16 for completions (OpenAI's default), the rest of the context
  /// for chat.
  std::optional<int32_t> maxTokens;
  SamplingRequest sampling;
  int32_t n = 1;
  std::vector<std::string> stop;
  bool stream = false;
  bool includeUsage = false; // stream_options.include_usage
  bool echo = false;         // completions: the prompt text before the completion
};

struct EmbeddingRequest {
  std::vector<Prompt> inputs;
  bool base64 = false; // encoding_format
};

/// Each parser returns the request or the error to answer with.
struct ParsedGeneration {
  std::optional<GenerationRequest> request;
  ApiError error;
};
struct ParsedEmbedding {
  std::optional<EmbeddingRequest> request;
  ApiError error;
};

ParsedGeneration parseCompletionRequest(std::string_view body, const Limits &limits);
ParsedGeneration parseChatRequest(std::string_view body, const Limits &limits);
ParsedEmbedding parseEmbeddingRequest(std::string_view body, const Limits &limits);

/// A JSON list of chat messages alone (tfc-serve --render-chat).
std::optional<ApiError> parseChatMessages(std::string_view text, const Limits &limits,
                                          std::vector<ChatMessage> &messages);

/// The error for a sequence that does not fit the context: `promptTokens`
/// plus `maxTokens` completion tokens.
ApiError contextOverflow(int32_t contextTokens, int64_t promptTokens, int64_t maxTokens);

enum class Finish { Stop, Length };
const char *finishName(Finish finish);

/// base64 of `values` as little-endian float32 bytes, OpenAI's
/// encoding_format "base64".
std::string base64Floats(const std::vector<float> &values);

} // namespace tfc::serve

#endif // TFC_TOOLS_TFC_SERVE_API_H
