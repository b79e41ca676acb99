/* What a child gets: its program found in PATH, env, cwd, uid/gid, stdin, no
 * leaked descriptor, a clean signal state; what a failed spawn reports, and how
 * exit statuses and signals are reported. */
#define _GNU_SOURCE
#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* argv[0] without '/' is looked up in the host's PATH, as execvp does: a
 * directory where it is not executable is skipped; the child's own environment
 * (here empty) plays no part. */
void test_path_lookup(void) {
  const char *dir = task_tmpdir();
  char noexec_dir[4200], exec_dir[4200], path[9000];
  snprintf(noexec_dir, sizeof noexec_dir, "%s/a", dir);
  snprintf(exec_dir, sizeof exec_dir, "%s/b", dir);
  ASSERT_EQ_INT(mkdir(noexec_dir, 0700), 0);
  ASSERT_EQ_INT(mkdir(exec_dir, 0700), 0);
  snprintf(path, sizeof path, "%s/procmon-fixture", noexec_dir);
  int fd = open(path, O_WRONLY | O_CREAT, 0600); /* same name, not executable */
  ASSERT_TRUE(fd >= 0);
  close(fd);
  snprintf(path, sizeof path, "%s/procmon-fixture", exec_dir);
  ASSERT_EQ_INT(symlink(task_exe(), path), 0);
  snprintf(path, sizeof path, "%s:%s:%s", noexec_dir, exec_dir, getenv("PATH"));
  ASSERT_EQ_INT(setenv("PATH", path, 1), 0);

  procmon_t *pm = setup();
  /* One run each: PATH changes below only while nothing spawns (procmon reads
     it at each spawn, on its own thread; setenv meanwhile would be a race). */
  ASSERT_OK(procmon_set_min_restart_delay(pm, 60));
  const char *none[] = {NULL};
  procmon_process_options_t empty_env = {none, NULL, -1, -1, false};
  const char *mine[] = {"procmon-fixture", "child", "lines", "1", NULL};
  ASSERT_OK(procmon_add_process(pm, "mine", mine, &empty_env));
  const char *sh[] = {"sh", "-c", "echo found in PATH", NULL};
  ASSERT_OK(procmon_add_process(pm, "sh", sh, NULL));
  wait_line("mine", "line 1");
  wait_line("sh", "found in PATH");
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, PROCMON_EVENT_SPAWN_FAILED), 0);

  WAIT_FOR(rec_count_events(&rec, "mine", PROCMON_EVENT_RESTART_SCHEDULED) >= 1);
  WAIT_FOR(rec_count_events(&rec, "sh", PROCMON_EVENT_RESTART_SCHEDULED) >= 1);

  /* Found nowhere: ENOENT. Found only where it is not executable: EACCES. */
  snprintf(path, sizeof path, "%s", noexec_dir);
  ASSERT_EQ_INT(setenv("PATH", path, 1), 0);
  const char *missing[] = {"procmon-no-such-program-anywhere", NULL};
  ASSERT_OK(procmon_add_process(pm, "missing", missing, NULL));
  ASSERT_OK(procmon_add_process(pm, "noexec", mine, NULL));
  WAIT_FOR(rec_count_events(&rec, "missing", PROCMON_EVENT_SPAWN_FAILED) >= 1);
  WAIT_FOR(rec_count_events(&rec, "noexec", PROCMON_EVENT_SPAWN_FAILED) >= 1);
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, "missing", PROCMON_EVENT_SPAWN_FAILED, 0, &e));
  ASSERT_EQ_INT(e.error, ENOENT);
  ASSERT_TRUE(rec_event(&rec, "noexec", PROCMON_EVENT_SPAWN_FAILED, 0, &e));
  ASSERT_EQ_INT(e.error, EACCES);
  procmon_free(pm);
}

/* The child's real errno, no STARTED or EXITED, retried with backoff. */
void test_spawn_failure_is_reported_and_retried(void) {
  procmon_t *pm = setup();
  const char *argv[] = {"/nonexistent/procmon-test", NULL};
  ASSERT_OK(procmon_add_process(pm, "missing", argv, NULL));
  /* The spawn has failed when add_process returns: a backoff, no pid. */
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "missing", &info));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_BACKOFF);
  ASSERT_EQ_INT(info.pid, 0);
  ASSERT_EQ_INT(info.starts, 0);
  const char *not_exec[] = {"/dev/null", NULL}; /* not a regular file */
  ASSERT_OK(procmon_add_process(pm, "noexec", not_exec, NULL));
  procmon_process_options_t bad_cwd = {NULL, "/nonexistent/dir", -1, -1, false};
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
  ASSERT_OK(procmon_process_info(pm, "missing", &info));
  ASSERT_EQ_INT(info.starts, 0);
  procmon_free(pm);
}

/* Retries due at once (zero delay) keep failing: the monitor still answers, and
 * procmon_free returns. */
