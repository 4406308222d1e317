//===- VocabularyArrays.cpp - Vocabularies given as arrays (GGUF) ---------===//
//
// GGUF embeds its tokenizer as arrays (tokens, scores, token types, merges)
// plus special ids, and names the algorithm: `llama` is SentencePiece BPE
// merging by score, `gpt2` byte-level BPE merging by rank, `bert` WordPiece.
// Each becomes the pipeline that the matching Hugging Face tokenizer.json
// describes (Llama 2's, GPT-2's, BERT's), with control and unknown tokens as
// special added tokens and user-defined ones as plain added tokens, so GGUF
// files go through the same engine as tokenizer.json.
//
//===----------------------------------------------------------------------===//
#include "Formats.h"
#include "Regex.h"

namespace tfc::tokenizer {
namespace {

using Kind = VocabularyArrays::Kind;

llvm::Error checkId(const std::optional<int32_t> &id, const char *what, size_t size) {
  if (id && (*id < 0 || static_cast<size_t>(*id) >= size))
    return makeError(llvm::Twine(what) + " id " + llvm::Twine(*id) +
                     " is out of range for a vocabulary of " + llvm::Twine(size));
  return llvm::Error::success();
}

std::shared_ptr<Regex> literal(llvm::StringRef text) {
  return llvm::cantFail(Regex::compile(text, /*literal=*/true));
}

} // namespace

llvm::Expected<std::unique_ptr<Pipeline>> pipelineFromArrays(const VocabularyArrays &v) {
  size_t n = v.tokens.size();
  if (n == 0)
    return makeError("the vocabulary is empty");
  if (!v.scores.empty() && v.scores.size() != n)
    return makeError("scores has " + llvm::Twine(v.scores.size()) + " entries for " +
                     llvm::Twine(n) + " tokens");
  if (!v.tokenTypes.empty() && v.tokenTypes.size() != n)
    return makeError("token_type has " + llvm::Twine(v.tokenTypes.size()) + " entries for " +
                     llvm::Twine(n) + " tokens");
  for (auto [id, what] : {std::pair{&v.bosId, "bos"}, {&v.eosId, "eos"}, {&v.unknownId, "unknown"},
                          {&v.separatorId, "separator"}, {&v.paddingId, "padding"}})
    if (llvm::Error err = checkId(*id, what, n))
      return std::move(err);

  auto pipeline = std::make_unique<Pipeline>();
  pipeline->bos = v.bosId;
  pipeline->eos = v.eosId;
  std::optional<std::string> unkToken;
  if (v.unknownId)
    unkToken = v.tokens[*v.unknownId];

  // The post-processor: [BOS] $A [EOS], each special token when asked for
  // (or by the kind's default) and known.
  std::vector<TemplatePart> single;
  auto wrap = [&](bool bosByDefault, std::optional<int32_t> bos, bool eosByDefault,
                  std::optional<int32_t> eos) {
    if (v.addBos.value_or(bosByDefault) && bos)
      single.push_back({false, {*bos}});
    single.push_back({true, {}});
    if (v.addEos.value_or(eosByDefault) && eos)
      single.push_back({false, {*eos}});
  };
  switch (v.kind) {
  case Kind::SentencePieceBpe: {
    std::vector<std::unique_ptr<Normalizer>> normalizers;
    if (v.addSpacePrefix)
      normalizers.push_back(makePrepend("\xE2\x96\x81"));
    normalizers.push_back(makeReplace(literal(" "), "\xE2\x96\x81"));
    pipeline->normalizer = makeNormalizerSequence(std::move(normalizers));
    BpeOptions options;
    options.unkToken = unkToken;
    options.byteFallback = true;
    options.fuseUnk = true;
    options.mergeByScore = true;
    auto model = makeBpe(v.tokens, {}, v.scores, options);
    if (!model)
      return model.takeError();
    pipeline->model = std::move(*model);
    std::vector<std::unique_ptr<Decoder>> decoders;
    decoders.push_back(makeReplaceDecoder(literal("\xE2\x96\x81"), " "));
    decoders.push_back(makeByteFallbackDecoder());
    decoders.push_back(makeFuseDecoder());
    decoders.push_back(makeStripDecoder(' ', 1, 0));
    pipeline->decoder = makeDecoderSequence(std::move(decoders));
    wrap(true, v.bosId, false, v.eosId);
    break;
  }
  case Kind::ByteLevelBpe: {
    std::vector<std::pair<std::string, std::string>> merges;
    for (size_t i = 0; i < v.merges.size(); ++i) {
      size_t space = v.merges[i].find(' ');
      if (space == std::string::npos)
        return makeError("merge " + llvm::Twine(i) + " ('" + v.merges[i] +
                         "') is not two tokens separated by a space");
      merges.push_back({v.merges[i].substr(0, space), v.merges[i].substr(space + 1)});
    }
    BpeOptions options;
    options.ignoreMerges = v.ignoreMerges;
    auto model = makeBpe(v.tokens, std::move(merges), {}, options);
    if (!model)
      return model.takeError();
    pipeline->model = std::move(*model);
    if (v.splitRegexes.empty()) {
      pipeline->preTokenizer = makeByteLevelPreTokenizer(false, true);
    } else {
      std::vector<std::unique_ptr<PreTokenizer>> parts;
      for (const std::string &pattern : v.splitRegexes) {
        auto regex = Regex::compile(pattern, /*literal=*/false);
        if (!regex)
          return regex.takeError();
        parts.push_back(makeSplit(*regex, SplitBehavior::Isolated, false));
      }
      parts.push_back(makeByteLevelPreTokenizer(false, false));
      pipeline->preTokenizer = makePreTokenizerSequence(std::move(parts));
    }
    pipeline->decoder = makeByteLevelDecoder();
    wrap(false, v.bosId, false, v.eosId);
    break;
  }
  case Kind::WordPiece: {
    if (!unkToken)
      return makeError("a WordPiece vocabulary needs an unknown token id");
    pipeline->normalizer = makeBertNormalizer(true, true, true, true);
    pipeline->preTokenizer = makeBertPreTokenizer();
    auto model = makeWordPiece(v.tokens, *unkToken, "##", 100);
    if (!model)
      return model.takeError();
    pipeline->model = std::move(*model);
    pipeline->decoder = makeWordPieceDecoder("##", true);
    // BERT's [CLS] is GGUF's BOS, [SEP] its separator (or EOS).
    wrap(true, v.bosId, true, v.separatorId ? v.separatorId : v.eosId);
    break;
  }
  }
  pipeline->postProcessor = makeTemplate(std::move(single));

  for (size_t id = 0; id < v.tokenTypes.size(); ++id) {
    int32_t type = v.tokenTypes[id];
    bool special = type == VocabularyArrays::Control || type == VocabularyArrays::Unknown;
    if (!special && type != VocabularyArrays::UserDefined)
      continue;
    AddedToken token;
    token.id = static_cast<int32_t>(id);
    token.content = v.tokens[id];
    token.special = special;
    token.normalized = false;
    pipeline->added.add(std::move(token), pipeline->normalizer.get());
  }
  return pipeline;
}

} // namespace tfc::tokenizer
