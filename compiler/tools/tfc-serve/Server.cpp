//===- Server.cpp - tfc-serve's HTTP endpoints ----------------------------===//
//
// A request's choices (prompts x n) are sequences of one RequestGroup. The
// non-streaming answer waits for all of them; the streaming one writes each
// piece of text as the scheduler produces it. A streaming client that goes
// away is noticed at the next write (a comment line is written after a
// second of silence, so a client waiting in the queue is noticed too), and
// httplib's releaser then cancels the group: the scheduler frees its slots
// at its next step. The scheduler finishes every sequence it accepted
// (shutdown included), so the waits here always end.
//
//===----------------------------------------------------------------------===//
#include "Server.h"

#include <chrono>
#include <ctime>
#include <random>

using namespace tfc;
using namespace tfc::serve;

std::string tfc::serve::serialize(const json &value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

void sendError(httplib::Response &res, const ApiError &error) {
  res.status = error.status;
  res.set_content(serialize(errorBody(error)), "application/json");
}

ApiError serverError(int status, const std::string &message, const char *type = "server_error") {
  ApiError error;
  error.status = status;
  error.message = message;
  error.type = type;
  return error;
}

int64_t unixTime() { return static_cast<int64_t>(std::time(nullptr)); }

std::string sseEvent(const json &value) { return "data: " + serialize(value) + "\n\n"; }

} // namespace

struct Service::Prepared {
  bool chat = false;
  GenerationRequest request;
  std::shared_ptr<RequestGroup> group;
  std::vector<SequenceRequest> sequences;
  std::vector<std::string> echo; // per choice: the prompt text when echo is on
  int64_t promptTokens = 0;
  std::string id;
  int64_t created = 0;
  std::string model;

