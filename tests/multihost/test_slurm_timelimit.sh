#!/usr/bin/env bash
# test_slurm_timelimit.sh - jobs/digits_cnn.sbatch on a real two-node SLURM
# cluster (tests/multihost/slurm2.sh; one rank per node, srun --mpi=pmix) with
# a time limit shorter than the run: each launch must be warned (USR1), stop
# at a step boundary with its checkpoint written at that step (exit 75),
# requeue itself, and resume from exactly that step, until the run completes;
# its final weights must equal an uninterrupted job's bit for bit (same N),
# with one run-file entry per step.
#
# Timing: --time=1 (the shortest SLURM has) with --signal=B:USR1@20. slurmctld
# looks at time limits every 30 s and sends the warning at the first look
# that finds fewer than 20 + 30 s left, so it comes 10 to 40 s after a launch
# starts (the "up to 60 s early" of sbatch(1)), never before advml-train runs,
# and at least 20 s before the limit itself. The run is sized to about
# TL_SECONDS (default 60) of training, measured on the two hosts first, so
# that the first launch is always warned even when the machine is faster than
# the measurement (should it complete unwarned all the same, it runs again
# with twice the steps), and the job needs two or three launches. Without
# checkpoint_steps, a checkpoint is written only at epoch ends and when a
# signal stops the run, so resuming at a step that is no epoch end shows that
# the stop wrote it.
. "$(dirname "$0")/netns.sh"
. "$(dirname "$0")/slurm2.sh"
mh_on_exit() { s2_down; }

