//===- tfc-tokenize.cpp - Text to token ids and back ----------------------===//
//
// `tfc-tokenize TOKENIZER [--no-special] [--decode]` (SPEC §6). TOKENIZER is a
// Hugging Face tokenizer.json, a llama2.c tokenizer.bin or a .gguf file.
// Encoding reads all of stdin as UTF-8 and prints the ids on one line,
// separated by single spaces, with the post-processor's special tokens
// unless --no-special (Hugging Face `encode(text, add_special_tokens)`).
// --decode reads whitespace-separated ids and prints their text as the
// `tokenizers` library's `decode(ids, skip_special_tokens=False)`, with no
// newline added. The tokenizer.json alone is followed: a
// tokenizer_config.json beside it is ignored. Errors: one line
// `tfc-tokenize: error: ...`, exit status 1.
//
// The hidden --batch mode serves the reference tests: stdin is a JSON array
// of {"encode": text[, "special_only": true]}, {"decode": [ids]} and
// {"stream": [ids]} (a DecodeStream's pieces, concatenated) requests, stdout
// the array of answers ({"ids": with special tokens, "plain": without} or
// {"text": ...},
// {"error": message} on failure), so one process answers a whole corpus.
//
//===----------------------------------------------------------------------===//
#include "tfc/Tokenizer/Tokenizer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("tfc-tokenize options");
cl::opt<std::string> tokenizerPath(cl::Positional, cl::Required,
                                   cl::desc("<tokenizer.json | tokenizer.bin | model.gguf>"),
                                   cl::cat(category));
cl::opt<bool> noSpecial("no-special",
                        cl::desc("Leave out the special tokens the post-processor adds"),
                        cl::cat(category));
cl::opt<bool> decodeMode("decode", cl::desc("Read ids from stdin and print their text"),
                         cl::cat(category));
cl::opt<bool> arraysMode("arrays",
                         cl::desc("TOKENIZER is a JSON object of GGUF-style vocabulary arrays"),
                         cl::Hidden, cl::cat(category));
cl::opt<unsigned> timeRuns("time", cl::desc("Time N encodings of stdin (for bench/)"),
                           cl::init(0), cl::Hidden, cl::cat(category));
cl::opt<bool> batchMode("batch", cl::desc("Answer a JSON array of requests (for tests)"),
                        cl::Hidden, cl::cat(category));

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Expected<std::vector<int32_t>> parseIds(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> words;
  text.split(words, ' ', -1, /*KeepEmpty=*/false);
  std::vector<int32_t> ids;
  for (llvm::StringRef chunk : words) {
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::SplitString(chunk, parts, " \t\r\n\v\f");
    for (llvm::StringRef word : parts) {
      uint32_t id;
      if (word.getAsInteger(10, id) || id > INT32_MAX)
        return makeError("'" + word + "' is not a token id (a non-negative integer)");
      ids.push_back(static_cast<int32_t>(id));
    }
  }
  return ids;
}

llvm::Error runBatch(const tfc::tokenizer::Tokenizer &tokenizer, llvm::StringRef input) {
  using json = nlohmann::json;
  json requests = json::parse(input.begin(), input.end(), nullptr, /*allow_exceptions=*/false);
  if (requests.is_discarded() || !requests.is_array())
    return makeError("--batch reads a JSON array of requests");
  json answers = json::array();
  for (const json &request : requests) {
    json answer = json::object();
    auto fail = [&](llvm::Error err) { answer["error"] = llvm::toString(std::move(err)); };
    if (request.is_object() && request.contains("encode") && request["encode"].is_string()) {
      const auto &text = request["encode"].get_ref<const std::string &>();
      auto ids = tokenizer.encode(text, true);
      if (!ids)
        fail(ids.takeError());
      else
        answer["ids"] = *ids;
      auto only = request.find("special_only");
      bool specialOnly = only != request.end() && only->is_boolean() && only->get<bool>();
      if (ids && !specialOnly) {
        auto plain = tokenizer.encode(text, false);
        if (!plain)
          fail(plain.takeError());
        else
          answer["plain"] = *plain;
      }
    } else if (request.is_object() && request.contains("decode") &&
               request["decode"].is_array()) {
      std::vector<int32_t> ids;
      for (const json &id : request["decode"])
        ids.push_back(id.is_number_integer() ? id.get<int32_t>() : -1);
      auto text = tokenizer.decode(ids);
      if (!text)
        fail(text.takeError());
      else
        answer["text"] = *text;
    } else if (request.is_object() && request.contains("stream") &&
               request["stream"].is_array()) {
      // What generation prints: the DecodeStream pieces, concatenated.
      tfc::tokenizer::DecodeStream stream(tokenizer);
      std::string text;
      for (const json &id : request["stream"]) {
        auto piece = stream.step(id.is_number_integer() ? id.get<int32_t>() : -1);
        if (!piece) {
          fail(piece.takeError());
          break;
        }
        text += *piece;
      }
      if (!answer.contains("error"))
        answer["text"] = text;
    } else {
      answer["error"] = "unknown request";
    }
    answers.push_back(std::move(answer));
  }
  std::string out = answers.dump(-1, ' ', false, json::error_handler_t::replace);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return llvm::Error::success();
}

