//===- EmitSharedLib.h - From the LLVM dialect to model.so -------*- C++ -*-===//
//
// The back end of tfc: the model descriptor the runtime reads (gen_abi.h),
// LLVM IR optimization and object emission for the target CPU, and the link
// with the runtime into a self-contained shared library.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_TARGET_EMITSHAREDLIB_H
#define TFC_TARGET_EMITSHAREDLIB_H

#include "tfc/Target/ModelLayout.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <memory>
#include <string>

namespace llvm {
class DataLayout;
class Module;
class TargetMachine;
class raw_ostream;
} // namespace llvm

namespace tfc {

/// Host (or `cpu`) target machine at `optLevel`; null with `error` set on failure.
std::unique_ptr<llvm::TargetMachine> createTargetMachine(llvm::StringRef cpu, unsigned optLevel,
                                                         std::string &error);

/// f32 lanes of a vector register on `tm`'s CPU: 16 with AVX-512, 8 with AVX2,
/// 4 otherwise.
int64_t vectorWidthFor(const llvm::TargetMachine &tm);
/// Whether `tm`'s CPU has the AVX512_BF16 dot product (vdpbf16ps).
bool hasBF16DotProduct(const llvm::TargetMachine &tm);

/// The int8 dot product the Q8_0 kernels can use on `tm`'s CPU: "vnni"
/// (AVX512-VNNI with AVX512VL: 256- and 512-bit vpdpbusd), "avxvnni" (AVX-VNNI
/// without AVX512-VNNI: 256-bit only), "avx2", or "none".
std::string int8DotProductFor(const llvm::TargetMachine &tm);

/// Adds the `__tfc_model` descriptor and the entry wrappers to `module`.
void addModelDescriptor(llvm::Module &module, const ModelLayout &layout);

/// `tfc --print-abi-layout`: size and alignment of each gen_abi.h struct as the
/// emitter builds it, and the offset of each field, under `dataLayout`
/// ("tfc_gen_slot size=88 align=8", "tfc_gen_slot.dims 8", ...).
void printDescriptorLayout(const llvm::DataLayout &dataLayout, llvm::raw_ostream &os);

/// Runs LLVM's -O<optLevel> pipeline for `tm`.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm, unsigned optLevel);

/// Writes `module` as an object file.
mlir::LogicalResult emitObject(llvm::Module &module, llvm::TargetMachine &tm,
                               llvm::StringRef path, std::string &error);

/// Links `objectPath` with the runtime (and LLVM's libomp when `openMP`) into
/// the shared library `soPath`; a model of `tensorParallel` > 1 ranks with the
/// MPI variant of the runtime and MPI (an error when tfc was built without).
mlir::LogicalResult linkSharedLibrary(llvm::StringRef objectPath, llvm::StringRef soPath,
                                      bool openMP, int64_t tensorParallel, std::string &error);

} // namespace tfc

#endif // TFC_TARGET_EMITSHAREDLIB_H
