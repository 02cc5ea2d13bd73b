#!/usr/bin/env bash
# run_chaos.sh - forecasting chaos: the valid prediction time (VPT, in Lyapunov times) of
# recursive forecasts by a simple RNN, an LSTM, a GRU and, when the build has the layer, an
# echo state network, on Lorenz-63 and Lorenz-96 (N 40, F 8) and, when asked, Kuramoto-Sivashinsky
# (L 22, 64 points), with their training wall time on 1 and 2 ranks (bench/README.md,
# "Forecasting chaos").
#
# For each system: advml-data makes the series (RK4, dt 0.01; the Lyapunov exponent is in
# the file); rnn, lstm and gru train with advml-train on 1 rank in stages (--resume), and
# after every stage advml-predict --forecast runs from STARTS initial windows of the
# held-out split; bench/chaos_vpt.py turns each forecast into a VPT (normalised error
# threshold 0.4). The same model trains once more on 2 ranks (mpirun -np 2; the same
# trajectory, the global batch is the invariant) for its training time. The esn trains its
# readout by ridge regression in one pass (training.readout "ridge"), on 1 and on 2 ranks.
# Reported per model: the VPT after the last stage (mean, min and max over the initial
# points), the best stage's mean VPT, the training seconds (the run file's epoch_seconds,
# the training part of the epochs) up to that stage and in all, on 1 and on 2 ranks.
# PyTorch trains the same cells (TORCH_MODELS, default the LSTM; bench/torch_chaos.py) in
# the same run, from the same data, with the same recipe and forecast points.
#
# usage: bench/run_chaos.sh [RESULTS_FILE]
#   RESULTS_FILE  default bench/results/chaos-<date>-<time>.txt (not committed)
# environment:
#   FULL=1        the longer version: 4x the data, twice the epochs and units (not timed;
#                 several times longer); default: a quick version, 11-17 minutes on 2 shared cores
#   SYSTEMS       "lorenz63 lorenz96" (default), one of them, or with ks (Kuramoto-Sivashinsky;
#                 about 5 more minutes)
#   MODELS        "rnn lstm gru esn" (default; esn only when the build has the esn layer)
#   ESN_SETTINGS  "window units radius input bias lambda steps inputs_per_unit square": the
#                 esn's nine settings for every system run (see setup() below), for tuning
#   ESN_SQUARE    0/1: square_states for the esn (overrides the system's setting)
#   TORCH_MODELS  "lstm" (default): the BPTT cells also trained by PyTorch (bench/torch_chaos.py,
#                 the same model, data, recipe and initial points; one thread), as rows
#                 "<model>-pt"; "rnn lstm gru" for all, "" for none (skipped when the Python
#                 has no torch)
#   STARTS=5      initial points per forecast (spaced by the horizon over the held-out split)
#   THRESHOLD=0.4 the normalised-error threshold of the VPT
#   BUILD_DIR     Release build to use/create (default <source>/build-bench)
#   JOBS=2        parallel build jobs
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
full=${FULL:-0}
systems=${SYSTEMS:-lorenz63 lorenz96}
models=${MODELS:-rnn lstm gru esn}
starts=${STARTS:-5}
threshold=${THRESHOLD:-0.4}
jobs=${JOBS:-2}
python=/usr/bin/python3
stamp=$(date +%Y%m%d-%H%M%S)
results=${1:-$src/bench/results/chaos-$stamp.txt}

die() { echo "run_chaos.sh: $*" >&2; exit 1; }
[[ $full =~ ^[01]$ ]] || die "FULL must be 0 or 1, got '$full'"
[[ $starts =~ ^[1-9][0-9]*$ ]] || die "STARTS must be a positive integer, got '$starts'"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive integer, got '$jobs'"
for s in $systems; do [[ $s =~ ^(lorenz63|lorenz96|ks)$ ]] || die "SYSTEMS: unknown system '$s'"; done
for m in $models; do [[ $m =~ ^(rnn|lstm|gru|esn)$ ]] || die "MODELS: unknown model '$m'"; done
command -v mpirun >/dev/null || die "mpirun not found (Open MPI: scripts/setup.sh)"
"$python" -c 'import h5py, numpy' 2>/dev/null || die "$python cannot import h5py and numpy"

