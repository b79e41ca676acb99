/* Fork safety: a monitor belongs to the process that made it. In a forked child
 * every call on it is PROCMON_ERR_STATE at once, with a message that says so, and
 * procmon_free lets go of it without touching the parent's threads, descriptors
 * or children; the parent's monitor goes on as before. */
#define _GNU_SOURCE
#include "task.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static recorder_t rec;

/* A child that writes a line every 20 ms for ever. */
static const char *TICKER = "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.02; done";

/* The last call failed with STATE and a message naming the owner. */
static void check_refused(int code, pid_t owner) {
  char want[64];
  snprintf(want, sizeof want, "belongs to process %d", (int)owner);
  ASSERT_CODE(code, PROCMON_ERR_STATE);
  const char *detail = procmon_last_error();
  if (!strstr(detail, want) || !strstr(detail, "forked child"))
    FAIL("the message does not say why: \"%s\"", detail);
}

/* In the forked child: every kind of call is refused at once, and procmon_free
 * returns at once. Exits with 0, or through FAIL (_exit(1)). */
static void in_the_child(procmon_t *pm, pid_t owner) {
  alarm(10); /* a call that hangs kills the child: the parent sees the signal */
  double start = task_now();
  int32_t pid = -1;
  check_refused(procmon_process_pid(pm, "ticker", &pid), owner);
  ASSERT_EQ_INT(pid, -1); /* outputs are written only on success */
  procmon_process_info_t info;
  check_refused(procmon_process_info(pm, "ticker", &info), owner);
  check_refused(procmon_set_threshold(pm, 2.0), owner);
  check_refused(procmon_set_log_callback(pm, NULL, NULL), owner);
  check_refused(procmon_set_event_callback(pm, NULL, NULL), owner);
  check_refused(procmon_stop_process(pm, "ticker"), owner);
  check_refused(procmon_restart_all(pm), owner);
  check_refused(procmon_stop(pm), owner);
  check_refused(fx_add(pm, "other", "live", "30"), owner);
  const procmon_record_t *record = NULL;
  check_refused(procmon_set_delivery(pm, PROCMON_DELIVERY_PULL), owner);
  check_refused(procmon_poll_fd(pm), owner);
  check_refused(procmon_next(pm, &record), owner);
  check_refused(procmon_shutdown(pm), owner);
  ASSERT_TRUE(procmon_describe(pm) == NULL);
  check_refused(PROCMON_ERR_STATE, owner);
  ASSERT_CMP_DBL(task_now() - start, <, 1.0);
  double before_free = task_now();
  procmon_free(pm);
  ASSERT_CMP_DBL(task_now() - before_free, <, 1.0);
  _exit(0);
}

void test_fork_child_is_refused_parent_unaffected(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(fx_add_sh(pm, "ticker", TICKER));
  WAIT_FOR(rec_count_lines(&rec, "ticker") >= 2);
  int32_t pid = fx_pid(pm, "ticker");
  ASSERT_CMP_INT(pid, >, 0);

  pid_t child = fork();
  ASSERT_CMP_INT(child, >=, 0);
  if (child == 0) in_the_child(pm, getppid());

  int status = 0;
  ASSERT_EQ_INT(waitpid(child, &status, 0), child);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    FAIL("the forked child failed (status 0x%x; signal %d)", status,
         WIFSIGNALED(status) ? WTERMSIG(status) : 0);

  /* The parent's monitor: its child still runs, same pid, and its lines keep coming. */
  size_t seen = rec_count_lines(&rec, "ticker");
  WAIT_FOR(rec_count_lines(&rec, "ticker") >= seen + 5);
  ASSERT_EQ_INT(fx_pid(pm, "ticker"), pid);
  ASSERT_EQ_INT(rec_count_events(&rec, "ticker", PROCMON_EVENT_EXITED), 0);
  ASSERT_EQ_INT(kill(pid, 0), 0);
  /* and it still takes calls */
  ASSERT_OK(procmon_set_threshold(pm, 2.0));
  ASSERT_OK(fx_add(pm, "second", "lines", "1"));
  WAIT_FOR(rec_has_line(&rec, "second", "line 1"));
  procmon_free(pm);
  ASSERT_TRUE(fx_gone(pid));
  rec_destroy(&rec);
}
