/* What a child gets: its program found in PATH, env, cwd, uid/gid, stdin, no
 * leaked descriptor, a clean signal state; and what a failed spawn reports. */
#define _GNU_SOURCE
#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static recorder_t rec;

static procmon_t *setup(void) {
  rec_init(&rec);
  return fx_monitor(&rec);
}

/* Waits until `name` has written the line `text`. */
static void wait_line(const char *name, const char *text) {
  WAIT_FOR(rec_has_line(&rec, name, text));
}

void test_path_lookup(void) {
  procmon_t *pm = setup();
  const char *argv[] = {"sh", "-c", "echo found in PATH", NULL};
  ASSERT_OK(procmon_add_process(pm, "sh", argv, NULL));
  wait_line("sh", "found in PATH");
  const char *missing[] = {"procmon-no-such-program-anywhere", NULL};
  ASSERT_OK(procmon_add_process(pm, "missing", missing, NULL));
  WAIT_FOR(rec_count_events(&rec, "missing", PROCMON_EVENT_SPAWN_FAILED) >= 1);
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, "missing", PROCMON_EVENT_SPAWN_FAILED, 0, &e));
  ASSERT_EQ_INT(e.error, ENOENT);
  procmon_free(pm);
}

/* The child's real errno, no STARTED or EXITED, retried with backoff. */
void test_spawn_failure_is_reported_and_retried(void) {
  procmon_t *pm = setup();
  const char *argv[] = {"/nonexistent/procmon-test", NULL};
  ASSERT_OK(procmon_add_process(pm, "missing", argv, NULL));
  const char *not_exec[] = {"/dev/null", NULL}; /* not a regular file */
  ASSERT_OK(procmon_add_process(pm, "noexec", not_exec, NULL));
  procmon_process_options_t bad_cwd = {NULL, "/nonexistent/dir", -1, -1};
  ASSERT_OK(fx_add_opts(pm, "badcwd", "lines", NULL, &bad_cwd));
  WAIT_FOR(rec_count_events(&rec, "missing", PROCMON_EVENT_SPAWN_FAILED) >= 3);
  WAIT_FOR(rec_count_events(&rec, "noexec", PROCMON_EVENT_SPAWN_FAILED) >= 1);
  WAIT_FOR(rec_count_events(&rec, "badcwd", PROCMON_EVENT_SPAWN_FAILED) >= 1);
  rec_event_t e;
  for (size_t i = 0; i < 3; i++) {
    ASSERT_TRUE(rec_event(&rec, "missing", PROCMON_EVENT_SPAWN_FAILED, i, &e));
    ASSERT_EQ_INT(e.error, ENOENT);
  }
  ASSERT_TRUE(rec_event(&rec, "noexec", PROCMON_EVENT_SPAWN_FAILED, 0, &e));
  ASSERT_EQ_INT(e.error, EACCES);
  ASSERT_TRUE(rec_event(&rec, "badcwd", PROCMON_EVENT_SPAWN_FAILED, 0, &e));
  ASSERT_EQ_INT(e.error, ENOENT);
  rec_event_t first, second;
  ASSERT_TRUE(rec_event(&rec, "missing", PROCMON_EVENT_RESTART_SCHEDULED, 0, &first));
  ASSERT_TRUE(rec_event(&rec, "missing", PROCMON_EVENT_RESTART_SCHEDULED, 1, &second));
  ASSERT_CMP_DBL(second.delay, >, first.delay * 1.9);
  ASSERT_EQ_INT(rec_count_events(&rec, "missing", PROCMON_EVENT_STARTED), 0);
  ASSERT_EQ_INT(rec_count_events(&rec, "missing", PROCMON_EVENT_EXITED), 0);
  procmon_free(pm);
}

