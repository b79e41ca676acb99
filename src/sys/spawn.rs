//! Spawning a child the way glibc's `posix_spawn` does — `clone(CLONE_VM |
//! CLONE_VFORK)` on a stack of our own — plus what `posix_spawn` cannot do: uid,
//! gid, supplementary groups, a parent-death signal, and a start inside a cgroup.
//!
//! A child with a cgroup is created in it by the kernel: `clone3` with
//! `CLONE_INTO_CGROUP` and the cgroup's directory (Linux ≥ 5.7; x86_64 and
//! aarch64, which have the trampoline [`raw_clone3`] needs). Where clone3 cannot
//! do that, the child writes itself into the cgroup's `cgroup.procs` first
//! thing instead, as before: a migration, which takes the cgroup threadgroup
//! rwsem's write side and waits for an RCU grace period while we are suspended.
//!
//! The child shares our memory until it calls `execve`, so it runs only raw system
//! calls: no allocation, no locks, no glibc wrappers that act on other threads
//! (glibc's `setuid` would signal every thread of the *parent*). It reports a
//! failure by storing its errno in the shared [`ChildContext`] before `_exit(127)`;
//! `CLONE_VFORK` guarantees the store is visible when `clone` returns.
//!
//! A spawn has three parts: *prepare* ([`ExecArrays`], [`ChildContext`]: every
//! allocation, in the parent), *in the child* ([`child_main`]: raw system calls
//! only, on the prepared data), and *after* ([`finish`]: the child's verdict,
//! and its reaping if it failed). A new option of the child (a resource limit,
//! a descriptor to pass, a cgroup) is a field of [`SpawnRequest`], one of
//! [`ChildContext`], and one step of [`setup_child`]. Around the clone every
//! signal is blocked by a [`SignalsBlocked`] guard, which gives the mask back on
//! every path.

use super::pipe::{above_stdio, Pipe};
use super::sched::{self, SchedAttr};
use super::{check, errno};
use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

/// What to start, and how. Unset fields keep the defaults
/// (`SpawnRequest { argv, ..Default::default() }`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SpawnRequest<'a> {
    /// Paths to try in turn for the program (the PATH search, done as execvp does).
    pub candidates: &'a [CString],
    pub argv: &'a [CString],
    /// The environment; None: the host's.
    pub env: Option<&'a [CString]>,
    /// A descriptor the child gets as this number (NOTIFY_FD): the one
    /// descriptor above stderr that it has.
    pub pass_fd: Option<(BorrowedFd<'a>, RawFd)>,
    /// A variable added to the environment with the child's own pid as its
    /// value (`WATCHDOG_PID`): the child writes it, as only it knows its pid
    /// before exec.
    pub pid_var: Option<&'a CStr>,
    /// The working directory; None: the host's.
    pub cwd: Option<&'a CStr>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Resource limits set in the child before exec (and before it drops
    /// privileges, so root can raise a hard limit for an unprivileged child).
    pub rlimits: &'a [ResourceLimit],
    /// A cgroup v2 directory, open (`O_RDONLY | O_DIRECTORY`): the child
    /// starts in it and runs no code of its own outside it, so it cannot start
    /// a process outside the cgroup. The kernel creates it there
    /// (`CLONE_INTO_CGROUP`); where it cannot, the child writes itself into
    /// the directory's `cgroup.procs` before anything else (before exec, while
    /// its parent is suspended).
    pub cgroup: Option<BorrowedFd<'a>>,
}

/// One `setrlimit` for the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct ResourceLimit {
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// A running child: its pid, a pidfd for it, and our ends of its stdout and stderr.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Reusable spawning state: the child's stack, `/dev/null` for its stdin and
/// this process's pid.
pub struct Spawner {
    stack: Vec<u8>,
    devnull: OwnedFd,
    /// Taken once: a spawner is used by the thread that made it (the event loop)
    /// or others of its process, never in the child of a fork, where a monitor
    /// refuses every call and its threads do not exist.
    parent: libc::pid_t,
    /// What a child gets back when the spawning thread has a short slice
    /// ([`shorten_own_slice`](Self::shorten_own_slice)).
    child_sched: Option<SchedAttr>,
    /// Whether a child with a cgroup is cloned into it with clone3; cleared for
    /// good at the first clone3 that the kernel does not support (ENOSYS,
    /// E2BIG, EINVAL: before 5.7, or a seccomp filter), and then the child
    /// joins through `cgroup.procs`.
    clone3: bool,
}

