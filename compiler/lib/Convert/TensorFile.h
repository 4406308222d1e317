//===- TensorFile.h - safetensors read into and written from doubles --*- C++ -*-===//
//
// `tfc convert` reads every tensor of a safetensors file (F32, F16, BF16, F64)
// into float64 and writes its output as F32; tensors of the format's other
// dtypes pass through as bytes. Unlike the runtime's loader it
// knows no manifest: it reads the whole file, checks every header entry, and
// names the tensor or byte offset of the first problem.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CONVERT_TENSORFILE_H
#define TFC_CONVERT_TENSORFILE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tfc::convert {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data; // row-major, for floating-point dtypes
  /// Any other dtype of the format (BOOL, I8..U64, F8_*): kept as its bytes and
  /// written back unchanged; `data` is empty.
  std::string otherDtype;
  std::vector<uint8_t> otherBytes;
};

/// The tensors of a file in the order of their data, keyed by name.
struct TensorFile {
  std::vector<std::string> order;
  std::map<std::string, Tensor> tensors;

  /// Parses a whole file image; "" on success, else the reason (naming the
  /// tensor or byte offset). `what` names the file in messages.
  std::string parse(llvm::StringRef what, llvm::ArrayRef<uint8_t> bytes);
  std::string load(llvm::StringRef path);
  /// Writes every tensor in `order` as F32; "" on success.
  std::string save(llvm::StringRef path) const;
  void put(const std::string &name, Tensor tensor);
  void erase(const std::string &name);
};

} // namespace tfc::convert

#endif // TFC_CONVERT_TENSORFILE_H
