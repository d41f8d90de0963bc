#!/bin/sh
# The ssh and local launchers run this with `sh -c`, once per host: it starts that host's
# daemons in the background, stops them when its stdin closes (the launching mirai cancelled
# them, ended or died, or the ssh connection dropped), and ends when they have all ended.
# The pool's secret comes as the first line on stdin, so that no command line shows it; the port
# of a tunnel that sshd chose, as the second.
IFS= read -r MIRAI_SECRET || { echo no secret on stdin >&2; exit 1; }
export MIRAI_SECRET
cd '/home/me/my project' || exit 1
export OMP_NUM_THREADS=1
export NOTE='it'\''s $(not) run'
module load gcc/12
source ~/env.sh
if ! command -v /opt/mirai/bin/mirai >/dev/null 2>&1; then
  echo cannot run /opt/mirai/bin/mirai on "$(hostname)": not found on PATH "$PATH" >&2
  exit 127
fi
MIRAI_JOB_ID=local
export MIRAI_JOB_ID
pids=
i=1
while [ "$i" -le 4 ]; do
  MIRAI_JOB_INDEX=$i /opt/mirai/bin/mirai daemon tcp://10.0.0.1:5555 --idletime 5m --walltime 55m --maxtasks 100 --join-timeout 10m </dev/null >>/dev/null 2>&1 &
  pids="$pids $!"
  i=$((i + 1))
done
watcher=
exec 3<&0
(while read -r _ <&3; do :; done; kill $pids 2>/dev/null) >/dev/null 2>&1 &
watcher=$!
code=0
for pid in $pids; do wait "$pid" || code=$?; done
[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
# 0: the dispatcher closed the connection; 1, 2, 3: idletime, walltime or maxtasks reached;
# 143: stopped by SIGTERM (from the watcher above when the launch was cancelled).
case $code in
  0|1|2|3|143) code=0 ;;
  *) echo a daemon ended with exit status "$code"\; its output: /dev/null >&2 ;;
esac
echo finished
exit $code