const CHILD_STACK: usize = 64 * 1024;

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
            // SAFETY: getpid has no preconditions.
            parent: unsafe { libc::getpid() },
            child_sched: None,
            clone3: CLONE3,
        })
    }

    /// Gives the calling thread, the one that spawns, a short scheduling slice
    /// (see [`sched`]); its children get the default one back before exec.
    /// False where the kernel has no slices to set.
    pub fn shorten_own_slice(&mut self) -> bool {
        self.child_sched = sched::shorten_slice();
        self.child_sched.is_some()
    }

    /// From now on, children join their cgroup through `cgroup.procs` (what a
    /// kernel without `CLONE_INTO_CGROUP` makes of every spawn): for tests.
    #[cfg(test)]
    fn without_clone3(mut self) -> Spawner {
        self.clone3 = false;
        self
    }

    /// Starts `request`. Returns the errno of the failure: of the pipes, of the
    /// signal mask, of clone, or the child's own (exec, chdir, setuid…).
    pub fn spawn(&mut self, request: &SpawnRequest<'_>) -> Result<Spawned, i32> {
        // Prepare.
        let out = Pipe::new()?;
        let err = Pipe::new()?;
        let arrays = ExecArrays::new(request);
        let mut context = ChildContext::new(
            request,
            &arrays,
            self.devnull.as_fd(),
            out.write.as_fd(),
            err.write.as_fd(),
            self.parent,
            self.child_sched.as_ref(),
        );
        // The cgroup: the kernel's to enter with clone3, or `cgroup.procs`
        // for the child to write (open until after the clone).
        let mut procs = None;
        let into = match request.cgroup {
            Some(dir) if self.clone3 => Some(dir),
            Some(dir) => {
                context.cgroup_procs = procs.insert(open_procs(dir)?).as_raw_fd();
                None
            }
            None => None,
        };
        // In the child, until it execs or exits.
        let (pid, pidfd) = match (clone_child(&mut self.stack, &context, into), into) {
            // The child never ran: the kernel has no CLONE_INTO_CGROUP.
            (Err(libc::ENOSYS | libc::E2BIG | libc::EINVAL), Some(dir)) => {
                self.clone3 = false;
                context.cgroup_procs = procs.insert(open_procs(dir)?).as_raw_fd();
                clone_child(&mut self.stack, &context, None)?
            }
            (cloned, _) => cloned?,
        };
        drop(procs);
        // After.
        let failure = context.error.load(Ordering::SeqCst);
        finish(pid, pidfd, failure, out.read, err.read)
    }
}

/// The NULL-terminated arrays of C strings that execve takes, pointing into the
/// request's strings (built before the clone: the child cannot allocate).
struct ExecArrays<'a> {
    candidates: Vec<*const libc::c_char>,
    argv: Vec<*const libc::c_char>,
    envp: Option<Vec<*const libc::c_char>>,
    /// `NAME=` and room for the child's pid, when the request has a `pid_var`.
    pid_entry: Option<PidEntry>,
    strings: PhantomData<&'a CString>,
}

/// An environment entry `NAME=` followed by room for a pid and its NUL, which
/// the child fills in.
struct PidEntry {
    /// Owns the bytes; never touched again once `digits` is taken from it.
    _bytes: Vec<u8>,
    /// Where the pid's digits go (room for 11 bytes and the NUL).
    digits: *mut u8,
}

