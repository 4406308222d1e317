/*===- machine.c - This machine's read bandwidth and FMA peak ---------------===*
 *
 * The two ceilings the benchmark compares tfc against, measured here rather
 * than taken from a data sheet: decode is bound by how fast weights stream from
 * memory, prefill by how many fused multiply-adds the cores retire.
 *
 *   read bandwidth  STREAM-like: each thread sums its own half of a float array
 *                   much larger than the last-level cache (first-touched by the
 *                   same thread); bytes read / wall time, best of several runs.
 *   FMA peak        a register-resident loop of independent FMA chains (enough
 *                   accumulators to cover latency x pipes), 2 FLOP per lane.
 *   vpdpbusd peak   the same with the 256-bit int8 dot product the Q8_0 kernels
 *                   use (AVX512-VNNI+VL or AVX-VNNI): 32 byte products and 32
 *                   adds, 64 OP per instruction; 0 without VNNI.
 *   vpdpbusd512     the same with the 512-bit form the int8 prefill GEMM uses
 *                   (AVX512-VNNI): 128 OP per instruction; 0 without it.
 *   vdpbf16ps peak  the same with the 512-bit bf16 pair dot product of the bf16
 *                   kernels (AVX512_BF16): 32 products and 32 adds, 64 FLOP per
 *                   instruction; 0 without AVX512_BF16.
 *
 * Usage: machine [--threads N] [--mb MiB] [--runs R] [--cpu-time]
 * Prints key=value lines:
 *   machine threads=2 isa=avx512 array_mib=.. runs=.. read_gbs=<best> read_gbs_median=..
 *           read_gbs_1t=.. fma_gflops=<best> fma_gflops_1t=.. dpbusd_gops=<best>
 *           dpbf16_gflops=<best> dpbusd512_gops=<best> dpbusd512_gops_1t=..
 *
 * Build: clang -O3 -march=native -pthread machine.c -o machine
 *
 *===----------------------------------------------------------------------===*/
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#if defined(__AVX512F__)
#define ISA "avx512"
typedef __m512 vec;
#define VLEN 16
#define vset1(x) _mm512_set1_ps(x)
#define vload(p) _mm512_loadu_ps(p)
#define vadd(a, b) _mm512_add_ps(a, b)
#define vfma(a, b, c) _mm512_fmadd_ps(a, b, c)
static float vsum(vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
#define ISA "avx2"
typedef __m256 vec;
#define VLEN 8
#define vset1(x) _mm256_set1_ps(x)
#define vload(p) _mm256_loadu_ps(p)
#define vadd(a, b) _mm256_add_ps(a, b)
#define vfma(a, b, c) _mm256_fmadd_ps(a, b, c)
static float vsum(vec v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#else
#error "machine.c needs AVX2+FMA or AVX-512 (build with -march=native)"
#endif

/* --cpu-time: time by the process's CPU time instead of the wall clock (with
   --threads 1 on a loaded machine, the core's own peak, comparable with
   bench.c's cpu_s figures). */
static int use_cpu_time = 0;

static double now(void) {
  struct timespec ts;
  clock_gettime(use_cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/*===--- A tiny fork/join team: the same threads for every run ------------===*/

/* What the team runs next: each thread its share of the array (first touch,
   read) or its own copy of a peak loop. */
enum job_kind {
  JOB_QUIT = -1,
  JOB_FIRST_TOUCH,
  JOB_READ,
  JOB_FMA,
  JOB_DPBUSD,
  JOB_DPBUSD512,
  JOB_DPBF16
};

typedef struct {
  pthread_barrier_t start, done;
  int nthreads;
  int kind; /* a job_kind */
  float *array;
  size_t n; /* floats in array */
  long fma_iters;
  volatile float sink[64];
} team_t;

static team_t team;

/* One pass over p[0..n): four streams at once (the four quarters of the range),
   two accumulators each. Several concurrent streams keep more cache-line fills in
   flight than one sequential walk, as a matrix-vector kernel over 4 rows does. */
static float read_kernel(const float *p, size_t n) {
  size_t q = (n / 4) & ~(size_t)(2 * VLEN - 1);
  const float *p0 = p, *p1 = p + q, *p2 = p + 2 * q, *p3 = p + 3 * q;
  vec a0 = vset1(0), a1 = vset1(0), a2 = vset1(0), a3 = vset1(0);
  vec a4 = vset1(0), a5 = vset1(0), a6 = vset1(0), a7 = vset1(0);
  for (size_t i = 0; i < q; i += 2 * VLEN) {
    a0 = vadd(a0, vload(p0 + i));
    a1 = vadd(a1, vload(p0 + i + VLEN));
    a2 = vadd(a2, vload(p1 + i));
    a3 = vadd(a3, vload(p1 + i + VLEN));
    a4 = vadd(a4, vload(p2 + i));
    a5 = vadd(a5, vload(p2 + i + VLEN));
    a6 = vadd(a6, vload(p3 + i));
    a7 = vadd(a7, vload(p3 + i + VLEN));
  }
  float s = vsum(vadd(vadd(vadd(a0, a1), vadd(a2, a3)), vadd(vadd(a4, a5), vadd(a6, a7))));
  for (size_t i = 4 * q; i < n; ++i)
    s += p[i];
  return s;
}

/*===--- The peak loops ------------------------------------------------------===*/

/* One loop per instruction, all of one shape: NACC independent chains (16 hide a
   4-cycle latency on 2 pipes with room to spare), each advanced by STEP once per
   iteration, an empty asm per iteration that keeps the compiler from folding
   iterations together, then the chains summed and reduced to a float the caller
   stores (so that nothing is dead). INIT(x) broadcasts the chain's start value. */
#define NACC 16
#define DEFINE_PEAK_KERNEL(name, vtype, INIT, STEP, ADD, REDUCE)                  \
  static float name(long iters, float seed) {                                     \
    vtype acc[NACC];                                                              \
    for (int k = 0; k < NACC; ++k)                                                \
      acc[k] = INIT(seed + (float)k);                                             \
    for (long it = 0; it < iters; ++it) {                                         \
      _Pragma("clang loop unroll(full)") for (int k = 0; k < NACC; ++k)           \
        acc[k] = STEP(acc[k]);                                                    \
      __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), \
                       "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]));   \
      __asm__ volatile("" : "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]),            \
                       "+v"(acc[11]), "+v"(acc[12]), "+v"(acc[13]), "+v"(acc[14]), \
                       "+v"(acc[15]));                                            \
    }                                                                             \
    vtype s = acc[0];                                                             \
    for (int k = 1; k < NACC; ++k)                                                \
      s = ADD(s, acc[k]);                                                         \
    return REDUCE(s);                                                             \
  }
