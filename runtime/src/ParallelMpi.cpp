//===- ParallelMpi.cpp - Ranks and collectives over MPI (libtfcrt_mpi.a) ----===//
//
// The ranks are MPI_COMM_WORLD. MPI is initialized at the first model load
// unless the host program did it (then the host also finalizes it); when this
// library initialized it, it finalizes it at exit. The collectives work in
// place on the generated code's buffers (the activation arena): nothing is
// allocated per call. Every rank runs the same generated code, so every rank
// reaches the same collectives in the same order.
//
//===----------------------------------------------------------------------===//
#include "Parallel.h"

#include "Internal.h"

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>

namespace {

int32_t worldRank = 0, worldSize = 1;
/// The rank the logits are gathered on, or -1 for every rank (tfc_logits_rank).
int32_t logitsRoot = -1;

void finalizeAtExit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized)
    MPI_Finalize();
}

/// A row-major [rows, cols] matrix whose rows are `rowStride` apart, as one
/// MPI datatype per row block when the rows are not contiguous.
bool contiguous(int64_t cols, int64_t rowStride, int64_t colStride, int64_t rows) {
  return colStride == 1 && (rows <= 1 || rowStride == cols);
}

[[noreturn]] void collectiveFailed(const char *what, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  std::fprintf(stderr, "tfc: rank %d: %s failed: %s\n", worldRank, what, text);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

} // namespace

bool tfc::rt::joinRanks(int32_t ranks) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // SERIALIZED, not FUNNELED: a host may load the model on one thread and
    // run it on another (tfc-serve's scheduler), one call at a time.
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
      setError("MPI_Init_thread failed");
      return false;
    }
    std::atexit(finalizeAtExit);
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  worldRank = rank;
  worldSize = size;
  if (size != ranks) {
    setError("the model was compiled for %d ranks (--tensor-parallel) but runs on %d "
             "(mpirun -np %d)",
             ranks, size, ranks);
    return false;
  }
  // Errors of collectives return to us (collectiveFailed) instead of MPI's
  // default handler aborting without saying which rank or call.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  return true;
}

int32_t tfc::rt::rankIndex() { return worldRank; }
int32_t tfc::rt::rankCount() { return worldSize; }

bool tfc::rt::allRanks(bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  if (MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
    return false;
  return all == 1;
}

namespace {

double secondsNow() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return double(now.tv_sec) + 1e-9 * double(now.tv_nsec);
}

/// Completes `request` without holding a core while it waits long: MPI's
/// blocking calls poll without pause, so a rank waiting for rank 0's next step
/// (tfc-serve idle between requests) would burn a core the whole time. The
/// first 50 us poll (a step that follows at once costs nothing), then the
/// pauses double from 20 us to 1 ms: an idle rank wakes 1000 times a second.
int waitWithoutSpinning(MPI_Request &request) {
  const double spinUntil = secondsNow() + 50e-6;
  long pauseNs = 20000;
  while (true) {
    int done = 0;
    int code = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (code != MPI_SUCCESS || done)
      return code;
    if (secondsNow() < spinUntil)
      continue;
    timespec pause{0, pauseNs};
    nanosleep(&pause, nullptr);
    pauseNs = std::min(pauseNs * 2, 1000000L);
  }
}

} // namespace

bool tfc::rt::broadcast(void *data, int64_t bytes) {
  if (worldSize <= 1)
    return true;
  // MPI counts are int: a larger buffer goes in pieces of 1 GiB.
  char *bytesAt = static_cast<char *>(data);
  for (int64_t done = 0; done < bytes;) {
    const int piece = int(std::min<int64_t>(bytes - done, int64_t(1) << 30));
    MPI_Request request;
    int code = MPI_Ibcast(bytesAt + done, piece, MPI_BYTE, 0, MPI_COMM_WORLD, &request);
    if (code == MPI_SUCCESS)
      code = waitWithoutSpinning(request);
    if (code != MPI_SUCCESS) {
      char text[MPI_MAX_ERROR_STRING];
      int length = 0;
      MPI_Error_string(code, text, &length);
      setError("rank %d: MPI_Ibcast failed: %s", worldRank, text);
      return false;
    }
    done += piece;
  }
  return true;
}

