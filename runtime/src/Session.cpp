//===- Session.cpp - Sessions, tfc_decode and tfc_encode -------------------===//
//
// A session owns what one sequence needs: its position, its KV caches (stateful
// decoders) or its token history (stateless decoders, which recompute the whole
// history every call), its encoder memory (encoder-decoder models), and an
// output scratch buffer, and the arena the generated functions keep their
// activations in (planned at compile time, tfc-plan-activations). The argument
// arrays of the generated functions are built once at session creation; a call
// only patches the token, output, memory, position and arena arguments. The
// arena is reserved at creation for a decode step at the last position, so a
// decode step allocates nothing; a longer prefill grows it once.
//
// KV memory grows with use. A cache is [layers, heads, positions, width] as the
// generated code addresses it, sized for the session's whole capacity; the
// session reserves it as address space (mmap with MAP_NORESERVE) and the
// kernel commits a page when a position is first written into it. In that
// layout a session of n tokens has touched, per layer, head and cache,
// ceil(n * width * element bytes / 4096) pages at the start of that head's
// row block, whatever max_seq is: 64 tokens of 8 f32 values are one page of
// the 16 the block has at max_seq 512, of 64 at max_seq 2048. Reset gives the
// pages back (MADV_DONTNEED), free unmaps them. This was chosen over a page
// table that attention walks because the generated code keeps its contiguous
// per-head views (each cached row is read with the same strided slices and
// vector kernels as before, so long contexts decode exactly as fast), and the
// only cost is the page granularity: at most one partly used page per layer,
// head and cache. The reservation fails only when the address space runs out
// (47 bits), not when memory does; an overcommitting kernel then answers a
// write to a page it cannot back with SIGBUS/OOM as for any lazily touched
// memory. TFC_KV_PREFAULT=1 commits the whole reservation at session creation
// (for benchmarks comparing the two: bench/kv_pages.c).
//
// Every call validates everything before touching the session, and nothing that
// follows the generated call can fail, so a failed call leaves the session as it
// was.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "Threads.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

using namespace tfc::rt;

// The generated code parallelizes with OpenMP when it was compiled for more
// than one thread; libomp is then linked into model.so. The thread count is an
// ICV of the calling thread, so it is set on every call: TFC_NUM_THREADS, else
// the number of cores (libomp's default). Weak, so that a model.so built
// without OpenMP (or the runtime's own tests) needs no libomp.
extern "C" void omp_set_num_threads(int) __attribute__((weak));

namespace {

void setThreadCount() {
  if (omp_set_num_threads && requestedThreads() > 0)
    omp_set_num_threads(requestedThreads());
}

/// Fills a contiguous row-major memref descriptor over `data`.
void setMemref(tfc_memref &m, const void *data, int32_t rank, const int64_t *sizes) {
  std::memset(&m, 0, sizeof(m));
  m.allocated = m.aligned = const_cast<void *>(data);
  m.offset = 0;
  int64_t stride = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    m.sizes_strides[d] = sizes[d];
    m.sizes_strides[rank + d] = stride;
    stride *= sizes[d];
  }
}

/// The prepared argument array of one generated function.
struct Call {
  const tfc_gen_function *fn = nullptr;
  std::vector<tfc_memref> memrefs; // one per argument (unused for POS)
  std::vector<void *> args;
  int32_t tokens = -1, output = -1, memory = -1, arena = -1;
  int32_t segments = -1, cacheOffsets = -1; // the batched decoder's tables
  std::vector<int32_t> pools;               // argument of the pool of cache j
  int64_t pos = 0;

  bool available() const { return fn && fn->entry; }

