//! The monitor's functions: lifetime, settings, processes, queries.

use super::boundary::{
    c_str, check_owner, monitor, name, out, pointer, quietly, status, string_list,
};
use super::types::{procmon_process_info_t, procmon_process_options_t, procmon_state_t, procmon_t};
use crate::core::{ProcessSpec, ProcessState};
use crate::error::{Error, Result};
use crate::runtime::Monitor;
use std::ffi::{c_char, c_int, CString};
use std::os::unix::ffi::OsStrExt;

/// Creates a monitor with the seed's defaults (threshold 1 s, kill time 5 s,
/// min restart delay 1 s, max 3600 s), its two internal threads started, and
/// already running (the seed's startService done).
///
/// Returns NULL on failure, with procmon_last_error() set. The caller owns the
/// monitor and must destroy it with procmon_free().
#[no_mangle]
pub extern "C" fn procmon_new() -> *mut procmon_t {
    pointer(|| {
        let owner = crate::sys::current_pid();
        let monitor = Monitor::new()?;
        Ok(Box::into_raw(Box::new(procmon_t {
            monitor,
            owner,
            pulled: Default::default(),
        })))
    })
}

/// Stops the service, sends TERM to every child and KILL to those still alive
/// after the kill time, waits until every child has been reaped, delivers every
/// remaining line, joins the internal threads and frees everything. Blocks for
/// up to the kill time. NULL is a no-op. No callback runs after it returns.
///
/// Called from inside a callback it does not block: no callback runs after that
/// one returns, and the same cleanup completes in the background right after.
/// "Inside a callback" means on the thread running it: a callback that hands
/// the work to another thread and waits for it must not have that thread call
/// procmon_free or a callback setter (they would wait for the waiting callback).
/// It does not wait for a grandchild that still holds a pipe.
///
/// In pull mode (procmon_set_delivery()) nobody can take records during the
/// call, so it neither waits for the host nor delivers: the records not taken
/// yet, and whatever the children write until they are reaped, are discarded;
/// the monitor reads and drops the pipes so that no child blocks on one. A host
/// that wants the last lines and EXITED events calls procmon_shutdown() first
/// and takes records until PROCMON_RECORD_END.
///
/// In the child of a fork() it returns at once: it frees the handle and touches
/// nothing else: no thread (they exist only in the parent), no descriptor (the
/// child may have reused their numbers), no child process (no signal, no
/// wait); the internal state the parent's threads hold is left as it is in the
/// child's copy of the memory. The parent's monitor is unaffected.
#[no_mangle]
pub extern "C" fn procmon_free(pm: *mut procmon_t) {
    quietly(|| {
        if !pm.is_null() {
            // SAFETY: by the C contract `pm` came from procmon_new and is freed
            // once; no other call on it is in progress or follows.
            let handle = unsafe { Box::from_raw(pm) };
            if check_owner(&handle).is_err() {
                let procmon_t { monitor, .. } = *handle;
                monitor.abandon();
            }
        }
        Ok(())
    })
}

/// Runs `f` on the monitor behind `pm`, inside the panic boundary.
fn with_monitor(pm: *mut procmon_t, f: impl FnOnce(&Monitor) -> Result<()>) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle from procmon_new.
        let monitor = unsafe { monitor(pm) }?;
        f(monitor)
    })
}

/// Runs `f` with the monitor and a checked process name.
fn with_process(
    pm: *mut procmon_t,
    process: *const c_char,
    f: impl FnOnce(&Monitor, &str) -> Result<()>,
) -> c_int {
    with_monitor(pm, |monitor| {
        // SAFETY: by the C contract `process` is NULL or a NUL-terminated string.
        let process = unsafe { name(process) }?;
        f(monitor, process)
    })
}

/// Sets how long (seconds) a child must live for its death not to count as
/// instant. Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL monitor; NaN,
/// infinite or negative value). Takes effect for every later decision.
/// May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_set_threshold(pm: *mut procmon_t, seconds: f64) -> c_int {
    with_monitor(pm, |m| m.set_threshold(seconds))
}

