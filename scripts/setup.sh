#!/usr/bin/env bash
# Installs the Debian packages tfc needs to build, test and run (the pinned toolchain).
# Idempotent: installs only what is missing and prints nothing when everything is present.
set -euo pipefail

packages=(
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools clang-19 lld-19
  libfmt-dev ninja-build cmake ccache python3-numpy
  nlohmann-json3-dev libomp-19-dev libclang-rt-19-dev libpcre2-dev libutf8proc-dev
  libcpp-httplib-dev libeigen3-dev python3-matplotlib
  libopenmpi-dev openmpi-bin
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
