//===- Formats.h - Building a pipeline from each file format ------*- C++ -*-===//
//
// The loaders: each turns one format into the same Pipeline. Errors name the
// field (tokenizer.json), the byte offset (tokenizer.bin) or the key (GGUF);
// Tokenizer.cpp prefixes them with the file name.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TOKENIZER_FORMATS_H
#define TFC_LIB_TOKENIZER_FORMATS_H

#include "Pipeline.h"

namespace tfc::tokenizer {

/// TokenizerJson.cpp
llvm::Expected<std::unique_ptr<Pipeline>> pipelineFromJson(llvm::StringRef json);
/// Llama2c.cpp
llvm::Expected<std::unique_ptr<Pipeline>> pipelineFromLlama2c(llvm::StringRef bytes);
/// VocabularyArrays.cpp
llvm::Expected<std::unique_ptr<Pipeline>> pipelineFromArrays(const VocabularyArrays &vocab);
/// GgufVocabulary.cpp: the `tokenizer.ggml.*` metadata of a GGUF file.
llvm::Expected<std::unique_ptr<Pipeline>> pipelineFromGguf(llvm::StringRef bytes);

} // namespace tfc::tokenizer

#endif // TFC_LIB_TOKENIZER_FORMATS_H