/// Sets the grace (seconds) between TERM and KILL. Codes as procmon_set_threshold().
#[no_mangle]
pub extern "C" fn procmon_set_kill_time(pm: *mut procmon_t, seconds: f64) -> c_int {
    with_monitor(pm, |m| m.set_kill_time(seconds))
}

/// Sets the first backoff delay (seconds), also the delay after a reset; a
/// process's delay starts at the value in force when it is added.
/// Codes as procmon_set_threshold().
#[no_mangle]
pub extern "C" fn procmon_set_min_restart_delay(pm: *mut procmon_t, seconds: f64) -> c_int {
    with_monitor(pm, |m| m.set_min_restart_delay(seconds))
}

/// Sets the cap (seconds) of the doubling backoff. Codes as procmon_set_threshold().
#[no_mangle]
pub extern "C" fn procmon_set_max_restart_delay(pm: *mut procmon_t, seconds: f64) -> c_int {
    with_monitor(pm, |m| m.set_max_restart_delay(seconds))
}

/// Registers the process `name` (unique, non-empty UTF-8) running `argv`
/// (NULL-terminated; argv[0] is the program, searched in the host's PATH when it
/// holds no '/'). `opts` may be NULL (inherit environment, cwd, uid and gid; stop
/// only the child, not its process group).
/// Everything is copied before the call returns. PATH and the inherited
/// environment are read at each spawn (restarts too), on the monitor's thread:
/// as in any threaded program, change the host's environment (setenv) only while
/// no spawn can happen.
///
/// If the service is running, the child has been spawned (or its spawn has
/// failed, reported by a SPAWN_FAILED event and retried with backoff) when the
/// call returns. Blocks for the spawn. May be called from a callback.
///
/// Returns PROCMON_OK; PROCMON_ERR_INVALID (NULL monitor, name or argv; empty or
/// non-UTF-8 name; no program; an env entry without '='; empty cwd; uid or gid
/// too large); PROCMON_ERR_EXISTS (name already monitored); PROCMON_ERR_STATE
/// (the monitor is shutting down).
#[no_mangle]
pub extern "C" fn procmon_add_process(
    pm: *mut procmon_t,
    name: *const c_char,
    argv: *const *const c_char,
    opts: *const procmon_process_options_t,
) -> c_int {
    with_process(pm, name, |monitor, name| {
        // SAFETY: by the C contract argv is NULL or a NULL-terminated array of strings.
        let argv = unsafe { string_list(argv) }.ok_or_else(|| Error::invalid("argv is NULL"))?;
        let mut spec = ProcessSpec::new(argv)?;
        // SAFETY: by the C contract opts is NULL or points to an options struct.
        if let Some(opts) = unsafe { opts.as_ref() } {
            // SAFETY: as argv.
            if let Some(env) = unsafe { string_list(opts.env) } {
                spec = spec.with_env(env)?;
            }
            if !opts.cwd.is_null() {
                // SAFETY: a non-NULL cwd is a NUL-terminated string.
                spec = spec.with_cwd(unsafe { c_str(opts.cwd, "cwd") }?.to_bytes())?;
            }
            if let Some(uid) = id(opts.uid, "uid")? {
                spec = spec.with_uid(uid);
            }
            if let Some(gid) = id(opts.gid, "gid")? {
                spec = spec.with_gid(gid);
            }
            spec = spec.with_process_group_stop(opts.stop_process_group);
        }
        monitor.add_process(name, spec)
    })
}

/// A uid or gid: negative means inherit.
pub(crate) fn id(value: i64, what: &str) -> Result<Option<u32>> {
    if value < 0 {
        return Ok(None);
    }
    match u32::try_from(value) {
        Ok(id) if id != u32::MAX => Ok(Some(id)),
        _ => Err(Error::invalid(format!("{what} {value} is out of range"))),
    }
}

