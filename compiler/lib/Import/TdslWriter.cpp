//===- TdslWriter.cpp - Spelling rules the importers share ----------------===//

#include "TdslWriter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tfc {

std::string decimal(double v) {
  char buf[64];
  // Integral values as people write them (10000.0, not 1e+04).
  if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.1f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos)
    s += ".0";
  return s;
}

std::string modelIdentifier(llvm::StringRef name) {
  std::string id;
  for (char ch : name)
    id += llvm::isAlnum(ch) ? ch : '_';
  if (id.empty() || llvm::isDigit(id[0]))
    id = "m_" + id;
  static const char *const keywords[] = {"model", "config", "decoder", "encoder", "for",
                                         "in",    "return", "true",    "false"};
  if (llvm::is_contained(keywords, llvm::StringRef(id)))
    id += "_model";
  return id;
}

} // namespace tfc
