/*
 * procmon — supervise shell commands from the command line, restarting them when
 * they exit (the equivalent of Twisted's `twistd procmon`, and of foreman for a
 * Procfile), built only on the public C API of libprocmon (include/procmon.h).
 *
 *   procmon [OPTION]... [NAME=]COMMAND [[OPTION]... [NAME=]COMMAND]...
 *
 * Options are one table (`options` below): each row names the option, its
 * argument and help, and the function that takes it while the command line is
 * read in order (options and commands interleaved). Two kinds of rows exist:
 * per-process settings (.set_spec: checked when given, recorded in order, and
 * applied to the spec of every process defined after them: the positional
 * commands and the entries of a later --procfile), and actions (.parse:
 * --procfile reads its file there and then; --timestamps, --help, --version).
 * Every process, positional or from a Procfile, goes through add_entry() when
 * defined (its spec is built there, so a bad combination is a usage error before
 * anything starts) and add_to_monitor() when started. The manual page is
 * cli/procmon.1; cli/test_cli.sh checks that it documents every option of the
 * table.
 *
 * Threads: SIGINT, SIGTERM and SIGHUP are blocked before the monitor (and so its
 * internal threads) exists; the main thread then waits for them with sigwait().
 * The library's callbacks run on its own internal thread, so every write to
 * stdout/stderr goes through one mutex.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* every RLIMIT_* and signal name of glibc */

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "procmon.h"

#define EXIT_USAGE 2
#define EXIT_LIBRARY 1

static const char *prog = "procmon";

/* One lock for every write to stdout and stderr. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
/* Set once stdout cannot be written (e.g. EPIPE): stop cleanly, exit 1. */
static atomic_int output_failed;

/* --timestamps: every output line starts with the local time, "HH:MM:SS ". */
static int timestamps;
/* Names coloured on stdout (lines) and stderr (events): each stream a terminal,
 * and NO_COLOR unset or empty. Fixed before the monitor exists. */
static int colour_out, colour_err;

static _Noreturn void usage_error(const char *fmt, ...);

/* ----------------------------------------------------------------- entries */

/* One process to run: a positional COMMAND or a line of a Procfile. */
struct entry {
  char *name;
  char *command;      /* run as /bin/sh -c COMMAND */
  const char *file;   /* the Procfile it comes from; NULL for a positional one */
  int line;           /* its line in that file */
  procmon_spec_t *spec; /* built from the per-process settings given before it */
  const char *colour; /* SGR parameters of its name's colour */
};

static struct entry *entries;
static size_t n_entries, cap_entries;

/* Like foreman's: one colour per process, in the order they are defined. */
static const char *const palette[] = {"36",   "33",   "32",   "35",   "31",   "34",
                                      "1;36", "1;33", "1;32", "1;35", "1;31", "1;34"};

static _Noreturn void out_of_memory(void) {
  fprintf(stderr, "%s: out of memory\n", prog);
  exit(EXIT_LIBRARY);
}

static void *checked(void *p) {
  if (!p) out_of_memory();
  return p;
}

/* An error in a Procfile: names the file and the line, exits 2. */
static _Noreturn void procfile_error(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: %s:%d: ", prog, file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(EXIT_USAGE);
}

static procmon_spec_t *build_spec(const char *name, const char *command);

/* Defines a process (takes ownership of name and command), its spec built from
 * the per-process settings given so far. */
static void add_entry(char *name, char *command, const char *file, int line) {
  for (size_t i = 0; i < n_entries; i++) {
    const struct entry *e = &entries[i];
    if (strcmp(e->name, name) != 0) continue;
    char first[512];
    if (e->file)
      snprintf(first, sizeof first, "line %d of %s", e->line, e->file);
    else
      snprintf(first, sizeof first, "a command argument");
    if (file)
      procfile_error(file, line, "duplicate process name '%s' (first defined by %s)", name,
                     first);
    usage_error("duplicate process name '%s' (first defined by %s)", name, first);
  }
  if (n_entries == cap_entries) {
    cap_entries = cap_entries ? 2 * cap_entries : 8;
    entries = checked(realloc(entries, cap_entries * sizeof *entries));
  }
  procmon_spec_t *spec = build_spec(name, command);
  entries[n_entries] = (struct entry){name, command, file, line, spec,
                                      palette[n_entries % (sizeof palette / sizeof *palette)]};
  n_entries++;
}

static const char *colour_of(const char *name) {
  for (size_t i = 0; i < n_entries; i++)
    if (strcmp(entries[i].name, name) == 0) return entries[i].colour;
  return NULL;
}

/* ---------------------------------------------------------------- printing */

/* "HH:MM:SS " when --timestamps is given. Under out_lock. */
static void put_time(FILE *f) {
  if (!timestamps) return;
  time_t now = time(NULL);
  struct tm tm;
  char buf[16];
  if (localtime_r(&now, &tm) && strftime(buf, sizeof buf, "%H:%M:%S ", &tm)) fputs(buf, f);
}

/* "[name]" or "[name:stderr]", coloured if asked. Under out_lock. */
static void put_name(FILE *f, const char *name, const char *suffix, int colour) {
  const char *sgr = colour ? colour_of(name) : NULL;
  if (sgr) fprintf(f, "\033[%sm", sgr);
  fputc('[', f);
  fputs(name, f);
  if (suffix) fputs(suffix, f);
  fputc(']', f);
  if (sgr) fputs("\033[0m", f);
}

