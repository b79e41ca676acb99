/* The harness of the C tests: typed asserts that print both values, waits with a
 * deadline, a thread-safe recorder of lines and events, and monitor fixtures whose
 * children are this very binary run in a fixture mode (see fixtures.c). */
#ifndef PROCMON_TASK_H
#define PROCMON_TASK_H

#include <procmon.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How long any condition may take to come true: generous, the machine is shared. */
#define TASK_DEADLINE (20.0 * task_slowness())

/* The fast settings every fixture monitor starts with. */
#define FX_THRESHOLD 0.5
#define FX_KILL_TIME 0.3
#define FX_MIN_DELAY 0.05
#define FX_MAX_DELAY 1.0

void task_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
double task_now(void);   /* monotonic seconds */
/* How much slower than native the tests run: PROCMON_TEST_SLOWNESS (default 1),
 * set by scripts/sanitize.sh under valgrind; it stretches every deadline and
 * watchdog, never what a test asserts about timing. */
double task_slowness(void);
void task_nap(void);     /* a short pause between two looks at a condition */
const char *task_exe(void); /* the path of this binary, to run it as a child */
const char *task_code_name(int code);

#define FAIL(...) task_fail(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT_TRUE(cond)                                                     \
  do {                                                                        \
    if (!(cond)) FAIL("expected %s", #cond);                                  \
  } while (0)

#define ASSERT_CMP_INT(a, op, b)                                              \
  do {                                                                        \
    long long a_ = (long long)(a), b_ = (long long)(b);                       \
    if (!(a_ op b_))                                                          \
      FAIL("expected %s %s %s: %lld vs %lld", #a, #op, #b, a_, b_);           \
  } while (0)
#define ASSERT_EQ_INT(a, b) ASSERT_CMP_INT(a, ==, b)

#define ASSERT_CMP_DBL(a, op, b)                                              \
  do {                                                                        \
    double a_ = (a), b_ = (b);                                                \
    if (!(a_ op b_)) FAIL("expected %s %s %s: %g vs %g", #a, #op, #b, a_, b_); \
  } while (0)

/* `alen` bytes at `a` equal `blen` bytes at `b`; on a mismatch prints both
 * lengths, the first differing offset and both texts escaped (cut short). */
#define ASSERT_EQ_MEM(a, alen, b, blen)                                       \
  task_assert_mem(__FILE__, __LINE__, #a, (a), (alen), #b, (b), (blen))

#define ASSERT_EQ_STR(a, b)                                                   \
  do {                                                                        \
    const char *a_ = (a), *b_ = (b);                                          \
    if (!task_str_eq(a_, b_))                                                 \
      FAIL("expected %s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)", \
           b_ ? b_ : "(null)");                                               \
  } while (0)

/* A procmon call returns `want`; on a mismatch prints both codes and the detail. */
#define ASSERT_CODE(call, want)                                               \
  do {                                                                        \
    int got_ = (call), want_ = (want);                                        \
    if (got_ != want_)                                                        \
      FAIL("%s: got %s (%d), want %s (%d); last error: %s", #call,           \
           task_code_name(got_), got_, task_code_name(want_), want_,         \
           procmon_last_error());                                             \
  } while (0)
#define ASSERT_OK(call) ASSERT_CODE(call, PROCMON_OK)

/* A failing call also leaves a detail in procmon_last_error(). */
#define ASSERT_FAILS(call, want)                                              \
  do {                                                                        \
    ASSERT_CODE(call, want);                                                  \
    ASSERT_TRUE(procmon_last_error() != NULL && procmon_last_error()[0]);     \
  } while (0)

/* Polls `cond` until it holds; fails the test after TASK_DEADLINE. */
#define WAIT_FOR(cond)                                                        \
  do {                                                                        \
    double end_ = task_now() + TASK_DEADLINE;                                 \
    while (!(cond)) {                                                         \
      if (task_now() > end_) FAIL("timed out waiting for %s", #cond);         \
      task_nap();                                                             \
    }                                                                         \
  } while (0)

int task_str_eq(const char *a, const char *b);
void task_assert_mem(const char *file, int line, const char *aexpr, const void *a,
                     size_t alen, const char *bexpr, const void *b, size_t blen);

/* Lets `seconds` pass. Never a synchronisation: only for "this must not happen"
 * checks, after every positive fact has been waited for with WAIT_FOR. */
void task_let_pass(double seconds);

/* Fills `buf` with `len` printable bytes (never '\n') that differ with their offset,
 * so a piece of a long line out of place or shifted by a byte shows. */
void task_pattern(char *buf, size_t len);

/* A watchdog for calls that could deadlock: fails the test with `what` if
 * task_watchdog_stop() is not called within `seconds`. One at a time. */
void task_watchdog_start(double seconds, const char *what);
void task_watchdog_stop(void);

/* A fresh directory under $TMPDIR (or /tmp) for this test, and a file path in it. */
const char *task_tmpdir(void);
const char *task_tmpfile(const char *leaf);

/* ---- the recorder ---------------------------------------------------------- */

typedef struct {
  char name[64];
  procmon_stream_t stream;
  char *data; /* len bytes and a NUL */
  size_t len;
  int terminated; /* line[len] == '\0' during the call */
  long seq;       /* position among all lines and events */
} rec_line_t;

typedef struct {
  procmon_event_kind_t kind;
  char name[64];
  int32_t pid, exit_code, signal, error;
  double uptime, delay;
  double timestamp; /* 0.2: wall-clock seconds when it happened */
  uint32_t flags;   /* 0.2: PROCMON_EXIT_* */
  double user_cpu, sys_cpu;
  int64_t max_rss_kib;
  int32_t containment; /* 0.2: STARTED's procmon_containment_t */
  double at; /* task_now() when it was delivered */
  long seq;
} rec_event_t;

typedef struct recorder recorder_t;

/* Called after each line is recorded (outside the recorder's lock). */
typedef void (*rec_hook_fn)(recorder_t *rec, const rec_line_t *line);
typedef void (*rec_event_hook_fn)(recorder_t *rec, const rec_event_t *event);

struct recorder {
  pthread_mutex_t mu;
  rec_line_t *lines;
  size_t nlines, cap_lines;
  rec_event_t *events;
  size_t nevents, cap_events;
  long seq;
  int off_thread; /* a callback ran on a thread other than the first one */
  pthread_t cb_thread;
  int have_thread;
  unsigned slow_us; /* sleep this long in every log callback (a slow consumer) */
  rec_hook_fn on_line;
  rec_event_hook_fn on_event;
  void *user; /* for the hooks */
};

void rec_init(recorder_t *rec);
void rec_destroy(recorder_t *rec);
void rec_log_cb(void *userdata, const char *name, procmon_stream_t stream,
                const char *line, size_t len);
void rec_event_cb(void *userdata, const procmon_event_t *event);

/* Counts; `name` NULL means any name, `kind` 0 any kind. */
size_t rec_count_lines(recorder_t *rec, const char *name);
size_t rec_count_events(recorder_t *rec, const char *name, int kind);
int rec_has_line(recorder_t *rec, const char *name, const char *text);
/* Copies the i-th matching line or event (the line's data is then the caller's to
 * free()); 0 if there is none. */
int rec_line(recorder_t *rec, const char *name, size_t i, rec_line_t *out);
int rec_event(recorder_t *rec, const char *name, int kind, size_t i, rec_event_t *out);

/* ---- fixtures -------------------------------------------------------------- */

/* A monitor with the FX_* settings and the recorder's callbacks. */
procmon_t *fx_monitor(recorder_t *rec);
/* Adds `name` running this binary in fixture `mode` with one argument (or NULL). */
int fx_add(procmon_t *pm, const char *name, const char *mode, const char *arg);
int fx_add_opts(procmon_t *pm, const char *name, const char *mode, const char *arg,
                const procmon_process_options_t *opts);
/* Adds `name` running this binary in fixture `mode` with the NULL-terminated
 * arguments `args` (NULL for none). */
int fx_addv(procmon_t *pm, const char *name, const procmon_process_options_t *opts,
            const char *mode, const char *const *args);
int fx_add_sh(procmon_t *pm, const char *name, const char *script);
int32_t fx_pid(procmon_t *pm, const char *name);
procmon_state_t fx_state(procmon_t *pm, const char *name);
/* Whether `pid` runs: /proc/PID/stat exists and says neither zombie nor dead
 * (a grandchild's zombie counts as dead: its reaper collects it when it likes). */
int fx_alive(pid_t pid);
/* Whether `pid` is gone: not running and not a zombie of ours. */
int fx_gone(pid_t pid);
int fx_count_fds(void);
int fx_count_threads(void);

/* The fixture modes, run as `<exe> child <mode> [args...]`. */
int fixture_main(int argc, char **argv);

#endif