  void prepare(const tfc_gen_function &f, const tfc_model &model,
               std::vector<AlignedBuffer> &caches) {
    fn = &f;
    if (!f.entry)
      return;
    const tfc_gen_model &m = descriptor();
    memrefs.resize(f.n_args);
    args.resize(f.n_args);
    for (int32_t k = 0; k < f.n_args; ++k) {
      const tfc_gen_arg &a = f.args[k];
      args[k] = &memrefs[k];
      switch (a.kind) {
      case TFC_ARG_TOKENS:
        tokens = k;
        break;
      case TFC_ARG_OUTPUT:
      case TFC_ARG_ATTENTION_MAPS:
        output = k;
        break;
      case TFC_ARG_MEMORY:
        memory = k;
        break;
      case TFC_ARG_POS:
        args[k] = &pos;
        break;
      case TFC_ARG_ARENA:
        arena = k;
        break;
      case TFC_ARG_WEIGHT: {
        const tfc_gen_slot &slot = m.slots[a.index];
        const tfc_model::SlotView &view = model.views[a.index];
        if (slot.layers > 0) {
          setMemref(memrefs[k], view.base, 1, &view.elements);
        } else if (BlockLayout blocks = blockLayout(slot.dtype); blocks.elements) {
          // [..., k] weights are [..., k/32, bytes per block] bytes (gen_abi.h).
          int64_t dims[TFC_MAX_RANK + 1];
          std::copy(slot.dims, slot.dims + slot.rank - 1, dims);
          dims[slot.rank - 1] = slot.dims[slot.rank - 1] / blocks.elements;
          dims[slot.rank] = blocks.bytes;
          setMemref(memrefs[k], view.base, slot.rank + 1, dims);
        } else {
          setMemref(memrefs[k], view.base, slot.rank, slot.dims);
        }
        break;
      }
      case TFC_ARG_LAYER_OFFSETS: {
        const int64_t layers = m.slots[a.index].layers;
        setMemref(memrefs[k], model.views[a.index].layerOffsets.data(), 1, &layers);
        break;
      }
      case TFC_ARG_CACHE: {
        const tfc_gen_cache &cache = m.caches[a.index];
        setMemref(memrefs[k], caches[a.index].data(), cache.rank, cache.dims);
        break;
      }
      case TFC_ARG_SEGMENTS:
        segments = k;
        break;
      case TFC_ARG_CACHE_OFFSETS:
        cacheOffsets = k;
        break;
      case TFC_ARG_CACHE_POOL:
        pools.resize(size_t(m.n_caches), -1);
        pools[size_t(a.index)] = k;
        break;
      }
    }
  }

  void setTokens(const int32_t *data, int64_t n) { setMemref(memrefs[tokens], data, 1, &n); }
  void setOutput(float *data, int64_t rows) {
    int64_t sizes[2] = {rows, fn->out_width};
    setMemref(memrefs[output], data, 2, sizes);
  }
  /// The [maps, heads, n, n] output of attention_maps.
  void setMaps(float *data, int64_t n) {
    int64_t sizes[4] = {descriptor().attention_map_count, fn->out_width, n, n};
    setMemref(memrefs[output], data, 4, sizes);
  }
  void setMemory(const float *data, int64_t rows, int64_t width) {
    if (memory < 0)
      return;
    int64_t sizes[2] = {rows, width};
    setMemref(memrefs[memory], data, 2, sizes);
  }
  /// The arena bytes a call with the arguments as set now needs (0 without).
  size_t arenaBytes() {
    if (arena < 0)
      return 0;
    int64_t bytes = fn->arena_bytes(args.data());
    return bytes > 0 ? size_t(bytes) : 0;
  }

  /// Makes `buffer` hold at least the arena the call needs and points the
  /// arena argument at it. Sets the error and returns false when out of memory
  /// (before anything ran). Growth is geometric; large arenas are mapped
  /// lazily, so only the pages a call touches become resident.
  bool bindArena(AlignedBuffer &buffer) {
    if (arena < 0)
      return true;
    size_t need = arenaBytes();
    if (buffer.size() < need || !buffer.data()) {
      size_t want = std::max(need, 2 * buffer.size());
      AlignedBuffer fresh;
      if (!fresh.reserve(want) && (want == need || !fresh.reserve(need))) {
        setError("out of memory allocating %zu bytes of activations", need);
        return false;
      }
      buffer = std::move(fresh);
    }
    int64_t size = int64_t(buffer.size());
    setMemref(memrefs[arena], buffer.data(), 1, &size);
    return true;
  }

  void run() {
    setThreadCount();
    fn->entry(args.data());
  }
};

bool checkTokens(const char *fn, const int32_t *tokens, int32_t n) {
  int32_t vocab = descriptor().info.vocab_size;
  for (int32_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      setError("%s: token %d at index %d is outside the vocabulary [0, %d)", fn, tokens[i], i,
               vocab);
      return false;
    }
  return true;
}

} // namespace

