//===- Pipeline.h - The tfc compilation pipeline -----------------*- C++ -*-===//
//
// The pass pipelines between the printable stages of SPEC §1
// (attn → attn-opt → linalg → llvm), and the driver that runs a .tdsl file
// through them to the requested stage.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_PIPELINE_PIPELINE_H
#define TFC_PIPELINE_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace tfc {

/// What shapes the generated code; set from the tfc command line.
struct PipelineOptions {
  bool kvCache = true; // tfc-attn-kv-cache (when false: recompute the whole sequence)
  bool gqa = true;     // tfc-attn-gqa (when false: replicate K/V heads)
  bool latent = true;  // tfc-attn-latent (when false: decompress MLA)
  bool fuse = true;    // tfc-fuse-elementwise (when false: one loop nest per linalg op)
  /// tfc-merge-parallel-regions (when false: the threads are forked and
  /// joined around every kernel, as convert-scf-to-openmp leaves them).
  bool mergeRegions = true;
  /// tfc-outline-kernels (when false: every kernel body stays inline in its
  /// function, one copy per use).
  bool outlineKernels = true;
  /// tfc-attn-attention-maps: add @attention_maps (tfc_attention_maps).
  bool emitAttention = false;
  /// attn.moe computes every expert on every token (the reference lowering)
  /// rather than each expert on the tokens routed to it.
  bool moeDenseReference = false;
  unsigned optLevel = 3;
  std::string targetCpu = "native";
  /// How linear layers' weights are stored: f32 | bf16 | f16 | q8_0 | q4_0 | q6_k |
  /// q4_k | q5_k | q4_k_m (checkPipelineOptions has the list).
  std::string weightType = "f32";
  /// How self-attention KV caches store keys and values: f32 | bf16 | q8_0.
  std::string kvType = "f32";
  unsigned threads = 0; // 1: sequential code; else OpenMP with TFC_NUM_THREADS or all cores
  /// f32 lanes of the vector kernels: 16 with AVX-512, 8 with AVX2; <= 1
  /// leaves the linear layers as scalar loops. The driver sets it from the
  /// target CPU.
  int64_t vectorWidth = 16;
  /// bf16 weights are multiplied with vdpbf16ps (the target has AVX512_BF16).
  bool bf16Dot = false;
  /// How Q8_0/Q4_0 products multiply int8 (tfc-vectorize-matmul's int8-dot): "vnni"
  /// (vpdpbusd, 512-bit too), "avxvnni" (256-bit vpdpbusd only), "avx2" (vpmaddubsw +
  /// vpmaddwd) or "none" (scalar loops).
  std::string int8Dot = "none";
  /// Flash-style attention: keys per tile, for a block of `attentionQueryRows`
  /// query rows (queries x query heads per K/V head); see SDPATiling.
  int64_t attentionKeyTile = 256;
  int64_t attentionQueryRows = 256;
  /// Adds tfc-attn-test-wrong-rewrite (a deliberately wrong rewrite) to the
  /// attn passes, for the tests of --verify-passes only.
  bool testWrongRewrite = false;
  /// Ranks of Megatron-LM tensor parallelism (tfc-attn-tensor-parallel); 1: none.
  int64_t tensorParallel = 1;
  /// "NAME=TYPE/N" for each tensor the weight file stores in blocks of N
  /// values (a GGUF file's quantized tensors), for the tensor-parallel split.
  std::vector<std::string> storedBlocks;
  /// "NAME=TYPE" for each tensor of the weight file stored in a type with
  /// kernels (a GGUF file's): the linear layers take these types per tensor
  /// (tfc-lower-entry-points weight-types); empty: weightType throughout.
  std::vector<std::string> weightTypes;
};

/// The stages `tfc --emit=` can stop at, in pipeline order.
enum class Stage { AST, Attn, AttnOpt, Linalg, LLVM, LLVMIR, Object, SharedLib };

/// Why `options` cannot be compiled ("" when they can): an unknown weight
/// type or an attention tile out of range, in the words of tfc's flags.
std::string checkPipelineOptions(const PipelineOptions &options);

/// Sets `vectorWidth` and `bf16Dot` from `targetCpu`, as `tfc` does before
/// code generation. Fails with `error` set when the CPU is unknown.
mlir::LogicalResult resolveTargetFeatures(PipelineOptions &options, std::string &error);