/* A message of our own on stderr, under the lock. */
static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&out_lock);
  put_time(stderr);
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
    put_time(stdout);
    put_name(stdout, name ? name : "?", stream == PROCMON_STDERR ? ":stderr" : NULL,
             colour_out);
    fputc(' ', stdout);
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

/* EXITED's flags, when any is set: " [expected, requested]". Under out_lock. */
static void put_exit_flags(FILE *f, uint32_t flags) {
  static const struct {
    uint32_t bit;
    const char *text;
  } names[] = {{PROCMON_EXIT_EXPECTED, "expected"},
               {PROCMON_EXIT_REQUESTED, "requested"},
               {PROCMON_EXIT_CORE_DUMPED, "core dumped"},
               {PROCMON_EXIT_TIMEOUT, "timeout"},
               {PROCMON_EXIT_WATCHDOG, "watchdog"},
               {PROCMON_EXIT_STATUS_UNKNOWN, "status unknown"}};
  const char *sep = " [";
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    if (!(flags & names[i].bit)) continue;
    fputs(sep, f);
    fputs(names[i].text, f);
    sep = ", ";
  }
  if (sep[0] == ',') fputc(']', f);
}

static void on_event(void *userdata, const procmon_event_t *ev) {
  (void)userdata;
  if (!ev) return;
  const char *name = ev->name ? ev->name : "?";
  pthread_mutex_lock(&out_lock);
  put_time(stderr);
  fprintf(stderr, "%s: ", prog);
  put_name(stderr, name, NULL, colour_err);
  fputc(' ', stderr);
  switch (ev->kind) {
  case PROCMON_EVENT_STARTED:
    fprintf(stderr, "started pid %d", (int)ev->pid);
    /* Why this run has less containment than asked (once per monitor): a line
     * of its own, so that the STARTED line keeps its form. */
    if (ev->detail) {
      fputc('\n', stderr);
      put_time(stderr);
      fprintf(stderr, "%s: ", prog);
      put_name(stderr, name, NULL, colour_err);
      fprintf(stderr, " containment: %s", ev->detail);
    }
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
    put_exit_flags(stderr, ev->flags);
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
  case PROCMON_EVENT_GAVE_UP:
    if (ev->delay > 0)
      fprintf(stderr, "gave up (start limit reached); retrying in %gs", ev->delay);
    else
      fprintf(stderr, "gave up (start limit reached); not retrying");
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

/* What the per-process settings given so far make of one process: its spec,
 * and the settings that one library setter takes together (the two restart
 * delays; readiness and its timeout; the start order), applied by
 * finish_build() once every setting is in. */
struct spec_build {
  procmon_spec_t *spec;
  double min_delay, max_delay;
  int min_given, max_given;
  int ready_mode;
  const char *ready_arg; /* points into argv */
  const char *ready_text; /* the --ready value as given */
  double ready_timeout;
  double watchdog;
  const char *watchdog_text;
  const char **after; /* the --after names, NULL-terminated (into after_buf) */
  size_t n_after, cap_after;
  char **after_buf; /* owned copies of the names */
};

struct cli_option;
/* Takes an action option (arg is NULL for one without an argument), in
 * command-line order; exits with usage_error() on a syntax error. */
typedef void (*parse_fn)(struct cli_option *opt, const char *arg);
/* Applies a per-process setting to a spec being built; exits with
 * usage_error() naming the option when the value is bad (its syntax, or the
 * library's setter refusing it). */
typedef void (*spec_fn)(const struct cli_option *opt, struct spec_build *b, const char *arg);

struct cli_option {
  const char *name;    /* long name, without "--" */
  char short_name;     /* 0: none */
  const char *metavar; /* NULL: takes no argument */
  const char *help;    /* for --help; '\n' starts a continuation line */
  const char *heading; /* for --help: a heading printed before this row */
  parse_fn parse;      /* an action; NULL for a per-process setting */
  /* A per-process setting: checked when given (on a scratch spec), then
   * applied, in order, to the spec of each process defined after the option. */
  spec_fn set_spec;
  /* parse_flag: set to 1. */
  int *flag;
};

static void usage(FILE *f);

static void parse_procfile(struct cli_option *opt, const char *path);
static void parse_flag(struct cli_option *opt, const char *arg) {
  (void)arg;
  *opt->flag = 1;
}
static void parse_help(struct cli_option *opt, const char *arg) {
  (void)opt, (void)arg;
  usage(stdout);
  exit(0);
}
static void parse_version(struct cli_option *opt, const char *arg) {
  (void)opt, (void)arg;
  printf("procmon (libprocmon %s)\n", procmon_version());
  exit(0);
}

/* A value the option's syntax refuses: "--NAME: 'ARG' WHY", exit 2. */
#define bad_value(opt, arg, ...)                                                             \
  usage_error_prefixed((opt)->name, (arg), __VA_ARGS__)
static _Noreturn void usage_error_prefixed(const char *name, const char *arg, const char *fmt,
                                           ...);

/* The library's setter refused the value: "--NAME ARG: its reason", exit 2. */
static void check_set(const struct cli_option *opt, const char *arg, int rc) {
  if (rc == PROCMON_OK) return;
  const char *detail = procmon_last_error();
  usage_error("--%s %s: %s", opt->name, arg,
              detail && *detail ? detail : procmon_strerror(rc));
}

/* A number of seconds: anything strtod takes whole (the library judges NaN,
 * negative and infinite values). */
static double seconds_arg(const struct cli_option *opt, const char *arg) {
  char *end = NULL;
  errno = 0;
  double v = strtod(arg, &end);
  if (end == arg || *end != '\0') bad_value(opt, arg, "is not a number of seconds");
  return v;
}

/* A number of seconds the library must accept: checked by setting it as a
 * threshold of a scratch spec, so its message names the flag. */
static double checked_seconds(const struct cli_option *opt, const char *arg) {
  double v = seconds_arg(opt, arg);
  const char *argv[] = {"true", NULL};
  procmon_spec_t *scratch = checked(procmon_spec_new(argv));
  int rc = procmon_spec_set_threshold(scratch, v);
  if (rc != PROCMON_OK) {
    procmon_spec_free(scratch);
    usage_error("--%s %s: not a finite, non-negative number of seconds", opt->name, arg);
  }
  procmon_spec_free(scratch);
  return v;
}

static void set_threshold(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  check_set(opt, arg, procmon_spec_set_threshold(b->spec, seconds_arg(opt, arg)));
}
static void set_kill_time(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  check_set(opt, arg, procmon_spec_set_kill_time(b->spec, seconds_arg(opt, arg)));
}
static void set_min_delay(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  b->min_delay = checked_seconds(opt, arg);
  b->min_given = 1;
}
static void set_max_delay(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  b->max_delay = checked_seconds(opt, arg);
  b->max_given = 1;
}

static void set_restart(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  int policy;
  if (strcmp(arg, "always") == 0) policy = PROCMON_RESTART_ALWAYS;
  else if (strcmp(arg, "on-failure") == 0 || strcmp(arg, "on_failure") == 0)
    policy = PROCMON_RESTART_ON_FAILURE;
  else if (strcmp(arg, "never") == 0) policy = PROCMON_RESTART_NEVER;
  else bad_value(opt, arg, "is not always, on-failure or never");
  check_set(opt, arg, procmon_spec_set_restart(b->spec, policy));
}

/* A whole decimal number in [lo, hi]; 0 when it is not one. */
static int whole_number(const char *text, long lo, long hi, long *out) {
  if (*text == '\0' || *text == ' ' || *text == '+') return 0;
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static void set_success_codes(const struct cli_option *opt, struct spec_build *b,
                              const char *arg) {
  int32_t codes[256];
  size_t n = 0;
  if (*arg) {
    char *copy = checked(strdup(arg)), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      long v;
      if (!whole_number(tok, 0, 255, &v)) {
        free(copy);
        bad_value(opt, arg, "is not a comma-separated list of exit codes (0 to 255)");
      }
      if (n < sizeof codes / sizeof *codes) codes[n++] = (int32_t)v;
    }
    free(copy);
    if (n == 0 || arg[0] == ',' || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,"))
      bad_value(opt, arg, "is not a comma-separated list of exit codes (0 to 255)");
  }
  check_set(opt, arg, procmon_spec_set_success_exit_codes(b->spec, codes, n));
}

static const struct {
  const char *name;
  int number;
} signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"IOT", SIGABRT},      {"BUS", SIGBUS},
    {"FPE", SIGFPE},   {"KILL", SIGKILL},     {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},       {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},     {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

static void set_stop_signal(const struct cli_option *opt, struct spec_build *b,
                            const char *arg) {
  long number = -1;
  if (!whole_number(arg, 1, 64, &number)) {
    const char *n = strncasecmp(arg, "SIG", 3) == 0 ? arg + 3 : arg;
    for (size_t i = 0; i < sizeof signal_names / sizeof *signal_names; i++)
      if (strcasecmp(n, signal_names[i].name) == 0) number = signal_names[i].number;
    if (number < 0) bad_value(opt, arg, "is not a signal (a name such as INT or SIGHUP, or 1 to 64)");
  }
  check_set(opt, arg, procmon_spec_set_stop_signal(b->spec, (int)number));
}

/* --start-limit BURST/INTERVAL[/RETRY] */
static void set_start_limit(const struct cli_option *opt, struct spec_build *b,
                            const char *arg) {
  char *copy = checked(strdup(arg));
  char *interval = strchr(copy, '/'), *retry = NULL;
  if (interval) {
    *interval++ = '\0';
    if ((retry = strchr(interval, '/'))) *retry++ = '\0';
  }
  long burst;
  char *end = NULL;
  double iv = 0, rv = 0;
  int ok = interval && whole_number(copy, 0, UINT32_MAX, &burst);
  if (ok) {
    iv = strtod(interval, &end);
    ok = end != interval && *end == '\0';
  }
  if (ok && retry) {
    rv = strtod(retry, &end);
    ok = end != retry && *end == '\0';
  }
  free(copy);
  if (!ok)
    bad_value(opt, arg, "is not BURST/INTERVAL[/RETRY] (e.g. 5/60 or 5/60/300: at most 5 "
                        "starts in 60 s, tried again after 300 s)");
  check_set(opt, arg, procmon_spec_set_start_limit(b->spec, (uint32_t)burst, iv, rv));
}

static void set_env(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg) bad_value(opt, arg, "is not KEY=VALUE");
  char *key = checked(strndup(arg, (size_t)(eq - arg)));
  int rc = procmon_spec_set_env_var(b->spec, key, eq + 1);
  free(key);
  check_set(opt, arg, rc);
}

static void set_unset_env(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  if (!*arg || strchr(arg, '=')) bad_value(opt, arg, "is not a variable name");
  check_set(opt, arg, procmon_spec_set_env_var(b->spec, arg, NULL));
}

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"as", RLIMIT_AS},         {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},     {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

/* A limit: digits with an optional K, M or G (x 1024), or unlimited/infinity. */
static int rlimit_value(const char *text, uint64_t *out) {
  if (strcasecmp(text, "unlimited") == 0 || strcasecmp(text, "infinity") == 0) {
    *out = (uint64_t)RLIM_INFINITY;
    return 1;
  }
  if (*text < '0' || *text > '9') return 0;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno) return 0;
  unsigned shift = 0;
  if (*end == 'k' || *end == 'K') shift = 10, end++;
  else if (*end == 'm' || *end == 'M') shift = 20, end++;
  else if (*end == 'g' || *end == 'G') shift = 30, end++;
  if (*end != '\0' || (shift && v > (UINT64_MAX >> shift))) return 0;
  *out = (uint64_t)v << shift;
  return 1;
}

/* --rlimit NAME=LIMIT or NAME=SOFT:HARD */
static void set_rlimit(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  const char *eq = strchr(arg, '=');
  int resource = -1;
  if (eq)
    for (size_t i = 0; i < sizeof rlimit_names / sizeof *rlimit_names; i++)
      if (strlen(rlimit_names[i].name) == (size_t)(eq - arg) &&
          strncasecmp(arg, rlimit_names[i].name, (size_t)(eq - arg)) == 0)
        resource = rlimit_names[i].resource;
  if (!eq || resource < 0) {
    char names[256] = "";
    for (size_t i = 0; i < sizeof rlimit_names / sizeof *rlimit_names; i++) {
      if (i) strcat(names, ", ");
      strcat(names, rlimit_names[i].name);
    }
    bad_value(opt, arg, "is not NAME=LIMIT or NAME=SOFT:HARD with NAME one of %s", names);
  }
  char *copy = checked(strdup(eq + 1));
  char *colon = strchr(copy, ':');
  if (colon) *colon++ = '\0';
  uint64_t soft = 0, hard = 0;
  int ok = rlimit_value(copy, &soft) && (colon ? rlimit_value(colon, &hard) : (hard = soft, 1));
  free(copy);
  if (!ok)
    bad_value(opt, arg, "has a limit that is not a number (K, M, G suffixes allowed) or unlimited");
  check_set(opt, arg, procmon_spec_set_rlimit(b->spec, resource, soft, hard));
}

static void set_contain(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  int mode;
  if (strcmp(arg, "none") == 0) mode = PROCMON_CONTAIN_NONE;
  else if (strcmp(arg, "group") == 0) mode = PROCMON_CONTAIN_GROUP;
  else if (strcmp(arg, "cgroup") == 0) mode = PROCMON_CONTAIN_CGROUP;
  else if (strcmp(arg, "auto") == 0) mode = PROCMON_CONTAIN_AUTO;
  else bad_value(opt, arg, "is not none, group, cgroup or auto");
  check_set(opt, arg, procmon_spec_set_containment(b->spec, mode));
}

/* --ready fd:N | notify | line:TEXT | start. Checked here with the library's
 * setter; set (with the timeout) by finish_build(). */
static void set_ready(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  int mode;
  const char *rarg = NULL;
  if (strncmp(arg, "fd:", 3) == 0) mode = PROCMON_READY_NOTIFY_FD, rarg = arg + 3;
  else if (strcmp(arg, "notify") == 0) mode = PROCMON_READY_SD_NOTIFY;
  else if (strncmp(arg, "line:", 5) == 0) mode = PROCMON_READY_LINE, rarg = arg + 5;
  else if (strcmp(arg, "start") == 0) mode = PROCMON_READY_ON_START;
  else bad_value(opt, arg, "is not fd:N, notify, line:TEXT or start");
  if (mode == PROCMON_READY_NOTIFY_FD) {
    long fd;
    if (!whole_number(rarg, 3, NOTIFY_FD_LIMIT - 1, &fd))
      bad_value(opt, arg, "names no descriptor from 3 to %d", NOTIFY_FD_LIMIT - 1);
  }
  if (mode == PROCMON_READY_LINE && *rarg == '\0') bad_value(opt, arg, "has an empty TEXT");
  check_set(opt, arg, procmon_spec_set_readiness(b->spec, mode, rarg, 0));
  b->ready_mode = mode;
  b->ready_arg = rarg;
  b->ready_text = arg;
}

static void set_ready_timeout(const struct cli_option *opt, struct spec_build *b,
                              const char *arg) {
  b->ready_timeout = checked_seconds(opt, arg);
}

static void set_watchdog(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  double v = seconds_arg(opt, arg);
  check_set(opt, arg, procmon_spec_set_watchdog(b->spec, v));
  b->watchdog = v;
  b->watchdog_text = arg;
}

/* --after NAME[,NAME]...: added to the names given before; '' clears them. */
static void set_after(const struct cli_option *opt, struct spec_build *b, const char *arg) {
  if (*arg == '\0') {
    for (size_t i = 0; i < b->n_after; i++) free(b->after_buf[i]);
    b->n_after = 0;
    if (b->after) b->after[0] = NULL;
    return;
  }
  char *copy = checked(strdup(arg)), *save = NULL;
  if (arg[0] == ',' || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,")) {
    free(copy);
    bad_value(opt, arg, "has an empty process name");
  }
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (b->n_after + 2 > b->cap_after) {
      b->cap_after = b->cap_after ? 2 * b->cap_after : 8;
      b->after = checked(realloc(b->after, b->cap_after * sizeof *b->after));
      b->after_buf = checked(realloc(b->after_buf, b->cap_after * sizeof *b->after_buf));
    }
    b->after_buf[b->n_after] = checked(strdup(tok));
    b->after[b->n_after] = b->after_buf[b->n_after];
    b->after[++b->n_after] = NULL;
  }
  free(copy);
}

