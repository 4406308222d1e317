//===- Gguf.cpp - A reader of GGUF files -----------------------------------===//
//
// Parses and checks a whole GGUF file in one forward pass over its bytes
// (Gguf.h has the layout). A bounds-checked cursor reads every field; each
// failure records the first thing wrong and the byte where it is. Counts read
// from the file are compared with the bytes left before anything is sized by
// them: an array of n elements needs at least n times its element's smallest
// encoding, a string its length, so vectors never outgrow the file.
// Dependency-free on purpose (see Gguf.h): no LLVM, no JSON, and exceptions
// (only std::bad_alloc can occur) stop at parse().
//
//===----------------------------------------------------------------------===//
#include "tfc/Gguf.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>
#include <unordered_set>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the GGUF reader assumes a little-endian host");

using namespace tfc::gguf;

namespace {

/// ggml's own limits: tensors have at most 4 dimensions and names of at most
/// 63 bytes (GGML_MAX_DIMS, GGML_MAX_NAME with its terminating NUL). Arrays
/// nest in GGUF but never deeply in practice; the bound keeps the recursion
/// of a crafted file shallow.
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxNameBytes = 63;
constexpr int kMaxArrayDepth = 8;
constexpr uint64_t kDefaultAlignment = 32;
/// Vectors are reserved for at most this many entries up front, whatever the
/// counts say: they grow with what actually parses (every entry takes bytes of
/// the file), never with a count alone.
constexpr uint64_t kMaxReserve = 1 << 16;

// Indexed by ggml type number; a null name marks a number that is no type.
constexpr TypeTraits kTypes[] = {
    {"F32", 1, 4},       {"F16", 1, 2},      {"Q4_0", 32, 18},   {"Q4_1", 32, 20},
    {nullptr, 0, 0},     {nullptr, 0, 0},    {"Q5_0", 32, 22},   {"Q5_1", 32, 24},
    {"Q8_0", 32, 34},    {"Q8_1", 32, 36},   {"Q2_K", 256, 84},  {"Q3_K", 256, 110},
    {"Q4_K", 256, 144},  {"Q5_K", 256, 176}, {"Q6_K", 256, 210}, {"Q8_K", 256, 292},
    {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74}, {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
    {"IQ4_NL", 32, 18},  {"IQ3_S", 256, 110}, {"IQ2_S", 256, 82}, {"IQ4_XS", 256, 136},
    {"I8", 1, 1},        {"I16", 1, 2},      {"I32", 1, 4},      {"I64", 1, 8},
    {"F64", 1, 8},       {"IQ1_M", 256, 56}, {"BF16", 1, 2},     {nullptr, 0, 0},
    {nullptr, 0, 0},     {nullptr, 0, 0},    {"TQ1_0", 256, 54}, {"TQ2_0", 256, 66},
};

/// Bytes of a scalar value type; 0 for strings, arrays and unknown types.
uint64_t scalarBytes(ValueType type) {
  switch (type) {
  case ValueType::UInt8:
  case ValueType::Int8:
  case ValueType::Bool:
    return 1;
  case ValueType::UInt16:
  case ValueType::Int16:
    return 2;
  case ValueType::UInt32:
  case ValueType::Int32:
  case ValueType::Float32:
    return 4;
  case ValueType::UInt64:
  case ValueType::Int64:
  case ValueType::Float64:
    return 8;
  default:
    return 0;
  }
}

bool isKnown(uint32_t type) { return type <= uint32_t(ValueType::Float64); }

template <typename T> T load(const unsigned char *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

/// A scalar of `type` at `p` as an int64 (false for floats, or a uint64 above
/// INT64_MAX).
bool scalarToInt(ValueType type, const unsigned char *p, int64_t &out) {
  switch (type) {
  case ValueType::UInt8:
    out = load<uint8_t>(p);
    return true;
  case ValueType::Bool:
    out = load<uint8_t>(p) != 0;
    return true;
  case ValueType::Int8:
    out = load<int8_t>(p);
    return true;
  case ValueType::UInt16:
    out = load<uint16_t>(p);
    return true;
  case ValueType::Int16:
    out = load<int16_t>(p);
    return true;
  case ValueType::UInt32:
    out = load<uint32_t>(p);
    return true;
  case ValueType::Int32:
    out = load<int32_t>(p);
    return true;
  case ValueType::Int64:
    out = load<int64_t>(p);
    return true;
  case ValueType::UInt64: {
    uint64_t u = load<uint64_t>(p);
    if (u > uint64_t(INT64_MAX))
      return false;
    out = int64_t(u);
    return true;
  }
  default:
    return false;
  }
}

bool scalarToDouble(ValueType type, const unsigned char *p, double &out) {
  if (type == ValueType::Float32) {
    out = load<float>(p);
    return true;
  }
  if (type == ValueType::Float64) {
    out = load<double>(p);
    return true;
  }
  if (type == ValueType::UInt64) {
    out = double(load<uint64_t>(p));
    return true;
  }
  int64_t i;
  if (!scalarToInt(type, p, i))
    return false;
  out = double(i);
  return true;
}

} // namespace

//===----------------------------------------------------------------------===//
// Types and values
//===----------------------------------------------------------------------===//

const char *tfc::gguf::valueTypeName(ValueType type) {
  static const char *const names[] = {"uint8",  "int8",  "uint16", "int16", "uint32",
                                      "int32",  "float32", "bool", "string", "array",
                                      "uint64", "int64", "float64"};
  return isKnown(uint32_t(type)) ? names[uint32_t(type)] : "unknown";
}

const TypeTraits *tfc::gguf::typeTraits(uint32_t type) {
  if (type >= sizeof(kTypes) / sizeof(kTypes[0]) || !kTypes[type].name)
    return nullptr;
  return &kTypes[type];
}

bool Value::toInt(int64_t &out) const { return scalar && scalarToInt(type, scalar, out); }

bool Value::toUInt(uint64_t &out) const {
  if (scalar && type == ValueType::UInt64) {
    out = load<uint64_t>(scalar);
    return true;
  }
  int64_t i;
  if (!toInt(i) || i < 0)
    return false;
  out = uint64_t(i);
  return true;
}

bool Value::toDouble(double &out) const { return scalar && scalarToDouble(type, scalar, out); }

bool Value::elementToInt(uint64_t i, int64_t &out) const {
  uint64_t bytes = scalarBytes(elementType);
  return type == ValueType::Array && bytes && i < count &&
         scalarToInt(elementType, elements + i * bytes, out);
}

bool Value::elementToDouble(uint64_t i, double &out) const {
  uint64_t bytes = scalarBytes(elementType);
  return type == ValueType::Array && bytes && i < count &&
         scalarToDouble(elementType, elements + i * bytes, out);
}

int64_t TensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : ne)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      return -1;
  return n;
}

