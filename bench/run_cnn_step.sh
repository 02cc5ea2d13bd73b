#!/usr/bin/env bash
# run_cnn_step.sh - the training-step benchmark: advml (bench_cnn_step) against
# PyTorch (torch_cnn_step.py) on the course's MNIST CNN, batch 64, Adam, one
# thread, in the same run and the same environment; prints a table and writes
# a small results file.
#
# usage: bench/run_cnn_step.sh [RESULTS_FILE]
#   RESULTS_FILE  default bench/results/cnn_step-<date>-<time>.txt (not committed)
# environment:
#   BUILD_DIR     Release build to use/create (default <source>/build-bench)
#   WARMUP=5 STEPS=30   steps per program and round
#   ROUNDS=1      alternate advml/PyTorch this many times; each side's best
#                 round (highest images/s) is reported
#   JOBS=2        parallel build jobs
#   OPENBLAS_CORETYPE   passed through unchanged to both programs
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
warmup=${WARMUP:-5}
steps=${STEPS:-30}
rounds=${ROUNDS:-1}
jobs=${JOBS:-2}
python=/usr/bin/python3
stamp=$(date +%Y%m%d-%H%M%S)
results=${1:-$src/bench/results/cnn_step-$stamp.txt}

die() { echo "run_cnn_step.sh: $*" >&2; exit 1; }
for v in warmup steps rounds jobs; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "${v^^} must be a non-negative integer, got '${!v}'"
done
((steps >= 1 && rounds >= 1 && jobs >= 1)) || die "STEPS, ROUNDS and JOBS must be at least 1"

# ---- build (incremental; a Release build without sanitizers) ------------------
source "$src/bench/lib.sh"
bench_build "$src" "$build" "$jobs" bench_cnn_step
bench=$build/bench/bench_cnn_step
[[ -x $bench ]] || die "$bench was not built"

# ---- the same environment for both --------------------------------------------
bench_one_thread_env

mkdir -p "$(dirname "$results")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

better() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b == "" || a + 0 > b + 0) }'; }

best_c="" best_i="" best_t="" torch_ok=1
for ((r = 1; r <= rounds; r++)); do
    "$bench" --warmup "$warmup" --steps "$steps" >"$tmp/c$r.txt" 2>&1 ||
        { cat "$tmp/c$r.txt" >&2; die "bench_cnn_step failed"; }
    if better "$(result "$tmp/c$r.txt" images_per_s)" "$( [[ -n $best_c ]] && result "$best_c" images_per_s)"; then
        best_c=$tmp/c$r.txt
    fi
    # the same step with every convolution by im2col: the GEMM ceiling's reference
    "$bench" --warmup "$warmup" --steps "$steps" --conv-algo im2col >"$tmp/i$r.txt" 2>&1 ||
        { cat "$tmp/i$r.txt" >&2; die "bench_cnn_step --conv-algo im2col failed"; }
    if better "$(result "$tmp/i$r.txt" images_per_s)" "$( [[ -n $best_i ]] && result "$best_i" images_per_s)"; then
        best_i=$tmp/i$r.txt
    fi
    if "$python" "$src/bench/torch_cnn_step.py" --warmup "$warmup" --steps "$steps" >"$tmp/t$r.txt" 2>&1; then
        if better "$(result "$tmp/t$r.txt" images_per_s)" "$( [[ -n $best_t ]] && result "$best_t" images_per_s)"; then
            best_t=$tmp/t$r.txt
        fi
    else
        torch_ok=0
        tail -3 "$tmp/t$r.txt" >&2
        echo "run_cnn_step.sh: PyTorch run failed (see above); reporting advml alone" >&2
        break
    fi
done

c_ips=$(result "$best_c" images_per_s)
c_frac=$(result "$best_c" gemm_fraction)
c_insitu=$(result "$best_c" gemm_in_step_fraction)
c_faults=$(result "$best_c" faults_per_step)
c_cpu=$(result "$best_c" step_cpu_ms)
i_ips=$(result "$best_i" images_per_s)
i_frac=$(result "$best_i" gemm_fraction)
t_ips="" t_faults="" t_cpu=""
if ((torch_ok)) && [[ -n $best_t ]]; then
    t_ips=$(result "$best_t" images_per_s)
    t_faults=$(result "$best_t" faults_per_step)
    t_cpu=$(result "$best_t" step_cpu_ms)
fi

verdict() { # value op target -> ok / MISSED
    awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
        if (v == "") { print "n/a"; exit }
        ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "ok" : "MISSED" }'
}
ratio=""
ratio_cpu=""
if [[ -n $t_ips ]]; then
    ratio=$(awk -v a="$c_ips" -v b="$t_ips" 'BEGIN { printf "%.3f", a / b }')
    ratio_cpu=$(awk -v a="$c_cpu" -v b="$t_cpu" 'BEGIN { printf "%.3f", b / a }')
fi

{
    echo "cnn training step benchmark, $(date -Iseconds)"
    echo "host: $(uname -n), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(getconf _NPROCESSORS_ONLN) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "advml commit: $(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
    echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}; 1 thread; batch 64; $warmup warm-up + $steps timed steps; best of $rounds round(s)"
    echo
    printf '%-40s %12s %10s %8s\n' "metric" "value" "target" ""
    printf '%-40s %12s %10s %8s\n' "advml images/s (median step)" "$c_ips" "" ""
    printf '%-40s %12s %10s %8s\n' "PyTorch images/s (median step)" "${t_ips:-n/a}" "" ""
    printf '%-40s %12s %10s %8s\n' "ratio advml / PyTorch" "${ratio:-n/a}" ">= 1.2" "$(verdict "$ratio" '>=' 1.2)"
    printf '%-40s %12s %10s %8s\n' "  (ratio of CPU time per step)" "${ratio_cpu:-n/a}" "" ""
    printf '%-40s %12s %10s %8s\n' "GEMM-ceiling fraction (replayed GEMMs)" "$c_frac" "" ""
    printf '%-40s %12s %10s %8s\n' "  (cblas_sgemm time inside the steps)" "$c_insitu" "" ""
    printf '%-40s %12s %10s %8s\n' "advml, all convolutions by im2col:" "" "" ""
    printf '%-40s %12s %10s %8s\n' "  images/s (median step)" "$i_ips" "" ""
    printf '%-40s %12s %10s %8s\n' "  GEMM-ceiling fraction" "$i_frac" ">= 0.85" "$(verdict "$i_frac" '>=' 0.85)"
    printf '%-40s %12s %10s %8s\n' "advml page faults per steady step" "$c_faults" "0" "$(verdict "$c_faults" '<=' 0)"
    printf '%-40s %12s %10s %8s\n' "  (PyTorch page faults per step)" "${t_faults:-n/a}" "" ""
} | tee "$tmp/table.txt"

{
    cat "$tmp/table.txt"
    echo
    echo "==== advml (bench_cnn_step), best round ===="
    cat "$best_c"
    echo
    echo "==== advml (bench_cnn_step --conv-algo im2col), best round ===="
    cat "$best_i"
    if [[ -n $best_t ]]; then
        echo
        echo "==== PyTorch (torch_cnn_step.py), best round ===="
        cat "$best_t"
    fi
} >"$results"
echo
echo "results written to $results"
((torch_ok)) || exit 1
