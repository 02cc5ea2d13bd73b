#!/usr/bin/env bash
# run_scaling.sh - data-parallel scaling of advml-train on this machine, side by side
# with PyTorch: the course's PyTorch MNIST CNN (jobs/mnist_cnn.json, Adam 1e-3, batch
# 64 PER RANK) on MNIST, advml on 1 and 2 ranks (mpirun), PyTorch on one process and
# with DistributedDataParallel (gloo) on 2 processes of one thread each. Prints the
# table with the targets and writes a results file (bench/README.md).
#
# usage: bench/run_scaling.sh [RESULTS_FILE]
#   RESULTS_FILE  default bench/results/scaling-<date>-<time>.txt (not committed)
# environment:
#   ADVML_BENCH_QUICK=1  a quick check: 9600 training and 2000 test images (a subset
#                 of data/mnist.h5), short profiles; the accuracy target is not judged
#   BUILD_DIR     Release build to use/create (default <source>/build-bench)
#   DATA          the MNIST dataset (default <source>/data/mnist.h5, made if missing)
#   MPIRUN_OPTS   default "--bind-to core"
#   QUIET_WAIT=60 seconds to wait before each run for other processes to leave the
#                 CPUs (< 10 % busy over 2 s); the load is reported either way
#   PROFILE_STEPS steps of each profile run (default 250; quick 60)
#   PROFILE_ROUNDS=3  rounds of profile runs (N=1, N=2, N=2 with a barrier first)
#   WHOLE_ROUNDS=2    rounds of whole-epoch training runs (round 1: N=1 one epoch,
#                 N=2 three; later rounds one epoch each); images/s is their median
#   JOBS=2        parallel build jobs
#   OPENBLAS_CORETYPE   passed through unchanged to both sides
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
data=${DATA:-$src/data/mnist.h5}
jobs=${JOBS:-2}
quiet_wait=${QUIET_WAIT:-60}
profile_steps=${PROFILE_STEPS:-0}
profile_rounds=${PROFILE_ROUNDS:-3}
whole_rounds=${WHOLE_ROUNDS:-2}
mpirun_opts=${MPIRUN_OPTS:---bind-to core}
python=/usr/bin/python3
stamp=$(date +%Y%m%d-%H%M%S)
quick=${ADVML_BENCH_QUICK:-0}
results=${1:-$src/bench/results/scaling-$stamp$([[ $quick == 1 ]] && echo -quick).txt}

die() { echo "run_scaling.sh: $*" >&2; exit 1; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive integer, got '$jobs'"
[[ $quiet_wait =~ ^[0-9]+$ ]] || die "QUIET_WAIT must be a non-negative integer (seconds), got '$quiet_wait'"
[[ $profile_steps =~ ^[0-9]+$ ]] || die "PROFILE_STEPS must be a non-negative integer, got '$profile_steps'"
((profile_steps == 0 || profile_steps > 20)) || die "PROFILE_STEPS must exceed the 10 warm-up steps by 10 or more"
[[ $profile_rounds =~ ^[1-9][0-9]*$ ]] || die "PROFILE_ROUNDS must be a positive integer, got '$profile_rounds'"
[[ $whole_rounds =~ ^[1-9][0-9]*$ ]] || die "WHOLE_ROUNDS must be a positive integer, got '$whole_rounds'"
[[ $quick == 0 || $quick == 1 ]] || die "ADVML_BENCH_QUICK must be 0 or 1, got '$quick'"
command -v mpirun >/dev/null || die "mpirun not found (Open MPI: scripts/setup.sh)"
"$python" -c 'import torch, h5py' 2>/dev/null || die "$python cannot import torch and h5py (python3-torch, python3-h5py)"

# ---- build (incremental; a Release build without sanitizers) ------------------
source "$src/bench/lib.sh"
bench_build "$src" "$build" "$jobs" advml-train advml-data advml_train_profile

# ---- data ------------------------------------------------------------------------
if [[ ! -s $data ]]; then
    [[ $data == "$src/data/mnist.h5" ]] || die "$data does not exist"
    echo "run_scaling.sh: $data missing; making it (scripts/fetch-data.sh $build)"
    "$src/scripts/fetch-data.sh" "$build" >/dev/null || die "scripts/fetch-data.sh failed"
    [[ -s $data ]] || die "scripts/fetch-data.sh did not make $data"
fi

# ---- measure ---------------------------------------------------------------------
args=(--src "$src" --build "$build" --data "$data" --results "$results" --quiet-wait "$quiet_wait"
      --mpirun-opts "$mpirun_opts" --profile-steps "$profile_steps" --profile-rounds "$profile_rounds"
      --whole-rounds "$whole_rounds")
[[ $quick == 1 ]] && args+=(--quick)
exec "$python" "$src/bench/scaling.py" "${args[@]}"
