/*
 * procmon — supervise shell commands from the command line, restarting them when
 * they exit (the equivalent of Twisted's `twistd procmon`), built only on the
 * public C API of libprocmon (include/procmon.h).
 *
 *   procmon [--threshold S] [--killtime S] [--minrestartdelay S]
 *           [--maxrestartdelay S] [--help] [--version] [NAME=]COMMAND...
 *
 * Threads: SIGINT, SIGTERM and SIGHUP are blocked before the monitor (and so its
 * internal threads) exists; the main thread then waits for them with sigwait().
 * The library's callbacks run on its own internal thread, so every write to
 * stdout/stderr goes through one mutex.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procmon.h"

#define EXIT_USAGE 2
#define EXIT_LIBRARY 1

static const char *prog = "procmon";

/* One lock for every write to stdout and stderr. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
/* Set once stdout cannot be written (e.g. EPIPE): stop cleanly, exit 1. */
static atomic_int output_failed;

static void usage(FILE *f) {
  fprintf(f,
"Usage: %s [OPTION]... [NAME=]COMMAND...\n"
"Run each COMMAND under a process monitor and restart it whenever it exits\n"
"(like Twisted's `twistd procmon`).\n"
"\n"
"Each COMMAND is one argument, run as `/bin/sh -c COMMAND`. Prefix it with\n"
"`exec` (e.g. 'exec myserver --port 80') to make the program itself the\n"
"monitored child instead of a shell around it. NAME (letters, digits, '_',\n"
"'.', '-') defaults to p1, p2, ... by position; to start a command with a\n"
"shell variable assignment, give it an explicit name: 'p1=FOO=1 cmd'.\n"
"\n"
"Options (S is a number of seconds, fractions allowed):\n"
"  --threshold S        a child that lives less than S has died instantly and\n"
"                       is restarted after a doubling delay (default 1)\n"
"  --killtime S         grace between TERM and KILL when stopping (default 5)\n"
"  --minrestartdelay S  first restart delay after an instant death (default 1)\n"
"  --maxrestartdelay S  cap of the doubling restart delay (default 3600)\n"
"  -h, --help           show this help and exit\n"
"  -V, --version        show the version and exit\n"
"\n"
"Output: each line a child writes is printed on stdout as `[NAME] line`, or\n"
"`[NAME:stderr] line` for its stderr. Lifecycle events (start, exit, restart\n"
"delay, spawn failure, KILL) are printed on stderr as `procmon: [NAME] ...`.\n"
"\n"
"SIGINT, SIGTERM or SIGHUP stops every child (TERM, then KILL after the kill\n"
"time), prints their remaining output and exits 0.\n"
"Exit status: 0 after such a stop, 1 on a library or output error, 2 on a\n"
"usage error.\n",
          prog);
}

/* ---------------------------------------------------------------- printing */

/* A message of our own on stderr, under the lock. */
static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&out_lock);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  fflush(stderr);
  pthread_mutex_unlock(&out_lock);
  va_end(ap);
}

/* Asks the main thread (blocked in sigwait) to stop. The signal is blocked in
 * every thread, so it stays pending for the process until sigwait takes it. */
static void request_stop(void) { kill(getpid(), SIGTERM); }

static void on_line(void *userdata, const char *name, procmon_stream_t stream,
                    const char *line, size_t len) {
  (void)userdata;
  int failed = 0, err = 0;
  pthread_mutex_lock(&out_lock);
  if (!atomic_load(&output_failed)) {
    fputc('[', stdout);
    fputs(name ? name : "?", stdout);
    if (stream == PROCMON_STDERR) fputs(":stderr", stdout);
    fputs("] ", stdout);
    if (len) fwrite(line, 1, len, stdout); /* raw bytes, NULs included */
    fputc('\n', stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
      err = errno;
      atomic_store(&output_failed, 1);
      failed = 1;
    }
  }
  pthread_mutex_unlock(&out_lock);
  if (failed) {
    note("cannot write to stdout: %s", strerror(err));
    request_stop();
  }
}

static const char *signal_name(int sig) {
  switch (sig) {
  case SIGHUP: return "SIGHUP";
  case SIGINT: return "SIGINT";
  case SIGQUIT: return "SIGQUIT";
  case SIGILL: return "SIGILL";
  case SIGABRT: return "SIGABRT";
  case SIGFPE: return "SIGFPE";
  case SIGKILL: return "SIGKILL";
  case SIGSEGV: return "SIGSEGV";
  case SIGPIPE: return "SIGPIPE";
  case SIGALRM: return "SIGALRM";
  case SIGTERM: return "SIGTERM";
  case SIGUSR1: return "SIGUSR1";
  case SIGUSR2: return "SIGUSR2";
  case SIGBUS: return "SIGBUS";
  default: return NULL;
  }
}

