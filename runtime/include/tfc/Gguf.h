//===- Gguf.h - A reader of GGUF files, for the runtime and the tools -----===//
//
// GGUF (ggml's docs/gguf.md, versions 2 and 3, little-endian) is one file:
//
//   "GGUF" | uint32 version | uint64 tensor_count | uint64 kv_count
//   kv_count   x { string key | uint32 value_type | value }
//   tensor_count x { string name | uint32 n_dims | uint64 ne[n_dims] | uint32 type
//                    | uint64 offset }
//   padding to general.alignment (default 32) | tensor data
//
// where a string is a uint64 length and that many bytes, an array value is a
// uint32 element type, a uint64 count and the elements, ne[0] is the innermost
// (fastest-varying) dimension, and each offset is relative to the data
// section and a multiple of the alignment.
//
// gguf::File parses all of it over bytes the caller keeps alive (a mapping),
// without copying the data: every metadata value, every array (nested ones
// included) and every tensor info is checked against the end of the bytes,
// tensors against their type's block size, the data section and each other.
// A malformed file gives false and one message naming what is wrong and the
// byte offset where it is. No count read from the file sizes an allocation:
// counts are checked against the bytes left, and vectors grow only with the
// entries that actually parse. No exception escapes.
//
// Dependency-free C++17 (no LLVM, no JSON): linked into libtfcrt.a (GGUF
// weights for tfc_model_load) and, as libtfcgguf.a, into the tools that read a
// GGUF's metadata (`tfc import`, the tokenizer's `tokenizer.ggml.*` arrays).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_GGUF_H
#define TFC_GGUF_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tfc::gguf {

/// The type of a metadata value (gguf_metadata_value_type).
enum class ValueType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// "uint32", "string", ...; "unknown" outside the enum.
const char *valueTypeName(ValueType type);

/// A ggml tensor type (ggml_type): what a tensor's bytes hold.
enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
};

/// The storage of a tensor type: `blockBytes` bytes hold `blockElements`
/// consecutive elements of a row (1 element for the plain types).
struct TypeTraits {
  const char *name; // "Q4_K"
  int64_t blockElements;
  int64_t blockBytes;
};

/// The traits of ggml type number `type`, or null when it names no type
/// (numbers ggml never used or retired: 4, 5, 31-33, and beyond 35).
const TypeTraits *typeTraits(uint32_t type);

/// One metadata value, a view into the file's bytes.
struct Value {
  ValueType type = ValueType::UInt8;
  uint64_t offset = 0; // byte of the file where the value (after its type) starts

  /// Scalars: the value's bytes (1, 2, 4 or 8 of them, little-endian).
  const unsigned char *scalar = nullptr;
  /// String: its bytes (not NUL-terminated).
  std::string_view string;
  /// Array: the element type, the count, the first element's bytes; the
  /// elements of a string array as views (arrays of arrays keep only the
  /// count and their bytes).
  ValueType elementType = ValueType::UInt8;
  uint64_t count = 0;
  const unsigned char *elements = nullptr;
  std::vector<std::string_view> strings;

  /// An integer (of any of the eight integer types) or a bool as int64/uint64;
  /// false when the value is not one or does not fit.
  bool toInt(int64_t &out) const;
  bool toUInt(uint64_t &out) const;
  /// A float32/float64 or any integer as a double; false otherwise.
  bool toDouble(double &out) const;
  /// Element `i` of a numeric or bool array, as the scalar accessors above.
  bool elementToInt(uint64_t i, int64_t &out) const;
  bool elementToDouble(uint64_t i, double &out) const;
};

struct KeyValue {
  std::string_view key;
  uint64_t offset; // byte of the file where the pair starts
  Value value;
};

struct TensorInfo {
  std::string_view name;
  uint64_t infoOffset;    // byte of the file where its info starts
  std::vector<int64_t> ne; // ggml order: ne[0] innermost
  uint32_t type;
  const TypeTraits *traits;
  uint64_t offset; // of its data, relative to the data section
  uint64_t bytes;  // of its data

  /// The dimensions outermost first (row-major, as safetensors and the model's
  /// manifest list them): ne reversed.
  std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }
  int64_t elements() const;
};

/// A parsed GGUF file. The bytes given to parse() must outlive it.
class File {
public:
  /// Parses and checks the whole file at `bytes`. On failure returns false and
  /// error() says what is wrong, ending in "at byte N".
  bool parse(const unsigned char *bytes, size_t size) noexcept;
  const std::string &error() const { return message; }

  uint32_t version() const { return fileVersion; }
  /// general.alignment, or 32.
  uint64_t alignment() const { return align; }
  /// Where the data section starts (the end of the file when there are no tensors).
  uint64_t dataOffset() const { return dataStart; }

  const std::vector<KeyValue> &metadata() const { return keyValues; }
  /// The value of `key`, or null.
  const Value *find(std::string_view key) const;
  /// find(key) if it is a string; otherwise an empty view and false.
  bool findString(std::string_view key, std::string_view &out) const;

  const std::vector<TensorInfo> &tensors() const { return tensorInfos; }
  const unsigned char *tensorData(const TensorInfo &t) const { return base + dataStart + t.offset; }

private:
  class Reader;
  bool parseUnchecked(const unsigned char *bytes, size_t size);
  bool checkTensors();
  bool fail(uint64_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

  const unsigned char *base = nullptr;
  size_t size = 0;
  uint32_t fileVersion = 0;
  uint64_t align = 32;
  uint64_t dataStart = 0;
  std::vector<KeyValue> keyValues;
  std::vector<TensorInfo> tensorInfos;
  std::string message;
};

} // namespace tfc::gguf

#endif // TFC_GGUF_H
