/* procmon_add_many: n children in one call to the event loop, all or nothing,
 * each spawned when the call returns; while stopped, from a callback, and with
 * other calls coming in between its spawns. */
#include "task.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static recorder_t rec;

static procmon_spec_t *sleep_spec(void) {
  const char *argv[] = {"/bin/sleep", "60", NULL};
  procmon_spec_t *spec = procmon_spec_new(argv);
  ASSERT_TRUE(spec != NULL);
  ASSERT_OK(procmon_spec_set_containment(spec, PROCMON_CONTAIN_NONE));
  return spec;
}

/* names[i] = "<prefix><i>" for i < n, in `buf` (n * 16 bytes); a short
 * prefix and n < 10000 fit. */
static void make_names(const char **names, char *buf, const char *prefix, size_t n) {
  for (size_t i = 0; i < n; i++) {
    snprintf(buf + 16 * i, 16, "%.8s%u", prefix, (unsigned)(i % 10000));
    names[i] = buf + 16 * i;
  }
}

static void assert_running(procmon_t *pm, const char *name) {
  procmon_process_info_t info;
  ASSERT_OK(procmon_process_info(pm, name, &info));
  if (info.state != PROCMON_STATE_RUNNING || info.pid <= 0 || !fx_alive(info.pid))
    FAIL("%s: state %d, pid %d", name, (int)info.state, (int)info.pid);
}

static void assert_unknown(procmon_t *pm, const char *name) {
  int32_t pid;
  ASSERT_CODE(procmon_process_pid(pm, name, &pid), PROCMON_ERR_NOT_FOUND);
}

#define ASSERT_FAILS_NAMING(call, want, word)                                      \
  do {                                                                             \
    ASSERT_FAILS(call, want);                                                      \
    if (!strstr(procmon_last_error(), word))                                       \
      FAIL("%s: the message \"%s\" does not name \"%s\"", #call, procmon_last_error(), \
           word);                                                                  \
  } while (0)

/* 50 real children: every one RUNNING, with a live pid, when the call returns,
 * in the order given; a spec may be given for several names. */
