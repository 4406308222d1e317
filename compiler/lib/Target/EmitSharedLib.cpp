//===- EmitSharedLib.cpp - From the LLVM dialect to model.so ----------------===//
//
// After translation to LLVM IR, the module gets the `__tfc_model` descriptor
// that libtfcrt reads (its layout is runtime/include/tfc/gen_abi.h, built here
// with the same field order so that LLVM's data layout reproduces the C one)
// and one `void entry(void **args)` wrapper per model function, so the runtime
// can call functions of any arity through one pointer type. The module is then
// optimized and emitted for the target CPU, and clang links it with the static
// runtime under a version script that exports only the tfc_* ABI.
//
//===----------------------------------------------------------------------===//

#include "tfc/Target/EmitSharedLib.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include "tfc/TargetConfig.h"

using namespace mlir;

namespace tfc {

//===----------------------------------------------------------------------===//
// Reading the model
//===----------------------------------------------------------------------===//

namespace {

constexpr int32_t kArgOutput = 3; // TFC_ARG_OUTPUT

int64_t tripCountOf(scf::ForOp loop) {
  auto lb = getConstantIntValue(loop.getLowerBound());
  auto ub = getConstantIntValue(loop.getUpperBound());
  auto step = getConstantIntValue(loop.getStep());
  if (!lb || !ub || !step || *step <= 0)
    return 1;
  return (*ub - *lb + *step - 1) / *step;
}

/// How many times `op` runs per call: the product of enclosing loop trip counts.
int64_t timesRun(Operation *op) {
  int64_t times = 1;
  for (auto loop = op->getParentOfType<scf::ForOp>(); loop;
       loop = loop->getParentOfType<scf::ForOp>())
    times *= tripCountOf(loop);
  return times;
}

} // namespace

ModelSummary summarizeModel(ModuleOp module) {
  ModelSummary s;
  if (auto name = module->getAttrOfType<StringAttr>("attn.name"))
    s.name = name.str();
  if (auto maxSeq = module->getAttrOfType<IntegerAttr>("attn.max_seq"))
    s.maxSeq = maxSeq.getInt();
  auto decoder = module.lookupSymbol<func::FuncOp>("decoder");
  auto encoder = module.lookupSymbol<func::FuncOp>("encoder");
  auto widthOf = [](func::FuncOp f) {
    return cast<RankedTensorType>(f.getResultTypes().front()).getDimSize(1);
  };
  if (decoder && decoder.getNumResults() == 1)
    s.vocab = widthOf(decoder);
  if (encoder && encoder.getNumResults() == 1)
    s.dim = widthOf(encoder);

  func::FuncOp main = decoder ? decoder : encoder;
  if (!main)
    return s;
  main.walk([&](Operation *op) {
    if (auto emb = dyn_cast<attn::EmbeddingOp>(op)) {
      if (!s.dim)
        s.dim = emb.getType().getDimSize(1);
      if (!s.vocab)
        s.vocab = emb.getTable().getType().getDimSize(0);
    } else if (auto a = dyn_cast<attn::AttentionOp>(op)) {
      if (a.getMemory())
        return;
      s.layers += timesRun(op);
      if (!s.heads) {
        s.heads = a.getHeads();
        s.kvHeads = a.getKvHeads();
        s.headDim = a.getHeadDim();
      }
    } else if (auto mla = dyn_cast<attn::LatentAttentionOp>(op)) {
      s.layers += timesRun(op);
      if (!s.heads) {
        s.heads = s.kvHeads = mla.getHeads();
        s.headDim = mla.getNopeDim() + mla.getRopeDim();
        s.kvLatentRank = mla.getKvRank();
      }
    }
  });
  return s;
}

int64_t kvCacheBytesPerToken(ModuleOp module) {
  auto decoder = module.lookupSymbol<func::FuncOp>("decoder");
  if (!decoder)
    return 0;
  // One [heads, d] slice per layer and decoded token of each self-attention
  // cache [layers, heads, max_seq, d]; cross-attention caches (marked
  // tfc.cross by the KV-cache pass) grow with the memory, not the decoding.
  int64_t bytes = 0;
  decoder.walk([&](attn::CacheUpdateOp update) {
    if (update->hasAttr("tfc.cross"))
      return;
    auto cache = update.getCache().getType();
    bytes += cache.getDimSize(0) * cache.getDimSize(1) * cache.getDimSize(3) *
             static_cast<int64_t>(cache.getElementTypeBitWidth() / 8);
  });
  return bytes;
}

FailureOr<ModelLayout> takeModelLayout(ModuleOp module, ModelSummary summary) {
  ModelLayout layout;
  layout.summary = std::move(summary);
  auto slots = module->getAttrOfType<ArrayAttr>("tfc.slots");
  if (!slots)
    return module.emitError("no tfc.slots: tfc-lower-entry-points has not run");
  for (auto dict : slots.getAsRange<DictionaryAttr>()) {
    WeightSlot slot;
    slot.name = dict.getAs<StringAttr>("name").str();
    auto shape = dict.getAs<DenseI64ArrayAttr>("shape").asArrayRef();
    slot.shape.assign(shape.begin(), shape.end());
    slot.init = dict.getAs<IntegerAttr>("init").getInt();
    slot.dtype = dict.getAs<IntegerAttr>("dtype").getInt();
    layout.slots.push_back(std::move(slot));
  }
  module->removeAttr("tfc.slots");
  if (auto caches = module->getAttrOfType<ArrayAttr>("tfc.caches"))
    for (auto shape : caches.getAsRange<DenseI64ArrayAttr>())
      layout.caches.emplace_back(shape.asArrayRef().begin(), shape.asArrayRef().end());
  module->removeAttr("tfc.caches");

  for (auto func : module.getOps<func::FuncOp>()) {
    auto args = func->getAttrOfType<DenseI32ArrayAttr>("tfc.args");
    if (!args)
      continue;
    EntryFunction entry;
    entry.symbol = func.getSymName().str();
    entry.args.assign(args.asArrayRef().begin(), args.asArrayRef().end());
    for (size_t k = 0; k < entry.args.size() / 2; ++k)
      if (entry.args[2 * k] == kArgOutput && k < func.getNumArguments())
        entry.outWidth = cast<MemRefType>(func.getArgumentTypes()[k]).getDimSize(1);
    entry.stateful = func->hasAttr("tfc.stateful");
    if (auto arena = func->getAttrOfType<FlatSymbolRefAttr>("tfc.arena_bytes"))
      entry.arenaBytes = arena.getValue().str();
    func->removeAttr("tfc.args");
    func->removeAttr("tfc.stateful");
    func->removeAttr("tfc.arena_bytes");
    if (entry.symbol == "decoder")
      layout.decoder = std::move(entry);
    else if (entry.symbol == "encoder")
      layout.encoder = std::move(entry);
    else if (entry.symbol == "decoder_last")
      layout.decoderLast = std::move(entry);
    else
      return func.emitError("unexpected model function '") << entry.symbol << "'";
  }
  return layout;
}

//===----------------------------------------------------------------------===//
// The descriptor
//===----------------------------------------------------------------------===//

namespace {

constexpr int kMaxRank = 8;     // TFC_MAX_RANK
constexpr int kGenAbiVersion = 3; // TFC_GEN_ABI_VERSION
constexpr int kAbiVersion = 1;  // TFC_ABI_VERSION
constexpr int32_t kArgPos = 4;  // TFC_ARG_POS
constexpr int32_t kCacheSeqDim = 2; // caches are [layers, heads, max_seq, d]

/// Builds constants of the gen_abi.h structs.
class DescriptorBuilder {
public:
  explicit DescriptorBuilder(llvm::Module &m)
      : m(m), ctx(m.getContext()), i32(llvm::Type::getInt32Ty(ctx)),
        i64(llvm::Type::getInt64Ty(ctx)), ptr(llvm::PointerType::getUnqual(ctx)),
        dims(llvm::ArrayType::get(i64, kMaxRank)) {
    infoTy = llvm::StructType::get(ctx, {i32, ptr, i32, i32, i32, i32, i32, i32, i32, i32, i32,
                                         i32, i64, i64, i32});
    weightTy = llvm::StructType::get(ctx, {ptr, i32, dims, i32, i32, i32});
    slotTy = llvm::StructType::get(ctx, {i32, dims, i32, i32});
    cacheTy = llvm::StructType::get(ctx, {i32, dims, i32});
    argTy = llvm::StructType::get(ctx, {i32, i32});
    functionTy = llvm::StructType::get(ctx, {ptr, i32, ptr, i32, i32, ptr});
    modelTy = llvm::StructType::get(
        ctx, {i32, infoTy, ptr, i32, ptr, i32, ptr, functionTy, functionTy, functionTy});
  }

