/* Callbacks that call back into the API: every function works from inside a
 * callback without deadlock, procmon_free included. */
#include "task.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static recorder_t rec;
static procmon_t *pm;
static atomic_int done;
static int codes[16];
static int32_t seen_pid;

/* On the first STARTED of "host", every kind of call, from the callback thread. */
static void call_everything(recorder_t *r, const rec_event_t *e) {
  (void)r;
  if (e->kind != PROCMON_EVENT_STARTED || strcmp(e->name, "host") || done) return;
  procmon_process_info_t info;
  int n = 0;
  codes[n++] = procmon_process_pid(pm, "host", &seen_pid);
  codes[n++] = procmon_process_info(pm, "host", &info);
  char *s = procmon_describe(pm);
  codes[n++] = s ? PROCMON_OK : PROCMON_ERR_INTERNAL;
  procmon_string_free(s);
  codes[n++] = fx_add(pm, "guest", "wait-term", NULL); /* spawns, from here */
  codes[n++] = procmon_stop_process(pm, "guest");
  codes[n++] = procmon_remove_process(pm, "guest");
  codes[n++] = procmon_set_threshold(pm, FX_THRESHOLD);
  codes[n++] = procmon_set_kill_time(pm, FX_KILL_TIME);
  codes[n++] = procmon_set_log_callback(pm, rec_log_cb, &rec);
  codes[n++] = procmon_set_event_callback(pm, rec_event_cb, &rec);
  codes[n++] = procmon_start_process(pm, "host");
  codes[n++] = procmon_stop(pm);
  codes[n++] = procmon_start(pm);
  codes[n++] = procmon_restart_all(pm);
  done = n;
}

/* On the first line of "host", calls from the log callback. */
static atomic_int line_done;
static int line_codes[8];

static void call_from_a_line(recorder_t *r, const rec_line_t *line) {
  (void)r;
  if (strcmp(line->name, "host") || line_done) return;
  procmon_process_info_t info;
  int n = 0;
  line_codes[n++] = procmon_process_info(pm, "host", &info);
  line_codes[n++] = fx_add(pm, "guest2", "wait-term", NULL);
  line_codes[n++] = procmon_remove_process(pm, "guest2");
  line_codes[n++] = procmon_set_log_callback(pm, rec_log_cb, &rec);
  line_codes[n++] = procmon_set_min_restart_delay(pm, FX_MIN_DELAY);
  char *s = procmon_describe(pm);
  line_codes[n++] = s ? PROCMON_OK : PROCMON_ERR_INTERNAL;
  procmon_string_free(s);
  line_done = n;
}

void test_api_from_a_callback(void) {
  rec_init(&rec);
  rec.on_event = call_everything;
  rec.on_line = call_from_a_line;
  pm = fx_monitor(&rec);
  ASSERT_OK(fx_add(pm, "host", "wait-term", NULL));
  WAIT_FOR(done > 0);
  for (int i = 0; i < done; i++) ASSERT_CODE(codes[i], PROCMON_OK);
  WAIT_FOR(line_done > 0);
  for (int i = 0; i < line_done; i++) ASSERT_CODE(line_codes[i], PROCMON_OK);
  WAIT_FOR(rec_count_events(&rec, "guest2", PROCMON_EVENT_EXITED) == 1);
  ASSERT_CMP_INT(seen_pid, >, 0);
  WAIT_FOR(rec_count_events(&rec, "guest", PROCMON_EVENT_EXITED) == 1);
  /* The monitor still works from outside. */
  ASSERT_OK(procmon_stop_process(pm, "host"));
  WAIT_FOR(rec_count_events(&rec, "host", PROCMON_EVENT_EXITED) >= 1);
  procmon_free(pm);
}

/* procmon_free from the callback of a line: returns, and the cleanup completes
 * right after that callback returns. */
static void free_on_line(recorder_t *r, const rec_line_t *line) {
  (void)r;
  if (strcmp(line->name, "victim") || done) return;
  procmon_free(pm);
  done = 1;
}

void test_free_from_a_callback(void) {
  int threads = fx_count_threads();
  rec_init(&rec);
  rec.on_line = free_on_line;
  pm = fx_monitor(&rec);
  ASSERT_OK(fx_add(pm, "victim", "wait-term", NULL)); /* pm is not ours after this */
  WAIT_FOR(done);
  rec_event_t started;
  ASSERT_TRUE(rec_event(&rec, "victim", PROCMON_EVENT_STARTED, 0, &started));
  WAIT_FOR(fx_gone(started.pid));
  WAIT_FOR(fx_count_threads() == threads);
  ASSERT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
  ASSERT_EQ_INT(errno, ECHILD);
  /* No callback ran after procmon_free: the line that triggered it was the last. */
  ASSERT_EQ_INT(rec_count_lines(&rec, NULL), 1);
  ASSERT_EQ_INT(rec_count_events(&rec, "victim", PROCMON_EVENT_EXITED), 0);
}

