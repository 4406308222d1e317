//===- tfc-run.cpp - Run a compiled model.so ------------------------------===//
//
// Drives a tfc-compiled model through the C ABI of tfc.h only: loads weights
// (a safetensors file or seeded random ones), runs the prompt in one
// tfc_decode call (prefill), then generates one token per call, and reports
// prefill and decode throughput. With a llama2.c tokenizer it reads and
// writes text; --encode / --decode expose the tokenizer alone for tests.
//
// Output contract (what tests rely on):
//   stdout  ids mode: prompt ids then generated ids, space-separated, one line
//           text mode (--tokenizer): the prompt text then the generated text,
//           streamed as produced, then a newline
//           encoder-only models: `hidden states: N x D`, then one line per
//           token with its first values
//   stderr  the timing line `prefill: X tok/s, decode: Y tok/s` (prefixed by
//           `encode: Z tok/s, ` when an encoder ran), with --memory the line
//           `weights: +A KiB anonymous, F KiB file mapped` before it, and
//           errors, each one line `tfc-run: error: ...` with exit status 1
//
//===----------------------------------------------------------------------===//
#include "ModelLibrary.h"
#include "Sampler.h"
#include "Tokenizer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace tfc;
namespace cl = llvm::cl;

namespace {

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

cl::OptionCategory runCategory("tfc-run options");

cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.so>"), cl::init(""),
                               cl::cat(runCategory));
cl::opt<std::string> weightsPath("weights",
                                 cl::desc("Load weights from a safetensors file, a sharded "
                                          "checkpoint's index, a model directory or a GGUF file"),
                                 cl::value_desc("path"), cl::cat(runCategory));
cl::opt<std::string> randomWeights("random-weights",
                                   cl::desc("Use the model's deterministic random weights"),
                                   cl::value_desc("seed"), cl::cat(runCategory));
cl::opt<std::string> tokensOpt("tokens", cl::desc("Prompt token ids (decoder input)"),
                               cl::value_desc("1,2,3"), cl::cat(runCategory));
cl::opt<std::string> encoderTokensOpt(
    "encoder-tokens", cl::desc("Encoder input ids of an encoder-decoder model"),
    cl::value_desc("1,2,3"), cl::cat(runCategory));
cl::opt<std::string> numTokensOpt("n", cl::desc("Number of tokens to generate (default 16)"),
                                  cl::value_desc("N"), cl::init("16"), cl::cat(runCategory));
cl::opt<std::string> temperatureOpt(
    "temperature", cl::desc("Sampling temperature; 0 (the default) is greedy"),
    cl::value_desc("T"), cl::init("0"), cl::cat(runCategory));
cl::opt<std::string> topKOpt("top-k",
                             cl::desc("Sample among the K most likely tokens (0: all, default)"),
                             cl::value_desc("K"), cl::init("0"), cl::cat(runCategory));
cl::opt<std::string> topPOpt(
    "top-p", cl::desc("Nucleus sampling: the most likely tokens of total probability P (default 1)"),
    cl::value_desc("P"), cl::init("1"), cl::cat(runCategory));
cl::opt<std::string> seedOpt("seed", cl::desc("Seed of the sampler (default 0)"),
                             cl::value_desc("S"), cl::init("0"), cl::cat(runCategory));
cl::opt<std::string> stopOnRepeatOpt(
    "stop-on-repeat",
    cl::desc("Stop once the last W generated tokens repeat a cycle of at most W/2 tokens "
             "(0: off, the default; else W >= 2)"),
    cl::value_desc("W"), cl::init("0"), cl::cat(runCategory));
cl::opt<std::string> tokenizerPath("tokenizer",
                                   cl::desc("llama2.c tokenizer.bin: text in and out"),
                                   cl::value_desc("file"), cl::cat(runCategory));
cl::opt<std::string> promptOpt("prompt", cl::desc("Prompt text (needs --tokenizer)"),
                               cl::value_desc("text"), cl::cat(runCategory));
cl::opt<std::string> encodeOpt("encode",
                               cl::desc("Print the ids of a text and exit (no model needed)"),
                               cl::value_desc("text"), cl::cat(runCategory));
cl::opt<std::string> decodeOpt(
    "decode", cl::desc("Print the text of ids ('-' reads them from stdin) and exit"),
    cl::value_desc("1,2,3"), cl::cat(runCategory));

