//===- MappedFile.h - Weight files mapped read-only, and what a load drops -===//
//
// Every weight file format the runtime reads (safetensors files and shards,
// GGUF files) is mapped read-only and private in one piece: tensors already in
// their slot's type are used in place from the mapping for the model's
// lifetime, the others are copied out of it. MappedFile owns one such mapping;
// PageDropper releases the pages a copy has consumed from the resident set.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_MAPPEDFILE_H
#define TFC_RUNTIME_MAPPEDFILE_H

#include <cstddef>
#include <cstdint>

namespace tfc::rt {

/// A regular, non-empty file mapped read-only. Move-less: shared through a
/// std::shared_ptr by the models that use its bytes in place.
class MappedFile {
public:
  MappedFile() = default;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();

  /// Maps `path`. Sets the error (naming the file and the reason: missing,
  /// a directory, not a regular file, empty, unreadable) and returns false on
  /// failure.
  bool open(const char *path);

  const unsigned char *bytes() const { return static_cast<const unsigned char *>(base); }
  size_t size() const { return length; }

private:
  bool fail(const char *fmt, const char *path);

  int fd = -1;
  void *base = nullptr;
  size_t length = 0;
};

/// Drops the pages of a read-only file mapping that a copy has consumed from
/// the resident set, as the copy advances: whole pages from the first page
/// boundary at or after `begin` up to the last one at or before what upTo
/// names. A later read faults them in again from the file, so this never
/// changes what the mapping holds. Inactive for a null `begin` (bytes that are
/// not a file mapping, where MADV_DONTNEED would zero them).
class PageDropper {
public:
  explicit PageDropper(const unsigned char *begin);
  PageDropper(const PageDropper &) = delete;
  PageDropper &operator=(const PageDropper &) = delete;
  ~PageDropper();

  void upTo(const unsigned char *end);

private:
  uintptr_t next = 0;
  uintptr_t pending = 0;
};

} // namespace tfc::rt

#endif // TFC_RUNTIME_MAPPEDFILE_H
