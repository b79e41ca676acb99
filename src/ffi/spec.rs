//! The process spec (`procmon_spec_t`): every per-process setting of 0.2, built
//! up by setters and copied by `procmon_add`. New settings are new setters, so
//! no struct the caller allocates ever grows (API.md "ABI rules").

#![allow(non_camel_case_types)]

use super::boundary::{
    c_str, enum_value, monitor, name as process_name, pointer, quietly, status, string_list,
};
use super::types::procmon_t;
use crate::core::{seconds as duration, Containment, Name, ProcessSpec, RestartPolicy, StartLimit};
use crate::error::{Error, Result};
use std::ffi::{c_char, c_int};

/// A process spec: what to run and how to supervise it. Opaque; owned by the
/// caller. Create it with procmon_spec_new(), set what differs from the defaults
/// with the procmon_spec_set_* functions, pass it to procmon_add() (which copies
/// it: free it or reuse it for more adds right after), and free it with
/// procmon_spec_free().
///
/// Methods: `procmon_spec_free`, `procmon_spec_set_env`, `procmon_spec_set_env_var`,
/// `procmon_spec_set_cwd`, `procmon_spec_set_user`, `procmon_spec_set_threshold`,
/// `procmon_spec_set_kill_time`, `procmon_spec_set_restart_delays`,
/// `procmon_spec_set_stop_signal`, `procmon_spec_set_restart`,
/// `procmon_spec_set_success_exit_codes`, `procmon_spec_set_start_limit`,
/// `procmon_spec_set_rlimit`; `procmon_spec_set_readiness`,
/// `procmon_spec_set_watchdog`, `procmon_spec_set_after`.
///
/// Thread safety: a spec is a plain value: use one from one thread at a time (or
/// lock it); distinct specs may be used from any threads at once. A setter that
/// fails leaves the spec as it was.
pub struct procmon_spec_t {
    pub(crate) spec: ProcessSpec,
}

/// What a process does after its child exits (procmon_spec_set_restart()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum procmon_restart_t {
    /// The seed: every exit is followed by a restart (the default).
    PROCMON_RESTART_ALWAYS = 0,
    /// A restart unless the exit is a success: an exit with a success code (see
    /// procmon_spec_set_success_exit_codes()) or, during a requested stop, a death
    /// by the stop signal. After a success the process is STOPPED and its EXITED
    /// event carries PROCMON_EXIT_EXPECTED.
    PROCMON_RESTART_ON_FAILURE = 1,
    /// No exit is followed by a restart: the process runs once per start.
    PROCMON_RESTART_NEVER = 2,
}

/// What a stop reaches, and what must be empty before a restart
/// (procmon_spec_set_containment()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum procmon_containment_t {
    /// Only the child itself is signalled (the seed; procmon_add_process()).
    PROCMON_CONTAIN_NONE = 0,
    /// The child's process group (each child leads its own): what leaves the
    /// group (setsid(), setpgid()) escapes.
    PROCMON_CONTAIN_GROUP = 1,
    /// A cgroup v2 of its own for each run: nothing the child starts can escape.
    PROCMON_CONTAIN_CGROUP = 2,
    /// CGROUP where the monitor can make a cgroup, else GROUP (the spec's default).
    PROCMON_CONTAIN_AUTO = 3,
}

/// Runs `f` on the spec behind `spec`, inside the panic boundary; the spec
/// changes only when `f` succeeds.
pub(super) fn with_spec(
    spec: *mut procmon_spec_t,
    f: impl FnOnce(ProcessSpec) -> Result<ProcessSpec>,
) -> c_int {
    status(|| {
        // SAFETY: by the C contract `spec` is NULL or a live spec from
        // procmon_spec_new, used by one thread at a time.
        let handle = unsafe { spec.as_mut() }.ok_or_else(|| Error::invalid("the spec is NULL"))?;
        handle.spec = f(handle.spec.clone())?;
        Ok(())
    })
}

