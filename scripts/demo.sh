#!/usr/bin/env bash
# Demo of the procmon CLI: builds everything, then supervises three real processes
# for about 8 seconds and stops them with SIGINT:
#   chatty   prints a numbered line every 0.3 s
#   crasher  prints a line and exits 3 at once: restarted with a doubling delay
#            0.25 s, 0.5 s, 1 s, 2 s, 2 s, ... (--threshold 1, --maxrestartdelay 2)
#   stubborn ignores TERM, so the stop sends it KILL after --killtime 1.5
#   setup    a one-shot job after --restart on-failure: it exits 0 (a success)
#            and is not restarted, while the three before the flag still are
# Then checks that procmon exited 0 and that no demo process is left.
# On a fresh machine it first installs what the build lacks (scripts/setup.sh build:
# the C toolchain, CMake, make, pkg-config; a no-op when they are there).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" build
"$root/scripts/build.sh"

procmon="$root/build/cli/procmon"
run_seconds=${DEMO_SECONDS:-8}
marker="procmon-demo-$$-$RANDOM"   # in every command line, for pgrep -f
log=$(mktemp)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  local stray
  stray=$(pgrep -f -- "$marker" || true)
  [ -z "$stray" ] || kill -KILL $stray 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

echo
echo "=== demo: procmon supervising chatty, crasher, stubborn and the one-shot setup for ${run_seconds}s, then SIGINT ==="
echo

# stdout and stderr share one file description, so lines and events stay in order.
"$procmon" --threshold 1 --minrestartdelay 0.25 --maxrestartdelay 2 --killtime 1.5 \
  "chatty=: $marker; i=0; while :; do i=\$((i+1)); echo \"tick \$i\"; sleep 0.3; done" \
  "crasher=: $marker; echo 'crasher: up, exiting with code 3'; exit 3" \
  "stubborn=: $marker; trap '' TERM; echo 'stubborn: ignoring TERM'; while :; do sleep 0.2; done" \
  --restart on-failure "setup=: $marker; echo 'setup: one-shot job, done'; exit 0" \
  >"$log" 2>&1 </dev/null &
pid=$!
tail -n +1 -s 0.1 -f --pid="$pid" "$log" &
tailpid=$!

sleep "$run_seconds" # the demo's running time, not a synchronisation
echo ">>> demo: sending SIGINT to procmon (pid $pid)"
stop_start=$(date +%s.%N)
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
pid=
stop_end=$(date +%s.%N)
wait "$tailpid" 2>/dev/null || true

# What is left: any process whose command line holds the marker (the supervised shells).
left=$(pgrep -f -- "$marker" || true)

ticks=$(grep -c '^\[chatty\] tick ' "$log" || true)
crashes=$(grep -c '^procmon: \[crasher\] exited with code 3 ' "$log" || true)
delays=$(sed -n 's/^procmon: \[crasher\] restarting in \(.*\)$/\1/p' "$log" | tr '\n' ' ')
killed=$(grep -c '^procmon: \[stubborn\] sent KILL to pid' "$log" || true)
setups=$(grep -c '^\[setup\] setup: one-shot job, done$' "$log" || true)
stop_time=$(awk -v a="$stop_start" -v b="$stop_end" 'BEGIN { printf "%.1f", b - a }')

echo
problems=()
[ "$rc" -eq 0 ] || problems+=("procmon exited with $rc")
[ -z "$left" ] || problems+=("processes left behind: $(echo $left)")
[ "$ticks" -gt 0 ] || problems+=("chatty printed nothing")
[ "$crashes" -ge 3 ] || problems+=("crasher was not restarted with backoff")
[ "$killed" -ge 1 ] || problems+=("stubborn was not KILLed")
[ "$setups" -eq 1 ] || problems+=("setup (--restart on-failure, exit 0) ran $setups times, want once")

if [ "${#problems[@]}" -eq 0 ]; then
  echo "demo OK: procmon exited 0 ${stop_time}s after SIGINT; chatty printed $ticks lines;" \
    "crasher exited $crashes times (restart delays: ${delays% }); stubborn was KILLed;" \
    "setup ran once (--restart on-failure); no demo process left."
else
  echo "demo FAILED: $(IFS=';'; echo "${problems[*]}")" >&2
  exit 1
fi
