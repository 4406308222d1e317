//===- Checkpoint.cpp - What tfc_model_load accepts: files, indexes, dirs --===//
//
// tfc_model_load(path) takes weights as people have them:
//
//   * a safetensors file;
//   * a GGUF file (recognized by its magic "GGUF", or a `.gguf` name so that a
//     damaged one gets the GGUF reader's diagnosis);
//   * a sharded checkpoint's index, `model.safetensors.index.json`:
//     {"metadata": {...}, "weight_map": {tensor: shard file}}, the shards
//     beside it; every shard is mapped and checked like a single file, and
//     each tensor comes from the shard the weight_map names;
//   * a Hugging Face model directory: its `model.safetensors`, else its
//     `model.safetensors.index.json`.
//
// Errors name the file and the entry at fault: the index and its weight_map
// entry for a shard that cannot be opened or that lacks the tensor the index
// puts there, the shard and byte offset for a malformed shard, the index for
// a weight the model needs that no file has.
//
//===----------------------------------------------------------------------===//
#include "JsonText.h"
#include "MappedFile.h"
#include "WeightSet.h"

#include <sys/stat.h>

#include <cstring>
#include <map>
#include <unordered_map>

using namespace tfc::rt;
using json = nlohmann::json;

namespace {

bool endsWith(const std::string &s, const char *suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool exists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

bool isDirectory(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/// The directory part of `path` ("." when it has none).
std::string directoryOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// The current error message, to be wrapped into another.
std::string lastError() { return tfc_last_error(); }

bool openMappedShard(const std::string &path, ShardBytes &out) {
  auto file = std::make_shared<MappedFile>();
  if (!file->open(path.c_str()))
    return false;
  out.bytes = file->bytes();
  out.size = file->size();
  out.owner = std::move(file);
  out.fileMapped = true;
  return true;
}

/// The index of a sharded checkpoint, read and checked.
class Index {
public:
  Index(const char *name) : name(name) {}

  /// Parses the index text: a JSON object whose "weight_map" maps each
  /// tensor name to the name of a shard file.
  bool parse(const char *text, size_t size) {
    json index;
    size_t errorAt;
    std::string error;
    if (!parseJsonText(text, text + size, index, errorAt, error)) {
      setError("'%s' is not valid JSON (at byte %zu): %s", name, errorAt, error.c_str());
      return false;
    }
    if (!index.is_object()) {
      setError("'%s' is not a JSON object (a sharded checkpoint's index has a 'weight_map')",
               name);
      return false;
    }
    auto map = index.find("weight_map");
    if (map == index.end() || !map->is_object()) {
      setError("'%s': missing or non-object 'weight_map'", name);
      return false;
    }
    for (auto it = map->begin(); it != map->end(); ++it) {
      if (!it->is_string() || it->get_ref<const std::string &>().empty()) {
        setError("'%s': weight_map entry '%s' must be the name of a shard file, got %s", name,
                 it.key().c_str(), it->dump().c_str());
        return false;
      }
      const std::string &shard = it->get_ref<const std::string &>();
      auto [pos, added] = shardIndex.emplace(shard, int32_t(shards.size()));
      if (added)
        shards.push_back({shard, it.key()});
      entries.push_back({it.key(), pos->second});
    }
    return true;
  }

  struct Shard {
    std::string file;        // as the weight_map spells it
    std::string firstTensor; // the first entry naming it, for messages
  };
  struct Entry {
    std::string tensor;
    int32_t shard;
  };

  const char *name;
  std::vector<Shard> shards;
  std::vector<Entry> entries;

private:
  std::map<std::string, int32_t> shardIndex;
};

} // namespace

tfc_model *tfc::rt::loadIndexText(const char *name, const std::string &directory,
                                  const char *text, size_t size, ShardOpener openShard) {
  Index index(name);
  if (!index.parse(text, size))
    return nullptr;
  // Every shard the index lists is opened and checked, whether or not the
  // model uses its tensors: a checkpoint with a missing shard is broken.
  WeightSet shards;
  for (const Index::Shard &shard : index.shards) {
    std::string path = shard.file[0] == '/' ? shard.file : directory + "/" + shard.file;
    ShardBytes bytes;
    if (!openShard(path, bytes)) {
      setError("'%s': shard '%s' (weight_map entry '%s'): %s", name, shard.file.c_str(),
               shard.firstTensor.c_str(), lastError().c_str());
      return nullptr;
    }
    shards.sources.push_back({path, std::move(bytes.owner), bytes.fileMapped});
    if (!readSafetensors(shards, int32_t(shards.sources.size() - 1), bytes.bytes,
                         bytes.size)) {
      setError("'%s': shard '%s': %s", name, shard.file.c_str(), lastError().c_str());
      return nullptr;
    }
  }
  // The tensors are the weight_map's, each from the shard it names.
  std::vector<std::unordered_map<std::string, size_t>> byShard(index.shards.size());
  for (size_t i = 0; i < shards.tensors.size(); ++i)
    byShard[shards.tensors[i].source].emplace(shards.tensors[i].name, i);
  WeightSet set;
  set.sources = std::move(shards.sources);
  set.where = name;
  for (const Index::Entry &entry : index.entries) {
    auto it = byShard[entry.shard].find(entry.tensor);
    if (it == byShard[entry.shard].end()) {
      setError("tensor '%s': '%s' puts it in shard '%s', which does not hold it", entry.tensor.c_str(),
               name, index.shards[entry.shard].file.c_str());
      return nullptr;
    }
    set.tensors.push_back(std::move(shards.tensors[it->second]));
  }
  return buildModel(set);
}

tfc_model *tfc::rt::loadWeights(const char *path) {
  std::string file = path;
  if (isDirectory(path)) {
    // A Hugging Face directory: one file, else the index of its shards.
    std::string dir = file;
    while (dir.size() > 1 && dir.back() == '/')
      dir.pop_back();
    if (exists(dir + "/model.safetensors"))
      file = dir + "/model.safetensors";
    else if (exists(dir + "/model.safetensors.index.json"))
      file = dir + "/model.safetensors.index.json";
    else {
      setError("'%s' is a directory without 'model.safetensors' or "
               "'model.safetensors.index.json'",
               path);
      return nullptr;
    }
  }
  auto mapped = std::make_shared<MappedFile>();
  if (!mapped->open(file.c_str()))
    return nullptr;
  const unsigned char *bytes = mapped->bytes();
  const size_t size = mapped->size();
  if (endsWith(file, ".json"))
    return loadIndexText(file.c_str(), directoryOf(file), reinterpret_cast<const char *>(bytes),
                         size, openMappedShard);
  // The model keeps a mapping only when it uses weights in place; otherwise
  // the file is unmapped when this returns.
  const bool gguf = endsWith(file, ".gguf") || (size >= 4 && std::memcmp(bytes, "GGUF", 4) == 0);
  return loadFile(gguf ? readGguf : readSafetensors, file.c_str(), bytes, size,
                  std::move(mapped), /*fileMapped=*/true);
}
