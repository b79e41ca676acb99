/* Real-process versions of Twisted's test_procmon.py: the seed's behaviour through
 * the C API, with real children. */
#include "task.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static recorder_t rec;

static procmon_t *setup(void) {
  rec_init(&rec);
  return fx_monitor(&rec);
}

/* A running monitor with two children, "foo" and "bar", both up and waiting. */
static procmon_t *setup_two_ready(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "foo", "wait-term", NULL));
  ASSERT_OK(fx_add(pm, "bar", "wait-term", NULL));
  WAIT_FOR(rec_count_lines(&rec, NULL) == 2);
  return pm;
}

/* Waits until `name` has `n` events of `kind`, and returns the n-th. */
static rec_event_t wait_event(const char *name, int kind, size_t n) {
  rec_event_t e;
  WAIT_FOR(rec_count_events(&rec, name, kind) >= n);
  ASSERT_TRUE(rec_event(&rec, name, kind, n - 1, &e));
  return e;
}

/* The uid/gid part only where set: (1:2), (1), (:2). */
void test_describe(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_stop(pm)); /* registered, not spawned */
  const char *argv[] = {"arg1", "it's", NULL};
  procmon_process_options_t both = {NULL, NULL, 1, 2, false}, uid = {NULL, NULL, 1, -1, false},
                            gid = {NULL, NULL, -1, 2, false};
  ASSERT_OK(procmon_add_process(pm, "foo", argv, &both));
  ASSERT_OK(procmon_add_process(pm, "bar", argv, NULL));
  ASSERT_OK(procmon_add_process(pm, "u", argv, &uid));
  ASSERT_OK(procmon_add_process(pm, "g", argv, &gid));
  char *s = procmon_describe(pm);
  ASSERT_EQ_STR(s,
                "<ProcessMonitor 'foo'(1:2): ['arg1', \"it's\"] 'bar': ['arg1', \"it's\"] "
                "'u'(1): ['arg1', \"it's\"] 'g'(:2): ['arg1', \"it's\"]>");
  procmon_string_free(s);
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, PROCMON_EVENT_STARTED), 0);
  procmon_free(pm);
}

/* Names and arguments are quoted as Python's repr() quotes strings. */
void test_describe_quotes_like_python(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_stop(pm));
  char *s = procmon_describe(pm);
  ASSERT_EQ_STR(s, "<ProcessMonitor >");
  procmon_string_free(s);
  const char *a1[] = {"say \"hi\"", "it's", "both ' \"", "back\\slash", NULL};
  const char *a2[] = {"tab\there", "nl\nhere", "cr\r", "", NULL};
  const char *a3[] = {"\x7f", "h\xc3\xa9llo \xe2\x98\x83", NULL};
  ASSERT_OK(procmon_add_process(pm, "it's", a1, NULL));
  ASSERT_OK(procmon_add_process(pm, "say \"x\"", a2, NULL));
  ASSERT_OK(procmon_add_process(pm, "ctl\x01", a3, NULL));
  s = procmon_describe(pm);
  ASSERT_EQ_STR(s, "<ProcessMonitor "
                   "\"it's\": ['say \"hi\"', \"it's\", 'both \\' \"', 'back\\\\slash'] "
                   "'say \"x\"': ['tab\\there', 'nl\\nhere', 'cr\\r', ''] "
                   "'ctl\\x01': ['\\x7f', 'h\xc3\xa9llo \xe2\x98\x83']>");
  procmon_string_free(s);
  /* Removing keeps the order of the others; adding again goes last. */
  ASSERT_OK(procmon_remove_process(pm, "it's"));
  ASSERT_OK(procmon_add_process(pm, "it's", a3, NULL));
  s = procmon_describe(pm);
  ASSERT_EQ_STR(s, "<ProcessMonitor "
                   "'say \"x\"': ['tab\\there', 'nl\\nhere', 'cr\\r', ''] "
                   "'ctl\\x01': ['\\x7f', 'h\xc3\xa9llo \xe2\x98\x83'] "
                   "\"it's\": ['\\x7f', 'h\xc3\xa9llo \xe2\x98\x83']>");
  procmon_string_free(s);
  procmon_free(pm);
}

