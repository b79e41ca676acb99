/* The harness: failure reports, the clock, the recorder of callbacks, and the
 * monitor fixtures. */
#define _GNU_SOURCE
#include "task.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void task_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s:%d: FAILED: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  _exit(1); /* no atexit handlers, no monitor teardown on a broken state */
}

double task_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void task_nap(void) {
  struct timespec ts = {0, 5 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

const char *task_exe(void) {
  static char path[4096];
  if (!path[0]) {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) FAIL("readlink /proc/self/exe: %s", strerror(errno));
    path[n] = '\0';
  }
  return path;
}

const char *task_code_name(int code) {
  switch (code) {
    case PROCMON_OK: return "PROCMON_OK";
    case PROCMON_ERR_INVALID: return "PROCMON_ERR_INVALID";
    case PROCMON_ERR_EXISTS: return "PROCMON_ERR_EXISTS";
    case PROCMON_ERR_NOT_FOUND: return "PROCMON_ERR_NOT_FOUND";
    case PROCMON_ERR_STATE: return "PROCMON_ERR_STATE";
    case PROCMON_ERR_SYSTEM: return "PROCMON_ERR_SYSTEM";
    case PROCMON_ERR_INTERNAL: return "PROCMON_ERR_INTERNAL";
    case PROCMON_ERR_AGAIN: return "PROCMON_ERR_AGAIN";
    default: return "(not a procmon code)";
  }
}

int task_str_eq(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

/* Up to 60 bytes of `data` from `from`, printable ASCII as is, the rest escaped. */
static void escape(char *out, const unsigned char *data, size_t len, size_t from) {
  size_t end = len < from + 60 ? len : from + 60;
  if (from > 0) out += sprintf(out, "...");
  for (size_t i = from; i < end; i++) {
    unsigned char c = data[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
      *out++ = (char)c;
    else
      out += sprintf(out, "\\x%02x", c);
  }
  if (end < len) out += sprintf(out, "...");
  *out = '\0';
}

void task_assert_mem(const char *file, int line, const char *aexpr, const void *a,
                     size_t alen, const char *bexpr, const void *b, size_t blen) {
  const unsigned char *x = a, *y = b;
  size_t n = alen < blen ? alen : blen, at = 0;
  while (at < n && x[at] == y[at]) at++;
  if (at == n && alen == blen) return;
  size_t from = at > 20 ? at - 20 : 0;
  char ex[512], ey[512];
  escape(ex, x, alen, from);
  escape(ey, y, blen, from);
  task_fail(file, line, "expected %s == %s: %zu vs %zu bytes, first difference at %zu:"
            "\n  \"%s\"\n  \"%s\"", aexpr, bexpr, alen, blen, at, ex, ey);
}

void task_pattern(char *buf, size_t len) {
  for (size_t i = 0; i < len; i++) buf[i] = (char)('0' + (i * 31 + i / 4093) % 75);
}

double task_slowness(void) {
  static double slowness;
  if (slowness == 0) {
    const char *s = getenv("PROCMON_TEST_SLOWNESS");
    double v = s ? atof(s) : 1.0;
    slowness = v >= 1.0 ? v : 1.0;
  }
  return slowness;
}

void task_let_pass(double seconds) {
  double until = task_now() + seconds;
  while (task_now() < until) task_nap();
}

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int armed;
  double seconds;
  const char *what;
  pthread_t thread;
} dog = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, 0};

static void *watch(void *arg) {
  (void)arg;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)(dog.seconds * task_slowness());
  pthread_mutex_lock(&dog.mu);
  while (dog.armed)
    if (pthread_cond_timedwait(&dog.cv, &dog.mu, &until) == ETIMEDOUT && dog.armed)
      FAIL("%s did not return within %g s (deadlock?)", dog.what, dog.seconds * task_slowness());
  pthread_mutex_unlock(&dog.mu);
  return NULL;
}

void task_watchdog_start(double seconds, const char *what) {
  pthread_mutex_lock(&dog.mu);
  if (dog.armed) FAIL("a watchdog is already running");
  dog.armed = 1;
  dog.seconds = seconds;
  dog.what = what;
  pthread_mutex_unlock(&dog.mu);
  if (pthread_create(&dog.thread, NULL, watch, NULL)) FAIL("pthread_create failed");
}

void task_watchdog_stop(void) {
  pthread_mutex_lock(&dog.mu);
  dog.armed = 0;
  pthread_cond_signal(&dog.cv);
  pthread_mutex_unlock(&dog.mu);
  pthread_join(dog.thread, NULL);
}

