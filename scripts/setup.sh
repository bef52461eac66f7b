#!/usr/bin/env bash
# One-time (and idempotent) machine preparation for building and testing the appliance
# on Debian 12 as root: distribution packages, hugepages, and the meson build.
#
#   scripts/setup.sh            install packages (if missing), hugepages, build into ./build
#   SKIP_BUILD=1 scripts/setup.sh   everything but the build
#
# Safe to run again: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # build
  build-essential meson ninja-build pkg-config
  libdpdk-dev dpdk dpdk-dev libtomlplusplus-dev libspdlog-dev libgtest-dev libpcap-dev
  libboost-dev libssl-dev libcurl4-openssl-dev
  # tests and demo
  iproute2 ethtool nginx-light curl wrk python3-scapy python3-aiosmtpd tcpdump expect procps psmisc
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# nginx-light's package starts a system nginx on port 80; the tests run their own (one
# per backend namespace, each with its own pid file), so only the system one is stopped.
if command -v systemctl >/dev/null && systemctl is-active -q nginx 2>/dev/null; then
  systemctl stop nginx || true; systemctl disable -q nginx 2>/dev/null || true
fi
if [ -s /run/nginx.pid ]; then kill "$(cat /run/nginx.pid)" 2>/dev/null || true; fi

# Hugepages: 2 MiB pages, mounted where DPDK looks for them. lbdp also runs with
# --no-huge, but hugepages are what production uses, so the tests use them too.
HUGEPAGES=${HUGEPAGES:-768}
if [ "$(id -u)" = 0 ]; then
  cur=$(cat /proc/sys/vm/nr_hugepages)
  if [ "$cur" -lt "$HUGEPAGES" ]; then
    echo "$HUGEPAGES" > /proc/sys/vm/nr_hugepages || true
  fi
  if ! grep -qs ' /dev/hugepages hugetlbfs' /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages || echo "setup: could not mount hugetlbfs; lbdp will need --no-huge"
  fi
  echo "setup: hugepages reserved: $(cat /proc/sys/vm/nr_hugepages) x 2 MiB"
else
  echo "setup: not root: skipping hugepages (use --no-huge)"
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ ! -f build/build.ninja ]; then
    meson setup build --buildtype=release >/dev/null
  fi
  ninja -C build
fi
