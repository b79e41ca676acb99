/* The child fixtures: this binary run as `<exe> child <mode> [arg]` by the tests'
 * monitors. Each mode is one behaviour a supervised program can have. */
#define _GNU_SOURCE
#include "task.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) _exit(99);
    data += n;
    len -= (size_t)n;
  }
}

static void say(const char *text) {
  write_all(1, text, strlen(text));
  write_all(1, "\n", 1);
}

static long arg_or(const char *arg, long fallback) { return arg ? atol(arg) : fallback; }

/* N lines "line 1".."line N" on stdout, then exit 0. */
static int lines(const char *arg) {
  long n = arg_or(arg, 3);
  for (long i = 1; i <= n; i++) printf("line %ld\n", i);
  return 0;
}

/* Alternating stdout and stderr lines, each written at once. */
static int mixed(const char *arg) {
  long n = arg_or(arg, 100);
  for (long i = 1; i <= n; i++) {
    dprintf(1, "out %ld\n", i);
    dprintf(2, "err %ld\n", i);
  }
  return 0;
}

/* TERM blocked until N lines are written: every one of them was written before the
 * child can die, whenever the monitor stops it. */
static int lines_then_linger(const char *arg) {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, NULL);
  lines(arg);
  fflush(stdout);
  say("all written");
  sigprocmask(SIG_UNBLOCK, &term, NULL);
  for (;;) pause();
  return 0; /* not reached */
}

/* A huge line of N 'x', then "after". */
static int huge(const char *arg) {
  long n = arg_or(arg, 200000);
  char *buf = malloc((size_t)n + 1);
  if (!buf) return 98;
  memset(buf, 'x', (size_t)n);
  buf[n] = '\n';
  write_all(1, buf, (size_t)n + 1);
  say("after");
  return 0;
}

/* A last line without '\n'. */
static int partial(void) {
  write_all(1, "no newline", 10);
  return 0;
}

/* A line that is not UTF-8, and one holding a NUL byte. */
static int raw_bytes(void) {
  write_all(1, "\xffhello world!\n", 14);
  write_all(1, "a\0b\n", 4);
  write_all(1, "crlf\r\n\n", 7);
  return 0;
}

static int exit_with(const char *arg) {
  printf("exiting with %ld\n", arg_or(arg, 0));
  return (int)arg_or(arg, 0);
}

static int wait_for_term(void) {
  say("ready");
  for (;;) pause();
  return 0; /* not reached */
}

static int ignore_term(void) {
  signal(SIGTERM, SIG_IGN);
  say("ready");
  for (;;) pause();
  return 0; /* not reached */
}

/* Lives `arg` seconds, then exits 0. */
static int live(const char *arg) {
  say("alive");
  sleep_s(arg ? atof(arg) : 1.0);
  return 0;
}

static int env(void) {
  for (char **e = environ; *e; e++) say(*e);
  say("end of env");
  return 0;
}

static int cwd(void) {
  char buf[PATH_MAX];
  say(getcwd(buf, sizeof buf) ? buf : "(getcwd failed)");
  return 0;
}

/* Where stdin comes from, and what reading it gives. */
static int stdin_mode(void) {
  char target[PATH_MAX] = "";
  ssize_t n = readlink("/proc/self/fd/0", target, sizeof target - 1);
  if (n > 0) target[n] = '\0';
  char byte;
  printf("stdin %s read %zd\n", target, read(0, &byte, 1));
  return 0;
}

/* Every open descriptor but the listing's own, as "fd N". */
static int fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 97;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
    printf("fd %s\n", e->d_name);
  }
  closedir(d);
  say("end of fds");
  return 0;
}

/* The blocked and ignored signal masks, as /proc/self/status shows them. */
static int sigstate(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return 96;
  char line[256];
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7)) {
      line[strcspn(line, "\n")] = '\0';
      say(line);
    }
  fclose(f);
  return 0;
}

/* Forks a grandchild that keeps stdout open, writes "late" a little later and
 * then sleeps; the child itself exits at once. */
static int grandchild(void) {
  pid_t pid = fork();
  if (pid == 0) {
    sleep_s(0.3);
    say("late");
    sleep_s(30);
    _exit(0);
  }
  say("parent exiting");
  return 0;
}

int fixture_main(int argc, char **argv) {
  const char *mode = argc > 2 ? argv[2] : "";
  const char *arg = argc > 3 ? argv[3] : NULL;
  if (!strcmp(mode, "lines")) return lines(arg);
  if (!strcmp(mode, "mixed")) return mixed(arg);
  if (!strcmp(mode, "lines-then-linger")) return lines_then_linger(arg);
  if (!strcmp(mode, "huge")) return huge(arg);
  if (!strcmp(mode, "partial")) return partial();
  if (!strcmp(mode, "raw")) return raw_bytes();
  if (!strcmp(mode, "exit")) return exit_with(arg);
  if (!strcmp(mode, "wait-term")) return wait_for_term();
  if (!strcmp(mode, "ignore-term")) return ignore_term();
  if (!strcmp(mode, "live")) return live(arg);
  if (!strcmp(mode, "env")) return env();
  if (!strcmp(mode, "cwd")) return cwd();
  if (!strcmp(mode, "stdin")) return stdin_mode();
  if (!strcmp(mode, "fds")) return fds();
  if (!strcmp(mode, "sigstate")) return sigstate();
  if (!strcmp(mode, "grandchild")) return grandchild();
  fprintf(stderr, "unknown fixture mode '%s'\n", mode);
  return 2;
}