void test_add_only_starts_when_running(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_stop(pm));
  ASSERT_OK(fx_add(pm, "foo", "wait-term", NULL));
  ASSERT_EQ_INT(fx_pid(pm, "foo"), 0);
  ASSERT_EQ_INT(fx_state(pm, "foo"), PROCMON_STATE_STOPPED);
  ASSERT_OK(procmon_start(pm));
  ASSERT_CMP_INT(fx_pid(pm, "foo"), >, 0);
  /* While running, the child has been spawned when add_process returns. */
  ASSERT_OK(fx_add(pm, "bar", "wait-term", NULL));
  ASSERT_CMP_INT(fx_pid(pm, "bar"), >, 0);
  procmon_free(pm);
}

void test_add_duplicate_name(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "foo", "wait-term", NULL));
  int32_t pid = fx_pid(pm, "foo");
  ASSERT_FAILS(fx_add(pm, "foo", "lines", NULL), PROCMON_ERR_EXISTS);
  ASSERT_EQ_INT(fx_pid(pm, "foo"), pid);
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_EQ_INT(info.starts, 1);
  procmon_free(pm);
}

/* The child gets TERM and is never restarted; the name can be added again at once,
 * before the old run has even exited. */
void test_remove(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "foo", "wait-term", NULL));
  WAIT_FOR(rec_has_line(&rec, "foo", "ready"));
  int32_t old = fx_pid(pm, "foo"), pid = 7;
  ASSERT_OK(procmon_remove_process(pm, "foo"));
  ASSERT_FAILS(procmon_process_pid(pm, "foo", &pid), PROCMON_ERR_NOT_FOUND);
  ASSERT_EQ_INT(pid, 7);
  ASSERT_OK(fx_add(pm, "foo", "wait-term", NULL));
  int32_t fresh = fx_pid(pm, "foo");
  ASSERT_CMP_INT(fresh, >, 0);
  ASSERT_CMP_INT(fresh, !=, old);
  /* The old run still reports its exit, under the same name. */
  rec_event_t exited = wait_event("foo", PROCMON_EVENT_EXITED, 1);
  ASSERT_EQ_INT(exited.pid, old);
  ASSERT_EQ_INT(exited.signal, SIGTERM);
  wait_event("foo", PROCMON_EVENT_STARTED, 2);
  task_let_pass(10 * FX_MIN_DELAY); /* past any restart of the old run */
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_STARTED), 2);
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_RESTART_SCHEDULED), 0);
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_EXITED), 1);
  ASSERT_EQ_INT(fx_pid(pm, "foo"), fresh);
  procmon_free(pm);
}

/* A child that ignores TERM: KILL after the kill time, KILLED and EXITED reported,
 * never restarted. */
void test_remove_kills_a_child_ignoring_term(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "foo", "ignore-term", NULL));
  WAIT_FOR(rec_has_line(&rec, "foo", "ready"));
  int32_t pid = fx_pid(pm, "foo");
  double t0 = task_now();
  ASSERT_OK(procmon_remove_process(pm, "foo"));
  rec_event_t killed = wait_event("foo", PROCMON_EVENT_KILLED, 1);
  rec_event_t exited = wait_event("foo", PROCMON_EVENT_EXITED, 1);
  ASSERT_EQ_INT(killed.pid, pid);
  ASSERT_CMP_DBL(killed.at - t0, >=, FX_KILL_TIME * 0.9);
  ASSERT_EQ_INT(exited.pid, pid);
  ASSERT_EQ_INT(exited.signal, SIGKILL);
  ASSERT_EQ_INT(exited.exit_code, -1);
  ASSERT_CMP_INT(killed.seq, <, exited.seq);
  ASSERT_TRUE(fx_gone(pid));
  task_let_pass(10 * FX_MIN_DELAY);
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_STARTED), 1);
  procmon_free(pm);
}

