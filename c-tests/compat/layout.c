/* The structs a caller allocates keep the 0.1.0 layout (API.md "ABI rules"), and
 * procmon_event_t keeps its 0.1.0 fields where they were: checked at compile time
 * against the current header. */
#include "procmon.h"

#include <stddef.h>
#include <stdio.h>

#define SAME(expr, value) _Static_assert((expr) == (value), #expr " changed")

/* procmon_process_options_t, as 0.1.0 laid it out (x86-64 and other LP64). */
SAME(sizeof(procmon_process_options_t), 40);
SAME(offsetof(procmon_process_options_t, env), 0);
SAME(offsetof(procmon_process_options_t, cwd), 8);
SAME(offsetof(procmon_process_options_t, uid), 16);
SAME(offsetof(procmon_process_options_t, gid), 24);
SAME(offsetof(procmon_process_options_t, stop_process_group), 32);

/* procmon_process_info_t. */
SAME(sizeof(procmon_process_info_t), 40);
SAME(offsetof(procmon_process_info_t, state), 0);
SAME(offsetof(procmon_process_info_t, pid), 4);
SAME(offsetof(procmon_process_info_t, starts), 8);
SAME(offsetof(procmon_process_info_t, uptime), 16);
SAME(offsetof(procmon_process_info_t, restart_delay), 24);
SAME(offsetof(procmon_process_info_t, last_exit_code), 32);
SAME(offsetof(procmon_process_info_t, last_signal), 36);

/* procmon_event_t: the 0.1.0 fields first, in place; 0.2's after them. */
SAME(offsetof(procmon_event_t, kind), 0);
SAME(offsetof(procmon_event_t, name), 8);
SAME(offsetof(procmon_event_t, pid), 16);
SAME(offsetof(procmon_event_t, exit_code), 20);
SAME(offsetof(procmon_event_t, signal), 24);
SAME(offsetof(procmon_event_t, error), 28);
SAME(offsetof(procmon_event_t, uptime), 32);
SAME(offsetof(procmon_event_t, delay), 40);
SAME(offsetof(procmon_event_t, timestamp), 48);

/* The enum values 0.1.0 programs were built with. */
SAME(PROCMON_STATE_STOPPED, 0);
SAME(PROCMON_STATE_RUNNING, 1);
SAME(PROCMON_STATE_STOPPING, 2);
SAME(PROCMON_STATE_BACKOFF, 3);
SAME(PROCMON_EVENT_STARTED, 1);
SAME(PROCMON_EVENT_KILLED, 5);
SAME(PROCMON_ERR_INTERNAL, -6);

int main(void) {
  puts("the 0.1.0 layouts hold");
  return 0;
}
