#!/usr/bin/env bash
# End-to-end test of backend health (issue 5): lbdp (nat, rr) in front of three nginx
# backends, each with an lbbroker sending heartbeats; lbcp consuming them through the
# shared-memory segment; an SMTP sink (aiosmtpd) on loopback. Under continuous load (a
# loop of sequential curls, one new connection each, --max-time 2):
#
#   A  every backend reaches health ok
#   B  nginx on backend 2 stops -> warning (excluded) then dead; an e-mail arrives; no
#      request that starts after the exclusion fails
#   C  lbcp is killed (SIGKILL) and restarted -> no request fails, backend 2 stays dead
#      (state rebuilt from the dataplane), the others stay ok (nothing flaps)
#   D  nginx on backend 2 starts again -> ok, a "recovered" mail, it takes traffic again
#   E  backend 3's probe is made slow (overload) -> warning; it gets no new flows until
#      the probe is fast again, then ok and traffic
#   F  nginx on backend 1 stops (-> dead), then lbdp is killed (SIGKILL) and restarted
#      -> lbcp re-attaches to the new segment and re-pushes: backend 1 is dead in the new
#      lbdp and gets no flows; the requests lost while lbdp was down, and what happens
#      to keep-alive connections open across the restart (wrk), are counted
#
# Prints one line per check (PASS:/FAIL:) and the measured times; ends with "N passed,
# M failed". Needs root (namespaces, DPDK af_packet): without it exits 77 (skipped),
# except under CI=true. Namespaces lbhe-*; they and every process in them are removed
# on exit, also on failure.
set -euo pipefail
export LC_ALL=C

NAME=health
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$(id -u)" = 0 ] || cannot_run "needs root (network namespaces, DPDK af_packet)"
for tool in ip curl nginx awk; do command -v "$tool" >/dev/null || cannot_run "'$tool' is not installed"; done
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || cannot_run "python3-aiosmtpd is not installed"

export LBT_PREFIX=lbhe
REPO_ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export REPO_ROOT
# shellcheck source=../../scripts/lib/topology.sh
. "$REPO_ROOT/scripts/lib/topology.sh"
LBDP_SHM=/lbhe-test
# shellcheck source=../../scripts/lib/health.sh
. "$REPO_ROOT/scripts/lib/health.sh"
LBCTL=${LBCTL:-$REPO_ROOT/build/dataplane/lbctl}
for bin in "$LBDP" "$LBCTL" "$LBCP" "$LBBROKER"; do
  [ -x "$bin" ] || { echo "$NAME: FAIL: $bin not found (build first)"; exit 1; }
done
SOCK=$TOPO_DIR/lbdp.sock
LBDP_EXTRA_ARGS="--socket $SOCK"
URL="http://$VIP/"
CURLS=$TOPO_DIR/curls.log
B1=198.18.1.11 B2=198.18.1.12 B3=198.18.1.13
TICK_S=$(awk -v t="$HEALTH_TICK_MS" 'BEGIN {print t / 1000}')
WARN_S=$(awk -v t="$TICK_S" -v w="$HEALTH_WARNING" 'BEGIN {print t * w}')
DEAD_S=$(awk -v t="$TICK_S" -v d="$HEALTH_DEAD" 'BEGIN {print t * d}')

DONE=0
T0=$SECONDS
CURL_PID=
exec 3>&1 4>&2
on_exit() {
  local rc=$?
  set +e
  exec 1>&3 2>&4
  [ "$DONE" = 1 ] || fail "test aborted before completing (exit status $rc at the command above)"
  touch "$TOPO_DIR/stop-curls" 2>/dev/null
  [ -n "$CURL_PID" ] && kill "$CURL_PID" 2>/dev/null
  if [ "$FAILED" != 0 ]; then
    for f in lbdp.out lbcp.log be1/broker.log be2/broker.log be3/broker.log; do
      [ -s "$TOPO_DIR/$f" ] && { echo "--- $f:"; tail -n 30 "$TOPO_DIR/$f" | sed 's/^/  | /'; }
    done
  fi
  lbcp_kill TERM
  topo_down
  [ -n "$CURL_PID" ] && wait "$CURL_PID" 2>/dev/null
  check "cleanup: no shared-memory segment left" [ ! -e "/dev/shm$LBDP_SHM" ]
  finish_report
}
trap on_exit EXIT
trap 'exit 130' INT TERM

