/* A program built against the 0.1.0 header (v0.1.0/procmon.h, a copy kept as it
 * was released) and run against the current library: API.md's "same major, same
 * ABI". It uses every 0.1 function the way a 0.1 program would, and checks the
 * results 0.1 gave; it exits 0 when they all hold. */
#include "procmon.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if PROCMON_VERSION_MINOR != 1
#error "old_program.c must be built against the 0.1.0 header"
#endif

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int lines, started, exited, scheduled, last_code = -99;
static char last_line[256];

static void on_line(void *userdata, const char *name, procmon_stream_t stream, const char *line,
                    size_t len) {
  (void)userdata;
  (void)name;
  (void)stream;
  pthread_mutex_lock(&mu);
  lines++;
  snprintf(last_line, sizeof last_line, "%.*s", (int)len, line);
  pthread_mutex_unlock(&mu);
}

/* Reads only the fields of the 0.1 event (the library's is larger now). */
static void on_event(void *userdata, const procmon_event_t *event) {
  (void)userdata;
  pthread_mutex_lock(&mu);
  switch (event->kind) {
  case PROCMON_EVENT_STARTED: started++; break;
  case PROCMON_EVENT_EXITED:
    exited++;
    last_code = event->exit_code;
    break;
  case PROCMON_EVENT_RESTART_SCHEDULED: scheduled++; break;
  default: break; /* kinds this program does not know are ignored */
  }
  pthread_mutex_unlock(&mu);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fails;
#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      fprintf(stderr, "old_program.c:%d: %s\n", __LINE__, #cond);    \
      fails++;                                                       \
    }                                                                \
  } while (0)

/* Waits up to 20 s for `cond`, read under the lock. */
#define WAIT(cond)                                                   \
  do {                                                               \
    double end_ = now() + 20;                                        \
    int ok_ = 0;                                                     \
    while (!ok_ && now() < end_) {                                   \
      pthread_mutex_lock(&mu);                                       \
      ok_ = (cond);                                                  \
      pthread_mutex_unlock(&mu);                                     \
      if (!ok_) nanosleep(&(struct timespec){0, 5000000}, NULL);     \
    }                                                                \
    CHECK(ok_);                                                      \
  } while (0)

int main(void) {
  procmon_t *pm = procmon_new();
  CHECK(pm != NULL);
  CHECK(procmon_set_log_callback(pm, on_line, NULL) == PROCMON_OK);
  CHECK(procmon_set_event_callback(pm, on_event, NULL) == PROCMON_OK);
  CHECK(procmon_set_threshold(pm, 10) == PROCMON_OK);
  CHECK(procmon_set_min_restart_delay(pm, 0.05) == PROCMON_OK);
  CHECK(procmon_set_max_restart_delay(pm, 0.1) == PROCMON_OK);
  CHECK(procmon_set_kill_time(pm, 1) == PROCMON_OK);

  const char *argv[] = {"/bin/sh", "-c", "echo \"hello $GREETING\"; exit 3", NULL};
  const char *env[] = {"GREETING=old", NULL};
  procmon_process_options_t opts = {env, "/", -1, -1, true};
  CHECK(procmon_add_process(pm, "old", argv, &opts) == PROCMON_OK);
  CHECK(procmon_add_process(pm, "old", argv, &opts) == PROCMON_ERR_EXISTS);
  WAIT(exited >= 2 && scheduled >= 2);
  pthread_mutex_lock(&mu);
  CHECK(strcmp(last_line, "hello old") == 0);
  CHECK(last_code == 3);
  CHECK(started >= 2);
  pthread_mutex_unlock(&mu);

  procmon_process_info_t info;
  memset(&info, 0xAB, sizeof info);
  CHECK(procmon_process_info(pm, "old", &info) == PROCMON_OK);
  CHECK(info.state == PROCMON_STATE_RUNNING || info.state == PROCMON_STATE_BACKOFF);
  CHECK(info.starts >= 2);
  CHECK(info.restart_delay <= 0.1 + 1e-9);

  char *text = procmon_describe(pm);
  CHECK(text && strstr(text, "'old': ['/bin/sh', '-c'") != NULL);
  procmon_string_free(text);
  CHECK(procmon_stop(pm) == PROCMON_OK);
  CHECK(procmon_remove_process(pm, "old") == PROCMON_OK);
  CHECK(procmon_remove_process(pm, "old") == PROCMON_ERR_NOT_FOUND);
  CHECK(procmon_set_threshold(pm, -1) == PROCMON_ERR_INVALID);
  CHECK(strstr(procmon_last_error(), "threshold") != NULL);
  CHECK(strcmp(procmon_strerror(PROCMON_ERR_NOT_FOUND), "no process with this name is monitored") == 0);
  CHECK(strncmp(procmon_version(), "0.", 2) == 0);
  procmon_free(pm);
  if (fails) return 1;
  printf("a 0.1.0 program runs against libprocmon %s\n", procmon_version());
  return 0;
}
