//===- Sampler.cpp - Next-token selection for the tools -------------------===//
//
// Sampling sorts candidates by (logit descending, id ascending) whenever it
// sorts at all, so the result depends only on the logits and the seed, never
// on the order an unstable sort happens to leave equal values in.
//
//===----------------------------------------------------------------------===//
#include "tfc/Runner/Sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace tfc;

namespace {

uint64_t splitmix64(uint64_t &x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

bool moreLikely(const std::pair<float, int32_t> &a, const std::pair<float, int32_t> &b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

} // namespace

//===----------------------------------------------------------------------===//
// Rng
//===----------------------------------------------------------------------===//

Rng::Rng(uint64_t seed) {
  for (uint64_t &s : state)
    s = splitmix64(seed);
}

uint64_t Rng::next() {
  uint64_t result = rotl(state[1] * 5, 7) * 9;
  uint64_t t = state[1] << 17;
  state[2] ^= state[0];
  state[3] ^= state[1];
  state[1] ^= state[2];
  state[0] ^= state[3];
  state[2] ^= t;
  state[3] = rotl(state[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

//===----------------------------------------------------------------------===//
// Sampler
//===----------------------------------------------------------------------===//

Sampler::Sampler(const SamplerOptions &options) : options(options), rng(options.seed) {}

int32_t Sampler::argmax(llvm::ArrayRef<float> logits) {
  int32_t best = -1;
  for (size_t i = 0; i < logits.size(); ++i)
    if (!std::isnan(logits[i]) && (best < 0 || logits[i] > logits[best]))
      best = static_cast<int32_t>(i);
  return best;
}

int32_t Sampler::sample(llvm::ArrayRef<float> logits) {
  int32_t best = argmax(logits);
  // An infinite maximum makes softmax undefined; it also means that token
  // has probability 1, which greedy already picks.
  if (options.temperature <= 0.0 || best < 0 || std::isinf(logits[best]))
    return best;

  candidates.clear();
  for (size_t i = 0; i < logits.size(); ++i)
    if (std::isfinite(logits[i]))
      candidates.emplace_back(logits[i], static_cast<int32_t>(i));

  bool sorted = false;
  if (options.topK > 0 && static_cast<size_t>(options.topK) < candidates.size()) {
    std::partial_sort(candidates.begin(), candidates.begin() + options.topK, candidates.end(),
                      moreLikely);
    candidates.resize(options.topK);
    sorted = true;
  }

  // Softmax relative to the maximum, so exp never overflows.
  double maxLogit = logits[best];
  weights.resize(candidates.size());
  double total = 0.0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    weights[i] = std::exp((candidates[i].first - maxLogit) / options.temperature);
    total += weights[i];
  }

  if (options.topP < 1.0) {
    if (!sorted) {
      std::sort(candidates.begin(), candidates.end(), moreLikely);
      for (size_t i = 0; i < candidates.size(); ++i)
        weights[i] = std::exp((candidates[i].first - maxLogit) / options.temperature);
    }
    double cumulative = 0.0;
    size_t keep = 0;
    while (keep < candidates.size()) {
      cumulative += weights[keep++];
      if (cumulative >= options.topP * total)
        break;
    }
    candidates.resize(keep);
    weights.resize(keep);
    total = cumulative;
  }

  double r = rng.uniform() * total;
  for (size_t i = 0; i < candidates.size(); ++i) {
    r -= weights[i];
    if (r < 0.0)
      return candidates[i].second;
  }
  return candidates.back().second; // rounding left r a hair above zero
}

//===----------------------------------------------------------------------===//
// RepeatDetector
//===----------------------------------------------------------------------===//

bool RepeatDetector::push(int32_t token) {
  if (window <= 0)
    return false;
  history.push_back(token);
  if (history.size() < static_cast<size_t>(window))
    return false;
  const int32_t *w = history.data() + history.size() - window;
  for (int32_t period = 1; period <= window / 2; ++period) {
    bool periodic = true;
    for (int32_t i = 0; i + period < window && periodic; ++i)
      periodic = w[i] == w[i + period];
    if (periodic)
      return true;
  }
  return false;
}
