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

struct Child {
    pidfd: OwnedFd,
    /// Its pid, which is also its process group's id.
    pid: i32,
    /// Stopping it signals its whole process group.
    stop_group: bool,
    /// It has been signalled to stop: once it exits, what is left of its group
    /// (if `stop_group`) is killed.
    stopping: bool,
    /// Its pidfd has fired: it is in `exited`, waiting to be reaped.
    exit_seen: bool,
}

impl Child {
    /// Sends `signo` to the child, or to its process group; false if it is gone.
    /// Only called before the child is reaped, so its pid is still its own.
    fn send(&self, signo: i32) -> bool {
        if self.stop_group {
            sys::send_group_signal(self.pid, signo) == Ok(true)
        } else {
            sys::send_signal(self.pidfd.as_fd(), signo) == Ok(true)
        }
    }
}

struct Pipe {
    fd: OwnedFd,
    name: Name,
    stream: Stream,
    /// In `ready`: may have data.
    queued: bool,
}

pub(crate) struct Children {
    epoll: Epoll,
    spawner: Spawner,
    live: HashMap<RunId, Child>,
    pipes: HashMap<u64, Pipe>,
    /// Pipes that may be readable (edge-triggered: read until EAGAIN).
    ready: VecDeque<u64>,
    /// Children whose pidfd fired, to reap once their output is read, with when
    /// it was seen (their uptime ends there, not when the loop gets to them).
    exited: VecDeque<(RunId, Time)>,
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
            live: HashMap::new(),
            pipes: HashMap::new(),
            ready: VecDeque::new(),
            exited: VecDeque::new(),
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
        match token & 3 {
            PIDFD => {
                let run = RunId(token >> 2);
                if let Some(child) = self.live.get_mut(&run) {
                    if !child.exit_seen {
                        child.exit_seen = true;
                        self.exited.push_back((run, now));
                    }
                }
            }
            _ => {
                if let Some(pipe) = self.pipes.get_mut(&token) {
                    if !pipe.queued {
                        pipe.queued = true;
                        self.ready.push_back(token);
                    }
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
        !self.exited.is_empty()
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
    /// when its exit was seen.
    pub fn reap_next(&mut self) -> Option<(RunId, ExitStatus, Time)> {
        let (run, seen) = self.exited.pop_front()?;
        for stream in [STDOUT, STDERR] {
            let token = run.0 << 2 | stream;
            for _ in 0..EXIT_DRAIN_READS {
                if !self.read_once(token) {
                    break;
                }
            }
        }
        let child = self.live.remove(&run).expect("an exited child is live");
        if child.stop_group && child.stopping {
            // Its group's id is still reserved by the unreaped child.
            child.send(libc::SIGKILL);
        }
        let status = match sys::reap(child.pidfd.as_fd()) {
            Reaped::Exited(code) => ExitStatus::Code(code),
            Reaped::Signaled(signal) => ExitStatus::Signal(signal),
            Reaped::Running | Reaped::Gone => ExitStatus::Unknown,
        };
        Some((run, status, seen))
    }

    /// One read from the next ready pipe; false if none was ready.
    pub fn read_next(&mut self) -> bool {
        while let Some(token) = self.ready.pop_front() {
            if !self.pipes.contains_key(&token) {
                continue; // closed since it was queued (tokens are never reused)
            }
            if self.read_once(token) {
                self.ready.push_back(token);
            } else if let Some(pipe) = self.pipes.get_mut(&token) {
                pipe.queued = false;
            }
            return true;
        }
        false
    }

    /// Reads one chunk from a pipe into the outbox; true if it may hold more.
    fn read_once(&mut self, token: u64) -> bool {
        let Some(pipe) = self.pipes.get_mut(&token) else {
            return false;
        };
        self.buffer.clear();
        match sys::read_append(pipe.fd.as_fd(), &mut self.buffer) {
            ReadOutcome::Data(n) => {
                let data = if n >= HAND_OVER_SIZE {
                    let fresh = self.outbox.shared.buffers.take();
                    std::mem::replace(&mut self.buffer, fresh)
                } else {
                    self.buffer.to_vec()
                };
                self.outbox.queue.push_back(Message::Output {
                    pipe: token,
                    name: pipe.name.clone(),
                    stream: pipe.stream,
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

    fn close_pipe(&mut self, token: u64) {
        // Its token may stay in `ready`: read_next skips it (no linear scan here).
        if let Some(pipe) = self.pipes.remove(&token) {
            self.outbox.queue.push_back(Message::Closed {
                pipe: token,
                name: pipe.name,
                stream: pipe.stream,
            });
        }
    }

    /// At shutdown, once every child is reaped: reads what pipes still held open by
    /// grandchildren have now, and closes them (without waiting for those).
    pub fn close_all_pipes(&mut self) {
        let tokens: Vec<u64> = self.pipes.keys().copied().collect();
        for token in tokens {
            for _ in 0..EXIT_DRAIN_READS {
                if !self.read_once(token) {
                    break;
                }
            }
            self.close_pipe(token);
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
        self.epoll
            .add(spawned.pidfd.as_fd(), Interest::ReadableEdge, base | PIDFD)?;
        self.live.insert(
            run,
            Child {
                pidfd: spawned.pidfd,
                pid: spawned.pid,
                stop_group,
                stopping: false,
                exit_seen: false,
            },
        );
        for (fd, stream, kind) in [
            (spawned.stdout, Stream::Stdout, STDOUT),
            (spawned.stderr, Stream::Stderr, STDERR),
        ] {
            self.epoll
                .add(fd.as_fd(), Interest::ReadableEdge, base | kind)?;
            self.pipes.insert(
                base | kind,
                Pipe {
                    fd,
                    name: name.clone(),
                    stream,
                    queued: false,
                },
            );
        }
        Ok(())
    }

    /// Kills and reaps every child still alive (a failure path: normally the
    /// supervisor has stopped them all). Leaves no zombie.
    pub fn kill_all(&mut self) {
        for (_, child) in self.live.drain() {
            child.send(libc::SIGKILL);
            sys::reap_blocking(child.pidfd.as_fd());
        }
        self.exited.clear();
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
            if let Some(child) = self.live.remove(&run) {
                let _ = sys::send_signal(child.pidfd.as_fd(), libc::SIGKILL);
                sys::reap_blocking(child.pidfd.as_fd());
            }
            for kind in [STDOUT, STDERR] {
                self.pipes.remove(&(run.0 << 2 | kind));
            }
            return Err(errno);
        }
        Ok(pid)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        let Some(child) = self.live.get_mut(&run) else {
            return false;
        };
        child.stopping = true;
        // Exited but not reaped yet (its output is still being read): a zombie
        // would take the signal without effect (what is left of its group is
        // killed when it is reaped).
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
