#!/usr/bin/env bash
# netns.sh - two throw-away "hosts" on this machine, for the multi-host tests
# (sourced; tests/multihost/test_*.sh).
#
# Each host is a network namespace with its own hostname (unshare --uts), its
# own loopback and one interface, mpi0, joined to the other host's by a veth
# pair: host 1 is 10.200.0.1, host 2 is 10.200.0.2, a /24 that exists only
# between the two namespaces (nothing is routed to or from the machine's own
# network). The file system is shared, as a cluster's shared file system is.
# Open MPI reaches host 2 through an rsh agent that enters its namespace
# (`ip netns exec HOST ...` instead of ssh); mpirun itself runs in host 1.
#
# Names are unique to the sourcing shell: hosts (= namespaces) advmh<PID>-1 and
# advmh<PID>-2, veths advmh<PID>a/b while they are still in the root namespace,
# /etc/netns/advmh<PID>-N (the hosts' /etc/hosts, which `ip netns exec` binds
# over /etc/hosts), and a temporary directory MH_DIR. mh_up sets an EXIT trap
# that removes all of it, kills every process left in the namespaces, and runs
# mh_on_exit (a function the test may define first). Namespaces of owners that
# died without cleaning up (killed by a ctest timeout) are removed by the next
# mh_up.
#
# Functions:
#   mh_up                 create the two hosts (exits 77 = skip when this machine
#                         cannot make network namespaces or veth pairs)
#   mh_mpirun ARGS...     mpirun on the two hosts (in host 1, rsh agent, TCP),
#                         with the launch settings of jobs/common.sh; ARGS go to
#                         mpirun, e.g. -np 2 --map-by node CMD
#   mh_in HOST CMD...     run CMD in host HOST (1 or 2)
#   mh_pids HOST          the pids of every process in host HOST
#   mh_kill_host HOST     kill -9 every process in host HOST (until none is left)
#   mh_link HOST up|down  set host HOST's mpi0 up or down (cuts the link)
#   mh_now                seconds since the epoch, with fractions
#   mh_log MSG            a line with the seconds since the test started
#   mh_fail MSG           FAIL: MSG and exit 1
#   mh_check COND... MSG  mh_fail MSG unless the command COND succeeds
#   mh_h5 CODE ARGS...    run Debian's python3 with h5py/numpy imported on ARGS
set -uo pipefail

: "${ADVML_SRC:?ADVML_SRC must be set (ctest sets it)}"
: "${ADVML_BIN:?ADVML_BIN must be set (ctest sets it)}"

MH_T0=$(date +%s.%N)
MH_TAG="advmh$$"
MH_HOSTS=("$MH_TAG-1" "$MH_TAG-2")
MH_NET=10.200.0.0/24
MH_ADDR=(10.200.0.1 10.200.0.2)
MH_DIR=""

mh_now() { date +%s.%N; }
mh_since() { awk -v a="$1" -v b="$(mh_now)" 'BEGIN { printf "%.1f", b - a }'; }
mh_log() { echo "[$(mh_since "$MH_T0") s] $*"; }
mh_fail() { echo "FAIL: $*" >&2; exit 1; }
mh_check() {
  local msg=${*: -1}
  "${@:1:$#-1}" || mh_fail "$msg"
}
mh_skip() { echo "SKIP: $*"; exit 77; }

mh_h5() {
  local code=$1
  shift
  /usr/bin/python3 - "$@" <<EOF || mh_fail "check failed (python above)"
import sys, json
import h5py
import numpy as np
def attr(f, k):
    v = f.attrs[k]
    return v.decode() if isinstance(v, bytes) else v
def params(path):
    out = {}
    with h5py.File(path, "r") as f:
        f["params"].visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out
def max_diff(a, b):
    assert sorted(a) == sorted(b), (sorted(a), sorted(b))
    return max(float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) for k in a)
$code
EOF
}

# mh_install PACKAGE...: installs the Debian packages that are missing (root or
# sudo, and the network), as tests/slurm/cluster.sh does for SLURM.
mh_install() {
  local missing=() p sudo=""
  for p in "$@"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "multihost: installing ${missing[*]}" >&2
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}"
}

# mh_alive PID: true while the process runs (a zombie counts as gone)
mh_alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

mh_ns() { echo "${MH_HOSTS[$(($1 - 1))]}"; }
mh_pids() { ip netns pids "$(mh_ns "$1")" 2>/dev/null; }

