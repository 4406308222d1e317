//===- EmitSharedLib.cpp - From the LLVM dialect to model.so ----------------===//
//
// After translation to LLVM IR, the module gets the `__tfc_model` descriptor
// that libtfcrt reads (its layout is runtime/include/tfc/gen_abi.h, whose
// constants it uses; the structs are built here field by field in the C order,
// and test/Driver/abi-layout.test checks the result against clang's layout of
// the header)
// and one `void entry(void **args)` wrapper per model function, so the runtime
// can call functions of any arity through one pointer type. The module is then
// optimized and emitted for the target CPU, and clang links it with the static
// runtime under a version script that exports only the tfc_* ABI.
//
//===----------------------------------------------------------------------===//

#include "tfc/Target/EmitSharedLib.h"

#include "tfc/gen_abi.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/DataLayout.h"
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
// The descriptor
//===----------------------------------------------------------------------===//

namespace {

/// The gen_abi.h structs as LLVM types, field by field in the C order (and
/// named as in C, for `tfc --print-abi-layout`, which test/Driver/abi-layout.test
/// compares with clang's layout of the header itself).
class DescriptorTypes {
public:
  struct Field {
    const char *name;
    llvm::Type *type;
  };
  struct Struct {
    const char *name;
    llvm::StructType *type;
    llvm::SmallVector<Field> fields;
  };

  explicit DescriptorTypes(llvm::LLVMContext &ctx)
      : i32(llvm::Type::getInt32Ty(ctx)), i64(llvm::Type::getInt64Ty(ctx)),
        ptr(llvm::PointerType::getUnqual(ctx)), dims(llvm::ArrayType::get(i64, TFC_MAX_RANK)) {
    info = define(ctx, "tfc_model_info",
                  {{"abi_version", i32}, {"name", ptr}, {"vocab_size", i32}, {"dim", i32},
                   {"n_layers", i32}, {"n_heads", i32}, {"n_kv_heads", i32},
                   {"head_dim", i32}, {"kv_latent_rank", i32}, {"max_seq", i32},
                   {"has_encoder", i32}, {"has_decoder", i32}, {"n_params", i64},
                   {"kv_cache_bytes_per_token", i64}, {"n_weights", i32}});
    arg = define(ctx, "tfc_gen_arg", {{"kind", i32}, {"index", i32}});
    slot = define(ctx, "tfc_gen_slot",
                  {{"rank", i32}, {"dims", dims}, {"layers", i32}, {"dtype", i32},
                   {"layer_dtypes", ptr}});
    weight = define(ctx, "tfc_gen_weight",
                    {{"name", ptr}, {"rank", i32}, {"dims", dims}, {"slot", i32},
                     {"layer", i32}, {"init", i32}, {"shard_dim", i32},
                     {"shard_parts", i32}, {"shard_index", i32}, {"shard_segments", i32}});
    cache = define(ctx, "tfc_gen_cache",
                   {{"rank", i32}, {"dims", dims}, {"seq_dim", i32}, {"dtype", i32}});
    function = define(ctx, "tfc_gen_function",
                      {{"entry", ptr}, {"n_args", i32}, {"args", ptr}, {"out_width", i32},
                       {"stateful", i32}, {"arena_bytes", ptr}});
    model = define(ctx, "tfc_gen_model",
                   {{"gen_abi_version", i32}, {"info", info}, {"weights", ptr}, {"n_slots", i32},
                    {"slots", ptr}, {"n_caches", i32}, {"caches", ptr}, {"decoder", function},
                    {"encoder", function}, {"decoder_last", function},
                    {"decoder_batch", function}, {"tensor_parallel", i32},
                     {"attention_maps", function}, {"attention_map_count", i32}});
  }

  llvm::ArrayRef<Struct> all() const { return structs; }