static void on_event(void *userdata, const procmon_event_t *ev) {
  (void)userdata;
  if (!ev) return;
  const char *name = ev->name ? ev->name : "?";
  pthread_mutex_lock(&out_lock);
  fprintf(stderr, "%s: [%s] ", prog, name);
  switch (ev->kind) {
  case PROCMON_EVENT_STARTED:
    fprintf(stderr, "started pid %d", (int)ev->pid);
    break;
  case PROCMON_EVENT_EXITED:
    if (ev->signal != 0) {
      const char *sn = signal_name(ev->signal);
      fprintf(stderr, "killed by signal %d", (int)ev->signal);
      if (sn) fprintf(stderr, " (%s)", sn);
    } else {
      fprintf(stderr, "exited with code %d", (int)ev->exit_code);
    }
    fprintf(stderr, " after %.2fs (pid %d)", ev->uptime, (int)ev->pid);
    break;
  case PROCMON_EVENT_SPAWN_FAILED:
    fprintf(stderr, "spawn failed: %s", strerror(ev->error));
    break;
  case PROCMON_EVENT_RESTART_SCHEDULED:
    fprintf(stderr, "restarting in %gs", ev->delay);
    break;
  case PROCMON_EVENT_KILLED:
    fprintf(stderr, "sent KILL to pid %d (kill time ran out)", (int)ev->pid);
    break;
  case PROCMON_EVENT_READY:
    fprintf(stderr, "ready pid %d", (int)ev->pid);
    break;
  default:
    fprintf(stderr, "unknown event %d (pid %d)", (int)ev->kind, (int)ev->pid);
    break;
  }
  fputc('\n', stderr);
  fflush(stderr);
  pthread_mutex_unlock(&out_lock);
}

/* ----------------------------------------------------------------- options */

struct setting {
  const char *option;
  int (*set)(procmon_t *, double);
  int given;
  const char *text;
  double value;
};

enum { OPT_THRESHOLD = 0, OPT_KILLTIME, OPT_MINDELAY, OPT_MAXDELAY, OPT_COUNT };

static struct setting settings[OPT_COUNT] = {
    [OPT_THRESHOLD] = {"--threshold", procmon_set_threshold, 0, NULL, 0},
    [OPT_KILLTIME] = {"--killtime", procmon_set_kill_time, 0, NULL, 0},
    [OPT_MINDELAY] = {"--minrestartdelay", procmon_set_min_restart_delay, 0, NULL, 0},
    [OPT_MAXDELAY] = {"--maxrestartdelay", procmon_set_max_restart_delay, 0, NULL, 0},
};

static _Noreturn void usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
  va_end(ap);
  exit(EXIT_USAGE);
}

/* Syntax only: any number strtod accepts (negative, NaN and infinite values
 * included) is handed to the library, which judges the value. */
static void parse_seconds(struct setting *s, const char *text) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end != '\0')
    usage_error("%s: '%s' is not a number of seconds", s->option, text);
  s->given = 1;
  s->text = text;
  s->value = v;
}

static int valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}

/* "NAME=COMMAND" when everything before the first '=' is a valid name. */
static const char *split_name(const char *arg, size_t *name_len) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg) return NULL;
  for (const char *p = arg; p < eq; p++)
    if (!valid_name_char(*p)) return NULL;
  *name_len = (size_t)(eq - arg);
  return eq + 1;
}

/* -------------------------------------------------------------------- main */