impl<'a> ExecArrays<'a> {
    fn new(request: &SpawnRequest<'a>) -> ExecArrays<'a> {
        let mut envp = request.env.map(null_terminated);
        let pid_entry = request.pid_var.map(|var| {
            let mut bytes = var.to_bytes().to_vec();
            bytes.push(b'=');
            let at = bytes.len();
            bytes.resize(at + 12, 0);
            // One raw pointer for both the child's write and execve's read.
            let start = bytes.as_mut_ptr();
            // SAFETY: `at` is within the vector, which is never resized again.
            let digits = unsafe { start.add(at) };
            let envp = envp.get_or_insert_with(host_environment);
            envp.insert(envp.len() - 1, start.cast_const().cast());
            PidEntry {
                _bytes: bytes,
                digits,
            }
        });
        ExecArrays {
            candidates: null_terminated(request.candidates),
            argv: null_terminated(request.argv),
            envp,
            pid_entry,
            strings: PhantomData,
        }
    }
}

/// The host's environment as a NULL-terminated array of its entries.
fn host_environment() -> Vec<*const libc::c_char> {
    let mut entries = Vec::new();
    // SAFETY: `environ` is the host's NULL-terminated environment array, read
    // as posix_spawn's callers read it (see `ChildContext::new`).
    unsafe {
        let mut entry = environ.cast_const();
        while !entry.is_null() && !(*entry).is_null() {
            entries.push((*entry).cast_const());
            entry = entry.add(1);
        }
    }
    entries.push(ptr::null());
    entries
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

/// What the child needs, all prepared by the parent (the child cannot allocate);
/// it borrows the arrays and descriptors it points to.
#[repr(C)]
struct ChildContext<'a> {
    candidates: *const *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// A descriptor to pass and the number the child gets it as, or -1s.
    pass_fd: RawFd,
    pass_fd_as: RawFd,
    /// Where the child writes its pid (in an entry of `envp`), or NULL.
    pid_digits: *mut u8,
    cwd: *const libc::c_char,
    uid: i64,
    gid: i64,
    rlimits: *const ResourceLimit,
    n_rlimits: usize,
    /// `cgroup.procs` to join (when clone3 did not put us in the cgroup), or -1.
    cgroup_procs: RawFd,
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    parent: libc::pid_t,
    /// The scheduling attributes to set in the child, or NULL.
    sched: *const SchedAttr,
    /// Written by the child when it fails before or at exec: the errno.
    error: AtomicI32,
    borrows: PhantomData<&'a ()>,
}

impl<'a> ChildContext<'a> {
    fn new(
        request: &SpawnRequest<'a>,
        arrays: &'a ExecArrays<'a>,
        stdin: BorrowedFd<'a>,
        stdout: BorrowedFd<'a>,
        stderr: BorrowedFd<'a>,
        parent: libc::pid_t,
        sched: Option<&'a SchedAttr>,
    ) -> ChildContext<'a> {
        ChildContext {
            candidates: arrays.candidates.as_ptr(),
            argv: arrays.argv.as_ptr(),
            envp: match &arrays.envp {
                Some(envp) => envp.as_ptr(),
                // SAFETY: `environ` is the host's environment array; reading the
                // pointer is what posix_spawn's callers do. (A host thread calling
                // setenv concurrently is a data race for them as for us.)
                None => unsafe { environ.cast_const().cast() },
            },
            pass_fd: request.pass_fd.map_or(-1, |(fd, _)| fd.as_raw_fd()),
            pass_fd_as: request.pass_fd.map_or(-1, |(_, number)| number),
            pid_digits: arrays
                .pid_entry
                .as_ref()
                .map_or(ptr::null_mut(), |entry| entry.digits),
            cwd: request.cwd.map_or(ptr::null(), CStr::as_ptr),
            uid: request.uid.map_or(-1, i64::from),
            gid: request.gid.map_or(-1, i64::from),
            rlimits: request.rlimits.as_ptr(),
            n_rlimits: request.rlimits.len(),
            // Set by the spawn when the child is to write it.
            cgroup_procs: -1,
            stdin: stdin.as_raw_fd(),
            stdout: stdout.as_raw_fd(),
            stderr: stderr.as_raw_fd(),
            parent,
            sched: sched.map_or(ptr::null(), |attr| attr as *const SchedAttr),
            error: AtomicI32::new(0),
            borrows: PhantomData,
        }
    }
}

/// Sets this thread's signal mask to `set` (storing the previous one in `old`)
/// with the raw system call, which covers glibc's internal signals too (its
/// `sigprocmask` leaves those alone). Async-signal-safe and allocation-free:
/// the child calls it too.
fn set_signal_mask(set: &u64, old: Option<&mut u64>) -> Result<(), i32> {
    let old = old.map_or(ptr::null_mut(), |old| old as *mut u64);
    // SAFETY: rt_sigprocmask reads one 8-byte set from a live u64 and writes
    // one into `old` when it is not NULL (a live u64 we borrow mutably).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            set as *const u64,
            old,
            std::mem::size_of::<u64>(),
        )
    };
    check(ret as libc::c_int).map(drop)
}

/// Every signal blocked on this thread, from [`block_all`](Self::block_all) to
/// [`restore`](Self::restore) (or drop), so that no handler of the host runs in
/// a CLONE_VM child while it shares our memory.
#[must_use]
struct SignalsBlocked {
    /// The mask to restore.
    old: u64,
}

impl SignalsBlocked {
    fn block_all() -> Result<SignalsBlocked, i32> {
        let mut old = 0;
        set_signal_mask(&!0, Some(&mut old))?;
        Ok(SignalsBlocked { old })
    }

    /// Restores the mask saved by [`block_all`](Self::block_all).
    fn restore(self) -> Result<(), i32> {
        let old = self.old;
        std::mem::forget(self);
        set_signal_mask(&old, None)
    }
}

impl Drop for SignalsBlocked {
    /// Only on a path that did not call `restore` (which reports the result).
    fn drop(&mut self) {
        let restored = set_signal_mask(&self.old, None);
        debug_assert!(restored.is_ok(), "restoring the signal mask failed");
    }
}

