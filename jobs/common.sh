# common.sh - sourced by the jobs/*.sbatch scripts; not a job by itself.
#
# What every advml job does, in one place:
#   - find the advml source tree and the advml-train binary,
#   - pick the results directory of this job (keyed by the job id; for array
#     tasks by the array job id, one file per task id),
#   - resume from the checkpoint beside the run file when there is one (after a
#     requeue, a preemption, or a resubmission into the same run directory),
#   - launch advml-train on every task of the allocation,
#   - when SLURM warns that the time limit is near, have advml-train checkpoint
#     and stop (exit 75), and requeue itself exactly then.
#
# Settings (environment variables; the scripts' own defaults come first):
#   ADVML_SRC       advml source tree (default: the tree of this common.sh)
#   ADVML_BIN       directory holding advml-train (default: $ADVML_SRC/build,
#                   then PATH)
#   ADVML_CONFIG    model/training config, JSON
#   ADVML_DATA      dataset file, HDF5 (default: the config's training.data,
#                   relative to ADVML_SRC; made with advml-data when missing,
#                   see advml_data_for and advml_ensure_data)
#   ADVML_DATA_KIND how to make the dataset when it is missing: mnist, fashion,
#                   digits, sine-clean, sine-noisy, oscillator, none (default:
#                   from the file name)
#   ADVML_RESULTS   results directory (default: $SLURM_SUBMIT_DIR/results)
#   ADVML_RUN_DIR   the run directory to write or continue; set it to an old
#                   job's directory to resume that run in a new job
#   ADVML_LAUNCHER  srun (default under SLURM) | mpirun | none (one process)
#   ADVML_NP        ranks when run without SLURM (default 1)
#   ADVML_EXTEND    1: train a completed run further (with a higher --epochs);
#                   by default a completed run is left as it is
# Arguments given to the job script after its name are passed on to advml-train
# (e.g. `sbatch jobs/digits_cnn.sbatch --epochs 5 --lr 0.01`); they override the
# config, as advml-train's flags do.
#
# Launcher: `srun --mpi=pmix` is the default. SLURM then starts every rank
# itself, so the ranks are accounted to the job, get the job's signals (scancel,
# requeue, time limit) directly and are cleaned up with it, and Open MPI wires
# them up through SLURM's PMIx server. It needs a SLURM built with the pmix
# plugin (Debian's is; check `srun --mpi=list`). `srun --mpi=pmi2` does not
# work with Debian's Open MPI, which has no PMI2 support. ADVML_LAUNCHER=mpirun
# runs `mpirun` inside the allocation instead: Open MPI reads the allocation
# from SLURM's environment and starts its daemons through srun, which also
# works where SLURM has no PMIx plugin or where the site wants mpirun's own
# process placement and --mca settings.

# ---- logging -------------------------------------------------------------------
advml_log() { echo "advml-job[$(date -u +%H:%M:%S)]: $*"; }
advml_die() { echo "advml-job: error: $*" >&2; exit 1; }

# advml_find_src: sets ADVML_SRC to the source tree this common.sh belongs to
# (unless ADVML_SRC is set already).
ADVML_COMMON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
advml_find_src() {
  ADVML_SRC=${ADVML_SRC:-$(dirname "$ADVML_COMMON_DIR")}
  [ -f "$ADVML_SRC/jobs/common.sh" ] || advml_die "ADVML_SRC=$ADVML_SRC has no jobs/common.sh"
}

# advml_find_tool NAME: prints the path of an advml tool (ADVML_BIN, then
# $ADVML_SRC/build, then PATH).
advml_find_tool() {
  local d
  for d in "${ADVML_BIN:-}" "$ADVML_SRC/build"; do
    [ -n "$d" ] && [ -x "$d/$1" ] && { echo "$d/$1"; return 0; }
  done
  command -v "$1" && return 0
  advml_die "$1 not found in ADVML_BIN=${ADVML_BIN:-unset}, $ADVML_SRC/build or PATH (build advml first: scripts/setup.sh)"
}

