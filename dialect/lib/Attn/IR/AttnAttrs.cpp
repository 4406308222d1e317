//===- AttnAttrs.cpp - Attributes of the attn dialect ---------------------===//
//
// Weight names (their one expansion into per-layer names), the ABI metadata
// attributes and their verifiers, and the checks that the enums of
// AttnAttrs.td have exactly the values of runtime/include/tfc/gen_abi.h, the
// single definition of the contract between generated code and runtime.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/IR/AttnAttrs.h"
#include "tfc/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h" // used by the generated attribute parser

#include "tfc/gen_abi.h"

using namespace mlir;
using namespace tfc::attn;

#include "tfc/Dialect/Attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "tfc/Dialect/Attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "tfc/Dialect/Attn/IR/AttnAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// The enums are gen_abi.h's
//===----------------------------------------------------------------------===//

#define TFC_SAME_VALUE(Enum, Case, Macro)                                                    \
  static_assert(static_cast<int32_t>(Enum::Case) == Macro, #Enum "::" #Case " is not " #Macro)
TFC_SAME_VALUE(ArgKind, tokens, TFC_ARG_TOKENS);
TFC_SAME_VALUE(ArgKind, memory, TFC_ARG_MEMORY);
TFC_SAME_VALUE(ArgKind, weight, TFC_ARG_WEIGHT);
TFC_SAME_VALUE(ArgKind, output, TFC_ARG_OUTPUT);
TFC_SAME_VALUE(ArgKind, pos, TFC_ARG_POS);
TFC_SAME_VALUE(ArgKind, cache, TFC_ARG_CACHE);
TFC_SAME_VALUE(ArgKind, arena, TFC_ARG_ARENA);
TFC_SAME_VALUE(ArgKind, layer_offsets, TFC_ARG_LAYER_OFFSETS);
TFC_SAME_VALUE(ArgKind, segments, TFC_ARG_SEGMENTS);
TFC_SAME_VALUE(ArgKind, cache_pool, TFC_ARG_CACHE_POOL);
TFC_SAME_VALUE(ArgKind, cache_offsets, TFC_ARG_CACHE_OFFSETS);
TFC_SAME_VALUE(ArgKind, attention_maps, TFC_ARG_ATTENTION_MAPS);
static_assert(getMaxEnumValForArgKind() + 1 == TFC_ARG_KIND_COUNT,
              "ArgKind (AttnAttrs.td) and TFC_ARG_* (gen_abi.h) differ in number");
TFC_SAME_VALUE(DType, f32, TFC_DTYPE_F32);
TFC_SAME_VALUE(DType, bf16, TFC_DTYPE_BF16);
TFC_SAME_VALUE(DType, f16, TFC_DTYPE_F16);
TFC_SAME_VALUE(DType, q8_0, TFC_DTYPE_Q8_0);
TFC_SAME_VALUE(DType, q4_0, TFC_DTYPE_Q4_0);
TFC_SAME_VALUE(DType, q6_k, TFC_DTYPE_Q6_K);
TFC_SAME_VALUE(DType, q4_k, TFC_DTYPE_Q4_K);
TFC_SAME_VALUE(DType, q5_k, TFC_DTYPE_Q5_K);
static_assert(getMaxEnumValForDType() + 1 == TFC_DTYPE_COUNT,
              "DType (AttnAttrs.td) and TFC_DTYPE_* (gen_abi.h) differ in number");
TFC_SAME_VALUE(WeightInit, random, TFC_INIT_RANDOM);
TFC_SAME_VALUE(WeightInit, ones, TFC_INIT_ONES);
TFC_SAME_VALUE(WeightInit, zeros, TFC_INIT_ZEROS);
static_assert(getMaxEnumValForWeightInit() + 1 == TFC_INIT_COUNT,
              "WeightInit (AttnAttrs.td) and TFC_INIT_* (gen_abi.h) differ in number");
#undef TFC_SAME_VALUE

//===----------------------------------------------------------------------===//
// WeightNameAttr
//===----------------------------------------------------------------------===//

LogicalResult WeightNameAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     ArrayRef<StringAttr> parts, int64_t layers,
                                     int64_t firstLayer, int64_t experts) {
  if (parts.empty())
    return emitError() << "a weight name needs at least one part";
  if (layers < 0)
    return emitError() << "a weight's layer count must not be negative, got " << layers;
  if (experts < 0)
    return emitError() << "a weight's expert count must not be negative, got " << experts;
  if (firstLayer < 0 || (firstLayer > 0 && layers == 0))
    return emitError() << "a weight's first layer must be non-negative and needs a layer count, got "
                       << firstLayer;
  size_t indices = parts.size() - 1;
  // With experts, the last index is the expert's and the others the layer's.
  size_t layerIndices = experts > 0 && indices > 0 ? indices - 1 : indices;
  if (experts > 0 && indices == 0)
    return emitError() << "weight name \"" << parts.front().getValue()
                       << "\" has no expert index ('*'), so it cannot be stacked over " << experts
                       << " experts";
  if (layerIndices == 0 && layers != 0)
    return emitError() << "weight name \"" << parts.front().getValue()
                       << "\" has no layer index ('*'), so it cannot be stacked over " << layers
                       << " layers";
  if (layerIndices > 0 && layers == 0)
    return emitError() << "weight name with " << layerIndices
                       << " layer index(es) needs a layer count ('layers N')";
  if (parts.size() == 1 && parts.front().getValue().empty())
    return emitError() << "weight name must not be empty";
  return success();
}

