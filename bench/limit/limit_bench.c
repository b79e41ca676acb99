/*
 * limit_bench: the machine's limit. The same workloads as pm_bench, done by a
 * minimal C program with no supervisor logic: posix_spawn (stdin /dev/null,
 * stdout and stderr pipes), a pidfd per child, one epoll for every pidfd and
 * pipe, read(64 KiB) + memchr per pipe, waitpid, and the same line check.
 * No restart policy, no threads, no channel, no callbacks, no timers.
 *
 * Same command line and JSON as pm_bench (see bench/procmon/pm_bench.c),
 * including throughput's FORM and crash's ENV.
 */
#include "../common/lines.h"
#include "../common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { T_PID, T_OUT, T_ERR };

typedef struct {
    int type, fd, slot;
    size_t clen;
    char carry[128];
} rec_t;

typedef struct {
    int pid;
    rec_t *pidrec;
} slot_t;

static int ep, devnull;
static slot_t *slots;
static long lines, bad, expected, next_seq[64], reaped, ready, stamps;
static double t_stamp;
static long open_pipes;
static int slow;
static double t_done;
static void (*on_exit_cb)(int slot);

static void add_fd(rec_t *r) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, r->fd, &ev) != 0) {
        perror("epoll_ctl");
        exit(1);
    }
}

/* Deregister before close: a child between clone and exec may still hold the
 * descriptor, and epoll would go on reporting it. */
static void drop_fd(rec_t *r) {
    epoll_ctl(ep, EPOLL_CTL_DEL, r->fd, NULL);
    close(r->fd);
    free(r);
}

static rec_t *new_rec(int type, int fd, int slot) {
    rec_t *r = malloc(sizeof *r);
    r->type = type;
    r->fd = fd;
    r->slot = slot;
    r->clen = 0;
    return r;
}

static char *const *spawn_env; /* crash: the empty environment by default */

static void spawn(int slot, char *const argv[]) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
        perror("pipe2");
        exit(1);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, devnull, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    pid_t pid;
    int e = posix_spawn(&pid, argv[0], &fa, NULL, argv, spawn_env ? spawn_env : environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        fprintf(stderr, "posix_spawn: %s\n", strerror(e));
        exit(1);
    }
    close(out[1]);
    close(err[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0) {
        perror("pidfd_open");
        exit(1);
    }
    slots[slot].pid = pid;
    slots[slot].pidrec = new_rec(T_PID, pfd, slot);
    add_fd(slots[slot].pidrec);
    add_fd(new_rec(T_OUT, out[0], slot));
    add_fd(new_rec(T_ERR, err[0], slot));
    open_pipes += 2;
}

static void line(rec_t *r, const char *p, size_t n) {
    if (n == 5 && memcmp(p, "ready", 5) == 0) {
        ready++;
        return;
    }
    if (n > 2 && p[0] == 't' && p[1] == ' ') {
        char tmp[64];
        size_t m = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
        memcpy(tmp, p, m);
        tmp[m] = 0;
        t_stamp = strtod(tmp + 2, NULL) * 1e-9;
        stamps++;
        return;
    }
    int i = r->slot;
    if (r->type != T_OUT || !line_check(p, n, i, next_seq[i])) bad++;
    next_seq[i]++;
    lines++;
    if (slow && lines % 1000 == 0) sleep_s(0.001);
    if (lines == expected) t_done = now_s();
}

static void on_pipe(rec_t *r) {
    static char buf[65536];
    for (;;) {
        ssize_t n = read(r->fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return; /* EAGAIN */
        }
        if (n == 0) {
            if (r->clen) line(r, r->carry, r->clen);
            drop_fd(r);
            open_pipes--;
            return;
        }
        char *p = buf, *end = buf + n;
        char *nl;
        while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
            size_t len = (size_t)(nl - p);
            if (r->clen) {
                if (r->clen + len <= sizeof r->carry) {
                    memcpy(r->carry + r->clen, p, len);
                    line(r, r->carry, r->clen + len);
                } else {
                    bad++;
                }
                r->clen = 0;
            } else {
                line(r, p, len);
            }
            p = nl + 1;
        }
        size_t rest = (size_t)(end - p);
        if (rest) {
            if (r->clen + rest <= sizeof r->carry) {
                memcpy(r->carry + r->clen, p, rest);
                r->clen += rest;
            } else {
                bad++;
            }
        }
        if (n < (ssize_t)sizeof buf) return; /* drained: back to epoll */
    }
}

static void on_pidfd(rec_t *r) {
    int slot = r->slot;
    waitpid(slots[slot].pid, NULL, 0);
    drop_fd(r);
    slots[slot].pid = 0;
    reaped++;
    if (on_exit_cb) on_exit_cb(slot);
}

/* One epoll_wait and its events. Returns the number of events. */
static int pump(int timeout_ms) {
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    for (int i = 0; i < n; i++) {
        rec_t *r = evs[i].data.ptr;
        if (r->type == T_PID)
            on_pidfd(r);
        else
            on_pipe(r);
    }
    return n < 0 ? 0 : n;
}

