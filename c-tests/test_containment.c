/* Containment (API.md 0.2): a run's unit — its process group or a cgroup v2 of
 * its own — is stopped whole, drained before a restart, and left by nothing;
 * the cgroup root is found, settable, and cleaned of what a dead monitor left.
 * Tests that need cgroup v2 and root skip with a message where they cannot run. */
#define _GNU_SOURCE
#include "task.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static recorder_t rec;

static procmon_t *setup(void) {
  rec_init(&rec);
  return fx_monitor(&rec);
}

/* A monitor whose cgroups are made under `root`. */
static procmon_t *setup_under(const char *root) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_cgroup_root(pm, root));
  return pm;
}

static rec_event_t event(const char *name, int kind, size_t i) {
  rec_event_t e;
  ASSERT_TRUE(rec_event(&rec, name, kind, i, &e));
  return e;
}

static procmon_spec_t *spec_of(const char *const *argv, int containment) {
  procmon_spec_t *spec = procmon_spec_new(argv);
  ASSERT_TRUE(spec != NULL);
  ASSERT_OK(procmon_spec_set_containment(spec, containment));
  return spec;
}

static void add_sh(procmon_t *pm, const char *name, const char *script, int containment,
                   double kill_time) {
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  procmon_spec_t *spec = spec_of(argv, containment);
  ASSERT_OK(procmon_spec_set_kill_time(spec, kill_time));
  ASSERT_OK(procmon_add(pm, name, spec));
  procmon_spec_free(spec);
}

/* The cgroup2 mount point, from /proc/self/mountinfo ("" if none). */
static const char *cgroup2_mount(void) {
  static char mount[4096];
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[8192];
  mount[0] = '\0';
  while (f && fgets(line, sizeof line, f)) {
    char *dash = strstr(line, " - cgroup2 ");
    if (!dash) continue;
    char a[64], b[64], c[64], root[4096], point[4096];
    if (sscanf(line, "%63s %63s %63s %4095s %4095s", a, b, c, root, point) == 5)
      snprintf(mount, sizeof mount, "%s", point);
    break;
  }
  if (f) fclose(f);
  return mount;
}

/* Whether this process can contain children in cgroups; says why not. */
static int cgroups_usable(void) {
  if (geteuid() != 0) {
    printf("SKIP: not root: cgroup containment tests need to make cgroups\n");
    return 0;
  }
  if (!cgroup2_mount()[0]) {
    printf("SKIP: no cgroup v2 file system is mounted\n");
    return 0;
  }
  return 1;
}

/* A root of this test's own under the cgroup2 mount, made fresh. */
static const char *test_root(void) {
  static char root[4200];
  snprintf(root, sizeof root, "%s/procmon-test-%d", cgroup2_mount(), (int)getpid());
  mkdir(root, 0755);
  return root;
}

/* The number of entries of `dir` whose name starts with `prefix`. */
static int entries(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
  closedir(d);
  return n;
}

static int pid_of_line(const char *name, const char *prefix, size_t nth) {
  size_t n = rec_count_lines(&rec, name), seen = 0;
  for (size_t i = 0; i < n; i++) {
    rec_line_t l;
    ASSERT_TRUE(rec_line(&rec, name, i, &l));
    int pid = 0;
    int ok = !strncmp(l.data, prefix, strlen(prefix)) &&
             sscanf(l.data + strlen(prefix), "%d", &pid) == 1;
    free(l.data);
    if (ok && seen++ == nth) return pid;
  }
  return 0;
}

static size_t count_prefix(const char *name, const char *prefix) {
  size_t n = rec_count_lines(&rec, name), found = 0;
  for (size_t i = 0; i < n; i++) {
    rec_line_t l;
    ASSERT_TRUE(rec_line(&rec, name, i, &l));
    found += !strncmp(l.data, prefix, strlen(prefix));
    free(l.data);
  }
  return found;
}

