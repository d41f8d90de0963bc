#!/usr/bin/env bash
# Starts a simulated multi-node Slurm cluster on this one machine, for the tests labelled
# `cluster`: network namespaces on a bridge, each compute node with its own hostname, address and
# slurmd; all state under $MIRAI_CI_CLUSTER (default /tmp/mirai-ci/cluster).
#
#   login  = the root namespace. Bridge mcb0 holds 172.30.77.1/24 (the cluster network); veth
#            mlap0 holds 172.30.78.1/30 (the link to the laptop). slurmctld runs here, and so
#            does the dispatcher of a test (it listens on {interface:mcb0}).
#   nodeK  = namespace mnK: eth0 (its veth mvK on the bridge) with 172.30.77.(10+K)/24, its own
#            hostname (a UTS namespace) and slurmd. Jobs, and so daemons, run there; they reach
#            the login node at 172.30.77.1 and nothing else outside their node.
#   laptop = namespace mlap, 172.30.78.2/30: it reaches only the login node's own address on
#            that link (an sshd on 172.30.78.1:22); no compute node reaches it (forwarding off).
#
# Cut a node off: `ip link set mvK down` (Slurm marks it down* after SlurmdTimeout, 10 s); heal:
# `ip link set mvK up`. Freeze one: SIGSTOP the pids of `ip netns pids mnK`.
#
# Prints `export SLURM_CONF=...` and writes it to $MIRAI_CI_CLUSTER/env.sh. Does nothing when the
# cluster is already up; clears half-started state first.
# Settings: MIRAI_CI_CLUSTER_NODES (default 3), MIRAI_CI_CLUSTER_CPUS (per node, default 2),
# MIRAI_CI_CLUSTER_PORTS (default "6827 6828": slurmctld, slurmd; not the one-node Slurm's, so
# both can run at once). Needs root, slurm-wlm, munge, iproute2, util-linux, openssh-server.
#
# Gotchas: `ip netns exec` remounts /sys for the namespace, which hides /sys/fs/cgroup and stops
# slurmd, so nodes are entered with `nsenter --net=/run/netns/mnK`. SlurmctldHost must be this
# machine's short name with the bridge address in brackets. A node's hostname comes from
# `unshare --uts` before slurmd starts, and its jobs inherit it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir=${MIRAI_CI_CLUSTER:-/tmp/mirai-ci/cluster}
nodes=${MIRAI_CI_CLUSTER_NODES:-3}
cpus=${MIRAI_CI_CLUSTER_CPUS:-2}
read -r ctld_port slurmd_port <<<"${MIRAI_CI_CLUSTER_PORTS:-6827 6828}"
net=172.30.77
conf=$dir/etc/slurm.conf
marker="MIRAI_CI_OWNER=$dir"
export SLURM_CONF=$conf

[[ $(id -u) == 0 ]] || die "the simulated cluster needs root (network namespaces)"
for b in munged slurmctld slurmd sinfo nsenter unshare ip ssh-keygen /usr/sbin/sshd; do
  command -v $b >/dev/null || die "$b is missing: apt-get install slurm-wlm munge iproute2 openssh-server"
done
emit() { printf 'export SLURM_CONF=%q\n' "$conf" | tee "$dir/env.sh"; }
all_idle() { [[ $(sinfo -h -o %T 2>/dev/null | sort -u) == idle ]] && (($(sinfo -h -N -o %N | wc -l) == nodes)); }

if ip link show mcb0 >/dev/null 2>&1 &&
   running "$dir/run/slurmctld.pid" /usr/sbin/slurmctld >/dev/null && all_idle; then
  emit
  exit 0
fi
[[ -d $dir/run ]] || ip link show mcb0 >/dev/null 2>&1 && MIRAI_CI_CLUSTER=$dir "$here/cluster-down.sh" >&2
ip link show mcb0 >/dev/null 2>&1 && die "mcb0 exists and is not this cluster's: remove it first"
rm -rf "${dir:?}/run" "${dir:?}/spool" "${dir:?}/munge" "${dir:?}/ssh"
mkdir -p "$dir"/{etc,log,run,munge,spool/ctld}
chmod 700 "$dir/munge"
# What this script creates, for cluster-down.sh: it removes only these.
created=$dir/run/netns
: >"$created"