void test_zero_delay_spawn_failure_stays_responsive(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 0.0));
  ASSERT_OK(procmon_set_max_restart_delay(pm, 0.0));
  const char *argv[] = {"/nonexistent/procmon-zero-delay", NULL};
  ASSERT_OK(procmon_add_process(pm, "missing", argv, NULL));
  WAIT_FOR(rec_count_events(&rec, "missing", PROCMON_EVENT_SPAWN_FAILED) >= 100);
  task_watchdog_start(20, "calls while a spawn fails in a loop");
  int32_t pid = -1;
  ASSERT_OK(procmon_process_pid(pm, "missing", &pid));
  ASSERT_EQ_INT(pid, 0);
  ASSERT_OK(fx_add(pm, "other", "lines", "1"));
  WAIT_FOR(rec_has_line(&rec, "other", "line 1"));
  procmon_free(pm);
  task_watchdog_stop();
}

/* Exit statuses and terminating signals are reported apart, in EXITED and in
 * process_info. */
void test_exit_codes_and_signals(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 30)); /* one run each */
  ASSERT_OK(fx_add(pm, "zero", "exit", "0"));
  ASSERT_OK(fx_add(pm, "three", "exit", "3"));
  ASSERT_OK(fx_add(pm, "max", "exit", "255"));
  char sig[16];
  snprintf(sig, sizeof sig, "%d", SIGUSR1);
  ASSERT_OK(fx_add(pm, "usr1", "raise", sig));
  const struct {
    const char *name;
    int code, signal;
  } want[] = {{"zero", 0, 0}, {"three", 3, 0}, {"max", 255, 0}, {"usr1", -1, SIGUSR1}};
  for (size_t i = 0; i < 4; i++) {
    WAIT_FOR(rec_count_events(&rec, want[i].name, PROCMON_EVENT_EXITED) == 1);
    rec_event_t e;
    ASSERT_TRUE(rec_event(&rec, want[i].name, PROCMON_EVENT_EXITED, 0, &e));
    ASSERT_EQ_INT(e.exit_code, want[i].code);
    ASSERT_EQ_INT(e.signal, want[i].signal);
    ASSERT_CMP_DBL(e.uptime, >=, 0.0);
    ASSERT_CMP_DBL(e.uptime, <, 15.0);
    procmon_process_info_t info;
    ASSERT_OK(procmon_process_info(pm, want[i].name, &info));
    ASSERT_EQ_INT(info.last_exit_code, want[i].code);
    ASSERT_EQ_INT(info.last_signal, want[i].signal);
  }
  procmon_free(pm);
}

/* NULL inherits the host's environment; an empty list is an empty one. */
void test_env(void) {
  setenv("PROCMON_TEST_INHERITED", "from the host", 1);
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "inherit", "env", NULL));
  const char *none[] = {NULL};
  procmon_process_options_t empty = {none, NULL, -1, -1, false};
  ASSERT_OK(fx_add_opts(pm, "empty", "env", NULL, &empty));
  const char *mine[] = {"A=1", "B=two words", NULL};
  procmon_process_options_t given = {mine, NULL, -1, -1, false};
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
  procmon_process_options_t opts = {NULL, "/tmp", -1, -1, false};
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

/* Descriptors the host opened without O_CLOEXEC do not reach the child added
 * by `add`: it has exactly 0 (/dev/null), 1 and 2 (pipes). */
static void only_the_standard_descriptors(int (*add)(procmon_t *pm)) {
  int fd = open("/dev/null", O_RDONLY); /* deliberately inheritable */
  int fds[2];
  ASSERT_TRUE(fd >= 0);
  ASSERT_EQ_INT(pipe(fds), 0);
  ASSERT_EQ_INT(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, 0);
  procmon_t *pm = setup();
  ASSERT_OK(add(pm));
  wait_line("fds", "end of fds");
  size_t n = rec_count_lines(&rec, "fds");
  for (size_t i = 0; i + 1 < n; i++) {
    rec_line_t line;
    ASSERT_TRUE(rec_line(&rec, "fds", i, &line));
    int num = -1;
    if (sscanf(line.data, "fd %d", &num) != 1) FAIL("not an fd line: %s", line.data);
    if (num > 2) FAIL("a descriptor leaked into the child: %s", line.data);
    if (num == 0 && !strstr(line.data, "/dev/null")) FAIL("stdin: %s", line.data);
    if (num > 0 && !strstr(line.data, "pipe:")) FAIL("not a pipe: %s", line.data);
    free(line.data);
  }
  ASSERT_EQ_INT(n, 4);
  procmon_free(pm);
  close(fd);
  close(fds[0]);
  close(fds[1]);
}

static int add_plain(procmon_t *pm) { return fx_add(pm, "fds", "fds", NULL); }

/* A spec's process under AUTO: a cgroup of its own where this host can make
 * one (the monitor then holds its cgroup directory open), else a group. */
static int add_contained(procmon_t *pm) {
  const char *argv[] = {task_exe(), "child", "fds", NULL};
  procmon_spec_t *spec = procmon_spec_new(argv);
  ASSERT_TRUE(spec != NULL);
  ASSERT_OK(procmon_spec_set_containment(spec, PROCMON_CONTAIN_AUTO));
  int rc = procmon_add(pm, "fds", spec);
  procmon_spec_free(spec);
  return rc;
}

void test_no_descriptor_leaks(void) { only_the_standard_descriptors(add_plain); }

void test_no_descriptor_leaks_into_a_contained_child(void) {
  only_the_standard_descriptors(add_contained);
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
  procmon_process_options_t nobody = {NULL, "/", 65534, 65534, false};
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