/* A restart scheduled before the removal never happens. */
void test_remove_cancels_a_scheduled_restart(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 0.3));
  ASSERT_OK(fx_add(pm, "foo", "exit", "1"));
  wait_event("foo", PROCMON_EVENT_RESTART_SCHEDULED, 1);
  ASSERT_OK(procmon_remove_process(pm, "foo"));
  task_let_pass(0.8); /* past the cancelled restart's time */
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_STARTED), 1);
  procmon_free(pm);
}

void test_unknown_names(void) {
  procmon_t *pm = setup();
  int32_t pid = 7;
  procmon_process_info_t info;
  memset(&info, 0x5a, sizeof info);
  ASSERT_FAILS(procmon_remove_process(pm, "foo"), PROCMON_ERR_NOT_FOUND);
  ASSERT_FAILS(procmon_start_process(pm, "foo"), PROCMON_ERR_NOT_FOUND);
  ASSERT_FAILS(procmon_stop_process(pm, "foo"), PROCMON_ERR_NOT_FOUND);
  ASSERT_FAILS(procmon_process_pid(pm, "foo", &pid), PROCMON_ERR_NOT_FOUND);
  ASSERT_FAILS(procmon_process_info(pm, "foo", &info), PROCMON_ERR_NOT_FOUND);
  ASSERT_EQ_INT(pid, 7); /* out-parameters are written only on success */
  ASSERT_EQ_INT(info.pid, 0x5a5a5a5a);
  procmon_free(pm);
}

void test_start_process(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_stop(pm));
  ASSERT_OK(fx_add(pm, "foo", "wait-term", NULL));
  ASSERT_OK(procmon_start_process(pm, "foo"));
  int32_t pid = fx_pid(pm, "foo");
  ASSERT_CMP_INT(pid, >, 0);
  ASSERT_EQ_INT(fx_state(pm, "foo"), PROCMON_STATE_RUNNING);
  /* Already started: a no-op. */
  ASSERT_OK(procmon_start_process(pm, "foo"));
  ASSERT_EQ_INT(fx_pid(pm, "foo"), pid);
  WAIT_FOR(rec_count_events(&rec, "foo", PROCMON_EVENT_STARTED) == 1);
  procmon_free(pm);
}

/* TERM kills it after it lived past the threshold: restarted at once. */
void test_stop_natural_termination(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "foo", "wait-term", NULL));
  int32_t pid = fx_pid(pm, "foo");
  procmon_process_info_t info;
  WAIT_FOR(procmon_process_info(pm, "foo", &info) == PROCMON_OK &&
           info.uptime >= FX_THRESHOLD);
  ASSERT_OK(procmon_stop_process(pm, "foo"));
  rec_event_t exited = wait_event("foo", PROCMON_EVENT_EXITED, 1);
  ASSERT_EQ_INT(exited.pid, pid);
  ASSERT_EQ_INT(exited.signal, SIGTERM);
  ASSERT_EQ_INT(exited.exit_code, -1);
  rec_event_t again = wait_event("foo", PROCMON_EVENT_STARTED, 2);
  ASSERT_CMP_INT(again.pid, !=, pid);
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_RESTART_SCHEDULED), 0);
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_KILLED), 0);
  procmon_free(pm);
}

/* TERM ignored: KILL after the kill time, KILLED, then restarted. */
void test_stop_forced_kill(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "foo", "ignore-term", NULL));
  WAIT_FOR(rec_has_line(&rec, "foo", "ready"));
  int32_t pid = fx_pid(pm, "foo");
  double t0 = task_now();
  ASSERT_OK(procmon_stop_process(pm, "foo"));
  rec_event_t killed = wait_event("foo", PROCMON_EVENT_KILLED, 1);
  ASSERT_EQ_INT(killed.pid, pid);
  ASSERT_CMP_DBL(killed.at - t0, >=, FX_KILL_TIME * 0.9);
  rec_event_t exited = wait_event("foo", PROCMON_EVENT_EXITED, 1);
  ASSERT_EQ_INT(exited.signal, SIGKILL);
  ASSERT_CMP_INT(killed.seq, <, exited.seq);
  wait_event("foo", PROCMON_EVENT_STARTED, 2);
  procmon_free(pm);
}

