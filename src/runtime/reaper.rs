//! The reaper: every child's pidfd, watched in the event loop's epoll set, from
//! its spawn until it is reaped; signals a child through it, and reaps the ones
//! whose pidfd fired.

use super::callbacks::Usage;
use super::token::Token;
use super::units::Unit;
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
    /// What a stop reaches, when more than the child (boxed: most have none).
    unit: Option<Box<Unit>>,
    /// Its pidfd has fired: it is in `exited`, waiting to be reaped.
    exit_seen: bool,
}

impl Child {
    /// Sends `signo` to the child's unit, or to the child alone when it has
    /// none; false if nothing was sent.
    fn send(&self, signo: i32) -> bool {
        match &self.unit {
            Some(unit) => unit.signal(signo),
            None => sys::send_signal(self.pidfd.as_fd(), signo) == Ok(true),
        }
    }
}

/// A child just reaped.
pub(crate) struct ReapedChild {
    pub run: RunId,
    pub status: ExitStatus,
    /// When its exit was seen.
    pub seen: Time,
    /// What it used; unknown when someone else took its status.
    pub usage: Option<Usage>,
    pub unit: Option<Unit>,
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
        unit: Option<Unit>,
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
                unit: unit.map(Box::new),
                exit_seen: false,
            },
        );
        watched
    }

    /// Kills and reaps run `run`'s child, which could not be watched: it must
    /// not be left behind, nor its unit (it has started nothing yet).
    pub fn discard(&mut self, run: RunId) -> Option<Unit> {
        let child = self.runs.remove(&run)?;
        let _ = sys::send_signal(child.pidfd.as_fd(), libc::SIGKILL);
        sys::reap_blocking(child.pidfd.as_fd());
        child.unit.map(|unit| *unit)
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

    /// The next child to reap: its run, how it ended, when its exit was seen,
    /// what it used and its unit. `now` dates a retry for a child that cannot
    /// be reaped yet.
    pub fn reap_next(&mut self, now: Time) -> Option<ReapedChild> {
        while let Some((run, seen)) = self.exited.pop_front() {
            let child = self.runs.get(&run).expect("an exited child is watched");
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
            let child = self.runs.remove(&run).expect("an exited child is watched");
            return Some(ReapedChild {
                run,
                status,
                seen,
                usage,
                unit: child.unit.map(|unit| *unit),
            });
        }
        None
    }

    /// Signals a run's child that has not been reaped: false when nothing was
    /// sent, because it had exited (or is gone).
    pub fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        let Some(child) = self.runs.get(&run) else {
            return false;
        };
        // Exited but not reaped yet: a zombie would take the signal without
        // effect (what is left of its unit is stopped when it is reaped).
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
            match &child.unit {
                Some(unit) => unit.signal(signo),
                // Every child leads its own process group.
                None => sys::send_group_signal(child.pid, signo) == Ok(true),
            }
        } else {
            sys::send_signal(child.pidfd.as_fd(), signo) == Ok(true)
        }
    }

    /// Kills and reaps every child still alive (a failure path: normally the
    /// supervisor has stopped them all). Leaves no zombie.
    pub fn kill_all(&mut self) {
        for child in self.runs.values() {
            child.send(libc::SIGKILL);
            let _ = sys::send_signal(child.pidfd.as_fd(), libc::SIGKILL);
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