struct tfc_session {
  const tfc_model *model = nullptr;
  int32_t maxTokens = 0;
  int32_t pos = 0;
  std::vector<int32_t> history; // stateless decoder: every token consumed, sized maxTokens
  std::vector<AlignedBuffer> caches;
  AlignedBuffer memory; // encoder output of an encoder-decoder model
  int32_t memoryRows = 0;   // 0: tfc_encode has not run yet
  AlignedBuffer scratch;    // output rows of the generated functions
  AlignedBuffer arena;      // activations of the generated functions (TFC_ARG_ARENA)
  Call decoder, encoder;
  Call decoderLast; // the decoder computing the last token's logits only, if compiled

  /// Reserves the arena a one-token decode step at position maxTokens - 1
  /// needs (the largest step of the session). Only the argument sizes matter
  /// to arena_bytes, so the descriptors carry no data here.
  bool reserveDecodeArena() {
    const tfc_gen_model &m = descriptor();
    size_t need = 0;
    for (Call *call : {&decoder, &decoderLast}) {
      if (!call->available() || call->arena < 0)
        continue;
      const bool stateful = call->fn->stateful != 0;
      const int64_t inputs = stateful ? 1 : maxTokens;
      call->setTokens(nullptr, inputs);
      call->setOutput(nullptr, call == &decoderLast ? 1 : inputs);
      call->setMemory(nullptr, maxTokens, m.encoder.out_width);
      call->pos = stateful ? maxTokens - 1 : 0;
      need = std::max(need, call->arenaBytes());
    }
    if (need && !arena.reserve(need)) {
      setError("out of memory allocating %zu bytes of activations", need);
      return false;
    }
    return true;
  }

  /// Makes the scratch buffer hold at least `floats` floats. Growth is geometric
  /// (a stateless decoder's output grows by one row per step), bounded by what
  /// the session can ever need.
  bool reserveScratch(size_t floats, size_t bound) {
    if (scratch.size() >= floats * sizeof(float))
      return true;
    size_t want = std::max(floats, std::min(bound, 2 * scratch.size() / sizeof(float)));
    if (!scratch.allocate(want * sizeof(float))) {
      setError("out of memory allocating %zu output floats", want);
      return false;
    }
    return true;
  }
};

