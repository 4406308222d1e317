//===- Safetensors.cpp - Reading the tensors of a safetensors file ---------===//
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
// mapping tensor names to {dtype, shape, data_offsets} (offsets relative to the
// data section that follows the header), then the data. readSafetensors checks
// every header entry (structure, offsets inside the data section, no two
// tensors overlapping, byte counts matching dtype and shape, whatever the
// dtype) and adds the tensors to a WeightSet; buildModel (WeightSet.cpp) then
// takes what the manifest asks for. Every error names the file's tensor or
// byte offset at fault. The same reader serves single files and the shards
// of a sharded checkpoint (Checkpoint.cpp).
//
//===----------------------------------------------------------------------===//
#include "WeightSet.h"

#include "JsonText.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>
#include <unordered_map>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the safetensors reader assumes a little-endian host");

using namespace tfc::rt;
using json = nlohmann::json;

namespace {

//===----------------------------------------------------------------------===//
// Dtypes
//===----------------------------------------------------------------------===//

struct DTypeInfo {
  ElementKind kind;
  int64_t bytes; // 0 when unknown
};

DTypeInfo parseDType(const std::string &s) {
  if (s == "F32")
    return {ElementKind::F32, 4};
  if (s == "F16")
    return {ElementKind::F16, 2};
  if (s == "BF16")
    return {ElementKind::BF16, 2};
  // The other dtypes of the format: validated for size, never loaded.
  static const std::pair<const char *, int64_t> others[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
      {"U16", 2},  {"I32", 4}, {"U32", 4}, {"F64", 8},     {"I64", 8},     {"U64", 8}};
  for (const auto &[name, bytes] : others)
    if (s == name)
      return {ElementKind::Other, bytes};
  return {ElementKind::Other, 0};
}

//===----------------------------------------------------------------------===//
// Header
//===----------------------------------------------------------------------===//

/// One validated header entry.
struct Tensor {
  std::string name;
  std::string dtypeName;
  DTypeInfo dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end; // relative to the data section
};

bool asUnsigned(const json &v, uint64_t &out) {
  if (!v.is_number_unsigned())
    return false;
  out = v.get<uint64_t>();
  return true;
}

class Reader {
public:
  Reader(const char *path, const unsigned char *bytes, size_t size)
      : path(path), bytes(bytes), size(size) {}

  /// Checks the header and adds every tensor to `set` as from source `source`.
  bool run(WeightSet &set, int32_t source) {
    if (size < 8) {
      setError("'%s' is too small for a safetensors file: %zu bytes, the header length alone "
               "takes 8",
               path, size);
      return false;
    }
    if (!parseHeader() || !checkOverlaps())
      return false;
    for (Tensor &t : tensors) {
      FileTensor f;
      f.name = std::move(t.name);
      f.kind = t.dtype.kind;
      f.typeName = std::move(t.dtypeName);
      f.shape = std::move(t.shape);
      f.data = bytes + dataStart + t.begin;
      f.fileOffset = dataStart + t.begin;
      f.source = source;
      set.tensors.push_back(std::move(f));
    }
    return true;
  }

private:
  bool parseHeader() {
    uint64_t headerLen = 0;
    std::memcpy(&headerLen, bytes, 8);
    if (headerLen > size - 8) {
      setError("'%s': the header length at byte 0 (%llu) goes beyond the end of the file "
               "(%zu bytes)",
               path, (unsigned long long)headerLen, size);
      return false;
    }
    dataStart = 8 + size_t(headerLen);
    dataSize = size - dataStart;
    const char *begin = reinterpret_cast<const char *>(bytes) + 8;
    const char *end = begin + headerLen;
    json header;
    size_t errorAt;
    std::string error;
    if (!parseJsonText(begin, end, header, errorAt, error)) {
      setError("'%s': the header is not valid JSON (at byte %zu of the file): %s", path,
               8 + errorAt, error.c_str());
      return false;
    }
    if (!header.is_object()) {
      setError("'%s': the header (bytes [8, %zu)) is not a JSON object", path, dataStart);
      return false;
    }
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__")
        continue;
      if (!parseEntry(it.key(), it.value()))
        return false;
    }
    return true;
  }

