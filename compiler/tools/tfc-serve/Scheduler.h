//===- Scheduler.h - Continuous batching over a model's sessions -*- C++ -*-===//
//
// One thread owns the model's sessions and runs a single scheduling loop:
// each step admits waiting sequences into free slots, drops cancelled ones,
// and advances every running sequence by one unit of work (a prefill chunk
// of its prompt, or one decode token), so requests join and leave the
// running set at every step. The step itself goes through one function,
// decodeStep: one tfc_decode_batch call advances every running slot (prefill
// chunks and decode tokens side by side), so each weight is read once per
// step however many users there are. Sampling, detokenization and stop sequences also
// run on the scheduler's thread, so a finished sequence frees its slot at
// once; the HTTP threads only wait on a RequestGroup for text.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOOLS_TFC_SERVE_SCHEDULER_H
#define TFC_TOOLS_TFC_SERVE_SCHEDULER_H

#include "Api.h"
#include "Lockstep.h"

#include "tfc/Runner/ModelLibrary.h"
#include "tfc/Runner/Sampler.h"
#include "tfc/Tokenizer/Tokenizer.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tfc::serve {

/// The tokenizer, shared by the HTTP threads (encoding prompts) and the
/// scheduler (decoding). Its caches make it unsafe to use from two threads
/// at once, hence the lock.
struct SharedTokenizer {
  tokenizer::Tokenizer tokenizer;
  std::mutex mutex;
};

/// What the scheduler tells the HTTP side about one sequence.
struct SequenceUpdate {
  size_t index = 0;
  std::string text;               // new text since the last update
  std::optional<Finish> finish;   // set once, with the last text
  std::string error;              // set instead of finish when the sequence failed
  int32_t completionTokens = 0;   // valid once finished
};

/// The sequences of one HTTP request, between the scheduler (which appends
/// text and finishes them) and the request's thread (which takes the text).
class RequestGroup {
public:
  explicit RequestGroup(size_t sequences) : states(sequences) {}

  /// Waits until some sequence has news or `timeout` passes; returns the news
  /// and forgets it.
  std::vector<SequenceUpdate> wait(std::chrono::milliseconds timeout);
  bool finished();
  /// Asks the scheduler to drop the unfinished sequences (client gone).
  void cancel();
  bool cancelled() const { return isCancelled.load(); }

  // Scheduler side.
  void append(size_t index, const std::string &text);
  void finish(size_t index, Finish finish, int32_t completionTokens);
  void fail(size_t index, const std::string &error);

private:
  struct State {
    std::string text;
    std::optional<Finish> finish;
    std::string error;
    int32_t completionTokens = 0;
    bool done = false, reported = false;
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<State> states;
  std::atomic<bool> isCancelled{false};
};

/// One sequence to generate.
struct SequenceRequest {
  std::shared_ptr<RequestGroup> group;
  size_t index = 0;
  std::vector<int32_t> prompt;
  SamplerOptions sampler;
  int32_t maxTokens = 16;
  std::vector<std::string> stop;
  /// Ids that end the sequence (EOS, BOS as tfc-run does, end-of-turn).
  std::vector<int32_t> stopIds;
};

struct SchedulerOptions {
  int32_t parallel = 4;
  int32_t contextTokens = 0;
  /// Sequences that may wait for a slot (beyond the free slots) before
  /// submit answers "full".
  size_t maxWaiting = 256;
  /// Prompt tokens one sequence prefills per step, so that a long prompt
  /// delays the others' next token by one chunk, not by the whole prompt.
  int32_t prefillChunk = 64;
  /// A pause after every step (hidden --step-delay-ms), so that tests of
  /// queueing and cancellation do not race a fast machine.
  std::chrono::milliseconds stepDelay{0};
  /// Rank 0 of a tensor-parallel model under mpirun: every model call is
  /// first broadcast to the other ranks (Lockstep.h), and the end when the
  /// scheduler stops. Null for one process.
  Lockstep *lockstep = nullptr;
};

class Scheduler {
public:
  /// Creates the sessions (parallel decoder sessions of contextTokens, or one
  /// encoder session) and starts the loop.
  static llvm::Expected<std::unique_ptr<Scheduler>>
  create(const ModelLibrary &lib, tfc_model *model, SharedTokenizer &tokenizer,
         const SchedulerOptions &options);
  ~Scheduler();

  /// Queues the sequences of one request, all or none: false when the queue
  /// is full or the scheduler stopped.
  bool submit(std::vector<SequenceRequest> sequences);

  /// The mean-pooled, L2-normalized last hidden state of `ids` (encoder
  /// models); an empty future value with the error text on failure.
  struct Embedding {
    std::vector<float> vector;
    std::string error;
  };
  std::future<Embedding> embed(std::vector<int32_t> ids);

  /// Fails every waiting and running sequence and joins the loop.
  void stop();

  struct Load {
    size_t running = 0, waiting = 0;
    /// Sequences dropped because their client left, since the start.
    uint64_t cancelled = 0;
  };
  Load load();

private:
  struct Slot;
  struct EmbeddingJob {
    std::vector<int32_t> ids;
    std::promise<Embedding> result;
  };

  Scheduler(const ModelLibrary &lib, SharedTokenizer &tokenizer, const SchedulerOptions &options);
  void run();
  void admit();
  void dropCancelled();
  /// The step of every running slot: one batched decode call.
  void decodeStep(std::vector<Slot *> &running);
  void advance(Slot &slot);
  void emitText(Slot &slot, bool final);
  void release(Slot &slot);
  void runEmbedding(EmbeddingJob &job);

  const ModelLibrary &lib;
  SharedTokenizer &tokenizer;
  SchedulerOptions options;
  int32_t vocabSize;
  int32_t dim;

  std::vector<std::unique_ptr<Slot>> slots;
  tfc_session *encoderSession = nullptr;
  /// decodeStep's arguments of tfc_decode_batch, kept to be reused.
  struct BatchCall {
    std::vector<tfc_session *> sessions;
    std::vector<int32_t> tokens, counts, status;
    std::vector<float> logits;
    std::vector<Lockstep::Session> broadcast;
  } batch;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<SequenceRequest> waiting;
  std::deque<EmbeddingJob> embeddings;
  size_t running = 0;
  uint64_t cancelled = 0;
  bool stopping = false;
  /// Steps or embeddings ran since the last time freed heap memory was given
  /// back to the system (scheduler thread only).
  bool workSinceTrim = false;
  std::thread thread;
};

} // namespace tfc::serve

#endif // TFC_TOOLS_TFC_SERVE_SCHEDULER_H
