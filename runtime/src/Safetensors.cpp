//===- Safetensors.cpp - Loading weights from a safetensors file -----------===//
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
// mapping tensor names to {dtype, shape, data_offsets} (offsets relative to the
// data section that follows the header), then the data. The file is mapped
// read-only, every header entry is validated (structure, offsets inside the data
// section, no two tensors overlapping, byte counts matching dtype and shape), and
// each manifest tensor is either used in place (a slot whose tensors all have
// its type in the file, F32, BF16 or F16, aligned to it; a stacked slot's
// layers are found through its table of layer offsets, gen_abi.h) or converted
// into its slot, after which its file pages are dropped from the resident set;
// the mapping is kept only while in-place weights use it. Every error names the
// file's tensor or byte offset at fault.
// Tensors the manifest does not use are checked like the others but otherwise
// ignored (counted in tfc_model::ignoredTensors; the runtime never prints).
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>
#include <unordered_map>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the safetensors reader assumes a little-endian host");

using namespace tfc::rt;
using json = nlohmann::json;

namespace {

//===----------------------------------------------------------------------===//
// Dtypes
//===----------------------------------------------------------------------===//

enum class DType { F32, F16, BF16, Other, Unknown };

struct DTypeInfo {
  DType type;
  int64_t bytes; // 0 when unknown
};

DTypeInfo parseDType(const std::string &s) {
  if (s == "F32")
    return {DType::F32, 4};
  if (s == "F16")
    return {DType::F16, 2};
  if (s == "BF16")
    return {DType::BF16, 2};
  // The other dtypes of the format: validated for size, never loaded.
  static const std::pair<const char *, int64_t> others[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
      {"U16", 2},  {"I32", 4}, {"U32", 4}, {"F64", 8},     {"I64", 8},     {"U64", 8}};
  for (const auto &[name, bytes] : others)
    if (s == name)
      return {DType::Other, bytes};
  return {DType::Unknown, 0};
}

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

/// IEEE binary16 to binary32, exact for every input (subnormals, infinities,
/// NaN payloads).
float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exactly representable in binary32.
    float mag = float(mant) * 0x1p-24f;
    uint32_t bits;
    std::memcpy(&bits, &mag, sizeof(bits));
    return bitsToFloat(sign | bits);
  }
  if (exp == 31)
    return bitsToFloat(sign | 0x7f800000u | (mant << 13));
  return bitsToFloat(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
}

void convertToF32(DType type, const unsigned char *src, float *dst, int64_t n) {
  switch (type) {
  case DType::F32:
    std::memcpy(dst, src, size_t(n) * 4);
    break;
  case DType::F16:
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      dst[i] = halfToFloat(h);
    }
    break;
  case DType::BF16:
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      dst[i] = bitsToFloat(uint32_t(h) << 16);
    }
    break;
  default:
    break;
  }
}

/// Drops the pages of a read-only file mapping that a copy has consumed from
/// the resident set, as the copy advances: whole pages from the first page
/// boundary at or after `begin` up to the last one at or before what upTo
/// names. A later read faults them in again from the file, so this never
/// changes what the mapping holds. Inactive for a null `begin` (bytes that are
/// not a file mapping).
class PageDropper {
public:
  explicit PageDropper(const unsigned char *begin) {
    if (begin)
      next = roundUp(reinterpret_cast<uintptr_t>(begin));
  }

  void upTo(const unsigned char *end) {
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

  ~PageDropper() {
    if (next && pending > next)
      madvise(reinterpret_cast<void *>(next), pending - next, MADV_DONTNEED);
  }

private:
  static uintptr_t pageSize() {
    static const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    return page;
  }
  static uintptr_t roundUp(uintptr_t p) { return (p + pageSize() - 1) / pageSize() * pageSize(); }

  uintptr_t next = 0;
  uintptr_t pending = 0;
};

//===----------------------------------------------------------------------===//
// The mapped file
//===----------------------------------------------------------------------===//

class MappedFile {
public:
  ~MappedFile() {
    if (base)
      munmap(base, size);
    if (fd >= 0)
      close(fd);
  }

