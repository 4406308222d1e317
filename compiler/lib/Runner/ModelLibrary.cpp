//===- ModelLibrary.cpp - A model.so opened through its C ABI -------------===//
//
// RTLD_LOCAL keeps the model's symbols out of the global namespace, so two
// models (or a model and the tool's own libLLVM) never interpose on each other.
//
//===----------------------------------------------------------------------===//
#include "tfc/Runner/ModelLibrary.h"

#include <dlfcn.h>

#include <type_traits>

using namespace tfc;

namespace {

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

} // namespace

llvm::Expected<ModelLibrary> ModelLibrary::open(llvm::StringRef path) {
  std::string file = path.str();
  // dlopen searches the library path for names without a slash; a model is
  // always a file, so make a bare name relative to the working directory.
  if (file.find('/') == std::string::npos)
    file = "./" + file;
  void *handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    return makeError("cannot load model '" + path + "': " + (why ? why : "unknown dlopen error"));
  }

  ModelLibrary lib;
  llvm::Error missing = llvm::Error::success();
  auto resolve = [&](auto &fn, const char *name) {
    if (missing)
      return;
    void *sym = dlsym(handle, name);
    if (!sym) {
      missing = makeError("'" + path + "' is not a tfc model: it does not export '" + name + "'");
      return;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
  };
  resolve(lib.info, "tfc_info");
  resolve(lib.weightName, "tfc_weight_name");
  resolve(lib.weightShape, "tfc_weight_shape");
  resolve(lib.modelLoad, "tfc_model_load");
  resolve(lib.modelRandom, "tfc_model_random");
  resolve(lib.modelFree, "tfc_model_free");
  resolve(lib.sessionNew, "tfc_session_new");
  resolve(lib.sessionReset, "tfc_session_reset");
  resolve(lib.sessionPos, "tfc_session_pos");
  resolve(lib.sessionFree, "tfc_session_free");
  resolve(lib.decode, "tfc_decode");
  resolve(lib.decodeBatch, "tfc_decode_batch");
  resolve(lib.encode, "tfc_encode");
  resolve(lib.attentionMapsShape, "tfc_attention_maps_shape");
  resolve(lib.attentionMaps, "tfc_attention_maps");
  resolve(lib.lastError, "tfc_last_error");
  if (missing)
    return std::move(missing);
  lib.rankFn = reinterpret_cast<decltype(lib.rankFn)>(dlsym(handle, "tfc_rank"));
  lib.broadcast = reinterpret_cast<decltype(lib.broadcast)>(dlsym(handle, "tfc_broadcast"));
  lib.logitsRank = reinterpret_cast<decltype(lib.logitsRank)>(dlsym(handle, "tfc_logits_rank"));

  const tfc_model_info *info = lib.info();
  if (!info)
    return makeError("'" + path + "': tfc_info() returned NULL");
  if (info->abi_version != TFC_ABI_VERSION)
    return makeError("'" + path + "' has ABI version " + llvm::Twine(info->abi_version) +
                     ", the tools expect " + llvm::Twine(TFC_ABI_VERSION));
  return lib;
}

std::pair<int32_t, int32_t> ModelLibrary::rank() const {
  if (!rankFn)
    return {0, 1};
  int32_t ranks = 1;
  int32_t index = rankFn(&ranks);
  return {index, ranks};
}

const char *ModelLibrary::errorText() const {
  const char *text = lastError();
  return text && *text ? text : "(tfc_last_error is empty)";
}