/// A spec for the NULL-terminated `argv` (copied; argv[0] is the program,
/// searched in the host's PATH when it holds no '/'), every setting at its
/// default: the host's environment and working directory, its uid and gid, the
/// monitor's threshold, kill time and restart delays (following later changes
/// of them), restart ALWAYS, success code 0, stop signal SIGTERM, no start limit,
/// no resource limit, containment AUTO, readiness ON_START (with a READY
/// event), no watchdog, no start order.
///
/// Returns NULL for a NULL or empty argv or an empty argv[0], with
/// procmon_last_error() set. The caller owns the spec: procmon_spec_free().
/// Never blocks; may be called from a callback.
#[no_mangle]
pub extern "C" fn procmon_spec_new(argv: *const *const c_char) -> *mut procmon_spec_t {
    pointer(|| {
        // SAFETY: by the C contract argv is NULL or a NULL-terminated array of strings.
        let argv = unsafe { string_list(argv) }.ok_or_else(|| Error::invalid("argv is NULL"))?;
        // Readiness at its defaults: a spec'd process reports READY.
        let spec = ProcessSpec::new(argv)?
            .with_containment(Containment::Auto)
            .with_readiness(|_| {});
        Ok(Box::into_raw(Box::new(procmon_spec_t { spec })))
    })
}

/// Frees a spec. NULL is a no-op. A spec may be freed right after procmon_add()
/// (which copies it).
#[no_mangle]
pub extern "C" fn procmon_spec_free(spec: *mut procmon_spec_t) {
    quietly(|| {
        if !spec.is_null() {
            // SAFETY: by the C contract `spec` came from procmon_spec_new and is
            // freed once, with no other call on it in progress.
            drop(unsafe { Box::from_raw(spec) });
        }
        Ok(())
    })
}

/// The base environment: `env` a NULL-terminated "KEY=VALUE" list (copied; an
/// empty list is an empty environment), or NULL to inherit the host's (the
/// default). procmon_spec_set_env_var() applies on top of either.
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; an entry without a
/// key before its '=').
#[no_mangle]
pub extern "C" fn procmon_spec_set_env(
    spec: *mut procmon_spec_t,
    env: *const *const c_char,
) -> c_int {
    with_spec(spec, |s| {
        // SAFETY: by the C contract env is NULL or a NULL-terminated array of strings.
        match unsafe { string_list(env) } {
            Some(env) => s.with_env(env),
            None => Ok(s.with_inherited_env()),
        }
    })
}

/// Sets `key` to `value` on top of the base environment, inherited or not;
/// `value` NULL removes `key` from it. A later call for the same key replaces
/// the earlier one. Both are copied.
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec or key; an empty key or
/// one holding '=').
#[no_mangle]
pub extern "C" fn procmon_spec_set_env_var(
    spec: *mut procmon_spec_t,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    with_spec(spec, |s| {
        // SAFETY: by the C contract key is NULL or a NUL-terminated string.
        let key = unsafe { c_str(key, "the environment variable's name") }?;
        let value = if value.is_null() {
            None
        } else {
            // SAFETY: a non-NULL value is a NUL-terminated string.
            Some(unsafe { c_str(value, "the environment variable's value") }?.to_bytes())
        };
        s.with_env_var(key.to_bytes(), value)
    })
}

/// The working directory (copied); NULL inherits the host's (the default).
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; an empty cwd).
#[no_mangle]
pub extern "C" fn procmon_spec_set_cwd(spec: *mut procmon_spec_t, cwd: *const c_char) -> c_int {
    with_spec(spec, |s| {
        if cwd.is_null() {
            return Ok(s.with_inherited_cwd());
        }
        // SAFETY: a non-NULL cwd is a NUL-terminated string.
        s.with_cwd(unsafe { c_str(cwd, "cwd") }?.to_bytes())
    })
}

/// The user and group the child runs as; `< 0` inherits the host's (the
/// default), as in procmon_process_options_t. The host needs the privilege to
/// switch (else each start is a SPAWN_FAILED with EPERM).
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; an id too large).
#[no_mangle]
pub extern "C" fn procmon_spec_set_user(spec: *mut procmon_spec_t, uid: i64, gid: i64) -> c_int {
    with_spec(spec, |s| {
        Ok(s.with_user(
            super::monitor::id(uid, "uid")?,
            super::monitor::id(gid, "gid")?,
        ))
    })
}

