//===- ToolSupport.cpp - What tfc-run and tfc-serve share -----------------===//
//
// Moved from tfc-run when tfc-serve came: both tools report command-line
// errors the same way and read tokenizers the same way.
//
//===----------------------------------------------------------------------===//
#include "tfc/Runner/ToolSupport.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

using namespace tfc;
namespace cl = llvm::cl;

namespace {

/// Rejects arguments that name no registered option. cl would otherwise try
/// to read `--nope` as the group `-n ope`, and its complaint about -n bypasses
/// the error stream parseCommandLine captures.
bool checkOptionNames(int argc, char **argv, llvm::StringRef tool) {
  llvm::StringMap<cl::Option *> &options = cl::getRegisteredOptions();
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg == "--")
      return true; // the rest is positional
    if (!arg.starts_with("-") || arg == "-")
      continue;
    llvm::StringRef name = arg.drop_while([](char c) { return c == '-'; });
    auto [key, value] = name.split('=');
    auto it = options.find(key);
    if (it == options.end()) {
      fmt::print(stderr, "{0}: error: unknown option '{1}' (see {0} --help)\n", tool.str(),
                 arg.str());
      return false;
    }
    if (name.contains('=') || it->second->getValueExpectedFlag() != cl::ValueRequired)
      continue;
    if (i + 1 == argc) {
      fmt::print(stderr, "{}: error: option '{}' needs a value\n", tool.str(), arg.str());
      return false;
    }
    ++i; // the next argument is this option's value, whatever it looks like
  }
  return true;
}

} // namespace

bool tfc::parseToolCommandLine(int argc, char **argv, llvm::StringRef tool, const char *overview,
                               cl::OptionCategory &category) {
  cl::HideUnrelatedOptions(category);
  if (!checkOptionNames(argc, argv, tool))
    return false;
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (cl::ParseCommandLineOptions(argc, argv, overview, &os))
    return true;
  llvm::StringRef first = llvm::StringRef(os.str()).split('\n').first.trim();
  first.consume_front((tool + ": ").str());
  if (first.empty()) // cl reported straight to stderr (after a prefix check we missed)
    first = "invalid command line";
  fmt::print(stderr, "{}: error: {}\n", tool.str(), first.str());
  return false;
}

std::string tfc::tokenizerConfigPath(llvm::StringRef path) {
  if (!path.ends_with(".json"))
    return "";
  llvm::SmallString<256> config(llvm::sys::path::parent_path(path));
  llvm::sys::path::append(config, "tokenizer_config.json");
  return llvm::sys::fs::exists(config) ? std::string(config) : "";
}

llvm::Expected<tokenizer::Tokenizer>
tfc::loadGenerationTokenizer(llvm::StringRef path,
                             std::optional<tokenizer::GenerationConfig> *config) {
  auto tok = tokenizer::Tokenizer::load(path);
  if (!tok)
    return tok.takeError();
  std::string configPath = tokenizerConfigPath(path);
  if (configPath.empty())
    return tok;
  auto generation = tokenizer::readGenerationConfig(configPath);
  if (!generation)
    return generation.takeError();
  if (llvm::Error err = tok->applyGenerationConfig(*generation))
    return err;
  if (config)
    *config = *generation;
  return tok;
}
