/* Pull delivery: the host polls procmon_poll_fd() and takes records with
 * procmon_next() or procmon_next_batch(). The line and flood tests of test_output.c again, through a
 * pump thread that feeds the recorder from records, plus what is pull mode's
 * own: the descriptor's level, backpressure when the host takes nothing, a free
 * that does not wait for the host, and the shutdown that delivers the last
 * records up to END. */
#define _GNU_SOURCE
#include "task.h"

#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static recorder_t rec;

/* ---- a pump: a host thread with its own poll loop ------------------------- */

typedef struct pump pump_t;
typedef void (*pump_line_fn)(pump_t *p, const procmon_record_t *r);

struct pump {
  procmon_t *pm;
  pthread_t thread;
  int wake[2]; /* written to stop the pump */
  pump_line_fn on_line; /* NULL: into the recorder */
  pump_line_fn on_event; /* NULL: only into the recorder */
  atomic_long records;
  atomic_int ended; /* END taken */
  atomic_int after_end; /* a record came after END */
  atomic_int bad_level; /* poll said readable, procmon_next said AGAIN, alone */
  int batch; /* 0: procmon_next; N > 0: procmon_next_batch, max N; -N: the two in turn */
  atomic_long calls; /* takes that returned PROCMON_OK */
  atomic_int exited_early; /* count_line: a flooder's EXITED before its last line */
};

#define PUMP_MAX 256

static pump_t pump;

/* One take as the pump's mode says: 1 record from procmon_next, or up to
 * |batch| from procmon_next_batch; checks what procmon_next_batch says. */
static int pump_take(pump_t *p, const procmon_record_t **rs, size_t *n) {
  int batch = p->batch;
  if (batch == 0 || (batch < 0 && p->calls % 2 == 0)) {
    int code = procmon_next(p->pm, &rs[0]);
    *n = code == PROCMON_OK;
    return code;
  }
  size_t max = (size_t)(batch < 0 ? -batch : batch);
  if (max > PUMP_MAX) FAIL("batch of %zu", max);
  *n = 12345;
  int code = procmon_next_batch(p->pm, rs, max, n);
  if (code == PROCMON_OK && (*n < 1 || *n > max)) FAIL("a batch of %zu records, max %zu", *n, max);
  if (code == PROCMON_ERR_AGAIN && *n != 0) FAIL("AGAIN with %zu records", *n);
  return code;
}

static void *pump_main(void *arg) {
  pump_t *p = arg;
  struct pollfd fds[2] = {{.fd = procmon_poll_fd(p->pm), .events = POLLIN},
                          {.fd = p->wake[0], .events = POLLIN}};
  if (fds[0].fd < 0) FAIL("procmon_poll_fd: %s", procmon_last_error());
  for (;;) {
    if (poll(fds, 2, -1) < 0) FAIL("poll failed");
    if (fds[1].revents) return NULL;
    if (!(fds[0].revents & POLLIN)) continue;
    const procmon_record_t *rs[PUMP_MAX];
    size_t n;
    int code, taken = 0;
    while ((code = pump_take(p, rs, &n)) == PROCMON_OK) {
      p->calls++;
      for (size_t i = 0; i < n; i++) {
        const procmon_record_t *r = rs[i];
        taken++;
        p->records++;
        if (p->ended) p->after_end = 1;
        switch (r->kind) {
          case PROCMON_RECORD_LINE:
            if (r->line[r->len] != '\0') FAIL("a line record without its NUL");
            if (p->on_line)
              p->on_line(p, r);
            else
              rec_log_cb(&rec, r->name, r->stream, r->line, r->len);
            break;
          case PROCMON_RECORD_EVENT:
            if (strcmp(r->name, r->event->name)) FAIL("the record's name is not the event's");
            rec_event_cb(&rec, r->event);
            if (p->on_event) p->on_event(p, r);
            break;
          case PROCMON_RECORD_END:
            if (r->name != NULL) FAIL("END with a name");
            p->ended = 1;
            break;
          default:
            FAIL("unknown record kind %d", (int)r->kind);
        }
      }
    }
    ASSERT_CODE(code, PROCMON_ERR_AGAIN);
    /* One taker: readable and nothing to take would break the level contract. */
    if (!taken) p->bad_level = 1;
  }
}

