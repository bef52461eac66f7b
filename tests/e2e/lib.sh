# Shared by the e2e scripts. Source it after setting NAME.
#
# cannot_run REASON: a test that cannot run here is skipped (exit 77, meson's skip) with
# the reason, except under CI=true, where every tier must run, so it fails (exit 1).
cannot_run() {
  if [ "${CI:-}" = true ]; then
    echo "$NAME: FAIL: $* (CI=true: the e2e tier must run)"
    exit 1
  fi
  echo "$NAME: SKIP: $*"
  exit 77
}

# Result lines: pass/fail count into PASSED/FAILED; check DESCRIPTION COMMAND... runs
# the command and reports one line.
PASSED=0
FAILED=0
pass() { echo "PASS: $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
check() {
  local desc=$1
  shift
  if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# The test's own deadline, E2E_DEADLINE_S seconds from here when set (meson.build sets it
# below meson's timeout): once it passes, the test gets SIGTERM, and its trap cleans up
# and fails it. Meson's timeout leaves a test half a second between its SIGTERM and
# SIGKILL, too little to stop daemons and remove namespaces, which then stayed behind.
DEADLINE_PID=
if [ -n "${E2E_DEADLINE_S:-}" ]; then
  (
    end=$(($(date +%s) + E2E_DEADLINE_S))
    while kill -0 $$ 2>/dev/null; do
      if [ "$(date +%s)" -ge "$end" ]; then
        echo "$NAME: FAIL: still running after its own deadline of $E2E_DEADLINE_S s: stopping it"
        kill -TERM $$
        exit 0
      fi
      sleep 1
    done
  ) &
  DEADLINE_PID=$!
fi

# The end of every e2e test's exit trap, after its own clean-up (topo_down): checks that
# no namespace of the test's prefix $P is left, prints the time since $T0 and the
# counts, and exits 1 if any check failed.
finish_report() {
  local left
  [ -n "$DEADLINE_PID" ] && kill "$DEADLINE_PID" 2>/dev/null
  left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P-" | tr '\n' ' ')
  check "cleanup: no $P-* namespace left${left:+ (left: $left)}" [ -z "$left" ]
  echo "$NAME: $((SECONDS - T0)) s"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ] || exit 1
  exit 0
}
