//===- Pipeline.cpp - The tfc pass pipelines --------------------------------===//
//
// The order of passes from attn to the LLVM dialect. The LLVM half follows the
// order measured in shared/design/CODEGEN-NOTES.md; it is kept as one textual
// pipeline so it reads like the notes and can be replayed with tfc-opt.
//
//===----------------------------------------------------------------------===//

#include "tfc/Pipeline/Pipeline.h"

#include "tfc/Codegen/Passes.h"
#include "tfc/Conversion/Passes.h"
#include "tfc/Dialect/Attn/IR/AttnOps.h"
#include "tfc/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace tfc {

void buildAttnOptPipeline(OpPassManager &pm, const PipelineOptions &options) {
  // Latent attention must be absorbed before the generic decomposition would
  // decompress it; GQA works on the decomposed heads; the KV cache stores
  // whatever the passes before it left in front of attn.sdpa.
  if (options.latent)
    pm.addPass(attn::createAttnLatent());
  pm.addPass(attn::createAttnDecompose());
  if (options.gqa)
    pm.addPass(attn::createAttnGQA());
  if (options.kvCache)
    pm.addPass(attn::createAttnKVCache());
  pm.addPass(attn::createAttnLastTokenLogits());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void buildAttnToLinalgPipeline(OpPassManager &pm, const PipelineOptions &options) {
  AttnSDPAStrategyOptions sdpaStrategy;
  sdpaStrategy.keyTile = options.attentionKeyTile;
  sdpaStrategy.queryRows = options.attentionQueryRows;
  pm.addPass(createAttnSDPAStrategy(sdpaStrategy));
  pm.addPass(createConvertAttnToLinalg());
  LowerEntryPointsOptions entry;
  entry.weightType = options.weightType;
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
  if (usesOpenMP(options))
    pipeline += "func.func(tfc-parallelize-linalg),convert-scf-to-openmp,";
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

/// Follows a weight operand back through the layer slice to its attn.weight.
static attn::WeightOp weightOf(Value v) {
  while (v) {
    if (auto w = v.getDefiningOp<attn::WeightOp>())
      return w;
    auto slice = v.getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice)
      return {};
    v = slice.getSource();
  }
  return {};
}

void markWeightInitializers(ModuleOp module) {
  enum Init : int32_t { kOnes = 1, kZeros = 2 };
  auto mark = [](Value v, int32_t init) {
    if (attn::WeightOp w = weightOf(v))
      w->setAttr("tfc.init", IntegerAttr::get(IntegerType::get(w.getContext(), 32), init));
  };
  module.walk([&](Operation *op) {
    if (auto norm = dyn_cast<attn::RMSNormOp>(op)) {
      mark(norm.getWeight(), kOnes);
    } else if (auto norm = dyn_cast<attn::LayerNormOp>(op)) {
      mark(norm.getWeight(), kOnes);
      mark(norm.getBias(), kZeros);
    } else if (auto linear = dyn_cast<attn::LinearOp>(op)) {
      mark(linear.getBias(), kZeros);
    } else if (auto attention = dyn_cast<attn::AttentionOp>(op)) {
      for (Value b : {attention.getBq(), attention.getBk(), attention.getBv(), attention.getBo()})
        mark(b, kZeros);
    } else if (auto mla = dyn_cast<attn::LatentAttentionOp>(op)) {
      mark(mla.getKvNorm(), kOnes);
      if (mla.getQWeights().size() == 3)
        mark(mla.getQWeights()[1], kOnes);
    }
  });
}

} // namespace tfc
