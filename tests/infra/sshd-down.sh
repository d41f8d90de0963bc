#!/usr/bin/env bash
# Stops what sshd-up.sh started (same $MIRAI_CI_SSHD): the sshd by its pid file, then every
# session and remote command that carries the marker. Safe to run any number of times; keys and
# the log stay.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir=${MIRAI_CI_SSHD:-/tmp/mirai-ci/sshd}
stop "$dir/sshd.pid" /usr/sbin/sshd
sweep "MIRAI_CI_OWNER=$dir"
exit 0