/// This process's threshold (seconds), instead of the monitor's
/// (procmon_set_threshold()); without it the process follows the monitor's,
/// even one changed later. Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL
/// spec; NaN, infinite or negative seconds).
#[no_mangle]
pub extern "C" fn procmon_spec_set_threshold(spec: *mut procmon_spec_t, seconds: f64) -> c_int {
    with_spec(spec, |s| {
        Ok(s.with_threshold(duration(seconds, "the spec's threshold")?))
    })
}

/// This process's kill time (seconds between the stop signal and KILL), as
/// procmon_spec_set_threshold() does for the threshold. Same codes.
#[no_mangle]
pub extern "C" fn procmon_spec_set_kill_time(spec: *mut procmon_spec_t, seconds: f64) -> c_int {
    with_spec(spec, |s| {
        Ok(s.with_kill_time(duration(seconds, "the spec's kill time")?))
    })
}

/// This process's restart delays (seconds): the first backoff delay and its
/// cap, as procmon_spec_set_threshold() does for the threshold. Returns
/// PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; NaN, infinite or negative
/// seconds; `min_s > max_s`).
#[no_mangle]
pub extern "C" fn procmon_spec_set_restart_delays(
    spec: *mut procmon_spec_t,
    min_s: f64,
    max_s: f64,
) -> c_int {
    with_spec(spec, |s| {
        let min = duration(min_s, "the spec's minimum restart delay")?;
        let max = duration(max_s, "the spec's maximum restart delay")?;
        s.with_restart_delays(min, max)
    })
}

/// What a stop (procmon_stop_process(), procmon_remove_process(),
/// procmon_restart_all(), procmon_stop(), procmon_free()) sends first; default
/// SIGTERM. KILL still follows after the kill time.
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; not a signal number
/// 1 to 64; SIGKILL or SIGSTOP).
#[no_mangle]
pub extern "C" fn procmon_spec_set_stop_signal(spec: *mut procmon_spec_t, signal: c_int) -> c_int {
    with_spec(spec, |s| s.with_stop_signal(signal))
}

/// The restart policy: a `procmon_restart_t` value (passed as an int).
/// procmon_stop_process() under ON_FAILURE or NEVER stops the child and leaves
/// the process STOPPED; procmon_restart_all() restarts every process that was
/// running, whatever its policy; a STOPPED process starts again by
/// procmon_start_process() and by procmon_start().
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; an unknown value).
#[no_mangle]
pub extern "C" fn procmon_spec_set_restart(spec: *mut procmon_spec_t, policy: c_int) -> c_int {
    with_spec(spec, |s| {
        use procmon_restart_t::*;
        let table = [
            (PROCMON_RESTART_ALWAYS as c_int, RestartPolicy::Always),
            (
                PROCMON_RESTART_ON_FAILURE as c_int,
                RestartPolicy::OnFailure,
            ),
            (PROCMON_RESTART_NEVER as c_int, RestartPolicy::Never),
        ];
        let policy = enum_value(policy, &table, "the restart policy", "procmon_restart_t")?;
        Ok(s.with_restart(policy))
    })
}

/// The exit statuses that count as success: `n` codes at `codes` (copied);
/// default 0 alone; `n` 0 makes no exit status a success. A death by the stop
/// signal during a requested stop is always a success.
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; NULL codes with n > 0).
#[no_mangle]
pub extern "C" fn procmon_spec_set_success_exit_codes(
    spec: *mut procmon_spec_t,
    codes: *const i32,
    n: usize,
) -> c_int {
    with_spec(spec, |s| {
        let codes = if n == 0 {
            Vec::new()
        } else if codes.is_null() {
            return Err(Error::invalid(format!(
                "the success exit codes are NULL with a count of {n}"
            )));
        } else {
            // SAFETY: by the C contract `codes` points to `n` readable int32_t.
            unsafe { std::slice::from_raw_parts(codes, n) }.to_vec()
        };
        Ok(s.with_success_codes(codes))
    })
}