extern "C" {

tfc_session *tfc_session_new(const tfc_model *model, int32_t max_tokens) {
  return guarded<tfc_session *>(nullptr, [&]() -> tfc_session * {
    if (!model) {
      setError("tfc_session_new: model is NULL");
      return nullptr;
    }
    const tfc_gen_model &m = descriptor();
    if (max_tokens < 1 || max_tokens > m.info.max_seq) {
      setError("max_tokens %d is outside [1, %d] (the model's max_seq)", max_tokens,
               m.info.max_seq);
      return nullptr;
    }
    auto s = std::make_unique<tfc_session>();
    s->model = model;
    s->maxTokens = max_tokens;
    if (m.decoder.entry && !m.decoder.stateful)
      s->history.assign(max_tokens, 0);
    // The caches are reserved, not allocated: pages become memory as the
    // session writes positions into them (see cacheBytes).
    s->caches.resize(m.n_caches);
    for (int32_t c = 0; c < m.n_caches; ++c) {
      size_t n = size_t(elementCount(m.caches[c].dims, m.caches[c].rank));
      size_t unit = dtypeBytes(m.caches[c].dtype);
      if (n > SIZE_MAX / unit || !s->caches[c].reserve(n * unit)) {
        setError("out of memory reserving KV cache %d (%s elements)", c,
                 formatShape(m.caches[c].dims, m.caches[c].rank).c_str());
        return nullptr;
      }
      // TFC_KV_PREFAULT=1 (a benchmarking aid, bench/kv_pages.c): commit the
      // whole reservation now, as the caches were before they grew with use,
      // to compare decode at long context with and without the page faults.
      // Read at every session creation, so one process can compare both.
      if (const char *prefault = std::getenv("TFC_KV_PREFAULT"); prefault && prefault[0] == '1')
        std::memset(s->caches[c].data(), 0, s->caches[c].size());
    }
    s->decoder.prepare(m.decoder, *model, s->caches);
    s->decoderLast.prepare(m.decoder_last, *model, s->caches);
    s->encoder.prepare(m.encoder, *model, s->caches);
    // Reserve the arena of a one-token step at the session's last position, so
    // that decoding (whose arena grows with the position) never allocates.
    if (!s->reserveDecodeArena())
      return nullptr;
    return s.release();
  });
}

void tfc_session_reset(tfc_session *s) {
  // Stale cache rows beyond the position are never read; their pages go back
  // to the system, so that a session reused for a short sequence holds what
  // that sequence writes (tfc-serve resets a session per request). So do the
  // activation arena's: nothing in it outlives a call, and a prefill or a
  // batched call that was first in it may have grown it well beyond a decode
  // step's (it stays reserved, so the next call allocates nothing).
  if (!s)
    return;
  s->pos = 0;
  for (AlignedBuffer &cache : s->caches)
    cache.discard();
  s->arena.discard();
}

int32_t tfc_session_pos(const tfc_session *s) {
  if (!s) {
    setError("tfc_session_pos: session is NULL");
    return -1;
  }
  return s->pos;
}

void tfc_session_free(tfc_session *s) { delete s; }

int32_t tfc_decode(tfc_session *s, const int32_t *tokens, int32_t n, float *logits,
                   int32_t all_logits) {
  return guarded<int32_t>(-1, [&]() -> int32_t {
    if (!s) {
      setError("tfc_decode: session is NULL");
      return -1;
    }
    if (!s->decoder.available()) {
      setError("tfc_decode: this model has no decoder");
      return -1;
    }
    // Only the last token's logits wanted: the variant whose output head reads
    // the last row only, when the model has one.
    Call &call = !all_logits && s->decoderLast.available() ? s->decoderLast : s->decoder;
    if (!tokens || !logits) {
      setError("tfc_decode: %s is NULL", tokens ? "logits" : "tokens");
      return -1;
    }
    if (n <= 0) {
      setError("tfc_decode: n must be >= 1, got %d", n);
      return -1;
    }
    if (n > s->maxTokens - s->pos) {
      setError("tfc_decode: %d tokens at position %d exceed the session's capacity of %d "
               "tokens",
               n, s->pos, s->maxTokens);
      return -1;
    }
    if (!checkTokens("tfc_decode", tokens, n))
      return -1;
    if (call.memory >= 0 && s->memoryRows == 0) {
      setError("tfc_decode: no encoder memory yet; call tfc_encode first");
      return -1;
    }
    const size_t width = size_t(call.fn->out_width);
    // Stateless: run the whole history; stateful: only the new tokens. The
    // last-token variant writes one row either way.
    const int32_t inputs = call.fn->stateful ? n : s->pos + n;
    const bool lastOnly = &call == &s->decoderLast;
    const int32_t rows = lastOnly ? 1 : inputs;
    if (!s->reserveScratch(size_t(rows) * width, size_t(s->maxTokens) * width))
      return -1;
    if (call.fn->stateful) {
      call.setTokens(tokens, n);
      call.pos = s->pos;
    } else {
      // Beyond the position: not yet part of the session's state.
      std::memcpy(s->history.data() + s->pos, tokens, size_t(n) * sizeof(int32_t));
      call.setTokens(s->history.data(), inputs);
    }
    call.setOutput(s->scratch.floats(), rows);
    call.setMemory(s->memory.floats(), s->memoryRows, descriptor().encoder.out_width);
    if (!call.bindArena(s->arena))
      return -1;
    call.run();
    if (lastOnly)
      std::memcpy(logits, s->scratch.floats(), width * sizeof(float));
    else if (all_logits)
      std::memcpy(logits, s->scratch.floats() + size_t(rows - n) * width,
                  size_t(n) * width * sizeof(float));
    else
      std::memcpy(logits, s->scratch.floats() + size_t(rows - 1) * width, width * sizeof(float));
    s->pos += n;
    return 0;
  });
}

int32_t tfc_encode(tfc_session *s, const int32_t *tokens, int32_t n, float *out) {
  return guarded<int32_t>(-1, [&]() -> int32_t {
    if (!s) {
      setError("tfc_encode: session is NULL");
      return -1;
    }
    Call &call = s->encoder;
    if (!call.available()) {
      setError("tfc_encode: this model has no encoder");
      return -1;
    }
    if (!tokens) {
      setError("tfc_encode: tokens is NULL");
      return -1;
    }
    if (n <= 0) {
      setError("tfc_encode: n must be >= 1, got %d", n);
      return -1;
    }
    if (n > s->maxTokens) {
      setError("tfc_encode: %d tokens exceed the session's capacity of %d tokens", n,
               s->maxTokens);
      return -1;
    }
    if (!checkTokens("tfc_encode", tokens, n))
      return -1;
    const size_t width = size_t(call.fn->out_width);
    const size_t floats = size_t(n) * width;
    const bool keepAsMemory = s->decoder.available();
    // The arena first: it depends on the sizes only, and failing here leaves
    // the memory of an encoder-decoder session as it was.
    call.setTokens(tokens, n);
    call.setOutput(nullptr, n);
    if (!call.bindArena(s->arena))
      return -1;
    float *dst;
    if (keepAsMemory) {
      // The old memory is not needed any more once the call starts, and the call
      // cannot fail: write in place when it is large enough.
      if (s->memory.size() < floats * sizeof(float)) {
        AlignedBuffer fresh;
        if (!fresh.allocate(size_t(s->maxTokens) * width * sizeof(float))) {
          setError("out of memory allocating the encoder memory");
          return -1;
        }
        s->memory = std::move(fresh);
        s->memoryRows = 0;
      }
      dst = s->memory.floats();
    } else {
      if (!s->reserveScratch(floats, size_t(s->maxTokens) * width))
        return -1;
      dst = s->scratch.floats();
    }
    call.setOutput(dst, n);
    call.run();
    if (out)
      std::memcpy(out, dst, floats * sizeof(float));
    if (keepAsMemory) {
      s->memoryRows = n;
      s->pos = 0;
    }
    return 0;
  });
}

} // extern "C"

