//===- tfc-serve.cpp - An OpenAI-compatible server for a model.so ---------===//
//
//   tfc-serve MODEL.so --weights W [--tokenizer T] [--host 127.0.0.1]
//             [--port 8080] [--parallel N] [--api-key KEY] [--ctx N]
//             [--chat-template NAME]
//
// Loads the model through its C ABI (like tfc-run), the tokenizer and its
// chat template (--tokenizer, else the one the weights bring, as in tfc-run:
// their Hugging Face directory's, or a .gguf file's own), starts the scheduler with --parallel sessions of --ctx
// tokens and serves HTTP until SIGINT or SIGTERM. Once listening it prints
// `tfc-serve: listening on http://HOST:PORT` on stderr (with the port the
// system chose for --port 0), which is what scripts and tests wait for.
// Shutdown ends every running request with an error, then stops the server;
// exit status 0. Errors before that are one line `tfc-serve: error: ...`,
// exit status 1. Under `mpirun -np N` with a model compiled with
// --tensor-parallel=N, rank 0 is the server and the other ranks follow its
// model calls (Lockstep.h) until it stops; they ignore SIGINT and SIGTERM
// (mpirun forwards those to every rank) and end with rank 0.
//
//===----------------------------------------------------------------------===//
#include "Scheduler.h"
#include "Server.h"

#include "tfc/Runner/ModelDirectory.h"
#include "tfc/Runner/ToolSupport.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"

#include <fmt/format.h>

#include <csignal>
#include <sys/socket.h>
#include <pthread.h>

using namespace tfc;
using namespace tfc::serve;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory serveCategory("tfc-serve options");

cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.so>"), cl::init(""),
                               cl::cat(serveCategory));
cl::opt<std::string> weightsPath("weights",
                                 cl::desc("Weights: a safetensors file, a sharded checkpoint's "
                                          "index, a Hugging Face model directory or a .gguf"),
                                 cl::value_desc("file"), cl::cat(serveCategory));
cl::opt<uint64_t> randomWeights("random-weights",
                                cl::desc("Use the model's deterministic random weights (tests)"),
                                cl::value_desc("seed"), cl::cat(serveCategory), cl::Hidden);
cl::opt<std::string> tokenizerPath(
    "tokenizer", cl::desc("tokenizer.json (with tokenizer_config.json beside it), llama2.c "
                          "tokenizer.bin or .gguf (default: the one the weights bring)"),
    cl::value_desc("file"), cl::cat(serveCategory));
cl::opt<std::string> hostOpt("host", cl::desc("Address to listen on (default 127.0.0.1)"),
                             cl::init("127.0.0.1"), cl::cat(serveCategory));
cl::opt<int> portOpt("port", cl::desc("Port (default 8080; 0: any free port)"), cl::init(8080),
                     cl::cat(serveCategory));
cl::opt<int> parallelOpt("parallel",
                         cl::desc("Sequences decoded together, each in its own session "
                                  "(default 4)"),
                         cl::init(4), cl::cat(serveCategory));
cl::opt<std::string> apiKeyOpt("api-key",
                               cl::desc("Require 'Authorization: Bearer KEY' on every request"),
                               cl::value_desc("KEY"), cl::cat(serveCategory));
cl::opt<int> ctxOpt("ctx", cl::desc("Tokens of one sequence, prompt and completion (default and "
                                    "maximum: the model's max_seq)"),
                    cl::init(0), cl::cat(serveCategory));
cl::opt<std::string> chatTemplateOpt(
    "chat-template",
    cl::desc("Chat format: llama2, llama3, chatml (qwen), mistral or deepseek (default: "
             "recognized from tokenizer_config.json's chat_template)"),
    cl::value_desc("NAME"), cl::cat(serveCategory));
cl::opt<std::string> renderChatOpt(
    "render-chat",
    cl::desc("Print the chat format and the prompt text of a JSON list of messages, then exit "
             "(needs only --tokenizer or --chat-template)"),
    cl::value_desc("file"), cl::cat(serveCategory), cl::Hidden);
