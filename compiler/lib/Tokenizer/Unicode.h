//===- Unicode.h - UTF-8 and Unicode properties for the tokenizer -*- C++ -*-===//
//
// The few Unicode services the tokenizer pipeline needs, all answered by
// utf8proc (normalization forms, general categories, case mapping) so that
// no table is written by hand: UTF-8 validation with the byte offset of the
// first bad byte, codepoint iteration, and the character classes that the
// Rust `tokenizers` library takes from Rust's `char` methods.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TOKENIZER_UNICODE_H
#define TFC_LIB_TOKENIZER_UNICODE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace tfc::tokenizer::unicode {

/// Fails with "invalid UTF-8 at byte offset N" on the first bad sequence.
llvm::Error validate(llvm::StringRef text);

/// Decodes the codepoint starting at `text[pos]` of valid UTF-8 and returns
/// its byte length.
inline unsigned decode(llvm::StringRef text, size_t pos, char32_t &cp) {
  auto b = static_cast<unsigned char>(text[pos]);
  if (b < 0x80) {
    cp = b;
    return 1;
  }
  unsigned len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
  cp = b & (0xFF >> (len + 1));
  for (unsigned i = 1; i < len; ++i)
    cp = (cp << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  return len;
}

/// Start of the codepoint that ends at byte `end` (> 0) of valid UTF-8.
inline size_t previousStart(llvm::StringRef text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
    --start;
  return start;
}

/// Byte length of the UTF-8 sequence that starts with `lead`.
inline unsigned sequenceLength(unsigned char lead) {
  return lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
}

void append(std::string &out, char32_t cp);

enum class Form { NFC, NFD, NFKC, NFKD };
std::string normalize(llvm::StringRef text, Form form);

/// Rust's `char::to_lowercase`, one character at a time (no final-sigma rule).
void appendLowercase(std::string &out, char32_t cp);

/// Rust's `char::is_whitespace` (the White_Space property).
bool isWhitespace(char32_t cp);
/// Bytes of the whitespace run that starts `text` (Rust's `^\s*`).
size_t leadingWhitespace(llvm::StringRef text);
/// Where the whitespace run that ends `text` starts (Rust's `\s*$`).
size_t trailingWhitespaceStart(llvm::StringRef text);
/// Rust's `char::is_numeric` (Nd, Nl, No).
bool isNumeric(char32_t cp);
/// `is_ascii_punctuation || is_punctuation` (P*), BERT's punctuation.
bool isPunctuation(char32_t cp);
/// General category Mark (Mn, Mc, Me).
bool isMark(char32_t cp);
/// General category Mn.
bool isNonSpacingMark(char32_t cp);
/// General category C* other than Cc's tab/newline/carriage return (BERT's control).
bool isOther(char32_t cp);
/// Rust regex's `\w`: Alphabetic, M, Nd, Pc, Join_Control.
bool isWordCharacter(char32_t cp);

/// Appends `bytes` as Rust's `String::from_utf8_lossy` does: each maximal
/// invalid subsequence becomes one U+FFFD.
void appendLossy(std::string &out, llvm::StringRef bytes);

} // namespace tfc::tokenizer::unicode

#endif // TFC_LIB_TOKENIZER_UNICODE_H