  llvm::Constant *int32(int64_t v) { return llvm::ConstantInt::get(i32, v); }
  llvm::Constant *int64(int64_t v) { return llvm::ConstantInt::get(i64, v); }

  llvm::Constant *string(llvm::StringRef s, const llvm::Twine &name) {
    auto *init = llvm::ConstantDataArray::getString(ctx, s);
    return global(init, name);
  }

  llvm::Constant *dimsOf(llvm::ArrayRef<int64_t> shape) {
    llvm::SmallVector<llvm::Constant *> v;
    for (int i = 0; i < kMaxRank; ++i)
      v.push_back(int64(i < static_cast<int>(shape.size()) ? shape[i] : 0));
    return llvm::ConstantArray::get(dims, v);
  }

  /// A private constant global holding `init`; returns its address.
  llvm::Constant *global(llvm::Constant *init, const llvm::Twine &name) {
    auto *g = new llvm::GlobalVariable(m, init->getType(), /*isConstant=*/true,
                                       llvm::GlobalValue::PrivateLinkage, init, name);
    g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return g;
  }

  llvm::Constant *array(llvm::StructType *elt, llvm::ArrayRef<llvm::Constant *> values,
                        const llvm::Twine &name) {
    if (values.empty())
      return llvm::ConstantPointerNull::get(ptr);
    return global(llvm::ConstantArray::get(llvm::ArrayType::get(elt, values.size()), values), name);
  }

