//! The children's stdout and stderr pipes, owned by the callback thread: it
//! reads a pipe only when it is ready to hand the lines to the callbacks, so a
//! child that writes faster than they take its lines waits on its pipe, and
//! memory stays bounded whatever the children write.
//!
//! The event loop registers each pipe in the epoll set of this one when it
//! spawns the child ([`watch`]: so a registration failure is a spawn failure),
//! and hands the descriptors over with the run's STARTED event ([`Pipes::add`]).

use super::callbacks::{Registry, Stream};
use super::token::Token;
use crate::core::{Line, LineSplitter, Name, RunId};
use crate::sys::{self, Epoll, Interest, ReadOutcome};
use memchr::memmem::Finder;
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, OwnedFd};

/// The size of one read from a pipe (a pipe's default capacity).
const READ_SIZE: usize = 64 * 1024;
/// Reads per pipe when its child has exited: what the child wrote is at most a
/// pipe's capacity, so this only stops at a grandchild that keeps writing.
const EXIT_DRAIN_READS: usize = 64;

/// Adds `run`'s pipes to `epoll`, the callback thread's set (edge-triggered:
/// each is read until `EAGAIN`).
pub(crate) fn watch(
    epoll: &Epoll,
    run: RunId,
    stdout: &OwnedFd,
    stderr: &OwnedFd,
) -> Result<(), i32> {
    let stdout_token = Token::pipe(run, Stream::Stdout).raw();
    epoll.add(stdout.as_fd(), Interest::ReadableEdge, stdout_token)?;
    let stderr_token = Token::pipe(run, Stream::Stderr).raw();
    epoll.add(stderr.as_fd(), Interest::ReadableEdge, stderr_token)
}

/// A new run's pipes, on their way from the event loop (which spawned the child)
/// to this set, with the run's STARTED event.
pub(crate) struct RunPipes {
    pub run: RunId,
    pub name: Name,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// LINE readiness: the text a line must hold.
    pub ready_line: Option<Box<[u8]>>,
}

/// One run's pipes (boxed in the map: most of a table's slots are slack).
struct Run {
    name: Name,
    /// None once closed.
    stdout: Option<Pipe>,
    stderr: Option<Pipe>,
    /// LINE readiness, until a line matched; None for every other run, whose
    /// lines then go out without a look.
    ready_line: Option<Box<Finder<'static>>>,
}

impl Run {
    fn pipe(&mut self, stream: Stream) -> &mut Option<Pipe> {
        self.named_pipe(stream).1
    }

    /// The run's name beside one of its pipes (borrowed together).
    fn named_pipe(&mut self, stream: Stream) -> (&Name, &mut Option<Pipe>) {
        let pipe = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        (&self.name, pipe)
    }
}

struct Pipe {
    fd: OwnedFd,
    /// Its token is in `ready`.
    queued: bool,
    /// The start of a line whose end has not come yet; None in the common case,
    /// so that thousands of quiet children hold no splitter.
    pending: Option<Box<LineSplitter>>,
}

pub(crate) struct Pipes {
    runs: HashMap<RunId, Box<Run>>,
    /// Pipes that may have data (edge-triggered: each is read until EAGAIN).
    ready: VecDeque<(RunId, Stream)>,
    /// The one read buffer (capacity READ_SIZE).
    buffer: Vec<u8>,
    /// Runs whose readiness line came, for the event loop.
    matched: Vec<RunId>,
    /// Pipes epoll reported ready before their run was handed over ([`add`]
    /// queues them then): usually empty, at most a few runs' worth.
    ///
    /// [`add`]: Pipes::add
    early: Vec<(RunId, Stream)>,
}

impl Pipes {
    pub fn new() -> Pipes {
        Pipes {
            runs: HashMap::new(),
            ready: VecDeque::new(),
            buffer: Vec::with_capacity(READ_SIZE),
            matched: Vec::new(),
            early: Vec::new(),
        }
    }

    /// Takes over a new run's pipes. The event loop put them in the epoll set
    /// before it sent them (and an edge-triggered registration reports what is
    /// already readable), so every readiness is reported after that: a pipe is
    /// read now if it was reported before this point ([`on_ready`]), else when
    /// it is.
    ///
    /// [`on_ready`]: Pipes::on_ready
    pub fn add(&mut self, new: RunPipes) {
        let RunPipes {
            run,
            name,
            stdout,
            stderr,
            ready_line,
        } = new;
        // Runs are handed over in the order they were spawned (each one's
        // STARTED follows its spawn), so a run before this one that is not here
        // yet never will be (its spawn failed after the pipes were watched).
        let (mut stdout_ready, mut stderr_ready) = (false, false);
        if !self.early.is_empty() {
            self.early.retain(|&(early, stream)| {
                if early == run {
                    match stream {
                        Stream::Stdout => stdout_ready = true,
                        Stream::Stderr => stderr_ready = true,
                    }
                }
                early > run
            });
        }
        let pipe = |fd, queued| {
            Some(Pipe {
                fd,
                queued,
                pending: None,
            })
        };
        self.runs.insert(
            run,
            Box::new(Run {
                name,
                stdout: pipe(stdout, stdout_ready),
                stderr: pipe(stderr, stderr_ready),
                ready_line: ready_line.map(|text| Box::new(Finder::new(&text[..]).into_owned())),
            }),
        );
        if stdout_ready {
            self.ready.push_back((run, Stream::Stdout));
        }
        if stderr_ready {
            self.ready.push_back((run, Stream::Stderr));
        }
    }