/* CGROUP: a grandchild that calls setsid() and forks again is still in the
 * unit: the stop reaches it, KILL follows the kill time, the cgroup is removed
 * once empty, and procmon_free leaves no cgroup of this monitor. */
void test_cgroup_contains_a_setsid_double_fork(void) {
  if (!cgroups_usable()) return;
  const char *root = test_root();
  procmon_t *pm = setup_under(root);
  add_sh(pm, "escapist",
         "setsid sh -c 'trap \"\" TERM; sleep 1000 & echo deep $!; "
         "echo setsid $$; wait' & wait",
         PROCMON_CONTAIN_CGROUP, 0.5);
  WAIT_FOR(pid_of_line("escapist", "deep ", 0) && pid_of_line("escapist", "setsid ", 0));
  pid_t deep = pid_of_line("escapist", "deep ", 0);
  pid_t leader = pid_of_line("escapist", "setsid ", 0);
  ASSERT_EQ_INT(getsid(leader), leader); /* it left the child's session and group */
  rec_event_t started = event("escapist", PROCMON_EVENT_STARTED, 0);
  ASSERT_EQ_INT(started.pid > 0, 1);
  ASSERT_OK(procmon_stop_process(pm, "escapist"));
  WAIT_FOR(!fx_alive(deep) && !fx_alive(leader));
  WAIT_FOR(fx_state(pm, "escapist") == PROCMON_STATE_BACKOFF ||
           fx_state(pm, "escapist") == PROCMON_STATE_RUNNING);
  WAIT_FOR(rec_count_events(&rec, "escapist", PROCMON_EVENT_KILLED) >= 1); /* delivered after the deaths */
  ASSERT_EQ_INT(rec_count_events(&rec, "escapist", PROCMON_EVENT_KILLED), 1);
  char mine[64];
  snprintf(mine, sizeof mine, "m%d.", (int)getpid());
  ASSERT_EQ_INT(entries(root, mine), 1);
  procmon_free(pm);
  ASSERT_EQ_INT(entries(root, mine), 0); /* every cgroup it made is removed */
  ASSERT_EQ_INT(rmdir(root), 0);
  rec_destroy(&rec);
}

/* The directory of this process's monitor under `root` (one monitor). */
static const char *monitor_dir(const char *root) {
  static char path[4600];
  char mine[64];
  snprintf(mine, sizeof mine, "m%d.", (int)getpid());
  path[0] = '\0';
  DIR *d = opendir(root);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (!strncmp(e->d_name, mine, strlen(mine)))
      snprintf(path, sizeof path, "%s/%s", root, e->d_name);
  if (d) closedir(d);
  ASSERT_TRUE(path[0] != '\0');
  return path;
}

/* CGROUP: each run's cgroup goes when its child exits and left nothing in it,
 * not at procmon_free: after a crash loop of short runs and a remove, no run's
 * cgroup is left in the monitor's directory while the monitor lives. */
