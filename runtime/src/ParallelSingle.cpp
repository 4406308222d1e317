//===- ParallelSingle.cpp - One rank, no MPI (libtfcrt.a) ------------------===//
//
// The single-process runtime: models compiled without --tensor-parallel never
// call a collective, and one compiled with it cannot run here (it is linked
// with libtfcrt_mpi.a instead; this is the message if that ever goes wrong).
//
//===----------------------------------------------------------------------===//
#include "Parallel.h"

#include "Internal.h"

bool tfc::rt::joinRanks(int32_t ranks) {
  if (ranks > 1) {
    setError("the model was compiled for %d ranks (--tensor-parallel) but this runtime has no MPI",
             ranks);
    return false;
  }
  return true;
}

int32_t tfc::rt::rankIndex() { return 0; }
int32_t tfc::rt::rankCount() { return 1; }
bool tfc::rt::allRanks(bool ok) { return ok; }
bool tfc::rt::broadcast(void *, int64_t) { return true; }
bool tfc::rt::setLogitsRank(int32_t rank) {
  if (rank < -1 || rank > 0) {
    setError("tfc_logits_rank: rank %d of a model of one process (0, or -1)", rank);
    return false;
  }
  return true; // one rank holds the logits either way
}
