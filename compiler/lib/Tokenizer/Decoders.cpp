//===- Decoders.cpp - From token strings back to text ---------------------===//
//
// Hugging Face decoders work on the list of token strings (`decode_chain`)
// and the tokenizer concatenates what the last one returns. Each decoder
// here is its namesake in the Rust library's `decoders` module, including
// how bytes that are not UTF-8 become U+FFFD: ByteLevel replaces each
// maximal invalid subsequence once (from_utf8_lossy), ByteFallback replaces
// every byte of an invalid run.
//
//===----------------------------------------------------------------------===//
#include "Pipeline.h"
#include "Regex.h"
#include "Unicode.h"

#include "llvm/ADT/StringExtras.h"

#include <array>

namespace tfc::tokenizer {
namespace {

constexpr llvm::StringLiteral kReplacementChar = "\xEF\xBF\xBD";

class ByteLevelDecoder final : public Decoder {
public:
  ByteLevelDecoder() {
    charToByte.fill(-1);
    for (unsigned b = 0; b < 256; ++b) {
      char32_t cp;
      unicode::decode(byteLevelChar(static_cast<unsigned char>(b)), 0, cp);
      charToByte[cp] = static_cast<int16_t>(b);
    }
  }
  void decodeChain(std::vector<std::string> &tokens) const override {
    std::string bytes;
    for (const std::string &token : tokens) {
      size_t mark = bytes.size();
      bool mapped = true;
      for (size_t pos = 0; pos < token.size();) {
        char32_t cp;
        pos += unicode::decode(token, pos, cp);
        if (cp >= charToByte.size() || charToByte[cp] < 0) {
          mapped = false;
          break;
        }
        bytes.push_back(static_cast<char>(charToByte[cp]));
      }
      // A token with a character outside the alphabet (an added token) is
      // kept as its own bytes.
      if (!mapped) {
        bytes.resize(mark);
        bytes += token;
      }
    }
    std::string text;
    unicode::appendLossy(text, bytes);
    tokens.assign(1, std::move(text));
  }

private:
  // The alphabet's codepoints are all below 512 (256 + the 68 remapped bytes).
  std::array<int16_t, 512> charToByte;
};

class MetaspaceDecoder final : public Decoder {
public:
  MetaspaceDecoder(char32_t replacement, bool stripFirst) : stripFirst(stripFirst) {
    unicode::append(this->replacement, replacement);
  }
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      llvm::StringRef token = tokens[i];
      std::string out;
      for (size_t pos = 0; pos < token.size();) {
        if (token.substr(pos).starts_with(replacement)) {
          if (!(i == 0 && stripFirst))
            out.push_back(' ');
          pos += replacement.size();
          continue;
        }
        out.push_back(token[pos++]);
      }
      tokens[i] = std::move(out);
    }
  }

private:
  std::string replacement;
  bool stripFirst;
};

std::string replaceAll(llvm::StringRef text, llvm::StringRef from, llvm::StringRef to) {
  std::string out;
  for (size_t pos = 0;;) {
    size_t hit = text.find(from, pos);
    if (hit == llvm::StringRef::npos) {
      out.append(text.data() + pos, text.size() - pos);
      return out;
    }
    out.append(text.data() + pos, hit - pos);
    out += to;
    pos = hit + from.size();
  }
}