void test_cgroup_of_each_run_is_removed_at_its_exit(void) {
  if (!cgroups_usable()) return;
  const char *root = test_root();
  procmon_t *pm = setup_under(root);
  const char *argv[] = {"/bin/true", NULL};
  procmon_spec_t *spec = spec_of(argv, PROCMON_CONTAIN_CGROUP);
  ASSERT_OK(procmon_spec_set_threshold(spec, 0)); /* every run lives long enough */
  ASSERT_OK(procmon_add(pm, "brief", spec));
  procmon_spec_free(spec);
  WAIT_FOR(rec_count_events(&rec, "brief", PROCMON_EVENT_EXITED) >= 20);
  ASSERT_EQ_INT(event("brief", PROCMON_EVENT_STARTED, 0).containment, PROCMON_CONTAIN_CGROUP);
  const char *dir = monitor_dir(root);
  ASSERT_TRUE(entries(dir, "r") <= 1); /* the live run's, at most */
  ASSERT_OK(procmon_remove_process(pm, "brief"));
  WAIT_FOR(entries(dir, "r") == 0); /* fails if a run's cgroup stays until free */
  procmon_free(pm);
  ASSERT_EQ_INT(rmdir(root), 0);
  rec_destroy(&rec);
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ_INT(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  ASSERT_EQ_INT(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

/* Connects to the port and reads the worker's answer; 0 if none. */
static int ask(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int pid = 0;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
    char buf[64] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n > 0) sscanf(buf, "worker %d", &pid);
  }
  close(fd);
  return pid;
}

/* A master with two workers holding its port, the master SIGKILLed: the
 * workers (which ignore TERM) get the stop signal and KILL after the kill
 * time, EXITED comes when the master is reaped, and the new master starts
 * only once the unit is empty: it binds the port at its first try. */
static void server_restarts_clean(int containment) {
  procmon_t *pm = setup();
  int port = free_port();
  char port_s[16];
  snprintf(port_s, sizeof port_s, "%d", port);
  const char *argv[] = {task_exe(), "child", "server", port_s, "ignore", NULL};
  procmon_spec_t *spec = spec_of(argv, containment);
  ASSERT_OK(procmon_spec_set_kill_time(spec, 0.5));
  ASSERT_OK(procmon_spec_set_threshold(spec, 0.1)); /* a long life: restart at once */
  ASSERT_OK(procmon_add(pm, "web", spec));
  procmon_spec_free(spec);
  WAIT_FOR(count_prefix("web", "listening ") == 1 && count_prefix("web", "worker ") == 2);
  pid_t master = pid_of_line("web", "listening ", 0);
  pid_t w1 = pid_of_line("web", "worker ", 0), w2 = pid_of_line("web", "worker ", 1);
  ASSERT_EQ_INT(event("web", PROCMON_EVENT_STARTED, 0).containment,
                containment == PROCMON_CONTAIN_AUTO ? PROCMON_CONTAIN_CGROUP : containment);
  int answer = ask(port);
  ASSERT_TRUE(answer == w1 || answer == w2);
  task_let_pass(0.2); /* lived longer than the threshold */
  double killed_at = task_now();
  ASSERT_EQ_INT(kill(master, SIGKILL), 0);
  WAIT_FOR(rec_count_events(&rec, "web", PROCMON_EVENT_EXITED) == 1);
  rec_event_t exited = event("web", PROCMON_EVENT_EXITED, 0);
  ASSERT_EQ_INT(exited.signal, SIGKILL);
  WAIT_FOR(count_prefix("web", "listening ") == 2 || count_prefix("web", "bind failed") > 0);
  ASSERT_EQ_INT(count_prefix("web", "bind failed"), 0);
  ASSERT_TRUE(!fx_alive(w1) && !fx_alive(w2));
  rec_event_t again = event("web", PROCMON_EVENT_STARTED, 1);
  ASSERT_CMP_DBL(again.at - exited.at, >=, 0.4); /* the workers had their kill time */
  ASSERT_EQ_INT(rec_count_events(&rec, "web", PROCMON_EVENT_KILLED), 1);
  WAIT_FOR(count_prefix("web", "worker ") == 4);
  answer = ask(port);
  printf("SIGKILL of the master to the new master serving: %.3f s (kill time 0.5 s)\n",
         task_now() - killed_at);
  ASSERT_TRUE(answer == pid_of_line("web", "worker ", 2) || answer == pid_of_line("web", "worker ", 3));
  pid_t n1 = pid_of_line("web", "worker ", 2), n2 = pid_of_line("web", "worker ", 3);
  procmon_free(pm);
  ASSERT_TRUE(!fx_alive(n1) && !fx_alive(n2)); /* free leaves no worker */
  rec_destroy(&rec);
}

void test_server_with_workers_restarts_clean_under_group(void) {
  server_restarts_clean(PROCMON_CONTAIN_GROUP);
}

void test_server_with_workers_restarts_clean_under_cgroup(void) {
  if (!cgroups_usable()) return;
  server_restarts_clean(PROCMON_CONTAIN_CGROUP);
}

/* The default root is found from /proc/self/cgroup and mountinfo; a child of a
 * CGROUP process lives in <root>/m<pid>.<start>.<n>/r<run>. */
void test_cgroup_root_found_and_settable(void) {
  if (!cgroups_usable()) return;
  procmon_t *pm = setup();
  add_sh(pm, "default", "cat /proc/self/cgroup", PROCMON_CONTAIN_CGROUP, 1);
  WAIT_FOR(rec_count_lines(&rec, "default") >= 1);
  char pattern[64];
  snprintf(pattern, sizeof pattern, "/procmon/m%d.", (int)getpid());
  size_t n = rec_count_lines(&rec, "default");
  int found = 0;
  for (size_t i = 0; i < n; i++) {
    rec_line_t l;
    ASSERT_TRUE(rec_line(&rec, "default", i, &l));
    found |= !strncmp(l.data, "0::", 3) && strstr(l.data, pattern) && strstr(l.data, "/r");
    free(l.data);
  }
  ASSERT_TRUE(found);

  const char *root = test_root();
  ASSERT_OK(procmon_set_cgroup_root(pm, root));
  add_sh(pm, "custom", "cat /proc/self/cgroup", PROCMON_CONTAIN_CGROUP, 1);
  WAIT_FOR(rec_count_lines(&rec, "custom") >= 1);
  char want[4300];
  snprintf(want, sizeof want, "0::%s/m%d.", root + strlen(cgroup2_mount()), (int)getpid());
  found = 0;
  n = rec_count_lines(&rec, "custom");
  for (size_t i = 0; i < n; i++) {
    rec_line_t l;
    ASSERT_TRUE(rec_line(&rec, "custom", i, &l));
    found |= !strncmp(l.data, want, strlen(want));
    free(l.data);
  }
  ASSERT_TRUE(found);
  procmon_free(pm);
  ASSERT_EQ_INT(rmdir(root), 0);
  rec_destroy(&rec);
}

/* procmon_set_cgroup_root while a contained child runs under the old root:
 * the new root is for the next spawns; the running child stays in its cgroup,
 * alive, and when it exits its cgroup goes, and with the last one the
 * monitor's directory under the old root. */
void test_new_cgroup_root_leaves_running_children_alone(void) {
  if (!cgroups_usable()) return;
  char old_root[4300], new_root[4400], mine[64];
  snprintf(old_root, sizeof old_root, "%s", test_root());
  snprintf(new_root, sizeof new_root, "%s-next", old_root);
  ASSERT_EQ_INT(mkdir(new_root, 0755), 0);
  snprintf(mine, sizeof mine, "m%d.", (int)getpid());
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_cgroup_root(pm, old_root));
  add_sh(pm, "steady", "echo up; exec sleep 1000", PROCMON_CONTAIN_CGROUP, 0.5);
  WAIT_FOR(rec_count_lines(&rec, "steady") >= 1);
  pid_t pid = event("steady", PROCMON_EVENT_STARTED, 0).pid;
  ASSERT_OK(procmon_set_cgroup_root(pm, new_root));
  ASSERT_TRUE(fx_alive(pid));
  ASSERT_EQ_INT(entries(old_root, mine), 1);
  add_sh(pm, "next", "cat /proc/self/cgroup", PROCMON_CONTAIN_CGROUP, 0.5);
  WAIT_FOR(rec_count_events(&rec, "next", PROCMON_EVENT_EXITED) >= 1); /* all its lines */
  char want[4500];
  snprintf(want, sizeof want, "0::%s/%s", new_root + strlen(cgroup2_mount()), mine);
  int found = 0;
  for (size_t i = 0; i < rec_count_lines(&rec, "next"); i++) {
    rec_line_t l;
    ASSERT_TRUE(rec_line(&rec, "next", i, &l));
    found |= !strncmp(l.data, want, strlen(want));
    free(l.data);
  }
  ASSERT_TRUE(found); /* the next spawn is under the new root */
  task_let_pass(0.1); /* nothing may have stopped the first child meanwhile */
  ASSERT_TRUE(fx_alive(pid));
  ASSERT_EQ_INT(rec_count_events(&rec, "steady", PROCMON_EVENT_EXITED), 0);
  ASSERT_OK(procmon_stop_process(pm, "steady")); /* restarted under the new root */
  WAIT_FOR(rec_count_events(&rec, "steady", PROCMON_EVENT_STARTED) >= 2);
  WAIT_FOR(entries(old_root, mine) == 0);
  ASSERT_EQ_INT(entries(new_root, mine), 1);
  procmon_free(pm);
  ASSERT_EQ_INT(rmdir(old_root), 0);
  ASSERT_EQ_INT(rmdir(new_root), 0);
  rec_destroy(&rec);
}

