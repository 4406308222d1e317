//===- Threads.cpp - Load-time work split over the cores ----------------------===//
#include "Threads.h"

#include <algorithm>
#include <cstdlib>
#include <system_error>
#include <thread>
#include <vector>

int tfc::rt::requestedThreads() {
  static const int threads = [] {
    const char *env = std::getenv("TFC_NUM_THREADS");
    long n = env ? std::strtol(env, nullptr, 10) : 0;
    return n > 0 && n < 4096 ? static_cast<int>(n) : 0;
  }();
  return threads;
}

void tfc::rt::parallelFor(int64_t count, int64_t minPerPart,
                          const std::function<void(int64_t, int64_t)> &body) {
  int64_t threads = requestedThreads();
  if (threads <= 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  const int64_t parts = std::max<int64_t>(1, std::min(threads, count / std::max<int64_t>(1, minPerPart)));
  if (parts == 1) {
    body(0, count);
    return;
  }
  // Part p is [p * count / parts, (p + 1) * count / parts): sizes differ by at
  // most one item.
  auto bound = [&](int64_t p) { return p * count / parts; };
  std::vector<std::thread> workers;
  workers.reserve(size_t(parts - 1));
  int64_t inlineFrom = parts; // parts from here on run on this thread
  for (int64_t p = 1; p < parts; ++p) {
    try {
      workers.emplace_back([&body, first = bound(p), last = bound(p + 1)] { body(first, last); });
    } catch (const std::system_error &) {
      inlineFrom = p;
      break;
    }
  }
  body(0, bound(1));
  for (int64_t p = inlineFrom; p < parts; ++p)
    body(bound(p), bound(p + 1));
  for (std::thread &w : workers)
    w.join();
}
