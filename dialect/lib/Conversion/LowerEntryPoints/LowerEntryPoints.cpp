//===- LowerEntryPoints.cpp - Model functions to the runtime's convention ---===//
//
// The runtime calls a generated model function with an array of memref
// descriptors whose meaning gen_abi.h defines. This pass gives the model
// functions that form: weights become arguments (one buffer, or "slot", per
// distinct weight name, shared by all functions of the module), tensors at the
// boundary become memrefs, and the result is written into an output argument
// rather than returned, so no buffer crosses the boundary in either direction.
//
// A layer-stacked weight is not one buffer: it is a base buffer and a table of
// where each layer starts in it, and each layer slice a view at its table
// entry. The runtime can then hand over the layers of a safetensors file where
// they lie in the file's mapping, which does not keep them side by side.
//
// A slot's type is --weight-type's, or per tensor the type the weight file
// stores it in (weight-types, a GGUF file's), so that its blocks are used in
// place. The layers of a stacked K-quant weight may have types of their own
// (--weight-type=q4_k_m, as llama.cpp's Q4_K_M gives Q6_K to only some layers'
// value and down projections, or a file quantized so): the layers are then
// views of the same base at their table entries, each product switches on its
// layer's type (a constant table of indices into the slot's formats, indexed
// by the layer), and each case views the layer in its own block layout and
// multiplies with that format's kernel.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Passes.h"
#include "tfc/Utils/QuantizedMatmul.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"

namespace tfc {
#define GEN_PASS_DEF_LOWERENTRYPOINTS
#include "tfc/Conversion/Passes.h.inc"
} // namespace tfc

using namespace mlir;
namespace attn = tfc::attn;

namespace {

using attn::ArgKind;
using attn::AttnDialect;
using attn::DType;

/// On attn.weight: the rank's shard (tfc-attn-tensor-parallel); on the module:
/// the shard of each slot, an empty array for a slot every rank holds whole.
constexpr llvm::StringLiteral kShardAttrName = "attn.shard";
constexpr llvm::StringLiteral kWeightShardsAttrName = "attn.weight_shards";

/// Caches are [layers, heads, max_seq, d] (tfc-attn-kv-cache).
constexpr int64_t kCacheSeqDim = 2;

/// A weight buffer shared by every function of the module. `type` is the
/// weight's type in the model (f32); `stored` what the buffer holds.
struct Slot {
  attn::WeightNameAttr name;
  RankedTensorType type;
  attn::WeightInit init;
  RankedTensorType stored;
  DType dtype = DType::f32;
  /// The type of each entry when they differ (q4_k_m); empty otherwise.
  SmallVector<DType> layerDtypes = {};
  /// The rank's part of each tensor (tfc-attn-tensor-parallel's `attn.shard`:
  /// dim, parts, ranks); null when every rank holds it all.
  DenseI64ArrayAttr shard = {};

  /// Stacked over the layers of a layer loop (sliced per layer).
  bool stacked() const { return name.isStacked(); }
};

/// An argument table entry; `index` is the slot or cache of indexed kinds.
Attribute entryArg(MLIRContext *ctx, ArgKind kind, int32_t index = 0) {
  return attn::EntryArgAttr::get(ctx, kind, index);
}

/// Whether a slice keeps whole rows (the last dim entirely, unit strides):
/// a row of Q8_0 blocks cannot be cut.
bool keepsWholeRows(tensor::ExtractSliceOp slice) {
  int64_t last = slice.getSourceType().getRank() - 1;
  return isConstantIntValue(slice.getMixedOffsets()[last], 0) &&
         isConstantIntValue(slice.getMixedSizes()[last], slice.getSourceType().getDimSize(last)) &&
         llvm::all_of(slice.getMixedStrides(), [](OpFoldResult s) { return isConstantIntValue(s, 1); });
}

/// Whether every use of `v` is the weight operand of a linear layer's matmul,
/// directly or through a layer slice: only those read narrow weights. With
/// `wholeRows`, slices must also keep whole rows (quantized weights).
bool feedsOnlyMatmuls(Value v, bool wholeRows) {
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    // A quantized type (wholeRows) leaves a mixture of experts' router f32.
    if (isa<linalg::MatmulTransposeBOp>(user) && use.getOperandNumber() == 1 &&
        !(wholeRows && user->hasAttr(tfc::kMoERouterAttrName)))
      continue;
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(user);
        slice && use.getOperandNumber() == 0 && (!wholeRows || keepsWholeRows(slice)) &&
        feedsOnlyMatmuls(slice.getResult(), wholeRows))
      continue;
    return false;
  }
  return true;
}

