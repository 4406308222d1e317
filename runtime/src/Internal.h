//===- Internal.h - Shared declarations of libtfcrt ------------------------===//
//
// The runtime implements the public C ABI (tfc.h) on top of the descriptor the
// generated object defines (`__tfc_model`, gen_abi.h). This header holds what the
// runtime's files share: the error channel, 64-byte-aligned buffers, the model
// and session objects, and the descriptor check every model goes through.
//
// Errors: every failure stores a message in a thread-local, fixed-size buffer
// (setError) that tfc_last_error() returns. The buffer is not cleared by a
// successful call: it always describes the last failure on the thread, "" until
// the first one. A fixed buffer keeps reporting allocation-free (it works while
// out of memory) and leaves no thread-local destructor behind in a dlopen'ed .so.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_INTERNAL_H
#define TFC_RUNTIME_INTERNAL_H

// Only the tfc.h entry points have default visibility; everything else in the
// library is hidden (-fvisibility=hidden), and `__tfc_model` is a hidden symbol of
// the same model.so, reached without the GOT.
#pragma GCC visibility push(default)
#include "tfc/tfc.h"
#pragma GCC visibility pop
#pragma GCC visibility push(hidden)
#include "tfc/gen_abi.h"
#pragma GCC visibility pop

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <memory>
#include <vector>

namespace tfc::rt {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// Formats the message of the current failure into the thread's error buffer.
void setError(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/// Runs `body` (returning T) and turns any escaping C++ exception into an error
/// message and `failValue`: nothing unwinds through the C ABI.
template <typename T, typename F> T guarded(T failValue, F &&body) noexcept;

/// "[2, 3, 4]": a shape as error messages print it.
std::string formatShape(const int64_t *dims, size_t rank);

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

/// A zero-initialized, 64-byte-aligned heap buffer (large ones come straight
/// from mmap, so untouched pages cost nothing). Move-only.
class AlignedBuffer {
public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  AlignedBuffer(AlignedBuffer &&other) noexcept { *this = std::move(other); }
  AlignedBuffer &operator=(AlignedBuffer &&other) noexcept;
  ~AlignedBuffer() { release(); }

  /// Replaces the contents by `bytes` zero bytes. Returns false when out of
  /// memory, leaving the buffer as it was.
  bool allocate(size_t bytes);
  /// Replaces the contents by `bytes` zero bytes of reserved address space
  /// (mmap, MAP_NORESERVE, whatever the size): a page becomes memory when it is
  /// first written, so a KV cache sized for max_seq costs what its session
  /// has written. Returns false when out of address space.
  bool reserve(size_t bytes);
  /// Zeroes a reserved buffer by giving its pages back (madvise
  /// MADV_DONTNEED): what was written stops counting until written again.
  /// A buffer from allocate() is zeroed in place.
  void discard();
  void release();

  void *data() const { return ptr; }
  float *floats() const { return static_cast<float *>(ptr); }
  size_t size() const { return bytes; }

private:
  void *ptr = nullptr;
  size_t bytes = 0;
  size_t mappedBytes = 0; // non-zero when ptr came from mmap
};

/// Product of `dims[0..rank)`, or -1 when negative or overflowing int64.
int64_t elementCount(const int64_t *dims, size_t rank);

/// The descriptor of the model this library was linked with.
inline const tfc_gen_model &descriptor() { return __tfc_model; }

/// Checks that the generated descriptor is self-consistent (slots, manifest,
/// caches, argument lists). Sets the error and returns false if not; every
/// model creation goes through it, so later code may trust the descriptor.
bool checkDescriptor();

/// Elements of one manifest entry's share of its slot (one layer when stacked).
int64_t slotShareElements(const tfc_gen_slot &slot);

/// The type entry `layer` of `slot` is stored in: its own with per-layer
/// types (gen_abi.h layer_dtypes), else the slot's.
inline int32_t entryDType(const tfc_gen_slot &slot, int32_t layer) {
  return slot.layer_dtypes && layer >= 0 ? slot.layer_dtypes[layer] : slot.dtype;
}

/// The part of a manifest tensor this rank holds (gen_abi.h shard_dim,
/// shard_parts): seen as [outer, along, inner] around the sharded dim, the
/// rows [begin, begin + count) of `along` for every index of `outer`. When
/// the parts do not divide `along` they are ceil(along / parts) rows and the
/// last ones run past the tensor's end: only `held` rows come from the
/// tensor, the rest of the part is zeros.
struct ShardPart {
  bool whole = true;  // every rank holds the whole tensor
  bool zeros = false; // a rank other than 0 of a TFC_SHARD_RANK_ZERO tensor
  bool absent = false; // an expert of another rank's part (TFC_SHARD_EXPERTS): not loaded
  int64_t outer = 1, along = 1, inner = 1;
  int64_t begin = 0, count = 1, held = 1;
  /// Some of the part's rows are padding, not the tensor's.
  bool padded() const { return !whole && !zeros && !absent && held < count; }
  /// The part's elements are one contiguous run of the tensor's.
  bool contiguous() const { return whole || zeros || absent || (outer == 1 && !padded()); }
  /// Elements of the part (its slot's share), padding included.
  int64_t elements() const { return outer * count * inner; }
};
/// This rank's part of manifest entry `w` (the descriptor checked); `rank` of
/// the descriptor's tensor_parallel ranks.
ShardPart shardOf(const tfc_gen_weight &w, int32_t rank);

/// The ggml blocks of a quantized slot type (Q8_0, Q4_0, Q6_K, Q4_K, Q5_K): elements and bytes
/// per block and the ggml type number; all zero for F32/BF16/F16.
struct BlockLayout {
  int64_t elements = 0, bytes = 0;
  uint32_t ggmlType = 0;
};
BlockLayout blockLayout(int32_t dtype);

/// Bytes of one element of the buffer of a slot of type `dtype` (TFC_DTYPE_*):
/// of a weight for F32/BF16/F16, of a byte of the blocks for Q8_0/Q4_0.
size_t dtypeBytes(int32_t dtype);

/// Buffer elements (see dtypeBytes) holding `n` weights of type `dtype`: n, or
/// for Q8_0/Q4_0 the bytes of n / 32 blocks (n a whole number of them, which
/// checkDescriptor ensures for every slot share and that the chunked copies
/// keep).
int64_t storageUnits(int32_t dtype, int64_t n);

/// Bytes of `n` weights of type `dtype`.
inline size_t storageBytes(int32_t dtype, int64_t n) {
  return size_t(storageUnits(dtype, n)) * dtypeBytes(dtype);
}

/// Stores `n` floats as `dtype` (rounding to nearest even for BF16 and F16;
/// quantized for Q8_0/Q4_0 as ggml's quantize_row_q8_0_ref/q4_0_ref do).
void storeFloats(int32_t dtype, const float *src, void *dst, int64_t n);

} // namespace tfc::rt

/// Weights: per descriptor slot, of the slot's dtype, either an owned buffer or,
/// for tensors a file already holds as the slot's dtype (F32, BF16 or F16,
/// stacked ones included), the file's own bytes, used in place from its
/// mapping (one per file: a sharded checkpoint has several). Read-only once constructed, so any number of sessions on any threads
/// may share it.
struct tfc_model {
  /// What the generated code reads of one slot: `elements` elements from
  /// `base`; for a stacked slot, layer l starts `layerOffsets[l]` elements after
  /// `base` (TFC_ARG_LAYER_OFFSETS).
  struct SlotView {
    const void *base = nullptr;
    int64_t elements = 0;
    std::vector<int64_t> layerOffsets;
  };