source "$src/bench/lib.sh"
bench_build "$src" "$build" "$jobs" advml-train advml-data advml-predict
have_esn=0
[[ -f $src/src/esn.c ]] && have_esn=1
torch_models=${TORCH_MODELS-lstm}
for m in $torch_models; do [[ $m =~ ^(rnn|lstm|gru)$ ]] || die "TORCH_MODELS: unknown model '$m'"; done
have_torch=0
if [[ -n $torch_models ]]; then
    if "$python" -c 'import torch' 2>/dev/null; then have_torch=1; else
        echo "run_chaos.sh: $python has no torch (python3-torch): the PyTorch rows are skipped" >&2; fi
fi

mkdir -p "$(dirname "$results")"
work=$(mktemp -d "${TMPDIR:-/tmp}/advml-chaos-XXXXXX")
trap 'rm -rf "$work"' EXIT
bench_one_thread_env
export OMPI_MCA_orte_tmpdir_base=$work ADVML_PROGRESS=none
if [[ $(id -u) == 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

# ---- the settings -------------------------------------------------------------------------
# per system: advml-data flags; window, units of the BPTT cells, epochs per stage, stages;
# forecast horizon (points); the esn's window, reservoir units, spectral radius, input and bias
# scaling, ridge lambda and readout steps (picked from a handful of tries on the same held-out
# points), and its data flags
if ((full)); then scale=4; else scale=1; fi
setup() {
    case $1 in
    lorenz63) # sampling step 0.02: a Lyapunov time is about 55 points
        data_flags=(--length $((10000 * scale)) --sample-every 2 --train-fraction 0.6)
        window=10 dim=3 units=$((64 * (full + 1))) stage=$((5 * (full + 1))) stages=6 horizon=700
        esn=(20 $((500 * (full + 1))) 0.5 0.2 0.5 1e-7 1 0 1) # window, units, spectral radius, input, bias, lambda,
        esn_data_flags=("${data_flags[@]}") ;;              # readout steps (the last K steps' [h_t, x_t]),
                                                            # inputs_per_unit (0: dense W_in), square_states
                                                            # (ESN_SQUARE=0/1 overrides it)
    lorenz96) # sampling step 0.01: a Lyapunov time is about 59 points
        data_flags=(--length $((10000 * scale)) --train-fraction 0.7)
        window=10 dim=40 units=$((128 * (full + 1))) stage=$((5 * (full + 1))) stages=6 horizon=300
        # the esn: its own, longer series (40000 points, sampling step 0.02: 800 time units; 7000
        # points at 0.01 cover too little of the 40-dimensional attractor, and the reservoir's
        # readout overfits them), its readout on the last 5 steps of [h_t, x_t]
        esn=(10 $((500 * (full + 1))) 0.9 0.3 0.3 1e-4 5 0 1)
        esn_data_flags=(--length $((40000 * scale)) --sample-every 2 --train-fraction 0.925) ;;
    ks) # L 22, 64 points, ETDRK4 step 0.25 = the sampling step: a Lyapunov time is about 86 points
        data_flags=(--length $((10000 * scale)) --train-fraction 0.8)
        window=10 dim=64 units=$((128 * (full + 1))) stage=$((5 * (full + 1))) stages=6 horizon=350
        # the esn: its own, longer series (40000 points, the first 85% train), each reservoir unit
        # driven by one grid point (inputs_per_unit 1, Pathak et al. 2018's local input)
        esn=(10 $((1000 * (full + 1))) 0.6 0.5 0.5 1e-4 1 1 1)
        esn_data_flags=(--length $((40000 * scale)) --train-fraction 0.85) ;;
    esac
    if [[ -n ${ESN_SETTINGS:-} ]]; then # the same nine values, for tuning
        read -r -a esn <<<"$ESN_SETTINGS"
        ((${#esn[@]} == 9)) || die "ESN_SETTINGS: nine values (window units radius input bias lambda steps inputs_per_unit square), got '$ESN_SETTINGS'"
    fi
    esn_window=${esn[0]}
}

# config MODEL FILE: the model's JSON config for the current system
config() {
    local m=$1 out=$2 layer train w=$window
    train="\"epochs\": $stage, \"batch_size\": 32, \"seed\": 1, \"clip_norm\": 1.0, \"data\": \"$data\""
    case $m in
    rnn) layer="{\"type\": \"rnn\", \"units\": $units, \"activation\": \"tanh\"}" ;;
    lstm) layer="{\"type\": \"lstm\", \"units\": $units}" ;;
    gru) layer="{\"type\": \"gru\", \"units\": $units}" ;;
    esn) # a fixed reservoir read out by ridge regression in one pass (docs/recurrent.md)
        w=$esn_window
        layer="{\"type\": \"esn\", \"units\": ${esn[1]}, \"spectral_radius\": ${esn[2]}, \"sparsity\": 0.99,"
        layer+=" \"input_scaling\": ${esn[3]}, \"bias_scaling\": ${esn[4]}, \"concat_input\": true, \"seed\": 7"
        ((esn[7] == 0)) || layer+=", \"inputs_per_unit\": ${esn[7]}"
        ((${ESN_SQUARE:-${esn[8]}} == 0)) || layer+=", \"square_states\": true"
        if ((esn[6] > 1)); then # the readout sees the last K steps: a flatten of steps w-K .. w-1
            layer+=", \"return_sequences\": true, \"washout\": $((w - esn[6]))}, {\"type\": \"flatten\"}"
        else
            layer+="}"
        fi
        train="\"epochs\": 1, \"batch_size\": 256, \"seed\": 1, \"readout\": \"ridge\","
        train+=" \"ridge_lambda\": ${esn[5]}, \"data\": \"$data_esn\"" ;;
    esac
    cat >"$out" <<EOF
{"description": "bench/run_chaos.sh: $m on $system",
 "input": [$w, $dim],
 "model": [$layer, {"type": "dense", "units": $dim}],
 "loss": "mse", "optimizer": {"name": "adam", "lr": 1e-3},
 "training": {$train}}