# advml_job_key NAME: prints this job's key: NAME-JOBID for a plain job,
# NAME-ARRAYJOBID for an array task (the task id names the file inside), and
# NAME-local-DATE-PID outside SLURM. Under SLURM, NAME is the job's name
# (sbatch --job-name; the scripts' default is their own name), as in the log
# file's name %x-%j.out.
advml_job_key() {
  local name=${SLURM_JOB_NAME:-$1}
  name=${name//[^A-Za-z0-9._-]/_}
  if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then
    echo "$name-$SLURM_ARRAY_JOB_ID"
  elif [ -n "${SLURM_JOB_ID:-}" ]; then
    echo "$name-$SLURM_JOB_ID"
  else
    echo "$name-local-$(date +%Y%m%d-%H%M%S)-$$"
  fi
}

# advml_results_dir: prints the results directory (ADVML_RESULTS, or results/
# in the submit directory, or in the current directory outside SLURM).
advml_results_dir() {
  echo "${ADVML_RESULTS:-${SLURM_SUBMIT_DIR:-$PWD}/results}"
}

# advml_data_for CONFIG DEFAULT_FILE DEFAULT_KIND: sets ADVML_JOB_DATA and
# ADVML_JOB_KIND, the dataset a job trains on and how to make it when missing:
# ADVML_DATA if set, else the config's training.data (relative paths are
# relative to the source tree, as for a run started there; read with Python's
# json module when there is a Python 3), else DEFAULT_FILE. The kind is
# ADVML_DATA_KIND if set, else guessed from the file name (fashion, mnist,
# digits, noisy, sine, oscillator), else DEFAULT_KIND for DEFAULT_FILE and
# "none" (the file must exist) for any other file.
advml_data_for() {
  local config=$1 file="" kind=""
  if [ -n "${ADVML_DATA:-}" ]; then
    file=$ADVML_DATA
  else
    file=$("$(advml_python)" -c 'import json, sys
v = json.load(open(sys.argv[1])).get("training", {}).get("data", "")
print(v if isinstance(v, str) else "")' "$config" 2>/dev/null)
    [ -n "$file" ] && [ "${file#/}" = "$file" ] && file="$ADVML_SRC/$file"
  fi
  if [ -z "$file" ]; then
    file="$ADVML_SRC/$2"
    kind=$3
  fi
  if [ -n "${ADVML_DATA_KIND:-}" ]; then
    kind=$ADVML_DATA_KIND
  elif [ -z "$kind" ] || [ -n "${ADVML_DATA:-}" ]; then
    case "$(basename "$file")" in
      *fashion*)    kind=fashion ;;
      *mnist*)      kind=mnist ;;
      *digits*)     kind=digits ;;
      *noisy*)      kind=sine-noisy ;;
      *sine*)       kind=sine-clean ;;
      *oscillator*) kind=oscillator ;;
      *)            kind=none ;;
    esac
  fi
  ADVML_JOB_DATA=$file
  ADVML_JOB_KIND=$kind
}