  std::vector<tfc::rt::AlignedBuffer> slots; // owned buffers; empty for slots used in place
  std::vector<SlotView> views;               // per slot
  std::vector<std::shared_ptr<const void>> mappings; // keep in-place weights mapped
  int64_t ignoredTensors = 0; // tensors of the files the manifest does not use

  /// Allocates every slot not marked in `external` (zeroed), its layers side
  /// by side; the caller sets the views of external slots. Sets the error and
  /// returns false when out of memory.
  bool allocateSlots(const std::vector<bool> &external = {});
  /// Where manifest entry `i` lives in its (owned) slot.
  void *weightData(int32_t i) const;
};

namespace tfc::rt {

/// Builds a model from weights at `path`: a safetensors file, a sharded
/// checkpoint's index (`*.json`), a Hugging Face model directory, or a GGUF
/// file (by its magic or a `.gguf` name). The caller has checked the
/// descriptor (checkDescriptor). Checkpoint.cpp.
tfc_model *loadWeights(const char *path);

/// Builds a model from the `size` bytes of a whole safetensors file at `bytes`;
/// `name` stands for the file in error messages. With an `owner` keeping the
/// bytes alive, tensors already in their slot's type are used in place (the
/// model holds on to `owner`); without one, everything is copied. What
/// tfc_model_load runs once the file is mapped, and the entry point of
/// fuzz/safetensors_fuzzer.cpp. The caller has checked the descriptor
/// (checkDescriptor). Safetensors.cpp.
tfc_model *loadSafetensorsBytes(const char *name, const unsigned char *bytes, size_t size,
                                std::shared_ptr<const void> owner = nullptr);

/// The same for the bytes of a whole GGUF file (GgufWeights.cpp); the entry
/// point of fuzz/gguf_fuzzer.cpp.
tfc_model *loadGgufBytes(const char *name, const unsigned char *bytes, size_t size,
                         std::shared_ptr<const void> owner = nullptr);

//===----------------------------------------------------------------------===//
// Error helper implementation
//===----------------------------------------------------------------------===//

template <typename T, typename F> T guarded(T failValue, F &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    setError("out of memory");
  } catch (const std::exception &e) {
    setError("internal error: %s", e.what());
  } catch (...) {
    setError("internal error: unknown exception");
  }
  return failValue;
}

} // namespace tfc::rt

#endif // TFC_RUNTIME_INTERNAL_H
