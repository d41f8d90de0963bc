#!/usr/bin/env bash
# Starts a private one-host Grid Engine (Son of Grid Engine 8.1, Debian's gridengine-* packages)
# for the tests: sge_qmaster, sge_execd and one queue all.q, all state in its own SGE_ROOT and
# cell under $MIRAI_CI_SGE (default /tmp/mirai-ci/sge). The package's own cell is not touched.
# Prints the `export SGE_ROOT=... SGE_CELL=...` lines and writes them to $MIRAI_CI_SGE/env.sh.
# Does nothing when the cluster is already up; clears half-started state first.
# Settings: MIRAI_CI_SGE_SLOTS (tasks at once, default 8), MIRAI_CI_SGE_PORTS ("6444 6445").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir=${MIRAI_CI_SGE:-/tmp/mirai-ci/sge}
slots=${MIRAI_CI_SGE_SLOTS:-8}
read -r qport eport <<<"${MIRAI_CI_SGE_PORTS:-6444 6445}"
marker="MIRAI_CI_OWNER=$dir"
admin=sgeadmin
pkg=/var/lib/gridengine
bin=/usr/lib/gridengine
export SGE_ROOT=$dir/root SGE_CELL=ci SGE_QMASTER_PORT=$qport SGE_EXECD_PORT=$eport
common=$SGE_ROOT/$SGE_CELL/common
qspool=$dir/spool/qmaster
espool=$dir/spool/execd

for b in sge_qmaster sge_execd qsub; do
  [[ -x $bin/$b ]] || die "$bin/$b is missing: apt-get install gridengine-master gridengine-exec gridengine-client"
