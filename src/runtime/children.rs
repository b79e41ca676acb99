//! The children's descriptors and the output path: the [`Host`] the supervisor
//! drives. Spawns through [`sys::Spawner`], watches each child's pidfd and pipes
//! in one epoll set, reads pipes into the outbox towards the callback thread.

use super::callbacks::Stream;
use super::delivery::{Message, READ_SIZE};
use super::monitor::Shared;
use super::program;
use crate::core::{Event, ExitStatus, Host, Name, ProcessSpec, RunId, Signal, Time};
use crate::sys::{self, Epoll, Interest, ReadOutcome, Reaped, Spawner};
use crossbeam_channel::{Sender, TrySendError};
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

/// The epoll token of the waker; children's tokens are `run << 2 | kind`.
pub(crate) const WAKER: u64 = 0;
const PIDFD: u64 = 1;
const STDOUT: u64 = 2;
const STDERR: u64 = 3;

/// Reads per pipe when a child has exited: what it wrote is at most a pipe's
/// capacity, so this only stops a grandchild that keeps writing.
const EXIT_DRAIN_READS: usize = 64;
/// A read at least this big is handed over in its buffer; a smaller one is
/// copied into a buffer of its size (so many quiet children hold little memory).
const HAND_OVER_SIZE: usize = 4096;
/// How long a child whose pidfd fired but which cannot be reaped yet waits
/// before the next try (see [`Children::not_waitable`]).
const REAP_RETRY: Time = Time::from_millis(10);

/// One run of a child: its pidfd until it is reaped, its pipes until they close
/// (a grandchild may hold them longer). One map entry per run, kept small: with
/// thousands of children this is most of the runtime's memory.
struct Child {
    name: Name,
    /// Its pid, which is also its process group's id.
    pid: i32,
    /// None once reaped.
    pidfd: Option<OwnedFd>,
    /// stdout and stderr (index `kind - STDOUT`); None once closed.
    pipes: [Option<OwnedFd>; 2],
    /// The pipe's token is in `ready`: it may have data.
    queued: [bool; 2],
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
        let Some(pidfd) = &self.pidfd else {
            return false;
        };
        if self.stop_group {
            sys::send_group_signal(self.pid, signo) == Ok(true)
        } else {
            sys::send_signal(pidfd.as_fd(), signo) == Ok(true)
        }
    }

    /// Reaped and both pipes closed: nothing left to watch.
    fn is_done(&self) -> bool {
        self.pidfd.is_none() && self.pipes.iter().all(Option::is_none)
    }
}

fn stream_of(kind: u64) -> Stream {
    if kind == STDOUT {
        Stream::Stdout
    } else {
        Stream::Stderr
    }
}

/// The run and pipe index of a pipe's token; None for a pidfd's.
fn pipe_of(token: u64) -> Option<(RunId, usize)> {
    match token & 3 {
        STDOUT | STDERR => Some((RunId(token >> 2), ((token & 3) - STDOUT) as usize)),
        _ => None,
    }
}

pub(crate) struct Children {
    epoll: Epoll,
    spawner: Spawner,
    runs: HashMap<RunId, Child>,
    /// Pipes that may be readable (edge-triggered: read until EAGAIN).
    ready: VecDeque<u64>,
    /// Children whose pidfd fired, to reap once their output is read, with when
    /// it was seen (their uptime ends there, not when the loop gets to them).
    exited: VecDeque<(RunId, Time)>,
    /// Exited children that waitid does not report yet, with when to try again:
    /// a zombie that another process traces (a debugger, LeakSanitizer's
    /// helper) is waitable by its parent only once the tracer lets go, and its
    /// pidfd does not fire a second time. Rare, so polled.
    not_waitable: Vec<(RunId, Time, Time)>,
    outbox: Outbox,
    /// The next read goes here (capacity READ_SIZE).
    buffer: Vec<u8>,
}

impl Children {
    pub fn new(
        epoll: Epoll,
        spawner: Spawner,
        messages: Sender<Message>,
        shared: Arc<Shared>,
    ) -> Self {
        Children {
            epoll,
            spawner,
            runs: HashMap::new(),
            ready: VecDeque::new(),
            exited: VecDeque::new(),
            not_waitable: Vec::new(),
            outbox: Outbox {
                queue: VecDeque::new(),
                messages,
                shared,
            },
            buffer: Vec::with_capacity(READ_SIZE),
        }
    }

