//===- JsonText.cpp - Parsing JSON text with the place of the first error -===//
//
// parseJsonText (JsonText.h): a non-throwing DOM parse, then, only for invalid
// text, a SAX pass whose consumer records where and why parsing stopped.
//
//===----------------------------------------------------------------------===//
#include "JsonText.h"

using json = nlohmann::json;

namespace {

/// A SAX consumer that only records where and why parsing failed: the
/// non-throwing DOM parse says *that* the header is invalid, this says where.
struct ErrorLocator : nlohmann::json_sax<json> {
  size_t position = 0;
  std::string message;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t pos, const std::string &, const nlohmann::detail::exception &ex)
      override {
    position = pos;
    message = ex.what();
    // "[json.exception.parse_error.101] parse error at ...": keep the part after the tag.
    size_t tag = message.find("] ");
    if (tag != std::string::npos)
      message.erase(0, tag + 2);
    return false;
  }
};

} // namespace

bool tfc::rt::parseJsonText(const char *begin, const char *end, json &out, size_t &errorAt,
                            std::string &error) {
  out = json::parse(begin, end, nullptr, /*allow_exceptions=*/false);
  if (!out.is_discarded())
    return true;
  ErrorLocator where;
  json::sax_parse(begin, end, &where);
  // nlohmann counts the offending character itself as read.
  errorAt = where.position > 0 ? where.position - 1 : 0;
  error = where.message;
  return false;
}