/// Moves the uses of the f32 weight `wide` to `narrow`, the same weight in a
/// narrower element type: slices are rebuilt in that type and the matmuls
/// recreated, so that their bodies widen each element to f32.
void useNarrowWeight(OpBuilder &b, Value wide, Value narrow) {
  Type element = cast<RankedTensorType>(narrow.getType()).getElementType();
  for (OpOperand &use : llvm::make_early_inc_range(wide.getUses())) {
    Operation *user = use.getOwner();
    b.setInsertionPoint(user);
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(user)) {
      auto type = RankedTensorType::get(slice.getType().getShape(), element);
      Value narrowSlice = b.create<tensor::ExtractSliceOp>(
          slice.getLoc(), type, narrow, slice.getMixedOffsets(), slice.getMixedSizes(),
          slice.getMixedStrides());
      useNarrowWeight(b, slice.getResult(), narrowSlice);
      slice.erase();
    } else if (auto matmul = dyn_cast<linalg::MatmulTransposeBOp>(user)) {
      auto widened = b.create<linalg::MatmulTransposeBOp>(
          matmul.getLoc(), matmul.getResultTypes(),
          ValueRange{matmul.getDpsInputs()[0], narrow}, matmul.getDpsInits());
      matmul->replaceAllUsesWith(widened);
      matmul.erase();
    }
  }
}

/// Moves the uses of the f32 weight `wide` to `blocks`, the same weight as
/// blocks of `format` ([..., k/32, bytes per block]): slices (whole rows, see
/// keepsWholeRows) are rebuilt over the blocks and each matmul becomes the
/// quantized product.
void useQuantizedWeight(OpBuilder &b, tfc::QuantFormat format, Value wide, Value blocks) {
  MLIRContext *ctx = b.getContext();
  for (OpOperand &use : llvm::make_early_inc_range(wide.getUses())) {
    Operation *user = use.getOwner();
    b.setInsertionPoint(user);
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(user)) {
      auto blockTail = [&](ArrayRef<OpFoldResult> v, ArrayRef<OpFoldResult> tail) {
        SmallVector<OpFoldResult> out(v.drop_back());
        out.append(tail.begin(), tail.end());
        return out;
      };
      ArrayRef<int64_t> blockDims = cast<RankedTensorType>(blocks.getType()).getShape().take_back(2);
      auto type = RankedTensorType::get(tfc::quantStoredShape(format, slice.getType().getShape()),
                                        b.getI8Type());
      Value blockSlice = b.create<tensor::ExtractSliceOp>(
          slice.getLoc(), type, blocks,
          blockTail(slice.getMixedOffsets(), {b.getIndexAttr(0), b.getIndexAttr(0)}),
          blockTail(slice.getMixedSizes(), getAsIndexOpFoldResult(ctx, blockDims)),
          blockTail(slice.getMixedStrides(), {b.getIndexAttr(1), b.getIndexAttr(1)}));
      useQuantizedWeight(b, format, slice.getResult(), blockSlice);
      slice.erase();
    } else if (auto matmul = dyn_cast<linalg::MatmulTransposeBOp>(user)) {
      Value product = tfc::buildQuantizedMatmul(b, matmul.getLoc(), format,
                                                matmul.getDpsInputs()[0], blocks,
                                                matmul.getDpsInits()[0]);
      matmul->replaceAllUsesWith(ValueRange{product});
      matmul.erase();
    }
  }
}

/// The block format of a quantized slot type (none for f32, bf16, f16).
std::optional<tfc::QuantFormat> quantFormatOf(DType dtype) {
  return tfc::quantFormatNamed(stringifyDType(dtype));
}

/// The type --weight-type=q4_k_m gives the linear layer weight `name`
/// (llama.cpp's Q4_K_M mixture): Q6_K for the output and the value and down
/// projections (tfc::q4_k_mSixBits), whose layers Q4_K_M then splits
/// (q4_k_mLayerTypes), Q5_K for a fused query/key/value projection
/// (tfc::q4_k_mFiveBits), Q4_K for the others.
DType q4_k_mType(attn::WeightNameAttr name) {
  const std::string first = name.nameOfLayer(0);
  if (tfc::q4_k_mSixBits(first))
    return DType::q6_k;
  return tfc::q4_k_mFiveBits(first) ? DType::q5_k : DType::q4_k;
}

/// The per-layer types of a stacked Q6_K weight of the q4_k_m mixture, whose
/// entries are the model's layers first .. first + layers - 1 of
/// `modelLayers`: llama.cpp keeps Q6_K in its `use_more_bits` layers (the
/// first and last eighth and every third between, counted over the whole
/// model: DeepSeek-V2's shared experts start at layer 1) and gives the
/// others Q4_K.
SmallVector<DType> q4_k_mLayerTypes(int64_t first, int64_t layers, int64_t modelLayers) {
  SmallVector<DType> types;
  for (int64_t l = first; l < first + layers; ++l)
    types.push_back(tfc::q4_k_mUseMoreBits(l, modelLayers) ? DType::q6_k : DType::q4_k);
  return types;
}

