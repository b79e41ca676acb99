/*
 * pm_bench: every workload driven through procmon's C API (include/procmon.h).
 *
 *   pm_bench GEN throughput CHILDREN LINES_PER_CHILD [FORM]
 *                                         FORM: how the children write (gen.c):
 *                                         "64k" (default) 65,520-byte writes,
 *                                         a number: writes of that many bytes
 *                                         (65580: just over the pipe's 64 KiB),
 *                                         "stdio": printf per line, 4 KiB writes
 *   pm_bench GEN flood LINES              (the callback sleeps 1 ms every 1,000 lines)
 *   pm_bench GEN crash CHILDREN SECONDS [ENV]
 *                                         (/bin/true, threshold 0, delays 0;
 *                                         ENV "empty" (default) or "inherit")
 *   pm_bench GEN restart SAMPLES          (SIGKILL from outside -> STARTED of the new pid)
 *   pm_bench GEN scale N IDLE_SECONDS
 *   pm_bench GEN stop SAMPLES KILL_TIME   (a child that ignores TERM)
 *   pm_bench GEN contained N              TODO(containment): see contained_run
 *
 * The library is the one the dynamic loader finds: the driver is linked with a
 * RUNPATH (not an RPATH) to target/release, so LD_LIBRARY_PATH=DIR selects
 * DIR/libprocmon.so instead (bench/ab.sh runs one driver binary against two
 * builds that way). Every JSON object says which file was loaded ("lib").
 *
 * Prints one JSON object on stdout; exits 1 when a check failed (a line missing,
 * out of order or corrupted, an unexpected event, a spawn failure).
 * Every figure is measured inside this process, whose CPU, RSS, threads and
 * context switches include the library's own threads.
 */
#include "../common/lines.h"
#include "../common/util.h"
#include "procmon.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>

#define MAXCH 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* lines (touched only on the callback thread, then read under mu) */
    long next[MAXCH];
    long lines, bad, expected;
    int slow;          /* flood: sleep 1 ms every 1,000 lines */
    double t_done;     /* when the last expected line arrived */
    int ready;         /* a "ready" line arrived */
    long stamps;       /* "t <ns>" lines (gen stamp) */
    double t_stamp;    /* the last one, in seconds */
    /* events */
    atomic_long started, exited, spawn_failed;
    /* the callbacks wake the driver's thread only when these counts are reached,
     * so that waiting for N events does not cost N wake-ups of the driver */
    long want_started, want_exited;
    int32_t last_pid;
    double t_started;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int name_index(const char *name) {
    /* names are "<letter><index>"; no atoi: this runs for every line */
    int i = 0;
    for (const char *p = name + 1; *p >= '0' && *p <= '9'; p++) i = i * 10 + (*p - '0');
    return i < MAXCH ? i : 0;
}

static void on_line(void *ud, const char *name, procmon_stream_t stream, const char *line,
                    size_t len) {
    (void)ud;
    if (len == 5 && memcmp(line, "ready", 5) == 0) {
        pthread_mutex_lock(&S.mu);
        S.ready++;
        pthread_cond_broadcast(&S.cv);
        pthread_mutex_unlock(&S.mu);
        return;
    }
    if (len > 2 && line[0] == 't' && line[1] == ' ') {
        double t = atof(line + 2) * 1e-9;
        pthread_mutex_lock(&S.mu);
        S.t_stamp = t;
        S.stamps++;
        pthread_cond_broadcast(&S.cv);
        pthread_mutex_unlock(&S.mu);
        return;
    }
    int i = name_index(name);
    if (stream != PROCMON_STDOUT || !line_check(line, len, i, S.next[i])) S.bad++;
    S.next[i]++;
    S.lines++;
    if (S.slow && S.lines % 1000 == 0) sleep_s(0.001);
    if (S.lines == S.expected) {
        double t = now_s();
        pthread_mutex_lock(&S.mu);
        S.t_done = t;
        pthread_cond_broadcast(&S.cv);
        pthread_mutex_unlock(&S.mu);
    }
}

static void on_event(void *ud, const procmon_event_t *ev) {
    (void)ud;
    switch (ev->kind) {
    case PROCMON_EVENT_STARTED: {
        double t = now_s();
        pthread_mutex_lock(&S.mu);
        S.last_pid = ev->pid;
        S.t_started = t;
        if (atomic_fetch_add(&S.started, 1) + 1 >= S.want_started)
            pthread_cond_broadcast(&S.cv);
        pthread_mutex_unlock(&S.mu);
        break;
    }
    case PROCMON_EVENT_EXITED:
        pthread_mutex_lock(&S.mu);
        if (atomic_fetch_add(&S.exited, 1) + 1 >= S.want_exited)
            pthread_cond_broadcast(&S.cv);
        pthread_mutex_unlock(&S.mu);
        break;
    case PROCMON_EVENT_SPAWN_FAILED:
        atomic_fetch_add(&S.spawn_failed, 1);
        break;
    default:
        break;
    }
}

