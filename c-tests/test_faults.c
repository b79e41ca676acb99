/* Fault injection: process groups, the host dying, descriptor exhaustion, a
 * program that vanishes, a closed stdout, a gigabyte without a newline, races
 * with scheduled restarts, free during a flood, a blocked callback, and a soak.
 * Each checks that the monitor keeps working, or recovers, and leaves nothing. */
#define _GNU_SOURCE
#include "task.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static recorder_t rec;

/* ---- helpers --------------------------------------------------------------- */

/* Alive: /proc/PID/stat exists and its state is not Z (zombie) or X (dead). */
static int proc_alive(pid_t pid) { return fx_alive(pid); }

/* Whether every one of `n` pids is dead within `seconds`. */
static int all_dead_within(const pid_t *pids, int n, double seconds) {
  double end = task_now() + seconds;
  for (;;) {
    int alive = 0;
    for (int i = 0; i < n; i++) alive += proc_alive(pids[i]);
    if (!alive) return 1;
    if (task_now() > end) return 0;
    task_nap();
  }
}

/* A "VmXXX:" figure of /proc/self/status, in KiB. */
static long status_kib(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) FAIL("fopen /proc/self/status: %s", strerror(errno));
  char line[256];
  long kib = -1;
  size_t len = strlen(field);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, field, len) && line[len] == ':') kib = atol(line + len + 1);
  fclose(f);
  if (kib < 0) FAIL("no %s in /proc/self/status", field);
  return kib;
}

/* Nothing of ours is left to reap. */
static void assert_no_zombie(void) {
  errno = 0;
  ASSERT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
  ASSERT_EQ_INT(errno, ECHILD);
}

/* Runs `call`, failing the test if it took `bound` seconds or more. */
#define ASSERT_QUICK(bound, call)                                            \
  do {                                                                        \
    double t0_ = task_now();                                                  \
    call;                                                                     \
    double took_ = task_now() - t0_;                                          \
    if (took_ >= (bound)) FAIL("%s took %.3f s (bound %g s)", #call, took_,  \
                               (double)(bound));                              \
  } while (0)

/* ---- 1. process groups ----------------------------------------------------- */

/* A shell that starts two grandchildren in its process group: one that dies of
 * TERM, one that ignores it. Both outlive the shell (fixture "stray"). */
static const char family_script[] =
    "\"$0\" child stray \"$1\" term & \"$0\" child stray \"$1\" ignore & "
    "echo \"sh $$\"; wait";

typedef struct {
  pid_t sh, term, ignore;
} family_t;

/* Adds "family" and waits until the shell and both grandchildren have spoken;
 * `first` is the index of the family's first line in the recorder. */
static family_t start_family(procmon_t *pm, bool group, size_t first, int add) {
  static char watch[32];
  snprintf(watch, sizeof watch, "%d", (int)getpid());
  const char *argv[] = {"/bin/sh", "-c", family_script, task_exe(), watch, NULL};
  procmon_process_options_t opts = {NULL, NULL, -1, -1, group};
  if (add) ASSERT_OK(procmon_add_process(pm, "family", argv, &opts));
  WAIT_FOR(rec_count_lines(&rec, "family") >= first + 3);
  family_t f = {0, 0, 0};
  for (size_t i = first; i < first + 3; i++) {
    rec_line_t l;
    int pid;
    char kind[16];
    ASSERT_TRUE(rec_line(&rec, "family", i, &l));
    if (sscanf(l.data, "sh %d", &pid) == 1)
      f.sh = pid;
    else if (sscanf(l.data, "stray %d %15s", &pid, kind) == 2)
      *(strcmp(kind, "term") ? &f.ignore : &f.term) = pid;
    else
      FAIL("unexpected line from the family: %s", l.data);
    free(l.data);
  }
  ASSERT_TRUE(f.sh > 0 && f.term > 0 && f.ignore > 0);
  ASSERT_EQ_INT(fx_pid(pm, "family"), f.sh);
  /* One process group, led by the shell. */
  ASSERT_EQ_INT(getpgid(f.sh), f.sh);
  ASSERT_EQ_INT(getpgid(f.term), f.sh);
  ASSERT_EQ_INT(getpgid(f.ignore), f.sh);
  ASSERT_TRUE(proc_alive(f.term) && proc_alive(f.ignore));
  return f;
}

/* With stop_process_group (0.2: the group is the run's unit), procmon_stop ends
 * the shell and both grandchildren: TERM to the whole group, and KILL to what
 * is left of it (the TERM-ignoring one) after the kill time, though the shell
 * itself has exited (API.md "Containment"); procmon_start brings a new family,
 * which procmon_remove_process ends the same way. */
void test_process_group_stop_kills_grandchildren(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(procmon_set_kill_time(pm, 1.0));
  family_t f = start_family(pm, true, 0, 1);
  double t0 = task_now();
  ASSERT_OK(procmon_stop(pm));
  pid_t all[] = {f.sh, f.term, f.ignore};
  if (!all_dead_within(all, 3, 6.0)) {
    for (int i = 0; i < 3; i++) kill(all[i], SIGKILL);
    FAIL("after procmon_stop: sh %d %s, term %d %s, ignore %d %s", (int)f.sh,
         proc_alive(f.sh) ? "alive" : "dead", (int)f.term,
         proc_alive(f.term) ? "alive" : "dead", (int)f.ignore,
         proc_alive(f.ignore) ? "alive" : "dead");
  }
  ASSERT_CMP_DBL(task_now() - t0, >=, 0.8); /* the TERM-ignoring one had its kill time */
  WAIT_FOR(rec_count_events(&rec, "family", PROCMON_EVENT_EXITED) == 1);
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, "family", PROCMON_EVENT_EXITED, 0, &e));
  ASSERT_EQ_INT(e.signal, SIGTERM);
  WAIT_FOR(rec_count_events(&rec, "family", PROCMON_EVENT_KILLED) == 1);
  WAIT_FOR(fx_state(pm, "family") == PROCMON_STATE_STOPPED);

  /* The monitor still works: a new family, ended by remove. */
  ASSERT_OK(procmon_start(pm));
  family_t g = start_family(pm, true, 3, 0);
  ASSERT_TRUE(g.sh != f.sh);
  ASSERT_OK(procmon_remove_process(pm, "family"));
  pid_t again[] = {g.sh, g.term, g.ignore};
  if (!all_dead_within(again, 3, 6.0)) {
    for (int i = 0; i < 3; i++) kill(again[i], SIGKILL);
    FAIL("after procmon_remove_process: a member of the group survived");
  }
  task_watchdog_start(10, "procmon_free");
  procmon_free(pm);
  task_watchdog_stop();
  assert_no_zombie();
}