bool isKQuant(DType d) { return d == DType::q6_k || d == DType::q4_k || d == DType::q5_k; }

/// The element type of a slot stored as `dtype` (bytes for block types).
Type elementTypeOf(MLIRContext *ctx, DType dtype) {
  switch (dtype) {
  case DType::bf16:
    return BFloat16Type::get(ctx);
  case DType::f16:
    return Float16Type::get(ctx);
  case DType::f32:
    return Float32Type::get(ctx);
  default:
    return IntegerType::get(ctx, 8);
  }
}

/// Bytes per value of a slot stored as `dtype`.
double bytesPerValue(DType dtype) {
  if (std::optional<tfc::QuantFormat> format = quantFormatOf(dtype))
    return double(tfc::info(*format).blockBytes) / double(tfc::info(*format).block);
  return dtype == DType::f32 ? 4.0 : 2.0;
}

/// The most precise of `types` (the most bytes per value), the first on a tie:
/// converting the others into it loses the least.
DType mostPrecise(ArrayRef<DType> types) {
  DType best = types.front();
  for (DType d : types)
    if (bytesPerValue(d) > bytesPerValue(best))
      best = d;
  return best;
}

/// The type most of `types` are, the first of them on a tie.
DType mostCommon(ArrayRef<DType> types) {
  DType best = types.front();
  int64_t most = 0;
  for (DType d : types)
    if (int64_t n = llvm::count(types, d); n > most)
      best = d, most = n;
  return best;
}

/// The type each entry of a slot asks for (one entry for an unstacked slot),
/// and the one the whole slot takes when they cannot be had per entry.
struct EntryTypes {
  SmallVector<DType> entries;
  DType fallback;
};

/// The types of the linear layer slot `s`: the weight file's own
/// (`fileTypes`, by tensor name: a stacked slot's layers and experts each
/// have a tensor, experts' names without their [j]), the weight type's for
/// tensors the file does not list (`modelType`), or under q4_k_m the
/// mixture's, per layer for the value and down projections
/// (q4_k_mLayerTypes) when the slot is stacked over layers only, Q6_K in
/// every layer otherwise. The fallback is the most precise of a file's
/// entries' types (the others converted into it at load: a stack of experts
/// whose layers are Q4_K and Q6_K keeps Q6_K), the name's type under q4_k_m.
EntryTypes entryTypes(const Slot &s, const llvm::StringMap<DType> &fileTypes, DType modelType,
                      bool q4_k_m, int64_t modelLayers) {
  const int64_t entries = s.stacked() ? s.name.getEntries() : 1;
  EntryTypes types;
  bool fromFile = false;
  for (int64_t e = 0; e < entries; ++e) {
    std::string name = s.stacked() ? s.name.nameOfLayer(e) : s.name.str();
    StringRef tensor = StringRef(name).split('[').first; // an expert: its stacked tensor
    auto it = fileTypes.find(tensor);
    fromFile = fromFile || it != fileTypes.end();
    types.entries.push_back(it != fileTypes.end() ? it->second
                            : q4_k_m              ? q4_k_mType(s.name)
                                                  : modelType);
  }
  if (fromFile) {
    types.fallback = mostPrecise(types.entries);
    return types;
  }
  types.fallback = types.entries.front();
  if (q4_k_m && types.fallback == DType::q6_k && s.stacked() && s.name.getExperts() == 0 &&
      !s.shard)
    types.entries = q4_k_mLayerTypes(s.name.getFirstLayer(), entries, modelLayers);
  return types;
}

/// Whether `slice` reads one whole entry of the stacked weight it slices
/// ([1, d...] at offsets [k, 0...], rank-reduced to [d...], unit strides).
bool isOneWholeEntry(tensor::ExtractSliceOp slice) {
  RankedTensorType source = slice.getSourceType();
  if (slice.getType().getRank() != source.getRank() - 1 ||
      !isConstantIntValue(slice.getMixedSizes()[0], 1))
    return false;
  for (int64_t d = 1; d < source.getRank(); ++d)
    if (!isConstantIntValue(slice.getMixedOffsets()[d], 0) ||
        !isConstantIntValue(slice.getMixedSizes()[d], source.getDimSize(d)))
      return false;
  return llvm::all_of(slice.getMixedStrides(), [](OpFoldResult s) { return isConstantIntValue(s, 1); });
}

/// Whether the stacked weight `w` is only read as whole layers, each the
/// weight operand of matmuls: what per-layer types need (each product picks
/// its kernel by its layer's type).
bool feedsMatmulsPerLayer(Value w) {
  for (OpOperand &use : w.getUses()) {
    auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner());
    if (!slice || use.getOperandNumber() != 0 || !isOneWholeEntry(slice))
      return false;
    for (OpOperand &sliceUse : slice.getResult().getUses())
      if (!isa<linalg::MatmulTransposeBOp>(sliceUse.getOwner()) || sliceUse.getOperandNumber() != 1)
        return false;
  }
  return true;
}

