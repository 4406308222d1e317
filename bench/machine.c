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

typedef struct {
  pthread_barrier_t start, done;
  int nthreads;
  int kind; /* 0 read, 1 fma, -1 quit */
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

#define NACC 16
static float fma_kernel(long iters, float seed) {
  /* 16 independent chains hide a 4-cycle latency on 2 pipes with room to spare;
     x*m + c with m < 1 converges to c/(1-m): no overflow, no denormals. */
  vec acc[NACC];
  for (int k = 0; k < NACC; ++k)
    acc[k] = vset1(seed + (float)k);
  const vec m = vset1(0.999999f), c = vset1(1e-6f);
  for (long it = 0; it < iters; ++it) {
#pragma clang loop unroll(full)
    for (int k = 0; k < NACC; ++k)
      acc[k] = vfma(acc[k], m, c);
    /* Keep the compiler from folding iterations together. */
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]),
                     "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]));
    __asm__ volatile("" : "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]),
                     "+v"(acc[12]), "+v"(acc[13]), "+v"(acc[14]), "+v"(acc[15]));
  }
  vec s = acc[0];
  for (int k = 1; k < NACC; ++k)
    s = vadd(s, acc[k]);
  return vsum(s);
}

#if (defined(__AVX512VNNI__) && defined(__AVX512VL__)) || defined(__AVXVNNI__)
#define HAVE_DPBUSD 1
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define dpbusd(acc, a, b) _mm256_dpbusd_epi32(acc, a, b)
#else
#define dpbusd(acc, a, b) _mm256_dpbusd_avx_epi32(acc, a, b)
#endif
static float dpbusd_kernel(long iters, float seed) {
  /* Independent chains as in fma_kernel; the sums wrap harmlessly. */
  __m256i acc[NACC];
  for (int k = 0; k < NACC; ++k)
    acc[k] = _mm256_set1_epi32((int)seed + k);
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-5);
  for (long it = 0; it < iters; ++it) {
#pragma clang loop unroll(full)
    for (int k = 0; k < NACC; ++k)
      acc[k] = dpbusd(acc[k], a, b);
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]),
                     "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]));
    __asm__ volatile("" : "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]),
                     "+v"(acc[12]), "+v"(acc[13]), "+v"(acc[14]), "+v"(acc[15]));
  }
  __m256i s = acc[0];
  for (int k = 1; k < NACC; ++k)
    s = _mm256_add_epi32(s, acc[k]);
  return (float)_mm256_extract_epi32(s, 0);
}
#else
#define HAVE_DPBUSD 0
static float dpbusd_kernel(long iters, float seed) { return seed + (float)iters; }
#endif

#if defined(__AVX512VNNI__)
#define HAVE_DPBUSD512 1
static float dpbusd512_kernel(long iters, float seed) {
  __m512i acc[NACC];
  for (int k = 0; k < NACC; ++k)
    acc[k] = _mm512_set1_epi32((int)seed + k);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
  for (long it = 0; it < iters; ++it) {
#pragma clang loop unroll(full)
    for (int k = 0; k < NACC; ++k)
      acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]),
                     "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]));
    __asm__ volatile("" : "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]),
                     "+v"(acc[12]), "+v"(acc[13]), "+v"(acc[14]), "+v"(acc[15]));
  }
  __m512i s = acc[0];
  for (int k = 1; k < NACC; ++k)
    s = _mm512_add_epi32(s, acc[k]);
  return (float)_mm512_reduce_add_epi32(s);
}
#else
#define HAVE_DPBUSD512 0
static float dpbusd512_kernel(long iters, float seed) { return seed + (float)iters; }
#endif

#if defined(__AVX512BF16__)
#define HAVE_DPBF16 1
static float dpbf16_kernel(long iters, float seed) {
  /* Independent chains as in fma_kernel; each step adds 2e-6 per lane. */
  __m512 acc[NACC];
  for (int k = 0; k < NACC; ++k)
    acc[k] = _mm512_set1_ps(seed + (float)k);
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  for (long it = 0; it < iters; ++it) {
#pragma clang loop unroll(full)
    for (int k = 0; k < NACC; ++k)
      acc[k] = _mm512_dpbf16_ps(acc[k], a, a);
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]),
                     "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]));
    __asm__ volatile("" : "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]),
                     "+v"(acc[12]), "+v"(acc[13]), "+v"(acc[14]), "+v"(acc[15]));
  }
  __m512 s = acc[0];
  for (int k = 1; k < NACC; ++k)
    s = _mm512_add_ps(s, acc[k]);
  return _mm512_reduce_add_ps(s);
}
#else
#define HAVE_DPBF16 0
static float dpbf16_kernel(long iters, float seed) { return seed + (float)iters; }
#endif