//===----------------------------------------------------------------------===//
// tfc_decode_batch
//===----------------------------------------------------------------------===//
//
// The batched decoder (gen_abi.h decoder_batch) takes the accepted sessions as
// segments of one token array. Their caches stay where each session has them:
// the pool of cache j is the lowest of the sessions' buffers of cache j, and
// the offset table says where each session's buffer is from there. The call
// runs in the arena of its first session (a session is never used by two calls
// at once). Sessions are checked one by one before anything runs; a refused
// session is left out of the call.

namespace {

/// Whether session k of a batch can take its tokens (else sets the error).
bool acceptBatchSession(const tfc_session *s, int32_t k, const int32_t *tokens, int32_t n) {
  char what[64];
  std::snprintf(what, sizeof(what), "tfc_decode_batch: session %d", k);
  if (n <= 0) {
    setError("%s: n_tokens must be >= 1, got %d", what, n);
    return false;
  }
  if (n > s->maxTokens - s->pos) {
    setError("%s: %d tokens at position %d exceed the session's capacity of %d tokens", what, n,
             s->pos, s->maxTokens);
    return false;
  }
  return checkTokens(what, tokens, n);
}

/// The sessions of a batch whose tokens the call runs, as segments.
struct BatchPlan {
  std::vector<int32_t> members;   // session index of each segment
  std::vector<int64_t> firstInput; // their first token in the caller's `tokens`
  std::vector<int64_t> firstLogitRow; // their first logits row in the caller's `logits`
  int64_t rows = 0;                // tokens of the call
  int32_t count = 0;               // sessions of the caller's batch
};

/// Runs the accepted sessions one by one (a model without a batched decoder).
void decodeOneByOne(tfc_session *const *sessions, const int32_t *tokens, const int32_t *n_tokens,
                    float *logits, int32_t all_logits, const BatchPlan &plan,
                    std::vector<int32_t> &ok) {
  const size_t vocab = size_t(descriptor().info.vocab_size);
  for (size_t i = 0; i < plan.members.size(); ++i) {
    int32_t k = plan.members[i];
    if (tfc_decode(sessions[k], tokens + plan.firstInput[i], n_tokens[k],
                   logits + size_t(plan.firstLogitRow[i]) * vocab, all_logits) != 0)
      ok[size_t(k)] = 0;
  }
}

/// Runs the accepted sessions through the batched decoder; false (with the
/// error set, nothing changed) when out of memory.
bool decodeBatched(tfc_session *const *sessions, const int32_t *tokens, const int32_t *n_tokens,
                   float *logits, int32_t all_logits, const BatchPlan &plan) {
  const tfc_gen_model &m = descriptor();
  const size_t vocab = size_t(m.info.vocab_size);
  const size_t segments = plan.members.size(), caches = size_t(m.n_caches);
  tfc_session *first = sessions[plan.members[0]];
  Call call;
  call.prepare(m.decoder_batch, *first->model, first->caches);

  std::vector<int32_t> callTokens(size_t(plan.rows));
  std::vector<int64_t> table(segments * 3);
  for (size_t i = 0, row = 0; i < segments; ++i) {
    const tfc_session *s = sessions[plan.members[i]];
    int32_t n = n_tokens[plan.members[i]];
    std::memcpy(callTokens.data() + row, tokens + plan.firstInput[i], size_t(n) * sizeof(int32_t));
    table[3 * i] = int64_t(row);
    table[3 * i + 1] = n;
    table[3 * i + 2] = s->pos;
    row += size_t(n);
  }
  // Pool j starts at the lowest buffer of cache j; offsets count its elements
  // (floats, bf16 values or Q8_0 bytes). The buffers are page-aligned, so the
  // distances are whole elements.
  std::vector<int64_t> offsets(segments * caches);
  std::vector<tfc_memref> &args = call.memrefs;
  for (size_t j = 0; j < caches; ++j) {
    const int64_t unit = int64_t(dtypeBytes(m.caches[j].dtype));
    char *base = nullptr, *end = nullptr;
    for (int32_t k : plan.members) {
      char *buffer = static_cast<char *>(sessions[k]->caches[j].data());
      base = base ? std::min(base, buffer) : buffer;
      end = std::max(end, buffer + sessions[k]->caches[j].size());
    }
    for (size_t i = 0; i < segments; ++i)
      offsets[i * caches + j] =
          (static_cast<char *>(sessions[plan.members[i]]->caches[j].data()) - base) / unit;
    int64_t span = (end - base) / unit;
    setMemref(args[size_t(call.pools[j])], base, 1, &span);
  }
  int64_t tableDims[2] = {int64_t(segments), 3};
  setMemref(args[size_t(call.segments)], table.data(), 2, tableDims);
  int64_t offsetDims[2] = {int64_t(segments), int64_t(caches)};
  setMemref(args[size_t(call.cacheOffsets)], offsets.data(), 2, offsetDims);
  call.setTokens(callTokens.data(), plan.rows);

  // Every row of the call's output is a row the caller wants when all of its
  // sessions were accepted and either every row is wanted or every session
  // runs one token: write in place. Otherwise gather from scratch.
  const bool allAccepted = int32_t(segments) == plan.count;
  const bool inPlace = allAccepted && (all_logits || int64_t(segments) == plan.rows);
  AlignedBuffer scratch;
  if (!inPlace && !scratch.allocate(size_t(plan.rows) * vocab * sizeof(float))) {
    setError("out of memory allocating %lld output floats", (long long)plan.rows * vocab);
    return false;
  }
  float *out = inPlace ? logits : scratch.floats();
  call.setOutput(out, plan.rows);
  if (!call.bindArena(first->arena))
    return false;
  call.run();
  for (size_t i = 0; i < segments; ++i) {
    tfc_session *s = sessions[plan.members[i]];
    int32_t n = n_tokens[plan.members[i]];
    if (!inPlace) {
      size_t firstRow = size_t(table[3 * i]) + (all_logits ? 0 : size_t(n - 1));
      size_t rows = all_logits ? size_t(n) : 1;
      std::memcpy(logits + size_t(plan.firstLogitRow[i]) * vocab, out + firstRow * vocab,
                  rows * vocab * sizeof(float));
    }
    s->pos += n;
  }
  return true;
}

} // namespace

