//===- Normalizers.cpp - tokenizer.json normalizers -----------------------===//
//
// Each normalizer rewrites the text before pre-tokenization, exactly as its
// namesake in the Rust library's `normalizers` module, minus the alignment
// bookkeeping (no offsets are produced here). Character classes come from
// Unicode.h so that BertNormalizer's notion of whitespace, control and
// Chinese character matches the reference.
//
//===----------------------------------------------------------------------===//
#include "Pipeline.h"
#include "Regex.h"
#include "Unicode.h"

namespace tfc::tokenizer {
namespace {

/// Rewrites `text` one codepoint at a time.
template <typename Fn> void mapCodepoints(std::string &text, Fn &&fn) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    char32_t cp;
    pos += unicode::decode(text, pos, cp);
    fn(cp, out);
  }
  text = std::move(out);
}

class UnicodeNormalizer final : public Normalizer {
public:
  explicit UnicodeNormalizer(unicode::Form form) : form(form) {}
  void normalize(std::string &text) const override {
    // ASCII is invariant under every form; skip the copy.
    for (unsigned char c : text)
      if (c >= 0x80) {
        text = unicode::normalize(text, form);
        return;
      }
  }

private:
  unicode::Form form;
};

class Lowercase final : public Normalizer {
public:
  void normalize(std::string &text) const override {
    mapCodepoints(text, [](char32_t cp, std::string &out) { unicode::appendLowercase(out, cp); });
  }
};

class StripAccents final : public Normalizer {
public:
  void normalize(std::string &text) const override {
    mapCodepoints(text, [](char32_t cp, std::string &out) {
      if (!unicode::isMark(cp))
        unicode::append(out, cp);
    });
  }
};

class Strip final : public Normalizer {
public:
  Strip(bool left, bool right) : left(left), right(right) {}
  void normalize(std::string &text) const override {
    llvm::StringRef kept = text;
    if (left)
      kept = kept.drop_front(unicode::leadingWhitespace(kept));
    if (right)
      kept = kept.take_front(unicode::trailingWhitespaceStart(kept));
    text = kept.str();
  }

private:
  bool left, right;
};

class Prepend final : public Normalizer {
public:
  explicit Prepend(std::string prefix) : prefix(std::move(prefix)) {}
  void normalize(std::string &text) const override {
    if (!text.empty())
      text.insert(0, prefix);
  }

private:
  std::string prefix;
};

class Replace final : public Normalizer {
public:
  Replace(std::shared_ptr<Regex> pattern, std::string content)
      : pattern(std::move(pattern)), content(std::move(content)) {}
  void normalize(std::string &text) const override {
    std::string out;
    size_t last = 0;
    pattern->forEachMatch(text, [&](size_t start, size_t end) {
      out.append(text, last, start - last);
      out += content;
      last = end;
    });
    if (last == 0 && out.empty())
      return;
    out.append(text, last, std::string::npos);
    text = std::move(out);
  }

private:
  std::shared_ptr<Regex> pattern;
  std::string content;
};

bool isChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

class BertNormalizer final : public Normalizer {
public:
  BertNormalizer(bool cleanText, bool chineseChars, bool stripAccents, bool lowercase)
      : cleanText(cleanText), chineseChars(chineseChars), stripAccents(stripAccents),
        lowercase(lowercase) {}
  void normalize(std::string &text) const override {
    if (cleanText || chineseChars)
      mapCodepoints(text, [&](char32_t cp, std::string &out) {
        if (cleanText) {
          bool isControl = cp != '\t' && cp != '\n' && cp != '\r' && unicode::isOther(cp);
          if (cp == 0 || cp == 0xFFFD || isControl)
            return;
          if (cp == '\t' || cp == '\n' || cp == '\r' || unicode::isWhitespace(cp))
            cp = ' ';
        }
        if (chineseChars && isChineseChar(cp)) {
          out.push_back(' ');
          unicode::append(out, cp);
          out.push_back(' ');
          return;
        }
        unicode::append(out, cp);
      });
    if (stripAccents) {
      text = unicode::normalize(text, unicode::Form::NFD);
      mapCodepoints(text, [](char32_t cp, std::string &out) {
        if (!unicode::isNonSpacingMark(cp))
          unicode::append(out, cp);
      });
    }
    if (lowercase)
      Lowercase().normalize(text);
  }

private:
  bool cleanText, chineseChars, stripAccents, lowercase;
};

class NormalizerSequence final : public Normalizer {
public:
  explicit NormalizerSequence(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts(std::move(parts)) {}
  void normalize(std::string &text) const override {
    for (const auto &part : parts)
      part->normalize(text);
  }

private:
  std::vector<std::unique_ptr<Normalizer>> parts;
};

} // namespace

std::unique_ptr<Normalizer> makeUnicodeNormalizer(int form) {
  return std::make_unique<UnicodeNormalizer>(static_cast<unicode::Form>(form));
}
std::unique_ptr<Normalizer> makeLowercase() { return std::make_unique<Lowercase>(); }
std::unique_ptr<Normalizer> makeStripAccents() { return std::make_unique<StripAccents>(); }
std::unique_ptr<Normalizer> makeStrip(bool left, bool right) {
  return std::make_unique<Strip>(left, right);
}
std::unique_ptr<Normalizer> makePrepend(std::string prefix) {
  return std::make_unique<Prepend>(std::move(prefix));
}
std::unique_ptr<Normalizer> makeReplace(std::shared_ptr<Regex> pattern, std::string content) {
  return std::make_unique<Replace>(std::move(pattern), std::move(content));
}
std::unique_ptr<Normalizer> makeBertNormalizer(bool cleanText, bool chineseChars,
                                               bool stripAccents, bool lowercase) {
  return std::make_unique<BertNormalizer>(cleanText, chineseChars, stripAccents, lowercase);
}
std::unique_ptr<Normalizer> makeNormalizerSequence(std::vector<std::unique_ptr<Normalizer>> parts) {
  return std::make_unique<NormalizerSequence>(std::move(parts));
}

} // namespace tfc::tokenizer
