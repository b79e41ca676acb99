/* Loaded (LD_PRELOAD) only by scripts/sanitize.sh when it runs the C harness under
 * valgrind; never part of a normal build.
 *
 * Why: procmon signals a child through pidfd_send_signal(2) (system call 424),
 * which Debian bookworm's valgrind 3.19 does not know: it fails with ENOSYS under
 * valgrind, so a child that must be stopped never is and the test hangs. This
 * wrapper of glibc's syscall() makes the real call first and, only when it fails
 * with ENOSYS (that is, only under valgrind), sends the signal with kill(2) to the
 * pid that /proc/self/fdinfo/<pidfd> names ("Pid:"; 0 or -1 when the process has
 * been reaped, which is ESRCH as for the real call). Outside valgrind it changes
 * nothing. The pid is read while the child is still unreaped, so it cannot have
 * been recycled; the harness is the only user. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

typedef long (*syscall_fn)(long, ...);

static long pid_of_pidfd(int pidfd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  const char *p = strstr(buf, "\nPid:");
  if (!p) return -1;
  return strtol(p + 5, NULL, 10);
}

long syscall(long number, ...) {
  static syscall_fn real;
  if (!real) real = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  long ret = real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (number == SYS_pidfd_send_signal && ret == -1 && errno == ENOSYS) {
    long pid = pid_of_pidfd((int)a[0]);
    if (pid <= 0) {
      errno = ESRCH;
      return -1;
    }
    return kill((pid_t)pid, (int)a[1]);
  }
  return ret;
}
