/* A C program with its own poll(2) loop: nothing is called back. The monitor's
 * descriptor is readable while records wait; procmon_next takes them.
 * Build: cc poll_loop.c $(pkg-config --cflags --libs procmon) */
#include <poll.h>
#include <procmon.h>
#include <stdio.h>

int main(void) {
  procmon_t *pm = procmon_new(); /* already running */
  if (!pm) return fprintf(stderr, "procmon_new: %s\n", procmon_last_error()), 1;
  if (procmon_set_delivery(pm, PROCMON_DELIVERY_PULL) != PROCMON_OK)
    return fprintf(stderr, "set_delivery: %s\n", procmon_last_error()), 1;
  const char *argv[] = {"sh", "-c", "echo hello; echo world; exec sleep 60", NULL};
  if (procmon_add_process(pm, "greeter", argv, NULL) != PROCMON_OK)
    return fprintf(stderr, "add: %s\n", procmon_last_error()), 1;

  struct pollfd fds[1] = {{.fd = procmon_poll_fd(pm), .events = POLLIN}};
  int lines = 0, ended = 0;
  while (!ended) {
    if (poll(fds, 1, -1) < 0) return perror("poll"), 1; /* ...and the host's own fds */
    const procmon_record_t *r;
    while (!ended && procmon_next(pm, &r) == PROCMON_OK) {
      if (r->kind == PROCMON_RECORD_LINE) {
        printf("[%s] %.*s\n", r->name, (int)r->len, r->line);
        /* Two lines seen: stop it, and keep taking records up to the END. */
        if (++lines == 2) procmon_shutdown(pm);
      } else if (r->kind == PROCMON_RECORD_EVENT && r->event->kind == PROCMON_EVENT_EXITED) {
        printf("[%s] exited (signal %d)\n", r->name, r->event->signal);
      } else if (r->kind == PROCMON_RECORD_END) {
        ended = 1;
      }
    }
  }
  procmon_free(pm); /* prompt: everything has been delivered */
  return 0;
}
