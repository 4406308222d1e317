//===- tfc.cpp - The tfc compiler driver -------------------------------------===//
//
// `tfc model.tdsl -o model.so`: options into a DriverOptions, then one call.
// `tfc import (HF_DIR | model.gguf) [-o OUT.tdsl]`: the importers' tdsl
// (compiler/lib/Import).
//
//===----------------------------------------------------------------------===//

#include "ConvertCommand.h"

#include "tfc/Convert/Convert.h"
#include "tfc/Frontend/MLIRGen.h"
#include "tfc/Import/GgufImport.h"
#include "tfc/Import/HFImport.h"
#include "tfc/Pipeline/Pipeline.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace cl = llvm::cl;

static cl::OptionCategory category("tfc options");

static cl::opt<std::string> input(cl::Positional,
                                  cl::desc("<model.tdsl | Hugging Face model directory | model.gguf>"),
                                  cl::Required, cl::cat(category));

// `tfc import SOURCE [-o OUT.tdsl]`: the tdsl of a Hugging Face model directory
// or of a GGUF file.
static cl::SubCommand importCommand("import",
                                    "Write the tdsl of a Hugging Face model directory or a GGUF "
                                    "file");
static cl::opt<std::string> importSource(cl::Positional,
                                         cl::desc("<Hugging Face model directory | model.gguf>"),
                                         cl::Required, cl::sub(importCommand));
static cl::opt<std::string> importOutput("o", cl::desc("Output .tdsl file (default: stdout)"),
                                         cl::value_desc("file"), cl::init("-"),
                                         cl::sub(importCommand));

/// `tfc import`: one `tfc: error:` line and status 1 on failure.
static int runImport() {
  bool gguf = !llvm::sys::fs::is_directory(importSource) && tfc::isGgufPath(importSource);
  if (!gguf && !llvm::sys::fs::is_directory(importSource)) {
    llvm::errs() << "tfc: error: '" << importSource
                 << "' is neither a Hugging Face model directory nor a .gguf file\n";
    return 1;
  }
  tfc::ImportResult result =
      gguf ? tfc::importGgufFile(importSource) : tfc::importHuggingFaceDir(importSource);
  if (!result.ok()) {
    llvm::errs() << "tfc: error: " << result.error << "\n";
    return 1;
  }
  std::error_code ec;
  llvm::ToolOutputFile out(importOutput, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::errs() << "tfc: error: cannot write '" << importOutput << "': " << ec.message() << "\n";
    return 1;
  }
  out.os() << result.tdsl;
  out.keep();
  return 0;
}
static cl::opt<std::string> output("o", cl::desc("Output file (default: <stem>.so, or stdout "
                                                 "for text stages)"),
                                   cl::value_desc("file"), cl::cat(category));
static cl::opt<tfc::Stage> emit(
    "emit", cl::desc("Stage to stop at"), cl::init(tfc::Stage::SharedLib),
    cl::values(clEnumValN(tfc::Stage::AST, "ast", "the parsed and checked AST"),
               clEnumValN(tfc::Stage::Attn, "attn", "attn dialect as generated"),
               clEnumValN(tfc::Stage::AttnOpt, "attn-opt", "attn dialect after the attn passes"),
               clEnumValN(tfc::Stage::Linalg, "linalg", "linalg/tensor IR in the runtime's "
                                                         "calling convention"),
               clEnumValN(tfc::Stage::LLVM, "llvm", "the LLVM dialect"),
               clEnumValN(tfc::Stage::LLVMIR, "llvmir", "optimized LLVM IR"),
               clEnumValN(tfc::Stage::Object, "obj", "an object file"),
               clEnumValN(tfc::Stage::SharedLib, "so", "the model shared library (default)")),
    cl::cat(category));
static cl::opt<bool> noKVCache("no-kv-cache",
                               cl::desc("Recompute the whole sequence at every call"),
                               cl::cat(category));
static cl::opt<bool> noGQA("no-gqa", cl::desc("Replicate K/V heads per query head"),
                           cl::cat(category));
static cl::opt<bool> noLatent("no-latent", cl::desc("Decompress latent attention (MLA)"),
                              cl::cat(category));
static cl::opt<bool> emitAttention(
    "emit-attention",
    cl::desc("Also build @attention_maps: the attention probabilities per layer and head for "
             "a prompt (tfc_attention_maps, tfc-run --attention-maps)"),
    cl::cat(category));
static cl::opt<bool> noFuse("no-fuse",
                            cl::desc("Keep every elementwise step its own loop nest (no "
                                     "tfc-fuse-elementwise)"),
                            cl::cat(category));
