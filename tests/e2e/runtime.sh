#!/usr/bin/env bash
# End-to-end test of run-time changes under continuous load (nat mode), in the network
# namespaces of scripts/lib/topology.sh.
#
#   tests/e2e/runtime.sh [WORKERS]      WORKERS: worker lcores (default 1)
#
# lbdp starts with backends .11 and .12 only (.13's namespace and nginx exist). While
#   * wrk -t1 -c8 keeps 8 keep-alive connections busy for the whole test,
#   * a loop of sequential curls (one new connection each, --max-time 2) logs start
#     time, exit status and the answering backend,
#   * slow downloads of /big.bin (one ~15 s, started before the drain, one ~2 s across
#     the stop) are checked byte for byte,
# the test changes the running lbdp through lbctl (-s, its own socket):
#   add backend .13 -> sched wrr + weight .12 3 -> drain .11 -> del .11 -> reload (lbctl
#   and SIGHUP; then a broken file) -> stop -> start
# and checks each step's effect (lbctl show backend / show config) and, at the end, that
# no new connection failed outside the stopped window, that every new connection inside
# it was refused fast, and that no established connection broke (wrk errors, downloads).
#
# Prints one line per check (PASS:/FAIL:) and ends with "N passed, M failed"; exits
# non-zero if any check failed. Needs root: without it, exits 77 (meson: skipped),
# unless CI=true, where that is a failure. LBDP and LBCTL override the binaries.
# Namespaces are named lbrt<workers>-*; they and every process in them are removed on
# exit, also on failure.
# shellcheck disable=SC2016  # checks below eval single-quoted conditions on purpose
set -euo pipefail
export LC_ALL=C  # $EPOCHREALTIME with a '.', awk numbers

WORKERS=${1:-1}
[[ $WORKERS =~ ^[1-9]$ ]] || { echo "usage: $0 [WORKERS 1..9]" >&2; exit 2; }
NAME="runtime/$WORKERS"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$(id -u)" = 0 ] || cannot_run "needs root (network namespaces, DPDK af_packet)"
for tool in ip curl wrk nginx perl sha256sum awk; do
  command -v "$tool" >/dev/null || cannot_run "'$tool' is not installed"
done

export LBT_PREFIX="lbrt$WORKERS"  # veth names "$P-tmpa" must fit in 15 characters
REPO_ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export REPO_ROOT
# shellcheck source=../../scripts/lib/topology.sh
. "$REPO_ROOT/scripts/lib/topology.sh"
LBCTL=${LBCTL:-$REPO_ROOT/build/dataplane/lbctl}
[ -x "$LBDP" ] || { echo "$NAME: FAIL: lbdp binary $LBDP not found (build first)"; exit 1; }
[ -x "$LBCTL" ] || { echo "$NAME: FAIL: lbctl binary $LBCTL not found (build first)"; exit 1; }
SOCK=$TOPO_DIR/lbdp.sock
CONF=$TOPO_DIR/lbdp.toml
LBDP_EXTRA_ARGS="--socket $SOCK"
URL="http://$VIP/"
CURLS=$TOPO_DIR/curls.log
B1=198.18.1.11 B2=198.18.1.12 B3=198.18.1.13

DONE=0
T0=$SECONDS
note() { echo "      $*"; }

WRK_PID=
CURL_PID=
DL_PIDS=()
exec 3>&1 4>&2  # the test's stdout/stderr, for on_exit
on_exit() {
  local rc=$?
  set +e
  exec 1>&3 2>&4
  if [ "$DONE" != 1 ]; then
    fail "test aborted before completing (exit status $rc at the command above)"
  fi
  touch "$TOPO_DIR/stop-curls" 2>/dev/null
  local p
  for p in $WRK_PID $CURL_PID "${DL_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  if [ "$FAILED" != 0 ] && [ -s "$TOPO_DIR/lbdp.out" ]; then
    echo "--- $TOPO_DIR/lbdp.out:"
    sed 's/^/  | /' "$TOPO_DIR/lbdp.out" | tail -n 60
  fi
  topo_down  # kills every process in the namespaces, removes them and $TOPO_DIR
  for p in $WRK_PID $CURL_PID "${DL_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  check "cleanup: lbdp's socket removed" [ ! -e "$SOCK" ]
  finish_report
}
trap on_exit EXIT
trap 'exit 130' INT TERM

