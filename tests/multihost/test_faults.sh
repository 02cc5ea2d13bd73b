#!/usr/bin/env bash
# test_faults.sh rank|host|link|drop - advml-train on two hosts (one rank
# each, tests/multihost/netns.sh) loses the second host in the middle of
# training:
#   rank  kill -9 of the rank on host 2
#   host  kill -9 of every process on host 2 (the rank and Open MPI's daemon)
#   link  host 2's interface goes down and stays down (host 1 sees no carrier)
#   drop  host 2 drops every packet on its interface (iptables DROP in and out;
#         both interfaces stay up, as when the fabric between them fails)
# Nothing is killed for link and drop.
# mpirun, started as jobs/common.sh's advml_launch starts it (its keepalive
# settings), must end within the bound docs/slurm.md gives, with a failure
# status, leaving no process on host 1 and none on host 2 (the cut-off daemon
# must notice too). Then the newest checkpoint must open, and --resume on the
# two hosts (link up again) must reach the uninterrupted run's weights bit for
# bit (same N) with one entry per step in the run file.
#
# The bounds (seconds from the fault to mpirun's exit): rank 10, host 10, link
# and drop T + P*I + 10 with ADVML_KEEPALIVE="T I P" (jobs/common.sh:
# 10 + 3*5 + 10 = 35; measured 17-27 s, mpirun's own exit taking a second or
# two on a busy machine).
. "$(dirname "$0")/netns.sh"

kind=${1:?usage: test_faults.sh rank|host|link|drop}
case "$kind" in rank|host|link|drop) ;; *) mh_fail "unknown fault $kind (rank, host, link or drop)" ;; esac
if [ "$kind" = drop ]; then
  command -v iptables >/dev/null || mh_install iptables || mh_fail "iptables is missing and could not be installed"
fi
TRAIN=$ADVML_BIN/advml-train
[ -x "$TRAIN" ] || mh_fail "$TRAIN not built"
[ -s "$ADVML_SRC/data/digits.csv.gz" ] || mh_fail "$ADVML_SRC/data/digits.csv.gz missing (run scripts/fetch-data.sh)"

# the steps of the whole run (2-4 s here); the fault comes 0.3 s after the
# first checkpoint (step 45, the end of epoch 1), near step 200 here
STEPS=1500
mh_up
cd "$MH_DIR" || exit 1
"$ADVML_BIN/advml-data" csv --from "$ADVML_SRC/data/digits.csv.gz" --out digits.h5 --image 1,8,8 \
  --scale 0.0625 --test-fraction 0.2 --seed 1 >/dev/null || mh_fail "advml-data csv failed"
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
export ADVML_PROGRESS=line
TRAIN_ARGS=(-np 2 --map-by node "$TRAIN" --config cnn.json --data digits.h5 --max-steps "$STEPS")

t=$(mh_now)
timeout -k 5 120 "$MH_DIR/mpirun-hosts" "${TRAIN_ARGS[@]}" --out ref.h5 \
  > ref.log 2>&1 || { tail -30 ref.log; mh_fail "the uninterrupted run on two hosts failed"; }
mh_log "uninterrupted run: $STEPS steps on two hosts in $(mh_since "$t") s"

# the run to be broken, in the background; its own time limit bounds a hang
timeout -k 5 150 "$MH_DIR/mpirun-hosts" "${TRAIN_ARGS[@]}" --out run.h5 \
  > run.log 2>&1 &
job=$!
mh_on_exit() { kill -KILL "$job" 2>/dev/null; }
deadline=$((SECONDS + 60))
while [ ! -s run.ckpt.h5 ]; do
  mh_alive "$job" || { tail -30 run.log; mh_fail "the run ended before its first checkpoint"; }
  [ $SECONDS -lt $deadline ] || mh_fail "no checkpoint within 60 s"
  sleep 0.05
done
sleep 0.3

# T + P*I + 10 for ADVML_KEEPALIVE="T I P"
keepalive_bound() {
  local ka
  read -r -a ka <<<"$(mh_launch_mca | awk '{print $3, $6, $9}')"
  echo $((ka[0] + ka[1] * ka[2] + 10))
}

