/*
 * gen: the child process of every benchmark workload. Small and fast, so that
 * it is never the bottleneck.
 *
 *   gen lines COUNT ID [WRITE]
 *                        write COUNT lines of 60 bytes (see common/lines.h) to
 *                        stdout, then exit 0. Without WRITE: in writes of
 *                        65,520 bytes (1,092 whole lines, never more than the
 *                        pipe's 64 KiB); with WRITE: in writes of exactly WRITE
 *                        bytes (the last shorter), lines split across writes
 *                        when WRITE is not a multiple of 60. 65580 = 1,093
 *                        lines, just over the pipe's capacity: each write fills
 *                        the pipe and blocks until the reader took some.
 *   gen stdio COUNT ID   the same lines written like a C program using stdio on
 *                        a pipe: one printf per line, stdout fully buffered
 *                        with a 4096-byte buffer (so 4 KiB writes)
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
#include <sys/types.h>
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
    if (argc >= 5 && strcmp(argv[1], "lines") == 0) {
        /* writes of exactly WRITE bytes: lines are formatted into a buffer of
         * WRITE + one line, a full WRITE goes out, the rest moves to the front */
        long count = atol(argv[2]);
        int id = atoi(argv[3]);
        size_t wsz = (size_t)atol(argv[4]);
        if (wsz < 1 || wsz > (64u << 20)) return 2;
        die_with_parent();
        char *buf = malloc(wsz + LINE_BYTES);
        if (!buf) return 3;
        size_t used = 0;
        for (long seq = 0; seq < count; seq++) {
            line_format(buf + used, id, seq);
            used += LINE_BYTES;
            while (used >= wsz) {
                write_all(buf, wsz);
                used -= wsz;
                memmove(buf, buf + wsz, used);
            }
        }
        write_all(buf, used);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "stdio") == 0) {
        long count = atol(argv[2]);
        int id = atoi(argv[3]);
        die_with_parent();
        static char iobuf[4096];
        setvbuf(stdout, iobuf, _IOFBF, sizeof iobuf);
        for (long seq = 0; seq < count; seq++)
            printf("%02d %010ld %.45s\n", id % 100, seq, LINE_PATTERN + seq % 26);
        return fflush(stdout) == 0 ? 0 : 3;
    }
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
    fprintf(stderr, "usage: gen lines COUNT ID [WRITE] | gen stdio COUNT ID | gen sleep | gen stamp | gen ignoreterm\n");
    return 2;
}
