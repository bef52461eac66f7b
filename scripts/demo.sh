#!/usr/bin/env bash
# The demo: the appliance balancing real HTTP traffic in network namespaces.
# Builds (scripts/setup.sh), starts three nginx backends, starts lbdp in front of them
# with a VIP in nat mode, sends REQUESTS curl requests from a client namespace, prints
# how many each backend served and lbdp's statistics, and removes everything again
# (also on Ctrl-C or failure).
#
#   scripts/demo.sh [MODE=nat|fullnat|dsr] [SCHEDULER=rr] [REQUESTS=300] [WORKERS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-nat}
SCHED=${2:-rr}
REQUESTS=${3:-300}
WORKERS=${4:-1}
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, DPDK)"; exit 1; }

scripts/setup.sh
. scripts/lib/topology.sh
trap topo_down EXIT INT TERM

echo "demo: topology ($MODE) in namespaces $P-*"
topo_up "$MODE"
lbdp_config "$MODE" "$SCHED" "1 1 1" > "$TOPO_DIR/lbdp.toml"
lbdp_start "$TOPO_DIR/lbdp.toml" "$WORKERS" "$MODE"
vip=$VIP; [ "$MODE" = dsr ] && vip=$VIP_DSR
wait_for_vip "http://$vip/"
echo "demo: lbdp is up; VIP $vip:80 ($MODE, $SCHED) -> ${BACKENDS[*]}"

echo "demo: $REQUESTS requests from the client namespace"
failed=0
: > "$TOPO_DIR/answers"
for _ in $(seq 1 "$REQUESTS"); do
  if ! ns client curl -s --max-time 3 "http://$vip/" >> "$TOPO_DIR/answers"; then failed=$((failed + 1)); fi
done
echo "demo: requests served per backend:"
sort "$TOPO_DIR/answers" | uniq -c | sed 's/^/  /'
echo "demo: failed requests: $failed"
lbdp_stop
echo "demo: lbdp statistics at exit:"
grep -E '^(port|lcore|backend|drop)' "$TOPO_DIR/lbdp.out" | sed 's/^/  /'
[ "$failed" = 0 ]
