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
 *   pm_bench GEN scale N IDLE_SECONDS [MODE]
 *                                         MODE: how "start all" adds the N
 *                                         children: "batch" (default) one
 *                                         procmon_add_many of N specs (one spec,
 *                                         containment NONE), "each" one
 *                                         procmon_add_process per child
 *   pm_bench GEN stop SAMPLES KILL_TIME   (a child that ignores TERM)
 *   pm_bench GEN contained N [ROUNDS]     N children under CGROUP against NONE,
 *                                         interleaved ROUNDS times (default 2);
 *                                         see contained_run
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
    double t_started, t_exited;
    /* contained: the mode every STARTED must report, and how many did not */
    int want_containment;
    long bad_containment;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .want_containment = -1};

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
        if (S.want_containment >= 0 && ev->containment != S.want_containment)
            S.bad_containment++;
        if (atomic_fetch_add(&S.started, 1) + 1 >= S.want_started)
            pthread_cond_broadcast(&S.cv);
        pthread_mutex_unlock(&S.mu);
        break;
    }
    case PROCMON_EVENT_EXITED: {
        double t = now_s();
        pthread_mutex_lock(&S.mu);
        S.t_exited = t;
        if (atomic_fetch_add(&S.exited, 1) + 1 >= S.want_exited)
            pthread_cond_broadcast(&S.cv);
        pthread_mutex_unlock(&S.mu);
        break;
    }
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

typedef int (*add_many_fn)(procmon_t *, size_t, const char *const *,
                           const procmon_spec_t *const *);

/* "start all" by one procmon_add_many of n specs: one spec for every name, with
 * containment NONE so that each child costs what procmon_add_process's does
 * (the spec's default, AUTO, would make a cgroup for each). Looked up at run
 * time, so that this driver still runs against a library without it (bench/ab.sh):
 * NULL then, and the caller adds one by one. */
static add_many_fn find_add_many(void) {
    add_many_fn f;
    void *sym = dlsym(RTLD_DEFAULT, "procmon_add_many");
    memcpy(&f, &sym, sizeof f);
    return f;
}

