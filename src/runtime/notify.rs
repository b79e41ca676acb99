//! Readiness input on the event loop: each NOTIFY_FD child's pipe and the one
//! sd_notify socket of the monitor, both in the loop's epoll set. This module
//! only turns bytes and datagrams into [`Notice`]s for a run; what they mean is
//! the core's (`core/readiness.rs`, `core/supervisor/ready.rs`).
//!
//! - NOTIFY_FD "N": the child gets the write end of a pipe as descriptor N; we
//!   read ours level-triggered, one read per wake-up, and count newlines.
//! - SD_NOTIFY: one datagram socket per monitor, bound to a name of the abstract
//!   namespace that the kernel picks, made at the first SD_NOTIFY spawn. The
//!   child gets `NOTIFY_SOCKET=@name` (and, with a watchdog, `WATCHDOG_USEC`
//!   and `WATCHDOG_PID`); no other child does. Each datagram carries its
//!   sender's pid (SO_PASSCRED), which must be the child's, that of a process in
//!   the child's process group (every child leads its own), or, for a run in a
//!   cgroup of its own, that of a process in that cgroup (`/proc/PID/cgroup`):
//!   the child's unit. A datagram from any other process is ignored.
//!
//! Memory: nothing for a process with another readiness; a NOTIFY_FD run holds
//! one descriptor in a map; an SD_NOTIFY run two map entries (pid → run, run →
//! pid); the socket and its 4 KiB buffer exist once, when first needed.

use super::token::Token;
use crate::core::{parse_sd_notify, Notice, ProcessSpec, ReadyMode, RunId};
use crate::sys::{self, Datagram, Epoll, Interest, NotifySocket, Pipe, ReadOutcome};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// The variables of the sd_notify protocol that a child gets from us alone.
const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
const WATCHDOG_PID: &CStr = c"WATCHDOG_PID";
/// The largest datagram read (the protocol's messages are a few short lines).
const DATAGRAM_SIZE: usize = 4096;
/// Datagrams read per wake-up before the loop's other work gets its turn.
const DATAGRAMS_PER_TURN: usize = 32;
/// The most read from a NOTIFY_FD pipe per wake-up (level-triggered: the rest
/// wakes the loop again).
const PIPE_READ: usize = 512;

pub(crate) struct Notifier {
    /// NOTIFY_FD runs: our (read) end of each child's descriptor.
    pipes: HashMap<RunId, OwnedFd>,
    socket: Option<Box<Socket>>,
    /// The read buffer of the pipes (empty until the first NOTIFY_FD read).
    buffer: Vec<u8>,
}

/// The sd_notify socket and whose datagrams it takes.
struct Socket {
    socket: NotifySocket,
    /// `NOTIFY_SOCKET=@name`.
    entry: CString,
    /// The child's pid of each SD_NOTIFY run, and back.
    runs_by_pid: HashMap<i32, RunId>,
    pids: HashMap<RunId, i32>,
    /// The cgroup of each SD_NOTIFY run that has one, by the last two parts of
    /// its path (`m<pid>.<start>.<n>/r<run>`, unique on the machine), and back.
    runs_by_cgroup: HashMap<String, RunId>,
    cgroups: HashMap<RunId, String>,
    buffer: Box<[u8]>,
}

/// What a spawn needs for readiness, made before it.
pub(crate) struct Prepared {
    /// The child's environment, when readiness changes it (SD_NOTIFY).
    pub env: Option<Vec<CString>>,
    /// The pipe whose write end the child gets, and as which number.
    pub pipe: Option<(Pipe, i32)>,
    /// Whether the child gets `WATCHDOG_PID` with its pid.
    pub pid_var: Option<&'static CStr>,
    sd_notify: bool,
}

impl Notifier {
    pub fn new() -> Notifier {
        Notifier {
            pipes: HashMap::new(),
            socket: None,
            buffer: Vec::new(),
        }
    }

    /// Prepares the spawn of `spec`, whose environment so far is `env` (None:
    /// the spec's base, passed as it is).
    pub fn prepare(
        &mut self,
        spec: &ProcessSpec,
        env: Option<Vec<CString>>,
        epoll: &Epoll,
    ) -> Result<Prepared, i32> {
        let mut prepared = Prepared {
            env,
            pipe: None,
            pid_var: None,
            sd_notify: false,
        };
        let Some(readiness) = spec.readiness() else {
            return Ok(prepared);
        };
        match readiness.mode {
            ReadyMode::NotifyFd(number) => {
                prepared.pipe = Some((Pipe::new()?, number as i32));
            }
            ReadyMode::SdNotify => {
                let socket = self.socket(epoll)?;
                let mut env = match prepared.env.take() {
                    Some(env) => env,
                    None => spec.env().map_or_else(host_env, <[CString]>::to_vec),
                };
                env.retain(|entry| {
                    let bytes = entry.as_bytes();
                    ![NOTIFY_SOCKET, WATCHDOG_USEC, "WATCHDOG_PID"]
                        .iter()
                        .any(|key| is_entry_of(bytes, key.as_bytes()))
                });
                env.push(socket.entry.clone());
                if let Some(watchdog) = readiness.watchdog {
                    let usec = watchdog.as_micros().max(1);
                    let entry = format!("{WATCHDOG_USEC}={usec}");
                    env.push(CString::new(entry).expect("no NUL in digits"));
                    prepared.pid_var = Some(WATCHDOG_PID);
                }
                prepared.env = Some(env);
                prepared.sd_notify = true;
            }
            ReadyMode::OnStart | ReadyMode::Line(_) => {}
        }
        Ok(prepared)
    }

