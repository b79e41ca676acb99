/* 8 threads calling add/stop/remove/pid/describe at once, on shared and distinct
 * names, for thousands of operations: every result is one the contract allows,
 * and the monitor ends consistent. */
#include "task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define OPS 1500
#define SHARED 3

static procmon_t *pm;

typedef struct {
  int id;
  int failures;
  char why[256];
} worker_t;

static int allowed(int code, int a, int b) { return code == a || code == b; }

static void *work(void *arg) {
  worker_t *w = arg;
  const char *argv[] = {"sleep", "1000", NULL};
  unsigned seed = (unsigned)w->id * 7919u + 1;
  char name[32];
  for (int op = 0; op < OPS && !w->failures; op++) {
    int shared = rand_r(&seed) % 2;
    if (shared)
      snprintf(name, sizeof name, "shared-%d", rand_r(&seed) % SHARED);
    else
      snprintf(name, sizeof name, "own-%d-%d", w->id, rand_r(&seed) % 2);
    int code, ok;
    int32_t pid = -1;
    char *s;
    switch (rand_r(&seed) % 5) {
      case 0:
        code = procmon_add_process(pm, name, argv, NULL);
        ok = allowed(code, PROCMON_OK, PROCMON_ERR_EXISTS);
        break;
      case 1:
        code = procmon_stop_process(pm, name);
        ok = allowed(code, PROCMON_OK, PROCMON_ERR_NOT_FOUND);
        break;
      case 2:
        code = procmon_remove_process(pm, name);
        ok = allowed(code, PROCMON_OK, PROCMON_ERR_NOT_FOUND);
        break;
      case 3:
        code = procmon_process_pid(pm, name, &pid);
        ok = allowed(code, PROCMON_OK, PROCMON_ERR_NOT_FOUND) &&
             (code != PROCMON_OK || pid >= 0);
        break;
      default:
        s = procmon_describe(pm);
        code = s ? PROCMON_OK : PROCMON_ERR_INTERNAL;
        ok = s && !strncmp(s, "<ProcessMonitor ", 16) && s[strlen(s) - 1] == '>';
        procmon_string_free(s);
        break;
    }
    /* A name of this thread only behaves as if it were alone. */
    if (ok && !shared) {
      int32_t after = -1;
      int c = procmon_process_pid(pm, name, &after);
      ok = allowed(c, PROCMON_OK, PROCMON_ERR_NOT_FOUND);
    }
    if (!ok) {
      w->failures++;
      snprintf(w->why, sizeof w->why, "op %d on %s: %s (%d): %s", op, name,
               task_code_name(code), code, procmon_last_error());
    }
  }
  /* Its own names: removed, then unknown. */
  for (int i = 0; i < 2 && !w->failures; i++) {
    snprintf(name, sizeof name, "own-%d-%d", w->id, i);
    int code = procmon_remove_process(pm, name);
    int32_t pid;
    if (!allowed(code, PROCMON_OK, PROCMON_ERR_NOT_FOUND) ||
        procmon_process_pid(pm, name, &pid) != PROCMON_ERR_NOT_FOUND) {
      w->failures++;
      snprintf(w->why, sizeof w->why, "%s still known after remove", name);
    }
  }
  return NULL;
}

void test_eight_threads_at_once(void) {
  pm = fx_monitor(NULL);
  pthread_t threads[THREADS];
  worker_t workers[THREADS];
  memset(workers, 0, sizeof workers);
  for (int i = 0; i < THREADS; i++) {
    workers[i].id = i;
    ASSERT_EQ_INT(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) ASSERT_EQ_INT(pthread_join(threads[i], NULL), 0);
  for (int i = 0; i < THREADS; i++)
    if (workers[i].failures) FAIL("thread %d: %s", i, workers[i].why);
  /* Only shared names are left, each at most once, in a well-formed repr. */
  char *s = procmon_describe(pm);
  ASSERT_TRUE(s != NULL);
  ASSERT_TRUE(strstr(s, "own-") == NULL);
  for (int i = 0; i < SHARED; i++) {
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'shared-%d'", i);
    const char *first = strstr(s, quoted);
    ASSERT_TRUE(!first || !strstr(first + 1, quoted));
  }
  procmon_string_free(s);
  procmon_free(pm);
}
