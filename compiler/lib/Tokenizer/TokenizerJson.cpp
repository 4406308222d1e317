//===- TokenizerJson.cpp - Hugging Face tokenizer.json --------------------===//
//
// Reads tokenizer.json as the Rust library deserializes it: each component is
// an object with a `type` (models may omit it and are recognized by their
// fields), optional fields take the library's defaults, and a component type
// the engine does not implement is an error naming it. The JSON is parsed
// without exceptions; every access checks the type first, and errors name
// the field by its path (`pre_tokenizer.pretokenizers[0].pattern`).
//
//===----------------------------------------------------------------------===//
#include "Formats.h"
#include "Regex.h"
#include "Unicode.h"

#include <nlohmann/json.hpp>

namespace tfc::tokenizer {
namespace {

using json = nlohmann::json;

/// The DOM parser, keeping the parse error's message instead of throwing.
struct DomParser : nlohmann::detail::json_sax_dom_parser<json> {
  using nlohmann::detail::json_sax_dom_parser<json>::json_sax_dom_parser;
  std::string message;
  bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &ex) {
    message = ex.what();
    size_t tag = message.find("] "); // drop "[json.exception.parse_error.101] "
    if (tag != std::string::npos)
      message.erase(0, tag + 2);
    return false;
  }
};

/// Typed access that records the first error and returns defaults after it,
/// so that the builders read straight through.
class Reader {
public:
  std::string error;

  bool ok() const { return error.empty(); }
  void fail(const std::string &path, const llvm::Twine &message) {
    if (error.empty())
      error = ("field '" + path + "' " + message).str();
  }
  static std::string join(const std::string &path, llvm::StringRef key) {
    return path.empty() ? key.str() : path + "." + key.str();
  }

  /// The member `key` of `object`, or null when absent (or JSON null).
  const json *get(const json &object, const std::string &path, llvm::StringRef key,
                  bool required = false) {
    auto it = object.find(key.str());
    if (it == object.end() || it->is_null()) {
      if (required)
        fail(join(path, key), "is missing");
      return nullptr;
    }
    return &*it;
  }
  std::string string(const json &object, const std::string &path, llvm::StringRef key,
                     const std::string &fallback = "", bool required = false) {
    const json *value = get(object, path, key, required);
    if (!value)
      return fallback;
    if (!value->is_string()) {
      fail(join(path, key), "is not a string");
      return fallback;
    }
    return value->get<std::string>();
  }
  bool boolean(const json &object, const std::string &path, llvm::StringRef key, bool fallback) {
    const json *value = get(object, path, key);
    if (!value)
      return fallback;
    if (!value->is_boolean()) {
      fail(join(path, key), "is not a boolean");
      return fallback;
    }
    return value->get<bool>();
  }
  int64_t integer(const json &object, const std::string &path, llvm::StringRef key,
                  int64_t fallback, bool required = false) {
    const json *value = get(object, path, key, required);
    if (!value)
      return fallback;
    if (!value->is_number_integer()) {
      fail(join(path, key), "is not an integer");
      return fallback;
    }
    return value->get<int64_t>();
  }
  /// A non-negative id that fits an int32.
  int32_t id(const json &value, const std::string &path) {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
        value.get<int64_t>() > INT32_MAX) {
      fail(path, "is not a token id (a non-negative 32-bit integer)");
      return 0;
    }
    return static_cast<int32_t>(value.get<int64_t>());
  }
  const json *array(const json &object, const std::string &path, llvm::StringRef key,
                    bool required = false) {
    const json *value = get(object, path, key, required);
    if (value && !value->is_array()) {
      fail(join(path, key), "is not an array");
      return nullptr;
    }
    return value;
  }
  /// A single character (Metaspace's replacement, Strip's content).
  char32_t character(const json &object, const std::string &path, llvm::StringRef key,
                     char32_t fallback) {
    std::string text = string(object, path, key);
    if (text.empty())
      return fallback;
    char32_t cp;
    if (unicode::decode(text, 0, cp) != text.size()) {
      fail(join(path, key), "is not a single character");
      return fallback;
    }
    return cp;
  }
  /// `{"String": s}` or `{"Regex": r}`.
  std::shared_ptr<Regex> pattern(const json &object, const std::string &path) {
    const json *value = get(object, path, "pattern", /*required=*/true);
    std::string where = join(path, "pattern");
    if (!value)
      return nullptr;
    bool literal = value->contains("String");
    if (!value->is_object() || (!literal && !value->contains("Regex"))) {
      fail(where, "is neither {\"String\": ...} nor {\"Regex\": ...}");
      return nullptr;
    }
    std::string text = string(*value, where, literal ? "String" : "Regex", "", true);
    if (!ok())
      return nullptr;
    auto regex = Regex::compile(text, literal);
    if (!regex) {
      fail(where, "holds an " + llvm::toString(regex.takeError()));
      return nullptr;
    }
    return *regex;
  }
  /// The `type` of a component.
  std::string type(const json &object, const std::string &path) {
    if (!object.is_object()) {
      fail(path, "is not an object");
      return "";
    }
    return string(object, path, "type", "", /*required=*/true);
  }
  void unsupported(const std::string &path, llvm::StringRef what, llvm::StringRef type) {
    if (error.empty())
      error = ("unsupported " + what + " '" + type + "' (" + path + ")").str();
  }
  std::string index(const std::string &path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }
};

