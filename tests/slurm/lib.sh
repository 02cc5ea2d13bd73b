# lib.sh - helpers for the SLURM job tests (sourced; run under tests/slurm/cluster.sh run).
#
# Each test gets: T_WORK (a fresh directory it submits from; results go to
# T_WORK/results), T_DATA (the digits dataset there, made by the job scripts
# themselves through advml-data), and these functions:
#   t_submit ARGS...         sbatch --parsable from T_WORK, prints the job id
#   t_wait TIMEOUT ID...     polls squeue until the jobs (or arrays) have left
#                            the pending/running/completing states
#   t_state ID               the job's JobState (scontrol show job)
#   t_check COND MSG         fails the test with MSG unless COND (a command) is true
#   t_h5 PYTHON-CODE ARGS... runs Debian's python3 with h5py/numpy imported and
#                            sys.argv[1:] = ARGS; a failed assert fails the test
set -uo pipefail

: "${ADVML_SRC:?ADVML_SRC must be set (ctest sets it)}"
: "${ADVML_BIN:?ADVML_BIN must be set (ctest sets it)}"
: "${SLURM_CONF:?run this under tests/slurm/cluster.sh run}"
for tool in advml-train advml-data; do
  [ -x "$ADVML_BIN/$tool" ] || { echo "FAIL: $ADVML_BIN/$tool not built" >&2; exit 1; }
done
[ -s "$ADVML_SRC/data/digits.csv.gz" ] || { echo "FAIL: $ADVML_SRC/data/digits.csv.gz missing (run scripts/fetch-data.sh)" >&2; exit 1; }

T_WORK=${ADVML_CLUSTER_DIR:?}/work
mkdir -p "$T_WORK"
cd "$T_WORK" || exit 1
export ADVML_SRC ADVML_BIN
export ADVML_RESULTS="$T_WORK/results"
export ADVML_DATA="$T_WORK/digits.h5"
T_DATA=$ADVML_DATA
T0=$SECONDS

t_log() { echo "[$((SECONDS - T0)) s] $*"; }
t_fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$T_WORK"/*.out; do
    [ -f "$f" ] || continue
    echo "---- $f" >&2
    tail -n 40 "$f" >&2
  done
  exit 1
}
t_check() {
  local msg=${*: -1}
  "${@:1:$#-1}" || t_fail "$msg"
}

t_submit() {
  local id
  id=$(sbatch --parsable "$@") || t_fail "sbatch $* failed"
  echo "${id%%;*}"
}

# the states of every job (or array task) of the given ids, one per line
t_states() {
  local id
  for id in "$@"; do
    scontrol show job "$id" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
  done
}
t_state() { t_states "$1" | sort -u | tr '\n' ' ' | sed 's/ $//'; }

t_wait() {
  local timeout=$1 deadline states
  shift
  deadline=$((SECONDS + timeout))
  while [ $SECONDS -lt $deadline ]; do
    states=$(t_states "$@")
    if [ -n "$states" ] && ! grep -qE '^(PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUED|REQUEUE_FED|REQUEUE_HOLD|RESIZING|SUSPENDED|STAGE_OUT|SIGNALING)$' <<<"$states"; then
      return 0
    fi
    sleep 0.2
  done
  t_fail "jobs $* not finished after $timeout s: $(for id in "$@"; do echo "$id: $(t_state "$id")"; done)"
}

# t_wait_file TIMEOUT FILE: until FILE exists and is not empty
t_wait_file() {
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    [ -s "$2" ] && return 0
    sleep 0.05
  done
  t_fail "$2 did not appear within $1 s"
}

t_h5() {
  local code=$1
  shift
  /usr/bin/python3 - "$@" <<EOF || t_fail "check failed (python above)"
import sys, json
import h5py
import numpy as np
def attr(f, k):
    v = f.attrs[k]
    return v.decode() if isinstance(v, bytes) else v
$code
EOF
}