/* A monitor SIGKILLed with a contained child and a grandchild that escaped its
 * session: the grandchild lives on (no parent-death signal reaches it), until a
 * new monitor on the same root kills it and removes the stale cgroups. */
void test_stale_cgroups_of_a_killed_monitor_are_cleaned(void) {
  if (!cgroups_usable()) return;
  const char *root = test_root();
  const char *file = task_tmpfile("grandchild.pid");
  int ready[2];
  ASSERT_EQ_INT(pipe(ready), 0);
  pid_t host = fork();
  ASSERT_TRUE(host >= 0);
  if (host == 0) {
    close(ready[0]);
    procmon_t *pm = procmon_new();
    if (!pm || procmon_set_cgroup_root(pm, root) != PROCMON_OK) _exit(3);
    char script[4400];
    snprintf(script, sizeof script,
             "setsid sh -c 'echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 1000' & wait", file,
             file, file);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    procmon_spec_t *spec = procmon_spec_new(argv);
    procmon_spec_set_containment(spec, PROCMON_CONTAIN_CGROUP);
    if (procmon_add(pm, "family", spec) != PROCMON_OK) _exit(4);
    while (access(file, F_OK) != 0) task_nap();
    if (write(ready[1], "x", 1) != 1) _exit(5);
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  ASSERT_EQ_INT(read(ready[0], &c, 1), 1);
  close(ready[0]);
  FILE *f = fopen(file, "r");
  int grandchild = 0;
  ASSERT_TRUE(f && fscanf(f, "%d", &grandchild) == 1);
  fclose(f);
  ASSERT_EQ_INT(kill(host, SIGKILL), 0);
  int status;
  ASSERT_EQ_INT(waitpid(host, &status, 0), host);
  char theirs[64];
  snprintf(theirs, sizeof theirs, "m%d.", (int)host);
  task_let_pass(0.2);
  ASSERT_TRUE(fx_alive(grandchild)); /* escaped the parent-death signal */
  ASSERT_EQ_INT(entries(root, theirs), 1);

  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_cgroup_root(pm, root)); /* cleans up what the dead one left */
  WAIT_FOR(!fx_alive(grandchild));
  ASSERT_EQ_INT(entries(root, theirs), 0);
  procmon_free(pm);
  ASSERT_EQ_INT(rmdir(root), 0);
  rec_destroy(&rec);
}