/// Stops the child (TERM, then KILL after the kill time) and forgets `name`; it is
/// never restarted, and its last run still reports KILLED (if needed) and EXITED.
/// The name can be added again at once. Does not wait for the exit.
/// Returns PROCMON_OK, PROCMON_ERR_INVALID or PROCMON_ERR_NOT_FOUND.
/// May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_remove_process(pm: *mut procmon_t, name: *const c_char) -> c_int {
    with_process(pm, name, |m, name| m.remove_process(name))
}

/// Spawns the child if it is not running; no-op if it is. Returns PROCMON_OK,
/// PROCMON_ERR_INVALID, PROCMON_ERR_NOT_FOUND or PROCMON_ERR_STATE (shutting
/// down). Blocks for the spawn. May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_start_process(pm: *mut procmon_t, name: *const c_char) -> c_int {
    with_process(pm, name, |m, name| m.start_process(name))
}

/// Sends TERM (done when the call returns); KILL follows after the kill time if
/// the child is still alive. No-op if it is not running. While the service runs,
/// the child is then restarted as after any exit. Returns PROCMON_OK,
/// PROCMON_ERR_INVALID or PROCMON_ERR_NOT_FOUND. May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_stop_process(pm: *mut procmon_t, name: *const c_char) -> c_int {
    with_process(pm, name, |m, name| m.stop_process(name))
}

/// Sends `signal` (1 to 64, e.g. SIGHUP to reload) to the running child of
/// `name`, or with `whole_unit` to every process of its unit: its cgroup under
/// CGROUP (or AUTO where it got one), else its process group (each child leads
/// its own, whatever its containment). Not a restart, not a stop: the
/// supervision goes on as before. Done when the call returns.
/// Returns PROCMON_OK; PROCMON_ERR_INVALID (NULL monitor or name; not a signal
/// number); PROCMON_ERR_NOT_FOUND; PROCMON_ERR_STATE (not running: no child, or
/// it has exited and is being reaped). May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_signal_process(
    pm: *mut procmon_t,
    name: *const c_char,
    signal: c_int,
    whole_unit: bool,
) -> c_int {
    with_process(pm, name, |m, name| {
        m.signal_process(name, signal, whole_unit)
    })
}

/// Sets the directory under which the monitor makes the cgroups of CGROUP and
/// AUTO processes (from the next spawn on: a child already running stays in its
/// cgroup under the previous root, which the monitor leaves with the last of
/// them): an absolute path on a cgroup v2 file
/// system that this process can make directories in (made if missing, when its
/// parent is a cgroup). Without it the root is `procmon` under the monitor
/// process's own cgroup, found from /proc/self/cgroup and /proc/self/mountinfo
/// (wherever cgroup v2 is mounted). Under a root, each monitor makes a
/// directory of its own (`m<pid>.<start>.<n>`) and one cgroup per run in it
/// (`r<run>`); when it sets a root, or makes its first cgroup, a monitor empties
/// (KILL) and removes what monitors that died left under that root.
/// Blocks while it cleans up (at most a few seconds). May be called from a callback.
/// Returns PROCMON_OK; PROCMON_ERR_INVALID (NULL monitor or root; a root that
/// is not absolute, does not exist, is not on cgroup v2, or is not writable:
/// procmon_last_error() says which); PROCMON_ERR_SYSTEM (making the monitor's
/// directory failed).
#[no_mangle]
pub extern "C" fn procmon_set_cgroup_root(pm: *mut procmon_t, root: *const c_char) -> c_int {
    with_monitor(pm, |m| {
        // SAFETY: by the C contract `root` is NULL or a NUL-terminated string.
        let root = unsafe { c_str(root, "the cgroup root") }?;
        let root = std::path::Path::new(std::ffi::OsStr::from_bytes(root.to_bytes()));
        if root.as_os_str().is_empty() {
            return Err(Error::invalid("the cgroup root is empty"));
        }
        m.set_cgroup_root(root)
    })
}

