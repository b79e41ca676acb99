/* 8 threads calling add/stop/remove/start/pid/info/describe at once, on shared
 * and distinct names, for thousands of operations: every result is one the
 * contract allows, a thread's own names answer exactly as if it were alone, and
 * the monitor ends consistent with what the threads saw. */
#include "task.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define OPS 1500
#define SHARED 3
#define OWN 3

static procmon_t *pm;
/* Per shared name: successful adds minus successful removes. */
static atomic_int balance[SHARED];

typedef struct {
  int id;
  int present[OWN]; /* which of its own names are monitored */
  char why[512];
} worker_t;

static int allowed(int code, int a, int b) { return code == a || code == b; }

/* One operation on `name`; returns its code and writes what it was. */
static int one_op(int op, const char *name, const char **what) {
  static const char *const argv[] = {"sleep", "1000", NULL};
  int32_t pid = -1;
  procmon_process_info_t info;
  int code;
  switch (op) {
    case 0:
      *what = "add";
      return procmon_add_process(pm, name, argv, NULL);
    case 1:
      *what = "remove";
      return procmon_remove_process(pm, name);
    case 2:
      *what = "stop";
      return procmon_stop_process(pm, name);
    case 3:
      *what = "start";
      return procmon_start_process(pm, name);
    case 4:
      *what = "pid";
      code = procmon_process_pid(pm, name, &pid);
      return code == PROCMON_OK && pid < 0 ? PROCMON_ERR_INTERNAL : code;
    default:
      *what = "info";
      code = procmon_process_info(pm, name, &info);
      if (code == PROCMON_OK && (info.pid < 0 || (unsigned)info.state > PROCMON_STATE_BACKOFF))
        return PROCMON_ERR_INTERNAL;
      return code;
  }
}

static int describe_ok(void) {
  char *s = procmon_describe(pm);
  int ok = s && !strncmp(s, "<ProcessMonitor ", 16) && s[strlen(s) - 1] == '>';
  procmon_string_free(s);
  return ok;
}

static void *work(void *arg) {
  worker_t *w = arg;
  unsigned seed = (unsigned)w->id * 7919u + 1;
  char name[32];
  for (int n = 0; n < OPS; n++) {
    int op = rand_r(&seed) % 7;
    if (op == 6) {
      if (!describe_ok()) {
        snprintf(w->why, sizeof w->why, "op %d: a malformed describe", n);
        return NULL;
      }
      continue;
    }
    const char *what;
    int code;
    if (rand_r(&seed) % 2) {
      int i = rand_r(&seed) % SHARED;
      snprintf(name, sizeof name, "shared-%d", i);
      code = one_op(op, name, &what);
      int ok = op == 0 ? allowed(code, PROCMON_OK, PROCMON_ERR_EXISTS)
                       : allowed(code, PROCMON_OK, PROCMON_ERR_NOT_FOUND);
      if (!ok) {
        snprintf(w->why, sizeof w->why, "op %d: %s %s: %s (%d): %s", n, what, name,
                 task_code_name(code), code, procmon_last_error());
        return NULL;
      }
      if (op == 0 && code == PROCMON_OK) balance[i]++;
      if (op == 1 && code == PROCMON_OK) balance[i]--;
    } else {
      int i = rand_r(&seed) % OWN;
      snprintf(name, sizeof name, "own-%d-%d", w->id, i);
      code = one_op(op, name, &what);
      int want = w->present[i] ? (op == 0 ? PROCMON_ERR_EXISTS : PROCMON_OK)
                               : (op == 0 ? PROCMON_OK : PROCMON_ERR_NOT_FOUND);
      if (code != want) {
        snprintf(w->why, sizeof w->why, "op %d: %s %s (present: %d): %s (%d), want %s: %s",
                 n, what, name, w->present[i], task_code_name(code), code,
                 task_code_name(want), procmon_last_error());
        return NULL;
      }
      if (op == 0) w->present[i] = 1;
      if (op == 1) w->present[i] = 0;
    }
  }
  return NULL;
}

/* Whether `name` is listed exactly once in describe's text. */
static int listed_once(const char *text, const char *name) {
  char quoted[48];
  snprintf(quoted, sizeof quoted, "'%s':", name);
  const char *first = strstr(text, quoted);
  return first && !strstr(first + 1, quoted);
}

void test_eight_threads_at_once(void) {
  pm = fx_monitor(NULL);
  pthread_t threads[THREADS];
  worker_t workers[THREADS];
  memset(workers, 0, sizeof workers);
  task_watchdog_start(40, "8 threads of procmon calls");
  for (int i = 0; i < THREADS; i++) {
    workers[i].id = i;
    ASSERT_EQ_INT(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) ASSERT_EQ_INT(pthread_join(threads[i], NULL), 0);
  task_watchdog_stop();
  for (int i = 0; i < THREADS; i++)
    if (workers[i].why[0]) FAIL("thread %d: %s", i, workers[i].why);

  /* The end state is what the threads' successful calls add up to. */
  char *s = procmon_describe(pm);
  ASSERT_TRUE(s != NULL);
  size_t want_entries = 0;
  char name[32];
  for (int i = 0; i < SHARED; i++) {
    int b = balance[i];
    int32_t pid;
    snprintf(name, sizeof name, "shared-%d", i);
    if (b != 0 && b != 1) FAIL("%s: adds - removes = %d", name, b);
    ASSERT_CODE(procmon_process_pid(pm, name, &pid), b ? PROCMON_OK : PROCMON_ERR_NOT_FOUND);
    if (b) ASSERT_TRUE(listed_once(s, name));
    want_entries += (size_t)b;
  }
  for (int t = 0; t < THREADS; t++)
    for (int i = 0; i < OWN; i++) {
      int32_t pid;
      snprintf(name, sizeof name, "own-%d-%d", t, i);
      int present = workers[t].present[i];
      ASSERT_CODE(procmon_process_pid(pm, name, &pid),
                  present ? PROCMON_OK : PROCMON_ERR_NOT_FOUND);
      if (present) ASSERT_TRUE(listed_once(s, name));
      want_entries += (size_t)present;
    }
  size_t entries = 0;
  for (const char *p = s; (p = strstr(p, "': [")); p++) entries++;
  ASSERT_EQ_INT(entries, want_entries);
  procmon_string_free(s);
  procmon_free(pm);
}
