#!/usr/bin/env bash
# Installs everything mirai needs to build and test on Debian 12 / Ubuntu (run as root).
set -euo pipefail
packages=(
  cmake g++ make pkg-config
  dpkg-dev file  # cpack -G DEB reads the binaries' dependencies with dpkg-shlibdeps
  libnng-dev libmbedtls-dev libssl-dev libyaml-cpp-dev
  libboost-dev libboost-program-options-dev
  catch2 nlohmann-json3-dev
  help2man  # the man page, made from the commands' --help at build time
  parallel bc  # the oracle of mirai map's compatibility tests, and the side-by-side benchmarks
  slurm-wlm munge  # the live tests start a real one-node Slurm (tests/infra/slurm-up.sh)
  gridengine-master gridengine-exec gridengine-client  # and a real Grid Engine (sge-up.sh)
  openssh-server openssh-client  # and a real sshd on 127.0.0.1 (sshd-up.sh)
  iproute2 util-linux  # network namespaces for the simulated multi-node cluster (cluster-up.sh)
  strace  # a capture of what the login node's relay reads and writes (the cluster tests)
  python3  # the strict fake PBS and LSF commands in tests/emulated/
  openssl  # encrypts a key the way users do, for the TLS passphrase test
  clang libclang-rt-14-dev  # the wire decoder's libFuzzer target (tests/fuzz/run.sh)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run this script as root (or with sudo)" >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
