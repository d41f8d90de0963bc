#!/usr/bin/env bash
# Starts a private OpenSSH server on 127.0.0.1 for the ssh launcher's tests: its own host key,
# client key, authorized_keys, known_hosts and an ssh_config with the host aliases ci-sshd and
# ci-sshd-2 (both this sshd), all under $MIRAI_CI_SSHD (default /tmp/mirai-ci/sshd). Key login
# only, for the invoking user; TCP forwarding allowed. ~/.ssh is not touched.
# Prints `export MIRAI_CI_SSH_CONFIG=...` and writes it to $MIRAI_CI_SSHD/env.sh.
# Does nothing when the server is already up and lets us in; clears stale state first.
# Settings: MIRAI_CI_SSHD_PORT (default 2522).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir=${MIRAI_CI_SSHD:-/tmp/mirai-ci/sshd}
port=${MIRAI_CI_SSHD_PORT:-2522}
marker="MIRAI_CI_OWNER=$dir"
user=$(id -un)
sshd=/usr/sbin/sshd
[[ -x $sshd ]] || die "$sshd is missing: apt-get install openssh-server"
command -v ssh >/dev/null || die "ssh is missing: apt-get install openssh-client"

emit() { printf 'export MIRAI_CI_SSH_CONFIG=%q\n' "$dir/ssh_config" | tee "$dir/env.sh"; }
can_login() { ssh -F "$dir/ssh_config" -o ConnectTimeout=2 ci-sshd true </dev/null; }

if running "$dir/sshd.pid" $sshd >/dev/null && can_login 2>/dev/null; then
  log "sshd is already up on 127.0.0.1:$port"
  emit
  exit 0
fi
"$here/sshd-down.sh"
ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && die "port $port is taken (set MIRAI_CI_SSHD_PORT)"
mkdir -p "$dir"
chmod 700 "$dir"
# sshd wants its privilege separation directory, which the init system normally makes.
[[ -d /run/sshd ]] || install -d -m 755 /run/sshd
# Keys are kept between runs; a new host key is written to known_hosts below anyway.
[[ -s $dir/host_key ]] || ssh-keygen -q -t ed25519 -N '' -C mirai-ci-host -f "$dir/host_key"
[[ -s $dir/client_key ]] || ssh-keygen -q -t ed25519 -N '' -C mirai-ci-client -f "$dir/client_key"
cp "$dir/client_key.pub" "$dir/authorized_keys"
chmod 600 "$dir/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cat "$dir/host_key.pub")" >"$dir/known_hosts"

cat >"$dir/sshd_config" <<CONF
# Written by tests/infra/sshd-up.sh: a test-only sshd on loopback.
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
# The keys live below /tmp, which StrictModes would refuse.
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
UsePAM no
UseDNS no
AllowTcpForwarding yes
GatewayPorts no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 100
# Every session and what it runs carries the marker, so sshd-down.sh can find them. SHLVL=1:
# bash (built to source ~/.bashrc for ssh commands) leaves this user's .bashrc out, whose
# start-up (pyenv, conda, modules) is not what the tests try.
SetEnv $marker SHLVL=1
CONF
hosts() {
  local alias
  for alias in ci-sshd ci-sshd-2; do
    cat <<CONF
Host $alias
  HostName 127.0.0.1
  Port $port
  User $user
  IdentityFile $dir/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $dir/known_hosts
  StrictHostKeyChecking yes
  HostKeyAlias [127.0.0.1]:$port
  BatchMode yes
  GSSAPIAuthentication no
CONF
  done
}
hosts >"$dir/ssh_config"

$sshd -t -f "$dir/sshd_config" || die "sshd rejects $dir/sshd_config"
env "$marker" $sshd -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null || die "sshd did not start: $(tail -5 "$dir/sshd.log")"
wait_for 30 can_login || die "cannot log in after 30 s: $(tail -5 "$dir/sshd.log")"
log "sshd is up on 127.0.0.1:$port ($dir)"
emit