static void setup(int nslots) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    slots = calloc((size_t)nslots, sizeof *slots);
}

static int lines_run(char *gen, int children, long per_child, int is_slow, char *form) {
    setup(children);
    expected = (long)children * per_child;
    slow = is_slow;
    long rss0 = status_kib("VmRSS");
    char count[32];
    snprintf(count, sizeof count, "%ld", per_child);
    usage_t u0 = usage_now();
    double t0 = now_s();
    for (int i = 0; i < children; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        char *argv[6];
        int k = 0;
        argv[k++] = gen;
        argv[k++] = form && !strcmp(form, "stdio") ? "stdio" : "lines";
        argv[k++] = count;
        argv[k++] = id;
        if (form && strcmp(form, "stdio") && strcmp(form, "64k")) argv[k++] = form;
        argv[k] = NULL;
        spawn(i, argv);
    }
    double deadline = t0 + 300;
    /* every line arrived, or every child exited and its pipes closed */
    while (t_done == 0 && !(reaped == children && open_pipes == 0) && now_s() < deadline) pump(100);
    usage_t u1 = usage_now();
    long hwm = status_kib("VmHWM");
    double secs = (t_done > 0 ? t_done : now_s()) - t0;
    while (reaped < children && now_s() < deadline) pump(100);
    int ok = bad == 0 && lines == expected;
    printf("{\"impl\":\"limit\",\"ok\":%s,\"form\":\"%s\",\"lines\":%ld,\"bad\":%ld,\"seconds\":%.6f,"
           "\"lines_per_s\":%.1f,\"cpu_s\":%.6f,\"cpu_ns_per_line\":%.2f,"
           "\"rss_base_kib\":%ld,\"peak_rss_kib\":%ld,\"peak_above_base_kib\":%ld}\n",
           ok ? "true" : "false", form ? form : "64k", lines, bad, secs, lines / secs, u1.cpu - u0.cpu,
           (u1.cpu - u0.cpu) * 1e9 / (double)lines, rss0, hwm, hwm - rss0);
    return ok ? 0 : 1;
}

static char *true_argv[] = {"/bin/true", NULL};
static void respawn_true(int slot) { spawn(slot, true_argv); }

static int crash_run(int children, double seconds, const char *env) {
    static char *no_env[] = {NULL};
    int empty_env = !env || strcmp(env, "inherit") != 0;
    if (empty_env) spawn_env = no_env;
    setup(children);
    on_exit_cb = respawn_true;
    for (int i = 0; i < children; i++) spawn(i, true_argv);
    double warm = now_s() + 0.2;
    while (now_s() < warm) pump(10);
    long r0 = reaped;
    double t0 = now_s(), end = t0 + seconds;
    while (now_s() < end) pump(10);
    long r1 = reaped;
    double t1 = now_s();
    printf("{\"impl\":\"limit\",\"ok\":true,\"env\":\"%s\",\"children\":%d,\"restarts\":%ld,"
           "\"seconds\":%.3f,\"restarts_per_s\":%.1f}\n",
           empty_env ? "empty" : "inherit", children, r1 - r0, t1 - t0, (r1 - r0) / (t1 - t0));
    return 0;
}

static char **restart_argv;
static double t_respawned;
static void respawn_restart(int slot) {
    spawn(slot, restart_argv);
    t_respawned = now_s(); /* posix_spawn returned: the new pid exists */
}

static int restart_run(char *gen, int samples) {
    setup(1);
    char *argv[] = {gen, "stamp", NULL};
    restart_argv = argv;
    on_exit_cb = respawn_restart;
    spawn(0, argv);
    while (stamps < 1) pump(1000);
    double *lat = calloc((size_t)samples, sizeof *lat);
    double *run = calloc((size_t)samples, sizeof *run);
    for (int k = 0; k < samples; k++) {
        double settle = now_s() + 0.003;
        while (now_s() < settle) pump(1);
        long r0 = reaped;
        double t0 = now_s();
        kill(slots[0].pid, SIGKILL);
        while (reaped == r0) pump(1000);
        lat[k] = t_respawned - t0;
        while (stamps < k + 2) pump(1000);
        run[k] = t_stamp - t0;
    }
    on_exit_cb = NULL;
    kill(slots[0].pid, SIGKILL);
    double med = quantile(lat, samples, 0.5), p90 = quantile(lat, samples, 0.9);
    double rmed = quantile(run, samples, 0.5), rp90 = quantile(run, samples, 0.9);
    printf("{\"impl\":\"limit\",\"ok\":true,\"samples\":%d,\"median_s\":%.6f,\"p90_s\":%.6f,"
           "\"min_s\":%.6f,\"run_median_s\":%.6f,\"run_p90_s\":%.6f}\n",
           samples, med, p90, lat[0], rmed, rp90);
    return 0;
}

