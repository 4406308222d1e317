//===- Parallel.h - The ranks of a tensor-parallel model ---------------------===//
//
// A model compiled with --tensor-parallel=R runs as R MPI processes (ranks),
// each on its shard of the weights. The single-process runtime (libtfcrt.a)
// implements these with one rank and no MPI (ParallelSingle.cpp); the MPI
// variant (libtfcrt_mpi.a, ParallelMpi.cpp) joins the ranks of MPI_COMM_WORLD,
// initializing MPI when the host program has not, and defines the collectives
// the generated code calls (gen_abi.h).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_PARALLEL_H
#define TFC_RUNTIME_PARALLEL_H

#include <cstdint>

namespace tfc::rt {

/// Makes this process one of the `ranks` ranks the model was compiled for.
/// Sets the error and returns false when it cannot (no MPI in this runtime,
/// another number of processes).
bool joinRanks(int32_t ranks);

/// This process's rank and the number of ranks (0 and 1 before joinRanks).
int32_t rankIndex();
int32_t rankCount();

/// Whether `ok` holds on every rank: a rank that fails to load makes all of
/// them fail together instead of leaving the others waiting in a collective.
/// With one rank, `ok` itself.
bool allRanks(bool ok);

/// Copies `bytes` bytes at `data` from rank 0 to every rank (tfc_broadcast).
/// Sets the error and returns false when the transfer fails. With one rank,
/// true and nothing moves.
bool broadcast(void *data, int64_t bytes);

/// The rank that receives the gathered logits (tfc_logits_rank), -1 for every
/// rank. Sets the error and returns false when `rank` is not in [-1, ranks).
bool setLogitsRank(int32_t rank);

} // namespace tfc::rt

#endif // TFC_RUNTIME_PARALLEL_H
