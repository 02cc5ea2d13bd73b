#!/usr/bin/env bash
# cluster.sh - a throw-away single-node SLURM cluster on localhost, for tests.
#
#   tests/slurm/cluster.sh run -- CMD [ARGS...]   start a cluster, run CMD with
#                                                  SLURM_CONF set, stop it (also
#                                                  when CMD fails or is killed)
#   tests/slurm/cluster.sh start DIR               start one in DIR (must not exist)
#   tests/slurm/cluster.sh stop DIR                cancel its jobs, stop its daemons
#   tests/slurm/cluster.sh install                 install the Debian packages if missing
#
# `run` installs the packages when missing, stops clusters left behind by a
# `run` that was killed, and gives CMD ADVML_SLURM_TIMEOUT seconds (default 240).
#
# Debian 12's slurmctld, slurmd, slurm-client and munge, started directly (there
# is no systemd here): munged, slurmctld and slurmd each write a pid file under
# DIR/run and are stopped by those pids, never by name. Everything the cluster
# writes (config, munge key and socket, state, spool, logs) lives in DIR, and
# the ports are picked free at start, so several clusters can run side by side
# and nothing in /etc is touched. The node is "advml-node" (so slurmd is started
# with -N), its CPUs and memory are what `slurmd -C` reports for this machine.
# MpiDefault=pmix: `mpirun` inside an allocation and `srun --mpi=pmix` both work.
# Accounting is off: ask `scontrol show job`, not sacct.
#
# When sourced, it defines slurm_cluster_install, slurm_cluster_start,
# slurm_cluster_stop, slurm_wait_idle and slurm_job_state / slurm_wait_job
# (see tests/slurm/lib.sh) without running anything.
set -uo pipefail

SLURM_PACKAGES=(slurmctld slurmd slurm-client munge)
ADVML_SLURM_NODE=advml-node

slurm_log() { echo "cluster: $*" >&2; }

# Installs the packages that are missing (needs root or sudo and the network).
slurm_cluster_install() {
  local missing=() p
  for p in "${SLURM_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  slurm_log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # The packages' postinst tries to start the services; policy-rc.d or the
  # lack of systemd stops that, which is what we want: we start our own.
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" || return 1
}

# Prints a TCP port nobody listens on now.
slurm_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# slurm_cluster_start DIR: creates DIR, writes the config and starts the three
# daemons; returns once the node is idle (or 1 with the logs printed). Exports
# SLURM_CONF=DIR/etc/slurm.conf so that sbatch, squeue, scontrol, ... talk to it.
slurm_cluster_start() {
  local dir=$1
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    slurm_log "$dir exists and is not empty"; return 1
  fi
  local p
  for p in munged slurmctld slurmd sbatch; do
    command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || { slurm_log "$p not installed (run: $0 install)"; return 1; }
  done
  mkdir -p "$dir"/{etc,state,spool/$ADVML_SLURM_NODE,log,run,munge,tmp} || return 1
  chmod 755 "$dir" "$dir/munge"   # munged refuses a socket directory others cannot search
  chmod 700 "$dir/state"

  # munge: a fresh key for this cluster only
  dd if=/dev/urandom of="$dir/etc/munge.key" bs=1024 count=1 status=none || return 1
  chmod 400 "$dir/etc/munge.key"
  /usr/sbin/munged --key-file="$dir/etc/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/run/munged.seed" || { slurm_log "munged failed"; cat "$dir/log/munged.log" >&2; return 1; }

  local host node cpus mem ctldport slurmdport
  host=$(hostname -s)
  node=$(/usr/sbin/slurmd -C | head -1)
  cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node")
  mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  [ -n "$cpus" ] || cpus=$(nproc)
  [ -n "$mem" ] || mem=1000
  ctldport=$(slurm_free_port) && slurmdport=$(slurm_free_port) || return 1
  while [ "$slurmdport" = "$ctldport" ]; do slurmdport=$(slurm_free_port); done

  : > "$dir/etc/plugstack.conf"
  cat > "$dir/etc/slurm.conf" <<EOF
# written by tests/slurm/cluster.sh for a throw-away test cluster
ClusterName=advmltest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctldport
SlurmdPort=$slurmdport
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this long before it may start again (default 120 s)
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=5
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/etc/plugstack.conf
TmpFS=$dir/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SchedulerType=sched/builtin
# schedule at once on submit, and look at the queue every second (a requeued
# job becomes eligible while no event happens; the default interval is 60 s)
SchedulerParameters=batch_sched_delay=0,sched_interval=1
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
JobRequeue=1
# cancelled or requeued jobs get SIGTERM, then SIGKILL 2 s later (default 30 s)
KillWait=2
InactiveLimit=0
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$ADVML_SLURM_NODE NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$ADVML_SLURM_NODE Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/etc/slurm.conf"

  /usr/sbin/slurmctld -f "$SLURM_CONF" -c || { slurm_log "slurmctld failed"; slurm_dump_logs "$dir"; return 1; }
  /usr/sbin/slurmd -f "$SLURM_CONF" -N "$ADVML_SLURM_NODE" || { slurm_log "slurmd failed"; slurm_dump_logs "$dir"; return 1; }
  slurm_wait_idle 30 || { slurm_log "node not idle after 30 s"; slurm_dump_logs "$dir"; return 1; }
}

