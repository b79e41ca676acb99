//! Which process this is, cheaply: the pid, cached and refreshed in the child of
//! every `fork()` by a `pthread_atfork` handler (glibc no longer caches
//! `getpid`, a system call of about 100 ns, and the fork check runs on every call).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

static PID: AtomicI32 = AtomicI32::new(0);
static WATCH_FORKS: Once = Once::new();

/// Runs in the child of a fork, before `fork()` returns there (async-signal-safe).
extern "C" fn in_the_child() {
    // SAFETY: getpid has no preconditions.
    PID.store(unsafe { libc::getpid() }, Ordering::SeqCst);
}

/// The calling process's pid. Exact after a `fork()` of the C library (which runs
/// the `pthread_atfork` handlers: Ruby's, Python's and every C program's); a raw
/// `clone` system call that runs no handler is not seen.
pub fn current_pid() -> i32 {
    WATCH_FORKS.call_once(|| {
        // SAFETY: the handler is a plain function that stays valid for ever.
        unsafe { libc::pthread_atfork(None, None, Some(in_the_child)) };
        // SAFETY: as above.
        PID.store(unsafe { libc::getpid() }, Ordering::SeqCst);
    });
    PID.load(Ordering::Relaxed)
}