static char tmpdir[4096];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void remove_tmpdir(void) {
  if (tmpdir[0]) nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *task_tmpdir(void) {
  if (!tmpdir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/procmon-ctest-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) FAIL("mkdtemp %s: %s", tmpdir, strerror(errno));
    atexit(remove_tmpdir); /* kept after a failure, for a look */
  }
  return tmpdir;
}

const char *task_tmpfile(const char *leaf) {
  static char path[8][4200];
  static int next;
  char *p = path[next++ % 8];
  snprintf(p, sizeof path[0], "%s/%s", task_tmpdir(), leaf);
  return p;
}

/* ---- the recorder ---------------------------------------------------------- */

void rec_init(recorder_t *rec) {
  memset(rec, 0, sizeof *rec);
  pthread_mutex_init(&rec->mu, NULL);
}

void rec_destroy(recorder_t *rec) {
  for (size_t i = 0; i < rec->nlines; i++) free(rec->lines[i].data);
  free(rec->lines);
  free(rec->events);
  pthread_mutex_destroy(&rec->mu);
}

static void *grow(void *items, size_t *cap, size_t size) {
  *cap = *cap ? *cap * 2 : 64;
  void *more = realloc(items, *cap * size);
  if (!more) FAIL("out of memory");
  return more;
}

static void note_thread(recorder_t *rec) {
  if (!rec->have_thread) {
    rec->cb_thread = pthread_self();
    rec->have_thread = 1;
  } else if (!pthread_equal(rec->cb_thread, pthread_self())) {
    rec->off_thread = 1;
  }
}

static void copy_name(char dst[64], const char *name) {
  snprintf(dst, 64, "%s", name ? name : "(null)");
}

void rec_log_cb(void *userdata, const char *name, procmon_stream_t stream,
                const char *line, size_t len) {
  recorder_t *rec = userdata;
  rec_line_t item;
  copy_name(item.name, name);
  item.stream = stream;
  item.len = len;
  item.terminated = line[len] == '\0';
  item.data = malloc(len + 1);
  if (!item.data) FAIL("out of memory");
  memcpy(item.data, line, len);
  item.data[len] = '\0';
  pthread_mutex_lock(&rec->mu);
  note_thread(rec);
  item.seq = rec->seq++;
  if (rec->nlines == rec->cap_lines)
    rec->lines = grow(rec->lines, &rec->cap_lines, sizeof *rec->lines);
  rec->lines[rec->nlines++] = item;
  pthread_mutex_unlock(&rec->mu);
  if (rec->slow_us) usleep(rec->slow_us);
  if (rec->on_line) rec->on_line(rec, &item);
}

void rec_event_cb(void *userdata, const procmon_event_t *event) {
  recorder_t *rec = userdata;
  rec_event_t item;
  item.kind = event->kind;
  copy_name(item.name, event->name);
  item.pid = event->pid;
  item.exit_code = event->exit_code;
  item.signal = event->signal;
  item.error = event->error;
  item.uptime = event->uptime;
  item.delay = event->delay;
  item.timestamp = event->timestamp;
  item.flags = event->flags;
  item.user_cpu = event->user_cpu;
  item.sys_cpu = event->sys_cpu;
  item.max_rss_kib = event->max_rss_kib;
  item.containment = event->containment;
  item.at = task_now();
  pthread_mutex_lock(&rec->mu);
  note_thread(rec);
  item.seq = rec->seq++;
  if (rec->nevents == rec->cap_events)
    rec->events = grow(rec->events, &rec->cap_events, sizeof *rec->events);
  rec->events[rec->nevents++] = item;
  pthread_mutex_unlock(&rec->mu);
  if (rec->on_event) rec->on_event(rec, &item);
}

static int name_matches(const char *want, const char *name) {
  return !want || strcmp(want, name) == 0;
}

size_t rec_count_lines(recorder_t *rec, const char *name) {
  size_t n = 0;
  pthread_mutex_lock(&rec->mu);
  for (size_t i = 0; i < rec->nlines; i++) n += name_matches(name, rec->lines[i].name);
  pthread_mutex_unlock(&rec->mu);
  return n;
}

size_t rec_count_events(recorder_t *rec, const char *name, int kind) {
  size_t n = 0;
  pthread_mutex_lock(&rec->mu);
  for (size_t i = 0; i < rec->nevents; i++)
    n += name_matches(name, rec->events[i].name) &&
         (!kind || (int)rec->events[i].kind == kind);
  pthread_mutex_unlock(&rec->mu);
  return n;
}