EOF
}

# vpt CKPT DATA WINDOW TAG: forecasts from the STARTS initial points; prints chaos_vpt.py's
# RESULT lines. Forecast i predicts the held-out points from p_i = 100 + i * horizon on (an
# index into the held-out part): its first window is sample p_i - WINDOW of the split, so
# models with different windows forecast the same points.
vpt() {
    local ckpt=$1 d=$2 w=$3 tag=$4 preds=() n s i
    n=$("$python" -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['validation/inputs'].shape[0])" "$d")
    for ((i = 0; i < starts; i++)); do
        s=$((100 + i * horizon - w))
        ((s + horizon <= n)) || die "the held-out split ($n windows) is too short for $starts forecasts of $horizon"
        "$build/advml-predict" --checkpoint "$ckpt" --data "$d" --split validation --forecast "$horizon" \
            --start "$s" --out "$work/$tag-$s.h5" --force >>"$log" 2>&1 || die "advml-predict failed (see $log)"
        preds+=("$work/$tag-$s.h5")
    done
    "$python" "$src/bench/chaos_vpt.py" --threshold "$threshold" "$d" "${preds[@]}" | tee -a "$log" | grep '^RESULT'
}

# seconds RUN.h5 [EPOCHS]: the training seconds of the first EPOCHS epochs (all by default)
seconds() {
    "$python" - "$@" <<'EOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    s = f["metrics/epoch/epoch_seconds"][:]
n = int(sys.argv[2]) if len(sys.argv) > 2 else len(s)
print("%.3f" % np.sum(s[:n]))
EOF
}

# res KEY: the value of RESULT KEY in $r
res() { awk -v k="$1" '$2 == k { print $3 }' <<<"$r"; }