/// Rewrites the layer slices of the stacked weight `w`, whose layers have the
/// K-quant types `types`, as views of `base` (memref<?xi8>) at `table[k]`
/// bytes, and each product with a layer as
///
///   %f = tensor.extract %formats[%k]    (a constant i32 table: the index of
///                                        the layer's format in the slot's)
///   %c = scf.if (%f == 0) -> tensor<m x n> {
///     view the layer as [n, k/256, 144] Q4_K blocks; yield the Q4_K product
///   } else {
///     view it as [n, k/256, 210] Q6_K blocks; yield the Q6_K product
///   }
///
/// (with a third format, the else branch is another such scf.if: branches,
/// not a switch, which tfc-merge-parallel-regions sees through). The
/// branches accumulate into the matmul's own init, so they all write the
/// same buffer and the result allocates nothing.
void useMixedLayers(OpBuilder &b, Value w, ArrayRef<DType> types, Value base, Value table) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(w.getType());
  const int64_t rows = type.getDimSize(1), cols = type.getDimSize(2);
  // The slot's formats in order of first appearance, and each layer's index.
  SmallVector<tfc::QuantFormat> formats;
  SmallVector<int32_t> formatOfLayer;
  for (DType dtype : types) {
    tfc::QuantFormat format = *quantFormatOf(dtype);
    auto it = llvm::find(formats, format);
    formatOfLayer.push_back(static_cast<int32_t>(it - formats.begin()));
    if (it == formats.end())
      formats.push_back(format);
  }
  auto tableType = RankedTensorType::get({int64_t(formatOfLayer.size())}, b.getI32Type());
  for (Operation *user : llvm::make_early_inc_range(w.getUsers())) {
    auto slice = cast<tensor::ExtractSliceOp>(user);
    for (Operation *sliceUser : llvm::make_early_inc_range(slice.getResult().getUsers())) {
      auto matmul = cast<linalg::MatmulTransposeBOp>(sliceUser);
      Location loc = matmul.getLoc();
      b.setInsertionPoint(matmul);
      Value layer = getValueOrCreateConstantIndexOp(b, loc, slice.getMixedOffsets()[0]);
      Value kinds = b.create<arith::ConstantOp>(
          loc, DenseElementsAttr::get(tableType, ArrayRef<int32_t>(formatOfLayer)));
      Value kind = b.create<tensor::ExtractOp>(loc, kinds, ValueRange{layer});
      Value offset = b.create<memref::LoadOp>(loc, table, layer);
      offset = b.create<arith::IndexCastOp>(loc, b.getIndexType(), offset);
      Value a = matmul.getDpsInputs()[0], init = matmul.getDpsInits()[0];
      // The product with the layer viewed as blocks of `format`.
      auto multiply = [&](tfc::QuantFormat format) {
        SmallVector<int64_t> shape = tfc::quantStoredShape(format, {rows, cols});
        SmallVector<int64_t> strides = computeStrides(shape);
        auto viewType = MemRefType::get(
            shape, b.getI8Type(), StridedLayoutAttr::get(ctx, ShapedType::kDynamic, strides));
        Value view = b.create<memref::ReinterpretCastOp>(
            loc, viewType, base, OpFoldResult(offset), getAsIndexOpFoldResult(ctx, shape),
            getAsIndexOpFoldResult(ctx, strides));
        Value blocks = b.create<bufferization::ToTensorOp>(
            loc, RankedTensorType::get(shape, b.getI8Type()), view, /*restrict=*/true);
        return tfc::buildQuantizedMatmul(b, loc, format, a, blocks, init);
      };
      // The product for a layer of format k or a later one.
      std::function<Value(size_t)> product = [&](size_t k) -> Value {
        if (k + 1 == formats.size())
          return multiply(formats[k]);
        Value isThis = b.create<arith::CmpIOp>(
            loc, arith::CmpIPredicate::eq, kind,
            b.create<arith::ConstantIntOp>(loc, static_cast<int64_t>(k), 32));
        auto ifOp = b.create<scf::IfOp>(loc, matmul.getResultTypes(), isThis, /*withElse=*/true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        b.create<scf::YieldOp>(loc, multiply(formats[k]));
        b.setInsertionPointToStart(ifOp.elseBlock());
        b.create<scf::YieldOp>(loc, product(k + 1));
        return ifOp.getResult(0);
      };
      Value result = product(0);
      matmul->replaceAllUsesWith(ValueRange{result});
      matmul.erase();
    }
    slice.erase();
  }
}