SplitBehavior readBehavior(Reader &r, const json &object, const std::string &path,
                           SplitBehavior fallback) {
  std::string name = r.string(object, path, "behavior");
  if (name.empty())
    return fallback;
  static const std::pair<const char *, SplitBehavior> names[] = {
      {"Removed", SplitBehavior::Removed},
      {"Isolated", SplitBehavior::Isolated},
      {"MergedWithPrevious", SplitBehavior::MergedWithPrevious},
      {"MergedWithNext", SplitBehavior::MergedWithNext},
      {"Contiguous", SplitBehavior::Contiguous}};
  for (const auto &[spelling, behavior] : names)
    if (name == spelling)
      return behavior;
  r.fail(Reader::join(path, "behavior"), "has unknown value '" + name + "'");
  return fallback;
}

/// Metaspace's prepend_scheme, or the legacy add_prefix_space.
PrependScheme readPrependScheme(Reader &r, const json &object, const std::string &path) {
  std::string scheme = r.string(object, path, "prepend_scheme");
  if (scheme.empty())
    return r.boolean(object, path, "add_prefix_space", true) ? PrependScheme::Always
                                                             : PrependScheme::Never;
  if (scheme == "always")
    return PrependScheme::Always;
  if (scheme == "first")
    return PrependScheme::First;
  if (scheme == "never")
    return PrependScheme::Never;
  r.fail(Reader::join(path, "prepend_scheme"), "has unknown value '" + scheme + "'");
  return PrependScheme::Always;
}

/// The parts of a Sequence component: `key` lists components that `read`
/// builds.
template <typename T, typename ReadFn>
std::vector<std::unique_ptr<T>> readParts(Reader &r, const json &object, const std::string &path,
                                          llvm::StringRef key, ReadFn read) {
  std::vector<std::unique_ptr<T>> parts;
  std::string where = Reader::join(path, key);
  if (const json *list = r.array(object, path, key, true))
    for (size_t i = 0; i < list->size() && r.ok(); ++i)
      parts.push_back(read(r, (*list)[i], r.index(where, i)));
  return parts;
}

