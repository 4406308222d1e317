//===- PreTokenizers.cpp - tokenizer.json pre-tokenizers ------------------===//
//
// A pre-tokenizer cuts each piece of normalized text into the words the
// model sees. Splitting follows the Rust library's NormalizedString::split:
// a pattern yields alternating non-match / match ranges (a regex's matches,
// or one range per character a predicate accepts), a SplitBehavior folds them
// into pieces, and empty pieces are dropped. Pieces are passed on as they are
// made (PieceSink), not collected.
//
//===----------------------------------------------------------------------===//
#include "Pipeline.h"
#include "Regex.h"
#include "Unicode.h"

namespace tfc::tokenizer {
namespace {

struct Range {
  size_t start, end;
  bool isMatch;
};

/// Hugging Face's `find_matches` for a regex: matches and the gaps between them.
void regexRanges(const Regex &regex, llvm::StringRef text, std::vector<Range> &ranges) {
  size_t prev = 0;
  regex.forEachMatch(text, [&](size_t start, size_t end) {
    if (prev != start)
      ranges.push_back({prev, start, false});
    ranges.push_back({start, end, true});
    prev = end;
  });
  if (prev != text.size())
    ranges.push_back({prev, text.size(), false});
}

/// `find_matches` for a character predicate: each accepted character is a
/// match of its own, runs of the others are gaps.
template <typename Pred>
void charRanges(llvm::StringRef text, Pred &&accept, std::vector<Range> &ranges) {
  size_t prev = 0;
  for (size_t pos = 0; pos < text.size();) {
    char32_t cp;
    unsigned len = unicode::decode(text, pos, cp);
    if (accept(cp)) {
      if (prev != pos)
        ranges.push_back({prev, pos, false});
      ranges.push_back({pos, pos + len, true});
      prev = pos + len;
    }
    pos += len;
  }
  if (prev != text.size())
    ranges.push_back({prev, text.size(), false});
}

/// Folds ranges into pieces by `behavior` (NormalizedString::split) and
/// appends the non-empty ones to `out`.
void emitSplits(const Piece &piece, std::vector<Range> &ranges, SplitBehavior behavior,
                bool invert, PieceSink emit) {
  if (invert)
    for (Range &r : ranges)
      r.isMatch = !r.isMatch;
  // (start, end, removed)
  std::vector<Range> splits;
  bool previousMatch = false;
  switch (behavior) {
  case SplitBehavior::Isolated:
    for (const Range &r : ranges)
      splits.push_back({r.start, r.end, false});
    break;
  case SplitBehavior::Removed:
    splits = ranges;
    break;
  case SplitBehavior::Contiguous:
    for (const Range &r : ranges) {
      if (r.isMatch == previousMatch && !splits.empty())
        splits.back().end = r.end;
      else
        splits.push_back({r.start, r.end, false});
      previousMatch = r.isMatch;
    }
    break;
  case SplitBehavior::MergedWithPrevious:
    for (const Range &r : ranges) {
      if (r.isMatch && !previousMatch && !splits.empty())
        splits.back().end = r.end;
      else
        splits.push_back({r.start, r.end, false});
      previousMatch = r.isMatch;
    }
    break;
  case SplitBehavior::MergedWithNext:
    for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
      if (it->isMatch && !previousMatch && !splits.empty())
        splits.back().start = it->start;
      else
        splits.push_back({it->start, it->end, false});
      previousMatch = it->isMatch;
    }
    std::reverse(splits.begin(), splits.end());
    break;
  }
  for (const Range &s : splits)
    if (!s.isMatch && s.end > s.start)
      emit({piece.text.substr(s.start, s.end - s.start), piece.atOrigin && s.start == 0});
}

const Regex &gpt2Regex() {
  static std::shared_ptr<Regex> regex = llvm::cantFail(Regex::compile(
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
      /*literal=*/false));
  return *regex;
}

class ByteLevelPreTokenizer final : public PreTokenizer {
public:
  ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex)
      : addPrefixSpace(addPrefixSpace), useRegex(useRegex) {}
  void split(const Piece &in, PieceSink emit) const override {
    Piece piece = in;
    if (addPrefixSpace && (piece.text.empty() || piece.text[0] != ' '))
      piece.text.insert(0, " ");
    auto mapBytes = [&](Piece word) {
      std::string mapped;
      mapped.reserve(word.text.size() * 2);
      for (unsigned char byte : word.text)
        mapped += byteLevelChar(byte);
      word.text = std::move(mapped);
      emit(std::move(word));
    };
    if (!useRegex) {
      if (!piece.text.empty())
        mapBytes(std::move(piece));
      return;
    }
    std::vector<Range> ranges;
    regexRanges(gpt2Regex(), piece.text, ranges);
    emitSplits(piece, ranges, SplitBehavior::Isolated, false, mapBytes);
  }

private:
  bool addPrefixSpace, useRegex;
};

