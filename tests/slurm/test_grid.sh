#!/usr/bin/env bash
# test_grid.sh - jobs/grid_search.sbatch as a 2 x 2 job array under a real
# SLURM: every task writes its own run file, the first task submits the merge
# job (afterany), which writes grid.h5; the heatmap is drawn from it. A task
# outside the grid fails with a clear message.
. "$(dirname "$0")/lib.sh"

export ADVML_ETAS="0.01 0.1" ADVML_LAMBDAS="1e-4,1e-2"
id=$(t_submit --array=0-3 "$ADVML_SRC/jobs/grid_search.sbatch" --epochs 2)
grid="$ADVML_RESULTS/grid_search-$id"
t_log "array job $id submitted"
t_wait 240 "$id"
t_log "array done: $(t_state "$id")"
t_check [ "$(t_state "$id")" = COMPLETED ] "array $id: states $(t_state "$id"), expected all COMPLETED"
t_wait_file 10 "$grid/.merge-$id/job_id"
m=$(cat "$grid/.merge-$id/job_id")
t_wait 60 "$m"
t_check [ "$(t_state "$m")" = COMPLETED ] "merge job $m: $(t_state "$m")"
# it ran after every task had ended (afterany): it saw all four runs completed
t_check grep -q "4 of 4 runs completed, 0 missing" "$grid/merge-$m.out" "merge job $m did not see all runs completed"
end=$(for k in 0 1 2 3; do scontrol show job "${id}_$k" | sed -n 's/.*EndTime=\([^ ]*\).*/\1/p'; done | sort | tail -1)
start=$(scontrol show job "$m" | sed -n 's/.*StartTime=\([^ ]*\).*/\1/p')
t_check [ ! "$start" \< "$end" ] "merge job $m started at $start, before the last task ended at $end"
for k in 0 1 2 3; do
  t_check [ -s "$grid/task-$k.h5" ] "no run file task-$k.h5"
  t_check [ -s "$T_WORK/grid_search-${id}_$k.out" ] "no log grid_search-${id}_$k.out"
done
t_check [ "$(ls "$grid"/merge-*.out | wc -l)" = 1 ] "expected exactly one merge job for the array"
t_h5 '
grid = sys.argv[1]
with h5py.File(grid + "/grid.h5", "r") as g:
    assert attr(g, "format") == "advml-grid"
    assert np.allclose(g["eta"][:], [0.01, 0.1]) and np.allclose(g["lambda"][:], [1e-4, 1e-2])
    for name in ("train_accuracy", "val_accuracy", "test_accuracy", "train_loss", "val_loss", "test_loss"):
        assert g[name].shape == (2, 2) and g[name].dtype == np.float64, (name, g[name].shape)
    assert [s.decode() if isinstance(s, bytes) else s for s in g["status"][...].ravel()] == ["completed"] * 4
    assert (g["epochs"][...] == 2).all()
    for i in range(2):
        for j in range(2):
            with h5py.File(f"{grid}/task-{2 * i + j}.h5", "r") as r:
                cfg = json.loads(attr(r, "config_json"))
                assert np.isclose(cfg["optimizer"]["lr"], g["eta"][i]), cfg["optimizer"]
                assert np.isclose(cfg["training"]["l2"], g["lambda"][j]), cfg["training"]
                for name in ("train_accuracy", "test_accuracy", "train_loss", "test_loss"):
                    a, b = g[name][i, j], r["metrics/epoch/" + name][-1]
                    assert a == b or (np.isnan(a) and np.isnan(b)), (name, i, j, a, b)
                c = g[f"runs/eta{i}_lambda{j}/metrics/epoch/test_accuracy"][:]
                assert np.array_equal(c, r["metrics/epoch/test_accuracy"][:], equal_nan=True)
' "$grid"
/usr/bin/python3 "$ADVML_SRC/analysis/grid_heatmap.py" "$grid/grid.h5" || t_fail "grid_heatmap.py failed"
t_check [ -s "$grid/grid_heatmap.png" ] "no heatmap"
t_log "grid file and heatmap checked"

# a lost cell is trained again into the same grid by a second array; the
# completed cell beside it is left alone; that array merges again
rm "$grid/task-3.h5" "$grid/task-3.ckpt.h5"
sum2=$(md5sum < "$grid/task-2.h5")
id2=$(ADVML_GRID_DIR="$grid" t_submit --array=2,3 "$ADVML_SRC/jobs/grid_search.sbatch" --epochs 2)
t_wait 120 "$id2"
t_check [ "$(t_state "$id2")" = COMPLETED ] "rerun array $id2: $(t_state "$id2")"
t_check grep -q "task-2.h5 has completed already; nothing to do" "$T_WORK/grid_search-${id2}_2.out" "a completed cell was not left alone"
t_check [ "$(md5sum < "$grid/task-2.h5")" = "$sum2" ] "the completed cell's run file changed"
t_check grep -q "starting a new run: $grid/task-3.h5" "$T_WORK/grid_search-${id2}_3.out" "the lost cell was not trained again"
t_wait_file 10 "$grid/.merge-$id2/job_id"
m2=$(cat "$grid/.merge-$id2/job_id")
t_wait 60 "$m2"
t_check grep -q "4 of 4 runs completed, 0 missing" "$grid/merge-$m2.out" "the second merge did not see all four runs"
t_log "rerun of a lost cell checked"

# a task outside the grid: a clear failure, no training
export ADVML_ETAS="0.1" ADVML_LAMBDAS="1e-4" ADVML_GRID_MERGE=0
bad=$(t_submit --array=1 "$ADVML_SRC/jobs/grid_search.sbatch" --epochs 1)
t_wait 60 "$bad"
t_check [ "$(t_state "$bad")" = FAILED ] "task outside the grid: state $(t_state "$bad"), expected FAILED"
t_check grep -q "task 1 is outside the 1 x 1 grid" "$T_WORK/grid_search-${bad}_1.out" "no message about the task outside the grid"
t_check [ ! -e "$ADVML_RESULTS/grid_search-$bad/task-1.h5" ] "a run file was written for a task outside the grid"
t_log "PASS"
