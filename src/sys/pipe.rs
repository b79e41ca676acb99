//! Pipes to the children's stdout and stderr.

use super::{check, errno};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// A pipe whose read end (ours) is non-blocking and whose write end (the child's)
/// blocks, so that a child writing faster than we read waits instead of losing data.
/// Both ends are close-on-exec and numbered 3 or above, so that `dup2` onto 0–2
/// in the child can never clobber one with the other.
pub struct Pipe {
    pub read: OwnedFd,
    pub write: OwnedFd,
}

impl Pipe {
    pub fn new() -> Result<Pipe, i32> {
        let mut fds = [-1 as RawFd; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
        // SAFETY: both descriptors are fresh and owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let read = above_stdio(read)?;
        let write = above_stdio(write)?;
        // SAFETY: F_SETFL on a descriptor we own.
        check(unsafe { libc::fcntl(read.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) })?;
        Ok(Pipe { read, write })
    }
}

/// Moves a descriptor to 3 or above (when the host closed its stdio, a new
/// descriptor may be 0, 1 or 2).
pub fn above_stdio(fd: OwnedFd) -> Result<OwnedFd, i32> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own returns a fresh one.
    let new = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: `new` is fresh and owned by nobody else; `fd` is closed on drop.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// The result of one read from a non-blocking descriptor.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// This many bytes were read into the buffer.
    Data(usize),
    /// Nothing to read now.
    WouldBlock,
    /// The other end is closed (or the read failed for good).
    Closed,
}

/// Reads into the spare capacity of `buf` (appending; nothing is zeroed first).
pub fn read_append(fd: BorrowedFd<'_>, buf: &mut Vec<u8>) -> ReadOutcome {
    let spare = buf.spare_capacity_mut();
    loop {
        // SAFETY: the kernel writes at most `spare.len()` bytes into the spare
        // capacity, which `buf` owns.
        let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
        if n > 0 {
            let n = n as usize;
            // SAFETY: the kernel initialised the first `n` bytes of the spare
            // capacity, right after the current length.
            unsafe { buf.set_len(buf.len() + n) };
            return ReadOutcome::Data(n);
        }
        if n == 0 {
            return ReadOutcome::Closed;
        }
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return ReadOutcome::WouldBlock,
            _ => return ReadOutcome::Closed,
        }
    }
}
