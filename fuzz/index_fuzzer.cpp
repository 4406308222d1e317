//===- index_fuzzer.cpp - libFuzzer target of the sharded-checkpoint index -===//
//
// Each input is the text of a `model.safetensors.index.json`. Its shards are
// served from memory (tfc::rt::loadIndexText takes a shard opener): the three
// shards test/Runtime/Inputs/checkpoint_gen.py writes for the fake model
// (`model-0000K-of-00003.safetensors`, the same tensors and buffers in the
// same places, so its index files are good seeds), built once at start-up;
// any other name cannot be opened. The loader must build a model of
// FuzzModel.h's descriptor or set an error naming what is wrong.
//
//===----------------------------------------------------------------------===//
#include "FuzzModel.h"

#include "WeightSet.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

struct ShardTensor {
  const char *name;
  const char *dtype;
  std::vector<int64_t> shape;
  size_t bytes;
};

/// A safetensors file of the given tensors, their bytes a recognizable pattern.
std::vector<unsigned char> makeShard(const std::vector<ShardTensor> &tensors) {
  nlohmann::json header = nlohmann::json::object();
  size_t offset = 0;
  for (const ShardTensor &t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes}}};
    offset += t.bytes;
  }
  std::string text = header.dump();
  std::vector<unsigned char> file(8 + text.size() + offset);
  const uint64_t length = text.size();
  std::memcpy(file.data(), &length, 8);
  std::memcpy(file.data() + 8, text.data(), text.size());
  for (size_t i = 0; i < offset; ++i)
    file[8 + text.size() + i] = static_cast<unsigned char>(0x3c + i % 7); // finite halves and floats
  return file;
}

std::map<std::string, std::vector<unsigned char>> &shards() {
  static std::map<std::string, std::vector<unsigned char>> files;
  return files;
}

bool openShard(const std::string &path, tfc::rt::ShardBytes &out) {
  const std::string prefix = "fuzz/";
  auto it = path.compare(0, prefix.size(), prefix) == 0 ? shards().find(path.substr(prefix.size()))
                                                        : shards().end();
  if (it == shards().end()) {
    tfc::rt::setError("cannot open '%s': No such file or directory", path.c_str());
    return false;
  }
  out.bytes = it->second.data();
  out.size = it->second.size();
  out.owner = std::shared_ptr<const void>(out.bytes, [](const void *) {});
  out.fileMapped = false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  checkFuzzDescriptor("index_fuzzer");
  shards()["model-00001-of-00003.safetensors"] =
      makeShard({{"model.embed_tokens.weight", "F32", {16, 4}, 256},
                 {"model.layers.0.mix.weight", "F16", {4, 4}, 32},
                 {"h.0.attn.bias", "BOOL", {1, 1, 4, 4}, 16},
                 {"embeddings.position_ids", "I64", {1, 4}, 32}});
  shards()["model-00002-of-00003.safetensors"] =
      makeShard({{"model.layers.0.scale.weight", "BF16", {4}, 8},
                 {"model.layers.1.scale.weight", "BF16", {4}, 8},
                 {"model.layers.1.mix.weight", "F32", {4, 4}, 64},
                 {"h.0.attn.masked_bias", "F32", {}, 4}});
  shards()["model-00003-of-00003.safetensors"] =
      makeShard({{"encoder.mask", "U8", {3}, 3},
                 {"lm_head.bias", "F16", {16}, 32},
                 {"rotary.inv_freq", "F64", {2}, 16}});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  loadAndCheck("index_fuzzer", [&] {
    return tfc::rt::loadIndexText("fuzz.index.json", "fuzz", reinterpret_cast<const char *>(data),
                                  size, openShard);
  });
  return 0;
}
