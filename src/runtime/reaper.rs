//! The reaper: every child's pidfd, watched in the event loop's epoll set, from
//! its spawn until it is reaped; signals a child through it, and reaps the ones
//! whose pidfd fired.

use super::callbacks::Usage;
use super::token::Token;
use crate::core::{ExitStatus, RunId, Signal, Time};
use crate::sys::{self, Epoll, Interest, Reaped};
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, OwnedFd};

/// How long a child whose pidfd fired but which cannot be reaped yet waits
/// before the next try (see [`Reaper::not_waitable`]).
const REAP_RETRY: Time = Time::from_millis(10);

/// One run of a child, until it is reaped. One map entry per run, kept small:
/// with thousands of children this is much of the runtime's memory.
struct Child {
    /// Its pid, which is also its process group's id.
    pid: i32,
    pidfd: OwnedFd,
    /// Stopping it signals its whole process group.
    stop_group: bool,
    /// It has been signalled to stop: once it exits, what is left of its group
    /// (if `stop_group`) is killed.
    stopping: bool,
    /// Its pidfd has fired: it is in `exited`, waiting to be reaped.
    exit_seen: bool,
}

impl Child {
    /// Sends `signo` to the child, or to its process group; false if it is gone
    /// (or already reaped: then its pid may no longer be its own).
    fn send(&self, signo: i32) -> bool {
        if self.stop_group {
            sys::send_group_signal(self.pid, signo) == Ok(true)
        } else {
            sys::send_signal(self.pidfd.as_fd(), signo) == Ok(true)
        }
    }
}

pub(crate) struct Reaper {
    /// The event loop's epoll set: its waker and every child's pidfd.
    epoll: Epoll,
    runs: HashMap<RunId, Child>,
    /// Children whose pidfd fired, to reap, with when it was seen (their uptime
    /// ends there, not when the loop gets to them).
    exited: VecDeque<(RunId, Time)>,
    /// Exited children that waitid does not report yet, with when to try again:
    /// a zombie that another process traces (a debugger, LeakSanitizer's
    /// helper) is waitable by its parent only once the tracer lets go, and its
    /// pidfd does not fire a second time. Rare, so polled.
    not_waitable: Vec<(RunId, Time, Time)>,
}

impl Reaper {
    pub fn new(epoll: Epoll) -> Reaper {
        Reaper {
            epoll,
            runs: HashMap::new(),
            exited: VecDeque::new(),
            not_waitable: Vec::new(),
        }
    }

    pub fn epoll(&self) -> &Epoll {
        &self.epoll
    }

    /// Watches run `run`'s new child. Edge-triggered: an exited child's pidfd
    /// stays readable until it is reaped; one report is enough. The child is
    /// recorded even when the registration fails, so that
    /// [`discard`](Self::discard) can kill and reap it.
    pub fn watch(
        &mut self,
        run: RunId,
        pid: i32,
        pidfd: OwnedFd,
        stop_group: bool,
    ) -> Result<(), i32> {
        let watched = self.epoll.add(
            pidfd.as_fd(),
            Interest::ReadableEdge,
            Token::pidfd(run).raw(),
        );
        self.runs.insert(
            run,
            Child {
                pid,
                pidfd,
                stop_group,
                stopping: false,
                exit_seen: false,
            },
        );
        watched
    }

    /// Kills and reaps run `run`'s child, which could not be watched: it must
    /// not be left behind. Only the child: its group is not its concern yet.
    pub fn discard(&mut self, run: RunId) {
        if let Some(mut child) = self.runs.remove(&run) {
            child.stop_group = false;
            child.send(libc::SIGKILL);
            sys::reap_blocking(child.pidfd.as_fd());
        }
    }

    /// Notes that epoll reported `run`'s pidfd readable at `now`.
    pub fn on_ready(&mut self, run: RunId, now: Time) {
        if let Some(child) = self.runs.get_mut(&run) {
            if !child.exit_seen {
                child.exit_seen = true;
                self.exited.push_back((run, now));
            }
        }
    }

