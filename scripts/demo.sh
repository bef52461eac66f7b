#!/usr/bin/env bash
# The demo: the appliance balancing real HTTP traffic in network namespaces.
# Builds (scripts/setup.sh), starts three nginx backends, starts lbdp in front of them
# with a VIP in nat mode, sends REQUESTS curl requests from a client namespace, prints
# how many each backend served and lbdp's statistics, and removes everything again
# (also on Ctrl-C or failure).
#
#   scripts/demo.sh [MODE=nat|fullnat|dsr] [SCHEDULER=rr] [REQUESTS=300] [WORKERS=1]
#   scripts/demo.sh --cli    the lbdp prompt, with load running and a fourth backend
#                            waiting to be added (see docs/cli.md)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --cli ]; then
  [ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, DPDK)"; exit 1; }
  [ -t 0 ] || { echo "demo: --cli needs a terminal"; exit 1; }
  scripts/setup.sh
  export LBT_BACKENDS=4
  . scripts/lib/topology.sh
  load_pid=
  finish() {
    set +e
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
    if [ -s "$TOPO_DIR/load.log" ]; then
      echo "demo: requests during the session, per backend:"
      grep -v '^FAIL' "$TOPO_DIR/load.log" | sort | uniq -c | sed 's/^/  /'
      echo "demo: failed requests: $(grep -c '^FAIL' "$TOPO_DIR/load.log" || true)"
    fi
    topo_down
  }
  trap finish EXIT INT TERM
  topo_up nat
  lbdp_config nat rr "1 1 1" 3 > "$TOPO_DIR/lbdp.toml"
  # Load: one new connection every 50 ms, from the first answer on.
  (
    up=0
    while true; do
      if answer=$(ns client curl -s --max-time 2 "http://$VIP/"); then up=1; echo "$answer"
      elif [ "$up" = 1 ]; then echo "FAIL"; fi
      sleep 0.05
    done
  ) >> "$TOPO_DIR/load.log" 2>/dev/null &
  load_pid=$!
  cat <<HINT
demo: lbdp balances $VIP:80 over ${BACKENDS[0]}, ${BACKENDS[1]}, ${BACKENDS[2]}; a client sends a
      request every 50 ms; ${BACKENDS[3]} runs nginx but is not configured yet. Try:
        help
        show backend
        add backend $VIP 80 ${BACKENDS[3]} 80
        show backend                     (its flows grow)
        set backend $VIP 80 ${BACKENDS[0]} 80 state drain
        show flows count
        quit                             (then the per-backend counts and failures)
HINT
  ip netns exec "$P-lb" "$LBDP" --lcores 0@0,1@$(( $(nproc) - 1 )) $(eal_mem_args) --no-pci \
    --log-level=lib.eal:error --vdev net_af_packet0,iface=lbc,qpairs=1 \
    --vdev net_af_packet1,iface=lbs,qpairs=1 -- -c "$TOPO_DIR/lbdp.toml" -i --socket "$TOPO_DIR/lbdp.sock" || true
  exit 0
fi
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