/// procmon_stop_process() for every monitored process. Returns PROCMON_OK or
/// PROCMON_ERR_INVALID (NULL monitor). May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_restart_all(pm: *mut procmon_t) -> c_int {
    with_monitor(pm, |m| m.restart_all())
}

/// The seed's startService: marks the service running and starts every process
/// that is not running. Returns PROCMON_OK, PROCMON_ERR_INVALID or
/// PROCMON_ERR_STATE (shutting down). May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_start(pm: *mut procmon_t) -> c_int {
    with_monitor(pm, |m| m.start())
}

/// The seed's stopService: marks the service not running, cancels every
/// scheduled restart and stops every child; returns without waiting. While
/// stopped, procmon_add_process() registers without spawning. Returns PROCMON_OK
/// or PROCMON_ERR_INVALID. May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_stop(pm: *mut procmon_t) -> c_int {
    with_monitor(pm, |m| m.stop())
}

/// Writes the child's current pid, or 0 when it is not running, to `*pid`
/// (written only on success). Returns PROCMON_OK, PROCMON_ERR_INVALID (NULL
/// argument) or PROCMON_ERR_NOT_FOUND. May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_process_pid(
    pm: *mut procmon_t,
    name: *const c_char,
    pid: *mut i32,
) -> c_int {
    with_process(pm, name, |m, name| {
        // SAFETY: by the C contract `pid` is NULL or writable.
        let pid = unsafe { out(pid, "the pid pointer") }?;
        *pid = m.pid(name)?;
        Ok(())
    })
}

/// Writes a consistent snapshot of one process to `*info` (written only on
/// success). Returns PROCMON_OK, PROCMON_ERR_INVALID (NULL argument) or
/// PROCMON_ERR_NOT_FOUND. May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_process_info(
    pm: *mut procmon_t,
    name: *const c_char,
    info: *mut procmon_process_info_t,
) -> c_int {
    with_process(pm, name, |m, name| {
        // SAFETY: by the C contract `info` is NULL or writable.
        let info = unsafe { out(info, "the info pointer") }?;
        let snapshot = m.info(name)?;
        let last = snapshot.last_exit;
        *info = procmon_process_info_t {
            state: match snapshot.state {
                ProcessState::Stopped => procmon_state_t::PROCMON_STATE_STOPPED,
                ProcessState::Running => procmon_state_t::PROCMON_STATE_RUNNING,
                ProcessState::Stopping => procmon_state_t::PROCMON_STATE_STOPPING,
                ProcessState::Backoff => procmon_state_t::PROCMON_STATE_BACKOFF,
                ProcessState::Failed => procmon_state_t::PROCMON_STATE_FAILED,
                ProcessState::Starting => procmon_state_t::PROCMON_STATE_STARTING,
            },
            pid: snapshot.pid,
            starts: snapshot.starts,
            uptime: snapshot.uptime.as_secs_f64(),
            restart_delay: snapshot.restart_delay.as_secs_f64(),
            last_exit_code: last.map_or(-1, |status| status.code()),
            last_signal: last.map_or(0, |status| status.signal()),
        };
        Ok(())
    })
}

/// The seed's repr: `<ProcessMonitor 'foo'(1:2): ['arg1', 'arg2'] 'bar': ['x']>`,
/// in the order the names were added. The caller frees it with
/// procmon_string_free(). NULL on failure (NULL monitor), with
/// procmon_last_error() set. May be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_describe(pm: *mut procmon_t) -> *mut c_char {
    pointer(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle from procmon_new.
        let monitor = unsafe { monitor(pm) }?;
        let text = monitor.describe()?;
        let text = CString::new(text).map_err(|_| Error::internal("describe produced a NUL"))?;
        Ok(text.into_raw())
    })
}
