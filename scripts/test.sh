#!/usr/bin/env bash
# Sets everything up, builds, and runs the whole test suite. `scripts/test.sh -L quick` runs
# the quick subset (extra arguments go to ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
cd build
ctest -j2 --timeout 300 --output-on-failure "$@"