/* Not running: stop_process is a no-op that raises nothing. */
void test_stop_already_stopped(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_stop(pm));
  ASSERT_OK(fx_add(pm, "foo", "wait-term", NULL));
  ASSERT_OK(procmon_stop_process(pm, "foo"));
  ASSERT_OK(procmon_stop_process(pm, "foo"));
  ASSERT_EQ_INT(fx_state(pm, "foo"), PROCMON_STATE_STOPPED);
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, 0), 0);
  procmon_free(pm);
}

/* A death after the threshold restarts at once and resets the delay. */
void test_long_lived_death_restarts_at_once(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "foo", "live", "0.7")); /* longer than FX_THRESHOLD */
  rec_event_t exited = wait_event("foo", PROCMON_EVENT_EXITED, 1);
  ASSERT_EQ_INT(exited.exit_code, 0);
  ASSERT_CMP_DBL(exited.uptime, >=, FX_THRESHOLD);
  wait_event("foo", PROCMON_EVENT_STARTED, 2);
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_RESTART_SCHEDULED), 0);
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_CMP_DBL(info.restart_delay, ==, FX_MIN_DELAY);
  ASSERT_EQ_INT(info.last_exit_code, 0);
  procmon_free(pm);
}

/* Instant deaths wait min, 2 min, 4 min, ... capped at max. */
void test_backoff_doubles_up_to_max(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_max_restart_delay(pm, 0.2));
  ASSERT_OK(fx_add(pm, "foo", "exit", "3"));
  const double want[] = {0.05, 0.1, 0.2, 0.2};
  for (size_t i = 0; i < 4; i++) {
    rec_event_t e = wait_event("foo", PROCMON_EVENT_RESTART_SCHEDULED, i + 1);
    ASSERT_CMP_DBL(e.delay, >, want[i] - 1e-9);
    ASSERT_CMP_DBL(e.delay, <, want[i] + 1e-9);
  }
  rec_event_t exited = wait_event("foo", PROCMON_EVENT_EXITED, 1);
  ASSERT_EQ_INT(exited.exit_code, 3);
  ASSERT_EQ_INT(exited.signal, 0);
  /* The restart came no sooner than the delay. */
  rec_event_t sched = wait_event("foo", PROCMON_EVENT_RESTART_SCHEDULED, 3);
  rec_event_t next = wait_event("foo", PROCMON_EVENT_STARTED, 4);
  ASSERT_CMP_DBL(next.at - sched.at, >=, 0.2 * 0.9);
  procmon_free(pm);
}

/* The seed's min/max test: the first instant death waits min, the next ones the
 * doubled delay capped at max. */
void test_min_max_restart_delay(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 0.1));
  ASSERT_OK(procmon_set_max_restart_delay(pm, 0.15));
  ASSERT_OK(fx_add(pm, "foo", "exit", "1"));
  const double want[] = {0.1, 0.15, 0.15};
  for (size_t i = 0; i < 3; i++) {
    rec_event_t e = wait_event("foo", PROCMON_EVENT_RESTART_SCHEDULED, i + 1);
    ASSERT_CMP_DBL(e.delay, >, want[i] - 1e-9);
    ASSERT_CMP_DBL(e.delay, <, want[i] + 1e-9);
  }
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_CMP_DBL(info.restart_delay, ==, 0.15);
  procmon_free(pm);
}

/* Three instant deaths double the delay; a run past the threshold then restarts
 * at once and resets the delay to min. */
