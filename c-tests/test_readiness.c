/* Readiness on real processes (API.md "Readiness"): NOTIFY_FD, SD_NOTIFY (with
 * python3's socket module, and a datagram from outside the unit), LINE, the
 * readiness timeout, the watchdog and procmon_report_unhealthy, the start
 * order and the reverse-ordered stop, STARTING in procmon_process_info, and
 * every bad argument of the readiness functions. */
#define _GNU_SOURCE
#include "task.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static recorder_t rec;

static procmon_t *setup(void) {
  rec_init(&rec);
  return fx_monitor(&rec);
}

static procmon_spec_t *spec_of(const char *const *argv) {
  procmon_spec_t *spec = procmon_spec_new(argv);
  ASSERT_TRUE(spec != NULL);
  return spec;
}

static procmon_spec_t *sh_spec(const char *script) {
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  return spec_of(argv);
}

static procmon_spec_t *py_spec(const char *script) {
  const char *argv[] = {"python3", "-c", script, NULL};
  return spec_of(argv);
}

static void add_and_free(procmon_t *pm, const char *name, procmon_spec_t *spec) {
  ASSERT_OK(procmon_add(pm, name, spec));
  procmon_spec_free(spec);
}

static rec_event_t event(const char *name, int kind, size_t i) {
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, name, kind, i, &e));
  return e;
}

static procmon_process_info_t info_of(procmon_t *pm, const char *name) {
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, name, &info));
  return info;
}

/* The first line of `name` that starts with `prefix`, copied into `out`. */
static int line_with_prefix(const char *name, const char *prefix, char *out, size_t size) {
  for (size_t i = 0;; i++) {
    rec_line_t line;
    if (!rec_line(&rec, name, i, &line)) return 0;
    int found = strncmp(line.data, prefix, strlen(prefix)) == 0;
    if (found) snprintf(out, size, "%s", line.data);
    free(line.data);
    if (found) return 1;
  }
}

#define LOOP "while :; do sleep 0.05; done"

/* A shell child that writes a newline to fd 3 after 0.3 s is READY then, not
 * before; until then procmon_process_info says STARTING, with its pid. */
void test_ready_notify_fd_after_a_delay(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("echo up; sleep 0.3; echo >&3; echo told; " LOOP);
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_NOTIFY_FD, "3", 0));
  add_and_free(pm, "fd", spec);
  WAIT_FOR(rec_has_line(&rec, "fd", "up"));
  procmon_process_info_t info = info_of(pm, "fd");
  if (rec_count_events(&rec, "fd", PROCMON_EVENT_READY) == 0) {
    ASSERT_EQ_INT(info.state, PROCMON_STATE_STARTING);
    ASSERT_EQ_INT(info.pid, fx_pid(pm, "fd"));
    ASSERT_CMP_INT(info.pid, >, 0);
  }
  WAIT_FOR(rec_count_events(&rec, "fd", PROCMON_EVENT_READY) == 1);
  rec_event_t started = event("fd", PROCMON_EVENT_STARTED, 0);
  rec_event_t ready = event("fd", PROCMON_EVENT_READY, 0);
  ASSERT_EQ_INT(ready.pid, started.pid);
  ASSERT_CMP_DBL(ready.timestamp - started.timestamp, >=, 0.28);
  ASSERT_CMP_DBL(ready.timestamp - started.timestamp, <, 5.0);
  WAIT_FOR(info_of(pm, "fd").state == PROCMON_STATE_RUNNING);
  ASSERT_EQ_INT(info_of(pm, "fd").pid, started.pid);
  procmon_free(pm);
}

/* Not ready within the timeout: stopped, flagged TIMEOUT, an instant death. */
void test_readiness_timeout(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 30)); /* one run only */
  procmon_spec_t *spec = sh_spec(LOOP);
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_NOTIFY_FD, "3", 0.3));
  add_and_free(pm, "slow", spec);
  WAIT_FOR(rec_count_events(&rec, "slow", PROCMON_EVENT_RESTART_SCHEDULED) == 1);
  rec_event_t exited = event("slow", PROCMON_EVENT_EXITED, 0);
  ASSERT_EQ_INT(exited.flags & PROCMON_EXIT_TIMEOUT, PROCMON_EXIT_TIMEOUT);
  ASSERT_EQ_INT(exited.flags & PROCMON_EXIT_REQUESTED, 0);
  ASSERT_EQ_INT(exited.signal, 15);
  ASSERT_CMP_DBL(exited.uptime, >=, 0.28);
  ASSERT_CMP_DBL(event("slow", PROCMON_EVENT_RESTART_SCHEDULED, 0).delay, ==, 30.0);
  ASSERT_EQ_INT(rec_count_events(&rec, "slow", PROCMON_EVENT_READY), 0);
  ASSERT_EQ_INT(info_of(pm, "slow").state, PROCMON_STATE_BACKOFF);
  procmon_free(pm);
}