/// The run's `cgroup.procs` in the cgroup directory `dir`, open for the child
/// to write itself into (close-on-exec: the child writes it before exec).
fn open_procs(dir: BorrowedFd<'_>) -> Result<OwnedFd, i32> {
    // SAFETY: openat relative to a live directory descriptor, with a constant
    // NUL-terminated name; returns a fresh descriptor.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c"cgroup.procs".as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: `fd` is fresh and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Starts the child on `stack`: its pid and pidfd once it has exec'd or exited
/// (CLONE_VFORK suspends us until then), or the errno of the mask or of clone.
/// With `into`, a cgroup directory, the kernel creates the child in that cgroup
/// (clone3: only where [`CLONE3`] is true).
fn clone_child(
    stack: &mut [u8],
    context: &ChildContext<'_>,
    into: Option<BorrowedFd<'_>>,
) -> Result<(i32, OwnedFd), i32> {
    // The stack grows down from its 16-byte aligned top.
    let low = stack.as_mut_ptr() as usize;
    let top = stack.as_mut_ptr_range().end as usize & !15;
    let arg = (context as *const ChildContext<'_>).cast_mut().cast();
    let mut pidfd: libc::c_int = -1;
    // The child resets dispositions, then unblocks.
    let blocked = SignalsBlocked::block_all()?;
    let pid = match into {
        Some(dir) => {
            let args = CloneArgs {
                flags: (libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD) as u64
                    | CLONE_INTO_CGROUP,
                pidfd: &mut pidfd as *mut libc::c_int as u64,
                child_tid: 0,
                parent_tid: 0,
                exit_signal: libc::SIGCHLD as u64,
                stack: low as u64,
                stack_size: (top - low) as u64,
                tls: 0,
                set_tid: 0,
                set_tid_size: 0,
                cgroup: dir.as_raw_fd() as u64,
            };
            // SAFETY: as for clone below: `child_main` runs on `stack` (the
            // kernel starts the child at `stack + stack_size`, our aligned
            // top), which outlives its use, and reads only what is alive until
            // we return; `args` is a live clone_args, and the kernel stores the
            // pidfd in `pidfd`. `dir` is open for the call.
            unsafe { raw_clone3(&args, child_main, arg) }
        }
        // SAFETY: `child_main` runs on `stack`, which outlives the child's use
        // of it (CLONE_VFORK suspends us until the child execs or exits), and
        // only reads `context` and the arrays it points to, all alive until we
        // return. With CLONE_PIDFD the kernel stores the pidfd (close-on-exec)
        // in `pidfd`.
        None => match unsafe {
            libc::clone(
                child_main,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD,
                arg,
                &mut pidfd as *mut libc::c_int,
            )
        } {
            -1 => Err(errno()),
            pid => Ok(pid),
        },
    };
    let restored = blocked.restore();
    let pid = pid?;
    // SAFETY: CLONE_PIDFD gave us a fresh descriptor owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    if let Err(errno) = restored {
        // Not expected of valid arguments; do not keep a child this spawn reports failed.
        let _ = super::process::send_signal(pidfd.as_fd(), libc::SIGKILL);
        reap_failed(pid);
        return Err(errno);
    }
    Ok((pid, pidfd))
}

/// After the clone: the child's own failure (it has then called `_exit`), or
/// the running child.
fn finish(
    pid: i32,
    pidfd: OwnedFd,
    failure: i32,
    stdout: OwnedFd,
    stderr: OwnedFd,
) -> Result<Spawned, i32> {
    if failure != 0 {
        reap_failed(pid);
        return Err(failure);
    }
    Ok(Spawned {
        pid,
        pidfd,
        stdout,
        stderr,
    })
}

/// Reaps a child that has exited or been killed, so it leaves no zombie.
fn reap_failed(pid: i32) {
    let mut status = 0;
    // SAFETY: waits for our own child, writing its status into `status`.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1 && errno() == libc::EINTR {}
}

/// `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2, 88 bytes).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const _: () = assert!(std::mem::size_of::<CloneArgs>() == 88);

/// The child is created in the cgroup of `clone_args.cgroup` (Linux 5.7).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Whether this architecture has [`raw_clone3`].
const CLONE3: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// clone3 with a stack: the parent gets the child's pid (or the errno); the
/// child, which returns from the system call on its new stack, calls
/// `main(arg)` from there and exits with its value (it never returns here).
///
/// # Safety
/// `args` must ask for a new stack (`stack`, `stack_size`, its top 16-byte
/// aligned) that `main` can run on, and `main` must be fit to run in the child
/// that `args.flags` make (with CLONE_VM: it shares our memory), with `arg`.
#[cfg(target_arch = "x86_64")]
unsafe fn raw_clone3(
    args: &CloneArgs,
    main: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    arg: *mut libc::c_void,
) -> Result<i32, i32> {
    let ret: i64;
    // SAFETY: the caller's contract. In the parent this is one system call
    // (rcx and r11 clobbered). In the child (rax == 0) rsp is already the new
    // stack's top: no frame, then `main(arg)` from the callee-saved registers
    // that the child inherited, then exit with its value; `ud2` if that
    // returned. Nothing of the parent's stack is used.
    core::arch::asm!(
        "syscall",
        "test rax, rax",
        "jnz 2f",
        "xor ebp, ebp",
        "mov rdi, r12",
        "call r13",
        "mov edi, eax",
        "mov eax, 60",
        "syscall",
        "ud2",
        "2:",
        inlateout("rax") libc::SYS_clone3 => ret,
        in("rdi") args as *const CloneArgs,
        in("rsi") std::mem::size_of::<CloneArgs>(),
        in("r12") arg,
        in("r13") main,
        lateout("rcx") _,
        lateout("r11") _,
        options(nostack),
    );
    syscall_result(ret)
}

/// See the x86_64 version.
///
/// # Safety
/// As for the x86_64 version.
#[cfg(target_arch = "aarch64")]
unsafe fn raw_clone3(
    args: &CloneArgs,
    main: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    arg: *mut libc::c_void,
) -> Result<i32, i32> {
    let ret: i64;
    // SAFETY: as for x86_64: in the child (x0 == 0) sp is the new stack's top;
    // no frame (x29, x30 cleared), `main(arg)` from x20 and x21, which the
    // child inherited, then exit (93) with its value; `udf` if that returned.
    core::arch::asm!(
        "svc #0",
        "cbnz x0, 2f",
        "mov x29, xzr",
        "mov x30, xzr",
        "mov x0, x20",
        "blr x21",
        "mov x8, #93",
        "svc #0",
        "udf #0",
        "2:",
        inlateout("x0") args as *const CloneArgs => ret,
        in("x1") std::mem::size_of::<CloneArgs>(),
        in("x8") libc::SYS_clone3,
        in("x20") arg,
        in("x21") main,
        options(nostack),
    );
    syscall_result(ret)
}

/// A raw system call's return: the value, or the errno it is the negation of.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn syscall_result(ret: i64) -> Result<i32, i32> {
    if ret < 0 {
        Err(-ret as i32)
    } else {
        Ok(ret as i32)
    }
}