//===----------------------------------------------------------------------===//
// The reader
//===----------------------------------------------------------------------===//

/// A cursor over the file that fails (through File::fail) instead of reading
/// past the end. `what` names the field in the message.
class File::Reader {
public:
  Reader(File &file) : file(file) {}

  uint64_t pos = 0;

  uint64_t left() const { return file.size - pos; }

  bool bytes(uint64_t n, const char *what, const unsigned char *&out) {
    if (n > left())
      return file.fail(pos, "%s (%llu bytes) goes past the end of the file (%zu bytes)", what,
                       (unsigned long long)n, file.size);
    out = file.base + pos;
    pos += n;
    return true;
  }

  template <typename T> bool scalar(const char *what, T &out) {
    const unsigned char *p;
    if (!bytes(sizeof(T), what, p))
      return false;
    out = load<T>(p);
    return true;
  }

  bool string(const char *what, std::string_view &out) {
    uint64_t start = pos, length;
    if (!scalar(what, length))
      return false;
    if (length > left())
      return file.fail(start, "%s of %llu bytes goes past the end of the file (%zu bytes)",
                       what, (unsigned long long)length, file.size);
    const unsigned char *p;
    bytes(length, what, p);
    out = std::string_view(reinterpret_cast<const char *>(p), length);
    return true;
  }

