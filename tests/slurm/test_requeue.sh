#!/usr/bin/env bash
# test_requeue.sh - a digits job is interrupted twice and must resume from its
# checkpoint each time: first by `scontrol requeue` (what preemption does),
# then by USR1 to its batch shell (what --signal=B:USR1@120 sends ahead of the
# time limit): the shell forwards it to the ranks, which checkpoint the step
# they are in and exit 75, and the job requeues itself. It keeps its job id,
# so its run file and checkpoint stay in results/digits_cnn-ID.
. "$(dirname "$0")/lib.sh"

# 100 epochs of batch 10 take about 12 s on 2 ranks here: long enough to be
# interrupted twice, each time within a second of a checkpoint appearing
epochs=${T_REQUEUE_EPOCHS:-100}
id=$(t_submit --ntasks=2 "$ADVML_SRC/jobs/digits_cnn.sbatch" --epochs "$epochs" --batch-size 10)
run="$ADVML_RESULTS/digits_cnn-$id/run.h5"
ckpt="${run%.h5}.ckpt.h5"
log="$T_WORK/digits_cnn-$id.out"

restarts() { scontrol show job "$1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p'; }
mtime() { stat -c %.9Y "$1" 2>/dev/null || echo 0; }
newer() { [ "$(echo "$(mtime "$1") > $2" | bc)" = 1 ]; }
# wait_launch N: until launch N (restart count N) runs and has written a
# checkpoint of its own (newer than the one it started from)
wait_launch() {
  local deadline=$((SECONDS + 120)) m0=""
  while [ $SECONDS -lt $deadline ]; do
    [ "$(t_state "$id")" = COMPLETED ] && t_fail "job $id completed before it could be interrupted; raise T_REQUEUE_EPOCHS"
    if [ "$(restarts "$id")" = "$1" ] && [ "$(t_state "$id")" = RUNNING ]; then
      # the launch before is gone (a requeued job waits 5 s before it starts again)
      [ -z "$m0" ] && m0=$(mtime "$ckpt")
      newer "$ckpt" "$m0" && return 0
    fi
    sleep 0.05
  done
  t_fail "job $id: launch $1 wrote no checkpoint within 120 s"
}

wait_launch 0
t_log "first checkpoint: scontrol requeue $id"
scontrol requeue "$id" || t_fail "scontrol requeue $id failed"
wait_launch 1
t_log "restarted and checkpointing again: USR1 to the batch shell (the time-limit path)"
scancel --batch --signal=USR1 "$id" || t_fail "scancel --signal=USR1 failed"
t_wait 180 "$id"
t_log "finished: $(t_state "$id"), restarts $(restarts "$id")"

t_check [ "$(t_state "$id")" = COMPLETED ] "job $id: state $(t_state "$id"), expected COMPLETED"
t_check [ "$(restarts "$id")" = 2 ] "job $id: $(restarts "$id") restarts, expected 2"
t_check grep -q "starting a new run" "$log" "first launch did not start a new run"
t_check grep -q "resuming from $ckpt (restart count 1)" "$log" "no resume after scontrol requeue"
t_check grep -q "time limit near (USR1): asking advml-train to checkpoint and stop" "$log" "the USR1 trap did not run"
t_check grep -q "interrupted by SIGUSR1 after step" "$log" "advml-train did not stop on the forwarded USR1"
t_check grep -q "checkpointed and stopped (exit 75): requeueing job $id" "$log" "the job did not requeue on exit 75"
t_check grep -q "resuming from $ckpt (restart count 2)" "$log" "no resume after the self-requeue"
t_check [ "$(grep -c 'starting a new run' "$log")" = 1 ] "the job started from scratch more than once"
t_check [ "$(grep -cE "^(\[[^]]*\] )?epoch +1/$epochs:" "$log")" = 1 ] "epoch 1 was trained more than once"
t_h5 '
run, epochs = sys.argv[1], int(sys.argv[2])
with h5py.File(run, "r") as f:
    assert attr(f, "status") == "completed", attr(f, "status")
    assert "--resume" in attr(f, "command_line"), attr(f, "command_line")
    ep = f["metrics/epoch/epoch"][:]
    assert list(ep) == list(range(1, epochs + 1)), ep
    st = f["metrics/epoch/step"][:]
    assert np.all(np.diff(st) > 0), st
    assert np.all(np.isfinite(f["metrics/epoch/train_loss"][:]))
with h5py.File(run[:-3] + ".ckpt.h5", "r") as c:
    assert int(attr(c, "epoch")) == epochs, attr(c, "epoch")
' "$run" "$epochs"
t_log "PASS"
