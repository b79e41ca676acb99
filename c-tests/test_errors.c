/* Bad input: every function, given NULL or invalid arguments, returns the right
 * code, sets procmon_last_error(), and never crashes. Plus the static strings. */
#include "task.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

void test_null_monitor(void) {
  const char *argv[] = {"true", NULL};
  int32_t pid;
  procmon_process_info_t info;
  ASSERT_FAILS(procmon_set_log_callback(NULL, NULL, NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_set_event_callback(NULL, NULL, NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_set_threshold(NULL, 1), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_set_kill_time(NULL, 1), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_set_min_restart_delay(NULL, 1), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_set_max_restart_delay(NULL, 1), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_add_process(NULL, "a", argv, NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_remove_process(NULL, "a"), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_start_process(NULL, "a"), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_stop_process(NULL, "a"), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_restart_all(NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_start(NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_stop(NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_process_pid(NULL, "a", &pid), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_process_info(NULL, "a", &info), PROCMON_ERR_INVALID);
  ASSERT_TRUE(procmon_describe(NULL) == NULL);
  ASSERT_TRUE(procmon_last_error()[0]);
  procmon_free(NULL);
  procmon_string_free(NULL);
}

/* NULL, empty and non-UTF-8 names; NULL out-parameters. */
void test_bad_names_and_pointers(void) {
  procmon_t *pm = fx_monitor(NULL);
  const char *argv[] = {"true", NULL};
  /* Not UTF-8: stray bytes, an overlong '/', a surrogate, a cut-off character. */
  const char *bad[] = {NULL, "", "\xff\xfe", "a\xc0\xaf", "\xed\xa0\x80", "x\xe2\x98"};
  int32_t pid;
  procmon_process_info_t info;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ASSERT_FAILS(procmon_add_process(pm, bad[i], argv, NULL), PROCMON_ERR_INVALID);
    ASSERT_FAILS(procmon_remove_process(pm, bad[i]), PROCMON_ERR_INVALID);
    ASSERT_FAILS(procmon_start_process(pm, bad[i]), PROCMON_ERR_INVALID);
    ASSERT_FAILS(procmon_stop_process(pm, bad[i]), PROCMON_ERR_INVALID);
    ASSERT_FAILS(procmon_process_pid(pm, bad[i], &pid), PROCMON_ERR_INVALID);
    ASSERT_FAILS(procmon_process_info(pm, bad[i], &info), PROCMON_ERR_INVALID);
  }
  ASSERT_OK(procmon_add_process(pm, "ok", argv, NULL));
  ASSERT_FAILS(procmon_process_pid(pm, "ok", NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_process_info(pm, "ok", NULL), PROCMON_ERR_INVALID);
  procmon_free(pm);
}

/* NULL argv, argv without a program, env entries without '=', an empty cwd. */
void test_bad_process_arguments(void) {
  procmon_t *pm = fx_monitor(NULL);
  const char *empty_argv[] = {NULL};
  const char *empty_program[] = {"", "x", NULL};
  const char *argv[] = {"true", NULL};
  const char *bad_env[] = {"NOEQUALS", NULL};
  procmon_process_options_t env = {bad_env, NULL, -1, -1, false};
  procmon_process_options_t cwd = {NULL, "", -1, -1, false};
  procmon_process_options_t uid = {NULL, NULL, (int64_t)1 << 40, -1, false};
  ASSERT_FAILS(procmon_add_process(pm, "a", NULL, NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_add_process(pm, "a", empty_argv, NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_add_process(pm, "a", empty_program, NULL), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_add_process(pm, "a", argv, &env), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_add_process(pm, "a", argv, &cwd), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_add_process(pm, "a", argv, &uid), PROCMON_ERR_INVALID);
  /* Nothing was registered by the failed calls. */
  char *s = procmon_describe(pm);
  ASSERT_EQ_STR(s, "<ProcessMonitor >");
  procmon_string_free(s);
  procmon_free(pm);
}

/* NaN, infinite and negative durations are refused; 0 and large values are not. */
void test_bad_durations(void) {
  procmon_t *pm = fx_monitor(NULL);
  int (*setters[])(procmon_t *, double) = {procmon_set_threshold, procmon_set_kill_time,
                                           procmon_set_min_restart_delay,
                                           procmon_set_max_restart_delay};
  const double bad[] = {NAN, INFINITY, -INFINITY, -1.0, -1e-9};
  for (size_t s = 0; s < 4; s++) {
    for (size_t b = 0; b < 5; b++) ASSERT_FAILS(setters[s](pm, bad[b]), PROCMON_ERR_INVALID);
    ASSERT_OK(setters[s](pm, 0.0));
    ASSERT_OK(setters[s](pm, 1e12));
    ASSERT_OK(setters[s](pm, 0.25));
  }
  procmon_free(pm);
}

/* The static strings: every code has its own text, the version matches the header. */
void test_strings(void) {
  const int codes[] = {PROCMON_OK, PROCMON_ERR_INVALID, PROCMON_ERR_EXISTS,
                       PROCMON_ERR_NOT_FOUND, PROCMON_ERR_STATE, PROCMON_ERR_SYSTEM,
                       PROCMON_ERR_INTERNAL};
  for (size_t i = 0; i < 7; i++) {
    ASSERT_TRUE(procmon_strerror(codes[i]) && procmon_strerror(codes[i])[0]);
    for (size_t j = 0; j < i; j++)
      ASSERT_TRUE(strcmp(procmon_strerror(codes[i]), procmon_strerror(codes[j])));
  }
  ASSERT_TRUE(procmon_strerror(12345) && procmon_strerror(12345)[0]);
  ASSERT_EQ_STR(procmon_version(), PROCMON_VERSION_STRING);
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", PROCMON_VERSION_MAJOR, PROCMON_VERSION_MINOR,
           PROCMON_VERSION_PATCH);
  ASSERT_EQ_STR(procmon_version(), want);
  /* The detail is per thread and names what was wrong. */
  ASSERT_FAILS(procmon_set_threshold(NULL, 1), PROCMON_ERR_INVALID);
  ASSERT_TRUE(strstr(procmon_last_error(), "NULL") || strstr(procmon_last_error(), "null"));
}

/* procmon_last_error() is per thread: a fresh thread sees "", a failure on one
 * thread leaves another thread's detail alone. */
static char other_before[256], other_after[256];
static int other_code;

static void *other_thread(void *arg) {
  procmon_t *pm = arg;
  snprintf(other_before, sizeof other_before, "%s", procmon_last_error());
  other_code = procmon_start_process(pm, "nobody-here");
  snprintf(other_after, sizeof other_after, "%s", procmon_last_error());
  return NULL;
}

void test_last_error_is_per_thread(void) {
  procmon_t *pm = fx_monitor(NULL);
  ASSERT_FAILS(procmon_set_kill_time(pm, -1.0), PROCMON_ERR_INVALID);
  char mine[256];
  snprintf(mine, sizeof mine, "%s", procmon_last_error());
  pthread_t t;
  ASSERT_EQ_INT(pthread_create(&t, NULL, other_thread, pm), 0);
  ASSERT_EQ_INT(pthread_join(t, NULL), 0);
  ASSERT_EQ_STR(other_before, "");
  ASSERT_EQ_INT(other_code, PROCMON_ERR_NOT_FOUND);
  ASSERT_TRUE(other_after[0]);
  ASSERT_TRUE(strcmp(other_after, mine) != 0);
  ASSERT_EQ_STR(procmon_last_error(), mine);
  procmon_free(pm);
}
