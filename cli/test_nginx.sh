#!/usr/bin/env bash
# CTest driver: the procmon CLI supervising a real nginx (issue 11, "With a real
# server"), under the CLI's default containment (auto: a cgroup where procmon can
# make one, as root with cgroup v2; else the process group).
#   test_nginx.sh PROCMON
# nginx runs in the foreground (`daemon off;`) as a master and 2 workers, on a
# free loopback port, with its pid file, logs and temp paths in a temp directory
# (`-p` prefix, `error_log stderr`). Then:
#   1. SIGKILL of the master: within 2 s the port answers from a new master's
#      worker, and no process of the old run is left (its workers included);
#      the measured time from the SIGKILL to the new master serving is printed;
#   2. SIGTERM to the CLI: it exits 0, no nginx process of the test is left, and
#      no cgroup of the CLI's monitor is left.
# Skips (exit 77, CTest's SKIP_RETURN_CODE) without nginx (scripts/setup.sh
# installs Debian's nginx-light) or without root (nginx's master switches its
# workers' user). Waits are deadlines polled every 20-50 ms, never bare sleeps.
# Whatever happens, the trap leaves nothing behind: the CLI, every nginx process
# the test started, and the monitor's cgroups.
set -u

procmon=${1:?path to the procmon executable}
SKIP=77

nginx=$(command -v nginx || true)
[ -n "$nginx" ] || [ ! -x /usr/sbin/nginx ] || nginx=/usr/sbin/nginx
if [ -z "$nginx" ]; then
  echo "skip: nginx is not installed (scripts/setup.sh installs nginx-light)"; exit $SKIP
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "skip: not root (the nginx check runs as root, as in .ci/run)"; exit $SKIP
fi

tmp=$(mktemp -d)
chmod 755 "$tmp" # the workers run as nobody
pid=
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# The test's nginx processes, and only those (another nginx on the machine is
# never touched): masters started with this test's configuration, their
# children, every pid seen (old workers outlive their master unless contained),
# and whatever is in a cgroup of the CLI's monitor.
seen=
ours() {
  local d p c masters=
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = nginx ] || continue
    tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "$tmp/nginx.conf" && masters="$masters ${d#/proc/}"
  done
  {
    for p in $masters $seen; do echo "$p"; done
    for d in /proc/[0-9]*; do
      c=$(awk '{ print $4 }' "$d/stat" 2>/dev/null)
      for p in $masters; do [ "$c" = "$p" ] && echo "${d#/proc/}"; done
    done
    [ -z "$monitor_cgroup" ] || cat "$monitor_cgroup"/r*/cgroup.procs 2>/dev/null
  } | sort -un | while read -r p; do alive "$p" && echo "$p"; done
}

# alive PID: exists and is not a zombie.
alive() {
  local state
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# The cgroup v2 mount point (wherever it is: /sys/fs/cgroup/unified here).
cg_mount=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
monitor_cgroup= # the directory of the CLI's monitor, once known

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
  local p i
  for p in $(ours); do kill -KILL "$p" 2>/dev/null; done
  if [ -n "$monitor_cgroup" ] && [ -d "$monitor_cgroup" ]; then
    for i in "$monitor_cgroup"/r*/; do
      [ -d "$i" ] || continue
      echo 1 >"$i/cgroup.kill" 2>/dev/null
      for ((p = 0; p < 100; p++)); do rmdir "$i" 2>/dev/null && break; sleep 0.02; done
    done
    rmdir "$monitor_cgroup" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP # so that the EXIT trap runs

show_logs() {
  echo "----- procmon stdout (nginx's lines) -----" >&2; tail -n 40 "$tmp/out" >&2
  echo "----- procmon stderr (events) -----" >&2; cat "$tmp/err" >&2
  echo "-----" >&2
}
die() { fail "$*"; show_logs; echo "$failures failure(s)" >&2; exit 1; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# A free loopback port: the kernel's choice, where python3 is; else a probe.
port=
if command -v python3 >/dev/null; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
if [ -z "$port" ]; then
  for ((i = 0; i < 50; i++)); do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
fi

# get: the body of GET / on the port ("worker PID"), empty when nothing answers.
get() {
  if command -v curl >/dev/null; then
    curl -s --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null
  else
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET / HTTP/1.0\r\n\r\n' >&3 &&
      sed -n '/^\r\$/,\$p' <&3 | tail -n +2" 2>/dev/null
  fi
}

# workers MASTER: the pids of MASTER's children.
workers() {
  local d
  for d in /proc/[0-9]*; do
    [ "$(awk '{ print $4 }' "$d/stat" 2>/dev/null)" = "$1" ] && echo "${d#/proc/}"
  done
}

# wait_until DEADLINE-MS COMMAND...: poll COMMAND every 20 ms until it succeeds.
wait_until() {
  local deadline=$1
  shift
  while ! "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.02
  done
}

cat >"$tmp/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
pid $tmp/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        location / { return 200 "worker \$pid\n"; }
    }
}
CONF
"$nginx" -t -q -p "$tmp" -c "$tmp/nginx.conf" -e stderr 2>"$tmp/nginx-t" ||
  { cat "$tmp/nginx-t" >&2; die "nginx -t refuses the test's configuration"; }

# The CLI with its defaults (containment auto), as a user would run it.
"$procmon" "web=exec $nginx -p $tmp -c $tmp/nginx.conf -e stderr" \
  >"$tmp/out" 2>"$tmp/err" </dev/null &