static int scale_run(const char *gen, int n, double idle, const char *mode) {
    int batch = strcmp(mode, "each") != 0;
    add_many_fn add_many = batch ? find_add_many() : NULL;
    if (batch && !add_many) {
        fprintf(stderr, "pm_bench: no procmon_add_many in this library: adding one by one\n");
        batch = 0;
    }
    procmon_t *pm = new_monitor();
    sleep_s(0.05);
    long rss0 = status_kib("VmRSS");
    int threads0 = thread_count();
    const char *argv[] = {gen, "sleep", NULL};
    /* names and specs made before the clock starts, as the limit's argv is */
    char(*names)[16] = calloc((size_t)n, sizeof *names);
    const char **name_ptrs = calloc((size_t)n, sizeof *name_ptrs);
    const procmon_spec_t **specs = calloc((size_t)n, sizeof *specs);
    procmon_spec_t *spec = procmon_spec_new(argv);
    if (!names || !name_ptrs || !specs || !spec) {
        fprintf(stderr, "pm_bench: out of memory\n");
        return 1;
    }
    CHECK(procmon_spec_set_containment(spec, PROCMON_CONTAIN_NONE));
    for (int i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "s%d", i);
        name_ptrs[i] = names[i];
        specs[i] = spec;
    }
    S.want_started = n;
    S.want_exited = n;
    double t0 = now_s();
    if (batch) {
        CHECK(add_many(pm, (size_t)n, name_ptrs, specs));
    } else {
        for (int i = 0; i < n; i++) CHECK(procmon_add_process(pm, name_ptrs[i], argv, NULL));
    }
    double t_start = now_s() - t0;
    procmon_spec_free(spec);
    free(specs);
    free(name_ptrs);
    free(names);
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
    printf("\"ok\":%s,\"n\":%d,\"start_mode\":\"%s\",\"start_s\":%.6f,\"stop_s\":%.6f,"
           "\"free_s\":%.6f,\"rss_base_kib\":%ld,\"rss_kib\":%ld,\"kib_per_child\":%.3f,"
           "\"rss_idle_kib\":%ld,\"kib_per_idle_child\":%.3f,"
           "\"threads_base\":%d,\"threads\":%d,\"idle_s\":%.1f,\"idle_cpu_s\":%.6f,"
           "\"idle_vol_csw\":%ld}\n",
           ok ? "true" : "false", n, batch ? "batch" : "each", t_start, t_stop, t_free, rss0, rss1,
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

/* contained: the start and stop cost of N children each in a cgroup v2 of its
 * own (PROCMON_CONTAIN_CGROUP) against the same N without containment
 * (PROCMON_CONTAIN_NONE), in the same process, ROUNDS times each, interleaved
 * (round r runs NONE then CGROUP when r is even, CGROUP then NONE when odd).
 * Each pass: a fresh monitor, N procmon_add() of one spec of `gen sleep` with
 * the mode set, "start" = from before the first add to the N-th STARTED (its
 * timestamp in the callback), "stop" = from procmon_stop() to the N-th EXITED,
 * "free" = procmon_free(). Both modes go through procmon_add() with a spec, so
 * the containment is the only difference.
 *
 * The cgroups are made under a root of the driver's own (procmon_set_cgroup_root:
 * <own cgroup>/pm-bench.<pid>, so that other users of the default root do not
 * disturb the check). Checks (a failed one fails the run): every STARTED of a
 * CGROUP pass says containment == PROCMON_CONTAIN_CGROUP (and NONE for NONE),
 * the monitor's directory holds N run cgroups after the start, and nothing is
 * left under the root after procmon_free(). Where the driver cannot make a
 * cgroup itself (no cgroup v2, not root) it prints "skipped" and exits 3, which
 * run.py reports as skipped, not failed. */
#include "../common/cgroup.h"

typedef struct {
    double start, adds, stop, free_s;
} pass_t;

static int contained_pass(const char *gen, int n, int mode, const char *root, pass_t *out,
                          char *err, size_t errlen) {
    pthread_mutex_lock(&S.mu);
    S.started = 0;
    S.exited = 0;
    S.spawn_failed = 0;
    S.want_started = n;
    S.want_exited = n;
    S.want_containment = mode;
    S.bad_containment = 0;
    pthread_mutex_unlock(&S.mu);
    procmon_t *pm = new_monitor();
    if (mode == PROCMON_CONTAIN_CGROUP) CHECK(procmon_set_cgroup_root(pm, root));
    const char *argv[] = {gen, "sleep", NULL};
    procmon_spec_t *spec = procmon_spec_new(argv);
    if (!spec) fail("procmon_spec_new");
    CHECK(procmon_spec_set_containment(spec, mode));
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "k%d", i);
        CHECK(procmon_add(pm, name, spec));
    }
    out->adds = now_s() - t0;
    WAIT_UNTIL(S.started >= n, 120);
    out->start = S.t_started - t0;
    procmon_spec_free(spec);
    int cgroups = -1;
    if (mode == PROCMON_CONTAIN_CGROUP) cgroups = count_subdirs(root) - 1; /* minus m<pid>... */
    double t1 = now_s();
    CHECK(procmon_stop(pm));
    WAIT_UNTIL(S.exited >= n, 120);
    out->stop = S.t_exited - t1;
    double t2 = now_s();
    procmon_free(pm);
    out->free_s = now_s() - t2;
    int left = mode == PROCMON_CONTAIN_CGROUP ? count_subdirs(root) : 0;
    if (S.spawn_failed || S.started != n) {
        snprintf(err, errlen, "%s pass: %ld started, %ld spawn failures",
                 mode ? "CGROUP" : "NONE", (long)S.started, (long)S.spawn_failed);
        return -1;
    }
    if (S.bad_containment) {
        snprintf(err, errlen, "%s pass: %ld STARTED events with containment != %d",
                 mode ? "CGROUP" : "NONE", S.bad_containment, mode);
        return -1;
    }
    if (mode == PROCMON_CONTAIN_CGROUP && cgroups != n) {
        snprintf(err, errlen, "CGROUP pass: %d run cgroups under %s after the start, not %d",
                 cgroups, root, n);
        return -1;
    }
    if (left != 0) {
        snprintf(err, errlen, "CGROUP pass: %d directories left under %s after procmon_free",
                 left, root);
        return -1;
    }
    return 0;
}