  /// `void __tfc_entry_<f>(void **args)` (or `int64_t __tfc_<callee>(void
  /// **args)` for the arena size): unpacks args and calls the C interface of
  /// `callee`, which takes f's arguments.
  llvm::Function *entryWrapper(const EntryFunction &f, llvm::StringRef callee,
                               const llvm::Twine &name, bool returnsSize) {
    llvm::Function *target = m.getFunction(("_mlir_ciface_" + callee).str());
    if (!target)
      return nullptr;
    llvm::Type *result = returnsSize ? i64 : llvm::Type::getVoidTy(ctx);
    auto *type = llvm::FunctionType::get(result, {ptr}, false);
    auto *fn = llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage, name, m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
    llvm::SmallVector<llvm::Value *> operands;
    for (size_t k = 0; k < f.args.size() / 2; ++k) {
      llvm::Value *slot = b.CreateConstInBoundsGEP1_64(ptr, fn->getArg(0), k);
      llvm::Value *arg = b.CreateLoad(ptr, slot);
      if (f.args[2 * k] == kArgPos)
        arg = b.CreateLoad(i64, arg);
      operands.push_back(arg);
    }
    llvm::Value *call = b.CreateCall(target, operands);
    if (returnsSize)
      b.CreateRet(call);
    else
      b.CreateRetVoid();
    return fn;
  }

  llvm::Constant *function(const std::optional<EntryFunction> &f) {
    if (!f)
      return llvm::ConstantStruct::get(functionTy, {llvm::ConstantPointerNull::get(ptr), int32(0),
                                                    llvm::ConstantPointerNull::get(ptr), int32(0),
                                                    int32(0), llvm::ConstantPointerNull::get(ptr)});
    llvm::SmallVector<llvm::Constant *> args;
    for (size_t k = 0; k < f->args.size() / 2; ++k)
      args.push_back(llvm::ConstantStruct::get(argTy, {int32(f->args[2 * k]),
                                                       int32(f->args[2 * k + 1])}));
    auto orNull = [&](llvm::Function *fn) {
      return fn ? static_cast<llvm::Constant *>(fn) : llvm::ConstantPointerNull::get(ptr);
    };
    llvm::Constant *entry = orNull(entryWrapper(*f, f->symbol, "__tfc_entry_" + f->symbol, false));
    llvm::Constant *arena = llvm::ConstantPointerNull::get(ptr);
    if (!f->arenaBytes.empty())
      arena = orNull(entryWrapper(*f, f->arenaBytes, "__tfc_" + f->arenaBytes, true));
    return llvm::ConstantStruct::get(
        functionTy, {entry, int32(args.size()), array(argTy, args, "__tfc_args_" + f->symbol),
                     int32(f->outWidth), int32(f->stateful ? 1 : 0), arena});
  }

