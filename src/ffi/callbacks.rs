//! Registering C callbacks: each becomes a Rust closure over its function
//! pointer and userdata.

use super::boundary::monitor;
use super::boundary::status;
use super::spec::procmon_containment_t;
use super::types::{
    procmon_event_fn, procmon_event_kind_t, procmon_event_t, procmon_log_fn, procmon_stream_t,
    procmon_t,
};
use crate::core::{Containment, Report};
use crate::runtime::{EventCallback, LifecycleEvent, LogCallback, Stream};
use std::ffi::CString;
use std::ffi::{c_int, c_void};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// The C caller's userdata pointer.
#[derive(Clone, Copy)]
struct UserData(*mut c_void);

// SAFETY: the C contract: callbacks run on the monitor's callback thread, and
// whoever registers a callback vouches for its userdata being usable there.
unsafe impl Send for UserData {}
// SAFETY: the pointer is only passed back to C, one call at a time.
unsafe impl Sync for UserData {}

/// Registers the per-line callback; NULL removes it. When it returns on a thread
/// other than the callback thread, no call of the previous callback is in
/// progress (so its userdata may be freed); it waits for a call in progress.
/// Returns PROCMON_OK or PROCMON_ERR_INVALID (NULL monitor). May be called from
/// a callback, where it takes effect from the next line.
#[no_mangle]
pub extern "C" fn procmon_set_log_callback(
    pm: *mut procmon_t,
    cb: procmon_log_fn,
    userdata: *mut c_void,
) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let monitor = unsafe { monitor(pm) }?;
        let userdata = UserData(userdata);
        let callback: Option<LogCallback> = cb.map(|f| {
            Arc::new(
                move |name: &crate::core::Name, stream: Stream, line: crate::core::Line<'_>| {
                    let stream = match stream {
                        Stream::Stdout => procmon_stream_t::PROCMON_STDOUT,
                        Stream::Stderr => procmon_stream_t::PROCMON_STDERR,
                    };
                    let bytes = line.bytes_with_nul();
                    let userdata = userdata;
                    // SAFETY: a C function pointer registered for exactly this call;
                    // `name` and `line` are NUL-terminated and live during the call.
                    unsafe {
                        f(
                            userdata.0,
                            name.as_ptr(),
                            stream,
                            bytes.as_ptr().cast(),
                            bytes.len() - 1,
                        )
                    }
                },
            ) as LogCallback
        });
        monitor.set_log_callback(callback)
    })
}

/// Registers the lifecycle callback; NULL removes it. Same guarantee and codes
/// as procmon_set_log_callback().
#[no_mangle]
pub extern "C" fn procmon_set_event_callback(
    pm: *mut procmon_t,
    cb: procmon_event_fn,
    userdata: *mut c_void,
) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let monitor = unsafe { monitor(pm) }?;
        let userdata = UserData(userdata);
        let callback: Option<EventCallback> = cb.map(|f| {
            Arc::new(move |event: &LifecycleEvent| {
                // Rare (once per monitor at most): a copy with its NUL.
                let detail = event
                    .note
                    .as_deref()
                    .map(|note| CString::new(note.replace('\0', " ")).expect("NULs were replaced"));
                let mut c_event = to_c(event);
                if let Some(detail) = &detail {
                    c_event.detail = detail.as_ptr();
                }
                let userdata = userdata;
                // SAFETY: a C function pointer registered for exactly this call;
                // the event and its name live during the call.
                unsafe { f(userdata.0, &c_event) }
            }) as EventCallback
        });
        monitor.set_event_callback(callback)
    })
}

pub(crate) fn to_c(event: &LifecycleEvent) -> procmon_event_t {
    use procmon_event_kind_t::*;
    let report = &event.report;
    let kind = match report {
        Report::Started { .. } => PROCMON_EVENT_STARTED,
        Report::Exited { .. } => PROCMON_EVENT_EXITED,
        Report::SpawnFailed { .. } => PROCMON_EVENT_SPAWN_FAILED,
        Report::RestartScheduled { .. } => PROCMON_EVENT_RESTART_SCHEDULED,
        Report::Killed { .. } => PROCMON_EVENT_KILLED,
        Report::GaveUp { .. } => PROCMON_EVENT_GAVE_UP,
        Report::Ready { .. } => PROCMON_EVENT_READY,
    };
    let timestamp = event
        .timestamp
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    let mut c = procmon_event_t {
        kind,
        name: report.name().as_ptr(),
        pid: 0,
        exit_code: -1,
        signal: 0,
        error: 0,
        uptime: 0.0,
        delay: 0.0,
        timestamp,
        flags: 0,
        user_cpu: 0.0,
        sys_cpu: 0.0,
        max_rss_kib: 0,
        containment: -1,
        detail: std::ptr::null(),
    };
    match report {
        Report::Started { pid, .. } => {
            c.pid = *pid;
            c.containment = match event.containment {
                Some(Containment::Group) => procmon_containment_t::PROCMON_CONTAIN_GROUP as i32,
                Some(Containment::Cgroup) => procmon_containment_t::PROCMON_CONTAIN_CGROUP as i32,
                _ => procmon_containment_t::PROCMON_CONTAIN_NONE as i32,
            };
        }
        Report::Killed { pid, .. } => c.pid = *pid,
        Report::Ready { pid, .. } => c.pid = *pid,
        Report::Exited {
            pid,
            status,
            uptime,
            flags,
            ..
        } => {
            c.pid = *pid;
            c.exit_code = status.code();
            c.signal = status.signal();
            c.uptime = uptime.as_secs_f64();
            c.flags = flags.0;
            if let Some(usage) = event.usage {
                c.user_cpu = usage.user_cpu.as_secs_f64();
                c.sys_cpu = usage.sys_cpu.as_secs_f64();
                c.max_rss_kib = usage.max_rss_kib;
            }
        }
        Report::SpawnFailed { errno, .. } => c.error = *errno,
        Report::RestartScheduled { delay, .. } => c.delay = delay.as_secs_f64(),
        Report::GaveUp { retry, .. } => c.delay = retry.map_or(0.0, |d| d.as_secs_f64()),
    }
    c
}