# mh_kill_ns NAME: kill -9 every process in namespace NAME until none is left
# (at most 10 s; Open MPI's orted daemonizes, so its pid is not ours to wait for)
mh_kill_ns() {
  local i pids
  for ((i = 0; i < 200; i++)); do
    pids=$(ip netns pids "$1" 2>/dev/null | tr '\n' ' ')
    [ -z "${pids// /}" ] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.05
  done
  echo "multihost: processes still in $1 after 10 s: $(ip netns pids "$1" | tr '\n' ' ')" >&2
  return 1
}
mh_kill_host() { mh_kill_ns "$(mh_ns "$1")"; }

# mh_del_ns NAME: kill what runs in it, delete it and its /etc/netns directory
mh_del_ns() {
  ip netns list 2>/dev/null | grep -q "^$1\( \|$\)" || { rm -rf "/etc/netns/$1"; return 0; }
  mh_kill_ns "$1"
  ip netns del "$1" 2>/dev/null || echo "multihost: could not delete netns $1" >&2
  rm -rf "/etc/netns/$1"
}

# mh_reap_stale: removes the namespaces (and what runs in them) of earlier
# tests whose shell is gone
mh_reap_stale() {
  local ns pid d
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^advmh[0-9]+-[12]$'); do
    pid=${ns#advmh}; pid=${pid%-*}
    mh_alive "$pid" && continue
    echo "multihost: removing the stale namespace $ns (its test, pid $pid, is gone)" >&2
    mh_del_ns "$ns"
  done
  for d in /etc/netns/advmh*-[12]; do
    [ -d "$d" ] || continue
    ns=${d#/etc/netns/}; pid=${ns#advmh}; pid=${pid%-*}
    mh_alive "$pid" || ip netns list 2>/dev/null | grep -q "^$ns\( \|$\)" || rm -rf "$d"
  done
  for d in "${TMPDIR:-/tmp}"/advml-mh.*; do
    [ -f "$d/owner.pid" ] || continue
    mh_alive "$(cat "$d/owner.pid")" || [ "${ADVML_KEEP_MH_DIR:-0}" = 1 ] || rm -rf "$d"
  done
}

mh_down() {
  local rc=$?
  trap - EXIT
  declare -F mh_on_exit >/dev/null && mh_on_exit
  local ns
  for ns in "${MH_HOSTS[@]}"; do mh_del_ns "$ns"; done
  ip link del "${MH_TAG}a" 2>/dev/null   # only if creation stopped half-way
  if [ -n "$MH_DIR" ]; then
    if [ "${ADVML_KEEP_MH_DIR:-0}" = 1 ]; then echo "multihost: kept $MH_DIR" >&2; else rm -rf "$MH_DIR"; fi
  fi
  exit $rc
}

mh_up() {
  command -v ip >/dev/null || mh_install iproute2 || mh_fail "iproute2 is missing and could not be installed"
  for t in unshare nsenter; do command -v $t >/dev/null || mh_fail "$t (util-linux) is missing"; done
  [ "$(id -u)" -eq 0 ] || mh_skip "network namespaces need root (CAP_SYS_ADMIN, CAP_NET_ADMIN); running as $(id -un)"
  mh_reap_stale
  MH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/advml-mh.XXXXXX") || mh_fail "mktemp failed"
  chmod 755 "$MH_DIR"
  echo $$ > "$MH_DIR/owner.pid"
  trap mh_down EXIT
  trap 'exit 143' TERM INT HUP

  local err i h
  if ! err=$(ip netns add "${MH_HOSTS[0]}" 2>&1); then
    mh_skip "this machine cannot create a network namespace (ip netns add: $err)"
  fi
  ip netns add "${MH_HOSTS[1]}" || mh_fail "ip netns add ${MH_HOSTS[1]} failed"
  if ! err=$(ip link add "${MH_TAG}a" type veth peer name "${MH_TAG}b" 2>&1); then
    mh_skip "this machine cannot create a veth pair between namespaces (ip link add type veth: $err)"
  fi
  for i in 0 1; do
    h=${MH_HOSTS[$i]}
    ip -n "$h" link set lo up &&
      ip link set "${MH_TAG}$([ $i = 0 ] && echo a || echo b)" netns "$h" &&
      ip -n "$h" link set "${MH_TAG}$([ $i = 0 ] && echo a || echo b)" name mpi0 &&
      ip -n "$h" addr add "${MH_ADDR[$i]}/24" dev mpi0 &&
      ip -n "$h" link set mpi0 up || mh_fail "setting up $h failed"
    mkdir -p "/etc/netns/$h" || mh_fail "cannot create /etc/netns/$h"
    printf '127.0.0.1 localhost\n%s %s\n%s %s\n' "${MH_ADDR[0]}" "${MH_HOSTS[0]}" "${MH_ADDR[1]}" "${MH_HOSTS[1]}" \
      > "/etc/netns/$h/hosts"
  done
  # the rsh agent: Open MPI runs `AGENT [OPTIONS] HOST COMMAND...` (as ssh);
  # the command runs in HOST's namespace under HOST's own hostname
  cat > "$MH_DIR/rsh" <<'EOF'
#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in -*) shift;; *) break;; esac; done
host=$1; shift
exec ip netns exec "$host" unshare --uts sh -c 'hostname "$0"; eval "$1"' "$host" "$*"
EOF
  chmod 755 "$MH_DIR/rsh"
  mkdir -p "$MH_DIR/ompi"
  export OMPI_MCA_orte_tmpdir_base="$MH_DIR/ompi"
  mh_write_mpirun
  mh_log "hosts ${MH_HOSTS[*]} up (${MH_ADDR[*]} on mpi0), work directory $MH_DIR"
}

mh_in() {
  local h
  h=$(mh_ns "$1"); shift
  ip netns exec "$h" unshare --uts sh -c 'hostname "$0"; exec "$@"' "$h" "$@"
}

mh_link() { ip -n "$(mh_ns "$1")" link set mpi0 "$2"; }

# The Open MPI settings jobs/common.sh's advml_launch passes to mpirun (the
# keepalive that bounds a cut link), read from there so that the tests check
# what the job scripts do.
mh_launch_mca() {
  # shellcheck source=/dev/null
  ( . "$ADVML_SRC/jobs/common.sh" >/dev/null 2>&1; advml_mpirun_mca )
}

# mh_mpirun [-k SLOTS] ARGS...: mpirun in host 1 over the two hosts, SLOTS per
# host (default 1), TCP between hosts (only over mpi0), shared memory within one.
# --bind-to none: both "hosts" share this machine's cores, and Open MPI on each
# would bind its first rank to core 0, the same core (a 1-float allreduce then
# takes 1.2-1.6 ms instead of 18 us here, ranks spinning on one core).
# It runs the script $MH_DIR/mpirun-hosts that mh_up writes, which `timeout`
# can run as well: timeout -k 5 60 "$MH_DIR/mpirun-hosts" ARGS...
mh_mpirun() { "$MH_DIR/mpirun-hosts" "$@"; }

# mh_write_mpirun: writes $MH_DIR/mpirun-hosts (see mh_mpirun)
mh_write_mpirun() {
  local mca
  mca=$(mh_launch_mca) || mh_fail "cannot read advml_mpirun_mca from jobs/common.sh"
  {
    echo '#!/bin/sh'
    echo '# mpirun over the two test hosts (tests/multihost/netns.sh)'
    echo 'slots=1'
    echo 'if [ "${1:-}" = -k ]; then slots=$2; shift 2; fi'
    echo "hostfile=$MH_DIR/hostfile.\$\$"
    echo "printf '%s slots=%s\\n%s slots=%s\\n' ${MH_HOSTS[0]} \"\$slots\" ${MH_HOSTS[1]} \"\$slots\" > \"\$hostfile\""
    echo "exec ip netns exec ${MH_HOSTS[0]} unshare --uts sh -c 'hostname \"\$0\"; exec \"\$@\"' ${MH_HOSTS[0]} \\"
    echo "  mpirun --hostfile \"\$hostfile\" --bind-to none \\"
    echo "  --mca plm_rsh_agent $MH_DIR/rsh --mca plm_rsh_no_tree_spawn 1 \\"
    echo "  --mca btl tcp,vader,self --mca btl_tcp_if_include $MH_NET --mca oob_tcp_if_include $MH_NET \\"
    echo "  $mca \"\$@\""
  } > "$MH_DIR/mpirun-hosts"
  chmod 755 "$MH_DIR/mpirun-hosts"
}