/* Runs `body` in a forked child that drops to nobody (uid and gid 65534) and
 * must end with _exit(0); fails the test if it does not. */
static void as_nobody(void (*body)(void)) {
  pid_t child = fork();
  ASSERT_TRUE(child >= 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    body();
    _exit(0);
  }
  int status;
  ASSERT_EQ_INT(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ_INT(WEXITSTATUS(status), 0);
}

/* Where no cgroup can be made (here: a user that cannot write the root), AUTO
 * contains by process group and says why once; CGROUP is a SPAWN_FAILED with
 * the errno, retried. */
static void auto_without_cgroups(void) {
  procmon_t *pm = setup();
  add_sh(pm, "auto", "exec sleep 60", PROCMON_CONTAIN_AUTO, 1);
  add_sh(pm, "auto2", "exec sleep 60", PROCMON_CONTAIN_AUTO, 1);
  add_sh(pm, "strict", "exec sleep 60", PROCMON_CONTAIN_CGROUP, 1);
  WAIT_FOR(rec_count_events(&rec, "strict", PROCMON_EVENT_SPAWN_FAILED) >= 2);
  rec_event_t a = event("auto", PROCMON_EVENT_STARTED, 0);
  rec_event_t b = event("auto2", PROCMON_EVENT_STARTED, 0);
  rec_event_t failed = event("strict", PROCMON_EVENT_SPAWN_FAILED, 0);
  ASSERT_EQ_INT(a.containment, PROCMON_CONTAIN_GROUP);
  ASSERT_EQ_INT(b.containment, PROCMON_CONTAIN_GROUP);
  ASSERT_TRUE(failed.error == EACCES || failed.error == EPERM || failed.error == EROFS);
  ASSERT_EQ_INT(rec_count_events(&rec, "strict", PROCMON_EVENT_STARTED), 0);
  procmon_free(pm);
  rec_destroy(&rec);
}

void test_auto_falls_back_to_group_without_cgroups(void) {
  if (!cgroups_usable()) return;
  as_nobody(auto_without_cgroups);
}

/* The detail is said once, in the first STARTED that fell back. */
static char first_detail[512];
static int details;
static void note_detail(void *userdata, const procmon_event_t *e) {
  rec_event_cb(userdata, e);
  if (e->kind == PROCMON_EVENT_STARTED && e->detail) {
    if (!details++) snprintf(first_detail, sizeof first_detail, "%s", e->detail);
  }
}

static void auto_says_why(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_event_callback(pm, note_detail, &rec));
  add_sh(pm, "a", "exec sleep 60", PROCMON_CONTAIN_AUTO, 1);
  add_sh(pm, "b", "exec sleep 60", PROCMON_CONTAIN_AUTO, 1);
  WAIT_FOR(rec_count_events(&rec, NULL, PROCMON_EVENT_STARTED) == 2);
  ASSERT_EQ_INT(details, 1);
  ASSERT_TRUE(strstr(first_detail, "cgroup") != NULL);
  printf("AUTO's note: %s\n", first_detail);
  procmon_free(pm);
  rec_destroy(&rec);
}

