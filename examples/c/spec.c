/* procmon_add with a spec: a one-shot job (ON_FAILURE: its exit 0 is a success,
 * not restarted), with a variable set on top of the host's environment.
 * Build: cc spec.c $(pkg-config --cflags --libs procmon) */
#include <procmon.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_int exited;

static void on_line(void *userdata, const char *name, procmon_stream_t stream,
                    const char *line, size_t len) {
  (void)userdata, (void)stream;
  printf("[%s] %.*s\n", name, (int)len, line);
}

static void on_event(void *userdata, const procmon_event_t *event) {
  (void)userdata;
  if (event->kind != PROCMON_EVENT_EXITED) return;
  int expected = (event->flags & PROCMON_EXIT_EXPECTED) != 0;
  printf("%s exited %d%s\n", event->name, event->exit_code, expected ? ", a success" : "");
  exited = 1;
}

int main(void) {
  procmon_t *pm = procmon_new(); /* already running */
  if (!pm) return fprintf(stderr, "procmon_new: %s\n", procmon_last_error()), 1;
  procmon_set_log_callback(pm, on_line, NULL);
  procmon_set_event_callback(pm, on_event, NULL);
  const char *argv[] = {"sh", "-c", "echo \"migrating $DB\"", NULL};
  procmon_spec_t *spec = procmon_spec_new(argv);
  procmon_spec_set_restart(spec, PROCMON_RESTART_ON_FAILURE);
  procmon_spec_set_env_var(spec, "DB", "app.sqlite");
  if (procmon_add(pm, "migrate", spec) != PROCMON_OK)
    return fprintf(stderr, "add: %s\n", procmon_last_error()), 1;
  procmon_spec_free(spec); /* procmon_add copied it */
  while (!exited) usleep(10 * 1000);
  procmon_free(pm);
  return 0;
}
