#!/usr/bin/env bash
# test_slurm_nodefail.sh srun|mpirun - a node of a real two-node SLURM cluster
# fails while jobs/digits_cnn.sbatch runs on both nodes (one rank each;
# tests/multihost/slurm2.sh), launched with
#   srun    srun --mpi=pmix, the scripts' default; node 2's processes are all
#           killed (slurmd, slurmstepd, the rank)
#   mpirun  ADVML_LAUNCHER=mpirun; node 2 loses power: it drops every packet
#           (iptables), then its processes are all killed, so that no
#           connection is closed (a kill alone would close mpirun's connection
#           to the daemon there, and mpirun would end the job as FAILED at once)
#   1. an uninterrupted job gives the reference weights;
#   2. the same job, once it has written a checkpoint, loses node 2;
#   3. SLURM must notice (SlurmdTimeout=10 here), end the job as a node failure
#      and requeue it by itself (the scripts ask for --requeue), within 60 s;
#      with mpirun this needs jobs/common.sh's keepalive under SLURM to be
#      longer than SLURM's detection, else mpirun fails the job first (205);
#   4. node 2 comes back (a "reboot": its /tmp is empty, its packet filter
#      gone, and its slurmd starts);
#   5. the requeued job, same id, must resume from the newest checkpoint (the
#      one on disk when the job was killed) and complete, reaching the
#      reference weights bit for bit (same N), one run-file entry per step.
# Prints the times: fault -> requeued, node back -> running again, total.
. "$(dirname "$0")/netns.sh"
. "$(dirname "$0")/slurm2.sh"
mh_on_exit() { s2_down; }

launcher=${1:?usage: test_slurm_nodefail.sh srun|mpirun}
case "$launcher" in srun|mpirun) ;; *) mh_fail "unknown launcher $launcher (srun or mpirun)" ;; esac
if [ "$launcher" = mpirun ]; then
  command -v iptables >/dev/null || mh_install iptables || mh_fail "iptables is missing and could not be installed"
fi
export ADVML_LAUNCHER=$launcher
STEPS=${MH_NODEFAIL_STEPS:-2000}
mh_up
s2_up
cat > cnn.json <<'EOF'
{
  "input": [1, 8, 8],
  "model": [
    {"type": "conv2d", "filters": 8, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 32, "activation": "relu"},
    {"type": "dropout", "rate": 0.5},
    {"type": "dense", "units": 10, "activation": "softmax"}
  ],
  "loss": "categorical_crossentropy",
  "optimizer": {"name": "adam", "lr": 1e-3},
  "training": {"epochs": 1000, "batch_size": 32, "seed": 5, "checkpoint_steps": 100}
}
EOF
export ADVML_CONFIG=$T_WORK/cnn.json
restarts() { scontrol show job "$1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p'; }

ref=$(t_submit --nodes=2 --ntasks=2 --job-name=ref "$ADVML_SRC/jobs/digits_cnn.sbatch" --max-steps "$STEPS")
t_wait 120 "$ref"
t_check [ "$(t_state "$ref")" = COMPLETED ] "reference job $ref: $(t_state "$ref"), expected COMPLETED"
t_log "reference job $ref: $STEPS steps on two nodes"

id=$(t_submit --nodes=2 --ntasks=2 --job-name=nodefail "$ADVML_SRC/jobs/digits_cnn.sbatch" --max-steps "$STEPS")
run=$ADVML_RESULTS/nodefail-$id/run.h5
ckpt=${run%.h5}.ckpt.h5
log=$T_WORK/nodefail-$id.out
deadline=$((SECONDS + 60))
until [ -s "$ckpt" ]; do
  case "$(t_state "$id")" in PENDING|CONFIGURING|RUNNING) ;; *) t_fail "job $id: $(t_state "$id") before its first checkpoint";; esac
  [ $SECONDS -lt $deadline ] || t_fail "job $id wrote no checkpoint within 60 s"
  sleep 0.05
done
sleep 0.3
if [ "$launcher" = mpirun ]; then
  mh_in 2 iptables -A INPUT -i mpi0 -j DROP && mh_in 2 iptables -A OUTPUT -o mpi0 -j DROP ||
    t_fail "iptables -j DROP on node 2 failed"
  t_log "node 2 loses power: it drops every packet"
fi
t_log "node 2 fails: kill -9 of $(mh_pids 2 | while read -r p; do cat "/proc/$p/comm" 2>/dev/null; done | sort | uniq -c | xargs)"
mh_kill_host 2
t0=$(mh_now)

