#!/usr/bin/env bash
# test_jobs.sh - jobs/digits_cnn.sbatch under a real SLURM, on 2 ranks, launched
# with srun --mpi=pmix (the default) and with mpirun; then a job whose results
# directory is already taken by another job with the same id must refuse to run.
. "$(dirname "$0")/lib.sh"

a=$(t_submit --ntasks=2 "$ADVML_SRC/jobs/digits_cnn.sbatch" --epochs 2)
b=$(ADVML_LAUNCHER=mpirun t_submit --ntasks=2 "$ADVML_SRC/jobs/digits_cnn.sbatch" --epochs 2)
t_log "submitted $a (srun) and $b (mpirun)"
t_wait 180 "$a" "$b"
t_log "finished: $a $(t_state "$a"), $b $(t_state "$b")"

for id in "$a" "$b"; do
  t_check [ "$(t_state "$id")" = COMPLETED ] "job $id: state $(t_state "$id"), expected COMPLETED"
  run="$ADVML_RESULTS/digits_cnn-$id/run.h5"
  t_check [ -s "$run" ] "job $id: no run file $run (results keyed by job id)"
  t_check [ -s "${run%.h5}.ckpt.h5" ] "job $id: no checkpoint beside the run file"
  t_check [ -s "$T_WORK/digits_cnn-$id.out" ] "job $id: no log digits_cnn-$id.out in the submit directory"
  t_h5 '
run, data = sys.argv[1], sys.argv[2]
with h5py.File(run, "r") as f:
    assert attr(f, "format") == "advml-run", attr(f, "format")
    assert attr(f, "status") == "completed", attr(f, "status")
    assert int(attr(f, "nranks")) == 2, attr(f, "nranks")
    assert len(attr(f, "hostnames").split(",")) == 2, attr(f, "hostnames")
    assert attr(f, "data") == data, (attr(f, "data"), data)
    assert attr(f, "checkpoint") == "run.ckpt.h5", attr(f, "checkpoint")
    assert "--resume" not in attr(f, "command_line")
    assert list(f["metrics/epoch/epoch"][:]) == [1, 2], f["metrics/epoch/epoch"][:]
    acc = f["metrics/epoch/test_accuracy"][:]
    assert np.all((acc >= 0) & (acc <= 1)), acc
with h5py.File(run[:-3] + ".ckpt.h5", "r") as c:
    assert attr(c, "format") == "advml-checkpoint"
    assert int(attr(c, "epoch")) == 2, attr(c, "epoch")
' "$run" "$T_DATA"
done
t_check grep -q "launch: srun --mpi=pmix" "$T_WORK/digits_cnn-$a.out" "job $a did not launch with srun --mpi=pmix"
t_check grep -q "launch: mpirun " "$T_WORK/digits_cnn-$b.out" "job $b did not launch with mpirun"
t_log "run files of both launchers checked"

# job ids start again at 1 on a fresh cluster: the next job (id b+1) finds its
# directory taken and must fail without touching the run in it
next=$((b + 1))
mkdir -p "$ADVML_RESULTS/digits_cnn-$next"
cp "$ADVML_RESULTS/digits_cnn-$a/run.h5" "$ADVML_RESULTS/digits_cnn-$next/run.h5"
sum=$(md5sum < "$ADVML_RESULTS/digits_cnn-$next/run.h5")
c=$(t_submit --ntasks=1 "$ADVML_SRC/jobs/digits_cnn.sbatch" --epochs 1)
t_check [ "$c" = "$next" ] "expected job id $next, got $c"
t_wait 60 "$c"
t_check [ "$(t_state "$c")" = FAILED ] "job $c: state $(t_state "$c"), expected FAILED"
t_check grep -q "another job had the same id" "$T_WORK/digits_cnn-$c.out" "job $c: no message about the taken directory"
t_check [ "$(md5sum < "$ADVML_RESULTS/digits_cnn-$next/run.h5")" = "$sum" ] "job $c changed the run file it found"
t_log "PASS"
