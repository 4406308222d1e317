//===- Model.cpp - Model info, descriptor checks and random weights --------===//
//
// The static half of the ABI (tfc_info, the weight manifest), the error channel,
// aligned buffers, the consistency check of the generated descriptor, and
// tfc_model_random / tfc_model_free.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "Parallel.h"

#include "Half.h"
#include "Quantize.h"

#include "tfc/Gguf.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

using namespace tfc::rt;

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

namespace {
// Trivially destructible on purpose: see Internal.h.
thread_local char lastError[1024];
} // namespace

void tfc::rt::setError(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(lastError, sizeof(lastError), fmt, ap);
  va_end(ap);
}

std::string tfc::rt::formatShape(const int64_t *dims, size_t rank) {
  std::string s = "[";
  for (size_t i = 0; i < rank; ++i) {
    if (i)
      s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

int64_t tfc::rt::elementCount(const int64_t *dims, size_t rank) {
  int64_t n = 1;
  for (size_t i = 0; i < rank; ++i)
    if (dims[i] < 0 || __builtin_mul_overflow(n, dims[i], &n))
      return -1;
  return n;
}

tfc::rt::ShardPart tfc::rt::shardOf(const tfc_gen_weight &w, int32_t rank) {
  ShardPart part;
  const tfc_gen_model &m = descriptor();
  if (w.shard_parts <= 0 || m.tensor_parallel <= 1)
    return part;
  part.whole = false;
  if (w.shard_dim == TFC_SHARD_RANK_ZERO) {
    part.zeros = rank != 0;
    part.whole = rank == 0;
    return part;
  }
  if (w.shard_dim == TFC_SHARD_EXPERTS) {
    part.whole = int64_t(rank) * w.shard_parts / m.tensor_parallel == w.shard_index;
    part.absent = !part.whole;
    return part;
  }
  // A dim of several segments (a fused projection) is [segments, along]:
  // the segments join the outer runs.
  const int64_t segments = std::max<int32_t>(w.shard_segments, 1);
  part.outer = elementCount(w.dims, size_t(w.shard_dim)) * segments;
  part.along = w.dims[w.shard_dim] / segments;
  part.inner = elementCount(w.dims + w.shard_dim + 1, size_t(w.rank - w.shard_dim - 1));
  part.count = (part.along + w.shard_parts - 1) / w.shard_parts;
  part.begin = int64_t(rank) * w.shard_parts / m.tensor_parallel * part.count;
  part.held = std::clamp<int64_t>(part.along - part.begin, 0, part.count);
  return part;
}

/// Elements of the part of manifest entry `w` that a rank holds (padding
/// included: every rank's part is the same size).
static int64_t shareElements(const tfc_gen_weight &w) {
  int64_t n = elementCount(w.dims, size_t(w.rank));
  if (w.shard_parts <= 0 || w.shard_dim < 0 || n <= 0)
    return n; // whole, on rank 0 only, or a whole expert
  // Per segment (checkDescriptor: they divide the dim, and are not padded).
  int64_t along = w.dims[w.shard_dim] / std::max<int32_t>(w.shard_segments, 1);
  return n / along * ((along + w.shard_parts - 1) / w.shard_parts);
}

int64_t tfc::rt::slotShareElements(const tfc_gen_slot &slot) {
  if (slot.layers > 0)
    return elementCount(slot.dims + 1, slot.rank - 1);
  return elementCount(slot.dims, slot.rank);
}

//===----------------------------------------------------------------------===//
// AlignedBuffer
//===----------------------------------------------------------------------===//

namespace {
constexpr size_t kAlign = 64;
// Above this, zeroed memory comes from mmap: page-aligned and lazily zeroed,
// which matters for KV caches sized for max_seq but mostly unused.
constexpr size_t kMmapThreshold = size_t(1) << 20;
} // namespace

AlignedBuffer &AlignedBuffer::operator=(AlignedBuffer &&other) noexcept {
  if (this != &other) {
    release();
    ptr = other.ptr;
    bytes = other.bytes;
    mappedBytes = other.mappedBytes;
    other.ptr = nullptr;
    other.bytes = other.mappedBytes = 0;
  }
  return *this;
}

bool AlignedBuffer::allocate(size_t n) {
  // Never hand out a null pointer, even for zero elements: generated code may
  // form addresses from it.
  size_t rounded = n == 0 ? kAlign : (n + kAlign - 1) / kAlign * kAlign;
  if (rounded < n)
    return false;
  void *p = nullptr;
  size_t mapped = 0;
  if (rounded >= kMmapThreshold) {
    p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return false;
    mapped = rounded;
  } else {
    p = std::aligned_alloc(kAlign, rounded);
    if (!p)
      return false;
    std::memset(p, 0, rounded);
  }
  release();
  ptr = p;
  bytes = n;
  mappedBytes = mapped;
  return true;
}

bool AlignedBuffer::reserve(size_t n) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  size_t rounded = n == 0 ? page : (n + page - 1) / page * page;
  if (rounded < n)
    return false;
  void *p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return false;
  release();
  ptr = p;
  bytes = n;
  mappedBytes = rounded;
  return true;
}

void AlignedBuffer::discard() {
  if (!ptr)
    return;
  // Private anonymous pages read as zeros again after MADV_DONTNEED.
  if (!mappedBytes || madvise(ptr, mappedBytes, MADV_DONTNEED) != 0)
    std::memset(ptr, 0, bytes);
}

void AlignedBuffer::release() {
  if (mappedBytes)
    munmap(ptr, mappedBytes);
  else
    std::free(ptr);
  ptr = nullptr;
  bytes = mappedBytes = 0;
}

//===----------------------------------------------------------------------===//
// Descriptor check
//===----------------------------------------------------------------------===//

namespace {

/// What a generated function is, for the check of its argument list.
enum class FunctionRole { decoder, encoder, batch, maps };

bool checkFunction(const tfc_gen_model &m, const tfc_gen_function &fn, const char *what,
                   FunctionRole role) {
  const bool isEncoder = role == FunctionRole::encoder, isBatch = role == FunctionRole::batch;
  const bool isMaps = role == FunctionRole::maps;
  if (!fn.entry)
    return true;
  if (fn.n_args < 0 || (fn.n_args > 0 && !fn.args)) {
    setError("model descriptor: %s has a bad argument list", what);
    return false;
  }
  if (fn.out_width <= 0) {
    setError("model descriptor: %s has out_width %d", what, fn.out_width);
    return false;
  }
  int counts[TFC_ARG_KIND_COUNT] = {};
  std::vector<int> pools(size_t(m.n_caches), 0);
  for (int32_t k = 0; k < fn.n_args; ++k) {
    const tfc_gen_arg &a = fn.args[k];
    if (a.kind < TFC_ARG_TOKENS || a.kind >= TFC_ARG_KIND_COUNT) {
      setError("model descriptor: %s argument %d has unknown kind %d", what, k, a.kind);
      return false;
    }
    ++counts[a.kind];
    if (a.kind == TFC_ARG_WEIGHT && (a.index < 0 || a.index >= m.n_slots)) {
      setError("model descriptor: %s argument %d uses weight slot %d of %d", what, k, a.index,
               m.n_slots);
      return false;
    }
    if (a.kind == TFC_ARG_LAYER_OFFSETS &&
        (a.index < 0 || a.index >= m.n_slots || m.slots[a.index].layers == 0)) {
      setError("model descriptor: %s argument %d has the layer offsets of slot %d, which is "
               "not a stacked slot of the %d",
               what, k, a.index, m.n_slots);
      return false;
    }
    if ((a.kind == TFC_ARG_CACHE || a.kind == TFC_ARG_CACHE_POOL) &&
        (a.index < 0 || a.index >= m.n_caches)) {
      setError("model descriptor: %s argument %d uses cache %d of %d", what, k, a.index,
               m.n_caches);
      return false;
    }
    if (a.kind == TFC_ARG_CACHE_POOL)
      ++pools[size_t(a.index)];
  }
  // The batched decoder replaces the position by segments and each cache by
  // its pool (exactly one per cache); the others take none of these.
  bool batchArgsOk =
      isBatch ? fn.stateful && counts[TFC_ARG_SEGMENTS] == 1 &&
                    counts[TFC_ARG_CACHE_OFFSETS] == 1 && !counts[TFC_ARG_POS] &&
                    !counts[TFC_ARG_CACHE] && !counts[TFC_ARG_MEMORY] &&
                    std::all_of(pools.begin(), pools.end(), [](int n) { return n == 1; })
              : !counts[TFC_ARG_SEGMENTS] && !counts[TFC_ARG_CACHE_OFFSETS] &&
                    !counts[TFC_ARG_CACHE_POOL];
  if (!batchArgsOk) {
    setError("model descriptor: %s has an inconsistent argument list", what);
    return false;
  }
  bool stateful = fn.stateful != 0;
  // The attention maps take tokens and weights alone and write their maps
  // instead of an output.
  if (counts[TFC_ARG_ATTENTION_MAPS] != (isMaps ? 1 : 0) ||
      (isMaps && (stateful || counts[TFC_ARG_MEMORY] || counts[TFC_ARG_CACHE] ||
                  m.attention_map_count <= 0))) {
    setError("model descriptor: %s has an inconsistent argument list", what);
    return false;
  }
  if (counts[TFC_ARG_TOKENS] != 1 || counts[TFC_ARG_OUTPUT] != (isMaps ? 0 : 1) ||
      counts[TFC_ARG_POS] != (stateful && !isBatch ? 1 : 0) ||
      (!stateful && counts[TFC_ARG_CACHE]) ||
      counts[TFC_ARG_MEMORY] > 1 || (isEncoder && (stateful || counts[TFC_ARG_MEMORY])) ||
      counts[TFC_ARG_ARENA] != (fn.arena_bytes ? 1 : 0)) {
    setError("model descriptor: %s has an inconsistent argument list", what);
    return false;
  }
  return true;
}

} // namespace

bool tfc::rt::checkDescriptor() {
  const tfc_gen_model &m = descriptor();
  if (m.gen_abi_version != TFC_GEN_ABI_VERSION || m.info.abi_version != TFC_ABI_VERSION) {
    setError("model descriptor: ABI version %d/%d, this runtime implements %d/%d",
             m.gen_abi_version, m.info.abi_version, TFC_GEN_ABI_VERSION, TFC_ABI_VERSION);
    return false;
  }
  if (m.tensor_parallel < 0) {
    setError("model descriptor: tensor_parallel %d", m.tensor_parallel);
    return false;
  }
  if (m.n_slots < 0 || m.n_caches < 0 || m.info.n_weights < 0 ||
      (m.n_slots && !m.slots) || (m.n_caches && !m.caches) || (m.info.n_weights && !m.weights)) {
    setError("model descriptor: bad table sizes");
    return false;
  }
  for (int32_t s = 0; s < m.n_slots; ++s) {
    const tfc_gen_slot &slot = m.slots[s];
    if (slot.rank < 0 || slot.rank > TFC_MAX_RANK || elementCount(slot.dims, slot.rank) < 0 ||
        slot.layers < 0 || (slot.layers > 0 && (slot.rank < 1 || slot.dims[0] != slot.layers)) ||
        slot.dtype < TFC_DTYPE_F32 || slot.dtype >= TFC_DTYPE_COUNT ||
        (blockLayout(slot.dtype).elements &&
         (slot.rank < 1 || slot.rank >= TFC_MAX_RANK ||
          slot.dims[slot.rank - 1] % blockLayout(slot.dtype).elements != 0))) {
      setError("model descriptor: weight slot %d is malformed", s);
      return false;
    }
    // Per-layer types are K-quants of one super-block width over a K-quant base.
    auto kQuant = [](int32_t t) {
      return t == TFC_DTYPE_Q6_K || t == TFC_DTYPE_Q4_K || t == TFC_DTYPE_Q5_K;
    };
    for (int32_t l = 0; slot.layer_dtypes && l < std::max(slot.layers, 1); ++l)
      if (slot.layers == 0 || !kQuant(slot.dtype) || !kQuant(slot.layer_dtypes[l])) {
        setError("model descriptor: weight slot %d has a bad layer dtype", s);
        return false;
      }
  }
  for (int32_t c = 0; c < m.n_caches; ++c) {
    const tfc_gen_cache &cache = m.caches[c];
    if (cache.rank < 1 || cache.rank > TFC_MAX_RANK || elementCount(cache.dims, cache.rank) < 0 ||
        (cache.dtype != TFC_DTYPE_F32 && cache.dtype != TFC_DTYPE_BF16 &&
         cache.dtype != TFC_DTYPE_Q8_0)) {
      setError("model descriptor: cache %d is malformed", c);
      return false;
    }
  }
  // Every slot (every layer of a stacked slot) is filled by exactly one entry,
  // on every rank: an expert-split slot by one entry of each part.
  std::vector<int32_t> slotParts(m.n_slots, 1);
  for (int32_t i = 0; i < m.info.n_weights; ++i)
    if (m.weights[i].shard_dim == TFC_SHARD_EXPERTS && m.weights[i].slot >= 0 &&
        m.weights[i].slot < m.n_slots && m.weights[i].shard_parts > 0 &&
        m.weights[i].shard_parts <= m.tensor_parallel)
      slotParts[m.weights[i].slot] = std::max(slotParts[m.weights[i].slot], m.weights[i].shard_parts);
  std::vector<std::vector<int32_t>> uses(m.n_slots);
  for (int32_t s = 0; s < m.n_slots; ++s)
    uses[s].assign(size_t(m.slots[s].layers > 0 ? m.slots[s].layers : 1) * slotParts[s], 0);
  for (int32_t i = 0; i < m.info.n_weights; ++i) {
    const tfc_gen_weight &w = m.weights[i];
    const char *name = w.name ? w.name : "(null)";
    const bool cutDim = w.shard_dim >= 0 && w.shard_dim < w.rank && w.rank <= TFC_MAX_RANK;
    bool shardOk =
        w.shard_parts == 0 ||
        (w.shard_parts > 0 && m.tensor_parallel > 1 && w.shard_parts <= m.tensor_parallel &&
         m.tensor_parallel % w.shard_parts == 0 &&
         (w.shard_dim == TFC_SHARD_RANK_ZERO ||
          (w.shard_dim == TFC_SHARD_EXPERTS && w.shard_index >= 0 &&
           w.shard_index < w.shard_parts) ||
          (cutDim && w.dims[w.shard_dim] > 0)));
    // Segments: of a cut dim, whole parts of each (no padding).
    shardOk = shardOk && (w.shard_segments == 0 ||
                          (w.shard_segments > 1 && w.shard_parts > 0 && cutDim &&
                           w.dims[w.shard_dim] % (int64_t(w.shard_segments) * w.shard_parts) == 0));
    if (!w.name || w.rank < 0 || w.rank > TFC_MAX_RANK || w.slot < 0 || w.slot >= m.n_slots ||
        !shardOk) {
      setError("model descriptor: manifest entry %d ('%s') is malformed", i, name);
      return false;
    }
    const tfc_gen_slot &slot = m.slots[w.slot];
    bool layerOk = slot.layers > 0 ? (w.layer >= 0 && w.layer < slot.layers) : w.layer == -1;
    if (!layerOk || shareElements(w) != slotShareElements(slot)) {
      setError("model descriptor: manifest entry '%s' does not fit weight slot %d", name, w.slot);
      return false;
    }
    const bool experts = w.shard_dim == TFC_SHARD_EXPERTS;
    if ((experts && w.shard_parts != slotParts[w.slot]) ||
        (!experts && slotParts[w.slot] != 1) ||
        ++uses[w.slot][size_t(slot.layers > 0 ? w.layer : 0) * slotParts[w.slot] +
                       (experts ? w.shard_index : 0)] > 1) {
      setError("model descriptor: manifest entry '%s' fills an already filled part of slot %d",
               name, w.slot);
      return false;
    }
  }
  // (An expert-split slot's last part may hold padding experts, which no
  // entry fills: they stay zero and no token is routed to them.)
  for (int32_t s = 0; s < m.n_slots; ++s)
    for (size_t l = 0; l < uses[s].size(); ++l)
      if (uses[s][l] != 1 && !(slotParts[s] > 1 && uses[s][l] == 0)) {
        setError("model descriptor: weight slot %d (layer %zu) has no manifest entry", s, l);
        return false;
      }
  if (!checkFunction(m, m.decoder, "decoder", FunctionRole::decoder) ||
      !checkFunction(m, m.encoder, "encoder", FunctionRole::encoder) ||
      !checkFunction(m, m.decoder_last, "decoder_last", FunctionRole::decoder) ||
      !checkFunction(m, m.decoder_batch, "decoder_batch", FunctionRole::batch) ||
      !checkFunction(m, m.attention_maps, "attention_maps", FunctionRole::maps))
    return false;
  if (m.decoder_batch.entry &&
      (!m.decoder.entry || !m.decoder.stateful ||
       m.decoder_batch.out_width != m.decoder.out_width)) {
    setError("model descriptor: decoder_batch does not match the decoder");
    return false;
  }
  if (m.decoder_last.entry &&
      (!m.decoder.entry || m.decoder_last.stateful != m.decoder.stateful ||
       m.decoder_last.out_width != m.decoder.out_width)) {
    setError("model descriptor: decoder_last does not match the decoder");
    return false;
  }
  if (m.decoder.entry && m.decoder.out_width != m.info.vocab_size) {
    setError("model descriptor: decoder out_width %d != vocab_size %d", m.decoder.out_width,
             m.info.vocab_size);
    return false;
  }
  bool decoderWantsMemory = false;
  for (int32_t k = 0; m.decoder.entry && k < m.decoder.n_args; ++k)
    decoderWantsMemory |= m.decoder.args[k].kind == TFC_ARG_MEMORY;
  if (decoderWantsMemory && !m.encoder.entry) {
    setError("model descriptor: the decoder takes encoder memory but there is no encoder");
    return false;
  }
  if (m.info.vocab_size <= 0) {
    setError("model descriptor: vocab_size %d", m.info.vocab_size);
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// tfc_model
//===----------------------------------------------------------------------===//

bool tfc_model::allocateSlots(const std::vector<bool> &external) {
  const tfc_gen_model &m = descriptor();
  slots.resize(m.n_slots);
  views.resize(m.n_slots);
  for (int32_t s = 0; s < m.n_slots; ++s) {
    if (s < int32_t(external.size()) && external[s])
      continue;
    const tfc_gen_slot &slot = m.slots[s];
    // The layers side by side, each in its own type's size.
    SlotView &view = views[s];
    int64_t units = 0;
    for (int32_t l = 0; l < slot.layers; ++l) {
      view.layerOffsets.push_back(units);
      units += storageUnits(entryDType(slot, l), slotShareElements(slot));
    }
    size_t n = size_t(slot.layers > 0 ? units
                                      : storageUnits(slot.dtype, elementCount(slot.dims, slot.rank)));
    size_t bytes = dtypeBytes(slot.dtype);
    if (n > SIZE_MAX / bytes || !slots[s].allocate(n * bytes)) {
      setError("out of memory allocating weight slot %d (%s floats)", s,
               formatShape(slot.dims, slot.rank).c_str());
      return false;
    }
    view.base = slots[s].data();
    view.elements = int64_t(n);
  }
  return true;
}


void *tfc_model::weightData(int32_t i) const {
  const tfc_gen_model &m = descriptor();
  const tfc_gen_weight &w = m.weights[i];
  const tfc_gen_slot &slot = m.slots[w.slot];
  // allocateSlots put layer l at layerOffsets[l] (in the slot's storage units).
  int64_t offset = slot.layers > 0 ? views[w.slot].layerOffsets[w.layer] : 0;
  return static_cast<char *>(slots[w.slot].data()) + offset * int64_t(dtypeBytes(slot.dtype));
}

tfc::rt::BlockLayout tfc::rt::blockLayout(int32_t dtype) {
  switch (dtype) {
  case TFC_DTYPE_Q8_0:
    return {TFC_Q8_0_BLOCK, TFC_Q8_0_BLOCK_BYTES, uint32_t(tfc::gguf::TensorType::Q8_0)};
  case TFC_DTYPE_Q4_0:
    return {TFC_Q4_0_BLOCK, TFC_Q4_0_BLOCK_BYTES, uint32_t(tfc::gguf::TensorType::Q4_0)};
  case TFC_DTYPE_Q6_K:
    return {TFC_Q6_K_BLOCK, TFC_Q6_K_BLOCK_BYTES, uint32_t(tfc::gguf::TensorType::Q6_K)};
  case TFC_DTYPE_Q4_K:
    return {TFC_Q4_K_BLOCK, TFC_Q4_K_BLOCK_BYTES, uint32_t(tfc::gguf::TensorType::Q4_K)};
  case TFC_DTYPE_Q5_K:
    return {TFC_Q5_K_BLOCK, TFC_Q5_K_BLOCK_BYTES, uint32_t(tfc::gguf::TensorType::Q5_K)};
  default:
    return {};
  }
}

size_t tfc::rt::dtypeBytes(int32_t dtype) {
  if (blockLayout(dtype).elements)
    return 1;
  return dtype == TFC_DTYPE_F32 ? 4 : 2;
}

int64_t tfc::rt::storageUnits(int32_t dtype, int64_t n) {
  BlockLayout blocks = blockLayout(dtype);
  return blocks.elements ? n / blocks.elements * blocks.bytes : n;
}

void tfc::rt::storeFloats(int32_t dtype, const float *src, void *dst, int64_t n) {
  if (dtype == TFC_DTYPE_F32) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
    return;
  }
  if (BlockLayout blocks = blockLayout(dtype); blocks.elements) {
    quantize(blocks.ggmlType, src, static_cast<unsigned char *>(dst), n);
    return;
  }
  auto *out = static_cast<uint16_t *>(dst);
  for (int64_t i = 0; i < n; ++i)
    out[i] = dtype == TFC_DTYPE_BF16 ? floatToBF16(src[i]) : floatToHalf(src[i]);
}

namespace {

/// splitmix64: tiny, fast, and good enough for test weights.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [-1, 1) with 24 bits of resolution.
  float symmetric() { return float(int64_t(next() >> 40) - (int64_t(1) << 23)) * 0x1p-23f; }
};

} // namespace

//===----------------------------------------------------------------------===//
// C ABI
//===----------------------------------------------------------------------===//

extern "C" {

const tfc_model_info *tfc_info(void) { return &descriptor().info; }

const char *tfc_weight_name(int32_t i) {
  const tfc_gen_model &m = descriptor();
  if (i < 0 || i >= m.info.n_weights || !m.weights) {
    setError("weight index %d is outside [0, %d)", i, m.info.n_weights);
    return nullptr;
  }
  return m.weights[i].name;
}

int32_t tfc_weight_shape(int32_t i, int64_t dims[8]) {
  const tfc_gen_model &m = descriptor();
  if (i < 0 || i >= m.info.n_weights || !m.weights) {
    setError("weight index %d is outside [0, %d)", i, m.info.n_weights);
    return -1;
  }
  if (!dims) {
    setError("tfc_weight_shape: dims is NULL");
    return -1;
  }
  const tfc_gen_weight &w = m.weights[i];
  int32_t rank = w.rank < 0 ? 0 : (w.rank > TFC_MAX_RANK ? TFC_MAX_RANK : w.rank);
  for (int32_t d = 0; d < rank; ++d)
    dims[d] = w.dims[d];
  return rank;
}

namespace {

/// A tensor-parallel model joins its ranks (MPI) before anything is loaded.
bool joinModelRanks() {
  const tfc_gen_model &m = descriptor();
  return m.tensor_parallel <= 1 || joinRanks(m.tensor_parallel);
}

/// `model` if every rank built its own, else null on every rank (the ranks
/// that succeeded free theirs): no rank is left waiting in a collective for
/// one that failed.
tfc_model *agreeOnModel(tfc_model *model) {
  if (descriptor().tensor_parallel <= 1)
    return model;
  if (allRanks(model != nullptr))
    return model;
  if (model) {
    delete model;
    setError("another rank failed to load the model (its error is on its stderr)");
  }
  return nullptr;
}

/// The seeded random weights of tfc_model_random, this rank's part of each.
void fillRandom(tfc_model &model, uint64_t seed) {
  const tfc_gen_model &m = descriptor();
  // Values are made and stored a chunk at a time: staging a whole tensor in
  // F32 would add the largest tensor (the embedding) to the peak RSS of every
  // load. A tensor's values are one sequential stream, so chunking does not
  // change them.
  constexpr int64_t kChunk = 1 << 18; // 1 MiB, several parts of a quantizing storeFloats
  std::vector<float> values(kChunk);
  for (int32_t i = 0; i < m.info.n_weights; ++i) {
    const tfc_gen_weight &w = m.weights[i];
    const int32_t dtype = entryDType(m.slots[w.slot], w.layer);
    const int64_t n = elementCount(w.dims, w.rank);
    // One stream per manifest entry, so a tensor's values depend only on the
    // seed and its index. a = 1/sqrt(fan_in) keeps activations O(1).
    SplitMix64 rng{seed ^ (0xD1B54A32D192ED03ull * uint64_t(i + 1))};
    int64_t fanIn = w.rank > 0 && w.dims[w.rank - 1] > 0 ? w.dims[w.rank - 1] : 1;
    float a = float(1.0 / std::sqrt(double(fanIn)));
    const ShardPart part = shardOf(w, rankIndex());
    if (part.zeros || part.absent)
      continue; // zeros already; an expert another rank holds
    auto *dst = static_cast<char *>(model.weightData(i));
    if (!part.whole) {
      // A rank's part of the tensor every rank would make whole: the stream
      // of the whole tensor, of which the part's runs are kept, so that the
      // ranks together hold the single-process model's weights.
      std::vector<float> whole(static_cast<size_t>(n));
      for (float &v : whole)
        v = w.init == TFC_INIT_ONES ? 1.0f : w.init == TFC_INIT_RANDOM ? a * rng.symmetric() : 0.0f;
      // Padding rows past the tensor's end stay zero (the slot is zeroed).
      const int64_t run = part.held * part.inner;
      for (int64_t o = 0; o < part.outer; ++o)
        if (run > 0)
          storeFloats(dtype, whole.data() + (o * part.along + part.begin) * part.inner,
                      dst + storageBytes(dtype, o * part.count * part.inner), run);
      continue;
    }
    for (int64_t begin = 0; begin < n; begin += kChunk) {
      int64_t count = std::min(kChunk, n - begin);
      float *chunk = values.data();
      for (int64_t j = 0; j < count; ++j)
        chunk[j] = w.init == TFC_INIT_ONES     ? 1.0f
                   : w.init == TFC_INIT_RANDOM ? a * rng.symmetric()
                                               : 0.0f;
      // TFC_INIT_ZEROS and anything else stays zero.
      storeFloats(dtype, chunk, dst + storageBytes(dtype, begin), count);
    }
  }
}

} // namespace

tfc_model *tfc_model_load(const char *path) {
  return guarded<tfc_model *>(nullptr, [&]() -> tfc_model * {
    if (!path) {
      setError("tfc_model_load: path is NULL");
      return nullptr;
    }
    if (!checkDescriptor() || !joinModelRanks())
      return nullptr;
    return agreeOnModel(loadWeights(path));
  });
}

tfc_model *tfc_model_random(uint64_t seed) {
  return guarded<tfc_model *>(nullptr, [&]() -> tfc_model * {
    if (!checkDescriptor() || !joinModelRanks())
      return nullptr;
    auto model = std::make_unique<tfc_model>();
    // Seeded, so every rank makes the same weights: only an allocation can
    // fail. The ranks agree on it after making their weights, not before:
    // that is also where they wait for each other, so that they start their
    // first call together. (Agreeing first let the rank that finished first
    // wait for the other inside its first call, whose time -- tfc-run's
    // prefill figure -- then counted the other rank's weight making.)
    bool made = model->allocateSlots();
    if (made) {
      // Caught here, not by guarded(): a rank must reach the agreement
      // whatever happens, or the others would wait for it forever.
      try {
        fillRandom(*model, seed);
      } catch (const std::bad_alloc &) {
        setError("out of memory");
        made = false;
      }
    }
    if (!made)
      model.reset();
    return agreeOnModel(model.release());
  });
}

void tfc_model_free(tfc_model *model) { delete model; }

int32_t tfc_rank(int32_t *ranks) {
  if (ranks)
    *ranks = rankCount();
  return rankIndex();
}

int32_t tfc_broadcast(void *buffer, int64_t bytes) {
  return guarded<int32_t>(-1, [&]() -> int32_t {
    if (bytes < 0 || (bytes > 0 && !buffer)) {
      setError("tfc_broadcast: %s", bytes < 0 ? "negative size" : "buffer is NULL");
      return -1;
    }
    return broadcast(buffer, bytes) ? 0 : -1;
  });
}

int32_t tfc_logits_rank(int32_t rank) {
  return guarded<int32_t>(-1, [&]() -> int32_t { return setLogitsRank(rank) ? 0 : -1; });
}

const char *tfc_last_error(void) { return lastError; }

} // extern "C"
