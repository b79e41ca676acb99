/* 0.2's per-process spec on real processes: stop signals, procmon_signal_process,
 * the environment on top of the inherited one, rlimits, the EXITED event's
 * timestamp, flags and resource use, the start limit, hosts that reap children
 * themselves, and every bad argument of the spec's functions. */
#define _GNU_SOURCE
#include "task.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static recorder_t rec;

static procmon_t *setup(void) {
  rec_init(&rec);
  return fx_monitor(&rec);
}

static procmon_spec_t *sh_spec(const char *script) {
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  procmon_spec_t *spec = procmon_spec_new(argv);
  ASSERT_TRUE(spec != NULL);
  return spec;
}

/* Adds `name` running `script` with `spec`'s settings, then frees the spec. */
static void add_and_free(procmon_t *pm, const char *name, procmon_spec_t *spec) {
  ASSERT_OK(procmon_add(pm, name, spec));
  procmon_spec_free(spec);
}

static void wait_line(const char *name, const char *text) {
  WAIT_FOR(rec_has_line(&rec, name, text));
}

static void wait_events(const char *name, int kind, size_t n) {
  WAIT_FOR(rec_count_events(&rec, name, kind) >= n);
}

static rec_event_t event(const char *name, int kind, size_t i) {
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, name, kind, i, &e));
  return e;
}

static double wall_now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

#define LOOP "while :; do sleep 0.05; done"

/* A stop sends the spec's stop signal: a child that traps INT exits 0 from its
 * trap; under ON_FAILURE that is a success, and the process stays STOPPED. */