  /// A value of `type` (the type already read), into `v`, nested `depth` deep.
  bool value(ValueType type, Value &v, int depth) {
    v.type = type;
    v.offset = pos;
    if (uint64_t n = scalarBytes(type))
      return bytes(n, "the value", v.scalar);
    if (type == ValueType::String)
      return string("the string value", v.string);
    // An array: element type, count, elements.
    uint32_t elementType;
    uint64_t at = pos;
    if (!scalar("the array's element type", elementType))
      return false;
    if (!isKnown(elementType))
      return file.fail(at, "unknown array element type %u", elementType);
    if (depth >= kMaxArrayDepth)
      return file.fail(at, "arrays nested more than %d deep", kMaxArrayDepth);
    v.elementType = ValueType(elementType);
    at = pos;
    if (!scalar("the array's element count", v.count))
      return false;
    // Every element takes at least this many bytes: a count beyond what is
    // left is an error before it sizes anything.
    uint64_t least = scalarBytes(v.elementType);
    if (v.elementType == ValueType::String)
      least = 8;
    else if (v.elementType == ValueType::Array)
      least = 12;
    if (v.count > left() / least)
      return file.fail(at, "an array of %llu %s elements goes past the end of the file "
                           "(%zu bytes)",
                       (unsigned long long)v.count, valueTypeName(v.elementType), file.size);
    v.elements = file.base + pos;
    if (uint64_t n = scalarBytes(v.elementType)) {
      pos += v.count * n;
      return true;
    }
    if (v.elementType == ValueType::String) {
      v.strings.reserve(std::min<uint64_t>(v.count, kMaxReserve));
      for (uint64_t i = 0; i < v.count; ++i) {
        std::string_view s;
        if (!string("an array's string", s))
          return false;
        v.strings.push_back(s);
      }
      return true;
    }
    // An array of arrays: each element is an array value (its own element
    // type, count and elements).
    for (uint64_t i = 0; i < v.count; ++i) {
      Value inner;
      if (!value(ValueType::Array, inner, depth + 1))
        return false;
    }
    return true;
  }

private:
  File &file;
};

//===----------------------------------------------------------------------===//
// File
//===----------------------------------------------------------------------===//

bool File::fail(uint64_t at, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  message = buf;
  // Names quoted from the file may hold any bytes: control characters become
  // '?', so that the message stays one line (tfc_last_error, tool errors).
  for (char &c : message)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = '?';
  message += " at byte " + std::to_string(at);
  return false;
}

const Value *File::find(std::string_view key) const {
  for (const KeyValue &kv : keyValues)
    if (kv.key == key)
      return &kv.value;
  return nullptr;
}

bool File::findString(std::string_view key, std::string_view &out) const {
  const Value *v = find(key);
  if (!v || v->type != ValueType::String)
    return false;
  out = v->string;
  return true;
}

bool File::parse(const unsigned char *bytes, size_t n) noexcept {
  try {
    return parseUnchecked(bytes, n);
  } catch (const std::bad_alloc &) {
    message = "out of memory reading the file";
  } catch (...) {
    message = "internal error reading the file";
  }
  return false;
}

