//===- Regex.h - PCRE2 patterns for split and replace -------------*- C++ -*-===//
//
// tokenizer.json's regexes are Oniguruma patterns (`\p{L}`, look-ahead,
// `(?i:...)`); PCRE2 with UTF and UCP reads them with the same meaning. A
// Regex is compiled once (JIT when the library has it) and scanned with
// forEachMatch, which reports non-empty matches left to right as Rust's
// `find_iter` does. Not thread-safe: a Regex keeps its match buffers.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TOKENIZER_REGEX_H
#define TFC_LIB_TOKENIZER_REGEX_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace tfc::tokenizer {

class Regex {
public:
  ~Regex();
  /// Compiles `pattern`; `literal` matches it as plain text (tokenizer.json's
  /// `{"String": ...}` patterns). Errors quote the pattern and PCRE2's message.
  static llvm::Expected<std::shared_ptr<Regex>> compile(llvm::StringRef pattern, bool literal);

  /// Calls `onMatch(start, end)` for each non-empty match in `text`.
  void forEachMatch(llvm::StringRef text,
                    llvm::function_ref<void(size_t, size_t)> onMatch) const;

private:
  Regex() = default;
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace tfc::tokenizer

#endif // TFC_LIB_TOKENIZER_REGEX_H
