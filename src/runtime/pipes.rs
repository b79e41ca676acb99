//! The children's stdout and stderr pipes, owned by the callback thread: it
//! reads a pipe only when it is ready to hand the lines to the callbacks, so a
//! child that writes faster than they take its lines waits on its pipe, and
//! memory stays bounded whatever the children write.
//!
//! The event loop registers each pipe in the [`Epoll`] of this set when it
//! spawns the child (so a registration failure is a spawn failure), and hands the
//! descriptors over with the run's STARTED event ([`Pipes::add`]).

use super::callbacks::{Registry, Stream};
use crate::core::{LineSplitter, Name, RunId};
use crate::sys::{self, ReadOutcome};
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, OwnedFd};

/// The epoll token of the callback thread's waker; a pipe's is `run << 2 | stream`.
pub(crate) const WAKER: u64 = 0;

/// The size of one read from a pipe (a pipe's default capacity).
const READ_SIZE: usize = 64 * 1024;
/// Reads per pipe when its child has exited: what the child wrote is at most a
/// pipe's capacity, so this only stops at a grandchild that keeps writing.
const EXIT_DRAIN_READS: usize = 64;

/// The epoll token of one of `run`'s pipes.
pub(crate) fn token(run: RunId, stream: Stream) -> u64 {
    run.0 << 2 | stream as u64
}

/// A new run's pipes, on their way from the event loop (which spawned the child)
/// to this set, with the run's STARTED event.
pub(crate) struct RunPipes {
    pub run: RunId,
    pub name: Name,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// One run's pipes (boxed in the map: most of a table's slots are slack).
struct Run {
    name: Name,
    /// stdout and stderr (index `stream - 1`); None once closed.
    pipes: [Option<Pipe>; 2],
}

struct Pipe {
    fd: OwnedFd,
    /// Its token is in `ready`.
    queued: bool,
    /// The start of a line whose end has not come yet; None in the common case,
    /// so that thousands of quiet children hold no splitter.
    pending: Option<Box<LineSplitter>>,
}

/// The run and the pipe index of a token.
fn parts(token: u64) -> (RunId, usize) {
    (RunId(token >> 2), (token & 3) as usize - 1)
}

fn stream_of(index: usize) -> Stream {
    if index == 0 {
        Stream::Stdout
    } else {
        Stream::Stderr
    }
}

pub(crate) struct Pipes {
    runs: HashMap<RunId, Box<Run>>,
    /// Pipes that may have data (edge-triggered: each is read until EAGAIN).
    ready: VecDeque<u64>,
    /// The one read buffer (capacity READ_SIZE).
    buffer: Vec<u8>,
}

impl Pipes {
    pub fn new() -> Pipes {
        Pipes {
            runs: HashMap::new(),
            ready: VecDeque::new(),
            buffer: Vec::with_capacity(READ_SIZE),
        }
    }

    /// Takes over a new run's pipes. Both are read at once: what the child wrote
    /// before this point raised no event that this set could act on.
    pub fn add(&mut self, new: RunPipes) {
        let RunPipes {
            run,
            name,
            stdout,
            stderr,
        } = new;
        let pipe = |fd| {
            Some(Pipe {
                fd,
                queued: true,
                pending: None,
            })
        };
        self.runs.insert(
            run,
            Box::new(Run {
                name,
                pipes: [pipe(stdout), pipe(stderr)],
            }),
        );
        self.ready.push_back(token(run, Stream::Stdout));
        self.ready.push_back(token(run, Stream::Stderr));
    }

    fn pipe_mut(&mut self, token: u64) -> Option<&mut Pipe> {
        let (run, index) = parts(token);
        self.runs.get_mut(&run)?.pipes[index].as_mut()
    }

    /// Notes that epoll reported `token` readable (or closed).
    pub fn on_ready(&mut self, token: u64) {
        // Unknown: not handed over yet (`add` reads it then), or closed since.
        if let Some(pipe) = self.pipe_mut(token) {
            if !pipe.queued {
                pipe.queued = true;
                self.ready.push_back(token);
            }
        }
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// One read from the next ready pipe, its lines to the callbacks; false if
    /// no pipe was ready.
    pub fn read_next(&mut self, registry: &Registry) -> bool {
        while let Some(token) = self.ready.pop_front() {
            if self.pipe_mut(token).is_none() {
                continue; // closed since it was queued (tokens are never reused)
            }
            if self.read_once(token, registry) {
                self.ready.push_back(token);
            } else if let Some(pipe) = self.pipe_mut(token) {
                pipe.queued = false;
            }
            return true;
        }
        false
    }

    /// Delivers what `run`'s pipes hold now: its child has exited, so this is
    /// all it wrote (but what a grandchild writes later).
    pub fn drain(&mut self, run: RunId, registry: &Registry) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let token = token(run, stream);
            for _ in 0..EXIT_DRAIN_READS {
                if !self.read_once(token, registry) {
                    break;
                }
            }
        }
    }

    /// At shutdown, once every child is reaped: delivers what the pipes hold
    /// (a grandchild may still hold one open: it is not waited for) and closes them.
    pub fn finish_all(&mut self, registry: &Registry) {
        let runs: Vec<RunId> = self.runs.keys().copied().collect();
        for run in runs {
            for stream in [Stream::Stdout, Stream::Stderr] {
                let token = token(run, stream);
                for _ in 0..EXIT_DRAIN_READS {
                    if !self.read_once(token, registry) {
                        break;
                    }
                }
                self.close(token, registry);
            }
        }
    }

    /// Reads one chunk from a pipe and delivers its lines; true if the pipe may
    /// hold more.
    fn read_once(&mut self, token: u64, registry: &Registry) -> bool {
        let (run, index) = parts(token);
        let Some(entry) = self.runs.get_mut(&run) else {
            return false;
        };
        let Some(pipe) = entry.pipes[index].as_mut() else {
            return false;
        };
        self.buffer.clear();
        match sys::read_append(pipe.fd.as_fd(), &mut self.buffer) {
            ReadOutcome::Data(_) => {
                let splitter = pipe.pending.get_or_insert_with(Default::default);
                let data = &mut self.buffer;
                registry.deliver_lines(&entry.name, stream_of(index), |sink| {
                    splitter.feed(data, sink)
                });
                // A flood keeps its splitter (most reads end mid-line); a quiet
                // pipe whose lines are whole holds none.
                if splitter.pending() == 0 {
                    pipe.pending = None;
                }
                true
            }
            ReadOutcome::WouldBlock => false,
            ReadOutcome::Closed => {
                self.close(token, registry);
                false
            }
        }
    }

    /// Delivers a pipe's last line, if unterminated, and closes it (which also
    /// takes it out of the epoll set). Its token may stay in `ready`.
    fn close(&mut self, token: u64, registry: &Registry) {
        let (run, index) = parts(token);
        let Some(entry) = self.runs.get_mut(&run) else {
            return;
        };
        if let Some(pipe) = entry.pipes[index].take() {
            if let Some(mut splitter) = pipe.pending {
                registry.deliver_lines(&entry.name, stream_of(index), |sink| splitter.finish(sink));
            }
        }
        if entry.pipes.iter().all(Option::is_none) {
            self.runs.remove(&run);
        }
    }
}
