#!/usr/bin/env bash
# test_mnist.sh - the MNIST CNN of jobs/mnist_cnn.json (3.2 M parameters: a
# 13 MB gradient per allreduce, which Open MPI's TCP transport sends in
# fragments, unlike the digits models' few kB) for STEPS steps on 2 ranks, on
# one host and on two hosts (tests/multihost/netns.sh). The weights must agree
# bit for bit; prints the step time of each (the checkpoint's epoch_seconds,
# the training time of the unfinished first epoch, over the steps).
. "$(dirname "$0")/netns.sh"

STEPS=${MH_MNIST_STEPS:-40}
TRAIN=$ADVML_BIN/advml-train
[ -x "$TRAIN" ] || mh_fail "$TRAIN not built"
[ -e "$ADVML_SRC/data/mnist/train-images-idx3-ubyte" ] || [ -e "$ADVML_SRC/data/mnist/train-images-idx3-ubyte.gz" ] ||
  mh_fail "$ADVML_SRC/data/mnist missing (run scripts/fetch-data.sh)"
mh_up
cd "$MH_DIR" || exit 1
"$ADVML_BIN/advml-data" mnist --from "$ADVML_SRC/data/mnist" --out mnist.h5 >/dev/null || mh_fail "advml-data mnist failed"
export ADVML_PROGRESS=line
args=(--config "$ADVML_SRC/jobs/mnist_cnn.json" --data mnist.h5 --max-steps "$STEPS")

t=$(mh_now)
timeout -k 5 300 mpirun -np 2 --bind-to none "$TRAIN" "${args[@]}" --out local.h5 > local.log 2>&1 ||
  { cat local.log; mh_fail "2 ranks on one host failed"; }
mh_log "2 ranks on one host: $(mh_since "$t") s in all"
t=$(mh_now)
timeout -k 5 300 "$MH_DIR/mpirun-hosts" -np 2 --map-by node "$TRAIN" "${args[@]}" --out hosts.h5 > hosts.log 2>&1 ||
  { cat hosts.log; mh_fail "2 ranks on two hosts failed"; }
mh_log "2 ranks on two hosts: $(mh_since "$t") s in all"

mh_h5 '
steps = int(sys.argv[1])
t = {}
for run in ("local", "hosts"):
    with h5py.File(run + ".ckpt.h5", "r") as c:
        assert int(attr(c, "step")) == steps and int(attr(c, "epoch")) == 0, (run, attr(c, "step"), attr(c, "epoch"))
        t[run] = float(attr(c, "epoch_seconds")) / steps
    with h5py.File(run + ".h5", "r") as f:
        print("%s: ranks on %s" % (run, attr(f, "hostnames")))
print("MEASURED MNIST CNN, 2 ranks, batch 64, %d steps: %.1f ms per step on one host, %.1f ms on two hosts (TCP)"
      % (steps, 1e3 * t["local"], 1e3 * t["hosts"]))
d = max_diff(params("local.ckpt.h5"), params("hosts.ckpt.h5"))
print("two hosts vs one host: max |dw| = %g" % d)
assert d == 0.0, "2 ranks over TCP do not reach the weights of 2 ranks on one host bit for bit"
' "$STEPS"
mh_log "PASS"