cl::opt<bool> memoryOpt("memory",
                        cl::desc("Report on stderr what the weights take in memory: the "
                                 "anonymous memory their loading added and the file mapping "
                                 "it kept (Linux)"),
                        cl::cat(runCategory));

/// Whether stdout holds an unfinished line of ids or text, which an error
/// must end first so that the output stays line-oriented.
bool stdoutLineOpen = false;

bool given(const cl::Option &opt) { return opt.getNumOccurrences() > 0; }

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

//===----------------------------------------------------------------------===//
// Memory (--memory)
//===----------------------------------------------------------------------===//

/// The process's resident anonymous memory in KiB, 0 when unknown. Exact:
/// smaps_rollup walks the page tables, unlike the batched counters of
/// /proc/self/status.
int64_t anonymousKiB() {
  std::ifstream rollup("/proc/self/smaps_rollup");
  std::string key;
  int64_t kib;
  while (rollup >> key) {
    if (key == "Anonymous:" && rollup >> kib)
      return kib;
    rollup.ignore(INT_MAX, '\n');
  }
  return 0;
}

/// KiB of the process's address space that map the weights at `path`: the
/// file itself, or for a model directory or a sharded checkpoint's index the
/// safetensors files beside it (the shards).
int64_t mappedKiB(const std::string &path) {
  char resolved[PATH_MAX];
  if (!realpath(path.c_str(), resolved))
    return 0;
  llvm::StringRef weights(resolved);
  std::string shardDir;
  if (llvm::sys::fs::is_directory(weights))
    shardDir = (weights + "/").str();
  else if (weights.ends_with(".json"))
    shardDir = weights.substr(0, weights.rfind('/') + 1).str();
  auto isWeights = [&](llvm::StringRef file) {
    if (shardDir.empty())
      return file == weights;
    return file.starts_with(shardDir) && file.ends_with(".safetensors") &&
           !file.substr(shardDir.size()).contains('/');
  };
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int64_t bytes = 0;
  while (std::getline(maps, line)) {
    // start-end perms offset dev inode path
    llvm::StringRef rest(line);
    auto [range, fields] = rest.split(' ');
    for (int i = 0; i < 4; ++i)
      fields = fields.ltrim().split(' ').second;
    if (!isWeights(fields.trim()))
      continue;
    auto [start, end] = range.split('-');
    uint64_t lo, hi;
    if (!start.getAsInteger(16, lo) && !end.getAsInteger(16, hi) && hi > lo)
      bytes += static_cast<int64_t>(hi - lo);
  }
  return bytes / 1024;
}

//===----------------------------------------------------------------------===//
// Option values
//===----------------------------------------------------------------------===//

/// An integer option value in [lo, hi].
template <typename T>
llvm::Expected<T> parseInteger(llvm::StringRef value, llvm::StringRef name, T lo, T hi) {
  T result;
  if (llvm::StringRef(value).trim().getAsInteger(10, result) || result < lo || result > hi)
    return makeError("invalid value '" + value + "' for --" + name + ": expected an integer in [" +
                     llvm::Twine(lo) + ", " + llvm::Twine(hi) + "]");
  return result;
}

/// A finite real option value in [lo, hi] (lo excluded when `openLo`).
llvm::Expected<double> parseReal(llvm::StringRef value, llvm::StringRef name, double lo, double hi,
                                 bool openLo) {
  double result;
  bool ok = !llvm::StringRef(value).trim().getAsDouble(result) && std::isfinite(result) &&
            (openLo ? result > lo : result >= lo) && result <= hi;
  if (!ok) {
    std::string range = fmt::format("{}{}, {}]", openLo ? "(" : "[", lo, hi);
    return makeError("invalid value '" + value + "' for --" + name + ": expected a number in " +
                     range);
  }
  return result;
}

/// Token ids separated by commas and/or whitespace.
llvm::Expected<std::vector<int32_t>> parseIds(llvm::StringRef text, llvm::StringRef name) {
  std::vector<int32_t> ids;
  llvm::SmallVector<llvm::StringRef> fields;
  text.split(fields, ',');
  for (llvm::StringRef field : fields) {
    llvm::SmallVector<llvm::StringRef> words;
    llvm::SplitString(field, words); // whitespace, empty words dropped
    if (words.empty())
      return makeError("invalid value '" + text + "' for --" + name +
                       ": empty entry in the id list");
    for (llvm::StringRef word : words) {
      int32_t id;
      if (word.getAsInteger(10, id) || id < 0)
        return makeError("invalid value '" + text + "' for --" + name + ": '" + word +
                         "' is not a token id (a non-negative integer)");
      ids.push_back(id);
    }
  }
  return ids;
}

