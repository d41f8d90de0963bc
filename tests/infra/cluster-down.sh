#!/usr/bin/env bash
# Stops what cluster-up.sh started (same $MIRAI_CI_CLUSTER): cancels every job, stops the
# slurmds, slurmctld, munged and the login sshd by their pid files, kills what is left in its own
# namespaces (by `ip netns pids`), then any stray process carrying the marker, and removes the
# namespaces, the bridge and the laptop link. Safe to run any number of times; the logs stay.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir=${MIRAI_CI_CLUSTER:-/tmp/mirai-ci/cluster}
export SLURM_CONF=$dir/etc/slurm.conf
# The namespaces and links cluster-up.sh created (and nothing else).
namespaces=$(awk '$1 == "netns" {print $2}' "$dir/run/netns" 2>/dev/null)
links=$(awk '$1 == "link" {print $2}' "$dir/run/netns" 2>/dev/null)
# A node cut off or frozen by a test comes back first, so that its jobs can be cancelled.
for ns in $namespaces; do
  [[ $ns == mn* ]] && ip link set "mv${ns#mn}" up 2>/dev/null
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -CONT "$p" 2>/dev/null; done
done
if running "$dir/run/slurmctld.pid" /usr/sbin/slurmctld >/dev/null; then
  jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
  if [[ -n ${jobs// } ]]; then
    timeout 10 scancel $jobs 2>/dev/null
    wait_for 15 test -z "$(timeout 5 squeue -h -t R,CG,CF,S -o %A 2>/dev/null)"
  fi
fi
for f in "$dir"/run/slurmd-*.pid; do [[ -e $f ]] && stop "$f" /usr/sbin/slurmd; done
stop "$dir/run/slurmctld.pid" /usr/sbin/slurmctld
stop "$dir/run/sshd.pid" /usr/sbin/sshd
stop "$dir/run/munged.pid" /usr/sbin/munged
for ns in $namespaces; do
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
done
sweep "MIRAI_CI_OWNER=$dir"
for l in $links; do ip link del "$l" 2>/dev/null; done
rm -f "$dir/run/munge.socket" "$dir/run/munge.socket.lock" "$dir/run/netns"
exit 0
