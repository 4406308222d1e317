//===- Tokenizer.cpp - The tokenizer pipeline and its public face ---------===//
//
// Encoding runs the stages in the Rust library's order (added tokens and
// normalization, pre-tokenization, the model per word, the post-processor);
// decoding maps ids to token strings (added tokens first) and runs the
// decoder chain, or joins with spaces when there is none. load() tells the
// three file formats apart by their first bytes.
//
//===----------------------------------------------------------------------===//
#include "tfc/Tokenizer/Tokenizer.h"

#include "Formats.h"
#include "Pipeline.h"
#include "Unicode.h"

#include "llvm/Support/MemoryBuffer.h"

#include <nlohmann/json.hpp>

namespace tfc::tokenizer {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

//===----------------------------------------------------------------------===//
// Pipeline
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<int32_t>> Pipeline::encode(llvm::StringRef text, bool addSpecial) const {
  if (llvm::Error err = unicode::validate(text))
    return std::move(err);
  std::vector<AddedVocabulary::Segment> segments;
  added.extractAndNormalize(text, normalizer.get(), segments);
  std::vector<int32_t> ids;
  llvm::Error failure = llvm::Error::success();
  auto tokenize = [&](Piece piece) {
    if (failure)
      return; // the first error stands; the rest of the text is not needed
    failure = model->tokenize(piece.text, ids);
  };
  for (AddedVocabulary::Segment &segment : segments) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    Piece piece{std::move(segment.text), segment.atOrigin};
    if (preTokenizer)
      preTokenizer->split(piece, tokenize);
    else
      tokenize(std::move(piece));
    if (failure)
      return std::move(failure);
  }
  if (!addSpecial)
    return ids;
  if (forceBos || forceEos) {
    if (forceBos.value_or(false) && bos)
      ids.insert(ids.begin(), *bos);
    if (forceEos.value_or(false) && eos)
      ids.push_back(*eos);
  } else if (postProcessor) {
    postProcessor->process(ids);
  }
  return ids;
}

const std::string *Pipeline::idToToken(int32_t id) const {
  if (const std::string *content = added.decodedContent(id))
    return content;
  return model->idToToken(id);
}

llvm::Expected<std::string> Pipeline::decode(llvm::ArrayRef<int32_t> ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const std::string *token = idToToken(id);
    if (!token)
      return makeError("token id " + llvm::Twine(id) + " is out of range for a vocabulary of " +
                       llvm::Twine(vocabSize()));
    tokens.push_back(*token);
  }
  if (!decoder) {
    std::string text;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i)
        text += ' ';
      text += tokens[i];
    }
    return text;
  }
  decoder->decodeChain(tokens);
  std::string text;
  for (const std::string &token : tokens)
    text += token;
  return text;
}

int32_t Pipeline::vocabSize() const { return std::max(model->size(), added.maxId() + 1); }

std::optional<int32_t> Pipeline::tokenToId(llvm::StringRef token) const {
  if (auto id = added.tokenToId(token))
    return id;
  return model->tokenToId(token);
}

//===----------------------------------------------------------------------===//
// Tokenizer
//===----------------------------------------------------------------------===//

Tokenizer::Tokenizer(std::unique_ptr<Pipeline> pipeline) : pipeline(std::move(pipeline)) {}
Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;
Tokenizer::~Tokenizer() = default;

static llvm::Expected<Tokenizer> wrap(llvm::Expected<std::unique_ptr<Pipeline>> pipeline,
                                      llvm::StringRef name) {
  if (!pipeline)
    return makeError("invalid tokenizer '" + name + "': " + llvm::toString(pipeline.takeError()));
  return Tokenizer::fromPipeline(std::move(*pipeline));
}

Tokenizer Tokenizer::fromPipeline(std::unique_ptr<Pipeline> pipeline) {
  return Tokenizer(std::move(pipeline));
}

llvm::Expected<Tokenizer> Tokenizer::load(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError("cannot open tokenizer '" + path + "': " + buffer.getError().message());
  return fromBytes((*buffer)->getBuffer(), path);
}

llvm::Expected<Tokenizer> Tokenizer::fromBytes(llvm::StringRef bytes, llvm::StringRef name) {
  if (bytes.starts_with("GGUF"))
    return fromGguf(bytes, name);
  if (bytes.ltrim().starts_with("{"))
    return fromJson(bytes, name);
  return fromLlama2c(bytes, name);
}

llvm::Expected<Tokenizer> Tokenizer::fromGguf(llvm::StringRef bytes, llvm::StringRef name) {
  return wrap(pipelineFromGguf(bytes), name);
}

llvm::Expected<Tokenizer> Tokenizer::fromJson(llvm::StringRef json, llvm::StringRef name) {
  return wrap(pipelineFromJson(json), name);
}

llvm::Expected<Tokenizer> Tokenizer::fromLlama2c(llvm::StringRef bytes, llvm::StringRef name) {
  return wrap(pipelineFromLlama2c(bytes), name);
}

llvm::Expected<Tokenizer> Tokenizer::fromArrays(const VocabularyArrays &vocab,
                                                llvm::StringRef name) {
  return wrap(pipelineFromArrays(vocab), name);
}

