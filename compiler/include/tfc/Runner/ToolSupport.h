//===- ToolSupport.h - What tfc-run and tfc-serve share ---------*- C++ -*-===//
//
// The command-line front of the tools that run models (one-line errors in
// the tool's name for unknown options and missing values, which LLVM's cl
// would otherwise report in its own words or misread as option groups) and
// the tokenizer as generation uses it (a tokenizer_config.json beside a
// tokenizer.json applied, as transformers' fast tokenizers do).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNNER_TOOLSUPPORT_H
#define TFC_RUNNER_TOOLSUPPORT_H

#include "tfc/Tokenizer/Tokenizer.h"

#include "llvm/Support/CommandLine.h"

#include <optional>

namespace tfc {

/// Parses argv with cl, showing only `category` in --help. On a bad command
/// line prints `<tool>: error: ...` (one line) to stderr and returns false.
bool parseToolCommandLine(int argc, char **argv, llvm::StringRef tool, const char *overview,
                          llvm::cl::OptionCategory &category);

/// A tokenizer for generation: `path` loaded, and when it is a
/// tokenizer.json with a tokenizer_config.json beside it, that file's
/// BOS/EOS choices applied (also returned through `config` when given).
llvm::Expected<tokenizer::Tokenizer>
loadGenerationTokenizer(llvm::StringRef path,
                        std::optional<tokenizer::GenerationConfig> *config = nullptr);

/// The tokenizer_config.json beside a tokenizer.json, or "" when `path` is
/// no tokenizer.json or there is none.
std::string tokenizerConfigPath(llvm::StringRef path);

} // namespace tfc

#endif // TFC_RUNNER_TOOLSUPPORT_H