void test_auto_says_once_why_it_fell_back(void) {
  if (!cgroups_usable()) return;
  as_nobody(auto_says_why);
}

/* A root the user may write, in a tree whose common ancestor's cgroup.procs it
 * may not (a delegation done halfway): the cgroups are made, and the kernel
 * refuses to start a child in one (EACCES). AUTO then contains by process
 * group and says why; CGROUP is a SPAWN_FAILED with the errno. */
static const char *refusing_root;

static void auto_in_a_refused_cgroup(void) {
  procmon_t *pm = setup();
  ASSERT_OK(procmon_set_event_callback(pm, note_detail, &rec));
  ASSERT_OK(procmon_set_cgroup_root(pm, refusing_root));
  add_sh(pm, "auto", "exec sleep 60", PROCMON_CONTAIN_AUTO, 1);
  add_sh(pm, "auto2", "exec sleep 60", PROCMON_CONTAIN_AUTO, 1);
  add_sh(pm, "strict", "exec sleep 60", PROCMON_CONTAIN_CGROUP, 1);
  WAIT_FOR(rec_count_events(&rec, "strict", PROCMON_EVENT_SPAWN_FAILED) >= 1);
  ASSERT_EQ_INT(event("auto", PROCMON_EVENT_STARTED, 0).containment, PROCMON_CONTAIN_GROUP);
  ASSERT_EQ_INT(event("auto2", PROCMON_EVENT_STARTED, 0).containment, PROCMON_CONTAIN_GROUP);
  ASSERT_EQ_INT(event("strict", PROCMON_EVENT_SPAWN_FAILED, 0).error, EACCES);
  ASSERT_EQ_INT(details, 1);
  ASSERT_TRUE(strstr(first_detail, "starting a child in its cgroup") != NULL);
  printf("AUTO's note: %s\n", first_detail);
  procmon_free(pm);
  rec_destroy(&rec);
}