/* With stop_process_group, procmon_free ends the whole group too. */
void test_process_group_free_kills_grandchildren(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(procmon_set_kill_time(pm, 1.0));
  family_t f = start_family(pm, true, 0, 1);
  task_watchdog_start(10, "procmon_free");
  double t0 = task_now();
  procmon_free(pm);
  task_watchdog_stop();
  ASSERT_CMP_DBL(task_now() - t0, <, 6.0); /* the kill time (1 s), and the reaps */
  pid_t all[] = {f.sh, f.term, f.ignore};
  if (!all_dead_within(all, 3, 2.0)) {
    for (int i = 0; i < 3; i++) kill(all[i], SIGKILL);
    FAIL("after procmon_free: term %d %s, ignore %d %s", (int)f.term,
         proc_alive(f.term) ? "alive" : "dead", (int)f.ignore,
         proc_alive(f.ignore) ? "alive" : "dead");
  }
  ASSERT_EQ_INT(rec_count_events(&rec, "family", PROCMON_EVENT_EXITED), 1);
  assert_no_zombie();
}

/* Without the option only the shell is signalled: both grandchildren survive
 * procmon_stop and procmon_free (the one that would die of TERM never gets it),
 * and free does not wait for them though they hold the pipes. We kill them. */
void test_without_process_group_grandchildren_survive(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  family_t f = start_family(pm, false, 0, 1);
  ASSERT_OK(procmon_stop(pm));
  WAIT_FOR(rec_count_events(&rec, "family", PROCMON_EVENT_EXITED) == 1);
  ASSERT_TRUE(fx_gone(f.sh));
  task_let_pass(0.3);
  ASSERT_TRUE(proc_alive(f.term));
  ASSERT_TRUE(proc_alive(f.ignore));
  task_watchdog_start(10, "procmon_free with grandchildren holding the pipes");
  procmon_free(pm);
  task_watchdog_stop();
  ASSERT_TRUE(proc_alive(f.term));
  ASSERT_TRUE(proc_alive(f.ignore));
  kill(f.term, SIGKILL);
  kill(f.ignore, SIGKILL);
  pid_t strays[] = {f.term, f.ignore};
  ASSERT_TRUE(all_dead_within(strays, 2, 5.0));
  assert_no_zombie();
}

/* ---- 2. the host dies ------------------------------------------------------ */

#define HOST_CHILDREN 5

/* A host process with a monitor of HOST_CHILDREN children (one of them spawned
 * by a restart, from the timer) is killed with SIGKILL: every child dies of its
 * parent-death signal within 1 s. The children ("stray") would otherwise live
 * as long as this test process. */
void test_host_death_kills_children(void) {
  task_tmpdir(); /* made here, so that this process removes it */
  const char *runs = task_tmpfile("runs");
  int report[2];
  ASSERT_EQ_INT(pipe(report), 0);
  pid_t test = getpid();
  pid_t host = fork();
  ASSERT_TRUE(host >= 0);
  if (host == 0) {
    close(report[0]);
    procmon_t *pm = fx_monitor(NULL);
    char watch[32], name[16];
    snprintf(watch, sizeof watch, "%d", (int)test);
    int32_t pids[HOST_CHILDREN];
    const char *stray_args[] = {watch, "term", NULL};
    for (int i = 0; i < HOST_CHILDREN - 1; i++) {
      snprintf(name, sizeof name, "c%d", i);
      ASSERT_OK(fx_addv(pm, name, NULL, "stray", stray_args));
      pids[i] = fx_pid(pm, name);
    }
    /* Its first run exits 1 at once; the second, spawned by the restart timer,
     * sleeps 60 s. */
    const char *count_args[] = {runs, "1", "60", NULL};
    ASSERT_OK(fx_addv(pm, "restarted", NULL, "count", count_args));
    procmon_process_info_t info;
    WAIT_FOR(procmon_process_info(pm, "restarted", &info) == PROCMON_OK &&
             info.starts == 2 && info.state == PROCMON_STATE_RUNNING);
    pids[HOST_CHILDREN - 1] = info.pid;
    if (write(report[1], pids, sizeof pids) != (ssize_t)sizeof pids) _exit(3);
    while (getppid() == test) task_nap();
    _exit(0);
  }
  close(report[1]);
  int32_t pids[HOST_CHILDREN];
  size_t got = 0;
  while (got < sizeof pids) {
    ssize_t n = read(report[0], (char *)pids + got, sizeof pids - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) FAIL("the host ended before reporting its children's pids");
    got += (size_t)n;
  }
  close(report[0]);
  pid_t children[HOST_CHILDREN];
  for (int i = 0; i < HOST_CHILDREN; i++) {
    children[i] = pids[i];
    ASSERT_TRUE(proc_alive(children[i]));
    /* The host's children, not ours. */
    ASSERT_CMP_INT(children[i], !=, host);
  }
  double t0 = task_now();
  ASSERT_EQ_INT(kill(host, SIGKILL), 0);
  int status;
  ASSERT_EQ_INT(waitpid(host, &status, 0), host);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  if (!all_dead_within(children, HOST_CHILDREN, 1.0 - (task_now() - t0))) {
    char alive[256] = "";
    for (int i = 0; i < HOST_CHILDREN; i++)
      if (proc_alive(children[i])) {
        snprintf(alive + strlen(alive), sizeof alive - strlen(alive), " %d",
                 (int)children[i]);
        kill(children[i], SIGKILL);
      }
    FAIL("children alive 1 s after the host was killed:%s", alive);
  }
  printf("every child of the killed host gone %.3f s after the kill\n", task_now() - t0);
  assert_no_zombie();
}

/* ---- 3. descriptor exhaustion ---------------------------------------------- */

static int hogs[1024];
static int nhogs;

/* Lowers the soft RLIMIT_NOFILE to leave room for a few more descriptors, then
 * takes every free slot with copies of `src`, and gives back `spare` of them. */
static void exhaust(int src, rlim_t soft, int spare) {
  struct rlimit lim;
  ASSERT_EQ_INT(getrlimit(RLIMIT_NOFILE, &lim), 0);
  lim.rlim_cur = soft;
  ASSERT_EQ_INT(setrlimit(RLIMIT_NOFILE, &lim), 0);
  int fd;
  while ((fd = dup(src)) >= 0) {
    if (nhogs == (int)(sizeof hogs / sizeof hogs[0])) FAIL("too many free slots");
    hogs[nhogs++] = fd;
  }
  ASSERT_EQ_INT(errno, EMFILE);
  for (int i = 0; i < spare; i++) {
    ASSERT_TRUE(nhogs > 0);
    close(hogs[--nhogs]);
  }
}

