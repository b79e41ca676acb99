/* Lines and events as API.md says: order, raw bytes, partial last lines, pieces of
 * over-long lines, no loss under a flood with a slow callback, grandchildren. */
#define _GNU_SOURCE
#include "task.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static recorder_t rec;

static procmon_t *setup(void) {
  rec_init(&rec);
  return fx_monitor(&rec);
}

static rec_line_t line_at(const char *name, size_t i) {
  rec_line_t line;
  if (!rec_line(&rec, name, i, &line)) FAIL("%s has no line %zu", name, i);
  return line;
}

/* Line i of `name` is exactly `len` bytes of `want`, on `stream`. */
static void check_line(const char *name, size_t i, procmon_stream_t stream,
                       const char *want, size_t len) {
  rec_line_t line = line_at(name, i);
  ASSERT_EQ_INT(line.stream, stream);
  ASSERT_EQ_INT(line.len, len);
  ASSERT_TRUE(memcmp(line.data, want, len) == 0);
  ASSERT_TRUE(line.terminated);
  free(line.data);
}

void test_complete_lines(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "foo", "lines", "3"));
  WAIT_FOR(rec_count_events(&rec, "foo", PROCMON_EVENT_EXITED) >= 1);
  check_line("foo", 0, PROCMON_STDOUT, "line 1", 6);
  check_line("foo", 1, PROCMON_STDOUT, "line 2", 6);
  check_line("foo", 2, PROCMON_STDOUT, "line 3", 6);
  procmon_free(pm);
}

/* Not UTF-8, a NUL inside, a '\r' kept, an empty line passed. */
void test_raw_bytes(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "raw", "raw", NULL));
  WAIT_FOR(rec_count_events(&rec, "raw", PROCMON_EVENT_EXITED) >= 1);
  check_line("raw", 0, PROCMON_STDOUT, "\xffhello world!", 13);
  check_line("raw", 1, PROCMON_STDOUT, "a\0b", 3);
  check_line("raw", 2, PROCMON_STDOUT, "crlf\r", 5);
  check_line("raw", 3, PROCMON_STDOUT, "", 0);
  procmon_free(pm);
}

/* A last line without '\n' is passed when the stream closes, before EXITED. */
void test_partial_line_flushed_at_exit(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "part", "partial", NULL));
  WAIT_FOR(rec_count_events(&rec, "part", PROCMON_EVENT_EXITED) >= 1);
  check_line("part", 0, PROCMON_STDOUT, "no newline", 10);
  rec_event_t exited;
  ASSERT_TRUE(rec_event(&rec, "part", PROCMON_EVENT_EXITED, 0, &exited));
  ASSERT_CMP_INT(line_at("part", 0).seq, <, exited.seq);
  procmon_free(pm);
}

/* Pieces of PROCMON_LINE_LIMIT bytes; nothing dropped. */
void test_long_line_in_pieces(void) {
  procmon_t *pm = setup();
  const long total = 3 * PROCMON_LINE_LIMIT + 1234;
  char arg[32];
  snprintf(arg, sizeof arg, "%ld", total);
  ASSERT_OK(fx_add(pm, "huge", "huge", arg));
  WAIT_FOR(rec_has_line(&rec, "huge", "after"));
  ASSERT_EQ_INT(rec_count_lines(&rec, "huge"), 5);
  for (size_t i = 0; i < 4; i++) {
    rec_line_t piece = line_at("huge", i);
    ASSERT_EQ_INT(piece.len, i < 3 ? PROCMON_LINE_LIMIT : 1234);
    ASSERT_TRUE(piece.terminated);
    ASSERT_TRUE(strspn(piece.data, "x") == piece.len);
    free(piece.data);
  }
  procmon_free(pm);
}

/* Each stream's lines in the order written, tagged with their stream. */
void test_streams_keep_their_order(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "mixed", "mixed", "500"));
  WAIT_FOR(rec_count_events(&rec, "mixed", PROCMON_EVENT_EXITED) >= 1);
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

/* A callback slower than the child: every line arrives, in order. */
void test_flood_with_slow_callback_loses_nothing(void) {
  procmon_t *pm = setup();
  rec.slow_us = 20;
  ASSERT_OK(procmon_set_min_restart_delay(pm, 30)); /* one run only */
  ASSERT_OK(fx_add(pm, "flood", "lines", "30000"));
  WAIT_FOR(rec_count_events(&rec, "flood", PROCMON_EVENT_EXITED) >= 1);
  ASSERT_EQ_INT(rec_count_lines(&rec, "flood"), 30000);
  for (size_t i = 0; i < 30000; i += 997) {
    rec_line_t line = line_at("flood", i);
    char want[32];
    snprintf(want, sizeof want, "line %zu", i + 1);
    ASSERT_EQ_STR(line.data, want);
    free(line.data);
  }
  procmon_free(pm);
}

/* STARTED, the run's lines, EXITED, then RESTART_SCHEDULED, then the next STARTED. */
void test_event_order_of_a_run(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "run", "lines", "3"));
  WAIT_FOR(rec_count_events(&rec, "run", PROCMON_EVENT_STARTED) >= 2);
  rec_event_t started, exited, scheduled, next;
  ASSERT_TRUE(rec_event(&rec, "run", PROCMON_EVENT_STARTED, 0, &started));
  ASSERT_TRUE(rec_event(&rec, "run", PROCMON_EVENT_EXITED, 0, &exited));
  ASSERT_TRUE(rec_event(&rec, "run", PROCMON_EVENT_RESTART_SCHEDULED, 0, &scheduled));
  ASSERT_TRUE(rec_event(&rec, "run", PROCMON_EVENT_STARTED, 1, &next));
  ASSERT_EQ_INT(exited.pid, started.pid);
  ASSERT_CMP_INT(started.seq, <, line_at("run", 0).seq);
  ASSERT_CMP_INT(line_at("run", 2).seq, <, exited.seq);
  ASSERT_CMP_INT(exited.seq, <, scheduled.seq);
  ASSERT_CMP_INT(scheduled.seq, <, next.seq);
  ASSERT_TRUE(!rec.off_thread); /* one callback thread */
  ASSERT_TRUE(!pthread_equal(rec.cb_thread, pthread_self()));
  procmon_free(pm);
}

/* A grandchild holding the pipe holds back neither EXITED nor the restart, and
 * what it writes later is still delivered under the same name. */
void test_grandchild_holding_the_pipe(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_min_restart_delay(pm, 30)); /* one run only */
  ASSERT_OK(fx_add(pm, "gc", "grandchild", NULL));
  WAIT_FOR(rec_count_events(&rec, "gc", PROCMON_EVENT_RESTART_SCHEDULED) >= 1);
  rec_event_t started, exited;
  ASSERT_TRUE(rec_event(&rec, "gc", PROCMON_EVENT_STARTED, 0, &started));
  ASSERT_TRUE(rec_event(&rec, "gc", PROCMON_EVENT_EXITED, 0, &exited));
  ASSERT_CMP_DBL(exited.at - started.at, <, 5.0); /* not the grandchild's 30 s */
  WAIT_FOR(rec_has_line(&rec, "gc", "late"));
  /* procmon_free does not wait for the grandchild either. */
  double t0 = task_now();
  procmon_free(pm);
  ASSERT_CMP_DBL(task_now() - t0, <, 10.0);
  kill(-started.pid, SIGKILL); /* its process group: the grandchild */
}