static int library_failure(procmon_t *pm, const char *what, int rc) {
  const char *detail = procmon_last_error();
  note("%s: %s%s%s", what, procmon_strerror(rc), detail && *detail ? ": " : "",
       detail ? detail : "");
  procmon_free(pm);
  return rc == PROCMON_ERR_INVALID ? EXIT_USAGE : EXIT_LIBRARY;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"threshold", required_argument, NULL, 't'},
      {"killtime", required_argument, NULL, 'k'},
      {"minrestartdelay", required_argument, NULL, 'm'},
      {"maxrestartdelay", required_argument, NULL, 'M'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  int opt;
  /* '+': stop at the first command, so a command never looks like an option. */
  while ((opt = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
    switch (opt) {
    case 't': parse_seconds(&settings[OPT_THRESHOLD], optarg); break;
    case 'k': parse_seconds(&settings[OPT_KILLTIME], optarg); break;
    case 'm': parse_seconds(&settings[OPT_MINDELAY], optarg); break;
    case 'M': parse_seconds(&settings[OPT_MAXDELAY], optarg); break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("procmon (libprocmon %s)\n", procmon_version()); return 0;
    default: /* getopt_long has printed what was wrong */
      fprintf(stderr, "Try '%s --help' for more information.\n", prog);
      return EXIT_USAGE;
    }
  }

  int count = argc - optind;
  if (count < 1) usage_error("no command given");

  char **names = calloc((size_t)count, sizeof *names);
  const char **commands = calloc((size_t)count, sizeof *commands);
  if (!names || !commands) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return EXIT_LIBRARY;
  }
  for (int i = 0; i < count; i++) {
    const char *arg = argv[optind + i];
    size_t name_len = 0;
    const char *command = split_name(arg, &name_len);
    char *name;
    if (command) {
      name = strndup(arg, name_len);
    } else {
      command = arg;
      name = malloc(24);
      if (name) snprintf(name, 24, "p%d", i + 1);
    }
    if (!name) {
      fprintf(stderr, "%s: out of memory\n", prog);
      return EXIT_LIBRARY;
    }
    if (*command == '\0') usage_error("empty command for '%s'", name);
    for (int j = 0; j < i; j++)
      if (strcmp(names[j], name) == 0) usage_error("duplicate process name '%s'", name);
    names[i] = name;
    commands[i] = command;
  }

  /* Signals: a non-interactive shell starts background jobs with SIGINT
   * ignored, and an ignored signal is discarded even while blocked, so restore
   * the default action first; then block them in this thread before any other
   * thread exists, so the library's threads inherit the mask and sigwait() in
   * main is the only taker. SIGPIPE is ignored: a closed stdout is reported as
   * a write error and stops the monitor cleanly. (The library resets signal
   * dispositions and the mask in its children.) */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_DFL;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
  int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  if (rc != 0) {
    fprintf(stderr, "%s: pthread_sigmask: %s\n", prog, strerror(rc));
    return EXIT_LIBRARY;
  }

  procmon_t *pm = procmon_new();
  if (!pm) {
    const char *detail = procmon_last_error();
    fprintf(stderr, "%s: cannot create the monitor: %s\n", prog,
            detail && *detail ? detail : "unknown error");
    return EXIT_LIBRARY;
  }

  if ((rc = procmon_set_log_callback(pm, on_line, NULL)) != PROCMON_OK)
    return library_failure(pm, "procmon_set_log_callback", rc);
  if ((rc = procmon_set_event_callback(pm, on_event, NULL)) != PROCMON_OK)
    return library_failure(pm, "procmon_set_event_callback", rc);

  for (int i = 0; i < OPT_COUNT; i++) {
    struct setting *s = &settings[i];
    if (!s->given) continue;
    if ((rc = s->set(pm, s->value)) != PROCMON_OK) {
      char what[128];
      snprintf(what, sizeof what, "%s %s", s->option, s->text);
      return library_failure(pm, what, rc);
    }
  }

  note("monitoring %d process%s (pid %d); SIGINT or SIGTERM stops them", count,
       count == 1 ? "" : "es", (int)getpid());

  for (int i = 0; i < count; i++) {
    const char *child_argv[] = {"/bin/sh", "-c", commands[i], NULL};
    if ((rc = procmon_add_process(pm, names[i], child_argv, NULL)) != PROCMON_OK) {
      char what[256];
      snprintf(what, sizeof what, "cannot add '%s'", names[i]);
      return library_failure(pm, what, rc);
    }
  }

  int sig = 0;
  for (;;) {
    rc = sigwait(&stop_signals, &sig);
    if (rc == 0) break;
    if (rc != EINTR) {
      note("sigwait: %s", strerror(rc));
      sig = 0;
      break;
    }
  }

  if (atomic_load(&output_failed))
    note("stopping (output failed)");
  else if (sig)
    note("stopping (%s)", signal_name(sig));
  else
    note("stopping");
  procmon_free(pm); /* TERM, KILL after the kill time, remaining lines, reaped */
  note("stopped");

  for (int i = 0; i < count; i++) free(names[i]);
  free(names);
  free(commands);
  return atomic_load(&output_failed) ? EXIT_LIBRARY : 0;
}
