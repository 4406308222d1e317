//===- GgufVocabulary.cpp - The tokenizer embedded in a GGUF file ---------===//
//
// GGUF files carry their tokenizer as `tokenizer.ggml.*` metadata: the model
// type (`llama`, `gpt2`, `bert`), the tokens, scores, token types and merges
// arrays, special ids and flags, and for byte-level BPE a pre-tokenizer name
// (`tokenizer.ggml.pre`) standing for the split regexes llama.cpp keeps per
// model family. The file is parsed by the runtime's GGUF reader (libtfcgguf,
// tfc/Gguf.h), which checks every value against the file's bytes; this file
// only turns the metadata into VocabularyArrays, with errors naming the key.
//
//===----------------------------------------------------------------------===//
#include "Formats.h"

#include "tfc/Gguf.h"

namespace tfc::tokenizer {
namespace {

/// The split regexes of the `tokenizer.ggml.pre` names whose tokenizer.json
/// the engine is checked against (the same patterns as those files').
struct PreTokenizerName {
  const char *name;
  std::vector<std::string> regexes; // empty: GPT-2's ByteLevel regex
  bool ignoreMerges;
};

const std::vector<PreTokenizerName> &preTokenizerNames() {
  static const std::string llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const std::string qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const std::vector<PreTokenizerName> names = {
      {"default", {}, false},
      {"gpt-2", {}, false},
      {"llama-bpe", {llama3}, true},
      {"llama3", {llama3}, true},
      {"smaug-bpe", {llama3}, false},
      {"qwen2", {qwen2}, false},
      {"deepseek-v3",
       {R"(\p{N}{1,3})", "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
       false},
  };
  return names;
}

class MetadataReader {
public:
  explicit MetadataReader(const gguf::File &file) : file(file) {}

  const gguf::Value *array(const char *key, gguf::ValueType element, llvm::Error &err) {
    const gguf::Value *value = file.find(key);
    if (!value)
      return nullptr;
    if (value->type != gguf::ValueType::Array || value->elementType != element) {
      err = makeError("GGUF key '" + llvm::Twine(key) + "' is not an array of " +
                      gguf::valueTypeName(element));
      return nullptr;
    }
    return value;
  }
  llvm::Error strings(const char *key, std::vector<std::string> &out) {
    llvm::Error err = llvm::Error::success();
    if (const gguf::Value *value = array(key, gguf::ValueType::String, err))
      for (std::string_view s : value->strings)
        out.emplace_back(s);
    return err;
  }
  template <typename T> llvm::Error numbers(const char *key, gguf::ValueType element,
                                            std::vector<T> &out) {
    llvm::Error err = llvm::Error::success();
    const gguf::Value *value = array(key, element, err);
    for (uint64_t i = 0; value && i < value->count; ++i) {
      double number = 0;
      value->elementToDouble(i, number);
      out.push_back(static_cast<T>(number));
    }
    return err;
  }
  llvm::Error id(const char *key, std::optional<int32_t> &out) {
    const gguf::Value *value = file.find(key);
    if (!value)
      return llvm::Error::success();
    int64_t number;
    if (!value->toInt(number) || number < 0 || number > INT32_MAX)
      return makeError("GGUF key '" + llvm::Twine(key) + "' is not a token id");
    out = static_cast<int32_t>(number);
    return llvm::Error::success();
  }
  llvm::Error flag(const char *key, std::optional<bool> &out) {
    const gguf::Value *value = file.find(key);
    if (!value)
      return llvm::Error::success();
    if (value->type != gguf::ValueType::Bool)
      return makeError("GGUF key '" + llvm::Twine(key) + "' is not a bool");
    out = *value->scalar != 0;
    return llvm::Error::success();
  }

private:
  const gguf::File &file;
};

} // namespace

llvm::Expected<std::unique_ptr<Pipeline>> pipelineFromGguf(llvm::StringRef bytes) {
  gguf::File file;
  if (!file.parse(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size()))
    return makeError("invalid GGUF file: " + llvm::Twine(file.error()));
  std::string_view model;
  if (!file.findString("tokenizer.ggml.model", model))
    return makeError("the GGUF file has no tokenizer (no string tokenizer.ggml.model)");
  VocabularyArrays v;
  if (auto kind = VocabularyArrays::kindOfGgufModel(llvm::StringRef(model.data(), model.size())))
    v.kind = *kind;
  else
    return makeError("unsupported tokenizer.ggml.model '" + llvm::StringRef(model) + "'");

  MetadataReader r(file);
  std::optional<bool> addSpacePrefix;
  auto readAll = [&]() -> llvm::Error {
    if (llvm::Error err = r.strings("tokenizer.ggml.tokens", v.tokens))
      return err;
    if (llvm::Error err = r.strings("tokenizer.ggml.merges", v.merges))
      return err;
    if (llvm::Error err = r.numbers("tokenizer.ggml.scores", gguf::ValueType::Float32, v.scores))
      return err;
    if (llvm::Error err =
            r.numbers("tokenizer.ggml.token_type", gguf::ValueType::Int32, v.tokenTypes))
      return err;
    for (auto [key, id] : {std::pair{"tokenizer.ggml.bos_token_id", &v.bosId},
                           {"tokenizer.ggml.eos_token_id", &v.eosId},
                           {"tokenizer.ggml.unknown_token_id", &v.unknownId},
                           {"tokenizer.ggml.seperator_token_id", &v.separatorId},
                           {"tokenizer.ggml.padding_token_id", &v.paddingId}})
      if (llvm::Error err = r.id(key, *id))
        return err;
    for (auto [key, flag] : {std::pair{"tokenizer.ggml.add_bos_token", &v.addBos},
                             {"tokenizer.ggml.add_eos_token", &v.addEos},
                             {"tokenizer.ggml.add_space_prefix", &addSpacePrefix}})
      if (llvm::Error err = r.flag(key, *flag))
        return err;
    return llvm::Error::success();
  };
  if (llvm::Error err = readAll())
    return std::move(err);
  v.addSpacePrefix = addSpacePrefix.value_or(true);
  if (v.tokens.empty())
    return makeError("the GGUF file has no tokenizer.ggml.tokens");

  if (v.kind == VocabularyArrays::Kind::ByteLevelBpe) {
    std::string_view pre = "default";
    file.findString("tokenizer.ggml.pre", pre);
    const PreTokenizerName *found = nullptr;
    for (const PreTokenizerName &entry : preTokenizerNames())
      if (pre == entry.name)
        found = &entry;
    if (!found)
      return makeError("unsupported tokenizer.ggml.pre '" + llvm::StringRef(pre) + "'");
    v.splitRegexes = found->regexes;
    v.ignoreMerges = found->ignoreMerges;
  }
  return pipelineFromArrays(v);
}

} // namespace tfc::tokenizer
