//===- TensorFile.cpp - safetensors read into and written from doubles -----===//
//
// The format: an 8-byte little-endian header length N, N bytes of JSON mapping
// names to {dtype, shape, data_offsets} (relative to the data after the
// header), then the data. Checked here: the length against the file, the JSON,
// each entry's fields, offsets inside the data and a byte count that matches
// dtype and shape; each message names the tensor or the offset.
//
//===----------------------------------------------------------------------===//

#include "TensorFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the safetensors reader assumes a little-endian host");

namespace tfc::convert {

namespace {

using json = nlohmann::json;

int64_t dtypeBytes(const std::string &dtype) {
  if (dtype == "F32")
    return 4;
  if (dtype == "F16" || dtype == "BF16")
    return 2;
  if (dtype == "F64")
    return 8;
  return 0;
}

/// Bytes per element of the format's non-floating-point dtypes, 0 if unknown.
int64_t otherDtypeBytes(const std::string &dtype) {
  if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype == "F8_E4M3" ||
      dtype == "F8_E5M2")
    return 1;
  if (dtype == "I16" || dtype == "U16")
    return 2;
  if (dtype == "I32" || dtype == "U32")
    return 4;
  if (dtype == "I64" || dtype == "U64")
    return 8;
  return 0;
}

double element(const std::string &dtype, const uint8_t *p) {
  if (dtype == "F32") {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  if (dtype == "F64") {
    double f;
    std::memcpy(&f, p, 8);
    return f;
  }
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  if (dtype == "BF16") {
    uint32_t wide = uint32_t(bits) << 16;
    float f;
    std::memcpy(&f, &wide, 4);
    return f;
  }
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return static_cast<double>(h);
}

/// A non-negative integer that fits int64.
bool asCount(const json &v, int64_t &out) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > uint64_t(INT64_MAX))
    return false;
  out = static_cast<int64_t>(v.get<uint64_t>());
  return true;
}

} // namespace

std::string TensorFile::parse(llvm::StringRef what, llvm::ArrayRef<uint8_t> bytes) {
  std::string file = what.str();
  if (bytes.size() < 8)
    return file + ": truncated: " + std::to_string(bytes.size()) + " bytes, no header length";
  uint64_t headerLength;
  std::memcpy(&headerLength, bytes.data(), 8);
  if (headerLength > bytes.size() - 8)
    return file + ": header length " + std::to_string(headerLength) + " at byte 0 runs past the end (" +
           std::to_string(bytes.size()) + " bytes)";
  json header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + headerLength, nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return file + ": the header (bytes 8.." + std::to_string(8 + headerLength) +
           ") is not a JSON object";
  const uint64_t dataStart = 8 + headerLength, dataSize = bytes.size() - dataStart;
  std::vector<std::pair<int64_t, std::string>> byOffset;
  for (auto &[name, entry] : header.items()) {
    if (name == "__metadata__")
      continue;
    std::string where = file + ": tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry["dtype"].is_string() ||
        !entry.contains("shape") || !entry["shape"].is_array() ||
        !entry.contains("data_offsets") || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2)
      return where + " needs dtype, shape and data_offsets [begin, end]";
    std::string dtype = entry["dtype"].get<std::string>();
    bool floating = dtypeBytes(dtype) != 0;
    int64_t elementBytes = floating ? dtypeBytes(dtype) : otherDtypeBytes(dtype);
    if (!elementBytes)
      return where + " has dtype " + dtype + ", which safetensors does not define";
    Tensor t;
    int64_t count = 1;
    for (const json &dim : entry["shape"]) {
      int64_t n;
      if (!asCount(dim, n) || (n && count > INT64_MAX / 8 / n))
        return where + " has a bad shape " + entry["shape"].dump();
      t.shape.push_back(n);
      count *= n;
    }
    int64_t begin, end;
    if (!asCount(entry["data_offsets"][0], begin) || !asCount(entry["data_offsets"][1], end) ||
        begin > end || uint64_t(end) > dataSize)
      return where + " has data_offsets " + entry["data_offsets"].dump() +
             " outside the data section of " + std::to_string(dataSize) + " bytes";
    if (end - begin != count * elementBytes)
      return where + " holds " + std::to_string(end - begin) + " bytes, but " + dtype + " " +
             entry["shape"].dump() + " needs " + std::to_string(count * elementBytes);
    const uint8_t *p = bytes.data() + dataStart + begin;
    if (floating) {
      t.data.resize(count);
      for (int64_t i = 0; i < count; ++i)
        t.data[i] = element(dtype, p + i * elementBytes);
    } else {
      t.otherDtype = dtype;
      t.otherBytes.assign(p, p + (end - begin));
    }
    byOffset.emplace_back(begin, name);
    tensors[name] = std::move(t);
  }
  std::sort(byOffset.begin(), byOffset.end());
  for (auto &entry : byOffset)
    order.push_back(entry.second);
  return "";
}

std::string TensorFile::load(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return "cannot read '" + path.str() + "': " + buffer.getError().message();
  llvm::ArrayRef<uint8_t> bytes(reinterpret_cast<const uint8_t *>((*buffer)->getBufferStart()),
                                (*buffer)->getBufferSize());
  return parse(path, bytes);
}

void TensorFile::put(const std::string &name, Tensor tensor) {
  if (!tensors.count(name))
    order.push_back(name);
  tensors[name] = std::move(tensor);
}

void TensorFile::erase(const std::string &name) {
  tensors.erase(name);
  order.erase(std::remove(order.begin(), order.end(), name), order.end());
}

std::string TensorFile::save(llvm::StringRef path) const {
  json header = json::object();
  uint64_t offset = 0;
  for (const std::string &name : order) {
    const Tensor &t = tensors.at(name);
    uint64_t size = t.otherDtype.empty() ? t.data.size() * 4 : t.otherBytes.size();
    header[name] = {{"dtype", t.otherDtype.empty() ? "F32" : t.otherDtype},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  header["__metadata__"] = {{"format", "pt"}, {"producer", "tfc convert"}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return "cannot write '" + path.str() + "': " + ec.message();
  uint64_t length = text.size();
  os.write(reinterpret_cast<const char *>(&length), 8);
  os << text;
  for (const std::string &name : order) {
    const Tensor &t = tensors.at(name);
    os.write(reinterpret_cast<const char *>(t.otherBytes.data()), t.otherBytes.size());
    for (double v : t.data) {
      float f = static_cast<float>(v);
      os.write(reinterpret_cast<const char *>(&f), 4);
    }
  }
  os.close();
  if (os.has_error())
    return "cannot write '" + path.str() + "': " + os.error().message();
  return "";
}

} // namespace tfc::convert