case "$kind" in
  rank) victim=""
        for p in $(mh_pids 2); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = advml-train ] && victim="$victim $p"; done
        [ -n "$victim" ] || mh_fail "no advml-train process on host 2"
        # shellcheck disable=SC2086
        kill -KILL $victim
        t=$(mh_now)
        mh_log "kill -9 of the rank on host 2 (pid$victim)"
        bound=10 ;;
  host) mh_log "kill -9 of every process on host 2: $(mh_pids 2 | while read -r p; do cat "/proc/$p/comm" 2>/dev/null; done | sort | uniq -c | xargs)"
        mh_kill_host 2
        t=$(mh_now)
        bound=10 ;;
  link) mh_link 2 down || mh_fail "ip link set mpi0 down failed"
        t=$(mh_now)
        mh_log "host 2's link is down"
        bound=$(keepalive_bound) ;;
  drop) mh_in 2 iptables -A INPUT -i mpi0 -j DROP && mh_in 2 iptables -A OUTPUT -o mpi0 -j DROP ||
          mh_fail "iptables -j DROP on host 2 failed"
        t=$(mh_now)
        mh_log "host 2 drops every packet on mpi0"
        bound=$(keepalive_bound) ;;
esac
wait "$job"
rc=$?
dt=$(mh_since "$t")
mh_log "MEASURED fault=$kind: mpirun ended ${dt} s after the fault, exit status $rc (bound $bound s)"
tail -n 12 run.log
mh_check [ "$rc" -ne 124 ] "mpirun hung: stopped by the test's timeout"
mh_check [ "$rc" -ne 0 ] "mpirun reported success after losing a rank"
mh_check awk -v d="$dt" -v b="$bound" 'BEGIN { exit !(d <= b) }' "mpirun ended ${dt} s after the fault, beyond the bound of $bound s"
left1=$(mh_pids 1 | wc -l)
mh_check [ "$left1" -eq 0 ] "$left1 processes left on host 1 after mpirun ended: $(mh_pids 1 | xargs -r ps -o pid=,comm= -p)"
# the other side ends by itself too: the daemon on host 2 (cut off, or having
# lost its rank) kills what it started and exits
deadline=$((SECONDS + 10))
while [ -n "$(mh_pids 2)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
mh_check [ -z "$(mh_pids 2)" ] "processes left on host 2 10 s after mpirun ended: $(mh_pids 2 | xargs -r ps -o pid=,comm= -p)"
[ "$kind" = link ] && { mh_link 2 up || mh_fail "ip link set mpi0 up failed"; }
[ "$kind" = drop ] && { mh_in 2 iptables -F || mh_fail "iptables -F on host 2 failed"; }

mh_h5 '
ckpt, steps = sys.argv[1], int(sys.argv[2])
with h5py.File(ckpt, "r") as c:
    assert attr(c, "format") == "advml-checkpoint", attr(c, "format")
    step = int(attr(c, "step"))
    assert 0 < step < steps, ("checkpoint step", step, "of", steps)
    p = params(ckpt)
    assert all(np.all(np.isfinite(v)) for v in p.values())
print("newest checkpoint: step %d, opens, %d parameter arrays, all finite" % (step, len(p)))
' run.ckpt.h5 "$STEPS"

t=$(mh_now)
timeout -k 5 120 "$MH_DIR/mpirun-hosts" "${TRAIN_ARGS[@]}" --resume run.ckpt.h5 \
  > resume.log 2>&1 || { tail -30 resume.log; mh_fail "--resume on two hosts failed"; }
mh_log "resumed on two hosts and finished in $(mh_since "$t") s"
mh_h5 '
steps = int(sys.argv[1])
d = max_diff(params("ref.ckpt.h5"), params("run.ckpt.h5"))
print("resumed vs uninterrupted: max |dw| = %g" % d)
assert d == 0.0, "the resumed run does not reach the uninterrupted run'"'"'s weights bit for bit"
with h5py.File("run.h5", "r") as f, h5py.File("ref.h5", "r") as g:
    assert attr(f, "status") == "completed", attr(f, "status")
    assert len(attr(f, "hostnames").split(",")) == 2 and len(set(attr(f, "hostnames").split(","))) == 2, attr(f, "hostnames")
    st = f["metrics/step/step"][:]
    assert list(st) == list(range(1, steps + 1)), ("steps in the run file", st[:5], st[-5:], len(st))
    assert np.array_equal(f["metrics/step/loss"][:], g["metrics/step/loss"][:]), "step losses differ"
' "$STEPS"
mh_log "PASS"