  llvm::Type *i32, *i64;
  llvm::PointerType *ptr;
  llvm::ArrayType *dims;
  llvm::StructType *info, *arg, *slot, *weight, *cache, *function, *model;

private:
  llvm::StructType *define(llvm::LLVMContext &ctx, const char *name,
                           std::initializer_list<Field> fields) {
    llvm::SmallVector<llvm::Type *> types;
    for (const Field &f : fields)
      types.push_back(f.type);
    auto *type = llvm::StructType::get(ctx, types);
    structs.push_back({name, type, llvm::SmallVector<Field>(fields)});
    return type;
  }

  llvm::SmallVector<Struct> structs;
};

/// Builds constants of the gen_abi.h structs.
class DescriptorBuilder : public DescriptorTypes {
public:
  explicit DescriptorBuilder(llvm::Module &m)
      : DescriptorTypes(m.getContext()), m(m), ctx(m.getContext()) {}

  llvm::Constant *int32(int64_t v) { return llvm::ConstantInt::get(i32, v); }
  llvm::Constant *int64(int64_t v) { return llvm::ConstantInt::get(i64, v); }

  llvm::Constant *string(llvm::StringRef s, const llvm::Twine &name) {
    auto *init = llvm::ConstantDataArray::getString(ctx, s);
    return global(init, name);
  }