struct RunOptions {
  std::optional<uint64_t> randomSeed;
  int32_t numTokens = 16;
  SamplerOptions sampler;
  int32_t stopOnRepeat = 0;
  std::vector<int32_t> prompt;
  std::vector<int32_t> encoderPrompt;
  std::optional<Tokenizer> tokenizer;
};

//===----------------------------------------------------------------------===//
// Tokenizer-only modes
//===----------------------------------------------------------------------===//

llvm::Error runTokenizerMode() {
  if (given(encodeOpt) && given(decodeOpt))
    return makeError("--encode and --decode cannot be combined");
  llvm::StringRef mode = given(encodeOpt) ? "--encode" : "--decode";
  if (!given(tokenizerPath))
    return makeError(mode + " needs --tokenizer");
  if (!modelPath.empty())
    return makeError(mode + " takes no model (got '" + modelPath + "')");
  auto tok = Tokenizer::load(tokenizerPath);
  if (!tok)
    return tok.takeError();

  if (given(encodeOpt)) {
    auto ids = tok->encode(encodeOpt);
    if (!ids)
      return ids.takeError();
    fmt::print("{}\n", fmt::join(*ids, " "));
    return llvm::Error::success();
  }

  std::string idText = decodeOpt;
  if (decodeOpt == "-") {
    auto input = llvm::MemoryBuffer::getSTDIN();
    if (!input)
      return makeError("cannot read stdin: " + input.getError().message());
    idText = (*input)->getBuffer().str();
  }
  auto ids = parseIds(idText, "decode");
  if (!ids)
    return ids.takeError();
  auto text = tok->decode(*ids);
  if (!text)
    return text.takeError();
  fmt::print("{}\n", *text);
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Model modes
//===----------------------------------------------------------------------===//

llvm::Expected<RunOptions> checkRunOptions() {
  RunOptions run;
  if (modelPath.empty())
    return makeError("no model given (usage: tfc-run MODEL.so (--weights FILE | "
                     "--random-weights SEED) --tokens 1,2,3 -n N)");
  if (given(weightsPath) == given(randomWeights))
    return makeError(given(weightsPath) ? "--weights and --random-weights cannot be combined"
                                        : "no weights: give --weights FILE or --random-weights SEED");
  if (given(randomWeights)) {
    auto seed = parseInteger<uint64_t>(randomWeights, "random-weights", 0, UINT64_MAX);
    if (!seed)
      return seed.takeError();
    run.randomSeed = *seed;
  }

  auto n = parseInteger<int32_t>(numTokensOpt, "n", 0, INT32_MAX);
  auto temperature = parseReal(temperatureOpt, "temperature", 0.0, 1e6, /*openLo=*/false);
  auto topK = parseInteger<int32_t>(topKOpt, "top-k", 0, INT32_MAX);
  auto topP = parseReal(topPOpt, "top-p", 0.0, 1.0, /*openLo=*/true);
  auto seed = parseInteger<uint64_t>(seedOpt, "seed", 0, UINT64_MAX);
  auto repeat = parseInteger<int32_t>(stopOnRepeatOpt, "stop-on-repeat", 0, 1 << 20);
  if (!n)
    return n.takeError();
  if (!temperature)
    return temperature.takeError();
  if (!topK)
    return topK.takeError();
  if (!topP)
    return topP.takeError();
  if (!seed)
    return seed.takeError();
  if (!repeat)
    return repeat.takeError();
  if (*repeat == 1)
    return makeError("invalid value '1' for --stop-on-repeat: a cycle needs a window of at "
                     "least 2 tokens (0 turns detection off)");
  run.numTokens = *n;
  run.sampler = {*temperature, *topK, *topP, *seed};
  run.stopOnRepeat = *repeat;

  if (given(promptOpt) && !given(tokenizerPath))
    return makeError("--prompt needs --tokenizer");
  if (given(promptOpt) && given(tokensOpt))
    return makeError("--prompt and --tokens cannot be combined");
  if (given(tokenizerPath)) {
    auto tok = Tokenizer::load(tokenizerPath);
    if (!tok)
      return tok.takeError();
    run.tokenizer.emplace(std::move(*tok));
  }
  if (given(promptOpt)) {
    auto ids = run.tokenizer->encode(promptOpt);
    if (!ids)
      return ids.takeError();
    run.prompt = std::move(*ids);
  } else if (given(tokensOpt)) {
    auto ids = parseIds(tokensOpt, "tokens");
    if (!ids)
      return ids.takeError();
    run.prompt = std::move(*ids);
  }
  if (given(encoderTokensOpt)) {
    auto ids = parseIds(encoderTokensOpt, "encoder-tokens");
    if (!ids)
      return ids.takeError();
    run.encoderPrompt = std::move(*ids);
  }
  return run;
}

llvm::Error checkIds(llvm::ArrayRef<int32_t> ids, llvm::StringRef what, int32_t vocab) {
  for (int32_t id : ids)
    if (id >= vocab)
      return makeError("token id " + llvm::Twine(id) + " in " + what +
                       " is out of range for the model's vocab_size (" + llvm::Twine(vocab) + ")");
  return llvm::Error::success();
}

using Clock = std::chrono::steady_clock;

double perSecond(int64_t count, Clock::duration elapsed) {
  double seconds = std::chrono::duration<double>(elapsed).count();
  return count == 0 || seconds <= 0.0 ? 0.0 : static_cast<double>(count) / seconds;
}

/// Owns the model and session so every exit path frees them.
struct Loaded {
  const ModelLibrary &lib;
  tfc_model *model = nullptr;
  tfc_session *session = nullptr;
  explicit Loaded(const ModelLibrary &lib) : lib(lib) {}
  ~Loaded() {
    if (session)
      lib.sessionFree(session);
    if (model)
      lib.modelFree(model);
  }
};

/// Terminal-friendly text of one generated piece: raw bytes (so byte-fallback
/// UTF-8 reassembles), except lone ASCII control bytes other than whitespace.
void printPiece(const std::string &piece) {
  if (piece.size() == 1) {
    unsigned char c = piece[0];
    if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f)
      return;
  }
  std::fwrite(piece.data(), 1, piece.size(), stdout);
  std::fflush(stdout);
}

