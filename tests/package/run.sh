#!/usr/bin/env bash
# The package as an outside project sees it: installs the build in BUILD_DIR into a fresh
# prefix (with --deb: makes the Debian package with cpack and unpacks it instead), builds
# tests/package/consumer against it with find_package(mirai), and again with pkg-config, and
# runs both with neither MIRAI_EXE nor the build on any path, so that their daemons can only
# be the installed `mirai` found beside the installed library.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [--deb]}" && pwd)
work=$(mktemp -d "$build/package-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ "${2:-}" = --deb ]; then
  (cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/deb" >/dev/null)
  deb=$(ls "$work"/deb/mirai_*.deb)
  depends=$(dpkg-deb --field "$deb" Depends)
  for d in libnng1 libssl3 libmbedcrypto7 libyaml-cpp nlohmann-json3-dev; do
    case "$depends" in *"$d"*) ;; *) echo "package: $deb does not depend on $d: $depends" >&2; exit 1 ;; esac
  done
  dpkg-deb -x "$deb" "$work/root"
  prefix=$work/root/usr
else
  prefix=$work/prefix
  cmake --install "$build" --prefix "$prefix" >/dev/null
fi
for f in include/mirai/mirai.hpp bin/mirai; do
  [ -e "$prefix/$f" ] || { echo "package: $prefix/$f was not installed" >&2; exit 1; }
done
libdir=$(dirname "$(find "$prefix" -name 'libmirai.so' | head -n 1)")
[ -f "$libdir/cmake/mirai/miraiConfig.cmake" ] && [ -f "$libdir/cmake/mirai/miraiConfigVersion.cmake" ] \
  && [ -f "$libdir/pkgconfig/mirai.pc" ] || { echo "package: no config or .pc under $libdir" >&2; exit 1; }

cmake -S "$src/tests/package/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" -j2 >/dev/null
PKG_CONFIG_PATH=$libdir/pkgconfig g++ -o "$work/consumer-pc" "$src/tests/package/consumer/main.cpp" \
  $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs mirai) -Wl,-rpath,"$libdir"

expected='from a call|launched|from a shell'
for exe in "$work/consumer/consumer" "$work/consumer-pc"; do
  out=$(cd "$work" && env -u MIRAI_EXE PATH=/usr/bin:/bin "$exe")
  if [ "$out" != "$expected" ]; then
    echo "package: $exe printed '$out', not '$expected'" >&2
    exit 1
  fi
  echo "package: $exe ran its tasks on the installed daemons"
done