static void pump_start_batch(procmon_t *pm, pump_line_fn on_line, int batch) {
  memset(&pump, 0, sizeof pump);
  pump.pm = pm;
  pump.on_line = on_line;
  pump.batch = batch;
  if (pipe(pump.wake)) FAIL("pipe");
  if (pthread_create(&pump.thread, NULL, pump_main, &pump)) FAIL("pthread_create");
}

static void pump_start(procmon_t *pm, pump_line_fn on_line) { pump_start_batch(pm, on_line, 0); }

static void pump_stop(void) {
  if (write(pump.wake[1], "x", 1) != 1) FAIL("write");
  pthread_join(pump.thread, NULL);
  close(pump.wake[0]);
  close(pump.wake[1]);
  ASSERT_TRUE(!pump.bad_level);
  ASSERT_TRUE(!pump.after_end);
}

/* A fixture monitor in pull mode (no callbacks). */
static procmon_t *pull_monitor(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(NULL);
  ASSERT_OK(procmon_set_delivery(pm, PROCMON_DELIVERY_PULL));
  return pm;
}

static int readable(procmon_t *pm, int timeout_ms) {
  struct pollfd fd = {.fd = procmon_poll_fd(pm), .events = POLLIN};
  int n = poll(&fd, 1, timeout_ms);
  ASSERT_CMP_INT(n, >=, 0);
  return n == 1 && (fd.revents & POLLIN);
}

static rec_line_t line_at(const char *name, size_t i) {
  rec_line_t line;
  if (!rec_line(&rec, name, i, &line)) FAIL("%s has no line %zu", name, i);
  return line;
}

static void check_line(const char *name, size_t i, procmon_stream_t stream,
                       const char *want, size_t len) {
  rec_line_t line = line_at(name, i);
  ASSERT_EQ_INT(line.stream, stream);
  ASSERT_EQ_MEM(line.data, line.len, want, len);
  ASSERT_TRUE(line.terminated);
  free(line.data);
}

/* ---- the API's answers ------------------------------------------------------ */

static void noop_log(void *u, const char *n, procmon_stream_t s, const char *l, size_t len) {
  (void)u, (void)n, (void)s, (void)l, (void)len;
}