    pub fn epoll(&self) -> &Epoll {
        &self.epoll
    }

    /// Notes what epoll reported for `token` at `now`.
    pub fn on_ready(&mut self, token: u64, now: Time) {
        let run = RunId(token >> 2);
        let Some(child) = self.runs.get_mut(&run) else {
            return;
        };
        match pipe_of(token) {
            None => {
                if child.pidfd.is_some() && !child.exit_seen {
                    child.exit_seen = true;
                    self.exited.push_back((run, now));
                }
            }
            Some((_, index)) => {
                if child.pipes[index].is_some() && !child.queued[index] {
                    child.queued[index] = true;
                    self.ready.push_back(token);
                }
            }
        }
    }

    /// Whether reads or reaps are waiting (for when the outbox has room).
    pub fn has_work(&self) -> bool {
        !self.ready.is_empty() || !self.exited.is_empty()
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
        self.outbox.queue.is_empty()
    }

    /// Sends what the outbox holds; false if the channel is full.
    pub fn flush(&mut self) -> bool {
        self.outbox.flush()
    }

    pub fn push(&mut self, message: Message) {
        self.outbox.queue.push_back(message);
    }

    /// The next child to reap, once its output is read; with its status and
    /// when its exit was seen. `now` dates a retry for a child that cannot be
    /// reaped yet.
    pub fn reap_next(&mut self, now: Time) -> Option<(RunId, ExitStatus, Time)> {
        while let Some((run, seen)) = self.exited.pop_front() {
            for stream in [STDOUT, STDERR] {
                let token = run.0 << 2 | stream;
                for _ in 0..EXIT_DRAIN_READS {
                    if !self.read_once(token) {
                        break;
                    }
                }
            }
            let child = self.runs.get_mut(&run).expect("an exited child is watched");
            if child.stop_group && child.stopping {
                // Its group's id is still reserved by the unreaped child.
                child.send(libc::SIGKILL);
            }
            let pidfd = child
                .pidfd
                .as_ref()
                .expect("an exited child is not reaped yet");
            let status = match sys::reap(pidfd.as_fd()) {
                Reaped::Exited(code) => ExitStatus::Code(code),
                Reaped::Signaled(signal) => ExitStatus::Signal(signal),
                Reaped::Gone => ExitStatus::Unknown,
                Reaped::Running => {
                    // Keep it: giving up would leave a zombie nobody reaps.
                    self.not_waitable.push((run, seen, now + REAP_RETRY));
                    continue;
                }
            };
            child.pidfd = None;
            if child.is_done() {
                self.runs.remove(&run);
            }
            return Some((run, status, seen));
        }
        None
    }

    /// One read from the next ready pipe; false if none was ready.
    pub fn read_next(&mut self) -> bool {
        while let Some(token) = self.ready.pop_front() {
            let Some((run, index)) = pipe_of(token) else {
                continue;
            };
            match self.runs.get(&run) {
                Some(child) if child.pipes[index].is_some() => {}
                _ => continue, // closed since it was queued (tokens are never reused)
            }
            if self.read_once(token) {
                self.ready.push_back(token);
            } else if let Some(child) = self.runs.get_mut(&run) {
                child.queued[index] = false;
            }
            return true;
        }
        false
    }

    /// Reads one chunk from a pipe into the outbox; true if it may hold more.
    fn read_once(&mut self, token: u64) -> bool {
        let Some((run, index)) = pipe_of(token) else {
            return false;
        };
        let Some(child) = self.runs.get(&run) else {
            return false;
        };
        let Some(fd) = &child.pipes[index] else {
            return false;
        };
        self.buffer.clear();
        match sys::read_append(fd.as_fd(), &mut self.buffer) {
            ReadOutcome::Data(n) => {
                let data = if n >= HAND_OVER_SIZE {
                    let fresh = self.outbox.shared.buffers.take();
                    std::mem::replace(&mut self.buffer, fresh)
                } else {
                    self.buffer.to_vec()
                };
                self.outbox.queue.push_back(Message::Output {
                    pipe: token,
                    name: child.name.clone(),
                    stream: stream_of(token & 3),
                    data,
                });
                true
            }
            ReadOutcome::WouldBlock => false,
            ReadOutcome::Closed => {
                self.close_pipe(token);
                false
            }
        }
    }

