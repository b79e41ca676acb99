/* The shortest complete C program that supervises a process and prints its lines.
 * Build: cc hello.c $(pkg-config --cflags --libs procmon) */
#include <procmon.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_int lines;

static void on_line(void *userdata, const char *name, procmon_stream_t stream,
                    const char *line, size_t len) {
  (void)userdata, (void)stream;
  printf("[%s] %.*s\n", name, (int)len, line);
  lines++;
}

int main(void) {
  procmon_t *pm = procmon_new(); /* already running */
  if (!pm) return fprintf(stderr, "procmon_new: %s\n", procmon_last_error()), 1;
  procmon_set_log_callback(pm, on_line, NULL);
  const char *argv[] = {"sh", "-c", "echo hello; echo world; exec sleep 60", NULL};
  if (procmon_add_process(pm, "greeter", argv, NULL) != PROCMON_OK)
    return fprintf(stderr, "add: %s\n", procmon_last_error()), 1;
  while (lines < 2) usleep(10 * 1000); /* it would be restarted if it exited */
  procmon_free(pm); /* TERM, KILL after the kill time, reap, join */
  return 0;
}
