#!/usr/bin/env bash
# The README's run command: install what is missing, build, compile the
# stories260K model (a real pretrained Llama) to a shared library, and let it
# tell a story from the prompt "Once upon a time" with the shipped weights.
# Without ../shared/models it falls back to random weights and token ids.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TFC_BUILD_DIR:-build}
scripts/setup.sh
TFC_BUILD_TARGETS="tfc tfc-run tfcrt" scripts/build.sh

models=../shared/models/stories260K
out="$BUILD_DIR/stories260k.so"
echo "== tfc examples/stories260k.tdsl -o $out"
"$BUILD_DIR/bin/tfc" examples/stories260k.tdsl -o "$out" --timings

if [ -f "$models/model.safetensors" ]; then
  echo "== tfc-run: greedy story from \"Once upon a time\""
  "$BUILD_DIR/bin/tfc-run" "$out" --weights "$models/model.safetensors" \
    --tokenizer "$models/tok512.bin" --prompt "Once upon a time" -n 120
else
  echo "== $models is absent: running with random weights (the text will be noise)"
  "$BUILD_DIR/bin/tfc-run" "$out" --random-weights 1 --tokens 1,403,407,261,378 -n 32
fi