# advml_ensure_data KIND FILE: makes the dataset FILE with advml-data when it
# is missing (once: concurrent array tasks wait on a lock). KIND is one of
# mnist, fashion, digits, sine-clean, sine-noisy, oscillator, or "none" (FILE
# must exist).
advml_ensure_data() {
  local kind=$1 file=$2 data_tool
  [ -s "$file" ] && return 0
  [ "$kind" = none ] && advml_die "dataset $file not found (set ADVML_DATA)"
  data_tool=$(advml_find_tool advml-data) || exit 1
  mkdir -p "$(dirname "$file")" || advml_die "cannot create $(dirname "$file")"
  (
    flock 9 || exit 1
    [ -s "$file" ] && exit 0
    advml_log "making $file ($kind) with $data_tool"
    case "$kind" in
      # the same conversions as scripts/fetch-data.sh BUILD_DIR makes
      mnist)      "$data_tool" mnist --from "$ADVML_SRC/data/mnist" --out "$file" ;;
      fashion)    "$data_tool" mnist --from "$ADVML_SRC/data/fashion-mnist" --out "$file" ;;
      digits)     "$data_tool" csv --from "$ADVML_SRC/data/digits.csv.gz" --out "$file" --image 1,8,8 \
                    --scale 0.0625 --test-fraction 0.2 --seed 1 ;;
      sine-clean) "$data_tool" sine --kind clean --out "$file" ;;
      sine-noisy) "$data_tool" sine --kind noisy --out "$file" ;;
      oscillator) "$data_tool" oscillator --out "$file" ;;
      *) echo "advml-job: error: unknown dataset kind $kind" >&2; exit 1 ;;
    esac
  ) 9>"$file.lock" || advml_die "could not make dataset $file (kind $kind); make it by hand with advml-data and set ADVML_DATA"
  rm -f "$file.lock"
}

# advml_mpirun_mca: prints the Open MPI options advml_launch gives mpirun so
# that a dead host or a cut link ends the job in bounded time. mpirun talks to
# the Open MPI daemon (orted) on every other host over one TCP connection that
# is idle while training runs. A host that vanishes without closing it (power
# loss, a crashed kernel, a cut cable or switch) is noticed only by TCP
# keepalive probes; with Open MPI's defaults (300 s idle, then 9 probes 20 s
# apart) after 8 minutes, while the ranks left spin in the allreduce.
# ADVML_KEEPALIVE="T I P" sets them: probes after T s idle, P probes I s apart;
# mpirun then declares the daemon lost T + P*I s after its last sign of life at
# the latest, kills every rank and exits with 205. The default:
# - without SLURM "10 5 3": at most 25 s (measured on two network-namespace
#   hosts, tests/multihost/: 25-27 s for an interface that went down, 17-27 s
#   for a link that drops every packet, mpirun's own exit included);
# - under SLURM "SlurmdTimeout+60 5 3" (375 s with SLURM's default of 300 s):
#   SLURM notices the dead node first (DOWN after SlurmdTimeout, measured
#   SlurmdTimeout + 15-19 s), ends the job as a node failure and requeues it
#   (--requeue), as it does with srun; a keepalive below that would end the
#   job first as FAILED (exit 205), which SLURM does not requeue. The
#   keepalive is then the bound for what SLURM cannot see: a link that only
#   Open MPI uses.
# A host whose processes die while its network stays up (the OOM killer, a
# kill -9) closes its connections: mpirun exits at once (1-4 s; exit 137 for a
# rank killed by signal 9, 205 for a lost daemon), and the job fails.
advml_mpirun_mca() {
  local spec=${ADVML_KEEPALIVE:-} ka st
  if [ -z "$spec" ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    st=$(scontrol show config 2>/dev/null | sed -n 's/^SlurmdTimeout *= *\([0-9]*\).*/\1/p')
    spec="$((${st:-300} + 60)) 5 3"
  fi
  read -r -a ka <<<"${spec:-10 5 3}"
  [ ${#ka[@]} -eq 3 ] && [[ "${ka[0]}${ka[1]}${ka[2]}" =~ ^[0-9]+$ ]] ||
    advml_die "ADVML_KEEPALIVE=${ADVML_KEEPALIVE:-}: expected three whole numbers: idle seconds, probe interval, probes"
  echo "--mca oob_tcp_keepalive_time ${ka[0]} --mca oob_tcp_keepalive_intvl ${ka[1]} --mca oob_tcp_keepalive_probes ${ka[2]}"
}

# advml_launch CMD ARGS...: runs CMD on every rank of the allocation with the
# chosen launcher, in the background, and waits for it so that the USR1 trap
# below can run while training goes on. Returns the launcher's exit status.
#
# A rank, a host or the link to a host that dies ends the whole job:
# - mpirun: a rank that dies kills the others (orte_abort_on_non_zero_status,
#   the default); a lost host or link is found by the keepalive above.
# - srun: --kill-on-bad-exit=1 ends the step when a rank dies (measured 3 s,
#   the job FAILED). A host that stops answering, or whose processes were all
#   killed, is found by SLURM itself: slurmctld marks the node DOWN after
#   SlurmdTimeout (the site's setting, 300 s by default), cancels the job for
#   a node failure and requeues it (--requeue, as the scripts ask); until then
#   the other ranks wait in the allreduce. advml's tests measure both
#   (docs/slurm.md, "Several nodes").
advml_launch() {
  local launcher=${ADVML_LAUNCHER:-}
  if [ -z "$launcher" ]; then
    if [ -n "${SLURM_JOB_ID:-}" ]; then launcher=srun; else launcher=mpirun; fi
  fi
  # several cores per rank (--cpus-per-task, for OpenBLAS threads): srun does
  # not take that from the allocation since SLURM 22.05, and mpirun would bind
  # each rank to one core
  local cpt=${SLURM_CPUS_PER_TASK:-1}
  case "$launcher" in
    srun)   if [ "$cpt" -gt 1 ]; then set -- srun --mpi=pmix --kill-on-bad-exit=1 --cpus-per-task="$cpt" "$@"
            else set -- srun --mpi=pmix --kill-on-bad-exit=1 "$@"; fi ;;
    mpirun) local mca
            mca=$(advml_mpirun_mca) || exit 1
            # shellcheck disable=SC2086
            if [ -n "${SLURM_JOB_ID:-}" ] && [ "$cpt" -gt 1 ]; then set -- mpirun $mca --bind-to none "$@"
            elif [ -n "${SLURM_JOB_ID:-}" ]; then set -- mpirun $mca "$@"
            else set -- mpirun $mca -np "${ADVML_NP:-1}" "$@"; fi ;;
    none)   ;;
    *) advml_die "ADVML_LAUNCHER=$launcher: expected srun, mpirun or none" ;;
  esac
  advml_log "launch: $*"
  "$@" &
  ADVML_CHILD=$!
  local rc
  while :; do
    wait "$ADVML_CHILD"
    rc=$?
    # wait returns >128 when a trapped signal interrupts it; keep waiting
    # unless the child is really gone
    kill -0 "$ADVML_CHILD" 2>/dev/null || break
  done
  ADVML_CHILD=
  return $rc
}

