//! Readiness, watchdog and start order in the C API (API.md "Readiness"): three
//! setters of the process spec, and `procmon_report_unhealthy`.

#![allow(non_camel_case_types)]

use super::boundary::{c_str, monitor, name as process_name, status, string_list};
use super::spec::{procmon_spec_t, with_spec};
use super::types::procmon_t;
use crate::core::{check_ready_line, parse_notify_fd, seconds, Name, ReadyMode};
use crate::error::{Error, Result};
use std::ffi::{c_char, c_int};

/// How a child tells the monitor that it is ready (procmon_spec_set_readiness()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum procmon_readiness_t {
    /// Ready as soon as it is spawned (the seed; the default): READY right after
    /// STARTED.
    PROCMON_READY_ON_START = 0,
    /// `arg` a descriptor number, e.g. "3": the child gets descriptor N, the
    /// write end of a pipe; the first newline written to it makes the run ready
    /// (s6's notification-fd), later lines are watchdog pings.
    PROCMON_READY_NOTIFY_FD = 1,
    /// The child gets NOTIFY_SOCKET naming a datagram socket of the monitor's
    /// (systemd's sd_notify protocol): "READY=1" makes the run ready,
    /// "WATCHDOG=1" is a ping, "WATCHDOG=trigger" reports it unhealthy,
    /// "STOPPING=1" and "STATUS=..." are accepted.
    PROCMON_READY_SD_NOTIFY = 2,
    /// `arg` a text: the first stdout or stderr line containing it makes the run
    /// ready (the line is still delivered).
    PROCMON_READY_LINE = 3,
}

/// How the process says that it is ready, and how long it may take.
///
/// - `mode` a procmon_readiness_t value (passed as an int); `arg` its argument:
///   NOTIFY_FD a descriptor number from 3 to 1023, in digits only; LINE a
///   non-empty text without '\n'; ON_START and SD_NOTIFY none (NULL; anything
///   else is ignored). `arg` is copied.
/// - `timeout_s`: not ready within it, the run is stopped (the stop signal, KILL
///   after the kill time); its EXITED carries PROCMON_EXIT_TIMEOUT and it counts
///   as an instant death. 0 = wait for ever.
///
/// Until it is ready a run is PROCMON_STATE_STARTING; a READY event marks the
/// moment (ON_START: right after STARTED). With readiness other than ON_START a
/// death counts as instant when the run dies before it is ready, or lives less
/// than the threshold after it was ready.
///
/// SD_NOTIFY: the socket is in the abstract namespace (a child in another
/// network namespace cannot reach it). A datagram counts when its sender (as
/// the kernel tells) is the child or a process of the child's process group
/// (each child leads its own; with cgroup containment, its cgroup); any other
/// is ignored. The child's environment gets NOTIFY_SOCKET, and with a watchdog
/// WATCHDOG_USEC and WATCHDOG_PID (its own pid), replacing any of them it
/// would have had; no other child gets them from the monitor.
///
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; an unknown mode; a
/// NULL or bad arg for NOTIFY_FD or LINE; NaN, infinite or negative timeout),
/// with procmon_last_error() naming the setting. Never blocks.
#[no_mangle]
pub extern "C" fn procmon_spec_set_readiness(
    spec: *mut procmon_spec_t,
    mode: c_int,
    arg: *const c_char,
    timeout_s: f64,
) -> c_int {
    with_spec(spec, |s| {
        use procmon_readiness_t::*;
        let timeout = seconds(timeout_s, "the readiness timeout")?;
        let arg = |what: &str| {
            if arg.is_null() {
                return Err(Error::invalid(format!("the readiness {what} is NULL")));
            }
            // SAFETY: by the C contract a non-NULL arg is a NUL-terminated string.
            Ok(unsafe { c_str(arg, what) }?.to_bytes().to_vec())
        };
        let mode = match mode {
            m if m == PROCMON_READY_ON_START as c_int => ReadyMode::OnStart,
            m if m == PROCMON_READY_NOTIFY_FD as c_int => {
                let text = arg("descriptor (NOTIFY_FD)")?;
                let text = String::from_utf8_lossy(&text);
                ReadyMode::NotifyFd(parse_notify_fd(&text)?)
            }
            m if m == PROCMON_READY_SD_NOTIFY as c_int => ReadyMode::SdNotify,
            m if m == PROCMON_READY_LINE as c_int => {
                let text = arg("line (LINE)")?;
                check_ready_line(&text)?;
                ReadyMode::Line(text.into())
            }
            other => {
                return Err(Error::invalid(format!(
                    "the readiness mode {other} is not a procmon_readiness_t value"
                )))
            }
        };
        Ok(s.with_readiness(|r| {
            r.mode = mode;
            r.timeout = (!timeout.is_zero()).then_some(timeout);
        }))
    })
}

