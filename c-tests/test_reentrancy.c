/* Callbacks that call back into the API: every function works from inside a
 * callback without deadlock, procmon_free included. */
#include "task.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

void test_api_from_a_callback(void) {
  rec_init(&rec);
  rec.on_event = call_everything;
  pm = fx_monitor(&rec);
  ASSERT_OK(fx_add(pm, "host", "wait-term", NULL));
  WAIT_FOR(done > 0);
  for (int i = 0; i < done; i++) ASSERT_CODE(codes[i], PROCMON_OK);
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
