//===- Lockstep.cpp - The ranks of a tensor-parallel model in step --------===//
//
// The other ranks check every message before acting on it: a header or
// payload that makes no sense means the ranks are out of step, and carrying on
// would hang or corrupt the collectives, so the rank ends with an error (and
// mpirun ends the job).
//
//===----------------------------------------------------------------------===//
#include "Lockstep.h"

#include <algorithm>

using namespace tfc;
using namespace tfc::serve;

namespace {

constexpr int32_t kMagic = 0x74666373; // "tfcs"

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

} // namespace

Lockstep::Lockstep(const ModelLibrary &lib) : lib(lib) {
  auto [index, count] = lib.rank();
  rankIndex = index;
  ranks = count;
}

bool Lockstep::send(Header header, std::vector<int32_t> &data) {
  if (!enabled())
    return true;
  header.magic = kMagic;
  if (lib.broadcast(&header, sizeof header) != 0)
    return false;
  return data.empty() ||
         lib.broadcast(data.data(), int64_t(data.size() * sizeof(int32_t))) == 0;
}

bool Lockstep::sendDecode(const std::vector<Session> &sessions,
                          const std::vector<int32_t> &tokens) {
  payload.clear();
  for (const Session &s : sessions) {
    payload.push_back(s.slot);
    payload.push_back(s.reset ? 1 : 0);
    payload.push_back(s.tokens);
  }
  payload.insert(payload.end(), tokens.begin(), tokens.end());
  return send({0, Decode, int32_t(sessions.size()), int32_t(tokens.size())}, payload);
}

bool Lockstep::sendEncode(const std::vector<int32_t> &ids) {
  payload = ids;
  return send({0, Encode, 0, int32_t(ids.size())}, payload);
}

bool Lockstep::sendEnd() {
  payload.clear();
  return send({0, End, 0, 0}, payload);
}

llvm::Error Lockstep::follow(tfc_model *model, int32_t parallel, int32_t contextTokens) {
  const tfc_model_info &info = *lib.info();
  std::vector<tfc_session *> slots;
  tfc_session *encoder = nullptr;
  struct Free {
    const ModelLibrary &lib;
    std::vector<tfc_session *> &slots;
    tfc_session *&encoder;
    ~Free() {
      for (tfc_session *s : slots)
        lib.sessionFree(s);
      if (encoder)
        lib.sessionFree(encoder);
    }
  } freeSessions{lib, slots, encoder};
  auto sessionError = [&] {
    return makeError("rank " + llvm::Twine(rankIndex) + ": cannot create a session of " +
                     llvm::Twine(contextTokens) + " tokens: " + lib.errorText());
  };
  if (info.has_decoder) {
    for (int32_t i = 0; i < parallel; ++i) {
      slots.push_back(lib.sessionNew(model, contextTokens));
      if (!slots.back())
        return sessionError();
    }
  } else {
    encoder = lib.sessionNew(model, contextTokens);
    if (!encoder)
      return sessionError();
  }

  auto outOfStep = [&](const llvm::Twine &what) {
    return makeError("rank " + llvm::Twine(rankIndex) + " is out of step with rank 0: " + what);
  };
  std::vector<tfc_session *> sessions;
  std::vector<int32_t> counts, status;
  std::vector<float> output;
  while (true) {
    Header header{};
    if (lib.broadcast(&header, sizeof header) != 0)
      return makeError("rank " + llvm::Twine(rankIndex) + ": " + lib.errorText());
    if (header.magic != kMagic)
      return outOfStep("a message without its mark");
    if (header.kind == End)
      return llvm::Error::success();
    // At most every slot's whole context in one call.
    const int64_t maxTokens = int64_t(std::max<size_t>(slots.size(), 1)) * contextTokens;
    if (header.sessions < 0 || header.sessions > int32_t(slots.size()) || header.tokens < 1 ||
        header.tokens > maxTokens)
      return outOfStep("a call of " + llvm::Twine(header.sessions) + " sessions and " +
                       llvm::Twine(header.tokens) + " tokens");
    payload.resize(size_t(header.sessions) * 3 + size_t(header.tokens));
    if (lib.broadcast(payload.data(), int64_t(payload.size() * sizeof(int32_t))) != 0)
      return makeError("rank " + llvm::Twine(rankIndex) + ": " + lib.errorText());
    const int32_t *tokens = payload.data() + size_t(header.sessions) * 3;

    if (header.kind == Encode) {
      if (!encoder || header.sessions != 0)
        return outOfStep("an encode call");
      output.resize(size_t(header.tokens) * size_t(info.dim));
      lib.sessionReset(encoder);
      // Its outcome is rank 0's to report: the ranks fail or succeed together.
      (void)lib.encode(encoder, tokens, header.tokens, output.data());
      continue;
    }
    if (header.kind != Decode || header.sessions < 1)
      return outOfStep("a call of kind " + llvm::Twine(header.kind));
    sessions.clear();
    counts.clear();
    int64_t total = 0;
    for (int32_t k = 0; k < header.sessions; ++k) {
      const int32_t slot = payload[size_t(k) * 3], reset = payload[size_t(k) * 3 + 1],
                    count = payload[size_t(k) * 3 + 2];
      if (slot < 0 || slot >= int32_t(slots.size()) ||
          std::find(sessions.begin(), sessions.end(), slots[slot]) != sessions.end())
        return outOfStep("slot " + llvm::Twine(slot));
      if (reset)
        lib.sessionReset(slots[slot]);
      sessions.push_back(slots[slot]);
      counts.push_back(count);
      total += count;
    }
    if (total != header.tokens)
      return outOfStep("token counts that do not add up");
    status.assign(sessions.size(), -1);
    output.resize(sessions.size() * size_t(info.vocab_size));
    // A refused session is refused on every rank alike; rank 0 reports it.
    (void)lib.decodeBatch(sessions.data(), header.sessions, tokens, counts.data(),
                          output.data(), 0, status.data());
  }
}