static void release(void) {
  while (nhogs > 0) close(hogs[--nhogs]);
}

static int highest_fd(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) FAIL("opendir /proc/self/fd: %s", strerror(errno));
  int high = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' && atoi(e->d_name) > high) high = atoi(e->d_name);
  closedir(d);
  return high;
}

/* The SPAWN_FAILED events of `name` so far all carry `err`; returns how many. */
static size_t spawn_failures_with(const char *name, int err) {
  size_t n = rec_count_events(&rec, name, PROCMON_EVENT_SPAWN_FAILED);
  for (size_t i = 0; i < n; i++) {
    rec_event_t e;
    ASSERT_TRUE(rec_event(&rec, name, PROCMON_EVENT_SPAWN_FAILED, i, &e));
    if (e.error != err)
      FAIL("%s: SPAWN_FAILED %zu has errno %d (%s), want %d (%s)", name, i, e.error,
           strerror(e.error), err, strerror(err));
  }
  return n;
}

/* No descriptor left: spawns fail with EMFILE (SPAWN_FAILED, retried with a
 * doubling backoff), the API keeps answering (add_process is OK: the failure is
 * an event), procmon_new fails cleanly; with 4 free descriptors (both pipes fit,
 * the pidfd does not) too. Once the limit is back, the children start, and no
 * descriptor has leaked. */
void test_descriptor_exhaustion(void) {
  struct rlimit old;
  ASSERT_EQ_INT(getrlimit(RLIMIT_NOFILE, &old), 0);
  int fds = fx_count_fds(), threads = fx_count_threads();
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(procmon_set_max_restart_delay(pm, 0.4));
  int src = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_TRUE(src >= 0);
  rlim_t soft = (rlim_t)highest_fd() + 64;
  ASSERT_TRUE(soft <= old.rlim_cur);

  /* Not one descriptor free. */
  exhaust(src, soft, 0);
  ASSERT_TRUE(procmon_new() == NULL);
  const char *why = procmon_last_error();
  if (!strstr(why, "errno 24") || !strstr(why, "Too many open files"))
    FAIL("procmon_new without descriptors: unclear detail \"%s\"", why);
  printf("procmon_new without descriptors: NULL, \"%s\"\n", why);
  ASSERT_OK(fx_add(pm, "p", "wait-term", NULL));
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "p", &info));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_BACKOFF);
  ASSERT_EQ_INT(info.pid, 0);
  ASSERT_EQ_INT(info.starts, 0);
  WAIT_FOR(rec_count_events(&rec, "p", PROCMON_EVENT_SPAWN_FAILED) >= 4);
  ASSERT_CMP_INT(spawn_failures_with("p", EMFILE), >=, 4);
  rec_event_t r0, r1, r2;
  ASSERT_TRUE(rec_event(&rec, "p", PROCMON_EVENT_RESTART_SCHEDULED, 0, &r0));
  ASSERT_TRUE(rec_event(&rec, "p", PROCMON_EVENT_RESTART_SCHEDULED, 1, &r1));
  ASSERT_TRUE(rec_event(&rec, "p", PROCMON_EVENT_RESTART_SCHEDULED, 2, &r2));
  ASSERT_CMP_DBL(r1.delay, >, r0.delay * 1.9);
  ASSERT_CMP_DBL(r2.delay, >, r1.delay * 1.9);
  char *text = procmon_describe(pm);
  ASSERT_TRUE(text != NULL);
  procmon_string_free(text);
  ASSERT_OK(procmon_stop_process(pm, "p"));
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, PROCMON_EVENT_STARTED), 0);

  /* Four free: both pipes fit, the pidfd of clone(CLONE_PIDFD) does not. (Given
   * back from the hogs: "p" keeps retrying, and each try returns what it took.) */
  for (int i = 0; i < 4; i++) close(hogs[--nhogs]);
  ASSERT_OK(fx_add(pm, "q", "wait-term", NULL));
  ASSERT_EQ_INT(fx_state(pm, "q"), PROCMON_STATE_BACKOFF);
  WAIT_FOR(rec_count_events(&rec, "q", PROCMON_EVENT_SPAWN_FAILED) >= 2);
  ASSERT_CMP_INT(spawn_failures_with("q", EMFILE), >=, 2);
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, PROCMON_EVENT_STARTED), 0);
  assert_no_zombie(); /* a failed clone leaves no child */

  /* Recovery. */
  release();
  ASSERT_EQ_INT(setrlimit(RLIMIT_NOFILE, &old), 0);
  WAIT_FOR(rec_has_line(&rec, "p", "ready") && rec_has_line(&rec, "q", "ready"));
  ASSERT_EQ_INT(rec_count_events(&rec, "p", PROCMON_EVENT_STARTED), 1);
  ASSERT_EQ_INT(rec_count_events(&rec, "q", PROCMON_EVENT_STARTED), 1);
  ASSERT_EQ_INT(fx_state(pm, "p"), PROCMON_STATE_RUNNING);
  printf("spawn failures while exhausted: p %zu, q %zu (all EMFILE)\n",
         spawn_failures_with("p", EMFILE), spawn_failures_with("q", EMFILE));
  procmon_free(pm);
  close(src);
  ASSERT_EQ_INT(fx_count_fds(), fds);
  ASSERT_EQ_INT(fx_count_threads(), threads);
  assert_no_zombie();
}

/* ---- 4. a program that vanishes and reappears ------------------------------ */

/* Writes the script atomically (a file open for writing cannot be executed). */
static void write_script(const char *path) {
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.new", path);
  FILE *f = fopen(tmp, "w");
  ASSERT_TRUE(f != NULL);
  fputs("#!/bin/sh\necho run\nexit 3\n", f);
  ASSERT_EQ_INT(fclose(f), 0);
  ASSERT_EQ_INT(chmod(tmp, 0755), 0);
  ASSERT_EQ_INT(rename(tmp, path), 0);
}

/* A crash-looping script is deleted: SPAWN_FAILED ENOENT, retried with backoff;
 * once it is back, it runs again. */
