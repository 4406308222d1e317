//===- Regex.cpp - PCRE2 patterns for split and replace -------------------===//
//
// Empty matches are stepped over by one character, as Rust's iterators do, and
// never reported: a split or replace at an empty match changes nothing in the
// Rust library either (empty splits are dropped).
//
//===----------------------------------------------------------------------===//
#include "Regex.h"

#include "Unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace tfc::tokenizer {

struct Regex::Impl {
  pcre2_code *code = nullptr;
  pcre2_match_data *matchData = nullptr;
  pcre2_match_context *context = nullptr;
  pcre2_jit_stack *jitStack = nullptr;
  ~Impl() {
    pcre2_match_data_free(matchData);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jitStack);
    pcre2_code_free(code);
  }
};

Regex::~Regex() = default;

llvm::Expected<std::shared_ptr<Regex>> Regex::compile(llvm::StringRef pattern, bool literal) {
  // UCP only changes classes, which a literal has none of (and PCRE2 rejects).
  uint32_t options = PCRE2_UTF | PCRE2_NO_UTF_CHECK | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  int errorCode = 0;
  PCRE2_SIZE errorOffset = 0;
  pcre2_code *code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &errorCode, &errorOffset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(errorCode, message, sizeof(message));
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "invalid regex '" + pattern + "' at offset " +
                                       llvm::Twine(errorOffset) + ": " +
                                       reinterpret_cast<char *>(message));
  }
  std::shared_ptr<Regex> regex(new Regex());
  regex->impl = std::make_unique<Impl>();
  regex->impl->code = code;
  regex->impl->matchData = pcre2_match_data_create_from_pattern(code, nullptr);
  regex->impl->context = pcre2_match_context_create(nullptr);
  // JIT is optional: without it (or if it fails) pcre2_match interprets.
  if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0) {
    // Long whitespace runs under `\s+(?!\S)` need more than the default 32 KiB.
    regex->impl->jitStack = pcre2_jit_stack_create(64 * 1024, 16 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(regex->impl->context, nullptr, regex->impl->jitStack);
  }
  return regex;
}

void Regex::forEachMatch(llvm::StringRef text,
                         llvm::function_ref<void(size_t, size_t)> onMatch) const {
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(impl->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK,
                         impl->matchData, impl->context);
    if (rc < 0)
      return; // no match (or a resource limit: the rest stays unmatched)
    PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(impl->matchData);
    size_t start = ovector[0], end = ovector[1];
    if (end > start) {
      onMatch(start, end);
      pos = end;
    } else {
      if (start >= text.size())
        return;
      pos = start + unicode::sequenceLength(static_cast<unsigned char>(text[start]));
    }
  }
}

} // namespace tfc::tokenizer