void test_pull_api_errors(void) {
  procmon_t *pm = fx_monitor(NULL);
  const procmon_record_t *r = NULL;
  /* Callbacks mode: no descriptor, no records. */
  ASSERT_FAILS(procmon_poll_fd(pm), PROCMON_ERR_STATE);
  ASSERT_FAILS(procmon_next(pm, &r), PROCMON_ERR_STATE);
  ASSERT_OK(procmon_set_delivery(pm, PROCMON_DELIVERY_CALLBACKS));
  ASSERT_FAILS(procmon_set_delivery(pm, 7), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_set_delivery(NULL, PROCMON_DELIVERY_PULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_poll_fd(NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_next(NULL, &r), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_shutdown(NULL), PROCMON_ERR_INVALID);
  const procmon_record_t *rs[4] = {NULL};
  size_t n = 99;
  ASSERT_FAILS(procmon_next_batch(pm, rs, 4, &n), PROCMON_ERR_STATE);
  ASSERT_FAILS(procmon_next_batch(NULL, rs, 4, &n), PROCMON_ERR_INVALID);

  ASSERT_OK(procmon_set_log_callback(pm, noop_log, NULL));
  ASSERT_OK(procmon_set_delivery(pm, PROCMON_DELIVERY_PULL));
  ASSERT_OK(procmon_set_delivery(pm, PROCMON_DELIVERY_PULL)); /* idempotent */
  int fd = procmon_poll_fd(pm);
  ASSERT_CMP_INT(fd, >=, 0);
  ASSERT_EQ_INT(procmon_poll_fd(pm), fd);
  ASSERT_FAILS(procmon_next(pm, NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_next(pm, &r), PROCMON_ERR_AGAIN);
  ASSERT_TRUE(r == NULL); /* written only on success */
  ASSERT_FAILS(procmon_next_batch(pm, NULL, 4, &n), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_next_batch(pm, rs, 4, NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_next_batch(pm, rs, 0, &n), PROCMON_ERR_INVALID);
  ASSERT_EQ_INT(n, 99); /* not written on INVALID */
  ASSERT_FAILS(procmon_next_batch(pm, rs, 4, &n), PROCMON_ERR_AGAIN);
  ASSERT_EQ_INT(n, 0);
  ASSERT_TRUE(rs[0] == NULL); /* the array is written only on success */
  ASSERT_TRUE(!readable(pm, 0));
  /* For good: no callback, no way back. */
  ASSERT_FAILS(procmon_set_log_callback(pm, noop_log, NULL), PROCMON_ERR_STATE);
  ASSERT_FAILS(procmon_set_log_callback(pm, NULL, NULL), PROCMON_ERR_STATE);
  ASSERT_FAILS(procmon_set_event_callback(pm, rec_event_cb, &rec), PROCMON_ERR_STATE);
  ASSERT_FAILS(procmon_set_delivery(pm, PROCMON_DELIVERY_CALLBACKS), PROCMON_ERR_STATE);
  ASSERT_EQ_STR(procmon_strerror(PROCMON_ERR_AGAIN),
                "nothing to take now (try again when the descriptor is readable)");
  procmon_free(pm);
}

/* ---- order and level -------------------------------------------------------- */

/* Takes one record, waiting on the descriptor; fails after the deadline. */
static const procmon_record_t *take(procmon_t *pm) {
  const procmon_record_t *r;
  double end = task_now() + TASK_DEADLINE;
  int code;
  while ((code = procmon_next(pm, &r)) == PROCMON_ERR_AGAIN) {
    if (task_now() > end) FAIL("no record within %g s", TASK_DEADLINE);
    readable(pm, 100);
  }
  ASSERT_OK(code);
  return r;
}

/* STARTED, the lines, EXITED, RESTART_SCHEDULED, each as its record; the
 * descriptor readable exactly while a record waits. */
void test_pull_order_and_level(void) {
  procmon_t *pm = pull_monitor();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 60)); /* one run only */
  ASSERT_OK(procmon_set_max_restart_delay(pm, 60));
  ASSERT_OK(procmon_set_threshold(pm, 600)); /* an instant death, however slow the machine */
  ASSERT_TRUE(!readable(pm, 0));
  ASSERT_OK(fx_add(pm, "run", "lines", "3"));
  ASSERT_TRUE(readable(pm, (int)(TASK_DEADLINE * 1000)));
  ASSERT_TRUE(readable(pm, 0)); /* level: still readable, nothing taken */

  const procmon_record_t *r = take(pm);
  ASSERT_EQ_INT(r->kind, PROCMON_RECORD_EVENT);
  ASSERT_EQ_INT(r->event->kind, PROCMON_EVENT_STARTED);
  ASSERT_EQ_STR(r->name, "run");
  int32_t pid = r->event->pid;
  ASSERT_CMP_INT(pid, >, 0);
  ASSERT_TRUE(r->line == NULL && r->len == 0);
  for (int i = 1; i <= 3; i++) {
    char want[16];
    snprintf(want, sizeof want, "line %d", i);
    r = take(pm);
    ASSERT_EQ_INT(r->kind, PROCMON_RECORD_LINE);
    ASSERT_EQ_STR(r->name, "run");
    ASSERT_EQ_INT(r->stream, PROCMON_STDOUT);
    ASSERT_EQ_MEM(r->line, r->len, want, strlen(want));
    ASSERT_TRUE(r->event == NULL);
  }
  r = take(pm);
  ASSERT_EQ_INT(r->kind, PROCMON_RECORD_EVENT);
  ASSERT_EQ_INT(r->event->kind, PROCMON_EVENT_EXITED);
  ASSERT_EQ_INT(r->event->pid, pid);
  ASSERT_EQ_INT(r->event->exit_code, 0);
  r = take(pm);
  ASSERT_EQ_INT(r->kind, PROCMON_RECORD_EVENT);
  ASSERT_EQ_INT(r->event->kind, PROCMON_EVENT_RESTART_SCHEDULED);
  ASSERT_CMP_DBL(r->event->delay, ==, 60.0);
  /* Everything taken, and nothing can come for 60 s: not readable, AGAIN. */
  ASSERT_TRUE(!readable(pm, 0));
  ASSERT_FAILS(procmon_next(pm, &r), PROCMON_ERR_AGAIN);
  ASSERT_TRUE(!readable(pm, 0));
  /* A new record makes it readable again. */
  ASSERT_OK(fx_add(pm, "again", "lines", "1"));
  ASSERT_TRUE(readable(pm, (int)(TASK_DEADLINE * 1000)));
  r = take(pm);
  ASSERT_EQ_INT(r->event->kind, PROCMON_EVENT_STARTED);
  ASSERT_EQ_STR(r->name, "again");
  procmon_free(pm);
}

/* Takes a batch of up to `max` records, waiting on the descriptor. */
static size_t take_batch(procmon_t *pm, const procmon_record_t **rs, size_t max) {
  size_t n = 0;
  double end = task_now() + TASK_DEADLINE;
  int code;
  while ((code = procmon_next_batch(pm, rs, max, &n)) == PROCMON_ERR_AGAIN) {
    if (task_now() > end) FAIL("no record within %g s", TASK_DEADLINE);
    ASSERT_EQ_INT(n, 0);
    readable(pm, 100);
  }
  ASSERT_OK(code);
  ASSERT_CMP_INT(n, >=, 1);
  ASSERT_CMP_INT(n, <=, max);
  return n;
}

/* What one run of "lines 3" gives: STARTED, 3 lines, EXITED, RESTART_SCHEDULED.
 * Checks record `i` of it. */
static void check_run_record(const procmon_record_t *r, int i, const char *name) {
  static const procmon_event_kind_t events[] = {PROCMON_EVENT_STARTED, 0, 0, 0,
                                                PROCMON_EVENT_EXITED,
                                                PROCMON_EVENT_RESTART_SCHEDULED};
  ASSERT_EQ_STR(r->name, name);
  if (i >= 1 && i <= 3) {
    char want[16];
    snprintf(want, sizeof want, "line %d", i);
    ASSERT_EQ_INT(r->kind, PROCMON_RECORD_LINE);
    ASSERT_EQ_INT(r->stream, PROCMON_STDOUT);
    ASSERT_EQ_MEM(r->line, r->len, want, strlen(want));
    ASSERT_TRUE(r->line[r->len] == '\0');
    ASSERT_TRUE(r->event == NULL);
  } else {
    ASSERT_EQ_INT(r->kind, PROCMON_RECORD_EVENT);
    ASSERT_EQ_INT(r->event->kind, events[i]);
    ASSERT_EQ_STR(r->event->name, name);
    ASSERT_TRUE(r->line == NULL && r->len == 0);
  }
}

static procmon_t *one_run_monitor(void) {
  procmon_t *pm = pull_monitor();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 60)); /* one run only */
  ASSERT_OK(procmon_set_max_restart_delay(pm, 60));
  ASSERT_OK(procmon_set_threshold(pm, 600));
  return pm;
}

