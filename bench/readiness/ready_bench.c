/* Readiness figures for the closing note of issue 12 (not run in CI):
 *
 *   ready_bench latency [RUNS]   the time from a child's READY=1 (its own
 *                                CLOCK_REALTIME, read right before it sends)
 *                                to the READY callback: median and p99
 *   ready_bench idle [N] [SECS]  the monitor threads' context switches
 *                                (/proc/self/task/ID/status, voluntary +
 *                                nonvoluntary) over SECS seconds with N ready
 *                                SD_NOTIFY children: with a 10 s watchdog and
 *                                a ping every 2 s, pinging without a
 *                                watchdog, and neither
 *
 * The children are this binary run as `ready_bench child MODE`. */
#include <procmon.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double realtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the child ----------------------------------------------------------- */

static int notify_fd(struct sockaddr_un *addr, socklen_t *len) {
  const char *name = getenv("NOTIFY_SOCKET");
  if (!name || name[0] != '@') exit(2);
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  size_t n = strlen(name + 1);
  memcpy(addr->sun_path + 1, name + 1, n);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
  return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

/* "stamp": prints its clock, sends READY=1, waits to be stopped. "ping": READY=1
 * then WATCHDOG=1 every 2 s. "quiet": READY=1, then nothing. */
static int child(const char *mode) {
  struct sockaddr_un addr;
  socklen_t len;
  int fd = notify_fd(&addr, &len);
  if (strcmp(mode, "stamp") == 0) {
    double t = realtime();
    sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&addr, len);
    printf("%.9f\n", t);
    fflush(stdout);
    for (;;) pause();
  }
  sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&addr, len);
  for (;;) {
    sleep(2);
    if (strcmp(mode, "ping") == 0) sendto(fd, "WATCHDOG=1", 10, 0, (struct sockaddr *)&addr, len);
  }
  return 0;
}

/* ---- the monitor side ---------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long readies;
static double ready_at;   /* the callback's clock at the last READY */
static double stamped;    /* the child's clock, from its line */
static int have_stamp;

static void on_event(void *ud, const procmon_event_t *e) {
  (void)ud;
  if (e->kind != PROCMON_EVENT_READY) return;
  double now = realtime();
  pthread_mutex_lock(&mu);
  readies++;
  ready_at = now;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&mu);
}

static void on_line(void *ud, const char *name, procmon_stream_t s, const char *line, size_t n) {
  (void)ud, (void)name, (void)s, (void)n;
  pthread_mutex_lock(&mu);
  stamped = strtod(line, NULL);
  have_stamp = 1;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&mu);
}

static procmon_spec_t *spec_for(const char *self, const char *mode, double watchdog) {
  const char *argv[] = {self, "child", mode, NULL};
  procmon_spec_t *spec = procmon_spec_new(argv);
  if (procmon_spec_set_readiness(spec, PROCMON_READY_SD_NOTIFY, NULL, 30) != PROCMON_OK ||
      procmon_spec_set_watchdog(spec, watchdog) != PROCMON_OK) {
    fprintf(stderr, "spec: %s\n", procmon_last_error());
    exit(1);
  }
  return spec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int latency(const char *self, int runs) {
  procmon_t *pm = procmon_new();
  procmon_set_event_callback(pm, on_event, NULL);
  procmon_set_log_callback(pm, on_line, NULL);
  double *lat = calloc((size_t)runs, sizeof *lat);
  procmon_spec_t *spec = spec_for(self, "stamp", 0);
  for (int i = 0; i < runs; i++) {
    pthread_mutex_lock(&mu);
    long before = readies;
    have_stamp = 0;
    pthread_mutex_unlock(&mu);
    char name[32];
    snprintf(name, sizeof name, "r%d", i);
    if (procmon_add(pm, name, spec) != PROCMON_OK) return fprintf(stderr, "add\n"), 1;
    pthread_mutex_lock(&mu);
    while (readies == before || !have_stamp) pthread_cond_wait(&cond, &mu);
    lat[i] = ready_at - stamped;
    pthread_mutex_unlock(&mu);
    procmon_remove_process(pm, name);
  }
  procmon_spec_free(spec);
  procmon_free(pm);
  qsort(lat, (size_t)runs, sizeof *lat, cmp);
  printf("READY=1 -> READY callback over %d runs: median %.0f us, p99 %.0f us, max %.0f us\n",
         runs, lat[runs / 2] * 1e6, lat[(runs * 99) / 100] * 1e6, lat[runs - 1] * 1e6);
  free(lat);
  return 0;
}

/* Voluntary + nonvoluntary context switches of the monitor's threads. */
static long monitor_switches(void) {
  long total = 0;
  DIR *dir = opendir("/proc/self/task");
  struct dirent *d;
  while ((d = readdir(dir))) {
    if (d->d_name[0] == '.') continue;
    char path[300], comm[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", d->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
    fclose(f);
    if (strncmp(comm, "procmon-", 8) != 0) continue;
    snprintf(path, sizeof path, "/proc/self/task/%s/status", d->d_name);
    f = fopen(path, "r");
    char line[256];
    long n;
    while (f && fgets(line, sizeof line, f)) {
      if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1 ||
          sscanf(line, "nonvoluntary_ctxt_switches: %ld", &n) == 1)
        total += n;
    }
    if (f) fclose(f);
  }
  closedir(dir);
  return total;
}

static void idle_case(const char *self, int n, double secs, const char *mode, double watchdog) {
  procmon_t *pm = procmon_new();
  procmon_set_event_callback(pm, on_event, NULL);
  pthread_mutex_lock(&mu);
  readies = 0;
  pthread_mutex_unlock(&mu);
  procmon_spec_t *spec = spec_for(self, mode, watchdog);
  double t0 = monotonic();
  for (int i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "c%d", i);
    if (procmon_add(pm, name, spec) != PROCMON_OK) {
      fprintf(stderr, "add %s: %s\n", name, procmon_last_error());
      exit(1);
    }
  }
  procmon_spec_free(spec);
  pthread_mutex_lock(&mu);
  while (readies < n) pthread_cond_wait(&cond, &mu);
  pthread_mutex_unlock(&mu);
  double started = monotonic() - t0;
  sleep(3); /* let the start settle: every child is in its 2 s loop */
  long before = monitor_switches();
  double m0 = monotonic();
  usleep((useconds_t)(secs * 1e6));
  long after = monitor_switches();
  double took = monotonic() - m0;
  printf("%d children, %-5s watchdog %4.1f s: %ld context switches in %.1f s (%.1f/s); "
         "all ready in %.1f s\n",
         n, mode, watchdog, after - before, took, (double)(after - before) / took, started);
  fflush(stdout);
  procmon_free(pm);
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "child") == 0) return child(argv[2]);
  if (argc >= 2 && strcmp(argv[1], "latency") == 0)
    return latency(argv[0], argc >= 3 ? atoi(argv[2]) : 200);
  if (argc >= 2 && strcmp(argv[1], "idle") == 0) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    int n = argc >= 3 ? atoi(argv[2]) : 1000;
    double secs = argc >= 4 ? atof(argv[3]) : 10;
    idle_case(argv[0], n, secs, "ping", 10);
    idle_case(argv[0], n, secs, "ping", 0);
    idle_case(argv[0], n, secs, "quiet", 0);
    return 0;
  }
  fprintf(stderr, "usage: %s latency [RUNS] | idle [N] [SECS]\n", argv[0]);
  return 2;
}