# SLURM marks node 2 DOWN and requeues the job (Restarts=1); until the node is
# back the job waits (PENDING: it needs two nodes)
deadline=$((SECONDS + 60))
until [ "$(restarts "$id")" = 1 ]; do
  [ $SECONDS -lt $deadline ] || t_fail "job $id not requeued 60 s after node 2 failed: $(t_state "$id"), node 2 $(s2_node_state 2)"
  case "$(t_state "$id")" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL) t_fail "job $id ended $(t_state "$id") instead of being requeued";; esac
  sleep 0.2
done
t_requeue=$(mh_since "$t0")
t_log "job $id requeued ${t_requeue} s after the failure: $(t_state "$id"), node 2 $(s2_node_state 2)"
grep -q "DUE TO NODE FAILURE" "$log" || t_fail "the job log does not say the job was cancelled for a node failure"
# the job's processes on node 1 are gone before the newest checkpoint is read
deadline=$((SECONDS + 30))
while [ -n "$(for p in $(mh_pids 1); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = advml-train ] && echo "$p"; done)" ]; do
  [ $SECONDS -lt $deadline ] || t_fail "advml-train still runs on node 1 30 s after the requeue"
  sleep 0.1
done
newest=$(/usr/bin/python3 -c 'import h5py, sys; print(int(h5py.File(sys.argv[1], "r").attrs["step"]))' "$ckpt") ||
  t_fail "the newest checkpoint $ckpt does not open"
t_check [ "$newest" -gt 0 -a "$newest" -lt "$STEPS" ] "newest checkpoint at step $newest, expected inside 1..$((STEPS - 1))"
t_log "newest checkpoint: step $newest"

# the node comes back as after a reboot: an empty TmpFS, and without what the
# killed slurmstepd left in the spool directory (its PMIx socket
# stepd.slurm.pmix.J.S and directory pmix.J.S): slurmd 22.05 does not remove
# them when it starts, and the requeued job keeps its job and step ids, so its
# step would fail on node 2 ("Cannot bind() UNIX socket ...: Address already in
# use", "Cannot create directory .../pmix.J.0: File exists")
rm -rf "$S2_DIR/tmp-$(mh_ns 2)" "$S2_DIR/spool-$(mh_ns 2)"/stepd.* "$S2_DIR/spool-$(mh_ns 2)"/pmix.*
[ "$launcher" = mpirun ] && { mh_in 2 iptables -F || t_fail "iptables -F on node 2 failed"; }
s2_slurmd 2 || t_fail "slurmd on node 2 did not start again"
t1=$(mh_now)
deadline=$((SECONDS + 60))
until [ "$(t_state "$id")" = RUNNING ] || [ "$(t_state "$id")" = COMPLETED ]; do
  [ $SECONDS -lt $deadline ] || t_fail "job $id did not run again within 60 s of node 2's return: $(t_state "$id"), node 2 $(s2_node_state 2)"
  sleep 0.2
done
t_back=$(mh_since "$t1")
t_log "job $id running again ${t_back} s after node 2 came back"
t_wait 120 "$id"
t_log "MEASURED node failure ($launcher): requeued ${t_requeue} s after the failure, running again ${t_back} s after the node returned, done $(mh_since "$t0") s after the failure"
t_check [ "$(t_state "$id")" = COMPLETED ] "job $id: $(t_state "$id") after the requeue, expected COMPLETED"
t_check grep -q "resuming from $ckpt (restart count 1)" "$log" "job $id did not resume from its checkpoint"
t_check grep -qE "resume +$ckpt: [0-9]+ epochs and $newest steps done" "$log" "job $id did not resume from the newest checkpoint (step $newest)"
t_check [ "$(grep -c 'starting a new run' "$log")" = 1 ] "job $id started from scratch again"
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
print("requeued after a node failure vs uninterrupted: max |dw| = %g" % d)
assert d == 0.0, "the resumed job does not reach the uninterrupted weights bit for bit"
with h5py.File(run, "r") as f:
    assert attr(f, "status") == "completed", attr(f, "status")
    st = f["metrics/step/step"][:]
    assert list(st) == list(range(1, steps + 1)), (st[:3], st[-3:], len(st))
' "$ADVML_RESULTS/ref-$ref/run.h5" "$run" "$STEPS"
t_log "PASS"
