/*
 * procmon — supervise shell commands from the command line, restarting them when
 * they exit (the equivalent of Twisted's `twistd procmon`, and of foreman for a
 * Procfile), built only on the public C API of libprocmon (include/procmon.h).
 *
 *   procmon [--threshold S] [--killtime S] [--minrestartdelay S]
 *           [--maxrestartdelay S] [--procfile FILE]... [--timestamps]
 *           [--help] [--version] [[NAME=]COMMAND]...
 *
 * Options are one table (`options` below): each row names the option, its
 * argument and help, and the function that takes it while the command line is
 * read in order. Three kinds of rows exist: monitor settings (applied to the
 * monitor once it exists), per-process settings (recorded in order, and applied
 * to the spec of every process defined after them: the positional commands and
 * the entries of a later --procfile), and actions (--procfile reads its file
 * there and then; --help, --version). Every process, positional or from a
 * Procfile, goes through add_entry() when defined and add_to_monitor() when
 * started. The manual page is cli/procmon.1; cli/test_cli.sh checks that it
 * documents every option of the table.
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
  size_t n_settings;  /* the per-process settings given before it apply to it */
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

/* Defines a process (takes ownership of name and command). */
static void add_entry(char *name, char *command, const char *file, int line, size_t n_settings) {
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
  entries[n_entries] = (struct entry){name, command, file, line, n_settings,
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

struct cli_option;
/* Takes an option (arg is NULL for one without an argument), in command-line
 * order; exits with usage_error() on a syntax error. A per-process setting
 * (set_spec) has none: it is recorded in order. */
typedef void (*parse_fn)(struct cli_option *opt, const char *arg);

struct cli_option {
  const char *name;    /* long name, without "--" */
  char short_name;     /* 0: none */
  const char *metavar; /* NULL: takes no argument */
  const char *help;    /* for --help; '\n' starts a continuation line */
  parse_fn parse; /* NULL for a per-process setting */
  /* parse_monitor_seconds: the monitor's setter, applied once the monitor
   * exists, and what was given (the last one wins). */
  int (*set_monitor)(procmon_t *pm, double seconds);
  int given;
  const char *text;
  double value;
  /* A per-process setting: applied, in order, to the spec of each process
   * defined after the option (a procmon_spec_set_* call that judges arg);
   * returns a procmon_error_t. */
  int (*set_spec)(procmon_spec_t *spec, const char *arg);
  /* parse_flag: set to 1. */
  int *flag;
};

static void usage(FILE *f);

static void parse_monitor_seconds(struct cli_option *opt, const char *text);
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

/* Every option, in --help's order. A new one is a row here and a paragraph in
 * procmon.1; a per-process one (applying to the processes defined after it) has
 * .set_spec instead of .parse, e.g.
 *   {.name = "stop-signal", .metavar = "SIG", .set_spec = set_stop_signal,
 *    .help = "..."},                                                        */
static struct cli_option options[] = {
    {.name = "threshold", .metavar = "S", .parse = parse_monitor_seconds,
     .set_monitor = procmon_set_threshold,
     .help = "a child that lives less than S has died instantly and\n"
             "is restarted after a doubling delay (default 1)"},
    {.name = "killtime", .metavar = "S", .parse = parse_monitor_seconds,
     .set_monitor = procmon_set_kill_time,
     .help = "grace between TERM and KILL when stopping (default 5)"},
    {.name = "minrestartdelay", .metavar = "S", .parse = parse_monitor_seconds,
     .set_monitor = procmon_set_min_restart_delay,
     .help = "first restart delay after an instant death (default 1)"},
    {.name = "maxrestartdelay", .metavar = "S", .parse = parse_monitor_seconds,
     .set_monitor = procmon_set_max_restart_delay,
     .help = "cap of the doubling restart delay (default 3600)"},
    {.name = "procfile", .metavar = "FILE", .parse = parse_procfile,
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

/* The per-process settings given so far, in order: an entry applies the first
 * n_settings of them (those given before it). */
struct process_setting {
  const struct cli_option *opt;
  const char *arg;
};
static struct process_setting *settings;
static size_t n_settings, cap_settings;

static void usage(FILE *f) {
  fprintf(f,
"Usage: %s [OPTION]... [NAME=]COMMAND...\n"
"  or:  %s [OPTION]... --procfile FILE [OPTION]... [[NAME=]COMMAND]...\n"
"Run each COMMAND under a process monitor and restart it whenever it exits\n"
"(like Twisted's `twistd procmon`).\n"
"\n"
"Each COMMAND is one argument, run as `/bin/sh -c COMMAND`. Prefix it with\n"
"`exec` (e.g. 'exec myserver --port 80') to make the program itself the\n"
"monitored child instead of a shell around it. NAME (letters, digits, '_',\n"
"'.', '-') defaults to p1, p2, ... by position; to start a command with a\n"
"shell variable assignment, give it an explicit name: 'p1=FOO=1 cmd'.\n"
"\n"
"Options (S is a number of seconds, fractions allowed):\n",
          prog, prog);
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const struct cli_option *o = &options[i];
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
"`[NAME:stderr] line` for its stderr. Lifecycle events (start, exit, restart\n"
"delay, spawn failure, KILL) are printed on stderr as `procmon: [NAME] ...`.\n"
"On a terminal each name has a colour of its own (NO_COLOR set to a non-empty\n"
"value turns colours off).\n"
"\n"
"SIGINT, SIGTERM or SIGHUP stops every child (TERM, then KILL after the kill\n"
"time), prints their remaining output and exits 0.\n"
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

/* Syntax only: any number strtod accepts (negative, NaN and infinite values
 * included) is handed to the library, which judges the value. */
static void parse_monitor_seconds(struct cli_option *opt, const char *text) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end != '\0')
    usage_error("--%s: '%s' is not a number of seconds", opt->name, text);
  opt->given = 1;
  opt->text = text;
  opt->value = v;
}

/* A per-process setting: recorded in order; the library judges the value when a
 * process is added. */
static void record_process_setting(const struct cli_option *opt, const char *arg) {
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
    add_entry(checked(strndup(buf, name_len)), checked(strdup(command)), path, line, n_settings);
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

/* Reads the options in order (each row's parse function takes its own), then
 * defines a process per positional COMMAND. */
static void parse_command_line(int argc, char **argv) {
  static struct option longopts[N_OPTIONS + 1];
  /* '+': stop at the first command, so a command never looks like an option. */
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

  int opt;
  while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
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

  for (int i = optind, position = 1; i < argc; i++, position++) {
    const char *arg = argv[i];
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
    add_entry(name, checked(strdup(command)), NULL, 0, n_settings);
  }
  if (n_entries == 0) usage_error("no command given");
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

/* Adds one entry: /bin/sh -c COMMAND, with the per-process settings given before
 * it applied to its spec. Returns PROCMON_OK or the exit status (after the report). */
static int add_to_monitor(procmon_t *pm, const struct entry *e) {
  const char *child_argv[] = {"/bin/sh", "-c", e->command, NULL};
  char what[512];
  procmon_spec_t *spec = procmon_spec_new(child_argv);
  if (!spec) {
    snprintf(what, sizeof what, "cannot add '%s'", e->name);
    return library_failure(pm, what, PROCMON_ERR_INVALID);
  }
  int rc = PROCMON_OK;
  for (size_t i = 0; i < e->n_settings && rc == PROCMON_OK; i++) {
    const struct process_setting *ps = &settings[i];
    if ((rc = ps->opt->set_spec(spec, ps->arg)) != PROCMON_OK)
      snprintf(what, sizeof what, "--%s %s (for '%s')", ps->opt->name, ps->arg, e->name);
  }
  if (rc == PROCMON_OK && (rc = procmon_add(pm, e->name, spec)) != PROCMON_OK)
    snprintf(what, sizeof what, "cannot add '%s'", e->name);
  if (rc == PROCMON_OK) {
    procmon_spec_free(spec);
    return PROCMON_OK;
  }
  /* procmon_last_error() lasts until the next call: copy it before the free. */
  char *detail = strdup(procmon_last_error());
  procmon_spec_free(spec);
  int status = library_failure_detail(pm, what, rc, detail);
  free(detail);
  return status;
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

  for (size_t i = 0; i < N_OPTIONS; i++) {
    const struct cli_option *o = &options[i];
    if (!o->set_monitor || !o->given) continue;
    if ((rc = o->set_monitor(pm, o->value)) != PROCMON_OK) {
      char what[128];
      snprintf(what, sizeof what, "--%s %s", o->name, o->text);
      return library_failure(pm, what, rc);
    }
  }

  note("monitoring %zu process%s (pid %d); SIGINT or SIGTERM stops them", n_entries,
       n_entries == 1 ? "" : "es", (int)getpid());

  for (size_t i = 0; i < n_entries; i++)
    if ((rc = add_to_monitor(pm, &entries[i])) != PROCMON_OK) return rc;

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
  }
  free(entries);
  free(settings);
  return atomic_load(&output_failed) ? EXIT_LIBRARY : 0;
}