void test_program_vanishes_and_reappears(void) {
  const char *path = task_tmpfile("prog.sh");
  write_script(path);
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(procmon_set_max_restart_delay(pm, 0.4));
  const char *argv[] = {path, NULL};
  ASSERT_OK(procmon_add_process(pm, "prog", argv, NULL));
  WAIT_FOR(rec_count_events(&rec, "prog", PROCMON_EVENT_EXITED) >= 1);
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, "prog", PROCMON_EVENT_EXITED, 0, &e));
  ASSERT_EQ_INT(e.exit_code, 3);
  ASSERT_TRUE(rec_has_line(&rec, "prog", "run"));

  ASSERT_EQ_INT(unlink(path), 0);
  WAIT_FOR(rec_count_events(&rec, "prog", PROCMON_EVENT_SPAWN_FAILED) >= 1);
  size_t started = rec_count_events(&rec, "prog", PROCMON_EVENT_STARTED);
  size_t lines = rec_count_lines(&rec, "prog");
  WAIT_FOR(rec_count_events(&rec, "prog", PROCMON_EVENT_SPAWN_FAILED) >= 3);
  ASSERT_CMP_INT(spawn_failures_with("prog", ENOENT), >=, 3);
  ASSERT_EQ_INT(rec_count_events(&rec, "prog", PROCMON_EVENT_STARTED), started);
  /* The delays keep growing up to the cap. */
  size_t nsched = rec_count_events(&rec, "prog", PROCMON_EVENT_RESTART_SCHEDULED);
  rec_event_t a, b;
  ASSERT_TRUE(rec_event(&rec, "prog", PROCMON_EVENT_RESTART_SCHEDULED, nsched - 2, &a));
  ASSERT_TRUE(rec_event(&rec, "prog", PROCMON_EVENT_RESTART_SCHEDULED, nsched - 1, &b));
  ASSERT_CMP_DBL(b.delay, >=, a.delay);
  ASSERT_CMP_DBL(b.delay, <=, 0.4 + 1e-9);
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "prog", &info));
  ASSERT_EQ_INT(info.pid, 0);
  ASSERT_EQ_INT(info.starts, started);

  write_script(path);
  WAIT_FOR(rec_count_events(&rec, "prog", PROCMON_EVENT_STARTED) > started &&
           rec_count_lines(&rec, "prog") > lines);
  WAIT_FOR(rec_count_events(&rec, "prog", PROCMON_EVENT_EXITED) > started);
  ASSERT_TRUE(rec_event(&rec, "prog", PROCMON_EVENT_EXITED, started, &e));
  ASSERT_EQ_INT(e.exit_code, 3);
  procmon_free(pm);
  assert_no_zombie();
}

/* ---- 5. a child that closes stdout ----------------------------------------- */

/* The stream of the first line `text` of `name`, or 0. */
static int stream_of(const char *name, const char *text) {
  int stream = 0;
  pthread_mutex_lock(&rec.mu);
  for (size_t i = 0; i < rec.nlines && !stream; i++)
    if (!strcmp(rec.lines[i].name, name) && !strcmp(rec.lines[i].data, text))
      stream = (int)rec.lines[i].stream;
  pthread_mutex_unlock(&rec.mu);
  return stream;
}

/* Lines before the close arrive; the child stays RUNNING, its stderr still
 * delivers; stop_process ends it with TERM. */
void test_closed_stdout_keeps_running(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(fx_add(pm, "c", "close-stdout", NULL));
  int32_t pid = fx_pid(pm, "c");
  WAIT_FOR(rec_has_line(&rec, "c", "stdout closed"));
  size_t ticks = rec_count_lines(&rec, "c");
  WAIT_FOR(rec_count_lines(&rec, "c") >= ticks + 3); /* stderr keeps working */
  ASSERT_TRUE(rec_has_line(&rec, "c", "before 1"));
  ASSERT_TRUE(rec_has_line(&rec, "c", "before 2"));
  /* Lines of the two streams are ordered per stream only. */
  ASSERT_EQ_INT(stream_of("c", "before 1"), PROCMON_STDOUT);
  ASSERT_EQ_INT(stream_of("c", "before 2"), PROCMON_STDOUT);
  ASSERT_EQ_INT(stream_of("c", "err tick"), PROCMON_STDERR);
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, "c", &info));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_RUNNING);
  ASSERT_EQ_INT(info.pid, pid);
  ASSERT_EQ_INT(rec_count_events(&rec, "c", PROCMON_EVENT_EXITED), 0);
  ASSERT_TRUE(proc_alive(pid));

  ASSERT_OK(procmon_stop_process(pm, "c"));
  WAIT_FOR(rec_count_events(&rec, "c", PROCMON_EVENT_EXITED) == 1);
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, "c", PROCMON_EVENT_EXITED, 0, &e));
  ASSERT_EQ_INT(e.signal, SIGTERM);
  ASSERT_EQ_INT(e.pid, pid);
  ASSERT_EQ_INT(rec_count_events(&rec, "c", PROCMON_EVENT_KILLED), 0);
  /* Restarted as after any exit: the new run says the same. */
  WAIT_FOR(rec_count_events(&rec, "c", PROCMON_EVENT_STARTED) == 2);
  ASSERT_OK(procmon_stop(pm));
  WAIT_FOR(rec_count_events(&rec, "c", PROCMON_EVENT_EXITED) == 2);
  procmon_free(pm);
  ASSERT_TRUE(fx_gone(pid));
  assert_no_zombie();
}

/* ---- 6. a gigabyte without a newline --------------------------------------- */

#define NOLINE_PERIOD 53

static struct {
  pthread_mutex_t mu;
  char ref[NOLINE_PERIOD + PROCMON_LINE_LIMIT];
  unsigned long long bytes, pieces, short_pieces, bad_pieces, other;
  unsigned long long first_bad; /* offset of the first bad piece + 1 */
  unsigned long long sum;       /* a running checksum of the bytes */
} big = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0, 0, 0, 0, 0, 0};

static void big_log(void *userdata, const char *name, procmon_stream_t stream,
                    const char *line, size_t len) {
  (void)userdata, (void)name;
  pthread_mutex_lock(&big.mu);
  if (stream != PROCMON_STDOUT) {
    big.other++;
  } else {
    size_t phase = (size_t)(big.bytes % NOLINE_PERIOD);
    if (len != PROCMON_LINE_LIMIT) big.short_pieces++;
    if (len > PROCMON_LINE_LIMIT || memcmp(line, big.ref + phase, len) != 0 ||
        line[len] != '\0') {
      if (!big.bad_pieces++) big.first_bad = big.bytes + 1;
    }
    /* Cheap: one byte in 4 KiB, with its offset. */
    for (size_t i = 0; i < len; i += 4096)
      big.sum += (unsigned char)line[i] * (big.bytes + i + 1);
    big.bytes += len;
    big.pieces++;
  }
  pthread_mutex_unlock(&big.mu);
}

static unsigned long long big_bytes(void) {
  pthread_mutex_lock(&big.mu);
  unsigned long long n = big.bytes;
  pthread_mutex_unlock(&big.mu);
  return n;
}

