#!/usr/bin/env bash
# fuzz/run.sh DURATION_SECONDS [TARGET]
#
# Builds the libFuzzer targets in build-fuzz (clang-19, -DTFC_BUILD_FUZZERS=ON) and
# runs each (or the one named) for DURATION_SECONDS, one after the other. The
# seeds of fuzz/corpus/<target> are read, never written: the growing corpus, the
# log and any crash input live in build-fuzz/fuzz-work/<target>/. Exits 1 when a
# target found a crash (or a leak, a timeout, an out-of-memory); each is then
# printed with the command that replays it. A crash becomes a test of test/Fuzz
# (see fuzz/README.md).
#
# Environment: TFC_FUZZ_BUILD_DIR (default build-fuzz), TFC_FUZZ_ARGS (extra
# libFuzzer flags, e.g. "-jobs=2 -workers=2").
set -euo pipefail
cd "$(dirname "$0")/.."

# The targets are the fuzz/<name>_fuzzer.cpp files: tfc-fuzz-<name> ('_' spelled '-'),
# seeded from fuzz/corpus/<name> and fuzz/<name>.dict.
known=()
for src in fuzz/*_fuzzer.cpp; do
  name=$(basename "$src" _fuzzer.cpp)
  known+=("${name//_/-}")
done
usage() { echo "usage: fuzz/run.sh DURATION_SECONDS [$(IFS='|'; echo "${known[*]}")]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
duration=$1
[[ $duration =~ ^[0-9]+$ ]] && [ "$duration" -gt 0 ] || usage
if [ $# -eq 2 ]; then
  [[ " ${known[*]} " == *" $2 "* ]] || usage
  targets=("$2")
else
  targets=("${known[@]}")
fi

BUILD_DIR=${TFC_FUZZ_BUILD_DIR:-build-fuzz}
if ! grep -q '\bfuzz\b' CMakeLists.txt; then
  echo "fuzz/run.sh: the top-level CMakeLists.txt does not add fuzz/ (its foreach over the parts)" >&2
  exit 1
fi
scripts/setup.sh
cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DTFC_BUILD_FUZZERS=ON >/dev/null

status=0
for t in "${targets[@]}"; do
  bin=$BUILD_DIR/bin/tfc-fuzz-$t
  if ! ninja -C "$BUILD_DIR" -t query "tfc-fuzz-$t" >/dev/null 2>&1; then
    echo "fuzz/run.sh: no target tfc-fuzz-$t in $BUILD_DIR (each needs the library it fuzzes in the build)" >&2
    status=1
    continue
  fi
  ninja -C "$BUILD_DIR" "tfc-fuzz-$t"
  work=$BUILD_DIR/fuzz-work/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  # The seeds of tfc-fuzz-<name> are fuzz/corpus/<name> with '_' for '-'
  # (generation_config). A second reader of another target's format
  # (convert-safetensors: tfc convert's safetensors reader) shares that
  # target's seeds and dictionary.
  base=${t//-/_}
  [ -d "fuzz/corpus/$base" ] || base=${t#*-}
  if [ ! -d "fuzz/corpus/$base" ]; then
    echo "fuzz/run.sh: no seeds for $t (fuzz/corpus/${t//-/_})" >&2
    status=1
    continue
  fi
  seeds=fuzz/corpus/$base
  dict=()
  [ -f "fuzz/$base.dict" ] && dict=(-dict="fuzz/$base.dict")
  echo "fuzz/run.sh: $t for ${duration}s (log: $work/log)"
  touch "$work/started" # artifacts of earlier runs are not reported again
  rc=0
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$duration" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$work/artifacts/" ${TFC_FUZZ_ARGS:-} \
    "$work/corpus" "$seeds" >"$work/log" 2>&1 || rc=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$work/log" || true
  found=$(find "$work/artifacts" -type f -newer "$work/started" 2>/dev/null | sort || true)
  if [ $rc -ne 0 ] || [ -n "$found" ]; then
    status=1
    echo "fuzz/run.sh: $t FAILED (exit $rc); see $work/log"
    for f in $found; do echo "  replay: $bin $f"; done
  else
    echo "fuzz/run.sh: $t found nothing"
  fi
done
exit $status