pid=$!

# started_pids: the pids of web's STARTED events, in order.
started_pids() { sed -n 's/^procmon: \[web\] started pid \([0-9]*\)$/\1/p' "$tmp/err"; }
two_workers() { [ "$(workers "$1" | wc -l)" -eq 2 ]; }
# served_by MASTER: the port answers from a worker of MASTER.
served_by() {
  local body w
  body=$(get)
  w=${body#worker }
  [ -n "$body" ] && [ "$w" != "$body" ] && [ "$(awk '{ print $4 }' "/proc/$w/stat" 2>/dev/null)" = "$1" ]
}
first_master() { master=$(started_pids | head -n 1); [ -n "$master" ]; }

wait_until $(($(now_ms) + 15000)) first_master || die "no STARTED event for web"
wait_until $(($(now_ms) + 15000)) served_by "$master" || die "nginx (master $master) does not serve port $port"
wait_until $(($(now_ms) + 5000)) two_workers "$master" || die "master $master has not 2 workers"
old_workers=$(workers "$master" | tr '\n' ' ')
seen="$master $old_workers"
pass "nginx serves 127.0.0.1:$port: master $master, workers $old_workers"

cgroup=$(sed -n 's/^0:://p' "/proc/$master/cgroup" 2>/dev/null)
case "$cgroup" in
*/procmon/m*/r*)
  monitor_cgroup="$cg_mount${cgroup%/r*}"
  pass "the master is in the cgroup $cg_mount$cgroup (containment auto chose cgroup)" ;;
*)
  fail "the master is not in a cgroup of procmon's (cgroup '$cgroup', mount '$cg_mount')" ;;
esac
for w in $old_workers; do
  [ "$(sed -n 's/^0:://p' "/proc/$w/cgroup" 2>/dev/null)" = "$cgroup" ] ||
    fail "worker $w is not in its master's cgroup"
done

# A death after the threshold (1 s) is restarted at once: let the master live past it.
started_at=$(stat -c %Y "/proc/$master" 2>/dev/null || date +%s)
lived() { [ $(($(date +%s) - started_at)) -ge 2 ]; }
wait_until $(($(now_ms) + 5000)) lived

# 1. SIGKILL of the master.
t0=$(now_ms)
kill -KILL "$master"
new_master() {
  local m
  m=$(started_pids | tail -n 1)
  [ -n "$m" ] && [ "$m" != "$master" ] && master2=$m
}
master2=
serving() { new_master && served_by "$master2"; }
if wait_until $((t0 + 15000)) serving; then
  t1=$(now_ms)
  ms=$((t1 - t0))
  printf 'measured: SIGKILL of the nginx master -> new master (pid %s) serving: %d.%03d s\n' \
    "$master2" $((ms / 1000)) $((ms % 1000))
  if [ "$ms" -le 2000 ]; then pass "the port answers from a new master within 2 s (${ms} ms)"; else
    fail "the port answered from the new master only after ${ms} ms (want <= 2000)"; fi
else
  die "no new master serving port $port 15 s after the SIGKILL"
fi
alive "$master" && fail "the killed master $master is still alive"
left=
for w in $old_workers; do alive "$w" && left="$left $w"; done
[ -z "$left" ] && pass "no process of the old run is left (old workers $old_workers gone)" ||
  fail "old workers still alive:$left"
grep -q 'Address already in use' "$tmp/out" && fail "the new master met the old one's socket (EADDRINUSE)"
grep -qE '^procmon: \[web\] killed by signal 9 \(SIGKILL\) ' "$tmp/err" &&
  pass "EXITED: killed by signal 9" || fail "no 'killed by signal 9' event for the master"
wait_until $(($(now_ms) + 5000)) two_workers "$master2" &&
  pass "the new master has its 2 workers" || fail "the new master $master2 has not 2 workers"
new_workers=$(workers "$master2" | tr '\n' ' ')
seen="$seen $master2 $new_workers"

# 2. SIGTERM to the CLI.
kill -TERM "$pid"
cli_gone() { ! kill -0 "$pid" 2>/dev/null; }
wait_until $(($(now_ms) + 20000)) cli_gone || die "procmon still running 20 s after SIGTERM"
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] && pass "procmon exited 0 after SIGTERM" || fail "procmon exited $rc after SIGTERM"
no_nginx_left() { [ -z "$(ours)" ]; }
# procmon returns with every unit empty; an orphan may still await its reaper.
if wait_until $(($(now_ms) + 2000)) no_nginx_left; then
  pass "no nginx process is left (master $master2, workers $new_workers gone)"
else
  fail "nginx processes left after procmon exited: $(ours | tr '\n' ' ')"
fi
if [ -n "$monitor_cgroup" ]; then
  [ ! -e "$monitor_cgroup" ] && pass "the monitor's cgroup $monitor_cgroup is removed" ||
    fail "the monitor's cgroup $monitor_cgroup is left"
fi
stray=$(ls -d "$cg_mount/procmon/m$pid".* 2>/dev/null)
[ -z "$stray" ] || fail "cgroups of the CLI's monitor left: $stray"

[ "$failures" -eq 0 ] || show_logs
if [ "$failures" -ne 0 ]; then echo "$failures failure(s)" >&2; exit 1; fi
echo "all passed"