note() { echo "      $*"; }
now() { echo "$EPOCHREALTIME"; }
# Requests that started after T (and before T2, default: the end) and failed / were
# answered by backend N.
failed_after() { awk -v a="$1" -v b="${2:-9e18}" '$1 >= a && $1 < b && ($2 != 0 || $3 != 200)' "$CURLS" | wc -l; }
served_by_after() { awk -v a="$2" -v b="${3:-9e18}" '$1 >= a && $1 < b && $2 == 0 && $5 == n' n="$1" "$CURLS" | wc -l; }
total_after() { awk -v a="$1" -v b="${2:-9e18}" '$1 >= a && $1 < b' "$CURLS" | wc -l; }
# Waits until the curl log has N more requests than now (load is flowing).
more_requests() {
  local want=$(($(wc -l < "$CURLS") + $1)) i
  for i in $(seq 1 200); do [ "$(wc -l < "$CURLS")" -ge "$want" ] && return 0; sleep 0.05; done
  return 1
}
health_is() { [ "$(backend_health "$SOCK" "$1")" = "$2" ]; }
# expect_health DESCRIPTION ADDR WORD TIMEOUT: waits for backend ADDR's health to be
# WORD and reports it as one check; sets TOOK (seconds, empty on failure) and REACHED
# (the time the wait ended).
expect_health() {
  if TOOK=$(wait_health "$SOCK" "$2" "$3" "$4"); then
    pass "$1 (${TOOK} s)"
  else
    TOOK=
    fail "$1 (not within $4 s)"
  fi
  REACHED=$(now)
}
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }

# --- set up ----------------------------------------------------------------------------
topo_up nat
lbdp_config nat rr "1 1 1" > "$TOPO_DIR/lbdp.toml"
lbdp_start "$TOPO_DIR/lbdp.toml" 1 nat
wait_for_vip "$URL" 30
health_up

# Sequential new connections: "START EXIT_STATUS HTTP_CODE TIME BACKEND".
# shellcheck disable=SC2016
ns client bash -c 'while [ ! -e "$1" ]; do t=$EPOCHREALTIME
    out=$(curl -s -o /dev/null --max-time 2 -w "%{http_code} %{time_total} %header{x-backend}" "$2")
    echo "$t $? $out"; done' _ "$TOPO_DIR/stop-curls" "$URL" > "$CURLS" 2>/dev/null &
CURL_PID=$!

# --- A: everything healthy -------------------------------------------------------------
for b in $B1 $B2 $B3; do expect_health "A: $b reaches health ok" "$b" ok 15; done
# lbcp's report (counter, load) follows at its next tick.
report_shown() {
  "$LBCTL" -s "$SOCK" show backend | grep -c "counter [0-9]*/$HEALTH_WARNING/$HEALTH_DEAD rt_us [0-9]* cpu_permille"
}
for i in $(seq 1 40); do [ "$(report_shown)" = 3 ] && break; sleep 0.05; done
"$LBCTL" -s "$SOCK" show backend | sed 's/^/      /'
check "A: counter and load figures shown for the 3 backends" [ "$(report_shown)" = 3 ]
more_requests 20
T_A=$(now)

# --- B: a web server stops --------------------------------------------------------------
T_STOP=$(now)
nginx_stop 2
expect_health "B: $B2 excluded (warning) after nginx stopped (warning time ${WARN_S} s)" $B2 warning 10
T_EXCL=$REACHED
[ -z "$TOOK" ] || check "B: exclusion within warning time + 1 s" le "$TOOK" "$(awk -v w="$WARN_S" 'BEGIN {print w + 1}')"
expect_health "B: $B2 dead after the warning (dead time ${DEAD_S} s after the last heartbeat)" $B2 dead 15
for i in $(seq 1 100); do [ "$(mail_count "$B2" dead)" -ge 1 ] && break; sleep 0.1; done
check "B: an e-mail about $B2 being dead reached the SMTP server" [ "$(mail_count "$B2" dead)" -ge 1 ]
more_requests 30
T_B=$(now)
lost_b=$(failed_after "$T_STOP" "$T_EXCL")
after_b=$(failed_after "$T_EXCL" "$T_B")
note "requests failed between the stop and the exclusion: $lost_b (they went to the stopped server)"
check "B: no request failed after the exclusion ($(total_after "$T_EXCL" "$T_B") requests, $after_b failed)" [ "$after_b" = 0 ]
check "B: no new flow to $B2 after the exclusion" [ "$(served_by_after 2 "$T_EXCL" "$T_B")" = 0 ]

# --- C: lbcp restarts -------------------------------------------------------------------
T_C0=$(now)
LOG_C0=$(wc -l < "$TOPO_DIR/lbcp.log")
lbcp_kill KILL
more_requests 10
lbcp_start
attached_since() { tail -n "+$(($1 + 1))" "$TOPO_DIR/lbcp.log" | grep -q "attached to segment"; }
for i in $(seq 1 100); do attached_since "$LOG_C0" && break; sleep 0.05; done
check "C: the restarted lbcp attached" attached_since "$LOG_C0"
more_requests 30
T_C1=$(now)
check "C: no request failed across the lbcp restart ($(total_after "$T_C0" "$T_C1") requests)" \
  [ "$(failed_after "$T_C0" "$T_C1")" = 0 ]
check "C: $B2 is still dead after the restart (rebuilt from the dataplane)" health_is $B2 dead
check "C: $B1 and $B3 stayed ok" bash -c "[ \"\$1\" = ok ] && [ \"\$2\" = ok ]" _ \
  "$(backend_health "$SOCK" $B1)" "$(backend_health "$SOCK" $B3)"
flaps=$(tail -n "+$((LOG_C0 + 1))" "$TOPO_DIR/lbcp.log" | grep -c -E "198\.18\.1\.1[13].*(warning|dead)" || true)
check "C: the restarted lbcp logged no warning/dead for the healthy backends" [ "$flaps" = 0 ]