/* procmon_free from an event callback, with children still running (one ignores
 * TERM): it does not block for the kill time, and afterwards every child is
 * reaped, every internal thread gone, and no callback runs again. */
static double free_took = -1;
static int32_t stubborn_pid;

static void free_on_exit(recorder_t *r, const rec_event_t *e) {
  (void)r;
  if (e->kind != PROCMON_EVENT_EXITED || strcmp(e->name, "quick") || done) return;
  double t0 = task_now();
  procmon_free(pm);
  free_took = task_now() - t0;
  done = 1;
}

void test_free_from_an_event_callback(void) {
  int threads = fx_count_threads();
  rec_init(&rec);
  rec.on_event = free_on_exit;
  pm = fx_monitor(&rec);
  ASSERT_OK(procmon_set_kill_time(pm, 3.0));
  ASSERT_OK(fx_add(pm, "stubborn", "ignore-term", NULL));
  ASSERT_OK(fx_add(pm, "polite", "wait-term", NULL));
  stubborn_pid = fx_pid(pm, "stubborn");
  int32_t polite = fx_pid(pm, "polite");
  WAIT_FOR(rec_count_lines(&rec, NULL) == 2); /* TERM is ignored from here */
  ASSERT_OK(fx_add(pm, "quick", "exit", "0")); /* pm is not ours after this */
  WAIT_FOR(done);
  ASSERT_CMP_DBL(free_took, <, 2.0); /* did not wait out the 3 s kill time */
  size_t lines = rec_count_lines(&rec, NULL), events = rec_count_events(&rec, NULL, 0);
  WAIT_FOR(fx_gone(polite) && fx_gone(stubborn_pid));
  WAIT_FOR(fx_count_threads() == threads);
  ASSERT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
  ASSERT_EQ_INT(errno, ECHILD);
  ASSERT_EQ_INT(rec_count_lines(&rec, NULL), lines);
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, 0), events);
}

/* set_log_callback from another thread waits for the call in progress of the old
 * callback, and only for it: once it returns, the old one is neither running nor
 * called again, and later lines, even of the batch being delivered (the fixture
 * writes its 3 lines in one write), go to the new one. */
static atomic_int old_running, old_calls, old_calls_after, new_calls, new_foo_calls;
static atomic_int swapped;

static void old_log(void *ud, const char *name, procmon_stream_t s, const char *l,
                    size_t len) {
  (void)ud, (void)name, (void)s, (void)l, (void)len;
  if (swapped) old_calls_after++;
  old_running = 1;
  old_calls++;
  struct timespec ts = {0, 200 * 1000 * 1000}; /* a slow consumer */
  nanosleep(&ts, NULL);
  old_running = 0;
}

static void new_log(void *ud, const char *name, procmon_stream_t s, const char *l,
                    size_t len) {
  (void)ud, (void)s, (void)l, (void)len;
  if (!strcmp(name, "bar")) new_calls++;
  if (!strcmp(name, "foo")) new_foo_calls++;
}

void test_set_callback_waits_for_a_call_in_progress(void) {
  pm = fx_monitor(NULL);
  ASSERT_OK(procmon_set_min_restart_delay(pm, 30)); /* one run each */
  ASSERT_OK(procmon_set_log_callback(pm, old_log, NULL));
  ASSERT_OK(fx_add(pm, "foo", "lines", "3"));
  WAIT_FOR(old_running);
  ASSERT_OK(procmon_set_log_callback(pm, new_log, NULL));
  swapped = 1;
  ASSERT_EQ_INT(old_running, 0);
  ASSERT_EQ_INT(old_calls, 1); /* not the rest of foo's batch */
  WAIT_FOR(new_foo_calls == 2);
  ASSERT_OK(fx_add(pm, "bar", "lines", "4"));
  WAIT_FOR(new_calls == 4);
  ASSERT_EQ_INT(old_calls_after, 0);
  /* Removed: nothing is called any more. */
  ASSERT_OK(procmon_set_log_callback(pm, NULL, NULL));
  ASSERT_OK(fx_add(pm, "baz", "lines", "4"));
  WAIT_FOR(fx_state(pm, "baz") == PROCMON_STATE_BACKOFF);
  procmon_free(pm);
  ASSERT_EQ_INT(new_calls, 4);
  ASSERT_EQ_INT(old_calls_after, 0);
}
