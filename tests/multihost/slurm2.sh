#!/usr/bin/env bash
# slurm2.sh - a throw-away two-node SLURM cluster across the two hosts of
# tests/multihost/netns.sh (sourced after it, once mh_up has run).
#
# Node 1 (host 1, 10.200.0.1) runs munged, slurmctld and a slurmd; node 2
# (host 2, 10.200.0.2) runs a slurmd. One CPU per node, so a job of
# --nodes=2 --ntasks=2 has one rank on each. The daemons are Debian's
# (installed by tests/slurm/cluster.sh's slurm_cluster_install when missing),
# started in the hosts' network namespaces with `nsenter --net` (not
# `ip netns exec`, which remounts /sys and so hides the cgroup file system
# slurmd 22.05 needs), each with its host's name (unshare --uts). Every
# namespace has its own ports, so the default ones are free. Config, munge key
# and socket (a path, so every host reaches it), state, spool, logs: all in
# $MH_DIR/slurm. The jobs run in the namespaces, so killing what runs there
# (netns.sh's cleanup) ends every daemon and job of this cluster. Settings
# that differ from tests/slurm/cluster.sh's single node: SlurmdTimeout=10 (a
# node that stops answering is DOWN after 10 s), per-node spool, pid, log and
# TmpFS (the two slurmstepds would otherwise share /tmp/spmix_appdir_*).
#
# Functions:
#   s2_up            install the packages, write the config, start the daemons,
#                    wait until both nodes are idle; exports SLURM_CONF
#   s2 CMD...        run a SLURM client (sbatch, squeue, scontrol, ...) on node 1
#   s2_slurmd N      (re)start node N's slurmd
#   s2_node_state N  node N's state (idle, allocated, down*, ...)
#   s2_logs          the last lines of every daemon log (on failure)
# and, for the job tests, the t_* helpers of tests/slurm/lib.sh (t_submit,
# t_wait, t_state, t_check, t_h5, ...) with its T_WORK = $MH_DIR/slurm/work.

# shellcheck source=../slurm/cluster.sh
. "$ADVML_SRC/tests/slurm/cluster.sh"

S2_DIR=""

s2_node() { mh_ns "$1"; }
s2() { nsenter --net="/run/netns/$(mh_ns 1)" "$@"; }
s2_in() {
  local n=$1
  shift
  nsenter --net="/run/netns/$(mh_ns "$n")" unshare --uts sh -c 'hostname "$0"; exec "$@"' "$(mh_ns "$n")" "$@"
}

