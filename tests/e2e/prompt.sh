#!/usr/bin/env bash
# The interactive prompt (lbdp -i) on a pseudo-terminal, without namespaces: lbdp runs
# with one net_null port (nothing received), no command socket, and prompt.exp types
# at it (help, Tab completion, show vip, invalid commands, quit).
#
#   tests/e2e/prompt.sh
#
# Needs root (DPDK) and expect: without them, exits 77 (meson: skipped), unless CI=true,
# where that is a failure. LBDP overrides the binary (meson sets it).
set -euo pipefail

NAME="cli prompt"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$(id -u)" = 0 ] || cannot_run "needs root (DPDK)"
command -v expect >/dev/null || cannot_run "'expect' is not installed"

HERE=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LBDP=${LBDP:-$HERE/../../build/dataplane/lbdp}
[ -x "$LBDP" ] || { echo "$NAME: FAIL: lbdp binary $LBDP not found (build first)"; exit 1; }

PREFIX=prompt$$
DIR=$(mktemp -d /tmp/lbprompt.XXXXXX)
# shellcheck disable=SC2317  # the EXIT trap runs it
cleanup() {
  rm -rf "$DIR" "/var/run/dpdk/$PREFIX"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$DIR/lbdp.toml" <<'CONF'
[dataplane]
flows_per_worker = 4096
mbufs = 2047

[[port]]
name = "arm"
device = "net_null0"
role = "both"
address = "198.18.1.1/24"

[[neighbour]]
address = "198.18.1.11"
mac = "02:00:00:00:01:0b"

[[vip]]
address = "198.18.0.100"
port = 80
mode = "nat"
scheduler = "rr"

[[vip.backend]]
address = "198.18.1.11"
port = 80
CONF

SECONDS=0
rc=0
expect "$HERE/prompt.exp" "$LBDP" "$DIR/lbdp.toml" "$PREFIX" || rc=$?
echo "$NAME: $SECONDS s"
exit "$rc"