/// No clone3 trampoline here: [`CLONE3`] is false, so this is never called.
///
/// # Safety
/// None needed: it does nothing.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn raw_clone3(
    _: &CloneArgs,
    _: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    _: *mut libc::c_void,
) -> Result<i32, i32> {
    Err(libc::ENOSYS)
}

/// The child's entry point: never returns.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `ChildContext`, alive while the parent is
    // suspended by CLONE_VFORK.
    let context = unsafe { &*(arg as *const ChildContext<'_>) };
    // SAFETY: we are that child; see `setup_child` and `exec`.
    let error = match unsafe { setup_child(context) } {
        // SAFETY: as above; `exec` only returns on failure.
        Ok(()) => unsafe { exec(context) },
        Err(error) => error,
    };
    context.error.store(error.max(1), Ordering::SeqCst);
    // SAFETY: _exit is async-signal-safe and ends only this child.
    unsafe { libc::_exit(127) }
}

// The steps in the child. Each runs in the CLONE_VM child, on the prepared
// context only: raw system calls, no allocation, no lock, no glibc wrapper that
// acts on other threads. An `Err` is the errno of the step that failed.

/// Prepares the child for exec, in order; the mask stays all-blocked until the
/// last step.
///
/// # Safety
/// Only in the CLONE_VM child of [`clone_child`], with its `context`.
unsafe fn setup_child(c: &ChildContext<'_>) -> Result<(), i32> {
    reset_signal_dispositions();
    if !c.sched.is_null() {
        // SAFETY: a live SchedAttr of the parent's Spawner.
        sched::reset_in_child(&*c.sched);
    }
    // SAFETY: setpgid on ourselves. Its own process group: a terminal's ^C
    // reaches the monitor, not the child.
    libc::setpgid(0, 0);
    join_cgroup(c)?;
    redirect_stdio(c)?;
    pass_fd(c)?;
    write_own_pid(c);
    close_inherited(c.pass_fd_as);
    set_rlimits(c)?;
    drop_privileges(c)?;
    // SAFETY: `cwd` is NULL or a NUL-terminated string the parent keeps alive.
    if !c.cwd.is_null() && libc::chdir(c.cwd) == -1 {
        return Err(errno());
    }
    die_with_parent(c)?;
    set_signal_mask(&0, None)
}

/// Signal dispositions back to default (the mask is still all-blocked).
///
/// # Safety
/// Only in the CLONE_VM child: in the parent it would undo the host's handlers.
unsafe fn reset_signal_dispositions() {
    // The kernel's sigaction with a zeroed handler, flags, restorer and mask is SIG_DFL.
    let default_action = [0u64; 4];
    for signal in 1..=64 {
        if signal != libc::SIGKILL && signal != libc::SIGSTOP {
            // SAFETY: rt_sigaction reads one kernel sigaction (32 bytes, live)
            // and, with a NULL old action, writes nothing.
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default_action.as_ptr(),
                ptr::null::<u64>(),
                8,
            );
        }
    }
}

