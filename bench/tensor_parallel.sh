#!/usr/bin/env bash
# bench/tensor_parallel.sh: tensor parallelism on this machine (issue #20). Measures
#   1. MPI_Allreduce latency and bandwidth (bench/allreduce.c, 2 ranks) over shared memory,
#      over TCP on loopback, and over TCP between two network namespaces joined by a veth pair
#      (the stand-in for two hosts; needs root, else skipped: test/TensorParallel/lib/tp_netns.py);
#   2. the TinyLlama slice (bench/models/tinyllama_slice4.tdsl, random weights) decode and
#      prefill: one process of 2 threads against 2 ranks of 1 thread (--tensor-parallel=2),
#      through tfc-run's timing line (prompt of 128 tokens, 64 generated).
# A benchmark, not a test: no thresholds. Needs Open MPI (mpicc, mpirun).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${TFC_BUILD_DIR:-build}
OUT=$BUILD/bench/tp
mkdir -p "$OUT"
MPIRUN=(mpirun --oversubscribe --allow-run-as-root --bind-to none)

mpicc -O2 bench/allreduce.c -o "$OUT/allreduce"
echo "== shared memory"
"${MPIRUN[@]}" -np 2 "$OUT/allreduce"
echo "== TCP over loopback"
"${MPIRUN[@]}" --mca btl tcp,self --mca btl_tcp_if_include lo -np 2 "$OUT/allreduce"
echo "== TCP over a veth pair between two network namespaces"
if [ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1; then
  /usr/bin/python3 test/TensorParallel/lib/tp_netns.py --work "$OUT/netns" --mpirun mpirun \
    --run -- "$OUT/allreduce" || echo "  (could not make the namespaces)"
else
  echo "  skipped: needs root and ip netns"
fi

model=bench/models/tinyllama_slice4.tdsl
"$BUILD/bin/tfc" "$model" -o "$OUT/tl.so" 2>/dev/null
"$BUILD/bin/tfc" "$model" --tensor-parallel=2 -o "$OUT/tl.tp2.so" 2>/dev/null
prompt=$(seq -s, 1 128)
echo "tinyllama_slice4, 128-token prompt, 64 generated:"
for rep in 1 2 3; do
  echo -n "  1 process x 2 threads: "
  TFC_NUM_THREADS=2 "$BUILD/bin/tfc-run" "$OUT/tl.so" --random-weights 1 --tokens "$prompt" \
    -n 64 --stop-on-repeat 0 2>&1 >/dev/null | tail -1
  echo -n "  2 ranks x 1 thread:    "
  TFC_NUM_THREADS=1 "${MPIRUN[@]}" -np 2 "$BUILD/bin/tfc-run" "$OUT/tl.tp2.so" \
    --random-weights 1 --tokens "$prompt" -n 64 --stop-on-repeat 0 2>&1 >/dev/null | tail -1
done
