//! The C types of the API, laid out as `include/procmon.h` declares them.
#![allow(non_camel_case_types)]

use super::pull::Slot;
use crate::error::ErrorKind;
use crate::runtime::Monitor;
use std::cell::UnsafeCell;
use std::ffi::{c_char, c_void};

/// A process monitor (the seed's `ProcessMonitor`). Opaque; create it with
/// `procmon_new()` and destroy it with `procmon_free()`.
///
/// Methods: `procmon_free`, `procmon_set_log_callback`, `procmon_set_event_callback`,
/// `procmon_set_threshold`, `procmon_set_kill_time`, `procmon_set_min_restart_delay`,
/// `procmon_set_max_restart_delay`, `procmon_add_process`, `procmon_remove_process`,
/// `procmon_start_process`, `procmon_stop_process`, `procmon_restart_all`,
/// `procmon_start`, `procmon_stop`, `procmon_process_pid`, `procmon_process_info`,
/// `procmon_describe`; since 0.2 `procmon_add` (with a procmon_spec_t),
/// `procmon_signal_process`, `procmon_report_unhealthy`, `procmon_set_cgroup_root`,
/// and for pull delivery `procmon_set_delivery`, `procmon_poll_fd`,
/// `procmon_next`, `procmon_next_batch` and `procmon_shutdown`.
///
/// Thread safety: every function may be called from any thread at once,
/// including from inside the monitor's own callbacks.
///
/// Fork: a monitor belongs to the process that made it. In the child of a
/// fork() every call on it fails at once with PROCMON_ERR_STATE (procmon_describe:
/// NULL) and a procmon_last_error() that says so, and procmon_free() only frees the
/// child's copy of the handle (no thread, descriptor or child process of the
/// parent's is touched); the parent's monitor goes on unaffected.
pub struct procmon_t {
    pub(crate) monitor: Monitor,
    /// The pid of the process that called procmon_new.
    pub(crate) owner: i32,
    /// Pull delivery: the records procmon_next and procmon_next_batch handed
    /// out last; written only under the pull queue's lock (inside
    /// `Monitor::next_record` and `Monitor::take_records`).
    pub(crate) pulled: UnsafeCell<Slot>,
}

/// Result codes: `PROCMON_OK` or a negative error. `procmon_last_error()` gives
/// the detail of the last failure on the calling thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum procmon_error_t {
    PROCMON_OK = 0,
    /// A bad argument: NULL, empty or non-UTF-8 name, empty argv, NaN, infinite or
    /// negative duration.
    PROCMON_ERR_INVALID = -1,
    /// add_process: the name is already monitored (the seed's KeyError).
    PROCMON_ERR_EXISTS = -2,
    /// Unknown process name (the seed's KeyError).
    PROCMON_ERR_NOT_FOUND = -3,
    /// Not allowed now, e.g. the monitor is shutting down.
    PROCMON_ERR_STATE = -4,
    /// An OS call failed; procmon_last_error() names it and errno.
    PROCMON_ERR_SYSTEM = -5,
    /// A bug: a panic was caught at the boundary.
    PROCMON_ERR_INTERNAL = -6,
    /// Not a failure: nothing to take now (procmon_next(): no record waits).
    /// Since 0.2.
    PROCMON_ERR_AGAIN = -7,
}

impl From<ErrorKind> for procmon_error_t {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Invalid => procmon_error_t::PROCMON_ERR_INVALID,
            ErrorKind::Exists => procmon_error_t::PROCMON_ERR_EXISTS,
            ErrorKind::NotFound => procmon_error_t::PROCMON_ERR_NOT_FOUND,
            ErrorKind::State => procmon_error_t::PROCMON_ERR_STATE,
            ErrorKind::System => procmon_error_t::PROCMON_ERR_SYSTEM,
            ErrorKind::Internal => procmon_error_t::PROCMON_ERR_INTERNAL,
            ErrorKind::Again => procmon_error_t::PROCMON_ERR_AGAIN,
        }
    }
}

/// The line limit: a longer line is passed to the log callback in pieces of
/// exactly this many bytes (the last piece shorter). Nothing is dropped.
pub const PROCMON_LINE_LIMIT: usize = 65536;

/// Which output stream a line came from.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum procmon_stream_t {
    PROCMON_STDOUT = 1,
    PROCMON_STDERR = 2,
}

