#!/usr/bin/env bash
# End-to-end test tier: lbdp forwarding real HTTP traffic in network namespaces
# (scripts/lib/topology.sh) in front of three nginx backends.
#
#   tests/e2e/e2e.sh CASE [WORKERS]
#     CASE: nat | fullnat | dsr   scheduler rr, weights 1 1 1
#           wrr                   nat, scheduler wrr, weights 1 2 3
#           lc                    nat, scheduler lc
#           maglev                nat, scheduler maglev
#     WORKERS: worker lcores (default 1)
#
# Prints one line per check (PASS:/FAIL:) and ends with "N passed, M failed"; exits
# non-zero if any check failed. Needs root: without it, exits 77 (meson: skipped),
# unless CI=true, where that is a failure. LBDP overrides the binary (meson sets it).
# Namespaces are named lbe-<case><workers>-*; they and every process in them are
# removed on exit, also on failure.
set -euo pipefail

CASE=${1:-}
WORKERS=${2:-1}
WEIGHTS="1 1 1"
case $CASE in
  nat | fullnat | dsr) MODE=$CASE SCHED=rr ;;
  wrr) MODE=nat SCHED=wrr WEIGHTS="1 2 3" ;;
  lc) MODE=nat SCHED=lc ;;
  maglev) MODE=nat SCHED=maglev ;;
  *)
    echo "usage: $0 nat|fullnat|dsr|wrr|lc|maglev [WORKERS]" >&2
    exit 2
    ;;
esac
[[ $WORKERS =~ ^[1-9]$ ]] || { echo "e2e: WORKERS must be 1..9" >&2; exit 2; }
NAME="e2e $CASE/$WORKERS"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$(id -u)" = 0 ] || cannot_run "needs root (network namespaces, DPDK af_packet)"
for tool in ip curl wrk nginx perl sha256sum xargs awk; do
  command -v "$tool" >/dev/null || cannot_run "'$tool' is not installed"
done

# Short prefix: veth names "$P-tmpa" must fit in 15 characters.
short=$CASE
[ "$CASE" = fullnat ] && short=fn
[ "$CASE" = maglev ] && short=mg
export LBT_PREFIX="lbe-$short$WORKERS"
REPO_ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export REPO_ROOT
# shellcheck source=../../scripts/lib/topology.sh
. "$REPO_ROOT/scripts/lib/topology.sh"
[ -x "$LBDP" ] || { echo "$NAME: FAIL: lbdp binary $LBDP not found (build first)"; exit 1; }

DONE=0
T0=$SECONDS

exec 3>&1 4>&2  # the test's stdout/stderr, for on_exit
on_exit() {
  local rc=$?
  set +e
  # A signal can land inside a function whose output is redirected to a file.
  exec 1>&3 2>&4
  if [ "$DONE" != 1 ]; then
    fail "test aborted before completing (exit status $rc at the command above)"
  fi
  if [ "$FAILED" != 0 ] && [ -s "$TOPO_DIR/lbdp.out" ]; then
    echo "--- $TOPO_DIR/lbdp.out:"
    sed 's/^/  | /' "$TOPO_DIR/lbdp.out"
  fi
  topo_down
  finish_report
}
trap on_exit EXIT  # on_exit runs topo_down
trap 'exit 130' INT TERM

same_backend() { [ "$1" = "$2" ] && [[ $2 =~ ^backend\ [1-3]$ ]]; }
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

echo "$NAME: mode $MODE, scheduler $SCHED, weights $WEIGHTS, $WORKERS worker(s), namespaces $P-*"
topo_up "$MODE"
lbdp_config "$MODE" "$SCHED" "$WEIGHTS" > "$TOPO_DIR/lbdp.toml"
lbdp_start "$TOPO_DIR/lbdp.toml" "$WORKERS" "$MODE"
vip=$VIP
[ "$MODE" = dsr ] && vip=$VIP_DSR
URL="http://$vip/"
wait_for_vip "$URL"
pass "lbdp up, VIP $URL answers ($((SECONDS - T0)) s)"
CONNECTIONS=0  # connections this test made (lower bound), for the flow counters

# --- sequential requests, one connection each --------------------------------------
REQUESTS=300
[ "$SCHED" = wrr ] && REQUESTS=600
# One process in the client namespace runs the loop (ip netns exec per request is slow).
# shellcheck disable=SC2016
ns client bash -c 'for _ in $(seq 1 "$1"); do curl -s --max-time 3 "$2" || echo FAIL; done' _ \
  "$REQUESTS" "$URL" > "$TOPO_DIR/answers"
