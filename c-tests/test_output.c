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

/* The position of line i of `name` among all lines and events. */
static long line_seq(const char *name, size_t i) {
  rec_line_t line = line_at(name, i);
  free(line.data);
  return line.seq;
}

/* Line i of `name` is exactly `len` bytes of `want`, on `stream`. */
static void check_line(const char *name, size_t i, procmon_stream_t stream,
                       const char *want, size_t len) {
  rec_line_t line = line_at(name, i);
  ASSERT_EQ_INT(line.stream, stream);
  ASSERT_EQ_MEM(line.data, line.len, want, len);
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

/* A last line without '\n' is passed when its stream closes, on each stream,
 * before EXITED. */
void test_partial_line_flushed_at_exit(void) {
  procmon_t *pm = setup();
  ASSERT_OK(fx_add(pm, "part", "partial", NULL));
  WAIT_FOR(rec_count_events(&rec, "part", PROCMON_EVENT_EXITED) >= 1);
  ASSERT_EQ_INT(rec_count_lines(&rec, "part"), 2);
  rec_line_t a = line_at("part", 0), b = line_at("part", 1);
  rec_line_t *out = a.stream == PROCMON_STDOUT ? &a : &b;
  rec_line_t *err = a.stream == PROCMON_STDOUT ? &b : &a;
  ASSERT_EQ_INT(out->stream, PROCMON_STDOUT);
  ASSERT_EQ_INT(err->stream, PROCMON_STDERR);
  ASSERT_EQ_MEM(out->data, out->len, "no newline", (size_t)10);
  ASSERT_EQ_MEM(err->data, err->len, "err no newline", (size_t)14);
  ASSERT_TRUE(out->terminated && err->terminated);
  rec_event_t exited;
  ASSERT_TRUE(rec_event(&rec, "part", PROCMON_EVENT_EXITED, 0, &exited));
  ASSERT_CMP_INT(a.seq, <, exited.seq);
  ASSERT_CMP_INT(b.seq, <, exited.seq);
  free(a.data);
  free(b.data);
  procmon_free(pm);
}

/* Checks that lines first..first+count-1 of `name` are the pieces of one
 * patterned line of `total` bytes: PROCMON_LINE_LIMIT each, the last shorter. */
static size_t check_pieces(const char *name, size_t first, size_t total) {
  char *want = malloc(total + 1);
  ASSERT_TRUE(want != NULL);
  task_pattern(want, total);
  size_t at = 0, i = first;
  do {
    rec_line_t piece = line_at(name, i++);
    size_t len = total - at < PROCMON_LINE_LIMIT ? total - at : PROCMON_LINE_LIMIT;
    ASSERT_EQ_INT(piece.stream, PROCMON_STDOUT);
    ASSERT_TRUE(piece.terminated);
    ASSERT_EQ_MEM(piece.data, piece.len, want + at, len);
    at += len;
    free(piece.data);
  } while (at < total);
  free(want);
  return i;
}

/* Pieces of PROCMON_LINE_LIMIT bytes, in order; nothing dropped. */
void test_long_line_in_pieces(void) {
  procmon_t *pm = setup();
  const size_t total = 3 * PROCMON_LINE_LIMIT + 1234;
  char arg[32];
  snprintf(arg, sizeof arg, "%zu", total);
  ASSERT_OK(fx_add(pm, "huge", "huge", arg));
  WAIT_FOR(rec_has_line(&rec, "huge", "after"));
  ASSERT_EQ_INT(rec_count_lines(&rec, "huge"), 5);
  ASSERT_EQ_INT(check_pieces("huge", 0, total), 4);
  procmon_free(pm);
}

/* Lines around the limit: exactly the limit is one line, one byte more is two
 * pieces, twice the limit is two full pieces and no empty third. */
void test_line_limit_boundaries(void) {
  procmon_t *pm = setup();
  const size_t L = PROCMON_LINE_LIMIT;
  const size_t sizes[] = {L - 1, L, L + 1, 2 * L, 2 * L + 1, 0, 5};
  const size_t pieces[] = {1, 1, 2, 2, 3, 1, 1};
  const char *args[8];
  char text[7][32];
  size_t want_lines = 1; /* "end" */
  for (size_t i = 0; i < 7; i++) {
    snprintf(text[i], sizeof text[i], "%zu", sizes[i]);
    args[i] = text[i];
    want_lines += pieces[i];
  }
  args[7] = NULL;
  ASSERT_OK(fx_addv(pm, "sizes", NULL, "sizes", args));
  WAIT_FOR(rec_has_line(&rec, "sizes", "end"));
  ASSERT_EQ_INT(rec_count_lines(&rec, "sizes"), want_lines);
  size_t next = 0;
  for (size_t i = 0; i < 7; i++) {
    size_t after = check_pieces("sizes", next, sizes[i]);
    ASSERT_EQ_INT(after - next, pieces[i]);
    next = after;
  }
  procmon_free(pm);
}

/* Each stream's lines in the order written, tagged with their stream. */
void test_streams_keep_their_order(void) {
  procmon_t *pm = setup();
  /* One run only, however slow the machine (valgrind): no restart to add lines. */
  ASSERT_OK(procmon_set_threshold(pm, 3600));
  ASSERT_OK(procmon_set_min_restart_delay(pm, 60));
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
  /* One run only: the child waits on its pipe for the slow callback, so it may
     live past the threshold; a long threshold keeps its restart delayed. */
  ASSERT_OK(procmon_set_threshold(pm, 3600));
  ASSERT_OK(procmon_set_min_restart_delay(pm, 30));
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
  ASSERT_CMP_INT(started.seq, <, line_seq("run", 0));
  ASSERT_CMP_INT(line_seq("run", 2), <, exited.seq);
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
  /* The grandchild writes after its parent's EXITED, still under "gc". */
  WAIT_FOR(rec_count_lines(&rec, "gc") == 2);
  rec_line_t late = line_at("gc", 1);
  int grandchild = 0;
  ASSERT_EQ_INT(sscanf(late.data, "late %d", &grandchild), 1);
  ASSERT_CMP_INT(exited.seq, <, late.seq);
  free(late.data);
  /* procmon_free does not wait for the grandchild either. */
  double t0 = task_now();
  procmon_free(pm);
  ASSERT_CMP_DBL(task_now() - t0, <, 10.0);
  kill(grandchild, SIGKILL);
}
