//===- Scheduler.cpp - Continuous batching over a model's sessions --------===//
//
// A sequence's life in a slot: its prompt is decoded in chunks of
// prefillChunk tokens, one chunk per step; the step that consumes the last
// chunk yields the logits of the first completion token, sampled with the
// request's own Sampler; from then on each step decodes the token sampled
// the step before. Generation stops at a stop id, a stop sequence or
// maxTokens, exactly where tfc-run stops, so greedy answers equal its.
//
//===----------------------------------------------------------------------===//
#include "Scheduler.h"

#include <algorithm>
#include <cmath>

#ifdef __GLIBC__
#include <malloc.h>
#endif

using namespace tfc;
using namespace tfc::serve;

//===----------------------------------------------------------------------===//
// RequestGroup
//===----------------------------------------------------------------------===//

std::vector<SequenceUpdate> RequestGroup::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex);
  auto hasNews = [&] {
    for (const State &s : states)
      if (!s.text.empty() || (s.done && !s.reported))
        return true;
    return false;
  };
  changed.wait_for(lock, timeout, hasNews);
  std::vector<SequenceUpdate> updates;
  for (size_t i = 0; i < states.size(); ++i) {
    State &s = states[i];
    if (s.text.empty() && (!s.done || s.reported))
      continue;
    SequenceUpdate update;
    update.index = i;
    update.text = std::move(s.text);
    s.text.clear();
    if (s.done) {
      update.finish = s.finish;
      update.error = s.error;
      update.completionTokens = s.completionTokens;
      s.reported = true;
    }
    updates.push_back(std::move(update));
  }
  return updates;
}

bool RequestGroup::finished() {
  std::lock_guard<std::mutex> lock(mutex);
  return std::all_of(states.begin(), states.end(), [](const State &s) { return s.done; });
}

void RequestGroup::cancel() { isCancelled = true; }

void RequestGroup::append(size_t index, const std::string &text) {
  if (text.empty())
    return;
  {
    std::lock_guard<std::mutex> lock(mutex);
    states[index].text += text;
  }
  changed.notify_all();
}

void RequestGroup::finish(size_t index, Finish finish, int32_t completionTokens) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    states[index].finish = finish;
    states[index].completionTokens = completionTokens;
    states[index].done = true;
  }
  changed.notify_all();
}

void RequestGroup::fail(size_t index, const std::string &error) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    states[index].error = error;
    states[index].done = true;
  }
  changed.notify_all();
}

//===----------------------------------------------------------------------===//
// Scheduler
//===----------------------------------------------------------------------===//

namespace {

void giveBackFreedHeap() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

} // namespace

struct Scheduler::Slot {
  tfc_session *session = nullptr;
  int32_t index = 0;      // among the slots, the same on every rank
  bool busy = false;
  bool reset = false;     // reset since its last step (the other ranks reset theirs then)
  SequenceRequest request;
  size_t prefilled = 0;   // prompt tokens decoded
  int32_t pending = -1;   // sampled token the next step decodes
  int32_t generated = 0;  // completion tokens accepted
  std::optional<Sampler> sampler;
  std::optional<tokenizer::DecodeStream> stream;
  std::string text;       // completion text so far
  size_t emitted = 0;     // bytes of text handed to the group
  std::vector<float> logits;
  // This step's work and outcome.
  int32_t stepCount = 0;
  bool stepFailed = false;
  std::string stepError;
};

Scheduler::Scheduler(const ModelLibrary &lib, SharedTokenizer &tokenizer,
                     const SchedulerOptions &options)
    : lib(lib), tokenizer(tokenizer), options(options),
      vocabSize(lib.info()->vocab_size), dim(lib.info()->dim) {}