cl::opt<int> maxWaitingOpt("max-waiting",
                           cl::desc("Sequences waiting for a session before requests get 503 "
                                    "(default 256)"),
                           cl::init(256), cl::cat(serveCategory), cl::Hidden);
cl::opt<unsigned> stepDelayOpt("step-delay-ms",
                              cl::desc("Pause after every scheduling step (tests)"),
                              cl::init(0), cl::cat(serveCategory), cl::Hidden);
cl::opt<int> maxBodyOpt("max-body", cl::desc("Largest request body in bytes (default 1 MiB)"),
                        cl::init(1 << 20), cl::cat(serveCategory), cl::Hidden);

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// The BOS/EOS strings chat templates write between turns.
SpecialTokens specialTokens(const tokenizer::Tokenizer &tok,
                            const std::optional<tokenizer::GenerationConfig> &config) {
  SpecialTokens tokens;
  if (std::optional<int32_t> id = tok.bosId())
    tokens.bos = tok.idToToken(*id).value_or(tokens.bos);
  if (std::optional<int32_t> id = tok.eosId())
    tokens.eos = tok.idToToken(*id).value_or(tokens.eos);
  if (config && config->bosToken)
    tokens.bos = *config->bosToken;
  if (config && config->eosToken)
    tokens.eos = *config->eosToken;
  return tokens;
}

llvm::Expected<std::optional<ChatFormat>> chooseChatFormat(llvm::StringRef tokenizerFile) {
  if (chatTemplateOpt.getNumOccurrences()) {
    if (std::optional<ChatFormat> format = chatFormatByName(chatTemplateOpt))
      return format;
    return makeError("unknown --chat-template '" + chatTemplateOpt + "' (expected one of " +
                     chatFormatNames() + ")");
  }
  std::string config = tokenizerConfigPath(tokenizerFile);
  if (config.empty())
    return std::nullopt;
  return readChatTemplate(config);
}

/// --render-chat: `format: NAME`, then `text: "..."`, the rendering as a JSON
/// string, so that tests see every byte on one line.
llvm::Error renderChatFile() {
  std::optional<tokenizer::GenerationConfig> generation;
  std::optional<tokenizer::Tokenizer> tok;
  if (!tokenizerPath.empty()) {
    auto loaded = loadGenerationTokenizer(tokenizerPath, &generation);
    if (!loaded)
      return loaded.takeError();
    tok.emplace(std::move(*loaded));
  }
  auto format = chooseChatFormat(tokenizerPath);
  if (!format)
    return format.takeError();
  if (!*format)
    return makeError("no chat template: give --chat-template NAME or a tokenizer.json with a "
                     "tokenizer_config.json that has one");
  auto buffer = llvm::MemoryBuffer::getFile(renderChatOpt, /*IsText=*/true);
  if (!buffer)
    return makeError("cannot read '" + renderChatOpt + "': " + buffer.getError().message());
  std::vector<ChatMessage> messages;
  if (auto error = parseChatMessages((*buffer)->getBuffer(), Limits(), messages))
    return makeError("'" + renderChatOpt + "': " + error->message);
  SpecialTokens tokens = tok ? specialTokens(*tok, generation) : SpecialTokens();
  fmt::print("format: {}\ntext: {}\n", chatFormatName(**format),
             serialize(renderChat(**format, messages, tokens)));
  return llvm::Error::success();
}

/// httplib's server with a listen backlog that fits many clients: Debian's
/// library is built with a backlog of 5, so 64 clients connecting at once
/// overflow the accept queue and some get reset. listen() again on the bound
/// socket raises the backlog (Linux takes the new value).
class HttpServer : public httplib::Server {
public:
  bool widenBacklog(int backlog) { return ::listen(svr_sock_, backlog) == 0; }
};