# Signals. SLURM sends USR1 to the batch shell ahead of the time limit (the
# scripts ask for it with --signal=B:USR1@SECONDS). The trap forwards it to the
# launcher (srun and mpirun both pass USR1 on to every rank): advml-train then
# finishes the step under way, writes its checkpoint and run file, and exits
# with 75 ("interrupted, resumable"). advml_train requeues the job exactly
# then: it keeps its job id, so the requeued run finds its checkpoint and
# resumes. SIGTERM (scancel, or the time limit itself) reaches the ranks from
# SLURM directly; they stop the same way, but a job that is being cancelled is
# never requeued. The traps are set as soon as this file is sourced (USR1
# would otherwise end the job), and advml_launch waits for the ranks in a way
# the traps can interrupt.
ADVML_WARNED=0
ADVML_TERMINATED=0
advml_on_warning() {
  ADVML_WARNED=1
  if [ -n "${ADVML_CHILD:-}" ]; then
    advml_log "time limit near (USR1): asking advml-train to checkpoint and stop"
    kill -USR1 "$ADVML_CHILD" 2>/dev/null || advml_log "could not forward USR1 to $ADVML_CHILD"
  else
    advml_log "time limit near (USR1), and advml-train is not running"
  fi
}
advml_on_term() {
  ADVML_TERMINATED=1
  advml_log "SIGTERM (scancel or the time limit): advml-train stops after its step; the job is not requeued"
}
trap advml_on_warning USR1
trap advml_on_term TERM

