#!/usr/bin/env bash
# bench/int8_gemm.sh [--quick]: the int8 prefill GEMM (q8_0, q4_0, q4_k, q6_k on 512-bit vpdpbusd) against
# the f32 GEMM on one 2048 -> 5632 projection (bench/models/gemm_layer.tdsl, random weights).
#
# For 32, 128 and 512 tokens, 1 and 2 threads: GOP/s of the prefill (2 OP per multiply-add)
# by wall time and, for 1 thread, by the process's CPU time (on a loaded machine the CPU time
# is the figure to compare: other work holding the core does not count), each with its ratio
# to bench/machine.c's peaks measured the same way (the FMA peak for f32, the 512-bit vpdpbusd
# peak for the quantized types),
# and tokens/s against f32's. Runs are interleaved (f32, q8_0, q4_0, q4_k, q6_k, f32, ...), best of
# REPEATS. A benchmark, not a test: no thresholds. Raw outputs in $BUILD_DIR/bench/int8_gemm/.
set -uo pipefail
cd "$(dirname "$0")/.."

REPEATS=3
case "${1:-}" in
  --quick) REPEATS=1 ;;
  "") ;;
  *) echo "usage: bench/int8_gemm.sh [--quick]" >&2; exit 2 ;;
esac
source bench/lib.sh
bench_setup int8_gemm "tfc tfcrt"
bench_cc machine
bench_cc bench

DTYPES="f32 q8_0 q4_0 q4_k q6_k"
for dtype in $DTYPES; do
  "$BUILD_DIR/bin/tfc" bench/models/gemm_layer.tdsl --weight-type=$dtype -o "$OUT/$dtype.so" ||
    { echo "bench: $dtype: compile failed" >&2; exit 1; }
done
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
"$OUT/machine" --threads 2 --mb 512 --runs 5 >"$OUT/machine.txt"
"$OUT/machine" --threads 1 --mb 64 --runs 5 --cpu-time >"$OUT/machine_cpu.txt"
for r in $(seq "$REPEATS"); do
  for threads in 1 2; do
    for dtype in $DTYPES; do
      TFC_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$OUT/bench" "$OUT/$dtype.so" \
        --prefill 32,128,512 --repeats 1 >"$OUT/$dtype.t$threads.r$r.txt" 2>&1
    done
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

key() { tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k { print $2; exit }'; }
m=$(grep '^machine' "$OUT/machine.txt")
FMA2=$(echo "$m" | tr ' ' '\n' | awk -F= '$1 == "fma_gflops" { print $2 }')
FMA1=$(echo "$m" | tr ' ' '\n' | awk -F= '$1 == "fma_gflops_1t" { print $2 }')
DP2=$(echo "$m" | tr ' ' '\n' | awk -F= '$1 == "dpbusd512_gops" { print $2 }')
DP1=$(echo "$m" | tr ' ' '\n' | awk -F= '$1 == "dpbusd512_gops_1t" { print $2 }')
mc=$(grep '^machine' "$OUT/machine_cpu.txt")
FMAC=$(echo "$mc" | tr ' ' '\n' | awk -F= '$1 == "fma_gflops" { print $2 }')
DPC=$(echo "$mc" | tr ' ' '\n' | awk -F= '$1 == "dpbusd512_gops" { print $2 }')
# best FIELD DTYPE THREADS N: the largest FIELD over the repeats' prefill lines of N tokens.
best() {
  for r in $(seq "$REPEATS"); do
    grep "^prefill n=$4 " "$OUT/$2.t$3.r$r.txt" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'
  done | sort -g | tail -1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.1f%%", 100 * a / b; else printf "-" }'; }
times() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2fx", a / b; else printf "-" }'; }

echo "int8 GEMM benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores; load average $LOAD0 before, $LOAD1 after"
echo "  peaks (bench/machine.c, wall time): FMA $FMA2 GFLOP/s (1 thread $FMA1), 512-bit vpdpbusd $DP2 GOP/s (1 thread $DP1)"
echo "  1-thread peaks by CPU time (machine --cpu-time): FMA $FMAC GFLOP/s, 512-bit vpdpbusd $DPC GOP/s"
echo "  2048 -> 5632 projection; GOP/s = 2 x multiply-adds / time; %peak of the FMA peak (f32) or the"
echo "  512-bit vpdpbusd peak (q8_0, q4_0, q4_k, q6_k) at that thread count; cpu: by CPU time (1 thread); vs f32: tokens/s ratio"
H="%-5s %7s %6s %9s %9s %7s %9s %7s %7s\n"
printf "$H" dtype threads tokens "tok/s" "GOP/s" "%peak" "cpu GOP/s" "%peak" "vs f32"
for threads in 1 2; do
  for n in 32 128 512; do
    f32tok=$(best tok_s f32 $threads $n)
    for dtype in $DTYPES; do
      tok=$(best tok_s $dtype $threads $n); gops=$(best gflops $dtype $threads $n)
      cpu=""; [ "$threads" = 1 ] && cpu=$(best cpu_gflops $dtype $threads $n)
      if [ "$dtype" = f32 ]; then peak=$([ "$threads" = 1 ] && echo "$FMA1" || echo "$FMA2"); cpeak=$FMAC
      else peak=$([ "$threads" = 1 ] && echo "$DP1" || echo "$DP2"); cpeak=$DPC; fi
      printf "$H" "$dtype" "$threads" "$n" "${tok:--}" "${gops:--}" "$(ratio "$gops" "$peak")" \
        "${cpu:--}" "$([ -n "$cpu" ] && ratio "$cpu" "$cpeak" || echo -)" "$(times "$tok" "$f32tok")"
    done
  done
done
echo "  (wall-time figures drop on a loaded machine; the cpu columns compare CPU time with CPU time."
echo "   Raw: $OUT)"