  llvm::Module &m;
  llvm::LLVMContext &ctx;
  llvm::Type *i32, *i64;
  llvm::PointerType *ptr;
  llvm::ArrayType *dims;
  llvm::StructType *infoTy, *weightTy, *slotTy, *cacheTy, *argTy, *functionTy, *modelTy;
};

int64_t product(llvm::ArrayRef<int64_t> shape) {
  int64_t p = 1;
  for (int64_t d : shape)
    p *= d;
  return p;
}

} // namespace

void addModelDescriptor(llvm::Module &module, const ModelLayout &layout) {
  DescriptorBuilder b(module);
  const ModelSummary &s = layout.summary;

  // The manifest: stacked slots expand into one entry per layer.
  llvm::SmallVector<llvm::Constant *> weights, slots;
  int64_t params = 0;
  for (auto [index, slot] : llvm::enumerate(layout.slots)) {
    int64_t layers = slot.stacked() ? slot.shape.front() : 0;
    llvm::ArrayRef<int64_t> shape = slot.shape;
    if (layers)
      shape = shape.drop_front();
    for (int64_t l = 0; l < std::max<int64_t>(layers, 1); ++l) {
      std::string name = slot.name;
      if (layers)
        name.replace(name.find("{i}"), 3, std::to_string(l));
      weights.push_back(llvm::ConstantStruct::get(
          b.weightTy, {b.string(name, "__tfc_name"), b.int32(shape.size()), b.dimsOf(shape),
                       b.int32(index), b.int32(layers ? l : -1), b.int32(slot.init)}));
      params += product(shape);
    }
    slots.push_back(llvm::ConstantStruct::get(
        b.slotTy,
        {b.int32(slot.shape.size()), b.dimsOf(slot.shape), b.int32(layers), b.int32(slot.dtype)}));
  }

  llvm::Constant *info = llvm::ConstantStruct::get(
      b.infoTy,
      {b.int32(kAbiVersion), b.string(s.name, "__tfc_model_name"), b.int32(s.vocab),
       b.int32(s.dim), b.int32(s.layers), b.int32(s.heads), b.int32(s.kvHeads),
       b.int32(s.headDim), b.int32(s.kvLatentRank), b.int32(s.maxSeq),
       b.int32(layout.encoder ? 1 : 0), b.int32(layout.decoder ? 1 : 0), b.int64(params),
       b.int64(s.kvCacheBytesPerToken), b.int32(weights.size())});

  llvm::SmallVector<llvm::Constant *> caches;
  for (const auto &shape : layout.caches)
    caches.push_back(llvm::ConstantStruct::get(
        b.cacheTy, {b.int32(shape.size()), b.dimsOf(shape), b.int32(kCacheSeqDim)}));

  llvm::Constant *model = llvm::ConstantStruct::get(
      b.modelTy, {b.int32(kGenAbiVersion), info, b.array(b.weightTy, weights, "__tfc_weights"),
                  b.int32(slots.size()), b.array(b.slotTy, slots, "__tfc_slots"),
                  b.int32(caches.size()), b.array(b.cacheTy, caches, "__tfc_caches"),
                  b.function(layout.decoder), b.function(layout.encoder),
                  b.function(layout.decoderLast)});
  auto *g = new llvm::GlobalVariable(module, b.modelTy, /*isConstant=*/true,
                                     llvm::GlobalValue::ExternalLinkage, model, "__tfc_model");
  g->setVisibility(llvm::GlobalValue::HiddenVisibility);
}

//===----------------------------------------------------------------------===//
// Code generation
//===----------------------------------------------------------------------===//

std::unique_ptr<llvm::TargetMachine> createTargetMachine(llvm::StringRef cpu, unsigned optLevel,
                                                         std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getProcessTriple();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpuName = cpu.str(), features;
  if (cpu.empty() || cpu == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures f;
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      f.AddFeature(feature.first(), feature.second);
    features = f.getString();
  }
  // Checked on a subtarget of the generic CPU first: LLVM warns on stderr
  // about an unknown CPU each time it builds a subtarget for it.
  std::unique_ptr<llvm::MCSubtargetInfo> generic(target->createMCSubtargetInfo(triple, "", ""));
  if (!generic || !generic->isCPUStringValid(cpuName))
    return error = "unknown target CPU '" + cpuName + "'", nullptr;
  llvm::TargetOptions opts;
  auto level = optLevel == 0   ? llvm::CodeGenOptLevel::None
               : optLevel == 1 ? llvm::CodeGenOptLevel::Less
               : optLevel == 2 ? llvm::CodeGenOptLevel::Default
                               : llvm::CodeGenOptLevel::Aggressive;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpuName, features, opts, llvm::Reloc::PIC_, std::nullopt, level));
  if (!tm)
    error = "cannot create a target machine for " + triple + " / " + cpuName;
  return tm;
}