/* Every option, in --help's order. A new one is a row here and a paragraph in
 * procmon.1; a per-process one (applying to the processes defined after it) has
 * .set_spec instead of .parse. */
static struct cli_option options[] = {
    {.name = "restart", .metavar = "WHEN", .set_spec = set_restart,
     .heading = "Per-process options: each applies to the commands (and --procfile entries)\n"
                "that follow it, so one invocation can run a server and a one-shot job:",
     .help = "restart after an exit: always (the default), on-failure\n"
             "(not after a success exit code) or never"},
    {.name = "success-exit-codes", .metavar = "CODES", .set_spec = set_success_codes,
     .help = "the exit codes that count as success, e.g. 0,3\n"
             "(default 0; '' for none)"},
    {.name = "stop-signal", .metavar = "SIG", .set_spec = set_stop_signal,
     .help = "what a stop sends first: a name (INT, SIGHUP, ...) or a\n"
             "number (default TERM); KILL follows after the kill time"},
    {.name = "start-limit", .metavar = "BURST/INTERVAL[/RETRY]", .set_spec = set_start_limit,
     .help = "at most BURST starts within INTERVAL seconds, then give\n"
             "up (tried again after RETRY seconds if given)"},
    {.name = "threshold", .metavar = "S", .set_spec = set_threshold,
     .help = "a child that lives less than S has died instantly and\n"
             "is restarted after a doubling delay (default 1)"},
    {.name = "killtime", .metavar = "S", .set_spec = set_kill_time,
     .help = "grace between the stop signal and KILL (default 5)"},
    {.name = "minrestartdelay", .metavar = "S", .set_spec = set_min_delay,
     .help = "first restart delay after an instant death (default 1)"},
    {.name = "maxrestartdelay", .metavar = "S", .set_spec = set_max_delay,
     .help = "cap of the doubling restart delay (default 3600)"},
    {.name = "env", .metavar = "KEY=VALUE", .set_spec = set_env,
     .help = "set KEY in the child's environment (on top of procmon's)"},
    {.name = "unset-env", .metavar = "KEY", .set_spec = set_unset_env,
     .help = "remove KEY from the child's environment"},
    {.name = "rlimit", .metavar = "NAME=LIMIT", .set_spec = set_rlimit,
     .help = "a resource limit (soft and hard, or SOFT:HARD), e.g.\n"
             "nofile=4096, core=unlimited; NAME is nofile, core, nproc,\n"
             "as, cpu, fsize, data, stack, memlock, rss, locks,\n"
             "sigpending, msgqueue, nice, rtprio or rttime"},
    {.name = "contain", .metavar = "MODE", .set_spec = set_contain,
     .help = "what a stop reaches and what must be gone before a\n"
             "restart: auto (the default: a cgroup where one can be\n"
             "made, else the process group), cgroup, group or none"},
    {.name = "ready", .metavar = "HOW", .set_spec = set_ready,
     .help = "when the child is ready: fd:N (a line written to its\n"
             "descriptor N), notify (sd_notify READY=1), line:TEXT (an\n"
             "output line holding TEXT) or start (at once, the default)"},
    {.name = "ready-timeout", .metavar = "S", .set_spec = set_ready_timeout,
     .help = "not ready within S: stopped and restarted (default 0:\n"
             "wait for ever)"},
    {.name = "watchdog", .metavar = "S", .set_spec = set_watchdog,
     .help = "once ready, a child that sends no ping for S is stopped\n"
             "and restarted (needs --ready fd:N or notify)"},
    {.name = "after", .metavar = "NAME", .set_spec = set_after,
     .help = "start only once process NAME is ready, stop before it;\n"
             "repeat or give NAME,NAME for more ('' clears the list)"},
    {.name = "procfile", .metavar = "FILE", .parse = parse_procfile,
     .heading = "Other options:",
     .help = "also run each `name: command` line of FILE (foreman's\n"
             "Procfile); may be given more than once"},
    {.name = "timestamps", .parse = parse_flag, .flag = &timestamps,
     .help = "start every output line with the local time HH:MM:SS"},
    {.name = "help", .short_name = 'h', .parse = parse_help,
     .help = "show this help and exit"},
    {.name = "version", .short_name = 'V', .parse = parse_version,
     .help = "show the version and exit"},
};
enum { N_OPTIONS = sizeof options / sizeof options[0], LONG_OPTION_BASE = 256 };