/// At most `burst` starts (spawns attempted, failed ones included) within any
/// `interval_s` seconds. A start that would exceed it is not made: the process
/// becomes FAILED (PROCMON_STATE_FAILED) with a GAVE_UP event. With
/// `retry_after_s > 0` it is tried again that long after, with a fresh count (the
/// GAVE_UP event's `delay`); with 0 it stays FAILED until procmon_start_process()
/// or procmon_start(). `burst` 0 = no limit (the default).
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; NaN, infinite or
/// negative seconds).
#[no_mangle]
pub extern "C" fn procmon_spec_set_start_limit(
    spec: *mut procmon_spec_t,
    burst: u32,
    interval_s: f64,
    retry_after_s: f64,
) -> c_int {
    with_spec(spec, |s| {
        let limit = StartLimit {
            burst,
            interval: duration(interval_s, "the start limit's interval")?,
            retry_after: duration(retry_after_s, "the start limit's retry_after")?,
        };
        Ok(s.with_start_limit(limit))
    })
}

/// A resource limit applied in the child before exec: `resource` an RLIMIT_*
/// value of <sys/resource.h> (RLIMIT_NOFILE, RLIMIT_CORE, ...), `soft` and
/// `hard` as setrlimit takes them (RLIM_INFINITY allowed). A later call for the
/// same resource replaces the earlier one. A limit the kernel refuses at spawn
/// (raising a hard limit without privilege) is a SPAWN_FAILED with its errno.
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; an unknown resource;
/// `soft > hard`).
#[no_mangle]
pub extern "C" fn procmon_spec_set_rlimit(
    spec: *mut procmon_spec_t,
    resource: c_int,
    soft: u64,
    hard: u64,
) -> c_int {
    with_spec(spec, |s| s.with_rlimit(resource, soft, hard))
}

/// How the child and everything it starts are contained: a
/// `procmon_containment_t` value (passed as an int); default
/// PROCMON_CONTAIN_AUTO. Under GROUP, CGROUP and AUTO the child and what it
/// starts are one unit: a stop sends the stop signal to every process of the
/// unit and KILL to those left after the kill time; when the child exits on its
/// own, what is left of its unit is stopped the same way, its EXITED event comes
/// when the child is reaped, and a restart is made only once the unit is empty
/// (so a new run never meets the old one's processes); procmon_free() returns
/// only when every unit is empty.
///
/// CGROUP: each run gets a cgroup v2 of its own under the monitor's cgroup root
/// (see procmon_set_cgroup_root()), which the child joins before it execs (it
/// runs no code of its own outside it): setsid() or a double fork does not
/// escape it. Where no cgroup can be made, each start is a SPAWN_FAILED with the
/// errno (retried with backoff). AUTO decides per run: CGROUP where a cgroup
/// can be made, else GROUP; the STARTED event's `containment` says which, and
/// the first fallback's reason is its `detail`.
/// Returns PROCMON_OK, or PROCMON_ERR_INVALID (NULL spec; an unknown value).
#[no_mangle]
pub extern "C" fn procmon_spec_set_containment(spec: *mut procmon_spec_t, mode: c_int) -> c_int {
    with_spec(spec, |s| {
        use procmon_containment_t::*;
        let table = [
            (PROCMON_CONTAIN_NONE as c_int, Containment::None),
            (PROCMON_CONTAIN_GROUP as c_int, Containment::Group),
            (PROCMON_CONTAIN_CGROUP as c_int, Containment::Cgroup),
            (PROCMON_CONTAIN_AUTO as c_int, Containment::Auto),
        ];
        let mode = enum_value(mode, &table, "the containment", "procmon_containment_t")?;
        Ok(s.with_containment(mode))
    })
}

