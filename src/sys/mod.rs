//! The thin system layer: every system call, raw pointer and CPU-specific
//! instruction of the library, each behind a safe function with a `// SAFETY:`
//! note. Linux only (epoll, eventfd, pidfd, close_range, clone); [`bytes`] is the
//! one part the pure core uses (a vector byte search, no system call).

pub mod bytes;
mod epoll;
mod eventfd;
mod fork;
mod fs;
mod pipe;
mod process;
mod sched;
mod socket;
mod spawn;

pub use epoll::{Epoll, EpollEvent, Interest};
pub use eventfd::EventFd;
pub use fork::current_pid;
pub use fs::{mkdir_at, open_at, rmdir_at, statfs_type};
pub use pipe::{read_append, Pipe, ReadOutcome};
pub use process::{
    has_exited, reap, reap_blocking, send_group_signal, send_pid_signal, send_signal, Reaped, Usage,
};
pub use sched::batch_policy;
pub use socket::{notify_socket, process_group, recv_with_pid, Datagram, NotifySocket};
pub use spawn::{ResourceLimit, SpawnRequest, Spawned, Spawner};

/// The calling thread's errno.
pub fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Turns a `-1`-on-error return value into `Err(errno)`.
fn check(ret: libc::c_int) -> Result<libc::c_int, i32> {
    if ret == -1 {
        Err(errno())
    } else {
        Ok(ret)
    }
}