/* The per-process settings given so far, in order: an entry applies all of
 * them that were given before it. */
struct process_setting {
  const struct cli_option *opt;
  const char *arg;
};
static struct process_setting *settings;
static size_t n_settings, cap_settings;

static void usage(FILE *f) {
  fprintf(f,
"Usage: %s [OPTION]... [NAME=]COMMAND [[OPTION]... [NAME=]COMMAND]...\n"
"  or:  %s [OPTION]... --procfile FILE [OPTION]... [[NAME=]COMMAND]...\n"
"Run each COMMAND under a process monitor and restart it whenever it exits\n"
"(like Twisted's `twistd procmon`).\n"
"\n"
"Each COMMAND is one argument, run as `/bin/sh -c COMMAND`. Prefix it with\n"
"`exec` (e.g. 'exec myserver --port 80') to make the program itself the\n"
"monitored child instead of a shell around it. NAME (letters, digits, '_',\n"
"'.', '-') defaults to p1, p2, ... by position; to start a command with a\n"
"shell variable assignment, give it an explicit name: 'p1=FOO=1 cmd'.\n"
"Options and commands may alternate; after `--` every argument is a command.\n"
"\n"
"S is a number of seconds, fractions allowed.\n",
          prog, prog);
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const struct cli_option *o = &options[i];
    if (o->heading) fprintf(f, "\n%s\n", o->heading);
    char left[64];
    int n = o->short_name ? snprintf(left, sizeof left, "  -%c, --%s", o->short_name, o->name)
                          : snprintf(left, sizeof left, "  --%s", o->name);
    if (o->metavar && n >= 0 && (size_t)n < sizeof left)
      n += snprintf(left + n, sizeof left - (size_t)n, " %s", o->metavar);
    fputs(left, f);
    if (n > 21) fprintf(f, "\n%23s", "");
    else fprintf(f, "%*s", 23 - n, "");
    for (const char *p = o->help; *p; p++) {
      fputc(*p, f);
      if (*p == '\n') fprintf(f, "%23s", "");
    }
    fputc('\n', f);
  }
  fprintf(f,
"\n"
"A Procfile has one process per line, `name: command`, as foreman reads it:\n"
"the name is letters, digits, '_' and '-'; the command runs as\n"
"`/bin/sh -c command`. Blank lines and lines starting with '#' are skipped.\n"
"An error in it names the file and line and exits 2.\n"
"\n"
"Output: each line a child writes is printed on stdout as `[NAME] line`, or\n"
"`[NAME:stderr] line` for its stderr. Lifecycle events (start, ready, exit,\n"
"restart delay, spawn failure, KILL, giving up) are printed on stderr as\n"
"`procmon: [NAME] ...`. On a terminal each name has a colour of its own\n"
"(NO_COLOR set to a non-empty value turns colours off).\n"
"\n"
"SIGINT, SIGTERM or SIGHUP stops every child (its stop signal, then KILL after\n"
"the kill time), prints their remaining output and exits 0.\n"
"Exit status: 0 after such a stop, 1 on a library or output error, 2 on a\n"
"usage error.\n");
}

