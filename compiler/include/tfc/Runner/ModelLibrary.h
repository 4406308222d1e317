//===- ModelLibrary.h - A model.so opened through its C ABI ----*- C++ -*-===//
//
// The tools (tfc-run, tfc-serve) reach a compiled model only through the
// symbols of tfc.h, looked up with dlsym, so they run any model.so of the
// right ABI version and never link the runtime. This is the table of those
// entry points.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNNER_MODELLIBRARY_H
#define TFC_RUNNER_MODELLIBRARY_H

#include "tfc/tfc.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <utility>

namespace tfc {

/// The C ABI of one loaded model.so. Every pointer is non-null once open()
/// succeeded. The library stays loaded for the life of the process: tfc_*
/// objects and thread-local error strings may outlive any scope we could
/// give a dlclose.
struct ModelLibrary {
  decltype(&::tfc_info) info = nullptr;
  decltype(&::tfc_weight_name) weightName = nullptr;
  decltype(&::tfc_weight_shape) weightShape = nullptr;
  decltype(&::tfc_model_load) modelLoad = nullptr;
  decltype(&::tfc_model_random) modelRandom = nullptr;
  decltype(&::tfc_model_free) modelFree = nullptr;
  decltype(&::tfc_session_new) sessionNew = nullptr;
  decltype(&::tfc_session_reset) sessionReset = nullptr;
  decltype(&::tfc_session_pos) sessionPos = nullptr;
  decltype(&::tfc_session_free) sessionFree = nullptr;
  decltype(&::tfc_decode) decode = nullptr;
  decltype(&::tfc_decode_batch) decodeBatch = nullptr;
  decltype(&::tfc_encode) encode = nullptr;
  decltype(&::tfc_attention_maps_shape) attentionMapsShape = nullptr;
  decltype(&::tfc_attention_maps) attentionMaps = nullptr;
  decltype(&::tfc_last_error) lastError = nullptr;
  /// Optional (model.so files of ABI version 3 may predate them): null in a
  /// library without them, which is then a single-process model (without
  /// tfc_logits_rank alone: a tensor-parallel one whose logits reach every rank).
  decltype(&::tfc_rank) rankFn = nullptr;
  decltype(&::tfc_broadcast) broadcast = nullptr;
  decltype(&::tfc_logits_rank) logitsRank = nullptr;

  /// dlopens `path`, resolves every symbol and checks that the model's
  /// abi_version is TFC_ABI_VERSION.
  static llvm::Expected<ModelLibrary> open(llvm::StringRef path);

  /// This process's rank of the model's ranks and their number (tfc_rank):
  /// {0, 1} for a single-process model.
  std::pair<int32_t, int32_t> rank() const;

  /// tfc_last_error(), or a placeholder when the model left it empty.
  const char *errorText() const;
};

} // namespace tfc

#endif // TFC_RUNNER_MODELLIBRARY_H
