#!/usr/bin/env bash
# CTest driver for the procmon CLI.
#   test_cli.sh run   PROCMON   supervise real commands, stop with SIGINT, check output
#   test_cli.sh usage PROCMON   usage errors exit 2; --help / --version exit 0
# Synchronisation is by polling the output with a deadline, never by a bare sleep.
set -u

mode=${1:?mode}
procmon=${2:?path to the procmon executable}

tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

show_logs() {
  echo "----- stdout -----" >&2; cat -v "$tmp/out" >&2
  echo "----- stderr -----" >&2; cat -v "$tmp/err" >&2
  echo "------------------" >&2
}

# wait_for FILE EXTENDED-REGEX [SECONDS]: poll until a line matches, or give up.
wait_for() {
  local file=$1 re=$2 limit=${3:-10} i
  for ((i = 0; i < limit * 20; i++)); do
    if grep -aqE -- "$re" "$file" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# expect_exit CODE DESCRIPTION -- ARGS...: run procmon, check the exit code.
expect_exit() {
  local want=$1 what=$2 rc
  shift 3
  "$procmon" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  if [ "$rc" -eq "$want" ]; then pass "$what (exit $rc)"; else
    fail "$what: exit $rc, want $want"; show_logs; fi
}

run_test() {
  # p1: a line then a clean exit (restarted after the tiny backoff);
  # err: a stderr line and exit 3; nul: a line with a NUL byte in it;
  # term: `exec sleep` so the child itself gets TERM at the stop.
  "$procmon" --threshold 0.2 --minrestartdelay 0.1 --maxrestartdelay 0.2 --killtime 2 \
    'echo hello; exit 0' \
    'err=echo oops >&2; exit 3' \
    'nul=printf "a\000b\n"; exit 0' \
    'term=exec sleep 30' \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!

  wait_for "$tmp/out" '^\[p1\] hello$' || fail "no '[p1] hello' line"
  wait_for "$tmp/out" '^\[err:stderr\] oops$' || fail "no '[err:stderr] oops' line"
  wait_for "$tmp/err" '^procmon: \[term\] started pid [0-9]+$' || fail "no started event for term"
  wait_for "$tmp/err" '^procmon: \[p1\] exited with code 0 ' || fail "no exit event for p1"
  wait_for "$tmp/err" '^procmon: \[err\] exited with code 3 ' || fail "no exit event for err"
  wait_for "$tmp/err" '^procmon: \[p1\] restarting in ' || fail "no restart event for p1"
  wait_for "$tmp/out" '^\[nul\] a' || fail "no '[nul] a...' line"
  # p1 restarted and ran again: at least two hello lines.
  local i
  for ((i = 0; i < 200; i++)); do
    [ "$(grep -c '^\[p1\] hello$' "$tmp/out")" -ge 2 ] && break
    sleep 0.05
  done
  [ "$(grep -c '^\[p1\] hello$' "$tmp/out")" -ge 2 ] || fail "p1 was not restarted"

  local sleeper
  sleeper=$(sed -n 's/^procmon: \[term\] started pid \([0-9]*\)$/\1/p' "$tmp/err" | tail -n 1)

  kill -INT "$pid"
  # Wait with a deadline: the stop takes at most the kill time (2 s) plus a little.
  local rc=
  for ((i = 0; i < 200; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "procmon still running 10 s after SIGINT"
    kill -KILL "$pid"
  fi
  wait "$pid"
  rc=$?
  pid=

  [ "$rc" -eq 0 ] && pass "exit code 0 after SIGINT" || fail "exit code $rc after SIGINT, want 0"
  grep -qx '\[p1\] hello' "$tmp/out" && pass "[p1] hello printed" || fail "no '[p1] hello'"
  grep -qx '\[err:stderr\] oops' "$tmp/out" && pass "stderr line tagged" || fail "no '[err:stderr] oops'"
  tr '\000' '@' <"$tmp/out" | grep -qx '\[nul\] a@b' && pass "NUL byte passed through" ||
    fail "no '[nul] a<NUL>b' line"
  grep -qE '^procmon: \[p1\] started pid [0-9]+$' "$tmp/err" && pass "started event printed" ||
    fail "no started event for p1"
  grep -qE '^procmon: stopping' "$tmp/err" && pass "'procmon: stopping' printed" ||
    fail "no 'procmon: stopping'"
  grep -qE '^procmon: \[term\] killed by signal 15 ' "$tmp/err" && pass "term child got SIGTERM" ||
    fail "no 'killed by signal 15' for term"
  if [ -n "$sleeper" ] && kill -0 "$sleeper" 2>/dev/null; then
    fail "child pid $sleeper still alive after procmon exited"
    kill -KILL "$sleeper" 2>/dev/null
  else
    pass "no child left behind"
  fi
  [ "$failures" -eq 0 ] || show_logs
}

usage_test() {
  expect_exit 2 "no command" --
  grep -q 'no command' "$tmp/err" || fail "no 'no command' message"
  expect_exit 2 "options but no command" -- --killtime 1
  expect_exit 2 "unknown option" -- --bogus 'true'
  expect_exit 2 "missing option value" -- --threshold
  expect_exit 2 "not a number" -- --threshold abc 'true'
  expect_exit 2 "trailing junk" -- --killtime 1s 'true'
  expect_exit 2 "negative value (library refuses)" -- --threshold -1 'true'
  grep -q -- '--threshold -1' "$tmp/err" || { fail "no message naming --threshold -1"; show_logs; }
  expect_exit 2 "NaN (library refuses)" -- --maxrestartdelay nan 'true'
  expect_exit 2 "empty command" -- ''
  expect_exit 2 "duplicate name" -- 'a=true' 'a=false'
  expect_exit 0 "--help" -- --help
  grep -q '^Usage: ' "$tmp/out" || fail "--help printed no usage"
  expect_exit 0 "--version" -- --version
  grep -qE '^procmon \(libprocmon [^)]+\)$' "$tmp/out" || fail "--version printed no version"
}

case "$mode" in
run) run_test ;;
usage) usage_test ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)" >&2; exit 1; fi
echo "all passed"
