//===- Values.cpp - How tdsl values read in diagnostics ---------------------===//
//
// The spelling of values and shapes in the front end's error messages, in one
// place so that every part of the front end writes `tensor [n, 64]` and
// `number 1e-05` the same way.
//
//===----------------------------------------------------------------------===//

#include "Values.h"

#include "llvm/ADT/STLExtras.h"

#include <cstdio>
#include <cstdlib>

namespace tfc::frontend {

std::string shapeOf(int64_t width) { return "[n, " + std::to_string(width) + "]"; }

std::string shapeOf(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [k, d] : llvm::enumerate(shape))
    s += (k ? ", " : "") + std::to_string(d);
  return s + "]";
}

std::string formatDouble(double v) {
  for (int precision = 1; precision <= 17; ++precision) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v)
      return buf;
  }
  return std::to_string(v);
}

std::string describe(const Val &v) {
  switch (v.kind) {
  case Val::Int: return "integer " + std::to_string(v.i);
  case Val::Float: return "number " + formatDouble(v.f);
  case Val::Bool: return v.b ? "boolean true" : "boolean false";
  case Val::Str: return "string \"" + v.s + "\"";
  case Val::Tensor: return "tensor " + shapeOf(v.width);
  case Val::Tokens: return "token ids";
  case Val::LoopIndex: return "loop index";
  case Val::Rope: return "rope(...)";
  case Val::Mla: return "mla(...)";
  }
  return "value";
}

} // namespace tfc::frontend
