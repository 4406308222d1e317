//===- TdslWriter.h - What the importers share for writing tdsl -*- C++ -*-===//
//
// Both importers (a Hugging Face config.json, a GGUF file's metadata) write
// the same kind of file: a header comment naming the source, a config block
// whose entries each name the field they come from, and the forward pass. This
// internal header holds that writer and the two spelling rules they share.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_IMPORT_TDSLWRITER_H
#define TFC_IMPORT_TDSLWRITER_H

#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace tfc {

/// A double as tdsl spells a decimal: the shortest text that reads back
/// exactly, with a `.` or an exponent so that it stays a decimal.
std::string decimal(double v);

/// A tdsl identifier for a model called `name` (a directory or file name).
std::string modelIdentifier(llvm::StringRef name);

/// The tdsl file being written: a header comment, the config block (each
/// entry commented with its source field), the functions.
class TdslWriter {
public:
  void comment(llvm::StringRef text) { header += "# " + text.str() + "\n"; }
  void config(llvm::StringRef name, const std::string &value, llvm::StringRef source) {
    std::string line = "    " + name.str() + " = " + value;
    if (!source.empty())
      line += std::string(std::max<size_t>(1, 32 - line.size()), ' ') + "# " + source.str();
    configLines += line + "\n";
  }
  void config(llvm::StringRef name, int64_t value, llvm::StringRef source) {
    config(name, std::to_string(value), source);
  }
  void body(llvm::StringRef text) { bodyText += text.str(); }

  std::string finish(llvm::StringRef model) const {
    return header + "model " + model.str() + " {\n  config {\n" + configLines + "  }\n\n" +
           bodyText + "}\n";
  }

private:
  std::string header, configLines, bodyText;
};

} // namespace tfc

#endif // TFC_IMPORT_TDSLWRITER_H
