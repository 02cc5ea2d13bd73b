#!/usr/bin/env bash
# run_time_to_accuracy.sh - time to 99.0% MNIST test accuracy on 2 ranks: advml-train
# with jobs/mnist_fast.json (batchnorm, one-cycle Adam, global batch 128, ONE epoch)
# against PyTorch DistributedDataParallel (gloo, 2 processes of one thread) with the same
# recipe (bench/torch_mnist_tta.py), in the same run, alternating. A run counts when its
# test accuracy after the epoch is >= 99.0%; its time to accuracy is the wall time of the
# whole command, from launch to exit (start-up, data loading, the epoch, the test
# evaluation). Also reported: the training loop's seconds. Prints the table with the
# target (advml at most half of PyTorch's time) and writes a results file
# (bench/README.md, "Time to accuracy").
#
# usage: bench/run_time_to_accuracy.sh [RESULTS_FILE]
#   RESULTS_FILE  default bench/results/tta-<date>-<time>.txt (not committed)
# environment:
#   ROUNDS=2        rounds (each one advml run, then one PyTorch run)
#   BUILD_DIR       Release build to use/create (default <source>/build-bench)
#   DATA            the MNIST dataset (default <source>/data/mnist.h5, made if missing)
#   MPIRUN_OPTS     default "--bind-to core"
#   QUIET_WAIT=60   seconds to wait before each run for other processes to leave the CPUs
#                   (< 10 % busy over 2 s); the load is reported either way
#   JOBS=2          parallel build jobs
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
data=${DATA:-$src/data/mnist.h5}
jobs=${JOBS:-2}
rounds=${ROUNDS:-2}
quiet_wait=${QUIET_WAIT:-60}
mpirun_opts=${MPIRUN_OPTS:---bind-to core}
python=/usr/bin/python3
stamp=$(date +%Y%m%d-%H%M%S)
results=${1:-$src/bench/results/tta-$stamp.txt}
config=$src/jobs/mnist_fast.json

die() { echo "run_time_to_accuracy.sh: $*" >&2; exit 1; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive integer, got '$jobs'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$rounds'"
[[ $quiet_wait =~ ^[0-9]+$ ]] || die "QUIET_WAIT must be a non-negative integer (seconds), got '$quiet_wait'"
command -v mpirun >/dev/null || die "mpirun not found (Open MPI: scripts/setup.sh)"
"$python" -c 'import torch, h5py' 2>/dev/null || die "$python cannot import torch and h5py (python3-torch, python3-h5py)"

source "$src/bench/lib.sh"
bench_build "$src" "$build" "$jobs" advml-train advml-data
if [[ ! -s $data ]]; then
    [[ $data == "$src/data/mnist.h5" ]] || die "$data does not exist"
    "$src/scripts/fetch-data.sh" "$build" >/dev/null || die "scripts/fetch-data.sh failed"
    [[ -s $data ]] || die "scripts/fetch-data.sh did not make $data"
fi
mkdir -p "$(dirname "$results")"
work=$(mktemp -d "${TMPDIR:-/tmp}/advml-tta-XXXXXX")
trap 'rm -rf "$work"' EXIT
bench_one_thread_env
export OMPI_MCA_orte_tmpdir_base=$work
if [[ $(id -u) == 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export ADVML_PROGRESS=line

# busy: the CPUs' busy fraction over 2 s (from /proc/stat)
busy() {
    local a b
    a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
    awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN { split(a, x); split(b, y); t = 0; for (i = 2; i <= 11; i++) t += y[i] - x[i];
        idle = (y[5] - x[5]) + (y[6] - x[6]); printf "%.2f", (t > 0 ? 1 - idle / t : 0) }'
}
wait_quiet() {
    local t0=$SECONDS b
    while :; do
        b=$(busy)
        if awk -v b="$b" 'BEGIN { exit !(b < 0.10) }' || ((SECONDS - t0 >= quiet_wait)); then echo "$b"; return; fi
    done
}
now() { date +%s.%N; }

{
    echo "# run_time_to_accuracy.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
    echo "# CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(getconf _NPROCESSORS_ONLN) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# advml $(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo unknown); $("$python" -c 'import torch; print("PyTorch", torch.__version__)')"
    echo "# config $config; data $data; mpirun $mpirun_opts; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
} | tee "$results"

declare -a aw ap at tw tp tt
for ((r = 1; r <= rounds; r++)); do
    load=$(wait_quiet)
    t0=$(now)
    mpirun -np 2 $mpirun_opts "$build/advml-train" --config "$config" --data "$data" --out "$work/run$r.h5" \
        >"$work/advml$r.log" 2>&1 || die "advml-train failed (round $r): $(tail -5 "$work/advml$r.log")"
    t1=$(now)
    read -r acc secs < <("$python" -c 'import h5py, sys
f = h5py.File(sys.argv[1], "r")
print(float(f["evaluation/test"].attrs["accuracy"]), float(f["metrics/epoch/epoch_seconds"][-1]))' "$work/run$r.h5")
    aw[r]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'); ap[r]=$acc; at[r]=$secs
    echo "round $r advml:   wall ${aw[r]} s, training ${at[r]} s, test accuracy ${ap[r]} (CPUs busy $load before)" |
        tee -a "$results"

    load=$(wait_quiet)
    t0=$(now)
    "$python" "$src/bench/torch_mnist_tta.py" --data "$data" --nproc 2 --bind --batch-size 128 --lr 0.004 \
        >"$work/torch$r.log" 2>&1 || die "torch_mnist_tta.py failed (round $r): $(tail -5 "$work/torch$r.log")"
    t1=$(now)
    tw[r]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    tp[r]=$(result "$work/torch$r.log" test_accuracy); tt[r]=$(result "$work/torch$r.log" train_seconds)
    echo "round $r PyTorch: wall ${tw[r]} s, training ${tt[r]} s, test accuracy ${tp[r]} (CPUs busy $load before)" |
        tee -a "$results"
done

reached() { awk -v a="$1" 'BEGIN { exit !(a >= 0.99) }'; }
okw=() ; okt=()
for ((r = 1; r <= rounds; r++)); do
    reached "${ap[r]}" && okw+=("${aw[r]}")
    reached "${tp[r]}" && okt+=("${tw[r]}")
done
ma=$(med "${okw[@]+"${okw[@]}"}"); mt=$(med "${okt[@]+"${okt[@]}"}")
{
    echo
    echo "| | advml, 2 ranks | PyTorch DDP, 2 processes |"
    echo "|---|---|---|"
    echo "| test accuracy after the epoch, per round | ${ap[*]} | ${tp[*]} |"
    echo "| runs reaching 99.0% | ${#okw[@]} of $rounds | ${#okt[@]} of $rounds |"
    echo "| wall time of the command, per round (s) | ${aw[*]} | ${tw[*]} |"
    echo "| training loop, per round (s) | ${at[*]} | ${tt[*]} |"
    echo "| time to 99.0%: median wall time of the runs that reached it (s) | ${ma:-none} | ${mt:-none} |"
    if [[ -n $ma && -n $mt ]]; then
        ratio=$(awk -v a="$ma" -v t="$mt" 'BEGIN { printf "%.2f", a / t }')
        verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.5 ? "met" : "not met") }')
        echo "| advml / PyTorch (target <= 0.50) | $ratio ($verdict) | |"
    fi
} | tee -a "$results"
echo "results: $results"
