#!/usr/bin/env bash
# Starts a private one-node Slurm on this machine for the tests: munged with its own key and
# socket, slurmctld and slurmd, all state under $MIRAI_CI_SLURM (default /tmp/mirai-ci/slurm).
# Prints `export SLURM_CONF=...` and writes it to $MIRAI_CI_SLURM/env.sh. Does nothing when the
# cluster is already up; clears half-started state first.
# Settings: MIRAI_CI_SLURM_CPUS (default 8, more than the machine has, so arrays run at once),
# MIRAI_CI_SLURM_PORTS (default "6817 6818": slurmctld, slurmd).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir=${MIRAI_CI_SLURM:-/tmp/mirai-ci/slurm}
cpus=${MIRAI_CI_SLURM_CPUS:-8}
read -r ctld_port slurmd_port <<<"${MIRAI_CI_SLURM_PORTS:-6817 6818}"
node=$(hostname -s)
conf=$dir/etc/slurm.conf
marker="MIRAI_CI_OWNER=$dir"
export SLURM_CONF=$conf

for b in munged slurmctld slurmd sinfo sbatch; do
  command -v $b >/dev/null || die "$b is missing: apt-get install slurm-wlm munge"
done
emit() { printf 'export SLURM_CONF=%q\n' "$conf" | tee "$dir/env.sh"; }
idle() { [[ $(sinfo -h -n "$node" -o %T 2>/dev/null) == idle ]]; }

if running "$dir/run/munged.pid" /usr/sbin/munged >/dev/null &&
   running "$dir/run/slurmctld.pid" /usr/sbin/slurmctld >/dev/null &&
   running "$dir/run/slurmd.pid" /usr/sbin/slurmd >/dev/null && idle; then
  emit
  exit 0
fi
[[ -d $dir/run ]] && MIRAI_CI_SLURM=$dir "$here/slurm-down.sh" >&2
rm -rf "${dir:?}/run" "${dir:?}/spool" "${dir:?}/munge"
mkdir -p "$dir"/{etc,log,run,munge,spool/ctld,spool/d}
chmod 700 "$dir/munge"

sock=$dir/run/munge.socket
slurm_base "$dir" "$marker"
mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
cat >"$conf" <<CONF
ClusterName=mirai-ci
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$dir/etc/task_prolog.sh
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# Start jobs at once: the defaults wait 3 s before scheduling a batch job and 30 s for backfill.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
MpiDefault=none
MailProg=/bin/true
MaxArraySize=1001
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=${mem:-1024} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=other Nodes=ALL MaxTime=INFINITE State=UP
CONF

env "$marker" slurmctld -f "$conf" </dev/null || die "slurmctld did not start: $(tail -20 "$dir/log/slurmctld.log")"
env "$marker" slurmd -f "$conf" -N "$node" </dev/null || die "slurmd did not start: $(tail -20 "$dir/log/slurmd.log")"
wait_for 60 idle || die "node $node not idle: $(sinfo -h -N -o '%N %T %E' 2>&1)"
wait_for 5 test -s "$dir/run/slurmctld.pid"
wait_for 5 test -s "$dir/run/slurmd.pid"
log "slurm is up (node $node, $cpus CPUs, $dir)"
emit