static void chunk(int t, int nthreads, size_t n, size_t *lo, size_t *hi) {
  size_t per = (n / (size_t)nthreads) & ~(size_t)63;
  *lo = per * (size_t)t;
  *hi = t == nthreads - 1 ? n : *lo + per;
}

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  for (;;) {
    pthread_barrier_wait(&team.start);
    if (team.kind < 0)
      return NULL;
    size_t lo, hi;
    chunk(t, team.nthreads, team.n, &lo, &hi);
    if (team.kind == 0)
      team.sink[t] = read_kernel(team.array + lo, hi - lo);
    else if (team.kind == 1)
      team.sink[t] = fma_kernel(team.fma_iters, (float)t);
    else if (team.kind == 3)
      team.sink[t] = dpbusd_kernel(team.fma_iters, (float)t);
    else if (team.kind == 4)
      team.sink[t] = dpbf16_kernel(team.fma_iters, (float)t);
    else if (team.kind == 5)
      team.sink[t] = dpbusd512_kernel(team.fma_iters, (float)t);
    else /* 2: first touch of this thread's part */
      for (size_t i = lo; i < hi; ++i)
        team.array[i] = (float)(i & 1023) * 1e-3f;
    pthread_barrier_wait(&team.done);
  }
}

/* Runs one job on threads 0..nthreads-1 (the caller is thread 0); returns its wall time. */
static double run_job(int kind) {
  double t0 = now();
  pthread_barrier_wait(&team.start);
  size_t lo, hi;
  chunk(0, team.nthreads, team.n, &lo, &hi);
  if (kind == 0)
    team.sink[0] = read_kernel(team.array + lo, hi - lo);
  else if (kind == 1)
    team.sink[0] = fma_kernel(team.fma_iters, 0.0f);
  else if (kind == 3)
    team.sink[0] = dpbusd_kernel(team.fma_iters, 0.0f);
  else if (kind == 4)
    team.sink[0] = dpbf16_kernel(team.fma_iters, 0.0f);
  else if (kind == 5)
    team.sink[0] = dpbusd512_kernel(team.fma_iters, 0.0f);
  else
    for (size_t i = lo; i < hi; ++i)
      team.array[i] = (float)(i & 1023) * 1e-3f;
  pthread_barrier_wait(&team.done);
  return now() - t0;
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
  team.kind = 2;
  run_job(2); /* first touch: pages land where their reader runs */
  team.kind = 0;
  run_job(0); /* warm-up */
  for (int k = 0; k < runs; ++k) {
    double s = run_job(0);
    double gbs = (double)n * sizeof(float) / s / 1e9;
    all_gbs[k] = gbs;
    if (gbs > r.read_gbs)
      r.read_gbs = gbs;
  }
  qsort(all_gbs, (size_t)runs, sizeof(double), cmp_double);
  r.read_gbs_median = all_gbs[runs / 2];

  /* Calibrate to ~0.2 s per run so frequency ramps and timer noise wash out. */
  team.kind = 1;
  team.fma_iters = 1 << 20;
  double s = run_job(1);
  team.fma_iters = (long)((double)team.fma_iters * 0.2 / (s > 1e-6 ? s : 1e-6));
  if (team.fma_iters < 1000)
    team.fma_iters = 1000;
  for (int k = 0; k < runs; ++k) {
    double t = run_job(1);
    double gflops = 2.0 * VLEN * NACC * (double)team.fma_iters * nthreads / t / 1e9;
    if (gflops > r.fma_gflops)
      r.fma_gflops = gflops;
  }
  /* The int8 dot product, at the FMA loop's iteration count (same chains). */
  team.kind = 3;
  for (int k = 0; HAVE_DPBUSD && k < runs; ++k) {
    double t = run_job(3);
    double gops = 64.0 * NACC * (double)team.fma_iters * nthreads / t / 1e9;
    if (gops > r.dpbusd_gops)
      r.dpbusd_gops = gops;
  }
  /* The 512-bit int8 dot product: 64 byte products and 64 adds. */
  team.kind = 5;
  for (int k = 0; HAVE_DPBUSD512 && k < runs; ++k) {
    double t = run_job(5);
    double gops = 128.0 * NACC * (double)team.fma_iters * nthreads / t / 1e9;
    if (gops > r.dpbusd512_gops)
      r.dpbusd512_gops = gops;
  }
  /* The bf16 pair dot product, likewise. */
  team.kind = 4;
  for (int k = 0; HAVE_DPBF16 && k < runs; ++k) {
    double t = run_job(4);
    double gflops = 64.0 * NACC * (double)team.fma_iters * nthreads / t / 1e9;
    if (gflops > r.dpbf16_gflops)
      r.dpbf16_gflops = gflops;
  }

  team.kind = -1;
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
