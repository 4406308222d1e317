#!/usr/bin/env bash
# bench/forkjoin.sh [--quick]: decode of the stories15M shape with one OpenMP region per model
# function (tfc-merge-parallel-regions, the default) against the threads forked and joined
# around every kernel (tfc --no-merge-regions), f32 and --weight-type=bf16, 2 threads, one
# stream (issue #16, "Small models": >= 80 % of the read bandwidth).
#
# Compiles bench/models/stories15m.tdsl both ways, measures the read bandwidth (bench/machine.c,
# before and after; the best is the ceiling), and runs bench/batch.c --streams 1 on the four
# libraries interleaved (A B A B ...), so that a shift of the machine's load hits both alike.
# Prints per variant the best and median tokens/s of tfc_decode (one call per token), the
# bytes a step reads (every linear layer's weights, the lm_head, the norms and one embedding
# row; the KV cache of these short contexts adds < 1 %), the achieved GB/s and its share of
# the read bandwidth, with the load average beside the figures.
# --quick: 2 rounds of 16 tokens instead of 5 rounds of 64.
# A benchmark, not a test: no thresholds. Raw outputs stay in $BUILD_DIR/bench/forkjoin/.
set -uo pipefail
cd "$(dirname "$0")/.."

ROUNDS=5 TOKENS=64
case "${1:-}" in
  --quick) ROUNDS=2 TOKENS=16 ;;
  "") ;;
  *) echo "usage: bench/forkjoin.sh [--quick]" >&2; exit 2 ;;
esac
export TFC_NUM_THREADS=2 OMP_NUM_THREADS=2
source bench/lib.sh
bench_setup forkjoin "tfc tfcrt"
bench_cc batch
bench_cc machine

# The stories15M shape (bench/models/stories15m.tdsl): dim 288, 6 layers, MHA (kv dim 288),
# ffn 768, vocab 32000. Linear-layer weights per step, and the f32 norms + embedding row.
DIM=288 LAYERS=6 FFN=768 VOCAB=32000
LINEAR=$((LAYERS * (4 * DIM * DIM + 3 * DIM * FFN) + VOCAB * DIM))
F32_EXTRA=$(((2 * LAYERS + 1) * DIM + DIM))
step_bytes() { case $1 in f32) echo $((4 * (LINEAR + F32_EXTRA))) ;; bf16) echo $((2 * LINEAR + 4 * F32_EXTRA)) ;; esac; }

for dtype in f32 bf16; do
  "$BUILD_DIR/bin/tfc" bench/models/stories15m.tdsl --weight-type=$dtype -o "$OUT/merged.$dtype.so" &&
    "$BUILD_DIR/bin/tfc" bench/models/stories15m.tdsl --weight-type=$dtype --no-merge-regions \
      -o "$OUT/forkjoin.$dtype.so" || { echo "bench: compiling stories15m ($dtype) failed" >&2; exit 1; }
done

# One round of VARIANT DTYPE: tfc_decode of one stream.
run_variant() { "$OUT/batch" "$OUT/$1.$2.so" --streams 1 --tokens "$TOKENS" --repeats 1; }
bench_ab "$ROUNDS" run_variant "forkjoin f32" "merged f32" "forkjoin bf16" "merged bf16"

echo "stories15M decode, 2 threads, 1 stream, $ROUNDS interleaved rounds of $TOKENS tokens"
echo "load average: $LOAD0 at start, $LOAD1 at end (other work on the 2 cores skews every figure)"
echo "read bandwidth: $BW GB/s (best of bench/machine.c before and after)"
printf '%-6s %-9s %12s %12s %12s %9s %7s\n' dtype variant "MB/step" "best tok/s" "median tok/s" \
  "GB/s" "%bw"
for dtype in f32 bf16; do
  bytes=$(step_bytes $dtype)
  for variant in forkjoin merged; do
    # tfc_decode tokens/s of each run, ascending (mawk has no asort).
    awk -v v=$variant -v d=$dtype '$1 == v && $2 == d { for (i = 3; i <= NF; i++) {
      split($i, kv, "="); if (kv[1] == "sequential_tok_s") print kv[2] + 0 } }' "$OUT/runs.txt" |
      sort -g | awk -v v=$variant -v d=$dtype -v bytes="$bytes" -v bw="$BW" '
      { t[++n] = $1 }
      END {
        if (n == 0) { printf "%-6s %-9s %12.2f %12s\n", d, v, bytes / 1e6, "no runs"; exit }
        best = t[n]; med = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
        gbs = bytes * best / 1e9
        printf "%-6s %-9s %12.2f %12.1f %12.1f %9.1f %6.0f%%\n", d, v, bytes / 1e6, best, med,
          gbs, 100 * gbs / bw }'
  done
done
echo "forkjoin: tfc --no-merge-regions (a fork/join per kernel); merged: the default (one region"
echo "per model function). GB/s: MB/step x best tok/s; %bw of the read bandwidth. Raw: $OUT/runs.txt"
