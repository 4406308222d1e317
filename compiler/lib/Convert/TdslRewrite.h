//===- TdslRewrite.h - Rewriting attention(...) calls in tdsl source -*- C++ -*-===//
//
// `tfc convert` writes the converted model as the original .tdsl text with
// each converted attention(...) call replaced, so comments, names and layout
// of everything else stay as the user wrote them.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERT_TDSLREWRITE_H
#define TFC_CONVERT_TDSLREWRITE_H

#include "llvm/ADT/StringRef.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tfc::convert {

/// The arguments of a call as written: name (positional ones get their
/// parameter's name) and source text of the value, in order.
using CallArguments = std::vector<std::pair<std::string, std::string>>;

struct CallEdit {
  unsigned line = 0, col = 0; // where the callee's name starts (1-based)
  /// Receives the arguments and returns the replacement argument list.
  std::function<CallArguments(const CallArguments &)> rewrite;
};

/// Applies the edits to `source`; the callee at each position must be one of
/// `attention(x, heads, kv_heads, ...)` (positional parameters named in
/// tdsl's order). Returns false with `error` set if a call cannot be found.
bool rewriteAttentionCalls(llvm::StringRef source, std::vector<CallEdit> edits,
                           std::string &result, std::string &error);

} // namespace tfc::convert

#endif // TFC_CONVERT_TDSLREWRITE_H