std::unique_ptr<Normalizer> readNormalizer(Reader &r, const json &n, const std::string &path) {
  std::string type = r.type(n, path);
  if (!r.ok())
    return nullptr;
  if (type == "NFC")
    return makeUnicodeNormalizer(static_cast<int>(unicode::Form::NFC));
  if (type == "NFD")
    return makeUnicodeNormalizer(static_cast<int>(unicode::Form::NFD));
  if (type == "NFKC")
    return makeUnicodeNormalizer(static_cast<int>(unicode::Form::NFKC));
  if (type == "NFKD")
    return makeUnicodeNormalizer(static_cast<int>(unicode::Form::NFKD));
  if (type == "Lowercase")
    return makeLowercase();
  if (type == "StripAccents")
    return makeStripAccents();
  if (type == "Strip")
    return makeStrip(r.boolean(n, path, "strip_left", true),
                     r.boolean(n, path, "strip_right", true));
  if (type == "Prepend")
    return makePrepend(r.string(n, path, "prepend", "", true));
  if (type == "Replace") {
    auto pattern = r.pattern(n, path);
    std::string content = r.string(n, path, "content", "", true);
    return pattern ? makeReplace(pattern, content) : nullptr;
  }
  if (type == "BertNormalizer") {
    bool lowercase = r.boolean(n, path, "lowercase", true);
    const json *strip = r.get(n, path, "strip_accents");
    bool stripAccents = lowercase;
    if (strip) {
      if (!strip->is_boolean())
        r.fail(Reader::join(path, "strip_accents"), "is not a boolean");
      else
        stripAccents = strip->get<bool>();
    }
    return makeBertNormalizer(r.boolean(n, path, "clean_text", true),
                              r.boolean(n, path, "handle_chinese_chars", true), stripAccents,
                              lowercase);
  }
  if (type == "Sequence")
    return makeNormalizerSequence(readParts<Normalizer>(r, n, path, "normalizers", readNormalizer));
  r.unsupported(path, "normalizer", type);
  return nullptr;
}

std::unique_ptr<PreTokenizer> readPreTokenizer(Reader &r, const json &p, const std::string &path) {
  std::string type = r.type(p, path);
  if (!r.ok())
    return nullptr;
  if (type == "ByteLevel")
    return makeByteLevelPreTokenizer(r.boolean(p, path, "add_prefix_space", true),
                                     r.boolean(p, path, "use_regex", true));
  if (type == "Split") {
    auto pattern = r.pattern(p, path);
    SplitBehavior behavior = readBehavior(r, p, path, SplitBehavior::Removed);
    bool invert = r.boolean(p, path, "invert", false);
    return pattern ? makeSplit(pattern, behavior, invert) : nullptr;
  }
  if (type == "Metaspace")
    return makeMetaspace(r.character(p, path, "replacement", U'\u2581'),
                         readPrependScheme(r, p, path), r.boolean(p, path, "split", true));
  if (type == "Whitespace")
    return makeWhitespace();
  if (type == "WhitespaceSplit")
    return makeWhitespaceSplit();
  if (type == "BertPreTokenizer")
    return makeBertPreTokenizer();
  if (type == "Digits")
    return makeDigits(r.boolean(p, path, "individual_digits", false));
  if (type == "Punctuation")
    return makePunctuation(readBehavior(r, p, path, SplitBehavior::Isolated));
  if (type == "CharDelimiterSplit")
    return makeCharDelimiterSplit(r.character(p, path, "delimiter", ' '));
  if (type == "Sequence")
    return makePreTokenizerSequence(readParts<PreTokenizer>(r, p, path, "pretokenizers", readPreTokenizer));
  r.unsupported(path, "pre-tokenizer", type);
  return nullptr;
}

constexpr int32_t kMaxVocabularySize = 1 << 24;

/// A `{token: id}` vocabulary as a vector indexed by id (holes empty).
std::vector<std::string> readVocabMap(Reader &r, const json &model, const std::string &path) {
  std::vector<std::string> vocab;
  const json *map = r.get(model, path, "vocab", true);
  std::string where = Reader::join(path, "vocab");
  if (!map)
    return vocab;
  if (!map->is_object()) {
    r.fail(where, "is not an object of token ids");
    return vocab;
  }
  for (auto it = map->begin(); it != map->end() && r.ok(); ++it) {
    int32_t id = r.id(it.value(), where + "." + it.key());
    if (!r.ok())
      break;
    // The vocabulary is a vector indexed by id: bound it.
    if (id >= kMaxVocabularySize) {
      r.fail(where + "." + it.key(), "is " + llvm::Twine(id) + ", beyond the largest supported id (" +
                                         llvm::Twine(kMaxVocabularySize - 1) + ")");
      break;
    }
    if (static_cast<size_t>(id) >= vocab.size())
      vocab.resize(static_cast<size_t>(id) + 1);
    vocab[id] = it.key();
  }
  return vocab;
}

