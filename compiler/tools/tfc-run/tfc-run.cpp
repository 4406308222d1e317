//===- tfc-run.cpp - Run a compiled model.so ------------------------------===//
//
// Drives a tfc-compiled model through the C ABI of tfc.h only: loads weights
// (a safetensors file or seeded random ones), runs the prompt in one
// tfc_decode call (prefill), then generates one token per call, and reports
// prefill and decode throughput. With a tokenizer (tokenizer.json, llama2.c
// tokenizer.bin or .gguf, through tfc/Tokenizer) it reads and writes text,
// applying a tokenizer_config.json beside a tokenizer.json (BOS/EOS) as
// transformers does for generation; --encode / --decode expose the tokenizer
// alone for tests. Weights given as a Hugging Face model directory bring the
// rest of that directory: its tokenizer when text is asked for, and its
// generation settings (eos_token_id, decoder_start_token_id, bad_words_ids),
// so decoder-only, encoder-decoder (--source) and encoder (--embed) models
// run from the directory alone.
//
// Output contract (what tests rely on):
//   stdout  ids mode: prompt ids then generated ids, space-separated, one line
//           text mode (--tokenizer): the prompt text then the generated text,
//           streamed as produced, then a newline
//           encoder-only models: `hidden states: N x D`, then one line per
//           token with its first values; with --embed the sentence
//           embedding instead, its D values on one line
//   stderr  the timing line `prefill: X tok/s, decode: Y tok/s` (prefixed by
//           `encode: Z tok/s, ` when an encoder ran), with --memory the lines
//           `weights: +A KiB anonymous, F KiB file mapped` and (decoders)
//           `session: +S KiB anonymous after P positions` before it, and
//           errors, each one line `tfc-run: error: ...` with exit status 1
//
//===----------------------------------------------------------------------===//
#include "tfc/Runner/ModelDirectory.h"
#include "tfc/Runner/ModelLibrary.h"
#include "tfc/Runner/Sampler.h"
#include "tfc/Runner/ToolSupport.h"

#include "tfc/Tokenizer/Tokenizer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
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
using tfc::tokenizer::Tokenizer;
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
cl::opt<std::string> tokenizerPath(
    "tokenizer",
    cl::desc("tokenizer.json, llama2.c tokenizer.bin or .gguf: text in and out (default for "
             "text: the one in the --weights model directory)"),
    cl::value_desc("file"), cl::cat(runCategory));
cl::opt<std::string> promptOpt("prompt",
                               cl::desc("Prompt text (needs a tokenizer: --tokenizer or the "
                                        "model directory's)"),
                               cl::value_desc("text"), cl::cat(runCategory));
cl::opt<std::string> sourceOpt(
    "source",
    cl::desc("Encoder-decoder models: the text to encode (decoding starts from the "
             "directory's decoder_start_token_id unless --tokens or --prompt is given)"),
    cl::value_desc("text"), cl::cat(runCategory));
cl::opt<bool> embedOpt("embed",
                       cl::desc("Encoder models: print the sentence embedding (mean over the "
                                "tokens, L2-normalized) instead of the hidden states"),
                       cl::cat(runCategory));
cl::opt<std::string> encodeOpt("encode",
                               cl::desc("Print the ids of a text and exit (no model needed)"),
                               cl::value_desc("text"), cl::cat(runCategory));
cl::opt<std::string> decodeOpt(
    "decode", cl::desc("Print the text of ids ('-' reads them from stdin) and exit"),
    cl::value_desc("1,2,3"), cl::cat(runCategory));

cl::opt<std::string> attentionMapsOpt(
    "attention-maps",
    cl::desc("Write the attention probabilities of the prompt to DIR instead of generating: "
             "DIR/layer{L}_head{H}.npy (float32 [n, n], row i the query at position i) and "
             "DIR/tokens.json (ids and token texts); the model must be compiled with tfc "
             "--emit-attention (encoder-decoder models: the encoder's, of --source)"),
    cl::value_desc("DIR"), cl::cat(runCategory));