/* python3 with the socket module: READY=1, five WATCHDOG=1 pings 0.1 s apart,
 * then silence: the 0.5 s watchdog stops it (EXITED flagged WATCHDOG) and it is
 * restarted. It had NOTIFY_SOCKET, WATCHDOG_USEC and its own WATCHDOG_PID. */
static const char *const PINGER =
    "import os, socket, sys, time\n"
    "a = os.environ['NOTIFY_SOCKET']\n"
    "a = '\\0' + a[1:] if a.startswith('@') else a\n"
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
    "s.connect(a)\n"
    "print('env', os.getpid(), os.environ.get('WATCHDOG_PID'),\n"
    "      os.environ.get('WATCHDOG_USEC'), flush=True)\n"
    "s.send(b'STATUS=starting\\nREADY=1')\n"
    "for i in range(5):\n"
    "    time.sleep(0.1)\n"
    "    s.send(b'WATCHDOG=1')\n"
    "print('silent', flush=True)\n"
    "time.sleep(60)\n";

void test_sd_notify_watchdog_restarts(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec = py_spec(PINGER);
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_SD_NOTIFY, NULL, 20));
  ASSERT_OK(procmon_spec_set_watchdog(spec, 0.5));
  add_and_free(pm, "py", spec);
  WAIT_FOR(rec_count_events(&rec, "py", PROCMON_EVENT_STARTED) == 2);
  rec_event_t started = event("py", PROCMON_EVENT_STARTED, 0);
  rec_event_t ready = event("py", PROCMON_EVENT_READY, 0);
  rec_event_t exited = event("py", PROCMON_EVENT_EXITED, 0);
  ASSERT_EQ_INT(ready.pid, started.pid);
  ASSERT_EQ_INT(exited.pid, started.pid);
  ASSERT_EQ_INT(exited.flags & PROCMON_EXIT_WATCHDOG, PROCMON_EXIT_WATCHDOG);
  ASSERT_EQ_INT(exited.flags & (PROCMON_EXIT_REQUESTED | PROCMON_EXIT_EXPECTED), 0);
  /* The pings kept it alive for their 0.5 s, and the silence ended it. */
  ASSERT_CMP_DBL(exited.timestamp - ready.timestamp, >=, 0.9);
  ASSERT_CMP_DBL(exited.timestamp - ready.timestamp, <, 5.0);
  char env[128];
  ASSERT_TRUE(line_with_prefix("py", "env", env, sizeof env));
  char want[128];
  snprintf(want, sizeof want, "env %d %d 500000", started.pid, started.pid);
  ASSERT_EQ_STR(env, want);
  ASSERT_TRUE(rec_has_line(&rec, "py", "silent"));
  procmon_free(pm);
}

/* Sends `text` to the abstract socket NOTIFY_SOCKET names ("@name"). */
static void send_notify(const char *socket_name, const char *text) {
  ASSERT_TRUE(socket_name[0] == '@');
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_CMP_INT(fd, >=, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = strlen(socket_name + 1);
  memcpy(addr.sun_path + 1, socket_name + 1, len);
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
  ASSERT_EQ_INT(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&addr, alen),
                (long long)strlen(text));
  close(fd);
}

/* READY=1 from a process outside the child's unit (this test) is ignored; from
 * a process of its unit (a grandchild in its process group) it counts. */
