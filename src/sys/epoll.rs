//! epoll: one wait for every pipe, every child's pidfd, the waker and the next timer.

use super::check;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// What to wait for on a descriptor.
#[derive(Clone, Copy, Debug)]
pub enum Interest {
    /// Level-triggered readability (the waker).
    Readable,
    /// Edge-triggered readability, reported once per change: pipes (the caller
    /// reads until `EAGAIN`) and pidfds (reported once, when the child exits).
    ReadableEdge,
    /// Edge-triggered priority events: a cgroup's `cgroup.events`, which the
    /// kernel marks when it changes.
    PriorityEdge,
}

pub struct Epoll {
    fd: OwnedFd,
}

/// One ready descriptor, as the token it was registered with.
#[derive(Clone, Copy)]
pub struct EpollEvent(libc::epoll_event);

impl EpollEvent {
    pub const EMPTY: EpollEvent = EpollEvent(libc::epoll_event { events: 0, u64: 0 });

    pub fn token(&self) -> u64 {
        self.0.u64
    }
}

impl Epoll {
    pub fn new() -> Result<Epoll, i32> {
        // SAFETY: epoll_create1 takes no pointers; on success it returns a new
        // descriptor that nothing else owns.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` is a fresh descriptor owned by nobody else.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub fn add(&self, fd: BorrowedFd<'_>, interest: Interest, token: u64) -> Result<(), i32> {
        let events = match interest {
            Interest::Readable => libc::EPOLLIN,
            Interest::ReadableEdge => libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET,
            Interest::PriorityEdge => libc::EPOLLPRI | libc::EPOLLET,
        };
        let mut event = libc::epoll_event {
            events: events as u32,
            u64: token,
        };
        // SAFETY: both descriptors are open for the duration of the call and
        // `event` is a valid epoll_event the kernel only reads.
        check(unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut event,
            )
        })?;
        Ok(())
    }

    /// Waits up to `timeout_ms` (-1: forever); returns how many entries of `events`
    /// were filled. An interrupted wait returns 0.
    pub fn wait(&self, events: &mut [EpollEvent], timeout_ms: i32) -> Result<usize, i32> {
        let capacity = events.len().min(i32::MAX as usize) as i32;
        // SAFETY: `EpollEvent` is a transparent wrapper of `epoll_event` (a
        // single-field tuple struct), and the kernel writes at most `capacity`
        // entries into the buffer we own mutably.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr().cast::<libc::epoll_event>(),
                capacity,
                timeout_ms,
            )
        };
        match check(n) {
            Ok(n) => Ok(n as usize),
            Err(libc::EINTR) => Ok(0),
            Err(e) => Err(e),
        }
    }
}
