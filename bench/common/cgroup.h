/*
 * cgroup v2 helpers of the contained row, shared by the C drivers (procmon and
 * limit): this process's own cgroup directory, a bench root of its own under
 * it, and the check that nothing is left under that root afterwards.
 *
 * The own cgroup is found the way the library finds it (src/runtime/cgroup.rs):
 * the "0::" line of /proc/self/cgroup, relative to the root of the cgroup2
 * mount in /proc/self/mountinfo. No path is assumed.
 */
#ifndef BENCH_CGROUP_H
#define BENCH_CGROUP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* This process's cgroup v2 directory into dir; 0, or -1 with why. */
static inline int own_cgroup2(char *dir, size_t len, char *why, size_t wlen) {
    char rel[PATH_MAX] = "", line[PATH_MAX + 64];
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) {
        snprintf(why, wlen, "no /proc/self/cgroup: %s", strerror(errno));
        return -1;
    }
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(rel, sizeof rel, "%.4000s", line + 3);
            found = 1;
            break;
        }
    }
    fclose(f);
    if (!found) {
        snprintf(why, wlen, "no cgroup v2 (/proc/self/cgroup has no 0:: line)");
        return -1;
    }
    f = fopen("/proc/self/mountinfo", "r");
    if (!f) {
        snprintf(why, wlen, "no /proc/self/mountinfo: %s", strerror(errno));
        return -1;
    }
    char mnt[PATH_MAX] = "", mroot[PATH_MAX] = "";
    while (fgets(line, sizeof line, f)) {
        char *sep = strstr(line, " - ");
        if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0) continue;
        /* fields: id parent dev root mountpoint ... */
        char a[PATH_MAX], b[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %4095s %4095s", a, b) == 2) {
            snprintf(mroot, sizeof mroot, "%s", a);
            snprintf(mnt, sizeof mnt, "%s", b);
            break;
        }
    }
    fclose(f);
    if (!mnt[0]) {
        snprintf(why, wlen, "no cgroup v2 (no cgroup2 file system is mounted)");
        return -1;
    }
    const char *r = rel;
    size_t ml = strlen(mroot);
    if (strcmp(mroot, "/") != 0 && strncmp(rel, mroot, ml) == 0) r = rel + ml;
    snprintf(dir, len, "%s%s", mnt, strcmp(r, "/") == 0 ? "" : r);
    return 0;
}

/* Makes <own cgroup>/<prefix>.<pid> (a fresh directory) into root; 0, or -1
 * with why ("no cgroup v2" / "not root": the reasons to skip the row). */
static inline int bench_cgroup_root(const char *prefix, char *root, size_t len, char *why,
                                    size_t wlen) {
    char own[PATH_MAX];
    if (own_cgroup2(own, sizeof own, why, wlen) != 0) return -1;
    snprintf(root, len, "%.3900s/%.64s.%d", own, prefix, (int)getpid());
    if (mkdir(root, 0755) != 0 && errno != EEXIST) {
        snprintf(why, wlen, "%s: cannot make %s: %s", geteuid() == 0 ? "no cgroup v2" : "not root",
                 root, strerror(errno));
        return -1;
    }
    return 0;
}

/* The directories under dir, recursively (every level counted): what a
 * monitor left behind. -1 if dir cannot be read. */
static inline int count_subdirs(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= (int)sizeof sub) continue;
        int k = count_subdirs(sub);
        n += 1 + (k > 0 ? k : 0);
    }
    closedir(d);
    return n;
}

/* Removes dir and the (empty) cgroups under it, deepest first: cleanup after
 * a failed check, so that a bad run leaves nothing behind either. */
static inline void remove_cgroup_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[PATH_MAX];
            if (snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= (int)sizeof sub) continue;
            remove_cgroup_tree(sub);
        }
        closedir(d);
    }
    rmdir(dir);
}

#endif