static _Noreturn void usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
  va_end(ap);
  exit(EXIT_USAGE);
}

static _Noreturn void usage_error_prefixed(const char *name, const char *arg, const char *fmt,
                                           ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: --%s: '%s' ", prog, name, arg);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
  va_end(ap);
  exit(EXIT_USAGE);
}

static void build_init(struct spec_build *b, const char *command) {
  const char *child_argv[] = {"/bin/sh", "-c", command, NULL};
  *b = (struct spec_build){.spec = procmon_spec_new(child_argv)};
  if (!b->spec) out_of_memory(); /* argv is never empty */
}

static void build_free(struct spec_build *b) {
  for (size_t i = 0; i < b->n_after; i++) free(b->after_buf[i]);
  free(b->after_buf);
  free(b->after);
  procmon_spec_free(b->spec);
}

/* The settings one setter takes together, for the process `name`; a bad
 * combination is a usage error naming the process. */
static void finish_build(struct spec_build *b, const char *name) {
  if (b->min_given || b->max_given) {
    /* One without the other keeps the default of the other, moved to it when
     * the default would be on the wrong side (--maxrestartdelay 0.5: 0.5, 0.5). */
    double min = b->min_given ? b->min_delay : (b->max_delay < 1 ? b->max_delay : 1);
    double max = b->max_given ? b->max_delay : (b->min_delay > 3600 ? b->min_delay : 3600);
    if (min > max)
      usage_error("--minrestartdelay %g is above --maxrestartdelay %g (for '%s')", min, max,
                  name);
    if (procmon_spec_set_restart_delays(b->spec, min, max) != PROCMON_OK)
      usage_error("--minrestartdelay/--maxrestartdelay (for '%s'): %s", name,
                  procmon_last_error());
  }
  if (b->ready_mode != PROCMON_READY_ON_START || b->ready_timeout > 0)
    if (procmon_spec_set_readiness(b->spec, b->ready_mode, b->ready_arg, b->ready_timeout) !=
        PROCMON_OK)
      usage_error("--ready (for '%s'): %s", name, procmon_last_error());
  if (b->watchdog > 0 && b->ready_mode != PROCMON_READY_NOTIFY_FD &&
      b->ready_mode != PROCMON_READY_SD_NOTIFY)
    usage_error("--watchdog %s needs --ready fd:N or --ready notify (for '%s')",
                b->watchdog_text, name);
  for (size_t i = 0; i < b->n_after; i++)
    if (strcmp(b->after[i], name) == 0)
      usage_error("--after %s: '%s' cannot come after itself (give --after after the "
                  "command of '%s')",
                  b->after[i], name, name);
  if (b->n_after && procmon_spec_set_after(b->spec, b->after) != PROCMON_OK)
    usage_error("--after (for '%s'): %s", name, procmon_last_error());
}