static cl::opt<bool> noMergeRegions(
    "no-merge-regions",
    cl::desc("Fork and join the threads around every kernel (no tfc-merge-parallel-regions: "
             "one OpenMP region per function)"),
    cl::cat(category));
static cl::opt<bool> noOutlineKernels(
    "no-outline-kernels",
    cl::desc("Keep every kernel body inline in its function (no tfc-outline-kernels: one copy "
             "of a kernel per use, longer compiles)"),
    cl::cat(category));
static cl::opt<bool> moeDenseReference(
    "moe-dense-reference",
    cl::desc("Compute every expert of a mixture of experts on every token, weighted by the "
             "router (the reference lowering; default: each expert on its tokens)"),
    cl::cat(category));
static cl::opt<int64_t> tensorParallel(
    "tensor-parallel",
    cl::desc("Split the model over N MPI ranks (Megatron-LM tensor parallelism); the library "
             "then runs under mpirun -np N (default 1: one process)"),
    cl::init(1), cl::cat(category));
static cl::opt<unsigned> optLevel("O", cl::desc("Optimization level 0-3 (default 3)"), cl::Prefix,
                                  cl::init(3), cl::cat(category));
static cl::opt<std::string> targetCpu("target-cpu",
                                      cl::desc("CPU to generate code for (native, x86-64-v3, "
                                               "skylake-avx512, ...)"),
                                      cl::init("native"), cl::cat(category));
static cl::opt<std::string> weightType(
    "weight-type",
    cl::desc("How linear layers keep their weights: f32 (default), bf16 or f16 (converted at "
             "load, widened to f32 in the matmuls), or q8_0 / q4_0 / q6_k / q4_k / q5_k (ggml "
             "blocks, quantized at load; int8 dot products with the activations quantized per "
             "block; K-quant rows that are not a multiple of 256 fall back to q8_0), or q4_k_m "
             "(llama.cpp's Q4_K_M mixture: q6_k for the output and for the value and down "
             "projections of some layers, q5_k for a fused qkv projection, q4_k elsewhere); "
             "a .gguf input without it keeps each tensor's own type from the file"),
    cl::init("f32"), cl::cat(category));
static cl::opt<std::string> kvType(
    "kv-type",
    cl::desc("How the decoder's self-attention KV cache stores keys and values: f32 "
             "(default), bf16 (rounded to nearest even), or q8_0 (ggml Q8_0 blocks along the "
             "head width, 34 bytes per 32 values; heads whose width is not a multiple of 32 "
             "stay f32); attention dequantizes each tile it reads"),
    cl::init("f32"), cl::cat(category));
static cl::opt<unsigned> attentionKeyTile(
    "attention-key-tile",
    cl::desc("Keys per tile of flash-style attention (default 256; small values are for tests)"),
    cl::init(256), cl::cat(category));
static cl::opt<unsigned> attentionQueryRows(
    "attention-query-rows",
    cl::desc("Query rows (queries x query heads per K/V head) per block of flash-style attention "
             "(default 256; small values are for tests)"),
    cl::init(256), cl::cat(category));
static cl::opt<bool> printWeights("print-weights",
                                  cl::desc("Print the weight manifest (name and shape) and exit"),
                                  cl::cat(category));
static cl::opt<bool> report(
    "report",
    cl::desc("Print the KV cache per layer as compiled, the parameters, the weight bytes a "
             "decode step reads and the matrices a narrow --weight-type keeps f32, and exit"),
    cl::cat(category));
static cl::opt<bool> printAbiLayout(
    "print-abi-layout",
    cl::desc("Print the layout of the model descriptor (gen_abi.h) for the target and exit"),
    cl::Hidden, cl::cat(category));
static cl::opt<bool> verifyDiagnostics("verify-diagnostics",
                                       cl::desc("Check diagnostics against expected-* comments"),
                                       cl::cat(category));
static cl::opt<bool> timings("timings", cl::desc("Print the time of each stage"),
                             cl::cat(category));
static cl::opt<bool> verifyPasses(
    "verify-passes",
    cl::desc("Compile the model with and without each rewrite that has an off switch, run all "
             "on random weights and print the largest relative difference per rewrite; exit 1 "
             "above --verify-tolerance"),
    cl::cat(category));
static cl::opt<double> verifyTolerance(
    "verify-tolerance",
    cl::desc("Largest relative difference --verify-passes accepts (default 1e-4)"),
    cl::init(1e-4), cl::cat(category));
