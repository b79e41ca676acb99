/*
 * gen: the child process of every benchmark workload. Small and fast, so that
 * it is never the bottleneck.
 *
 *   gen lines COUNT ID   write COUNT lines of 60 bytes (see common/lines.h) to
 *                        stdout in 64 KiB writes, then exit 0
 *   gen sleep            sleep until killed (TERM kills it)
 *   gen ignoreterm       ignore SIGTERM, print "ready", sleep until killed
 *   gen stamp            print "t <CLOCK_MONOTONIC ns>" as soon as main() runs,
 *                        then sleep until killed (restart latency)
 *
 * Every mode asks for SIGKILL when its parent dies, so a benchmark driver that
 * is killed (timeout) leaves no sleeping child behind.
 */
#include "../common/lines.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static void write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            _exit(3);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void die_with_parent(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(0);
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "lines") == 0) {
        long count = atol(argv[2]);
        int id = atoi(argv[3]);
        die_with_parent();
        static char buf[65536 / LINE_BYTES * LINE_BYTES];
        size_t used = 0;
        for (long seq = 0; seq < count; seq++) {
            if (used + LINE_BYTES > sizeof buf) {
                write_all(buf, used);
                used = 0;
            }
            line_format(buf + used, id, seq);
            used += LINE_BYTES;
        }
        write_all(buf, used);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "sleep") == 0) {
        die_with_parent();
        for (;;) pause();
    }
    if (argc >= 2 && strcmp(argv[1], "stamp") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        die_with_parent();
        char line[64];
        int n = snprintf(line, sizeof line, "t %lld\n",
                         (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        write_all(line, (size_t)n);
        for (;;) pause();
    }
    if (argc >= 2 && strcmp(argv[1], "ignoreterm") == 0) {
        die_with_parent();
        signal(SIGTERM, SIG_IGN);
        write_all("ready\n", 6);
        for (;;) pause();
    }
    fprintf(stderr, "usage: gen lines COUNT ID | gen sleep | gen stamp | gen ignoreterm\n");
    return 2;
}