/* 1 GiB on stdout without a newline: every byte arrives, in order, in pieces of
 * exactly PROCMON_LINE_LIMIT; the test process's peak memory grows by less than
 * 64 MiB. PROCMON_GIGABYTE_BYTES overrides the size (for a quick run). */
void test_gigabyte_without_newline(void) {
  unsigned long long total = 1ULL << 30;
  const char *override = getenv("PROCMON_GIGABYTE_BYTES");
  if (override && *override) total = strtoull(override, NULL, 10);
  ASSERT_TRUE(total % PROCMON_LINE_LIMIT == 0);
  for (size_t i = 0; i < sizeof big.ref; i++) big.ref[i] = (char)('A' + i % NOLINE_PERIOD);
  unsigned long long want_sum = 0;
  for (unsigned long long off = 0; off < total; off += PROCMON_LINE_LIMIT)
    for (unsigned long long i = 0; i < PROCMON_LINE_LIMIT; i += 4096)
      want_sum += (unsigned long long)('A' + (off + i) % NOLINE_PERIOD) * (off + i + 1);

  rec_init(&rec);
  procmon_t *pm = fx_monitor(NULL);
  /* One run only: a death after this long is "instant", restarted in 1000 s. */
  ASSERT_OK(procmon_set_threshold(pm, 1e6));
  ASSERT_OK(procmon_set_min_restart_delay(pm, 1000));
  ASSERT_OK(procmon_set_max_restart_delay(pm, 1000));
  ASSERT_OK(procmon_set_log_callback(pm, big_log, NULL));
  ASSERT_OK(procmon_set_event_callback(pm, rec_event_cb, &rec));
  /* The peak so far is forgotten (clear_refs 5); the baseline is what is
   * resident now. */
  int clear = open("/proc/self/clear_refs", O_WRONLY);
  int cleared = clear >= 0 && write(clear, "5", 1) == 1;
  if (clear >= 0) close(clear);
  long base = cleared ? status_kib("VmRSS") : status_kib("VmHWM");

  char size[32];
  snprintf(size, sizeof size, "%llu", total);
  double t0 = task_now();
  ASSERT_OK(fx_add(pm, "big", "noline", size));
  double end = t0 + 120;
  while (big_bytes() < total || rec_count_events(&rec, "big", PROCMON_EVENT_EXITED) < 1) {
    if (task_now() > end)
      FAIL("timed out: %llu of %llu bytes after %.1f s", big_bytes(), total, task_now() - t0);
    task_nap();
  }
  double took = task_now() - t0;
  long peak = status_kib("VmHWM");
  procmon_free(pm);
  printf("%llu bytes in %.2f s (%.0f MiB/s); peak memory +%ld KiB (baseline %ld KiB%s)\n",
         total, took, (double)total / 1048576.0 / took, peak - base, base,
         cleared ? ", VmHWM reset" : ", VmHWM not reset");
  ASSERT_EQ_INT(big.bytes, total);
  ASSERT_EQ_INT(big.pieces, total / PROCMON_LINE_LIMIT);
  ASSERT_EQ_INT(big.short_pieces, 0);
  if (big.bad_pieces)
    FAIL("%llu pieces differ from the pattern, the first at offset %llu", big.bad_pieces,
         big.first_bad - 1);
  ASSERT_EQ_INT(big.sum, want_sum);
  ASSERT_EQ_INT(big.other, 0);
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, "big", PROCMON_EVENT_EXITED, 0, &e));
  ASSERT_EQ_INT(e.exit_code, 0);
  ASSERT_CMP_INT(peak - base, <, 64 * 1024);
}

/* ---- 7. stop / remove / restart_all racing a scheduled restart ------------ */

/* Checks the order of the recorded events: every STARTED pid is new, every
 * KILLED and EXITED pid belongs to a run still open, and for names in `strict`
 * (never removed and re-added) nothing but KILLED or EXITED comes while a run
 * is open. With `all_closed`, every run has ended. Returns the number of runs. */
static size_t check_event_order(const char *const *strict, int all_closed) {
  enum { MAXOPEN = 64 };
  struct {
    int32_t pid;
    char name[64];
  } open_runs[MAXOPEN];
  size_t nopen = 0, runs = 0;
  pthread_mutex_lock(&rec.mu);
  for (size_t i = 0; i < rec.nevents; i++) {
    const rec_event_t *e = &rec.events[i];
    size_t k = 0;
    int is_strict = 0;
    for (const char *const *s = strict; *s; s++) is_strict |= !strcmp(*s, e->name);
    switch (e->kind) {
      case PROCMON_EVENT_STARTED:
        for (k = 0; k < nopen; k++)
          if (open_runs[k].pid == e->pid) FAIL("event %zu: STARTED pid %d twice", i, e->pid);
        if (nopen == MAXOPEN) FAIL("too many open runs");
        open_runs[nopen].pid = e->pid;
        snprintf(open_runs[nopen].name, 64, "%s", e->name);
        nopen++;
        runs++;
        break;
      case PROCMON_EVENT_KILLED:
      case PROCMON_EVENT_EXITED:
        for (k = 0; k < nopen && open_runs[k].pid != e->pid; k++) {
        }
        if (k == nopen)
          FAIL("event %zu: %s for pid %d of %s, which is not running", i,
               e->kind == PROCMON_EVENT_KILLED ? "KILLED" : "EXITED", e->pid, e->name);
        if (strcmp(open_runs[k].name, e->name))
          FAIL("event %zu: pid %d started as %s ended as %s", i, e->pid, open_runs[k].name,
               e->name);
        if (e->kind == PROCMON_EVENT_EXITED) open_runs[k] = open_runs[--nopen];
        break;
      default: /* SPAWN_FAILED, RESTART_SCHEDULED */
        if (is_strict)
          for (k = 0; k < nopen; k++)
            if (!strcmp(open_runs[k].name, e->name))
              FAIL("event %zu: kind %d for %s while its run %d is open", i, e->kind, e->name,
                   open_runs[k].pid);
        break;
    }
    if (is_strict && e->kind == PROCMON_EVENT_STARTED) {
      size_t same = 0;
      for (k = 0; k < nopen; k++) same += !strcmp(open_runs[k].name, e->name);
      if (same > 1) FAIL("event %zu: %s has two runs at once", i, e->name);
    }
  }
  if (all_closed && nopen)
    FAIL("%zu runs never reported EXITED, e.g. pid %d of %s", nopen, open_runs[0].pid,
         open_runs[0].name);
  pthread_mutex_unlock(&rec.mu);
  return runs;
}