void test_backoff_resets_after_a_long_run(void) {
  procmon_t *pm = setup();
  const char *args[] = {task_tmpfile("runs"), "3", "0.7", NULL}; /* 0.7 > threshold */
  ASSERT_OK(fx_addv(pm, "foo", NULL, "count", args));
  rec_event_t third = wait_event("foo", PROCMON_EVENT_RESTART_SCHEDULED, 3);
  ASSERT_CMP_DBL(third.delay, >, 4 * FX_MIN_DELAY - 1e-9);
  ASSERT_CMP_DBL(third.delay, <, 4 * FX_MIN_DELAY + 1e-9);
  rec_event_t long_run = wait_event("foo", PROCMON_EVENT_EXITED, 4);
  ASSERT_EQ_INT(long_run.exit_code, 0);
  ASSERT_CMP_DBL(long_run.uptime, >=, FX_THRESHOLD);
  rec_event_t next = wait_event("foo", PROCMON_EVENT_STARTED, 5);
  ASSERT_CMP_INT(long_run.seq, <, next.seq);
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_RESTART_SCHEDULED), 3);
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_CMP_DBL(info.restart_delay, ==, FX_MIN_DELAY);
  procmon_free(pm);
}

/* start_process during a backoff spawns at once, not at the scheduled time. */
void test_start_process_during_backoff(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 30));
  ASSERT_OK(fx_add(pm, "foo", "exit-once", task_tmpfile("ran")));
  wait_event("foo", PROCMON_EVENT_RESTART_SCHEDULED, 1);
  ASSERT_EQ_INT(fx_state(pm, "foo"), PROCMON_STATE_BACKOFF);
  ASSERT_EQ_INT(fx_pid(pm, "foo"), 0);
  double t0 = task_now();
  ASSERT_OK(procmon_start_process(pm, "foo"));
  ASSERT_EQ_INT(fx_state(pm, "foo"), PROCMON_STATE_RUNNING);
  ASSERT_CMP_INT(fx_pid(pm, "foo"), >, 0);
  WAIT_FOR(rec_has_line(&rec, "foo", "again"));
  ASSERT_CMP_DBL(task_now() - t0, <, 15.0); /* not the 30 s backoff */
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_STARTED), 2);
  procmon_free(pm);
}

/* process_info through a life: STOPPED, RUNNING, STOPPING, RUNNING again after
 * the forced kill, STOPPING and STOPPED when the service stops. */
void test_process_info_states(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_kill_time(pm, 1.0));
  ASSERT_OK(procmon_stop(pm));
  ASSERT_OK(fx_add(pm, "foo", "ignore-term", NULL));
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_STOPPED);
  ASSERT_EQ_INT(info.pid, 0);
  ASSERT_EQ_INT(info.starts, 0);
  ASSERT_CMP_DBL(info.uptime, ==, 0.0);
  ASSERT_CMP_DBL(info.restart_delay, ==, FX_MIN_DELAY);
  ASSERT_EQ_INT(info.last_exit_code, -1);
  ASSERT_EQ_INT(info.last_signal, 0);

  ASSERT_OK(procmon_start(pm));
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_RUNNING);
  ASSERT_CMP_INT(info.pid, >, 0);
  ASSERT_EQ_INT(info.starts, 1);
  int32_t first = info.pid;
  WAIT_FOR(rec_has_line(&rec, "foo", "ready"));
  WAIT_FOR(procmon_process_info(pm, "foo", &info) == PROCMON_OK && info.uptime > 0.0);

  ASSERT_OK(procmon_stop_process(pm, "foo"));
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_STOPPING);
  ASSERT_EQ_INT(info.pid, first);
  /* Killed after the kill time; it lived past the threshold: back at once. */
  wait_event("foo", PROCMON_EVENT_STARTED, 2);
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_RUNNING);
  ASSERT_EQ_INT(info.starts, 2);
  ASSERT_CMP_INT(info.pid, !=, first);
  ASSERT_EQ_INT(info.last_signal, SIGKILL);
  ASSERT_EQ_INT(info.last_exit_code, -1);
  WAIT_FOR(rec_count_lines(&rec, "foo") == 2);

  ASSERT_OK(procmon_stop(pm));
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_STOPPING);
  WAIT_FOR(fx_state(pm, "foo") == PROCMON_STATE_STOPPED);
  ASSERT_OK(procmon_process_info(pm, "foo", &info));
  ASSERT_EQ_INT(info.pid, 0);
  ASSERT_CMP_DBL(info.uptime, ==, 0.0);
  ASSERT_EQ_INT(info.starts, 2);
  ASSERT_EQ_INT(info.last_signal, SIGKILL);
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_KILLED), 2);
  procmon_free(pm);
}

