#!/usr/bin/env bash
# Runs every test tier: unit (GoogleTest), pipeline (pcap in / pcap out through lbdp),
# end-to-end (real curl/wrk and nginx in network namespaces through a running lbdp).
# Installs what it needs first (scripts/setup.sh). As root on Debian 12.
#
#   scripts/test.sh                 all suites
#   scripts/test.sh --suite unit    one suite (any `meson test` arguments pass through)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
meson test -C build --print-errorlogs --num-processes 1 "$@" 2>&1 | tee "$log" || status=$?
ok=$(awk '/^Ok:/ {print $2}' "$log"); fail=$(awk '/^Fail:/ {print $2}' "$log")
skip=$(awk '/^Skipped:/ {print $2}' "$log"); timeout=$(awk '/^Timeout:/ {print $2}' "$log")
echo "tests: ${ok:-0} passed, $(( ${fail:-0} + ${timeout:-0} )) failed, ${skip:-0} skipped"
if [ "${CI:-}" = true ] && [ "${skip:-0}" != 0 ]; then
  echo "tests: under CI nothing may be skipped"; status=1
fi
exit $status