/* The spec of a process defined now: every per-process setting given so far,
 * in order. The caller owns it. */
static procmon_spec_t *build_spec(const char *name, const char *command) {
  struct spec_build b;
  build_init(&b, command);
  for (size_t i = 0; i < n_settings; i++) settings[i].opt->set_spec(settings[i].opt, &b, settings[i].arg);
  finish_build(&b, name);
  procmon_spec_t *spec = b.spec;
  b.spec = NULL;
  build_free(&b);
  return spec;
}

/* A per-process setting: checked now on a scratch spec (a bad value is a usage
 * error naming the option, whether or not a command follows), then recorded. */
static void record_process_setting(const struct cli_option *opt, const char *arg) {
  struct spec_build scratch;
  build_init(&scratch, "true");
  opt->set_spec(opt, &scratch, arg);
  build_free(&scratch);
  if (n_settings == cap_settings) {
    cap_settings = cap_settings ? 2 * cap_settings : 8;
    settings = checked(realloc(settings, cap_settings * sizeof *settings));
  }
  settings[n_settings++] = (struct process_setting){opt, arg};
}

/* foreman's names: [A-Za-z0-9_-]+ */
static int procfile_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

static int blank(char c) { return c == ' ' || c == '\t'; }

/* Reads a Procfile: `name: command` lines, blank lines, `#` comments. Every
 * entry is defined here, with the per-process settings given so far. */