ctl() { "$LBCTL" -s "$SOCK" "$@"; }
now() { echo "$EPOCHREALTIME"; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%d", (b - a) * 1000}'; }
# show backend into a file; field ADDR NAME reads one number of one backend from it.
SB=$TOPO_DIR/show-backend
show_backend() { ctl show backend > "$SB"; }
field() {
  awk -v b="$1:80" -v f="$2" '$1 == "backend" && $2 == b {for (i = 3; i < NF; i++) if ($i == f) v = $(i + 1)}
    END {print v + 0}' "$SB"
}
listed() { grep -q "^backend $1:80 " "$SB"; }
sum_field() { awk -v f="$1" '$1 == "backend" {for (i = 3; i < NF; i++) if ($i == f) n += $(i + 1)} END {print n + 0}' "$SB"; }
# The VIP's scheduler and backend weights in `show config`: "wrr 198.18.1.12=2 ...".
conf_summary() {
  ctl show config | awk '/^\[\[vip\]\]/ {v = 1} v && /^scheduler/ {gsub(/"/, "", $3); s = $3}
    /^\[\[vip.backend\]\]/ {b = 1} b && /^address/ {gsub(/"/, "", $3); a = $3}
    b && /^weight/ {w = w " " a "=" $3; b = 0} END {print s w}'
}
write_conf() {  # write_conf SCHED "ADDR..." "WEIGHT..." > file
  local -a BACKENDS
  read -ra BACKENDS <<< "$2"
  lbdp_config nat "$1" "$3"
}

# --- downloads -------------------------------------------------------------------------
# A reader that takes CHUNK bytes every 1/16 s paces the download through TCP
# back-pressure (the client namespace's receive buffers are capped below, so the
# transfer itself, not only the copy out of the socket, lasts that long).
# shellcheck disable=SC2016
slow_reader='my $c = shift; binmode STDIN; binmode STDOUT;
  while (read(STDIN, $b, $c)) { print $b; select(undef, undef, undef, 0.0625) }'
DL_N=0
start_download() {  # start_download CHUNK: download number DL_N, files $TOPO_DIR/dlN.*
  DL_N=$((DL_N + 1))
  local d=$TOPO_DIR/dl$DL_N
  now > "$d.t0"
  # shellcheck disable=SC2016
  ns client bash -c 'set -o pipefail; curl -s --max-time 40 -D "$1" -w "%{stderr}%{http_code} %{size_download} %{time_total}" \
      "$2" | perl -e "$3" "$4" > "$5"; echo "$EPOCHREALTIME" > "$6"' _ \
    "$d.hdr" "${URL}big.bin" "$slow_reader" "$1" "$d.body" "$d.t1" 2> "$d.w" &
  DL_PIDS+=($!)
}
dl_backend() {  # the X-Backend of download N once its headers arrived (empty before)
  awk 'tolower($1) == "x-backend:" {print $2}' "$TOPO_DIR/dl$1.hdr" 2>/dev/null | tr -d '\r'
}
wait_dl_backend() {  # wait_dl_backend N: waits up to 3 s for the headers, prints the backend
  local i b=
  for i in $(seq 1 60); do
    b=$(dl_backend "$1")
    [ -n "$b" ] && break
    sleep 0.05
  done
  echo "$b"
}

# --- phases ------------------------------------------------------------------------------
# Each phase: name, kind (ok: every new connection must succeed; refused: every one must
# be refused; transition: either), when its command was issued and when it returned.
PH_NAME=() PH_KIND=() PH_FROM=() PH_EFF=()
phase_begin() { PH_NAME+=("$1"); PH_KIND+=("$2"); PH_FROM+=("$(now)"); PH_EFF+=("${PH_FROM[-1]}"); }
phase_effective() { PH_EFF[-1]=$(now); }  # the phase's command returned

# --- set-up ------------------------------------------------------------------------------
echo "$NAME: nat, $WORKERS worker(s), namespaces $P-*, socket $SOCK"
topo_up nat
# Small receive buffers in the client namespace, so slow readers slow the transfers.
ns client sysctl -qw net.ipv4.tcp_rmem="4096 32768 65536"
write_conf rr "$B1 $B2" "1 1" > "$CONF"
lbdp_start "$CONF" "$WORKERS" nat
wait_for_vip "$URL"
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "lbdp up with backends .11 .12, VIP $URL answers, lbctl reaches $SOCK ($((SECONDS - T0)) s)" ctl show vip
show_backend
check "show backend lists .11 and .12, not .13" eval 'listed $B1 && listed $B2 && ! listed $B3'

# --- load ------------------------------------------------------------------------------
# wrk: 8 keep-alive connections, one request per connection every ~10 ms; it runs until
# SIGINT at the end and reports its errors from done().
cat > "$TOPO_DIR/wrk.lua" <<'LUA'
function delay() return 10 end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk-summary requests %d duration_us %d connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
LUA
# Not through ns(): $! must be wrk itself (ip netns exec execs it), for the SIGINT.
ip netns exec "$P-client" wrk -t1 -c8 -d300s --timeout 2s -s "$TOPO_DIR/wrk.lua" "$URL" > "$TOPO_DIR/wrk.out" 2>&1 &
WRK_PID=$!
# Sequential new connections: "START_TIME EXIT_STATUS HTTP_CODE TIME_TOTAL [BACKEND]".
# shellcheck disable=SC2016
ns client bash -c 'while [ ! -e "$1" ]; do t=$EPOCHREALTIME
    out=$(curl -s -o /dev/null --max-time 2 -w "%{http_code} %{time_total} %header{x-backend}" "$2")
    echo "$t $? $out"; done' _ "$TOPO_DIR/stop-curls" "$URL" > "$CURLS" 2>/dev/null &
CURL_PID=$!
# The test's clock starts once wrk's 8 connections are open.
for _ in $(seq 1 50); do
  show_backend
  [ "$(sum_field open)" -ge 8 ] && break
  sleep 0.1
done
check "load running: $(sum_field open) connections open (wrk's 8 among them)" [ "$(sum_field open)" -ge 8 ]
phase_begin "steady, backends .11 .12" ok

# A long download (~15 s) on .11, to be in progress when .11 is deleted: rr alternates
# between .11 and .12, so a few tries find it; the others are checked all the same.
LONG_DL=
for _ in 1 2 3 4 5 6 7 8; do
  start_download 16384
  b=$(wait_dl_backend "$DL_N")
  if [ "$b" = 1 ]; then LONG_DL=$DL_N; break; fi
  sleep 0.1
done
if [ -n "$LONG_DL" ]; then note "long download on backend 1: download $LONG_DL"; else note "long download on backend 1: none in 8 tries"; fi
sleep 1.5

# --- add backend .13 ----------------------------------------------------------------------
phase_begin "add .13" ok
T_ADD=${PH_FROM[-1]}
check "lbctl add backend $B3" ctl add backend "$VIP" 80 "$B3" 80
phase_effective
seen=
for _ in $(seq 1 30); do  # 10 polls a second, for 3 s
  show_backend
  if [ "$(field "$B3" flows)" -gt 0 ]; then seen=$(now); break; fi
  sleep 0.1
done
ADD_MS=$([ -n "$seen" ] && ms_between "$T_ADD" "$seen" || echo never)
check "new backend .13 has flows $ADD_MS ms after the add command (needs <= 1000)" \
  eval '[ -n "$seen" ] && [ "$ADD_MS" -le 1000 ]'
sleep 1.5

# --- wrr, weight 3 for .12 ------------------------------------------------------------------
phase_begin "wrr, weight .12 3" ok
check "lbctl set vip sched wrr" ctl set vip "$VIP" 80 sched wrr
check "lbctl set backend .12 weight 3" ctl set backend "$VIP" 80 "$B2" 80 weight 3
phase_effective
show_backend
w0=("$(field $B1 flows)" "$(field $B2 flows)" "$(field $B3 flows)")
sleep 3
show_backend
w1=("$(field $B1 flows)" "$(field $B2 flows)" "$(field $B3 flows)")
d=($((w1[0] - w0[0])) $((w1[1] - w0[1])) $((w1[2] - w0[2])))
check "show backend: weight of .12 is 3" [ "$(field $B2 weight)" = 3 ]
check "wrr 1:3:1: new flows in 3 s .11 ${d[0]}, .12 ${d[1]}, .13 ${d[2]} (.12 needs > 1.5x each other)" \
  eval '[ $((d[1] * 2)) -gt $((d[0] * 3)) ] && [ $((d[1] * 2)) -gt $((d[2] * 3)) ]'

# --- drain .11 -----------------------------------------------------------------------------
phase_begin "drain .11" ok
check "lbctl set backend .11 state drain" ctl set backend "$VIP" 80 "$B1" 80 state drain
phase_effective
show_backend
f0=$(field $B1 flows) p0=$(field $B1 packets) open0=$(field $B1 open)
sleep 2
show_backend
f1=$(field $B1 flows) p1=$(field $B1 packets) open1=$(field $B1 open)
check "show backend: .11 state drain" grep -q "^backend $B1:80 .* state drain " "$SB"
check "drain: .11 flows counter stays at $f0 for 2 s (now $f1)" [ "$f0" = "$f1" ]
if [ "$open0" -gt 0 ]; then
  check "drain: .11's $open0 open connection(s) keep flowing (packets $p0 -> $p1), $open1 still open" [ "$p1" -gt "$p0" ]
else
  note "drain: .11 had no open connection to watch"
fi

# --- del .11 -------------------------------------------------------------------------------
phase_begin "del .11" ok
check "lbctl del backend .11" ctl del backend "$VIP" 80 "$B1" 80
phase_effective
T_DEL_RET=${PH_EFF[-1]}
show_backend
check "show backend: .11 no longer listed" eval '! listed $B1'
if [ -n "$LONG_DL" ]; then
  check "long download $LONG_DL on .11 still running at the del" [ ! -e "$TOPO_DIR/dl$LONG_DL.t1" ]
fi
sleep 2

# --- reload ----------------------------------------------------------------------------------
phase_begin "reload" ok
write_conf wrr "$B2 $B3" "2 5" > "$CONF"
rc=0
out=$(ctl reload 2>&1) || rc=$?
check "lbctl reload: exit $rc (${out//$'\n'/ })" [ "$rc" = 0 ]
s=$(conf_summary)
check "show config after lbctl reload: '$s'" [ "$s" = "wrr $B2=2 $B3=5" ]
write_conf wrr "$B2 $B3" "4 1" > "$CONF"
t=$(now)
kill -HUP "$LBDP_PID"
for _ in $(seq 1 30); do
  s=$(conf_summary)
  [ "$s" = "wrr $B2=4 $B3=1" ] && break
  sleep 0.1
done
check "show config after SIGHUP ($(ms_between "$t" "$(now)") ms): '$s'" [ "$s" = "wrr $B2=4 $B3=1" ]
cp "$CONF" "$TOPO_DIR/good.toml"
before=$(ctl show config)
sed 's/^mode = "nat"/mode = "bogus"/' "$TOPO_DIR/good.toml" > "$CONF"
line=$(grep -n '^mode = "bogus"' "$CONF" | cut -d: -f1)
rc=0
out=$(ctl reload 2>&1) || rc=$?
check "broken file: lbctl reload exits 1 (got $rc)" [ "$rc" = 1 ]
check "broken file: the error names $CONF:$line (${out//$'\n'/ | })" \
  grep -qF "$CONF:$line: vip[0].mode: \"bogus\"" <<< "$out"
check "broken file: show config unchanged" [ "$(ctl show config)" = "$before" ]
kill -HUP "$LBDP_PID"
logged=
for _ in $(seq 1 30); do
  logged=$(grep -m1 "SIGHUP: .*$CONF:$line" "$TOPO_DIR/lbdp.out" || true)
  [ -n "$logged" ] && break
  sleep 0.1
done
check "broken file, SIGHUP: lbdp logs the error (${logged:-nothing})" [ -n "$logged" ]
check "broken file, SIGHUP: show config unchanged" [ "$(ctl show config)" = "$before" ]
cp "$TOPO_DIR/good.toml" "$CONF"
sleep 1

# --- stop / start ------------------------------------------------------------------------------
# A ~2 s download established before the stop.
start_download 131072
STOP_DL=$DL_N
b=$(wait_dl_backend "$STOP_DL")
note "download $STOP_DL (across the stop) from backend ${b:-?}"
phase_begin "stop (transition)" transition
check "lbctl stop" ctl stop
phase_effective
T_STOP_RET=${PH_EFF[-1]}
sleep 0.05
phase_begin "stopped" refused
show_backend
p0=$(sum_field packets)
check "show vip says stopped" eval '[[ $(ctl show vip) == *"(stopped)"* ]]'
sleep 3
show_backend
p1=$(sum_field packets)
check "stopped: established connections keep flowing (backend packets $p0 -> $p1)" [ "$p1" -gt "$p0" ]
phase_begin "start (transition)" transition
check "lbctl start" ctl start
phase_effective
sleep 0.05
phase_begin "started again" ok
sleep 2
check "show vip no longer says stopped" eval '[[ $(ctl show vip) != *"(stopped)"* ]]'
T_END=$(now)

# --- stop the load -------------------------------------------------------------------------------
t=$SECONDS
WRK_ALIVE=0
kill -0 "$WRK_PID" 2>/dev/null && WRK_ALIVE=1
touch "$TOPO_DIR/stop-curls"
wait "$CURL_PID" || true
CURL_PID=
kill -INT "$WRK_PID" 2>/dev/null || true  # wrk prints its summary and done() output
wait "$WRK_PID" || true
WRK_PID=
for p in "${DL_PIDS[@]}"; do wait "$p" || true; done
DL_PIDS=()
note "load stopped, downloads finished ($((SECONDS - t)) s)"

# --- the new connections, phase by phase -------------------------------------------------------------
# A curl started less than 0.5 s before a stop/start command may meet either state.
margin=0.5
echo "new connections (curl loop), per phase:"
n=${#PH_NAME[@]}
for i in $(seq 0 $((n - 1))); do
  from=${PH_FROM[i]}
  to=$T_END
  [ $((i + 1)) -lt "$n" ] && to=${PH_FROM[i + 1]}
  kind=${PH_KIND[i]}
  # Just before a stop or a start, a curl may already meet the new state.
  if [ $((i + 1)) -lt "$n" ] && [ "${PH_KIND[i + 1]}" = transition ]; then
    to=$(awk -v t="$to" -v m="$margin" 'BEGIN {printf "%.6f", t - m}')
  fi
  [ "$kind" = transition ] && from=$(awk -v t="$from" -v m="$margin" 'BEGIN {printf "%.6f", t - m}')
  read -r total ok refused reset timeout other c1 c2 c3 slow < <(awk -v a="$from" -v b="$to" '
    $1 >= a && $1 < b && NF >= 4 {
      n++
      if ($2 == 0 && $3 == 200) { ok++; by[$5]++ }
      else if ($2 == 7) refused++
      else if ($2 == 56 || $2 == 35) reset++
      else if ($2 == 28) timeout++
      else other++
      if ($2 != 0 && $4 > slow) slow = $4
    }
    END {printf "%d %d %d %d %d %d %d %d %d %s\n", n, ok, refused, reset, timeout, other, by[1], by[2], by[3], slow + 0}' "$CURLS")
  failed=$((total - ok))
  desc="${PH_NAME[i]}: $total curls, $ok ok (backend 1/2/3: $c1/$c2/$c3), refused $refused, reset $reset, timeout $timeout, other $other"
  case $kind in
    ok) check "$desc; none may fail" eval "[ $total -gt 0 ] && [ $failed = 0 ]" ;;
    refused)
      check "$desc; all must be refused or reset" eval "[ $total -gt 0 ] && [ $ok = 0 ] && [ $((refused + reset)) = $total ]"
      check "stopped: refused connections fail fast (slowest ${slow} s, needs < 0.5 s)" \
        awk -v s="$slow" 'BEGIN {exit !(s < 0.5)}'
      ;;
    transition) note "$desc (either allowed)" ;;
  esac
done
# After the drain and the del, no new connection may reach .11.
late_b1=$(awk -v a="${PH_EFF[3]}" '$1 >= a && $5 == 1' "$CURLS" | wc -l)
check "no curl answered by backend 1 after the drain returned ($late_b1)" [ "$late_b1" = 0 ]
first_b3=$(awk -v a="$T_ADD" '$1 >= a && $2 == 0 && $5 == 3 {print $1; exit}' "$CURLS")
if [ -n "$first_b3" ]; then
  note "first curl answered by .13 started $(ms_between "$T_ADD" "$first_b3") ms after the add command"
fi
slow_ok=$(awk '$2 == 0 && $4 > 0.9' "$CURLS" | wc -l)
note "successful curls slower than 0.9 s (a retransmitted SYN): $slow_ok"

# --- wrk -------------------------------------------------------------------------------------------------
read -r _ _ wrk_req _ wrk_us _ e_conn _ e_read _ e_write _ e_status _ e_timeout < <(grep '^wrk-summary' "$TOPO_DIR/wrk.out" || echo)
span_ms=$(ms_between "${PH_FROM[0]}" "$T_END")
check "wrk ran through the whole test (${span_ms} ms): ${wrk_req:-no} requests in $(( ${wrk_us:-0} / 1000 )) ms, running at the end" \
  eval "[ ${wrk_req:-0} -gt 0 ] && [ $WRK_ALIVE = 1 ] && [ ${wrk_us:-0} -ge $(( span_ms * 1000 )) ]"
check "wrk: no socket errors (connect ${e_conn:-?} read ${e_read:-?} write ${e_write:-?} timeout ${e_timeout:-?}), no non-2xx (${e_status:-?})" \
  [ "${e_conn:-x}:${e_read:-x}:${e_write:-x}:${e_timeout:-x}:${e_status:-x}" = 0:0:0:0:0 ]

# --- downloads -----------------------------------------------------------------------------------------------
for k in $(seq 1 "$DL_N"); do
  dl=$TOPO_DIR/dl$k
  read -r code size secs < "$dl.w" || true
  be=$(dl_backend "$k")
  sum=$(sha256sum < "$dl.body" | awk '{print $1}')
  want=
  [[ $be =~ ^[1-3]$ ]] && want=$(sha256sum < "$TOPO_DIR/be$be/www/big.bin" | awk '{print $1}')
  check "download $k: HTTP ${code:-none}, ${size:-0} bytes in ${secs:-?} s from backend ${be:-?}, sha256 matches" \
    [ "${code:-}:${size:-}:$sum" = "200:4000000:${want:-none}" ]
done
if [ -n "$LONG_DL" ]; then
  t1=$(cat "$TOPO_DIR/dl$LONG_DL.t1" 2>/dev/null || echo 0)
  check "download $LONG_DL on .11 was in progress at the del and ended $(ms_between "$T_DEL_RET" "$t1") ms after it" \
    awk -v a="$t1" -v b="$T_DEL_RET" 'BEGIN {exit !(a > b)}'
else
  note "no download landed on .11 (the del check on a running download was skipped)"
fi
t1=$(cat "$TOPO_DIR/dl$STOP_DL.t1" 2>/dev/null || echo 0)
check "download $STOP_DL crossed the stop: ended $(ms_between "$T_STOP_RET" "$t1") ms after it" \
  awk -v a="$t1" -v b="$T_STOP_RET" 'BEGIN {exit !(a > b)}'

# --- lbdp ---------------------------------------------------------------------------------------------------------
alive=0
kill -0 "$LBDP_PID" 2>/dev/null && alive=1
check "lbdp still running" [ "$alive" = 1 ]
lbdp_stop
grep -E '^(drop|backend) ' "$TOPO_DIR/lbdp.out" | sed 's/^/      /' || true
malformed=$(grep -E '^drop (truncated_l2|truncated_l3|bad_ip_header|bad_ip_checksum|truncated_l4|bad_tcp_header|flow_table_full|handoff_full|tx_full) ' \
  "$TOPO_DIR/lbdp.out" | tr '\n' ' ' || true)
check "stats: no malformed-packet or overflow drops${malformed:+ ($malformed)}" [ -z "$malformed" ]
echo "new backend receives traffic after $ADD_MS ms (flows counter, polled 10x/s)"

DONE=1
