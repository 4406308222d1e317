//===- Sampler.h - Next-token selection for the tools -----------*- C++ -*-===//
//
// Turns a row of logits into the next token id: greedy (temperature 0), or
// sampling from softmax(logits / temperature) restricted by top-k and top-p,
// driven by a small seeded PRNG so a given --seed always yields the same text
// on every platform. Also the repetition detector behind --stop-on-repeat.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_RUNNER_SAMPLER_H
#define TFC_RUNNER_SAMPLER_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace tfc {

/// xoshiro256** seeded through splitmix64: fast, good statistical quality and,
/// unlike std::mt19937 with std::uniform_real_distribution, the same stream
/// on every standard library.
class Rng {
public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();

private:
  uint64_t state[4];
};

struct SamplerOptions {
  /// 0 selects greedy decoding; top-k and top-p then have no effect.
  double temperature = 0.0;
  /// Keep only the k most likely tokens; 0 keeps all.
  int32_t topK = 0;
  /// Keep the smallest set of most likely tokens whose probability reaches p;
  /// 1 keeps all.
  double topP = 1.0;
  uint64_t seed = 0;
};

class Sampler {
public:
  explicit Sampler(const SamplerOptions &options);

  /// The next token for one row of logits. NaN logits never win; returns -1
  /// when no logit is a number (a broken model, reported by the caller).
  int32_t sample(llvm::ArrayRef<float> logits);

  /// The index of the largest logit, lowest index on ties, ignoring NaN; -1
  /// when every value is NaN or the row is empty.
  static int32_t argmax(llvm::ArrayRef<float> logits);

private:
  SamplerOptions options;
  Rng rng;
  std::vector<std::pair<float, int32_t>> candidates; // (logit, id), reused
  std::vector<double> weights;                       // reused
};

/// Detects a generation stuck in a loop: reports true once the last `window`
/// generated tokens are periodic with some period p <= window / 2, i.e. the
/// same cycle of at most window / 2 tokens has been produced at least twice
/// in a row (`a b a b`, `x x x x`, or `a b c a b c` with window 6).
class RepeatDetector {
public:
  /// window 0 disables detection; otherwise window >= 2.
  explicit RepeatDetector(int32_t window) : window(window) {}
  /// Records a generated token; true when generation should stop.
  bool push(int32_t token);

private:
  int32_t window;
  std::vector<int32_t> history;
};

} // namespace tfc

#endif // TFC_RUNNER_SAMPLER_H
