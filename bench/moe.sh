#!/usr/bin/env bash
# bench/moe.sh [--quick] [--profile]: mixtures of experts against this machine's limits (issue 18).
#
# Compiles bench/models/deepseek_v2_lite_slice.tdsl (f32, --weight-type=bf16 and q8_0) and
# bench/models/mixtral_slice.tdsl (bf16: its f32 weights are 5.9 GB) with the default
# (grouped) MoE lowering, measures the read bandwidth and FMA peak (bench/machine.c), runs
# bench/bench.c with random weights and 2 threads, and prints per model and weight type:
# prefill of 512 tokens (tok/s, GFLOP/s on the active parameters, % of the FMA peak) and
# decode after a 16-token prompt (tok/s, GB/s on the bytes of the active parameters, % of
# the read bandwidth). Active: a token uses top_k of the routed experts (6 of 64, 2 of 8;
# bench --active-experts). --quick: one repeat, 8 decode tokens, prefill 128.
# --profile: also perf-records 2-thread decode steps of each model (no prefill) and
# prints where their cycles go: the model's kernels, libomp (threads waiting at
# barriers and forks/joins: synchronization, not work), the runtime, the kernel;
# and counts the OpenMP parallel regions (forks/joins) and barriers per decode step
# (bench/ompt_regions.c, an OMPT tool: counts that the machine's load does not skew).
# A benchmark, not a test: no thresholds. Raw outputs stay in $BUILD_DIR/bench/moe.
set -uo pipefail
cd "$(dirname "$0")/.."

QUICK=0 PROFILE=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --profile) PROFILE=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/moe.sh: unknown option '$arg' (usage: bench/moe.sh [--quick] [--profile])" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then REPEATS=1; DECODE=8; PREFILL=128; MB=256; RUNS=3
else REPEATS=3; DECODE=32; PREFILL=512; MB=1024; RUNS=10; fi
export TFC_NUM_THREADS=2 OMP_NUM_THREADS=2

BUILD_DIR=${TFC_BUILD_DIR:-build}
OUT=$BUILD_DIR/bench/moe
mkdir -p "$OUT"
CC=${CC:-clang-19}
if ! TFC_BUILD_DIR=$BUILD_DIR TFC_BUILD_TARGETS="tfc tfcrt" scripts/build.sh >"$OUT/build.log" 2>&1; then
  tail -20 "$OUT/build.log" >&2
  echo "bench/moe.sh: the build failed" >&2
  exit 1
fi
$CC -std=c99 -O3 -march=native -pthread -Wall bench/machine.c -o "$OUT/machine" || exit 1
$CC -std=c99 -O2 -Wall -I runtime/include bench/bench.c -ldl -o "$OUT/bench" || exit 1
if [ "$PROFILE" = 1 ]; then
  $CC -shared -fPIC -O2 -Wall bench/ompt_regions.c -o "$OUT/ompt_regions.so" || exit 1
fi

# value FILE KIND KEY: KEY's value on the first line of FILE starting with KIND.
value() {
  awk -v kind="$2" -v key="$3" '$1 == kind { for (i = 2; i <= NF; i++) { split($i, kv, "=")
    if (kv[1] == key) { print kv[2]; exit } } }' "$1" 2>/dev/null
}
calc() { awk "BEGIN { printf \"%.1f\", ($1) }" 2>/dev/null || printf -- "-"; }

# Other work on the 2 cores skews every number below: the load average is printed, and the
# machine is measured before and after the models (the best is used), as bench/run.sh does,
# so that a dip during one measurement does not lower the ceilings.
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
"$OUT/machine" --threads 2 --mb "$MB" --runs "$RUNS" >"$OUT/machine.txt"

# model:dtype:experts (top_k/E)
RUNS_LIST="deepseek_v2_lite_slice:f32:6/64 deepseek_v2_lite_slice:bf16:6/64 deepseek_v2_lite_slice:q8_0:6/64 mixtral_slice:bf16:2/8"
ROWS=()
for run in $RUNS_LIST; do
  IFS=: read -r model dtype active <<<"$run"
  so=$OUT/$model.$dtype.so txt=$OUT/$model.$dtype.txt
  # Bytes per element of the linear layers' weights (Q8_0: 34 bytes per 32).
  case "$dtype" in bf16) wb=2 ;; q8_0) wb=1.0625 ;; *) wb=4 ;; esac
  if ! "$BUILD_DIR/bin/tfc" "bench/models/$model.tdsl" -o "$so" --weight-type="$dtype" \
      >"$OUT/$model.$dtype.compile.log" 2>&1; then
    ROWS+=("$model:$dtype:compile failed ($OUT/$model.$dtype.compile.log)")
    continue
  fi
  if ! "$OUT/bench" "$so" --prefill "$PREFILL" --decode "$DECODE" --prompt 16 \
      --repeats "$REPEATS" --weight-bytes "$wb" --active-experts "$active" >"$txt" 2>"$txt.err"; then
    ROWS+=("$model:$dtype:run failed ($txt.err)")
    continue
  fi
  ROWS+=("$model:$dtype:")
  if [ "$PROFILE" = 1 ]; then
    # Decode steps only (--prompt 16 then --decode), sampled on every thread.
    perf record -q -o "$OUT/$model.$dtype.perf.data" "$OUT/bench" "$so" --decode "$((4 * DECODE))" \
      --prompt 16 --repeats 1 --weight-bytes "$wb" --active-experts "$active" \
      >/dev/null 2>"$OUT/$model.$dtype.perf.err" || echo "bench/moe.sh: perf record failed ($OUT/$model.$dtype.perf.err)" >&2
    # OpenMP regions and barriers of DECODE and 2 x DECODE steps: their difference is
    # DECODE steps' worth (the load, the prompt and the warm-up cancel out).
    for steps in "$DECODE" "$((2 * DECODE))"; do
      OMP_TOOL_LIBRARIES=$PWD/$OUT/ompt_regions.so "$OUT/bench" "$so" --decode "$steps" --prompt 16 \
        --repeats 1 --weight-bytes "$wb" --active-experts "$active" 2>&1 >/dev/null |
        grep '^ompt ' >"$OUT/$model.$dtype.ompt.$steps"
    done
  fi