void test_sd_notify_from_outside_the_unit_is_ignored(void) {
  procmon_t *pm = setup();
  const char *flag = task_tmpfile("go");
  char script[1024];
  snprintf(script, sizeof script,
           "import os, subprocess, sys, time\n"
           "print('socket', os.environ['NOTIFY_SOCKET'], flush=True)\n"
           "while not os.path.exists('%s'):\n"
           "    time.sleep(0.02)\n"
           "subprocess.run([sys.executable, '-c', '''\n"
           "import os, socket\n"
           "a = os.environ['NOTIFY_SOCKET']\n"
           "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
           "s.sendto(b'READY=1', '\\\\0' + a[1:])\n"
           "'''])\n"
           "print('sent', flush=True)\n"
           "time.sleep(60)\n",
           flag);
  procmon_spec_t *spec = py_spec(script);
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_SD_NOTIFY, NULL, 0));
  add_and_free(pm, "unit", spec);
  char line[256];
  WAIT_FOR(line_with_prefix("unit", "socket ", line, sizeof line));
  const char *name = line + strlen("socket ");
  send_notify(name, "READY=1");
  send_notify(name, "WATCHDOG=trigger");
  task_let_pass(0.5);
  ASSERT_EQ_INT(rec_count_events(&rec, "unit", PROCMON_EVENT_READY), 0);
  ASSERT_EQ_INT(info_of(pm, "unit").state, PROCMON_STATE_STARTING);
  ASSERT_EQ_INT(rec_count_events(&rec, "unit", PROCMON_EVENT_EXITED), 0);
  /* The unit's own grandchild is heard. */
  FILE *f = fopen(flag, "w");
  ASSERT_TRUE(f != NULL);
  fclose(f);
  WAIT_FOR(rec_count_events(&rec, "unit", PROCMON_EVENT_READY) == 1);
  ASSERT_EQ_INT(info_of(pm, "unit").state, PROCMON_STATE_RUNNING);
  ASSERT_EQ_INT(event("unit", PROCMON_EVENT_READY, 0).pid, fx_pid(pm, "unit"));
  unlink(flag);
  procmon_free(pm);
}

/* sd_notify_barrier(), as systemd-notify uses it: a helper of the unit sends
 * READY=1, then BARRIER=1 with the write end of a pipe, and waits for the
 * pipe's hang-up before it exits. The monitor closes descriptors that come
 * with a datagram as it reads it, after the datagrams before it: the barrier
 * passes, and the READY was attributed while the helper still lived. */
void test_sd_notify_barrier_passes(void) {
  procmon_t *pm = setup();
  const char *script =
      "import subprocess, sys, time\n"
      "subprocess.run([sys.executable, '-c', '''\n"
      "import os, select, socket\n"
      "a = '\\\\0' + os.environ['NOTIFY_SOCKET'][1:]\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
      "s.connect(a)\n"
      "s.send(b'READY=1')\n"
      "r, w = os.pipe()\n"
      "socket.send_fds(s, [b'BARRIER=1'], [w])\n"
      "os.close(w)\n"
      "p = select.poll()\n"
      "p.register(r, select.POLLHUP)\n"
      "print('barrier', 'passed' if p.poll(20000) else 'timed out', flush=True)\n"
      "'''])\n"
      "print('helper exited', flush=True)\n"
      "time.sleep(60)\n";
  procmon_spec_t *spec = py_spec(script);
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_SD_NOTIFY, NULL, 0));
  add_and_free(pm, "unit", spec);
  char line[256];
  WAIT_FOR(line_with_prefix("unit", "helper exited", line, sizeof line));
  ASSERT_TRUE(line_with_prefix("unit", "barrier passed", line, sizeof line));
  WAIT_FOR(rec_count_events(&rec, "unit", PROCMON_EVENT_READY) == 1);
  ASSERT_EQ_INT(info_of(pm, "unit").state, PROCMON_STATE_RUNNING);
  procmon_free(pm);
}

/* LINE: ready on the child's "listening on" line, which is still delivered
 * (before the READY event). */
void test_ready_on_a_line(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec =
      sh_spec("echo starting; sleep 0.2; echo 'now listening on :8080' >&2; " LOOP);
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_LINE, "listening on", 0));
  add_and_free(pm, "web", spec);
  WAIT_FOR(rec_has_line(&rec, "web", "starting"));
  WAIT_FOR(rec_count_events(&rec, "web", PROCMON_EVENT_READY) == 1);
  rec_line_t line;
  ASSERT_TRUE(rec_line(&rec, "web", 1, &line));
  ASSERT_EQ_STR(line.data, "now listening on :8080");
  rec_event_t ready = event("web", PROCMON_EVENT_READY, 0);
  ASSERT_CMP_INT(line.seq, <, ready.seq);
  free(line.data);
  ASSERT_EQ_INT(ready.pid, event("web", PROCMON_EVENT_STARTED, 0).pid);
  ASSERT_EQ_INT(info_of(pm, "web").state, PROCMON_STATE_RUNNING);
  procmon_free(pm);
}

/* ON_START: READY right after STARTED (same pid) for procmon_add; none for
 * procmon_add_process, whose events stay 0.1's. */