    fn pipe_mut(&mut self, run: RunId, stream: Stream) -> Option<&mut Pipe> {
        self.runs.get_mut(&run)?.pipe(stream).as_mut()
    }

    /// Notes that epoll reported `run`'s `stream` pipe readable (or closed).
    pub fn on_ready(&mut self, run: RunId, stream: Stream) {
        match self.runs.get_mut(&run) {
            Some(entry) => {
                // None: closed since.
                if let Some(pipe) = entry.pipe(stream) {
                    if !pipe.queued {
                        pipe.queued = true;
                        self.ready.push_back((run, stream));
                    }
                }
            }
            // Not handed over yet: `add` queues it then. (Or a run whose pipes
            // are all closed: rare, a copy of the descriptor in a child not
            // yet exec'd keeps it in the epoll set; the next `add` drops it.)
            None => {
                if !self.early.contains(&(run, stream)) {
                    self.early.push((run, stream));
                }
            }
        }
    }

    /// The runs whose readiness line came since the last call.
    pub fn take_matched(&mut self) -> Vec<RunId> {
        std::mem::take(&mut self.matched)
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// One read from the next ready pipe, its lines to the callbacks; false if
    /// no pipe was ready.
    pub fn read_next(&mut self, registry: &Registry) -> bool {
        while let Some((run, stream)) = self.ready.pop_front() {
            if self.pipe_mut(run, stream).is_none() {
                continue; // closed since it was queued (run ids are never reused)
            }
            if self.read_once(run, stream, registry) {
                self.ready.push_back((run, stream));
            } else if let Some(pipe) = self.pipe_mut(run, stream) {
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
            for _ in 0..EXIT_DRAIN_READS {
                if !self.read_once(run, stream, registry) {
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
                for _ in 0..EXIT_DRAIN_READS {
                    if !self.read_once(run, stream, registry) {
                        break;
                    }
                }
                self.close(run, stream, registry);
            }
        }
    }

    /// Reads one chunk from a pipe and delivers its lines; true if the pipe may
    /// hold more.
    fn read_once(&mut self, run: RunId, stream: Stream, registry: &Registry) -> bool {
        let Some(entry) = self.runs.get_mut(&run) else {
            return false;
        };
        let ready_line = &mut entry.ready_line;
        let (name, pipe) = match stream {
            Stream::Stdout => (&entry.name, &mut entry.stdout),
            Stream::Stderr => (&entry.name, &mut entry.stderr),
        };
        let Some(pipe) = pipe.as_mut() else {
            return false;
        };
        self.buffer.clear();
        match sys::read_append(pipe.fd.as_fd(), &mut self.buffer) {
            ReadOutcome::Data(_) => {
                let splitter = pipe.pending.get_or_insert_with(Default::default);
                let data = &mut self.buffer;
                match ready_line {
                    None => registry.deliver_lines(name, stream, |sink| splitter.feed(data, sink)),
                    Some(finder) => {
                        let mut matched = false;
                        registry.deliver_lines(name, stream, |sink| {
                            splitter.feed(data, |line: Line<'_>| {
                                matched = matched || finder.find(line.bytes()).is_some();
                                sink(line)
                            })
                        });
                        if matched {
                            *ready_line = None;
                            self.matched.push(run);
                        }
                    }
                }
                // A flood keeps its splitter (most reads end mid-line); a quiet
                // pipe whose lines are whole holds none.
                if splitter.pending() == 0 {
                    pipe.pending = None;
                }
                true
            }
            ReadOutcome::WouldBlock => false,
            ReadOutcome::Closed => {
                self.close(run, stream, registry);
                false
            }
        }
    }

    /// Delivers a pipe's last line, if unterminated, and closes it (which also
    /// takes it out of the epoll set). It may stay in `ready`.
    fn close(&mut self, run: RunId, stream: Stream, registry: &Registry) {
        let Some(entry) = self.runs.get_mut(&run) else {
            return;
        };
        let (name, pipe) = entry.named_pipe(stream);
        if let Some(pipe) = pipe.take() {
            if let Some(mut splitter) = pipe.pending {
                registry.deliver_lines(name, stream, |sink| splitter.finish(sink));
            }
        }
        if entry.stdout.is_none() && entry.stderr.is_none() {
            self.runs.remove(&run);
        }
    }
}