    /// Whether reaps are waiting (for when the outbox has room).
    pub fn has_work(&self) -> bool {
        !self.exited.is_empty()
    }

    /// Whether children have exited and wait to be reaped.
    pub fn has_exits(&self) -> bool {
        !self.exited.is_empty() || !self.not_waitable.is_empty()
    }

    /// When the next try to reap a child waitid did not report is due.
    pub fn next_reap_retry(&self) -> Option<Time> {
        self.not_waitable.iter().map(|&(_, _, at)| at).min()
    }

    /// Queues again for reaping the children whose retry is due at `now`.
    pub fn retry_reaps(&mut self, now: Time) {
        let exited = &mut self.exited;
        self.not_waitable.retain(|&(run, seen, at)| {
            let due = at <= now;
            if due {
                exited.push_back((run, seen));
            }
            !due
        });
    }

    /// The next child to reap, with its status, when its exit was seen, and
    /// what it used (unknown when someone else reaped it). `now` dates a retry
    /// for a child that cannot be reaped yet.
    pub fn reap_next(&mut self, now: Time) -> Option<(RunId, ExitStatus, Time, Option<Usage>)> {
        while let Some((run, seen)) = self.exited.pop_front() {
            let child = self.runs.get(&run).expect("an exited child is watched");
            if child.stop_group && child.stopping {
                // Its group's id is still reserved by the unreaped child.
                child.send(libc::SIGKILL);
            }
            let usage = |u: sys::Usage| {
                Some(Usage {
                    user_cpu: u.user_cpu,
                    sys_cpu: u.sys_cpu,
                    max_rss_kib: u.max_rss_kib,
                })
            };
            let (status, usage) = match sys::reap(child.pidfd.as_fd()) {
                Reaped::Exited(code, u) => (ExitStatus::Code(code), usage(u)),
                Reaped::Signaled {
                    signal,
                    core_dumped,
                    usage: u,
                } => {
                    let status = if core_dumped {
                        ExitStatus::Dumped(signal)
                    } else {
                        ExitStatus::Signal(signal)
                    };
                    (status, usage(u))
                }
                Reaped::Gone => (ExitStatus::Unknown, None),
                Reaped::Running => {
                    // Keep it: giving up would leave a zombie nobody reaps.
                    self.not_waitable.push((run, seen, now + REAP_RETRY));
                    continue;
                }
            };
            self.runs.remove(&run);
            return Some((run, status, seen, usage));
        }
        None
    }

    /// Signals a run's child that has not been reaped: false when nothing was
    /// sent, because it had exited (or is gone).
    pub fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        let Some(child) = self.runs.get_mut(&run) else {
            return false;
        };
        child.stopping = true;
        // Exited but not reaped yet: a zombie would take the signal without
        // effect (what is left of its group is killed when it is reaped).
        if child.exit_seen || sys::has_exited(child.pidfd.as_fd()) {
            return false;
        }
        child.send(signal.number())
    }

    /// Sends `signo` to a run's child, or with `whole_group` to its process
    /// group, at the host's request (not a stop): false when nothing was sent
    /// because the child has exited.
    pub fn send(&self, run: RunId, signo: i32, whole_group: bool) -> bool {
        let Some(child) = self.runs.get(&run) else {
            return false;
        };
        if child.exit_seen || sys::has_exited(child.pidfd.as_fd()) {
            return false;
        }
        if whole_group {
            sys::send_group_signal(child.pid, signo) == Ok(true)
        } else {
            sys::send_signal(child.pidfd.as_fd(), signo) == Ok(true)
        }
    }

    /// Kills and reaps every child still alive (a failure path: normally the
    /// supervisor has stopped them all). Leaves no zombie.
    pub fn kill_all(&mut self) {
        for child in self.runs.values() {
            child.send(libc::SIGKILL);
            sys::reap_blocking(child.pidfd.as_fd());
        }
        self.runs.clear();
        self.exited.clear();
        self.not_waitable.clear();
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.kill_all();
    }
}