void test_ready_on_start(void) {
  procmon_t *pm = setup();
  add_and_free(pm, "new", sh_spec(LOOP));
  ASSERT_OK(fx_add_sh(pm, "old", LOOP));
  WAIT_FOR(rec_count_events(&rec, "new", PROCMON_EVENT_READY) == 1);
  rec_event_t started = event("new", PROCMON_EVENT_STARTED, 0);
  rec_event_t ready = event("new", PROCMON_EVENT_READY, 0);
  ASSERT_EQ_INT(ready.pid, started.pid);
  ASSERT_EQ_INT(ready.seq, started.seq + 1);
  WAIT_FOR(rec_count_events(&rec, "old", PROCMON_EVENT_STARTED) == 1);
  task_let_pass(0.2);
  ASSERT_EQ_INT(rec_count_events(&rec, "old", PROCMON_EVENT_READY), 0);
  procmon_free(pm);
}

/* The host's health check: procmon_report_unhealthy stops the child, flagged
 * WATCHDOG, and it is restarted. */
void test_report_unhealthy_restarts(void) {
  procmon_t *pm = setup();
  add_and_free(pm, "sick", sh_spec(LOOP));
  WAIT_FOR(rec_count_events(&rec, "sick", PROCMON_EVENT_READY) == 1);
  ASSERT_OK(procmon_report_unhealthy(pm, "sick"));
  WAIT_FOR(rec_count_events(&rec, "sick", PROCMON_EVENT_STARTED) == 2);
  rec_event_t exited = event("sick", PROCMON_EVENT_EXITED, 0);
  ASSERT_EQ_INT(exited.flags & PROCMON_EXIT_WATCHDOG, PROCMON_EXIT_WATCHDOG);
  ASSERT_FAILS(procmon_report_unhealthy(pm, "nobody"), PROCMON_ERR_NOT_FOUND);
  ASSERT_FAILS(procmon_report_unhealthy(NULL, "sick"), PROCMON_ERR_INVALID);
  ASSERT_OK(procmon_stop(pm));
  WAIT_FOR(fx_state(pm, "sick") == PROCMON_STATE_STOPPED);
  ASSERT_FAILS(procmon_report_unhealthy(pm, "sick"), PROCMON_ERR_STATE);
  procmon_free(pm);
}

/* Two processes with `after`: the api, added first, waits (STARTING, pid 0) and
 * starts once the db is ready; procmon_stop stops the api first and the db only
 * once the api has exited (it takes 0.5 s to), observed through the events. */
void test_after_starts_in_order_and_stops_in_reverse(void) {
  procmon_t *pm = setup();
  procmon_spec_t *api = sh_spec("trap 'sleep 0.5; echo bye; exit 0' TERM; echo armed; " LOOP);
  const char *after[] = {"db", NULL};
  ASSERT_OK(procmon_spec_set_after(api, after));
  ASSERT_OK(procmon_spec_set_kill_time(api, 5));
  add_and_free(pm, "api", api);
  procmon_process_info_t info = info_of(pm, "api");
  ASSERT_EQ_INT(info.state, PROCMON_STATE_STARTING);
  ASSERT_EQ_INT(info.pid, 0);
  /* The db is ready once told to (the file appears), however slow the machine. */
  const char *go = task_tmpfile("db-go");
  char script[4400];
  snprintf(script, sizeof script, "while [ ! -e %s ]; do sleep 0.02; done; echo >&3; " LOOP, go);
  procmon_spec_t *db = sh_spec(script);
  ASSERT_OK(procmon_spec_set_readiness(db, PROCMON_READY_NOTIFY_FD, "3", 0));
  add_and_free(pm, "db", db);
  ASSERT_EQ_INT(info_of(pm, "api").pid, 0);
  FILE *go_file = fopen(go, "w");
  ASSERT_TRUE(go_file != NULL);
  fclose(go_file);
  WAIT_FOR(rec_count_events(&rec, "api", PROCMON_EVENT_READY) == 1);
  rec_event_t db_ready = event("db", PROCMON_EVENT_READY, 0);
  rec_event_t api_started = event("api", PROCMON_EVENT_STARTED, 0);
  ASSERT_CMP_INT(db_ready.seq, <, api_started.seq);
  ASSERT_EQ_INT(rec_count_events(&rec, "api", PROCMON_EVENT_STARTED), 1);
  WAIT_FOR(rec_has_line(&rec, "api", "armed"));

  double stop = task_now();
  ASSERT_OK(procmon_stop(pm));
  WAIT_FOR(rec_count_events(&rec, "db", PROCMON_EVENT_EXITED) == 1);
  rec_event_t api_exited = event("api", PROCMON_EVENT_EXITED, 0);
  rec_event_t db_exited = event("db", PROCMON_EVENT_EXITED, 0);
  ASSERT_CMP_INT(api_exited.seq, <, db_exited.seq);
  ASSERT_TRUE(rec_has_line(&rec, "api", "bye"));
  ASSERT_CMP_DBL(db_exited.at - stop, >=, 0.45); /* it waited for the api */
  ASSERT_EQ_INT(db_exited.signal, 15);
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, PROCMON_EVENT_KILLED), 0);
  procmon_free(pm);
}