llvm::Error runModel() {
  auto runOr = checkRunOptions();
  if (!runOr)
    return runOr.takeError();
  RunOptions &run = *runOr;

  auto libOr = ModelLibrary::open(modelPath);
  if (!libOr)
    return libOr.takeError();
  const ModelLibrary &lib = *libOr;
  const tfc_model_info &info = *lib.info();
  std::string name = info.name ? info.name : "?";

  bool encoderOnly = info.has_encoder && !info.has_decoder;
  bool encoderDecoder = info.has_encoder && info.has_decoder;
  if (!info.has_encoder && !info.has_decoder)
    return makeError("model '" + name + "' has neither an encoder nor a decoder");
  if (run.prompt.empty())
    return makeError("no prompt: give --tokens 1,2,3 or --tokenizer FILE --prompt TEXT");
  if (!run.encoderPrompt.empty() && !encoderDecoder)
    return makeError("--encoder-tokens needs an encoder-decoder model; '" + name + "' has " +
                     (info.has_encoder ? "no decoder" : "no encoder"));
  if (encoderDecoder && run.encoderPrompt.empty())
    return makeError("model '" + name + "' is an encoder-decoder: give --encoder-tokens 1,2,3");
  if (run.tokenizer && run.tokenizer->vocabSize() > info.vocab_size)
    return makeError("tokenizer '" + tokenizerPath + "' has " +
                     llvm::Twine(run.tokenizer->vocabSize()) + " pieces, more than the vocab_size (" +
                     llvm::Twine(info.vocab_size) + ") of model '" + name + "'");
  if (llvm::Error err = checkIds(run.prompt, given(promptOpt) ? "the prompt" : "--tokens",
                                 info.vocab_size))
    return err;
  if (llvm::Error err = checkIds(run.encoderPrompt, "--encoder-tokens", info.vocab_size))
    return err;

  // Positions needed: the prompt, then every generated token but the last
  // (whose logits nobody reads).
  int64_t promptLen = static_cast<int64_t>(run.prompt.size());
  int64_t needed = encoderOnly ? promptLen : promptLen + std::max(run.numTokens - 1, 0);
  needed = std::max<int64_t>(needed, static_cast<int64_t>(run.encoderPrompt.size()));
  if (needed > info.max_seq)
    return makeError("the run needs " + llvm::Twine(needed) + " positions (prompt of " +
                     llvm::Twine(promptLen) + " tokens, -n " + llvm::Twine(run.numTokens) +
                     "), more than max_seq (" + llvm::Twine(info.max_seq) + ") of model '" +
                     name + "'");

  Loaded loaded(lib);
  int64_t anonymousBefore = memoryOpt ? anonymousKiB() : 0;
  loaded.model = run.randomSeed ? lib.modelRandom(*run.randomSeed)
                                : lib.modelLoad(weightsPath.c_str());
  if (!loaded.model)
    return run.randomSeed
               ? makeError("cannot create random weights: " + llvm::Twine(lib.errorText()))
               : makeError("cannot load weights '" + weightsPath + "': " + lib.errorText());
  if (memoryOpt)
    fmt::print(stderr, "weights: +{} KiB anonymous, {} KiB file mapped\n",
               anonymousKiB() - anonymousBefore,
               run.randomSeed ? 0 : mappedKiB(weightsPath));
  loaded.session = lib.sessionNew(loaded.model, static_cast<int32_t>(needed));
  if (!loaded.session)
    return makeError("cannot create a session of " + llvm::Twine(needed) +
                     " tokens: " + lib.errorText());

  std::string encodeTiming;
  if (encoderOnly) {
    std::vector<float> hidden(static_cast<size_t>(promptLen) * info.dim);
    auto start = Clock::now();
    if (lib.encode(loaded.session, run.prompt.data(), static_cast<int32_t>(promptLen),
                   hidden.data()) != 0)
      return makeError("tfc_encode failed: " + llvm::Twine(lib.errorText()));
    auto elapsed = Clock::now() - start;
    fmt::print("hidden states: {} x {}\n", promptLen, info.dim);
    size_t shown = std::min<size_t>(8, info.dim);
    for (int64_t t = 0; t < promptLen; ++t) {
      const float *row = hidden.data() + t * info.dim;
      fmt::print("{}: {:.6g}{}\n", t, fmt::join(row, row + shown, " "),
                 shown < static_cast<size_t>(info.dim) ? " ..." : "");
    }
    std::fflush(stdout);
    fmt::print(stderr, "encode: {:.1f} tok/s\n", perSecond(promptLen, elapsed));
    return llvm::Error::success();
  }
  if (encoderDecoder) {
    auto start = Clock::now();
    if (lib.encode(loaded.session, run.encoderPrompt.data(),
                   static_cast<int32_t>(run.encoderPrompt.size()), nullptr) != 0)
      return makeError("tfc_encode failed: " + llvm::Twine(lib.errorText()));
    encodeTiming = fmt::format("encode: {:.1f} tok/s, ",
                               perSecond(run.encoderPrompt.size(), Clock::now() - start));
  }

  // The prompt, echoed as ids or text.
  const Tokenizer *tok = run.tokenizer ? &*run.tokenizer : nullptr;
  stdoutLineOpen = true;
  if (tok) {
    int32_t prev = -1;
    for (int32_t id : run.prompt) {
      if (id < tok->vocabSize())
        printPiece(tok->decodePiece(prev, id));
      prev = id;
    }
  } else {
    fmt::print("{}", fmt::join(run.prompt, " "));
    std::fflush(stdout);
  }

  std::vector<float> logits(info.vocab_size);
  auto prefillStart = Clock::now();
  if (lib.decode(loaded.session, run.prompt.data(), static_cast<int32_t>(promptLen),
                 logits.data(), /*all_logits=*/0) != 0)
    return makeError("tfc_decode of the prompt failed: " + llvm::Twine(lib.errorText()));
  auto prefillTime = Clock::now() - prefillStart;

  Sampler sampler(run.sampler);
  RepeatDetector repeats(run.stopOnRepeat);
  Clock::duration decodeTime{};
  int64_t decodeSteps = 0;
  int32_t prev = run.prompt.back();
  for (int32_t i = 0; i < run.numTokens; ++i) {
    int32_t next = sampler.sample(logits);
    if (next < 0)
      return makeError("the model produced no valid logit (all NaN) at position " +
                       llvm::Twine(promptLen + i));
    if (tok) {
      if (next == Tokenizer::kBos || next == Tokenizer::kEos)
        break;
      if (next >= tok->vocabSize())
        return makeError("the model generated id " + llvm::Twine(next) +
                         ", beyond the tokenizer's " + llvm::Twine(tok->vocabSize()) + " pieces");
      printPiece(tok->decodePiece(prev, next));
    } else {
      fmt::print(" {}", next);
      std::fflush(stdout);
    }
    prev = next;
    if (i + 1 == run.numTokens || repeats.push(next))
      break;
    auto start = Clock::now();
    if (lib.decode(loaded.session, &next, 1, logits.data(), /*all_logits=*/0) != 0)
      return makeError("tfc_decode failed at position " + llvm::Twine(promptLen + i) + ": " +
                       lib.errorText());
    decodeTime += Clock::now() - start;
    ++decodeSteps;
  }
  fmt::print("\n");
  std::fflush(stdout);
  stdoutLineOpen = false;
  fmt::print(stderr, "{}prefill: {:.1f} tok/s, decode: {:.1f} tok/s\n", encodeTiming,
             perSecond(promptLen, prefillTime), perSecond(decodeSteps, decodeTime));
  return llvm::Error::success();
}