/// Into the run's cgroup, if it is to join one (clone3 did not create it
/// there): writing "0" to `cgroup.procs` moves the writer.
///
/// # Safety
/// Only in the CLONE_VM child, with a descriptor the parent keeps open.
unsafe fn join_cgroup(c: &ChildContext<'_>) -> Result<(), i32> {
    if c.cgroup_procs < 0 {
        return Ok(());
    }
    // SAFETY: writes one byte from a static buffer to a descriptor the parent holds open.
    if libc::write(c.cgroup_procs, c"0".as_ptr().cast(), 1) == -1 {
        return Err(errno());
    }
    Ok(())
}

/// stdin from `/dev/null`, stdout and stderr to our pipes.
///
/// # Safety
/// Only in the CLONE_VM child, with descriptors the parent keeps open.
unsafe fn redirect_stdio(c: &ChildContext<'_>) -> Result<(), i32> {
    for (from, to) in [(c.stdin, 0), (c.stdout, 1), (c.stderr, 2)] {
        // SAFETY: dup2 of descriptors the parent holds open; all are 3 or
        // above, so no dup2 clobbers a later source.
        if libc::dup2(from, to) == -1 {
            return Err(errno());
        }
    }
    Ok(())
}

/// The descriptor to pass, as its number (after stdio: that number may have
/// been a source of stdio's), without close-on-exec.
///
/// # Safety
/// Only in the CLONE_VM child, with a descriptor the parent keeps open.
unsafe fn pass_fd(c: &ChildContext<'_>) -> Result<(), i32> {
    if c.pass_fd < 0 {
        return Ok(());
    }
    // SAFETY: dup2 and fcntl on descriptors of this process; the target is
    // above stderr, so no stdio is clobbered.
    if c.pass_fd == c.pass_fd_as {
        if libc::fcntl(c.pass_fd_as, libc::F_SETFD, 0) == -1 {
            return Err(errno());
        }
    } else if libc::dup2(c.pass_fd, c.pass_fd_as) == -1 {
        return Err(errno());
    }
    Ok(())
}

/// The child's pid, in decimal, into the environment entry that waits for it.
///
/// # Safety
/// Only in the CLONE_VM child, with the parent's live entry (12 bytes of room).
unsafe fn write_own_pid(c: &ChildContext<'_>) {
    if c.pid_digits.is_null() {
        return;
    }
    // SAFETY: getpid reads no memory; in the child it is the child's pid.
    let mut pid = libc::syscall(libc::SYS_getpid) as u32;
    let mut digits = [0u8; 10];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (pid % 10) as u8;
        n += 1;
        pid /= 10;
        if pid == 0 {
            break;
        }
    }
    for i in 0..n {
        // SAFETY: at most 10 digits and the NUL fit in the entry's 12 bytes.
        *c.pid_digits.add(i) = digits[n - 1 - i];
    }
    *c.pid_digits.add(n) = 0;
}

/// No descriptor of the host leaks in: every one from 3 up but `keep` (the
/// passed descriptor, or -1) is marked close-on-exec, so that `execve` closes
/// them all. Marking is a few bitmap words; the closing itself, one file at a
/// time, is then done by the kernel after exec has let the suspended parent
/// (the event loop) go on, as `posix_spawn`'s children do, instead of before:
/// with thousands of children the monitor holds thousands of descriptors, and
/// closing them here made every spawn wait for them (a start of 3000 children
/// grew as N^2). Where the kernel lacks the flag (before 5.11) they are closed
/// here.
///
/// # Safety
/// Only in the CLONE_VM child: the descriptor table is its own (no CLONE_FILES).
unsafe fn close_inherited(keep: RawFd) {
    let ranges = if keep >= 3 {
        [(3, keep as u32 - 1), (keep as u32 + 1, u32::MAX)]
    } else {
        [(3, u32::MAX), (1, 0)]
    };
    for (first, last) in ranges {
        if first > last {
            continue;
        }
        // SAFETY: marks, or closes, this process's descriptors in the range;
        // none is in use by Rust code here, and none is needed after exec.
        if libc::syscall(
            libc::SYS_close_range,
            first,
            last,
            libc::CLOSE_RANGE_CLOEXEC,
        ) == -1
            && libc::syscall(libc::SYS_close_range, first, last, 0u32) == -1
        {
            for fd in first..last.min(65535) + 1 {
                libc::close(fd as RawFd);
            }
        }
    }
}

/// The requested resource limits, with the raw `prlimit64` on ourselves.
///
/// # Safety
/// Only in the CLONE_VM child, with the parent's live array of limits.
unsafe fn set_rlimits(c: &ChildContext<'_>) -> Result<(), i32> {
    for i in 0..c.n_rlimits {
        // SAFETY: `rlimits` points to `n_rlimits` limits the parent keeps alive.
        let limit = &*c.rlimits.add(i);
        let value = [limit.soft, limit.hard]; // struct rlimit64
                                              // SAFETY: prlimit64 on pid 0 (ourselves) reads one rlimit64 from `value`
                                              // and, with a NULL old limit, writes nothing.
        let ret = libc::syscall(
            libc::SYS_prlimit64,
            0,
            limit.resource,
            value.as_ptr(),
            ptr::null_mut::<u64>(),
        );
        if ret == -1 {
            return Err(errno());
        }
    }
    Ok(())
}

