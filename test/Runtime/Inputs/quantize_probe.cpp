//===- quantize_probe.cpp - Run the runtime's ggml quantizers on a file ----===//
//
//   quantize_probe TYPE IN.f32 OUT.bin OUT.f32 [REPEAT]
//
// Quantizes IN's float32 values (a whole number of TYPE's blocks; REPEAT
// copies of them one after the other, default 1) with the runtime's reference
// quantizer (runtime/src/Quantize.cpp) into OUT.bin, in one call, and
// dequantizes those blocks again (Quants.cpp) into OUT.f32. quantize.test
// compares the blocks with the numpy quantizer's, byte for byte, and a long
// input, which the quantizer splits over TFC_NUM_THREADS threads, with the
// blocks of one copy repeated.
//
//===----------------------------------------------------------------------===//
#include "Quantize.h"
#include "Quants.h"

#include "tfc/Gguf.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: quantize_probe TYPE IN.f32 OUT.bin OUT.f32 [REPEAT]\n");
    return 2;
  }
  uint32_t type = 0;
  for (; type < 64; ++type) {
    const tfc::gguf::TypeTraits *t = tfc::gguf::typeTraits(type);
    if (t && !std::strcmp(t->name, argv[1]))
      break;
  }
  if (!tfc::rt::canQuantize(type)) {
    std::fprintf(stderr, "quantize_probe: no quantizer for %s\n", argv[1]);
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary | std::ios::ate);
  std::vector<float> x(size_t(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char *>(x.data()), std::streamsize(x.size() * sizeof(float)));
  const long repeat = argc == 6 ? std::strtol(argv[5], nullptr, 10) : 1;
  if (repeat < 1 || repeat > 100000) {
    std::fprintf(stderr, "quantize_probe: REPEAT must be in [1, 100000]\n");
    return 2;
  }
  const size_t one = x.size();
  for (long r = 1; r < repeat; ++r)
    x.insert(x.end(), x.begin(), x.begin() + std::ptrdiff_t(one));
  const tfc::gguf::TypeTraits *traits = tfc::gguf::typeTraits(type);
  const int64_t n = int64_t(x.size());
  if (n % traits->blockElements != 0) {
    std::fprintf(stderr, "quantize_probe: %lld values are not whole %s blocks\n", (long long)n,
                 traits->name);
    return 1;
  }
  std::vector<unsigned char> blocks(size_t(n / traits->blockElements * traits->blockBytes));
  tfc::rt::quantize(type, x.data(), blocks.data(), n);
  std::vector<float> back(x.size());
  tfc::rt::dequantize(type, blocks.data(), back.data(), n);
  std::ofstream(argv[3], std::ios::binary)
      .write(reinterpret_cast<const char *>(blocks.data()), std::streamsize(blocks.size()));
  std::ofstream(argv[4], std::ios::binary)
      .write(reinterpret_cast<const char *>(back.data()), std::streamsize(back.size() * 4));
  return 0;
}