/// Owns what main creates, so every exit path frees it in order.
struct Loaded {
  const ModelLibrary *lib = nullptr;
  tfc_model *model = nullptr;
  std::unique_ptr<SharedTokenizer> tokenizer;
  std::unique_ptr<Scheduler> scheduler;
  ~Loaded() {
    scheduler.reset();
    if (model)
      lib->modelFree(model);
  }
};

llvm::Error runServer() {
  // SIGINT/SIGTERM go to a thread of their own: blocked here, before any
  // thread starts, so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (modelPath.empty())
    return makeError("no model given (usage: tfc-serve MODEL.so --weights FILE [--tokenizer FILE])");
  if (weightsPath.getNumOccurrences() == randomWeights.getNumOccurrences())
    return makeError(weightsPath.getNumOccurrences() ? "--weights and --random-weights cannot be combined"
                                                     : "no weights: give --weights FILE");
  if (portOpt < 0 || portOpt > 65535)
    return makeError("invalid --port " + llvm::Twine(portOpt.getValue()) + ": expected 0 to 65535");
  if (parallelOpt < 1 || parallelOpt > 256)
    return makeError("invalid --parallel " + llvm::Twine(parallelOpt.getValue()) +
                     ": expected 1 to 256");
  if (maxWaitingOpt < 0 || maxBodyOpt < 1024)
    return makeError("invalid --max-waiting or --max-body");

  auto libOr = ModelLibrary::open(modelPath);
  if (!libOr)
    return libOr.takeError();
  static ModelLibrary lib = *libOr; // the library stays loaded until exit anyway
  const tfc_model_info &info = *lib.info();
  std::string name = info.name ? info.name : "model";
  if (!info.has_encoder && !info.has_decoder)
    return makeError("model '" + name + "' has neither an encoder nor a decoder");
  int32_t ctx = ctxOpt.getNumOccurrences() ? ctxOpt.getValue() : info.max_seq;
  if (ctx < 1 || ctx > info.max_seq)
    return makeError("invalid --ctx " + llvm::Twine(ctx) + ": expected 1 to the model's max_seq (" +
                     llvm::Twine(info.max_seq) + ")");

  // The weights' Hugging Face directory gives the tokenizer when none is
  // named, and its generation settings (eos_token_id) end generation too.
  std::optional<ModelDirectory> directory;
  if (weightsPath.getNumOccurrences()) {
    auto found = ModelDirectory::forWeights(weightsPath);
    if (!found)
      return found.takeError();
    directory = std::move(*found);
  }
  std::string tokenizerFile = tokenizerPath.getNumOccurrences()
                                  ? tokenizerPath.getValue()
                                  : tokenizerForWeights(weightsPath, directory, info.vocab_size);
  if (tokenizerFile.empty())
    return makeError("no tokenizer: give --tokenizer FILE (or --weights a Hugging Face model "
                     "directory that has one, or a .gguf file)");
  std::optional<tokenizer::GenerationConfig> generation;
  auto tok = loadGenerationTokenizer(tokenizerFile, &generation);
  if (!tok)
    return tok.takeError();
  if (tok->vocabSize() > info.vocab_size)
    return makeError("tokenizer '" + tokenizerFile + "' has " + llvm::Twine(tok->vocabSize()) +
                     " pieces, more than the vocab_size (" + llvm::Twine(info.vocab_size) +
                     ") of model '" + name + "'");
  auto chatFormat = chooseChatFormat(tokenizerFile);
  if (!chatFormat)
    return chatFormat.takeError();

  Loaded loaded;
  loaded.lib = &lib;
  loaded.model = randomWeights.getNumOccurrences() ? lib.modelRandom(randomWeights)
                                                   : lib.modelLoad(weightsPath.c_str());
  if (!loaded.model)
    return makeError("cannot load weights '" + weightsPath + "': " + lib.errorText());
  // Under mpirun (a model compiled with --tensor-parallel), the ranks other
  // than 0 serve nothing: they make the model calls rank 0 broadcasts.
  static Lockstep lockstep(lib);
  // Rank 0 alone samples (the others take every step's tokens from it), so
  // the logits need reach no other rank (tfc_logits_rank; a library without
  // it gathers them on every rank).
  if (lockstep.enabled() && lib.logitsRank && lib.logitsRank(0) != 0)
    return makeError("tfc_logits_rank failed: " + llvm::Twine(lib.errorText()));
  if (lockstep.rank() != 0)
    return lockstep.follow(loaded.model, info.has_decoder ? parallelOpt.getValue() : 1, ctx);
  ServiceOptions service;
  service.specialTokens = specialTokens(*tok, generation);
  if (directory)
    service.stopIds = directory->generation.eosIds;
  loaded.tokenizer.reset(new SharedTokenizer{std::move(*tok), {}});

  SchedulerOptions scheduling;
  scheduling.parallel = parallelOpt;
  scheduling.contextTokens = ctx;
  scheduling.maxWaiting = static_cast<size_t>(maxWaitingOpt.getValue());
  scheduling.stepDelay = std::chrono::milliseconds(stepDelayOpt.getValue());
  scheduling.lockstep = lockstep.enabled() ? &lockstep : nullptr;
  auto scheduler = Scheduler::create(lib, loaded.model, *loaded.tokenizer, scheduling);
  if (!scheduler)
    return scheduler.takeError();
  loaded.scheduler = std::move(*scheduler);

  service.limits.modelId = name;
  service.limits.vocabSize = info.vocab_size;
  service.limits.contextTokens = ctx;
  service.apiKey = apiKeyOpt;
  service.chatFormat = *chatFormat;
  service.maxBodyBytes = static_cast<size_t>(maxBodyOpt.getValue());
  service.httpThreads = std::max(64, 2 * parallelOpt.getValue());
  Service routes(lib, *loaded.tokenizer, *loaded.scheduler, service);
  HttpServer server;
  routes.install(server);
  server.set_keep_alive_timeout(2);

  int port = portOpt;
  if (port == 0)
    port = server.bind_to_any_port(hostOpt);
  else if (!server.bind_to_port(hostOpt, port))
    port = -1;
  if (port <= 0 || !server.widenBacklog(1024))
    return makeError("cannot listen on " + hostOpt + ":" + llvm::Twine(portOpt.getValue()));

  // The signal thread stops the scheduler first (every waiting client gets
  // its answer), then the server.
  std::thread signalThread([&] {
    int received = 0;
    sigwait(&signals, &received);
    loaded.scheduler->stop();
    server.stop();
  });

  fmt::print(stderr, "tfc-serve: model '{}' ({} sessions of {} tokens{}), listening on http://{}:{}\n",
             name, info.has_decoder ? parallelOpt.getValue() : 1, ctx,
             *chatFormat ? std::string(", chat format ") + chatFormatName(**chatFormat) : "",
             hostOpt.getValue(), port);
  bool listened = server.listen_after_bind();
  // listen ends after a signal; if it failed instead, the signal thread
  // still waits: send it one.
  if (server.is_running() || !listened)
    pthread_kill(signalThread.native_handle(), SIGTERM);
  signalThread.join();
  fmt::print(stderr, "tfc-serve: stopped\n");
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  const char *overview =
      "tfc-serve: an OpenAI-compatible server for a tfc-compiled model.so\n\n"
      "  tfc-serve MODEL.so --weights FILE [--tokenizer TOKENIZER] [--host 127.0.0.1] [--port 8080]\n"
      "            [--parallel N] [--api-key KEY] [--ctx N] [--chat-template NAME]\n\n"
      "Endpoints: POST /v1/completions, /v1/chat/completions, /v1/embeddings (encoder models);\n"
      "GET /v1/models, /health. SIGINT or SIGTERM stops the server.\n";
  if (!parseToolCommandLine(argc, argv, "tfc-serve", overview, serveCategory))
    return 1;
  if (llvm::Error err = renderChatOpt.getNumOccurrences() ? renderChatFile() : runServer()) {
    fmt::print(stderr, "tfc-serve: error: {}\n", llvm::toString(std::move(err)));
    return 1;
  }
  return 0;
}
