//===- Pipeline.cpp - The tfc pass pipelines --------------------------------===//
//
// The order of passes from attn to the LLVM dialect, one builder per printable
// stage, and their registration as named pipelines of tfc-opt: the driver runs
// the same builders, so `tfc-opt --tfc-pipeline` replays exactly what `tfc`
// does. The LLVM half follows the order measured in
// shared/design/CODEGEN-NOTES.md; it is kept as one textual pipeline so it
// reads like the notes.
//
//===----------------------------------------------------------------------===//

#include "tfc/Pipeline/Pipeline.h"

#include "tfc/Codegen/Passes.h"
#include "tfc/Conversion/Passes.h"
#include "tfc/Dialect/Attn/IR/AttnOps.h"
#include "tfc/Dialect/Attn/Transforms/Passes.h"
#include "tfc/Target/EmitSharedLib.h"

#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

namespace tfc {

void buildAttnOptPipeline(OpPassManager &pm, const PipelineOptions &options) {
  // Latent attention must be absorbed before the generic decomposition would
  // decompress it; GQA works on the decomposed heads; the KV cache stores
  // whatever the passes before it left in front of attn.sdpa. The weight
  // initializers are read off the graph as generated, before any rewrite.
  pm.addPass(attn::createAttnMarkWeightInit());
  // The split works on model-level attention and linear layers; every pass
  // after it sees one rank's share (heads / N, ffn / N) like any smaller model.
  if (options.tensorParallel > 1)
    pm.addPass(attn::createAttnTensorParallel(
        {options.tensorParallel, options.weightType, options.storedBlocks}));
  if (options.testWrongRewrite)
    pm.addPass(attn::createAttnTestWrongRewrite());
  if (options.latent)
    pm.addPass(attn::createAttnLatent());
  pm.addPass(attn::createAttnDecompose());
  if (options.gqa)
    pm.addPass(attn::createAttnGQA());
  // The maps observe attention as the rewrites above left it, over the whole
  // prompt: before the KV cache makes the decoder a step function.
  if (options.emitAttention)
    pm.addPass(attn::createAttnAttentionMaps());
  if (options.kvCache) {
    attn::AttnKVCacheOptions kvCache;
    kvCache.kvType = options.kvType;
    pm.addPass(attn::createAttnKVCache(kvCache));
    pm.addPass(attn::createAttnBatchDecode());
  }
  pm.addPass(attn::createAttnLastTokenLogits());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void buildAttnToLinalgPipeline(OpPassManager &pm, const PipelineOptions &options) {
  AttnSDPAStrategyOptions sdpaStrategy;
  sdpaStrategy.keyTile = options.attentionKeyTile;
  sdpaStrategy.queryRows = options.attentionQueryRows;
  pm.addPass(createAttnSDPAStrategy(sdpaStrategy));
  ConvertAttnToLinalgOptions toLinalg;
  toLinalg.moeDenseReference = options.moeDenseReference;
  pm.addPass(createConvertAttnToLinalg(toLinalg));
  LowerEntryPointsOptions entry;
  entry.weightType = options.weightType;
  entry.weightTypes = options.weightTypes;
  pm.addPass(createLowerEntryPoints(entry));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Elementwise work into its neighbours while the IR is still tensors, so
  // that bufferization sees the residual as the matmul's destination. Last
  // before bufferization: CSE would merge the zero fills it gave each product
  // again (bufferization would copy them), and canonicalization would drop
  // the unused shared outputs through which each norm's loop over rows writes
  // its row reductions (bufferization would give every row a heap buffer).
  if (options.fuse)
    pm.addNestedPass<func::FuncOp>(createFuseElementwise());
}

bool usesOpenMP(const PipelineOptions &options) { return options.threads != 1; }

void buildBufferizePipeline(OpPassManager &pm, const PipelineOptions &options) {
  // Destination-passing tensors become buffers, and the temporaries of the
  // model functions views of one arena, planned statically by liveness
  // (tfc-plan-activations): a call allocates nothing.
  // Copies are linalg.copy, so that they become loops like the rest: a strided
  // memref.copy would call memrefCopy from MLIR's runner utils, which a
  // self-contained model.so does not have.
  bufferization::OneShotBufferizationOptions bufferization;
  bufferization.bufferizeFunctionBoundaries = true;
  bufferization.allowReturnAllocsFromLoops = true;
  bufferization.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  bufferization.memCpyFn = [](OpBuilder &b, Location loc, Value from, Value to) {
    b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  pm.addPass(bufferization::createOneShotBufferizePass(bufferization));
  // The loops over rows of tfc-fuse-elementwise (scf.forall) become
  // scf.parallel like the kernels' loops, before the plan places their buffers.
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  // The linear layers get register-tiled vector kernels before the plan, so
  // that their scratch buffers (the packed activations of the prefill GEMM,
  // the bf16-rounded activations of vdpbf16ps) are planned in the arena too.
  if (options.vectorWidth > 1) {
    VectorizeMatmulOptions kernels;
    kernels.vectorWidth = options.vectorWidth;
    kernels.bf16Dot = options.bf16Dot;
    kernels.int8Dot = options.int8Dot;
    pm.addPass(createVectorizeMatmul(kernels));
  }
  pm.addPass(createPlanActivations());
}

LogicalResult buildBuffersToLLVMPipeline(OpPassManager &pm, const PipelineOptions &options) {
  // What the plan left on the heap is freed by the ownership-based deallocation
  // pipeline, so a call leaks nothing; what is left of linalg becomes loops.
  std::string pipeline = "buffer-deallocation-pipeline,tfc-lower-intrinsic-calls,";
  // The scf.parallel loops of the kernels run on OpenMP threads unless the
  // code is compiled for one thread (then they become plain loops and model.so
  // needs no libomp). finalize-memref-to-llvm must precede convert-scf-to-cf
  // once OpenMP regions hold memref.alloca_scope (CODEGEN-NOTES).
  // What is left of linalg (norms, activations, softmax, copies) runs on the
  // threads too, row by row; LLVM's loop vectorizer takes the rows.
  // Then the kernels of a function share one OpenMP region (the threads meet
  // at barriers instead of being forked and joined around every kernel).
  if (usesOpenMP(options))
    pipeline += "func.func(tfc-parallelize-linalg),convert-scf-to-openmp,";
  if (usesOpenMP(options) && options.mergeRegions)
    pipeline += "func.func(tfc-merge-parallel-regions),";
  // Then one function per distinct kernel body (the loops stay where they
  // are): LLVM optimizes and compiles each kernel once instead of once per
  // layer, projection and entry point that uses it.
  if (options.outlineKernels)
    pipeline += "tfc-outline-kernels,";
  pipeline += "convert-linalg-to-loops,"
              "convert-vector-to-scf,"
              "expand-strided-metadata,"
              "lower-affine,"
              "finalize-memref-to-llvm{use-generic-functions=1},"
              "convert-scf-to-cf,"
              "convert-vector-to-llvm{reassociate-fp-reductions=1},"
              "convert-math-to-llvm,"
              "convert-math-to-libm,"
              "convert-arith-to-llvm,"
              "convert-index-to-llvm,"
              "convert-openmp-to-llvm,"
              "convert-func-to-llvm,"
              "convert-cf-to-llvm,"
              "reconcile-unrealized-casts,"
              "canonicalize";
  return parsePassPipeline(pipeline, pm, llvm::errs());
}

LogicalResult resolveTargetFeatures(PipelineOptions &options, std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm =
      createTargetMachine(options.targetCpu, options.optLevel, error);
  if (!tm)
    return failure();
  options.vectorWidth = vectorWidthFor(*tm);
  options.bf16Dot = hasBF16DotProduct(*tm);
  options.int8Dot = int8DotProductFor(*tm);
  return success();
}

LogicalResult buildTfcPipeline(OpPassManager &pm, const PipelineOptions &options, Stage from,
                               Stage last) {
  auto runs = [&](Stage stage) { return from < stage && stage <= last; };
  if (runs(Stage::AttnOpt))
    buildAttnOptPipeline(pm, options);
  if (runs(Stage::Linalg))
    buildAttnToLinalgPipeline(pm, options);
  if (runs(Stage::LLVM)) {
    buildBufferizePipeline(pm, options);
    return buildBuffersToLLVMPipeline(pm, options);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Named pipelines
//===----------------------------------------------------------------------===//

namespace {

/// tfc's command-line options as pipeline options, spelled as tfc spells them
/// (`--tfc-pipeline="no-kv-cache target-cpu=x86-64-v3"`).
struct TfcPipelineCLOptions : PassPipelineOptions<TfcPipelineCLOptions> {
  Option<bool> noKVCache{*this, "no-kv-cache", llvm::cl::desc("as tfc --no-kv-cache")};
  Option<bool> noGQA{*this, "no-gqa", llvm::cl::desc("as tfc --no-gqa")};
  Option<bool> noLatent{*this, "no-latent", llvm::cl::desc("as tfc --no-latent")};
  Option<bool> noFuse{*this, "no-fuse", llvm::cl::desc("as tfc --no-fuse")};
  Option<bool> noMergeRegions{*this, "no-merge-regions",
                              llvm::cl::desc("as tfc --no-merge-regions")};
  Option<bool> noOutlineKernels{*this, "no-outline-kernels",
                                llvm::cl::desc("as tfc --no-outline-kernels")};
  Option<bool> emitAttention{*this, "emit-attention", llvm::cl::desc("as tfc --emit-attention")};
  Option<bool> moeDenseReference{*this, "moe-dense-reference",
                                 llvm::cl::desc("as tfc --moe-dense-reference")};
  Option<std::string> targetCpu{*this, "target-cpu", llvm::cl::desc("as tfc --target-cpu"),
                                llvm::cl::init("native")};
  Option<std::string> weightType{*this, "weight-type", llvm::cl::desc("as tfc --weight-type"),
                                 llvm::cl::init("f32")};
  Option<int64_t> tensorParallel{*this, "tensor-parallel",
                                 llvm::cl::desc("as tfc --tensor-parallel"), llvm::cl::init(1)};
  // tfc has no flag for it: the driver passes the tensors a GGUF file stores
  // in blocks, so a replay of `tfc model.gguf --tensor-parallel=N` needs it.
  ListOption<std::string> storedBlocks{
      *this, "stored-blocks",
      llvm::cl::desc("as tfc passes for a GGUF file: NAME=TYPE/N for each tensor the "
                     "file stores in blocks of N values (tfc-attn-tensor-parallel)")};
  Option<std::string> kvType{*this, "kv-type", llvm::cl::desc("as tfc --kv-type"),
                             llvm::cl::init("f32")};
  Option<unsigned> threads{*this, "threads", llvm::cl::desc("as tfc --threads"),
                           llvm::cl::init(0)};
  Option<unsigned> attentionKeyTile{*this, "attention-key-tile",
                                    llvm::cl::desc("as tfc --attention-key-tile"),
                                    llvm::cl::init(256)};
  Option<unsigned> attentionQueryRows{*this, "attention-query-rows",
                                      llvm::cl::desc("as tfc --attention-query-rows"),
                                      llvm::cl::init(256)};

  PipelineOptions toPipelineOptions() const {
    PipelineOptions o;
    o.kvCache = !noKVCache;
    o.gqa = !noGQA;
    o.latent = !noLatent;
    o.fuse = !noFuse;
    o.mergeRegions = !noMergeRegions;
    o.outlineKernels = !noOutlineKernels;
    o.emitAttention = emitAttention;
    o.moeDenseReference = moeDenseReference;
    o.targetCpu = targetCpu;
    o.weightType = weightType;
    o.kvType = kvType;
    o.threads = threads;
    o.tensorParallel = tensorParallel;
    o.storedBlocks.assign(storedBlocks.begin(), storedBlocks.end());
    o.attentionKeyTile = attentionKeyTile;
    o.attentionQueryRows = attentionQueryRows;
    return o;
  }
};

/// Registers `arg` as the passes of the stages after `from` up to `last`.
void registerStagePipeline(StringRef arg, StringRef description, Stage from, Stage last) {
  registerPassPipeline(
      arg, description,
      [=](OpPassManager &pm, StringRef optionString,
          function_ref<LogicalResult(const Twine &)> errorHandler) -> LogicalResult {
        TfcPipelineCLOptions cl;
        if (failed(cl.parseFromString(optionString)))
          return failure();
        PipelineOptions options = cl.toPipelineOptions();
        std::string error = checkPipelineOptions(options);
        if (error.empty() && last == Stage::LLVM)
          (void)resolveTargetFeatures(options, error);
        if (!error.empty())
          return errorHandler(arg + ": " + error);
        return buildTfcPipeline(pm, options, from, last);
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(TfcPipelineCLOptions());
      });
}

} // namespace

std::string checkPipelineOptions(const PipelineOptions &options) {
  if (!llvm::is_contained({"f32", "bf16", "f16", "q8_0", "q4_0", "q6_k", "q4_k", "q5_k", "q4_k_m"},
                         options.weightType))
    return "--weight-type=" + options.weightType +
           " is not a weight type (f32, bf16, f16, q8_0, q4_0, q6_k, q4_k, q5_k, q4_k_m)";
  if (options.tensorParallel < 1)
    return "--tensor-parallel=" + std::to_string(options.tensorParallel) +
           " is not a number of ranks (1 or more)";
  if (!llvm::is_contained({"f32", "bf16", "q8_0"}, options.kvType))
    return "--kv-type=" + options.kvType + " is not a KV cache type (f32, bf16, q8_0)";
  for (auto [name, value] : {std::pair{"key-tile", options.attentionKeyTile},
                              std::pair{"query-rows", options.attentionQueryRows}})
    if (!SDPATiling::validSize(value))
      return "--attention-" + std::string(name) + "=" + std::to_string(value) +
             " is out of range (1 to " + std::to_string(kMaxSDPATile) + ")";
  return "";
}

void registerTfcPipelines() {
  registerStagePipeline("tfc-pipeline",
                        "tfc's whole pipeline from attn as generated (tfc --emit=attn) to the "
                        "LLVM dialect (tfc --emit=llvm), with tfc's options",
                        Stage::Attn, Stage::LLVM);
  registerStagePipeline("tfc-attn-opt-pipeline",
                        "attn as generated to attn-opt (tfc --emit=attn-opt): the attn passes",
                        Stage::Attn, Stage::AttnOpt);
  registerStagePipeline("tfc-linalg-pipeline",
                        "attn-opt to linalg on tensors in the runtime's calling convention "
                        "(tfc --emit=linalg)",
                        Stage::AttnOpt, Stage::Linalg);
  registerStagePipeline("tfc-llvm-pipeline",
                        "linalg on tensors to the LLVM dialect (tfc --emit=llvm): bufferization, "
                        "kernels, the activation plan, threads, LLVM lowering",
                        Stage::Linalg, Stage::LLVM);
}

} // namespace tfc