# slurm_wait_idle SECONDS: waits until the node of $SLURM_CONF is idle.
slurm_wait_idle() {
  local deadline=$((SECONDS + $1)) state
  while [ $SECONDS -lt $deadline ]; do
    state=$(sinfo -h -n "$ADVML_SLURM_NODE" -o %T 2>/dev/null)
    [ "$state" = idle ] && return 0
    sleep 0.2
  done
  return 1
}

slurm_dump_logs() {
  local f
  for f in "$1"/log/*.log; do
    [ -s "$f" ] || continue
    echo "---- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

# slurm_cluster_job_pids DIR [any]: pids of this cluster's job processes that
# are still alive: job scripts and their ranks carry SLURM_CONF=DIR/etc/slurm.conf
# and a SLURM_JOB_ID in their environment (sbatch and srun export both). With
# "any", every process with that SLURM_CONF (also the command `run` ran). This
# shell and its ancestors are never listed.
slurm_cluster_job_pids() {
  local conf="SLURM_CONF=$1/etc/slurm.conf" any=${2:-} f pid keep=" " p=$$
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    keep+="$p "
    p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)
  done
  for f in $(grep -lzxF "$conf" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${f#/proc/}; pid=${pid%/environ}
    [[ "$keep" == *" $pid "* ]] && continue
    if [ "$any" = any ] || grep -qz '^SLURM_JOB_ID=' "$f" 2>/dev/null; then echo "$pid"; fi
  done
}

# slurm_alive PID: true while the process runs (a zombie, killed but not yet
# reaped by its parent, counts as gone)
slurm_alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# slurm_stop_pids SECONDS PID...: sends TERM to each, waits up to SECONDS for
# all of them to exit, then sends KILL to those left.
slurm_stop_pids() {
  local secs=$1 pid left deadline
  shift
  [ $# -eq 0 ] && return 0
  kill -TERM "$@" 2>/dev/null
  deadline=$((SECONDS + secs))
  while [ $SECONDS -le $deadline ]; do
    left=()
    for pid in "$@"; do slurm_alive "$pid" && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.05
  done
  kill -KILL "${left[@]}" 2>/dev/null
  return 0
}

# the pid in pid file $1 when that process is alive
slurm_pidfile_pid() {
  local pid
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  [ -n "$pid" ] && slurm_alive "$pid" && echo "$pid"
  return 0
}

# slurm_cluster_stop DIR: cancels every job, waits briefly for them to leave,
# stops slurmd, slurmctld and munged by their pid files (each takes about 2 s
# to exit, so they are stopped together), then ends any job process of this
# cluster that outlived its daemon, by pid. Leaves DIR (logs) in place.
slurm_cluster_stop() {
  local dir=$1 i
  export SLURM_CONF="$dir/etc/slurm.conf"
  if [ -n "$(slurm_pidfile_pid "$dir/run/slurmctld.pid")" ]; then
    scancel --quiet --user="$(id -un)" 2>/dev/null
    for ((i = 0; i < 50; i++)); do   # ranks outlive scancel by a second or two
      [ -z "$(squeue -h -o %i 2>/dev/null | head -1)" ] && [ -z "$(slurm_cluster_job_pids "$dir")" ] && break
      sleep 0.1
    done
  fi
  # shellcheck disable=SC2046
  slurm_stop_pids 10 $(slurm_pidfile_pid "$dir/run/slurmd.pid") $(slurm_pidfile_pid "$dir/run/slurmctld.pid") \
    $(slurm_pidfile_pid "$dir/run/munged.pid")
  # shellcheck disable=SC2046
  slurm_stop_pids 2 $(slurm_cluster_job_pids "$dir")
  return 0
}

# slurm_reap_stale: stops the clusters that `run` started in TMPDIR and whose
# owner (the cluster.sh that started it) was killed before it could clean up,
# e.g. by a ctest timeout. Clusters of live owners are left alone.
slurm_reap_stale() {
  local d pid
  for d in "${TMPDIR:-/tmp}"/advml-slurm.*; do
    [ -f "$d/run/owner.pid" ] || continue
    pid=$(cat "$d/run/owner.pid")
    [ -n "$pid" ] && slurm_alive "$pid" && continue
    slurm_log "stopping the stale cluster in $d (its owner $pid is gone)"
    slurm_cluster_stop "$d"
    # shellcheck disable=SC2046
    slurm_stop_pids 2 $(slurm_cluster_job_pids "$d" any)   # what its owner was running
    rm -rf "$d"
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cmd=${1:-}
  shift || true
  case "$cmd" in
    install) slurm_cluster_install ;;
    start)   [ $# -eq 1 ] || { echo "usage: $0 start DIR" >&2; exit 2; }
             slurm_cluster_start "$1" && echo "export SLURM_CONF=$1/etc/slurm.conf" ;;
    stop)    [ $# -eq 1 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
             slurm_cluster_stop "$1" ;;
    run)     [ "${1:-}" = "--" ] && shift
             [ $# -ge 1 ] || { echo "usage: $0 run -- CMD [ARGS...]" >&2; exit 2; }
             slurm_cluster_install || { slurm_log "cannot install ${SLURM_PACKAGES[*]}"; exit 1; }
             slurm_reap_stale
             dir=$(mktemp -d "${TMPDIR:-/tmp}/advml-slurm.XXXXXX") || exit 1
             trap 'slurm_cluster_stop "$dir"; if [ "${ADVML_KEEP_CLUSTER_DIR:-0}" = 1 ]; then echo "cluster: kept $dir" >&2; else rm -rf "$dir"; fi' EXIT
             trap 'exit 143' TERM INT HUP
             t0=$(date +%s.%N)
             slurm_cluster_start "$dir" || exit 1
             echo $$ > "$dir/run/owner.pid"
             slurm_log "up in $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s ($dir)"
             export ADVML_CLUSTER_DIR="$dir"
             # our own time limit, below ctest's, so that the EXIT trap still
             # stops the daemons when a test hangs
             timeout --kill-after=5 "${ADVML_SLURM_TIMEOUT:-240}" "$@"
             rc=$?
             [ $rc -eq 124 ] && slurm_log "timed out after ${ADVML_SLURM_TIMEOUT:-240} s"
             [ $rc -ne 0 ] && slurm_dump_logs "$dir"
             exit $rc ;;
    *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; [ "$cmd" = -h ] || [ "$cmd" = --help ]; exit $? ;;
  esac
fi
