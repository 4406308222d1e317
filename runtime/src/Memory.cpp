//===- Memory.cpp - Buffers of the generated code ----------------------------===//
//
// The activations of the generated code live in the session's arena
// (tfc-plan-activations, TFC_ARG_ARENA); what the plan cannot place (a buffer
// inside a parallel loop, a size read from memory; none in the compiled
// examples) stays a memref.alloc, lowered to calls of
// _mlir_memref_to_llvm_{alloc,aligned_alloc,free} (MLIR's "generic functions" of
// finalize-memref-to-llvm) rather than malloc, so that the runtime decides where
// they come from. Such a buffer has the same size every step; a per-thread cache
// of freed blocks (by size) serves it again without touching the system
// allocator. Blocks carry a small header with their size; the cache holds at
// most kCacheLimit bytes per thread and is released when the thread exits.
//
//===----------------------------------------------------------------------===//

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <unordered_map>
#include <vector>

namespace {

/// Alignment of every block: a cache line, and what AVX-512 loads like.
constexpr size_t kAlign = 64;
/// Bytes of freed blocks one thread keeps for reuse.
constexpr size_t kCacheLimit = size_t(64) << 20;

/// Sizes are rounded up to this granularity so near-equal requests share blocks.
size_t roundedSize(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

struct Header {
  size_t size; // rounded payload bytes
};
static_assert(sizeof(Header) <= kAlign, "the header fits in the alignment padding");

class BlockCache {
public:
  ~BlockCache() {
    for (auto &[size, blocks] : free)
      for (void *base : blocks)
        std::free(base);
  }

  void *allocate(size_t bytes) {
    size_t size = roundedSize(bytes ? bytes : 1);
    auto it = free.find(size);
    if (it != free.end() && !it->second.empty()) {
      void *base = it->second.back();
      it->second.pop_back();
      cached -= size;
      return static_cast<char *>(base) + kAlign;
    }
    if (size > SIZE_MAX - kAlign)
      return nullptr;
    void *base = std::aligned_alloc(kAlign, size + kAlign);
    if (!base)
      return nullptr;
    static_cast<Header *>(base)->size = size;
    return static_cast<char *>(base) + kAlign;
  }

  void release(void *ptr) {
    if (!ptr)
      return;
    void *base = static_cast<char *>(ptr) - kAlign;
    size_t size = static_cast<Header *>(base)->size;
    if (cached + size > kCacheLimit) {
      std::free(base);
      return;
    }
    free[size].push_back(base);
    cached += size;
  }

private:
  std::unordered_map<size_t, std::vector<void *>> free;
  size_t cached = 0;
};

BlockCache &cache() {
  thread_local BlockCache threadCache;
  return threadCache;
}

} // namespace

// Called by the generated code only (hidden by the export map). They return
// NULL when out of memory, as malloc would.
extern "C" {

void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  try {
    return cache().allocate(bytes);
  } catch (...) {
    return nullptr;
  }
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes) {
  if (alignment > kAlign)
    return nullptr; // the generated code asks for at most 64
  return _mlir_memref_to_llvm_alloc(bytes);
}

void _mlir_memref_to_llvm_free(void *ptr) {
  try {
    cache().release(ptr);
  } catch (...) {
    // The block is lost rather than freed twice; only a failing push_back
    // (out of memory) lands here.
  }
}

} // extern "C"
