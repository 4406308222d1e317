#!/bin/sh
# bench/kv_type.sh [--quick]: decode at long context with each KV cache type (--kv-type).
#
# Compiles bench/models/tinyllama_slice4.tdsl (TinyLlama's attention: 32 heads over 4 K/V
# heads of 64, 4 layers, max_seq 2048) with --kv-type=f32, bf16 and q8_0, fills a session
# to contexts 256, 1024 and 2000 tokens (random weights) and times single decode steps
# (bench/bench.c --contexts, TFC_NUM_THREADS=2). Prints ms/token, the bytes a step reads
# (the decode weight bytes plus the cache at that context: kv_cache_bytes_per_token x ctx),
# and that as GB/s against the machine's measured read bandwidth (bench/machine.c): a step
# bound by memory reads runs near 100 %. At 2000 tokens the slice's f32 cache is 16 MB
# next to 970 MB of weights read per step, so the cache type moves its step by little; its
# memory (and the sessions that fit) is what halves or shrinks to 34/128.
# bench/models/kv_heavy.tdsl reads more cache than weights at 2000 tokens (64 MB against
# 59 MB in f32): there the attention kernels and the cache type decide the step.
# TFC_BENCH_MODELS="m1 m2" picks models of bench/models.
#
# The KV memory of a session (reserved address space, pages committed as positions are
# written, runtime/src/Session.cpp) changes no generated code: the f32 column is the decode
# speed at long context with it.
set -eu
cd "$(dirname "$0")/.."
BUILD=${TFC_BUILD_DIR:-build}
OUT=${TFC_BENCH_OUT:-$BUILD/bench-kv}
CC=${CC:-clang-19}
STEPS=32
CONTEXTS=256,1024,2000
MB=1024
if [ "${1:-}" = "--quick" ]; then STEPS=8; CONTEXTS=256,1024; MB=256; fi
mkdir -p "$OUT"
$CC -std=c99 -O2 -Wall -I runtime/include bench/bench.c -ldl -o "$OUT/bench"
$CC -std=c99 -O3 -march=native -pthread -Wall bench/machine.c -o "$OUT/machine"
"$OUT/machine" --threads 2 --mb $MB --runs 5 > "$OUT/machine.txt"
READ_GBS=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^read_gbs=/) { sub("read_gbs=", "", $i); print $i } }' "$OUT/machine.txt")

echo "KV cache types, TFC_NUM_THREADS=2, $STEPS steps per context; machine read bandwidth $READ_GBS GB/s"
printf "%-6s %8s %10s %10s %12s %10s %10s\n" kv-type context "KV B/tok" "ms/tok" "MB read/tok" "GB/s" "% read bw"
for model in ${TFC_BENCH_MODELS:-tinyllama_slice4 kv_heavy}; do
 echo "$model:"
 for type in f32 bf16 q8_0; do
  so=$OUT/$model.$type.so
  "$BUILD/bin/tfc" bench/models/$model.tdsl --kv-type=$type -o "$so"
  TFC_NUM_THREADS=2 "$OUT/bench" "$so" --contexts "$CONTEXTS" --steps $STEPS > "$OUT/$model.$type.txt"
  awk -v type=$type -v bw="$READ_GBS" '
    function val(key,   i, kv) {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) return kv[2] }
      return ""
    }
    $1 == "info" { weights = val("decode_bytes"); kvtok = val("kv_bytes_per_token") }
    $1 == "context" {
      ctx = val("ctx"); ms = val("ms_per_tok")
      bytes = weights + kvtok * ctx
      gbs = bytes / (ms * 1e6)
      printf "%-6s %8d %10d %10.3f %12.1f %10.1f %10.1f\n", type, ctx, kvtok, ms, bytes / 1e6, gbs, 100 * gbs / bw
    }' "$OUT/$model.$type.txt"
 done
done