class WordPieceDecoder final : public Decoder {
public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix(std::move(prefix)), cleanup(cleanup) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string &token = tokens[i];
      if (i != 0) {
        if (llvm::StringRef(token).starts_with(prefix))
          token.erase(0, prefix.size());
        else
          token.insert(0, " ");
      }
      if (cleanup) {
        // decoders::wordpiece::cleanup, in its order.
        static const std::pair<const char *, const char *> rules[] = {
            {" .", "."},   {" ?", "?"},   {" !", "!"},   {" ,", ","},
            {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"},
            {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
        for (const auto &[from, to] : rules)
          token = replaceAll(token, from, to);
      }
    }
  }

private:
  std::string prefix;
  bool cleanup;
};

/// The byte of a `<0xNN>` token, or -1.
int byteOfToken(llvm::StringRef token) {
  if (token.size() != 6 || !token.starts_with("<0x") || !token.ends_with(">"))
    return -1;
  unsigned value;
  if (token.substr(3, 2).getAsInteger(16, value))
    return -1;
  return static_cast<int>(value);
}

class ByteFallbackDecoder final : public Decoder {
public:
  void decodeChain(std::vector<std::string> &tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    auto flush = [&] {
      if (bytes.empty())
        return;
      if (llvm::Error err = unicode::validate(bytes)) {
        llvm::consumeError(std::move(err));
        for (size_t i = 0; i < bytes.size(); ++i)
          out.emplace_back(kReplacementChar);
      } else {
        out.push_back(bytes);
      }
      bytes.clear();
    };
    for (std::string &token : tokens) {
      int byte = byteOfToken(token);
      if (byte >= 0) {
        bytes.push_back(static_cast<char>(byte));
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDecoder final : public Decoder {
public:
  void decodeChain(std::vector<std::string> &tokens) const override {
    std::string all;
    for (const std::string &token : tokens)
      all += token;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder final : public Decoder {
public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content(content), start(start), stop(stop) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (std::string &token : tokens) {
      std::vector<std::pair<size_t, char32_t>> chars; // (byte offset, codepoint)
      for (size_t pos = 0; pos < token.size();) {
        char32_t cp;
        unsigned len = unicode::decode(token, pos, cp);
        chars.push_back({pos, cp});
        pos += len;
      }
      size_t startCut = 0;
      for (size_t i = 0; i < start && i < chars.size() && chars[i].second == content; ++i)
        startCut = i + 1;
      size_t stopCut = chars.size();
      for (size_t i = 0; i < stop && i < chars.size(); ++i) {
        size_t index = chars.size() - i - 1;
        if (chars[index].second != content)
          break;
        stopCut = index;
      }
      if (stopCut <= startCut) {
        token.clear();
        continue;
      }
      size_t from = startCut < chars.size() ? chars[startCut].first : token.size();
      size_t to = stopCut < chars.size() ? chars[stopCut].first : token.size();
      token = token.substr(from, to - from);
    }
  }

private:
  char32_t content;
  size_t start, stop;
};

class ReplaceDecoder final : public Decoder {
public:
  ReplaceDecoder(std::shared_ptr<Regex> pattern, std::string content)
      : replace(makeReplace(std::move(pattern), std::move(content))) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (std::string &token : tokens)
      replace->normalize(token);
  }

private:
  std::unique_ptr<Normalizer> replace;
};

class BpeDecoder final : public Decoder {
public:
  explicit BpeDecoder(std::string suffix) : suffix(std::move(suffix)) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = replaceAll(tokens[i], suffix, i + 1 == tokens.size() ? "" : " ");
  }

private:
  std::string suffix;
};

class DecoderSequence final : public Decoder {
public:
  explicit DecoderSequence(std::vector<std::unique_ptr<Decoder>> parts) : parts(std::move(parts)) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (const auto &part : parts)
      part->decodeChain(tokens);
  }

private:
  std::vector<std::unique_ptr<Decoder>> parts;
};

class Llama2cDecoder final : public Decoder {
public:
  Llama2cDecoder(std::string bos, std::string eos) : bos(std::move(bos)), eos(std::move(eos)) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    bool afterBos = false;
    for (std::string &token : tokens) {
      bool isBos = token == bos;
      if (isBos || token == eos) {
        token.clear();
      } else {
        // SentencePiece strips the dummy prefix's space from the first piece.
        if (afterBos && llvm::StringRef(token).starts_with(" "))
          token.erase(0, 1);
        int byte = byteOfToken(token);
        if (byte >= 0)
          token.assign(1, static_cast<char>(byte));
      }
      afterBos = isBos;
    }
  }

private:
  std::string bos, eos;
};

} // namespace

std::unique_ptr<Decoder> makeByteLevelDecoder() { return std::make_unique<ByteLevelDecoder>(); }
std::unique_ptr<Decoder> makeMetaspaceDecoder(char32_t replacement, bool stripFirst) {
  return std::make_unique<MetaspaceDecoder>(replacement, stripFirst);
}
std::unique_ptr<Decoder> makeWordPieceDecoder(std::string prefix, bool cleanup) {
  return std::make_unique<WordPieceDecoder>(std::move(prefix), cleanup);
}
std::unique_ptr<Decoder> makeByteFallbackDecoder() {
  return std::make_unique<ByteFallbackDecoder>();
}
std::unique_ptr<Decoder> makeFuseDecoder() { return std::make_unique<FuseDecoder>(); }
std::unique_ptr<Decoder> makeStripDecoder(char32_t content, size_t start, size_t stop) {
  return std::make_unique<StripDecoder>(content, start, stop);
}
std::unique_ptr<Decoder> makeReplaceDecoder(std::shared_ptr<Regex> pattern, std::string content) {
  return std::make_unique<ReplaceDecoder>(std::move(pattern), std::move(content));
}
std::unique_ptr<Decoder> makeBpeDecoder(std::string suffix) {
  return std::make_unique<BpeDecoder>(std::move(suffix));
}
std::unique_ptr<Decoder> makeDecoderSequence(std::vector<std::unique_ptr<Decoder>> parts) {
  return std::make_unique<DecoderSequence>(std::move(parts));
}
std::unique_ptr<Decoder> makeLlama2cDecoder(std::string bosPiece, std::string eosPiece) {
  return std::make_unique<Llama2cDecoder>(std::move(bosPiece), std::move(eosPiece));
}

} // namespace tfc::tokenizer
