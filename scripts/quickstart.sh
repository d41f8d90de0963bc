#!/usr/bin/env bash
# Sets everything up, builds, and runs a map over local daemons, printing the results in order.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
echo "--- mirai map over $(nproc) local daemons:"
./build/bin/mirai map -- sh -c 'echo "{} squared is $(({} * {})), computed by daemon $PPID"' ::: 1 2 3 4 5 6 7 8
