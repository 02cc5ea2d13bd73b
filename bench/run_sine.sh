#!/usr/bin/env bash
# run_sine.sh - the course's 100-epoch sine run, advml against PyTorch: the
# same model (RNN 64 tanh on windows of 20, dense 1, MSE, Adam 1e-3, batch 32
# shuffled, 100 epochs, validation after every epoch), the same data (one
# file made by advml-data sine --kind clean), one thread each. Prints wall
# time and final validation MSE side by side, and the MSE of the recursive
# forecast of the 180 validation points.
#
# usage: bench/run_sine.sh [RESULTS_FILE]
#   RESULTS_FILE  default bench/results/sine-<date>-<time>.txt (not committed)
# environment:
#   BUILD_DIR     Release build to use/create (default <source>/build-bench)
#   EPOCHS=100    epochs for both
#   SEEDS="42"    seeds to run (each side once per seed; medians over the seeds)
#   JOBS=2        parallel build jobs
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
epochs=${EPOCHS:-100}
seeds=${SEEDS:-42}
jobs=${JOBS:-2}
python=/usr/bin/python3
stamp=$(date +%Y%m%d-%H%M%S)
results=${1:-$src/bench/results/sine-$stamp.txt}

die() { echo "run_sine.sh: $*" >&2; exit 1; }
[[ $epochs =~ ^[0-9]+$ ]] && ((epochs >= 1)) || die "EPOCHS must be a positive integer, got '$epochs'"
[[ $seeds =~ ^[0-9]+( [0-9]+)*$ ]] || die "SEEDS must be a space-separated list of integers, got '$seeds'"
[[ $jobs =~ ^[0-9]+$ ]] && ((jobs >= 1)) || die "JOBS must be a positive integer"

# ---- build (incremental; a Release build without sanitizers) ------------------
source "$src/bench/lib.sh"
bench_build "$src" "$build" "$jobs" advml-train advml-data advml-predict

# ---- the same environment for both --------------------------------------------
bench_one_thread_env
export ADVML_PROGRESS=none

mkdir -p "$(dirname "$results")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=$tmp/sine_clean.h5
"$build/advml-data" sine --kind clean --out "$data" >/dev/null || die "advml-data sine failed"

now() { date +%s.%N; }

declare -a a_wall a_loop a_train a_val a_fc t_wall t_loop t_train t_val t_fc
for seed in $seeds; do
    # advml: the job config as users run it, with a run file and a checkpoint per epoch
    run=$tmp/sine_$seed.h5
    t0=$(now)
    "$build/advml-train" --config "$src/jobs/sine_rnn.json" --data "$data" --epochs "$epochs" --seed "$seed" \
        --out "$run" >"$tmp/advml_$seed.txt" 2>&1 || { cat "$tmp/advml_$seed.txt" >&2; die "advml-train failed"; }
    t1=$(now)
    "$build/advml-predict" --checkpoint "${run%.h5}.ckpt.h5" --data "$data" --split validation --forecast 180 \
        --out "$tmp/pred_$seed.h5" >>"$tmp/advml_$seed.txt" 2>&1 || { cat "$tmp/advml_$seed.txt" >&2; die "advml-predict failed"; }
    "$python" - "$run" "$tmp/pred_$seed.h5" >"$tmp/advml_$seed.res" <<'EOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    m = f["metrics/epoch"]
    print("RESULT train_s %.4f" % np.sum(m["epoch_seconds"][:]))
    print("RESULT val_mse %.6g" % m["val_loss"][-1])
with h5py.File(sys.argv[2], "r") as f:
    print("RESULT forecast_mse %.6g" % f["forecast"].attrs["mse"])
EOF
    a_wall+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    a_loop+=("$(awk '/^done:/ { for (i = 1; i < NF; i++) if ($i == "in") { print $(i + 1); exit } }' "$tmp/advml_$seed.txt")")
    a_train+=("$(result "$tmp/advml_$seed.res" train_s)")
    a_val+=("$(result "$tmp/advml_$seed.res" val_mse)")
    a_fc+=("$(result "$tmp/advml_$seed.res" forecast_mse)")

    # PyTorch: the course's code on the same windows
    t0=$(now)
    "$python" "$src/bench/torch_sine.py" "$data" --epochs "$epochs" --seed "$seed" >"$tmp/torch_$seed.txt" 2>&1 ||
        { cat "$tmp/torch_$seed.txt" >&2; die "torch_sine.py failed"; }
    t1=$(now)
    t_wall+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    t_loop+=("$(result "$tmp/torch_$seed.txt" loop_s)")
    t_train+=("$(result "$tmp/torch_$seed.txt" train_s)")
    t_val+=("$(result "$tmp/torch_$seed.txt" val_mse)")
    t_fc+=("$(result "$tmp/torch_$seed.txt" forecast_mse)")
done

{
    nseeds=$(wc -w <<<"$seeds")
    echo "course sine RNN, $epochs epochs: advml vs PyTorch, $(date -Iseconds)"
    echo "host: $(uname -n), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(getconf _NPROCESSORS_ONLN) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "advml commit: $(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo unknown); torch: $("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null)"
    echo "model: RNN 64 tanh, window 20, dense 1, MSE, Adam 1e-3, batch 32 shuffled; data: advml-data sine --kind clean"
    echo "  (780 training, 180 validation windows; both read the same file); seed(s): $seeds (median over $nseeds)"
    echo "settings for both: 1 thread (OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)),"
    echo "  MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_=$MALLOC_TRIM_THRESHOLD_"
    echo "advml runs jobs/sine_rnn.json with --out (a run file and a checkpoint written after every epoch)."
    echo
    printf '%-52s %14s %14s %9s\n' "" "advml" "PyTorch" "ratio"
    row() { # label, advml value, torch value, ratio kind (time: torch/advml, none)
        local r=""
        [[ $4 == time ]] && r=$(awk -v a="$2" -v b="$3" 'BEGIN { if (a > 0) printf "%.2fx", b / a }')
        printf '%-52s %14s %14s %9s\n' "$1" "$2" "$3" "$r"
    }
    row "wall time of the whole process, s" "$(med "${a_wall[@]}")" "$(med "${t_wall[@]}")" time
    row "  epochs incl. validation (and advml's file writes), s" "$(med "${a_loop[@]}")" "$(med "${t_loop[@]}")" time
    row "  training part of the epochs, s" "$(med "${a_train[@]}")" "$(med "${t_train[@]}")" time
    row "final validation MSE (mean over 180 samples)" "$(med "${a_val[@]}")" "$(med "${t_val[@]}")" none
    row "recursive forecast MSE (180 validation points)" "$(med "${a_fc[@]}")" "$(med "${t_fc[@]}")" none
    echo "(ratio: PyTorch time / advml time)"
} | tee "$tmp/table.txt"

{
    cat "$tmp/table.txt"
    for seed in $seeds; do
        echo
        echo "==== seed $seed: advml ===="
        cat "$tmp/advml_$seed.txt" "$tmp/advml_$seed.res"
        echo
        echo "==== seed $seed: PyTorch ===="
        cat "$tmp/torch_$seed.txt"
    done
} >"$results"
echo
echo "results written to $results"