int rec_has_line(recorder_t *rec, const char *name, const char *text) {
  int found = 0;
  pthread_mutex_lock(&rec->mu);
  for (size_t i = 0; i < rec->nlines && !found; i++)
    found = name_matches(name, rec->lines[i].name) &&
            strcmp(rec->lines[i].data, text) == 0;
  pthread_mutex_unlock(&rec->mu);
  return found;
}

int rec_line(recorder_t *rec, const char *name, size_t i, rec_line_t *out) {
  int found = 0;
  pthread_mutex_lock(&rec->mu);
  for (size_t k = 0; k < rec->nlines && !found; k++) {
    if (name_matches(name, rec->lines[k].name) && i-- == 0) {
      *out = rec->lines[k];
      out->data = malloc(out->len + 1);
      if (!out->data) FAIL("out of memory");
      memcpy(out->data, rec->lines[k].data, out->len + 1);
      found = 1;
    }
  }
  pthread_mutex_unlock(&rec->mu);
  return found;
}

int rec_event(recorder_t *rec, const char *name, int kind, size_t i, rec_event_t *out) {
  int found = 0;
  pthread_mutex_lock(&rec->mu);
  for (size_t k = 0; k < rec->nevents && !found; k++) {
    const rec_event_t *e = &rec->events[k];
    if (name_matches(name, e->name) && (!kind || (int)e->kind == kind) && i-- == 0) {
      *out = *e;
      found = 1;
    }
  }
  pthread_mutex_unlock(&rec->mu);
  return found;
}

/* ---- fixtures -------------------------------------------------------------- */

procmon_t *fx_monitor(recorder_t *rec) {
  procmon_t *pm = procmon_new();
  if (!pm) FAIL("procmon_new: %s", procmon_last_error());
  ASSERT_OK(procmon_set_threshold(pm, FX_THRESHOLD));
  ASSERT_OK(procmon_set_kill_time(pm, FX_KILL_TIME));
  ASSERT_OK(procmon_set_min_restart_delay(pm, FX_MIN_DELAY));
  ASSERT_OK(procmon_set_max_restart_delay(pm, FX_MAX_DELAY));
  if (rec) {
    ASSERT_OK(procmon_set_log_callback(pm, rec_log_cb, rec));
    ASSERT_OK(procmon_set_event_callback(pm, rec_event_cb, rec));
  }
  return pm;
}

int fx_add_opts(procmon_t *pm, const char *name, const char *mode, const char *arg,
                const procmon_process_options_t *opts) {
  const char *argv[] = {task_exe(), "child", mode, arg, NULL};
  return procmon_add_process(pm, name, argv, opts);
}

int fx_addv(procmon_t *pm, const char *name, const procmon_process_options_t *opts,
            const char *mode, const char *const *args) {
  const char *argv[16] = {task_exe(), "child", mode};
  size_t n = 3;
  for (; args && *args; args++) {
    if (n == 15) FAIL("too many fixture arguments");
    argv[n++] = *args;
  }
  argv[n] = NULL;
  return procmon_add_process(pm, name, argv, opts);
}

int fx_add(procmon_t *pm, const char *name, const char *mode, const char *arg) {
  return fx_add_opts(pm, name, mode, arg, NULL);
}

int fx_add_sh(procmon_t *pm, const char *name, const char *script) {
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  return procmon_add_process(pm, name, argv, NULL);
}

int32_t fx_pid(procmon_t *pm, const char *name) {
  int32_t pid = -1;
  ASSERT_OK(procmon_process_pid(pm, name, &pid));
  return pid;
}

procmon_state_t fx_state(procmon_t *pm, const char *name) {
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, name, &info));
  return info.state;
}

int fx_alive(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *paren = strrchr(buf, ')');
  if (!paren || paren[1] != ' ') return 0;
  return paren[2] != 'Z' && paren[2] != 'X';
}

int fx_gone(pid_t pid) {
  if (kill(pid, 0) == 0) return 0; /* running, or a zombie nobody reaped */
  return errno == ESRCH;
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) FAIL("opendir %s: %s", dir, strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

int fx_count_fds(void) { return count_entries("/proc/self/fd") - 1; /* the DIR's */ }

int fx_count_threads(void) { return count_entries("/proc/self/task"); }
