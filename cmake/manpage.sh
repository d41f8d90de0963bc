#!/bin/sh
# manpage.sh MIRAI OUT: writes the man page mirai(1) to OUT from the help that the binary MIRAI
# prints (help2man): the summary of commands, then each command's own --help.
set -eu
mirai=$1
out=$2
include=$(mktemp)
trap 'rm -f "$include"' EXIT
{
  echo "[COMMANDS]"
  for command in run map daemon dispatcher status launch render config; do
    echo ".SS mirai $command"
    echo ".nf"
    # Backslashes and lines that start with a dot are roff's: escape them.
    "$mirai" help "$command" | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"
    echo ".fi"
  done
  echo "[SEE ALSO]"
  echo "parallel(1), timeout(1), sbatch(1). The README and docs/ of the source tree."
} >"$include"
help2man --no-info --no-discard-stderr --name "run tasks on daemons, locally or on a cluster" \
  --include "$include" --output "$out" "$mirai"