/* NULL inherits the host's environment; an empty list is an empty one. */
void test_env(void) {
  setenv("PROCMON_TEST_INHERITED", "from the host", 1);
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "inherit", "env", NULL));
  const char *none[] = {NULL};
  procmon_process_options_t empty = {none, NULL, -1, -1};
  ASSERT_OK(fx_add_opts(pm, "empty", "env", NULL, &empty));
  const char *mine[] = {"A=1", "B=two words", NULL};
  procmon_process_options_t given = {mine, NULL, -1, -1};
  ASSERT_OK(fx_add_opts(pm, "given", "env", NULL, &given));
  wait_line("inherit", "end of env");
  wait_line("empty", "end of env");
  wait_line("given", "end of env");
  ASSERT_TRUE(rec_has_line(&rec, "inherit", "PROCMON_TEST_INHERITED=from the host"));
  ASSERT_EQ_INT(rec_count_lines(&rec, "empty"), 1);
  ASSERT_EQ_INT(rec_count_lines(&rec, "given"), 3);
  ASSERT_TRUE(rec_has_line(&rec, "given", "A=1"));
  ASSERT_TRUE(rec_has_line(&rec, "given", "B=two words"));
  procmon_free(pm);
}

void test_cwd(void) {
  procmon_t *pm = setup();
  procmon_process_options_t opts = {NULL, "/tmp", -1, -1};
  ASSERT_OK(fx_add_opts(pm, "tmp", "cwd", NULL, &opts));
  ASSERT_OK(fx_add(pm, "here", "cwd", NULL));
  char here[4096];
  ASSERT_TRUE(getcwd(here, sizeof here) != NULL);
  wait_line("tmp", "/tmp");
  wait_line("here", here);
  procmon_free(pm);
}

void test_stdin_is_dev_null(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "stdin", "stdin", NULL));
  wait_line("stdin", "stdin /dev/null read 0");
  procmon_free(pm);
}

/* Descriptors the host opened without O_CLOEXEC do not reach the child. */
void test_no_descriptor_leaks(void) {
  int fd = open("/dev/null", O_RDONLY); /* deliberately inheritable */
  int fds[2];
  ASSERT_TRUE(fd >= 0);
  ASSERT_EQ_INT(pipe(fds), 0);
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "fds", "fds", NULL));
  wait_line("fds", "end of fds");
  ASSERT_EQ_INT(rec_count_lines(&rec, "fds"), 4);
  ASSERT_TRUE(rec_has_line(&rec, "fds", "fd 0"));
  ASSERT_TRUE(rec_has_line(&rec, "fds", "fd 1"));
  ASSERT_TRUE(rec_has_line(&rec, "fds", "fd 2"));
  procmon_free(pm);
  close(fd);
  close(fds[0]);
  close(fds[1]);
}

/* A blocked and an ignored signal in the host are default again in the child. */
void test_signal_state_is_reset(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  ASSERT_EQ_INT(pthread_sigmask(SIG_BLOCK, &set, NULL), 0); /* threads inherit it */
  signal(SIGUSR2, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "sig", "sigstate", NULL));
  WAIT_FOR(rec_count_lines(&rec, "sig") == 2);
  ASSERT_TRUE(rec_has_line(&rec, "sig", "SigBlk:\t0000000000000000"));
  ASSERT_TRUE(rec_has_line(&rec, "sig", "SigIgn:\t0000000000000000"));
  procmon_free(pm);
}

/* As root: the child runs as the uid and gid, without supplementary groups. Not
 * root: switching uid is refused, a SPAWN_FAILED with EPERM. */
void test_uid_gid(void) {
  procmon_t *pm = setup();
  procmon_process_options_t nobody = {NULL, "/", 65534, 65534};
  const char *argv[] = {"/bin/sh", "-c", "echo \"$(id -u) $(id -g) [$(id -G)]\"", NULL};
  ASSERT_OK(procmon_add_process(pm, "ids", argv, &nobody));
  if (geteuid() == 0) {
    wait_line("ids", "65534 65534 [65534]");
  } else {
    WAIT_FOR(rec_count_events(&rec, "ids", PROCMON_EVENT_SPAWN_FAILED) >= 1);
    rec_event_t e;
    ASSERT_TRUE(rec_event(&rec, "ids", PROCMON_EVENT_SPAWN_FAILED, 0, &e));
    ASSERT_EQ_INT(e.error, EPERM);
  }
  procmon_free(pm);
}
