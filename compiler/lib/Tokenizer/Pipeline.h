//===- Pipeline.h - The stages of a tokenizer, as Hugging Face has them -*- C++ -*-===//
//
// The Rust `tokenizers` library runs text through added-token extraction, a
// normalizer, a pre-tokenizer, a model and a post-processor, and ids back
// through decoders. Each stage here is an interface with one implementation
// per component type of tokenizer.json, built by the loaders (TokenizerJson,
// Llama2c, VocabularyArrays). Offsets are not tracked: only ids and text are
// produced, so a stage works on plain strings.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TOKENIZER_PIPELINE_H
#define TFC_LIB_TOKENIZER_PIPELINE_H

#include "tfc/Tokenizer/Tokenizer.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"

#include <memory>
#include <string>
#include <vector>

namespace tfc::tokenizer {

llvm::Error makeError(const llvm::Twine &message);

/// A piece of text between pre-tokenizer splits. `atOrigin` tells whether it
/// starts at the beginning of the input (Metaspace's prepend_scheme "first").
struct Piece {
  std::string text;
  bool atOrigin = false;
};

class Normalizer {
public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string &text) const = 0;
};

/// Receives the pieces a pre-tokenizer produces, in order.
using PieceSink = llvm::function_ref<void(Piece)>;

class PreTokenizer {
public:
  virtual ~PreTokenizer() = default;
  /// Passes the splits of `piece` to `emit` (empty splits are dropped). Pieces
  /// stream through a Sequence to the model one at a time, so a long text is
  /// never held as a list of all its words.
  virtual void split(const Piece &piece, PieceSink emit) const = 0;
};

class Model {
public:
  virtual ~Model() = default;
  /// Appends the ids of one pre-tokenized word.
  virtual llvm::Error tokenize(llvm::StringRef word, std::vector<int32_t> &ids) const = 0;
  virtual std::optional<int32_t> tokenToId(llvm::StringRef token) const = 0;
  virtual const std::string *idToToken(int32_t id) const = 0;
  virtual int32_t size() const = 0;
};

class PostProcessor {
public:
  virtual ~PostProcessor() = default;
  /// Adds the special tokens of a single sequence around `ids`.
  virtual void process(std::vector<int32_t> &ids) const = 0;
  /// The first id it adds before the sequence (the BOS it implies), if any.
  virtual std::optional<int32_t> leadingId() const { return std::nullopt; }
};

class Decoder {
public:
  virtual ~Decoder() = default;
  /// Hugging Face's `decode_chain`: token strings in, strings out.
  virtual void decodeChain(std::vector<std::string> &tokens) const = 0;
};

/// An entry of tokenizer.json's `added_tokens`.
struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool singleWord = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

/// The added tokens, matched leftmost-longest before the model sees the text:
/// those with `normalized: false` on the raw text, the others on the
/// normalized text (as AddedVocabulary::extract_and_normalize does).
class AddedVocabulary {
public:
  void add(AddedToken token, const Normalizer *normalizer);
  /// Splits `text` into added-token matches (ids pushed to `out` with id >= 0)
  /// and normalized pieces for the pre-tokenizer.
  struct Segment {
    std::string text;
    int32_t id = -1; // an added token's id, or -1 for text
    bool atOrigin = false;
  };
  void extractAndNormalize(llvm::StringRef text, const Normalizer *normalizer,
                           std::vector<Segment> &out) const;
  std::optional<int32_t> tokenToId(llvm::StringRef content) const;
  /// The string decoding gives for `id` (the normalized content when it differs).
  const std::string *decodedContent(int32_t id) const;
  bool empty() const { return tokens.empty(); }
  int32_t maxId() const;

private:
  /// A byte trie over the contents of one class of tokens.
  struct Trie {
    struct Node {
      llvm::SmallDenseMap<unsigned char, uint32_t, 4> next;
      int32_t token = -1; // index into tokens
    };
    std::vector<Node> nodes{1};
    bool firstByte[256] = {};
    void insert(llvm::StringRef key, int32_t index);
    /// The longest token starting at `pos`, or -1.
    int32_t longestAt(llvm::StringRef text, size_t pos) const;
  };
  void split(const std::vector<Segment> &in, const Trie &trie,
             const Normalizer *normalizer, std::vector<Segment> &out) const;

  std::vector<AddedToken> tokens;
  std::vector<std::string> patterns; // the matched form of each token
  llvm::StringMap<int32_t> byContent;
  llvm::DenseMap<int32_t, int32_t> indexById;
  Trie rawTrie, normalizedTrie;
};

/// The whole tokenizer.
class Pipeline {
public:
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> preTokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> postProcessor;
  std::unique_ptr<Decoder> decoder;
  AddedVocabulary added;
  std::optional<int32_t> bos, eos;
  /// Set by applyGenerationConfig: replaces the post-processor.
  std::optional<bool> forceBos, forceEos;

  llvm::Expected<std::vector<int32_t>> encode(llvm::StringRef text, bool addSpecial) const;
  llvm::Expected<std::string> decode(llvm::ArrayRef<int32_t> ids) const;
  int32_t vocabSize() const;
  const std::string *idToToken(int32_t id) const;
  std::optional<int32_t> tokenToId(llvm::StringRef token) const;
};

