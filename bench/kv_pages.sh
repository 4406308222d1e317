#!/bin/sh
# bench/kv_pages.sh [--quick]: decode at long context with the KV cache committed as it grows
# (the default: each session reserves its cache as address space, MAP_NORESERVE, and a page
# becomes memory when a position is first written into it, runtime/src/Session.cpp) against
# the whole reservation committed up front (TFC_KV_PREFAULT=1: the runtime writes every page
# at session creation, as the caches were before issue #19).
#
# bench/bench.c --contexts fills a fresh session to 1024, 1536 and 2000 tokens and times
# single decode steps there (TFC_NUM_THREADS=2, random weights), so the timed steps include
# the page faults of the positions they write: a new page every 4096 / (head_dim x 4 bytes)
# positions per layer, K/V head and cache. The two modes alternate, ROUNDS times (the order
# swapped every round), and each is reported as its best and worst round, their ratio
# (grown / prefaulted: 1.00 is no cost), the bytes a step reads (the decode weight bytes plus
# kv_cache_bytes_per_token x context) as GB/s against the machine's read bandwidth
# (bench/machine.c), and the peak RSS of the process (its last round). Models:
# bench/models/kv_heavy.tdsl (reads more cache than weights at 2000 tokens: where a page cost
# would show) and stories15m.tdsl. --quick: kv_heavy, context 1024, 8 steps, 2 rounds.
# A benchmark, not a test: no thresholds.
set -eu
cd "$(dirname "$0")/.."
BUILD=${TFC_BUILD_DIR:-build}
OUT=${TFC_BENCH_OUT:-$BUILD/bench-kv-pages}
CC=${CC:-clang-19}
MODELS="kv_heavy stories15m" CONTEXTS=1024,1536,2000 STEPS=32 ROUNDS=4 MB=1024
if [ "${1:-}" = "--quick" ]; then MODELS=kv_heavy CONTEXTS=1024 STEPS=8 ROUNDS=2 MB=256; fi
mkdir -p "$OUT"
$CC -std=c99 -O2 -Wall -I runtime/include bench/bench.c -ldl -o "$OUT/bench"
$CC -std=c99 -O3 -march=native -pthread -Wall bench/machine.c -o "$OUT/machine"
"$OUT/machine" --threads 2 --mb $MB --runs 5 > "$OUT/machine.txt"
READ_GBS=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^read_gbs=/) { sub("read_gbs=", "", $i); print $i } }' "$OUT/machine.txt")

echo "KV pages committed as they grow vs pre-faulted; TFC_NUM_THREADS=2, $STEPS steps per context," \
  "$ROUNDS interleaved rounds; machine read bandwidth $READ_GBS GB/s"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the cores skews every figure)"
printf "%-11s %7s %-10s %9s %9s %8s %10s %9s %8s\n" model context mode "best ms" "worst ms" \
  "grown/pf" "GB/s best" "% read bw" "RSS MB"
for model in $MODELS; do
  so=$OUT/$model.so
  "$BUILD/bin/tfc" bench/models/$model.tdsl -o "$so"
  : > "$OUT/$model.txt"
  round=1
  while [ $round -le "$ROUNDS" ]; do
    if [ $((round % 2)) -eq 1 ]; then order="grown prefaulted"; else order="prefaulted grown"; fi
    for mode in $order; do
      prefault=0
      [ $mode = prefaulted ] && prefault=1
      TFC_KV_PREFAULT=$prefault TFC_NUM_THREADS=2 "$OUT/bench" "$so" --contexts "$CONTEXTS" \
        --steps $STEPS --repeats 1 | sed "s/^/$mode /" >> "$OUT/$model.txt"
    done
    round=$((round + 1))
  done
  awk -v model=$model -v bw="$READ_GBS" '
    function val(key,   i, kv) {
      for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) return kv[2] }
      return ""
    }
    $2 == "info" { weights = val("decode_bytes"); kvtok = val("kv_bytes_per_token") }
    $2 == "rss" { rss[$1] = val("peak_mb") }
    $2 == "context" {
      key = $1 SUBSEP val("ctx"); ms = val("ms_per_tok") + 0; ctxs[val("ctx")] = 1
      if (!(key in best) || ms < best[key]) best[key] = ms
      if (!(key in worst) || ms > worst[key]) worst[key] = ms
    }
    END {
      n = 0
      for (c in ctxs) list[++n] = c + 0
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (list[j] < list[i]) { t = list[i]; list[i] = list[j]; list[j] = t }
      for (i = 1; i <= n; i++) {
        c = list[i]; g = best["grown" SUBSEP c]; p = best["prefaulted" SUBSEP c]
        for (m = 1; m <= 2; m++) {
          mode = m == 1 ? "grown" : "prefaulted"; b = best[mode SUBSEP c]
          gbs = (weights + kvtok * c) / (b * 1e6)
          printf "%-11s %7d %-10s %9.3f %9.3f %8s %10.1f %9.1f %8.1f\n", model, c, mode, b,
            worst[mode SUBSEP c], m == 1 ? sprintf("%.3f", g / p) : "", gbs, 100 * gbs / bw, rss[mode]
        }
      }
    }' "$OUT/$model.txt"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Raw outputs: $OUT/<model>.txt (one bench/bench.c output per mode and round)."
