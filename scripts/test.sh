#!/usr/bin/env bash
# test.sh - set everything up and run the full test suite (the README's test
# command; .ci/run runs it, then the sanitizer build's tests).
#
#   scripts/test.sh              # Release build, every test (unit, mpi, python,
#                                # slurm, multihost, build)
#   scripts/test.sh --sanitize   # ASan + UBSan build, every test but the slurm,
#                                # multihost, build and bench ones (those test the
#                                # Release build: its jobs, hosts and portable build)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "$@"
scripts/fetch-data.sh
if [ "${1:-}" = "--sanitize" ]; then
  build="${ADVML_BUILD_DIR:-build-asan}"
  # Open MPI's own allocations are not ours to report; UBSan findings abort.
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  labels=(-LE "^(slurm|multihost|build|bench|docs)$")
else
  build="${ADVML_BUILD_DIR:-build}"
  labels=()
fi
cd "$build"
ctest --output-on-failure "${labels[@]}" -j "${ADVML_TEST_JOBS:-2}"