  bool open(const char *path) {
    fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return fail("cannot open '%s': %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0)
      return fail("cannot stat '%s': %s", path);
    if (S_ISDIR(st.st_mode)) {
      setError("'%s' is a directory, not a safetensors file", path);
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
    if (st.st_size < 8) {
      setError("'%s' is too small for a safetensors file: %lld bytes, the header length "
               "alone takes 8",
               path, (long long)st.st_size);
      return false;
    }
    size = size_t(st.st_size);
    void *p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
      return fail("cannot map '%s': %s", path);
    base = p;
    // Read ahead: the weights are all read now, and in-place ones again each step.
    madvise(base, size, MADV_WILLNEED);
    return true;
  }

  const unsigned char *bytes() const { return static_cast<const unsigned char *>(base); }
  size_t size = 0;

private:
  bool fail(const char *fmt, const char *path) {
    char buf[256];
    const char *msg = strerror_r(errno, buf, sizeof(buf));
    setError(fmt, path, msg);
    return false;
  }

  int fd = -1;
  void *base = nullptr;
};

//===----------------------------------------------------------------------===//
// Header
//===----------------------------------------------------------------------===//

/// A SAX consumer that only records where and why parsing failed: the
/// non-throwing DOM parse says *that* the header is invalid, this says where.
struct ErrorLocator : nlohmann::json_sax<json> {
  size_t position = 0;
  std::string message;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t pos, const std::string &, const nlohmann::detail::exception &ex)
      override {
    position = pos;
    message = ex.what();
    // "[json.exception.parse_error.101] parse error at ...": keep the part after the tag.
    size_t tag = message.find("] ");
    if (tag != std::string::npos)
      message.erase(0, tag + 2);
    return false;
  }
};

/// One validated header entry.
struct Tensor {
  std::string name;
  std::string dtypeName;
  DTypeInfo dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end; // relative to the data section
};

bool asUnsigned(const json &v, uint64_t &out) {
  if (!v.is_number_unsigned())
    return false;
  out = v.get<uint64_t>();
  return true;
}

class Loader {
public:
  Loader(const char *path, const unsigned char *bytes, size_t size)
      : path(path), bytes(bytes), size(size) {}

  /// Builds the model. With `mapping` (which owns `bytes`), tensors already in
  /// their slot's layout are used in place and the model keeps the mapping.
  /// Only when `fileMapped` (bytes mapped read-only from the file) are the
  /// pages of copied tensors dropped: on other memory, MADV_DONTNEED would
  /// zero them.
  tfc_model *run(std::shared_ptr<const void> mapping, bool fileMapped) {
    if (!parseHeader() || !checkOverlaps() || !matchManifest())
      return nullptr;
    const tfc_gen_model &m = descriptor();
    // In place: a slot all of whose tensors (every layer of a stacked one)
    // have the slot's type in the file (F32, or BF16/F16 for the linear layers
    // of a --weight-type=bf16|f16 model) and are aligned to it there; a
    // misaligned layer makes its whole slot a copy.
    std::vector<bool> inPlace(m.n_slots, mapping != nullptr);
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      const Tensor &t = tensors[manifestTensor[i]];
      const int32_t slotType = m.slots[m.weights[i].slot].dtype;
      uintptr_t address = reinterpret_cast<uintptr_t>(tensorData(t));
      if (!storedAs(slotType, t.dtype.type) || address % dtypeBytes(slotType) != 0)
        inPlace[m.weights[i].slot] = false;
    }
    auto model = std::make_unique<tfc_model>();
    if (!model->allocateSlots(inPlace))
      return nullptr;
    for (int32_t s = 0; s < m.n_slots; ++s)
      if (inPlace[s])
        model->views[s] = inPlaceView(s);
    // Tensors are copied or converted a chunk at a time: conversions to
    // BF16/F16 go through F32 without staging a whole tensor, and the file's
    // pages of what has been copied leave the process's resident set as the
    // copy advances (they stay in the page cache; a later read would fault them
    // in again from the file), so the file does not count twice while the
    // model keeps the mapping for its in-place weights, not even transiently.
    constexpr int64_t kChunk = 1 << 16;
    std::vector<float> staging; // sized at the first conversion that needs it
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      if (inPlace[m.weights[i].slot])
        continue;
      const Tensor &t = tensors[manifestTensor[i]];
      const unsigned char *src = tensorData(t);
      const int64_t n = elementCount(t.shape.data(), t.shape.size());
      const int32_t slotType = m.slots[m.weights[i].slot].dtype;
      const size_t slotBytes = dtypeBytes(slotType);
      const bool sameType = storedAs(slotType, t.dtype.type);
      auto *dst = static_cast<char *>(model->weightData(i));
      PageDropper dropper(fileMapped ? src : nullptr);
      for (int64_t begin = 0; begin < n; begin += kChunk) {
        const int64_t count = std::min(kChunk, n - begin);
        const unsigned char *from = src + begin * t.dtype.bytes;
        char *to = dst + size_t(begin) * slotBytes;
        if (sameType) {
          std::memcpy(to, from, size_t(count) * slotBytes);
        } else if (slotType == TFC_DTYPE_F32) {
          convertToF32(t.dtype.type, from, reinterpret_cast<float *>(to), count);
        } else {
          if (staging.empty())
            staging.resize(size_t(kChunk));
          convertToF32(t.dtype.type, from, staging.data(), count);
          storeFloats(slotType, staging.data(), to, count);
        }
        dropper.upTo(from + count * t.dtype.bytes);
      }
    }
    model->ignoredTensors = int64_t(tensors.size()) - m.info.n_weights;
    if (std::find(inPlace.begin(), inPlace.end(), true) != inPlace.end())
      model->mapping = std::move(mapping);
    return model.release();
  }

private:
  const unsigned char *tensorData(const Tensor &t) const { return bytes + dataStart + t.begin; }