log=$work/log.txt
declare -a rows
for system in $systems; do
    setup "$system"
    r="" r_main="" r_esn=""
    data=$work/$system.h5 data_esn=$work/$system-esn.h5
    "$build/advml-data" "$system" --out "$data" --window "$window" "${data_flags[@]}" >>"$log" 2>&1 ||
        die "advml-data $system failed"
    if [[ " $models " == *" esn "* ]] && ((have_esn)); then # the same series, longer windows
        "$build/advml-data" "$system" --out "$data_esn" --window "$esn_window" "${esn_data_flags[@]}" >>"$log" 2>&1 ||
            die "advml-data $system --window $esn_window failed"
    fi
    read -r le lt_points <<<"$("$python" -c "
import h5py,sys; a=h5py.File(sys.argv[1],'r')['series'].attrs
print('%.4f %.1f' % (a['lyapunov_exponent'], a['lyapunov_time_points']))" "$data")"
    echo "== $system: lambda $le, a Lyapunov time is $lt_points points; ${data_flags[*]}" | tee -a "$log"
    for m in $models; do
        cfg=$work/$system-$m.json
        if [[ $m == esn ]]; then
            ((have_esn)) || { echo "   esn: this build has no esn layer; skipped" | tee -a "$log"; continue; }
            config esn "$cfg"
            run1=$work/$system-esn-1.h5 run2=$work/$system-esn-2.h5
            "$build/advml-train" --config "$cfg" --out "$run1" --force >>"$log" 2>&1 ||
                die "advml-train esn failed (see $log)"
            mpirun -np 2 --oversubscribe "$build/advml-train" --config "$cfg" --out "$run2" --force >>"$log" 2>&1 ||
                die "mpirun -np 2 advml-train esn failed (see $log)"
            r=$(vpt "${run1%.h5}.ckpt.h5" "$data_esn" "$esn_window" "$system-esn")
            r_esn=$r
            t1=$(seconds "$run1") t2=$(seconds "$run2")
            echo "   esn (ridge, one pass): mean VPT $(res vpt_mean); training $t1 s on 1 rank, $t2 s on 2" | tee -a "$log"
            rows+=("$(printf '%-9s %-8s %6d %6.2f %6.2f %6.2f %3d %6.2f %5d %8.2f %8.2f %8.2f %8.2f' "$system" esn 1 \
                "$(res vpt_mean)" "$(res vpt_min)" "$(res vpt_max)" "$(res censored)" "$(res vpt_mean)" 1 \
                "$t1" "$t2" "$t1" "$t2")")
            continue
        fi
        config "$m" "$cfg"
        run1=$work/$system-$m-1.h5 run2=$work/$system-$m-2.h5
        best=-1 best_ep=0 r=""
        for ((k = 1; k <= stages; k++)); do
            ep=$((k * stage))
            if ((k == 1)); then
                "$build/advml-train" --config "$cfg" --out "$run1" --force >>"$log" 2>&1 ||
                    die "advml-train $m failed (see $log)"
            else
                "$build/advml-train" --resume "${run1%.h5}.ckpt.h5" --epochs "$ep" >>"$log" 2>&1 ||
                    die "advml-train --resume $m failed (see $log)"
            fi
            r=$(vpt "${run1%.h5}.ckpt.h5" "$data" "$window" "$system-$m-$ep")
            mean=$(res vpt_mean)
            r_main=$r
            echo "   $m epoch $ep: mean VPT $mean" | tee -a "$log"
            if awk -v a="$mean" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$mean best_ep=$ep; fi
        done
        mpirun -np 2 --oversubscribe "$build/advml-train" --config "$cfg" --epochs $((stages * stage)) --out "$run2" \
            --force >>"$log" 2>&1 || die "mpirun -np 2 advml-train $m failed (see $log)"
        t1_best=$(seconds "$run1" "$best_ep") t1_all=$(seconds "$run1")
        t2_best=$(seconds "$run2" "$best_ep") t2_all=$(seconds "$run2")
        rows+=("$(printf '%-9s %-8s %6d %6.2f %6.2f %6.2f %3d %6.2f %5d %8.2f %8.2f %8.2f %8.2f' "$system" "$m" \
            $((stages * stage)) "$(res vpt_mean)" "$(res vpt_min)" "$(res vpt_max)" "$(res censored)" "$best" \
            "$best_ep" "$t1_best" "$t2_best" "$t1_all" "$t2_all")")
        if ((have_torch)) && [[ " $torch_models " == *" $m "* ]]; then # the same cell in PyTorch
            local_r=$r
            r=$("$python" "$src/bench/torch_chaos.py" "$data" --model "$m" --units "$units" --stage "$stage" \
                --stages "$stages" --horizon "$horizon" --starts "$starts" --threshold "$threshold" | tee -a "$log" |
                grep '^RESULT') || die "bench/torch_chaos.py $m failed (see $log)"
            echo "   $m in PyTorch: mean VPT $(res vpt_mean), best $(res best_vpt) after $(res best_epochs) epochs" |
                tee -a "$log"
            rows+=("$(printf '%-9s %-8s %6d %6.2f %6.2f %6.2f %3d %6.2f %5d %8.2f %8s %8.2f %8s' "$system" "$m-pt" \
                $((stages * stage)) "$(res vpt_mean)" "$(res vpt_min)" "$(res vpt_max)" "$(res censored)" \
                "$(res best_vpt)" "$(res best_epochs)" "$(res best_train_s)" - "$(res all_train_s)" -)")
            r=$local_r
        fi
    done
    # the persistence floor (y_hat(t) = the window's last state), from the same initial points:
    # persist for the BPTT cells' points, persist* for the esn's when its series differs
    for which in main esn; do
        if [[ $which == main ]]; then r=$r_main label=persist; else r=$r_esn label='persist*'; fi
        if [[ $which == esn && "${esn_data_flags[*]}" == "${data_flags[*]}" ]]; then
            [[ -z $r_main ]] || continue # the same points as the cells'
            label=persist
        fi
        [[ -n $r && -n $(res persistence_mean) ]] || continue
        rows+=("$(printf '%-9s %-8s %6s %6.2f %6.2f %6.2f %3s %6s %5s %8s %8s %8s %8s' "$system" "$label" - \
            "$(res persistence_mean)" "$(res persistence_min)" "$(res persistence_max)" - - - - - - -)")
        echo "   $label: mean VPT $(res persistence_mean)" | tee -a "$log"
    done