/* max larger than what waits: the batches hold the run's 6 records in order,
 * never more than wait; then AGAIN, n = 0, and the descriptor not readable. */
void test_pull_batch_larger_than_what_waits(void) {
  procmon_t *pm = one_run_monitor();
  ASSERT_OK(fx_add(pm, "run", "lines", "3"));
  const procmon_record_t *rs[100];
  int got = 0;
  while (got < 6) {
    size_t n = take_batch(pm, rs, 100);
    ASSERT_CMP_INT((int)n, <=, 6 - got);
    for (size_t i = 0; i < n; i++) check_run_record(rs[i], got++, "run");
  }
  ASSERT_TRUE(!readable(pm, 0));
  size_t n = 99;
  ASSERT_FAILS(procmon_next_batch(pm, rs, 100, &n), PROCMON_ERR_AGAIN);
  ASSERT_EQ_INT(n, 0);
  ASSERT_TRUE(!readable(pm, 0));
  /* A new record makes it readable again. */
  ASSERT_OK(fx_add(pm, "again", "lines", "1"));
  ASSERT_TRUE(readable(pm, (int)(TASK_DEADLINE * 1000)));
  n = take_batch(pm, rs, 100);
  check_run_record(rs[0], 0, "again");
  procmon_free(pm);
}