std::unique_ptr<Model> readModel(Reader &r, const json &m, const std::string &path) {
  if (!m.is_object()) {
    r.fail(path, "is not an object");
    return nullptr;
  }
  std::string type = r.string(m, path, "type");
  if (type.empty()) { // older files: recognized by their fields, as serde's untagged enum
    const json *vocab = r.get(m, path, "vocab");
    type = m.contains("merges")                        ? "BPE"
           : vocab && vocab->is_array()                ? "Unigram"
           : m.contains("continuing_subword_prefix") ? "WordPiece"
                                                       : "WordLevel";
  }
  if (!r.ok())
    return nullptr;
  llvm::Expected<std::unique_ptr<Model>> model = nullptr;
  if (type == "BPE") {
    std::vector<std::string> vocab = readVocabMap(r, m, path);
    std::vector<std::pair<std::string, std::string>> merges;
    std::string where = Reader::join(path, "merges");
    if (const json *list = r.array(m, path, "merges", true))
      for (size_t i = 0; i < list->size() && r.ok(); ++i) {
        const json &merge = (*list)[i];
        if (merge.is_string()) { // legacy "a b"
          std::string text = merge.get<std::string>();
          size_t space = text.find(' ');
          if (space == std::string::npos) {
            r.fail(r.index(where, i), "is not two tokens separated by a space");
            break;
          }
          merges.push_back({text.substr(0, space), text.substr(space + 1)});
        } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                   merge[1].is_string()) {
          merges.push_back({merge[0].get<std::string>(), merge[1].get<std::string>()});
        } else {
          r.fail(r.index(where, i), "is neither \"a b\" nor [\"a\", \"b\"]");
        }
      }
    const json *dropout = r.get(m, path, "dropout");
    if (dropout && !(dropout->is_number() && dropout->get<double>() == 0.0))
      r.unsupported(Reader::join(path, "dropout"), "BPE option", "dropout");
    BpeOptions options;
    if (r.get(m, path, "unk_token"))
      options.unkToken = r.string(m, path, "unk_token");
    options.continuingSubwordPrefix = r.string(m, path, "continuing_subword_prefix");
    options.endOfWordSuffix = r.string(m, path, "end_of_word_suffix");
    options.fuseUnk = r.boolean(m, path, "fuse_unk", false);
    options.byteFallback = r.boolean(m, path, "byte_fallback", false);
    options.ignoreMerges = r.boolean(m, path, "ignore_merges", false);
    if (!r.ok())
      return nullptr;
    model = makeBpe(std::move(vocab), std::move(merges), {}, std::move(options));
  } else if (type == "WordPiece") {
    std::vector<std::string> vocab = readVocabMap(r, m, path);
    std::string unk = r.string(m, path, "unk_token", "[UNK]");
    std::string prefix = r.string(m, path, "continuing_subword_prefix", "##");
    int64_t maxChars = r.integer(m, path, "max_input_chars_per_word", 100);
    if (!r.ok())
      return nullptr;
    model = makeWordPiece(std::move(vocab), unk, prefix, static_cast<size_t>(std::max<int64_t>(0, maxChars)));
  } else if (type == "WordLevel") {
    std::vector<std::string> vocab = readVocabMap(r, m, path);
    std::string unk = r.string(m, path, "unk_token", "<unk>");
    if (!r.ok())
      return nullptr;
    model = makeWordLevel(std::move(vocab), unk);
  } else if (type == "Unigram") {
    std::vector<std::pair<std::string, double>> pieces;
    std::string where = Reader::join(path, "vocab");
    if (const json *list = r.array(m, path, "vocab", true))
      for (size_t i = 0; i < list->size(); ++i) {
        const json &entry = (*list)[i];
        if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() ||
            !entry[1].is_number()) {
          r.fail(r.index(where, i), "is not a [piece, score] pair");
          break;
        }
        pieces.push_back({entry[0].get<std::string>(), entry[1].get<double>()});
      }
    std::optional<int32_t> unkId;
    if (const json *unk = r.get(m, path, "unk_id"))
      unkId = r.id(*unk, Reader::join(path, "unk_id"));
    bool byteFallback = r.boolean(m, path, "byte_fallback", false);
    if (!r.ok())
      return nullptr;
    model = makeUnigram(std::move(pieces), unkId, byteFallback);
  } else {
    r.unsupported(path, "model", type);
    return nullptr;
  }
  if (!model) {
    r.fail(path, "is invalid: " + llvm::toString(model.takeError()));
    return nullptr;
  }
  return std::move(*model);
}

