//===- gguf_dump.cpp - Print a GGUF file through libtfcgguf.a alone --------===//
//
// The GGUF reader as tools use it (tfc/Gguf.h linked from libtfcgguf.a, without
// the model runtime): prints the version, the alignment, every metadata value
// (arrays with their elements) and every tensor info, or "error: MESSAGE" and
// exit status 1 for a file it rejects. gguf-reader.test checks the output.
//
//===----------------------------------------------------------------------===//
#include "tfc/Gguf.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace tfc::gguf;

static void printScalar(ValueType type, const Value &v, uint64_t i, bool element) {
  int64_t n;
  double d;
  if (type == ValueType::Float32 || type == ValueType::Float64) {
    if (element ? v.elementToDouble(i, d) : v.toDouble(d))
      std::printf(" %g", d);
  } else if (type == ValueType::UInt64 && !element) {
    uint64_t u;
    if (v.toUInt(u))
      std::printf(" %llu", (unsigned long long)u);
  } else if (element ? v.elementToInt(i, n) : v.toInt(n)) {
    std::printf(" %lld", (long long)n);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gguf_dump FILE.gguf\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  File file;
  if (!file.parse(bytes.data(), bytes.size())) {
    std::printf("error: %s\n", file.error().c_str());
    return 1;
  }
  std::printf("version %u alignment %llu data %llu\n", file.version(),
              (unsigned long long)file.alignment(), (unsigned long long)file.dataOffset());
  for (const KeyValue &kv : file.metadata()) {
    const Value &v = kv.value;
    std::printf("kv %.*s %s", int(kv.key.size()), kv.key.data(), valueTypeName(v.type));
    if (v.type == ValueType::String) {
      std::printf(" \"%.*s\"", int(v.string.size()), v.string.data());
    } else if (v.type == ValueType::Array) {
      std::printf("<%s>[%llu]", valueTypeName(v.elementType), (unsigned long long)v.count);
      for (std::string_view s : v.strings)
        std::printf(" \"%.*s\"", int(s.size()), s.data());
      for (uint64_t i = 0; i < v.count && v.elementType != ValueType::String; ++i)
        printScalar(v.elementType, v, i, true);
    } else {
      printScalar(v.type, v, 0, false);
    }
    std::printf("\n");
  }
  std::string_view arch;
  if (file.findString("general.architecture", arch))
    std::printf("architecture %.*s\n", int(arch.size()), arch.data());
  for (const TensorInfo &t : file.tensors()) {
    std::printf("tensor %.*s %s ne", int(t.name.size()), t.name.data(), t.traits->name);
    for (int64_t d : t.ne)
      std::printf(" %lld", (long long)d);
    std::printf(" offset %llu bytes %llu\n", (unsigned long long)t.offset,
                (unsigned long long)t.bytes);
  }
  return 0;
}
