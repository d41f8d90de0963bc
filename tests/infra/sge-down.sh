#!/usr/bin/env bash
# Stops what sge-up.sh started (same $MIRAI_CI_SGE): deletes every job, stops sge_execd and
# sge_qmaster by their pid files, then any stray job process that carries the marker. Safe to
# run any number of times; the logs stay. The qmaster takes 6-9 s to stop gracefully, and its
# state is thrown away on the next start, so it gets SIGKILL after 1 s (MIRAI_CI_SGE_STOP_WAIT).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir=${MIRAI_CI_SGE:-/tmp/mirai-ci/sge}
read -r qport eport <<<"${MIRAI_CI_SGE_PORTS:-6444 6445}"
export SGE_ROOT=$dir/root SGE_CELL=ci SGE_QMASTER_PORT=$qport SGE_EXECD_PORT=$eport
bin=/usr/lib/gridengine
qspool=$dir/spool/qmaster

if running "$qspool/qmaster.pid" $bin/sge_qmaster >/dev/null; then
  if [[ -n $(timeout 10 qstat -u '*' 2>/dev/null) ]]; then
    timeout 10 qdel -f -u '*' >/dev/null 2>&1
    wait_for 10 test -z "$(timeout 5 qstat -u '*' 2>/dev/null)"
  fi
fi
for f in "$dir"/spool/execd/*/execd.pid; do
  [[ -e $f ]] && stop "$f" $bin/sge_execd
done
STOP_WAIT=${MIRAI_CI_SGE_STOP_WAIT:-1} stop "$qspool/qmaster.pid" $bin/sge_qmaster
sweep "MIRAI_CI_OWNER=$dir"
exit 0
