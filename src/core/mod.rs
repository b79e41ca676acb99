//! Sans-I/O core: every rule of the seed (Twisted's `procmon.py`) and nothing else.
//!
//! No threads, no libc, no clock. Time is an input ([`Time`]); the outside world is a
//! [`Host`] that spawns, signals and receives events — the way the seed's tests drive
//! a fake reactor. A bug in the backoff is fixed here and tested here.

mod describe;
mod host;
mod lines;
mod policy;
mod readiness;
mod settings;
mod spec;
mod supervisor;

#[cfg(test)]
mod batch_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod readiness_tests;
#[cfg(test)]
mod seed_tests;

pub use describe::python_repr;
pub use host::{Event, ExitFlags, ExitStatus, Host, Report, RunId, Signal};
pub use lines::{Line, LineSplitter, LINE_LIMIT};
pub use policy::{judge_exit, next_restart, Restart, StartLog, StopReason, Verdict};
pub use readiness::{
    check_ready_line, line_matches, parse_notify_fd, parse_sd_notify, Notice, Readiness, ReadyMode,
};
pub use settings::{seconds, Settings};
pub use spec::{check_signal, Containment, Name, ProcessSpec, RestartPolicy, Rlimit, StartLimit};
pub use supervisor::{check_batch, Batch, ProcessInfo, ProcessState, Supervisor};

/// A point on a monotonic clock, as the time elapsed since an arbitrary origin.
pub type Time = std::time::Duration;