# advml_after_stop RC RUN_FILE: what a job does when advml-train exited with
# RC: on 75 (stopped by a signal, checkpoint written) it requeues itself under
# SLURM unless it is being cancelled; any other code is final.
advml_after_stop() {
  local rc=$1 run=$2
  [ "$rc" -eq 75 ] || return 0
  if [ -z "${SLURM_JOB_ID:-}" ]; then
    advml_log "interrupted; continue with: $(advml_find_tool advml-train) --resume ${run%.h5}.ckpt.h5 (or run this script again)"
  elif [ "$ADVML_TERMINATED" = 1 ]; then
    advml_log "interrupted by SIGTERM: not requeued (cancelled, or past the time limit); resubmit with ADVML_RUN_DIR=$(dirname "$run") to continue"
  else
    advml_log "checkpointed and stopped (exit 75): requeueing job $SLURM_JOB_ID to resume"
    scontrol requeue "$SLURM_JOB_ID" || advml_log "scontrol requeue failed; resubmit with ADVML_RUN_DIR=$(dirname "$run") to continue"
  fi
}

# advml_run_status RUN_FILE: prints the run file's status attribute (running,
# completed, failed), or "unknown" when it cannot be read here (it needs
# Python 3 with h5py, or h5dump from Debian's hdf5-tools).
advml_run_status() {
  local st=""
  if "$(advml_python)" -c 'import h5py' 2>/dev/null; then
    st=$("$(advml_python)" -c 'import h5py, sys
v = h5py.File(sys.argv[1], "r").attrs.get("status", "")
print(v.decode() if isinstance(v, bytes) else v)' "$1" 2>/dev/null)
  elif command -v h5dump >/dev/null; then
    st=$(h5dump -a /status "$1" 2>/dev/null | sed -n 's/.*(0): "\(.*\)".*/\1/p' | head -1)
  fi
  echo "${st:-unknown}"
}

# advml_train RUN_FILE ARGS...: runs advml-train with --out RUN_FILE, adding
# --resume RUN.ckpt.h5 when that checkpoint exists. advml-train never
# overwrites a run file, so one left without a checkpoint (a launch stopped
# inside its first epoch) is renamed to RUN.h5.interrupted-DATE first. A run
# that has completed is not run again (a requeue after the end, or a rerun of a
# grid to fill in its missing cells) unless ADVML_EXTEND=1 asks to train it
# further (with a higher --epochs). Returns advml-train's status.
advml_train() {
  local run=$1 ckpt train rc st
  shift
  ckpt="${run%.h5}.ckpt.h5"
  train=$(advml_find_tool advml-train) || exit 1
  local args=("$@" --out "$run")
  if [ -s "$ckpt" ]; then
    st=$(advml_run_status "$run")
    if [ "$st" = completed ] && [ "${ADVML_EXTEND:-0}" != 1 ]; then
      advml_log "$run has completed already; nothing to do (ADVML_EXTEND=1 with a higher --epochs trains it further)"
      return 0
    fi
    advml_log "resuming from $ckpt (restart count ${SLURM_RESTART_COUNT:-0})"
    args+=(--resume "$ckpt")
  else
    if [ -e "$run" ]; then
      local aside="$run.interrupted-$(date -u +%Y%m%dT%H%M%SZ)"
      mv -f "$run" "$aside" || advml_die "cannot move the checkpoint-less $run aside"
      advml_log "$run has no checkpoint (stopped in its first epoch): kept as $aside, starting again"
    fi
    advml_log "starting a new run: $run"
  fi
  export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
  # one plain line per epoch in the job log (advml-train shows a bar on terminals)
  export ADVML_PROGRESS=${ADVML_PROGRESS:-line}
  # A launch whose ranks die of a signal before advml-train has written to
  # the run file (a crash while MPI and PMIx start, seen on a node that has
  # just come back from a failure) is launched again, ADVML_LAUNCH_RETRIES
  # times (default 1): nothing of the run has changed then. A crash after
  # the run file was written, an exit code, a cancellation or the time
  # limit's warning end the job as before.
  local retries=${ADVML_LAUNCH_RETRIES:-1} tries=0 before
  [[ $retries =~ ^[0-9]+$ ]] || advml_die "ADVML_LAUNCH_RETRIES='$retries': expected a whole number >= 0"
  while :; do
    before=$(stat -c %y "$run" 2>/dev/null || echo absent)
    advml_launch "$train" "${args[@]}"
    rc=$?
    if [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ] && [ "$tries" -lt "$retries" ] && [ "$ADVML_TERMINATED" = 0 ] &&
       [ "$ADVML_WARNED" = 0 ] && [ "$(stat -c %y "$run" 2>/dev/null || echo absent)" = "$before" ]; then
      tries=$((tries + 1))
      advml_log "advml-train died of signal $((rc - 128)) (exit $rc) before it wrote to $run: launching it again ($tries of ADVML_LAUNCH_RETRIES=$retries)"
      sleep "${ADVML_RETRY_PAUSE:-3}"
      continue
    fi
    break
  done
  case $rc in
    0)  advml_log "done: $run" ;;
    75) advml_after_stop "$rc" "$run" ;;
    *)  advml_log "advml-train failed (exit $rc): $run" ;;
  esac
  return $rc
}

