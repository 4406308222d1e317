//===- TdslRewrite.cpp - Rewriting attention(...) calls in tdsl source ------===//
//
// A call is found at the line and column MLIRGen recorded for it, its
// argument list split at top-level commas (strings and comments skipped as
// the lexer does), positional arguments named by attention's parameter order,
// and the whole call replaced by `attention(<rewritten arguments>)`.
//
//===----------------------------------------------------------------------===//

#include "TdslRewrite.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <algorithm>

namespace tfc::convert {

namespace {

/// attention's parameters in positional order (docs/tdsl.md §6).
constexpr const char *kAttentionParams[] = {"x",    "heads",  "kv_heads", "head_dim", "causal",
                                            "rope", "memory", "bias",     "latent"};

/// Offset of (line, col) in `source`, or npos.
size_t offsetOf(llvm::StringRef source, unsigned line, unsigned col) {
  size_t offset = 0;
  for (unsigned l = 1; l < line; ++l) {
    offset = source.find('\n', offset);
    if (offset == llvm::StringRef::npos)
      return offset;
    ++offset;
  }
  offset += col - 1;
  return offset <= source.size() ? offset : llvm::StringRef::npos;
}

/// Splits the text between a call's parentheses, starting after '(' at
/// `begin`, into top-level arguments; returns the offset of the closing ')'.
size_t splitArguments(llvm::StringRef source, size_t begin, std::vector<std::string> &args) {
  int depth = 0;
  std::string current;
  for (size_t i = begin; i < source.size(); ++i) {
    char c = source[i];
    if (c == '"') { // strings have no escapes
      size_t end = source.find('"', i + 1);
      if (end == llvm::StringRef::npos)
        return end;
      current += source.slice(i, end + 1).str();
      i = end;
      continue;
    }
    if (c == '#') { // a comment runs to the end of the line
      size_t end = source.find('\n', i);
      if (end == llvm::StringRef::npos)
        return end;
      i = end;
      current += ' ';
      continue;
    }
    if (c == '(')
      ++depth;
    if (c == ')' && depth-- == 0) {
      if (!llvm::StringRef(current).trim().empty())
        args.push_back(llvm::StringRef(current).trim().str());
      return i;
    }
    if (c == ',' && depth == 0) {
      args.push_back(llvm::StringRef(current).trim().str());
      current.clear();
      continue;
    }
    current += (c == '\n' || c == '\t') ? ' ' : c;
  }
  return llvm::StringRef::npos;
}

/// `name = value` when the text starts with a name and a lone '='.
bool splitKeyword(llvm::StringRef text, std::string &name, std::string &value) {
  size_t end = 0;
  while (end < text.size() && (llvm::isAlnum(text[end]) || text[end] == '_'))
    ++end;
  if (end == 0 || llvm::isDigit(text[0]))
    return false;
  llvm::StringRef rest = text.drop_front(end).ltrim();
  if (!rest.consume_front("="))
    return false;
  name = text.take_front(end).str();
  value = rest.trim().str();
  return true;
}

} // namespace

bool rewriteAttentionCalls(llvm::StringRef source, std::vector<CallEdit> edits,
                           std::string &result, std::string &error) {
  struct Replacement {
    size_t begin, end;
    std::string text;
  };
  std::vector<Replacement> replacements;
  for (CallEdit &edit : edits) {
    std::string where = std::to_string(edit.line) + ":" + std::to_string(edit.col);
    size_t begin = offsetOf(source, edit.line, edit.col);
    if (begin == llvm::StringRef::npos || !source.substr(begin).starts_with("attention")) {
      error = "no attention(...) call at " + where;
      return false;
    }
    size_t open = source.find_first_not_of(" \t", begin + strlen("attention"));
    std::vector<std::string> texts;
    size_t close = open == llvm::StringRef::npos || source[open] != '('
                       ? llvm::StringRef::npos
                       : splitArguments(source, open + 1, texts);
    if (close == llvm::StringRef::npos) {
      error = "the attention(...) call at " + where + " does not close";
      return false;
    }
    CallArguments args;
    size_t positional = 0;
    for (const std::string &text : texts) {
      std::string name, value;
      if (splitKeyword(text, name, value))
        args.emplace_back(name, value);
      else if (positional < std::size(kAttentionParams))
        args.emplace_back(kAttentionParams[positional++], text);
    }
    std::string call = "attention(";
    for (auto [i, arg] : llvm::enumerate(edit.rewrite(args))) {
      if (i)
        call += ", ";
      call += i == 0 && arg.first == "x" ? arg.second : arg.first + " = " + arg.second;
    }
    call += ")";
    replacements.push_back({begin, close + 1, std::move(call)});
  }
  std::sort(replacements.begin(), replacements.end(),
            [](const Replacement &a, const Replacement &b) { return a.begin < b.begin; });
  result.clear();
  size_t at = 0;
  for (const Replacement &r : replacements) {
    result += source.slice(at, r.begin).str();
    result += r.text;
    at = r.end;
  }
  result += source.substr(at).str();
  return true;
}

} // namespace tfc::convert