/// The requested gid and uid, with raw system calls (glibc's `setuid` would
/// signal every thread of the *parent*).
///
/// # Safety
/// Only in the CLONE_VM child.
unsafe fn drop_privileges(c: &ChildContext<'_>) -> Result<(), i32> {
    if c.uid >= 0 {
        // SAFETY: setgroups with an empty list reads no memory. Drops the
        // supplementary groups; without privilege this fails, and setuid decides.
        libc::syscall(libc::SYS_setgroups, 0usize, ptr::null::<libc::gid_t>());
    }
    // SAFETY: setgid and setuid read no memory.
    if c.gid >= 0 && libc::syscall(libc::SYS_setgid, c.gid as libc::gid_t) == -1 {
        return Err(errno());
    }
    if c.uid >= 0 && libc::syscall(libc::SYS_setuid, c.uid as libc::uid_t) == -1 {
        return Err(errno());
    }
    Ok(())
}

/// Die with the monitor's thread (set after setuid, which clears it), unless
/// the monitor is already gone.
///
/// # Safety
/// Only in the CLONE_VM child.
unsafe fn die_with_parent(c: &ChildContext<'_>) -> Result<(), i32> {
    // SAFETY: prctl and getppid read no memory.
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    if libc::getppid() != c.parent {
        return Err(libc::ESRCH);
    }
    Ok(())
}

