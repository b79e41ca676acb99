#!/usr/bin/env bash
# CTest driver for the procmon CLI.
#   test_cli.sh run   PROCMON   supervise real commands, stop with SIGINT, check output
#   test_cli.sh usage PROCMON   usage errors exit 2; --help / --version exit 0
#   test_cli.sh procfile PROCMON         a three-entry Procfile runs all three
#   test_cli.sh procfile-errors PROCMON  each bad Procfile: exit 2, file:line named
#   test_cli.sh output PROCMON           --timestamps; colours only on a terminal
#   test_cli.sh man PROCMON PAGE         procmon.1 documents every option of --help
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

# stop_procmon: SIGINT to $pid, wait (deadline 10 s), check exit 0.
stop_procmon() {
  local i rc
  kill -INT "$pid"
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
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
}

procfile_test() {
  # Comments (also indented), blank lines, a CRLF line, blanks around the
  # command, a colon inside a command, and a positional command beside it.
  printf '%s\n' \
    '# the processes of the test' \
    '' \
    'web: echo "web up"; exec sleep 30' \
    '  # an indented comment' \
    $'worker_1:   echo "worker $((40 + 2))"; exec sleep 30   \r' \
    '' \
    'clock-2:echo "tick: 1"; exec sleep 30' >"$tmp/Procfile"
  "$procmon" --killtime 2 --procfile "$tmp/Procfile" 'extra=echo positional; exec sleep 30' \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!
  wait_for "$tmp/out" '^\[web\] web up$' || fail "no '[web] web up' line"
  wait_for "$tmp/out" '^\[worker_1\] worker 42$' || fail "no '[worker_1] worker 42' line"
  wait_for "$tmp/out" '^\[clock-2\] tick: 1$' || fail "no '[clock-2] tick: 1' line"
  wait_for "$tmp/out" '^\[extra\] positional$' || fail "no '[extra] positional' line"
  grep -q '^procmon: monitoring 4 processes ' "$tmp/err" && pass "4 processes monitored" ||
    fail "no 'monitoring 4 processes'"
  stop_procmon
  local name
  for name in web worker_1 clock-2 extra; do
    grep -qE "^procmon: \[$name\] started pid [0-9]+$" "$tmp/err" && pass "$name started" ||
      fail "no started event for $name"
    grep -qE "^procmon: \[$name\] killed by signal 15 " "$tmp/err" && pass "$name stopped by TERM" ||
      fail "$name not stopped by TERM"
  done
  if grep -q $'\033' "$tmp/out" "$tmp/err"; then fail "colour codes in piped output"; fi
  [ "$failures" -eq 0 ] || show_logs
}

# bad_procfile DESCRIPTION LINE-NUMBER MESSAGE-REGEX CONTENT: exit 2, and a message
# "procmon: FILE:LINE: ..." on stderr, nothing started.
bad_procfile() {
  local what=$1 line=$2 re=$3
  printf '%b' "$4" >"$tmp/Procfile"
  expect_exit 2 "$what" -- --procfile "$tmp/Procfile" 'ok=true'
  if grep -qE -- "^procmon: $tmp/Procfile:$line: $re" "$tmp/err"; then
    pass "$what: line $line named"
  else
    fail "$what: no 'procmon: $tmp/Procfile:$line: $re' on stderr"; show_logs
  fi
  if grep -q 'started pid' "$tmp/err"; then fail "$what: a process was started"; fi
}

procfile_errors_test() {
  bad_procfile "missing colon" 3 "no ':' in the line" 'web: true\n# fine\nworker true\n'
  bad_procfile "empty command" 2 "empty command for 'worker'" 'web: true\nworker:   \n'
  bad_procfile "duplicate name" 4 "duplicate process name 'web' \\(first defined by line 1 " \
    'web: true\nworker: true\n\nweb: false\n'
  bad_procfile "name with a space" 1 "'my web' is not a valid process name" 'my web: true\n'
  bad_procfile "name with a dot" 2 "'web.1' is not a valid process name" '# x\nweb.1: true\n'
  bad_procfile "no name" 1 "no process name before ':'" ': true\n'
  printf 'ok: true\n' >"$tmp/Procfile"
  expect_exit 2 "duplicate of a positional name" -- --procfile "$tmp/Procfile" 'ok=true'
  grep -q "duplicate process name 'ok'" "$tmp/err" || { fail "no duplicate message"; show_logs; }
  printf '# nothing\n\n' >"$tmp/Procfile"
  expect_exit 2 "a Procfile with no process" -- --procfile "$tmp/Procfile"
  grep -q "defines no process" "$tmp/err" || { fail "no 'defines no process'"; show_logs; }
  expect_exit 2 "a missing Procfile" -- --procfile "$tmp/nope"
  grep -q "cannot read '$tmp/nope'" "$tmp/err" || { fail "no 'cannot read'"; show_logs; }
  expect_exit 2 "--procfile without a file" -- --procfile
}