/// One line of a child's output, without its '\n'. `line` holds `len` raw bytes
/// (any bytes, not necessarily UTF-8, possibly containing NUL) and
/// `line[len] == '\0'`. `name` and `line` are valid only during the call.
/// Called on the monitor's callback thread, one call at a time.
pub type procmon_log_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        name: *const c_char,
        stream: procmon_stream_t,
        line: *const c_char,
        len: usize,
    ),
>;

/// The kinds of lifecycle events.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum procmon_event_kind_t {
    /// The child was spawned: `pid`.
    PROCMON_EVENT_STARTED = 1,
    /// The child exited: `pid`, `exit_code` or `signal`, `uptime`.
    PROCMON_EVENT_EXITED = 2,
    /// The spawn failed: `error` is the errno (ENOENT, EACCES, ...).
    PROCMON_EVENT_SPAWN_FAILED = 3,
    /// A restart is scheduled in `delay` seconds.
    PROCMON_EVENT_RESTART_SCHEDULED = 4,
    /// KILL was sent to `pid` because the kill time ran out.
    PROCMON_EVENT_KILLED = 5,
    /// The start limit was reached (procmon_spec_set_start_limit()): the process
    /// is FAILED; `delay` is the seconds until it is tried again, 0 for never.
    /// Since 0.2.
    PROCMON_EVENT_GAVE_UP = 6,
    /// The run is ready (procmon_spec_set_readiness()): `pid`. For readiness
    /// ON_START it comes right after STARTED, with the same pid. Only for
    /// processes added with procmon_add(): a process added with
    /// procmon_add_process() keeps 0.1's events. Since 0.2.
    PROCMON_EVENT_READY = 7,
}

/// A lifecycle event; valid only during the callback. The library allocates it,
/// so it may gain fields at its end in a later version (API.md "ABI rules"): a
/// callback built against an older header reads only the fields it knows. Every
/// field is filled for every process, whether added with procmon_add() or
/// procmon_add_process().
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct procmon_event_t {
    pub kind: procmon_event_kind_t,
    /// The process name.
    pub name: *const c_char,
    pub pid: i32,
    /// EXITED through exit(): its status; otherwise -1.
    pub exit_code: i32,
    /// EXITED through a signal: its number; otherwise 0.
    pub signal: i32,
    /// SPAWN_FAILED: the errno.
    pub error: i32,
    /// EXITED: seconds the child ran.
    pub uptime: f64,
    /// RESTART_SCHEDULED: seconds until the restart; GAVE_UP: until the retry
    /// (0: none).
    pub delay: f64,
    /// Since 0.2: wall-clock seconds since the epoch when it happened.
    pub timestamp: f64,
    /// Since 0.2, EXITED: PROCMON_EXIT_* bits; 0 for the other kinds.
    pub flags: u32,
    /// Since 0.2, EXITED: the run's user CPU time in seconds (its children that
    /// it waited for included, as getrusage(RUSAGE_CHILDREN) counts).
    pub user_cpu: f64,
    /// Since 0.2, EXITED: the run's system CPU time in seconds.
    pub sys_cpu: f64,
    /// Since 0.2, EXITED: the run's peak resident set, in KiB; 0 when unknown.
    pub max_rss_kib: i64,
    /// Since 0.2, STARTED: how this run is contained, a procmon_containment_t
    /// value (NONE, GROUP or CGROUP: AUTO shows what it chose); -1 otherwise.
    pub containment: i32,
    /// Since 0.2, STARTED: NULL, or why the run has less containment than its
    /// spec asks (AUTO where no cgroup could be made: it says why, once per
    /// monitor). Valid during the call.
    pub detail: *const c_char,
}