static void check_info(procmon_t *pm, const char *name, uint64_t *last_starts) {
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, name, &info));
  ASSERT_TRUE(info.state == PROCMON_STATE_STOPPED || info.state == PROCMON_STATE_RUNNING ||
              info.state == PROCMON_STATE_STOPPING || info.state == PROCMON_STATE_BACKOFF);
  if (info.state == PROCMON_STATE_RUNNING || info.state == PROCMON_STATE_STOPPING) {
    ASSERT_CMP_INT(info.pid, >, 0);
  } else {
    ASSERT_EQ_INT(info.pid, 0);
    ASSERT_CMP_DBL(info.uptime, ==, 0.0);
  }
  if (last_starts) {
    ASSERT_CMP_INT(info.starts, >=, *last_starts);
    *last_starts = info.starts;
  }
}

/* Crash-looping children with a restart delay of 0 or 2 ms, while stop_process,
 * remove+add, restart_all, stop+start and start_process hit them in a loop:
 * no crash, hang or zombie, consistent snapshots, well-ordered events, and a
 * clean final state. */
void test_stop_remove_restart_race_scheduled_restart(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(procmon_set_min_restart_delay(pm, 0));
  ASSERT_OK(procmon_set_max_restart_delay(pm, 0));
  ASSERT_OK(fx_add(pm, "a", "exit", "1"));
  ASSERT_OK(fx_add(pm, "b", "exit", "1"));
  ASSERT_OK(fx_add(pm, "c", "exit", "1"));
  uint64_t starts_a = 0, starts_c = 0;
  task_watchdog_start(40, "the race loop");
  double end = task_now() + 6;
  int iterations = 0;
  for (; iterations < 3000 && task_now() < end; iterations++) {
    if (iterations % 200 == 100) {
      ASSERT_OK(procmon_set_min_restart_delay(pm, 0.002));
      ASSERT_OK(procmon_set_max_restart_delay(pm, 0.002));
    } else if (iterations % 200 == 0) {
      ASSERT_OK(procmon_set_min_restart_delay(pm, 0));
      ASSERT_OK(procmon_set_max_restart_delay(pm, 0));
    }
    switch (iterations % 6) {
      case 0: ASSERT_OK(procmon_stop_process(pm, "a")); break;
      case 1:
        ASSERT_OK(procmon_remove_process(pm, "b"));
        ASSERT_OK(fx_add(pm, "b", "exit", "1"));
        break;
      case 2: ASSERT_OK(procmon_restart_all(pm)); break;
      case 3:
        ASSERT_OK(procmon_stop(pm));
        check_info(pm, "a", &starts_a);
        ASSERT_OK(procmon_start(pm));
        break;
      case 4: ASSERT_OK(procmon_start_process(pm, "c")); break;
      case 5: ASSERT_OK(procmon_stop_process(pm, "c")); break;
    }
    check_info(pm, "a", &starts_a);
    check_info(pm, "b", NULL);
    check_info(pm, "c", &starts_c);
  }
  task_watchdog_stop();

  /* Final state: stopped, nothing running, every run reported. */
  ASSERT_OK(procmon_stop(pm));
  const char *names[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) WAIT_FOR(fx_state(pm, names[i]) == PROCMON_STATE_STOPPED);
  procmon_process_info_t a, c;
  ASSERT_OK(procmon_process_info(pm, "a", &a));
  ASSERT_OK(procmon_process_info(pm, "c", &c));
  ASSERT_EQ_INT(a.pid, 0);
  WAIT_FOR(rec_count_events(&rec, "a", PROCMON_EVENT_STARTED) == a.starts &&
           rec_count_events(&rec, "c", PROCMON_EVENT_STARTED) == c.starts);
  WAIT_FOR(rec_count_events(&rec, NULL, PROCMON_EVENT_EXITED) ==
           rec_count_events(&rec, NULL, PROCMON_EVENT_STARTED));
  const char *strict[] = {"a", "c", NULL};
  size_t runs = check_event_order(strict, 1);
  task_watchdog_start(10, "procmon_free");
  procmon_free(pm);
  task_watchdog_stop();
  check_event_order(strict, 1);
  size_t n = rec_count_events(&rec, NULL, PROCMON_EVENT_STARTED);
  for (size_t i = 0; i < n; i++) {
    rec_event_t e;
    ASSERT_TRUE(rec_event(&rec, NULL, PROCMON_EVENT_STARTED, i, &e));
    ASSERT_TRUE(fx_gone(e.pid));
  }
  assert_no_zombie();
  printf("%d iterations, %zu runs, %zu spawn failures\n", iterations, runs,
         rec_count_events(&rec, NULL, PROCMON_EVENT_SPAWN_FAILED));
  ASSERT_CMP_INT(runs, >, 10);
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, PROCMON_EVENT_SPAWN_FAILED), 0);
}

/* ---- 8. procmon_free during a flood from 50 children ----------------------- */

#define FLOODERS 50

static struct {
  pthread_mutex_t mu;
  unsigned long next[FLOODERS]; /* the next sequence number due */
  unsigned long end[FLOODERS];  /* "end N": N */
  int ended[FLOODERS];
  unsigned long lines, bad;
  char first_bad[160];
} fl = {PTHREAD_MUTEX_INITIALIZER, {0}, {0}, {0}, 0, 0, ""};

static int flood_line_ok(const char *name, const char *line, size_t len, int *who) {
  int idx, used = 0;
  unsigned long seq;
  char tag[16];
  if (strlen(line) != len) return 0;
  if (sscanf(name, "f%d", &idx) != 1 || idx < 0 || idx >= FLOODERS) return 0;
  snprintf(tag, sizeof tag, "f%02d ", idx);
  if (strncmp(line, tag, 4)) return 0;
  *who = idx;
  if (!strncmp(line + 4, "end ", 4)) {
    if (sscanf(line + 8, "%lu%n", &seq, &used) != 1 || 8 + (size_t)used != len) return 0;
    if (fl.ended[idx]) return 0;
    fl.ended[idx] = 1;
    fl.end[idx] = seq;
    return 1;
  }
  if (fl.ended[idx]) return 0;
  if (sscanf(line + 4, "%lu %n", &seq, &used) != 1) return 0;
  if (seq != fl.next[idx]) return 0; /* lost, repeated or out of order */
  const char *payload = line + 4 + used;
  size_t plen = len - 4 - (size_t)used;
  if (plen != seq % 97) return 0;
  for (size_t k = 0; k < plen; k++)
    if (payload[k] != (char)('a' + (seq + k) % 26)) return 0;
  fl.next[idx]++;
  return 1;
}