/// Execs the first candidate that the kernel accepts; returns the errno to report.
///
/// # Safety
/// Only in the CLONE_VM child, with the parent's NULL-terminated arrays.
unsafe fn exec(c: &ChildContext<'_>) -> i32 {
    let mut error = libc::ENOENT;
    let mut saw_eacces = false;
    let mut candidate = c.candidates;
    // SAFETY: `candidates` is NULL-terminated and each entry, `argv` and `envp`
    // are the parent's live C strings and arrays.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::{reap, Reaped};

    /// This thread's signal mask, read with the raw system call.
    fn current_mask() -> u64 {
        let mut mask = 0u64;
        // SAFETY: with a NULL set rt_sigprocmask changes nothing and writes the
        // current mask into `mask`, a live u64.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_BLOCK,
                ptr::null::<u64>(),
                &mut mask as *mut u64,
                8,
            )
        };
        assert_eq!(ret, 0);
        mask
    }

    #[test]
    fn the_mask_guard_blocks_everything_and_puts_the_mask_back() {
        let before = current_mask();
        let blocked = SignalsBlocked::block_all().unwrap();
        // SIGKILL and SIGSTOP cannot be blocked.
        let unblockable = 1 << (libc::SIGKILL - 1) | 1 << (libc::SIGSTOP - 1);
        assert_eq!(current_mask(), !unblockable);
        blocked.restore().unwrap();
        assert_eq!(current_mask(), before);
        drop(SignalsBlocked::block_all().unwrap());
        assert_eq!(current_mask(), before);
    }

    #[test]
    fn a_spawn_reports_the_childs_errno_and_leaves_the_mask_alone() {
        let before = current_mask();
        let mut spawner = Spawner::new().unwrap();
        let missing = [c"/nonexistent/procmon-test".to_owned()];
        let request = SpawnRequest {
            candidates: &missing,
            argv: &missing,
            ..Default::default()
        };
        assert_eq!(spawner.spawn(&request).err(), Some(libc::ENOENT));
        assert_eq!(current_mask(), before);

        let program = [c"/bin/sh".to_owned()];
        let argv = [c"sh".to_owned(), c"-c".to_owned(), c"exit 3".to_owned()];
        let request = SpawnRequest {
            candidates: &program,
            argv: &argv,
            cwd: Some(c"/"),
            ..Default::default()
        };
        let spawned = spawner.spawn(&request).unwrap();
        assert!(spawned.pid > 0);
        assert_eq!(current_mask(), before);
        loop {
            match reap(spawned.pidfd.as_fd()) {
                Reaped::Running => std::thread::yield_now(),
                Reaped::Exited(code, _) => break assert_eq!(code, 3),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_child_of_a_short_slice_thread_gets_the_default_slice_back() {
        use super::sched::slice_of;
        std::thread::spawn(|| {
            let default = slice_of("thread-self");
            let mut spawner = Spawner::new().unwrap();
            if !spawner.shorten_own_slice() || default.is_none() {
                eprintln!("skipped: this kernel has no slice to set or show");
                return;
            }
            assert_ne!(
                slice_of("thread-self"),
                default,
                "the thread's slice changed"
            );
            let program = [c"/bin/sleep".to_owned()];
            let argv = [c"sleep".to_owned(), c"10".to_owned()];
            let request = SpawnRequest {
                candidates: &program,
                argv: &argv,
                ..Default::default()
            };
            let spawned = spawner.spawn(&request).unwrap();
            let child = slice_of(&spawned.pid.to_string());
            crate::sys::send_signal(spawned.pidfd.as_fd(), libc::SIGKILL).unwrap();
            while reap(spawned.pidfd.as_fd()) == Reaped::Running {
                std::thread::yield_now();
            }
            assert_eq!(child, default, "the child's slice is the default one");
        })
        .join()
        .unwrap();
    }

    /// A fresh cgroup v2 directory under this process's cgroup, or None
    /// (said on stderr) where there is none this test can make: not root, no
    /// cgroup v2.
    fn test_cgroup(tag: &str) -> Option<std::path::PathBuf> {
        let skip = |why: &str| {
            eprintln!("skipping the cgroup spawn test ({tag}): {why}");
            None
        };
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return skip("not root");
        }
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let Some(own) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
            return skip("no cgroup v2 (no 0:: line in /proc/self/cgroup)");
        };
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let Some(mount) = mountinfo.lines().find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (right.split(' ').next()? == "cgroup2").then(|| left.split(' ').nth(4))?
        }) else {
            return skip("no cgroup2 mount");
        };
        let name = format!("procmon-spawn-test-{}-{tag}", std::process::id());
        let dir = std::path::Path::new(mount)
            .join(own.trim_start_matches('/'))
            .join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => Some(dir),
            Err(e) => skip(&format!("cannot make {dir:?}: {e}")),
        }
    }

    fn wait_exit(spawned: &Spawned) -> i32 {
        loop {
            match reap(spawned.pidfd.as_fd()) {
                Reaped::Running => std::thread::yield_now(),
                Reaped::Exited(code, _) => break code,
                other => panic!("{other:?}"),
            }
        }
    }

    /// The child starts in the cgroup it is given, with clone3 and without,
    /// and an exec that fails still reports its errno.
    fn spawns_into_a_cgroup(mut spawner: Spawner, tag: &str) {
        let Some(path) = test_cgroup(tag) else {
            return;
        };
        let dir = std::fs::File::open(&path).unwrap();
        let before = current_mask();
        let program = [c"/bin/sh".to_owned()];
        let argv = [
            c"sh".to_owned(),
            c"-c".to_owned(),
            c"cat /proc/self/cgroup".to_owned(),
        ];
        let request = SpawnRequest {
            candidates: &program,
            argv: &argv,
            cgroup: Some(dir.as_fd()),
            ..Default::default()
        };
        let spawned = spawner.spawn(&request).unwrap();
        assert_eq!(current_mask(), before);
        assert_eq!(wait_exit(&spawned), 0);
        // Exited: what it wrote is in the pipe (non-blocking), then EOF.
        let mut out = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(spawned.stdout), &mut out).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let line = out.lines().find(|l| l.starts_with("0::")).unwrap();
        assert!(line.ends_with(&format!("/{name}")), "{out:?}");

        let missing = [c"/nonexistent/procmon-test".to_owned()];
        let request = SpawnRequest {
            candidates: &missing,
            argv: &missing,
            cgroup: Some(dir.as_fd()),
            ..Default::default()
        };
        assert_eq!(spawner.spawn(&request).err(), Some(libc::ENOENT));
        assert_eq!(current_mask(), before);
        // Reaped: nothing is left in the cgroup, so it can go.
        std::fs::remove_dir(&path).unwrap();
    }

    #[test]
    fn a_child_starts_in_its_cgroup_with_clone3() {
        let spawner = Spawner::new().unwrap();
        assert_eq!(spawner.clone3, CLONE3);
        spawns_into_a_cgroup(spawner, "clone3");
    }

    #[test]
    fn a_child_joins_its_cgroup_without_clone3() {
        spawns_into_a_cgroup(Spawner::new().unwrap().without_clone3(), "procs");
    }

    #[test]
    fn a_bad_cgroup_descriptor_is_the_spawns_error() {
        let mut spawner = Spawner::new().unwrap();
        // /dev/null: not a cgroup directory; clone3 says EBADF, the write EBADF
        // or ENOTDIR at the open.
        let devnull = spawner.devnull.try_clone().unwrap();
        let program = [c"/bin/true".to_owned()];
        let request = SpawnRequest {
            candidates: &program,
            argv: &program,
            cgroup: Some(devnull.as_fd()),
            ..Default::default()
        };
        let error = spawner.spawn(&request).err();
        assert!(
            matches!(error, Some(libc::EBADF | libc::ENOTDIR)),
            "{error:?}"
        );
        assert_eq!(spawner.clone3, CLONE3, "not taken for a missing clone3");
    }
}
