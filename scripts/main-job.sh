#!/usr/bin/env bash
# main-job.sh - the README's main job: set up, fetch MNIST, convert it, and train
# the course's PyTorch MNIST CNN (jobs/mnist_cnn.json) on 2 MPI ranks; prints the
# test accuracy and writes the run file results/mnist_cnn.h5 (checkpoint beside it,
# results/mnist_cnn.ckpt.h5).
#
#   scripts/main-job.sh                  # the config's 10 epochs
#   ADVML_EPOCHS=1 scripts/main-job.sh   # a quick run
#
# Environment: ADVML_EPOCHS (epochs; default: the config's), ADVML_NP (ranks,
# default 2), ADVML_BUILD_DIR (default build), ADVML_MPIRUN_OPTS (extra mpirun
# options, none by default: Open MPI's defaults, whose single copy between the
# ranks (CMA) sums the 13 MB gradient fastest now that advml keeps it on huge
# pages). A previous results/mnist_cnn.h5 is kept: it is renamed with its date
# before the new run starts.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/fetch-data.sh
build="${ADVML_BUILD_DIR:-build}"
np="${ADVML_NP:-2}"

# MNIST as the course's PyTorch example uses it: 60000 training and 10000 test
# images, normalised with mean 0.1307 and std 0.3081.
if [ ! -s data/mnist.h5 ]; then
  "$build/advml-data" mnist --from data/mnist --out data/mnist.h5
fi

mkdir -p results
run=results/mnist_cnn.h5
ckpt=results/mnist_cnn.ckpt.h5
if [ -e "$run" ] || [ -e "$ckpt" ]; then
  stamp=$(date -u +%Y%m%d-%H%M%S)
  for f in "$run" "$ckpt"; do
    if [ -e "$f" ]; then
      mv "$f" "${f%.h5}.$stamp.h5"
      echo "main-job: kept the previous $f as ${f%.h5}.$stamp.h5"
    fi
  done
fi

mpi=(mpirun -np "$np")
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
[ "$(nproc)" -lt "$np" ] && mpi+=(--oversubscribe)
read -r -a extra <<<"${ADVML_MPIRUN_OPTS:-}"
mpi+=("${extra[@]}")
args=(--config jobs/mnist_cnn.json --data data/mnist.h5 --out "$run")
[ -n "${ADVML_EPOCHS:-}" ] && args+=(--epochs "$ADVML_EPOCHS")

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"${mpi[@]}" "$build/advml-train" "${args[@]}" | tee "$log"
acc=$(sed -n 's/^test accuracy: //p' "$log" | tail -n 1)
echo "main-job: test accuracy $acc; run file $run, checkpoint $ckpt"
