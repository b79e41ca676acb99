//! The children's pidfds and the messages to the callback thread: the [`Host`]
//! the supervisor drives. Spawns through [`sys::Spawner`], watches each child's
//! pidfd in the loop's epoll set, and hands its pipes to the callback thread,
//! which reads them ([`super::pipes`]).

use super::outbox::{Message, Outbox};
use super::pipes::{self, RunPipes};
use super::program;
use super::shared::Shared;
use super::token::Token;
use crate::core::{Event, ExitStatus, Host, Name, ProcessSpec, RunId, Signal, Time};
use crate::sys::{self, Epoll, Interest, Reaped, Spawner};
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

/// How long a child whose pidfd fired but which cannot be reaped yet waits
/// before the next try (see [`Children::not_waitable`]).
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

pub(crate) struct Children {
    epoll: Epoll,
    spawner: Spawner,
    runs: HashMap<RunId, Child>,
    /// Children whose pidfd fired, to reap, with when it was seen (their uptime
    /// ends there, not when the loop gets to them).
    exited: VecDeque<(RunId, Time)>,
    /// Exited children that waitid does not report yet, with when to try again:
    /// a zombie that another process traces (a debugger, LeakSanitizer's
    /// helper) is waitable by its parent only once the tracer lets go, and its
    /// pidfd does not fire a second time. Rare, so polled.
    not_waitable: Vec<(RunId, Time, Time)>,
    outbox: Outbox,
    /// For the callback thread's epoll set, where a new run's pipes go.
    shared: Arc<Shared>,
    /// The pipes of the child just spawned, handed over with its STARTED event
    /// (which the supervisor reports right after the spawn).
    just_spawned: Option<RunPipes>,
}

impl Children {
    pub fn new(epoll: Epoll, spawner: Spawner, outbox: Outbox, shared: Arc<Shared>) -> Self {
        Children {
            epoll,
            spawner,
            runs: HashMap::new(),
            exited: VecDeque::new(),
            not_waitable: Vec::new(),
            outbox,
            shared,
            just_spawned: None,
        }
    }

    pub fn epoll(&self) -> &Epoll {
        &self.epoll
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

    pub fn outbox_is_empty(&self) -> bool {
        self.outbox.is_empty()
    }

    /// Sends what the outbox holds; false if the channel is full.
    pub fn flush(&mut self) -> bool {
        self.outbox.flush()
    }

    pub fn push(&mut self, message: Message) {
        self.outbox.push(message);
    }

    /// The next child to reap, with its status and when its exit was seen; the
    /// callback thread is told to deliver what its pipes hold first. `now` dates
    /// a retry for a child that cannot be reaped yet.
    pub fn reap_next(&mut self, now: Time) -> Option<(RunId, ExitStatus, Time)> {
        while let Some((run, seen)) = self.exited.pop_front() {
            let child = self.runs.get(&run).expect("an exited child is watched");
            if child.stop_group && child.stopping {
                // Its group's id is still reserved by the unreaped child.
                child.send(libc::SIGKILL);
            }
            let status = match sys::reap(child.pidfd.as_fd()) {
                Reaped::Exited(code) => ExitStatus::Code(code),
                Reaped::Signaled(signal) => ExitStatus::Signal(signal),
                Reaped::Gone => ExitStatus::Unknown,
                Reaped::Running => {
                    // Keep it: giving up would leave a zombie nobody reaps.
                    self.not_waitable.push((run, seen, now + REAP_RETRY));
                    continue;
                }
            };
            self.runs.remove(&run);
            self.outbox.push(Message::Drain(run));
            return Some((run, status, seen));
        }
        None
    }

    fn register(
        &mut self,
        run: RunId,
        name: &Name,
        spawned: sys::Spawned,
        stop_group: bool,
    ) -> Result<(), i32> {
        // Edge-triggered: an exited child's pidfd stays readable until it is
        // reaped; one report is enough. The pipes go to the callback thread's set.
        let output = self.shared.output_epoll();
        let watched = self
            .epoll
            .add(
                spawned.pidfd.as_fd(),
                Interest::ReadableEdge,
                Token::pidfd(run).raw(),
            )
            .and_then(|()| pipes::watch(output, run, &spawned.stdout, &spawned.stderr));
        // Recorded even on failure, so the caller can kill and reap it.
        self.runs.insert(
            run,
            Child {
                pid: spawned.pid,
                pidfd: spawned.pidfd,
                stop_group,
                stopping: false,
                exit_seen: false,
            },
        );
        if watched.is_ok() {
            self.just_spawned = Some(RunPipes {
                run,
                name: name.clone(),
                stdout: spawned.stdout,
                stderr: spawned.stderr,
            });
        }
        watched
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
        self.just_spawned = None;
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.kill_all();
    }
}

impl Host for Children {
    fn spawn(&mut self, run: RunId, name: &Name, spec: &ProcessSpec) -> Result<i32, i32> {
        let candidates = program::candidates(spec.program());
        let spawned = self.spawner.spawn(
            &candidates,
            spec.argv(),
            spec.env(),
            spec.cwd(),
            spec.uid(),
            spec.gid(),
        )?;
        let pid = spawned.pid;
        if let Err(errno) = self.register(run, name, spawned, spec.stops_process_group()) {
            // Could not watch it: do not leave it behind.
            if let Some(mut child) = self.runs.remove(&run) {
                child.stop_group = false;
                child.send(libc::SIGKILL);
                sys::reap_blocking(child.pidfd.as_fd());
            }
            return Err(errno);
        }
        Ok(pid)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        let Some(child) = self.runs.get_mut(&run) else {
            return false;
        };
        child.stopping = true;
        // Exited but not reaped yet: a zombie would take the signal without
        // effect (what is left of its group is killed when it is reaped).
        if child.exit_seen || sys::has_exited(child.pidfd.as_fd()) {
            return false;
        }
        let signo = match signal {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        child.send(signo)
    }

    fn event(&mut self, event: Event) {
        let message = match (event, self.just_spawned.take()) {
            (event @ Event::Started { .. }, Some(pipes)) => Message::Started { pipes, event },
            (event, spawned) => {
                debug_assert!(spawned.is_none(), "a spawn not followed by STARTED");
                Message::Event(event)
            }
        };
        self.outbox.push(message);
    }
}
