#!/usr/bin/env bash
# run_rnn.sh - training throughput of the recurrent cells: advml (bench_rnn)
# against PyTorch (torch_rnn.py) for RNN, LSTM and GRU (hidden 64, window 20,
# 1 input feature, batch 32, dense 64->1, MSE, Adam, one thread), in the same
# run and environment; prints sequences/s and the advml/PyTorch ratio per cell
# and writes a results file.
#
# usage: bench/run_rnn.sh [RESULTS_FILE]
#   RESULTS_FILE  default bench/results/rnn-<date>-<time>.txt (not committed)
# environment:
#   BUILD_DIR     Release build to use/create (default <source>/build-bench)
#   WARMUP=50 STEPS=500   steps per cell, program and round
#   ROUNDS=3      alternate advml/PyTorch this many times; each side's value is
#                 the median over the rounds of its per-round median step
#   CELLS=rnn,lstm,gru
#   JOBS=2        parallel build jobs
#   OPENBLAS_CORETYPE   passed through unchanged to both programs
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
warmup=${WARMUP:-50}
steps=${STEPS:-500}
rounds=${ROUNDS:-3}
cells=${CELLS:-rnn,lstm,gru}
jobs=${JOBS:-2}
python=/usr/bin/python3
stamp=$(date +%Y%m%d-%H%M%S)
results=${1:-$src/bench/results/rnn-$stamp.txt}

die() { echo "run_rnn.sh: $*" >&2; exit 1; }
for v in warmup steps rounds jobs; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "${v^^} must be a non-negative integer, got '${!v}'"
done
((steps >= 1 && rounds >= 1 && jobs >= 1)) || die "STEPS, ROUNDS and JOBS must be at least 1"
[[ $cells =~ ^(rnn|lstm|gru)(,(rnn|lstm|gru))*$ ]] || die "CELLS must be a comma-separated list of rnn, lstm, gru"

# ---- build (incremental; a Release build without sanitizers) ------------------
source "$src/bench/lib.sh"
bench_build "$src" "$build" "$jobs" bench_rnn
bench=$build/bench/bench_rnn
[[ -x $bench ]] || die "$bench was not built"

# ---- the same environment for both --------------------------------------------
bench_one_thread_env

mkdir -p "$(dirname "$results")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT


torch_ok=1
for ((r = 1; r <= rounds; r++)); do
    "$bench" --cells "$cells" --warmup "$warmup" --steps "$steps" >"$tmp/c$r.txt" 2>&1 ||
        { cat "$tmp/c$r.txt" >&2; die "bench_rnn failed"; }
    if ((torch_ok)); then
        if ! "$python" "$src/bench/torch_rnn.py" --cells "$cells" --warmup "$warmup" --steps "$steps" \
            >"$tmp/t$r.txt" 2>&1; then
            torch_ok=0
            tail -3 "$tmp/t$r.txt" >&2
            echo "run_rnn.sh: PyTorch run failed (see above); reporting advml alone" >&2
        fi
    fi
done

# per cell: the median over rounds of each side's sequences/s and CPU ms per step
values() { # side key -> the values of all rounds
    local side=$1 key=$2 f
    for ((r = 1; r <= rounds; r++)); do
        f=$tmp/$side$r.txt
        [[ -f $f ]] && result "$f" "$key"
    done
    return 0
}

{
    echo "recurrent training step benchmark, $(date -Iseconds)"
    echo "host: $(uname -n), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(getconf _NPROCESSORS_ONLN) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "advml commit: $(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
    echo "model: CELL(64) on windows of 20 x 1 feature, last state, dense 64->1, MSE, Adam lr 1e-3, batch 32, 1 thread"
    echo "settings for both: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (set before importing torch), torch.set_num_threads(1),"
    echo "  MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_=$MALLOC_TRIM_THRESHOLD_ (glibc keeps freed memory),"
    echo "  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}; $warmup warm-up + $steps timed steps per cell;"
    echo "  median step of each round, median over $rounds alternating round(s)"
    echo
    printf '%-6s %16s %16s %9s %8s %8s   %s\n' "cell" "advml seq/s" "PyTorch seq/s" "ratio" "target" "" "ratio of CPU time per step"
    IFS=, read -r -a list <<<"$cells"
    for c in "${list[@]}"; do
        # shellcheck disable=SC2046
        a=$(med $(values c "${c}_seqs_per_s"))
        # shellcheck disable=SC2046
        ac=$(med $(values c "${c}_step_cpu_ms"))
        t="" tc="" ratio="" ratio_cpu="" verdict="n/a"
        if ((torch_ok)); then
            # shellcheck disable=SC2046
            t=$(med $(values t "${c}_seqs_per_s"))
            # shellcheck disable=SC2046
            tc=$(med $(values t "${c}_step_cpu_ms"))
        fi
        if [[ -n $t && -n $a ]]; then
            ratio=$(awk -v a="$a" -v b="$t" 'BEGIN { printf "%.2f", a / b }')
            ratio_cpu=$(awk -v a="$ac" -v b="$tc" 'BEGIN { printf "%.2f", b / a }')
            verdict=$(awk -v v="$ratio" 'BEGIN { print (v + 0 >= 3.0) ? "ok" : "MISSED" }')
        fi
        printf '%-6s %16.1f %16s %9s %8s %8s   %s\n' "$c" "$a" "${t:-n/a}" "${ratio:-n/a}" ">= 3" "$verdict" \
            "${ratio_cpu:-n/a}"
    done
} | tee "$tmp/table.txt"

{
    cat "$tmp/table.txt"
    for ((r = 1; r <= rounds; r++)); do
        echo
        echo "==== round $r: advml (bench_rnn) ===="
        cat "$tmp/c$r.txt"
        if [[ -f $tmp/t$r.txt ]]; then
            echo
            echo "==== round $r: PyTorch (torch_rnn.py) ===="
            cat "$tmp/t$r.txt"
        fi
    done
} >"$results"
echo
echo "results written to $results"
((torch_ok)) || exit 1