/// The passes that take the IR printed at stage `from` (Attn, AttnOpt or
/// Linalg) to stage `last` (AttnOpt, Linalg or LLVM): the stage builders below
/// in order. The driver and the named pipelines of tfc-opt both build from
/// here, so `tfc-opt --tfc-pipeline` replays exactly what `tfc` runs.
/// `options` must have passed checkPipelineOptions and, for the LLVM stage,
/// resolveTargetFeatures.
mlir::LogicalResult buildTfcPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                                     Stage from, Stage last);

/// attn (as parsed) → attn-opt: the attn rewrites selected by `options`.
void buildAttnOptPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);
/// attn-opt → linalg on tensors in the runtime's calling convention.
void buildAttnToLinalgPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);
/// Whether the generated code runs its parallel loops on OpenMP threads (then
/// model.so links libomp).
bool usesOpenMP(const PipelineOptions &options);
/// linalg on tensors → buffers, the model functions' temporaries planned in
/// an arena argument (tfc-plan-activations). The runtime's view of the
/// functions (attn.entry_args, read by readModelLayout) is final after it.
void buildBufferizePipeline(mlir::OpPassManager &pm, const PipelineOptions &options);
/// Buffers → the LLVM dialect. Fails (with a message on stderr) only if the
/// textual part of the pipeline does not parse, i.e. an internal error.
mlir::LogicalResult buildBuffersToLLVMPipeline(mlir::OpPassManager &pm,
                                               const PipelineOptions &options);

/// The dialects, interface models and LLVM IR translations the pipeline
/// needs, and nothing else (tfc and tfc-opt use the same registry).
void registerTfcDialects(mlir::DialectRegistry &registry);
/// Every pass and named pipeline of tfc, and the upstream passes.
void registerTfcPasses();

/// Registers the named pipelines of tfc-opt: `tfc-pipeline` (attn to the LLVM
/// dialect, with tfc's options) and one per stage (`tfc-attn-opt-pipeline`,
/// `tfc-linalg-pipeline`, `tfc-llvm-pipeline`), so that the output of
/// `tfc --emit=<stage>` piped through the next one equals `tfc --emit=<next>`.
void registerTfcPipelines();

/// `tfc --report`: the KV cache per layer as compiled (read off the IR after
/// the attn passes), and for latent attention the MHA/GQA/MQA comparison.
void printKVCacheReport(mlir::ModuleOp attnModule, mlir::ModuleOp attnOptModule,
                        llvm::raw_ostream &os);

/// `tfc --report`, second part (ParameterReport.cpp): total parameters,
/// active parameters per token (top_k of E for a mixture of experts), the
/// weight bytes a decode step reads in `weightType`, the KV cache per token.
/// `loweredModule` (null for --weight-type=f32) is the model after
/// tfc-lower-entry-points: its weight slots say which type each weight is
/// stored in, and the matrices that stayed f32 are listed with the reason.
/// `fileTypes` (PipelineOptions::weightTypes: a GGUF file's types per tensor)
/// adds the list of the linear layers' types, which are then the file's.
void printParameterReport(mlir::ModuleOp attnModule, mlir::ModuleOp attnOptModule,
                          mlir::ModuleOp loweredModule, llvm::StringRef weightType,
                          llvm::raw_ostream &os,
                          llvm::ArrayRef<std::string> fileTypes = {});

/// Everything the `tfc` command line says.
struct DriverOptions {
  std::string input;
  std::string output; // "" = derived from the input (.so) or stdout (text stages)
  Stage emit = Stage::SharedLib;
  PipelineOptions pipeline;
  /// --weight-type was given: a GGUF input's own weight type does not apply.
  bool weightTypeGiven = false;
  bool printWeights = false;
  bool report = false;
  bool printAbiLayout = false; // the gen_abi.h structs as the emitter lays them out
  bool verifyDiagnostics = false;
  bool timings = false;
};

/// Runs the compiler; returns the process exit status (0 or 1). Errors are
/// printed as diagnostics, never as crashes.
int runDriver(const DriverOptions &options);

} // namespace tfc

#endif // TFC_PIPELINE_PIPELINE_H
