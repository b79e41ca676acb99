/* procmon_free: every line delivered, every child reaped, and no thread,
 * descriptor, zombie or child left behind; about the kill time for a child that
 * ignores TERM. */
#include "task.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static recorder_t rec;

/* Every line written before the child could die reaches the callback. */
void test_free_delivers_every_line(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(procmon_set_kill_time(pm, 30)); /* TERM, not KILL, ends them */
  ASSERT_OK(fx_add(pm, "a", "lines-then-linger", "20000"));
  ASSERT_OK(fx_add(pm, "b", "lines-then-linger", "20000"));
  int32_t a = fx_pid(pm, "a"), b = fx_pid(pm, "b");
  /* Both block TERM before their first line: free while they still write. */
  WAIT_FOR(rec_count_lines(&rec, "a") > 0 && rec_count_lines(&rec, "b") > 0);
  procmon_free(pm);
  ASSERT_EQ_INT(rec_count_lines(&rec, "a"), 20001);
  ASSERT_EQ_INT(rec_count_lines(&rec, "b"), 20001);
  ASSERT_TRUE(rec_has_line(&rec, "a", "all written"));
  ASSERT_EQ_INT(rec_count_events(&rec, "a", PROCMON_EVENT_EXITED), 1);
  ASSERT_TRUE(fx_gone(a));
  ASSERT_TRUE(fx_gone(b));
  /* Reaped by the library: nothing left for us to wait for. */
  ASSERT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
  ASSERT_EQ_INT(errno, ECHILD);
  /* No callback after procmon_free returned. */
  size_t lines = rec_count_lines(&rec, NULL), events = rec_count_events(&rec, NULL, 0);
  double until = task_now() + 0.3;
  while (task_now() < until) task_nap();
  ASSERT_EQ_INT(rec_count_lines(&rec, NULL), lines);
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, 0), events);
}

/* A line still without '\n' when procmon_free stops its child is delivered, and
 * before the child's EXITED. */
void test_free_flushes_a_pending_partial_line(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(fx_add(pm, "p", "partial-then-linger", NULL));
  WAIT_FOR(rec_has_line(&rec, "p", "ready"));
  procmon_free(pm);
  ASSERT_EQ_INT(rec_count_lines(&rec, "p"), 2);
  ASSERT_TRUE(rec_has_line(&rec, "p", "pending"));
  rec_line_t last;
  rec_event_t exited;
  ASSERT_TRUE(rec_line(&rec, "p", 1, &last));
  ASSERT_TRUE(rec_event(&rec, "p", PROCMON_EVENT_EXITED, 0, &exited));
  ASSERT_EQ_INT(exited.signal, SIGTERM);
  ASSERT_CMP_INT(last.seq, <, exited.seq);
  free(last.data);
}

/* A child that ignores TERM: free returns after about the kill time. */
void test_free_with_a_child_ignoring_term(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(procmon_set_kill_time(pm, 1.0));
  ASSERT_OK(fx_add(pm, "stubborn", "ignore-term", NULL));
  ASSERT_OK(fx_add(pm, "polite", "wait-term", NULL));
  WAIT_FOR(rec_count_lines(&rec, NULL) == 2);
  int32_t pid = fx_pid(pm, "stubborn");
  double t0 = task_now();
  procmon_free(pm);
  double took = task_now() - t0;
  ASSERT_CMP_DBL(took, >=, 0.9);
  ASSERT_CMP_DBL(took, <, 10.0);
  ASSERT_EQ_INT(rec_count_events(&rec, "stubborn", PROCMON_EVENT_KILLED), 1);
  ASSERT_EQ_INT(rec_count_events(&rec, "polite", PROCMON_EVENT_KILLED), 0);
  ASSERT_TRUE(fx_gone(pid));
}

/* Threads and descriptors come back to what they were; children are all gone. */
void test_free_leaves_nothing_behind(void) {
  int fds = fx_count_fds(), threads = fx_count_threads();
  int32_t pids[20];
  char name[16];
  for (int round = 0; round < 3; round++) {
    rec_init(&rec);
    procmon_t *pm = fx_monitor(&rec);
    ASSERT_CMP_INT(fx_count_threads(), <=, threads + 2); /* whatever the children */
    for (int i = 0; i < 20; i++) {
      snprintf(name, sizeof name, "c%d", i);
      ASSERT_OK(fx_add(pm, name, i % 2 ? "wait-term" : "ignore-term", NULL));
      pids[i] = fx_pid(pm, name);
    }
    ASSERT_CMP_INT(fx_count_threads(), <=, threads + 2);
    procmon_free(pm);
    ASSERT_EQ_INT(fx_count_fds(), fds);
    ASSERT_EQ_INT(fx_count_threads(), threads);
    for (int i = 0; i < 20; i++) ASSERT_TRUE(fx_gone(pids[i]));
    rec_destroy(&rec);
  }
  procmon_free(NULL); /* a no-op */
}