std::string WeightNameAttr::nameOfLayer(int64_t entry) const {
  int64_t experts = getExperts();
  int64_t layer = getFirstLayer() + (experts > 0 ? entry / experts : entry);
  std::string layerIndex = std::to_string(layer);
  std::string expertIndex = experts > 0 ? std::to_string(entry % experts) : layerIndex;
  ArrayRef<StringAttr> parts = getParts();
  std::string name;
  for (auto [k, part] : llvm::enumerate(parts)) {
    if (k)
      name += k + 1 == parts.size() ? expertIndex : layerIndex;
    name += part.getValue();
  }
  return name;
}

std::string WeightNameAttr::str() const {
  std::string name;
  for (auto [k, part] : llvm::enumerate(getParts())) {
    if (k)
      name += "*";
    name += part.getValue();
  }
  return name;
}

FailureOr<WeightNameAttr> WeightNameAttr::parseBody(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  MLIRContext *ctx = parser.getContext();
  SmallVector<StringAttr> parts;
  do {
    std::string part;
    if (parser.parseString(&part))
      return failure();
    parts.push_back(StringAttr::get(ctx, part));
  } while (succeeded(parser.parseOptionalStar()));
  int64_t layers = 0, firstLayer = 0, experts = 0;
  if (succeeded(parser.parseOptionalKeyword("layers")) && parser.parseInteger(layers))
    return failure();
  if (succeeded(parser.parseOptionalKeyword("first")) && parser.parseInteger(firstLayer))
    return failure();
  if (succeeded(parser.parseOptionalKeyword("experts")) && parser.parseInteger(experts))
    return failure();
  WeightNameAttr attr =
      parser.getChecked<WeightNameAttr>(loc, ctx, parts, layers, firstLayer, experts);
  if (!attr)
    return failure();
  return attr;
}

void WeightNameAttr::printBody(AsmPrinter &printer) const {
  llvm::interleave(
      getParts(), [&](StringAttr part) { printer.printString(part.getValue()); },
      [&] { printer << " * "; });
  if (getLayers() > 0)
    printer << " layers " << getLayers();
  if (getFirstLayer() > 0)
    printer << " first " << getFirstLayer();
  if (getExperts() > 0)
    printer << " experts " << getExperts();
}

Attribute WeightNameAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  FailureOr<WeightNameAttr> attr = parseBody(parser);
  if (failed(attr) || parser.parseGreater())
    return {};
  return *attr;
}

void WeightNameAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printBody(printer);
  printer << ">";
}

namespace tfc::attn {

ParseResult parseWeightName(OpAsmParser &parser, WeightNameAttr &name) {
  FailureOr<WeightNameAttr> attr = WeightNameAttr::parseBody(parser);
  if (failed(attr))
    return failure();
  name = *attr;
  return success();
}

void printWeightName(OpAsmPrinter &printer, Operation *, WeightNameAttr name) {
  name.printBody(printer);
}

} // namespace tfc::attn

//===----------------------------------------------------------------------===//
// WeightSlotAttr
//===----------------------------------------------------------------------===//

