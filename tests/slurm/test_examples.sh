#!/usr/bin/env bash
# test_examples.sh [CASE...] - the example job scripts with their own defaults (config,
# dataset recipe, launcher) under a real SLURM, cut to a few optimizer steps:
# the MNIST CNN (and the course's CNN through ADVML_CONFIG), the sine RNN (and
# the noisy-sine network) and the oscillator LSTM. Each dataset is made by the
# job itself with advml-data, into this test's directory, the recipe chosen by
# the file's name. CASEs pick some of
# mnist_cnn, course_cnn, sine_rnn, noisy_sine, oscillator (default: all).
. "$(dirname "$0")/lib.sh"
unset ADVML_DATA   # each script's own dataset, made in $T_WORK/data
mkdir -p "$T_WORK/data"
[ -d "$ADVML_SRC/data/mnist" ] || t_fail "$ADVML_SRC/data/mnist missing (run scripts/fetch-data.sh)"
ln -s "$ADVML_SRC/data/mnist" "$T_WORK/data/mnist"

# NAME SCRIPT CONFIG DATA: what each job runs
cases=(
  "mnist_cnn mnist_cnn.sbatch jobs/mnist_cnn.json mnist.h5"
  "course_cnn mnist_cnn.sbatch jobs/course_cnn.json mnist.h5"
  "sine_rnn sine_rnn.sbatch jobs/sine_rnn.json sine_clean.h5"
  "noisy_sine sine_rnn.sbatch jobs/noisy_sine_rnn.json sine_noisy.h5"
  "oscillator oscillator_rnn.sbatch jobs/oscillator_lstm.json oscillator.h5"
)
if [ $# -gt 0 ]; then
  picked=()
  for want in "$@"; do
    found=0
    for c in "${cases[@]}"; do [ "${c%% *}" = "$want" ] && { picked+=("$c"); found=1; }; done
    [ $found = 1 ] || t_fail "unknown case $want"
  done
  cases=("${picked[@]}")
fi
ids=()
for c in "${cases[@]}"; do
  read -r name script config data <<<"$c"
  t_check [ -f "$ADVML_SRC/$config" ] "$config missing"
  # the MNIST jobs share one dataset: the second waits on the first one's lock
  # the dataset's kind (how to make it) is taken from its name
  id=$(ADVML_CONFIG="$ADVML_SRC/$config" ADVML_DATA="$T_WORK/data/$data" \
       t_submit --ntasks=1 --job-name="$name" "$ADVML_SRC/jobs/$script" --epochs 1 --max-steps 3)
  ids+=("$id")
  t_log "$name: job $id ($script, $config)"
done
t_wait 200 "${ids[@]}"
for i in "${!cases[@]}"; do
  read -r name script config data <<<"${cases[$i]}"
  id=${ids[$i]}
  t_check [ "$(t_state "$id")" = COMPLETED ] "$name (job $id): $(t_state "$id")"
  run="$ADVML_RESULTS/$name-$id/run.h5"
  t_h5 '
run, config, data = sys.argv[1:4]
with h5py.File(run, "r") as f:
    assert attr(f, "status") == "completed", attr(f, "status")
    assert attr(f, "data") == data, (attr(f, "data"), data)
    cfg = json.loads(attr(f, "config_json"))
    with open(config) as fh:
        want = json.load(fh)
    assert [l["type"] for l in cfg["model"]] == [l["type"] for l in want["model"]], cfg["model"]
    assert int(f["metrics/step/step"][-1]) == 3, f["metrics/step/step"][:]
' "$run" "$ADVML_SRC/$config" "$T_WORK/data/$data"
done
for c in "${cases[@]}"; do
  read -r name script config data <<<"$c"
  t_check [ -s "$T_WORK/data/$data" ] "$name: the job did not make $data"
done
t_log "PASS"
