#!/usr/bin/env bash
# Imports point only downward: cli -> launcher, client -> dispatcher, daemon -> core, with the
# backends in schedulers/ between launcher and cli; a directory includes nothing of its own
# layer but itself. Public headers (include/mirai/) sit in the layer of what they declare.
# Prints every include that points up or sideways and fails when there is one.
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
dir_layer() {
  case $1 in
    core) echo 0 ;; dispatcher | daemon) echo 1 ;; client | launcher) echo 2 ;;
    schedulers) echo 3 ;; cli) echo 4 ;; *) echo "" ;;
  esac
}
header_layer() {  # a public header's layer: what it declares
  case $1 in
    status | duration | result | rng | task | codec | json | info | tls) echo 0 ;;
    daemon | daemon_limits) echo 1 ;;
    future | map | profile | compute | group | launched) echo 2 ;;
    mirai) echo 4 ;;
    *) echo "unknown" ;;
  esac
}
bad=0
check() {  # check FILE LAYER DIR
  local file=$1 mine=$2 own=$3 target layer
  while IFS= read -r target; do
    local dir=${target%%/*} name=${target#*/}
    name=${name%.hpp}
    if [ "$dir" = mirai ]; then
      layer=$(header_layer "$name")
      if [ "$layer" = unknown ]; then
        echo "$file: includes mirai/$name.hpp, which tests/layers/check.sh gives no layer"
        bad=1
        continue
      fi
    else
      layer=$(dir_layer "$dir")
      [ -n "$layer" ] || continue  # tests/, a system header
      if [ "$dir" != "$own" ] && [ "$layer" -eq "$mine" ]; then
        echo "$file: includes $target, beside it in the same layer"
        bad=1
        continue
      fi
    fi
    if [ "$layer" -gt "$mine" ]; then
      echo "$file: includes $target, a layer above it"
      bad=1
    fi
  done < <(sed -n 's/^#include "\([a-z_]*\/[a-z_/]*\.hpp\)".*/\1/p' "$file")
}
for dir in core dispatcher daemon client launcher schedulers cli; do
  mine=$(dir_layer "$dir")
  while IFS= read -r file; do
    check "$file" "$mine" "$dir"
  done < <(find "$dir" \( -name '*.cpp' -o -name '*.hpp' \) ! -name '*_test.cpp' | sort)
done
for file in include/mirai/*.hpp; do
  name=$(basename "$file" .hpp)
  mine=$(header_layer "$name")
  if [ "$mine" = unknown ]; then
    echo "$file: a public header that tests/layers/check.sh gives no layer"
    bad=1
    continue
  fi
  check "$file" "$mine" mirai
done
[ "$bad" -eq 0 ] && echo "every include points down"
exit "$bad"
