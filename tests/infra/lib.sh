# Helpers for the *-up.sh / *-down.sh scripts; source it.
# A script only ever signals (a) pids from its own pid files, after checking /proc/PID/exe, and
# (b) processes whose environment holds exactly its marker MIRAI_CI_OWNER=<state dir>, which every
# service it starts (and every job or session they run) inherits. Never by process name.

log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS >= end)) && return 1
    sleep 0.1
  done
}

# state PID: the process state letter (R, S, Z, ...), or nothing when it is gone.
state() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; echo "${s%% *}"; }
alive() { local s; s=$(state "$1") && [[ $s != Z ]]; }

# running PIDFILE EXE: print the pid in PIDFILE when that process is alive and runs EXE.
running() {
  local pid exe
  [[ -s $1 ]] || return 1
  pid=$(tr -dc '0-9' <"$1")
  [[ -n $pid ]] && alive "$pid" || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ ${exe% (deleted)} == "$(readlink -f "$2")" ]] || return 1
  echo "$pid"
}

# gone SECONDS PID...: wait until every pid has exited.
gone() {
  local end=$((SECONDS + $1)) p busy; shift
  while :; do
    busy=0
    for p in "$@"; do alive "$p" && busy=1; done
    ((busy)) || return 0
    ((SECONDS >= end)) && return 1
    sleep 0.05
  done
}

# stop PIDFILE EXE: SIGTERM the recorded process, SIGKILL it after 10 s.
stop() {
  local pid
  if pid=$(running "$1" "$2"); then
    kill -TERM "$pid" 2>/dev/null
    gone "${STOP_WAIT:-10}" "$pid" || { kill -KILL "$pid" 2>/dev/null; gone 5 "$pid"; }
  fi
  rm -f "$1"
}

# marked MARKER: pids (not this shell or its ancestors) whose environment holds MARKER exactly.
marked() {
  local skip=" " p=$$ f
  while [[ $p =~ ^[0-9]+$ ]] && ((p > 1)); do
    skip+="$p "
    p=$(s=$(cat /proc/$p/stat 2>/dev/null) && s=${s##*) } && set -- $s && echo "$2") || break
  done
  for f in $(grep -lzxF -- "$1" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}; p=${p%/environ}
    [[ $skip == *" $p "* ]] || ! alive "$p" || echo "$p"
  done
}

# slurm_base DIR MARKER: for a private Slurm under DIR, a munged with a key and a socket of its
# own (DIR/run/munge.socket; the system's munged is never touched), and a TaskProlog
# (DIR/etc/task_prolog.sh) that gives every job task MARKER, so that the down script finds strays
# (slurmstepd calls setsid). Expects DIR/{etc,log,run,munge}.
slurm_base() {
  local dir=$1 marker=$2 sock=$1/run/munge.socket
  head -c 1024 /dev/urandom >"$dir/munge/munge.key"
  chmod 400 "$dir/munge/munge.key"
  env "$marker" munged --key-file="$dir/munge/munge.key" --socket="$sock" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/seed" </dev/null || die "munged did not start: $(tail -5 "$dir/log/munged.log")"
  wait_for 10 munge -n --socket="$sock" || die "munged does not answer on $sock"
  printf '#!/bin/sh\necho "export %s"\n' "$marker" >"$dir/etc/task_prolog.sh"
  chmod 755 "$dir/etc/task_prolog.sh"
}

# sweep MARKER: stop every process that carries MARKER.
sweep() {
  local pids
  pids=$(marked "$1" | tr '\n' ' ')
  [[ -z ${pids// } ]] && return 0
  log "stopping leftover processes: $pids"
  kill -TERM $pids 2>/dev/null
  gone 5 $pids || { kill -KILL $pids 2>/dev/null; gone 5 $pids; }
}
