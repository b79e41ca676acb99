//! Signalling and reaping a child through its pidfd, so that a recycled pid can
//! never be hit.

use super::check;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Sends `signal` to the process behind `pidfd`: `Ok(false)` if it is gone
/// (reaped), which is not an error.
pub fn send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> Result<bool, i32> {
    // SAFETY: pidfd_send_signal with a NULL siginfo and no flags reads no memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    match check(ret as libc::c_int) {
        Ok(_) => Ok(true),
        Err(libc::ESRCH) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sends `signal` to the process group `pgid` (a child of ours that leads it and
/// is not reaped yet, so the id cannot have been reused): `Ok(false)` if the group
/// is empty.
pub fn send_group_signal(pgid: i32, signal: i32) -> Result<bool, i32> {
    if pgid <= 1 {
        return Err(libc::EINVAL); // never kill(0) or kill(-1)
    }
    // SAFETY: kill reads no memory.
    match check(unsafe { libc::kill(-pgid, signal) }) {
        Ok(_) => Ok(true),
        Err(libc::ESRCH) => Ok(false),
        Err(e) => Err(e),
    }
}

/// How a reaped child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaped {
    Exited(i32),
    Signaled(i32),
    /// Not exited yet.
    Running,
    /// Someone else reaped it (ECHILD).
    Gone,
}

/// `waitid(P_PIDFD, pidfd, flags)`, retried on EINTR: the child's state, or the
/// errno.
fn wait_pidfd(pidfd: BorrowedFd<'_>, flags: libc::c_int) -> Result<Reaped, i32> {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid value of this plain C struct.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes at most one siginfo_t into `info`, which we own.
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                flags,
            )
        };
        match check(ret) {
            Err(libc::EINTR) => continue,
            Err(errno) => return Err(errno),
            Ok(_) => {}
        }
        // SAFETY: after a successful waitid these union fields are the SIGCHLD ones.
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return Ok(Reaped::Running);
        }
        return Ok(match info.si_code {
            libc::CLD_EXITED => Reaped::Exited(status),
            _ => Reaped::Signaled(status),
        });
    }
}

/// Whether the child behind `pidfd` has exited, without reaping it.
pub fn has_exited(pidfd: BorrowedFd<'_>) -> bool {
    // WNOWAIT leaves the child waitable; ECHILD means it was reaped, so exited too.
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    wait_pidfd(pidfd, flags) != Ok(Reaped::Running)
}

/// Reaps the child behind `pidfd` if it has exited (never blocks).
pub fn reap(pidfd: BorrowedFd<'_>) -> Reaped {
    wait_pidfd(pidfd, libc::WEXITED | libc::WNOHANG).unwrap_or(Reaped::Gone)
}

/// Waits for the child behind `pidfd` to exit and reaps it.
pub fn reap_blocking(pidfd: BorrowedFd<'_>) {
    let _ = wait_pidfd(pidfd, libc::WEXITED);
}