MemRefType memrefFor(Type tensor) {
  auto t = cast<RankedTensorType>(tensor);
  return MemRefType::get(t.getShape(), t.getElementType());
}

/// Rewrites each entry slice of `stacked` (a stand-in for a stacked weight of
/// type [entries, d...]) as a view of `base` (memref<?xT>) at `table[k]`
/// elements, with the static sizes and strides of one contiguous entry:
///
///   tensor.extract_slice %stacked[%k, a...] [1, s...] [1, t...]
///   => %v = memref.reinterpret_cast %base to offset: [table[%k]], sizes: [d...]
///      tensor.extract_slice (bufferization.to_tensor %v) [a...] [s...] [t...]
///
/// (the second slice folds away when it is the whole entry). A slice of
/// several whole entries (one layer's experts, [E, d...]) is read through
/// slices of one entry of its own, whose index adds to its offset.
LogicalResult sliceLayersFromTable(OpBuilder &b, Value stacked, Value base, Value table,
                                   StringRef name, Value entryOffset = {}) {
  auto type = cast<RankedTensorType>(stacked.getType());
  ArrayRef<int64_t> layerShape = type.getShape().drop_front();
  SmallVector<int64_t> strides = computeStrides(layerShape);
  SmallVector<OpFoldResult> sizes = getAsIndexOpFoldResult(b.getContext(), layerShape);
  SmallVector<OpFoldResult> viewStrides = getAsIndexOpFoldResult(b.getContext(), strides);
  auto viewType = MemRefType::get(
      layerShape, type.getElementType(),
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides));
  auto layerType = RankedTensorType::get(layerShape, type.getElementType());
  auto rest = [](ArrayRef<OpFoldResult> v) { return SmallVector<OpFoldResult>(v.drop_front()); };
  for (Operation *user : llvm::make_early_inc_range(stacked.getUsers())) {
    auto slice = dyn_cast<tensor::ExtractSliceOp>(user);
    bool oneEntry = slice && isConstantIntValue(slice.getMixedSizes()[0], 1) &&
                    slice.getType().getRank() == type.getRank() - 1;
    bool wholeEntries =
        slice && slice.getType().getRank() == type.getRank() &&
        llvm::all_of(rest(slice.getMixedOffsets()), [](OpFoldResult o) { return isConstantIntValue(o, 0); }) &&
        ArrayRef<int64_t>(slice.getType().getShape()).drop_front() == layerShape;
    if (!slice || !isConstantIntValue(slice.getMixedStrides()[0], 1) || !(oneEntry || wholeEntries))
      return user->emitError() << "stacked weight '" << name
                               << "' may only be read through slices of one layer";
    Location loc = slice.getLoc();
    b.setInsertionPoint(slice);
    Value entry = getValueOrCreateConstantIndexOp(b, loc, slice.getMixedOffsets()[0]);
    if (entryOffset)
      entry = b.create<arith::AddIOp>(loc, entryOffset, entry);
    if (wholeEntries) {
      if (failed(sliceLayersFromTable(b, slice.getResult(), base, table, name, entry)))
        return failure();
      slice.erase();
      continue;
    }
    Value offset = b.create<memref::LoadOp>(loc, table, entry);
    offset = b.create<arith::IndexCastOp>(loc, b.getIndexType(), offset);
    Value view = b.create<memref::ReinterpretCastOp>(loc, viewType, base, OpFoldResult(offset),
                                                     sizes, viewStrides);
    Value whole = b.create<bufferization::ToTensorOp>(loc, layerType, view, /*restrict=*/true);
    // Folds to `whole` when the slice is the whole layer.
    Value result = b.createOrFold<tensor::ExtractSliceOp>(
        loc, slice.getType(), whole, rest(slice.getMixedOffsets()),
        rest(slice.getMixedSizes()), rest(slice.getMixedStrides()));
    slice.replaceAllUsesWith(result);
    slice.erase();
  }
  return success();
}