/* Without the instruction, a stand-in that keeps the table below whole (its
   figure is printed as 0). */
#define DEFINE_MISSING_KERNEL(name)                                               \
  static float name(long iters, float seed) { return seed + (float)iters; }

/* x*m + c with m < 1 converges to c/(1-m): no overflow, no denormals. */
#define FMA_STEP(x) vfma(x, vset1(0.999999f), vset1(1e-6f))
DEFINE_PEAK_KERNEL(fma_kernel, vec, vset1, FMA_STEP, vadd, vsum)

/* The int8 dot products: the sums wrap harmlessly. */
#define INT_SEED_256(x) _mm256_set1_epi32((int)(x))
#define INT_SEED_512(x) _mm512_set1_epi32((int)(x))
#define FIRST_LANE_256(s) ((float)_mm256_extract_epi32(s, 0))
#define REDUCE_512(s) ((float)_mm512_reduce_add_epi32(s))

#if (defined(__AVX512VNNI__) && defined(__AVX512VL__)) || defined(__AVXVNNI__)
#define HAVE_DPBUSD 1
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define dpbusd(acc, a, b) _mm256_dpbusd_epi32(acc, a, b)
#else
#define dpbusd(acc, a, b) _mm256_dpbusd_avx_epi32(acc, a, b)
#endif
#define DPBUSD_STEP(x) dpbusd(x, _mm256_set1_epi8(3), _mm256_set1_epi8(-5))
DEFINE_PEAK_KERNEL(dpbusd_kernel, __m256i, INT_SEED_256, DPBUSD_STEP, _mm256_add_epi32,
                   FIRST_LANE_256)