cl::opt<bool> memoryOpt("memory",
                        cl::desc("Report on stderr what the weights take in memory (the "
                                 "anonymous memory their loading added and the file mapping "
                                 "it kept) and what the session added by the end of the run "
                                 "(Linux)"),
                        cl::cat(runCategory));

cl::opt<std::string> dumpLogitsOpt(
    "dump-logits",
    cl::desc("Write the logits of every step (the prompt's last token, then each generated "
             "one) to FILE: float32, little-endian, vocab_size per step; for an encoder, the "
             "hidden states (dim per token)"),
    cl::value_desc("FILE"), cl::cat(runCategory));

/// The MPI rank of this process when it runs under mpirun (a model compiled
/// with --tensor-parallel), else 0. Rank 0 does the I/O: the others run the
/// same steps silently. Read from the launcher's environment, so that tfc-run
/// itself needs no MPI.
int mpiRank() {
  for (const char *name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"})
    if (const char *value = std::getenv(name))
      return std::atoi(value);
  return 0;
}

/// Whether stdout holds an unfinished line of ids or text, which an error
/// must end first so that the output stays line-oriented.
bool stdoutLineOpen = false;

bool given(const cl::Option &opt) { return opt.getNumOccurrences() > 0; }

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Appends one step's logits to the --dump-logits file.
llvm::Error dumpLogits(std::FILE *file, const std::vector<float> &logits) {
  if (!file)
    return llvm::Error::success();
  static_assert(sizeof(float) == 4, "float32");
  // x86-64 and AArch64 Linux are little-endian: the floats are written as they are.
  if (std::fwrite(logits.data(), sizeof(float), logits.size(), file) != logits.size())
    return makeError("cannot write '" + llvm::Twine(dumpLogitsOpt) + "'");
  return llvm::Error::success();
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
/// safetensors files beside it (the shards). With `resident`, only the pages
/// of those mappings in memory (a rank of a tensor-parallel model touches its
/// shards' pages only).
int64_t mappedKiB(const std::string &path, bool resident = false) {
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
  std::ifstream maps(resident ? "/proc/self/smaps" : "/proc/self/maps");
  std::string line;
  int64_t bytes = 0;
  bool inWeights = false;
  while (std::getline(maps, line)) {
    llvm::StringRef rest(line);
    // smaps: "Rss:   123 kB" lines after each mapping's header line.
    if (resident && rest.contains(':') && !rest.split(' ').first.contains('-')) {
      int64_t kib;
      if (inWeights && rest.consume_front("Rss:") && !rest.trim().split(' ').first.getAsInteger(10, kib))
        bytes += kib * 1024;
      continue;
    }
    // start-end perms offset dev inode path
    auto [range, fields] = rest.split(' ');
    for (int i = 0; i < 4; ++i)
      fields = fields.ltrim().split(' ').second;
    inWeights = isWeights(fields.trim());
    if (!inWeights || resident)
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
  /// The Hugging Face directory the weights come from, if they do.
  std::optional<ModelDirectory> directory;
  /// The tokenizer and the file it came from (--tokenizer, or the directory's
  /// when the run has text to encode).
  std::optional<Tokenizer> tokenizer;
  std::string tokenizerFile;
  /// The decoder prompt is decoder_start_token_id alone, not the user's (it
  /// is not echoed as text).
  bool implicitDecoderStart = false;
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
  auto tok = loadGenerationTokenizer(tokenizerPath);
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

  if (given(promptOpt) && given(tokensOpt))
    return makeError("--prompt and --tokens cannot be combined");
  if (given(sourceOpt) && given(encoderTokensOpt))
    return makeError("--source and --encoder-tokens cannot be combined");
  if (given(weightsPath)) {
    auto directory = ModelDirectory::forWeights(weightsPath);
    if (!directory)
      return directory.takeError();
    run.directory = std::move(*directory);
  }
  bool weightsBringTokenizer =
      run.directory || llvm::StringRef(weightsPath).ends_with_insensitive(".gguf");
  for (const cl::opt<std::string> *text : {&promptOpt, &sourceOpt})
    if (given(*text) && !given(tokenizerPath) && !weightsBringTokenizer)
      return makeError("--" + text->ArgStr + " needs --tokenizer (or --weights a Hugging Face "
                       "model directory that has a tokenizer, or a .gguf file)");
  if (given(tokensOpt)) {
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

/// Loads the tokenizer of the run: --tokenizer always (text mode), else the
/// model directory's when there is text to encode, then encodes that text.
llvm::Error loadTextInput(RunOptions &run, int32_t vocabSize) {
  bool hasText = given(promptOpt) || given(sourceOpt);
  if (given(tokenizerPath)) {
    run.tokenizerFile = tokenizerPath;
  } else if (hasText) {
    run.tokenizerFile = tokenizerForWeights(weightsPath, run.directory, vocabSize);
    if (run.tokenizerFile.empty())
      return makeError("no tokenizer in model directory '" + run.directory->path +
                       "' (tokenizer.json, tokenizer.bin or tok" + llvm::Twine(vocabSize) +
                       ".bin): give --tokenizer FILE");
  }
  if (run.tokenizerFile.empty())
    return llvm::Error::success();
  auto tok = loadGenerationTokenizer(run.tokenizerFile);
  if (!tok)
    return tok.takeError();
  run.tokenizer.emplace(std::move(*tok));
  if (given(promptOpt)) {
    auto ids = run.tokenizer->encode(promptOpt);
    if (!ids)
      return ids.takeError();
    run.prompt = std::move(*ids);
  }
  if (given(sourceOpt)) {
    auto ids = run.tokenizer->encode(sourceOpt);
    if (!ids)
      return ids.takeError();
    run.encoderPrompt = std::move(*ids);
  }
  return llvm::Error::success();
}

/// The generation settings of the run: the model directory's, else none.
GenerationSettings generationSettings(const RunOptions &run) {
  return run.directory ? run.directory->generation : GenerationSettings{};
}

/// Starts an encoder-decoder's decoder from decoder_start_token_id when the
/// user gave no decoder prompt, as generate() does.
llvm::Error startDecoder(RunOptions &run, llvm::StringRef name) {
  if (!run.prompt.empty())
    return llvm::Error::success();
  std::optional<int32_t> start = generationSettings(run).decoderStartId;
  if (!start)
    return makeError("model '" + name +
                     "' is an encoder-decoder: give the decoder prompt (--tokens or --prompt), "
                     "or --weights a model directory whose generation settings have "
                     "decoder_start_token_id");
  run.prompt = {*start};
  run.implicitDecoderStart = true;
  return llvm::Error::success();
}

/// The sentence embedding of sentence-transformers' default pipeline: the
/// mean of the token rows (Pooling, mode "mean", every token attended),
/// divided by its L2 norm (Normalize: F.normalize, eps 1e-12).
std::vector<double> sentenceEmbedding(llvm::ArrayRef<float> hidden, int64_t tokens, int32_t dim) {
  std::vector<double> mean(dim, 0.0);
  for (int64_t t = 0; t < tokens; ++t)
    for (int32_t i = 0; i < dim; ++i)
      mean[i] += hidden[t * dim + i];
  double norm = 0.0;
  for (double &v : mean) {
    v /= static_cast<double>(tokens);
    norm += v * v;
  }
  norm = std::max(std::sqrt(norm), 1e-12);
  for (double &v : mean)
    v /= norm;
  return mean;
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

/// The run's weights into `loaded.model`: --random-weights or --weights.
llvm::Error loadWeights(const ModelLibrary &lib, const RunOptions &run, Loaded &loaded) {
  loaded.model = run.randomSeed ? lib.modelRandom(*run.randomSeed)
                                : lib.modelLoad(weightsPath.c_str());
  if (loaded.model)
    return llvm::Error::success();
  return run.randomSeed
             ? makeError("cannot create random weights: " + llvm::Twine(lib.errorText()))
             : makeError("cannot load weights '" + weightsPath + "': " + lib.errorText());
}

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

/// A float32 .npy file (format version 1.0) of a row-major [rows, cols] array:
/// the magic, the header length, the header dict padded with spaces to a
/// multiple of 64 bytes and ended by a newline, then the little-endian data.
llvm::Error writeNpy(const std::string &path, const float *data, int64_t rows, int64_t cols) {
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
                                   rows, cols);
  const size_t preamble = 10; // magic (6), version (2), header length (2)
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header.push_back('\n');
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (ec)
    return makeError("cannot write '" + path + "': " + ec.message());
  out << "\x93NUMPY" << '\x01' << '\x00';
  out << static_cast<char>(header.size() & 0xff) << static_cast<char>(header.size() >> 8);
  out << header;
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, ".npy '<f4' is little-endian");
  out.write(reinterpret_cast<const char *>(data), size_t(rows * cols) * sizeof(float));
  out.close();
  if (out.has_error())
    return makeError("cannot write '" + path + "': " + out.error().message());
  return llvm::Error::success();
}

/// --attention-maps DIR: one .npy per attention layer and head, and the
/// tokens they are over (ids; the tokenizer's piece and decoded text of each
/// id, or the id when there is no tokenizer).
llvm::Error writeAttentionMaps(const ModelLibrary &lib, const tfc_model *model,
                               llvm::ArrayRef<int32_t> ids, const Tokenizer *tok) {
  const int32_t n = static_cast<int32_t>(ids.size());
  int64_t dims[4];
  if (lib.attentionMapsShape(n, dims) != 4)
    return makeError(lib.errorText());
  std::vector<float> maps(size_t(dims[0] * dims[1] * dims[2] * dims[3]));
  if (lib.attentionMaps(model, ids.data(), n, maps.data()) != 0)
    return makeError("tfc_attention_maps failed: " + llvm::Twine(lib.errorText()));
  std::string dir = attentionMapsOpt;
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return makeError("cannot create directory '" + dir + "': " + ec.message());
  const int64_t square = int64_t(n) * n;
  for (int64_t l = 0; l < dims[0]; ++l)
    for (int64_t h = 0; h < dims[1]; ++h) {
      llvm::SmallString<128> path(dir);
      llvm::sys::path::append(path, fmt::format("layer{}_head{}.npy", l, h));
      if (llvm::Error err =
              writeNpy(std::string(path), maps.data() + (l * dims[1] + h) * square, n, n))
        return err;
    }
  llvm::json::Array idArray, pieces, texts;
  for (int32_t id : ids) {
    idArray.push_back(id);
    std::optional<std::string> piece = tok ? tok->idToToken(id) : std::nullopt;
    pieces.push_back(piece ? *piece : std::to_string(id));
    std::string text = std::to_string(id);
    if (tok) {
      auto decoded = tok->decode({id});
      if (!decoded)
        return decoded.takeError();
      text = *decoded;
    }
    texts.push_back(std::move(text));
  }
  llvm::SmallString<128> path(dir);
  llvm::sys::path::append(path, "tokens.json");
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (ec)
    return makeError("cannot write '" + path + "': " + ec.message());
  out << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{
                                    {"ids", std::move(idArray)},
                                    {"tokens", std::move(pieces)},
                                    {"text", std::move(texts)},
                                    {"layers", dims[0]},
                                    {"heads", dims[1]}}))
      << "\n";
  fmt::print(stderr, "attention maps: {} layers x {} heads of {} x {} written to {}\n", dims[0],
             dims[1], n, n, dir);
  return llvm::Error::success();
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
  for (const cl::opt<std::string> *encoderInput : {&encoderTokensOpt, &sourceOpt})
    if (given(*encoderInput) && !encoderDecoder)
      return makeError("--" + encoderInput->ArgStr + " needs an encoder-decoder model; '" + name +
                       "' has " + (info.has_encoder ? "no decoder" : "no encoder"));
  if (embedOpt && !encoderOnly)
    return makeError("--embed needs an encoder model; '" + name + "' has a decoder");
  if (llvm::Error err = loadTextInput(run, info.vocab_size))
    return err;
  if (encoderDecoder && run.encoderPrompt.empty())
    return makeError("model '" + name +
                     "' is an encoder-decoder: give --encoder-tokens 1,2,3 or --source TEXT");
  // Attention maps: of the prompt (an encoder-decoder's: of its encoder's
  // input), without a session.
  if (given(attentionMapsOpt)) {
    llvm::ArrayRef<int32_t> ids = encoderDecoder ? run.encoderPrompt : run.prompt;
    if (ids.empty())
      return makeError("no prompt: give --tokens 1,2,3 or --tokenizer FILE --prompt TEXT");
    if (llvm::Error err = checkIds(ids,
                                   encoderDecoder ? (given(sourceOpt) ? "the source"
                                                                      : "--encoder-tokens")
                                   : given(promptOpt) ? "the prompt"
                                                      : "--tokens",
                                   info.vocab_size))
      return err;
    if (static_cast<int64_t>(ids.size()) > info.max_seq)
      return makeError("the prompt has " + llvm::Twine(ids.size()) + " tokens, more than max_seq (" +
                       llvm::Twine(info.max_seq) + ") of model '" + name + "'");
    Loaded loaded(lib);
    if (llvm::Error err = loadWeights(lib, run, loaded))
      return err;
    return writeAttentionMaps(lib, loaded.model, ids,
                              run.tokenizer ? &*run.tokenizer : nullptr);
  }

  if (encoderDecoder)
    if (llvm::Error err = startDecoder(run, name))
      return err;
  if (run.prompt.empty())
    return makeError("no prompt: give --tokens 1,2,3 or --tokenizer FILE --prompt TEXT");
  if (run.tokenizer && run.tokenizer->vocabSize() > info.vocab_size)
    return makeError("tokenizer '" + run.tokenizerFile + "' has " +
                     llvm::Twine(run.tokenizer->vocabSize()) + " pieces, more than the vocab_size (" +
                     llvm::Twine(info.vocab_size) + ") of model '" + name + "'");
  llvm::StringRef promptName = run.implicitDecoderStart ? "decoder_start_token_id"
                               : given(promptOpt)        ? "the prompt"
                                                         : "--tokens";
  if (llvm::Error err = checkIds(run.prompt, promptName, info.vocab_size))
    return err;
  if (llvm::Error err = checkIds(run.encoderPrompt,
                                 given(sourceOpt) ? "the source" : "--encoder-tokens",
                                 info.vocab_size))
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
  if (llvm::Error err = loadWeights(lib, run, loaded))
    return err;
  if (memoryOpt)
    fmt::print(stderr, "weights: +{} KiB anonymous, {} KiB file mapped\n",
               anonymousKiB() - anonymousBefore,
               run.randomSeed ? 0 : mappedKiB(weightsPath));
  int64_t anonymousBeforeSession = memoryOpt ? anonymousKiB() : 0;
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
    if (given(dumpLogitsOpt) && mpiRank() == 0) {
      std::unique_ptr<std::FILE, int (*)(std::FILE *)> file(
          std::fopen(dumpLogitsOpt.c_str(), "wb"), &std::fclose);
      if (!file)
        return makeError("cannot open '" + llvm::Twine(dumpLogitsOpt) + "' for writing");
      if (llvm::Error e = dumpLogits(file.get(), hidden))
        return e;
    }
    if (embedOpt) {
      fmt::print("{:.8g}\n", fmt::join(sentenceEmbedding(hidden, promptLen, info.dim), " "));
      std::fflush(stdout);
      fmt::print(stderr, "encode: {:.1f} tok/s\n", perSecond(promptLen, elapsed));
      return llvm::Error::success();
    }
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
  std::optional<tokenizer::DecodeStream> stream;
  stdoutLineOpen = true;
  if (tok) {
    stream.emplace(*tok);
    for (int32_t id : run.implicitDecoderStart ? llvm::ArrayRef<int32_t>()
                                               : llvm::ArrayRef<int32_t>(run.prompt)) {
      if (id >= tok->vocabSize())
        continue;
      auto text = stream->step(id);
      if (!text)
        return text.takeError();
      printPiece(*text);
    }
  } else {
    fmt::print("{}", fmt::join(run.prompt, " "));
    std::fflush(stdout);
  }

  // A tensor-parallel model's logits need reach only the rank that samples
  // (a library without tfc_logits_rank gathers them on every rank, and every
  // rank samples alike).
  auto [rank, ranks] = lib.rank();
  const bool rankZeroSamples = ranks > 1 && lib.logitsRank && lib.broadcast;
  if (rankZeroSamples && lib.logitsRank(0) != 0)
    return makeError("tfc_logits_rank failed: " + llvm::Twine(lib.errorText()));
  std::vector<float> logits(info.vocab_size);
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> dumpFile(nullptr, &std::fclose);
  if (given(dumpLogitsOpt) && mpiRank() == 0) {
    dumpFile.reset(std::fopen(dumpLogitsOpt.c_str(), "wb"));
    if (!dumpFile)
      return makeError("cannot open '" + llvm::Twine(dumpLogitsOpt) + "' for writing");
  }
  auto prefillStart = Clock::now();
  if (lib.decode(loaded.session, run.prompt.data(), static_cast<int32_t>(promptLen),
                 logits.data(), /*all_logits=*/0) != 0)
    return makeError("tfc_decode of the prompt failed: " + llvm::Twine(lib.errorText()));
  auto prefillTime = Clock::now() - prefillStart;
  if (llvm::Error e = dumpLogits(dumpFile.get(), logits))
    return e;

  GenerationSettings generation = generationSettings(run);
  for (int32_t id : generation.bannedIds)
    if (id >= info.vocab_size)
      return makeError(generation.source + ": field 'bad_words_ids': token id " +
                       llvm::Twine(id) + " is out of range for the model's vocab_size (" +
                       llvm::Twine(info.vocab_size) + ")");
  auto isEos = [&](int32_t id) { return llvm::is_contained(generation.eosIds, id); };
  Sampler sampler(run.sampler);
  RepeatDetector repeats(run.stopOnRepeat);
  // Step i's token from its logits, shown; none when generation stops there.
  auto chooseNext = [&](int32_t i) -> llvm::Expected<std::optional<int32_t>> {
    for (int32_t id : generation.bannedIds)
      logits[id] = -INFINITY;
    int32_t next = sampler.sample(logits);
    if (next < 0)
      return makeError("the model produced no valid logit (all NaN) at position " +
                       llvm::Twine(promptLen + i));
    if (tok) {
      if (next == tok->bosId() || next == tok->eosId() || isEos(next))
        return std::nullopt;
      if (next >= tok->vocabSize())
        return makeError("the model generated id " + llvm::Twine(next) +
                         ", beyond the tokenizer's " + llvm::Twine(tok->vocabSize()) + " pieces");
      auto text = stream->step(next);
      if (!text)
        return text.takeError();
      printPiece(*text);
    } else {
      fmt::print(" {}", next);
      std::fflush(stdout);
    }
    // generate() returns the eos id with the ids and stops after it.
    if (i + 1 == run.numTokens || isEos(next) || repeats.push(next))
      return std::nullopt;
    return next;
  };
  Clock::duration decodeTime{};
  int64_t decodeSteps = 0;
  for (int32_t i = 0; i < run.numTokens; ++i) {
    // Under mpirun only rank 0 has the logits (tfc_logits_rank) and samples;
    // it sends every rank the token to decode next, or -1 to stop (also when
    // it failed: it reports the error, the others end quietly).
    llvm::Expected<std::optional<int32_t>> chosen = std::optional<int32_t>();
    if (!rankZeroSamples || rank == 0)
      chosen = chooseNext(i);
    if (rankZeroSamples) {
      int32_t token = chosen && *chosen ? **chosen : -1;
      if (lib.broadcast(&token, sizeof token) != 0) {
        llvm::consumeError(chosen.takeError());
        return makeError("tfc_broadcast failed: " + llvm::Twine(lib.errorText()));
      }
      if (rank != 0)
        chosen = token >= 0 ? std::optional<int32_t>(token) : std::nullopt;
    }
    if (!chosen)
      return chosen.takeError();
    if (!*chosen)
      break;
    int32_t next = **chosen;
    auto start = Clock::now();
    if (lib.decode(loaded.session, &next, 1, logits.data(), /*all_logits=*/0) != 0)
      return makeError("tfc_decode failed at position " + llvm::Twine(promptLen + i) + ": " +
                       lib.errorText());
    decodeTime += Clock::now() - start;
    if (llvm::Error e = dumpLogits(dumpFile.get(), logits))
      return e;
    ++decodeSteps;
  }
  fmt::print("\n");
  std::fflush(stdout);
  stdoutLineOpen = false;
  // What the KV caches, activations and outputs of the session hold once the
  // run touched them (a rolling cache stays at its window however long the run).
  if (memoryOpt) {
    fmt::print(stderr, "session: +{} KiB anonymous after {} positions\n",
               anonymousKiB() - anonymousBeforeSession, lib.sessionPos(loaded.session));
    if (!run.randomSeed)
      fmt::print(stderr, "resident: {} KiB of the weights file after the run\n",
                 mappedKiB(weightsPath, /*resident=*/true));
  }
  if (mpiRank() == 0)
    fmt::print(stderr, "{}prefill: {:.1f} tok/s, decode: {:.1f} tok/s\n", encodeTiming,
               perSecond(promptLen, prefillTime), perSecond(decodeSteps, decodeTime));
  return llvm::Error::success();
}

bool parseCommandLine(int argc, char **argv) {
  const char *overview =
      "tfc-run: run a tfc-compiled model.so\n\n"
      "  tfc-run MODEL.so (--weights FILE | --random-weights SEED) --tokens 1,2,3 -n N\n"
      "  tfc-run MODEL.so ... --tokenizer TOKENIZER --prompt \"text\" -n N\n"
      "  tfc-run MODEL.so --weights HF_DIR --prompt \"text\" -n N    (the directory's tokenizer)\n"
      "  tfc-run MODEL.so --weights HF_DIR --source \"text\" -n N    (encoder-decoder)\n"
      "  tfc-run MODEL.so --weights HF_DIR --prompt \"text\" --embed (encoder)\n"
      "  tfc-run MODEL.so --weights W --prompt \"text\" --attention-maps DIR  (tfc --emit-attention)\n"
      "  tfc-run --tokenizer TOKENIZER (--encode \"text\" | --decode 1,2,3)\n\n"
      "TOKENIZER: tokenizer.json, llama2.c tokenizer.bin or .gguf.\n"
      "Generated ids or text go to stdout; the timing line and errors to stderr.\n";
  return parseToolCommandLine(argc, argv, "tfc-run", overview, runCategory);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  if (!parseCommandLine(argc, argv))
    return 1;
  // Under mpirun, the ranks other than 0 compute silently: one copy of the
  // output (errors still go to every rank's stderr).
  if (mpiRank() != 0 && !std::freopen("/dev/null", "w", stdout))
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