  size_t choices() const { return sequences.size(); }
  json usage(int64_t completionTokens) const {
    return {{"prompt_tokens", promptTokens},
            {"completion_tokens", completionTokens},
            {"total_tokens", promptTokens + completionTokens}};
  }
  /// A streaming chunk with one choice (or none).
  json chunk(std::optional<json> choice) const {
    json body = {{"id", id},
                 {"object", chat ? "chat.completion.chunk" : "text_completion"},
                 {"created", created},
                 {"model", model},
                 {"choices", json::array()}};
    if (choice)
      body["choices"].push_back(std::move(*choice));
    return body;
  }
  json textChoice(size_t index, const std::string &text, std::optional<Finish> finish,
                  bool delta, bool role = false) const {
    json reason = finish ? json(finishName(*finish)) : json();
    if (!chat)
      return {{"index", index}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", reason}};
    json message = json::object();
    if (role || !delta)
      message["role"] = "assistant";
    if (!delta || !text.empty() || role)
      message["content"] = text;
    return {{"index", index},
            {delta ? "delta" : "message", message},
            {"logprobs", nullptr},
            {"finish_reason", reason}};
  }
};

Service::Service(const ModelLibrary &lib, SharedTokenizer &tokenizer, Scheduler &scheduler,
                 ServiceOptions options)
    : lib(lib), tokenizer(tokenizer), scheduler(scheduler), options(std::move(options)) {
  // Generation ends where tfc-run's ends: at EOS or BOS, or at the model
  // directory's eos_token_id.
  const tokenizer::Tokenizer &tok = tokenizer.tokenizer;
  for (std::optional<int32_t> id : {tok.eosId(), tok.bosId()})
    if (id)
      stopIds.push_back(*id);
  for (int32_t id : this->options.stopIds)
    if (!llvm::is_contained(stopIds, id))
      stopIds.push_back(id);
  chatStopIds = stopIds;
  if (this->options.chatFormat)
    for (const std::string &token : endOfTurnTokens(*this->options.chatFormat))
      if (std::optional<int32_t> id = tok.tokenToId(token))
        chatStopIds.push_back(*id);
}

bool Service::authorized(const httplib::Request &req, httplib::Response &res) {
  if (options.apiKey.empty() || req.get_header_value("Authorization") == "Bearer " + options.apiKey)
    return true;
  ApiError error;
  error.status = 401;
  error.message = req.has_header("Authorization")
                      ? "incorrect API key provided"
                      : "you did not provide an API key; send it as 'Authorization: Bearer KEY'";
  error.code = "invalid_api_key";
  sendError(res, error);
  return false;
}

void Service::install(httplib::Server &server) {
  server.set_payload_max_length(options.maxBodyBytes);
  int32_t threads = options.httpThreads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_pre_routing_handler([this](const httplib::Request &req, httplib::Response &res) {
    return authorized(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                : httplib::Server::HandlerResponse::Handled;
  });
  // httplib's own errors (no route, body too large, bad request line) in
  // OpenAI's error JSON; handlers that answered already keep their body.
  server.set_error_handler([this](const httplib::Request &req, httplib::Response &res) {
    if (!res.body.empty())
      return;
    ApiError error;
    error.status = res.status;
    if (res.status == 404)
      error.message = "unknown endpoint: " + req.method + " " + req.path;
    else if (res.status == 413)
      error.message = "the request body is larger than " + std::to_string(options.maxBodyBytes) +
                      " bytes";
    else
      error.message = "bad request (HTTP " + std::to_string(res.status) + ")";
    sendError(res, error);
  });
  server.set_exception_handler(
      [](const httplib::Request &, httplib::Response &res, std::exception_ptr failure) {
        std::string what = "internal error";
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception &e) {
          what += std::string(": ") + e.what();
        } catch (...) {
        }
        sendError(res, serverError(500, what));
      });
  server.Post("/v1/completions", [this](const httplib::Request &req, httplib::Response &res) {
    completions(req, res, /*chat=*/false);
  });
  server.Post("/v1/chat/completions", [this](const httplib::Request &req, httplib::Response &res) {
    completions(req, res, /*chat=*/true);
  });
  server.Post("/v1/embeddings", [this](const httplib::Request &req, httplib::Response &res) {
    embeddings(req, res);
  });
  server.Get("/v1/models", [this](const httplib::Request &, httplib::Response &res) { models(res); });
  server.Get("/health", [this](const httplib::Request &, httplib::Response &res) { health(res); });
}

void Service::models(httplib::Response &res) {
  json model = {{"id", options.limits.modelId}, {"object", "model"}, {"created", 0},
                {"owned_by", "tfc"}};
  res.set_content(serialize({{"object", "list"}, {"data", {model}}}), "application/json");
}

void Service::health(httplib::Response &res) {
  Scheduler::Load load = scheduler.load();
  res.set_content(serialize({{"status", "ok"},
                             {"running", load.running},
                             {"waiting", load.waiting},
                             {"cancelled", load.cancelled}}),
                  "application/json");
}

std::optional<ApiError> Service::prepare(const GenerationRequest &request, bool chat,
                                         Prepared &out) {
  const Limits &limits = options.limits;
  if (!lib.info()->has_decoder)
    return serverError(400, "the model '" + limits.modelId +
                                "' has no decoder: it serves /v1/embeddings only",
                       "invalid_request_error");
  if (lib.info()->has_encoder)
    return serverError(400, "the model '" + limits.modelId +
                                "' is an encoder-decoder model, which tfc-serve does not serve",
                       "invalid_request_error");
  if (chat && !options.chatFormat)
    return serverError(400, "no chat template: the tokenizer has no tokenizer_config.json with "
                            "a chat_template; start tfc-serve with --chat-template NAME (" +
                                std::string(chatFormatNames()) + ")",
                       "invalid_request_error");

  // The prompts as ids, and their echo text.
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::string> echoes;
  {
    std::lock_guard<std::mutex> lock(tokenizer.mutex);
    const tokenizer::Tokenizer &tok = tokenizer.tokenizer;
    std::vector<Prompt> given = request.prompts;
    if (chat)
      given = {{true, renderChat(*options.chatFormat, request.messages, options.specialTokens), {}}};
    for (const Prompt &prompt : given) {
      std::vector<int32_t> ids = prompt.ids;
      if (prompt.isText) {
        auto encoded = tok.encode(prompt.text);
        if (!encoded)
          return serverError(400, "cannot tokenize the prompt: " + llvm::toString(encoded.takeError()),
                             "invalid_request_error");
        ids = std::move(*encoded);
      }
      if (ids.empty())
        return serverError(400, "the prompt is empty (it has no tokens)", "invalid_request_error");
      std::string echo;
      if (request.echo) { // as tfc-run echoes it: ids the tokenizer has, streamed
        tokenizer::DecodeStream stream(tok);
        for (int32_t id : ids) {
          if (id >= tok.vocabSize())
            continue;
          auto piece = stream.step(id);
          if (!piece)
            return serverError(400, llvm::toString(piece.takeError()), "invalid_request_error");
          echo += *piece;
        }
      }
      prompts.push_back(std::move(ids));
      echoes.push_back(std::move(echo));
    }
  }

  std::random_device entropy;
  out.chat = chat;
  out.request = request;
  out.model = limits.modelId;
  out.created = unixTime();
  out.id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(nextId++);
  size_t choices = prompts.size() * request.n;
  out.group = std::make_shared<RequestGroup>(choices);
  for (size_t p = 0; p < prompts.size(); ++p) {
    int64_t promptLen = static_cast<int64_t>(prompts[p].size());
    int64_t maxTokens = request.maxTokens ? *request.maxTokens
                        : chat            ? limits.contextTokens - promptLen
                                          : 16;
    if (promptLen + std::max<int64_t>(maxTokens, 1) > limits.contextTokens)
      return contextOverflow(limits.contextTokens, promptLen, std::max<int64_t>(maxTokens, 1));
    out.promptTokens += promptLen;
    for (int32_t i = 0; i < request.n; ++i) {
      SequenceRequest sequence;
      sequence.group = out.group;
      sequence.index = p * request.n + i;
      sequence.prompt = prompts[p];
      uint64_t seed = request.sampling.seed ? *request.sampling.seed + i
                                            : (uint64_t(entropy()) << 32) | entropy();
      sequence.sampler = {request.sampling.temperature, request.sampling.topK,
                          request.sampling.topP, seed};
      sequence.maxTokens = static_cast<int32_t>(maxTokens);
      sequence.stop = request.stop;
      sequence.stopIds = chat ? chatStopIds : stopIds;
      out.sequences.push_back(std::move(sequence));
      out.echo.push_back(echoes[p]);
    }
  }
  return std::nullopt;
}

void Service::completions(const httplib::Request &req, httplib::Response &res, bool chat) {
  ParsedGeneration parsed =
      chat ? parseChatRequest(req.body, options.limits) : parseCompletionRequest(req.body, options.limits);
  if (!parsed.request)
    return sendError(res, parsed.error);
  auto prepared = std::make_shared<Prepared>();
  if (auto error = prepare(*parsed.request, chat, *prepared))
    return sendError(res, *error);
  if (!scheduler.submit(prepared->sequences))
    return sendError(res, serverError(503, "the server is busy: too many requests are waiting; "
                                           "retry later"));
  if (prepared->request.stream)
    stream(prepared, res);
  else
    respond(prepared, res);
}

void Service::respond(const std::shared_ptr<Prepared> &prepared, httplib::Response &res) {
  size_t choices = prepared->choices();
  std::vector<std::string> texts = prepared->echo;
  std::vector<std::optional<Finish>> finishes(choices);
  size_t done = 0;
  int64_t completionTokens = 0;
  std::string error;
  while (done < choices) {
    for (SequenceUpdate &update : prepared->group->wait(std::chrono::seconds(1))) {
      texts[update.index] += update.text;
      if (!update.finish && update.error.empty())
        continue;
      ++done;
      finishes[update.index] = update.finish;
      completionTokens += update.completionTokens;
      if (!update.error.empty() && error.empty())
        error = update.error;
    }
  }
  if (!error.empty())
    return sendError(res, serverError(500, error));
  json body = {{"id", prepared->id},
               {"object", prepared->chat ? "chat.completion" : "text_completion"},
               {"created", prepared->created},
               {"model", prepared->model},
               {"choices", json::array()},
               {"usage", prepared->usage(completionTokens)}};
  for (size_t i = 0; i < choices; ++i)
    body["choices"].push_back(prepared->textChoice(i, texts[i], finishes[i], /*delta=*/false));
  res.set_content(serialize(body), "application/json");
}

void Service::stream(const std::shared_ptr<Prepared> &prepared, httplib::Response &res) {
  struct Progress {
    bool started = false;
    size_t done = 0;
    int64_t completionTokens = 0;
    std::chrono::steady_clock::time_point lastWrite = std::chrono::steady_clock::now();
  };
  auto progress = std::make_shared<Progress>();
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [prepared, progress](size_t, httplib::DataSink &sink) {
        auto write = [&](const std::string &data) {
          progress->lastWrite = std::chrono::steady_clock::now();
          return sink.write(data.data(), data.size());
        };
        size_t choices = prepared->choices();
        if (!progress->started) {
          progress->started = true;
          for (size_t i = 0; i < choices; ++i) {
            bool role = prepared->chat;
            if ((role || !prepared->echo[i].empty()) &&
                !write(sseEvent(prepared->chunk(
                    prepared->textChoice(i, prepared->echo[i], std::nullopt, true, role)))))
              return false;
          }
        }
        std::vector<SequenceUpdate> updates = prepared->group->wait(std::chrono::milliseconds(250));
        for (SequenceUpdate &update : updates) {
          if (!update.text.empty() &&
              !write(sseEvent(prepared->chunk(
                  prepared->textChoice(update.index, update.text, std::nullopt, true)))))
            return false;
          if (!update.finish && update.error.empty())
            continue;
          ++progress->done;
          progress->completionTokens += update.completionTokens;
          std::string event =
              update.error.empty()
                  ? sseEvent(prepared->chunk(
                        prepared->textChoice(update.index, "", update.finish, true)))
                  : sseEvent(errorBody(serverError(500, update.error)));
          if (!write(event))
            return false;
        }
        if (progress->done == choices) {
          if (prepared->request.includeUsage) {
            json last = prepared->chunk(std::nullopt);
            last["usage"] = prepared->usage(progress->completionTokens);
            if (!write(sseEvent(last)))
              return false;
          }
          if (!write("data: [DONE]\n\n"))
            return false;
          sink.done();
          return true;
        }
        // A comment line after a quiet second: a client that left fails the
        // write, and its sequences are cancelled without waiting for text.
        if (std::chrono::steady_clock::now() - progress->lastWrite > std::chrono::seconds(1))
          return write(": waiting\n\n");
        return true;
      },
      [prepared](bool) { prepared->group->cancel(); });
}