  llvm::Constant *dimsOf(llvm::ArrayRef<int64_t> shape) {
    llvm::SmallVector<llvm::Constant *> v;
    for (int i = 0; i < TFC_MAX_RANK; ++i)
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
    for (auto [k, a] : llvm::enumerate(f.args)) {
      llvm::Value *slot = b.CreateConstInBoundsGEP1_64(ptr, fn->getArg(0), k);
      llvm::Value *arg = b.CreateLoad(ptr, slot);
      if (a.getKind() == attn::ArgKind::pos)
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
      return llvm::ConstantStruct::get(DescriptorTypes::function,
                                        {llvm::ConstantPointerNull::get(ptr), int32(0),
                                         llvm::ConstantPointerNull::get(ptr), int32(0), int32(0),
                                         llvm::ConstantPointerNull::get(ptr)});
    llvm::SmallVector<llvm::Constant *> args;
    for (attn::EntryArgAttr a : f->args)
      args.push_back(llvm::ConstantStruct::get(
          arg, {int32(static_cast<int32_t>(a.getKind())), int32(a.getIndex())}));
    auto orNull = [&](llvm::Function *fn) {
      return fn ? static_cast<llvm::Constant *>(fn) : llvm::ConstantPointerNull::get(ptr);
    };
    llvm::Constant *entry = orNull(entryWrapper(*f, f->symbol, "__tfc_entry_" + f->symbol, false));
    llvm::Constant *arena = llvm::ConstantPointerNull::get(ptr);
    if (!f->arenaBytes.empty())
      arena = orNull(entryWrapper(*f, f->arenaBytes, "__tfc_" + f->arenaBytes, true));
    return llvm::ConstantStruct::get(
        DescriptorTypes::function,
        {entry, int32(args.size()), array(arg, args, "__tfc_args_" + f->symbol),
         int32(f->outWidth), int32(f->stateful ? 1 : 0), arena});
  }

  llvm::Module &m;
  llvm::LLVMContext &ctx;
};

} // namespace

void addModelDescriptor(llvm::Module &module, const ModelLayout &layout) {
  DescriptorBuilder b(module);
  const ModelSummary &s = layout.summary;

  // The manifest: stacked slots expand into one entry per layer (per layer
  // and expert for a mixture of experts' weights; the runtime sees entries).
  llvm::SmallVector<llvm::Constant *> weights, slots;
  for (auto [index, slot] : llvm::enumerate(layout.slots)) {
    attn::WeightNameAttr name = slot.getName();
    int64_t layers = name.getEntries();
    // A sharded slot holds one rank's part; the manifest names the whole
    // tensor of the file.
    llvm::SmallVector<int64_t> shape(slot.getTensorShape());
    llvm::ArrayRef<int64_t> shard = layout.shards[index];
    int32_t shardDim = 0, shardParts = 0, shardSegments = 0;
    if (shard.size() >= 3) {
      shardDim = static_cast<int32_t>(shard[0]);
      shardParts = static_cast<int32_t>(shard[1]);
      if (shardDim >= 0) {
        shape[shardDim] = wholeSizeOfShard(shard, shape[shardDim]);
        if (segmentsOfShard(shard) > 1)
          shardSegments = static_cast<int32_t>(segmentsOfShard(shard));
      }
    }
    // Experts split by rank (TFC_SHARD_EXPERTS): every expert of every layer
    // is an entry, held by part e / held at index l * held + e % held of
    // that part's slot.
    const bool expertSplit = shardDim == TFC_SHARD_EXPERTS;
    const int64_t experts = name.getExperts();
    const int64_t held = expertSplit ? llvm::divideCeil(experts, shardParts) : 0;
    for (int64_t l = 0; l < std::max<int64_t>(layers, 1); ++l) {
      int64_t layer = layers ? l : -1, part = 0;
      if (expertSplit) {
        int64_t e = l % experts;
        part = e / held;
        layer = l / experts * held + e % held;
      }
      weights.push_back(llvm::ConstantStruct::get(
          b.weight, {b.string(name.nameOfLayer(l), "__tfc_name"), b.int32(shape.size()),
                     b.dimsOf(shape), b.int32(index), b.int32(layer),
                     b.int32(static_cast<int32_t>(slot.getInit())), b.int32(shardDim),
                     b.int32(shardParts), b.int32(part), b.int32(shardSegments)}));
    }
    // Per-layer types (q4_k_m): an int32 per entry, else null.
    llvm::Constant *layerDtypes = llvm::ConstantPointerNull::get(b.ptr);
    if (!slot.getLayerDtypes().empty()) {
      llvm::SmallVector<int32_t> types;
      for (attn::DType d : slot.getLayerDtypes())
        types.push_back(static_cast<int32_t>(d));
      layerDtypes = b.global(llvm::ConstantDataArray::get(b.ctx, types), "__tfc_layer_dtypes");
    }
    slots.push_back(llvm::ConstantStruct::get(
        b.slot, {b.int32(slot.getShape().size()), b.dimsOf(slot.getShape()),
                 b.int32(layers ? slot.getShape().front() : 0), // a rank's experts when split
                 b.int32(static_cast<int32_t>(slot.getDtype())), layerDtypes}));
  }

  llvm::Constant *info = llvm::ConstantStruct::get(
      b.info,
      {b.int32(TFC_ABI_VERSION), b.string(s.name, "__tfc_model_name"), b.int32(s.vocab),
       b.int32(s.dim), b.int32(s.layers), b.int32(s.heads), b.int32(s.kvHeads),
       b.int32(s.headDim), b.int32(s.kvLatentRank), b.int32(s.maxSeq),
       b.int32(layout.encoder ? 1 : 0), b.int32(layout.decoder ? 1 : 0),
       b.int64(layout.parameterCount()), b.int64(s.kvCacheBytesPerToken),
       b.int32(weights.size())});

  llvm::SmallVector<llvm::Constant *> caches;
  for (attn::KVCacheAttr cache : layout.caches) {
    // --kv-type: bf16 values, or the bytes of Q8_0 blocks (i8) along the last dim.
    mlir::Type element = cache.getType().getElementType();
    int32_t dtype = element.isBF16()        ? TFC_DTYPE_BF16
                    : element.isInteger(8) ? TFC_DTYPE_Q8_0
                                           : TFC_DTYPE_F32;
    caches.push_back(llvm::ConstantStruct::get(
        b.cache, {b.int32(cache.getType().getRank()), b.dimsOf(cache.getType().getShape()),
                  b.int32(cache.getSeqDim()), b.int32(dtype)}));
  }

  llvm::Constant *model = llvm::ConstantStruct::get(
      b.model, {b.int32(TFC_GEN_ABI_VERSION), info, b.array(b.weight, weights, "__tfc_weights"),
                b.int32(slots.size()), b.array(b.slot, slots, "__tfc_slots"),
                b.int32(caches.size()), b.array(b.cache, caches, "__tfc_caches"),
                b.function(layout.decoder), b.function(layout.encoder),
                b.function(layout.decoderLast), b.function(layout.decoderBatch),
                b.int32(layout.tensorParallel), b.function(layout.attentionMaps),
                b.int32(layout.attentionMaps ? layout.attentionMaps->attentionMapCount : 0)});
  auto *g = new llvm::GlobalVariable(module, b.model, /*isConstant=*/true,
                                     llvm::GlobalValue::ExternalLinkage, model, "__tfc_model");
  g->setVisibility(llvm::GlobalValue::HiddenVisibility);
}

void printDescriptorLayout(const llvm::DataLayout &dataLayout, llvm::raw_ostream &os) {
  llvm::LLVMContext ctx;
  DescriptorTypes types(ctx);
  for (const DescriptorTypes::Struct &s : types.all()) {
    const llvm::StructLayout *layout = dataLayout.getStructLayout(s.type);
    os << s.name << " size=" << layout->getSizeInBytes()
       << " align=" << layout->getAlignment().value() << "\n";
    for (auto [k, field] : llvm::enumerate(s.fields))
      os << s.name << "." << field.name << " " << layout->getElementOffset(k) << "\n";
  }
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

std::string int8DotProductFor(const llvm::TargetMachine &tm) {
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  // AVX-VNNI alone (Alder Lake, or a virtual machine that hides AVX512-VNNI
  // but shows AVX-512F) has no 512-bit vpdpbusd.
  if (sti->checkFeatures("+avx512vnni,+avx512vl"))
    return "vnni";
  if (sti->checkFeatures("+avxvnni"))
    return "avxvnni";
  return sti->checkFeatures("+avx2") ? "avx2" : "none";
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
  // vector calls instead of one libm call per element. LLVM 19 offers the
  // table's AVX2 variants (_ZGVd*, arguments in ymm registers) whatever the
  // target's features: on a target without AVX2 the caller passes a 256-bit
  // vector in two xmm registers and the callee reads garbage (a silent wrong
  // answer, seen on --target-cpu=x86-64 RoPE) or faults. So only AVX2 targets
  // get the table; the others call libm per element.
  llvm::TargetLibraryInfoImpl libraryInfo(tm.getTargetTriple());
  if (tm.getMCSubtargetInfo()->checkFeatures("+avx2"))
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
                                int64_t tensorParallel, std::string &error) {
  const bool mpi = tensorParallel > 1;
  if (mpi && !*kTfcRuntimeMpiLib)
    return error = "--tensor-parallel needs MPI, and this tfc was built without it (install "
                   "libopenmpi-dev and reconfigure)",
           failure();
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
                                             mpi ? kTfcRuntimeMpiLib : kTfcRuntimeLib,
                                             "-Wl,--no-whole-archive",
                                             versionScript,
                                             "-Wl,--no-undefined",
                                             "-Wl,-z,noexecstack",
                                             "-lstdc++",
                                             "-lmvec",
                                             "-lm"};
  if (openMP)
    args.push_back(kTfcLibOmp);
  llvm::SmallVector<llvm::StringRef> mpiLibraries;
  if (mpi)
    llvm::StringRef(kTfcMpiLinkLibraries).split(mpiLibraries, ' ', -1, /*KeepEmpty=*/false);
  args.append(mpiLibraries.begin(), mpiLibraries.end());
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(clang, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0)
    return error = "linking '" + soPath.str() + "' with " + clang + " failed" +
                   (message.empty() ? "" : ": " + message),
           failure();
  return success();
}

} // namespace tfc