# --- D: the web server comes back -------------------------------------------------------
nginx_again 2
expect_health "D: $B2 back to ok after nginx started" $B2 ok 15
T_BACK=$REACHED
for i in $(seq 1 100); do [ "$(mail_count "$B2" recovered)" -ge 1 ] && break; sleep 0.1; done
check "D: a 'recovered' e-mail for $B2 arrived" [ "$(mail_count "$B2" recovered)" -ge 1 ]
more_requests 30
T_D=$(now)
check "D: $B2 takes traffic again ($(served_by_after 2 "$T_BACK" "$T_D") of $(total_after "$T_BACK" "$T_D"))" \
  [ "$(served_by_after 2 "$T_BACK" "$T_D")" -gt 0 ]
check "D: no request failed" [ "$(failed_after "$T_BACK" "$T_D")" = 0 ]

# --- E: overload (slow probe) ------------------------------------------------------------
slow_probe 3 on
expect_health "E: overloaded $B3 stopped heartbeating and was excluded" $B3 warning 15
T_OVER=$REACHED
more_requests 30
T_E=$(now)
check "E: no new flow to the overloaded $B3 ($(total_after "$T_OVER" "$T_E") requests)" \
  [ "$(served_by_after 3 "$T_OVER" "$T_E")" = 0 ]
check "E: no request failed" [ "$(failed_after "$T_OVER" "$T_E")" = 0 ]
slow_probe 3 off
expect_health "E: $B3 returns when the load falls" $B3 ok 15
T_REC=$REACHED
more_requests 30
check "E: $B3 takes traffic again" [ "$(served_by_after 3 "$T_REC")" -gt 0 ]

# --- F: lbdp restarts -------------------------------------------------------------------
nginx_stop 1
wait_health "$SOCK" $B1 dead 15 > /dev/null || fail "F: $B1 dead before the lbdp restart"
# Four downloads (4 MB at 1 MB/s) are open across the restart: the new lbdp has an empty
# flow table, so what happens to them is counted, not asserted (docs/controlplane.md).
# A download that stalls for 3 s is given up.
DL_F=()
for d in 1 2 3 4; do
  ns client curl -s -o /dev/null --limit-rate 1M --speed-limit 1 --speed-time 3 --max-time 20 \
    -w "%{size_download}\n" "${URL}big.bin" > "$TOPO_DIR/dl-f$d" 2>/dev/null &
  DL_F+=($!)
done
more_requests 10
for i in $(seq 1 100); do [ "$(mail_count "$B1" dead)" -ge 1 ] && break; sleep 0.1; done
check "F: the mail about $B1 went out before the restart" [ "$(mail_count "$B1" dead)" -ge 1 ]
T_F0=$(now)
LOG_F0=$(wc -l < "$TOPO_DIR/lbcp.log")
MAILS_F0=$(mail_count "")
kill -KILL "$LBDP_PID"; wait "$LBDP_PID" 2>/dev/null || true; LBDP_PID=
lbdp_start "$TOPO_DIR/lbdp.toml" 1 nat
wait_for_vip "$URL" 30
T_UP=$(now)
expect_health "F: lbcp re-attached and re-pushed: $B1 dead in the new lbdp, after it answered" $B1 dead 10
T_PUSHED=$REACHED
for b in $B2 $B3; do check "F: $b ok in the new lbdp" health_is $b ok; done
more_requests 40
T_F1=$(now)
check "F: no flow to the dead $B1 after the re-push" [ "$(served_by_after 1 "$T_PUSHED" "$T_F1")" = 0 ]
check "F: no request failed after the re-push" [ "$(failed_after "$T_PUSHED" "$T_F1")" = 0 ]
lost=$(failed_after "$T_F0" "$T_UP")
gap=$(awk -v a="$T_F0" -v b="$T_UP" 'BEGIN {printf "%.1f", b - a}')
note "lbdp restart: down ${gap} s, $lost requests failed while it was down, $(failed_after "$T_UP" "$T_PUSHED") between restart and re-push"
for pid in "${DL_F[@]}"; do wait "$pid" || true; done
survived=$(cat "$TOPO_DIR"/dl-f? | grep -c '^4000000$' || true)
note "established connections across the lbdp restart (nat, rr): $survived of 4 downloads completed"

check "F: lbcp re-attached to the new lbdp's segment" attached_since "$LOG_F0"
flaps=$(tail -n "+$((LOG_F0 + 1))" "$TOPO_DIR/lbcp.log" | grep -c -E "198\.18\.1\.1[23].*(warning|dead)" || true)
check "F: the healthy backends did not flap while lbdp was away" [ "$flaps" = 0 ]
check "F: no mail went out because lbdp restarted" [ "$(mail_count "")" = "$MAILS_F0" ]
grep -h "^Subject:" "$MAIL_DIR"/new/* 2>/dev/null | sed 's/^/      mail: /' || true

touch "$TOPO_DIR/stop-curls"
DONE=1
