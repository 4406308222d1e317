//===- MappedFile.cpp - Weight files mapped read-only ----------------------===//
//
// The mapping of a weight file and the release of the pages a copy has read
// (MappedFile.h). Errors name the file and the reason in the words of strerror.
//
//===----------------------------------------------------------------------===//
#include "MappedFile.h"

#include "Internal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

using namespace tfc::rt;

//===----------------------------------------------------------------------===//
// MappedFile
//===----------------------------------------------------------------------===//

MappedFile::~MappedFile() {
  if (base)
    munmap(base, length);
  if (fd >= 0)
    close(fd);
}

bool MappedFile::open(const char *path) {
  fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open '%s': %s", path);
  struct stat st;
  if (fstat(fd, &st) != 0)
    return fail("cannot stat '%s': %s", path);
  if (S_ISDIR(st.st_mode)) {
    setError("'%s' is a directory, not a weight file", path);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    setError("'%s' is not a regular file", path);
    return false;
  }
  if (st.st_size == 0) {
    setError("'%s' is empty", path);
    return false;
  }
  length = size_t(st.st_size);
  void *p = mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED)
    return fail("cannot map '%s': %s", path);
  base = p;
  // Read ahead: the weights are all read now, and in-place ones again each step.
  // A rank of a tensor-parallel model reads only its shards of the file: no
  // read-ahead, and no fault-around either (MADV_RANDOM), so that the pages of
  // the other ranks' shards never enter its resident set.
  madvise(base, length, descriptor().tensor_parallel > 1 ? MADV_RANDOM : MADV_WILLNEED);
  return true;
}

bool MappedFile::fail(const char *fmt, const char *path) {
  char buf[256];
  const char *msg = strerror_r(errno, buf, sizeof(buf));
  setError(fmt, path, msg);
  return false;
}

//===----------------------------------------------------------------------===//
// PageDropper
//===----------------------------------------------------------------------===//

namespace {
uintptr_t pageSize() {
  static const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  return page;
}
uintptr_t roundUpToPage(uintptr_t p) { return (p + pageSize() - 1) / pageSize() * pageSize(); }
} // namespace

PageDropper::PageDropper(const unsigned char *begin) {
  if (begin)
    next = roundUpToPage(reinterpret_cast<uintptr_t>(begin));
}

void PageDropper::upTo(const unsigned char *end) {
  if (!next)
    return;
  uintptr_t last = reinterpret_cast<uintptr_t>(end) / pageSize() * pageSize();
  pending = std::max(pending, last);
  // Dropped in steps of at least 1 MiB: fewer system calls.
  if (pending < next + (uintptr_t(1) << 20))
    return;
  madvise(reinterpret_cast<void *>(next), pending - next, MADV_DONTNEED);
  next = pending;
}

PageDropper::~PageDropper() {
  if (next && pending > next)
    madvise(reinterpret_cast<void *>(next), pending - next, MADV_DONTNEED);
}
