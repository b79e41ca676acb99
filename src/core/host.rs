//! What the supervisor says to the outside world and hears from it: the [`Host`]
//! that spawns and signals runs, and the events it reports.

use super::{Name, ProcessSpec};
use std::time::Duration;

/// Identifies one run (one spawn) of a process, unique for the supervisor's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Through `exit()`, with this status.
    Code(i32),
    /// Through this signal.
    Signal(i32),
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
            ExitStatus::Signal(signal) => *signal,
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

/// The outside world, as the seed's reactor: spawns, signals, and hears events.
pub trait Host {
    /// Starts `spec` as run `run`: its pid, or the errno of the failure.
    fn spawn(&mut self, run: RunId, name: &Name, spec: &ProcessSpec) -> Result<i32, i32>;
    /// Signals a run that has not been reported as exited yet. False when the child
    /// had already exited (the seed's `ProcessExitedAlready`): nothing was sent.
    fn signal(&mut self, run: RunId, signal: Signal) -> bool;
    fn event(&mut self, event: Event);
}