static void parse_procfile(struct cli_option *opt, const char *path) {
  (void)opt;
  FILE *f = fopen(path, "r");
  if (!f) usage_error("--procfile: cannot read '%s': %s", path, strerror(errno));
  char *buf = NULL;
  size_t cap = 0, before = n_entries;
  ssize_t got;
  int line = 0;
  while ((got = getline(&buf, &cap, f)) != -1) {
    line++;
    size_t len = (size_t)got;
    if (memchr(buf, '\0', len)) procfile_error(path, line, "a NUL byte in the line");
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || blank(buf[len - 1]))) len--;
    buf[len] = '\0';
    const char *p = buf;
    while (blank(*p)) p++;
    if (*p == '\0' || *p == '#') continue; /* blank line or comment */
    const char *colon = strchr(buf, ':');
    if (!colon) procfile_error(path, line, "no ':' in the line (want 'name: command')");
    size_t name_len = (size_t)(colon - buf);
    if (name_len == 0) procfile_error(path, line, "no process name before ':'");
    for (size_t i = 0; i < name_len; i++)
      if (!procfile_name_char(buf[i]))
        procfile_error(path, line,
                       "'%.*s' is not a valid process name (letters, digits, '_' and '-' only)",
                       (int)name_len, buf);
    const char *command = colon + 1;
    while (blank(*command)) command++;
    if (*command == '\0')
      procfile_error(path, line, "empty command for '%.*s'", (int)name_len, buf);
    add_entry(checked(strndup(buf, name_len)), checked(strdup(command)), path, line);
  }
  int err = ferror(f) ? errno : 0;
  free(buf);
  fclose(f);
  if (err) usage_error("--procfile: cannot read '%s': %s", path, strerror(err));
  if (n_entries == before) usage_error("--procfile: '%s' defines no process", path);
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

/* A positional command, the `position`th: defines a process. */
static void add_command(const char *arg, int position) {
  size_t name_len = 0;
  const char *command = split_name(arg, &name_len);
  char *name;
  if (command) {
    name = checked(strndup(arg, name_len));
  } else {
    command = arg;
    name = checked(malloc(24));
    snprintf(name, 24, "p%d", position);
  }
  if (*command == '\0') usage_error("empty command for '%s'", name);
  add_entry(name, checked(strdup(command)), NULL, 0);
}

/* Reads the command line in order: options (each row's function takes its own)
 * and commands may alternate, so a per-process setting applies to the commands
 * after it; after `--` every argument is a command. */