static void fail(const char *what) {
    printf("{\"impl\":\"procmon\",\"ok\":false,\"error\":\"%s: %s\"}\n", what,
           procmon_last_error());
    exit(1);
}

/* The JSON prefix of every result: which library file was loaded, its version. */
static void print_head(void) {
    Dl_info di;
    const char *lib = "?";
    if (dladdr((void *)procmon_version, &di) && di.dli_fname) lib = di.dli_fname;
    printf("{\"impl\":\"procmon\",\"lib\":\"%s\",\"version\":\"%s\",", lib,
           procmon_version());
}

/* argv of a "lines" child for FORM (see the usage at the top). */
static void gen_argv(const char *argv[6], const char *gen, const char *form,
                     const char *count, const char *id) {
    int k = 0;
    argv[k++] = gen;
    if (form && !strcmp(form, "stdio")) {
        argv[k++] = "stdio";
        argv[k++] = count;
        argv[k++] = id;
    } else {
        argv[k++] = "lines";
        argv[k++] = count;
        argv[k++] = id;
        if (form && strcmp(form, "64k") != 0) argv[k++] = form;
    }
    argv[k] = NULL;
}

#define CHECK(call)                      \
    do {                                 \
        if ((call) != PROCMON_OK) fail(#call); \
    } while (0)

static procmon_t *new_monitor(void) {
    procmon_t *pm = procmon_new();
    if (!pm) fail("procmon_new");
    CHECK(procmon_set_log_callback(pm, on_line, NULL));
    CHECK(procmon_set_event_callback(pm, on_event, NULL));
    return pm;
}

/* Waits (condition re-checked under S.mu) until cond is true or timeout. */
#define WAIT_UNTIL(cond, timeout_s)                                              \
    do {                                                                         \
        double deadline_ = now_s() + (timeout_s);                                \
        pthread_mutex_lock(&S.mu);                                               \
        while (!(cond)) {                                                        \
            double left_ = deadline_ - now_s();                                  \
            if (left_ <= 0) {                                                    \
                pthread_mutex_unlock(&S.mu);                                     \
                fail("timeout waiting for " #cond);                              \
            }                                                                    \
            struct timespec ts_;                                                 \
            clock_gettime(CLOCK_REALTIME, &ts_);                                 \
            double w_ = left_ < 0.05 ? left_ : 0.05;                             \
            ts_.tv_nsec += (long)(w_ * 1e9);                                     \
            ts_.tv_sec += ts_.tv_nsec / 1000000000L;                             \
            ts_.tv_nsec %= 1000000000L;                                          \
            pthread_cond_timedwait(&S.cv, &S.mu, &ts_);                          \
        }                                                                        \
        pthread_mutex_unlock(&S.mu);                                             \
    } while (0)

static int lines_run(const char *gen, int children, long per_child, int slow,
                     const char *form) {
    S.expected = (long)children * per_child;
    S.slow = slow;
    procmon_t *pm = new_monitor();
    /* A child exits after its lines: never restart it during the run. */
    CHECK(procmon_set_threshold(pm, 1e6));
    CHECK(procmon_set_min_restart_delay(pm, 3600));
    long rss0 = status_kib("VmRSS");
    char count[32];
    snprintf(count, sizeof count, "%ld", per_child);
    usage_t u0 = usage_now();
    double t0 = now_s();
    for (int i = 0; i < children; i++) {
        char name[16], id[16];
        snprintf(name, sizeof name, "g%d", i);
        snprintf(id, sizeof id, "%d", i);
        const char *argv[6];
        gen_argv(argv, gen, form, count, id);
        CHECK(procmon_add_process(pm, name, argv, NULL));
    }
    /* every line arrived, or every child exited (EXITED follows its lines):
     * a lost line then fails the check instead of hanging */
    WAIT_UNTIL(S.t_done > 0 || S.exited >= children, 300);
    usage_t u1 = usage_now();
    double secs = (S.t_done > 0 ? S.t_done : now_s()) - t0;
    long hwm = status_kib("VmHWM");
    procmon_free(pm);
    int ok = S.bad == 0 && S.lines == S.expected && S.spawn_failed == 0;
    print_head();
    printf("\"ok\":%s,\"form\":\"%s\",\"lines\":%ld,\"bad\":%ld,\"seconds\":%.6f,"
           "\"lines_per_s\":%.1f,\"cpu_s\":%.6f,\"cpu_ns_per_line\":%.2f,"
           "\"rss_base_kib\":%ld,\"peak_rss_kib\":%ld,\"peak_above_base_kib\":%ld}\n",
           ok ? "true" : "false", form ? form : "64k", S.lines, S.bad, secs, S.lines / secs, u1.cpu - u0.cpu,
           (u1.cpu - u0.cpu) * 1e9 / (double)S.lines, rss0, hwm, hwm - rss0);
    return ok ? 0 : 1;
}

static int crash_run(int children, double seconds, const char *env) {
    int empty_env = !env || strcmp(env, "inherit") != 0;
    static const char *const no_env[] = {NULL};
    procmon_process_options_t opts = {.env = no_env, .uid = -1, .gid = -1};
    procmon_t *pm = new_monitor();
    S.want_started = S.want_exited = LONG_MAX;
    CHECK(procmon_set_threshold(pm, 0));
    CHECK(procmon_set_min_restart_delay(pm, 0));
    CHECK(procmon_set_max_restart_delay(pm, 0));
    for (int i = 0; i < children; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        const char *argv[] = {"/bin/true", NULL};
        CHECK(procmon_add_process(pm, name, argv, empty_env ? &opts : NULL));
    }
    sleep_s(0.2); /* warm-up */
    long e0 = atomic_load(&S.exited);
    double t0 = now_s();
    sleep_s(seconds);
    long e1 = atomic_load(&S.exited);
    double t1 = now_s();
    procmon_free(pm);
    int ok = S.spawn_failed == 0 && e1 > e0;
    print_head();
    printf("\"ok\":%s,\"env\":\"%s\",\"children\":%d,\"restarts\":%ld,\"seconds\":%.3f,"
           "\"restarts_per_s\":%.1f}\n",
           ok ? "true" : "false", empty_env ? "empty" : "inherit", children, e1 - e0, t1 - t0, (e1 - e0) / (t1 - t0));
    return ok ? 0 : 1;
}

static int restart_run(const char *gen, int samples) {
    procmon_t *pm = new_monitor();
    CHECK(procmon_set_threshold(pm, 0));
    CHECK(procmon_set_min_restart_delay(pm, 0));
    const char *argv[] = {gen, "stamp", NULL};
    CHECK(procmon_add_process(pm, "r0", argv, NULL));
    WAIT_UNTIL(S.started >= 1 && S.stamps >= 1, 10);
    double *lat = calloc((size_t)samples, sizeof *lat);
    double *run = calloc((size_t)samples, sizeof *run);
    for (int k = 0; k < samples; k++) {
        sleep_s(0.003);
        int32_t old = S.last_pid;
        double t0 = now_s();
        kill(old, SIGKILL);
        /* The STARTED event's timestamp, taken in the callback: the new pid
         * existed by then (an upper bound, it includes the hand-over to the
         * callback thread). Polling procmon_process_pid instead would disturb
         * the measurement: every call is a round trip through the event loop. */
        WAIT_UNTIL(S.started == k + 2 && S.stamps == k + 2, 10);
        lat[k] = S.t_started - t0;
        run[k] = S.t_stamp - t0; /* the new child's own clock at main() */
    }
    procmon_free(pm);
    double med = quantile(lat, samples, 0.5), p90 = quantile(lat, samples, 0.9);
    double rmed = quantile(run, samples, 0.5), rp90 = quantile(run, samples, 0.9);
    int ok = S.spawn_failed == 0;
    print_head();
    printf("\"ok\":%s,\"samples\":%d,\"median_s\":%.6f,\"p90_s\":%.6f,"
           "\"min_s\":%.6f,\"run_median_s\":%.6f,\"run_p90_s\":%.6f}\n",
           ok ? "true" : "false", samples, med, p90, lat[0], rmed, rp90);
    return ok ? 0 : 1;
}

static int scale_run(const char *gen, int n, double idle) {
    procmon_t *pm = new_monitor();
    sleep_s(0.05);
    long rss0 = status_kib("VmRSS");
    int threads0 = thread_count();
    const char *argv[] = {gen, "sleep", NULL};
    S.want_started = n;
    S.want_exited = n;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        CHECK(procmon_add_process(pm, name, argv, NULL));
    }
    double t_start = now_s() - t0;
    WAIT_UNTIL(S.started >= n, 60);
    long rss1 = status_kib("VmRSS");
    int threads1 = thread_count();
    double idle_cpu = -1;
    long idle_csw = -1, rss2 = -1;
    if (idle > 0) {
        sleep_s(0.2); /* let every thread go back to sleep first */
        usage_t u0 = usage_now();
        sleep_s(idle);
        usage_t u1 = usage_now();
        idle_cpu = u1.cpu - u0.cpu;
        idle_csw = u1.nvcsw - u0.nvcsw;
        rss2 = status_kib("VmRSS"); /* after the idle window */
    }
    /* memory per idle child: the larger of the growth after the adds and after
     * the idle window (-1 when there was no idle window) */
    double per_idle = rss2 < 0 ? -1 : (double)((rss2 > rss1 ? rss2 : rss1) - rss0) / n;
    /* stop all: from procmon_stop until every child's EXITED has been delivered */
    double t1 = now_s();
    CHECK(procmon_stop(pm));
    WAIT_UNTIL(S.exited >= n, 60);
    double t_stop = now_s() - t1;
    double t2 = now_s();
    procmon_free(pm);
    double t_free = now_s() - t2;
    int ok = S.spawn_failed == 0 && S.started == n;
    print_head();
    printf("\"ok\":%s,\"n\":%d,\"start_s\":%.6f,\"stop_s\":%.6f,"
           "\"free_s\":%.6f,\"rss_base_kib\":%ld,\"rss_kib\":%ld,\"kib_per_child\":%.3f,"
           "\"rss_idle_kib\":%ld,\"kib_per_idle_child\":%.3f,"
           "\"threads_base\":%d,\"threads\":%d,\"idle_s\":%.1f,\"idle_cpu_s\":%.6f,"
           "\"idle_vol_csw\":%ld}\n",
           ok ? "true" : "false", n, t_start, t_stop, t_free, rss0, rss1,
           (double)(rss1 - rss0) / n, rss2, per_idle, threads0, threads1, idle, idle_cpu, idle_csw);
    return ok ? 0 : 1;
}

static int stop_run(const char *gen, int samples, double kill_time) {
    procmon_t *pm = new_monitor();
    CHECK(procmon_set_kill_time(pm, kill_time));
    double *lat = calloc((size_t)samples, sizeof *lat);
    const char *argv[] = {gen, "ignoreterm", NULL};
    for (int k = 0; k < samples; k++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", k);
        int ready0 = S.ready;
        long exited0 = S.exited;
        CHECK(procmon_add_process(pm, name, argv, NULL));
        WAIT_UNTIL(S.ready > ready0, 10);
        double t0 = now_s();
        CHECK(procmon_remove_process(pm, name)); /* TERM sent; KILL after kill_time */
        WAIT_UNTIL(S.exited > exited0, 10 + kill_time);
        lat[k] = now_s() - t0;
    }
    procmon_free(pm);
    double med = quantile(lat, samples, 0.5), mx = lat[samples - 1];
    print_head();
    printf("\"ok\":true,\"samples\":%d,\"kill_time\":%.3f,"
           "\"median_s\":%.6f,\"max_s\":%.6f,\"over_kill_time_ms\":%.3f}\n",
           samples, kill_time, med, mx, (med - kill_time) * 1e3);
    return 0;
}

/* TODO(containment): the start cost of a contained (cgroup) child, the row
 * "contained" of run.py and report.py. To fill once the library has
 * procmon_spec_set_containment() (not in include/procmon.h yet; do not write
 * this against a guessed signature): N times procmon_add() of a spec of
 * `gen sleep` with containment on, timed like scale_run's "start all" (until
 * the N-th STARTED), then the same N without containment in the same process,
 * and print both start_s figures plus "contained_over_plain". The limit's
 * counterpart (limit_bench.c contained_run) is: mkdir a cgroup per child under a
 * delegated cgroup v2 directory and clone3(CLONE_INTO_CGROUP). Until then it
 * reports itself as not measured, which run.py and report.py show as pending. */
static int contained_run(const char *gen, int n) {
    (void)gen;
    (void)n;
    print_head();
    printf("\"ok\":false,\"pending\":true,\"error\":\"pending: needs "
           "procmon_spec_set_containment\"}\n");
    return 3;
}

int main(int argc, char **argv) {
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    if (argc < 3) {
        fprintf(stderr, "usage: pm_bench GEN WORKLOAD ARGS...\n");
        return 2;
    }
    const char *gen = argv[1], *w = argv[2];
    if (!strcmp(w, "throughput") && argc >= 5)
        return lines_run(gen, atoi(argv[3]), atol(argv[4]), 0, argc >= 6 ? argv[5] : NULL);
    if (!strcmp(w, "flood") && argc >= 4) return lines_run(gen, 1, atol(argv[3]), 1, NULL);
    if (!strcmp(w, "crash") && argc >= 5)
        return crash_run(atoi(argv[3]), atof(argv[4]), argc >= 6 ? argv[5] : NULL);
    if (!strcmp(w, "contained") && argc >= 4) return contained_run(gen, atoi(argv[3]));
    if (!strcmp(w, "restart") && argc >= 4) return restart_run(gen, atoi(argv[3]));
    if (!strcmp(w, "scale") && argc >= 5) return scale_run(gen, atoi(argv[3]), atof(argv[4]));
    if (!strcmp(w, "stop") && argc >= 5) return stop_run(gen, atoi(argv[3]), atof(argv[4]));
    fprintf(stderr, "pm_bench: bad arguments\n");
    return 2;
}