# The network: a bridge for the cluster, a veth per node, a veth to the laptop.
ip link add mcb0 type bridge
echo link mcb0 >>"$created"
ip addr add $net.1/24 dev mcb0
ip link set mcb0 up
for i in $(seq "$nodes"); do
  ip netns add mn$i
  echo netns mn$i >>"$created"
  ip link add mv$i type veth peer name eth0 netns mn$i
  ip link set mv$i master mcb0 up
  ip -n mn$i addr add $net.$((10 + i))/24 dev eth0
  ip -n mn$i link set eth0 up
  ip -n mn$i link set lo up
  mkdir -p "$dir/spool/node$i"
done
ip netns add mlap
echo netns mlap >>"$created"
ip link add mlap0 type veth peer name eth0 netns mlap
echo link mlap0 >>"$created"
ip addr add 172.30.78.1/30 dev mlap0
ip link set mlap0 up
ip -n mlap addr add 172.30.78.2/30 dev eth0
ip -n mlap link set eth0 up
ip -n mlap link set lo up

sock=$dir/run/munge.socket
slurm_base "$dir" "$marker"
{
  cat <<CONF
ClusterName=mirai-netns
SlurmctldHost=$(hostname -s)($net.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
TaskProlog=$dir/etc/task_prolog.sh
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
MpiDefault=none
MailProg=/bin/true
MaxArraySize=100001
ReturnToService=2
SlurmdTimeout=10
KillWait=5
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmdParameters=config_overrides
CONF
  for i in $(seq "$nodes"); do
    echo "NodeName=node$i NodeAddr=$net.$((10 + i)) NodeHostname=node$i CPUs=$cpus RealMemory=1000 State=UNKNOWN"
  done
  echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
} >"$conf"
env "$marker" slurmctld -f "$conf" </dev/null || die "slurmctld did not start: $(tail -5 "$dir/log/slurmctld.log")"
for i in $(seq "$nodes"); do
  env "$marker" nsenter --net=/run/netns/mn$i unshare --uts \
    sh -c "hostname node$i; exec slurmd -f '$conf' -N node$i" </dev/null ||
    die "slurmd of node$i did not start: $(tail -5 "$dir/log/slurmd-node$i.log")"
done
wait_for 30 all_idle || die "the nodes are not idle: $(sinfo -N 2>&1)"

# The login node's sshd, for the laptop: on 172.30.78.1:22 only. $dir/ssh/ssh_config has
# `Host login`, with its own key and known_hosts, for `nsenter --net=/run/netns/mlap ssh -F ...`.
s=$dir/ssh
mkdir -p "$s" /run/sshd
chmod 700 "$s"
ssh-keygen -q -t ed25519 -N '' -f "$s/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$s/client_key"
cp "$s/client_key.pub" "$s/authorized_keys"
printf 'login,172.30.78.1 %s\n' "$(cat "$s/host_key.pub")" >"$s/known_hosts"
cat >"$s/sshd_config" <<CONF
ListenAddress 172.30.78.1:22
HostKey $s/host_key
PidFile $dir/run/sshd.pid
AuthorizedKeysFile $s/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowTcpForwarding yes
GatewayPorts no
# SHLVL=1: the commands it runs are not a top-level shell, so bash (built to source ~/.bashrc
# for ssh commands) leaves this machine's root .bashrc out: a login node's own start-up files
# are not what the tests try, and a session cut mid-start-up could leave a lock of theirs.
SetEnv SLURM_CONF=$conf $marker SHLVL=1
MaxStartups 100
CONF
cat >"$s/ssh_config" <<CONF
Host login
  HostName 172.30.78.1
  Port 22
  User $(id -un)
  IdentityFile $s/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $s/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
CONF
env "$marker" /usr/sbin/sshd -f "$s/sshd_config" -E "$dir/log/sshd.log" </dev/null || die "the login sshd did not start"
wait_for 10 nsenter --net=/run/netns/mlap ssh -F "$s/ssh_config" login true ||
  die "the laptop cannot ssh to the login node: $(tail -5 "$dir/log/sshd.log")"
log "$nodes nodes idle; login sshd on 172.30.78.1:22 (ssh config $s/ssh_config)"
emit