/* The current delay starts at the min_restart_delay in force when it was added. */
void test_min_restart_delay_taken_at_add(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_stop(pm));
  ASSERT_OK(fx_add(pm, "early", "exit", "1"));
  ASSERT_OK(procmon_set_min_restart_delay(pm, 0.3));
  ASSERT_OK(fx_add(pm, "late", "exit", "1"));
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "early", &info));
  ASSERT_CMP_DBL(info.restart_delay, ==, FX_MIN_DELAY);
  ASSERT_OK(procmon_process_info(pm, "late", &info));
  ASSERT_CMP_DBL(info.restart_delay, ==, 0.3);
  procmon_free(pm);
}

void test_start_service(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_stop(pm));
  ASSERT_OK(fx_add(pm, "foo", "wait-term", NULL));
  ASSERT_OK(fx_add(pm, "bar", "wait-term", NULL));
  ASSERT_OK(procmon_start(pm));
  ASSERT_CMP_INT(fx_pid(pm, "foo"), >, 0);
  ASSERT_CMP_INT(fx_pid(pm, "bar"), >, 0);
  procmon_free(pm);
}

/* Every child stopped, none restarted. */
void test_stop_service(void) {
  procmon_t *pm = setup_two_ready();
  ASSERT_OK(procmon_stop(pm));
  wait_event("foo", PROCMON_EVENT_EXITED, 1);
  wait_event("bar", PROCMON_EVENT_EXITED, 1);
  WAIT_FOR(fx_state(pm, "foo") == PROCMON_STATE_STOPPED &&
           fx_state(pm, "bar") == PROCMON_STATE_STOPPED);
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, PROCMON_EVENT_STARTED), 2);
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, PROCMON_EVENT_RESTART_SCHEDULED), 0);
  procmon_free(pm);
}

void test_restart_all(void) {
  procmon_t *pm = setup_two_ready();
  int32_t foo = fx_pid(pm, "foo"), bar = fx_pid(pm, "bar");
  ASSERT_OK(procmon_restart_all(pm));
  wait_event("foo", PROCMON_EVENT_STARTED, 2);
  wait_event("bar", PROCMON_EVENT_STARTED, 2);
  WAIT_FOR(fx_pid(pm, "foo") > 0 && fx_pid(pm, "bar") > 0);
  ASSERT_CMP_INT(fx_pid(pm, "foo"), !=, foo);
  ASSERT_CMP_INT(fx_pid(pm, "bar"), !=, bar);
  procmon_free(pm);
}

/* stop cancels a scheduled restart; start after it starts the process once. */
void test_stop_service_cancels_restarts(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 0.5));
  ASSERT_OK(fx_add(pm, "foo", "exit-once", task_tmpfile("ran")));
  wait_event("foo", PROCMON_EVENT_RESTART_SCHEDULED, 1);
  ASSERT_EQ_INT(fx_state(pm, "foo"), PROCMON_STATE_BACKOFF);
  ASSERT_OK(procmon_stop(pm));
  ASSERT_EQ_INT(fx_state(pm, "foo"), PROCMON_STATE_STOPPED);
  task_let_pass(1.0); /* past the cancelled restart's time */
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_STARTED), 1);
  ASSERT_OK(procmon_start(pm));
  WAIT_FOR(rec_has_line(&rec, "foo", "again"));
  task_let_pass(1.0);
  ASSERT_EQ_INT(rec_count_events(&rec, "foo", PROCMON_EVENT_STARTED), 2);
  procmon_free(pm);
}