# advml_job_main NAME DATA_KIND DEFAULT_CONFIG DEFAULT_DATA [ARGS...]: the
# whole of a single-run job script: results in RESULTS/NAME-JOBID/run.h5.
advml_job_main() {
  local name=$1 kind=$2 config=$3 data=$4
  shift 4
  advml_find_src
  config=${ADVML_CONFIG:-$ADVML_SRC/$config}
  [ -f "$config" ] || advml_die "config $config not found (set ADVML_CONFIG)"
  advml_data_for "$config" "$data" "$kind"
  data=$ADVML_JOB_DATA
  advml_ensure_data "$ADVML_JOB_KIND" "$data"
  if [ -z "${ADVML_RUN_DIR:-}" ]; then
    ADVML_RUN_DIR=$(advml_results_dir)/$(advml_job_key "$name")
    # a job that has never run before finding its directory taken: job ids
    # started again from 1 (a new SLURM cluster or state); never mix two runs
    if [ -n "${SLURM_JOB_ID:-}" ] && [ "${SLURM_RESTART_COUNT:-0}" = 0 ] && [ -e "$ADVML_RUN_DIR/run.h5" ]; then
      advml_die "$ADVML_RUN_DIR/run.h5 exists but job $SLURM_JOB_ID has never run before: another job had the same id; set ADVML_RUN_DIR to continue that run or ADVML_RESULTS to start elsewhere"
    fi
  fi
  mkdir -p "$ADVML_RUN_DIR" || advml_die "cannot create $ADVML_RUN_DIR"
  advml_log "job ${SLURM_JOB_ID:-local} on ${SLURM_JOB_NODELIST:-$(hostname)}, ${SLURM_NTASKS:-${ADVML_NP:-1}} tasks; run directory $ADVML_RUN_DIR"
  advml_train "$ADVML_RUN_DIR/run.h5" --config "$config" --data "$data" "$@"
}

# ---- grid search ---------------------------------------------------------------

