//===- Server.h - tfc-serve's HTTP endpoints --------------------*- C++ -*-===//
//
// The OpenAI-compatible routes on cpp-httplib: each request's thread parses
// and checks the body (Api.h), tokenizes, submits its sequences to the
// Scheduler and waits for their text, answering at once or as server-sent
// events. Authentication, size limits and the JSON form of httplib's own
// errors (404, 413) are here too.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOOLS_TFC_SERVE_SERVER_H
#define TFC_TOOLS_TFC_SERVE_SERVER_H

#include "Api.h"
#include "Scheduler.h"

#include <httplib.h>

#include <atomic>
#include <optional>
#include <string>

namespace tfc::serve {

struct ServiceOptions {
  Limits limits;
  std::string apiKey; // empty: no authentication
  std::optional<ChatFormat> chatFormat;
  SpecialTokens specialTokens;
  /// Ids that end generation besides the tokenizer's EOS and BOS (the model
  /// directory's eos_token_id).
  std::vector<int32_t> stopIds;
  size_t maxBodyBytes = 1 << 20;
  int32_t httpThreads = 64;
};

class Service {
public:
  Service(const ModelLibrary &lib, SharedTokenizer &tokenizer, Scheduler &scheduler,
          ServiceOptions options);

  /// Installs the routes and handlers on `server`.
  void install(httplib::Server &server);

private:
  void completions(const httplib::Request &req, httplib::Response &res, bool chat);
  void embeddings(const httplib::Request &req, httplib::Response &res);
  void models(httplib::Response &res);
  void health(httplib::Response &res);
  bool authorized(const httplib::Request &req, httplib::Response &res);

  struct Prepared;
  std::optional<ApiError> prepare(const GenerationRequest &request, bool chat, Prepared &out);
  void respond(const std::shared_ptr<Prepared> &prepared, httplib::Response &res);
  void stream(const std::shared_ptr<Prepared> &prepared, httplib::Response &res);

  const ModelLibrary &lib;
  SharedTokenizer &tokenizer;
  Scheduler &scheduler;
  ServiceOptions options;
  std::vector<int32_t> stopIds;     // EOS and BOS
  std::vector<int32_t> chatStopIds; // plus the chat format's end-of-turn tokens
  std::atomic<uint64_t> nextId{1};
};

/// The JSON text of `value`; invalid UTF-8 in generated text becomes U+FFFD.
std::string serialize(const json &value);

} // namespace tfc::serve

#endif // TFC_TOOLS_TFC_SERVE_SERVER_H