LogicalResult WeightSlotAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     WeightNameAttr name, ArrayRef<int64_t> shape, DType dtype,
                                     WeightInit init, ArrayRef<DType> layerDtypes) {
  if (!name)
    return emitError() << "a weight slot needs a name";
  if (shape.size() > TFC_MAX_RANK)
    return emitError() << "weight slot '" << name.str() << "' has rank " << shape.size()
                       << ", more than the ABI's " << TFC_MAX_RANK;
  for (int64_t d : shape)
    if (d < 0)
      return emitError() << "weight slot '" << name.str()
                         << "' must have a static, non-negative shape";
  // With the experts split by rank, the slot holds ceil(E / parts) of each
  // layer's E experts.
  auto holds = [&](int64_t leading) {
    if (leading == name.getEntries())
      return true;
    int64_t experts = name.getExperts(), layers = experts > 0 ? name.getEntries() / experts : 0;
    return experts > 0 && layers > 0 && leading % layers == 0 && leading / layers < experts;
  };
  if (name.isStacked() && (shape.empty() || !holds(shape.front())))
    return emitError() << "stacked weight slot '" << name.str() << "' has " << name.getEntries()
                       << (name.getExperts() > 0 ? " entries (layers times experts)" : " layers")
                       << " but a leading dimension of "
                       << (shape.empty() ? 0 : shape.front());
  if (stringifyDType(dtype).empty())
    return emitError() << "weight slot '" << name.str() << "' has an unknown dtype "
                       << static_cast<int32_t>(dtype);
  const int64_t block = dtype == DType::q6_k || dtype == DType::q4_k || dtype == DType::q5_k
                            ? TFC_Q6_K_BLOCK
                        : dtype == DType::q8_0 || dtype == DType::q4_0 ? TFC_Q8_0_BLOCK
                                                                       : 0;
  static_assert(TFC_Q8_0_BLOCK == TFC_Q4_0_BLOCK, "one block width for Q8_0 and Q4_0");
  static_assert(TFC_Q6_K_BLOCK == TFC_Q4_K_BLOCK && TFC_Q6_K_BLOCK == TFC_Q5_K_BLOCK,
                "one super-block width for the K-quants");
  if (block && (shape.empty() || shape.size() >= TFC_MAX_RANK || shape.back() % block != 0))
    return emitError() << stringifyDType(dtype) << " weight slot '" << name.str()
                       << "' needs rows a multiple of " << block
                       << " wide and a rank below " << TFC_MAX_RANK;
  if (stringifyWeightInit(init).empty())
    return emitError() << "weight slot '" << name.str() << "' has an unknown init "
                       << static_cast<int32_t>(init);
  if (layerDtypes.empty())
    return success();
  // Per-layer types: K-quants of one super-block width, so that every layer
  // has whole super-blocks wherever the base type does.
  auto kQuant = [](DType d) {
    return d == DType::q6_k || d == DType::q4_k || d == DType::q5_k;
  };
  if (!name.isStacked() || int64_t(layerDtypes.size()) != name.getEntries())
    return emitError() << "weight slot '" << name.str() << "' has " << layerDtypes.size()
                       << " layer dtypes for " << name.getEntries() << " entries";
  if (!kQuant(dtype) || !llvm::all_of(layerDtypes, kQuant))
    return emitError() << "weight slot '" << name.str()
                       << "': per-layer dtypes must be K-quants (q4_k, q5_k, q6_k) over a K-quant dtype";
  return success();
}