/* procmon_next and procmon_next_batch (max 2) in turn: one sequence, in order;
 * a batch's records stay valid until the next take. */
void test_pull_batch_mixed_with_next_in_order(void) {
  procmon_t *pm = one_run_monitor();
  ASSERT_OK(fx_add(pm, "run", "lines", "3"));
  int got = 0;
  for (int turn = 0; got < 6; turn++) {
    if (turn % 2 == 0) {
      check_run_record(take(pm), got++, "run");
    } else {
      const procmon_record_t *rs[2];
      size_t n = take_batch(pm, rs, 2);
      ASSERT_CMP_INT((int)n, <=, 6 - got);
      for (size_t i = 0; i < n; i++) check_run_record(rs[i], got + (int)i, "run");
      /* Still valid, read again after the whole batch was read. */
      for (size_t i = 0; i < n; i++) check_run_record(rs[i], got + (int)i, "run");
      got += (int)n;
    }
  }
  const procmon_record_t *r;
  ASSERT_FAILS(procmon_next(pm, &r), PROCMON_ERR_AGAIN);
  ASSERT_TRUE(!readable(pm, 0));
  procmon_free(pm);
}

/* ---- the line tests, through the pump -------------------------------------- */

void test_pull_raw_bytes(void) {
  procmon_t *pm = pull_monitor();
  pump_start(pm, NULL);
  ASSERT_OK(fx_add(pm, "raw", "raw", NULL));
  WAIT_FOR(rec_count_events(&rec, "raw", PROCMON_EVENT_EXITED) >= 1);
  pump_stop();
  check_line("raw", 0, PROCMON_STDOUT, "\xffhello world!", 13);
  check_line("raw", 1, PROCMON_STDOUT, "a\0b", 3);
  check_line("raw", 2, PROCMON_STDOUT, "crlf\r", 5);
  check_line("raw", 3, PROCMON_STDOUT, "", 0);
  procmon_free(pm);
}

void test_pull_partial_line_and_streams(void) {
  procmon_t *pm = pull_monitor();
  ASSERT_OK(procmon_set_threshold(pm, 3600));
  ASSERT_OK(procmon_set_min_restart_delay(pm, 60));
  pump_start(pm, NULL);
  ASSERT_OK(fx_add(pm, "part", "partial", NULL));
  ASSERT_OK(fx_add(pm, "mixed", "mixed", "500"));
  WAIT_FOR(rec_count_events(&rec, "part", PROCMON_EVENT_EXITED) >= 1 &&
           rec_count_events(&rec, "mixed", PROCMON_EVENT_EXITED) >= 1);
  pump_stop();
  ASSERT_EQ_INT(rec_count_lines(&rec, "part"), 2);
  rec_line_t a = line_at("part", 0), b = line_at("part", 1);
  rec_line_t *out = a.stream == PROCMON_STDOUT ? &a : &b;
  rec_line_t *err = a.stream == PROCMON_STDOUT ? &b : &a;
  ASSERT_EQ_INT(err->stream, PROCMON_STDERR);
  ASSERT_EQ_MEM(out->data, out->len, "no newline", (size_t)10);
  ASSERT_EQ_MEM(err->data, err->len, "err no newline", (size_t)14);
  free(a.data);
  free(b.data);
  ASSERT_EQ_INT(rec_count_lines(&rec, "mixed"), 1000);
  long next_out = 1, next_err = 1;
  for (size_t i = 0; i < 1000; i++) {
    rec_line_t line = line_at("mixed", i);
    char want[32];
    if (line.stream == PROCMON_STDOUT)
      snprintf(want, sizeof want, "out %ld", next_out++);
    else
      snprintf(want, sizeof want, "err %ld", next_err++);
    ASSERT_EQ_STR(line.data, want);
    free(line.data);
  }
  procmon_free(pm);
}