ok=$(grep -cx 'backend [1-3]' "$TOPO_DIR/answers" || true)
failed=$((REQUESTS - ok))
CONNECTIONS=$((CONNECTIONS + ok))
check "sequential: $ok/$REQUESTS requests answered, $failed failed" [ "$failed" = 0 ]
counts=()
for b in 1 2 3; do counts+=("$(grep -cx "backend $b" "$TOPO_DIR/answers" || true)"); done
echo "      per backend: ${counts[*]}"
case $SCHED in
  rr | wrr)
    # Each backend's share within 5% (relative) of weight/total.
    read -ra w <<< "$WEIGHTS"
    wsum=$((w[0] + w[1] + w[2]))
    for i in 0 1 2; do
      expect=$((REQUESTS * w[i] / wsum))
      lo=$(((expect * 95 + 99) / 100))
      hi=$((expect * 105 / 100))
      check "$SCHED share: backend $((i + 1)) got ${counts[i]} of $REQUESTS (expected $expect, allowed $lo..$hi)" \
        between "${counts[i]}" "$lo" "$hi"
    done
    ;;
  lc)
    for i in 0 1 2; do
      check "lc spread: backend $((i + 1)) got ${counts[i]} of $REQUESTS (needs > 0 and <= 40%)" \
        between "${counts[i]}" 1 $((REQUESTS * 40 / 100))
    done
    ;;
  maglev)
    for i in 0 1 2; do
      check "maglev spread: backend $((i + 1)) got ${counts[i]} of $REQUESTS (needs > 0)" [ "${counts[i]}" -gt 0 ]
    done
    # The same client port must map to the same backend. Without TIME_WAIT on the
    # client (it closes first), a fixed local port can be bound again at once.
    ns client sysctl -qw net.ipv4.tcp_max_tw_buckets=0
    declare -A first
    for round in 1 2; do
      for port in 20001 20002 20003 20004 20005 20006; do
        a=$(ns client curl -s --max-time 3 --local-port "$port" "$URL" || echo FAIL)
        [ "$a" = FAIL ] || CONNECTIONS=$((CONNECTIONS + 1))
        if [ "$round" = 1 ]; then
          first[$port]=$a
        else
          f=${first[$port]}
          check "maglev affinity: client port $port -> '$f', then '$a'" same_backend "$f" "$a"
        fi
      done
    done
    ;;
esac

# --- concurrent load -----------------------------------------------------------------
ns client wrk -t2 -c32 -d3s --timeout 2s "$URL" > "$TOPO_DIR/wrk.out" 2>&1 || true
wrk_requests=$(awk '/ requests in / {print $1; exit}' "$TOPO_DIR/wrk.out")
wrk_errors=$(grep -E 'Socket errors:|Non-2xx or 3xx responses:' "$TOPO_DIR/wrk.out" | tr -s ' \n' ' ' || true)
CONNECTIONS=$((CONNECTIONS + 32))
check "wrk -c32 -d3s: ${wrk_requests:-no} requests" [ "${wrk_requests:-0}" -gt 0 ]
check "wrk: no socket errors, no non-2xx responses${wrk_errors:+ ($wrk_errors)}" [ -z "$wrk_errors" ]

# A slow download (long-lived connection) runs while 8 parallel curl streams open and
# close 200 connections and one curl makes 20 requests over one keep-alive connection.
# curl 7.88 does not hold --limit-rate reliably (a 4 MB download over loopback often
# takes 0.1 s), so a reader taking 128 KiB every 1/16 s also paces it to 2 MiB/s
# through TCP back-pressure: the connection lives about 2 s.
# shellcheck disable=SC2016
slow_reader='binmode STDIN; binmode STDOUT; while (read(STDIN, $b, 131072)) { print $b; select(undef, undef, undef, 0.0625) }'
# shellcheck disable=SC2016
ns client bash -c 'set -o pipefail; curl -s --max-time 20 --limit-rate 2M -D "$1" \
    -w "%{stderr}%{http_code} %{size_download} %{time_total}" "$2" | perl -e "$3" > "$4"' _ \
  "$TOPO_DIR/big.hdr" "${URL}big.bin" "$slow_reader" "$TOPO_DIR/big.dl" 2> "$TOPO_DIR/big.w" &
big_pid=$!

# shellcheck disable=SC2016
seq 1 200 | ns client xargs -P 8 -n 1 sh -c 'curl -s --max-time 5 -o /dev/null -w "%{http_code}\n" "$0" || echo FAIL' \
  "$URL" > "$TOPO_DIR/parallel" || true