    /// Run `run`'s child was spawned with `prepared`: its NOTIFY_FD pipe goes
    /// into the loop's `epoll` (the write end closes here: the child has it),
    /// its pid into the socket's map.
    pub fn spawned(
        &mut self,
        run: RunId,
        pid: i32,
        prepared: Prepared,
        cgroup: Option<String>,
        epoll: &Epoll,
    ) -> Result<(), i32> {
        if let Some((pipe, _)) = prepared.pipe {
            let Pipe { read, write } = pipe;
            drop(write);
            epoll.add(read.as_fd(), Interest::Readable, Token::notify(run).raw())?;
            self.pipes.insert(run, read);
        }
        if prepared.sd_notify {
            if let Some(socket) = &mut self.socket {
                socket.runs_by_pid.insert(pid, run);
                socket.pids.insert(run, pid);
                if let Some(cgroup) = cgroup {
                    socket.runs_by_cgroup.insert(cgroup.clone(), run);
                    socket.cgroups.insert(run, cgroup);
                }
            }
        }
        Ok(())
    }

    /// Run `run` has exited: its pipe closes (leaving the epoll set), its pid
    /// is no longer listened to.
    pub fn forget(&mut self, run: RunId) {
        self.pipes.remove(&run);
        if let Some(socket) = &mut self.socket {
            if let Some(pid) = socket.pids.remove(&run) {
                socket.runs_by_pid.remove(&pid);
            }
            if let Some(cgroup) = socket.cgroups.remove(&run) {
                socket.runs_by_cgroup.remove(&cgroup);
            }
        }
    }

    /// One read from run `run`'s NOTIFY_FD pipe: how many newlines it held (at
    /// most two count: the first makes it ready, one more is a ping). The pipe
    /// closes when the child closed its end.
    pub fn read_pipe(&mut self, run: RunId) -> usize {
        let Some(fd) = self.pipes.get(&run) else {
            return 0;
        };
        self.buffer.clear();
        self.buffer.reserve(PIPE_READ);
        match sys::read_append(fd.as_fd(), &mut self.buffer) {
            ReadOutcome::Data(_) => memchr::memchr_iter(b'\n', &self.buffer).count(),
            ReadOutcome::WouldBlock => 0,
            ReadOutcome::Closed => {
                self.pipes.remove(&run);
                0
            }
        }
    }

    /// Reads waiting datagrams (a bounded number) and hands each notice of a
    /// known sender to `notice`.
    pub fn read_socket(&mut self, mut notice: impl FnMut(RunId, Notice)) {
        let Some(socket) = &mut self.socket else {
            return;
        };
        for _ in 0..DATAGRAMS_PER_TURN {
            match sys::recv_with_pid(socket.socket.fd.as_fd(), &mut socket.buffer) {
                Datagram::Message { len, pid } => {
                    let Some(run) = socket.sender(pid) else {
                        continue; // not a process of a unit we listen to
                    };
                    for each in parse_sd_notify(&socket.buffer[..len]) {
                        notice(run, each);
                    }
                }
                Datagram::Truncated => continue,
                Datagram::WouldBlock | Datagram::Failed(_) => return,
            }
        }
    }

    /// The socket, made and registered on first use.
    fn socket(&mut self, epoll: &Epoll) -> Result<&Socket, i32> {
        if self.socket.is_none() {
            let socket = sys::notify_socket()?;
            epoll.add(
                socket.fd.as_fd(),
                Interest::Readable,
                Token::notify_socket().raw(),
            )?;
            let mut entry = format!("{NOTIFY_SOCKET}=@").into_bytes();
            entry.extend_from_slice(&socket.name);
            self.socket = Some(Box::new(Socket {
                entry: CString::new(entry).map_err(|_| libc::EINVAL)?,
                socket,
                runs_by_pid: HashMap::new(),
                pids: HashMap::new(),
                runs_by_cgroup: HashMap::new(),
                cgroups: HashMap::new(),
                buffer: vec![0; DATAGRAM_SIZE].into(),
            }));
        }
        Ok(self.socket.as_deref().expect("just made"))
    }
}

impl Socket {
    /// The run a datagram from `pid` is about: the child itself, or a process
    /// of its process group (which the child leads: its id is the child's pid).
    fn sender(&self, pid: i32) -> Option<RunId> {
        if pid <= 0 {
            return None;
        }
        if let Some(run) = self.runs_by_pid.get(&pid) {
            return Some(*run);
        }
        if let Some(run) = sys::process_group(pid).and_then(|g| self.runs_by_pid.get(&g)) {
            return Some(*run);
        }
        if self.runs_by_cgroup.is_empty() {
            return None;
        }
        let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let path = cgroups.lines().find_map(|line| line.strip_prefix("0::"))?;
        self.runs_by_cgroup.get(&cgroup_key(path)?).copied()
    }
}

/// The last two parts of a cgroup's path, which name a run's cgroup (see
/// `runtime/cgroup.rs`): `m<pid>.<start>.<n>/r<run>`.
pub(crate) fn cgroup_key(path: &str) -> Option<String> {
    let mut parts = path.trim_end_matches('/').rsplit('/');
    let run = parts.next()?;
    let monitor = parts.next()?;
    (run.starts_with('r') && monitor.starts_with('m')).then(|| format!("{monitor}/{run}"))
}

/// Whether `entry` is `key=…`.
fn is_entry_of(entry: &[u8], key: &[u8]) -> bool {
    entry.len() > key.len() && entry.starts_with(key) && entry[key.len()] == b'='
}

/// The host's environment, read now.
fn host_env() -> Vec<CString> {
    std::env::vars_os()
        .filter_map(|(key, value)| {
            let mut entry = key.as_bytes().to_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            CString::new(entry).ok()
        })
        .collect()
}