/* A 1 MiB line comes as 16 records of exactly the line limit, in order, then "after". */
static void megabyte_line_in_pieces(int batch) {
  procmon_t *pm = pull_monitor();
  const size_t total = 16 * PROCMON_LINE_LIMIT;
  char arg[32];
  snprintf(arg, sizeof arg, "%zu", total);
  pump_start_batch(pm, NULL, batch);
  ASSERT_OK(fx_add(pm, "huge", "huge", arg));
  WAIT_FOR(rec_has_line(&rec, "huge", "after"));
  pump_stop();
  ASSERT_EQ_INT(rec_count_lines(&rec, "huge"), 17);
  char *want = malloc(total);
  ASSERT_TRUE(want != NULL);
  task_pattern(want, total);
  for (size_t i = 0; i < 16; i++) {
    rec_line_t line = line_at("huge", i);
    ASSERT_EQ_MEM(line.data, line.len, want + i * PROCMON_LINE_LIMIT, (size_t)PROCMON_LINE_LIMIT);
    free(line.data);
  }
  free(want);
  check_line("huge", 16, PROCMON_STDOUT, "after", 5);
  procmon_free(pm);
}

void test_pull_megabyte_line_in_pieces(void) { megabyte_line_in_pieces(0); }

/* The same pieces, in the same order, 5 at most per procmon_next_batch. */
void test_pull_batch_megabyte_line_in_pieces(void) { megabyte_line_in_pieces(5); }

/* ---- floods: every line of several children, in order --------------------- */

#define FLOODERS 4
#define FLOOD_LINES 100000

static struct {
  long next[FLOODERS]; /* the pump thread's only */
  atomic_long bad;
  atomic_long lines;
} fc;

/* Lines "line N" of children c0..c3, each in order from 1. */
static void count_line(pump_t *p, const procmon_record_t *r) {
  (void)p;
  int child = r->name[1] - '0';
  char want[32];
  int n = snprintf(want, sizeof want, "line %ld", ++fc.next[child]);
  if (r->name[0] != 'c' || child < 0 || child >= FLOODERS || r->len != (size_t)n ||
      memcmp(r->line, want, (size_t)n))
    fc.bad++;
  fc.lines++;
}

/* A flooder's EXITED comes after its last line. */
static void count_exited(pump_t *p, const procmon_record_t *r) {
  int child = r->name[1] - '0';
  if (r->event->kind == PROCMON_EVENT_EXITED && child >= 0 && child < FLOODERS &&
      fc.next[child] != FLOOD_LINES)
    p->exited_early = 1;
}

static void flood_of_several_children(int batch) {
  procmon_t *pm = pull_monitor();
  ASSERT_OK(procmon_set_threshold(pm, 3600));
  ASSERT_OK(procmon_set_min_restart_delay(pm, 60));
  memset(&fc, 0, sizeof fc);
  pump_start_batch(pm, count_line, batch);
  pump.on_event = count_exited;
  char arg[16];
  snprintf(arg, sizeof arg, "%d", FLOOD_LINES);
  for (int i = 0; i < FLOODERS; i++) {
    char name[8];
    snprintf(name, sizeof name, "c%d", i);
    ASSERT_OK(fx_add(pm, name, "lines", arg));
  }
  WAIT_FOR(rec_count_events(&rec, NULL, PROCMON_EVENT_EXITED) >= FLOODERS);
  pump_stop();
  ASSERT_EQ_INT(fc.bad, 0);
  ASSERT_EQ_INT(fc.lines, (long)FLOODERS * FLOOD_LINES);
  for (int i = 0; i < FLOODERS; i++) ASSERT_EQ_INT(fc.next[i], FLOOD_LINES);
  /* Each child's EXITED came after its last line: the pump saw them in order. */
  ASSERT_TRUE(!pump.exited_early);
  printf("%ld records in %ld takes\n", (long)pump.records, (long)pump.calls);
  if (batch > 1) ASSERT_CMP_INT(pump.calls, <, pump.records); /* batches of several */
  procmon_free(pm);
}

