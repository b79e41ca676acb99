/* The child fixtures: this binary run as `<exe> child <mode> [args...]` by the
 * tests' monitors. Each mode is one behaviour a supervised program can have. A
 * fixture that waits forever still exits once the test process is gone, so a
 * failed test leaves no child behind. */
#define _GNU_SOURCE
#include "task.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static pid_t parent;

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Waits for a signal to end the process, or for the test process to go away. */
static int linger(void) {
  fflush(NULL);
  for (;;) {
    if (getppid() != parent) _exit(0);
    sleep_s(0.1);
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

/* TERM blocked until N lines and "all written" are written: every one of them was
 * written before the child can die, whenever the monitor stops it. */
static int lines_then_linger(const char *arg) {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, NULL);
  lines(arg);
  fflush(stdout);
  say("all written");
  sigprocmask(SIG_UNBLOCK, &term, NULL);
  return linger();
}

/* `len` bytes of the pattern task_pattern() describes, then '\n'. */
static void pattern_line(size_t len) {
  char *buf = malloc(len + 1);
  if (!buf) _exit(98);
  task_pattern(buf, len);
  buf[len] = '\n';
  write_all(1, buf, len + 1);
  free(buf);
}

/* One huge patterned line of N bytes, then "after". */
static int huge(const char *arg) {
  pattern_line((size_t)arg_or(arg, 200000));
  say("after");
  return 0;
}

/* One patterned line of each length given, then "end". */
static int sizes(char **args) {
  for (; *args; args++) pattern_line((size_t)atol(*args));
  say("end");
  return 0;
}

/* A last line without '\n' on each stream. */
static int partial(void) {
  write_all(1, "no newline", 10);
  write_all(2, "err no newline", 14);
  return 0;
}

/* A line without '\n', then waits to be stopped. */
static int partial_then_linger(void) {
  say("ready");
  write_all(1, "pending", 7);
  return linger();
}

/* A line that is not UTF-8, one holding a NUL byte, a '\r' and an empty line. */
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

/* Dies of signal N. */
static int raise_signal(const char *arg) {
  int sig = (int)arg_or(arg, SIGUSR1);
  say("raising");
  signal(sig, SIG_DFL);
  raise(sig);
  return 97; /* not reached for a fatal signal */
}

static int wait_for_term(void) {
  say("ready");
  return linger();
}

static int ignore_term(void) {
  signal(SIGTERM, SIG_IGN);
  say("ready");
  return linger();
}

/* Lives `arg` seconds, then exits 0. */
static int live(const char *arg) {
  say("alive");
  sleep_s(arg ? atof(arg) : 1.0);
  return 0;
}

/* The first run (FILE absent) creates FILE and exits 1 at once; later runs wait. */
static int exit_once(const char *file) {
  if (!file) return 2;
  int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd >= 0) {
    close(fd);
    say("first");
    return 1;
  }
  say("again");
  return linger();
}

/* Counts its runs in FILE: the first N exit 1 at once, later ones live LIVE s. */
static int count_runs(const char *file, const char *n, const char *live_s) {
  if (!file || !n || !live_s) return 2;
  long runs = 0;
  FILE *f = fopen(file, "r");
  if (f) {
    if (fscanf(f, "%ld", &runs) != 1) runs = 0;
    fclose(f);
  }
  runs++;
  f = fopen(file, "w");
  if (!f) return 3;
  fprintf(f, "%ld\n", runs);
  fclose(f);
  printf("run %ld\n", runs);
  if (runs <= atol(n)) return 1;
  fflush(stdout);
  sleep_s(atof(live_s));
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

/* Every open descriptor but the listing's own, as "fd N -> target". */
static int fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 97;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
    char target[PATH_MAX] = "?";
    ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
    if (n > 0) target[n] = '\0';
    printf("fd %s -> %s\n", e->d_name, target);
  }
  closedir(d);
  fflush(stdout);
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

/* Forks a grandchild that keeps stdout open, writes "late <pid>" a little later
 * and then sleeps; the child itself exits at once. */
static int grandchild(void) {
  pid_t pid = fork();
  if (pid == 0) {
    sleep_s(0.3);
    printf("late %d\n", (int)getpid());
    fflush(stdout);
    sleep_s(30);
    _exit(0);
  }
  say("parent exiting");
  return 0;
}

/* Ignores TERM when KIND is "ignore", prints "stray <pid> <kind>", then lives while
 * process WATCH (the test process) does, at most 60 s. Unlike linger() it outlives
 * its parent: a grandchild left behind, or a child whose monitor died. */
static int stray(const char *watch, const char *kind) {
  if (!watch || !kind) return 2;
  pid_t w = (pid_t)atol(watch);
  if (!strcmp(kind, "ignore")) signal(SIGTERM, SIG_IGN);
  printf("stray %d %s\n", (int)getpid(), kind);
  fflush(stdout);
  for (int i = 0; i < 600 && kill(w, 0) == 0; i++) sleep_s(0.1);
  return 0;
}

/* N bytes (default 1 GiB) on stdout without a single '\n': byte i is
 * 'A' + i % 53, written in chunks whose length is a multiple of 53. */
static int noline(const char *arg) {
  long long total = arg ? atoll(arg) : (1LL << 30);
  static char buf[53 * 20000];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)('A' + i % 53);
  while (total > 0) {
    size_t n = total < (long long)sizeof buf ? (size_t)total : sizeof buf;
    write_all(1, buf, n);
    total -= (long long)n;
  }
  return 0;
}