static void parse_command_line(int argc, char **argv) {
  static struct option longopts[N_OPTIONS + 1];
  /* '+': stop at each command, so a command never looks like an option. */
  static char shortopts[1 + 2 * N_OPTIONS + 1] = "+";
  size_t s = 1;
  for (size_t i = 0; i < N_OPTIONS; i++) {
    longopts[i] = (struct option){options[i].name,
                                  options[i].metavar ? required_argument : no_argument, NULL,
                                  LONG_OPTION_BASE + (int)i};
    if (options[i].short_name) {
      shortopts[s++] = options[i].short_name;
      if (options[i].metavar) shortopts[s++] = ':';
    }
  }
  shortopts[s] = '\0';

  int position = 0, only_commands = 0;
  while (optind < argc) {
    if (only_commands) {
      add_command(argv[optind++], ++position);
      continue;
    }
    int before = optind;
    int opt = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (opt == -1) {
      /* `--` (consumed by getopt), or a command at optind. */
      if (optind == before + 1 && strcmp(argv[before], "--") == 0) only_commands = 1;
      else if (optind < argc) add_command(argv[optind++], ++position);
      continue;
    }
    struct cli_option *row = NULL;
    if (opt >= LONG_OPTION_BASE && opt < LONG_OPTION_BASE + N_OPTIONS) {
      row = &options[opt - LONG_OPTION_BASE];
    } else {
      for (size_t i = 0; i < N_OPTIONS && opt != '?'; i++)
        if (options[i].short_name == opt) row = &options[i];
    }
    if (!row) { /* getopt_long has printed what was wrong */
      fprintf(stderr, "Try '%s --help' for more information.\n", prog);
      exit(EXIT_USAGE);
    }
    if (row->set_spec)
      record_process_setting(row, row->metavar ? optarg : NULL);
    else
      row->parse(row, row->metavar ? optarg : NULL);
  }
  if (n_entries == 0) usage_error("no command given");

  /* A start order naming no process would wait for ever. */
  for (size_t i = 0; i < n_settings; i++) {
    if (settings[i].opt->set_spec != set_after || !*settings[i].arg) continue;
    char *copy = checked(strdup(settings[i].arg)), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      if (!colour_of(tok)) {
        usage_error("--after %s: no process is named '%s'", settings[i].arg, tok);
      }
    }
    free(copy);
  }
}

/* -------------------------------------------------------------------- main */

/* Reports a failed call (detail: procmon_last_error() read right after it),
 * frees the monitor, and returns the exit status. */
static int library_failure_detail(procmon_t *pm, const char *what, int rc, const char *detail) {
  note("%s: %s%s%s", what, procmon_strerror(rc), detail && *detail ? ": " : "",
       detail ? detail : "");
  procmon_free(pm);
  return rc == PROCMON_ERR_INVALID ? EXIT_USAGE : EXIT_LIBRARY;
}

static int library_failure(procmon_t *pm, const char *what, int rc) {
  return library_failure_detail(pm, what, rc, procmon_last_error());
}

/* Adds every entry in one call (procmon_add_many: one round trip to the event
 * loop, all or nothing), each spec built when its entry was defined. Returns
 * PROCMON_OK or the exit status (after the report). A failure names the entry
 * as an add of it alone would: "cannot add 'NAME': ...", the library's
 * "names[K]: " taken off its detail. */
static int add_all_to_monitor(procmon_t *pm) {
  const char **names = calloc(n_entries ? n_entries : 1, sizeof *names);
  const procmon_spec_t **specs = calloc(n_entries ? n_entries : 1, sizeof *specs);
  if (!names || !specs) {
    free(names);
    free(specs);
    note("out of memory");
    procmon_free(pm);
    return EXIT_LIBRARY;
  }
  for (size_t i = 0; i < n_entries; i++) {
    names[i] = entries[i].name;
    specs[i] = entries[i].spec;
  }
  int rc = procmon_add_many(pm, n_entries, names, specs);
  free(names);
  free(specs);
  if (rc == PROCMON_OK) return PROCMON_OK;
  const char *detail = procmon_last_error();
  size_t k = 0;
  int used = 0;
  char what[512];
  if (detail && sscanf(detail, "names[%zu]: %n", &k, &used) == 1 && used > 0 && k < n_entries) {
    snprintf(what, sizeof what, "cannot add '%s'", entries[k].name);
    return library_failure_detail(pm, what, rc, detail + used);
  }
  return library_failure(pm, "cannot add the processes", rc);
}

int main(int argc, char **argv) {
  parse_command_line(argc, argv);

  const char *no_colour = getenv("NO_COLOR");
  int colour = !(no_colour && *no_colour);
  colour_out = colour && isatty(STDOUT_FILENO);
  colour_err = colour && isatty(STDERR_FILENO);
  tzset(); /* once, before the threads: localtime_r need not */

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

  note("monitoring %zu process%s (pid %d); SIGINT or SIGTERM stops them", n_entries,
       n_entries == 1 ? "" : "es", (int)getpid());

  if ((rc = add_all_to_monitor(pm)) != PROCMON_OK) return rc;

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

  for (size_t i = 0; i < n_entries; i++) {
    free(entries[i].name);
    free(entries[i].command);
    procmon_spec_free(entries[i].spec);
  }
  free(entries);
  free(settings);
  return atomic_load(&output_failed) ? EXIT_LIBRARY : 0;
}
