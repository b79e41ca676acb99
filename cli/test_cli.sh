#!/usr/bin/env bash
# CTest driver for the procmon CLI.
#   test_cli.sh run   PROCMON   supervise real commands, stop with SIGINT, check output
#   test_cli.sh usage PROCMON   usage errors exit 2; --help / --version exit 0
#   test_cli.sh procfile PROCMON         a three-entry Procfile runs all three
#   test_cli.sh procfile-errors PROCMON  each bad Procfile: exit 2, file:line named
#   test_cli.sh output PROCMON           --timestamps; colours only on a terminal
#   test_cli.sh man PROCMON PAGE         procmon.1 documents every option of --help
#   test_cli.sh flags-restart PROCMON    --restart, --success-exit-codes, --start-limit,
#                                        each applying only to the commands after it
#   test_cli.sh flags-stop PROCMON       --stop-signal (names, SIG prefix, numbers), --killtime
#   test_cli.sh flags-env PROCMON        --env, --unset-env, --rlimit seen by the child
#   test_cli.sh flags-ready PROCMON      --ready fd:/line:/notify, --ready-timeout, --watchdog,
#                                        --after (start order, reverse stop order)
#   test_cli.sh flags-contain PROCMON    --contain none/group/auto: what a stop leaves
#   test_cli.sh flags-usage PROCMON      each flag's bad values: exit 2, the flag named;
#                                        --help lists every flag
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

# ------------------------------------------------------- per-process flags

# count FILE EXTENDED-REGEX: the number of matching lines.
count() { grep -acE -- "$2" "$1" 2>/dev/null || true; }

# wait_count FILE REGEX N [SECONDS]: poll until at least N lines match.
wait_count() {
  local file=$1 re=$2 n=$3 limit=${4:-10} i
  for ((i = 0; i < limit * 20; i++)); do
    [ "$(count "$file" "$re")" -ge "$n" ] && return 0
    sleep 0.05
  done
  return 1
}

# check DESCRIPTION COMMAND...: pass if the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# line_of FILE EXTENDED-REGEX: the number of the first matching line (0: none).
line_of() { local n; n=$(grep -anE -- "$2" "$1" | head -n 1 | cut -d: -f1); echo "${n:-0}"; }