extern "C" int32_t tfc_decode_batch(tfc_session *const *sessions, int32_t count,
                                    const int32_t *tokens, const int32_t *n_tokens, float *logits,
                                    int32_t all_logits, int32_t *status) {
  return guarded<int32_t>(-1, [&]() -> int32_t {
    std::vector<int32_t> ok(count > 0 ? size_t(count) : 0, 0);
    auto report = [&](bool result) {
      for (int32_t k = 0; status && k < count; ++k)
        status[k] = ok[size_t(k)] ? 0 : -1;
      return result ? 0 : -1;
    };
    if (count < 1 || !sessions || !tokens || !n_tokens || !logits) {
      setError("tfc_decode_batch: %s", count < 1        ? "count must be >= 1"
                                       : !sessions      ? "sessions is NULL"
                                       : !tokens        ? "tokens is NULL"
                                       : !n_tokens      ? "n_tokens is NULL"
                                                        : "logits is NULL");
      return report(false);
    }
    for (int32_t k = 0; k < count; ++k) {
      if (!sessions[k]) {
        setError("tfc_decode_batch: session %d is NULL", k);
        return report(false);
      }
      if (sessions[k]->model != sessions[0]->model) {
        setError("tfc_decode_batch: session %d belongs to another model than session 0", k);
        return report(false);
      }
      for (int32_t other = 0; other < k; ++other)
        if (sessions[other] == sessions[k]) {
          setError("tfc_decode_batch: sessions %d and %d are the same session", other, k);
          return report(false);
        }
    }
    if (!sessions[0]->decoder.available()) {
      setError("tfc_decode_batch: this model has no decoder");
      return report(false);
    }
    // Accept session by session; the first refusal's error is the one kept.
    BatchPlan plan;
    plan.count = count;
    std::string firstError;
    int64_t input = 0, logitRow = 0;
    for (int32_t k = 0; k < count; ++k) {
      int32_t n = n_tokens[k];
      bool accepted = acceptBatchSession(sessions[k], k, tokens + input, n);
      if (accepted) {
        plan.members.push_back(k);
        plan.firstInput.push_back(input);
        plan.firstLogitRow.push_back(logitRow);
        plan.rows += n;
        ok[size_t(k)] = 1;
      } else if (firstError.empty()) {
        firstError = tfc_last_error();
      }
      input += n > 0 ? n : 0;
      logitRow += all_logits ? (n > 0 ? n : 0) : 1;
    }
    if (!plan.members.empty()) {
      if (descriptor().decoder_batch.entry) {
        if (!decodeBatched(sessions, tokens, n_tokens, logits, all_logits, plan)) {
          std::fill(ok.begin(), ok.end(), 0);
          return report(false);
        }
      } else {
        decodeOneByOne(sessions, tokens, n_tokens, logits, all_logits, plan, ok);
        for (int32_t k = 0; k < count && firstError.empty(); ++k)
          if (!ok[size_t(k)])
            firstError = tfc_last_error();
      }
    }
    if (!firstError.empty()) {
      setError("%s", firstError.c_str());
      return report(false);
    }
    return report(true);
  });
}

