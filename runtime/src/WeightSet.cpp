//===- WeightSet.cpp - Laying the tensors of weight files into a model -----===//
//
// buildModel (WeightSet.h): finds each manifest tensor by name, checks its type
// and shape against the descriptor, and fills the model's slots. A slot all of
// whose tensors (every layer of a stacked one) are stored in the files as the
// slot's type (F32, or BF16/F16/Q8_0/Q4_0 for the linear layers of a
// --weight-type=bf16|f16|q8_0|q4_0 model; Q8_0/Q4_0 from a GGUF file) and aligned to it
// there is used in place: its view points into the mapping, a stacked slot's
// layers found through its table of layer offsets (gen_abi.h). Everything else
// is copied, converted through F32 (BF16, F16, quantized to Q8_0/Q4_0 by
// Quantize.h) or dequantized (ggml blocks, Quants.h) into owned buffers a chunk
// at a time, and the file pages a copy has read leave the resident set as it
// advances.
//
//===----------------------------------------------------------------------===//
#include "WeightSet.h"

#include "Half.h"
#include "MappedFile.h"
#include "Parallel.h"
#include "Quants.h"

#include "tfc/Gguf.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

using namespace tfc::rt;

namespace {

void convertToF32(const FileTensor &t, const unsigned char *src, float *dst, int64_t n) {
  switch (t.kind) {
  case ElementKind::F32:
    std::memcpy(dst, src, size_t(n) * 4);
    break;
  case ElementKind::F16:
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      dst[i] = halfToFloat(h);
    }
    break;
  case ElementKind::BF16:
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      dst[i] = bf16ToFloat(h);
    }
    break;
  case ElementKind::Quantized:
    dequantize(t.ggmlType, src, dst, n);
    break;
  case ElementKind::Other:
    break;
  }
}

/// Bytes of the first `n` elements of `t` (n a whole number of its blocks).
uint64_t bytesOf(const FileTensor &t, int64_t n) {
  switch (t.kind) {
  case ElementKind::F32:
    return uint64_t(n) * 4;
  case ElementKind::F16:
  case ElementKind::BF16:
    return uint64_t(n) * 2;
  case ElementKind::Quantized:
    return quantizedBytes(t.ggmlType, n);
  case ElementKind::Other:
    break;
  }
  return 0;
}

/// Whether a tensor of kind `kind` is stored as a slot of `slotType`.
bool storedAs(int32_t slotType, const FileTensor &t) {
  return (slotType == TFC_DTYPE_F32 && t.kind == ElementKind::F32) ||
         (slotType == TFC_DTYPE_BF16 && t.kind == ElementKind::BF16) ||
         (slotType == TFC_DTYPE_F16 && t.kind == ElementKind::F16) ||
         (blockLayout(slotType).elements && t.kind == ElementKind::Quantized &&
          t.ggmlType == blockLayout(slotType).ggmlType);
}

bool loads(const FileTensor &t) {
  return t.kind == ElementKind::F32 || t.kind == ElementKind::F16 ||
         t.kind == ElementKind::BF16 ||
         (t.kind == ElementKind::Quantized && canDequantize(t.ggmlType));
}

class Builder {
public:
  explicit Builder(WeightSet &set) : set(set) {}

  tfc_model *run() {
    if (!matchManifest() || !cutShards())
      return nullptr;
    const tfc_gen_model &m = descriptor();
    // In place: a slot all of whose tensors have the slot's type, lie in files
    // whose bytes outlive the model, and are aligned to the type there (the
    // layers of a stacked slot may lie in different shards: see inPlaceView);
    // anything else makes the whole slot a copy.
    std::vector<bool> inPlace(m.n_slots, true);
    // A slot with padding experts on this rank (no entry fills them) is a
    // zeroed copy: a view of the file has nothing to show for them.
    std::vector<int32_t> filled(m.n_slots, 0);
    for (int32_t i = 0; i < m.info.n_weights; ++i)
      if (!shards[i].absent)
        ++filled[m.weights[i].slot];
    for (int32_t s = 0; s < m.n_slots; ++s)
      if (filled[s] < std::max(m.slots[s].layers, 1))
        inPlace[s] = false;
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      const FileTensor &t = tensor(i);
      const int32_t slotType = entryDType(m.slots[m.weights[i].slot], m.weights[i].layer);
      uintptr_t address = reinterpret_cast<uintptr_t>(t.data);
      if (shards[i].absent)
        continue; // another rank's expert: this rank never reads it
      if (!set.sources[t.source].owner || !storedAs(slotType, t) ||
          address % dtypeBytes(slotType) != 0 || !shards[i].contiguous() || shards[i].zeros)
        inPlace[m.weights[i].slot] = false;
    }
    auto model = std::make_unique<tfc_model>();
    if (!model->allocateSlots(inPlace))
      return nullptr;
    std::vector<bool> sourceUsed(set.sources.size(), false);
    for (int32_t s = 0; s < m.n_slots; ++s)
      if (inPlace[s])
        model->views[s] = inPlaceView(s);
    for (int32_t i = 0; i < m.info.n_weights; ++i)
      if (inPlace[m.weights[i].slot] && !shards[i].absent)
        sourceUsed[tensor(i).source] = true;
    if (!copyTensors(*model, inPlace))
      return nullptr;
    populateShards(inPlace);
    model->ignoredTensors = ignoredTensors;
    for (size_t i = 0; i < set.sources.size(); ++i)
      if (sourceUsed[i])
        model->mappings.push_back(set.sources[i].owner);
    return model.release();
  }