    /// Closes a pipe (its token may stay in `ready`: read_next skips it, with no
    /// linear scan here) and tells the callback thread its last line is due.
    fn close_pipe(&mut self, token: u64) {
        let Some((run, index)) = pipe_of(token) else {
            return;
        };
        let Some(child) = self.runs.get_mut(&run) else {
            return;
        };
        if child.pipes[index].take().is_some() {
            self.outbox.queue.push_back(Message::Closed {
                pipe: token,
                name: child.name.clone(),
                stream: stream_of(token & 3),
            });
        }
        if child.is_done() {
            self.runs.remove(&run);
        }
    }

    /// At shutdown, once every child is reaped: reads what pipes still held open by
    /// grandchildren have now, and closes them (without waiting for those).
    pub fn close_all_pipes(&mut self) {
        let runs: Vec<RunId> = self.runs.keys().copied().collect();
        for run in runs {
            for stream in [STDOUT, STDERR] {
                let token = run.0 << 2 | stream;
                for _ in 0..EXIT_DRAIN_READS {
                    if !self.read_once(token) {
                        break;
                    }
                }
                self.close_pipe(token);
            }
        }
    }

    fn register(
        &mut self,
        run: RunId,
        name: &Name,
        spawned: sys::Spawned,
        stop_group: bool,
    ) -> Result<(), i32> {
        let base = run.0 << 2;
        // Edge-triggered: an exited child's pidfd stays readable until it is reaped,
        // which may wait for its output; one report is enough.
        let watched = [
            (spawned.pidfd.as_fd(), PIDFD),
            (spawned.stdout.as_fd(), STDOUT),
            (spawned.stderr.as_fd(), STDERR),
        ]
        .into_iter()
        .try_for_each(|(fd, kind)| self.epoll.add(fd, Interest::ReadableEdge, base | kind));
        // Recorded even on failure, so the caller can kill and reap it.
        self.runs.insert(
            run,
            Child {
                name: name.clone(),
                pid: spawned.pid,
                pidfd: Some(spawned.pidfd),
                pipes: [Some(spawned.stdout), Some(spawned.stderr)],
                queued: [false; 2],
                stop_group,
                stopping: false,
                exit_seen: false,
            },
        );
        watched
    }

    /// Kills and reaps every child still alive (a failure path: normally the
    /// supervisor has stopped them all). Leaves no zombie.
    pub fn kill_all(&mut self) {
        for child in self.runs.values_mut() {
            child.send(libc::SIGKILL);
            if let Some(pidfd) = child.pidfd.take() {
                sys::reap_blocking(pidfd.as_fd());
            }
        }
        self.runs.clear();
        self.exited.clear();
        self.not_waitable.clear();
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
                if let Some(pidfd) = child.pidfd.take() {
                    sys::reap_blocking(pidfd.as_fd());
                }
            }
            return Err(errno);
        }
        Ok(pid)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        let Some(child) = self.runs.get_mut(&run) else {
            return false;
        };
        let Some(pidfd) = &child.pidfd else {
            return false;
        };
        child.stopping = true;
        // Exited but not reaped yet (its output is still being read): a zombie
        // would take the signal without effect (what is left of its group is
        // killed when it is reaped).
        if child.exit_seen || sys::has_exited(pidfd.as_fd()) {
            return false;
        }
        let signo = match signal {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        child.send(signo)
    }

    fn event(&mut self, event: Event) {
        self.outbox.queue.push_back(Message::Event(event));
    }
}

/// Messages waiting for room in the channel to the callback thread, in order.
struct Outbox {
    queue: VecDeque<Message>,
    messages: Sender<Message>,
    shared: Arc<Shared>,
}

impl Outbox {
    fn flush(&mut self) -> bool {
        while let Some(message) = self.queue.pop_front() {
            match self.messages.try_send(message) {
                Ok(()) => {}
                Err(TrySendError::Full(message)) => {
                    self.queue.push_front(message);
                    // Ask the callback thread for a wake-up, then look once more in
                    // case it made room before it could see the request.
                    self.shared.want_space();
                    if self.messages.is_full() {
                        return false;
                    }
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.queue.clear();
                }
            }
        }
        true
    }
}