Attribute WeightSlotAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t> shape;
  std::string dtype, init;
  if (parser.parseLess())
    return {};
  FailureOr<WeightNameAttr> name = WeightNameAttr::parseBody(parser);
  if (failed(name) || parser.parseComma() || parser.parseKeyword("shape") ||
      parser.parseEqual() ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                     [&] { return parser.parseInteger(shape.emplace_back()); }) ||
      parser.parseComma() || parser.parseKeyword("dtype") || parser.parseEqual() ||
      parser.parseKeywordOrString(&dtype) || parser.parseComma())
    return {};
  auto parseDType = [&](const std::string &text) -> std::optional<DType> {
    std::optional<DType> d = symbolizeDType(text);
    if (!d)
      parser.emitError(loc) << "unknown weight dtype '" << text
                            << "' (expected f32, bf16, f16, q8_0, q4_0, q6_k, q4_k or q5_k)";
    return d;
  };
  std::optional<DType> d = parseDType(dtype);
  if (!d)
    return {};
  SmallVector<DType> layerDtypes;
  if (succeeded(parser.parseOptionalKeyword("layer_dtypes"))) {
    if (parser.parseEqual() ||
        parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() -> ParseResult {
          std::string text;
          if (parser.parseKeywordOrString(&text))
            return failure();
          std::optional<DType> layer = parseDType(text);
          if (!layer)
            return failure();
          layerDtypes.push_back(*layer);
          return success();
        }) ||
        parser.parseComma())
      return {};
  }
  if (parser.parseKeyword("init") || parser.parseEqual() || parser.parseKeywordOrString(&init) ||
      parser.parseGreater())
    return {};
  std::optional<WeightInit> i = symbolizeWeightInit(init);
  if (!i)
    return parser.emitError(loc) << "unknown weight init '" << init
                                 << "' (expected random, ones or zeros)",
           Attribute();
  return parser.getChecked<WeightSlotAttr>(loc, parser.getContext(), *name, shape, *d, *i,
                                           layerDtypes);
}

void WeightSlotAttr::print(AsmPrinter &printer) const {
  printer << "<";
  getName().printBody(printer);
  printer << ", shape = [";
  llvm::interleaveComma(getShape(), printer);
  printer << "], dtype = " << stringifyDType(getDtype());
  if (!getLayerDtypes().empty()) {
    printer << ", layer_dtypes = [";
    llvm::interleaveComma(getLayerDtypes(), printer,
                          [&](DType d) { printer << stringifyDType(d); });
    printer << "]";
  }
  printer << ", init = " << stringifyWeightInit(getInit()) << ">";
}

//===----------------------------------------------------------------------===//
// KVCacheAttr, EntryArgAttr
//===----------------------------------------------------------------------===//

LogicalResult KVCacheAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  RankedTensorType type, int64_t seqDim) {
  if (!type || !type.hasStaticShape())
    return emitError() << "a kv cache needs a static shape";
  if (type.getRank() > TFC_MAX_RANK)
    return emitError() << "kv cache of rank " << type.getRank() << " exceeds the ABI's "
                       << TFC_MAX_RANK;
  if (seqDim < 0 || seqDim >= type.getRank())
    return emitError() << "kv cache seq_dim " << seqDim << " is not a dimension of " << type;
  // The element types the runtime allocates (gen_abi.h tfc_gen_cache.dtype):
  // f32, and the storage of --kv-type=bf16|q8_0 (Q8_0 blocks as i8 bytes).
  Type element = type.getElementType();
  if (!element.isF32() && !element.isBF16() && !element.isInteger(8))
    return emitError() << "kv cache elements must be f32, bf16 or i8 (Q8_0 bytes), got "
                       << element;
  return success();
}

int64_t KVCacheAttr::getElementBytes() const {
  return static_cast<int64_t>(getType().getElementTypeBitWidth() / 8);
}

LogicalResult EntryArgAttr::verify(function_ref<InFlightDiagnostic()> emitError, ArgKind kind,
                                   int32_t index) {
  if (stringifyArgKind(kind).empty())
    return emitError() << "unknown argument kind " << static_cast<int32_t>(kind);
  if (index < 0)
    return emitError() << "argument index must not be negative, got " << index;
  if (!isIndexed(kind) && index != 0)
    return emitError() << "argument kind '" << stringifyArgKind(kind)
                       << "' takes no index, got " << index;
  return success();
}

Attribute EntryArgAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  std::string kind;
  int32_t index = 0;
  if (parser.parseLess() || parser.parseKeywordOrString(&kind))
    return {};
  std::optional<ArgKind> k = symbolizeArgKind(kind);
  if (!k)
    return parser.emitError(loc) << "unknown argument kind '" << kind << "'", Attribute();
  if (isIndexed(*k) &&
      (parser.parseLSquare() || parser.parseInteger(index) || parser.parseRSquare()))
    return {};
  if (parser.parseGreater())
    return {};
  return parser.getChecked<EntryArgAttr>(loc, parser.getContext(), *k, index);
}

void EntryArgAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyArgKind(getKind());
  if (isIndexed(getKind()))
    printer << "[" << getIndex() << "]";
  printer << ">";
}

