//===- Driver.cpp - tfc: from a .tdsl file to any stage of the pipeline -----===//
//
// Runs the stages of SPEC §1 in order and stops at the one `--emit` asks for:
// parse (AST) → MLIRGen (attn) → attn passes (attn-opt) → lowering (linalg) →
// LLVM dialect → LLVM IR → object → model.so. Errors reach the user as MLIR
// diagnostics (file:line:col, the line, a caret) or one `tfc: error:` line, and
// the exit status is 1; nothing aborts.
//
//===----------------------------------------------------------------------===//

#include "tfc/Pipeline/Pipeline.h"

#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Frontend/MLIRGen.h"
#include "tfc/Frontend/Manifest.h"
#include "tfc/Frontend/Parser.h"
#include "tfc/Import/GgufImport.h"
#include "tfc/Import/HFImport.h"
#include "tfc/Target/EmitSharedLib.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <fmt/format.h>

#include <chrono>

using namespace mlir;

namespace tfc {

namespace {

/// Wall time of each stage, for `--timings`.
class StageTimer {
public:
  explicit StageTimer(bool enabled) : enabled(enabled) {}
  template <typename F> auto run(llvm::StringRef stage, F &&body) {
    auto start = std::chrono::steady_clock::now();
    auto result = body();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    stages.emplace_back(stage.str(), ms);
    return result;
  }
  ~StageTimer() {
    if (!enabled || stages.empty())
      return;
    double total = 0;
    llvm::errs() << fmt::format("{:<12} {:>10}\n", "stage", "ms");
    for (auto &[name, ms] : stages) {
      llvm::errs() << fmt::format("{:<12} {:>10.1f}\n", name, ms);
      total += ms;
    }
    llvm::errs() << fmt::format("{:<12} {:>10.1f}\n", "total", total);
  }

private:
  bool enabled;
  std::vector<std::pair<std::string, double>> stages;
};

int fail(const llvm::Twine &message) {
  llvm::errs() << "tfc: error: " << message << "\n";
  return 1;
}

/// Opens the output for a text stage ("-" = stdout).
std::unique_ptr<llvm::ToolOutputFile> openOutput(llvm::StringRef path, std::string &error) {
  std::error_code ec;
  auto file = std::make_unique<llvm::ToolOutputFile>(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return nullptr;
  }
  return file;
}

} // namespace

int runDriver(const DriverOptions &options) {
  static const bool passesRegistered = [] {
    registerTfcPasses();
    return true;
  }();
  (void)passesRegistered;

  // Where the result goes: text stages default to stdout, binaries to a file.
  bool binary = (options.emit == Stage::Object || options.emit == Stage::SharedLib) &&
                !options.printWeights && !options.report && !options.printAbiLayout;
  std::string output = options.output;
  // A Hugging Face model directory or a GGUF file is imported first (tfc
  // import), then compiled like the tdsl file it becomes.
  llvm::StringRef inputPath = options.input;
  bool hfDirectory = inputPath != "-" && llvm::sys::fs::is_directory(inputPath);
  bool ggufFile = !hfDirectory && isGgufPath(inputPath);
  if (hfDirectory)
    inputPath = inputPath.rtrim('/');
  PipelineOptions pipeline = options.pipeline;
  if (output.empty()) {
    if (binary) {
      llvm::SmallString<128> path(llvm::sys::path::stem(inputPath));
      path += options.emit == Stage::Object ? ".o" : ".so";
      output = std::string(path);
    } else {
      output = "-";
    }
  }

  // The descriptor layout depends only on the target, not on the model.
  if (options.printAbiLayout) {
    std::string error;
    auto tm = createTargetMachine(pipeline.targetCpu, pipeline.optLevel, error);
    if (!tm)
      return fail(error);
    auto out = openOutput(output, error);
    if (!out)
      return fail(error);
    printDescriptorLayout(tm->createDataLayout(), out->os());
    out->keep();
    return 0;
  }

  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer = std::error_code();
  if (hfDirectory) {
    ImportResult imported = importHuggingFaceDir(inputPath);
    if (!imported.ok())
      return fail(imported.error);
    buffer = llvm::MemoryBuffer::getMemBufferCopy(imported.tdsl,
                                                  (inputPath + "/config.json (imported)").str());
  } else if (ggufFile) {
    ImportResult imported = importGgufFile(inputPath);
    if (!imported.ok())
      return fail(imported.error);
    // The file's types, unless --weight-type chose one: each linear layer
    // takes its tensor's type, whose blocks are then used in place; the type
    // most of them have names the model's (what a tensor of a type without
    // kernels is converted to at load, f32 when that type has none either).
    if (!options.weightTypeGiven) {
      PipelineOptions fromFile = pipeline;
      fromFile.weightType = imported.weightType;
      if (!imported.weightType.empty() && checkPipelineOptions(fromFile).empty())
        pipeline = fromFile;
      pipeline.weightTypes = imported.weightTypes;
    }
    pipeline.storedBlocks = imported.storedBlocks;
    buffer = llvm::MemoryBuffer::getMemBufferCopy(imported.tdsl,
                                                  (inputPath + " (imported)").str());
  } else {
    buffer = llvm::MemoryBuffer::getFileOrSTDIN(options.input, /*IsText=*/true);
  }
  if (std::error_code ec = buffer.getError())
    return fail("cannot read '" + options.input + "': " + ec.message());
  // A binary output is written after the whole pipeline: check its directory first.
  if (binary && output != "-") {
    llvm::StringRef dir = llvm::sys::path::parent_path(output);
    if (std::error_code ec = llvm::sys::fs::access(dir.empty() ? "." : dir,
                                                   llvm::sys::fs::AccessMode::Write))
      return fail("cannot write '" + output + "': " + ec.message());
    if (llvm::sys::fs::is_directory(output))
      return fail("cannot write '" + output + "': " +
                  std::make_error_code(std::errc::is_a_directory).message());
  }

  DialectRegistry registry;
  registerTfcDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  // Two owners: SourceMgrDiagnosticHandler has no virtual destructor, so the
  // verifier must not be deleted through it.
  std::unique_ptr<SourceMgrDiagnosticHandler> handler;
  std::unique_ptr<SourceMgrDiagnosticVerifierHandler> verifier;
  if (options.verifyDiagnostics)
    verifier = std::make_unique<SourceMgrDiagnosticVerifierHandler>(sourceMgr, &context);
  else
    handler = std::make_unique<SourceMgrDiagnosticHandler>(sourceMgr, &context);

  StageTimer timer(options.timings);
  std::string error;

  // Front end: a .tdsl model, or attn-dialect IR (.mlir) as `--emit=attn`
  // prints it, which lets the later stages be driven from hand-written IR.
  OwningOpRef<ModuleOp> module;
  if (llvm::StringRef(options.input).ends_with(".mlir")) {
    if (options.emit == Stage::AST)
      return fail("--emit=ast needs a .tdsl input");
    module = timer.run("parse", [&] { return parseSourceFile<ModuleOp>(sourceMgr, &context); });
  } else {
    auto ast = timer.run("parse", [&] { return parseTdsl(sourceMgr, context); });
    if (ast) // also for --emit=ast, which prints only a checked AST
      module = timer.run("mlirgen", [&] { return mlirGen(context, *ast); });
    if (options.emit == Stage::AST && module && !options.verifyDiagnostics) {
      auto out = openOutput(output, error);
      if (!out)
        return fail(error);
      dumpAST(*ast, out->os());
      out->keep();
      return 0;
    }
  }
  if (module && failed(verify(*module)))
    module = nullptr;
  if (options.verifyDiagnostics)
    return failed(verifier->verify()) ? 1 : 0;
  if (!module)
    return 1;

  auto printModule = [&]() -> int {
    auto out = openOutput(output, error);
    if (!out)
      return fail(error);
    // As mlir-opt prints, so that `tfc --emit=X` and tfc-opt's replay of
    // stage X are byte-identical.
    module->print(out->os());
    out->os() << "\n";
    out->keep();
    return 0;
  };
  // Each stage runs the passes tfc-opt's named pipelines run (buildTfcPipeline).
  auto runStage = [&](llvm::StringRef name, Stage from, Stage last,
                      const PipelineOptions &pipeline) -> LogicalResult {
    return timer.run(name, [&] {
      PassManager pm(&context);
      if (failed(buildTfcPipeline(pm, pipeline, from, last)))
        return failure();
      return pm.run(*module);
    });
  };

  if (options.printWeights) {
    auto out = openOutput(output, error);
    if (!out)
      return fail(error);
    for (const WeightEntry &w : collectWeightManifest(*module)) {
      out->os() << w.name << " [";
      llvm::interleaveComma(w.shape, out->os());
      out->os() << "]\n";
    }
    out->keep();
    return 0;
  }
  if (options.emit == Stage::Attn)
    return printModule();

  ModelSummary summary = summarizeModel(*module);
  OwningOpRef<ModuleOp> asGenerated;
  if (options.report)
    asGenerated = module->clone();
  if (failed(runStage("attn-opt", Stage::Attn, Stage::AttnOpt, pipeline)))
    return 1;
  if (options.report) {
    // A narrow weight type: which weights tfc-lower-entry-points stored
    // narrow (and so how many bytes a decode step reads) is its decision.
    OwningOpRef<ModuleOp> attnOpt;
    if (pipeline.weightType != "f32" || !pipeline.weightTypes.empty()) {
      attnOpt = module->clone();
      if (failed(runStage("linalg", Stage::AttnOpt, Stage::Linalg, pipeline)))
        return 1;
    }
    ModuleOp afterAttnOpt = attnOpt ? *attnOpt : *module;
    auto out = openOutput(output, error);
    if (!out)
      return fail(error);
    printKVCacheReport(*asGenerated, afterAttnOpt, out->os());
    printParameterReport(*asGenerated, afterAttnOpt, attnOpt ? *module : ModuleOp(),
                         pipeline.weightType, out->os(), pipeline.weightTypes);
    out->keep();
    return 0;
  }
  if (options.emit == Stage::AttnOpt)
    return printModule();
  summary.kvCacheBytesPerToken = kvCacheBytesPerToken(analyzeKVCaches(*module));
  if (failed(runStage("linalg", Stage::AttnOpt, Stage::Linalg, pipeline)))
    return 1;
  if (options.emit == Stage::Linalg)
    return printModule();

  PipelineOptions codegen = pipeline;
  if (failed(resolveTargetFeatures(codegen, error)))
    return fail(error);
  auto tm = createTargetMachine(codegen.targetCpu, codegen.optLevel, error);
  if (!tm)
    return fail(error);
  if (failed(runStage("llvm", Stage::Linalg, Stage::LLVM, codegen)))
    return 1;
  if (options.emit == Stage::LLVM)
    return printModule();

  // LLVM IR, the descriptor (from the layout the passes left on the LLVM
  // dialect, which translation ignores), optimization.
  FailureOr<ModelLayout> layout = readModelLayout(*module, summary);
  if (failed(layout))
    return 1;
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = timer.run("translate", [&] {
    auto m = translateModuleToLLVMIR(*module, llvmContext, "tfc_model");
    if (m)
      addModelDescriptor(*m, *layout);
    return m;
  });
  if (!llvmModule)
    return fail("translation to LLVM IR failed");
  timer.run("optimize", [&] {
    optimizeModule(*llvmModule, *tm, pipeline.optLevel);
    return 0;
  });
  if (options.emit == Stage::LLVMIR) {
    auto out = openOutput(output, error);
    if (!out)
      return fail(error);
    llvmModule->print(out->os(), nullptr);
    out->keep();
    return 0;
  }

  // Object code, then the shared library.
  std::string objectPath = output;
  llvm::SmallString<128> tempObject;
  if (options.emit == Stage::SharedLib) {
    int fd;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile("tfc", "o", fd, tempObject))
      return fail("cannot create a temporary object file: " + ec.message());
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
    objectPath = std::string(tempObject);
  }
  llvm::FileRemover removeTemp(tempObject);
  if (failed(timer.run("codegen", [&] { return emitObject(*llvmModule, *tm, objectPath, error); })))
    return fail(error);
  if (options.emit == Stage::Object)
    return 0;
  if (failed(timer.run("link", [&] { return linkSharedLibrary(objectPath, output, usesOpenMP(pipeline), pipeline.tensorParallel, error); })))
    return fail(error);
  return 0;
}

} // namespace tfc