void test_auto_falls_back_when_the_kernel_refuses_the_cgroup(void) {
  if (!cgroups_usable()) return;
  refusing_root = test_root();
  ASSERT_EQ_INT(chown(refusing_root, 65534, 65534), 0);
  as_nobody(auto_in_a_refused_cgroup);
  ASSERT_EQ_INT(rmdir(refusing_root), 0); /* nothing left under it */
}

/* procmon_signal_process with whole_unit reaches a grandchild that left the
 * child's process group, under CGROUP. */
void test_whole_unit_signal_reaches_the_cgroup(void) {
  if (!cgroups_usable()) return;
  procmon_t *pm = setup();
  add_sh(pm, "unit",
         "setsid sh -c 'trap \"echo far hup\" HUP; echo far ready; "
         "while kill -0 $0 2>/dev/null; do sleep 0.05; done' $$ & "
         "trap 'echo near hup' HUP; echo ready; while :; do sleep 0.05; done",
         PROCMON_CONTAIN_CGROUP, 1);
  WAIT_FOR(rec_has_line(&rec, "unit", "ready") && rec_has_line(&rec, "unit", "far ready"));
  ASSERT_OK(procmon_signal_process(pm, "unit", SIGHUP, true));
  WAIT_FOR(rec_has_line(&rec, "unit", "far hup") && rec_has_line(&rec, "unit", "near hup"));
  procmon_free(pm);
  rec_destroy(&rec);
}

/* procmon_add_process's stop_process_group: what is left of the group when
 * the child dies on its own is stopped too, before the restart. The hook runs
 * on the callback thread: it reads and writes atomics only. */
static atomic_int sibling;
static atomic_int sibling_alive_at_restart = -1;
static void check_restart(recorder_t *r, const rec_event_t *e) {
  (void)r;
  int pid = atomic_load(&sibling);
  if (e->kind == PROCMON_EVENT_STARTED && pid > 0 && atomic_load(&sibling_alive_at_restart) < 0)
    atomic_store(&sibling_alive_at_restart, fx_alive(pid));
}

void test_process_group_leftover_is_stopped_before_the_restart(void) {
  rec_init(&rec);
  rec.on_event = check_restart; /* before the monitor exists: no race on it */
  procmon_t *pm = fx_monitor(&rec);
  char script[4400];
  /* It exits on its own once told to (the file appears), leaving its sibling. */
  const char *go = task_tmpfile("go");
  snprintf(script, sizeof script,
           "sleep 1000 & echo sib $!; while [ ! -e %s ]; do sleep 0.02; done; exit 3", go);
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  procmon_process_options_t opts = {NULL, NULL, -1, -1, true};
  ASSERT_OK(procmon_add_process(pm, "leaky", argv, &opts));
  WAIT_FOR(pid_of_line("leaky", "sib ", 0) > 0);
  atomic_store(&sibling, pid_of_line("leaky", "sib ", 0));
  FILE *f = fopen(go, "w");
  ASSERT_TRUE(f != NULL);
  fclose(f);
  WAIT_FOR(rec_count_events(&rec, "leaky", PROCMON_EVENT_STARTED) >= 2);
  WAIT_FOR(atomic_load(&sibling_alive_at_restart) >= 0);
  ASSERT_EQ_INT(atomic_load(&sibling_alive_at_restart), 0);
  ASSERT_TRUE(!fx_alive(atomic_load(&sibling)));
  WAIT_FOR(pid_of_line("leaky", "sib ", 1) > 0);
  pid_t second = pid_of_line("leaky", "sib ", 1);
  procmon_free(pm);
  ASSERT_TRUE(!fx_alive(second)); /* procmon_free leaves none */
  rec_destroy(&rec);
}

