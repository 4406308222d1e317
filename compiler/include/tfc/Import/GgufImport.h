//===- GgufImport.h - tdsl from a GGUF file ---------------------*- C++ -*-===//
//
// `tfc import model.gguf` and `tfc model.gguf -o model.so`: the metadata of a
// GGUF file (llama.cpp's convert_hf_to_gguf.py layout) becomes tdsl whose
// weight names are the file's tensor names, for the architectures `llama`
// (Llama, Mistral, Llama 3), `qwen2` and `gpt2`.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_IMPORT_GGUFIMPORT_H
#define TFC_IMPORT_GGUFIMPORT_H

#include "tfc/Import/HFImport.h"

namespace tfc {

/// Whether `path` names a GGUF file (by its extension, as tfc_model_load does).
bool isGgufPath(llvm::StringRef path);

/// Imports the GGUF file at `path`. On success `weightType` is the
/// --weight-type its linear layers have (empty when tfc has no kernels for
/// that type: they are then converted at load).
ImportResult importGgufFile(llvm::StringRef path);

/// Imports a GGUF file held in `bytes`, named `fileName` in the tdsl's header,
/// its model name and every error (`fileName: ...`, one line).
ImportResult importGgufBytes(llvm::StringRef bytes, llvm::StringRef fileName);

} // namespace tfc

#endif // TFC_IMPORT_GGUFIMPORT_H