static void flood_log(void *userdata, const char *name, procmon_stream_t stream,
                      const char *line, size_t len) {
  (void)userdata;
  pthread_mutex_lock(&fl.mu);
  int who = -1;
  fl.lines++;
  if (stream != PROCMON_STDOUT || !flood_line_ok(name, line, len, &who)) {
    if (!fl.bad++)
      snprintf(fl.first_bad, sizeof fl.first_bad, "%s (stream %d, %zu bytes): %.100s", name,
               (int)stream, len, line);
  }
  pthread_mutex_unlock(&fl.mu);
}

static int flooders_started(void) {
  int n = 0;
  pthread_mutex_lock(&fl.mu);
  for (int i = 0; i < FLOODERS; i++) n += fl.next[i] > 100;
  pthread_mutex_unlock(&fl.mu);
  return n;
}

/* procmon_free while 50 children flood: it returns in bounded time, every line
 * is whole and in order, every line written before the child ended (it says
 * how many) is delivered, no child or zombie is left. */
void test_free_during_flood_of_fifty(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(NULL);
  ASSERT_OK(procmon_set_kill_time(pm, 10)); /* TERM, not KILL, ends them */
  ASSERT_OK(procmon_set_log_callback(pm, flood_log, NULL));
  ASSERT_OK(procmon_set_event_callback(pm, rec_event_cb, &rec));
  pid_t pids[FLOODERS];
  char name[16];
  for (int i = 0; i < FLOODERS; i++) {
    snprintf(name, sizeof name, "f%02d", i);
    ASSERT_OK(fx_add(pm, name, "flood", name));
    pids[i] = fx_pid(pm, name);
  }
  WAIT_FOR(flooders_started() == FLOODERS);
  task_watchdog_start(30, "procmon_free during a flood");
  double t0 = task_now();
  procmon_free(pm);
  double took = task_now() - t0;
  task_watchdog_stop();
  printf("procmon_free took %.2f s; %lu lines delivered\n", took, fl.lines);
  if (fl.bad) FAIL("%lu bad lines, the first from %s", fl.bad, fl.first_bad);
  for (int i = 0; i < FLOODERS; i++) {
    if (!fl.ended[i]) FAIL("f%02d: no \"end\" line after %lu lines", i, fl.next[i]);
    if (fl.end[i] != fl.next[i])
      FAIL("f%02d wrote %lu lines, %lu delivered", i, fl.end[i], fl.next[i]);
    snprintf(name, sizeof name, "f%02d", i);
    ASSERT_EQ_INT(rec_count_events(&rec, name, PROCMON_EVENT_EXITED), 1);
    rec_event_t e;
    ASSERT_TRUE(rec_event(&rec, name, PROCMON_EVENT_EXITED, 0, &e));
    ASSERT_EQ_INT(e.exit_code, 0);
  }
  ASSERT_EQ_INT(rec_count_events(&rec, NULL, PROCMON_EVENT_KILLED), 0);
  for (int i = 0; i < FLOODERS; i++) ASSERT_TRUE(fx_gone(pids[i]));
  assert_no_zombie();
}

/* ---- 9. a callback that blocks for seconds --------------------------------- */

#define BLOCK_SECONDS 3.0

static struct {
  pthread_mutex_t mu;
  int started, done;
} blk = {PTHREAD_MUTEX_INITIALIZER, 0, 0};

static int blk_get(int *field) {
  pthread_mutex_lock(&blk.mu);
  int v = *field;
  pthread_mutex_unlock(&blk.mu);
  return v;
}

static void block_on_first_line(recorder_t *r, const rec_line_t *line) {
  (void)r;
  if (strcmp(line->name, "flood") || strcmp(line->data, "line 1")) return;
  pthread_mutex_lock(&blk.mu);
  blk.started = 1;
  pthread_mutex_unlock(&blk.mu);
  task_let_pass(BLOCK_SECONDS); /* the fault: a callback stuck for seconds */
  pthread_mutex_lock(&blk.mu);
  blk.done = 1;
  pthread_mutex_unlock(&blk.mu);
}

/* While the callback is stuck, API calls from this thread return at once, the
 * child's output backs up (it blocks on its pipe), and afterwards every line
 * and event is delivered, in order; free works. */
void test_blocked_callback_keeps_api_responsive(void) {
  rec_init(&rec);
  rec.on_line = block_on_first_line;
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(fx_add(pm, "flood", "lines-then-linger", "20000"));
  WAIT_FOR(blk_get(&blk.started));
  double t0 = task_now();
  int32_t pid = 0;
  procmon_process_info_t info;
  ASSERT_QUICK(1.5, ASSERT_OK(fx_add(pm, "other", "wait-term", NULL)));
  ASSERT_QUICK(1.5, ASSERT_OK(procmon_process_pid(pm, "other", &pid)));
  ASSERT_TRUE(pid > 0);
  ASSERT_QUICK(1.5, ASSERT_OK(procmon_process_info(pm, "flood", &info)));
  ASSERT_EQ_INT(info.state, PROCMON_STATE_RUNNING);
  ASSERT_QUICK(1.5, ASSERT_OK(procmon_stop_process(pm, "other")));
  ASSERT_QUICK(1.5, ASSERT_OK(procmon_set_threshold(pm, FX_THRESHOLD)));
  char *text = NULL;
  ASSERT_QUICK(1.5, text = procmon_describe(pm));
  ASSERT_TRUE(text != NULL);
  procmon_string_free(text);
  double calls = task_now() - t0;
  /* All of it happened while the callback was stuck. */
  ASSERT_TRUE(!blk_get(&blk.done));
  ASSERT_EQ_INT(rec_count_lines(&rec, "flood"), 1);
  ASSERT_EQ_INT(rec_count_events(&rec, "other", 0), 0);

  WAIT_FOR(rec_has_line(&rec, "flood", "all written"));
  ASSERT_EQ_INT(rec_count_lines(&rec, "flood"), 20001);
  for (size_t i = 0; i < 20000; i += 997) {
    rec_line_t l;
    char want[32];
    snprintf(want, sizeof want, "line %zu", i + 1);
    ASSERT_TRUE(rec_line(&rec, "flood", i, &l));
    ASSERT_EQ_STR(l.data, want);
    free(l.data);
  }
  WAIT_FOR(rec_count_events(&rec, "other", PROCMON_EVENT_EXITED) >= 1);
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, "other", 0, 0, &e));
  ASSERT_EQ_INT(e.kind, PROCMON_EVENT_STARTED);
  ASSERT_TRUE(rec_event(&rec, "other", PROCMON_EVENT_EXITED, 0, &e));
  ASSERT_EQ_INT(e.signal, SIGTERM);
  task_watchdog_start(10, "procmon_free after a blocked callback");
  procmon_free(pm);
  task_watchdog_stop();
  printf("API calls during the %.0f s block took %.3f s in all\n", BLOCK_SECONDS, calls);
  assert_no_zombie();
}

