//===- gguf_fuzzer.cpp - libFuzzer target of the GGUF reader and loader ---===//
//
// Each input is the bytes of a whole GGUF file. It goes through the reader on
// its own (tfc::gguf::File, as tools use it: every metadata value and array
// element is read back through the accessors) and through the runtime's loader
// (tfc::rt::loadGgufBytes, what tfc_model_load runs once the file is mapped),
// copying and in place, against the descriptor of FuzzModel.h, whose slots in
// F32, BF16 and F16 take dequantized blocks too. The reader must parse or say
// why; the loader must build a model or set an error; ASan/UBSan and libFuzzer
// report anything else, and a file larger than its input driving a large
// allocation shows up as an out-of-memory.
//
//===----------------------------------------------------------------------===//
#include "FuzzModel.h"

#include "Quants.h"

#include "tfc/Gguf.h"

#include <algorithm>
#include <vector>

using namespace tfc::gguf;

/// Reads back everything the reader exposes, so ASan checks every view.
static void walkFile(const File &file) {
  volatile uint64_t sink = 0;
  for (const KeyValue &kv : file.metadata()) {
    const Value &v = kv.value;
    int64_t i;
    double d;
    uint64_t u;
    sink += kv.key.size() + v.string.size() + (v.toInt(i) ? uint64_t(i) : 0) +
            (v.toUInt(u) ? u : 0) + (v.toDouble(d) ? 1 : 0);
    for (std::string_view s : v.strings)
      sink += s.empty() ? 0 : uint64_t(s.back());
    for (uint64_t k = 0; k < v.count && v.elementType != ValueType::String; ++k)
      sink += (v.elementToInt(k, i) ? 1 : 0) + (v.elementToDouble(k, d) ? 1 : 0);
  }
  for (const TensorInfo &t : file.tensors()) {
    const unsigned char *data = file.tensorData(t);
    for (uint64_t k = 0; k < t.bytes; k += 4096)
      sink += data[k];
    if (t.bytes)
      sink += data[t.bytes - 1];
    sink += t.name.size() + uint64_t(t.elements());
    // The dequantizers on whatever bytes the file holds (the fuzz model's rows
    // of 4 never take a block type): the first blocks of each tensor.
    if (t.traits->blockElements > 1 && tfc::rt::canDequantize(t.type)) {
      const int64_t n = std::min<int64_t>(t.elements(), 64 * t.traits->blockElements);
      std::vector<float> out(static_cast<size_t>(n));
      tfc::rt::dequantize(t.type, data, out.data(), n);
      for (float f : out)
        sink += f == 0.0f;
    }
  }
  (void)sink;
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  checkFuzzDescriptor("gguf_fuzzer");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  File file;
  if (file.parse(data, size))
    walkFile(file);
  else if (file.error().empty()) {
    std::fprintf(stderr, "gguf_fuzzer: parse failed without an error message\n");
    std::abort();
  }
  for (bool inPlace : {false, true}) {
    std::shared_ptr<const void> owner;
    if (inPlace)
      owner = std::shared_ptr<const void>(data, [](const void *) {});
    loadAndCheck("gguf_fuzzer",
                 [&] { return tfc::rt::loadGgufBytes("fuzz.gguf", data, size, owner); });
  }
  return 0;
}