// The generated code has no way to report an error; a failed collective
// (a rank died, the network went away) ends every rank with a message rather
// than letting the others wait forever.
extern "C" void __tfc_all_reduce_f32(float *, float *aligned, int64_t offset, int64_t rows,
                                     int64_t cols, int64_t rowStride, int64_t colStride) {
  float *data = aligned + offset;
  if (contiguous(cols, rowStride, colStride, rows)) {
    int code = MPI_Allreduce(MPI_IN_PLACE, data, int(rows * cols), MPI_FLOAT, MPI_SUM,
                             MPI_COMM_WORLD);
    if (code != MPI_SUCCESS)
      collectiveFailed("MPI_Allreduce", code);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    int code = MPI_Allreduce(MPI_IN_PLACE, data + r * rowStride, int(cols), MPI_FLOAT, MPI_SUM,
                             MPI_COMM_WORLD);
    if (code != MPI_SUCCESS)
      collectiveFailed("MPI_Allreduce", code);
  }
}

// The rank is fixed once the model has loaded (joinRanks), before any
// generated code runs.
extern "C" int64_t __tfc_rank_index(void) { return worldRank; }

extern "C" void __tfc_all_gather_f32(float *, float *srcAligned, int64_t srcOffset,
                                     int64_t srcRows, int64_t srcCols, int64_t srcRowStride,
                                     int64_t srcColStride, float *, float *dstAligned,
                                     int64_t dstOffset, int64_t, int64_t dstCols,
                                     int64_t dstRowStride, int64_t dstColStride) {
  const float *src = srcAligned + srcOffset;
  float *dst = dstAligned + dstOffset;
  if (!contiguous(srcCols, srcRowStride, srcColStride, srcRows) || dstColStride != 1) {
    std::fprintf(stderr, "tfc: rank %d: all-gather of a strided buffer\n", worldRank);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();
  }
  // Rank r's block is srcRows rows of srcCols floats at column r * srcCols of
  // rows dstRowStride apart: one strided datatype, resized so that the blocks
  // of consecutive ranks start srcCols floats apart; no staging buffer.
  MPI_Datatype block, placed;
  MPI_Type_vector(int(srcRows), int(srcCols), int(dstRowStride), MPI_FLOAT, &block);
  MPI_Type_create_resized(block, 0, MPI_Aint(srcCols * sizeof(float)), &placed);
  MPI_Type_commit(&placed);
  const bool everyRank = logitsRoot < 0;
  int code = everyRank ? MPI_Allgather(src, int(srcRows * srcCols), MPI_FLOAT, dst, 1, placed,
                                       MPI_COMM_WORLD)
                       : MPI_Gather(src, int(srcRows * srcCols), MPI_FLOAT, dst, 1, placed,
                                    logitsRoot, MPI_COMM_WORLD);
  MPI_Type_free(&placed);
  MPI_Type_free(&block);
  if (code != MPI_SUCCESS)
    collectiveFailed(everyRank ? "MPI_Allgather" : "MPI_Gather", code);
  // A rank that received nothing says so rather than handing back whatever
  // the arena held: NaN, which no sampler takes for a logit.
  if (!everyRank && worldRank != logitsRoot)
    for (int64_t r = 0; r < srcRows; ++r)
      std::fill_n(dst + r * dstRowStride, dstCols, std::numeric_limits<float>::quiet_NaN());
}

bool tfc::rt::setLogitsRank(int32_t rank) {
  if (rank < -1 || rank >= worldSize) {
    setError("tfc_logits_rank: rank %d is not -1 (every rank) nor one of the %d ranks", rank,
             worldSize);
    return false;
  }
  logitsRoot = rank;
  return true;
}
