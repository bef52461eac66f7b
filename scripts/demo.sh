#!/usr/bin/env bash
# The demo: the appliance balancing real HTTP traffic in network namespaces.
# Builds (scripts/setup.sh), starts three nginx backends, starts lbdp in front of them
# with a VIP in nat mode, sends REQUESTS curl requests from a client namespace, prints
# how many each backend served and lbdp's statistics, and removes everything again
# (also on Ctrl-C or failure).
#
#   scripts/demo.sh [MODE=nat|fullnat|dsr] [SCHEDULER=rr] [REQUESTS=300] [WORKERS=1]
#   scripts/demo.sh --cli    the lbdp prompt, with load running and a fourth backend
#                            waiting to be added (see docs/cli.md); lbcp and the
#                            brokers run too, so a web server can be stopped by hand
#   scripts/demo.sh --health backend health, narrated: a web server stops, lbcp excludes
#                            it (warning, then dead), an e-mail arrives, no request
#                            fails, the server starts again and the node comes back
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --health ]; then
  [ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, DPDK)"; exit 1; }
  scripts/setup.sh
  . scripts/lib/topology.sh
  LBDP_SHM=/lbdp-demo
  . scripts/lib/health.sh
  LBCTL=build/dataplane/lbctl
  SOCK=$TOPO_DIR/lbdp.sock
  load_pid=
  finish() {
    set +e
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
    lbcp_kill TERM
    topo_down
  }
  trap finish EXIT INT TERM
  topo_up nat
  lbdp_config nat rr "1 1 1" > "$TOPO_DIR/lbdp.toml"
  LBDP_EXTRA_ARGS="--socket $SOCK" lbdp_start "$TOPO_DIR/lbdp.toml" 1 nat
  wait_for_vip "http://$VIP/"
  health_up
  for b in "${BACKENDS[@]}"; do wait_health "$SOCK" "$b" ok 15 > /dev/null; done
  echo "demo: lbdp balances $VIP:80 over ${BACKENDS[*]}; lbcp watches their brokers' heartbeats"
  echo "      (tick ${HEALTH_TICK_MS} ms, warning after $HEALTH_WARNING ticks, dead after $HEALTH_DEAD)"
  # Load: sequential requests, "TIME ok BACKEND" or "TIME FAIL".
  ( while true; do t=$EPOCHREALTIME
      if a=$(ns client curl -s --max-time 2 "http://$VIP/"); then echo "$t ok ${a##* }"; else echo "$t FAIL"; fi
    done ) > "$TOPO_DIR/load.log" 2>/dev/null &
  load_pid=$!
  show() { echo "lbdp> show backend"; "$LBCTL" -s "$SOCK" show backend | sed 's/^/  /'; }
  sleep 1
  show
  echo; echo "demo: stopping nginx on ${BACKENDS[1]} ..."
  nginx_stop 2
  t=$(wait_health "$SOCK" "${BACKENDS[1]}" warning 15); t_excl=$EPOCHREALTIME
  echo "demo: after ${t} s ${BACKENDS[1]} is in warning: no new flows"; show
  t=$(wait_health "$SOCK" "${BACKENDS[1]}" dead 15)
  echo; echo "demo: after ${t} s more it is dead"; show
  for _ in $(seq 1 50); do [ "$(mail_count "${BACKENDS[1]}")" -ge 1 ] && break; sleep 0.1; done
  echo; echo "demo: the mail the administrator got:"
  sed -n '1,/^$/{/^\(Subject\|From\|To\|Date\):/p}; /^$/,$p' "$(ls -t "$MAIL_DIR"/new/* | tail -1)" | sed 's/^/  | /'
  sleep 2
  echo; echo "demo: starting nginx on ${BACKENDS[1]} again ..."
  nginx_again 2
  t=$(wait_health "$SOCK" "${BACKENDS[1]}" ok 15); t_back=$EPOCHREALTIME
  echo "demo: after ${t} s it is ok again"
  sleep 2
  show
  kill "$load_pid"; wait "$load_pid" 2>/dev/null || true; load_pid=
  awk -v a="$t_excl" -v b="$t_back" '
    { n++; if ($2 == "FAIL") { f++; if ($1 >= a) late++ } }
    $1 >= b && $2 == "ok" && $3 == 2 { back++ }
    END { printf "demo: %d requests, %d failed (%d after the exclusion: those before it went to the stopped server)\n", n, f, late
          printf "      backend 2 served %d requests after it came back\n", back }' "$TOPO_DIR/load.log"
  exit 0
fi
if [ "${1:-}" = --cli ]; then
  [ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, DPDK)"; exit 1; }
  [ -t 0 ] || { echo "demo: --cli needs a terminal"; exit 1; }
  scripts/setup.sh
  export LBT_BACKENDS=4
  . scripts/lib/topology.sh
  LBDP_SHM=/lbdp-demo
  . scripts/lib/health.sh
  load_pid=
  finish() {
    set +e
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
    lbcp_kill TERM
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
  health_up  # lbcp attaches once lbdp (started below) has created its segment
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
      Backend health: in another terminal, stop a web server and start it again:
        ip netns exec $P-be2 nginx -c $TOPO_DIR/be2/nginx.conf -s stop
        ip netns exec $P-be2 nginx -c $TOPO_DIR/be2/nginx.conf
      and watch 'show backend' here (health warning, then dead, then ok); the e-mails
      land in $MAIL_DIR/new.
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