bool File::parseUnchecked(const unsigned char *bytes, size_t n) {
  base = bytes;
  size = n;
  keyValues.clear();
  tensorInfos.clear();
  message.clear();
  align = kDefaultAlignment;
  Reader r(*this);

  //--- header
  const unsigned char *magic;
  if (!r.bytes(4, "the magic", magic))
    return false;
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    char shown[5] = {};
    for (int i = 0; i < 4; ++i)
      shown[i] = magic[i] >= 0x20 && magic[i] < 0x7f ? char(magic[i]) : '?';
    return fail(0, "bad magic '%s' (a GGUF file starts with 'GGUF')", shown);
  }
  if (!r.scalar("the version", fileVersion))
    return false;
  if (fileVersion != 2 && fileVersion != 3) {
    if ((fileVersion & 0xffff) == 0 && (fileVersion >> 24) <= 3)
      return fail(4, "version %u: a big-endian GGUF file, which this reader does not read",
                  fileVersion);
    return fail(4, "unsupported GGUF version %u (versions 2 and 3 are read)", fileVersion);
  }
  uint64_t tensorCount, kvCount;
  if (!r.scalar("the tensor count", tensorCount) || !r.scalar("the metadata count", kvCount))
    return false;
  // A key-value pair takes at least 13 bytes (key length, type, one byte); a
  // tensor info at least 28 (name length, n_dims, type, offset).
  if (kvCount > r.left() / 13)
    return fail(16, "%llu metadata pairs cannot fit in the %llu bytes left",
                (unsigned long long)kvCount, (unsigned long long)r.left());
  if (tensorCount > r.left() / 28)
    return fail(8, "%llu tensor infos cannot fit in the %llu bytes left",
                (unsigned long long)tensorCount, (unsigned long long)r.left());

  //--- metadata
  std::unordered_set<std::string_view> keys;
  keyValues.reserve(std::min<uint64_t>(kvCount, kMaxReserve));
  for (uint64_t i = 0; i < kvCount; ++i) {
    KeyValue kv;
    kv.offset = r.pos;
    if (!r.string("a metadata key", kv.key))
      return false;
    if (!keys.insert(kv.key).second)
      return fail(kv.offset, "duplicate metadata key '%.*s'", int(std::min<size_t>(kv.key.size(), 200)),
                  kv.key.data());
    uint32_t type;
    uint64_t typeAt = r.pos;
    if (!r.scalar("a metadata value type", type))
      return false;
    if (!isKnown(type))
      return fail(typeAt, "metadata key '%.*s' has unknown value type %u",
                  int(std::min<size_t>(kv.key.size(), 200)), kv.key.data(), type);
    if (!r.value(ValueType(type), kv.value, 0))
      return false;
    keyValues.push_back(std::move(kv));
  }
  for (const KeyValue &kv : keyValues) {
    if (kv.key != "general.alignment")
      continue;
    uint64_t a;
    if (kv.value.type != ValueType::UInt32 || !kv.value.toUInt(a))
      return fail(kv.offset, "general.alignment must be a uint32, not a %s",
                  valueTypeName(kv.value.type));
    if (a == 0 || (a & (a - 1)) != 0)
      return fail(kv.value.offset, "general.alignment %llu is not a power of two",
                  (unsigned long long)a);
    align = a;
  }

  //--- tensor infos
  std::unordered_set<std::string_view> names;
  tensorInfos.reserve(std::min<uint64_t>(tensorCount, kMaxReserve));
  for (uint64_t i = 0; i < tensorCount; ++i) {
    TensorInfo t;
    t.infoOffset = r.pos;
    if (!r.string("a tensor name", t.name))
      return false;
    const int shownLength = int(std::min<size_t>(t.name.size(), 200));
    if (t.name.size() > kMaxNameBytes)
      return fail(t.infoOffset, "tensor name '%.*s' is %zu bytes long (at most %llu)",
                  shownLength, t.name.data(), t.name.size(), (unsigned long long)kMaxNameBytes);
    if (!names.insert(t.name).second)
      return fail(t.infoOffset, "duplicate tensor name '%.*s'", shownLength, t.name.data());
    uint32_t dims;
    uint64_t at = r.pos;
    if (!r.scalar("a tensor's dimension count", dims))
      return false;
    if (dims > kMaxDims)
      return fail(at, "tensor '%.*s' has %u dimensions (at most %u)", shownLength, t.name.data(),
                  dims, kMaxDims);
    for (uint32_t d = 0; d < dims; ++d) {
      uint64_t extent;
      at = r.pos;
      if (!r.scalar("a tensor dimension", extent))
        return false;
      if (extent > uint64_t(INT64_MAX))
        return fail(at, "tensor '%.*s' has dimension %llu", shownLength, t.name.data(),
                    (unsigned long long)extent);
      t.ne.push_back(int64_t(extent));
    }
    at = r.pos;
    if (!r.scalar("a tensor type", t.type))
      return false;
    t.traits = typeTraits(t.type);
    if (!t.traits)
      return fail(at, "tensor '%.*s' has unknown type %u", shownLength, t.name.data(), t.type);
    at = r.pos;
    if (!r.scalar("a tensor offset", t.offset))
      return false;
    if (t.offset % align != 0)
      return fail(at, "tensor '%.*s': its data offset %llu is not a multiple of the alignment "
                      "%llu",
                  shownLength, t.name.data(), (unsigned long long)t.offset,
                  (unsigned long long)align);
    // Bytes: rows of ne[0] elements in whole blocks.
    const int64_t count = t.elements();
    const int64_t row = t.ne.empty() ? 1 : t.ne[0];
    if (count < 0)
      return fail(t.infoOffset, "tensor '%.*s' has more than 2^63 elements", shownLength,
                  t.name.data());
    if (row % t.traits->blockElements != 0)
      return fail(t.infoOffset, "tensor '%.*s': rows of %lld elements are not whole %s blocks "
                                "of %lld",
                  shownLength, t.name.data(), (long long)row, t.traits->name,
                  (long long)t.traits->blockElements);
    if (__builtin_mul_overflow(uint64_t(count / t.traits->blockElements),
                               uint64_t(t.traits->blockBytes), &t.bytes))
      return fail(t.infoOffset, "tensor '%.*s' has more than 2^64 bytes", shownLength,
                  t.name.data());
    tensorInfos.push_back(std::move(t));
  }

  //--- data section
  dataStart = (r.pos + align - 1) / align * align;
  if (dataStart < r.pos || dataStart > size) // no data section: only without data
    dataStart = size;
  return checkTensors();
}

