# bench/lib.sh: the setup the bench/*.sh scripts share; sourced, not run.
#
#   source bench/lib.sh
#   bench_setup NAME "TARGETS"     # BUILD_DIR, OUT=$BUILD_DIR/bench/NAME, CC; builds TARGETS
#   bench_cc batch|bench|machine   # compiles bench/NAME.c into $OUT/NAME
#   bench_ab ROUNDS RUN VARIANT... # interleaved A/B rounds into $OUT/runs.txt; LOAD0 LOAD1 BW
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

# bench_ab ROUNDS RUN VARIANT...: the interleaved A/B measurement of bench_cc machine and
# batch programs. Measures the read bandwidth (bench/machine.c, before and after; BW, in GB/s,
# is the best: the ceiling), and in between runs ROUNDS rounds of `RUN VARIANT` for each
# VARIANT in turn (A B A B ...), so that a shift of the machine's load hits all alike. Each
# run's output becomes one line "VARIANT load=L OUTPUT" of $OUT/runs.txt (its lines joined;
# a VARIANT of several words is split into RUN's arguments and written as they are); a failed
# run is reported and left out. LOAD0 and LOAD1: the load averages at the start and the end.
bench_ab() {
  local rounds=$1 run=$2 round variant line
  shift 2
  LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
  "$OUT/machine" --threads 2 --mb 512 --runs 5 >"$OUT/machine.txt"
  : >"$OUT/runs.txt"
  for round in $(seq "$rounds"); do
    for variant in "$@"; do
      # shellcheck disable=SC2086 # a variant's words are RUN's arguments
      line=$(set -o pipefail; "$run" $variant | tr '\n' ' ') ||
        { echo "bench: $variant failed" >&2; continue; }
      echo "$variant load=$(cut -d' ' -f1 /proc/loadavg) $line" >>"$OUT/runs.txt"
    done
  done
  "$OUT/machine" --threads 2 --mb 512 --runs 5 >>"$OUT/machine.txt"
  LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
  BW=$(awk '$1 == "machine" { for (i = 2; i <= NF; i++) { split($i, kv, "=")
    if (kv[1] == "read_gbs" && kv[2] + 0 > m) m = kv[2] + 0 } } END { print m }' "$OUT/machine.txt")
}