/* ---- 10. soak -------------------------------------------------------------- */

#define SOAK_CHILDREN 500

static struct {
  pthread_mutex_t mu;
  unsigned long started, exited, failed, scheduled, lines;
  unsigned long long_lived; /* EXITED with an uptime of the threshold or more */
  unsigned long clean;      /* EXITED with status 0: it wrote its line */
  double max_uptime;
} soak = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0, 0, 0, 0};

static void soak_log(void *userdata, const char *name, procmon_stream_t stream,
                     const char *line, size_t len) {
  (void)userdata, (void)name, (void)stream, (void)line, (void)len;
  pthread_mutex_lock(&soak.mu);
  soak.lines++;
  pthread_mutex_unlock(&soak.mu);
}

static void soak_event(void *userdata, const procmon_event_t *event) {
  (void)userdata;
  pthread_mutex_lock(&soak.mu);
  switch (event->kind) {
    case PROCMON_EVENT_STARTED: soak.started++; break;
    case PROCMON_EVENT_EXITED:
      soak.exited++;
      soak.long_lived += event->uptime >= 1.0;
      soak.clean += event->exit_code == 0;
      if (event->uptime > soak.max_uptime) soak.max_uptime = event->uptime;
      break;
    case PROCMON_EVENT_SPAWN_FAILED: soak.failed++; break;
    case PROCMON_EVENT_RESTART_SCHEDULED: soak.scheduled++; break;
    default: break;
  }
  pthread_mutex_unlock(&soak.mu);
}

static int soak_settled(void) {
  pthread_mutex_lock(&soak.mu);
  int settled = soak.started == soak.exited;
  pthread_mutex_unlock(&soak.mu);
  return settled;
}

/* 500 children that exit at once, restarted after 10-50 ms, for 60 s
 * (PROCMON_SOAK_SECONDS overrides), then stopped: no zombie, no descriptor or
 * thread above the start, resident memory back within 8 MiB of the start. */
void test_soak_crash_loop_500(void) {
  double seconds = 60;
  const char *override = getenv("PROCMON_SOAK_SECONDS");
  if (override && *override) seconds = atof(override);
  struct rlimit lim;
  ASSERT_EQ_INT(getrlimit(RLIMIT_NOFILE, &lim), 0);
  lim.rlim_cur = lim.rlim_max;
  ASSERT_EQ_INT(setrlimit(RLIMIT_NOFILE, &lim), 0);
  ASSERT_CMP_INT(lim.rlim_cur, >=, 3 * SOAK_CHILDREN + 64);
  int fds = fx_count_fds(), threads = fx_count_threads();
  long rss0 = status_kib("VmRSS");

  procmon_t *pm = fx_monitor(NULL);
  ASSERT_OK(procmon_set_threshold(pm, 1.0));
  ASSERT_OK(procmon_set_min_restart_delay(pm, 0.01));
  ASSERT_OK(procmon_set_max_restart_delay(pm, 0.05));
  ASSERT_OK(procmon_set_log_callback(pm, soak_log, NULL));
  ASSERT_OK(procmon_set_event_callback(pm, soak_event, NULL));
  char name[16];
  double t0 = task_now();
  for (int i = 0; i < SOAK_CHILDREN; i++) {
    snprintf(name, sizeof name, "s%03d", i);
    ASSERT_OK(fx_add(pm, name, "exit", "0"));
  }
  double added = task_now() - t0;
  pthread_mutex_lock(&soak.mu);
  unsigned long started0 = soak.started;
  pthread_mutex_unlock(&soak.mu);
  long peak = status_kib("VmRSS");
  int peak_fds = 0, peak_threads = 0;
  double slowest = 0; /* the slowest procmon_process_info during the soak */
  double t1 = task_now(), end = t1 + seconds;
  while (task_now() < end) {
    task_let_pass(0.1);
    long rss = status_kib("VmRSS");
    if (rss > peak) peak = rss;
    int f = fx_count_fds(), t = fx_count_threads();
    if (f > peak_fds) peak_fds = f;
    if (t > peak_threads) peak_threads = t;
    double c0 = task_now();
    (void)fx_state(pm, "s250");
    if (task_now() - c0 > slowest) slowest = task_now() - c0;
  }
  ASSERT_CMP_INT(peak_threads, <=, threads + 2);
  ASSERT_OK(procmon_stop(pm));
  double stop_at = task_now();
  WAIT_FOR(soak_settled());
  double ran = stop_at - t1;
  for (int i = 0; i < SOAK_CHILDREN; i += 50) {
    snprintf(name, sizeof name, "s%03d", i);
    ASSERT_EQ_INT(fx_state(pm, name), PROCMON_STATE_STOPPED);
  }
  task_watchdog_start(30, "procmon_free after the soak");
  procmon_free(pm);
  task_watchdog_stop();
  assert_no_zombie();
  int fds1 = fx_count_fds(), threads1 = fx_count_threads();
  long rss1 = status_kib("VmRSS");
  unsigned long restarts = soak.started - SOAK_CHILDREN;
  printf("soak: %d children for %.1f s after adding them (%.2f s): %lu starts, %lu restarts "
         "(%.0f/s during the soak), %lu exits (%lu with status 0), %lu spawn failures, %lu lines; slowest "
         "procmon_process_info %.3f s\n",
         SOAK_CHILDREN, ran, added, soak.started, restarts,
         (double)(soak.started - started0) / ran, soak.exited, soak.clean, soak.failed, soak.lines,
         slowest);
  printf("soak: the children exit at once, yet %lu EXITED events report an uptime of the "
         "threshold (1 s) or more; the longest %.3f s\n", soak.long_lived, soak.max_uptime);
  printf("soak: fds %d -> peak %d -> %d; threads %d -> peak %d -> %d; "
         "VmRSS %ld -> peak %ld -> %ld KiB (%+ld KiB)\n",
         fds, peak_fds, fds1, threads, peak_threads, threads1, rss0, peak, rss1, rss1 - rss0);
  ASSERT_EQ_INT(soak.failed, 0);
  ASSERT_CMP_INT(soak.lines, >=, soak.clean); /* only runs ended by the stop lack it */
  ASSERT_CMP_DBL(slowest, <, 10.0); /* overloaded, the loop still takes calls */
  ASSERT_CMP_INT(restarts, >=, SOAK_CHILDREN); /* every child restarted at least once */
  ASSERT_EQ_INT(fds1, fds);
  ASSERT_EQ_INT(threads1, threads);
  ASSERT_CMP_INT(rss1 - rss0, <, 8 * 1024);
}