bool File::checkTensors() {
  const uint64_t dataBytes = size - dataStart;
  for (const TensorInfo &t : tensorInfos)
    if (t.offset > dataBytes || t.bytes > dataBytes - t.offset)
      return fail(t.infoOffset, "tensor '%.*s': %llu bytes at data offset %llu (file byte "
                                "%llu) go past the end of the file (%zu bytes)",
                  int(std::min<size_t>(t.name.size(), 200)), t.name.data(),
                  (unsigned long long)t.bytes, (unsigned long long)t.offset,
                  (unsigned long long)(dataStart + t.offset), size);
  std::vector<const TensorInfo *> order;
  for (const TensorInfo &t : tensorInfos)
    if (t.bytes > 0)
      order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo *a, const TensorInfo *b) {
    return a->offset != b->offset ? a->offset < b->offset : a->bytes < b->bytes;
  });
  for (size_t i = 1; i < order.size(); ++i) {
    const TensorInfo *prev = order[i - 1], *cur = order[i];
    if (cur->offset < prev->offset + prev->bytes)
      return fail(cur->infoOffset, "tensor '%.*s' (file bytes [%llu, %llu)) overlaps tensor "
                                   "'%.*s' (file bytes [%llu, %llu))",
                  int(std::min<size_t>(cur->name.size(), 200)), cur->name.data(),
                  (unsigned long long)(dataStart + cur->offset),
                  (unsigned long long)(dataStart + cur->offset + cur->bytes),
                  int(std::min<size_t>(prev->name.size(), 200)), prev->name.data(),
                  (unsigned long long)(dataStart + prev->offset),
                  (unsigned long long)(dataStart + prev->offset + prev->bytes));
  }
  return true;
}