  bool parseEntry(const std::string &name, const json &v) {
    const char *n = name.c_str();
    if (!v.is_object()) {
      setError("tensor '%s': its header entry is not a JSON object", n);
      return false;
    }
    Tensor t;
    t.name = name;
    auto dtype = v.find("dtype");
    if (dtype == v.end() || !dtype->is_string()) {
      setError("tensor '%s': missing or non-string 'dtype'", n);
      return false;
    }
    t.dtypeName = dtype->get<std::string>();
    t.dtype = parseDType(t.dtypeName);
    auto shape = v.find("shape");
    if (shape == v.end() || !shape->is_array()) {
      setError("tensor '%s': missing or non-array 'shape'", n);
      return false;
    }
    for (const json &d : *shape) {
      uint64_t x;
      if (!asUnsigned(d, x) || x > uint64_t(INT64_MAX)) {
        setError("tensor '%s': 'shape' must hold non-negative integers, got %s", n,
                 shape->dump().c_str());
        return false;
      }
      t.shape.push_back(int64_t(x));
    }
    auto offsets = v.find("data_offsets");
    if (offsets == v.end() || !offsets->is_array() || offsets->size() != 2 ||
        !asUnsigned((*offsets)[0], t.begin) || !asUnsigned((*offsets)[1], t.end)) {
      setError("tensor '%s': 'data_offsets' must be [begin, end] with non-negative integers",
               n);
      return false;
    }
    if (t.begin > t.end) {
      setError("tensor '%s': data_offsets [%llu, %llu] are reversed", n,
               (unsigned long long)t.begin, (unsigned long long)t.end);
      return false;
    }
    if (t.end > dataSize) {
      setError("tensor '%s': data_offsets [%llu, %llu] go beyond the data section (file bytes "
               "[%zu, %zu))",
               n, (unsigned long long)t.begin, (unsigned long long)t.end, dataStart, size);
      return false;
    }
    if (t.dtype.bytes > 0) {
      int64_t count = elementCount(t.shape.data(), t.shape.size());
      int64_t need;
      if (count < 0 || __builtin_mul_overflow(count, t.dtype.bytes, &need) ||
          uint64_t(need) != t.end - t.begin) {
        setError("tensor '%s': %llu bytes at file offset %llu, but dtype %s and shape %s "
                 "need %s",
                 n, (unsigned long long)(t.end - t.begin),
                 (unsigned long long)(t.begin + dataStart), t.dtypeName.c_str(),
                 formatShape(t.shape.data(), t.shape.size()).c_str(),
                 count < 0 || need < 0 ? "more than 2^63"
                                       : (std::to_string(need) + " bytes").c_str());
        return false;
      }
    }
    tensors.push_back(std::move(t));
    return true;
  }

  bool checkOverlaps() {
    std::vector<const Tensor *> order;
    for (const Tensor &t : tensors)
      if (t.end > t.begin)
        order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const Tensor *a, const Tensor *b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    for (size_t i = 1; i < order.size(); ++i) {
      const Tensor *prev = order[i - 1], *cur = order[i];
      if (cur->begin < prev->end) {
        setError("tensor '%s' (file bytes [%llu, %llu)) overlaps tensor '%s' (file bytes "
                 "[%llu, %llu))",
                 cur->name.c_str(), (unsigned long long)(cur->begin + dataStart),
                 (unsigned long long)(cur->end + dataStart), prev->name.c_str(),
                 (unsigned long long)(prev->begin + dataStart),
                 (unsigned long long)(prev->end + dataStart));
        return false;
      }
    }
    return true;
  }

  const char *path;
  const unsigned char *bytes; // the whole file
  size_t size;
  size_t dataStart = 0, dataSize = 0;
  std::vector<Tensor> tensors;
};

} // namespace

bool tfc::rt::readSafetensors(WeightSet &set, int32_t source, const unsigned char *bytes,
                             size_t size) {
  return Reader(set.sources[source].name.c_str(), bytes, size).run(set, source);
}

tfc_model *tfc::rt::loadSafetensorsBytes(const char *name, const unsigned char *bytes,
                                         size_t size, std::shared_ptr<const void> owner) {
  return loadFile(readSafetensors, name, bytes, size, std::move(owner), /*fileMapped=*/false);
}
