#!/usr/bin/env bash
# run_reproducible.sh - the cost of reproducible mode (training.reproducible,
# docs/training.md "Bit for bit"): the course's MNIST CNN (jobs/mnist_cnn.json,
# batch 64, Adam) for one whole epoch of MNIST on 2 ranks, with the mode off, on
# with 4 slots (the default) and on with 2 slots, alternating in the same run.
# Prints the epoch's training time and ms per step of each (median over ROUNDS)
# and the slowdown against the mode off; target: at most 10 % at N = 2.
# Then (PROFILE_STEPS > 0) the same variants under advml_train_profile with
# ADVML_PROFILE_BARRIER=1, alternating: per round the median step, compute and
# gradient-sum ms (the slower rank's) and the step's ratio to the mode off in
# that round; the median of those ratios is the number that survives a shared,
# busy host best (both variants of a round see about the same load).
#
# usage: bench/run_reproducible.sh [RESULTS_FILE]
#   RESULTS_FILE  default bench/results/reproducible-<date>-<time>.txt (not committed)
# environment:
#   BUILD_DIR   Release build (default <source>/build-bench)
#   DATA        MNIST dataset (default <source>/data/mnist.h5)
#   ROUNDS=2    rounds; each runs every variant once
#   STEPS=0     stop each run after this many steps (0: the whole epoch, 938 steps)
#   NP=2        ranks
#   PROFILE_STEPS=60  steps per profiled run (0: no profile rounds); PROFILE_ROUNDS=4
#   MPIRUN_OPTS default "--bind-to core"
#   OPENBLAS_CORETYPE   passed through unchanged
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
data=${DATA:-$src/data/mnist.h5}
rounds=${ROUNDS:-2}
steps=${STEPS:-0}
np=${NP:-2}
mpirun_opts=${MPIRUN_OPTS:---bind-to core}
python=/usr/bin/python3
stamp=$(date +%Y%m%d-%H%M%S)
results=${1:-$src/bench/results/reproducible-$stamp.txt}
die() { echo "run_reproducible.sh: $*" >&2; exit 1; }
. "$src/bench/lib.sh"
profile_steps=${PROFILE_STEPS:-60}
profile_rounds=${PROFILE_ROUNDS:-4}
bench_build "$src" "$build" "${JOBS:-2}" advml-train advml_train_profile
[[ -f $data ]] || die "$data missing: run scripts/fetch-data.sh build"
bench_one_thread_env
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ADVML_PROGRESS=none
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$results")"

variants=("off" "on4" "on2")
cfg_for() {
  local v=$1 out=$work/$1.json
  "$python" - "$src/jobs/mnist_cnn.json" "$out" "$v" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
v = sys.argv[3]
c.setdefault("training", {})["epochs"] = 1
if v != "off":
    c["training"]["reproducible"] = True
    c["training"]["slots"] = int(v[2:])
json.dump(c, open(sys.argv[2], "w"))
PY
  echo "$out"
}
declare -A secs
{
echo "# run_reproducible.sh $(date -u +%FT%TZ) on $(hostname): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(getconf _NPROCESSORS_ONLN) CPUs"
echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, $np ranks, mpirun $mpirun_opts, rounds $rounds, steps ${steps/#0/whole epoch}"
for r in $(seq 1 "$rounds"); do
  for v in "${variants[@]}"; do
    cfg=$(cfg_for "$v")
    rm -f "$work/run.h5" "$work/run.ckpt.h5"
    extra=()
    [[ $steps -gt 0 ]] && extra=(--max-steps "$steps")
    # shellcheck disable=SC2086
    mpirun $mpirun_opts -np "$np" "$build/advml-train" --config "$cfg" --data "$data" --out "$work/run.h5" \
      "${extra[@]}" > "$work/log" 2>&1 || { cat "$work/log"; die "advml-train failed ($v)"; }
    # training seconds and steps of the epoch (or of the partial epoch)
    read -r s n < <("$python" - "$work/run.h5" "$work/run.ckpt.h5" <<'PY'
import h5py, sys
with h5py.File(sys.argv[1], "r") as f:
    e = f["metrics/epoch/epoch_seconds"][:]
    n = int(f["metrics/step/step"][-1])
    if len(e):
        print(e[-1], n)
    else:
        with h5py.File(sys.argv[2], "r") as c:
            print(c.attrs["epoch_seconds"], n)
PY
)
    secs[$v]="${secs[$v]:-} $s"
    printf 'round %d %-4s %8.2f s for %d steps = %7.2f ms/step\n' "$r" "$v" "$s" "$n" "$(echo "1000 * $s / $n" | bc -l)"
    nsteps=$n
  done
done
echo
printf '%-28s %12s %12s %10s\n' "variant (median)" "seconds" "ms/step" "vs off"
off=$(med ${secs[off]})
for v in "${variants[@]}"; do
  m=$(med ${secs[$v]})
  name=$v; [[ $v == off ]] && name="mode off"; [[ $v == on4 ]] && name="reproducible, 4 slots"; [[ $v == on2 ]] && name="reproducible, 2 slots"
  printf '%-28s %12.2f %12.2f %+9.1f%%\n' "$name" "$m" "$(echo "1000 * $m / $nsteps" | bc -l)" "$(echo "100 * ($m / $off - 1)" | bc -l)"
  echo "RESULT seconds_$v $m"
done
echo "target: reproducible at most 10% slower than off at N = 2"
if [[ $profile_steps -gt 0 ]]; then
  echo
  echo "# advml_train_profile, $profile_steps steps, ADVML_PROFILE_BARRIER=1: medians of the slower rank, ms"
  declare -A ratios
  for r in $(seq 1 "$profile_rounds"); do
    declare -A stepms=()
    for v in "${variants[@]}"; do
      cfg=$(cfg_for "$v")
      # shellcheck disable=SC2086
      out=$(ADVML_PROFILE_BARRIER=1 mpirun $mpirun_opts -np "$np" "$build/bench/advml_train_profile" --config "$cfg" \
        --data "$data" --max-steps "$profile_steps" 2>&1) || { echo "$out"; die "advml_train_profile failed ($v)"; }
      line=$(grep '^PROFILE' <<< "$out" | "$python" -c '
import sys
rows = [{t[i]: t[i + 1] for i in range(len(t) - 1)} for t in (l.split() for l in sys.stdin)]
k = lambda n: max(float(x[n]) for x in rows)
print("%.1f %.1f %.1f %.1f %.2f" % (k("step_med"), k("compute_med"), k("wait_med"), k("allreduce_med"),
                                    min(float(x["cpu_per_wall"]) for x in rows)))')
      read -r sm cm wm am cw <<< "$line"
      stepms[$v]=$sm
      ratio=$(echo "$sm / ${stepms[off]}" | bc -l)
      ratios[$v]="${ratios[$v]:-} $ratio"
      printf 'profile round %d %-4s step %7.1f compute %7.1f wait %6.1f sum %6.1f cpu/wall %s  vs off %+6.1f%%\n' \
        "$r" "$v" "$sm" "$cm" "$wm" "$am" "$cw" "$(echo "100 * ($ratio - 1)" | bc -l)"
    done
  done
  for v in "${variants[@]}"; do
    m=$(med ${ratios[$v]})
    printf 'profile %-4s median step ratio to off %.3f (%+.1f%%)\n' "$v" "$m" "$(echo "100 * ($m - 1)" | bc -l)"
    echo "RESULT profile_ratio_$v $(printf '%.4f' "$m")"
  done
fi
} | tee "$results"
echo "results: $results"
