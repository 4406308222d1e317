#!/usr/bin/env bash
# bench/batch.sh [--quick]: aggregate decode throughput of concurrent streams (issue #19).
#
# Compiles bench/models/tinyllama_slice4.tdsl and stories15m.tdsl (f32 and --weight-type=bf16)
# and runs bench/batch.c on each with random weights and 2 threads: for 1, 2, 4, 8 and 16
# greedy streams, the aggregate tokens/s of one tfc_decode_batch call per step against one
# tfc_decode call per stream and step, and the time to the first token of a request whose
# 16-token prompt joins the others' decode step (against the plain step). bench/serve.sh
# measures the same through tfc-serve on loopback. The target of issue #19 is >= 5x one
# stream's throughput at 8 streams on the TinyLlama slice.
# --quick: 8 generated tokens, one repeat.
# A benchmark, not a test: no thresholds. Raw outputs stay in $BUILD_DIR/bench/batch/.
set -uo pipefail
cd "$(dirname "$0")/.."

TOKENS=32 REPEATS=2
case "${1:-}" in
  --quick) TOKENS=8 REPEATS=1 ;;
  "") ;;
  *) echo "usage: bench/batch.sh [--quick]" >&2; exit 2 ;;
esac
export TFC_NUM_THREADS=2 OMP_NUM_THREADS=2
source bench/lib.sh
bench_setup batch "tfc tfcrt"
bench_cc batch

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the cores skews every figure)"
printf '%-18s %-5s %7s %12s %12s %8s %9s %9s\n' model dtype streams "batched/s" "one-by-one/s" \
  "vs 1" "ttft ms" "step ms"
for model in tinyllama_slice4 stories15m; do
  for dtype in f32 bf16; do
    so=$OUT/$model.$dtype.so
    "$BUILD_DIR/bin/tfc" "bench/models/$model.tdsl" --weight-type=$dtype -o "$so" ||
      { echo "$model $dtype: compile failed"; continue; }
    "$OUT/batch" "$so" --streams 1,2,4,8,16 --tokens $TOKENS --repeats $REPEATS \
      >"$OUT/$model.$dtype.txt" || { echo "$model $dtype: run failed"; continue; }
    awk -v m=$model -v d=$dtype '
      { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
      v["n"] == 1 { one = v["batched_tok_s"] }
      { printf "%-18s %-5s %7d %12.1f %12.1f %7.2fx %9.1f %9.1f\n", m, d, v["n"],
          v["batched_tok_s"], v["sequential_tok_s"], v["batched_tok_s"] / one, v["ttft_ms"],
          v["step_ms"] }' "$OUT/$model.$dtype.txt"
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