static volatile sig_atomic_t flood_term;
static void on_flood_term(int sig) {
  (void)sig;
  flood_term = 1;
}

/* Floods stdout with lines "TAG SEQ PAYLOAD" (PAYLOAD: SEQ % 97 letters, the
 * k-th 'a' + (SEQ + k) % 26), several whole lines per write of at most PIPE_BUF
 * bytes (so each write is atomic), until TERM; then "TAG end N" (N lines
 * written) and exit 0. */
static int flood(const char *tag) {
  if (!tag) return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_flood_term;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  char buf[PIPE_BUF];
  unsigned long seq = 0;
  while (!flood_term) {
    size_t n = 0;
    while (n + 200 < sizeof buf) {
      n += (size_t)sprintf(buf + n, "%s %lu ", tag, seq);
      for (unsigned long k = 0; k < seq % 97; k++) buf[n++] = (char)('a' + (seq + k) % 26);
      buf[n++] = '\n';
      seq++;
    }
    write_all(1, buf, n);
    if (getppid() != parent) _exit(0);
  }
  printf("%s end %lu\n", tag, seq);
  return 0;
}

/* Two lines on stdout, closes stdout, then "stdout closed" on stderr and waits
 * to be stopped, writing "err tick" on stderr every 0.1 s. */
/* A server with workers: binds 127.0.0.1:PORT (SO_REUSEADDR, as servers do),
 * forks two workers that inherit the listening socket and answer each
 * connection with "worker <pid>\n"; prints "worker <pid>" for each, then
 * "listening <pid>", and lingers. With KIND "ignore" the workers ignore TERM.
 * A failed bind prints "bind failed <errno>" and exits 1. The workers end after
 * 60 s at most (alarm), whatever happens to the test. */
static int server(const char *port, const char *kind) {
  if (!port) return 2;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 16) != 0) {
    printf("bind failed %d\n", errno);
    return 1;
  }
  for (int i = 0; i < 2; i++) {
    fflush(stdout);
    if (fork() == 0) {
      if (kind && !strcmp(kind, "ignore")) signal(SIGTERM, SIG_IGN);
      alarm(60);
      printf("worker %d\n", (int)getpid());
      fflush(stdout);
      for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) continue;
        dprintf(c, "worker %d\n", (int)getpid());
        close(c);
      }
    }
  }
  printf("listening %d\n", (int)getpid());
  return linger();
}

/* Burns `arg` seconds of CPU (default 0.2) and touches 20 MiB, then exits 0:
 * what the EXITED event's resource use must show. */
static int burn(const char *arg) {
  double want = arg ? atof(arg) : 0.2;
  size_t size = 20u << 20;
  volatile char *block = malloc(size);
  if (!block) return 98;
  for (size_t i = 0; i < size; i += 4096) block[i] = (char)i;
  volatile unsigned long spin = 0;
  while ((double)clock() / CLOCKS_PER_SEC < want) spin++;
  free((void *)block);
  return 0;
}

static int close_stdout(void) {
  say("before 1");
  say("before 2");
  close(1);
  write_all(2, "stdout closed\n", 14);
  for (;;) {
    if (getppid() != parent) _exit(0);
    sleep_s(0.1);
    write_all(2, "err tick\n", 9);
  }
}

int fixture_main(int argc, char **argv) {
  const char *mode = argc > 2 ? argv[2] : "";
  const char *arg = argc > 3 ? argv[3] : NULL;
  const char *arg2 = argc > 4 ? argv[4] : NULL;
  const char *arg3 = argc > 5 ? argv[5] : NULL;
  parent = getppid();
  if (!strcmp(mode, "burn")) return burn(arg);
  if (!strcmp(mode, "server")) return server(arg, arg2);
  if (!strcmp(mode, "lines")) return lines(arg);
  if (!strcmp(mode, "mixed")) return mixed(arg);
  if (!strcmp(mode, "lines-then-linger")) return lines_then_linger(arg);
  if (!strcmp(mode, "huge")) return huge(arg);
  if (!strcmp(mode, "sizes")) return sizes(argv + 3);
  if (!strcmp(mode, "partial")) return partial();
  if (!strcmp(mode, "partial-then-linger")) return partial_then_linger();
  if (!strcmp(mode, "raw")) return raw_bytes();
  if (!strcmp(mode, "exit")) return exit_with(arg);
  if (!strcmp(mode, "raise")) return raise_signal(arg);
  if (!strcmp(mode, "wait-term")) return wait_for_term();
  if (!strcmp(mode, "ignore-term")) return ignore_term();
  if (!strcmp(mode, "live")) return live(arg);
  if (!strcmp(mode, "exit-once")) return exit_once(arg);
  if (!strcmp(mode, "count")) return count_runs(arg, arg2, arg3);
  if (!strcmp(mode, "env")) return env();
  if (!strcmp(mode, "cwd")) return cwd();
  if (!strcmp(mode, "stdin")) return stdin_mode();
  if (!strcmp(mode, "fds")) return fds();
  if (!strcmp(mode, "sigstate")) return sigstate();
  if (!strcmp(mode, "grandchild")) return grandchild();
  if (!strcmp(mode, "stray")) return stray(arg, arg2);
  if (!strcmp(mode, "noline")) return noline(arg);
  if (!strcmp(mode, "flood")) return flood(arg);
  if (!strcmp(mode, "close-stdout")) return close_stdout();
  fprintf(stderr, "unknown fixture mode '%s'\n", mode);
  return 2;
}
