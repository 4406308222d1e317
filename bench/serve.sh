#!/usr/bin/env bash
# bench/serve.sh [--quick]: tfc-serve under concurrent clients on loopback (issue #19).
#
# Compiles bench/models/tinyllama_slice4.tdsl and stories15m.tdsl (f32 and --weight-type=bf16),
# serves each with deterministic random weights, the 32000-piece Llama 2 vocabulary of
# ../shared/models/llama2-tokenizer and 2 threads, and runs bench/serve.py's load generator:
# for 1, 2, 4, 8 and 16 concurrent greedy streaming clients, the aggregate completion tokens/s
# and its ratio to one client, and the time to the first token of a new request (16-token
# prompt) while the others decode. The one-client row also gives its share of the bandwidth
# bound: the read bandwidth (bench/machine.c) over the bytes of the weights one decode step
# streams (every weight but the embedding table, of which one row is read). Then the same on
# stories260K's real weights. The target of issue #19 is >= 5x one stream's throughput at 8
# streams on the TinyLlama slice (bench/batch.sh measures it through the ABI alone).
# --quick: 8 tokens per request, one request per client, one ttft probe.
# A benchmark, not a test: no thresholds. Raw outputs stay in $BUILD_DIR/bench/serve/.
set -uo pipefail
cd "$(dirname "$0")/.."

SERVE_ARGS=(--tokens 32 --requests 2 --probes 3)
case "${1:-}" in
  --quick) SERVE_ARGS=(--tokens 8 --requests 1 --probes 1) ;;
  "") ;;
  *) echo "usage: bench/serve.sh [--quick]" >&2; exit 2 ;;
esac
TOKENIZER=../shared/models/llama2-tokenizer/tokenizer.bin
[ -f $TOKENIZER ] || { echo "bench/serve.sh: needs $TOKENIZER" >&2; exit 1; }
export TFC_NUM_THREADS=2 OMP_NUM_THREADS=2
source bench/lib.sh
bench_setup serve "tfc tfcrt tfc-serve tfc-tokenize"
bench_cc machine
export TFC_BUILD_DIR=$BUILD_DIR

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the cores skews every figure)"
"$OUT/machine" --threads 2 --mb 512 --runs 5 >"$OUT/machine.txt"
BW=$(awk '$1 == "machine" { for (i = 2; i <= NF; i++) { split($i, kv, "=")
  if (kv[1] == "read_gbs") print kv[2] } }' "$OUT/machine.txt")
echo "read bandwidth, 2 threads: $BW GB/s"

# Bytes of the weights one decode step streams: all but the embedding table (unless the
# output projection is tied to it), at the dtype's bytes per weight.
streamed_bytes() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import math, sys
sys.path.insert(0, "python")
import tfc
so, per_weight = sys.argv[1], {"f32": 4, "bf16": 2}[sys.argv[2]]
weights = tfc.Library(so).weights()
tied = not any("lm_head" in name for name, _ in weights)
print(sum(math.prod(shape) for name, shape in weights
          if tied or "embed_tokens" not in name) * per_weight)
EOF
}

header=1
for model in tinyllama_slice4 stories15m; do
  for dtype in f32 bf16; do
    so=$OUT/$model.$dtype.so
    "$BUILD_DIR/bin/tfc" "bench/models/$model.tdsl" --weight-type=$dtype -o "$so" ||
      { echo "$model $dtype: compile failed"; continue; }
    extra=()
    [ $header = 1 ] || extra=(--no-header)
    /usr/bin/python3 bench/serve.py "$so" --random-weights 1 --tokenizer $TOKENIZER \
      --clients 1,2,4,8,16 "${SERVE_ARGS[@]}" --label "$model $dtype" \
      --weight-bytes "$(streamed_bytes "$so" $dtype)" --bandwidth "$BW" "${extra[@]}" |
      tee "$OUT/$model.$dtype.txt" && header=0
  done
done
if [ -d ../shared/models/stories260K ]; then
  echo
  echo "stories260K (real weights, its own 512-piece tokenizer):"
  /usr/bin/python3 bench/serve.py --clients 1,2,4,8,16 "${SERVE_ARGS[@]}"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
