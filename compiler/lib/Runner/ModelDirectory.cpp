//===- ModelDirectory.cpp - What a model directory tells the tools --------===//
//
// transformers takes a model's generation settings from generation_config.json
// when the directory has one and derives them from config.json otherwise
// (GenerationConfig.from_model_config); the same choice is made here, file by
// file rather than field by field, so a field the generation config leaves
// out is unset, as it is for transformers.
//
//===----------------------------------------------------------------------===//
#include "tfc/Runner/ModelDirectory.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace tfc;

namespace {

llvm::Error fieldError(llvm::StringRef file, llvm::StringRef field, llvm::StringRef expected) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 file + ": field '" + field + "': expected " + expected);
}

std::string inDirectory(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

/// A token id: a JSON integer in [0, 2^31).
std::optional<int32_t> tokenId(const llvm::json::Value &value) {
  std::optional<int64_t> id = value.getAsInteger();
  if (!id || *id < 0 || *id > INT32_MAX)
    return std::nullopt;
  return static_cast<int32_t>(*id);
}

/// `field` as a token id or a list of them (eos_token_id may be either);
/// absent or null gives an empty list.
llvm::Expected<std::vector<int32_t>> readIds(const llvm::json::Object &object,
                                             llvm::StringRef file, llvm::StringRef field) {
  std::vector<int32_t> ids;
  const llvm::json::Value *value = object.get(field);
  if (!value || value->kind() == llvm::json::Value::Null)
    return ids;
  if (std::optional<int32_t> id = tokenId(*value)) {
    ids.push_back(*id);
    return ids;
  }
  const llvm::json::Array *list = value->getAsArray();
  if (!list)
    return fieldError(file, field, "a token id or a list of token ids");
  for (const llvm::json::Value &item : *list) {
    std::optional<int32_t> id = tokenId(item);
    if (!id)
      return fieldError(file, field, "a token id or a list of token ids");
    ids.push_back(*id);
  }
  return ids;
}

/// The one-token entries of bad_words_ids (a list of id lists); longer
/// sequences would need the n-gram matching of NoBadWordsLogitsProcessor,
/// which no model the importer takes relies on, and are refused.
llvm::Expected<std::vector<int32_t>> readBannedIds(const llvm::json::Object &object,
                                                   llvm::StringRef file) {
  std::vector<int32_t> ids;
  const llvm::json::Value *value = object.get("bad_words_ids");
  if (!value || value->kind() == llvm::json::Value::Null)
    return ids;
  const llvm::json::Array *lists = value->getAsArray();
  if (!lists)
    return fieldError(file, "bad_words_ids", "a list of token id lists");
  for (const llvm::json::Value &entry : *lists) {
    const llvm::json::Array *words = entry.getAsArray();
    if (!words)
      return fieldError(file, "bad_words_ids", "a list of token id lists");
    if (words->size() != 1)
      return fieldError(file, "bad_words_ids",
                        "single-token entries (longer banned sequences are not supported)");
    std::optional<int32_t> id = tokenId((*words)[0]);
    if (!id)
      return fieldError(file, "bad_words_ids", "a list of token id lists");
    ids.push_back(*id);
  }
  return ids;
}

llvm::Expected<GenerationSettings> readGenerationSettings(const std::string &file) {
  auto buffer = llvm::MemoryBuffer::getFile(file);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   "cannot read " + file + ": " + buffer.getError().message());
  return parseGenerationSettings((*buffer)->getBuffer(), file);
}

} // namespace

llvm::Expected<GenerationSettings> tfc::parseGenerationSettings(llvm::StringRef text,
                                                                llvm::StringRef file) {
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(text);
  if (!json)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   file + ": invalid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *object = json->getAsObject();
  if (!object)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   file + ": expected a JSON object");
  GenerationSettings settings;
  settings.source = file.str();
  auto eos = readIds(*object, file, "eos_token_id");
  if (!eos)
    return eos.takeError();
  settings.eosIds = std::move(*eos);
  auto start = readIds(*object, file, "decoder_start_token_id");
  if (!start)
    return start.takeError();
  if (start->size() > 1)
    return fieldError(file, "decoder_start_token_id", "one token id");
  if (!start->empty())
    settings.decoderStartId = start->front();
  auto banned = readBannedIds(*object, file);
  if (!banned)
    return banned.takeError();
  settings.bannedIds = std::move(*banned);
  return settings;
}

llvm::Expected<std::optional<ModelDirectory>>
ModelDirectory::forWeights(llvm::StringRef weightsPath) {
  std::string dir = llvm::sys::fs::is_directory(weightsPath)
                        ? weightsPath.str()
                        : llvm::sys::path::parent_path(weightsPath).str();
  if (dir.empty())
    dir = ".";
  std::string config = inDirectory(dir, "config.json");
  if (!llvm::sys::fs::exists(config))
    return std::nullopt;
  std::string generation = inDirectory(dir, "generation_config.json");
  auto settings =
      readGenerationSettings(llvm::sys::fs::exists(generation) ? generation : config);
  if (!settings)
    return settings.takeError();
  return ModelDirectory{dir, std::move(*settings)};
}

std::string ModelDirectory::tokenizerPath(int32_t vocabSize) const {
  for (std::string name :
       {std::string("tokenizer.json"), std::string("tokenizer.bin"),
        "tok" + std::to_string(vocabSize) + ".bin"}) {
    std::string file = inDirectory(path, name);
    if (llvm::sys::fs::exists(file))
      return file;
  }
  return "";
}

std::string tfc::tokenizerForWeights(llvm::StringRef weightsPath,
                                     const std::optional<ModelDirectory> &directory,
                                     int32_t vocabSize) {
  if (directory) {
    std::string file = directory->tokenizerPath(vocabSize);
    if (!file.empty())
      return file;
  }
  if (weightsPath.ends_with_insensitive(".gguf") && !llvm::sys::fs::is_directory(weightsPath))
    return weightsPath.str();
  return "";
}