bool hasBF16DotProduct(const llvm::TargetMachine &tm) {
  return tm.getMCSubtargetInfo()->checkFeatures("+avx512bf16");
}

int64_t vectorWidthFor(const llvm::TargetMachine &tm) {
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  if (sti->checkFeatures("+avx512f"))
    return 16;
  if (sti->checkFeatures("+avx2") || sti->checkFeatures("+avx"))
    return 8;
  return 4;
}

void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm, unsigned optLevel) {
  module.setDataLayout(tm.createDataLayout());
  module.setTargetTriple(tm.getTargetTriple().str());
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  // glibc's vector math library (libmvec): lets the loop vectorizer turn the
  // exp/sin/cos/tanh of elementwise loops (softmax, SiLU, GELU, RoPE) into
  // 16-lane calls instead of one libm call per element.
  llvm::TargetLibraryInfoImpl libraryInfo(tm.getTargetTriple());
  libraryInfo.addVectorizableFunctionsFromVecLib(llvm::TargetLibraryInfoImpl::LIBMVEC_X86,
                                                 tm.getTargetTriple());
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(libraryInfo); });
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = level == llvm::OptimizationLevel::O0
                                    ? pb.buildO0DefaultPipeline(level)
                                    : pb.buildPerModuleDefaultPipeline(level);
  mpm.run(module, mam);
}

LogicalResult emitObject(llvm::Module &module, llvm::TargetMachine &tm, llvm::StringRef path,
                         std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return error = "cannot write '" + path.str() + "': " + ec.message(), failure();
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    return error = "the target cannot emit object files", failure();
  pm.run(module);
  os.flush();
  return success();
}

LogicalResult linkSharedLibrary(llvm::StringRef objectPath, llvm::StringRef soPath, bool openMP,
                                std::string &error) {
  // $TFC_CLANG overrides the clang found at configure time (e.g. for installs).
  std::string clang = kTfcClang;
  if (const char *env = std::getenv("TFC_CLANG"))
    clang = env;
  std::string versionScript = std::string("-Wl,--version-script=") + kTfcExportsMap;
  // --whole-archive: the generated object references no tfc_* symbol (the runtime
  // calls into it, not the other way round), so nothing would be pulled otherwise.
  llvm::SmallVector<llvm::StringRef> args = {clang,
                                             "-shared",
                                             "-o",
                                             soPath,
                                             objectPath,
                                             "-Wl,--whole-archive",
                                             kTfcRuntimeLib,
                                             "-Wl,--no-whole-archive",
                                             versionScript,
                                             "-Wl,--no-undefined",
                                             "-Wl,-z,noexecstack",
                                             "-lstdc++",
                                             "-lmvec",
                                             "-lm"};
  if (openMP)
    args.push_back(kTfcLibOmp);
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(clang, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0)
    return error = "linking '" + soPath.str() + "' with " + clang + " failed" +
                   (message.empty() ? "" : ": " + message),
           failure();
  return success();
}

} // namespace tfc