void test_add_many_fifty_running_when_it_returns(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  enum { N = 50 };
  const char *names[N];
  char buf[N * 16];
  make_names(names, buf, "sleep", N);
  procmon_spec_t *shared = sleep_spec(), *own = sleep_spec();
  const procmon_spec_t *specs[N];
  for (size_t i = 0; i < N; i++) specs[i] = i % 10 == 3 ? own : shared;
  ASSERT_OK(procmon_add_many(pm, N, names, specs));
  procmon_spec_free(shared); /* copied */
  procmon_spec_free(own);
  for (size_t i = 0; i < N; i++) assert_running(pm, names[i]);
  char *d = procmon_describe(pm);
  ASSERT_TRUE(d != NULL);
  ASSERT_TRUE(strstr(d, "'sleep0': ['/bin/sleep', '60'] 'sleep1': ") != NULL);
  ASSERT_TRUE(strstr(d, "'sleep48': ['/bin/sleep', '60'] 'sleep49': ") != NULL);
  procmon_string_free(d);
  for (size_t i = 0; i < N; i++)
    WAIT_FOR(rec_count_events(&rec, names[i], PROCMON_EVENT_STARTED) == 1);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* A name already monitored, given twice, NULL or empty, a NULL spec, a spec
 * procmon_add refuses: none of the batch is added, the message names the index. */
void test_add_many_all_or_nothing(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  procmon_spec_t *spec = sleep_spec();
  ASSERT_OK(procmon_add(pm, "web", spec));
  const procmon_spec_t *specs[] = {spec, spec, spec, spec, spec};

  const char *taken[] = {"a", "b", "c", "web", "d"};
  ASSERT_FAILS_NAMING(procmon_add_many(pm, 5, taken, specs), PROCMON_ERR_EXISTS, "names[3]");
  ASSERT_TRUE(strstr(procmon_last_error(), "\"web\"") != NULL);
  const char *twice[] = {"a", "b", "a"};
  ASSERT_FAILS_NAMING(procmon_add_many(pm, 3, twice, specs), PROCMON_ERR_EXISTS, "names[2]");
  ASSERT_TRUE(strstr(procmon_last_error(), "names[0]") != NULL);
  const char *null_name[] = {"a", "b", NULL};
  ASSERT_FAILS_NAMING(procmon_add_many(pm, 3, null_name, specs), PROCMON_ERR_INVALID,
                      "names[2]");
  const char *empty_name[] = {"", "b"};
  ASSERT_FAILS_NAMING(procmon_add_many(pm, 2, empty_name, specs), PROCMON_ERR_INVALID,
                      "names[0]");
  const char *fine[] = {"a", "b", "c"};
  const procmon_spec_t *null_spec[] = {spec, NULL, spec};
  ASSERT_FAILS_NAMING(procmon_add_many(pm, 3, fine, null_spec), PROCMON_ERR_INVALID,
                      "specs[1]");
  /* A spec procmon_add refuses: a start order naming the process itself. */
  procmon_spec_t *selfish = sleep_spec();
  const char *me[] = {"c", NULL};
  ASSERT_OK(procmon_spec_set_after(selfish, me));
  const procmon_spec_t *bad_order[] = {spec, spec, selfish};
  ASSERT_FAILS_NAMING(procmon_add_many(pm, 3, fine, bad_order), PROCMON_ERR_INVALID,
                      "names[2]");
  procmon_spec_free(selfish);
  ASSERT_FAILS_NAMING(procmon_add_many(pm, 3, NULL, specs), PROCMON_ERR_INVALID, "names");
  ASSERT_FAILS_NAMING(procmon_add_many(pm, 3, fine, NULL), PROCMON_ERR_INVALID, "specs");
  ASSERT_FAILS_NAMING(procmon_add_many(NULL, 3, fine, specs), PROCMON_ERR_INVALID, "monitor");
  ASSERT_OK(procmon_add_many(pm, 0, NULL, NULL)); /* n == 0: a no-op */
  ASSERT_OK(procmon_add_many(pm, 0, fine, specs));

  /* Nothing of the refused batches is there, nothing was spawned for them. */
  const char *never[] = {"a", "b", "c", "d"};
  for (size_t i = 0; i < 4; i++) assert_unknown(pm, never[i]);
  char *d = procmon_describe(pm);
  ASSERT_EQ_STR(d, "<ProcessMonitor 'web': ['/bin/sleep', '60']>");
  procmon_string_free(d);
  for (size_t i = 0; i < 4; i++)
    ASSERT_EQ_INT(rec_count_events(&rec, never[i], PROCMON_EVENT_STARTED), 0);

  /* The same names are free afterwards. */
  ASSERT_OK(procmon_add_many(pm, 3, fine, specs));
  for (size_t i = 0; i < 3; i++) assert_running(pm, fine[i]);
  procmon_spec_free(spec);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* While stopped: registered, not spawned, as procmon_add; procmon_start spawns them. */
void test_add_many_while_stopped(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  ASSERT_OK(procmon_stop(pm));
  procmon_spec_t *spec = sleep_spec();
  const char *names[] = {"x", "y", "z"};
  const procmon_spec_t *specs[] = {spec, spec, spec};
  ASSERT_OK(procmon_add_many(pm, 3, names, specs));
  procmon_spec_free(spec);
  for (size_t i = 0; i < 3; i++) {
    procmon_process_info_t info;
    ASSERT_OK(procmon_process_info(pm, names[i], &info));
    ASSERT_EQ_INT(info.state, PROCMON_STATE_STOPPED);
    ASSERT_EQ_INT(info.pid, 0);
    ASSERT_EQ_INT((int)info.starts, 0);
  }
  task_let_pass(0.2);
  for (size_t i = 0; i < 3; i++)
    ASSERT_EQ_INT(rec_count_events(&rec, names[i], PROCMON_EVENT_STARTED), 0);
  ASSERT_OK(procmon_start(pm));
  for (size_t i = 0; i < 3; i++) assert_running(pm, names[i]);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* From inside a callback, as procmon_add: the children are spawned when it returns. */
static procmon_t *cb_pm;
static atomic_int cb_done;
static int cb_code;
static int32_t cb_pids[5];
static const char *cb_names[] = {"g0", "g1", "g2", "g3", "g4"};

static void add_from_callback(recorder_t *r, const rec_event_t *e) {
  (void)r;
  if (e->kind != PROCMON_EVENT_STARTED || strcmp(e->name, "host") || cb_done) return;
  procmon_spec_t *spec = sleep_spec();
  const procmon_spec_t *specs[] = {spec, spec, spec, spec, spec};
  cb_code = procmon_add_many(cb_pm, 5, cb_names, specs);
  procmon_spec_free(spec);
  for (size_t i = 0; i < 5; i++) {
    cb_pids[i] = -1;
    procmon_process_pid(cb_pm, cb_names[i], &cb_pids[i]);
  }
  cb_done = 1;
}

void test_add_many_from_a_callback(void) {
  rec_init(&rec);
  rec.on_event = add_from_callback;
  cb_pm = fx_monitor(&rec);
  ASSERT_OK(fx_add(cb_pm, "host", "wait-term", NULL));
  WAIT_FOR(cb_done);
  ASSERT_CODE(cb_code, PROCMON_OK);
  for (size_t i = 0; i < 5; i++) {
    ASSERT_CMP_INT(cb_pids[i], >, 0);
    assert_running(cb_pm, cb_names[i]);
    WAIT_FOR(rec_count_events(&rec, cb_names[i], PROCMON_EVENT_STARTED) == 1);
  }
  procmon_free(cb_pm);
  rec_destroy(&rec);
}

/* Other calls are served between the batch's spawns: a removal of a name of
 * the batch before its turn means it is never spawned, an add of one of its
 * names is EXISTS from the start, and every other child is spawned once. */
enum { BIG = 300 };
static const char *big_names[BIG];
static char big_buf[BIG * 16];
static int big_code;
static atomic_int big_done;

static void *add_big_batch(void *arg) {
  procmon_t *pm = arg;
  procmon_spec_t *spec = sleep_spec();
  const procmon_spec_t **specs = calloc(BIG, sizeof *specs);
  for (size_t i = 0; i < BIG; i++) specs[i] = spec;
  big_code = procmon_add_many(pm, BIG, big_names, specs);
  free(specs);
  procmon_spec_free(spec);
  big_done = 1;
  return NULL;
}

void test_add_many_interleaves_other_calls(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  make_names(big_names, big_buf, "b", BIG);
  pthread_t thread;
  ASSERT_EQ_INT(pthread_create(&thread, NULL, add_big_batch, pm), 0);
  int32_t pid;
  WAIT_FOR(procmon_process_pid(pm, "b0", &pid) == PROCMON_OK); /* registered */
  /* Registered all at once: the last name is taken already. */
  procmon_spec_t *spec = sleep_spec();
  ASSERT_FAILS(procmon_add(pm, big_names[BIG - 1], spec), PROCMON_ERR_EXISTS);
  procmon_spec_free(spec);
  int early = !big_done;
  ASSERT_OK(procmon_remove_process(pm, big_names[BIG - 1]));
  pthread_join(thread, NULL);
  ASSERT_CODE(big_code, PROCMON_OK);
  printf("removed before the batch returned: %s\n", early ? "yes" : "no");
  assert_unknown(pm, big_names[BIG - 1]);
  ASSERT_CMP_INT(rec_count_events(&rec, big_names[BIG - 1], PROCMON_EVENT_STARTED), <=, 1);
  for (size_t i = 0; i < BIG - 1; i++) assert_running(pm, big_names[i]);
  for (size_t i = 0; i < BIG - 1; i++)
    WAIT_FOR(rec_count_events(&rec, big_names[i], PROCMON_EVENT_STARTED) == 1);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* A stop between the batch's spawns: the rest stay registered, not spawned,
 * and the call still returns OK; procmon_start spawns them. */
void test_add_many_stopped_midway(void) {
  rec_init(&rec);
  procmon_t *pm = fx_monitor(&rec);
  make_names(big_names, big_buf, "s", BIG);
  pthread_t thread;
  ASSERT_EQ_INT(pthread_create(&thread, NULL, add_big_batch, pm), 0);
  int32_t pid;
  WAIT_FOR(procmon_process_pid(pm, "s0", &pid) == PROCMON_OK);
  ASSERT_OK(procmon_stop(pm));
  pthread_join(thread, NULL);
  ASSERT_CODE(big_code, PROCMON_OK);
  size_t spawned = 0;
  for (size_t i = 0; i < BIG; i++)
    spawned += rec_count_events(&rec, big_names[i], PROCMON_EVENT_STARTED) > 0;
  printf("%zu of %d spawned before the stop\n", spawned, BIG);
  for (size_t i = 0; i < BIG; i++) WAIT_FOR(fx_state(pm, big_names[i]) == PROCMON_STATE_STOPPED);
  ASSERT_OK(procmon_start(pm));
  for (size_t i = 0; i < BIG; i++) WAIT_FOR(fx_state(pm, big_names[i]) == PROCMON_STATE_RUNNING);
  procmon_free(pm);
  rec_destroy(&rec);
}