llvm::Expected<std::unique_ptr<Scheduler>>
Scheduler::create(const ModelLibrary &lib, tfc_model *model, SharedTokenizer &tokenizer,
                  const SchedulerOptions &options) {
  std::unique_ptr<Scheduler> scheduler(new Scheduler(lib, tokenizer, options));
  const tfc_model_info &info = *lib.info();
  auto sessionError = [&](int32_t tokens) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot create a session of " + llvm::Twine(tokens) +
                                       " tokens: " + lib.errorText());
  };
  if (info.has_decoder) {
    for (int32_t i = 0; i < options.parallel; ++i) {
      auto slot = std::make_unique<Slot>();
      slot->session = lib.sessionNew(model, options.contextTokens);
      if (!slot->session)
        return sessionError(options.contextTokens);
      slot->index = i;
      slot->logits.resize(info.vocab_size);
      scheduler->slots.push_back(std::move(slot));
    }
  } else {
    scheduler->encoderSession = lib.sessionNew(model, options.contextTokens);
    if (!scheduler->encoderSession)
      return sessionError(options.contextTokens);
  }
  scheduler->thread = std::thread([s = scheduler.get()] { s->run(); });
  return scheduler;
}

Scheduler::~Scheduler() {
  stop();
  for (auto &slot : slots)
    lib.sessionFree(slot->session);
  if (encoderSession)
    lib.sessionFree(encoderSession);
}

bool Scheduler::submit(std::vector<SequenceRequest> sequences) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    // Free slots take sequences at the next step; beyond them, maxWaiting.
    size_t capacity = options.maxWaiting + (slots.size() - running);
    if (stopping || waiting.size() + sequences.size() > capacity)
      return false;
    for (SequenceRequest &s : sequences)
      waiting.push_back(std::move(s));
  }
  wake.notify_one();
  return true;
}

std::future<Scheduler::Embedding> Scheduler::embed(std::vector<int32_t> ids) {
  std::promise<Embedding> result;
  std::future<Embedding> future = result.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (stopping || embeddings.size() >= options.maxWaiting) {
      result.set_value({{}, stopping ? "the server is shutting down" : "the server is full"});
      return future;
    }
    embeddings.push_back({std::move(ids), std::move(result)});
  }
  wake.notify_one();
  return future;
}

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wake.notify_one();
  if (thread.joinable())
    thread.join();
}

Scheduler::Load Scheduler::load() {
  std::lock_guard<std::mutex> lock(mutex);
  return {running, waiting.size(), cancelled};
}

void Scheduler::release(Slot &slot) {
  // The session's KV cache pages go back to the system now, not when the
  // slot is next used: an idle slot holds no cache memory.
  lib.sessionReset(slot.session);
  slot.busy = false;
  slot.request = SequenceRequest();
  slot.sampler.reset();
  slot.stream.reset();
  slot.text.clear();
  std::lock_guard<std::mutex> lock(mutex);
  --running;
}

/// Forgets waiting sequences whose client left. Called with `mutex` held.
void Scheduler::dropCancelled() {
  size_t before = waiting.size();
  waiting.erase(std::remove_if(waiting.begin(), waiting.end(),
                               [](const SequenceRequest &s) { return s.group->cancelled(); }),
                waiting.end());
  cancelled += before - waiting.size();
}

/// Moves waiting sequences into free slots. Called with `mutex` held.
void Scheduler::admit() {
  dropCancelled();
  for (auto &slot : slots) {
    if (slot->busy)
      continue;
    if (waiting.empty())
      return;
    Slot &s = *slot;
    s.request = std::move(waiting.front());
    waiting.pop_front();
    lib.sessionReset(s.session);
    s.reset = true;
    s.busy = true;
    s.prefilled = 0;
    s.pending = -1;
    s.generated = 0;
    s.sampler.emplace(s.request.sampler);
    s.stream.emplace(tokenizer.tokenizer);
    s.text.clear();
    s.emitted = 0;
    ++running;
  }
}