done

{
    echo "forecasting chaos: valid prediction time (Lyapunov times, E > $threshold) and training time, $(date -Iseconds)"
    echo "host: $(uname -n), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(getconf _NPROCESSORS_ONLN) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "advml commit: $(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo unknown); FULL=$full; $starts initial points per forecast"
    echo "models: rnn/lstm/gru(units) on windows of 10 points of the whole state, dense to the state, MSE, Adam 1e-3,"
    echo "  batch 32 (global), clip_norm 1, seed 1; esn: reservoir (sparsity 0.99, bias, concat_input, square_states), dense readout by"
    echo "  ridge regression in one pass (Lorenz-63: windows of 20, the last step; Lorenz-96: its own series, 40000 points"
    echo "  at sampling step 0.02, windows of 10, the last 5 steps; ks: its own series, 40000 points, windows of 10, the"
    echo "  last step, 1000 units, inputs_per_unit 1); 1 thread per rank; training seconds = epoch_seconds"
    echo
    printf '%-9s %-8s %6s %6s %6s %6s %3s %6s %5s %8s %8s %8s %8s\n' system model epochs VPT min max cen best at_ep \
        "t1best" "t2best" "t1all" "t2all"
    printf '%s\n' "${rows[@]}"
    echo "(VPT: mean over the initial points after the last stage; min, max; cen: forecasts that never passed the"
    echo " threshold; best: the best stage's mean VPT, reached after at_ep epochs; t1/t2: training seconds on"
    echo " 1 / 2 ranks up to that stage and in all; persist: the persistence forecast y_hat(t) = y(t0) from the"
    echo " same initial points, the floor every model should beat; persist*: from the esn's points, where its series differs;"
    echo " <model>-pt: the same cell, data, recipe and points in PyTorch (bench/torch_chaos.py, one thread; 1-rank times))"
} | tee "$work/table.txt"
{ cat "$work/table.txt"; echo; echo "==== log ===="; cat "$log"; } >"$results"
echo
echo "results written to $results"