static int scale_run(char *gen, int n, double idle) {
    setup(n);
    long rss0 = status_kib("VmRSS");
    int threads0 = thread_count();
    char *argv[] = {gen, "sleep", NULL};
    double t0 = now_s();
    for (int i = 0; i < n; i++) spawn(i, argv);
    double t_start = now_s() - t0;
    long rss1 = status_kib("VmRSS");
    int threads1 = thread_count();
    double idle_cpu = -1;
    long idle_csw = -1, rss2 = -1;
    if (idle > 0) {
        double settle = now_s() + 0.2;
        for (double left; (left = settle - now_s()) > 0;) pump((int)(left * 1000) + 1);
        usage_t u0 = usage_now();
        double end = now_s() + idle;
        for (double left; (left = end - now_s()) > 0;) pump((int)(left * 1000) + 1);
        usage_t u1 = usage_now();
        idle_cpu = u1.cpu - u0.cpu;
        idle_csw = u1.nvcsw - u0.nvcsw;
        rss2 = status_kib("VmRSS");
    }
    double per_idle = rss2 < 0 ? -1 : (double)((rss2 > rss1 ? rss2 : rss1) - rss0) / n;
    /* stop all: from the first TERM until every child has been reaped */
    double t1 = now_s();
    for (int i = 0; i < n; i++) kill(slots[i].pid, SIGTERM);
    while (reaped < n) pump(1000);
    double t_stop = now_s() - t1;
    printf("{\"impl\":\"limit\",\"ok\":true,\"n\":%d,\"start_s\":%.6f,\"stop_s\":%.6f,"
           "\"rss_base_kib\":%ld,\"rss_kib\":%ld,\"kib_per_child\":%.3f,"
           "\"rss_idle_kib\":%ld,\"kib_per_idle_child\":%.3f,"
           "\"threads_base\":%d,\"threads\":%d,\"idle_s\":%.1f,\"idle_cpu_s\":%.6f,"
           "\"idle_vol_csw\":%ld}\n",
           n, t_start, t_stop, rss0, rss1, (double)(rss1 - rss0) / n, rss2, per_idle, threads0, threads1, idle,
           idle_cpu, idle_csw);
    return 0;
}

static int stop_run(char *gen, int samples, double kill_time) {
    setup(1);
    char *argv[] = {gen, "ignoreterm", NULL};
    double *lat = calloc((size_t)samples, sizeof *lat);
    for (int k = 0; k < samples; k++) {
        long ready0 = ready, r0 = reaped;
        spawn(0, argv);
        while (ready == ready0) pump(1000);
        double t0 = now_s();
        kill(slots[0].pid, SIGTERM);
        double deadline = t0 + kill_time;
        for (double left; reaped == r0 && (left = deadline - now_s()) > 0;)
            pump((int)(left * 1000) + 1);
        if (reaped == r0) kill(slots[0].pid, SIGKILL);
        while (reaped == r0) pump(1000);
        lat[k] = now_s() - t0;
    }
    double med = quantile(lat, samples, 0.5), mx = lat[samples - 1];
    printf("{\"impl\":\"limit\",\"ok\":true,\"samples\":%d,\"kill_time\":%.3f,"
           "\"median_s\":%.6f,\"max_s\":%.6f,\"over_kill_time_ms\":%.3f}\n",
           samples, kill_time, med, mx, (med - kill_time) * 1e3);
    return 0;
}

/* TODO(containment): the limit of the "contained" row (see pm_bench.c
 * contained_run): a cgroup v2 directory per child under a delegated parent,
 * clone3(CLONE_INTO_CGROUP), rmdir after the reap. Pending with the library's
 * procmon_spec_set_containment(). */
static int contained_run(int n) {
    (void)n;
    printf("{\"impl\":\"limit\",\"ok\":false,\"pending\":true,"
           "\"error\":\"pending: needs procmon_spec_set_containment\"}\n");
    return 3;
}

int main(int argc, char **argv) {
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    if (argc < 3) {
        fprintf(stderr, "usage: limit_bench GEN WORKLOAD ARGS...\n");
        return 2;
    }
    char *gen = argv[1], *w = argv[2];
    if (!strcmp(w, "throughput") && argc >= 5)
        return lines_run(gen, atoi(argv[3]), atol(argv[4]), 0, argc >= 6 ? argv[5] : NULL);
    if (!strcmp(w, "flood") && argc >= 4) return lines_run(gen, 1, atol(argv[3]), 1, NULL);
    if (!strcmp(w, "crash") && argc >= 5)
        return crash_run(atoi(argv[3]), atof(argv[4]), argc >= 6 ? argv[5] : NULL);
    if (!strcmp(w, "contained") && argc >= 4) return contained_run(atoi(argv[3]));
    if (!strcmp(w, "restart") && argc >= 4) return restart_run(gen, atoi(argv[3]));
    if (!strcmp(w, "scale") && argc >= 5) return scale_run(gen, atoi(argv[3]), atof(argv[4]));
    if (!strcmp(w, "stop") && argc >= 5) return stop_run(gen, atoi(argv[3]), atof(argv[4]));
    fprintf(stderr, "limit_bench: bad arguments\n");
    return 2;
}
