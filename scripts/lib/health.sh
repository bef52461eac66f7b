# Backend health in the test topology: an SMTP sink, lbcp and one lbbroker per backend.
# Source after scripts/lib/topology.sh, set LBDP_SHM before lbdp_config (so lbdp serves
# the shared-memory segment), then: health_up; ...; topo_down removes everything (every
# process here runs inside one of the topology's namespaces).
#
#   lbcp        in $P-lb (it only needs /dev/shm), log $TOPO_DIR/lbcp.log
#   SMTP sink   Debian's aiosmtpd on 127.0.0.1:2525 in $P-lb, mail in $TOPO_DIR/mail/new
#   lbbroker i  in $P-be<i>, probes http://127.0.0.1/lb-health, heartbeats to
#               $LB_SERVER_ADDR:$HEARTBEAT_PORT, log $TOPO_DIR/be<i>/broker.log
#
# Timing (HEALTH_TICK_MS, HEALTH_WARNING, HEALTH_DEAD; defaults 100 ms, 8, 25): a
# backend without heartbeats is excluded after about 0.8 s and declared dead after 2.5 s.
# Brokers probe every 100..400 ms (the adaptive interval), so a healthy one is never late.

LBCP=${LBCP:-$REPO_ROOT/build/controlplane/lbcp}
LBBROKER=${LBBROKER:-$REPO_ROOT/build/broker/lbbroker}
HEALTH_TICK_MS=${HEALTH_TICK_MS:-100}
HEALTH_WARNING=${HEALTH_WARNING:-8}
HEALTH_DEAD=${HEALTH_DEAD:-25}
SMTP_PORT=2525
MAIL_DIR=$TOPO_DIR/mail
HEARTBEAT_KEY=$TOPO_DIR/heartbeat.key
LBCP_PID=

lbcp_config() {
  cat <<CONF
[dataplane]
shm = "$LBDP_SHM"

[health]
tick_ms = $HEALTH_TICK_MS
warning_ticks = $HEALTH_WARNING
dead_ticks = $HEALTH_DEAD

[heartbeat]
key_file = "$HEARTBEAT_KEY"

[alerts]
smtp_url = "smtp://127.0.0.1:$SMTP_PORT"
mail_from = "lbcp@appliance.test"
mail_to = ["admin@appliance.test"]
dedup_window_s = 300
retry_initial_ms = 200
CONF
}

broker_config() {  # broker_config INDEX
  local addr=${BACKENDS[$(($1 - 1))]}
  cat <<CONF
[probe]
url = "http://127.0.0.1/lb-health"
expect_body = "ok"
timeout_ms = 6000

[limits]
max_response_ms = 300
# The backends here are namespaces of one machine: its load average is the tests' own
# (and the appliance's), not the node's, so only response time marks a node overloaded.
max_cpu_load = 1000

[interval]
multiplier = 50
min_ms = 100
max_ms = 400

[heartbeat]
target = "$LB_SERVER_ADDR:$HEARTBEAT_PORT"
node_address = "$addr"
service_port = 80
key_file = "$HEARTBEAT_KEY"
CONF
}

lbcp_start() {
  # Not through ns(): $! must be lbcp itself (ip netns exec execs it), for lbcp_kill.
  ip netns exec "$P-lb" "$LBCP" -c "$TOPO_DIR/lbcp.toml" >> "$TOPO_DIR/lbcp.log" 2>&1 &
  LBCP_PID=$!
}

lbcp_kill() {  # lbcp_kill [SIGNAL]: SIGKILL by default (a crash)
  [ -n "$LBCP_PID" ] || return 0
  kill "-${1:-KILL}" "$LBCP_PID" 2>/dev/null || true
  wait "$LBCP_PID" 2>/dev/null || true
  LBCP_PID=
}

health_up() {
  [ -x "$LBCP" ] || { echo "lbcp binary $LBCP not found (build first)"; return 1; }
  [ -x "$LBBROKER" ] || { echo "lbbroker binary $LBBROKER not found (build first)"; return 1; }
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$HEARTBEAT_KEY"
  chmod 600 "$HEARTBEAT_KEY"
  ns lb ip link set lo up
  ns lb /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$MAIL_DIR" \
    > "$TOPO_DIR/smtp.log" 2>&1 &
  lbcp_config > "$TOPO_DIR/lbcp.toml"
  lbcp_start
  local i
  for i in $(seq 1 "${#BACKENDS[@]}"); do
    broker_config "$i" > "$TOPO_DIR/be$i/broker.toml"
    ns "be$i" "$LBBROKER" -c "$TOPO_DIR/be$i/broker.toml" > "$TOPO_DIR/be$i/broker.log" 2>&1 &
  done
}

# The health word of backend ADDR in `show backend` (via lbctl on SOCKET).
backend_health() {  # backend_health SOCKET ADDR
  "$LBCTL" -s "$1" show backend 2>/dev/null |
    awk -v b="$2:80" '$2 == b { for (i = 1; i < NF; i++) if ($i == "health") { print $(i + 1); exit } }'
}

# Waits until backend ADDR's health is WORD; prints the seconds it took. Fails after
# TIMEOUT seconds.
wait_health() {  # wait_health SOCKET ADDR WORD [TIMEOUT]
  local start=$EPOCHREALTIME deadline=$((SECONDS + ${4:-20}))
  while [ "$(backend_health "$1" "$2")" != "$3" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", b - a }'
}

# Mails in the sink whose text contains every WORD.
mail_count() {  # mail_count WORD...
  local f n=0 w ok
  for f in "$MAIL_DIR"/new/*; do
    [ -f "$f" ] || continue
    ok=1
    for w in "$@"; do grep -q -- "$w" "$f" || { ok=0; break; }; done
    n=$((n + ok))
  done
  echo "$n"
}
