#!/usr/bin/env bash
# Builds the wire decoder fuzzer (fuzz/wire_fuzzer.cpp) with clang, libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer, and runs it for $MIRAI_FUZZ_SECONDS (default 20) from the
# seed corpus in fuzz/corpus. Fails on any crash, leak, sanitizer report or broken invariant;
# the input that caused it is left in OUT_DIR (the first argument, default a temporary one).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$(mktemp -d)}
seconds=${MIRAI_FUZZ_SECONDS:-20}
cxx=${MIRAI_FUZZ_CXX:-clang++}
command -v "$cxx" >/dev/null || { echo "run.sh: $cxx is missing: apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
mkdir -p "$out/found"
sources=("$src/fuzz/wire_fuzzer.cpp" "$src/core/protocol.cpp" "$src/core/buffer.cpp" "$src/core/result.cpp"
  "$src/core/rng.cpp")
flags=(-std=c++17 -O1 -g -I"$src/include" -I"$src" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
"$cxx" "${flags[@]}" "${sources[@]}" -o "$out/wire_fuzzer"
# New inputs go to $out/found; the committed corpus is only read.
"$out/wire_fuzzer" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$out/" "$out/found" "$src/fuzz/corpus"
