/*
 * The benchmark's line format, shared by the generator and the C checkers.
 *
 * A line is 60 bytes on the pipe: 59 bytes of content and '\n'.
 *   "II SSSSSSSSSS PPP...P"   II   = the child's id, 2 digits
 *                             SSS  = the sequence number, 10 digits
 *                             PPP  = 45 letters: PATTERN[(seq % 26) ...]
 * The checker verifies the id, that the sequence number is the next one expected
 * for that child (order, nothing lost or duplicated) and every pad byte.
 * bench/twisted/tw_bench.py implements the same check in Python.
 */
#ifndef BENCH_LINES_H
#define BENCH_LINES_H

#include <stddef.h>
#include <string.h>

#define LINE_BYTES 60          /* on the wire, with '\n' */
#define LINE_CONTENT 59        /* as delivered, without '\n' */
#define LINE_PAD 45

static const char LINE_PATTERN[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ";

static inline void line_format(char *out, int id, long seq) {
    out[0] = (char)('0' + (id / 10) % 10);
    out[1] = (char)('0' + id % 10);
    out[2] = ' ';
    long s = seq;
    for (int i = 12; i >= 3; i--) {
        out[i] = (char)('0' + s % 10);
        s /= 10;
    }
    out[13] = ' ';
    memcpy(out + 14, LINE_PATTERN + seq % 26, LINE_PAD);
    out[59] = '\n';
}

/* 1 when `line` (without '\n') is line number `seq` of child `id`. */
static inline int line_check(const char *line, size_t len, int id, long seq) {
    if (len != LINE_CONTENT) return 0;
    if (line[0] != '0' + (id / 10) % 10 || line[1] != '0' + id % 10 || line[2] != ' ')
        return 0;
    long s = 0;
    for (int i = 3; i <= 12; i++) {
        unsigned d = (unsigned)(line[i] - '0');
        if (d > 9) return 0;
        s = s * 10 + d;
    }
    if (s != seq || line[13] != ' ') return 0;
    return memcmp(line + 14, LINE_PATTERN + seq % 26, LINE_PAD) == 0;
}

#endif