/// Rewrites `func` into the entry form; `slotOf` maps weight names to slots.
/// KV caches (rank-4 arguments, see tfc-attn-kv-cache) are appended to `caches`.
LogicalResult lowerFunction(func::FuncOp func,
                            const llvm::DenseMap<attn::WeightNameAttr, int32_t> &slotOf,
                            ArrayRef<Slot> slots, SmallVector<RankedTensorType> &caches) {
  Block &entry = func.getBody().front();
  MLIRContext *ctx = func.getContext();
  OpBuilder b(ctx);
  Location loc = func.getLoc();
  SmallVector<Attribute> argTable;

  // Boundary tensors become memrefs, seen as tensors again inside the body. The
  // caches (and the cache pools of @decoder_batch) are written in place, so
  // their tensors are writable.
  b.setInsertionPointToStart(&entry);
  SmallVector<BlockArgument> cacheArgs;
  int32_t pools = 0;
  for (BlockArgument arg : entry.getArguments()) {
    if (arg.getType().isIndex()) {
      argTable.push_back(entryArg(ctx, ArgKind::pos));
      continue;
    }
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type)
      return func.emitError("model function arguments must be ranked tensors or an index");
    bool tokens = type.getRank() == 1 && type.getElementType().isInteger(32);
    bool cache = type.getRank() == 4;
    // tfc-attn-batch-decode names the arguments it adds.
    auto batchArg = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                      AttnDialect::kBatchArgAttrName);
    bool pool = batchArg && batchArg.getValue() == "cache_pool";
    if (batchArg && !pool) {
      std::optional<ArgKind> kind = llvm::StringSwitch<std::optional<ArgKind>>(batchArg.getValue())
                                        .Case("segments", ArgKind::segments)
                                        .Case("cache_offsets", ArgKind::cache_offsets)
                                        .Default(std::nullopt);
      if (!kind)
        return func.emitError() << "unknown batch argument '" << batchArg.getValue() << "'";
      argTable.push_back(entryArg(ctx, *kind));
    } else if (pool) {
      // Pool j stands for cache j of every session of the call.
      argTable.push_back(entryArg(ctx, ArgKind::cache_pool, pools++));
      cacheArgs.push_back(arg);
    } else if (cache) {
      // Cache j of every function is the same buffer (@decoder_last shares
      // @decoder's caches): the first function defines the list.
      size_t j = cacheArgs.size();
      if (j == caches.size())
        caches.push_back(type);
      else if (caches[j] != type)
        return func.emitError() << "cache " << j << " is " << type << " here but "
                                << caches[j] << " in another function";
      argTable.push_back(entryArg(ctx, ArgKind::cache, static_cast<int32_t>(j)));
      cacheArgs.push_back(arg);
    } else {
      argTable.push_back(entryArg(ctx, tokens ? ArgKind::tokens : ArgKind::memory));
    }
    arg.setType(memrefFor(type));
    auto asTensor = b.create<bufferization::ToTensorOp>(loc, type, arg, /*restrict=*/true,
                                                        /*writable=*/cache || pool);
    arg.replaceAllUsesExcept(asTensor, asTensor);
  }

  // Weights, one argument per slot this function uses, in first-use order; a
  // stacked slot takes two, its base buffer and its table of layer offsets,
  // and stands in as an empty tensor until its layer slices become views.
  llvm::DenseMap<int32_t, Value> argOfSlot;
  struct Stacked {
    int32_t slot;
    Value standIn, base, table;
  };
  SmallVector<Stacked> stackedSlots;
  llvm::DenseMap<int32_t, std::pair<Value, Value>> mixedArgs; // base, table
  SmallVector<attn::WeightOp> weights;
  func.walk([&](attn::WeightOp w) { weights.push_back(w); });
  for (attn::WeightOp w : weights) {
    int32_t slot = slotOf.lookup(w.getName());
    const Slot &s = slots[slot];
    Value &tensor = argOfSlot[slot];
    if (!s.layerDtypes.empty()) {
      // Per-layer types: the layers are viewed where they are used.
      if (!tensor) {
        BlockArgument base =
            entry.addArgument(MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), w.getLoc());
        BlockArgument table = entry.addArgument(
            MemRefType::get({s.stored.getDimSize(0)}, b.getI64Type()), w.getLoc());
        argTable.append({entryArg(ctx, ArgKind::weight, slot),
                         entryArg(ctx, ArgKind::layer_offsets, slot)});
        mixedArgs[slot] = {base, table};
        tensor = base;
      }
      useMixedLayers(b, w.getResult(), s.layerDtypes, mixedArgs[slot].first,
                     mixedArgs[slot].second);
      w.erase();
      continue;
    }
    if (!tensor) {
      b.setInsertionPointToStart(&entry);
      if (s.stacked()) {
        Type element = s.stored.getElementType();
        BlockArgument base =
            entry.addArgument(MemRefType::get({ShapedType::kDynamic}, element), w.getLoc());
        BlockArgument table = entry.addArgument(
            MemRefType::get({s.stored.getDimSize(0)}, b.getI64Type()), w.getLoc());
        argTable.append({entryArg(ctx, ArgKind::weight, slot),
                         entryArg(ctx, ArgKind::layer_offsets, slot)});
        tensor = b.create<tensor::EmptyOp>(w.getLoc(), s.stored.getShape(), element);
        stackedSlots.push_back({slot, tensor, base, table});
      } else {
        BlockArgument arg = entry.addArgument(memrefFor(s.stored), w.getLoc());
        argTable.push_back(entryArg(ctx, ArgKind::weight, slot));
        tensor = b.create<bufferization::ToTensorOp>(w.getLoc(), s.stored, arg,
                                                     /*restrict=*/true);
      }
    }
    if (std::optional<tfc::QuantFormat> format = quantFormatOf(s.dtype))
      useQuantizedWeight(b, *format, w.getResult(), tensor);
    else if (s.dtype != DType::f32)
      useNarrowWeight(b, w.getResult(), tensor);
    else
      w.replaceAllUsesWith(tensor);
    w.erase();
  }
  for (const Stacked &s : stackedSlots) {
    if (failed(sliceLayersFromTable(b, s.standIn, s.base, s.table, slots[s.slot].name.str())))
      return failure();
    s.standIn.getDefiningOp()->erase();
  }

  // The result goes into a trailing output argument; updated caches (the
  // further results, in cache order) back into their own buffers.
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  if (ret.getNumOperands() != 1 + cacheArgs.size())
    return func.emitError("model functions must return one tensor and their updated caches");
  Value result = ret.getOperand(0);
  auto resultType = cast<RankedTensorType>(result.getType());
  // @attention_maps (tfc-attn-attention-maps) returns [maps, heads, n, n].
  const bool attentionMaps = resultType.getRank() == 4;
  BlockArgument out = entry.addArgument(memrefFor(resultType), loc);
  argTable.push_back(entryArg(ctx, attentionMaps ? ArgKind::attention_maps : ArgKind::output));
  b.setInsertionPoint(ret);
  auto store = [&](Value tensor, Value buffer) {
    auto op = b.create<bufferization::MaterializeInDestinationOp>(loc, TypeRange{}, tensor, buffer);
    op.setRestrict(true);
    op.setWritable(true);
  };
  store(result, out);
  for (auto [updated, buffer] : llvm::zip(ret.getOperands().drop_front(), cacheArgs))
    store(updated, buffer);
  b.create<func::ReturnOp>(loc);
  ret.erase();

  func.setType(b.getFunctionType(entry.getArgumentTypes(), {}));
  func.removeArgAttrsAttr();
  func.removeResAttrsAttr();
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  func->setAttr(AttnDialect::kEntryArgsAttrName, b.getArrayAttr(argTable));
  func->setAttr(AttnDialect::kOutWidthAttrName, b.getI64IntegerAttr(resultType.getDimSize(1)));
  if (attentionMaps)
    func->setAttr(AttnDialect::kAttentionMapCountAttrName,
                  b.getI64IntegerAttr(resultType.getDimSize(0)));
  return success();
}

