//! Spawning a child the way glibc's `posix_spawn` does — `clone(CLONE_VM |
//! CLONE_VFORK)` on a stack of our own — plus what `posix_spawn` cannot do: uid,
//! gid, supplementary groups, and a parent-death signal.
//!
//! The child shares our memory until it calls `execve`, so it runs only raw system
//! calls: no allocation, no locks, no glibc wrappers that act on other threads
//! (glibc's `setuid` would signal every thread of the *parent*). It reports a
//! failure by storing its errno in the shared [`ChildContext`] before `_exit(127)`;
//! `CLONE_VFORK` guarantees the store is visible when `clone` returns.

use super::pipe::{above_stdio, Pipe};
use super::{check, errno};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

/// A running child: its pid, a pidfd for it, and our ends of its stdout and stderr.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Reusable spawning state: the child's stack and `/dev/null` for its stdin.
pub struct Spawner {
    stack: Vec<u8>,
    devnull: OwnedFd,
}

const CHILD_STACK: usize = 64 * 1024;

/// What the child needs, all prepared by the parent (the child cannot allocate).
#[repr(C)]
struct ChildContext {
    /// Paths to try in turn for the program (the PATH search, done as execvp does).
    candidates: *const *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    uid: i64,
    gid: i64,
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    parent: libc::pid_t,
    /// Written by the child when it fails before or at exec: the errno.
    error: AtomicI32,
}

impl Spawner {
    pub fn new() -> Result<Spawner, i32> {
        // SAFETY: a constant NUL-terminated path; returns a fresh descriptor.
        let fd =
            check(unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
        // SAFETY: `fd` is fresh and owned by nobody else.
        let devnull = above_stdio(unsafe { OwnedFd::from_raw_fd(fd) })?;
        Ok(Spawner {
            stack: vec![0; CHILD_STACK],
            devnull,
        })
    }

    /// Starts `argv` trying each of `candidates` as the program, with `env` (None:
    /// the host's environment), `cwd`, `uid` and `gid`. Returns the errno of the
    /// failure: of the pipes, of clone, or the child's own (exec, chdir, setuid…).
    pub fn spawn(
        &mut self,
        candidates: &[CString],
        argv: &[CString],
        env: Option<&[CString]>,
        cwd: Option<&CStr>,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<Spawned, i32> {
        let out = Pipe::new()?;
        let err = Pipe::new()?;
        let candidates = null_terminated(candidates);
        let argv = null_terminated(argv);
        let envp = env.map(null_terminated);
        let context = ChildContext {
            candidates: candidates.as_ptr(),
            argv: argv.as_ptr(),
            envp: match &envp {
                Some(envp) => envp.as_ptr(),
                // SAFETY: `environ` is the host's environment array; reading the
                // pointer is what posix_spawn's callers do. (A host thread calling
                // setenv concurrently is a data race for them as for us.)
                None => unsafe { environ.cast_const().cast() },
            },
            cwd: cwd.map_or(ptr::null(), CStr::as_ptr),
            uid: uid.map_or(-1, i64::from),
            gid: gid.map_or(-1, i64::from),
            stdin: self.devnull.as_raw_fd(),
            stdout: out.write.as_raw_fd(),
            stderr: err.write.as_raw_fd(),
            // SAFETY: getpid has no preconditions.
            parent: unsafe { libc::getpid() },
            error: AtomicI32::new(0),
        };
        // The stack grows down from its 16-byte aligned top.
        let top = self.stack.as_mut_ptr_range().end as usize & !15;
        let mut pidfd: libc::c_int = -1;

        // Block every signal (glibc's internal ones too, hence the raw system
        // call) so that no handler of the host runs in the child while it shares
        // our memory; the child resets dispositions, then unblocks.
        let all: u64 = !0;
        let mut old: u64 = 0;
        // SAFETY: rt_sigprocmask reads one 8-byte set and writes one.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &all,
                &mut old,
                8,
            );
        }
        // SAFETY: `child_main` runs on our `stack`, which outlives the child's use
        // of it (CLONE_VFORK suspends us until the child execs or exits), and only
        // reads `context` and the arrays it points to, all alive until we return.
        // With CLONE_PIDFD the kernel stores the pidfd (close-on-exec) in `pidfd`.
        let pid = unsafe {
            libc::clone(
                child_main,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD,
                (&context as *const ChildContext).cast_mut().cast(),
                &mut pidfd as *mut libc::c_int,
            )
        };
        let clone_error = errno();
        // SAFETY: restores the mask saved above.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &old,
                ptr::null_mut::<u64>(),
                8,
            );
        }
        if pid == -1 {
            return Err(clone_error);
        }
        // SAFETY: CLONE_PIDFD gave us a fresh descriptor owned by nobody else.
        let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
        let failure = context.error.load(Ordering::SeqCst);
        if failure != 0 {
            // The child has called _exit: reap it now so it leaves no zombie.
            let mut status = 0;
            // SAFETY: waits for our own child, writing its status into `status`.
            while unsafe { libc::waitpid(pid, &mut status, 0) } == -1 && errno() == libc::EINTR {}
            return Err(failure);
        }
        Ok(Spawned {
            pid,
            pidfd,
            stdout: out.read,
            stderr: err.read,
        })
    }
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

