//===- Lockstep.h - The ranks of a tensor-parallel model in step -*- C++ -*-===//
//
// Under `mpirun -np N tfc-serve MODEL.so ...` with a model compiled with
// --tensor-parallel=N, every model call is a collective that all N ranks must
// make with the same arguments. Rank 0 serves HTTP and schedules; before each
// model call it broadcasts the call (which sessions, which were reset, their
// tokens) with the model's tfc_broadcast, and the other ranks, which serve
// nothing, make the same call on their own sessions. They loop until rank 0
// broadcasts the end (its scheduler stopped). tfc-serve itself does not link
// MPI: the broadcast is the model library's (tfc.h).
//
// Positions need not be sent: a session that made the same calls since its
// last reset is at the same position on every rank. A sequence that ends
// (finished, cancelled) needs no message either: its slot is reset when
// rank 0 next gives it a sequence, and that step says so.
//
// A message is a header, then (for a decode or an encode) a payload of int32:
//   decode: per session its slot, 1 if it was reset since its last call, its
//           token count; then every session's tokens in order.
//   encode: the ids.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOOLS_TFC_SERVE_LOCKSTEP_H
#define TFC_TOOLS_TFC_SERVE_LOCKSTEP_H

#include "tfc/Runner/ModelLibrary.h"

#include <cstdint>
#include <vector>

namespace tfc::serve {

class Lockstep {
public:
  explicit Lockstep(const ModelLibrary &lib);

  int32_t rank() const { return rankIndex; }
  /// Whether there are other ranks to keep in step.
  bool enabled() const { return ranks > 1; }

  // Rank 0. False (and the model library's error) when the broadcast failed.
  struct Session {
    int32_t slot;
    bool reset;
    int32_t tokens;
  };
  bool sendDecode(const std::vector<Session> &sessions, const std::vector<int32_t> &tokens);
  bool sendEncode(const std::vector<int32_t> &ids);
  bool sendEnd();

  /// The other ranks: creates `parallel` sessions of `contextTokens` (an
  /// encoder session for a model without a decoder), as rank 0's scheduler
  /// does, and makes the calls rank 0 broadcasts until it sends the end.
  llvm::Error follow(tfc_model *model, int32_t parallel, int32_t contextTokens);

private:
  enum Kind : int32_t { Decode = 1, Encode = 2, End = 3 };
  struct Header {
    int32_t magic;
    int32_t kind;
    int32_t sessions;
    int32_t tokens;
  };
  bool send(Header header, std::vector<int32_t> &payload);

  const ModelLibrary &lib;
  int32_t rankIndex = 0, ranks = 1;
  std::vector<int32_t> payload;
};

} // namespace tfc::serve

#endif // TFC_TOOLS_TFC_SERVE_LOCKSTEP_H