//===----------------------------------------------------------------------===//
// The ABI attributes on modules and functions
//===----------------------------------------------------------------------===//

namespace {

template <typename AttrT>
LogicalResult expectArrayOf(Operation *op, NamedAttribute attr, StringRef what) {
  auto array = dyn_cast<ArrayAttr>(attr.getValue());
  if (!array || !llvm::all_of(array, [](Attribute a) { return isa<AttrT>(a); }))
    return op->emitOpError() << "'" << attr.getName().getValue() << "' must be an array of "
                             << what;
  return success();
}

} // namespace

LogicalResult AttnDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  auto onModule = [&]() -> LogicalResult {
    if (!isa<ModuleOp>(op))
      return op->emitOpError() << "'" << name << "' belongs on a module";
    return success();
  };
  auto onFunction = [&]() -> LogicalResult {
    if (!isa<FunctionOpInterface>(op))
      return op->emitOpError() << "'" << name << "' belongs on a function";
    return success();
  };
  if (name == kWeightSlotsAttrName) {
    if (failed(onModule()) ||
        failed(expectArrayOf<WeightSlotAttr>(op, attr, "#attn.weight_slot")))
      return failure();
    // The model functions' weight arguments name slots of this list.
    auto slots = cast<ArrayAttr>(attr.getValue());
    auto caches = op->getAttrOfType<ArrayAttr>(kKVCachesAttrName);
    for (auto func : cast<ModuleOp>(op).getOps<FunctionOpInterface>()) {
      auto args = func->getAttrOfType<ArrayAttr>(kEntryArgsAttrName);
      if (!args)
        continue;
      for (auto arg : args.getAsRange<EntryArgAttr>()) {
        bool weight = arg.getKind() == ArgKind::weight;
        bool offsets = arg.getKind() == ArgKind::layer_offsets;
        size_t index = arg.getIndex();
        if ((weight || offsets) && index >= slots.size())
          return func->emitOpError() << "argument " << arg << " names slot " << index
                                     << " of " << slots.size();
        if (offsets && !cast<WeightSlotAttr>(slots[index]).getName().isStacked())
          return func->emitOpError() << "argument " << arg << " is the layer table of slot "
                                     << index << ", which is not stacked";
        bool cache = arg.getKind() == ArgKind::cache || arg.getKind() == ArgKind::cache_pool;
        if (cache && (!caches || index >= caches.size()))
          return func->emitOpError() << "argument " << arg << " names cache " << index
                                     << " of " << (caches ? caches.size() : 0);
      }
    }
    return success();
  }
  if (name == kKVCachesAttrName)
    return failure(failed(onModule()) ||
                   failed(expectArrayOf<KVCacheAttr>(op, attr, "#attn.kv_cache")));
  if (name == kEntryArgsAttrName) {
    if (failed(onFunction()) || failed(expectArrayOf<EntryArgAttr>(op, attr, "#attn.arg")))
      return failure();
    // Before the LLVM dialect a memref is one argument (after it, several).
    auto func = dyn_cast<func::FuncOp>(op);
    size_t n = cast<ArrayAttr>(attr.getValue()).size();
    if (func && !func.isExternal() && n != func.getNumArguments())
      return op->emitOpError() << "'" << name << "' lists " << n << " arguments, but the function has "
                               << func.getNumArguments();
    return success();
  }
  if (name == kOutWidthAttrName) {
    auto width = dyn_cast<IntegerAttr>(attr.getValue());
    if (failed(onFunction()))
      return failure();
    if (!width || width.getInt() <= 0)
      return op->emitOpError() << "'" << name << "' must be a positive integer";
    return success();
  }
  if (name == kStatefulAttrName) {
    if (failed(onFunction()))
      return failure();
    if (!isa<UnitAttr>(attr.getValue()))
      return op->emitOpError() << "'" << name << "' must be a unit attribute";
    return success();
  }
  if (name == kArenaBytesAttrName) {
    if (failed(onFunction()))
      return failure();
    if (!isa<FlatSymbolRefAttr>(attr.getValue()))
      return op->emitOpError() << "'" << name << "' must name a function (@symbol)";
    return success();
  }
  return success(); // attn.name, attn.max_seq, attn.config: the front end's
}
