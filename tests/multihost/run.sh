#!/usr/bin/env bash
# run.sh TEST.sh ARGS... - runs one multi-host test (tests/multihost.cmake) under
# its own time limit, ADVML_MH_TIMEOUT seconds (default 200), below ctest's, and
# then removes whatever a test that was stopped by that limit could not: its
# network namespaces with every process in them (SLURM's daemons and munged
# run in them too) and its directory (tests/multihost/netns.sh, mh_reap_stale).
# Exit status: the test's (77 = skipped), 124 when it ran out of time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
timeout --kill-after=20 "${ADVML_MH_TIMEOUT:-200}" bash "$@"
rc=$?
[ $rc -eq 124 ] && echo "multihost: $1 timed out after ${ADVML_MH_TIMEOUT:-200} s" >&2
# shellcheck source=netns.sh
. "$here/netns.sh"
trap - EXIT
mh_reap_stale
exit $rc
