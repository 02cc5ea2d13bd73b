#!/usr/bin/env bash
# test_ninvariance.sh - advml-train on two hosts over TCP (tests/multihost/netns.sh)
# reaches the weights of one rank on one host, as tests/trainer/ninvariance.py
# requires on one host: the same small CNN with dropout on the 8x8 digits,
# 2 epochs of batch 180, Adam; max |w_N - w_1| <= 2e-5 and the losses per
# epoch and per step within 1e-5, the test accuracy identical. Runs:
#   1 rank on one host (the reference)
#   2 ranks on one host (plain mpirun, shared memory)
#   2 ranks on two hosts, one each (TCP over mpi0)
#   4 ranks on two hosts, two each (TCP between hosts, shared memory within)
# The two 2-rank runs must agree bit for bit (a sum of two numbers does not
# depend on the transport), every run file must name the hosts its ranks ran
# on, and the traffic must really have crossed mpi0 (its byte counters grow
# by at least the gradients' size times the steps).
. "$(dirname "$0")/netns.sh"

TRAIN=$ADVML_BIN/advml-train
[ -x "$TRAIN" ] || mh_fail "$TRAIN not built"
[ -s "$ADVML_SRC/data/digits.csv.gz" ] || mh_fail "$ADVML_SRC/data/digits.csv.gz missing (run scripts/fetch-data.sh)"
mh_up
cd "$MH_DIR" || exit 1
"$ADVML_BIN/advml-data" csv --from "$ADVML_SRC/data/digits.csv.gz" --out digits.h5 --image 1,8,8 \
  --scale 0.0625 --test-fraction 0.2 --seed 1 >/dev/null || mh_fail "advml-data csv failed"
# tests/trainer/ninvariance.py's CONFIG with Adam
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
  "training": {"epochs": 2, "batch_size": 180, "seed": 5, "l2": 1e-4}
}
EOF
export ADVML_PROGRESS=line
args=(--config cnn.json --data digits.h5)

rx_bytes() { ip -n "$(mh_ns 1)" -s -j link show mpi0 | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])'; }

timeout -k 5 120 "$TRAIN" "${args[@]}" --out n1.h5 > n1.log 2>&1 || { cat n1.log; mh_fail "1 rank failed"; }
timeout -k 5 120 mpirun -np 2 "$TRAIN" "${args[@]}" --out n2local.h5 > n2local.log 2>&1 ||
  { cat n2local.log; mh_fail "2 ranks on one host failed"; }
rx0=$(rx_bytes)
t=$(mh_now)
timeout -k 5 120 "$MH_DIR/mpirun-hosts" -np 2 --map-by node "$TRAIN" "${args[@]}" --out n2hosts.h5 > n2hosts.log 2>&1 ||
  { cat n2hosts.log; mh_fail "2 ranks on two hosts failed"; }
mh_log "2 ranks on two hosts: $(mh_since "$t") s"
rx1=$(rx_bytes)
timeout -k 5 120 "$MH_DIR/mpirun-hosts" -k 2 -np 4 --map-by node "$TRAIN" "${args[@]}" --out n4hosts.h5 > n4hosts.log 2>&1 ||
  { cat n4hosts.log; mh_fail "4 ranks on two hosts failed"; }
mh_log "4 ranks on two hosts: $(mh_since "$t") s"

mh_h5 '
h1, h2, rx = sys.argv[1], sys.argv[2], int(sys.argv[3])
TOL_W, TOL_LOSS = 2e-5, 1e-5
ref = params("n1.ckpt.h5")
nparams = sum(v.size for v in ref.values())
with h5py.File("n1.h5", "r") as f:
    ref_m = {k: f["metrics/epoch"][k][:] for k in ("train_loss", "test_loss", "test_accuracy")}
    ref_steps = f["metrics/step/loss"][:]
    assert f["metrics/epoch/step"][-1] == 16, "16 steps in 2 epochs"
for run, n, hosts in (("n2local", 2, None), ("n2hosts", 2, [h1, h2]), ("n4hosts", 4, [h1, h1, h2, h2])):
    d = max_diff(ref, params(run + ".ckpt.h5"))
    with h5py.File(run + ".h5", "r") as f:
        assert int(attr(f, "nranks")) == n, attr(f, "nranks")
        names = attr(f, "hostnames").split(",")
        if hosts:
            assert sorted(names) == sorted(hosts), ("hosts of the ranks", names, hosts)
        dl = max(float(np.max(np.abs(f["metrics/epoch"][k][:] - ref_m[k]))) for k in ("train_loss", "test_loss"))
        ds = float(np.max(np.abs(f["metrics/step/loss"][:] - ref_steps)))
        same_acc = np.array_equal(f["metrics/epoch/test_accuracy"][:], ref_m["test_accuracy"])
    print("%s (%d ranks on %s): max |dw| = %.3g, |d epoch loss| %.3g, |d step loss| %.3g vs 1 rank"
          % (run, n, ",".join(names), d, dl, ds))
    assert d <= TOL_W, "%s: weights differ from 1 rank by %g > %g" % (run, d, TOL_W)
    assert dl <= TOL_LOSS and ds <= TOL_LOSS, "%s: losses differ from 1 rank" % run
    assert same_acc, "%s: test accuracy differs from 1 rank" % run
d = max_diff(params("n2local.ckpt.h5"), params("n2hosts.ckpt.h5"))
print("2 ranks on two hosts vs on one host: max |dw| = %g" % d)
assert d == 0.0, "2 ranks over TCP do not reach the weights of 2 ranks over shared memory bit for bit"
# 16 allreduces of the gradient (float32) at least arrived on host 1
print("host 1 received %d bytes on mpi0 during the 2-rank run (16 steps x %d parameters x 4 bytes = %d)"
      % (rx, nparams, 16 * nparams * 4))
assert rx >= 16 * nparams * 4, "the 2-host run did not send its gradients over mpi0"
' "$(mh_ns 1)" "$(mh_ns 2)" "$((rx1 - rx0))"
mh_log "PASS"
