/* Linked (not instrumented) into the ThreadSanitizer build of the C harness only,
 * by scripts/sanitize.sh; never part of a normal build.
 *
 * Why: procmon spawns children the way glibc's posix_spawn does, with
 * clone(CLONE_VM | CLONE_VFORK) on a stack of its own. ThreadSanitizer's runtime
 * intercepts clone() as if it were fork(): it locks its state before the call and
 * resets it in the child as a fresh process's. With CLONE_VM the "child" shares
 * that state with the parent, so the reset corrupts the parent's runtime and it
 * aborts ("CHECK failed: tsan_rtl.cpp ... thr->slot" in ForkAfter), in every test
 * that spawns. The defect is the interceptor's, not procmon's: glibc's own
 * posix_spawn makes the same system call directly and is never intercepted.
 *
 * This strong definition of clone() replaces the runtime's weak interceptor in
 * the executable (the only user of clone() in the process is procmon's spawner)
 * and calls glibc's clone() unchanged. TSan then sees what really happens: the
 * child runs on the parent thread's runtime state while the parent is suspended
 * (CLONE_VFORK) until the child execs or exits.
 *
 * Second, a constructor creates and joins one thread before main(): TSan starts
 * its own background thread at the process's first pthread_create(), so without
 * this that thread appears in the middle of a test, and the tests that count the
 * process's threads (procmon_free must leave none behind) count one too many. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

typedef int (*clone_fn)(int (*)(void *), void *, int, void *, ...);

int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...) {
  static clone_fn real;
  if (!real) real = (clone_fn)dlsym(RTLD_NEXT, "clone");
  va_list ap;
  va_start(ap, arg);
  pid_t *parent_tid = va_arg(ap, pid_t *);
  void *tls = va_arg(ap, void *);
  pid_t *child_tid = va_arg(ap, pid_t *);
  va_end(ap);
  return real(fn, stack, flags, arg, parent_tid, tls, child_tid);
}

static void *nothing(void *arg) { return arg; }

__attribute__((constructor)) static void start_tsan_background_thread(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, nothing, NULL) == 0) pthread_join(t, NULL);
}