void test_stop_signal_reaches_a_child_trapping_it(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("trap 'echo got INT; exit 0' INT; echo ready; " LOOP);
  ASSERT_OK(procmon_spec_set_stop_signal(spec, SIGINT));
  ASSERT_OK(procmon_spec_set_restart(spec, PROCMON_RESTART_ON_FAILURE));
  add_and_free(pm, "int", spec);
  wait_line("int", "ready");
  ASSERT_OK(procmon_stop_process(pm, "int"));
  wait_events("int", PROCMON_EVENT_EXITED, 1);
  ASSERT_TRUE(rec_has_line(&rec, "int", "got INT"));
  rec_event_t exited = event("int", PROCMON_EVENT_EXITED, 0);
  ASSERT_EQ_INT(exited.exit_code, 0);
  ASSERT_EQ_INT(exited.flags, PROCMON_EXIT_EXPECTED | PROCMON_EXIT_REQUESTED);
  ASSERT_EQ_INT(rec_count_events(&rec, "int", PROCMON_EVENT_KILLED), 0);
  WAIT_FOR(fx_state(pm, "int") == PROCMON_STATE_STOPPED);
  task_let_pass(0.3);
  ASSERT_EQ_INT(rec_count_events(&rec, "int", PROCMON_EVENT_STARTED), 1);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* A child that ignores its stop signal is KILLed after the (spec's) kill time. */
void test_stop_signal_ignored_then_killed(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("trap '' INT; echo ready; " LOOP);
  ASSERT_OK(procmon_spec_set_stop_signal(spec, SIGINT));
  ASSERT_OK(procmon_spec_set_kill_time(spec, 0.2));
  ASSERT_OK(procmon_spec_set_restart(spec, PROCMON_RESTART_NEVER));
  add_and_free(pm, "deaf", spec);
  wait_line("deaf", "ready");
  double asked = task_now();
  ASSERT_OK(procmon_stop_process(pm, "deaf"));
  wait_events("deaf", PROCMON_EVENT_EXITED, 1);
  rec_event_t killed = event("deaf", PROCMON_EVENT_KILLED, 0);
  ASSERT_CMP_DBL(killed.at - asked, >=, 0.15);
  rec_event_t exited = event("deaf", PROCMON_EVENT_EXITED, 0);
  ASSERT_EQ_INT(exited.signal, SIGKILL);
  ASSERT_EQ_INT(exited.flags, PROCMON_EXIT_REQUESTED);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* procmon_signal_process: HUP reaches a child that counts them; it is neither a
 * stop nor a restart. */
void test_signal_process_hup(void) {
  procmon_t *pm = setup();
  add_and_free(pm, "hup",
               sh_spec("n=0; trap 'n=$((n+1)); echo hup $n' HUP; echo ready; " LOOP));
  wait_line("hup", "ready");
  ASSERT_OK(procmon_signal_process(pm, "hup", SIGHUP, false));
  wait_line("hup", "hup 1");
  ASSERT_OK(procmon_signal_process(pm, "hup", SIGHUP, false));
  wait_line("hup", "hup 2");
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "hup", &info));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_RUNNING);
  ASSERT_EQ_INT(info.starts, 1);
  ASSERT_EQ_INT(rec_count_events(&rec, "hup", PROCMON_EVENT_EXITED), 0);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* With whole_unit, the signal reaches the child's process group: a background
 * grandchild hears it too; without, only the child does. */
void test_signal_process_whole_unit(void) {
  procmon_t *pm = setup();
  add_and_free(pm, "unit",
               /* The grandchild lives as long as the child ($0 is its pid). */
               sh_spec("sh -c 'trap \"echo grandchild hup\" HUP; echo gready; "
                       "while kill -0 $0 2>/dev/null; do sleep 0.05; done' $$ & "
                       "trap 'echo parent hup' HUP; echo ready; " LOOP));
  wait_line("unit", "ready");
  wait_line("unit", "gready");
  ASSERT_OK(procmon_signal_process(pm, "unit", SIGHUP, false));
  wait_line("unit", "parent hup");
  task_let_pass(0.2);
  ASSERT_TRUE(!rec_has_line(&rec, "unit", "grandchild hup"));
  ASSERT_OK(procmon_signal_process(pm, "unit", SIGHUP, true));
  wait_line("unit", "grandchild hup");
  procmon_free(pm);
  rec_destroy(&rec);
}

void test_signal_process_bad_input(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("exit 0");
  ASSERT_OK(procmon_spec_set_restart(spec, PROCMON_RESTART_NEVER));
  add_and_free(pm, "once", spec);
  WAIT_FOR(fx_state(pm, "once") == PROCMON_STATE_STOPPED);
  ASSERT_FAILS(procmon_signal_process(pm, "once", SIGHUP, false), PROCMON_ERR_STATE);
  ASSERT_TRUE(strstr(procmon_last_error(), "not running") != NULL);
  ASSERT_FAILS(procmon_signal_process(pm, "nope", SIGHUP, false), PROCMON_ERR_NOT_FOUND);
  ASSERT_FAILS(procmon_signal_process(pm, "once", 0, false), PROCMON_ERR_INVALID);
  ASSERT_TRUE(strstr(procmon_last_error(), "signal") != NULL);
  ASSERT_FAILS(procmon_signal_process(pm, "once", 65, false), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_signal_process(NULL, "once", SIGHUP, false), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_signal_process(pm, NULL, SIGHUP, false), PROCMON_ERR_INVALID);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* A variable set on top of the inherited environment, and one removed from it;
 * and on top of a given base environment. */
void test_env_var_on_top_of_the_base(void) {
  ASSERT_EQ_INT(setenv("PROCMON_TEST_KEEP", "kept", 1), 0);
  ASSERT_EQ_INT(setenv("PROCMON_TEST_DROP", "dropped", 1), 0);
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec(
      "echo \"keep=$PROCMON_TEST_KEEP added=$PROCMON_ADDED drop=${PROCMON_TEST_DROP-unset}\"");
  ASSERT_OK(procmon_spec_set_env_var(spec, "PROCMON_ADDED", "yes"));
  ASSERT_OK(procmon_spec_set_env_var(spec, "PROCMON_TEST_DROP", NULL));
  ASSERT_OK(procmon_spec_set_restart(spec, PROCMON_RESTART_NEVER));
  add_and_free(pm, "inherit", spec);
  wait_line("inherit", "keep=kept added=yes drop=unset");

  spec = sh_spec("echo \"A=$A B=$B keep=${PROCMON_TEST_KEEP-unset}\"");
  const char *base[] = {"A=1", "B=old", NULL};
  ASSERT_OK(procmon_spec_set_env(spec, base));
  ASSERT_OK(procmon_spec_set_env_var(spec, "B", "2"));
  ASSERT_OK(procmon_spec_set_restart(spec, PROCMON_RESTART_NEVER));
  add_and_free(pm, "base", spec);
  wait_line("base", "A=1 B=2 keep=unset");
  procmon_free(pm);
  rec_destroy(&rec);
}

/* RLIMIT_NOFILE and RLIMIT_CORE as the child sees them. */
void test_rlimits_seen_by_the_child(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("echo nofile=$(ulimit -n) hard=$(ulimit -Hn) core=$(ulimit -c)");
  ASSERT_OK(procmon_spec_set_rlimit(spec, RLIMIT_NOFILE, 100, 200));
  ASSERT_OK(procmon_spec_set_rlimit(spec, RLIMIT_CORE, 0, 0));
  ASSERT_OK(procmon_spec_set_restart(spec, PROCMON_RESTART_NEVER));
  add_and_free(pm, "limits", spec);
  wait_line("limits", "nofile=100 hard=200 core=0");
  procmon_free(pm);
  rec_destroy(&rec);
}

/* A limit the kernel refuses at spawn (a hard limit above the host's, without
 * the privilege) is a SPAWN_FAILED with its errno. */
void test_rlimit_refused_is_a_spawn_failure(void) {
  if (geteuid() == 0) {
    printf("SKIP: as root every rlimit can be raised; run as a user to test EPERM\n");
    return;
  }
  struct rlimit host;
  ASSERT_EQ_INT(getrlimit(RLIMIT_NOFILE, &host), 0);
  if (host.rlim_max == RLIM_INFINITY) {
    printf("SKIP: the host's hard RLIMIT_NOFILE is unlimited\n");
    return;
  }
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("exit 0");
  ASSERT_OK(procmon_spec_set_rlimit(spec, RLIMIT_NOFILE, host.rlim_max + 1, host.rlim_max + 1));
  add_and_free(pm, "refused", spec);
  wait_events("refused", PROCMON_EVENT_SPAWN_FAILED, 1);
  ASSERT_EQ_INT(event("refused", PROCMON_EVENT_SPAWN_FAILED, 0).error, EPERM);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* EXITED says when it happened (wall clock), and what the run used. */
void test_exited_event_timestamp_and_resource_use(void) {
  procmon_t *pm = setup();
  const char *argv[] = {task_exe(), "child", "burn", "0.2", NULL};
  procmon_spec_t *spec = procmon_spec_new(argv);
  ASSERT_TRUE(spec != NULL);
  ASSERT_OK(procmon_spec_set_restart(spec, PROCMON_RESTART_NEVER));
  double before = wall_now();
  add_and_free(pm, "burn", spec);
  wait_events("burn", PROCMON_EVENT_EXITED, 1);
  double after = wall_now();
  rec_event_t started = event("burn", PROCMON_EVENT_STARTED, 0);
  rec_event_t exited = event("burn", PROCMON_EVENT_EXITED, 0);
  ASSERT_CMP_DBL(started.timestamp, >=, before - 0.01);
  ASSERT_CMP_DBL(exited.timestamp, >=, started.timestamp);
  ASSERT_CMP_DBL(exited.timestamp, <=, after + 0.01);
  ASSERT_EQ_INT(exited.exit_code, 0);
  ASSERT_EQ_INT(exited.flags, PROCMON_EXIT_EXPECTED);
  ASSERT_CMP_DBL(exited.user_cpu + exited.sys_cpu, >=, 0.15);
  ASSERT_CMP_DBL(exited.user_cpu + exited.sys_cpu, <, 5.0);
  ASSERT_CMP_INT(exited.max_rss_kib, >=, 20 * 1024);
  ASSERT_CMP_INT(exited.max_rss_kib, <, 1024 * 1024);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* A child that aborts with RLIMIT_CORE raised dumps core: CORE_DUMPED. */
void test_exited_event_core_dumped(void) {
  FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
  char pattern[256] = "";
  if (f) {
    if (!fgets(pattern, sizeof pattern, f)) pattern[0] = '\0';
    fclose(f);
  }
  if (pattern[0] == '\0' || pattern[0] == '\n') {
    printf("SKIP: core_pattern is empty: the kernel writes no core dump\n");
    return;
  }
  procmon_t *pm = setup();
  /* A shell, not this binary: a sanitizer's runtime in it would set RLIMIT_CORE
     back to 0 at its start. */
  const char *argv[] = {"/bin/sh", "-c", "kill -ABRT $$", NULL};
  procmon_spec_t *spec = procmon_spec_new(argv);
  ASSERT_TRUE(spec != NULL);
  ASSERT_OK(procmon_spec_set_rlimit(spec, RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY));
  ASSERT_OK(procmon_spec_set_cwd(spec, task_tmpdir())); /* where "core" goes */
  ASSERT_OK(procmon_spec_set_restart(spec, PROCMON_RESTART_NEVER));
  add_and_free(pm, "abort", spec);
  wait_events("abort", PROCMON_EVENT_EXITED, 1);
  rec_event_t exited = event("abort", PROCMON_EVENT_EXITED, 0);
  ASSERT_EQ_INT(exited.signal, SIGABRT);
  ASSERT_EQ_INT(exited.exit_code, -1);
  ASSERT_EQ_INT(exited.flags, PROCMON_EXIT_CORE_DUMPED);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* The start limit on real processes: a child that keeps failing gives up after
 * `burst` starts (GAVE_UP, FAILED), and procmon_start_process revives it. */
void test_start_limit_gives_up_and_start_process_revives(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("exit 1");
  ASSERT_OK(procmon_spec_set_start_limit(spec, 3, 60, 0));
  ASSERT_OK(procmon_spec_set_restart_delays(spec, 0, 0));
  add_and_free(pm, "flaky", spec);
  wait_events("flaky", PROCMON_EVENT_GAVE_UP, 1);
  WAIT_FOR(fx_state(pm, "flaky") == PROCMON_STATE_FAILED);
  ASSERT_EQ_INT(rec_count_events(&rec, "flaky", PROCMON_EVENT_STARTED), 3);
  ASSERT_CMP_DBL(event("flaky", PROCMON_EVENT_GAVE_UP, 0).delay, ==, 0.0);
  ASSERT_OK(procmon_start_process(pm, "flaky"));
  wait_events("flaky", PROCMON_EVENT_GAVE_UP, 2);
  ASSERT_EQ_INT(rec_count_events(&rec, "flaky", PROCMON_EVENT_STARTED), 6);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* A spec without settings behaves as procmon_add_process without options, and
 * one spec serves several adds. */
void test_spec_reused_for_several_adds(void) {
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("echo hello; " LOOP);
  ASSERT_OK(procmon_add(pm, "a", spec));
  ASSERT_OK(procmon_add(pm, "b", spec));
  ASSERT_FAILS(procmon_add(pm, "a", spec), PROCMON_ERR_EXISTS);
  procmon_spec_free(spec);
  wait_line("a", "hello");
  wait_line("b", "hello");
  char *text = procmon_describe(pm);
  ASSERT_TRUE(text != NULL);
  ASSERT_EQ_STR(text, "<ProcessMonitor 'a': ['/bin/sh', '-c', 'echo hello; " LOOP
                      "'] 'b': ['/bin/sh', '-c', 'echo hello; " LOOP "']>");
  procmon_string_free(text);
  procmon_free(pm);
  rec_destroy(&rec);
}

static volatile sig_atomic_t reaped_by_host;

static void reap_everything(int signo) {
  (void)signo;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) reaped_by_host++;
  errno = saved;
}

/* Every EXITED of `name` is either a real status or flagged STATUS_UNKNOWN with
 * exit code -1 and signal 0; returns how many were unknown. */
static size_t check_exits(const char *name, int code) {
  size_t unknown = 0;
  size_t n = rec_count_events(&rec, name, PROCMON_EVENT_EXITED);
  for (size_t i = 0; i < n; i++) {
    rec_event_t e = event(name, PROCMON_EVENT_EXITED, i);
    if (e.flags & PROCMON_EXIT_STATUS_UNKNOWN) {
      ASSERT_EQ_INT(e.exit_code, -1);
      ASSERT_EQ_INT(e.signal, 0);
      ASSERT_EQ_INT(e.flags & PROCMON_EXIT_EXPECTED, 0);
      unknown++;
    } else {
      ASSERT_EQ_INT(e.exit_code, code);
    }
  }
  return unknown;
}

/* SIGCHLD set to SIG_IGN: the kernel reaps every child, procmon sees the exit
 * but not its status. Flagged, counted as a failure by ON_FAILURE (restarted,
 * even though the child exited 0), supervision goes on. */
void test_host_ignoring_sigchld(void) {
  signal(SIGCHLD, SIG_IGN);
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("exit 0");
  ASSERT_OK(procmon_spec_set_restart(spec, PROCMON_RESTART_ON_FAILURE));
  ASSERT_OK(procmon_spec_set_restart_delays(spec, 0.01, 0.01));
  add_and_free(pm, "ign", spec);
  wait_events("ign", PROCMON_EVENT_EXITED, 3);
  ASSERT_EQ_INT(check_exits("ign", 0), rec_count_events(&rec, "ign", PROCMON_EVENT_EXITED));
  procmon_free(pm);
  rec_destroy(&rec);
}

/* A SIGCHLD handler that reaps every child with waitpid(-1): whichever reaps a
 * child first, every EXITED is consistent and supervision goes on. */
void test_host_reaping_children_itself(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = reap_everything;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  ASSERT_EQ_INT(sigaction(SIGCHLD, &sa, NULL), 0);
  procmon_t *pm = setup();
  procmon_spec_t *spec = sh_spec("sleep 0.02; exit 3");
  ASSERT_OK(procmon_spec_set_restart_delays(spec, 0.01, 0.01));
  add_and_free(pm, "reaped", spec);
  wait_events("reaped", PROCMON_EVENT_EXITED, 5);
  size_t unknown = check_exits("reaped", 3);
  printf("%zu of the exits were reaped by the host's handler first (%d by it)\n", unknown,
         (int)reaped_by_host);
  ASSERT_CMP_INT(rec_count_events(&rec, "reaped", PROCMON_EVENT_STARTED), >=, 5);
  procmon_free(pm);
  rec_destroy(&rec);
}

#define ASSERT_INVALID_NAMING(call, word)                                          \
  do {                                                                             \
    ASSERT_FAILS(call, PROCMON_ERR_INVALID);                                       \
    if (!strstr(procmon_last_error(), word))                                       \
      FAIL("%s: the message \"%s\" does not name \"%s\"", #call, procmon_last_error(), \
           word);                                                                  \
  } while (0)

/* Every setter: a bad value is INVALID with a message naming the setting, and
 * the spec is left as it was. */
void test_spec_bad_input(void) {
  const char *empty[] = {NULL};
  const char *blank[] = {"", NULL};
  ASSERT_TRUE(procmon_spec_new(NULL) == NULL);
  ASSERT_TRUE(strstr(procmon_last_error(), "argv") != NULL);
  ASSERT_TRUE(procmon_spec_new(empty) == NULL);
  ASSERT_TRUE(strstr(procmon_last_error(), "argv") != NULL);
  ASSERT_TRUE(procmon_spec_new(blank) == NULL);
  ASSERT_TRUE(strstr(procmon_last_error(), "argv[0]") != NULL);

  ASSERT_INVALID_NAMING(procmon_spec_set_env(NULL, NULL), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_env_var(NULL, "A", "1"), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_cwd(NULL, "/"), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_user(NULL, 1, 1), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_threshold(NULL, 1), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_kill_time(NULL, 1), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_restart_delays(NULL, 1, 2), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_stop_signal(NULL, SIGINT), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_restart(NULL, 0), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_success_exit_codes(NULL, NULL, 0), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_start_limit(NULL, 1, 1, 0), "spec");
  ASSERT_INVALID_NAMING(procmon_spec_set_rlimit(NULL, RLIMIT_NOFILE, 1, 1), "spec");

  procmon_spec_t *spec = sh_spec("exit 0");
  const double bad[] = {NAN, -1.0, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ASSERT_INVALID_NAMING(procmon_spec_set_threshold(spec, bad[i]), "threshold");
    ASSERT_INVALID_NAMING(procmon_spec_set_kill_time(spec, bad[i]), "kill time");
    ASSERT_INVALID_NAMING(procmon_spec_set_restart_delays(spec, bad[i], 1), "minimum restart delay");
    ASSERT_INVALID_NAMING(procmon_spec_set_restart_delays(spec, 1, bad[i]), "maximum restart delay");
    ASSERT_INVALID_NAMING(procmon_spec_set_start_limit(spec, 1, bad[i], 0), "interval");
    ASSERT_INVALID_NAMING(procmon_spec_set_start_limit(spec, 1, 1, bad[i]), "retry_after");
  }
  ASSERT_INVALID_NAMING(procmon_spec_set_restart_delays(spec, 2, 1), "restart delay");
  ASSERT_INVALID_NAMING(procmon_spec_set_stop_signal(spec, 0), "stop signal");
  ASSERT_INVALID_NAMING(procmon_spec_set_stop_signal(spec, 65), "stop signal");
  ASSERT_INVALID_NAMING(procmon_spec_set_stop_signal(spec, -1), "stop signal");
  ASSERT_INVALID_NAMING(procmon_spec_set_stop_signal(spec, SIGKILL), "SIGKILL");
  ASSERT_INVALID_NAMING(procmon_spec_set_stop_signal(spec, SIGSTOP), "SIGSTOP");
  ASSERT_INVALID_NAMING(procmon_spec_set_restart(spec, 3), "restart policy");
  ASSERT_INVALID_NAMING(procmon_spec_set_restart(spec, -1), "restart policy");
  ASSERT_INVALID_NAMING(procmon_spec_set_rlimit(spec, 99, 1, 1), "rlimit");
  ASSERT_INVALID_NAMING(procmon_spec_set_rlimit(spec, -1, 1, 1), "rlimit");
  ASSERT_INVALID_NAMING(procmon_spec_set_rlimit(spec, RLIMIT_NOFILE, 2, 1), "soft");
  ASSERT_INVALID_NAMING(procmon_spec_set_env_var(spec, "", "1"), "environment variable");
  ASSERT_INVALID_NAMING(procmon_spec_set_env_var(spec, "A=B", "1"), "'='");
  ASSERT_INVALID_NAMING(procmon_spec_set_env_var(spec, NULL, "1"), "environment variable");
  const char *bad_env[] = {"=1", NULL};
  ASSERT_INVALID_NAMING(procmon_spec_set_env(spec, bad_env), "environment entry");
  ASSERT_INVALID_NAMING(procmon_spec_set_cwd(spec, ""), "working directory");
  ASSERT_INVALID_NAMING(procmon_spec_set_user(spec, 1LL << 40, -1), "uid");
  ASSERT_INVALID_NAMING(procmon_spec_set_user(spec, -1, 1LL << 40), "gid");
  ASSERT_INVALID_NAMING(procmon_spec_set_success_exit_codes(spec, NULL, 2), "success exit codes");

  /* Good values are taken, and a failed setter left the spec usable. */
  const int32_t codes[] = {0, 3};
  ASSERT_OK(procmon_spec_set_success_exit_codes(spec, codes, 2));
  ASSERT_OK(procmon_spec_set_success_exit_codes(spec, NULL, 0));
  ASSERT_OK(procmon_spec_set_rlimit(spec, RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY));
  ASSERT_OK(procmon_spec_set_start_limit(spec, 0, 0, 0));
  ASSERT_OK(procmon_spec_set_env(spec, NULL));
  ASSERT_OK(procmon_spec_set_cwd(spec, NULL));

  procmon_t *pm = setup();
  ASSERT_INVALID_NAMING(procmon_add(pm, "x", NULL), "spec");
  ASSERT_INVALID_NAMING(procmon_add(pm, NULL, spec), "name");
  ASSERT_INVALID_NAMING(procmon_add(pm, "", spec), "name");
  ASSERT_INVALID_NAMING(procmon_add(NULL, "x", spec), "monitor");
  ASSERT_OK(procmon_add(pm, "x", spec));
  procmon_spec_free(spec);
  procmon_spec_free(NULL);
  procmon_free(pm);
  rec_destroy(&rec);
}