done
# quiet CMD...: run CMD, showing its output only when it fails.
quiet() { local out; out=$("$@" 2>&1) || die "$* failed: $out"; }
getent passwd $admin >/dev/null || die "user $admin is missing (gridengine-common creates it)"
emit() {
  printf 'export SGE_ROOT=%q SGE_CELL=%q SGE_QMASTER_PORT=%q SGE_EXECD_PORT=%q\n' \
    "$SGE_ROOT" "$SGE_CELL" "$qport" "$eport" | tee "$dir/env.sh"
}
# The name SGE uses for this host; execd registers under it and the queue lists it.
host=$($bin/gethostname -name 2>/dev/null || hostname)
# execd names its spool directory after what 127.0.0.1 resolves to, so look for the pid file.
execd_pidfile() { local f; for f in "$espool"/*/execd.pid; do [[ -s $f ]] && { echo "$f"; return 0; }; done; return 1; }
# The queue instance exists and carries no state flag (unknown, alarm, error, disabled).
queue_ok() {
  local line
  line=$(qstat -f -q all.q 2>/dev/null | awk -v q="all.q@$host" '$1 == q')
  [[ -n $line && $(awk '{print NF}' <<<"$line") -eq 5 ]]
}

if running "$qspool/qmaster.pid" $bin/sge_qmaster >/dev/null &&
   f=$(execd_pidfile) && running "$f" $bin/sge_execd >/dev/null && queue_ok; then
  emit
  exit 0
fi
[[ -d $dir/spool ]] && MIRAI_CI_SGE=$dir "$here/sge-down.sh" >&2
rm -rf "${dir:?}/root" "${dir:?}/spool" "${dir:?}/etc"
mkdir -p "$common" "$qspool/job_scripts" "$espool" "$dir/spool/db" "$dir/etc"
for d in bin lib util utilbin; do ln -s "$pkg/$d" "$SGE_ROOT/$d"; done

cat >"$common/bootstrap" <<CONF
admin_user              $admin
default_domain          none
ignore_fqdn             true
spooling_method         berkeleydb
spooling_lib            libspoolb
spooling_params         $dir/spool/db
binary_path             /usr/sbin
qmaster_spool_dir       $qspool
security_mode           none
listener_threads        2
worker_threads          2
scheduler_threads       1
CONF
echo "$host" >"$common/act_qmaster"
# Connections from 127.0.0.1 resolve to "localhost", which SGE refuses unless it is an alias.
[[ $host == localhost ]] || echo "$host localhost" >"$common/host_aliases"
printf 'SGE_ROOT=%s; export SGE_ROOT\nSGE_CELL=%s; export SGE_CELL\n' "$SGE_ROOT" "$SGE_CELL" >"$common/settings.sh"

# Every job starts through this, so it carries the marker sge-down.sh sweeps for.
printf '#!/bin/sh\nexport %s\nexec "$@"\n' "$marker" >"$dir/etc/starter.sh"
chmod 755 "$dir/etc/starter.sh"

# Root may run jobs (min_uid 0); quick load reports; no mail; accounting flushed every second.
sed -e "s|^execd_spool_dir .*|execd_spool_dir        $espool|" \
    -e 's|^mailer .*|mailer                 /bin/true|' \
    -e 's|^min_uid .*|min_uid                0|' \
    -e 's|^min_gid .*|min_gid                0|' \
    -e 's|^load_report_time .*|load_report_time       00:00:05|' \
    -e 's|^reporting_params .*|reporting_params       accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00|' \
    /usr/share/gridengine/default-configuration >"$dir/etc/global"
chown -R $admin: "$SGE_ROOT/$SGE_CELL" "$dir/spool"
chmod 755 "$dir" "$dir/spool"
as_admin() { runuser -u $admin -- env SGE_ROOT="$SGE_ROOT" SGE_CELL="$SGE_CELL" "$@"; }
{
  as_admin $bin/spoolinit berkeleydb libspoolb "$dir/spool/db" init
  as_admin $bin/spooldefaults configuration "$dir/etc/global"
  as_admin $bin/spooldefaults complexes /usr/share/gridengine/util/resources/centry
  as_admin $bin/spooldefaults usersets /usr/share/gridengine/util/resources/usersets
  as_admin $bin/spooldefaults managers $admin root
} >"$dir/etc/spoolinit.log" 2>&1 || die "spool init failed: $(tail -5 "$dir/etc/spoolinit.log")"

env "$marker" $bin/sge_qmaster </dev/null || die "sge_qmaster did not start: $(tail -5 "$qspool/messages" 2>/dev/null)"
wait_for 60 qconf -sh || die "sge_qmaster does not answer: $(tail -5 "$qspool/messages" 2>/dev/null)"

# Schedule every second and on each submit and finish (the default waits 15 s); ignore load.
qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
  -e 's/^flush_submit_sec .*/flush_submit_sec 1/' -e 's/^flush_finish_sec .*/flush_finish_sec 1/' \
  -e 's/^job_load_adjustments .*/job_load_adjustments NONE/' \
  -e 's/^load_adjustment_decay_time .*/load_adjustment_decay_time 0:0:0/' >"$dir/etc/sched"
quiet qconf -Msconf "$dir/etc/sched"
quiet qconf -as "$host"
# A parallel environment, so profiles with `pe:` can be tested.
cat >"$dir/etc/smp" <<CONF
pe_name            smp
slots              $slots
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
CONF
quiet qconf -Ap "$dir/etc/smp"
for q in all.q other.q; do
  cat >"$dir/etc/$q" <<CONF
qname                 $q
hostlist              $host
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               smp
rerun                 FALSE
slots                 $slots
tmpdir                /tmp
shell                 /bin/sh
prolog                NONE
epilog                NONE
shell_start_mode      unix_behavior
starter_method        $dir/etc/starter.sh
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  INFINITY
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
CONF
  quiet qconf -Aq "$dir/etc/$q"
done

# execd registers itself as an execution host, because this host is an admin host.
env "$marker" $bin/sge_execd </dev/null || die "sge_execd did not start"
if ! wait_for 60 queue_ok; then
  qstat -f >&2 || true
  die "queue all.q@$host is not ready: $(tail -5 "$qspool/messages" 2>/dev/null)"
fi
wait_for 5 test -s "$qspool/qmaster.pid" || die "no $qspool/qmaster.pid"
wait_for 5 execd_pidfile || die "no execd pid file under $espool"
log "sge is up (host $host, $slots slots, ports $qport/$eport, $dir)"
emit