#else
#define HAVE_DPBUSD 0
DEFINE_MISSING_KERNEL(dpbusd_kernel)
#endif

#if defined(__AVX512VNNI__)
#define HAVE_DPBUSD512 1
#define DPBUSD512_STEP(x) _mm512_dpbusd_epi32(x, _mm512_set1_epi8(3), _mm512_set1_epi8(-5))
DEFINE_PEAK_KERNEL(dpbusd512_kernel, __m512i, INT_SEED_512, DPBUSD512_STEP, _mm512_add_epi32,
                   REDUCE_512)
#else
#define HAVE_DPBUSD512 0
DEFINE_MISSING_KERNEL(dpbusd512_kernel)
#endif

#if defined(__AVX512BF16__)
#define HAVE_DPBF16 1
/* Each step adds 2e-6 per lane. */
#define BF16_PAIR _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f))
#define DPBF16_STEP(x) _mm512_dpbf16_ps(x, BF16_PAIR, BF16_PAIR)
DEFINE_PEAK_KERNEL(dpbf16_kernel, __m512, _mm512_set1_ps, DPBF16_STEP, _mm512_add_ps,
                   _mm512_reduce_add_ps)
#else
#define HAVE_DPBF16 0
DEFINE_MISSING_KERNEL(dpbf16_kernel)
#endif

static void chunk(int t, int nthreads, size_t n, size_t *lo, size_t *hi) {
  size_t per = (n / (size_t)nthreads) & ~(size_t)63;
  *lo = per * (size_t)t;
  *hi = t == nthreads - 1 ? n : *lo + per;
}

/* Thread t's part of job `kind`; its result goes to the sink. */
static void do_job(int kind, int t) {
  size_t lo, hi;
  chunk(t, team.nthreads, team.n, &lo, &hi);
  float (*peak)(long, float) = NULL;
  switch (kind) {
  case JOB_FIRST_TOUCH:
    for (size_t i = lo; i < hi; ++i)
      team.array[i] = (float)(i & 1023) * 1e-3f;
    return;
  case JOB_READ:
    team.sink[t] = read_kernel(team.array + lo, hi - lo);
    return;
  case JOB_FMA:
    peak = fma_kernel;
    break;
  case JOB_DPBUSD:
    peak = dpbusd_kernel;
    break;
  case JOB_DPBUSD512:
    peak = dpbusd512_kernel;
    break;
  case JOB_DPBF16:
    peak = dpbf16_kernel;
    break;
  default:
    return;
  }
  team.sink[t] = peak(team.fma_iters, (float)t);
}

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  for (;;) {
    pthread_barrier_wait(&team.start);
    if (team.kind == JOB_QUIT)
      return NULL;
    do_job(team.kind, t);
    pthread_barrier_wait(&team.done);
  }
}

/* Runs one job on threads 0..nthreads-1 (the caller is thread 0); returns its wall time. */
static double run_job(int kind) {
  team.kind = kind;
  double t0 = now();
  pthread_barrier_wait(&team.start);
  do_job(kind, 0);
  pthread_barrier_wait(&team.done);
  return now() - t0;
}

/* The best rate of peak loop `kind` over `runs` runs at the calibrated
   iteration count, in G operations per second: `ops` per chain step (2 per
   lane for an FMA, 2 per byte or bf16 pair for the dot products). 0 when the
   CPU lacks the instruction (`have` false). */
static double peak_rate(int kind, int have, double ops, int nthreads, int runs) {
  double best = 0;
  for (int k = 0; have && k < runs; ++k) {
    double t = run_job(kind);
    double rate = ops * NACC * (double)team.fma_iters * nthreads / t / 1e9;
    if (rate > best)
      best = rate;
  }
  return best;
}