void test_containment_bad_input(void) {
  const char *argv[] = {"true", NULL};
  procmon_spec_t *spec = procmon_spec_new(argv);
  ASSERT_FAILS(procmon_spec_set_containment(spec, 4), PROCMON_ERR_INVALID);
  ASSERT_TRUE(strstr(procmon_last_error(), "containment") != NULL);
  ASSERT_FAILS(procmon_spec_set_containment(spec, -1), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_spec_set_containment(NULL, 1), PROCMON_ERR_INVALID);
  procmon_spec_free(spec);
  procmon_t *pm = setup();
  ASSERT_FAILS(procmon_set_cgroup_root(pm, NULL), PROCMON_ERR_INVALID);
  ASSERT_TRUE(strstr(procmon_last_error(), "cgroup root") != NULL);
  ASSERT_FAILS(procmon_set_cgroup_root(pm, ""), PROCMON_ERR_INVALID);
  ASSERT_FAILS(procmon_set_cgroup_root(pm, "relative/dir"), PROCMON_ERR_INVALID);
  ASSERT_TRUE(strstr(procmon_last_error(), "absolute") != NULL);
  ASSERT_FAILS(procmon_set_cgroup_root(pm, "/nonexistent/procmon/x"), PROCMON_ERR_INVALID);
  ASSERT_TRUE(strstr(procmon_last_error(), "does not exist") != NULL);
  ASSERT_FAILS(procmon_set_cgroup_root(pm, task_tmpdir()), PROCMON_ERR_INVALID);
  ASSERT_TRUE(strstr(procmon_last_error(), "not on a cgroup v2") != NULL);
  ASSERT_FAILS(procmon_set_cgroup_root(NULL, "/"), PROCMON_ERR_INVALID);
  procmon_free(pm);
  rec_destroy(&rec);
}

/* SD_NOTIFY under CGROUP: a process of the unit that left the child's process
 * group (setsid) is still heard, since it is in the run's cgroup. */
void test_sd_notify_from_a_setsid_process_of_the_cgroup(void) {
  if (!cgroups_usable()) return;
  procmon_t *pm = setup();
  const char *script =
      "import os, socket, subprocess, sys, time\n"
      "subprocess.run([sys.executable, '-c', '''\n"
      "import os, socket, time\n"
      "os.setsid()\n"
      "a = os.environ['NOTIFY_SOCKET']\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
      "s.sendto(b'READY=1', '\\\\0' + a[1:])\n"
      "print('sent from session', os.getsid(0), flush=True)\n"
      "time.sleep(60)  # the monitor looks the sender up in /proc: it stays\n"
      "'''])\n"
      "time.sleep(60)\n";
  const char *argv[] = {"python3", "-c", script, NULL};
  procmon_spec_t *spec = spec_of(argv, PROCMON_CONTAIN_CGROUP);
  ASSERT_OK(procmon_spec_set_readiness(spec, PROCMON_READY_SD_NOTIFY, NULL, 0));
  ASSERT_OK(procmon_add(pm, "unit", spec));
  procmon_spec_free(spec);
  WAIT_FOR(count_prefix("unit", "sent from session ") == 1);
  WAIT_FOR(rec_count_events(&rec, "unit", PROCMON_EVENT_READY) == 1);
  pid_t session = pid_of_line("unit", "sent from session ", 0);
  ASSERT_TRUE(session != fx_pid(pm, "unit")); /* another session and group */
  procmon_free(pm);
  rec_destroy(&rec);
}
