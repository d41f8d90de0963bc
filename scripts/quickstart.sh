#!/usr/bin/env bash
# Sets everything up, builds, and runs a map over local daemons, printing the results in order.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
echo "--- mirai map over $(nproc) local daemons:"
./build/bin/mirai map -k 'echo {} squared is $(({} * {})), computed by daemon $MIRAI_DAEMON_ID' ::: 1 2 3 4 5 6 7 8