/// procmon_add_process() with a spec (copied: it may be freed or reused right
/// after): registers the process `name` (unique, non-empty UTF-8). If the
/// service is running, the child has been spawned (or its spawn has failed) when
/// the call returns. Blocks for the spawn. May be called from a callback.
///
/// With a start order (procmon_spec_set_after()) it is spawned only once the
/// processes it comes after are ready, which may be after the call returns.
///
/// Returns PROCMON_OK; PROCMON_ERR_INVALID (NULL monitor, name or spec; empty or
/// non-UTF-8 name; a watchdog without readiness NOTIFY_FD or SD_NOTIFY; a start
/// order naming the process itself or closing a cycle); PROCMON_ERR_EXISTS (name already monitored);
/// PROCMON_ERR_STATE (the monitor is shutting down).
#[no_mangle]
pub extern "C" fn procmon_add(
    pm: *mut procmon_t,
    name: *const c_char,
    spec: *const procmon_spec_t,
) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let monitor = unsafe { monitor(pm) }?;
        // SAFETY: by the C contract `name` is NULL or a NUL-terminated string.
        let name = unsafe { process_name(name) }?;
        // SAFETY: by the C contract `spec` is NULL or a live spec, not being
        // changed during the call.
        let spec = unsafe { spec.as_ref() }.ok_or_else(|| Error::invalid("the spec is NULL"))?;
        monitor.add_process(name, spec.spec.clone())
    })
}

/// procmon_add() for `n` processes in one call to the event loop: `names[i]`
/// with `specs[i]` (copied), in order, each as procmon_add() would add it. All
/// or nothing: every name and spec is checked first, and a NULL, empty or
/// non-UTF-8 name, a name already monitored or given twice in the batch, a NULL
/// spec, or a spec procmon_add() would refuse adds none of them and returns
/// that error, procmon_last_error() naming the index, e.g.
/// `names[3]: a process named "web" is already monitored: remove it first`.
/// `n` 0 is a no-op (`names` and `specs` may then be NULL).
///
/// If the service is running, every child has been spawned (or its spawn has
/// failed) when the call returns, except one that waits for a process it comes
/// after (as with procmon_add()); while it is stopped, they are registered and
/// not spawned. The spawns are made a few dozen at a time, so other calls,
/// exits and restarts are served meanwhile; every name is registered from the
/// start, so a concurrent add of one of them is PROCMON_ERR_EXISTS. A process of
/// the batch stopped, removed or started by another call before its turn is
/// left as that call left it; after procmon_stop() the rest stay registered,
/// not spawned. Use it to start many processes: it costs one round trip to the
/// event loop instead of one per process. Blocks for the spawns. May be called
/// from a callback.
///
/// Returns PROCMON_OK; PROCMON_ERR_INVALID (NULL monitor; NULL `names` or
/// `specs` with `n` > 0; a bad name or spec, as procmon_add()); PROCMON_ERR_EXISTS
/// (a name already monitored, or given twice); PROCMON_ERR_STATE (the monitor is
/// shutting down).
#[no_mangle]
pub extern "C" fn procmon_add_many(
    pm: *mut procmon_t,
    n: usize,
    names: *const *const c_char,
    specs: *const *const procmon_spec_t,
) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let monitor = unsafe { monitor(pm) }?;
        if n == 0 {
            return Ok(());
        }
        if names.is_null() {
            return Err(Error::invalid(format!("names is NULL with n = {n}")));
        }
        if specs.is_null() {
            return Err(Error::invalid(format!("specs is NULL with n = {n}")));
        }
        // SAFETY: by the C contract `names` and `specs` point to `n` readable
        // pointers each.
        let (names, specs) = unsafe {
            (
                std::slice::from_raw_parts(names, n),
                std::slice::from_raw_parts(specs, n),
            )
        };
        let mut entries = Vec::with_capacity(n);
        for (i, (&name, &spec)) in names.iter().zip(specs).enumerate() {
            // SAFETY: by the C contract each name is NULL or a NUL-terminated string.
            let name = unsafe { process_name(name) }
                .and_then(Name::new)
                .map_err(|e| e.at(format_args!("names[{i}]")))?;
            // SAFETY: by the C contract each spec is NULL or a live spec, not
            // being changed during the call.
            let spec = unsafe { spec.as_ref() }
                .ok_or_else(|| Error::invalid(format!("specs[{i}]: the spec is NULL")))?;
            entries.push((name, spec.spec.clone()));
        }
        monitor.add_many(entries)
    })
}
