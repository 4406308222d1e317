#!/usr/bin/env bash
# bench/outline.sh [--quick]: what tfc-outline-kernels (one function per distinct kernel body)
# changes: compile time, and decode / batched decode / prefill speed of the generated code.
#
# Compiles each model with and without --no-outline-kernels and prints the CPU seconds of the
# compile (user + sys; wall time on a shared machine is mostly waiting) and the lines of its
# optimized LLVM IR. Then runs bench/batch.c on the stories15M shape, both variants interleaved
# (A B A B ...), so that a shift of the machine's load hits both alike:
#   decode   2 threads, 1 stream: tfc_decode tokens/s (best of the rounds), as GB/s of weights
#            read per step and the share of the read bandwidth (bench/machine.c);
#   batch8   2 threads, 8 streams in one tfc_decode_batch step (the small-batch kernel);
#   ttft     the step in which a 64-token prompt joins (the prefill GEMM), milliseconds;
#   cpu      1 thread, --batched-only: CPU milliseconds of a 1-stream step (no spinning
#            threads in the figure).
# --quick: 2 rounds of 16 tokens and stories260K + stories15M only; else 5 rounds of 64 tokens
# and also examples/llama.tdsl, bench/models/tinyllama_slice4.tdsl and its 22-layer shape.
# A benchmark, not a test: no thresholds. Raw outputs stay in $BUILD_DIR/bench/outline/.
set -uo pipefail
cd "$(dirname "$0")/.."

ROUNDS=5 TOKENS=64 MODELS="examples/stories260k.tdsl bench/models/stories15m.tdsl examples/llama.tdsl bench/models/tinyllama_slice4.tdsl tinyllama22"
case "${1:-}" in
  --quick) ROUNDS=2 TOKENS=16 MODELS="examples/stories260k.tdsl bench/models/stories15m.tdsl" ;;
  "") ;;
  *) echo "usage: bench/outline.sh [--quick]" >&2; exit 2 ;;
esac
source bench/lib.sh
bench_setup outline "tfc tfcrt"
bench_cc batch
bench_cc machine
# TinyLlama-1.1B's depth (22 layers) on the slice's shapes.
sed 's/layers = 4$/layers = 22/' bench/models/tinyllama_slice4.tdsl >"$OUT/tinyllama22.tdsl"

flags() { case $1 in inline) echo --no-outline-kernels ;; outlined) echo "" ;; esac; }
TFC=$BUILD_DIR/bin/tfc

echo "compile: CPU seconds of tfc (user+sys) and lines of the optimized LLVM IR; load beside"
printf '%-22s %-9s %9s %9s %7s\n' model variant "cpu s" "IR lines" load
for m in $MODELS; do
  [ "$m" = tinyllama22 ] && m=$OUT/tinyllama22.tdsl
  for variant in inline outlined; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    cpu=$( { /usr/bin/time -f "%U %S" "$TFC" $(flags $variant) "$m" -o "$OUT/compile.so" \
             2>&1 >/dev/null; } | awk 'NF == 2 { print $1 + $2 }' | tail -1)
    lines=$("$TFC" $(flags $variant) --emit=llvmir "$m" -o - 2>/dev/null | wc -l)
    printf '%-22s %-9s %9s %9s %7s\n' "$(basename "$m" .tdsl)" $variant "$cpu" "$lines" "$load"
  done
done

for variant in inline outlined; do
  "$TFC" bench/models/stories15m.tdsl $(flags $variant) -o "$OUT/$variant.so" ||
    { echo "bench: compiling stories15m ($variant) failed" >&2; exit 1; }
done
# One round of a variant: 2 threads, 1 and 8 streams; then 1 thread, the batched step alone.
run_variant() {
  TFC_NUM_THREADS=2 OMP_NUM_THREADS=2 "$OUT/batch" "$OUT/$1.so" --streams 1,8 --prompt 64 \
    --tokens "$TOKENS" --repeats 1 || return 1
  echo "cpu:"
  TFC_NUM_THREADS=1 OMP_NUM_THREADS=1 "$OUT/batch" "$OUT/$1.so" --streams 1 --tokens "$TOKENS" \
    --repeats 1 --batched-only 1
}
bench_ab "$ROUNDS" run_variant inline outlined
# f32 weights read per decode step of stories15M (as bench/forkjoin.sh counts them).
DIM=288 LAYERS=6 FFN=768 VOCAB=32000
BYTES=$((4 * (LAYERS * (4 * DIM * DIM + 3 * DIM * FFN) + VOCAB * DIM + (2 * LAYERS + 2) * DIM)))

echo
echo "stories15M, $ROUNDS interleaved rounds of $TOKENS tokens; load average $LOAD0 at start," \
  "$LOAD1 at end; read bandwidth $BW GB/s"
printf '%-9s %14s %7s %15s %12s %14s\n' variant "decode tok/s" "%bw" "batch8 tok/s" "ttft64 ms" \
  "1-thr cpu ms"
for variant in inline outlined; do
  awk -v v=$variant -v bytes=$BYTES -v bw="$BW" '
    $1 == v { stream = 0
      for (i = 2; i <= NF; i++) { split($i, kv, "=")
        if (kv[1] == "n") stream = kv[2] + 0
        if (kv[1] == "sequential_tok_s" && stream == 1 && kv[2] + 0 > dec) dec = kv[2] + 0
        if (kv[1] == "batched_tok_s" && stream == 8 && kv[2] + 0 > b8) b8 = kv[2] + 0
        if (kv[1] == "ttft_ms" && stream == 8 && (ttft == 0 || kv[2] + 0 < ttft)) ttft = kv[2] + 0
        if (kv[1] == "step_cpu_ms" && (cpu == 0 || kv[2] + 0 < cpu)) cpu = kv[2] + 0 } }
    END { printf "%-9s %14.1f %6.0f%% %15.1f %12.2f %14.3f\n", v, dec,
            100 * bytes * dec / 1e9 / bw, b8, ttft, cpu }' "$OUT/runs.txt"
done
echo "best of the rounds (lowest for ms); inline: tfc --no-outline-kernels; outlined: the default."
echo "Raw: $OUT/runs.txt"