//===----------------------------------------------------------------------===//
// Component constructors (defined by the file of each stage)
//===----------------------------------------------------------------------===//

// Normalizers.cpp
std::unique_ptr<Normalizer> makeUnicodeNormalizer(int form); // unicode::Form
std::unique_ptr<Normalizer> makeLowercase();
std::unique_ptr<Normalizer> makeStripAccents();
std::unique_ptr<Normalizer> makeStrip(bool left, bool right);
std::unique_ptr<Normalizer> makePrepend(std::string prefix);
std::unique_ptr<Normalizer> makeBertNormalizer(bool cleanText, bool chineseChars,
                                               bool stripAccents, bool lowercase);
std::unique_ptr<Normalizer> makeNormalizerSequence(std::vector<std::unique_ptr<Normalizer>> parts);

class Regex;
/// Replace (normalizer): every match of `pattern` becomes `content`.
std::unique_ptr<Normalizer> makeReplace(std::shared_ptr<Regex> pattern, std::string content);

// PreTokenizers.cpp
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
std::unique_ptr<PreTokenizer> makeByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex);
std::unique_ptr<PreTokenizer> makeSplit(std::shared_ptr<Regex> pattern, SplitBehavior behavior,
                                        bool invert);
enum class PrependScheme { Always, First, Never };
std::unique_ptr<PreTokenizer> makeMetaspace(char32_t replacement, PrependScheme scheme,
                                            bool split);
std::unique_ptr<PreTokenizer> makeWhitespace();
std::unique_ptr<PreTokenizer> makeWhitespaceSplit();
std::unique_ptr<PreTokenizer> makeBertPreTokenizer();
std::unique_ptr<PreTokenizer> makeDigits(bool individual);
std::unique_ptr<PreTokenizer> makePunctuation(SplitBehavior behavior);
std::unique_ptr<PreTokenizer> makeCharDelimiterSplit(char32_t delimiter);
std::unique_ptr<PreTokenizer>
makePreTokenizerSequence(std::vector<std::unique_ptr<PreTokenizer>> parts);
/// GPT-2's byte-to-character table (the `ByteLevel` alphabet), as UTF-8.
const std::string &byteLevelChar(unsigned char byte);

// Models: BPE.cpp, WordPiece.cpp, Unigram.cpp
struct BpeOptions {
  std::optional<std::string> unkToken;
  std::string continuingSubwordPrefix, endOfWordSuffix;
  bool fuseUnk = false, byteFallback = false, ignoreMerges = false;
  /// Merge by the score of the merged piece (SentencePiece / llama2.c) instead
  /// of by merge rank.
  bool mergeByScore = false;
  /// llama2.c: a byte with no `<0xNN>` piece is an error, not an unknown.
  bool missingByteIsError = false;
};
/// `vocab[id]` is the token of `id`; empty strings are holes.
llvm::Expected<std::unique_ptr<Model>>
makeBpe(std::vector<std::string> vocab, std::vector<std::pair<std::string, std::string>> merges,
        std::vector<float> scores, BpeOptions options);
llvm::Expected<std::unique_ptr<Model>> makeWordPiece(std::vector<std::string> vocab,
                                                     std::string unkToken, std::string prefix,
                                                     size_t maxInputCharsPerWord);
llvm::Expected<std::unique_ptr<Model>> makeWordLevel(std::vector<std::string> vocab,
                                                     std::string unkToken);
llvm::Expected<std::unique_ptr<Model>>
makeUnigram(std::vector<std::pair<std::string, double>> vocab, std::optional<int32_t> unkId,
            bool byteFallback);

// PostProcessors.cpp
struct TemplatePart {
  bool isSequence = false;
  std::vector<int32_t> ids; // the special token's ids
};
std::unique_ptr<PostProcessor> makeTemplate(std::vector<TemplatePart> single);
std::unique_ptr<PostProcessor>
makePostProcessorSequence(std::vector<std::unique_ptr<PostProcessor>> parts);

// Decoders.cpp
std::unique_ptr<Decoder> makeByteLevelDecoder();
std::unique_ptr<Decoder> makeMetaspaceDecoder(char32_t replacement, bool stripFirst);
std::unique_ptr<Decoder> makeWordPieceDecoder(std::string prefix, bool cleanup);
std::unique_ptr<Decoder> makeByteFallbackDecoder();
std::unique_ptr<Decoder> makeFuseDecoder();
std::unique_ptr<Decoder> makeStripDecoder(char32_t content, size_t start, size_t stop);
std::unique_ptr<Decoder> makeReplaceDecoder(std::shared_ptr<Regex> pattern, std::string content);
std::unique_ptr<Decoder> makeBpeDecoder(std::string suffix);
std::unique_ptr<Decoder> makeDecoderSequence(std::vector<std::unique_ptr<Decoder>> parts);
/// llama2.c's decode: BOS/EOS give nothing, a leading space after BOS is
/// dropped, `<0xNN>` pieces are raw bytes.
std::unique_ptr<Decoder> makeLlama2cDecoder(std::string bosPiece, std::string eosPiece);

} // namespace tfc::tokenizer

#endif // TFC_LIB_TOKENIZER_PIPELINE_H
