//===- LoweringUtils.h - Building blocks of the tfc lowerings ----*- C++ -*-===//
//
// What every lowering out of attn (and the codegen passes after it) builds
// again and again: f32 tensors that are empty or filled, casts back to a more
// static result type, constants, iterator lists, affine maps selecting loops,
// and linalg.generic with its body given as a lambda. One definition here so
// that a fix (say, the element type of a filled tensor) reaches every pass.
// Where MLIR has the utility (tensor::getMixedSizes,
// getValueOrCreateConstantIndexOp, arith::ConstantIndexOp) these wrap or
// simply call it.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_UTILS_LOWERINGUTILS_H
#define TFC_UTILS_LOWERINGUTILS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Support/LogicalResult.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace tfc {

/// The body of a linalg.generic: maps its block arguments (inputs, then
/// outputs) to the value yielded.
using BodyFn = llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

//===----------------------------------------------------------------------===//
// Types and sizes
//===----------------------------------------------------------------------===//

/// The type of a value known to be a ranked tensor.
inline mlir::RankedTensorType tensorType(mlir::Value v) {
  return llvm::cast<mlir::RankedTensorType>(v.getType());
}

/// Sizes of `v` along `dims`, in that order (static sizes as attributes,
/// dynamic ones read with tensor.dim).
llvm::SmallVector<mlir::OpFoldResult> sizesOf(mlir::OpBuilder &b, mlir::Location loc,
                                              mlir::Value v, llvm::ArrayRef<int64_t> dims);

/// The size of dimension `dim` of `v` without reading it back when it is
/// known: static, or the size operand of the tensor.extract_slice (not
/// rank-reducing) or tensor.empty that made `v`; else tensor.dim.
mlir::OpFoldResult knownSize(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, int64_t dim);

/// `v` as `type` through tensor.cast, or `v` itself when it already has it. The
/// lowerings build their types from the operand types; the op's result type may
/// be more static (verifiers accept a static size against a dynamic one).
mlir::Value castTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, mlir::Type type);

//===----------------------------------------------------------------------===//
// Constants and index arithmetic
//===----------------------------------------------------------------------===//

mlir::Value f32Const(mlir::OpBuilder &b, mlir::Location loc, double v);
mlir::Value f64Const(mlir::OpBuilder &b, mlir::Location loc, double v);
mlir::Value indexConst(mlir::OpBuilder &b, mlir::Location loc, int64_t v);

/// An index as an f64 (positions and frequency indices, exact below 2^53).
mlir::Value indexToF64(mlir::OpBuilder &b, mlir::Location loc, mlir::Value index);

/// ceil(count / step) for index values, as (count + step - 1) / step.
mlir::Value ceilDivIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value count, int64_t step);

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

/// An empty tensor of the given sizes (f32 unless `elementType` is given).
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type elementType = {});

/// `value` splatted (linalg.fill) into an empty f32 tensor of the given sizes.
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         llvm::ArrayRef<mlir::OpFoldResult> sizes, float value);

//===----------------------------------------------------------------------===//
// linalg.generic
//===----------------------------------------------------------------------===//

/// `parallel` parallel iterators followed by `reductions` reduction ones.
llvm::SmallVector<mlir::utils::IteratorType> iterators(int64_t parallel, int64_t reductions = 0);

/// An affine map over `numDims` loops selecting `dims`.
mlir::AffineMap selectDims(mlir::MLIRContext *ctx, unsigned numDims, llvm::ArrayRef<unsigned> dims);

/// One linalg.generic with a single output: `body` maps the block arguments
/// (inputs then the output) to the value yielded; `init` is the output and its
/// map is the last of `maps`.
mlir::Value generic(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange inputs,
                    mlir::Value init, llvm::ArrayRef<mlir::AffineMap> maps,
                    llvm::ArrayRef<mlir::utils::IteratorType> its, BodyFn body);

/// An elementwise generic with identity maps writing a fresh f32 tensor shaped
/// like inputs[0].
mlir::Value mapElementwise(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange inputs,
                           BodyFn body);

/// `scf.parallel` over the blocks of `blockRows` rows of [0, rows) (the unit of
/// work of a thread): `body(lo, hi)` emits the work of rows [lo, hi) with `b`
/// inserting into the loop body.
void parallelRowBlocks(mlir::OpBuilder &b, mlir::Location loc, int64_t rows, int64_t blockRows,
                       llvm::function_ref<void(mlir::Value, mlir::Value)> body);

/// The private declaration `@__tfc_<name with . as _>` carrying
/// `tfc.llvm_intrinsic = name`, created once per module: the kernels call it
/// like a function, so that the passes between them and the LLVM dialect
/// (buffer deallocation needs every op's memory effects) see an ordinary call
/// without memrefs; tfc-lower-intrinsic-calls makes it the intrinsic.
mlir::func::FuncOp intrinsicDeclaration(mlir::ModuleOp module, llvm::StringRef name,
                                        mlir::FunctionType type);

/// A private declaration `@__tfc_prefetch_<i>(memref, index...)` marked
/// `tfc.prefetch`, one per function type: a call of it stands for
/// `memref.prefetch` (read, into L1) of that element until
/// tfc-lower-intrinsic-calls, because memref.prefetch declares no memory
/// effects and the ownership-based buffer deallocation refuses such ops.
mlir::func::FuncOp prefetchDeclaration(mlir::ModuleOp module, mlir::FunctionType type);

//===----------------------------------------------------------------------===//
// Passes
//===----------------------------------------------------------------------===//

/// The body of a pass that only gathers patterns and applies them greedily to
/// `root`: `populate` fills the set.
mlir::LogicalResult
applyPopulatedPatterns(mlir::Operation *root,
                       llvm::function_ref<void(mlir::RewritePatternSet &)> populate);

} // namespace tfc

#endif // TFC_UTILS_LOWERINGUTILS_H