class SplitPreTokenizer final : public PreTokenizer {
public:
  SplitPreTokenizer(std::shared_ptr<Regex> pattern, SplitBehavior behavior, bool invert)
      : pattern(std::move(pattern)), behavior(behavior), invert(invert) {}
  void split(const Piece &piece, PieceSink emit) const override {
    std::vector<Range> ranges;
    regexRanges(*pattern, piece.text, ranges);
    emitSplits(piece, ranges, behavior, invert, emit);
  }

private:
  std::shared_ptr<Regex> pattern;
  SplitBehavior behavior;
  bool invert;
};

/// A split on a character predicate (Punctuation, Digits, WhitespaceSplit,
/// CharDelimiterSplit).
template <typename Pred> class CharSplit final : public PreTokenizer {
public:
  CharSplit(Pred accept, SplitBehavior behavior) : accept(accept), behavior(behavior) {}
  void split(const Piece &piece, PieceSink emit) const override {
    std::vector<Range> ranges;
    charRanges(piece.text, accept, ranges);
    emitSplits(piece, ranges, behavior, false, emit);
  }

private:
  Pred accept;
  SplitBehavior behavior;
};

template <typename Pred>
std::unique_ptr<PreTokenizer> makeCharSplit(Pred accept, SplitBehavior behavior) {
  return std::make_unique<CharSplit<Pred>>(accept, behavior);
}

class Metaspace final : public PreTokenizer {
public:
  Metaspace(char32_t replacement, PrependScheme scheme, bool splitOnReplacement)
      : scheme(scheme), splitOnReplacement(splitOnReplacement), replacementChar(replacement) {
    unicode::append(this->replacement, replacement);
  }
  void split(const Piece &in, PieceSink emit) const override {
    Piece piece{{}, in.atOrigin};
    for (char c : in.text) {
      if (c == ' ')
        piece.text += replacement;
      else
        piece.text.push_back(c);
    }
    bool startsWithReplacement = llvm::StringRef(piece.text).starts_with(replacement);
    if (!startsWithReplacement &&
        (scheme == PrependScheme::Always || (scheme == PrependScheme::First && in.atOrigin)))
      piece.text.insert(0, replacement);
    if (!splitOnReplacement) {
      if (!piece.text.empty())
        emit(std::move(piece));
      return;
    }
    std::vector<Range> ranges;
    char32_t r = replacementChar;
    charRanges(piece.text, [r](char32_t cp) { return cp == r; }, ranges);
    emitSplits(piece, ranges, SplitBehavior::MergedWithNext, false, emit);
  }

private:
  PrependScheme scheme;
  bool splitOnReplacement;
  char32_t replacementChar;
  std::string replacement;
};

