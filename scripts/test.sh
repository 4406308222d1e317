#!/usr/bin/env bash
# The README's test command: install what is missing, build, run the whole test
# suite (lit: dialect, passes, front end, driver, runtime, tools, numeric checks
# against numpy), and end with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TFC_BUILD_DIR:-build}
scripts/setup.sh
scripts/build.sh "$@"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
/usr/bin/python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv "$BUILD_DIR/test" | tee "$log" || status=$?

# lit's summary aligns its counts: "  Passed     : 60".
count() { sed -n -E "s/^ *$1 *: *([0-9]+).*/\1/p" "$log" | head -n 1; }
passed=$(( $(count 'Passed' || true) + $(count 'Expectedly Failed' || true) + 0 ))
failed=$(( $(count 'Failed' || true) + $(count 'Unexpectedly Passed' || true) + $(count 'Unresolved' || true) + $(count 'Timed Out' || true) + 0 ))
skipped=$(( $(count 'Unsupported' || true) + $(count 'Skipped' || true) + $(count 'Excluded' || true) + 0 ))
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