/// EXITED: a success per the spec (a success exit code, or the stop signal
/// during a requested stop). Since 0.2.
pub const PROCMON_EXIT_EXPECTED: u32 = 1;
/// EXITED: a stop, remove, restart_all or free asked for it. Since 0.2.
pub const PROCMON_EXIT_REQUESTED: u32 = 2;
/// EXITED: the child dumped core. Since 0.2.
pub const PROCMON_EXIT_CORE_DUMPED: u32 = 4;
/// EXITED: stopped because it was not ready in time. Since 0.2.
pub const PROCMON_EXIT_TIMEOUT: u32 = 8;
/// EXITED: stopped for a missed watchdog or procmon_report_unhealthy(). Since 0.2.
pub const PROCMON_EXIT_WATCHDOG: u32 = 16;
/// EXITED: the exit was seen, but its status was taken by someone else: a host
/// that reaps children itself (waitpid(-1, ...) in a SIGCHLD handler) or sets
/// SIGCHLD to SIG_IGN. exit_code is then -1 and signal 0, and the exit counts as
/// a failure (PROCMON_RESTART_ON_FAILURE restarts it). Since 0.2.
pub const PROCMON_EXIT_STATUS_UNKNOWN: u32 = 32;

/// Called for every lifecycle event, on the monitor's callback thread, in order
/// with the lines: STARTED, the lines of that run, EXITED, then RESTART_SCHEDULED
/// or the next STARTED.
pub type procmon_event_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const procmon_event_t)>;

/// The state of one monitored process.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum procmon_state_t {
    /// Not running, no restart scheduled.
    PROCMON_STATE_STOPPED = 0,
    PROCMON_STATE_RUNNING = 1,
    /// TERM sent, not yet exited.
    PROCMON_STATE_STOPPING = 2,
    /// Exited, restart scheduled.
    PROCMON_STATE_BACKOFF = 3,
    /// Gave up: the start limit was reached (see procmon_spec_set_start_limit());
    /// tried again later only with a retry_after. Since 0.2.
    PROCMON_STATE_FAILED = 4,
    /// Spawned and not ready yet (`pid` the child's), or waiting for the
    /// processes it comes after (procmon_spec_set_after(); `pid` 0). Since 0.2.
    PROCMON_STATE_STARTING = 5,
}

/// A consistent snapshot of one process (procmon_process_info()).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct procmon_process_info_t {
    pub state: procmon_state_t,
    /// 0 unless RUNNING or STOPPING.
    pub pid: i32,
    /// Successful spawns so far.
    pub starts: u64,
    /// Seconds since the current run started; 0 when not running.
    pub uptime: f64,
    /// The seed's delay[name]: what the next instant death waits.
    pub restart_delay: f64,
    /// Like procmon_event_t, for the last run; -1 if none.
    pub last_exit_code: i32,
    /// 0 if none.
    pub last_signal: i32,
}

/// Options of procmon_add_process(); a NULL pointer to it inherits everything.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct procmon_process_options_t {
    /// NULL-terminated "KEY=VALUE" list; NULL = inherit the host's environment;
    /// an empty list = empty environment.
    pub env: *const *const c_char,
    /// NULL = inherit.
    pub cwd: *const c_char,
    /// < 0 = inherit.
    pub uid: i64,
    /// < 0 = inherit.
    pub gid: i64,
    /// Every child runs in a process group of its own. When true, stopping it
    /// (procmon_stop_process, procmon_remove_process, procmon_restart_all,
    /// procmon_stop, procmon_free) signals that whole group, TERM then KILL after
    /// the kill time, so the processes it started are stopped with it; those still
    /// in the group when the child itself exits are killed then. When false, only
    /// the child is signalled.
    pub stop_process_group: bool,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_line_limit_in_the_header_is_the_core_s() {
        assert_eq!(super::PROCMON_LINE_LIMIT, crate::core::LINE_LIMIT);
    }

    #[test]
    fn the_exit_flags_in_the_header_are_the_core_s() {
        use crate::core::ExitFlags;
        let pairs = [
            (super::PROCMON_EXIT_EXPECTED, ExitFlags::EXPECTED),
            (super::PROCMON_EXIT_REQUESTED, ExitFlags::REQUESTED),
            (super::PROCMON_EXIT_CORE_DUMPED, ExitFlags::CORE_DUMPED),
            (super::PROCMON_EXIT_TIMEOUT, ExitFlags::TIMEOUT),
            (super::PROCMON_EXIT_WATCHDOG, ExitFlags::WATCHDOG),
            (
                super::PROCMON_EXIT_STATUS_UNKNOWN,
                ExitFlags::STATUS_UNKNOWN,
            ),
        ];
        for (c, core) in pairs {
            assert_eq!(c, core.0);
        }
    }
}
