//===- Unicode.cpp - UTF-8 and Unicode properties for the tokenizer -------===//
//
// Thin wrappers over utf8proc. The one list written out here is White_Space
// (25 codepoints, fixed since Unicode 6.2), which utf8proc does not expose as
// a property; everything else is a general-category test.
//
//===----------------------------------------------------------------------===//
#include "Unicode.h"

#include <utf8proc.h>

#include <cstdlib>

namespace tfc::tokenizer::unicode {

llvm::Error validate(llvm::StringRef text) {
  const auto *bytes = reinterpret_cast<const utf8proc_uint8_t *>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    if (bytes[pos] < 0x80) {
      ++pos;
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate(bytes + pos, text.size() - pos, &cp);
    if (len <= 0)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "invalid UTF-8 at byte offset " + llvm::Twine(pos));
    pos += len;
  }
  return llvm::Error::success();
}

void append(std::string &out, char32_t cp) {
  utf8proc_uint8_t buf[4];
  utf8proc_ssize_t len = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  out.append(reinterpret_cast<char *>(buf), len);
}

std::string normalize(llvm::StringRef text, Form form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
  case Form::NFC:
    options |= UTF8PROC_COMPOSE;
    break;
  case Form::NFD:
    options |= UTF8PROC_DECOMPOSE;
    break;
  case Form::NFKC:
    options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    break;
  case Form::NFKD:
    options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    break;
  }
  utf8proc_uint8_t *result = nullptr;
  utf8proc_ssize_t len =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t *>(text.data()), text.size(), &result,
                   static_cast<utf8proc_option_t>(options));
  if (len < 0) // only on invalid input, which the pipeline has rejected
    return text.str();
  std::string out(reinterpret_cast<char *>(result), len);
  std::free(result);
  return out;
}

void appendLowercase(std::string &out, char32_t cp) {
  // U+0130 is the one codepoint whose full lowercase mapping (Rust's) is two
  // characters while utf8proc gives the simple one.
  if (cp == 0x130) {
    out += "i\xCC\x87";
    return;
  }
  append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
}

bool isWhitespace(char32_t cp) {
  switch (cp) {
  case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
  case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200A;
  }
}

size_t leadingWhitespace(llvm::StringRef text) {
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    unsigned len = decode(text, pos, cp);
    if (!isWhitespace(cp))
      break;
    pos += len;
  }
  return pos;
}

size_t trailingWhitespaceStart(llvm::StringRef text) {
  size_t end = text.size();
  while (end > 0) {
    size_t start = previousStart(text, end);
    char32_t cp;
    decode(text, start, cp);
    if (!isWhitespace(cp))
      break;
    end = start;
  }
  return end;
}

static utf8proc_category_t category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

bool isNumeric(char32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

bool isPunctuation(char32_t cp) {
  if (cp < 0x80)
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
           (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
  auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool isMark(char32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

bool isNonSpacingMark(char32_t cp) { return category(cp) == UTF8PROC_CATEGORY_MN; }

bool isOther(char32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_CN || c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF ||
         c == UTF8PROC_CATEGORY_CS || c == UTF8PROC_CATEGORY_CO;
}

bool isWordCharacter(char32_t cp) {
  if (cp == 0x200C || cp == 0x200D)
    return true;
  auto c = category(cp);
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ND) || c == UTF8PROC_CATEGORY_NL ||
         c == UTF8PROC_CATEGORY_PC;
}

void appendLossy(std::string &out, llvm::StringRef bytes) {
  const auto *data = reinterpret_cast<const unsigned char *>(bytes.data());
  size_t pos = 0, n = bytes.size();
  while (pos < n) {
    unsigned char b = data[pos];
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++pos;
      continue;
    }
    // The longest prefix of a well-formed sequence (the Unicode "maximal
    // subpart" rule that Rust follows): its bytes become one U+FFFD.
    unsigned need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0)
        lo = 0xA0;
      if (b == 0xED)
        hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0)
        lo = 0x90;
      if (b == 0xF4)
        hi = 0x8F;
    } else {
      out += "\xEF\xBF\xBD";
      ++pos;
      continue;
    }
    size_t i = 1;
    for (; i <= need && pos + i < n; ++i) {
      unsigned char c = data[pos + i];
      unsigned char low = i == 1 ? lo : 0x80, high = i == 1 ? hi : 0xBF;
      if (c < low || c > high)
        break;
    }
    if (i == need + 1)
      out.append(bytes.data() + pos, need + 1);
    else
      out += "\xEF\xBF\xBD";
    pos += i;
  }
}

} // namespace tfc::tokenizer::unicode
