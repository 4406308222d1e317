# bench/lib.sh: the setup the bench/*.sh scripts share; sourced, not run.
#
#   source bench/lib.sh
#   bench_setup NAME "TARGETS"     # BUILD_DIR, OUT=$BUILD_DIR/bench/NAME, CC; builds TARGETS
#   bench_cc batch|bench|machine   # compiles bench/NAME.c into $OUT/NAME
#
# The tools are built with the project's own scripts/build.sh (its log in $OUT/build.log); a
# failed build prints its tail and stops the script.

bench_setup() {
  BUILD_DIR=${TFC_BUILD_DIR:-build}
  OUT=$BUILD_DIR/bench/$1
  CC=${CC:-clang-19}
  mkdir -p "$OUT"
  TFC_BUILD_DIR=$BUILD_DIR TFC_BUILD_TARGETS="$2" scripts/build.sh >"$OUT/build.log" 2>&1 ||
    { tail -20 "$OUT/build.log" >&2; echo "bench: the build failed" >&2; exit 1; }
}

bench_cc() {
  case $1 in
    # machine.c measures the peaks of this CPU's own instructions.
    machine) $CC -std=c99 -O3 -march=native -pthread -Wall bench/machine.c -o "$OUT/machine" ;;
    batch | bench) $CC -std=c99 -O2 -Wall -I runtime/include "bench/$1.c" -ldl -o "$OUT/$1" ;;
    *) echo "bench_cc: unknown program $1" >&2; return 2 ;;
  esac || exit 1
}