void test_pull_flood_of_several_children_loses_nothing(void) { flood_of_several_children(0); }

/* procmon_next_batch gives each child's lines in order, none lost, EXITED
 * after them: what procmon_next gives. */
void test_pull_batch_flood_of_several_children(void) { flood_of_several_children(PUMP_MAX); }

/* max = 1: one record a call, as procmon_next. */
void test_pull_batch_of_one(void) { flood_of_several_children(1); }

/* procmon_next and procmon_next_batch in turn on the same monitor. */
void test_pull_batch_mixed_with_next(void) { flood_of_several_children(-7); }

/* ---- backpressure ----------------------------------------------------------- */

/* What /proc/PID/FILE says after `key` (e.g. "wchar:" of io), or -1. */
static long proc_figure(pid_t pid, const char *file, const char *key) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long value = -1;
  size_t klen = strlen(key);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, klen)) value = atol(line + klen);
  fclose(f);
  return value;
}

/* The child is asleep in write(2) (on its full pipe): /proc/PID/syscall starts
 * with the number of write. */
static int blocked_in_write(pid_t pid) {
  char path[64], text[64] = {0};
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  char want[16];
  snprintf(want, sizeof want, "%d ", (int)SYS_write);
  return n > 0 && !strncmp(text, want, strlen(want));
}

static struct {
  unsigned long next; /* the flood fixture's sequence */
  atomic_long bad, lines;
} bp;

/* Lines "tag SEQ padding" of the flood fixture, SEQ from 0 with no gap. */
static void check_flood_line(pump_t *p, const procmon_record_t *r) {
  (void)p;
  char want[32];
  int n = snprintf(want, sizeof want, "f %lu ", bp.next);
  if (r->len >= 5 && !memcmp(r->line, "f end", 5)) return;
  if (r->len < (size_t)n || memcmp(r->line, want, (size_t)n)) bp.bad++;
  bp.next++;
  bp.lines++;
}

/* A host that takes nothing: the queue fills, the monitor stops reading, the
 * child blocks on its pipe and memory stays bounded; once the host takes
 * records again, every line comes, in order, none lost. */
void test_pull_backpressure_blocks_the_child(void) {
  procmon_t *pm = pull_monitor();
  ASSERT_OK(procmon_set_threshold(pm, 3600));
  ASSERT_OK(procmon_set_min_restart_delay(pm, 60));
  long rss_before = proc_figure(getpid(), "status", "VmRSS:");
  ASSERT_OK(fx_add(pm, "f", "flood", "f"));
  pid_t pid = fx_pid(pm, "f");
  WAIT_FOR(blocked_in_write(pid));
  task_let_pass(0.5); /* it must not write on: nobody takes */
  ASSERT_TRUE(blocked_in_write(pid));
  /* What it wrote waits in the queue (its bound) and the pipe: about 2 MiB. */
  long written = proc_figure(pid, "io", "wchar:");
  ASSERT_CMP_INT(written, >, 0);
  ASSERT_CMP_INT(written, <, 4L << 20);
  long rss = proc_figure(getpid(), "status", "VmRSS:");
  printf("blocked after %ld bytes; RSS %ld -> %ld KiB\n", written, rss_before, rss);
  ASSERT_CMP_INT(rss - rss_before, <, 32L << 10);
  ASSERT_TRUE(readable(pm, 0));

  memset(&bp, 0, sizeof bp);
  pump_start(pm, check_flood_line);
  WAIT_FOR(bp.lines > 200000);
  ASSERT_CMP_INT(proc_figure(pid, "io", "wchar:"), >, written); /* it writes again */
  ASSERT_OK(procmon_stop_process(pm, "f"));
  WAIT_FOR(rec_count_events(&rec, "f", PROCMON_EVENT_EXITED) >= 1);
  pump_stop();
  ASSERT_EQ_INT(bp.bad, 0);
  procmon_free(pm);
}

/* procmon_free of a monitor whose host never takes a record, during floods: it
 * neither waits for the host nor leaves a child blocked. */