void Scheduler::run() {
  std::vector<Slot *> active;
  while (true) {
    std::deque<EmbeddingJob> jobs;
    {
      std::unique_lock<std::mutex> lock(mutex);
      auto hasWork = [&] {
        return stopping || running > 0 || !waiting.empty() || !embeddings.empty();
      };
      // After a second without work, the heap memory the requests freed
      // (theirs and the HTTP threads', in glibc's per-thread arenas) goes
      // back to the system, so that an idle server's memory returns to where
      // it started instead of staying at its peak.
      if (workSinceTrim && !wake.wait_for(lock, std::chrono::seconds(1), hasWork)) {
        lock.unlock();
        giveBackFreedHeap();
        lock.lock();
        workSinceTrim = false;
      }
      wake.wait(lock, hasWork);
      if (stopping)
        break;
      admit();
      jobs.swap(embeddings);
    }
    workSinceTrim = true;
    for (EmbeddingJob &job : jobs)
      runEmbedding(job);

    active.clear();
    for (auto &slot : slots) {
      if (!slot->busy)
        continue;
      if (slot->request.group->cancelled()) {
        release(*slot); // the client left: its slot is free from this step on
        std::lock_guard<std::mutex> lock(mutex);
        ++cancelled;
      } else
        active.push_back(slot.get());
    }
    if (active.empty())
      continue;
    decodeStep(active);
    for (Slot *slot : active)
      advance(*slot);
    if (options.stepDelay.count() > 0)
      std::this_thread::sleep_for(options.stepDelay);
  }

  // The other ranks stop with this one. If the broadcast fails, the ranks
  // are already out of step; mpirun ends them when this one exits.
  if (options.lockstep)
    (void)options.lockstep->sendEnd();

  // Shutting down: every sequence still here ends with an error.
  std::lock_guard<std::mutex> lock(mutex);
  for (SequenceRequest &s : waiting)
    s.group->fail(s.index, "the server is shutting down");
  waiting.clear();
  for (auto &slot : slots)
    if (slot->busy) {
      slot->request.group->fail(slot->request.index, "the server is shutting down");
      slot->busy = false;
    }
  for (EmbeddingJob &job : embeddings)
    job.result.set_value({{}, "the server is shutting down"});
  embeddings.clear();
}

void Scheduler::decodeStep(std::vector<Slot *> &active) {
  batch.sessions.clear();
  batch.tokens.clear();
  batch.counts.clear();
  for (Slot *slot : active) {
    const std::vector<int32_t> &prompt = slot->request.prompt;
    if (slot->prefilled < prompt.size()) {
      slot->stepCount = static_cast<int32_t>(
          std::min<size_t>(prompt.size() - slot->prefilled, options.prefillChunk));
      batch.tokens.insert(batch.tokens.end(), prompt.begin() + slot->prefilled,
                          prompt.begin() + slot->prefilled + slot->stepCount);
    } else {
      slot->stepCount = 1;
      batch.tokens.push_back(slot->pending);
    }
    batch.sessions.push_back(slot->session);
    batch.counts.push_back(slot->stepCount);
  }
  const size_t count = active.size(), vocab = size_t(vocabSize);
  batch.status.assign(count, -1);
  batch.logits.resize(count * vocab);
  bool ok = true;
  if (options.lockstep) {
    batch.broadcast.clear();
    for (Slot *slot : active) {
      batch.broadcast.push_back({slot->index, slot->reset, slot->stepCount});
      slot->reset = false;
    }
    ok = options.lockstep->sendDecode(batch.broadcast, batch.tokens);
  }
  // A refused slot (its error is the call's when it is the first) fails
  // alone; the others advance. A failed broadcast fails them all.
  if (ok)
    ok = lib.decodeBatch(batch.sessions.data(), static_cast<int32_t>(count),
                         batch.tokens.data(), batch.counts.data(), batch.logits.data(), 0,
                         batch.status.data()) == 0;
  std::string error = ok ? "" : lib.errorText();
  for (size_t k = 0; k < count; ++k) {
    Slot *slot = active[k];
    slot->stepFailed = batch.status[k] != 0;
    if (slot->stepFailed)
      slot->stepError = error;
    else
      std::copy_n(batch.logits.data() + k * vocab, vocab, slot->logits.data());
  }
}

namespace {

/// The earliest position at or after `from` where one of `stops` starts.
size_t findStop(const std::string &text, size_t from, const std::vector<std::string> &stops) {
  size_t best = std::string::npos;
  for (const std::string &stop : stops) {
    size_t at = text.find(stop, from);
    best = std::min(best, at);
  }
  return best;
}

/// Bytes at the end of `text` that could begin a stop sequence, and must be
/// held back until the next piece tells.
size_t stopPrefixLength(const std::string &text, const std::vector<std::string> &stops) {
  size_t hold = 0;
  for (const std::string &stop : stops)
    for (size_t k = std::min(stop.size() - 1, text.size()); k > hold; --k)
      if (text.compare(text.size() - k, k, stop, 0, k) == 0) {
        hold = k;
        break;
      }
  return hold;
}

} // namespace