typedef struct {
  double read_gbs, read_gbs_median, fma_gflops, dpbusd_gops, dpbf16_gflops, dpbusd512_gops;
} result_t;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static result_t measure(int nthreads, float *array, size_t n, int runs) {
  pthread_t tid[64];
  team.nthreads = nthreads;
  team.array = array;
  team.n = n;
  pthread_barrier_init(&team.start, NULL, (unsigned)nthreads);
  pthread_barrier_init(&team.done, NULL, (unsigned)nthreads);
  for (int t = 1; t < nthreads; ++t)
    pthread_create(&tid[t], NULL, worker, (void *)(intptr_t)t);

  result_t r = {0, 0, 0, 0, 0, 0};
  double all_gbs[256];
  run_job(JOB_FIRST_TOUCH); /* pages land where their reader runs */
  run_job(JOB_READ);        /* warm-up */
  for (int k = 0; k < runs; ++k) {
    double s = run_job(JOB_READ);
    double gbs = (double)n * sizeof(float) / s / 1e9;
    all_gbs[k] = gbs;
    if (gbs > r.read_gbs)
      r.read_gbs = gbs;
  }
  qsort(all_gbs, (size_t)runs, sizeof(double), cmp_double);
  r.read_gbs_median = all_gbs[runs / 2];

  /* Calibrate to ~0.2 s per run so frequency ramps and timer noise wash out;
     the other peak loops run at the FMA loop's iteration count. */
  team.fma_iters = 1 << 20;
  double s = run_job(JOB_FMA);
  team.fma_iters = (long)((double)team.fma_iters * 0.2 / (s > 1e-6 ? s : 1e-6));
  if (team.fma_iters < 1000)
    team.fma_iters = 1000;
  r.fma_gflops = peak_rate(JOB_FMA, 1, 2.0 * VLEN, nthreads, runs);
  /* 256-bit vpdpbusd: 32 byte products and 32 adds; 512-bit: 64 and 64. */
  r.dpbusd_gops = peak_rate(JOB_DPBUSD, HAVE_DPBUSD, 64.0, nthreads, runs);
  r.dpbusd512_gops = peak_rate(JOB_DPBUSD512, HAVE_DPBUSD512, 128.0, nthreads, runs);
  /* vdpbf16ps: 32 bf16 pair products and 32 adds. */
  r.dpbf16_gflops = peak_rate(JOB_DPBF16, HAVE_DPBF16, 64.0, nthreads, runs);

  team.kind = JOB_QUIT;
  pthread_barrier_wait(&team.start);
  for (int t = 1; t < nthreads; ++t)
    pthread_join(tid[t], NULL);
  pthread_barrier_destroy(&team.start);
  pthread_barrier_destroy(&team.done);
  return r;
}

int main(int argc, char **argv) {
  int nthreads = 2, runs = 10;
  size_t mib = 1024;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      nthreads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
      mib = (size_t)atol(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--cpu-time"))
      use_cpu_time = 1;
    else {
      fprintf(stderr, "usage: machine [--threads N] [--mb MiB] [--runs R] [--cpu-time]\n");
      return 2;
    }
  }
  if (nthreads < 1 || nthreads > 64 || runs < 1 || runs > 256 || mib < 1) {
    fprintf(stderr, "machine: bad arguments\n");
    return 2;
  }
  size_t n = mib * 1024 * 1024 / sizeof(float);
  float *array = NULL;
  if (posix_memalign((void **)&array, 2 * 1024 * 1024, n * sizeof(float)) != 0) {
    fprintf(stderr, "machine: cannot allocate %zu MiB\n", mib);
    return 1;
  }
#ifdef MADV_HUGEPAGE
  madvise(array, n * sizeof(float), MADV_HUGEPAGE); /* fewer TLB misses, when THP allows */
#endif
  result_t one = measure(1, array, n, runs > 3 ? 3 : runs);
  result_t all = measure(nthreads, array, n, runs);
  printf("machine threads=%d isa=%s array_mib=%zu runs=%d read_gbs=%.2f read_gbs_median=%.2f "
         "read_gbs_1t=%.2f fma_gflops=%.1f fma_gflops_1t=%.1f dpbusd_gops=%.1f "
         "dpbf16_gflops=%.1f dpbusd512_gops=%.1f dpbusd512_gops_1t=%.1f\n",
         nthreads, ISA, mib, runs, all.read_gbs, all.read_gbs_median, one.read_gbs,
         all.fma_gflops, one.fma_gflops, all.dpbusd_gops, all.dpbf16_gflops, all.dpbusd512_gops,
         one.dpbusd512_gops);
  free(array);
  return 0;
}
