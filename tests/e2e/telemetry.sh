#!/usr/bin/env bash
# lbdp's counters in DPDK telemetry: dpdk-telemetry.py must show /lbdp/stats and
# /lbdp/lcore,0 with the documented names, and the values must move with traffic.
# lbdp runs on a net_null port whose RX produces empty frames, which lbdp counts as
# drop_unsupported_l2 (a real counter a user would watch). No namespaces needed.
set -uo pipefail
LBDP=${LBDP:-$(dirname "$0")/../../build/dataplane/lbdp}
NAME=telemetry
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$(id -u)" = 0 ] || cannot_run "needs root (DPDK)"
PY=/usr/bin/python3
TEL=/usr/bin/dpdk-telemetry.py
[ -x "$TEL" ] || cannot_run "$TEL missing (package dpdk-dev)"
dir=$(mktemp -d)
prefix=teltest$$
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
passed=0 failed=0
check() { if eval "$2"; then echo "PASS: $1"; passed=$((passed + 1)); else echo "FAIL: $1"; failed=$((failed + 1)); fi; }

cat > "$dir/lbdp.toml" <<CONF
[dataplane]
flows_per_worker = 4096
mbufs = 4095
idle_sleep_us = 100
[[port]]
name = "p0"
device = "net_null0"
role = "both"
address = "198.18.1.1/24"
CONF
"$LBDP" --lcores "0@0,1@$(( $(nproc) - 1 ))" --no-huge -m 256 --no-pci --file-prefix "$prefix" \
  --log-level=lib.eal:error --vdev net_null0 -- -c "$dir/lbdp.toml" --socket "" > "$dir/lbdp.out" 2>&1 &
pid=$!
query() { echo "$1" | "$PY" "$TEL" -f "$prefix" 2>/dev/null | tail -n 1; }
value() { "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(list(d.values())[0][sys.argv[2]])' "$1" "$2" 2>/dev/null; }
first=""
for _ in $(seq 1 50); do  # wait for lbdp's telemetry socket (readiness, not a race)
  first=$(query /lbdp/stats)
  [ -n "$(value "$first" rx)" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
check "dpdk-telemetry.py answers /lbdp/stats" '[ -n "$(value "$first" rx)" ]'
for name in rx tx flows_created flows_evicted busy_cycles drop_unsupported_l2 drop_no_flow drop_bad_ip_checksum flows; do
  check "/lbdp/stats has $name" '[ -n "$(value "$first" $name)" ]'
done
second=$(query /lbdp/stats)
check "rx grows between two queries" '[ "$(value "$second" rx)" -gt "$(value "$first" rx)" ]'
check "the empty frames are counted as drop_unsupported_l2" '[ "$(value "$second" drop_unsupported_l2)" -gt 0 ]'
lcore=$(query /lbdp/lcore,0)
check "/lbdp/lcore,0 has the worker's rx" '[ "$(value "$lcore" rx)" -gt 0 ]'
bad=$(query /lbdp/lcore,7)
check "/lbdp/lcore,7 (no such worker) returns no counters" '[ -z "$(value "$bad" rx)" ]'
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
check "lbdp exits cleanly on SIGTERM" '[ "$rc" = 0 ]'
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
