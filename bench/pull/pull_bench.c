/*
 * pull_bench: the throughput of pull delivery against callbacks, in one driver.
 *
 *   pull_bench GEN callbacks LINES   one child writes LINES lines of 60 bytes
 *   pull_bench GEN pull LINES        (gen lines); every line is checked
 *   pull_bench GEN pull-batch LINES
 *
 * callbacks: the log callback checks each line on the monitor's callback thread.
 * pull: this thread polls procmon_poll_fd() and takes records with
 * procmon_next(), checking each line the same way; pull-batch takes them with
 * procmon_next_batch(), up to 1024 a call. The time runs from
 * procmon_add_process to the last line. Prints one JSON object; exits 1 when a
 * line is missing, out of order or corrupted. bench/pull/run.sh interleaves
 * the two modes and reports medians and their ratio.
 */
#include "../common/lines.h"
#include "../common/util.h"
#include "procmon.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

static long next_seq, lines, bad, expected;
static double t_done;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void check(procmon_stream_t stream, const char *line, size_t len) {
    if (stream != PROCMON_STDOUT || !line_check(line, len, 0, next_seq)) bad++;
    next_seq++;
    lines++;
}

static void on_line(void *ud, const char *name, procmon_stream_t stream, const char *line,
                    size_t len) {
    (void)ud, (void)name;
    check(stream, line, len);
    if (lines == expected) {
        pthread_mutex_lock(&mu);
        t_done = now_s();
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

static void fail(const char *what) {
    printf("{\"ok\":false,\"error\":\"%s: %s\"}\n", what, procmon_last_error());
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: pull_bench GEN callbacks|pull|pull-batch LINES\n");
        return 2;
    }
    const char *gen = argv[1], *mode = argv[2];
    int batch = !strcmp(mode, "pull-batch");
    int pull = batch || !strcmp(mode, "pull");
    if (!pull && strcmp(mode, "callbacks")) return fprintf(stderr, "bad mode\n"), 2;
    expected = atol(argv[3]);
    procmon_t *pm = procmon_new();
    if (!pm) fail("procmon_new");
    if (procmon_set_threshold(pm, 1e6) || procmon_set_min_restart_delay(pm, 3600))
        fail("settings");
    if (pull ? procmon_set_delivery(pm, PROCMON_DELIVERY_PULL)
             : procmon_set_log_callback(pm, on_line, NULL))
        fail("delivery");
    const char *args[] = {gen, "lines", argv[3], "0", NULL};
    usage_t u0 = usage_now();
    double t0 = now_s();
    if (procmon_add_process(pm, "g0", args, NULL)) fail("add");
    double deadline = t0 + 300;
    if (pull) {
        struct pollfd fd = {.fd = procmon_poll_fd(pm), .events = POLLIN};
        while (lines < expected && now_s() < deadline) {
            if (poll(&fd, 1, 1000) < 0) fail("poll");
            if (batch) {
                const procmon_record_t *rs[1024];
                size_t n;
                while (procmon_next_batch(pm, rs, 1024, &n) == PROCMON_OK)
                    for (size_t i = 0; i < n; i++)
                        if (rs[i]->kind == PROCMON_RECORD_LINE)
                            check(rs[i]->stream, rs[i]->line, rs[i]->len);
                continue;
            }
            const procmon_record_t *r;
            while (procmon_next(pm, &r) == PROCMON_OK)
                if (r->kind == PROCMON_RECORD_LINE) check(r->stream, r->line, r->len);
        }
        t_done = now_s();
    } else {
        pthread_mutex_lock(&mu);
        while (t_done == 0 && now_s() < deadline) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&cv, &mu, &ts);
        }
        pthread_mutex_unlock(&mu);
    }
    usage_t u1 = usage_now();
    double secs = t_done - t0;
    procmon_free(pm);
    int ok = bad == 0 && lines == expected;
    printf("{\"mode\":\"%s\",\"ok\":%s,\"lines\":%ld,\"bad\":%ld,\"seconds\":%.6f,"
           "\"lines_per_s\":%.1f,\"cpu_s\":%.6f}\n",
           mode, ok ? "true" : "false", lines, bad, secs, lines / secs, u1.cpu - u0.cpu);
    return ok ? 0 : 1;
}