void test_pull_free_without_draining(void) {
  procmon_t *pm = pull_monitor();
  pid_t pids[FLOODERS];
  for (int i = 0; i < FLOODERS; i++) {
    char name[8];
    snprintf(name, sizeof name, "f%d", i);
    ASSERT_OK(fx_add(pm, name, "flood", name));
    pids[i] = fx_pid(pm, name);
  }
  for (int i = 0; i < FLOODERS; i++) WAIT_FOR(blocked_in_write(pids[i]));
  task_watchdog_start(10, "procmon_free in pull mode with a full queue");
  double t0 = task_now();
  procmon_free(pm);
  double took = task_now() - t0;
  task_watchdog_stop();
  printf("procmon_free took %.2f s\n", took);
  ASSERT_CMP_DBL(took, <, 5.0);
  for (int i = 0; i < FLOODERS; i++) ASSERT_TRUE(fx_gone(pids[i]));
}

/* procmon_shutdown: the host goes on taking records, gets the last lines (written
 * after TERM), the EXITED event, then END, and nothing after it. */
static void shutdown_delivers_up_to_end(int batch) {
  procmon_t *pm = pull_monitor();
  ASSERT_OK(procmon_set_kill_time(pm, 10)); /* its own exit ends it, not KILL */
  pump_start_batch(pm, NULL, batch);
  ASSERT_OK(fx_add_sh(pm, "polite",
                      "trap 'kill $!; i=1; while [ $i -le 300 ]; do echo \"bye $i\"; "
                      "i=$((i+1)); done; exit 0' TERM; sleep 60 >/dev/null 2>&1 & echo ready; wait"));
  WAIT_FOR(rec_has_line(&rec, "polite", "ready"));
  ASSERT_OK(procmon_shutdown(pm));
  ASSERT_OK(procmon_shutdown(pm)); /* idempotent */
  WAIT_FOR(pump.ended);
  pump_stop();
  if (rec_count_lines(&rec, "polite") != 301) { /* say what came, to tell why */
    for (size_t i = 0; i < rec_count_lines(&rec, "polite") && i < 400; i++) {
      rec_line_t l = line_at("polite", i);
      if (strncmp(l.data, "bye ", 4)) printf("line %zu: %s\n", i, l.data);
      free(l.data);
    }
  }
  ASSERT_EQ_INT(rec_count_lines(&rec, "polite"), 301);
  for (size_t i = 1; i <= 300; i++) {
    char want[16];
    snprintf(want, sizeof want, "bye %zu", i);
    rec_line_t line = line_at("polite", i);
    ASSERT_EQ_STR(line.data, want);
    free(line.data);
  }
  ASSERT_EQ_INT(rec_count_events(&rec, "polite", PROCMON_EVENT_EXITED), 1);
  rec_event_t exited;
  ASSERT_TRUE(rec_event(&rec, "polite", PROCMON_EVENT_EXITED, 0, &exited));
  ASSERT_EQ_INT(exited.exit_code, 0);
  ASSERT_FAILS(fx_add(pm, "late", "lines", "1"), PROCMON_ERR_STATE);
  const procmon_record_t *r;
  ASSERT_FAILS(procmon_next(pm, &r), PROCMON_ERR_AGAIN); /* nothing after END */
  const procmon_record_t *rs[4] = {NULL};
  size_t n = 99;
  ASSERT_FAILS(procmon_next_batch(pm, rs, 4, &n), PROCMON_ERR_AGAIN);
  ASSERT_EQ_INT(n, 0);
  ASSERT_TRUE(rs[0] == NULL);
  ASSERT_TRUE(!readable(pm, 0));
  double t0 = task_now();
  procmon_free(pm);
  ASSERT_CMP_DBL(task_now() - t0, <, 1.0);
}

void test_pull_shutdown_delivers_up_to_end(void) { shutdown_delivers_up_to_end(0); }

/* END is the last record of its batch, and no batch comes after it. */
void test_pull_batch_shutdown_ends_with_end(void) { shutdown_delivers_up_to_end(PUMP_MAX); }