//===----------------------------------------------------------------------===//
// Attention maps
//===----------------------------------------------------------------------===//

namespace {

/// Whether the model has attention maps and n is a prompt length they take;
/// sets the error naming `fn` if not.
bool checkMapsCall(const char *fn, int32_t n) {
  const tfc_gen_model &m = descriptor();
  if (!m.attention_maps.entry) {
    setError("%s: this model was compiled without attention maps; compile it with "
             "tfc --emit-attention",
             fn);
    return false;
  }
  if (n < 1 || n > m.info.max_seq) {
    setError("%s: n must be in [1, %d] (the model's max_seq), got %d", fn, m.info.max_seq, n);
    return false;
  }
  return true;
}

} // namespace

int32_t tfc_attention_maps_shape(int32_t n, int64_t dims[4]) {
  return guarded<int32_t>(-1, [&]() -> int32_t {
    if (!checkMapsCall("tfc_attention_maps_shape", n))
      return -1;
    if (!dims) {
      setError("tfc_attention_maps_shape: dims is NULL");
      return -1;
    }
    const tfc_gen_model &m = descriptor();
    dims[0] = m.attention_map_count;
    dims[1] = m.attention_maps.out_width;
    dims[2] = dims[3] = n;
    return 4;
  });
}

int32_t tfc_attention_maps(const tfc_model *model, const int32_t *tokens, int32_t n,
                           float *out) {
  return guarded<int32_t>(-1, [&]() -> int32_t {
    if (!checkMapsCall("tfc_attention_maps", n))
      return -1;
    if (!model || !tokens || !out) {
      setError("tfc_attention_maps: %s is NULL", !model ? "model" : !tokens ? "tokens" : "out");
      return -1;
    }
    if (!checkTokens("tfc_attention_maps", tokens, n))
      return -1;
    // A call of its own: no session state, so concurrent calls share nothing
    // but the read-only weights.
    std::vector<AlignedBuffer> noCaches;
    Call call;
    call.prepare(descriptor().attention_maps, *model, noCaches);
    call.setTokens(tokens, n);
    call.setMaps(out, n);
    AlignedBuffer arena;
    if (!call.bindArena(arena))
      return -1;
    call.run();
    return 0;
  });
}