llvm::Expected<std::vector<int32_t>> Tokenizer::encode(llvm::StringRef text,
                                                       bool addSpecial) const {
  return pipeline->encode(text, addSpecial);
}

llvm::Expected<std::string> Tokenizer::decode(llvm::ArrayRef<int32_t> ids) const {
  return pipeline->decode(ids);
}

int32_t Tokenizer::vocabSize() const { return pipeline->vocabSize(); }

std::optional<std::string> Tokenizer::idToToken(int32_t id) const {
  if (const std::string *token = pipeline->idToToken(id))
    return *token;
  return std::nullopt;
}

std::optional<int32_t> Tokenizer::tokenToId(llvm::StringRef token) const {
  return pipeline->tokenToId(token);
}

std::optional<int32_t> Tokenizer::bosId() const { return pipeline->bos; }
std::optional<int32_t> Tokenizer::eosId() const { return pipeline->eos; }

llvm::Error Tokenizer::applyGenerationConfig(const GenerationConfig &config) {
  auto idOf = [&](const std::string &token) -> llvm::Expected<int32_t> {
    auto id = pipeline->tokenToId(token);
    if (!id)
      return makeError("tokenizer_config.json names token '" + token +
                       "', which is not in the vocabulary");
    return *id;
  };
  if (config.bosToken) {
    auto id = idOf(*config.bosToken);
    if (!id)
      return id.takeError();
    pipeline->bos = *id;
  }
  if (config.eosToken) {
    auto id = idOf(*config.eosToken);
    if (!id)
      return id.takeError();
    pipeline->eos = *id;
  }
  if (config.addBos || config.addEos) {
    // LlamaTokenizerFast's defaults for the one that is not given.
    pipeline->forceBos = config.addBos.value_or(true);
    pipeline->forceEos = config.addEos.value_or(false);
  }
  return llvm::Error::success();
}

llvm::Expected<GenerationConfig> readGenerationConfig(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError("cannot open '" + path + "': " + buffer.getError().message());
  nlohmann::json json = nlohmann::json::parse((*buffer)->getBuffer().begin(),
                                              (*buffer)->getBuffer().end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object())
    return makeError("invalid tokenizer config '" + path + "': not a JSON object");
  GenerationConfig config;
  auto readBool = [&](const char *key, std::optional<bool> &out) -> llvm::Error {
    auto it = json.find(key);
    if (it == json.end() || it->is_null())
      return llvm::Error::success();
    if (!it->is_boolean())
      return makeError("invalid tokenizer config '" + path + "': field '" + key +
                       "' is not a boolean");
    out = it->get<bool>();
    return llvm::Error::success();
  };
  auto readToken = [&](const char *key, std::optional<std::string> &out) -> llvm::Error {
    auto it = json.find(key);
    if (it == json.end() || it->is_null())
      return llvm::Error::success();
    if (it->is_string()) {
      out = it->get<std::string>();
      return llvm::Error::success();
    }
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
      out = (*it)["content"].get<std::string>();
      return llvm::Error::success();
    }
    return makeError("invalid tokenizer config '" + path + "': field '" + key +
                     "' is neither a string nor an object with 'content'");
  };
  if (llvm::Error err = readBool("add_bos_token", config.addBos))
    return std::move(err);
  if (llvm::Error err = readBool("add_eos_token", config.addEos))
    return std::move(err);
  if (llvm::Error err = readToken("bos_token", config.bosToken))
    return std::move(err);
  if (llvm::Error err = readToken("eos_token", config.eosToken))
    return std::move(err);
  return config;
}

//===----------------------------------------------------------------------===//
// DecodeStream
//===----------------------------------------------------------------------===//

llvm::Expected<std::string> DecodeStream::step(int32_t id) {
  // The Rust library's step_decode_stream: `ids` holds the ids of the last
  // piece returned (whose text is `prefix`, the context the next ids are
  // decoded after) followed by the ids not returned yet.
  constexpr llvm::StringLiteral kReplacement = "\xEF\xBF\xBD";
  if (prefix.empty() && !ids.empty()) {
    auto text = tokenizer.decode(ids);
    if (!text)
      return text.takeError();
    if (!llvm::StringRef(*text).ends_with(kReplacement)) {
      prefix = std::move(*text);
      prefixIndex = ids.size();
    }
  }
  ids.push_back(id);
  auto text = tokenizer.decode(ids);
  if (!text)
    return text.takeError();
  llvm::StringRef full = *text;
  if (full.size() <= prefix.size() || full.ends_with(kReplacement))
    return std::string();
  if (!full.starts_with(prefix))
    return makeError("decoding id " + llvm::Twine(id) + " changed the text before it ('" +
                     prefix + "' became '" + full.take_front(prefix.size()) + "')");
  std::string fresh = full.drop_front(prefix.size()).str();
  size_t newPrefixIndex = ids.size() - prefixIndex;
  ids.erase(ids.begin(), ids.begin() + prefixIndex);
  auto context = tokenizer.decode(ids);
  if (!context)
    return context.takeError();
  prefix = std::move(*context);
  prefixIndex = newPrefixIndex;
  return fresh;
}

} // namespace tfc::tokenizer
