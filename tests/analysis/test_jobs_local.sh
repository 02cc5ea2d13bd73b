#!/usr/bin/env bash
# test_jobs_local.sh WORK - the job scripts without SLURM, with the real
# advml-train: a finished run is left alone when the job runs again, trained
# further with ADVML_EXTEND=1 and a higher --epochs, a run file without a
# checkpoint is moved aside (advml-train never overwrites one), and bad grid
# settings stop with a clear message. Uses the fixture's WORK/digits.h5.
set -uo pipefail
work=${1:?usage: test_jobs_local.sh WORK}
: "${ADVML_SRC:?}" "${ADVML_BIN:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
t=$(mktemp -d "$work/jobs-local.XXXXXX")
trap 'rm -rf "$t"' EXIT
export ADVML_DATA="$work/digits.h5" ADVML_CONFIG="$ADVML_SRC/jobs/digits_cnn.json" ADVML_LAUNCHER=none
run="$t/r/run.h5"
job() { ADVML_RUN_DIR="$t/r" bash "$ADVML_SRC/jobs/digits_cnn.sbatch" "$@" > "$t/log" 2>&1; }
epochs() { /usr/bin/python3 -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r"); print(list(f["metrics/epoch/epoch"][:]), f.attrs["status"])' "$1"; }

job --epochs 1 || { cat "$t/log"; fail "first run failed"; }
[ "$(epochs "$run")" = "[1] completed" ] || fail "first run: $(epochs "$run")"
sum=$(md5sum < "$run")

job --epochs 1 || { cat "$t/log"; fail "second start of a finished run failed"; }
grep -q "has completed already; nothing to do" "$t/log" || { cat "$t/log"; fail "a finished run was not left alone"; }
[ "$(md5sum < "$run")" = "$sum" ] || fail "the finished run file changed"

ADVML_EXTEND=1 job --epochs 2 || { cat "$t/log"; fail "extending the run failed"; }
grep -q "resuming from $t/r/run.ckpt.h5" "$t/log" || { cat "$t/log"; fail "the extension did not resume"; }
[ "$(epochs "$run")" = "[1, 2] completed" ] || fail "extended run: $(epochs "$run")"

rm "$t/r/run.ckpt.h5"
job --epochs 1 || { cat "$t/log"; fail "a run without checkpoint did not start again"; }
grep -q "has no checkpoint (stopped in its first epoch): kept as $run.interrupted-" "$t/log" || { cat "$t/log"; fail "no note about the run moved aside"; }
ls "$t"/r/run.h5.interrupted-* > /dev/null 2>&1 || fail "the old run file was not kept"
[ "$(epochs "$run")" = "[1] completed" ] || fail "restarted run: $(epochs "$run")"

# which dataset a job trains on, and how it would be made: from the config's
# training.data, relative to the source tree, unless ADVML_DATA says otherwise
data_for() { (unset ADVML_DATA ADVML_DATA_KIND; [ -n "${3:-}" ] && export ADVML_DATA=$3
  . "$ADVML_SRC/jobs/common.sh"; advml_find_src; advml_data_for "$1" data/x.h5 "$2"
  echo "$ADVML_JOB_DATA $ADVML_JOB_KIND"); }
for c in "jobs/digits_cnn.json digits" "jobs/mnist_cnn.json mnist" "jobs/course_cnn.json mnist"; do
  read -r cfg kind <<<"$c"
  want="$ADVML_SRC/$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["training"]["data"])' "$ADVML_SRC/$cfg") $kind"
  got=$(data_for "$ADVML_SRC/$cfg" none)
  [ "$got" = "$want" ] || fail "$cfg: dataset '$got', expected '$want'"
done
printf '{"input": [2], "model": [{"type": "dense", "units": 1}], "loss": "mse"}' > "$t/nodata.json"
got=$(data_for "$t/nodata.json" sine-clean)
[ "$got" = "$ADVML_SRC/data/x.h5 sine-clean" ] || fail "a config without training.data: '$got'"
got=$(data_for "$ADVML_SRC/jobs/digits_cnn.json" none "$t/my_noisy.h5")
[ "$got" = "$t/my_noisy.h5 sine-noisy" ] || fail "ADVML_DATA's kind: '$got'"
got=$(data_for "$ADVML_SRC/jobs/digits_cnn.json" none "$t/own.h5")
[ "$got" = "$t/own.h5 none" ] || fail "an unknown file's kind: '$got'"

# grid settings
out=$(ADVML_ETAS="0.1,abc" bash "$ADVML_SRC/jobs/grid_search.sbatch" 2>&1) && fail "a bad eta was accepted"
grep -q "ADVML_ETAS: 'abc' is not a number" <<<"$out" || fail "bad eta: $out"
mkdir -p "$t/g"
ADVML_GRID_DIR="$t/g" ADVML_ETAS="0.1" ADVML_LAMBDAS="0" bash "$ADVML_SRC/jobs/grid_search.sbatch" --epochs 1 > "$t/log" 2>&1 \
  || { cat "$t/log"; fail "a 1 x 1 grid failed"; }
[ -s "$t/g/grid.h5" ] && [ -s "$t/g/task-0.h5" ] || fail "the 1 x 1 grid wrote no grid.h5 or task-0.h5"
out=$(ADVML_GRID_DIR="$t/g" ADVML_ETAS="0.2" ADVML_LAMBDAS="0" bash "$ADVML_SRC/jobs/grid_search.sbatch" --epochs 1 2>&1) \
  && fail "a different grid was run into an existing grid directory"
grep -q "describes another grid" <<<"$out" || fail "other grid: $out"

# a launch whose ranks die of a signal before the run file is written is
# launched once more (ADVML_LAUNCH_RETRIES); one that dies after it is not.
# The stand-in advml-train dies of SIGSEGV on its first CRASHES calls
# (before the real one runs, or with LATE=1 after it), then is the real one.
mkdir -p "$t/bin"
cat > "$t/bin/advml-train" <<'EOF2'
#!/usr/bin/env bash
ulimit -c 0
n=$(cat "$COUNT" 2>/dev/null || echo 0)
echo $((n + 1)) > "$COUNT"
if [ "$n" -lt "$CRASHES" ] && [ "${LATE:-0}" = 0 ]; then kill -SEGV $$; fi
"$REAL/advml-train" "$@" || exit
if [ "$n" -lt "$CRASHES" ]; then kill -SEGV $$; fi
EOF2
chmod +x "$t/bin/advml-train"
crashjob() { # crashjob DIR CRASHES [VAR=VALUE ...]: the job with the stand-in; prints its exit status
  local d=$1 c=$2 rc
  shift 2
  rm -f "$t/count"
  env ADVML_BIN="$t/bin" REAL="$ADVML_BIN" COUNT="$t/count" CRASHES="$c" ADVML_RETRY_PAUSE=0 "$@" \
    ADVML_RUN_DIR="$t/$d" bash "$ADVML_SRC/jobs/digits_cnn.sbatch" --epochs 1 > "$t/log" 2>&1
  rc=$?
  echo "$rc $(cat "$t/count")"
}
retried="advml-train died of signal 11 (exit 139) before it wrote to $t/c1/run.h5: launching it again (1 of ADVML_LAUNCH_RETRIES=1)"
got=$(crashjob c1 1)
[ "$got" = "0 2" ] || { cat "$t/log"; fail "one crash at start-up: exit and launches '$got', expected '0 2'"; }
grep -qF "$retried" "$t/log" || { cat "$t/log"; fail "no note of the second launch"; }
[ "$(epochs "$t/c1/run.h5")" = "[1] completed" ] || fail "the run after a second launch: $(epochs "$t/c1/run.h5")"
got=$(crashjob c2 9)
[ "$got" = "139 2" ] || { cat "$t/log"; fail "crashes at every start-up: exit and launches '$got', expected '139 2'"; }
[ ! -e "$t/c2/run.h5" ] || fail "a run that never started left a run file"
got=$(crashjob c3 1 ADVML_LAUNCH_RETRIES=0)
[ "$got" = "139 1" ] || { cat "$t/log"; fail "ADVML_LAUNCH_RETRIES=0: exit and launches '$got', expected '139 1'"; }
got=$(crashjob c4 1 LATE=1)
[ "$got" = "139 1" ] || { cat "$t/log"; fail "a crash after the run file was written: exit and launches '$got', expected '139 1'"; }
! grep -q "launching it again" "$t/log" || { cat "$t/log"; fail "a crash after the run file was written was launched again"; }
got=$(crashjob c5 1 ADVML_LAUNCH_RETRIES=x)
[ "${got%% *}" = 1 ] && grep -q "ADVML_LAUNCH_RETRIES='x': expected a whole number" "$t/log" ||
  { cat "$t/log"; fail "a bad ADVML_LAUNCH_RETRIES: '$got'"; }
echo "PASS"