par_ok=$(grep -cx 200 "$TOPO_DIR/parallel" || true)
CONNECTIONS=$((CONNECTIONS + par_ok))
check "parallel: $par_ok/200 requests (8 streams) answered 200" [ "$par_ok" = 200 ]

urls=()
for _ in $(seq 1 20); do urls+=("$URL"); done
ns client curl -s --max-time 10 -D - -w 'connects=%{num_connects}\n' "${urls[@]}" | tr -d '\r' \
  > "$TOPO_DIR/keepalive" || true
ka_headers=$(grep -ic '^x-backend:' "$TOPO_DIR/keepalive" || true)
ka_distinct=$(grep -i '^x-backend:' "$TOPO_DIR/keepalive" | awk '{print $2}' | sort -u | tr '\n' ' ' || true)
ka_distinct=${ka_distinct% }
ka_ndistinct=$(echo "$ka_distinct" | wc -w)
ka_connects=$(awk -F= '/^connects=/ {n += $2} END {print n + 0}' "$TOPO_DIR/keepalive")
CONNECTIONS=$((CONNECTIONS + ka_connects))
check "keep-alive: 20 responses carry X-Backend ($ka_headers seen), all the same (${ka_distinct:-none})" \
  [ "$ka_headers:$ka_ndistinct" = 20:1 ]
check "keep-alive: 20 requests over $ka_connects connection(s), expected 1" [ "$ka_connects" = 1 ]

wait "$big_pid" || true
read -r big_code big_size big_time < "$TOPO_DIR/big.w" || true
big_be=$(awk 'tolower($1) == "x-backend:" {print $2}' "$TOPO_DIR/big.hdr" 2>/dev/null | tr -d '\r' || true)
[ "${big_code:-}" = 200 ] && CONNECTIONS=$((CONNECTIONS + 1))
big_sum=$(sha256sum < "$TOPO_DIR/big.dl" 2>/dev/null | awk '{print $1}' || true)
want_sum=
[[ ${big_be:-} =~ ^[1-3]$ ]] && want_sum=$(sha256sum < "$TOPO_DIR/be$big_be/www/big.bin" | awk '{print $1}')
check "slow download: HTTP ${big_code:-none}, ${big_size:-0} bytes in ${big_time:-?} s from backend ${big_be:-?}" \
  [ "${big_code:-}:${big_size:-}" = 200:4000000 ]
check "slow download: connection lived ${big_time:-?} s (needs >= 1.5 s)" \
  awk -v t="${big_time:-0}" 'BEGIN {exit !(t >= 1.5)}'
check "slow download: sha256 ${big_sum:0:16}... equals backend ${big_be:-?}'s big.bin" \
  [ "$big_sum" = "${want_sum:-no file}" ]

# --- lbdp's statistics -------------------------------------------------------------------
alive=0
kill -0 "$LBDP_PID" 2>/dev/null && alive=1
check "lbdp still running after the traffic" [ "$alive" = 1 ]
lbdp_stop
OUT=$TOPO_DIR/lbdp.out
check "lbdp printed its statistics at exit" grep -q '^--- lbdp statistics ---' "$OUT"
grep -E '^(port|lcore|drop|backend) ' "$OUT" | sed 's/^/      /' || true
malformed=$(grep -E '^drop (truncated_l2|truncated_l3|bad_ip_header|bad_ip_checksum|truncated_l4|bad_tcp_header) ' \
  "$OUT" | tr '\n' ' ' || true)
check "stats: no malformed-packet drops${malformed:+ ($malformed)}" [ -z "$malformed" ]
for reason in no_backend flow_table_full handoff_full tx_full; do
  line=$(grep -E "^drop $reason " "$OUT" || true)
  check "stats: no 'drop $reason'${line:+ ($line)}" [ -z "$line" ]
done
flows=$(awk '/^backend / {for (i = 1; i <= NF; i++) if ($i ~ /^flows=/) {sub("flows=", "", $i); n += $i}} END {print n + 0}' "$OUT")
check "stats: backend flows=$flows >= $CONNECTIONS connections made" [ "$flows" -ge "$CONNECTIONS" ]
if [ "$WORKERS" -gt 1 ]; then
  for w in $(seq 0 $((WORKERS - 1))); do
    created=$(awk -v w="$w" '$1 == "lcore" && $2 == w {for (i = 3; i <= NF; i++) if ($i ~ /^created=/) {sub("created=", "", $i); print $i}}' "$OUT")
    check "stats: lcore $w created ${created:-no} flows" [ "${created:-0}" -gt 0 ]
  done
fi

DONE=1
