# Test topology in network namespaces, shared by the demo and the end-to-end tests.
# Source it, then: topo_up MODE; lbdp_start CONFIG WORKERS; ...; topo_down.
#
#   two-arm (nat, fullnat):
#     ${P}-client [198.18.0.2] --veth-- ${P}-lb: lbdp port "client" 198.18.0.1/24
#                                        ${P}-lb: lbdp port "server" 198.18.1.1/24 --veth-- ${P}-sw (bridge)
#     ${P}-be1..3 [198.18.1.11..13, nginx] ---------------------------------------------- ${P}-sw
#   one-arm (dsr): client 198.18.1.50, lbdp 198.18.1.1 and the backends on one bridge;
#     the backends hold the VIP on lo and answer the client directly.
#
# Addresses are from 198.18.0.0/15 (RFC 2544, benchmarking) and exist only inside the
# namespaces this file creates. Every namespace name starts with $P (default "lbt"),
# and topo_down removes all of them and every process started inside them.

P=${LBT_PREFIX:-lbt}
TOPO_DIR=${TOPO_DIR:-$(mktemp -d /tmp/${P}.XXXXXX)}
mkdir -p "$TOPO_DIR"; chmod 755 "$TOPO_DIR"  # nginx workers (www-data) read the pages below it
VIP=198.18.0.100
VIP_DSR=198.18.1.100
# LBT_BACKENDS: how many backend namespaces (default 3, at most 9).
BACKENDS=()
for _i in $(seq 1 "${LBT_BACKENDS:-3}"); do BACKENDS+=("198.18.1.$((10 + _i))"); done
LOCAL_ADDR=198.18.1.2
LB_SERVER_ADDR=198.18.1.1   # lbdp's own address on the server side: brokers send heartbeats here
HEARTBEAT_PORT=7946
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LBDP=${LBDP:-$REPO_ROOT/build/dataplane/lbdp}
LBDP_PID=

ns() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

# Veth endpoints must not leave checksums or segmentation to the (absent) hardware:
# af_packet would see partial checksums and 64 KB frames (DESIGN.md, pitfalls).
quiet_link() {
  local n=$1 dev=$2
  ns "$n" ethtool -K "$dev" tx off tso off gso off gro off >/dev/null 2>&1 || true
  ns "$n" ip link set "$dev" up
}

new_ns() {
  ip netns add "$P-$1"
  ns "$1" ip link set lo up
  ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# Moves one end of a new veth pair into each namespace.
veth() {  # veth NS_A DEV_A NS_B DEV_B
  ip link add "$P-tmpa" type veth peer name "$P-tmpb"
  ip link set "$P-tmpa" netns "$P-$1"
  ip link set "$P-tmpb" netns "$P-$3"
  ns "$1" ip link set "$P-tmpa" name "$2"
  ns "$3" ip link set "$P-tmpb" name "$4"
  ns "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" 2>/dev/null || true
  ns "$3" sysctl -qw "net.ipv6.conf.$4.disable_ipv6=1" 2>/dev/null || true
  quiet_link "$1" "$2"
  quiet_link "$3" "$4"
}

nginx_start() {  # nginx_start INDEX ADDRESS
  local i=$1 addr=$2 dir=$TOPO_DIR/be$1
  mkdir -p "$dir/www" "$dir/tmp"
  echo "backend $i" > "$dir/www/index.html"
  # What lbbroker probes: "ok" and padding, so a rate limit can make the probe slow.
  { echo ok; head -c 8000 /dev/zero | tr '\0' 'x'; echo; } > "$dir/www/lb-health"
  echo 'location = /lb-health { }' > "$dir/probe.conf"
  # A larger file for long-lived transfers.
  head -c 4000000 /dev/urandom > "$dir/www/big.bin"
  cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  keepalive_requests 100000;
  server {
    listen 80 reuseport;
    listen 8080;
    root $dir/www;
    location / { add_header X-Backend "$i"; }
    include $dir/probe.conf;
  }
}
NGINX
  ns "be$i" nginx -c "$dir/nginx.conf" -e "$dir/error.log"
}

nginx_stop() {  # nginx_stop INDEX: the web server goes away (the namespace stays)
  local dir=$TOPO_DIR/be$1
  ns "be$1" nginx -c "$dir/nginx.conf" -e "$dir/error.log" -s stop 2>/dev/null || true
  local i
  for i in $(seq 1 50); do [ -s "$dir/nginx.pid" ] || return 0; sleep 0.1; done
}

nginx_again() {  # nginx_again INDEX: start a stopped web server again
  local dir=$TOPO_DIR/be$1
  ns "be$1" nginx -c "$dir/nginx.conf" -e "$dir/error.log"
}

# Makes backend INDEX's health probe slow (a 2 KB/s rate limit on /lb-health: about
# 4 s per probe) or fast again: the broker then sees its node as overloaded.
slow_probe() {  # slow_probe INDEX on|off
  local dir=$TOPO_DIR/be$1
  if [ "$2" = on ]; then
    echo 'location = /lb-health { limit_rate 2k; }' > "$dir/probe.conf"
  else
    echo 'location = /lb-health { }' > "$dir/probe.conf"
  fi
  ns "be$1" nginx -c "$dir/nginx.conf" -e "$dir/error.log" -s reload
}