/// `[token, id]` of BertProcessing / RobertaProcessing.
int32_t readTokenPair(Reader &r, const json &p, const std::string &path, llvm::StringRef key) {
  const json *pair = r.array(p, path, key, true);
  if (!pair)
    return 0;
  if (pair->size() != 2 || !(*pair)[0].is_string()) {
    r.fail(Reader::join(path, key), "is not a [token, id] pair");
    return 0;
  }
  return r.id((*pair)[1], Reader::join(path, key) + "[1]");
}

std::unique_ptr<PostProcessor> readPostProcessor(Reader &r, const json &p,
                                                 const std::string &path) {
  std::string type = r.type(p, path);
  if (!r.ok())
    return nullptr;
  if (type == "TemplateProcessing") {
    std::vector<TemplatePart> parts;
    const json *special = r.get(p, path, "special_tokens");
    std::string where = Reader::join(path, "single");
    if (const json *single = r.array(p, path, "single", true))
      for (size_t i = 0; i < single->size() && r.ok(); ++i) {
        const json &piece = (*single)[i];
        std::string at = r.index(where, i);
        if (piece.is_object() && piece.contains("Sequence")) {
          parts.push_back({true, {}});
          continue;
        }
        if (!piece.is_object() || !piece.contains("SpecialToken")) {
          r.fail(at, "is neither {\"Sequence\": ...} nor {\"SpecialToken\": ...}");
          break;
        }
        std::string name = r.string(piece["SpecialToken"], at + ".SpecialToken", "id", "", true);
        const json *entry = special && special->is_object() && special->contains(name)
                                ? &(*special)[name]
                                : nullptr;
        if (!entry || !entry->is_object()) {
          r.fail(at, "names special token '" + name + "', missing from special_tokens");
          break;
        }
        std::string entryPath = Reader::join(path, "special_tokens") + "." + name;
        TemplatePart part;
        if (const json *ids = r.array(*entry, entryPath, "ids", true))
          for (size_t k = 0; k < ids->size(); ++k)
            part.ids.push_back(r.id((*ids)[k], r.index(entryPath + ".ids", k)));
        parts.push_back(std::move(part));
      }
    return makeTemplate(std::move(parts));
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    int32_t cls = readTokenPair(r, p, path, "cls");
    int32_t sep = readTokenPair(r, p, path, "sep");
    return makeTemplate({{false, {cls}}, {true, {}}, {false, {sep}}});
  }
  if (type == "ByteLevel")
    return makeTemplate({{true, {}}});
  if (type == "Sequence")
    return makePostProcessorSequence(readParts<PostProcessor>(r, p, path, "processors", readPostProcessor));
  r.unsupported(path, "post-processor", type);
  return nullptr;
}