  /// Whether a tensor of file type `type` is stored as a slot of `slotType`.
  static bool storedAs(int32_t slotType, DType type) {
    return (slotType == TFC_DTYPE_F32 && type == DType::F32) ||
           (slotType == TFC_DTYPE_BF16 && type == DType::BF16) ||
           (slotType == TFC_DTYPE_F16 && type == DType::F16);
  }

  /// The view of slot `s` on the file's own bytes: from its lowest tensor to
  /// the end of its highest, each layer at its distance from the lowest (in
  /// elements of the slot's type, to which every tensor is aligned).
  tfc_model::SlotView inPlaceView(int32_t s) const {
    const tfc_gen_model &m = descriptor();
    std::vector<const unsigned char *> layers(std::max(m.slots[s].layers, 1));
    for (int32_t i = 0; i < m.info.n_weights; ++i)
      if (m.weights[i].slot == s)
        layers[std::max(m.weights[i].layer, 0)] = tensorData(tensors[manifestTensor[i]]);
    const unsigned char *base = *std::min_element(layers.begin(), layers.end());
    const unsigned char *last = *std::max_element(layers.begin(), layers.end());
    tfc_model::SlotView view;
    view.base = base;
    const ptrdiff_t element = ptrdiff_t(dtypeBytes(m.slots[s].dtype));
    view.elements = (last - base) / element + slotShareElements(m.slots[s]);
    if (m.slots[s].layers > 0)
      for (const unsigned char *layer : layers)
        view.layerOffsets.push_back((layer - base) / element);
    return view;
  }

