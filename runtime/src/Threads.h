//===- Threads.h - Load-time work split over the cores ------------------------===//
//
// The generated code runs its parallel loops on OpenMP, which the runtime does
// not link (a model.so compiled for one thread has no libomp). Load-time work
// that is independent per block (quantizing weights) runs on plain threads
// instead: a few large contiguous parts per call, so creating the threads costs
// nothing next to the work. Results never depend on the split.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNTIME_THREADS_H
#define TFC_RUNTIME_THREADS_H

#include <cstdint>
#include <functional>

namespace tfc::rt {

/// TFC_NUM_THREADS when set to a positive number (below 4096), else 0: the
/// generated code then takes libomp's default, and load-time work the number
/// of cores.
int requestedThreads();

/// Runs `body(first, last)` over [0, count) split into contiguous parts of at
/// least `minPerPart` items, one per thread (requestedThreads(), else the
/// cores), the calling thread taking the first. When a thread cannot be
/// created its part runs on the calling thread. `body` must not throw.
void parallelFor(int64_t count, int64_t minPerPart,
                 const std::function<void(int64_t, int64_t)> &body);

} // namespace tfc::rt

#endif // TFC_RUNTIME_THREADS_H