/* The median of v[0..n) (v untouched; the mean of the middle two when n is even). */
static double median_d(double *v, int n) {
    double *c = malloc((size_t)n * sizeof *c);
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return m;
}

static int contained_run(const char *gen, int n, int rounds) {
    char root[PATH_MAX], why[PATH_MAX + 128];
    if (bench_cgroup_root("pm-bench", root, sizeof root, why, sizeof why) != 0) {
        print_head();
        printf("\"ok\":false,\"skipped\":true,\"error\":\"skipped: %s\"}\n", why);
        return 3;
    }
    if (rounds < 1) rounds = 1;
    pass_t *none = calloc((size_t)rounds, sizeof *none), *cg = calloc((size_t)rounds, sizeof *cg);
    double *v = calloc((size_t)rounds * 8, sizeof *v);
    char err[PATH_MAX + 256] = "";
    int rc = 0;
    for (int r = 0; r < rounds && rc == 0; r++) {
        for (int k = 0; k < 2 && rc == 0; k++) {
            int mode = (k == 0) == (r % 2 == 0) ? PROCMON_CONTAIN_NONE : PROCMON_CONTAIN_CGROUP;
            rc = contained_pass(gen, n, mode, root, mode ? &cg[r] : &none[r], err, sizeof err);
        }
    }
    int left = count_subdirs(root); /* 0: every pass checked it already */
    remove_cgroup_tree(root);       /* the root itself (and leftovers of a failed pass) */
    print_head();
    if (rc != 0) {
        printf("\"ok\":false,\"error\":\"%s\"}\n", err);
        return 1;
    }
#define MED(arr, field) ({ for (int i_ = 0; i_ < rounds; i_++) v[i_] = arr[i_].field; median_d(v, rounds); })
    double ns = MED(none, start), cs = MED(cg, start), nt = MED(none, stop), ct = MED(cg, stop);
    double na = MED(none, adds), ca = MED(cg, adds), nf = MED(none, free_s), cf = MED(cg, free_s);
    /* the ratio within each round (the two passes ran back to back) */
    double *rs = v + rounds, *rt = v + 2 * rounds;
    for (int i = 0; i < rounds; i++) {
        rs[i] = cg[i].start / none[i].start;
        rt[i] = cg[i].stop / none[i].stop;
    }
    double rs_med = median_d(rs, rounds), rt_med = median_d(rt, rounds);
    qsort(rs, (size_t)rounds, sizeof *rs, cmp_double);
    printf("\"ok\":true,\"n\":%d,\"rounds\":%d,\"root\":\"%s\",\"left_after_free\":%d,"
           "\"bad_containment\":0,"
           "\"start_s\":%.6f,\"stop_s\":%.6f,"
           "\"none_start_s\":%.6f,\"cgroup_start_s\":%.6f,"
           "\"none_adds_s\":%.6f,\"cgroup_adds_s\":%.6f,"
           "\"none_stop_s\":%.6f,\"cgroup_stop_s\":%.6f,"
           "\"none_free_s\":%.6f,\"cgroup_free_s\":%.6f,"
           "\"cgroup_over_none_start\":%.4f,\"cgroup_over_none_stop\":%.4f,"
           "\"round_start_ratio_min\":%.4f,\"round_start_ratio_max\":%.4f}\n",
           n, rounds, root, left, cs, ct, ns, cs, na, ca, nt, ct, nf, cf, rs_med, rt_med, rs[0],
           rs[rounds - 1]);
    return 0;
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
    if (!strcmp(w, "contained") && argc >= 4)
        return contained_run(gen, atoi(argv[3]), argc >= 5 ? atoi(argv[4]) : 2);
    if (!strcmp(w, "restart") && argc >= 4) return restart_run(gen, atoi(argv[3]));
    if (!strcmp(w, "scale") && argc >= 5)
        return scale_run(gen, atoi(argv[3]), atof(argv[4]), argc >= 6 ? argv[5] : "batch");
    if (!strcmp(w, "stop") && argc >= 5) return stop_run(gen, atoi(argv[3]), atof(argv[4]));
    fprintf(stderr, "pm_bench: bad arguments\n");
    return 2;
}
