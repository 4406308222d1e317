//===- Api.cpp - tfc-serve's OpenAI request and response layer ------------===//
//
// Parsing never throws: the body is parsed with exceptions off, and every
// field's JSON type is checked before it is read, so a wrong type is a 400
// naming the field (OpenAI's `param`) rather than an exception. Unknown
// fields are ignored, as most OpenAI-compatible servers do, so that clients
// sending newer options still work; the fields tfc-serve reads are listed in
// the README's serving section.
//
//===----------------------------------------------------------------------===//
#include "Api.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace tfc::serve;

namespace {

ApiError invalid(const std::string &param, const std::string &message) {
  ApiError error;
  error.message = message;
  error.param = param;
  return error;
}

/// Reads the fields of one request object, remembering the first error.
class FieldReader {
public:
  FieldReader(const json &object) : object(object) {}

  bool failed() const { return error.has_value(); }
  ApiError takeError() { return *error; }
  void fail(const std::string &param, const std::string &message) {
    if (!error)
      error = invalid(param, message);
  }

  /// The field, or nullptr when absent or null (OpenAI treats null as unset).
  const json *find(const char *key) const {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  /// The field when it is set and of the JSON kind `isKind`; nullptr when
  /// unset, or (failing) of another kind, or after an earlier failure.
  const json *typed(const char *key, bool (json::*isKind)() const noexcept, const char *kind) {
    const json *value = find(key);
    if (!value || failed())
      return nullptr;
    if (!(value->*isKind)()) {
      fail(key, std::string("'") + key + "' must be " + kind);
      return nullptr;
    }
    return value;
  }

  std::nullopt_t outOfRange(const char *key, const char *kind, const std::string &lo,
                            const std::string &hi) {
    fail(key, std::string("'") + key + "' must be " + kind + " in [" + lo + ", " + hi + "]");
    return std::nullopt;
  }

  std::optional<int64_t> integer(const char *key, int64_t lo, int64_t hi) {
    const json *value = typed(key, &json::is_number_integer, "an integer");
    if (!value)
      return std::nullopt;
    // Unsigned values beyond int64_t are out of range, not negative.
    bool inRange = value->is_number_unsigned()
                       ? value->get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                             static_cast<int64_t>(value->get<uint64_t>()) >= lo
                       : value->get<int64_t>() >= lo && value->get<int64_t>() <= hi;
    if (!inRange)
      return outOfRange(key, "an integer", std::to_string(lo), std::to_string(hi));
    return value->get<int64_t>();
  }

  std::optional<uint64_t> seed(const char *key) {
    const json *value = typed(key, &json::is_number_integer, "an integer");
    if (!value)
      return std::nullopt;
    // Negative seeds are fine: their two's complement is the seed.
    return value->is_number_unsigned() ? value->get<uint64_t>()
                                       : static_cast<uint64_t>(value->get<int64_t>());
  }

  std::optional<double> number(const char *key, double lo, double hi) {
    const json *value = typed(key, &json::is_number, "a number");
    if (!value)
      return std::nullopt;
    double result = value->get<double>();
    if (!std::isfinite(result) || result < lo || result > hi)
      return outOfRange(key, "a number", json(lo).dump(), json(hi).dump());
    return result;
  }

  std::optional<bool> boolean(const char *key) {
    const json *value = typed(key, &json::is_boolean, "a boolean");
    return value ? std::optional<bool>(value->get<bool>()) : std::nullopt;
  }

private:
  const json &object;
  std::optional<ApiError> error;
};

/// The request body as a JSON object, or the error.
std::optional<ApiError> parseObject(std::string_view body, json &out) {
  out = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded())
    return invalid("", "the request body is not valid JSON");
  if (!out.is_object())
    return invalid("", "the request body must be a JSON object");
  return std::nullopt;
}

std::optional<ApiError> checkModel(const FieldReader &fields, const Limits &limits) {
  const json *model = fields.find("model");
  if (!model)
    return invalid("model", "you must provide a model parameter");
  if (!model->is_string())
    return invalid("model", "'model' must be a string");
  if (model->get_ref<const std::string &>() != limits.modelId) {
    ApiError error = invalid("model", "the model '" + model->get<std::string>() +
                                          "' does not exist; this server serves '" +
                                          limits.modelId + "'");
    error.status = 404;
    error.code = "model_not_found";
    return error;
  }
  return std::nullopt;
}

/// A token id list; `what` names it in messages.
std::optional<ApiError> readIds(const json &array, const char *param, const Limits &limits,
                                std::vector<int32_t> &ids) {
  for (const json &id : array) {
    if (!id.is_number_integer())
      return invalid(param, std::string("'") + param +
                                "' mixes token ids with other values; give a string, a list of "
                                "strings, a list of token ids or a list of lists of token ids");
    bool negative = !id.is_number_unsigned() && id.get<int64_t>() < 0;
    if (negative || id.get<uint64_t>() >= static_cast<uint64_t>(limits.vocabSize))
      return invalid(param, "token id " + id.dump() + " in '" + param +
                                "' is out of range for the model's vocabulary of " +
                                std::to_string(limits.vocabSize) + " tokens");
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  if (ids.empty())
    return invalid(param, std::string("'") + param + "' has an empty list of token ids");
  if (ids.size() > static_cast<size_t>(limits.contextTokens))
    return contextOverflow(limits.contextTokens, ids.size(), 0);
  return std::nullopt;
}

/// A prompt or embedding input: string | [string] | [int] | [[int]].
std::optional<ApiError> readPrompts(const json *value, const char *param, const Limits &limits,
                                    size_t maxCount, std::vector<Prompt> &prompts) {
  std::string shapes = std::string("'") + param +
                       "' must be a string, a list of strings, a list of token ids or a list of "
                       "lists of token ids";
  if (!value)
    return invalid(param, std::string("you must provide '") + param + "'");
  // The bytes of text prompts are bounded by the body size; a prompt longer
  // than the context is found once it is tokenized.
  if (value->is_string()) {
    prompts.push_back({true, value->get<std::string>(), {}});
    return std::nullopt;
  }
  if (!value->is_array() || value->empty())
    return invalid(param, shapes);
  if (value->front().is_number()) {
    Prompt prompt{false, {}, {}};
    if (auto error = readIds(*value, param, limits, prompt.ids))
      return error;
    prompts.push_back(std::move(prompt));
    return std::nullopt;
  }
  if (value->size() > maxCount)
    return invalid(param, std::string("'") + param + "' lists " + std::to_string(value->size()) +
                              " entries, more than the " + std::to_string(maxCount) +
                              " one request may have");
  for (const json &entry : *value) {
    if (entry.is_string()) {
      prompts.push_back({true, entry.get<std::string>(), {}});
    } else if (entry.is_array()) {
      Prompt prompt{false, {}, {}};
      if (auto error = readIds(entry, param, limits, prompt.ids))
        return error;
      prompts.push_back(std::move(prompt));
    } else {
      return invalid(param, shapes);
    }
  }
  return std::nullopt;
}

std::optional<ApiError> readStop(const json *value, const Limits &limits,
                                 std::vector<std::string> &stop) {
  if (!value)
    return std::nullopt;
  std::vector<const json *> entries;
  if (value->is_string()) {
    entries.push_back(value);
  } else if (value->is_array()) {
    if (value->size() > limits.maxStops)
      return invalid("stop", "'stop' may list at most " + std::to_string(limits.maxStops) +
                                 " sequences");
    for (const json &entry : *value)
      entries.push_back(&entry);
  } else {
    return invalid("stop", "'stop' must be a string or a list of strings");
  }
  for (const json *entry : entries) {
    if (!entry->is_string())
      return invalid("stop", "'stop' must be a string or a list of strings");
    const std::string &text = entry->get_ref<const std::string &>();
    if (text.empty() || text.size() > limits.maxStopBytes)
      return invalid("stop", "each stop sequence must have 1 to " +
                                 std::to_string(limits.maxStopBytes) + " bytes");
    stop.push_back(text);
  }
  return std::nullopt;
}

/// The fields /v1/completions and /v1/chat/completions share.
std::optional<ApiError> readGenerationFields(FieldReader &fields, const Limits &limits,
                                             GenerationRequest &request) {
  if (auto error = checkModel(fields, limits))
    return error;
  int64_t maxTokens = std::max(limits.contextTokens, 1);
  // max_completion_tokens is the chat API's newer name for max_tokens.
  if (auto value = fields.integer("max_completion_tokens", 1, maxTokens))
    request.maxTokens = static_cast<int32_t>(*value);
  if (auto value = fields.integer("max_tokens", 1, maxTokens))
    request.maxTokens = static_cast<int32_t>(*value);
  if (auto value = fields.number("temperature", 0.0, 2.0))
    request.sampling.temperature = *value;
  if (auto value = fields.number("top_p", 0.0, 1.0))
    request.sampling.topP = *value;
  if (auto value = fields.integer("top_k", 0, std::numeric_limits<int32_t>::max()))
    request.sampling.topK = static_cast<int32_t>(*value);
  request.sampling.seed = fields.seed("seed");
  if (auto value = fields.integer("n", 1, limits.maxChoices))
    request.n = static_cast<int32_t>(*value);
  if (auto value = fields.boolean("stream"))
    request.stream = *value;
  if (fields.failed())
    return fields.takeError();
  if (auto error = readStop(fields.find("stop"), limits, request.stop))
    return error;
  if (const json *options = fields.find("stream_options")) {
    if (!options->is_object())
      return invalid("stream_options", "'stream_options' must be an object");
    FieldReader optionFields(*options);
    if (auto value = optionFields.boolean("include_usage"))
      request.includeUsage = *value;
    if (optionFields.failed()) {
      ApiError error = optionFields.takeError();
      error.param = "stream_options." + error.param;
      return error;
    }
  }
  return std::nullopt;
}

std::optional<ApiError> checkChoices(const GenerationRequest &request, size_t prompts,
                                     const Limits &limits) {
  if (prompts * static_cast<size_t>(request.n) > static_cast<size_t>(limits.maxChoices))
    return invalid("n", "the request asks for " + std::to_string(prompts * request.n) +
                            " completions (prompts x n), more than the " +
                            std::to_string(limits.maxChoices) + " one request may have");
  return std::nullopt;
}

/// A message's content: a string, or a list of {"type": "text", "text"} parts.
std::optional<ApiError> readContent(const json *content, size_t index, std::string &out) {
  std::string param = "messages[" + std::to_string(index) + "].content";
  if (!content)
    return std::nullopt; // an assistant message with only tool calls; empty text
  if (content->is_string()) {
    out = content->get<std::string>();
    return std::nullopt;
  }
  if (!content->is_array())
    return invalid(param, "'" + param + "' must be a string or a list of text parts");
  for (const json &part : *content) {
    if (!part.is_object() || part.value("type", json()) != "text" ||
        !part.value("text", json()).is_string())
      return invalid(param, "'" + param +
                                "' may only hold parts {\"type\": \"text\", \"text\": ...}");
    out += part["text"].get<std::string>();
  }
  return std::nullopt;
}

std::optional<ApiError> readMessages(const json *messages, const Limits &limits,
                                     std::vector<ChatMessage> &out) {
  if (!messages)
    return invalid("messages", "you must provide 'messages'");
  if (!messages->is_array() || messages->empty())
    return invalid("messages", "'messages' must be a non-empty list of messages");
  if (messages->size() > limits.maxMessages)
    return invalid("messages", "'messages' may hold at most " +
                                   std::to_string(limits.maxMessages) + " messages");
  for (size_t i = 0; i < messages->size(); ++i) {
    const json &message = (*messages)[i];
    std::string param = "messages[" + std::to_string(i) + "]";
    if (!message.is_object())
      return invalid(param, "'" + param + "' must be an object");
    json role = message.value("role", json());
    if (!role.is_string())
      return invalid(param + ".role", "'" + param + ".role' must be a string");
    ChatMessage parsed;
    parsed.role = role.get<std::string>();
    if (parsed.role == "developer")
      parsed.role = "system";
    if (parsed.role != "system" && parsed.role != "user" && parsed.role != "assistant")
      return invalid(param + ".role", "'" + param + ".role' is '" + role.get<std::string>() +
                                          "'; expected system, developer, user or assistant");
    auto content = message.find("content");
    if (auto error = readContent(content == message.end() || content->is_null() ? nullptr
                                                                                : &*content,
                                 i, parsed.content))
      return error;
    out.push_back(std::move(parsed));
  }
  return std::nullopt;
}

/// A completion request (prompt, echo) or a chat request (messages).
ParsedGeneration parseGeneration(std::string_view body, const Limits &limits, bool chat) {
  json object;
  if (auto error = parseObject(body, object))
    return {std::nullopt, *error};
  FieldReader fields(object);
  GenerationRequest request;
  std::optional<ApiError> error = readGenerationFields(fields, limits, request);
  if (!error && !chat) {
    if (auto value = fields.boolean("echo"))
      request.echo = *value;
    if (fields.failed())
      error = fields.takeError();
  }
  if (!error)
    error = chat ? readMessages(fields.find("messages"), limits, request.messages)
                 : readPrompts(fields.find("prompt"), "prompt", limits, limits.maxChoices,
                               request.prompts);
  if (!error)
    error = checkChoices(request, chat ? 1 : request.prompts.size(), limits);
  if (error)
    return {std::nullopt, *error};
  return {std::move(request), {}};
}

} // namespace

json tfc::serve::errorBody(const ApiError &error) {
  auto orNull = [](const std::string &s) { return s.empty() ? json() : json(s); };
  return {{"error",
           {{"message", error.message},
            {"type", error.type},
            {"param", orNull(error.param)},
            {"code", orNull(error.code)}}}};
}

ApiError tfc::serve::contextOverflow(int32_t contextTokens, int64_t promptTokens,
                                     int64_t maxTokens) {
  ApiError error = invalid(
      "messages", "this model's maximum context length is " + std::to_string(contextTokens) +
                      " tokens, but " + std::to_string(promptTokens + maxTokens) +
                      " were requested (" + std::to_string(promptTokens) + " in the prompt, " +
                      std::to_string(maxTokens) + " for the completion)");
  error.code = "context_length_exceeded";
  return error;
}

ParsedGeneration tfc::serve::parseCompletionRequest(std::string_view body, const Limits &limits) {
  return parseGeneration(body, limits, /*chat=*/false);
}

ParsedGeneration tfc::serve::parseChatRequest(std::string_view body, const Limits &limits) {
  return parseGeneration(body, limits, /*chat=*/true);
}

std::optional<ApiError> tfc::serve::parseChatMessages(std::string_view text, const Limits &limits,
                                                      std::vector<ChatMessage> &messages) {
  json list = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (list.is_discarded())
    return invalid("messages", "the messages are not valid JSON");
  return readMessages(&list, limits, messages);
}

ParsedEmbedding tfc::serve::parseEmbeddingRequest(std::string_view body, const Limits &limits) {
  json object;
  if (auto error = parseObject(body, object))
    return {std::nullopt, *error};
  FieldReader fields(object);
  EmbeddingRequest request;
  if (auto error = checkModel(fields, limits))
    return {std::nullopt, *error};
  if (const json *format = fields.find("encoding_format")) {
    if (*format != "float" && *format != "base64")
      return {std::nullopt,
              invalid("encoding_format", "'encoding_format' must be \"float\" or \"base64\"")};
    request.base64 = *format == "base64";
  }
  if (auto error = readPrompts(fields.find("input"), "input", limits, limits.maxInputs,
                               request.inputs))
    return {std::nullopt, *error};
  return {std::move(request), {}};
}

const char *tfc::serve::finishName(Finish finish) {
  return finish == Finish::Stop ? "stop" : "length";
}

std::string tfc::serve::base64Floats(const std::vector<float> &values) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(values.size() * sizeof(float), '\0');
  for (size_t i = 0; i < values.size(); ++i) { // little-endian, whatever the host
    uint32_t bits;
    std::memcpy(&bits, &values[i], sizeof bits);
    for (int b = 0; b < 4; ++b)
      bytes[4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t chunk = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size())
      chunk |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size())
      chunk |= static_cast<uint8_t>(bytes[i + 2]);
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[chunk & 63] : '=';
  }
  return out;
}
