#!/usr/bin/env bash
# Configures (once) and builds tfc in ./build with clang-19 and Ninja.
# Extra arguments are passed to the first configure (e.g. -DTFC_ENABLE_SANITIZERS=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TFC_BUILD_DIR:-build}
# ccache keys on paths relative to the checkout, so another clone (CI's) reuses
# the objects of this one.
export CCACHE_BASEDIR="$PWD"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 "$@" >/dev/null
fi
ninja -C "$BUILD_DIR" ${TFC_BUILD_TARGETS:-all}