# alive PID: the process exists and is not a zombie (an orphan that was killed
# stays a zombie until its new parent, often init, reaps it).
alive() {
  local state
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Processes a test made on purpose outside procmon's reach; killed at exit.
strays=()
kill_strays() {
  local p
  for p in "${strays[@]}"; do kill -KILL "$p" 2>/dev/null; done
  strays=()
}
trap 'kill_strays; cleanup' EXIT

flags_restart_test() {
  # Each flag applies to the commands after it: a (before any flag) keeps the
  # default ALWAYS; b after --restart never; c and d after --restart on-failure,
  # d also after --success-exit-codes 0,3; e and f after --start-limit.
  "$procmon" --threshold 5 --minrestartdelay 0.05 --maxrestartdelay 0.1 \
    'a=echo a-ran; exit 0' \
    --restart never 'b=echo b-ran; exit 1' \
    --restart on-failure 'c=echo c-ran; exit 3' \
    --success-exit-codes 0,3 'd=echo d-ran; exit 3' \
    --restart always --success-exit-codes 0 --start-limit 2/60 'e=echo e-ran; exit 1' \
    --start-limit 3/60/30 'f=echo f-ran; exit 1' \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!
  wait_count "$tmp/out" '^\[a\] a-ran$' 3 || fail "a (restart always) was not restarted"
  wait_count "$tmp/out" '^\[c\] c-ran$' 3 || fail "c (on-failure, exit 3) was not restarted"
  wait_for "$tmp/err" '^procmon: \[e\] gave up \(start limit reached\); not retrying$' ||
    fail "no GAVE_UP for e (--start-limit 2/60)"
  wait_for "$tmp/err" '^procmon: \[f\] gave up \(start limit reached\); retrying in 30s$' ||
    fail "no GAVE_UP with its retry delay for f (--start-limit 3/60/30)"
  stop_procmon
  check "a, defined before --restart never, is restarted (always)" \
    [ "$(count "$tmp/out" '^\[a\] a-ran$')" -ge 3 ]
  check "b, after --restart never, ran once" [ "$(count "$tmp/out" '^\[b\] b-ran$')" -eq 1 ]
  check "b was not rescheduled" [ "$(count "$tmp/err" '^procmon: \[b\] restarting')" -eq 0 ]
  check "b's exit printed as before" \
    grep -qE '^procmon: \[b\] exited with code 1 after [0-9.]+s \(pid [0-9]+\)$' "$tmp/err"
  check "c (on-failure, exit 3 a failure) restarted" \
    [ "$(count "$tmp/out" '^\[c\] c-ran$')" -ge 3 ]
  check "d (on-failure, 3 a success code) ran once" \
    [ "$(count "$tmp/out" '^\[d\] d-ran$')" -eq 1 ]
  check "d's exit flagged expected" \
    grep -qE '^procmon: \[d\] exited with code 3 after [0-9.]+s \(pid [0-9]+\) \[expected\]$' "$tmp/err"
  check "e started twice, then gave up" [ "$(count "$tmp/out" '^\[e\] e-ran$')" -eq 2 ]
  check "f started three times, then gave up" [ "$(count "$tmp/out" '^\[f\] f-ran$')" -eq 3 ]
  [ "$failures" -eq 0 ] || show_logs
}

flags_stop_test() {
  # plain: the default TERM; int (--stop-signal INT) traps INT and exits 0;
  # hup (SIGHUP, with its SIG prefix) and usr1 (a number, 10) die by theirs;
  # stubborn ignores INT and is KILLed after its own --killtime 0.5.
  local trap_int='trap "echo got INT; exit 0" INT; echo up; while :; do sleep 0.1; done'
  "$procmon" --killtime 5 'plain=echo up; exec sleep 30' \
    --stop-signal INT "int=$trap_int" \
    --stop-signal SIGHUP 'hup=echo up; exec sleep 30' \
    --stop-signal 10 'usr1=echo up; exec sleep 30' \
    --stop-signal int --killtime 0.5 \
    'stubborn=trap "" INT; echo up; while :; do sleep 0.1; done' \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!
  local name
  for name in plain int hup usr1 stubborn; do
    wait_for "$tmp/out" "^\\[$name\\] up\$" || fail "$name did not start"
  done
  local t0=$SECONDS
  stop_procmon
  check "the stop took less than plain's kill time (5 s): no one waited for it" \
    [ $((SECONDS - t0)) -lt 5 ]
  check "plain got the default SIGTERM" \
    grep -qE '^procmon: \[plain\] killed by signal 15 \(SIGTERM\) ' "$tmp/err"
  check "--stop-signal INT reached the shell's INT trap" grep -qx '\[int\] got INT' "$tmp/out"
  check "int exited 0 by its trap, flagged expected and requested" \
    grep -qE '^procmon: \[int\] exited with code 0 after [0-9.]+s \(pid [0-9]+\) \[expected, requested\]$' "$tmp/err"
  check "--stop-signal SIGHUP sent HUP" \
    grep -qE '^procmon: \[hup\] killed by signal 1 \(SIGHUP\) ' "$tmp/err"
  check "--stop-signal 10 sent SIGUSR1" \
    grep -qE '^procmon: \[usr1\] killed by signal 10 \(SIGUSR1\) ' "$tmp/err"
  check "stubborn (ignores INT) was KILLed after its --killtime 0.5" \
    grep -qE '^procmon: \[stubborn\] sent KILL to pid [0-9]+ \(kill time ran out\)$' "$tmp/err"
  check "no KILL for the others" [ "$(count "$tmp/err" 'sent KILL')" -eq 1 ]
  [ "$failures" -eq 0 ] || show_logs
}

flags_env_test() {
  local soft hard
  soft=$(ulimit -Sn)
  hard=$(ulimit -Hn)
  FROM_PARENT=kept "$procmon" --restart never \
    'plain=echo "FOO=${FOO-unset} parent=${FROM_PARENT-unset} nofile=$(ulimit -n)"' \
    --env FOO=bar --env 'SPACED=a b=c' \
    'env=echo "FOO=${FOO-unset} SPACED=$SPACED parent=${FROM_PARENT-unset}"' \
    --unset-env FROM_PARENT 'unset=echo "FOO=${FOO-unset} parent=${FROM_PARENT-unset}"' \
    --rlimit nofile=64 'nofile=echo "nofile=$(ulimit -n) hard=$(ulimit -Hn)"' \
    --rlimit NOFILE=32:64 --rlimit core=unlimited \
    'split=echo "soft=$(ulimit -Sn) hard=$(ulimit -Hn) core=$(ulimit -c)"' \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!
  local name
  for name in plain env unset nofile split; do
    wait_for "$tmp/out" "^\\[$name\\] " || fail "no line from $name"
  done
  stop_procmon
  check "a command before --env has no FOO, the inherited environment, its own limit" \
    grep -qx "\\[plain\\] FOO=unset parent=kept nofile=$soft" "$tmp/out"
  check "--env sets variables on top of the inherited environment" \
    grep -qx '\[env\] FOO=bar SPACED=a b=c parent=kept' "$tmp/out"
  check "--unset-env removes one, the earlier --env still applies" \
    grep -qx '\[unset\] FOO=bar parent=unset' "$tmp/out"
  check "--rlimit nofile=64 seen by ulimit -n (soft and hard)" \
    grep -qx '\[nofile\] nofile=64 hard=64' "$tmp/out"
  check "--rlimit NOFILE=32:64 and core=unlimited" \
    grep -qx '\[split\] soft=32 hard=64 core=unlimited' "$tmp/out"
  [ "$hard" = unlimited ] || [ "$hard" -ge 64 ] || echo "note: hard nofile limit $hard < 64"
  [ "$failures" -eq 0 ] || show_logs
}

flags_ready_test() {
  # db: ready on its "listening" line; api after db; fdr: ready by a newline on
  # descriptor 3; slow: never ready, --ready-timeout 0.5; wd: ready, then no
  # watchdog ping for 0.5 s; nt: sd_notify READY=1 with python3, where it is.
  local notify=()
  if command -v python3 >/dev/null; then
    notify=(--ready notify 'nt=exec python3 -c "
import os, socket, time
a = os.environ[\"NOTIFY_SOCKET\"]
a = \"\0\" + a[1:] if a[0] == \"@\" else a
time.sleep(0.2)
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b\"READY=1\", a)
print(\"sent READY=1\", flush=True)
time.sleep(30)"')
  else
    echo "skip: no python3, --ready notify not checked"
  fi
  "$procmon" --ready line:listening 'db=sleep 1; echo "listening on 5432"; exec sleep 30' \
    --ready start --after db 'api=echo api up; exec sleep 30' \
    --after '' --ready fd:3 'fdr=sleep 0.3; echo "writing fd 3"; sleep 0.5; echo >&3; exec sleep 30' \
    --ready-timeout 0.5 'slow=exec sleep 30' \
    --ready-timeout 0 --watchdog 0.5 'wd=echo >&3; exec sleep 30' \
    --watchdog 0 "${notify[@]}" \
    >"$tmp/all" 2>&1 </dev/null &
  pid=$!
  wait_for "$tmp/all" '^\[api\] api up$' || fail "api did not start"
  wait_for "$tmp/all" '^procmon: \[fdr\] ready pid ' || fail "fdr not ready"
  wait_for "$tmp/all" '^procmon: \[slow\] killed by signal 15 \(SIGTERM\) after [0-9.]+s \(pid [0-9]+\) \[timeout\]$' ||
    fail "slow not stopped with [timeout] (--ready-timeout 0.5)"
  wait_for "$tmp/all" '^procmon: \[wd\] killed by signal 15 \(SIGTERM\) after [0-9.]+s \(pid [0-9]+\) \[watchdog\]$' ||
    fail "wd not stopped with [watchdog] (--watchdog 0.5)"
  [ "${#notify[@]}" -eq 0 ] || wait_for "$tmp/all" '^procmon: \[nt\] ready pid ' ||
    fail "nt (--ready notify) not ready"
  stop_procmon
  local db_line db_ready api_start fd_line fd_ready api_stop db_stop
  db_line=$(line_of "$tmp/all" '^\[db\] listening on 5432$')
  db_ready=$(line_of "$tmp/all" '^procmon: \[db\] ready pid [0-9]+$')
  api_start=$(line_of "$tmp/all" '^procmon: \[api\] started pid ')
  check "--ready line: db's ready after its 'listening' line" \
    test "$db_line" -gt 0 -a "$db_ready" -gt "$db_line"
  check "--after db: api started after db was ready" [ "$api_start" -gt "$db_ready" ]
  fd_line=$(line_of "$tmp/all" '^\[fdr\] writing fd 3$')
  fd_ready=$(line_of "$tmp/all" '^procmon: \[fdr\] ready pid ')
  check "--ready fd:3: ready only after the newline on fd 3" \
    test "$fd_line" -gt 0 -a "$fd_ready" -gt "$fd_line"
  api_stop=$(line_of "$tmp/all" '^procmon: \[api\] killed by signal 15 ')
  db_stop=$(line_of "$tmp/all" '^procmon: \[db\] killed by signal 15 ')
  check "the stop: api (after db) stopped before db" \
    test "$api_stop" -gt 0 -a "$db_stop" -gt "$api_stop"
  check "--after '' cleared the order: fdr started before db was ready" \
    [ "$(line_of "$tmp/all" '^procmon: \[fdr\] started pid ')" -lt "$db_ready" ]
  if [ "$failures" -ne 0 ]; then echo "----- output -----" >&2; cat -v "$tmp/all" >&2; fi
}

flags_contain_test() {
  # Each command leaves a background sleep in its process group and prints its
  # pid. --contain none stops only the child: its sleep outlives the stop (the
  # documented escape; killed here). group and the default (auto) stop it too.
  local cmd='sleep 120 & echo "grandchild $!"; exec sleep 30'
  "$procmon" --killtime 2 "auto=$cmd" --contain none "none=$cmd" --contain group "group=$cmd" \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!
  local name g
  declare -A grandchild
  for name in auto none group; do
    wait_for "$tmp/out" "^\\[$name\\] grandchild [0-9]+\$" || fail "no grandchild of $name"
    g=$(sed -n "s/^\\[$name\\] grandchild \\([0-9]*\\)\$/\\1/p" "$tmp/out" | head -n 1)
    grandchild[$name]=$g
    [ -n "$g" ] && strays+=("$g")
  done
  # auto here: a cgroup (as root with cgroup v2), else the process group.
  local apid
  apid=$(sed -n 's/^procmon: \[auto\] started pid \([0-9]*\)$/\1/p' "$tmp/err" | head -n 1)
  if [ "$(id -u)" -eq 0 ] && [ -n "$apid" ] && grep -q '^0::.*/procmon/' "/proc/$apid/cgroup" 2>/dev/null; then
    pass "--contain auto (default) put the child in a cgroup of procmon's"
  else
    echo "note: the auto child is not in a procmon cgroup (not root, or no cgroup v2 here)"
  fi
  stop_procmon
  check "the default (auto) stopped the grandchild too" \
    eval '[ -n "${grandchild[auto]}" ] && ! alive "${grandchild[auto]}"'
  check "--contain group stopped the grandchild too" \
    eval '[ -n "${grandchild[group]}" ] && ! alive "${grandchild[group]}"'
  check "--contain none: the grandchild outlives the stop (only the child is signalled)" \
    eval '[ -n "${grandchild[none]}" ] && alive "${grandchild[none]}"'
  kill_strays
  [ "$failures" -eq 0 ] || show_logs
}

# bad_flag FLAG-REGEX DESCRIPTION ARGS...: exit 2, a message naming the flag, nothing started.
bad_flag() {
  local re=$1 what=$2
  shift 2
  expect_exit 2 "$what" -- "$@"
  if grep -qE -- "^procmon: $re" "$tmp/err"; then pass "$what: names $re"; else
    fail "$what: no 'procmon: $re' message"; show_logs; fi
  if grep -q 'started pid' "$tmp/err"; then fail "$what: a process was started"; fi
}

flags_usage_test() {
  bad_flag '--restart: .bogus. is not always, on-failure or never' "--restart bogus" \
    --restart bogus true
  bad_flag '--success-exit-codes: .0,x.' "--success-exit-codes 0,x" --success-exit-codes 0,x true
  bad_flag '--success-exit-codes: .256.' "--success-exit-codes 256" --success-exit-codes 256 true
  bad_flag '--stop-signal: .FOO. is not a signal' "--stop-signal FOO" --stop-signal FOO true
  bad_flag '--stop-signal KILL: .*SIGKILL' "--stop-signal KILL (library refuses)" \
    --stop-signal KILL true
  bad_flag '--stop-signal: .65.' "--stop-signal 65" --stop-signal 65 true
  bad_flag '--start-limit: .5. is not BURST/INTERVAL' "--start-limit 5" --start-limit 5 true
  bad_flag '--start-limit 5/-1: ' "--start-limit 5/-1 (library refuses)" --start-limit 5/-1 true
  bad_flag '--threshold -1: ' "--threshold -1" --threshold -1 true
  bad_flag '--killtime: .x. is not a number' "--killtime x" --killtime x true
  bad_flag '--minrestartdelay inf: ' "--minrestartdelay inf" --minrestartdelay inf true
  bad_flag '--minrestartdelay 5 is above --maxrestartdelay 2' "min above max" \
    --minrestartdelay 5 --maxrestartdelay 2 true
  bad_flag '--env: .FOO. is not KEY=VALUE' "--env FOO" --env FOO true
  bad_flag '--env: .=x. is not KEY=VALUE' "--env =x" --env =x true
  bad_flag '--unset-env: .A=B.' "--unset-env A=B" --unset-env A=B true
  bad_flag '--rlimit: .bogus=1. is not NAME=LIMIT' "--rlimit bogus=1" --rlimit bogus=1 true
  bad_flag '--rlimit: .nofile=lots.' "--rlimit nofile=lots" --rlimit nofile=lots true
  bad_flag '--rlimit nofile=64:32: .*soft' "--rlimit soft above hard (library refuses)" \
    --rlimit nofile=64:32 true
  bad_flag '--contain: .jail. is not none, group, cgroup or auto' "--contain jail" \
    --contain jail true
  bad_flag '--ready: .socket. is not fd:N, notify, line:TEXT or start' "--ready socket" \
    --ready socket true
  bad_flag '--ready: .fd:2. names no descriptor' "--ready fd:2" --ready fd:2 true
  bad_flag '--ready: .fd:1024.' "--ready fd:1024" --ready fd:1024 true
  bad_flag '--ready: .line:. has an empty TEXT' "--ready line:" --ready line: true
  bad_flag '--ready-timeout -2: ' "--ready-timeout -2" --ready-timeout -2 true
  bad_flag '--watchdog nan: ' "--watchdog nan" --watchdog nan true
  bad_flag '--watchdog 5 needs --ready fd:N or --ready notify' "--watchdog without readiness" \
    --watchdog 5 true
  bad_flag '--after db: no process is named .db.' "--after an unknown name" --after db true
  bad_flag '--after web: .web. cannot come after itself' "--after itself" \
    'db=true' --after web 'web=true'
  bad_flag '--after: .a,,b. has an empty process name' "--after a,,b" --after a,,b true
  bad_flag '--restart: ' "a bad flag after a command" 'true' --restart sometimes 'false'
  # A flag with nothing after it is still checked.
  bad_flag '--rlimit: ' "a bad flag after the last command" 'true' --rlimit x=1
  # After --, an argument like an option is a command.
  "$procmon" -- --restart >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!
  wait_for "$tmp/err" '^procmon: \[p1\] started pid ' && pass "after --, '--restart' is a command" ||
    fail "after --, '--restart' was not taken as a command"
  stop_procmon
  # --help lists every flag.
  "$procmon" --help >"$tmp/help"
  local flag
  for flag in restart success-exit-codes stop-signal start-limit threshold killtime \
    minrestartdelay maxrestartdelay env unset-env rlimit contain ready ready-timeout watchdog after; do
    check "--help lists --$flag" grep -qE -- "^  --$flag " "$tmp/help"
  done
}

case "$mode" in
run) run_test ;;
usage) usage_test ;;
procfile) procfile_test ;;
procfile-errors) procfile_errors_test ;;
output) output_test ;;
man) man_test "${3:-}" ;;
flags-restart) flags_restart_test ;;
flags-stop) flags_stop_test ;;
flags-env) flags_env_test ;;
flags-ready) flags_ready_test ;;
flags-contain) flags_contain_test ;;
flags-usage) flags_usage_test ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)" >&2; exit 1; fi
echo "all passed"