private:
  /// A rank maps its in-place shards now, exactly their pages: left to page
  /// faults, each fault would also map the cached pages around it (the
  /// kernel's fault-around), other ranks' shards among them.
  void populateShards(const std::vector<bool> &inPlace) const {
#ifdef MADV_POPULATE_READ
    const tfc_gen_model &m = descriptor();
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      if (!inPlace[m.weights[i].slot] || shards[i].whole || shards[i].absent ||
          !set.sources[tensor(i).source].fileMapped)
        continue;
      const FileTensor &t = tensor(i);
      uintptr_t begin = reinterpret_cast<uintptr_t>(t.data) / page * page;
      uintptr_t end = reinterpret_cast<uintptr_t>(t.data) + bytesOf(t, shards[i].elements());
      madvise(reinterpret_cast<void *>(begin), end - begin, MADV_POPULATE_READ);
    }
#else
    (void)inPlace;
#endif
  }

  /// The file tensor of manifest entry `i`; for a contiguous shard only the
  /// rank's part of it (its rows when cut along the first dim).
  const FileTensor &tensor(int32_t manifestIndex) const { return parts[manifestIndex]; }

  /// The rank's part of every manifest tensor (Parallel.h). A part cut along
  /// the first dimension is a run of the file's bytes, used in place like a
  /// whole tensor; any other part is gathered at load (copyTensors).
  bool cutShards() {
    const tfc_gen_model &m = descriptor();
    parts.resize(m.info.n_weights);
    shards.resize(m.info.n_weights);
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      const tfc_gen_weight &w = m.weights[i];
      FileTensor t = set.tensors[manifestTensor[i]];
      ShardPart part = shardOf(w, rankIndex());
      if (!part.whole && !part.zeros && !part.absent) {
        // Quantized blocks run along the last dim and cannot be cut inside.
        if (t.kind == ElementKind::Quantized &&
            ((part.begin * part.inner) % tfc::gguf::typeTraits(t.ggmlType)->blockElements != 0 ||
             (part.count * part.inner) % tfc::gguf::typeTraits(t.ggmlType)->blockElements != 0 ||
             (part.held * part.inner) % tfc::gguf::typeTraits(t.ggmlType)->blockElements != 0)) {
          setError("tensor '%s': its %s blocks cannot be cut into %d parts along dimension %d",
                   w.name, t.typeName.c_str(), w.shard_parts, w.shard_dim);
          return false;
        }
        if (part.contiguous()) {
          const uint64_t skip = bytesOf(t, part.begin * part.inner);
          t.data += skip;
          t.fileOffset += skip;
          t.shape[size_t(w.shard_dim)] = part.count;
        }
      }
      parts[i] = std::move(t);
      shards[i] = part;
    }
    return true;
  }

  /// Tensors are copied, converted or dequantized a chunk at a time (a whole
  /// number of blocks): conversions to BF16/F16 go through F32 without staging
  /// a whole tensor, and the file's pages of what has been copied leave the
  /// process's resident set as the copy advances (they stay in the page cache;
  /// a later read would fault them in again from the file), so the file does
  /// not count twice while the model keeps the mapping for its in-place
  /// weights, not even transiently. Sets the error and returns false on a
  /// value that the slot's blocks cannot hold.
  bool copyTensors(tfc_model &model, const std::vector<bool> &inPlace) {
    const tfc_gen_model &m = descriptor();
    // A multiple of every block size; large enough that quantizing a chunk
    // (storeFloats) is worth splitting over the cores.
    constexpr int64_t kChunk = 1 << 18;
    std::vector<float> staging;         // sized at the first conversion that needs it
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      if (inPlace[m.weights[i].slot])
        continue;
      const FileTensor &t = tensor(i);
      const ShardPart &part = shards[i];
      if (part.zeros || part.absent)
        continue; // the slot was allocated zeroed; another rank's expert
      const int32_t slotType = entryDType(m.slots[m.weights[i].slot], m.weights[i].layer);
      const bool sameType = storedAs(slotType, t);
      auto *dst = static_cast<char *>(model.weightData(i));
      PageDropper dropper(set.sources[t.source].fileMapped ? t.data : nullptr);
      // Runs of consecutive elements: the whole tensor (or a contiguous part,
      // which `t` already is), else one run of the part's held rows per outer
      // index, each at its place in the part (the padding after it stays
      // zero, the slot was allocated zeroed).
      const bool gathered = !part.contiguous();
      const int64_t runs = gathered ? part.outer : 1;
      const int64_t run = gathered ? part.held * part.inner
                                   : elementCount(t.shape.data(), t.shape.size());
      const int64_t stride = gathered ? part.count * part.inner : run;
      for (int64_t r = 0; r < runs; ++r)
      for (int64_t done = 0; done < run; done += kChunk) {
        const int64_t count = std::min(kChunk, run - done);
        const int64_t source =
            (gathered ? (r * part.along + part.begin) * part.inner : 0) + done;
        const int64_t begin = r * stride + done;
        const unsigned char *from = t.data + bytesOf(t, source);
        char *to = dst + storageBytes(slotType, begin);
        if (sameType) {
          std::memcpy(to, from, storageBytes(slotType, count));
        } else if (slotType == TFC_DTYPE_F32) {
          convertToF32(t, from, reinterpret_cast<float *>(to), count);
        } else {
          if (staging.empty())
            staging.resize(size_t(kChunk));
          convertToF32(t, from, staging.data(), count);
          if (blockLayout(slotType).elements &&
              !checkQuantizable(m.weights[i], slotType, staging, count, source))
            return false;
          storeFloats(slotType, staging.data(), to, count);
        }
        dropper.upTo(from + bytesOf(t, count));
      }
    }
    return true;
  }

  /// A block's scale is a function of its values, so a NaN or an infinity
  /// (in an F32 file, or decoded from another block type's scale) leaves
  /// nothing to quantize against: the load fails, naming the tensor and the
  /// element (its index in the tensor: `first` is the chunk's).
  static bool checkQuantizable(const tfc_gen_weight &w, int32_t slotType,
                               const std::vector<float> &values, int64_t count, int64_t first) {
    const auto *bad = std::find_if(values.data(), values.data() + count,
                                   [](float v) { return !std::isfinite(v); });
    if (bad == values.data() + count)
      return true;
    setError("tensor '%s': element %lld is %g, which %s blocks cannot hold", w.name,
             static_cast<long long>(first + (bad - values.data())), double(*bad),
             tfc::gguf::typeTraits(blockLayout(slotType).ggmlType)->name);
    return false;
  }

  /// The view of slot `s` on the files' own bytes: from its lowest tensor to
  /// the end of its highest, each layer at its distance from the lowest (in
  /// elements of the slot's type). The layers of a stacked slot may lie in
  /// different mappings (a sharded checkpoint splits layers across files):
  /// the distances are then address differences between mappings, computed
  /// on integers; the generated code only reads each layer's own elements,
  /// never the gaps between them. Mappings are page-aligned and every tensor
  /// is aligned to the slot's element size, so each distance is a whole
  /// number of elements.
  tfc_model::SlotView inPlaceView(int32_t s) const {
    const tfc_gen_model &m = descriptor();
    std::vector<uintptr_t> layers(std::max(m.slots[s].layers, 1));
    for (int32_t i = 0; i < m.info.n_weights; ++i)
      if (m.weights[i].slot == s && !shards[i].absent)
        layers[std::max(m.weights[i].layer, 0)] = reinterpret_cast<uintptr_t>(tensor(i).data);
    const uintptr_t base = *std::min_element(layers.begin(), layers.end());
    tfc_model::SlotView view;
    view.base = reinterpret_cast<const void *>(base);
    const uintptr_t element = dtypeBytes(m.slots[s].dtype);
    // To the end of the layer that ends last (with per-layer types, not
    // necessarily the one that starts last).
    for (size_t l = 0; l < layers.size(); ++l)
      view.elements = std::max(
          view.elements,
          int64_t((layers[l] - base) / element) +
              storageUnits(entryDType(m.slots[s], m.slots[s].layers > 0 ? int32_t(l) : -1),
                           slotShareElements(m.slots[s])));
    if (m.slots[s].layers > 0)
      for (uintptr_t layer : layers)
        view.layerOffsets.push_back(int64_t((layer - base) / element));
    return view;
  }

  /// A manifest name `base[j]` (docs/tdsl.md, "moe"): the j-th matrix along
  /// the leading dimension of the file's tensor `base` (a GGUF file's
  /// [experts, rows, cols] `blk.N.ffn_up_exps.weight`), added to the set as a
  /// tensor of its own that views those bytes, its index in `index`. False
  /// when `name` is not of that form or `base` is not in the file (the caller
  /// reports the name missing), and false with `failed` and the error set
  /// when `base` has no matrix j.
  bool addSubTensor(const std::string &name,
                    const std::unordered_map<std::string, size_t> &byName, size_t &index,
                    bool &failed) {
    if (name.empty() || name.back() != ']')
      return false;
    size_t open = name.rfind('[');
    if (open == std::string::npos || open + 3 > name.size()) // no digit between [ and ]
      return false;
    int64_t row = 0;
    for (size_t k = open + 1; k + 1 < name.size(); ++k) {
      if (name[k] < '0' || name[k] > '9' || row > (int64_t(1) << 40))
        return false;
      row = row * 10 + (name[k] - '0');
    }
    auto it = byName.find(name.substr(0, open));
    if (it == byName.end())
      return false;
    // Copied: push_back below may move the tensor it refers to.
    const FileTensor base = set.tensors[it->second];
    if (base.shape.size() < 2 || row >= base.shape[0]) {
      setError("tensor '%s': '%s' is %s, which has no matrix %lld along its first dimension",
               name.c_str(), base.name.c_str(),
               formatShape(base.shape.data(), base.shape.size()).c_str(),
               static_cast<long long>(row));
      failed = true;
      return false;
    }
    FileTensor t = base;
    t.name = name;
    t.shape.erase(t.shape.begin());
    // Rows of a block type are whole blocks, so a matrix is whole blocks too.
    const uint64_t offset = bytesOf(base, row * elementCount(t.shape.data(), t.shape.size()));
    t.data += offset;
    t.fileOffset += offset;
    index = set.tensors.size();
    usedBases.insert(it->second);
    set.tensors.push_back(std::move(t));
    return true;
  }

  bool matchManifest() {
    std::unordered_map<std::string, size_t> byName;
    for (size_t i = 0; i < set.tensors.size(); ++i)
      byName.emplace(set.tensors[i].name, i);
    const size_t fileTensors = set.tensors.size();
    const tfc_gen_model &m = descriptor();
    manifestTensor.assign(m.info.n_weights, 0);
    // Report the first missing tensor and how many others are missing too.
    int32_t missing = 0, firstMissing = -1, direct = 0;
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      auto it = byName.find(m.weights[i].name);
      if (it != byName.end()) {
        manifestTensor[i] = it->second;
        ++direct;
        continue;
      }
      bool failed = false;
      if (addSubTensor(m.weights[i].name, byName, manifestTensor[i], failed))
        continue;
      if (failed)
        return false;
      if (missing++ == 0)
        firstMissing = i;
    }
    ignoredTensors = int64_t(fileTensors) - direct - int64_t(usedBases.size());
    if (missing) {
      setError("tensor '%s' is missing from '%s'%s", m.weights[firstMissing].name,
               set.where.c_str(),
               missing > 1 ? (" (and " + std::to_string(missing - 1) + " more)").c_str() : "");
      return false;
    }
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      const tfc_gen_weight &w = m.weights[i];
      const FileTensor &t = set.tensors[manifestTensor[i]];
      if (!loads(t)) {
        setError("tensor '%s': unsupported dtype %s (%s load)", w.name, t.typeName.c_str(),
                 set.loadableTypes.c_str());
        return false;
      }
      if (t.shape.size() != size_t(w.rank) ||
          !std::equal(t.shape.begin(), t.shape.end(), w.dims)) {
        setError("tensor '%s': shape %s does not match the model's %s", w.name,
                 formatShape(t.shape.data(), t.shape.size()).c_str(),
                 formatShape(w.dims, w.rank).c_str());
        return false;
      }
    }
    return true;
  }

  WeightSet &set;
  std::vector<size_t> manifestTensor; // manifest index -> set.tensors index
  std::vector<FileTensor> parts;      // manifest index -> the rank's part (cutShards)
  std::vector<ShardPart> shards;
  std::unordered_set<size_t> usedBases; // file tensors some `base[j]` entry views
  int64_t ignoredTensors = 0;
};

} // namespace

tfc_model *tfc::rt::buildModel(WeightSet &set) { return Builder(set).run(); }

tfc_model *tfc::rt::loadFile(FormatReader read, const char *name, const unsigned char *bytes,
                             size_t size, std::shared_ptr<const void> owner, bool fileMapped) {
  WeightSet set;
  set.sources.push_back({name, std::move(owner), fileMapped});
  set.where = name;
  if (!read(set, 0, bytes, size))
    return nullptr;
  return buildModel(set);
}