void Service::embeddings(const httplib::Request &req, httplib::Response &res) {
  ParsedEmbedding parsed = parseEmbeddingRequest(req.body, options.limits);
  if (!parsed.request)
    return sendError(res, parsed.error);
  const tfc_model_info &info = *lib.info();
  if (!info.has_encoder || info.has_decoder)
    return sendError(res, serverError(400, "the model '" + options.limits.modelId +
                                               "' is not an encoder model: /v1/embeddings needs "
                                               "one (a decoder serves completions)",
                                      "invalid_request_error"));
  std::vector<std::future<Scheduler::Embedding>> results;
  int64_t promptTokens = 0;
  for (const Prompt &input : parsed.request->inputs) {
    std::vector<int32_t> ids = input.ids;
    if (input.isText) {
      std::lock_guard<std::mutex> lock(tokenizer.mutex);
      auto encoded = tokenizer.tokenizer.encode(input.text);
      if (!encoded)
        return sendError(res, serverError(400, "cannot tokenize the input: " +
                                                   llvm::toString(encoded.takeError()),
                                          "invalid_request_error"));
      ids = std::move(*encoded);
    }
    if (ids.empty())
      return sendError(res, serverError(400, "an input is empty (it has no tokens)",
                                        "invalid_request_error"));
    if (ids.size() > static_cast<size_t>(options.limits.contextTokens)) {
      ApiError error = contextOverflow(options.limits.contextTokens, ids.size(), 0);
      error.param = "input";
      return sendError(res, error);
    }
    promptTokens += static_cast<int64_t>(ids.size());
    results.push_back(scheduler.embed(std::move(ids)));
  }
  json data = json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    Scheduler::Embedding embedding = results[i].get();
    if (!embedding.error.empty())
      return sendError(res, serverError(embedding.error == "the server is full" ? 503 : 500,
                                        embedding.error));
    json value = parsed.request->base64 ? json(base64Floats(embedding.vector))
                                        : json(embedding.vector);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(value)}});
  }
  json body = {{"object", "list"},
               {"data", std::move(data)},
               {"model", options.limits.modelId},
               {"usage", {{"prompt_tokens", promptTokens}, {"total_tokens", promptTokens}}}};
  res.set_content(serialize(body), "application/json");
}