void Scheduler::emitText(Slot &slot, bool final) {
  size_t end = slot.text.size();
  if (!final)
    end -= std::min(end - slot.emitted, stopPrefixLength(slot.text, slot.request.stop));
  if (end > slot.emitted) {
    slot.request.group->append(slot.request.index, slot.text.substr(slot.emitted, end - slot.emitted));
    slot.emitted = end;
  }
}

void Scheduler::advance(Slot &slot) {
  SequenceRequest &request = slot.request;
  auto fail = [&](const std::string &error) {
    request.group->fail(request.index, error);
    release(slot);
  };
  auto finish = [&](Finish reason) {
    emitText(slot, /*final=*/true);
    request.group->finish(request.index, reason, slot.generated);
    release(slot);
  };

  if (slot.stepFailed)
    return fail("tfc_decode_batch failed: " + slot.stepError);
  if (slot.prefilled < request.prompt.size()) {
    slot.prefilled += slot.stepCount;
    if (slot.prefilled < request.prompt.size())
      return; // more prompt chunks to go
  }

  int32_t next = slot.sampler->sample(slot.logits);
  if (next < 0)
    return fail("the model produced no valid logit (all NaN)");
  if (std::find(request.stopIds.begin(), request.stopIds.end(), next) != request.stopIds.end())
    return finish(Finish::Stop);
  ++slot.generated;
  {
    std::lock_guard<std::mutex> lock(tokenizer.mutex);
    if (next >= tokenizer.tokenizer.vocabSize())
      return fail("the model generated id " + std::to_string(next) + ", beyond the tokenizer's " +
                  std::to_string(tokenizer.tokenizer.vocabSize()) + " pieces");
    auto piece = slot.stream->step(next);
    if (!piece)
      return fail(llvm::toString(piece.takeError()));
    slot.text += *piece;
  }
  if (!request.stop.empty()) {
    size_t longest = 0;
    for (const std::string &s : request.stop)
      longest = std::max(longest, s.size());
    // Only the new piece and the held-back tail can start a new match.
    size_t from = slot.emitted > longest ? slot.emitted - longest : 0;
    size_t at = findStop(slot.text, from, request.stop);
    if (at != std::string::npos) {
      slot.text.resize(at);
      return finish(Finish::Stop);
    }
  }
  if (slot.generated >= request.maxTokens)
    return finish(Finish::Length);
  slot.pending = next;
  emitText(slot, /*final=*/false);
}

void Scheduler::runEmbedding(EmbeddingJob &job) {
  int32_t n = static_cast<int32_t>(job.ids.size());
  std::vector<float> hidden(static_cast<size_t>(n) * dim);
  lib.sessionReset(encoderSession);
  // The other ranks encode the same ids (not an empty list, which the model
  // refuses before any collective).
  if (options.lockstep && n > 0 && !options.lockstep->sendEncode(job.ids)) {
    job.result.set_value({{}, std::string("tfc_broadcast failed: ") + lib.errorText()});
    return;
  }
  if (lib.encode(encoderSession, job.ids.data(), n, hidden.data()) != 0) {
    job.result.set_value({{}, std::string("tfc_encode failed: ") + lib.errorText()});
    return;
  }
  // Mean over tokens, then L2 normalization, in double.
  std::vector<double> mean(dim, 0.0);
  for (int32_t t = 0; t < n; ++t)
    for (int32_t d = 0; d < dim; ++d)
      mean[d] += hidden[static_cast<size_t>(t) * dim + d];
  double norm = 0.0;
  for (double &v : mean) {
    v /= n;
    norm += v * v;
  }
  norm = std::sqrt(norm);
  Embedding embedding;
  embedding.vector.resize(dim);
  for (int32_t d = 0; d < dim; ++d)
    embedding.vector[d] = static_cast<float>(norm > 0.0 ? mean[d] / norm : 0.0);
  job.result.set_value(std::move(embedding));
}