  bool parseHeader() {
    uint64_t headerLen = 0;
    std::memcpy(&headerLen, bytes, 8);
    if (headerLen > size - 8) {
      setError("'%s': the header length at byte 0 (%llu) goes beyond the end of the file "
               "(%zu bytes)",
               path, (unsigned long long)headerLen, size);
      return false;
    }
    dataStart = 8 + size_t(headerLen);
    dataSize = size - dataStart;
    const char *begin = reinterpret_cast<const char *>(bytes) + 8;
    const char *end = begin + headerLen;
    json header = json::parse(begin, end, nullptr, /*allow_exceptions=*/false);
    if (header.is_discarded()) {
      ErrorLocator where;
      json::sax_parse(begin, end, &where);
      // nlohmann counts the offending character itself as read.
      size_t byte = 8 + (where.position > 0 ? where.position - 1 : 0);
      setError("'%s': the header is not valid JSON (at byte %zu of the file): %s", path, byte,
               where.message.c_str());
      return false;
    }
    if (!header.is_object()) {
      setError("'%s': the header (bytes [8, %zu)) is not a JSON object", path, dataStart);
      return false;
    }
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__")
        continue;
      if (!parseEntry(it.key(), it.value()))
        return false;
    }
    return true;
  }

  bool parseEntry(const std::string &name, const json &v) {
    const char *n = name.c_str();
    if (!v.is_object()) {
      setError("tensor '%s': its header entry is not a JSON object", n);
      return false;
    }
    Tensor t;
    t.name = name;
    auto dtype = v.find("dtype");
    if (dtype == v.end() || !dtype->is_string()) {
      setError("tensor '%s': missing or non-string 'dtype'", n);
      return false;
    }
    t.dtypeName = dtype->get<std::string>();
    t.dtype = parseDType(t.dtypeName);
    auto shape = v.find("shape");
    if (shape == v.end() || !shape->is_array()) {
      setError("tensor '%s': missing or non-array 'shape'", n);
      return false;
    }
    for (const json &d : *shape) {
      uint64_t x;
      if (!asUnsigned(d, x) || x > uint64_t(INT64_MAX)) {
        setError("tensor '%s': 'shape' must hold non-negative integers, got %s", n,
                 shape->dump().c_str());
        return false;
      }
      t.shape.push_back(int64_t(x));
    }
    auto offsets = v.find("data_offsets");
    if (offsets == v.end() || !offsets->is_array() || offsets->size() != 2 ||
        !asUnsigned((*offsets)[0], t.begin) || !asUnsigned((*offsets)[1], t.end)) {
      setError("tensor '%s': 'data_offsets' must be [begin, end] with non-negative integers",
               n);
      return false;
    }
    if (t.begin > t.end) {
      setError("tensor '%s': data_offsets [%llu, %llu] are reversed", n,
               (unsigned long long)t.begin, (unsigned long long)t.end);
      return false;
    }
    if (t.end > dataSize) {
      setError("tensor '%s': data_offsets [%llu, %llu] go beyond the data section (file bytes "
               "[%zu, %zu))",
               n, (unsigned long long)t.begin, (unsigned long long)t.end, dataStart, size);
      return false;
    }
    if (t.dtype.bytes > 0) {
      int64_t count = elementCount(t.shape.data(), t.shape.size());
      int64_t need;
      if (count < 0 || __builtin_mul_overflow(count, t.dtype.bytes, &need) ||
          uint64_t(need) != t.end - t.begin) {
        setError("tensor '%s': %llu bytes at file offset %llu, but dtype %s and shape %s "
                 "need %s",
                 n, (unsigned long long)(t.end - t.begin),
                 (unsigned long long)(t.begin + dataStart), t.dtypeName.c_str(),
                 formatShape(t.shape.data(), t.shape.size()).c_str(),
                 count < 0 || need < 0 ? "more than 2^63"
                                       : (std::to_string(need) + " bytes").c_str());
        return false;
      }
    }
    tensors.push_back(std::move(t));
    return true;
  }

  bool checkOverlaps() {
    std::vector<const Tensor *> order;
    for (const Tensor &t : tensors)
      if (t.end > t.begin)
        order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const Tensor *a, const Tensor *b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    for (size_t i = 1; i < order.size(); ++i) {
      const Tensor *prev = order[i - 1], *cur = order[i];
      if (cur->begin < prev->end) {
        setError("tensor '%s' (file bytes [%llu, %llu)) overlaps tensor '%s' (file bytes "
                 "[%llu, %llu))",
                 cur->name.c_str(), (unsigned long long)(cur->begin + dataStart),
                 (unsigned long long)(cur->end + dataStart), prev->name.c_str(),
                 (unsigned long long)(prev->begin + dataStart),
                 (unsigned long long)(prev->end + dataStart));
        return false;
      }
    }
    return true;
  }

  bool matchManifest() {
    std::unordered_map<std::string, size_t> byName;
    for (size_t i = 0; i < tensors.size(); ++i)
      byName.emplace(tensors[i].name, i);
    const tfc_gen_model &m = descriptor();
    manifestTensor.assign(m.info.n_weights, 0);
    // Report the first missing tensor and how many others are missing too.
    int32_t missing = 0, firstMissing = -1;
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      auto it = byName.find(m.weights[i].name);
      if (it == byName.end()) {
        if (missing++ == 0)
          firstMissing = i;
        continue;
      }
      manifestTensor[i] = it->second;
    }
    if (missing) {
      setError("tensor '%s' is missing from '%s'%s", m.weights[firstMissing].name, path,
               missing > 1 ? (" (and " + std::to_string(missing - 1) + " more)").c_str() : "");
      return false;
    }
    for (int32_t i = 0; i < m.info.n_weights; ++i) {
      const tfc_gen_weight &w = m.weights[i];
      const Tensor &t = tensors[manifestTensor[i]];
      if (t.dtype.type != DType::F32 && t.dtype.type != DType::F16 &&
          t.dtype.type != DType::BF16) {
        setError("tensor '%s': unsupported dtype %s (F32, F16 and BF16 load)", w.name,
                 t.dtypeName.c_str());
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

  const char *path;
  const unsigned char *bytes; // the whole file
  size_t size;
  size_t dataStart = 0, dataSize = 0;
  std::vector<Tensor> tensors;
  std::vector<size_t> manifestTensor; // manifest index -> tensors index
};

} // namespace

tfc_model *tfc::rt::loadSafetensors(const char *path) {
  auto file = std::make_shared<MappedFile>();
  if (!file->open(path))
    return nullptr;
  // The model keeps the mapping only when it uses weights in place; otherwise
  // the file is unmapped when this returns. (MappedFile::open rejects files
  // shorter than the header length.)
  Loader loader(path, file->bytes(), file->size);
  return loader.run(std::move(file), /*fileMapped=*/true);
}

tfc_model *tfc::rt::loadSafetensorsBytes(const char *name, const unsigned char *bytes,
                                         size_t size, std::shared_ptr<const void> owner) {
  if (size < 8) {
    setError("'%s' is too small for a safetensors file: %zu bytes, the header length alone "
             "takes 8",
             name, size);
    return nullptr;
  }
  return Loader(name, bytes, size).run(std::move(owner), /*fileMapped=*/false);
}
