#!/usr/bin/env bash
# make_runs.sh WORK - the real run files the analysis tests read, made by the
# tools themselves in WORK (emptied first):
#   WORK/digits.h5           advml-data csv of data/digits.csv.gz (train/validation/test)
#   WORK/r1.h5               advml-train, 1 process, 3 epochs
#   WORK/r2/run.h5           jobs/digits_cnn.sbatch run without SLURM: mpirun -np 2, 3 epochs
#   WORK/grid/               jobs/grid_search.sbatch run without SLURM: a 2 x 2 grid
#                            (eta 0.01, 0.1; lambda 1e-4, 1e-2), 2 epochs, merged to grid.h5
#   WORK/failed.h5           a run that diverges (eta 10, lambda 10): status "failed", exit 5
set -euo pipefail
work=${1:?usage: make_runs.sh WORK}
: "${ADVML_SRC:?}" "${ADVML_BIN:?}"
for tool in advml-train advml-data; do
  [ -x "$ADVML_BIN/$tool" ] || { echo "make_runs: $ADVML_BIN/$tool not built" >&2; exit 1; }
done
csv="$ADVML_SRC/data/digits.csv.gz"
[ -s "$csv" ] || { echo "make_runs: $csv missing (run scripts/fetch-data.sh)" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
cd "$work"
t0=$SECONDS

"$ADVML_BIN/advml-data" csv --from "$csv" --out digits.h5 --image 1,8,8 --scale 0.0625 \
  --test-fraction 0.2 --validation-fraction 0.1 --seed 1
cfg="$ADVML_SRC/jobs/digits_cnn.json"

"$ADVML_BIN/advml-train" --config "$cfg" --data digits.h5 --epochs 3 --out r1.h5
ADVML_RUN_DIR="$work/r2" ADVML_CONFIG="$cfg" ADVML_DATA="$work/digits.h5" ADVML_NP=2 \
  bash "$ADVML_SRC/jobs/digits_cnn.sbatch" --epochs 3
ADVML_GRID_DIR="$work/grid" ADVML_CONFIG="$cfg" ADVML_DATA="$work/digits.h5" ADVML_LAUNCHER=none \
  ADVML_ETAS="0.01 0.1" ADVML_LAMBDAS="1e-4 1e-2" bash "$ADVML_SRC/jobs/grid_search.sbatch" --epochs 2
set +e
"$ADVML_BIN/advml-train" --config "$cfg" --data digits.h5 --epochs 2 --lr 10 --l2 10 --out failed.h5
rc=$?
set -e
[ $rc = 5 ] || { echo "make_runs: the diverging run exited $rc, expected 5 (non-finite loss)" >&2; exit 1; }
for f in r1.h5 r2/run.h5 grid/grid.h5 grid/task-0.h5 grid/task-3.h5 failed.h5; do
  [ -s "$f" ] || { echo "make_runs: $f was not written" >&2; exit 1; }
done
echo "make_runs: run files in $work ($((SECONDS - t0)) s)"
