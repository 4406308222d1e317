//===- EmitSharedLib.h - From the LLVM dialect to model.so -------*- C++ -*-===//
//
// The back end of tfc: the model descriptor the runtime reads (gen_abi.h),
// LLVM IR optimization and object emission for the target CPU, and the link
// with the runtime into a self-contained shared library.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_TARGET_EMITSHAREDLIB_H
#define TFC_TARGET_EMITSHAREDLIB_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/SmallVector.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace tfc {

/// The tfc_model_info numbers, read off the attn-level IR.
struct ModelSummary {
  std::string name;
  int64_t vocab = 0, dim = 0, layers = 0, heads = 0, kvHeads = 0, headDim = 0;
  int64_t kvLatentRank = 0, maxSeq = 0, kvCacheBytesPerToken = 0;
};

/// One weight buffer of the generated code (gen_abi.h tfc_gen_slot).
struct WeightSlot {
  std::string name; // holds "{i}" when stacked over layers
  llvm::SmallVector<int64_t> shape;
  int32_t init = 0;
  int32_t dtype = 0; // TFC_DTYPE_*
  bool stacked() const { return llvm::StringRef(name).contains("{i}"); }
};

/// A generated function as the runtime calls it (gen_abi.h tfc_gen_function).
struct EntryFunction {
  std::string symbol;               // the func.func name, e.g. "decoder"
  llvm::SmallVector<int32_t> args;  // (kind, index) pairs
  int64_t outWidth = 0;
  bool stateful = false;
  std::string arenaBytes; // "" or the function returning its arena's size (tfc.arena_bytes)
};

struct ModelLayout {
  ModelSummary summary;
  std::vector<WeightSlot> slots;
  std::vector<llvm::SmallVector<int64_t>> caches; // KV cache buffers [layers, heads, max_seq, d]
  std::optional<EntryFunction> decoder, encoder, decoderLast;
};

/// Reads the model numbers off the attn IR as generated (before the attn passes).
ModelSummary summarizeModel(mlir::ModuleOp attnModule);

/// Bytes the decoder's KV caches hold per token, all layers, read off the
/// cache arguments that tfc-attn-kv-cache added (0 without a cache).
int64_t kvCacheBytesPerToken(mlir::ModuleOp attnOptModule);

/// Reads and removes the `tfc.slots` / `tfc.caches` / `tfc.args` attributes that
/// tfc-lower-entry-points left on the module.
mlir::FailureOr<ModelLayout> takeModelLayout(mlir::ModuleOp module, ModelSummary summary);

/// Host (or `cpu`) target machine at `optLevel`; null with `error` set on failure.
std::unique_ptr<llvm::TargetMachine> createTargetMachine(llvm::StringRef cpu, unsigned optLevel,
                                                         std::string &error);

/// f32 lanes of a vector register on `tm`'s CPU: 16 with AVX-512, 8 with AVX2,
/// 4 otherwise.
int64_t vectorWidthFor(const llvm::TargetMachine &tm);
/// Whether `tm`'s CPU has the AVX512_BF16 dot product (vdpbf16ps).
bool hasBF16DotProduct(const llvm::TargetMachine &tm);

/// Adds the `__tfc_model` descriptor and the entry wrappers to `module`.
void addModelDescriptor(llvm::Module &module, const ModelLayout &layout);

/// Runs LLVM's -O<optLevel> pipeline for `tm`.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm, unsigned optLevel);

/// Writes `module` as an object file.
mlir::LogicalResult emitObject(llvm::Module &module, llvm::TargetMachine &tm,
                               llvm::StringRef path, std::string &error);

/// Links `objectPath` with the runtime (and LLVM's libomp when `openMP`) into
/// the shared library `soPath`.
mlir::LogicalResult linkSharedLibrary(llvm::StringRef objectPath, llvm::StringRef soPath,
                                      bool openMP, std::string &error);

} // namespace tfc

#endif // TFC_TARGET_EMITSHAREDLIB_H