/// The watchdog: once ready, a run that sends no ping for `timeout_s` seconds
/// (NOTIFY_FD: a line; SD_NOTIFY: "WATCHDOG=1"), or that
/// procmon_report_unhealthy() names, is stopped like a timed-out start; its
/// EXITED carries PROCMON_EXIT_WATCHDOG, and it is restarted under its restart
/// policy (a failure: ON_FAILURE restarts it, NEVER does not). 0 = off (the
/// default).
///
/// It needs readiness NOTIFY_FD or SD_NOTIFY, which is checked by procmon_add()
/// (so the two setters may come in either order): there a watchdog with another
/// readiness is PROCMON_ERR_INVALID.
///
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; NaN, infinite or
/// negative seconds). Never blocks.
#[no_mangle]
pub extern "C" fn procmon_spec_set_watchdog(spec: *mut procmon_spec_t, timeout_s: f64) -> c_int {
    with_spec(spec, |s| {
        let watchdog = seconds(timeout_s, "the watchdog timeout")?;
        Ok(s.with_readiness(|r| r.watchdog = (!watchdog.is_zero()).then_some(watchdog)))
    })
}

/// Start order: the process is started only once each process named in the
/// NULL-terminated list `names` (copied) is ready; a name not monitored yet is
/// waited for. While it waits it is PROCMON_STATE_STARTING with pid 0. Every
/// start waits so, restarts included (a dependent restarted while its dependency
/// is down waits for it to be ready again).
///
/// procmon_stop() and procmon_free() stop a process before the processes it comes
/// after: each of those waits until its dependents have exited, or have been sent
/// KILL (after their kill time). procmon_stop_process(), procmon_restart_all()
/// and procmon_remove_process() are not ordered.
///
/// NULL or an empty list: no order (the default). A cycle, or a name that is the
/// process's own, is PROCMON_ERR_INVALID at procmon_add().
///
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; an empty or non-UTF-8
/// name). Never blocks.
#[no_mangle]
pub extern "C" fn procmon_spec_set_after(
    spec: *mut procmon_spec_t,
    names: *const *const c_char,
) -> c_int {
    with_spec(spec, |s| {
        // SAFETY: by the C contract names is NULL or a NULL-terminated array of strings.
        let names = unsafe { string_list(names) }.unwrap_or_default();
        let names = names
            .into_iter()
            .map(|bytes| {
                let text = String::from_utf8(bytes).map_err(|_| {
                    Error::invalid("a name of the start order (after) is not valid UTF-8")
                })?;
                Name::new(&text).map_err(|e| {
                    Error::invalid(format!("the start order (after): {}", e.message()))
                })
            })
            .collect::<Result<Box<[Name]>>>()?;
        Ok(s.with_readiness(|r| r.after = names))
    })
}

/// The host's own health check of `name` failed: handled as a missed watchdog
/// (procmon_spec_set_watchdog(); no watchdog needs to be set). The stop signal
/// has been sent when the call returns; the EXITED carries
/// PROCMON_EXIT_WATCHDOG, and a restart follows under the restart policy. A
/// child being stopped already: a no-op.
///
/// Returns PROCMON_OK; PROCMON_ERR_INVALID (NULL monitor or name);
/// PROCMON_ERR_NOT_FOUND; PROCMON_ERR_STATE (not running: no child). May be
/// called from a callback.
#[no_mangle]
pub extern "C" fn procmon_report_unhealthy(pm: *mut procmon_t, name: *const c_char) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let monitor = unsafe { monitor(pm) }?;
        // SAFETY: by the C contract `name` is NULL or a NUL-terminated string.
        let name = unsafe { process_name(name) }?;
        monitor.report_unhealthy(name)
    })
}