done
"$OUT/machine" --threads 2 --mb "$MB" --runs "$RUNS" >>"$OUT/machine.txt"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
# best KEY: the highest of KEY over every machine line.
best() { awk -v key="$1" '$1 == "machine" { for (i = 2; i <= NF; i++) { split($i, kv, "=")
  if (kv[1] == key && kv[2] + 0 > b) b = kv[2] + 0 } } END { print b }' "$OUT/machine.txt"; }
BW=$(best read_gbs)
PEAK=$(best fma_gflops)

echo
echo "mixtures of experts — $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null), TFC_NUM_THREADS=2$([ "$QUICK" = 1 ] && echo ", --quick")"
echo "load average before the run: $LOAD0; after: $LOAD1 (numbers taken under load are not comparable)"
echo "read bandwidth $BW GB/s, FMA peak $PEAK GFLOP/s (bench/machine.c, 2 threads, best of before and after)"
H="%-24s %-5s %9s %9s %6s %9s %9s %6s\n"
printf "$H" model dtype "pf$PREFILL t/s" "pf GF/s" "%fma" "dec t/s" "dec GB/s" "%bw"
PROFILED=()
for row in "${ROWS[@]}"; do
  IFS=: read -r model dtype failure <<<"$row"
  if [ -n "$failure" ]; then
    printf "%-24s %-5s %s\n" "$model" "$dtype" "$failure"
    continue
  fi
  txt=$OUT/$model.$dtype.txt
  pf_ts=$(value "$txt" prefill tok_s); pf_gf=$(value "$txt" prefill gflops)
  dec_ts=$(value "$txt" decode tok_s); dec_gb=$(value "$txt" decode gbs)
  printf "$H" "$model" "$dtype" "$pf_ts" "$pf_gf" "$(calc "100 * $pf_gf / $PEAK")" \
    "$dec_ts" "$dec_gb" "$(calc "100 * $dec_gb / $BW")"
done

# --profile: per model, the decode's samples split between the generated code
# (the decoder's functions and the kernels tfc-outline-kernels moved out of them,
# tfc_kernel_N) and libomp (threads spinning at barriers and at forks
# and joins: synchronization, not work). The rest (the random weights' fill before
# the steps, page faults) is left out.
if [ "$PROFILE" = 1 ]; then
  echo
  echo "decode profile (perf, 2 threads): % of the samples in the decoder's code and in libomp"
  for run in $RUNS_LIST; do
    IFS=: read -r model dtype _ <<<"$run"
    data=$OUT/$model.$dtype.perf.data
    [ -f "$data" ] || continue
    perf report -q -i "$data" --no-children --sort dso,symbol 2>/dev/null >"$OUT/$model.$dtype.profile.txt"
    awk -v m="$model" -v d="$dtype" '
      { p = $1; sub("%", "", p); p += 0 }
      $2 ~ /libomp/ { omp += p; next }
      $0 ~ /\[\.\] (decoder|tfc_kernel_)/ { code += p }
      END { if (code + omp > 0) printf "%-24s %-5s decoder code %5.1f %%  libomp %5.1f %%\n",
            m, d, 100 * code / (code + omp), 100 * omp / (code + omp) }' "$OUT/$model.$dtype.profile.txt"
  done
  echo "(full reports: $OUT/*.profile.txt)"
  echo
  echo "OpenMP per decode step (bench/ompt_regions.c; barriers summed over the 2 threads)"
  for run in $RUNS_LIST; do
    IFS=: read -r model dtype _ <<<"$run"
    one=$OUT/$model.$dtype.ompt.$DECODE two=$OUT/$model.$dtype.ompt.$((2 * DECODE))
    [ -s "$one" ] && [ -s "$two" ] || continue
    r1=$(value "$one" ompt parallel_regions) r2=$(value "$two" ompt parallel_regions)
    b1=$(value "$one" ompt barriers) b2=$(value "$two" ompt barriers)
    printf "%-24s %-5s parallel regions %6s  barriers %7s\n" "$model" "$dtype" \
      "$(calc "($r2 - $r1) / $DECODE")" "$(calc "($b2 - $b1) / $DECODE")"
  done
fi