/// The --arrays input: {"model": "llama"|"gpt2"|"bert", "tokens": [...],
/// "scores", "token_type", "merges", "bos_token_id", ..., "add_bos_token",
/// "add_eos_token", "add_space_prefix", and VocabularyArrays' own
/// "split_regexes" and "ignore_merges"}.
llvm::Expected<tfc::tokenizer::Tokenizer> loadArrays(llvm::StringRef path) {
  using json = nlohmann::json;
  using tfc::tokenizer::VocabularyArrays;
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError("cannot open '" + path + "': " + buffer.getError().message());
  json j = json::parse((*buffer)->getBuffer().begin(), (*buffer)->getBuffer().end(), nullptr,
                       /*allow_exceptions=*/false);
  auto bad = [&](const llvm::Twine &what) {
    return makeError("invalid vocabulary arrays '" + path + "': " + what);
  };
  if (j.is_discarded() || !j.is_object())
    return bad("not a JSON object");
  VocabularyArrays v;
  std::string model = j.contains("model") && j["model"].is_string() ? j["model"].get<std::string>() : "";
  if (auto kind = VocabularyArrays::kindOfGgufModel(model))
    v.kind = *kind;
  else
    return bad("model '" + model + "' is none of llama, gpt2, bert");
  auto strings = [&](const char *key, std::vector<std::string> &out) -> bool {
    if (!j.contains(key))
      return true;
    if (!j[key].is_array())
      return false;
    for (const json &e : j[key]) {
      if (!e.is_string())
        return false;
      out.push_back(e.get<std::string>());
    }
    return true;
  };
  auto numbers = [&](const char *key, auto &out) -> bool {
    if (!j.contains(key))
      return true;
    if (!j[key].is_array())
      return false;
    for (const json &e : j[key]) {
      if (!e.is_number())
        return false;
      out.push_back(e.get<typename std::decay_t<decltype(out)>::value_type>());
    }
    return true;
  };
  if (!strings("tokens", v.tokens) || !strings("merges", v.merges) ||
      !numbers("scores", v.scores) || !numbers("token_type", v.tokenTypes))
    return bad("tokens, merges, scores and token_type must be arrays of strings / numbers");
  for (auto [key, out] : {std::pair{"bos_token_id", &v.bosId}, {"eos_token_id", &v.eosId},
                          {"unknown_token_id", &v.unknownId}, {"seperator_token_id", &v.separatorId},
                          {"padding_token_id", &v.paddingId}})
    if (j.contains(key) && j[key].is_number_integer())
      *out = j[key].get<int32_t>();
  for (auto [key, out] : {std::pair{"add_bos_token", &v.addBos}, {"add_eos_token", &v.addEos}})
    if (j.contains(key) && j[key].is_boolean())
      *out = j[key].get<bool>();
  if (!strings("split_regexes", v.splitRegexes))
    return bad("split_regexes must be an array of strings");
  for (auto [key, out] : {std::pair{"ignore_merges", &v.ignoreMerges},
                          {"add_space_prefix", &v.addSpacePrefix}})
    if (j.contains(key) && j[key].is_boolean())
      *out = j[key].get<bool>();
  return tfc::tokenizer::Tokenizer::fromArrays(v, path);
}

llvm::Error run() {
  auto tokenizer = arraysMode ? loadArrays(tokenizerPath)
                              : tfc::tokenizer::Tokenizer::load(tokenizerPath);
  if (!tokenizer)
    return tokenizer.takeError();
  auto input = llvm::MemoryBuffer::getSTDIN();
  if (!input)
    return makeError("cannot read stdin: " + input.getError().message());
  llvm::StringRef text = (*input)->getBuffer();
  if (batchMode)
    return runBatch(*tokenizer, text);
  if (timeRuns > 0) {
    double best = 0;
    size_t count = 0;
    for (unsigned run = 0; run < timeRuns; ++run) {
      // A fresh tokenizer each run: its word cache starts empty, as the
      // reference's does (bench/tokenizer.sh loads it afresh too).
      if (run > 0) {
        auto fresh = tfc::tokenizer::Tokenizer::load(tokenizerPath);
        if (!fresh)
          return fresh.takeError();
        *tokenizer = std::move(*fresh);
      }
      auto start = std::chrono::steady_clock::now();
      auto ids = tokenizer->encode(text, !noSpecial);
      std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      if (!ids)
        return ids.takeError();
      count = ids->size();
      best = run == 0 ? elapsed.count() : std::min(best, elapsed.count());
    }
    fmt::print("bytes={} ids={} seconds={:.6f}\n", text.size(), count, best);
    return llvm::Error::success();
  }
  if (decodeMode) {
    auto ids = parseIds(text);
    if (!ids)
      return ids.takeError();
    auto decoded = tokenizer->decode(*ids);
    if (!decoded)
      return decoded.takeError();
    std::fwrite(decoded->data(), 1, decoded->size(), stdout);
    return llvm::Error::success();
  }
  auto ids = tokenizer->encode(text, !noSpecial);
  if (!ids)
    return ids.takeError();
  fmt::print("{}\n", fmt::join(*ids, " "));
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (!cl::ParseCommandLineOptions(argc, argv,
                                   "tfc-tokenize: text on stdin to token ids, or ids back to text\n",
                                   &os)) {
    // cl's message, one line (it may add a usage hint after it).
    llvm::StringRef first = llvm::StringRef(os.str()).split('\n').first.trim();
    first.consume_front("tfc-tokenize: ");
    fmt::print(stderr, "tfc-tokenize: error: {}\n", first.empty() ? "invalid command line" : first);
    return 1;
  }
  if (llvm::Error err = run()) {
    fmt::print(stderr, "tfc-tokenize: error: {}\n", llvm::toString(std::move(err)));
    return 1;
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}