/// Whitespace: `\w+|[^\w\s]+` kept, everything else removed.
class Whitespace final : public PreTokenizer {
public:
  void split(const Piece &piece, PieceSink emit) const override {
    enum Kind { Space, Word, Other } current = Space;
    size_t start = 0;
    auto flush = [&](size_t end) {
      if (current != Space && end > start)
        emit({piece.text.substr(start, end - start), piece.atOrigin && start == 0});
    };
    for (size_t pos = 0; pos < piece.text.size();) {
      char32_t cp;
      unsigned len = unicode::decode(piece.text, pos, cp);
      Kind kind = unicode::isWordCharacter(cp) ? Word
                  : unicode::isWhitespace(cp)  ? Space
                                               : Other;
      if (kind != current) {
        flush(pos);
        current = kind;
        start = pos;
      }
      pos += len;
    }
    flush(piece.text.size());
  }
};

class BertPreTokenizer final : public PreTokenizer {
public:
  void split(const Piece &piece, PieceSink emit) const override {
    std::vector<Range> ranges, wordRanges;
    charRanges(piece.text, unicode::isWhitespace, ranges);
    emitSplits(piece, ranges, SplitBehavior::Removed, false, [&](Piece word) {
      wordRanges.clear();
      charRanges(word.text, unicode::isPunctuation, wordRanges);
      emitSplits(word, wordRanges, SplitBehavior::Isolated, false, emit);
    });
  }
};

class PreTokenizerSequence final : public PreTokenizer {
public:
  explicit PreTokenizerSequence(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts(std::move(parts)) {}
  void split(const Piece &piece, PieceSink emit) const override { splitFrom(0, piece, emit); }

private:
  /// Runs parts[index..] on `piece`, each split of one part going on to the next.
  void splitFrom(size_t index, const Piece &piece, PieceSink emit) const {
    if (index == parts.size()) {
      emit(piece);
      return;
    }
    parts[index]->split(piece, [&](Piece next) { splitFrom(index + 1, next, emit); });
  }


private:
  std::vector<std::unique_ptr<PreTokenizer>> parts;
};

} // namespace

const std::string &byteLevelChar(unsigned char byte) {
  // GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
  // the others take codepoints from 256 on, in byte order.
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(256);
    char32_t next = 256;
    for (unsigned b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      unicode::append(t[b], printable ? static_cast<char32_t>(b) : next++);
    }
    return t;
  }();
  return table[byte];
}

std::unique_ptr<PreTokenizer> makeByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) {
  return std::make_unique<ByteLevelPreTokenizer>(addPrefixSpace, useRegex);
}
std::unique_ptr<PreTokenizer> makeSplit(std::shared_ptr<Regex> pattern, SplitBehavior behavior,
                                        bool invert) {
  return std::make_unique<SplitPreTokenizer>(std::move(pattern), behavior, invert);
}
std::unique_ptr<PreTokenizer> makeMetaspace(char32_t replacement, PrependScheme scheme,
                                            bool split) {
  return std::make_unique<Metaspace>(replacement, scheme, split);
}
std::unique_ptr<PreTokenizer> makeWhitespace() { return std::make_unique<Whitespace>(); }
std::unique_ptr<PreTokenizer> makeWhitespaceSplit() {
  return makeCharSplit(unicode::isWhitespace, SplitBehavior::Removed);
}
std::unique_ptr<PreTokenizer> makeBertPreTokenizer() {
  return std::make_unique<BertPreTokenizer>();
}
std::unique_ptr<PreTokenizer> makeDigits(bool individual) {
  return makeCharSplit(unicode::isNumeric,
                       individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
}
std::unique_ptr<PreTokenizer> makePunctuation(SplitBehavior behavior) {
  return makeCharSplit(unicode::isPunctuation, behavior);
}
std::unique_ptr<PreTokenizer> makeCharDelimiterSplit(char32_t delimiter) {
  return makeCharSplit([delimiter](char32_t cp) { return cp == delimiter; },
                       SplitBehavior::Removed);
}
std::unique_ptr<PreTokenizer>
makePreTokenizerSequence(std::vector<std::unique_ptr<PreTokenizer>> parts) {
  return std::make_unique<PreTokenizerSequence>(std::move(parts));
}

} // namespace tfc::tokenizer