/// Parses the command line, turning LLVM's own parse errors (unknown option,
/// missing value) into the tool's one-line error format.
/// Rejects arguments that name no registered option. cl would otherwise try
/// to read `--nope` as the group `-n ope`, and its complaint about -n bypasses
/// the error stream parseCommandLine captures.
bool checkOptionNames(int argc, char **argv) {
  llvm::StringMap<cl::Option *> &options = cl::getRegisteredOptions();
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg == "--")
      return true; // the rest is positional
    if (!arg.starts_with("-") || arg == "-")
      continue;
    llvm::StringRef name = arg.drop_while([](char c) { return c == '-'; });
    auto [key, value] = name.split('=');
    auto it = options.find(key);
    if (it == options.end()) {
      fmt::print(stderr, "tfc-run: error: unknown option '{}' (see tfc-run --help)\n", arg.str());
      return false;
    }
    if (name.contains('=') || it->second->getValueExpectedFlag() != cl::ValueRequired)
      continue;
    if (i + 1 == argc) {
      fmt::print(stderr, "tfc-run: error: option '{}' needs a value\n", arg.str());
      return false;
    }
    ++i; // the next argument is this option's value, whatever it looks like
  }
  return true;
}

bool parseCommandLine(int argc, char **argv) {
  cl::HideUnrelatedOptions(runCategory);
  if (!checkOptionNames(argc, argv))
    return false;
  std::string errors;
  llvm::raw_string_ostream os(errors);
  const char *overview =
      "tfc-run: run a tfc-compiled model.so\n\n"
      "  tfc-run MODEL.so (--weights FILE | --random-weights SEED) --tokens 1,2,3 -n N\n"
      "  tfc-run MODEL.so ... --tokenizer tokenizer.bin --prompt \"text\" -n N\n"
      "  tfc-run --tokenizer tokenizer.bin (--encode \"text\" | --decode 1,2,3)\n\n"
      "Generated ids or text go to stdout; the timing line and errors to stderr.\n";
  if (cl::ParseCommandLineOptions(argc, argv, overview, &os))
    return true;
  llvm::StringRef first = llvm::StringRef(os.str()).split('\n').first.trim();
  first.consume_front("tfc-run: ");
  if (first.empty()) // cl reported straight to stderr (after a prefix check we missed)
    first = "invalid command line";
  fmt::print(stderr, "tfc-run: error: {}\n", first);
  return false;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  if (!parseCommandLine(argc, argv))
    return 1;
  llvm::Error err = given(encodeOpt) || given(decodeOpt) ? runTokenizerMode() : runModel();
  if (err) {
    if (stdoutLineOpen)
      std::fputc('\n', stdout);
    std::fflush(stdout);
    fmt::print(stderr, "tfc-run: error: {}\n", llvm::toString(std::move(err)));
    return 1;
  }
  return 0;
}