s2_logs() {
  local f
  for f in "$S2_DIR"/log/*.log; do
    [ -s "$f" ] || continue
    echo "---- $f (last 25 lines)" >&2
    tail -n 25 "$f" >&2
  done
}

s2_slurmd() {
  mkdir -p "$S2_DIR/spool-$(mh_ns "$1")" "$S2_DIR/tmp-$(mh_ns "$1")"
  s2_in "$1" /usr/sbin/slurmd -f "$SLURM_CONF" -N "$(mh_ns "$1")"
}

s2_node_state() { s2 sinfo -h -n "$(mh_ns "$1")" -o %t 2>/dev/null; }

# stops the daemons gently (the jobs first), before netns.sh kills what is left
s2_down() {
  [ -n "$S2_DIR" ] && [ -f "$S2_DIR/etc/slurm.conf" ] || return 0
  local pids="" f
  s2 scancel --quiet --user="$(id -un)" 2>/dev/null
  for f in "$S2_DIR"/run/*.pid; do
    [ -f "$f" ] && pids="$pids $(slurm_pidfile_pid "$f")"
  done
  # shellcheck disable=SC2086
  slurm_stop_pids 5 $pids
  if [ "${S2_KEEP_LOGS:-0}" = 1 ]; then s2_logs; fi
}

s2_up() {
  slurm_cluster_install || mh_fail "cannot install ${SLURM_PACKAGES[*]}"
  S2_DIR=$MH_DIR/slurm
  mkdir -p "$S2_DIR"/{etc,state,log,run,munge,work} || mh_fail "mkdir $S2_DIR failed"
  chmod 755 "$S2_DIR" "$S2_DIR/munge"
  chmod 700 "$S2_DIR/state"
  dd if=/dev/urandom of="$S2_DIR/etc/munge.key" bs=1024 count=1 status=none || mh_fail "no munge key"
  chmod 400 "$S2_DIR/etc/munge.key"
  s2 /usr/sbin/munged --key-file="$S2_DIR/etc/munge.key" --socket="$S2_DIR/munge/munge.socket" \
    --pid-file="$S2_DIR/run/munged.pid" --log-file="$S2_DIR/log/munged.log" \
    --seed-file="$S2_DIR/run/munged.seed" || { s2_logs; mh_fail "munged failed"; }
  local n1 n2
  n1=$(mh_ns 1); n2=$(mh_ns 2)
  : > "$S2_DIR/etc/plugstack.conf"
  cat > "$S2_DIR/etc/slurm.conf" <<EOF
# written by tests/multihost/slurm2.sh: two nodes, one per network namespace
ClusterName=advmlmh
SlurmctldHost=$n1(${MH_ADDR[0]})
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this long before it may start again (default 120 s)
AuthInfo=socket=$S2_DIR/munge/munge.socket,cred_expire=5
StateSaveLocation=$S2_DIR/state
SlurmdSpoolDir=$S2_DIR/spool-%n
SlurmctldPidFile=$S2_DIR/run/slurmctld.pid
SlurmdPidFile=$S2_DIR/run/slurmd-%n.pid
SlurmctldLogFile=$S2_DIR/log/slurmctld.log
SlurmdLogFile=$S2_DIR/log/slurmd-%n.log
PlugStackConfig=$S2_DIR/etc/plugstack.conf
TmpFS=$S2_DIR/tmp-%n
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_interval=1
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
JobRequeue=1
KillWait=2
InactiveLimit=0
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=10
NodeName=$n1 NodeAddr=${MH_ADDR[0]} CPUs=1 State=UNKNOWN
NodeName=$n2 NodeAddr=${MH_ADDR[1]} CPUs=1 State=UNKNOWN
PartitionName=debug Nodes=$n1,$n2 Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$S2_DIR/etc/slurm.conf"
  s2_in 1 /usr/sbin/slurmctld -f "$SLURM_CONF" -c || { s2_logs; mh_fail "slurmctld failed"; }
  s2_slurmd 1 || { s2_logs; mh_fail "slurmd on node 1 failed"; }
  s2_slurmd 2 || { s2_logs; mh_fail "slurmd on node 2 failed"; }
  local deadline=$((SECONDS + 30))
  until [ "$(s2_node_state 1)" = idle ] && [ "$(s2_node_state 2)" = idle ]; do
    [ $SECONDS -lt $deadline ] || { s2_logs; mh_fail "nodes not idle after 30 s: $(s2 sinfo -N 2>&1)"; }
    sleep 0.2
  done
  mh_log "SLURM cluster up: nodes $n1 $n2 idle ($S2_DIR)"

  # the job tests' helpers: tests/slurm/lib.sh, its clients run on node 1
  sbatch() { s2 sbatch "$@"; }
  squeue() { s2 squeue "$@"; }
  scontrol() { s2 scontrol "$@"; }
  scancel() { s2 scancel "$@"; }
  sinfo() { s2 sinfo "$@"; }
  export ADVML_CLUSTER_DIR=$S2_DIR
  # the jobs' mpirun (ADVML_LAUNCHER=mpirun) would bind the rank of each node
  # to core 0, the same core of this machine (see mh_mpirun)
  export OMPI_MCA_hwloc_base_binding_policy=none
  # shellcheck source=../slurm/lib.sh
  . "$ADVML_SRC/tests/slurm/lib.sh"
}
