//===- JsonText.h - Parsing JSON text with the place of the first error ---===//
//
// The JSON a weight file carries (a safetensors header, a sharded checkpoint's
// index) is parsed without exceptions; when it is invalid, the message says
// where: nlohmann's non-throwing DOM parse only says *that* it is invalid, so
// a SAX pass that records nothing but the error locates it.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_JSONTEXT_H
#define TFC_RUNTIME_JSONTEXT_H

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

namespace tfc::rt {

/// Parses [begin, end) into `out`. On invalid JSON returns false with the
/// offset of the offending character from `begin` and nlohmann's description.
bool parseJsonText(const char *begin, const char *end, nlohmann::json &out, size_t &errorAt,
                   std::string &error);

} // namespace tfc::rt

#endif // TFC_RUNTIME_JSONTEXT_H