// Hidden, for the tests of --verify-passes: a deliberately wrong rewrite in the pipeline.
static cl::opt<bool> testWrongRewrite("test-wrong-rewrite", cl::Hidden,
                                      cl::desc("Add tfc-attn-test-wrong-rewrite (tests only)"),
                                      cl::cat(category));
// Hidden, for docs/tdsl.md (test/Frontend/builtins-doc.test): prints the builtin
// table and exits while the command line is parsed, so like --version it needs no input.
static cl::opt<bool> printBuiltins("print-builtins", cl::Hidden, cl::ValueDisallowed,
                                   cl::desc("Print the builtin reference of docs/tdsl.md"),
                                   cl::callback([](const bool &) {
                                     tfc::printBuiltinReference(llvm::outs());
                                     llvm::outs().flush();
                                     std::exit(0);
                                   }));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "tfc " << TFC_VERSION << " (LLVM/MLIR " << LLVM_VERSION_STRING << ")\n";
  });
  // libLLVM already registers a `--threads=<int>` (ThinLTO's, a cl::opt<int>);
  // registering ours again would abort, so tfc adopts it: `--threads=N` sets
  // the threads of the generated code (1: sequential code without OpenMP; not
  // given or 0: TFC_NUM_THREADS or all cores at run time).
  auto *threads = static_cast<cl::opt<int> *>(cl::getRegisteredOptions().lookup("threads"));
  if (threads) {
    threads->setDescription("Threads of the generated code (1: sequential, no OpenMP; default: "
                            "TFC_NUM_THREADS or all cores at run time)");
    threads->addCategory(category);
  }
  cl::HideUnrelatedOptions(category);
  // One `tfc: error:` line, exit status 1. cl reports bad option values (--emit=bogus,
  // -o without a file) itself, on one line; the rest (unknown options, the input count)
  // comes here with hints on further lines, which are dropped.
  std::string clErrors;
  llvm::raw_string_ostream clErrorStream(clErrors);
  if (!cl::ParseCommandLineOptions(argc, argv, "tfc: the transformer compiler\n",
                                   &clErrorStream)) {
    llvm::StringRef first = llvm::StringRef(clErrors).split('\n').first.trim();
    first.consume_front("tfc: ");
    if (!first.empty())
      llvm::errs() << "tfc: error: " << first.take_front(1).lower() << first.drop_front(1)
                   << "\n";
    return 1;
  }
  if (convertCommandChosen())
    return runConvertCommand();

  if (importCommand)
    return runImport();
  if (optLevel > 3) {
    llvm::errs() << "tfc: error: -O" << optLevel << " is not an optimization level (0-3)\n";
    return 1;
  }
  tfc::DriverOptions options;
  options.input = input;
  options.output = output;
  options.emit = emit;
  options.pipeline.kvCache = !noKVCache;
  options.pipeline.moeDenseReference = moeDenseReference;
  options.pipeline.gqa = !noGQA;
  options.pipeline.latent = !noLatent;
  options.pipeline.fuse = !noFuse;
  options.pipeline.mergeRegions = !noMergeRegions;
  options.pipeline.outlineKernels = !noOutlineKernels;
  options.pipeline.emitAttention = emitAttention;
  options.pipeline.optLevel = optLevel;
  options.pipeline.targetCpu = targetCpu;
  options.pipeline.weightType = weightType;
  options.pipeline.kvType = kvType;
  options.weightTypeGiven = weightType.getNumOccurrences() > 0;
  options.pipeline.attentionKeyTile = attentionKeyTile;
  options.pipeline.attentionQueryRows = attentionQueryRows;
  options.pipeline.testWrongRewrite = testWrongRewrite;
  options.pipeline.tensorParallel = tensorParallel;
  options.pipeline.threads = threads && threads->getNumOccurrences() ? threads->getValue() : 0;
  if (threads && threads->getNumOccurrences() && threads->getValue() < 0) {
    llvm::errs() << "tfc: error: --threads=" << threads->getValue() << " is negative\n";
    return 1;
  }
  if (std::string error = tfc::checkPipelineOptions(options.pipeline); !error.empty()) {
    llvm::errs() << "tfc: error: " << error << "\n";
    return 1;
  }
  if (verifyPasses) {
    tfc::VerifyPassesOptions verify;
    verify.model = input;
    verify.pipeline = options.pipeline;
    verify.tolerance = verifyTolerance;
    return tfc::runVerifyPasses(verify);
  }
  options.printWeights = printWeights;
  options.report = report;
  options.printAbiLayout = printAbiLayout;
  options.verifyDiagnostics = verifyDiagnostics;
  options.timings = timings;
  return tfc::runDriver(options);
}
