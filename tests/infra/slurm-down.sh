#!/usr/bin/env bash
# Stops what slurm-up.sh started (same $MIRAI_CI_SLURM): cancels every job while slurmd can still
# clean up, stops slurmd, slurmctld and munged by their pid files, then any stray job process
# that carries the marker. Safe to run any number of times; the logs stay.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir=${MIRAI_CI_SLURM:-/tmp/mirai-ci/slurm}
export SLURM_CONF=$dir/etc/slurm.conf
if running "$dir/run/slurmctld.pid" /usr/sbin/slurmctld >/dev/null; then
  jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
  if [[ -n ${jobs// } ]]; then
    timeout 10 scancel $jobs 2>/dev/null
    wait_for 15 test -z "$(timeout 5 squeue -h -t R,CG,CF,S -o %A 2>/dev/null)"
  fi
fi
stop "$dir/run/slurmd.pid" /usr/sbin/slurmd
stop "$dir/run/slurmctld.pid" /usr/sbin/slurmctld
stop "$dir/run/munged.pid" /usr/sbin/munged
sweep "MIRAI_CI_OWNER=$dir"
rm -f "$dir/run/munge.socket" "$dir/run/munge.socket.lock"
exit 0
