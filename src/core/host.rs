//! What the supervisor says to the outside world and hears from it: the [`Host`]
//! that spawns and signals runs, and the events it reports.

use super::{Name, ProcessSpec};
use std::time::Duration;

/// Identifies one run (one spawn) of a process, unique for the supervisor's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(pub u64);

/// A signal the supervisor sends to a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
    /// Any other signal number (a process's stop signal).
    Other(i32),
}

impl Signal {
    /// The signal with this number.
    pub fn from_number(number: i32) -> Signal {
        match number {
            15 => Signal::Term,
            9 => Signal::Kill,
            other => Signal::Other(other),
        }
    }

    pub fn number(self) -> i32 {
        match self {
            Signal::Term => 15,
            Signal::Kill => 9,
            Signal::Other(number) => number,
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Through `exit()`, with this status.
    Code(i32),
    /// Through this signal.
    Signal(i32),
    /// Through this signal, with a core dump.
    Dumped(i32),
    /// Unknown: someone else reaped the child.
    Unknown,
}

impl ExitStatus {
    /// The C API's `exit_code`: the status for `exit()`, otherwise -1.
    pub fn code(&self) -> i32 {
        match self {
            ExitStatus::Code(code) => *code,
            _ => -1,
        }
    }

    /// The C API's `signal`: the signal number, otherwise 0.
    pub fn signal(&self) -> i32 {
        match self {
            ExitStatus::Signal(signal) | ExitStatus::Dumped(signal) => *signal,
            _ => 0,
        }
    }
}

/// A lifecycle event, in the order the callbacks must see it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Started {
        name: Name,
        pid: i32,
    },
    Exited {
        name: Name,
        pid: i32,
        status: ExitStatus,
        uptime: Duration,
    },
    SpawnFailed {
        name: Name,
        errno: i32,
    },
    RestartScheduled {
        name: Name,
        delay: Duration,
    },
    /// KILL sent because the kill time ran out.
    Killed {
        name: Name,
        pid: i32,
    },
}

/// What an EXITED event says about the exit, beyond its status (bits; the C
/// API's `PROCMON_EXIT_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitFlags(pub u32);

impl ExitFlags {
    /// A success per the spec: a success code, or the stop signal during a
    /// requested stop.
    pub const EXPECTED: ExitFlags = ExitFlags(1);
    /// A stop, remove, restart_all or free asked for it.
    pub const REQUESTED: ExitFlags = ExitFlags(2);
    pub const CORE_DUMPED: ExitFlags = ExitFlags(4);
    /// Not ready in time.
    pub const TIMEOUT: ExitFlags = ExitFlags(8);
    /// A missed watchdog, or reported unhealthy.
    pub const WATCHDOG: ExitFlags = ExitFlags(16);
    /// Someone else took the exit status.
    pub const STATUS_UNKNOWN: ExitFlags = ExitFlags(32);

    pub fn contains(self, other: ExitFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for ExitFlags {
    type Output = ExitFlags;
    fn bitor(self, other: ExitFlags) -> ExitFlags {
        ExitFlags(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for ExitFlags {
    fn bitor_assign(&mut self, other: ExitFlags) {
        self.0 |= other.0;
    }
}

/// Every event the supervisor reports: the seed's [`Event`]s with what 0.2 adds
/// to them (run ids, exit flags) and the events the seed has no word for.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
    Started {
        run: RunId,
        name: Name,
        pid: i32,
    },
    Exited {
        run: RunId,
        name: Name,
        pid: i32,
        status: ExitStatus,
        uptime: Duration,
        flags: ExitFlags,
    },
    SpawnFailed {
        name: Name,
        errno: i32,
    },
    RestartScheduled {
        name: Name,
        delay: Duration,
    },
    Killed {
        name: Name,
        pid: i32,
    },
    /// The start limit was reached: the process is FAILED, and is tried again
    /// after `retry` (if any).
    GaveUp {
        name: Name,
        retry: Option<Duration>,
    },
    /// The run is ready (API.md "Readiness"); the seed has no such event.
    Ready {
        run: RunId,
        name: Name,
        pid: i32,
    },
}

impl Report {
    /// The seed's event this report is, if the seed has one.
    pub fn seed_event(&self) -> Option<Event> {
        Some(match self.clone() {
            Report::Started { name, pid, .. } => Event::Started { name, pid },
            Report::Exited {
                name,
                pid,
                status,
                uptime,
                ..
            } => Event::Exited {
                name,
                pid,
                status,
                uptime,
            },
            Report::SpawnFailed { name, errno } => Event::SpawnFailed { name, errno },
            Report::RestartScheduled { name, delay } => Event::RestartScheduled { name, delay },
            Report::Killed { name, pid } => Event::Killed { name, pid },
            Report::GaveUp { .. } | Report::Ready { .. } => return None,
        })
    }

    /// The process the report is about.
    pub fn name(&self) -> &Name {
        match self {
            Report::Started { name, .. }
            | Report::Exited { name, .. }
            | Report::SpawnFailed { name, .. }
            | Report::RestartScheduled { name, .. }
            | Report::Killed { name, .. }
            | Report::GaveUp { name, .. }
            | Report::Ready { name, .. } => name,
        }
    }
}

/// The outside world, as the seed's reactor: spawns, signals, and hears events.
pub trait Host {
    /// Starts `spec` as run `run`: its pid, or the errno of the failure.
    fn spawn(&mut self, run: RunId, name: &Name, spec: &ProcessSpec) -> Result<i32, i32>;
    /// Signals a run that has not been reported as exited yet. False when the child
    /// had already exited (the seed's `ProcessExitedAlready`): nothing was sent.
    fn signal(&mut self, run: RunId, signal: Signal) -> bool;
    /// Hears the seed's events (see [`report`](Self::report)).
    fn event(&mut self, event: Event);
    /// Hears every report, in order. The default passes on the seed's events
    /// alone, which is all a host that speaks the seed's vocabulary needs.
    fn report(&mut self, report: Report) {
        if let Some(event) = report.seed_event() {
            self.event(event);
        }
    }
}