# advml_grid_values VAR DEFAULT: prints the values of list VAR (spaces or commas)
# one per line, normalised with %.10g; dies on anything that is not a number >= 0.
advml_grid_values() {
  local name=$1 list v n=0
  list=${!name:-$2}
  for v in ${list//,/ }; do
    [[ "$v" =~ ^[+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]] || advml_die "$name: '$v' is not a number >= 0"
    printf '%.10g\n' "$v"
    n=$((n + 1))
  done
  [ $n -gt 0 ] || advml_die "$name is empty"
}

# advml_grid_manifest DIR: writes DIR/grid.json (the grid's axes and how task
# ids map to them), or checks that an existing one describes the same grid.
advml_grid_manifest() {
  local dir=$1 tmp json
  json=$(printf '{\n  "format": "advml-grid-manifest",\n  "etas": [%s],\n  "lambdas": [%s],\n  "task_file": "task-{task}.h5",\n  "task_index": "task = i_eta * n_lambda + i_lambda",\n  "config": "%s",\n  "data": "%s"\n}' \
    "$(IFS=,; echo "${ADVML_GRID_ETAS[*]}" | sed 's/,/, /g')" \
    "$(IFS=,; echo "${ADVML_GRID_LAMBDAS[*]}" | sed 's/,/, /g')" "$ADVML_GRID_CONFIG" "$ADVML_GRID_DATA")
  if [ -f "$dir/grid.json" ]; then
    [ "$(cat "$dir/grid.json")" = "$json" ] && return 0
    advml_die "$dir/grid.json describes another grid (other etas, lambdas, config or data); use a new ADVML_GRID_DIR"
  fi
  tmp="$dir/.grid.json.$$"
  printf '%s\n' "$json" > "$tmp" && mv -f "$tmp" "$dir/grid.json" || advml_die "cannot write $dir/grid.json"
}

# advml_grid_task K ARGS...: trains grid cell K (eta = ETAS[K / n_lambda],
# lambda = LAMBDAS[K % n_lambda]) into GRID_DIR/task-K.h5.
advml_grid_task() {
  local k=$1 nl=${#ADVML_GRID_LAMBDAS[@]} n i j run
  shift
  n=$((${#ADVML_GRID_ETAS[@]} * nl))
  [[ "$k" =~ ^[0-9]+$ ]] && [ "$k" -lt "$n" ] || advml_die "task $k is outside the ${#ADVML_GRID_ETAS[@]} x $nl grid (tasks 0-$((n - 1)); submit with --array=0-$((n - 1)))"
  i=$((k / nl)); j=$((k % nl))
  run="$ADVML_GRID_DIR/task-$k.h5"
  if [ "${SLURM_RESTART_COUNT:-0}" = 0 ] && [ -z "${ADVML_GRID_DIR_GIVEN:-}" ] && [ -e "$run" ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    advml_die "$run exists but this job has never run before: another job had the same id; set ADVML_GRID_DIR to continue that grid or ADVML_RESULTS to start elsewhere"
  fi
  advml_log "task $k: eta=${ADVML_GRID_ETAS[$i]} lambda=${ADVML_GRID_LAMBDAS[$j]}"
  advml_train "$run" --config "$ADVML_GRID_CONFIG" --data "$ADVML_GRID_DATA" "$@" \
    --lr "${ADVML_GRID_ETAS[$i]}" --l2 "${ADVML_GRID_LAMBDAS[$j]}"
}

# advml_python: the Python 3 with h5py (ADVML_PYTHON, Debian's /usr/bin/python3, python3)
advml_python() {
  if [ -n "${ADVML_PYTHON:-}" ]; then echo "$ADVML_PYTHON"
  elif [ -x /usr/bin/python3 ]; then echo /usr/bin/python3
  else echo python3; fi
}

# advml_grid_submit_merge: submits jobs/grid_merge.sbatch once per array job
# (the first of its tasks to start does), to run after every task of the array
# has ended (afterany). An array that reruns some cells of an existing grid
# directory gets its own merge.
advml_grid_submit_merge() {
  [ "${ADVML_GRID_MERGE:-1}" = 1 ] || return 0
  local mark="$ADVML_GRID_DIR/.merge-$SLURM_ARRAY_JOB_ID"
  mkdir "$mark" 2>/dev/null || return 0
  local id
  # shellcheck disable=SC2086
  if id=$(sbatch --parsable --dependency="afterany:$SLURM_ARRAY_JOB_ID" --job-name="${SLURM_JOB_NAME:-grid}_merge" \
            --output="$ADVML_GRID_DIR/merge-%j.out" --export=ALL,ADVML_SRC="$ADVML_SRC" ${ADVML_MERGE_SBATCH_ARGS:-} \
            "$ADVML_SRC/jobs/grid_merge.sbatch" "$ADVML_GRID_DIR"); then
    echo "$id" > "$mark/job_id"
    advml_log "merge job $id submitted (after array job $SLURM_ARRAY_JOB_ID): it writes $ADVML_GRID_DIR/grid.h5"
  else
    advml_log "could not submit the merge job; when the array is done run: $(advml_python) $ADVML_SRC/analysis/merge_grid.py $ADVML_GRID_DIR"
    rmdir "$mark" 2>/dev/null
  fi
}

# advml_grid_main NAME ARGS...: the whole of jobs/grid_search.sbatch. Under
# SLURM each array task trains its cell; without SLURM every cell is trained in
# turn and the grid is merged at the end.
advml_grid_main() {
  local name=$1 k n rc=0
  shift
  advml_find_src
  ADVML_GRID_CONFIG=${ADVML_CONFIG:-$ADVML_SRC/jobs/digits_cnn.json}
  [ -f "$ADVML_GRID_CONFIG" ] || advml_die "config $ADVML_GRID_CONFIG not found (set ADVML_CONFIG)"
  advml_data_for "$ADVML_GRID_CONFIG" data/digits.h5 digits
  ADVML_GRID_DATA=$ADVML_JOB_DATA
  local course="1e-05 0.0001 0.001 0.01 0.1 1 10"   # the course's np.logspace(-5, 1, 7)
  local etas lambdas
  etas=$(advml_grid_values ADVML_ETAS "$course") || exit 1
  lambdas=$(advml_grid_values ADVML_LAMBDAS "$course") || exit 1
  mapfile -t ADVML_GRID_ETAS <<<"$etas"
  mapfile -t ADVML_GRID_LAMBDAS <<<"$lambdas"
  n=$((${#ADVML_GRID_ETAS[@]} * ${#ADVML_GRID_LAMBDAS[@]}))
  if [ -n "${SLURM_JOB_ID:-}" ] && [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
    advml_die "not an array job: submit with sbatch --array=0-$((n - 1)) (one task per grid cell)"
  fi
  advml_ensure_data "$ADVML_JOB_KIND" "$ADVML_GRID_DATA"
  ADVML_GRID_DIR_GIVEN=${ADVML_GRID_DIR:-}
  ADVML_GRID_DIR=${ADVML_GRID_DIR:-$(advml_results_dir)/$(advml_job_key "$name")}
  mkdir -p "$ADVML_GRID_DIR" || advml_die "cannot create $ADVML_GRID_DIR"
  advml_grid_manifest "$ADVML_GRID_DIR"

  if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
    advml_log "array job $SLURM_ARRAY_JOB_ID task $SLURM_ARRAY_TASK_ID of a ${#ADVML_GRID_ETAS[@]} x ${#ADVML_GRID_LAMBDAS[@]} grid in $ADVML_GRID_DIR"
    advml_grid_submit_merge
    advml_grid_task "$SLURM_ARRAY_TASK_ID" "$@"
    return $?
  fi
  advml_log "no SLURM: training the ${#ADVML_GRID_ETAS[@]} x ${#ADVML_GRID_LAMBDAS[@]} grid one cell after another in $ADVML_GRID_DIR"
  for ((k = 0; k < n; k++)); do
    advml_grid_task "$k" "$@" || rc=1
  done
  "$(advml_python)" "$ADVML_SRC/analysis/merge_grid.py" "$ADVML_GRID_DIR" || rc=1
  return $rc
}
