//===- Memory.cpp - Buffers of the generated code ----------------------------===//
//
// The activations of the generated code live in the session's arena
// (tfc-plan-activations, TFC_ARG_ARENA); what the plan cannot place (a buffer
// inside a parallel loop, a size read from memory; none in the compiled
// examples, test/Codegen/activations-in-arena.test) stays a memref.alloc,
// lowered to calls of _mlir_memref_to_llvm_{alloc,aligned_alloc,free} (MLIR's
// "generic functions" of finalize-memref-to-llvm) rather than malloc, so that
// the runtime decides where they come from: 64-byte-aligned blocks of the
// system allocator.
//
//===----------------------------------------------------------------------===//

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

/// Alignment of every block: a cache line, and what AVX-512 loads like.
constexpr size_t kAlign = 64;

} // namespace

// Called by the generated code only (hidden by the export map). They return
// NULL when out of memory, as malloc would.
extern "C" {

void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  if (bytes > SIZE_MAX - kAlign)
    return nullptr;
  // aligned_alloc wants a multiple of the alignment (and not 0).
  size_t size = (bytes + kAlign - 1) / kAlign * kAlign;
  return std::aligned_alloc(kAlign, size ? size : kAlign);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes) {
  if (alignment > kAlign)
    return nullptr; // the generated code asks for at most 64
  return _mlir_memref_to_llvm_alloc(bytes);
}

void _mlir_memref_to_llvm_free(void *ptr) { std::free(ptr); }

} // extern "C"