extern "C" {
    static mut environ: *mut *mut libc::c_char;
}

/// The child's entry point: never returns.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `ChildContext`, alive while the parent is
    // suspended by CLONE_VFORK.
    let context = unsafe { &*(arg as *const ChildContext) };
    // SAFETY: see `setup_and_exec`; it only returns on failure.
    let error = unsafe { setup_and_exec(context) };
    context.error.store(error.max(1), Ordering::SeqCst);
    // SAFETY: _exit is async-signal-safe and ends only this child.
    unsafe { libc::_exit(127) }
}

/// Prepares the child and execs; returns the errno of what failed.
///
/// # Safety
/// Runs in the CLONE_VM child: only raw system calls on `context`'s data.
unsafe fn setup_and_exec(c: &ChildContext) -> i32 {
    // Signal dispositions back to default (the mask is still all-blocked). The
    // kernel's sigaction with a zeroed handler, flags, restorer and mask is SIG_DFL.
    let default_action = [0u64; 4];
    for signal in 1..=64 {
        if signal != libc::SIGKILL && signal != libc::SIGSTOP {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default_action.as_ptr(),
                ptr::null::<u64>(),
                8,
            );
        }
    }
    // Its own process group: a terminal's ^C reaches the monitor, not the child.
    libc::setpgid(0, 0);
    for (from, to) in [(c.stdin, 0), (c.stdout, 1), (c.stderr, 2)] {
        if libc::dup2(from, to) == -1 {
            return errno();
        }
    }
    // No descriptor of the host leaks in.
    if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) == -1 {
        for fd in 3..65536 {
            libc::close(fd);
        }
    }
    if c.uid >= 0 {
        // Drop supplementary groups; without privilege this fails, and setuid decides.
        libc::syscall(libc::SYS_setgroups, 0usize, ptr::null::<libc::gid_t>());
    }
    if c.gid >= 0 && libc::syscall(libc::SYS_setgid, c.gid as libc::gid_t) == -1 {
        return errno();
    }
    if c.uid >= 0 && libc::syscall(libc::SYS_setuid, c.uid as libc::uid_t) == -1 {
        return errno();
    }
    if !c.cwd.is_null() && libc::chdir(c.cwd) == -1 {
        return errno();
    }
    // Die with the monitor's thread (set after setuid, which clears it), unless
    // the monitor is already gone.
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    if libc::getppid() != c.parent {
        return libc::ESRCH;
    }
    let empty = 0u64;
    libc::syscall(
        libc::SYS_rt_sigprocmask,
        libc::SIG_SETMASK,
        &empty as *const u64,
        ptr::null::<u64>(),
        8,
    );
    let mut error = libc::ENOENT;
    let mut saw_eacces = false;
    let mut candidate = c.candidates;
    while !(*candidate).is_null() {
        libc::execve(*candidate, c.argv, c.envp);
        error = errno();
        match error {
            libc::EACCES => saw_eacces = true,
            libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
            _ => return error,
        }
        candidate = candidate.add(1);
    }
    if saw_eacces {
        libc::EACCES
    } else {
        error
    }
}