TARGET=${TL_SECONDS:-60}
mh_up
s2_up
cat > cnn.json <<'EOF'
{
  "input": [1, 8, 8],
  "model": [
    {"type": "conv2d", "filters": 32, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "conv2d", "filters": 32, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 128, "activation": "relu"},
    {"type": "dropout", "rate": 0.3},
    {"type": "dense", "units": 10, "activation": "softmax"}
  ],
  "loss": "categorical_crossentropy",
  "optimizer": {"name": "adam", "lr": 1e-3},
  "training": {"epochs": 100000, "batch_size": 64, "seed": 5}
}
EOF
export ADVML_CONFIG=$T_WORK/cnn.json
restarts() { scontrol show job "$1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p'; }

# the step rate on the two nodes, from a short job (its training time only)
cal=$(t_submit --nodes=2 --ntasks=2 --job-name=cal "$ADVML_SRC/jobs/digits_cnn.sbatch" --max-steps 300)
t_wait 120 "$cal"
t_check [ "$(t_state "$cal")" = COMPLETED ] "calibration job $cal: $(t_state "$cal")"
steps=$(/usr/bin/python3 -c '
import h5py, sys
with h5py.File(sys.argv[1], "r") as c:
    s = float(c.attrs["epoch_seconds"])
with h5py.File(sys.argv[2], "r") as f:
    s += float(sum(f["metrics/epoch/epoch_seconds"][:]))
print(max(1000, int(300 / s * float(sys.argv[3]))))' \
  "$ADVML_RESULTS/cal-$cal/run.ckpt.h5" "$ADVML_RESULTS/cal-$cal/run.h5" "$TARGET") || t_fail "no step rate"
t_log "300 steps took $(/usr/bin/python3 -c "print(round(300 * $TARGET / $steps, 1))") s of training: the run takes $steps steps (about $TARGET s)"

# the time-limited job; should it complete before its first warning (the
# machine got faster than measured), again with twice the steps
for try in 1 2 3; do
  t0=$(mh_now)
  id=$(t_submit --nodes=2 --ntasks=2 --time=1 --signal=B:USR1@20 --job-name=tl "$ADVML_SRC/jobs/digits_cnn.sbatch" --max-steps "$steps")
  t_wait 600 "$id"
  total=$(mh_since "$t0")
  n=$(restarts "$id")
  t_log "job $id ($steps steps): $(t_state "$id") after $n requeues, $total s from submission"
  [ "$(t_state "$id")" = COMPLETED ] && [ "$n" = 0 ] || break
  steps=$((2 * steps))
done
run=$ADVML_RESULTS/tl-$id/run.h5
ckpt=${run%.h5}.ckpt.h5
log=$T_WORK/tl-$id.out
t_check [ "$(t_state "$id")" = COMPLETED ] "job $id: $(t_state "$id"), expected COMPLETED"
t_check [ "$n" -ge 1 ] "job $id completed without being warned, three times"

ref=$(t_submit --nodes=2 --ntasks=2 --job-name=ref "$ADVML_SRC/jobs/digits_cnn.sbatch" --max-steps "$steps")
t_wait 300 "$ref"
t_check [ "$(t_state "$ref")" = COMPLETED ] "reference job $ref: $(t_state "$ref"), expected COMPLETED"
t_log "uninterrupted job $ref: done"

# each launch but the last: warned, stopped at step K with the checkpoint at K,
# exit 75, requeued; the next launch resumed at K
stops=$(sed -n 's/.*interrupted by SIGUSR1 after step \([0-9]*\) .*/\1/p' "$log" | xargs)
resumes=$(sed -n "s|.*resume *$ckpt: [0-9]* epochs and \([0-9]*\) steps done.*|\1|p" "$log" | xargs)
t_log "stopped at steps: $stops; resumed at steps: $resumes"
t_check [ "$(wc -w <<<"$stops")" = "$n" ] "job $id: $n requeues but $(wc -w <<<"$stops") stops by SIGUSR1 in the log"
t_check [ "$stops" = "$resumes" ] "job $id: resumed at steps '$resumes', stopped at '$stops'"
t_check [ "$(grep -c 'checkpointed and stopped (exit 75): requeueing job' "$log")" = "$n" ] "job $id: not one self-requeue per stop"
t_check [ "$(grep -c 'time limit near (USR1): asking advml-train to checkpoint and stop' "$log")" = "$n" ] "job $id: not one forwarded warning per stop"
t_check [ "$(grep -c 'starting a new run' "$log")" = 1 ] "job $id started from scratch more than once"
for k in $stops; do
  [ $((k % 23)) -ne 0 ] && { midepoch=1; break; }
done
t_check [ "${midepoch:-0}" = 1 ] "every stop fell on an epoch end (steps $stops): cannot tell a checkpoint written at the stop"
# when the warning came, from the job log's clock (whole seconds): each
# launch's "launch:" line to its "time limit near" line
/usr/bin/python3 - "$log" <<'EOF'
import re, sys
t = lambda s: sum(int(x) * m for x, m in zip(s.split(":"), (3600, 60, 1)))
launch = None
for line in open(sys.argv[1]):
    m = re.match(r"advml-job\[(\d\d:\d\d:\d\d)\]: (.*)", line)
    if not m:
        continue
    if m.group(2).startswith("launch:"):
        launch = t(m.group(1))
    elif m.group(2).startswith("time limit near") and launch is not None:
        print("MEASURED warning %d s after the launch" % (t(m.group(1)) - launch))
    elif m.group(2).startswith("checkpointed and stopped") and launch is not None:
        print("MEASURED stopped and requeueing %d s after the launch" % (t(m.group(1)) - launch))
EOF
t_log "MEASURED time-limit job: $n requeues, $total s from submission to completion (uninterrupted: about $TARGET s of training)"
t_h5 '
ref, run, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
def params(path):
    out = {}
    with h5py.File(path, "r") as f:
        f["params"].visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out
a, b = params(ref[:-3] + ".ckpt.h5"), params(run[:-3] + ".ckpt.h5")
assert sorted(a) == sorted(b)
d = max(float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) for k in a)
print("time-limited job, requeued and resumed, vs uninterrupted: max |dw| = %g" % d)
assert d == 0.0, "the requeued job does not reach the uninterrupted weights bit for bit"
with h5py.File(run, "r") as f, h5py.File(ref, "r") as g:
    assert attr(f, "status") == "completed", attr(f, "status")
    st = f["metrics/step/step"][:]
    assert list(st) == list(range(1, steps + 1)), (st[:3], st[-3:], len(st))
    assert np.array_equal(f["metrics/step/loss"][:], g["metrics/step/loss"][:]), "step losses differ"
' "$ADVML_RESULTS/ref-$ref/run.h5" "$run" "$steps"
t_log "PASS"
