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

/// Whether the child behind `pidfd` has exited, without reaping it.
pub fn has_exited(pidfd: BorrowedFd<'_>) -> bool {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid value of this plain C struct.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes one siginfo_t into `info`, which we own; WNOWAIT
        // leaves the child waitable.
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        match check(ret) {
            Err(libc::EINTR) => continue,
            // ECHILD: already reaped, so exited too.
            Err(_) => return true,
            // SAFETY: after a successful waitid this union field is the SIGCHLD one.
            Ok(_) => return unsafe { info.si_pid() } != 0,
        }
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

/// Reaps the child behind `pidfd` if it has exited (never blocks).
pub fn reap(pidfd: BorrowedFd<'_>) -> Reaped {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid value of this plain C struct.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes one siginfo_t into `info`, which we own.
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        };
        match check(ret) {
            Err(libc::EINTR) => continue,
            Err(_) => return Reaped::Gone,
            Ok(_) => {}
        }
        // SAFETY: after a successful waitid these union fields are the SIGCHLD ones.
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return Reaped::Running;
        }
        return match info.si_code {
            libc::CLD_EXITED => Reaped::Exited(status),
            _ => Reaped::Signaled(status),
        };
    }
}

/// Waits for the child behind `pidfd` to exit and reaps it.
pub fn reap_blocking(pidfd: BorrowedFd<'_>) {
    loop {
        // SAFETY: a zeroed siginfo_t is valid; waitid writes one into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above; blocks until the child exits.
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED,
            )
        };
        if check(ret) != Err(libc::EINTR) {
            return;
        }
    }
}