output_test() {
  # --timestamps: every line of stdout and stderr starts with HH:MM:SS.
  "$procmon" --timestamps 'echo hello; exec sleep 30' 'e=echo oops >&2; exec sleep 30' \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!
  local ts='[0-2][0-9]:[0-5][0-9]:[0-6][0-9]'
  wait_for "$tmp/out" "^$ts \\[p1\\] hello\$" || fail "no 'HH:MM:SS [p1] hello' line"
  wait_for "$tmp/out" "^$ts \\[e:stderr\\] oops\$" || fail "no 'HH:MM:SS [e:stderr] oops' line"
  wait_for "$tmp/err" "^$ts procmon: \\[p1\\] started pid [0-9]+\$" || fail "no timestamped event"
  stop_procmon
  if grep -vqE "^$ts " "$tmp/out" "$tmp/err"; then fail "a line without a timestamp"; else
    pass "--timestamps: every line starts with HH:MM:SS"; fi
  # The time is the local time: within a minute of date's.
  local first now
  first=$(head -c 8 "$tmp/out")
  now=$(date +%T)
  local a b
  a=$((10#${first:0:2} * 3600 + 10#${first:3:2} * 60 + 10#${first:6:2}))
  b=$((10#${now:0:2} * 3600 + 10#${now:3:2} * 60 + 10#${now:6:2}))
  (( (b - a + 86400) % 86400 < 60 )) && pass "timestamps are the local time ($first, now $now)" ||
    fail "timestamp $first is not the local time (now $now)"
  if grep -q $'\033' "$tmp/out" "$tmp/err"; then fail "colour codes in piped output"; else
    pass "no colour when piped"; fi
  [ "$failures" -eq 0 ] || show_logs

  # A terminal: util-linux's script(1) gives procmon one for stdout and stderr.
  if ! command -v script >/dev/null; then
    echo "skip: no script(1) (util-linux): colour on a terminal not checked"
    return
  fi
  tty_run() { # NO_COLOR-VALUE: runs procmon on a terminal until both lines are there
    local i
    : >"$tmp/tty"
    NO_COLOR=$1 script -qec "$procmon 'echo hello; exec sleep 30' 'b=echo world; exec sleep 30' &
      echo \$! >'$tmp/tty.pid'; wait" /dev/null >"$tmp/tty" 2>&1 </dev/null &
    local script_pid=$!
    for ((i = 0; i < 200; i++)); do
      [ -s "$tmp/tty.pid" ] && grep -aq 'world' "$tmp/tty" && grep -aq 'hello' "$tmp/tty" && break
      sleep 0.05
    done
    [ -s "$tmp/tty.pid" ] && kill -INT "$(cat "$tmp/tty.pid")" 2>/dev/null
    for ((i = 0; i < 200; i++)); do kill -0 "$script_pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$script_pid" 2>/dev/null
    wait "$script_pid" 2>/dev/null
    rm -f "$tmp/tty.pid"
    tr -d '\r' <"$tmp/tty" >"$tmp/tty.txt"
  }
  tty_run ""
  local esc=$'\033'
  if grep -aq "^$esc\[36m\[p1\]$esc\[0m hello$" "$tmp/tty.txt" &&
     grep -aq "^$esc\[33m\[b\]$esc\[0m world$" "$tmp/tty.txt"; then
    pass "on a terminal: a colour per name (cyan p1, yellow b)"
  else
    fail "no coloured names on a terminal"; cat -v "$tmp/tty.txt" >&2
  fi
  grep -aq "^procmon: $esc\[36m\[p1\]$esc\[0m started pid" "$tmp/tty.txt" &&
    pass "on a terminal: events coloured too" || { fail "no coloured event"; cat -v "$tmp/tty.txt" >&2; }
  tty_run 1
  if grep -aq '\[p1\] hello' "$tmp/tty.txt" && ! grep -aq "$esc" "$tmp/tty.txt"; then
    pass "NO_COLOR=1: no colour on a terminal"
  else
    fail "NO_COLOR=1 still coloured, or no output"; cat -v "$tmp/tty.txt" >&2
  fi
}

man_test() {
  local page=${1:?path to procmon.1} opt n=0
  [ -f "$page" ] || { fail "no manual page $page"; return; }
  # Every long option of --help is documented (as \-\-name in the roff source).
  "$procmon" --help >"$tmp/help"
  for opt in $(grep -oE '^  (-[a-zA-Z], )?--[a-z-]+' "$tmp/help" | grep -oE -- '--[a-z-]+'); do
    n=$((n + 1))
    if grep -qF -- "${opt//-/\\-}" "$page"; then pass "procmon.1 documents $opt"; else
      fail "procmon.1 does not document $opt"; fi
  done
  [ "$n" -ge 8 ] || fail "only $n options found in --help"
  grep -q '^\.TH PROCMON 1 ' "$page" && pass "procmon.1 is a section-1 page" || fail "no .TH PROCMON 1"
  # Renders without a warning where groff is installed.
  if command -v groff >/dev/null; then
    local warnings
    warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warnings" ] && pass "groff renders procmon.1 without a warning" ||
      fail "groff warns: $warnings"
  else
    echo "skip: no groff, procmon.1 not rendered"
  fi
}

case "$mode" in
run) run_test ;;
usage) usage_test ;;
procfile) procfile_test ;;
procfile-errors) procfile_errors_test ;;
output) output_test ;;
man) man_test "${3:-}" ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)" >&2; exit 1; fi
echo "all passed"