struct LowerEntryPointsPass : tfc::impl::LowerEntryPointsBase<LowerEntryPointsPass> {
  using LowerEntryPointsBase::LowerEntryPointsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();

    // Slots are module-wide: an encoder-decoder model shares one set of buffers.
    DType narrowDType = DType::f32;
    if (weightType == "q4_k_m") {
      // The mixture: Q4_K, or Q6_K or Q5_K by name (entryTypes, per slot below).
      narrowDType = DType::q4_k;
    } else if (std::optional<DType> d = attn::symbolizeDType(weightType)) {
      narrowDType = *d;
    } else {
      module.emitError() << "unknown weight type '" << weightType
                         << "' (expected f32, bf16, f16, q8_0, q4_0, q6_k, q4_k, q5_k or q4_k_m)";
      return signalPassFailure();
    }
    SmallVector<Slot> slots;
    llvm::DenseMap<attn::WeightNameAttr, int32_t> slotOf;
    WalkResult walk = module.walk([&](attn::WeightOp w) {
      auto [it, inserted] = slotOf.try_emplace(w.getName(), static_cast<int32_t>(slots.size()));
      if (inserted) {
        slots.push_back({w.getName(), w.getType(), w.getInit().value_or(attn::WeightInit::random),
                         w.getType()});
        slots.back().shard = w->getAttrOfType<DenseI64ArrayAttr>(kShardAttrName);
      } else if (slots[it->second].type != w.getType() ||
                 slots[it->second].shard != w->getAttrOfType<DenseI64ArrayAttr>(kShardAttrName)) {
        w.emitError() << "weight '" << w.getName().str() << "' is used with two types: "
                      << slots[it->second].type << " and " << w.getType();
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    // The file's type of each tensor (weight-types), by name.
    llvm::StringMap<DType> fileTypes;
    for (const std::string &entry : weightTypes) {
      auto [name, typeName] = StringRef(entry).rsplit('=');
      std::optional<DType> dtype = attn::symbolizeDType(typeName);
      if (name.empty() || !dtype) {
        module.emitError() << "weight-types: '" << entry
                           << "' is not tensor=type (f32, bf16, f16, q8_0, q4_0, q6_k, q4_k, q5_k)";
        return signalPassFailure();
      }
      fileTypes[name] = *dtype;
    }

    // A slot is kept narrow when every use of every one of its weight ops is
    // a linear layer's matmul. Quantized types also need rows of whole blocks:
    // a K-quant slot whose rows are not a multiple of 256 wide falls back to
    // Q8_0 (as llama.cpp's quantizer turns Q6_K tensors that do not fit into
    // Q8_0), and a slot whose rows are not a multiple of 32 wide stays f32.
    if (narrowDType != DType::f32 || weightType == "q4_k_m" || !fileTypes.empty()) {
      // The model's layer count, as far as its stacked weights tell it (for
      // q4_k_m's use_more_bits, which llama.cpp counts over all layers).
      int64_t modelLayers = 0;
      for (const Slot &s : slots)
        if (s.stacked())
          modelLayers = std::max(modelLayers, s.name.getFirstLayer() + s.name.getLayers());
      // Per slot: read only by matmuls (narrow types), and so through slices
      // of whole rows (block types).
      llvm::DenseMap<int32_t, std::pair<bool, bool>> eligible;
      module.walk([&](attn::WeightOp w) {
        int32_t slot = slotOf.lookup(w.getName());
        auto [it, first] = eligible.try_emplace(slot, true, true);
        it->second.first = it->second.first && feedsOnlyMatmuls(w.getResult(), false);
        it->second.second = it->second.second && feedsOnlyMatmuls(w.getResult(), true);
      });
      for (auto [slot, ok] : eligible) {
        Slot &candidate = slots[slot];
        RankedTensorType type = candidate.type;
        if (!ok.first || type.getRank() < 2)
          continue;
        EntryTypes wanted = entryTypes(candidate, fileTypes, narrowDType, weightType == "q4_k_m",
                                       modelLayers);
        // One type for the slot, or one per layer: K-quants only (whole
        // super-blocks in every layer), and a weight read as whole layers
        // into matmuls, not sharded or stacked experts (each product picks
        // its kernel by its layer's type). Otherwise the slot takes the
        // fallback type, and the layers stored otherwise are converted at load.
        DType dtype = wanted.fallback;
        SmallVector<DType> layerDtypes;
        if (llvm::all_equal(wanted.entries)) {
          dtype = wanted.entries.front();
        } else if (llvm::all_of(wanted.entries, isKQuant) && candidate.stacked() &&
                   !candidate.shard && type.getShape().back() % 256 == 0 && ok.second) {
          bool perLayer = true;
          module.walk([&](attn::WeightOp w) {
            if (w.getName() == candidate.name)
              perLayer = perLayer && feedsMatmulsPerLayer(w.getResult());
          });
          if (perLayer) {
            layerDtypes = wanted.entries;
            dtype = mostCommon(wanted.entries); // the base type; the layers say the rest
          }
        }
        std::optional<tfc::QuantFormat> format = quantFormatOf(dtype);
        if (format && !ok.second)
          continue;
        if (format && type.getShape().back() % tfc::info(*format).block != 0) {
          format = tfc::QuantFormat::Q8_0;
          dtype = DType::q8_0;
        }
        if (format && type.getShape().back() % tfc::info(*format).block != 0)
          continue;
        if (dtype == DType::f32)
          continue;
        candidate.stored = RankedTensorType::get(
            format ? tfc::quantStoredShape(*format, type.getShape())
                   : SmallVector<int64_t>(type.getShape()),
            elementTypeOf(ctx, dtype));
        candidate.dtype = dtype;
        candidate.layerDtypes = layerDtypes;
      }
    }

    SmallVector<RankedTensorType> caches;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isPrivate() || func.isExternal())
        continue;
      if (failed(lowerFunction(func, slotOf, slots, caches)))
        return signalPassFailure();
    }

    Builder b(ctx);
    SmallVector<Attribute> slotAttrs;
    for (const Slot &s : slots)
      slotAttrs.push_back(
          attn::WeightSlotAttr::get(ctx, s.name, s.type.getShape(), s.dtype, s.init,
                                    s.layerDtypes));
    module->setAttr(AttnDialect::kWeightSlotsAttrName, b.getArrayAttr(slotAttrs));
    // The shards, per slot, when the model is split over ranks.
    if (llvm::any_of(slots, [](const Slot &s) { return bool(s.shard); })) {
      SmallVector<Attribute> shardAttrs;
      for (const Slot &s : slots)
        shardAttrs.push_back(s.shard ? s.shard : b.getDenseI64ArrayAttr({}));
      module->setAttr(kWeightShardsAttrName, b.getArrayAttr(shardAttrs));
    }
    SmallVector<Attribute> cacheAttrs;
    for (RankedTensorType c : caches)
      cacheAttrs.push_back(attn::KVCacheAttr::get(ctx, c, kCacheSeqDim));
    module->setAttr(AttnDialect::kKVCachesAttrName, b.getArrayAttr(cacheAttrs));
  }
};

} // namespace