std::unique_ptr<Decoder> readDecoder(Reader &r, const json &d, const std::string &path) {
  std::string type = r.type(d, path);
  if (!r.ok())
    return nullptr;
  if (type == "ByteLevel")
    return makeByteLevelDecoder();
  if (type == "Metaspace")
    return makeMetaspaceDecoder(r.character(d, path, "replacement", U'\u2581'),
                                readPrependScheme(r, d, path) != PrependScheme::Never);
  if (type == "WordPiece")
    return makeWordPieceDecoder(r.string(d, path, "prefix", "##"),
                                r.boolean(d, path, "cleanup", true));
  if (type == "ByteFallback")
    return makeByteFallbackDecoder();
  if (type == "Fuse")
    return makeFuseDecoder();
  if (type == "Strip") {
    int64_t start = r.integer(d, path, "start", 0), stop = r.integer(d, path, "stop", 0);
    return makeStripDecoder(r.character(d, path, "content", ' '),
                            static_cast<size_t>(std::max<int64_t>(0, start)),
                            static_cast<size_t>(std::max<int64_t>(0, stop)));
  }
  if (type == "Replace") {
    auto pattern = r.pattern(d, path);
    std::string content = r.string(d, path, "content", "", true);
    return pattern ? makeReplaceDecoder(pattern, content) : nullptr;
  }
  if (type == "BPEDecoder")
    return makeBpeDecoder(r.string(d, path, "suffix", "</w>"));
  if (type == "Sequence")
    return makeDecoderSequence(readParts<Decoder>(r, d, path, "decoders", readDecoder));
  r.unsupported(path, "decoder", type);
  return nullptr;
}

/// The end-of-sequence token, by the names the model families use, when the
/// file does not say (tokenizer.json has no such field).
std::optional<int32_t> guessEos(const Pipeline &pipeline) {
  static const char *const names[] = {"</s>", "<|endoftext|>", "<|end_of_text|>",
                                      "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence"
                                      "\xEF\xBD\x9C>",
                                      "<eos>", "[SEP]"};
  for (const char *name : names)
    if (auto id = pipeline.tokenToId(name))
      return id;
  return std::nullopt;
}

} // namespace

llvm::Expected<std::unique_ptr<Pipeline>> pipelineFromJson(llvm::StringRef text) {
  json root;
  DomParser parser(root, /*allow_exceptions=*/false);
  if (!json::sax_parse(text.begin(), text.end(), &parser) || !parser.message.empty())
    return makeError("malformed JSON: " + parser.message);
  if (!root.is_object())
    return makeError("the JSON is not an object");

  Reader r;
  auto pipeline = std::make_unique<Pipeline>();
  for (const char *unsupported : {"truncation", "padding"})
    if (r.get(root, "", unsupported))
      r.unsupported(unsupported, "option", unsupported);
  if (const json *n = r.get(root, "", "normalizer"))
    pipeline->normalizer = readNormalizer(r, *n, "normalizer");
  if (const json *p = r.get(root, "", "pre_tokenizer"))
    pipeline->preTokenizer = readPreTokenizer(r, *p, "pre_tokenizer");
  if (const json *m = r.get(root, "", "model", true))
    pipeline->model = readModel(r, *m, "model");
  if (const json *p = r.get(root, "", "post_processor"))
    pipeline->postProcessor = readPostProcessor(r, *p, "post_processor");
  if (const json *d = r.get(root, "", "decoder"))
    pipeline->decoder = readDecoder(r, *d, "decoder");
  if (const json *list = r.array(root, "", "added_tokens"))
    for (size_t i = 0; i < list->size() && r.ok(); ++i) {
      const json &entry = (*list)[i];
      std::string path = r.index("added_tokens", i);
      if (!entry.is_object()) {
        r.fail(path, "is not an object");
        break;
      }
      AddedToken token;
      token.id = r.id(entry.contains("id") ? entry["id"] : json(), path + ".id");
      token.content = r.string(entry, path, "content", "", true);
      token.special = r.boolean(entry, path, "special", false);
      token.singleWord = r.boolean(entry, path, "single_word", false);
      token.lstrip = r.boolean(entry, path, "lstrip", false);
      token.rstrip = r.boolean(entry, path, "rstrip", false);
      token.normalized = r.boolean(entry, path, "normalized", !token.special);
      if (r.ok())
        pipeline->added.add(std::move(token), pipeline->normalizer.get());
    }
  if (!r.ok())
    return makeError(r.error);
  if (pipeline->postProcessor)
    pipeline->bos = pipeline->postProcessor->leadingId();
  pipeline->eos = guessEos(*pipeline);
  return pipeline;
}

} // namespace tfc::tokenizer
