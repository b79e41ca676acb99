//! Signalling and reaping a child through its pidfd, so that a recycled pid can
//! never be hit.

use super::check;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

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

/// Sends `signal` to the process `pid` (one listed in a cgroup of ours):
/// `Ok(false)` if it is gone.
pub fn send_pid_signal(pid: i32, signal: i32) -> Result<bool, i32> {
    if pid <= 1 {
        return Err(libc::EINVAL); // never kill(0), kill(-1) or init
    }
    // SAFETY: kill reads no memory.
    match check(unsafe { libc::kill(pid, signal) }) {
        Ok(_) => Ok(true),
        Err(libc::ESRCH) => Ok(false),
        Err(e) => Err(e),
    }
}

/// How a reaped child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaped {
    Exited(i32, Usage),
    Signaled {
        signal: i32,
        core_dumped: bool,
        usage: Usage,
    },
    /// Not exited yet.
    Running,
    /// Someone else reaped it (ECHILD).
    Gone,
}

/// What a reaped child used (its `rusage`, its waited-for children included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub user_cpu: Duration,
    pub sys_cpu: Duration,
    /// Peak resident set, in KiB.
    pub max_rss_kib: i64,
}

fn duration(tv: libc::timeval) -> Duration {
    Duration::new(
        tv.tv_sec.max(0) as u64,
        (tv.tv_usec.clamp(0, 999_999) * 1000) as u32,
    )
}

/// `waitid(P_PIDFD, pidfd, flags)`, retried on EINTR: the child's state and
/// resource use, or the errno. The raw system call, whose fifth argument (which
/// glibc's wrapper lacks) is the reaped child's rusage.
fn wait_pidfd(pidfd: BorrowedFd<'_>, flags: libc::c_int) -> Result<Reaped, i32> {
    loop {
        // SAFETY: a zeroed siginfo_t and rusage are valid values of these plain C structs.
        let (mut info, mut usage): (libc::siginfo_t, libc::rusage) =
            unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        // SAFETY: waitid writes at most one siginfo_t into `info` and one rusage
        // into `usage`, both ours.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_waitid,
                libc::P_PIDFD,
                pidfd.as_raw_fd(),
                &mut info as *mut libc::siginfo_t,
                flags,
                &mut usage as *mut libc::rusage,
            )
        } as libc::c_int;
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
        let usage = Usage {
            user_cpu: duration(usage.ru_utime),
            sys_cpu: duration(usage.ru_stime),
            max_rss_kib: usage.ru_maxrss,
        };
        return Ok(match info.si_code {
            libc::CLD_EXITED => Reaped::Exited(status, usage),
            code => Reaped::Signaled {
                signal: status,
                core_dumped: code == libc::CLD_DUMPED,
                usage,
            },
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