/* Every bad argument: the documented code, and a message naming the setting. */
static void fails_naming(int code, const char *what) {
  ASSERT_EQ_INT(code, PROCMON_ERR_INVALID);
  const char *msg = procmon_last_error();
  if (!strstr(msg, what)) FAIL("the message \"%s\" does not name %s", msg, what);
}

void test_readiness_bad_input(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec(LOOP);
  const char *bad_fds[] = {"0", "1", "2", "-1", "abc", "1024", "99999", "", " 3", "3x"};
  for (size_t i = 0; i < sizeof bad_fds / sizeof bad_fds[0]; i++)
    fails_naming(procmon_spec_set_readiness(spec, PROCMON_READY_NOTIFY_FD, bad_fds[i], 0),
                 "NOTIFY_FD");
  fails_naming(procmon_spec_set_readiness(spec, PROCMON_READY_NOTIFY_FD, NULL, 0), "NOTIFY_FD");
  fails_naming(procmon_spec_set_readiness(spec, PROCMON_READY_LINE, "", 0), "LINE");
  fails_naming(procmon_spec_set_readiness(spec, PROCMON_READY_LINE, NULL, 0), "LINE");
  fails_naming(procmon_spec_set_readiness(spec, 4, NULL, 0), "readiness mode");
  fails_naming(procmon_spec_set_readiness(spec, -1, NULL, 0), "readiness mode");
  fails_naming(procmon_spec_set_readiness(spec, PROCMON_READY_SD_NOTIFY, NULL, NAN),
               "readiness timeout");
  fails_naming(procmon_spec_set_readiness(spec, PROCMON_READY_SD_NOTIFY, NULL, -1),
               "readiness timeout");
  fails_naming(procmon_spec_set_watchdog(spec, -0.5), "watchdog");
  fails_naming(procmon_spec_set_watchdog(spec, INFINITY), "watchdog");
  const char *empty_name[] = {"db", "", NULL};
  fails_naming(procmon_spec_set_after(spec, empty_name), "after");
  ASSERT_FAILS(procmon_spec_set_readiness(NULL, 0, NULL, 0), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_spec_set_watchdog(NULL, 1), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_spec_set_after(NULL, NULL), PROCMON_ERR_INVALID);
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_NOTIFY_FD, "3", 0));
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_NOTIFY_FD, "1023", 0));

  /* A watchdog without NOTIFY_FD or SD_NOTIFY: refused at procmon_add. */
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_LINE, "up", 0));
  ASSERT_OK(procmon_spec_set_watchdog(spec, 1));
  fails_naming(procmon_add(pm, "w", spec), "watchdog");
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_SD_NOTIFY, NULL, 0));
  ASSERT_OK(procmon_spec_set_watchdog(spec, 0));

  /* After naming itself, and a cycle: refused at procmon_add. */
  const char *self[] = {"me", NULL};
  ASSERT_OK(procmon_spec_set_after(spec, self));
  fails_naming(procmon_add(pm, "me", spec), "after");
  const char *b[] = {"b", NULL}, *a[] = {"a", NULL};
  ASSERT_OK(procmon_spec_set_after(spec, b));
  ASSERT_OK(procmon_add(pm, "a", spec));
  ASSERT_OK(procmon_spec_set_after(spec, a));
  fails_naming(procmon_add(pm, "b", spec), "cycle");
  ASSERT_FAILS(procmon_process_pid(pm, "b", &(int32_t){0}), PROCMON_ERR_NOT_FOUND);
  ASSERT_OK(procmon_spec_set_after(spec, NULL));
  ASSERT_OK(procmon_add(pm, "b", spec)); /* no order now: fine */
  procmon_spec_free(spec);
  procmon_free(pm);
}
