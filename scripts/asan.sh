#!/usr/bin/env bash
# scripts/asan.sh: the whole lit suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#
# Configures build-asan (TFC_ASAN_BUILD_DIR) with -DTFC_ENABLE_SANITIZERS=ON, builds
# everything and runs the whole suite like scripts/test.sh (one summary line at the
# end, exit status 1 on any failure). ASan reports, UBSan reports (not recoverable:
# -fno-sanitize-recover=undefined) and leaks make the instrumented tool fail, hence
# the test.
#
# What is instrumented: our own code in the tools (tfc, tfc-opt, tfc-run) and the
# libraries they link (front end, pipeline, attn dialect, passes). Not instrumented:
# Debian's libMLIR.so/libLLVM.so, and libtfcrt.a, the runtime embedded in every
# model.so. The runtime stays plain on purpose (runtime/CMakeLists.txt): its test
# hosts are not all instrumented -- the lit suite compiles C drivers and harnesses
# with a plain %clang, loads model.so files from /usr/bin/python3 through ctypes, and
# tfc links model.so files that any host must be able to dlopen -- and a model.so
# holding ASan-instrumented code cannot be loaded by a host without the ASan runtime.
# The runtime is covered under ASan + UBSan elsewhere: the safetensors loader by
# fuzz/safetensors_fuzzer.cpp (fuzz/run.sh; its seeds and past crashes replay in
# test/Fuzz), sessions and decoding by test/Fuzz/sanitized-runtime.test, which in
# this build links the runtime's sources, instrumented, into an instrumented host.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TFC_ASAN_BUILD_DIR:-build-asan}

scripts/setup.sh
cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DTFC_ENABLE_SANITIZERS=ON >/dev/null

# Stack traces with symbols, and every report fatal. LeakSanitizer stays on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-19/bin/llvm-symbolizer}

TFC_BUILD_DIR=$BUILD_DIR exec scripts/test.sh