topo_up() {  # topo_up nat|fullnat|dsr
  local mode=$1
  topo_down_quiet
  mkdir -p "$TOPO_DIR"
  new_ns client; new_ns lb; new_ns sw
  ns sw ip link add br0 type bridge
  ns sw ip link set br0 up
  local i=1
  for addr in "${BACKENDS[@]}"; do
    new_ns "be$i"
    veth "be$i" eth0 sw "b$i"
    ns sw ip link set "b$i" master br0
    ns "be$i" ip addr add "$addr/24" dev eth0
    if [ "$mode" = dsr ]; then
      ns "be$i" ip addr add "$VIP_DSR/32" dev lo
      ns "be$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    else
      ns "be$i" ip route add default via 198.18.1.1
    fi
    nginx_start "$i" "$addr"
    i=$((i + 1))
  done
  if [ "$mode" = dsr ]; then
    veth client eth0 sw c0
    ns sw ip link set c0 master br0
    ns client ip addr add 198.18.1.50/24 dev eth0
    veth lb lbs sw l0
    ns sw ip link set l0 master br0
  else
    veth client eth0 lb lbc
    ns client ip addr add 198.18.0.2/24 dev eth0
    ns client ip route add default via 198.18.0.1
    veth lb lbs sw l0
    ns sw ip link set l0 master br0
  fi
}

# Writes an lbdp config for MODE with SCHED and backend WEIGHTS (space separated), for
# the first COUNT backends (default: all of them).
lbdp_config() {  # lbdp_config MODE SCHED "W1 W2 W3" [COUNT] > file
  local mode=$1 sched=$2 weights=(${3:-1 1 1}) count=${4:-${#BACKENDS[@]}} vip=$VIP
  cat <<CONF
[dataplane]
flows_per_worker = 65536
mbufs = 8191
idle_sleep_us = 50

[timeouts]
syn = 10
established = 300
closing = 5
CONF
  if [ "$mode" = dsr ]; then
    vip=$VIP_DSR
    printf '\n[[port]]\nname = "arm"\ndevice = "net_af_packet0"\nrole = "both"\naddress = "198.18.1.1/24"\n'
  else
    printf '\n[[port]]\nname = "client"\ndevice = "net_af_packet0"\nrole = "client"\naddress = "198.18.0.1/24"\n'
    printf '\n[[port]]\nname = "server"\ndevice = "net_af_packet1"\nrole = "server"\naddress = "198.18.1.1/24"\n'
  fi
  # LBDP_SHM: the shared-memory name for lbcp ([controlplane]); unset: lbdp runs alone.
  [ -n "${LBDP_SHM:-}" ] && printf '\n[controlplane]\nshm = "%s"\nheartbeat_port = %s\n' "$LBDP_SHM" "$HEARTBEAT_PORT"
  printf '\n[[vip]]\naddress = "%s"\nport = 80\nmode = "%s"\nscheduler = "%s"\n' "$vip" "$mode" "$sched"
  [ "$mode" = fullnat ] && printf 'local_addresses = ["%s"]\n' "$LOCAL_ADDR"
  local i=0
  for addr in "${BACKENDS[@]:0:$count}"; do
    printf '\n[[vip.backend]]\naddress = "%s"\nport = 80\nweight = %s\n' "$addr" "${weights[$i]:-1}"
    i=$((i + 1))
  done
}

# EAL memory options: hugepages when reserved, otherwise plain memory.
eal_mem_args() {
  local free
  free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
  if [ "${free:-0}" -ge 256 ]; then echo "--in-memory"; else echo "--no-huge -m 768"; fi
}

# LBDP_EXTRA_ARGS: more lbdp options (after -c CONFIG), e.g. "--socket /tmp/x.sock".
lbdp_start() {  # lbdp_start CONFIG WORKERS [MODE]
  local conf=$1 workers=${2:-1} mode=${3:-nat} lcores vdevs
  # Main lcore on cpu 0; workers share the last cpu when there are more of them than cpus.
  local last=$(( $(nproc) - 1 ))
  lcores="0@0"
  for w in $(seq 1 "$workers"); do lcores="$lcores,$w@$(( w <= last ? w : last ))"; done
  if [ "$mode" = dsr ]; then
    vdevs="--vdev net_af_packet0,iface=lbs,qpairs=$workers"
  else
    vdevs="--vdev net_af_packet0,iface=lbc,qpairs=$workers --vdev net_af_packet1,iface=lbs,qpairs=$workers"
  fi
  # shellcheck disable=SC2046,SC2086
  ip netns exec "$P-lb" "$LBDP" --lcores "$lcores" $(eal_mem_args) --no-pci --log-level=lib.eal:error $vdevs \
    -- -c "$conf" ${LBDP_EXTRA_ARGS:-} > "$TOPO_DIR/lbdp.out" 2>&1 &
  LBDP_PID=$!
}

# Stops lbdp (SIGTERM: it drains and prints its statistics) and waits for it.
lbdp_stop() {
  [ -n "$LBDP_PID" ] || return 0
  kill -TERM "$LBDP_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do kill -0 "$LBDP_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$LBDP_PID" 2>/dev/null || true
  wait "$LBDP_PID" 2>/dev/null || true
  LBDP_PID=
}

# Polls until the VIP answers (lbdp up, ARP resolved) or TIMEOUT seconds pass.
wait_for_vip() {  # wait_for_vip URL [TIMEOUT]
  local url=$1 timeout=${2:-20} i
  for i in $(seq 1 $((timeout * 5))); do
    if ns client curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    if [ -n "$LBDP_PID" ] && ! kill -0 "$LBDP_PID" 2>/dev/null; then
      echo "lbdp exited:"; cat "$TOPO_DIR/lbdp.out"; return 1
    fi
    sleep 0.2
  done
  echo "VIP $url did not answer within ${timeout}s"; cat "$TOPO_DIR/lbdp.out"; return 1
}

topo_down_quiet() {
  local n
  for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P-" || true); do
    ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
}

topo_down() {
  lbdp_stop
  topo_down_quiet
  [ -n "${KEEP_TOPO_DIR:-}" ] || rm -rf "$TOPO_DIR"
}
