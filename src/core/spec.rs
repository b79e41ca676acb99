//! What a monitored process is: its name and the parameters of each spawn
//! (the seed's `_Process`).

use crate::error::{Error, Result};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::ffi::{CStr, CString};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use super::{Readiness, Settings};

/// A process name: non-empty UTF-8 without NUL. Cheap to clone; also kept
/// NUL-terminated so it can be handed to C callbacks without a copy.
/// Compares and hashes as its text, so maps keyed by `Name` answer `&str` lookups.
#[derive(Clone)]
pub struct Name(Arc<str>); // the name followed by one '\0'

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Name {
    pub fn new(name: &str) -> Result<Name> {
        if name.is_empty() {
            return Err(Error::invalid("the process name is empty"));
        }
        if name.contains('\0') {
            return Err(Error::invalid("the process name contains a NUL byte"));
        }
        Ok(Name(format!("{name}\0").into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    /// The name as a pointer to a NUL-terminated string (valid as long as this
    /// `Name`), without the scan that [`as_c_str`](Self::as_c_str) makes.
    pub fn as_ptr(&self) -> *const std::ffi::c_char {
        self.0.as_ptr().cast()
    }

    /// The name as a C string (valid as long as this `Name`).
    pub fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_with_nul(self.0.as_bytes()).expect("a Name holds exactly one NUL, last")
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters of one monitored process (the seed's `_Process`): argv, and
/// optionally how to spawn it (environment, working directory, uid, gid, resource
/// limits) and how to supervise it (restart policy, success codes, start limit,
/// stop signal, and the monitor's timings overridden for it alone).
///
/// Kept small, as there is one per monitored process: the settings most processes
/// never set live in a box of their own, allocated only when one is set. A
/// process added with defaults follows the monitor's settings, even later ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Shared, like the options, by the processes added from one spec.
    argv: Arc<[CString]>,
    /// Shared by the processes added from one spec (copied on a change), so a
    /// thousand adds of one spec hold one copy.
    options: Option<Arc<Options>>,
}

/// What a process does after its child exits (API.md "Restart policies").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    /// The seed: every exit is followed by a restart.
    #[default]
    Always,
    /// A restart unless the exit is a success.
    OnFailure,
    /// No exit is followed by a restart.
    Never,
}

/// At most `burst` starts within any `interval`; past it the process gives up,
/// and is tried again `retry_after` later (never, when zero) with a fresh count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartLimit {
    pub burst: u32,
    pub interval: Duration,
    pub retry_after: Duration,
}

/// What a stop reaches, and what must be empty before a restart (API.md
/// "Containment"). The core only carries it: the runtime makes the units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Containment {
    /// Only the child itself is signalled (the seed; `procmon_add_process`).
    #[default]
    None,
    /// The child's process group.
    Group,
    /// A cgroup v2 of its own.
    Cgroup,
    /// CGROUP where one can be made, else GROUP (the C spec's default).
    Auto,
}

/// A resource limit applied in the child before exec (`setrlimit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    /// An `RLIMIT_*` number (Linux's: 0 to 15).
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// The highest `RLIMIT_*` number, `RLIMIT_RTTIME`.
const LAST_RESOURCE: i32 = 15;
/// The highest signal number, `SIGRTMAX`.
const LAST_SIGNAL: i32 = 64;
const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;
const SIGSTOP: i32 = 19;

/// What [`ProcessSpec`] holds beyond argv; all unset by default.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Options {
    env: Option<Vec<CString>>,
    /// Set (`Some`) or removed (`None`) on top of the base environment, in order.
    env_vars: Vec<(CString, Option<CString>)>,
    cwd: Option<CString>,
    uid: Option<u32>,
    gid: Option<u32>,
    rlimits: Vec<Rlimit>,
    /// Stopping signals the child's whole process group.
    stop_group: bool,
    containment: Containment,
    restart: RestartPolicy,
    /// Exit statuses that count as success.
    success_codes: Vec<i32>,
    stop_signal: i32,
    start_limit: Option<StartLimit>,
    /// The monitor's settings, overridden for this process where set.
    threshold: Option<Duration>,
    kill_time: Option<Duration>,
    restart_delays: Option<(Duration, Duration)>,
    /// Readiness, watchdog and start order; None: the 0.1 shape (ready on
    /// start, no READY event).
    readiness: Option<Box<Readiness>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            env: None,
            env_vars: Vec::new(),
            cwd: None,
            uid: None,
            gid: None,
            rlimits: Vec::new(),
            stop_group: false,
            containment: Containment::None,
            restart: RestartPolicy::Always,
            success_codes: vec![0],
            stop_signal: SIGTERM,
            start_limit: None,
            threshold: None,
            kill_time: None,
            restart_delays: None,
            readiness: None,
        }
    }
}

/// The defaults, for the accessors of a spec without options.
static DEFAULTS: std::sync::LazyLock<Options> = std::sync::LazyLock::new(Options::default);

fn c_string(bytes: Vec<u8>, what: &str) -> Result<CString> {
    CString::new(bytes).map_err(|_| Error::invalid(format!("{what} contains a NUL byte")))
}

impl ProcessSpec {
    /// `argv[0]` is the program; it must be present and non-empty.
    pub fn new<I, S>(argv: I) -> Result<ProcessSpec>
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        let argv = argv
            .into_iter()
            .map(|arg| c_string(arg.into(), "an argument"))
            .collect::<Result<Arc<[_]>>>()?;
        match argv.first() {
            None => {
                return Err(Error::invalid(
                    "argv is empty: it needs at least the program",
                ))
            }
            Some(program) if program.is_empty() => {
                return Err(Error::invalid("argv[0], the program, is empty"))
            }
            Some(_) => {}
        }
        Ok(ProcessSpec {
            argv,
            options: None,
        })
    }

    /// Takes `other`'s options when they are equal to this spec's, so that
    /// processes added with the same settings, from specs made one by one,
    /// hold one copy of them.
    pub fn share_options(&mut self, other: &ProcessSpec) {
        if let (Some(mine), Some(theirs)) = (&self.options, &other.options) {
            if !Arc::ptr_eq(mine, theirs) && mine == theirs {
                self.options = Some(Arc::clone(theirs));
            }
        }
    }

    /// The options to change: this spec's own copy (copied on the first
    /// change when it shares them).
    fn options_mut(&mut self) -> &mut Options {
        Arc::make_mut(self.options.get_or_insert_with(Default::default))
    }

    fn options(&self) -> &Options {
        self.options.as_deref().unwrap_or(&DEFAULTS)
    }

    /// The child's whole environment as `KEY=VALUE` entries (an empty list is an
    /// empty environment). Without this call the host's environment is inherited.
    pub fn with_env<I, S>(mut self, env: I) -> Result<ProcessSpec>
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        let env = env
            .into_iter()
            .map(|entry| {
                let entry = c_string(entry.into(), "an environment entry")?;
                match entry.as_bytes().iter().position(|&b| b == b'=') {
                    Some(0) | None => Err(Error::invalid(format!(
                        "environment entry {:?} is not of the form KEY=VALUE",
                        String::from_utf8_lossy(entry.as_bytes())
                    ))),
                    Some(_) => Ok(entry),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        self.options_mut().env = Some(env);
        Ok(self)
    }

    /// The inherited environment again (the default).
    pub fn with_inherited_env(mut self) -> ProcessSpec {
        if self.options.is_some() {
            self.options_mut().env = None;
        }
        self
    }

    /// Sets `key` to `value` on top of the base environment (inherited or given),
    /// or removes it (`None`). A later call for the same key replaces an earlier one.
    pub fn with_env_var(
        mut self,
        key: impl Into<Vec<u8>>,
        value: Option<impl Into<Vec<u8>>>,
    ) -> Result<ProcessSpec> {
        let key = c_string(key.into(), "the environment variable's name")?;
        if key.is_empty() {
            return Err(Error::invalid("the environment variable's name is empty"));
        }
        if key.as_bytes().contains(&b'=') {
            return Err(Error::invalid(format!(
                "the environment variable's name {:?} holds '='",
                String::from_utf8_lossy(key.as_bytes())
            )));
        }
        let value = value
            .map(|v| c_string(v.into(), "the environment variable's value"))
            .transpose()?;
        let vars = &mut self.options_mut().env_vars;
        vars.retain(|(k, _)| *k != key);
        vars.push((key, value));
        Ok(self)
    }

    pub fn with_cwd(mut self, cwd: impl Into<Vec<u8>>) -> Result<ProcessSpec> {
        let cwd = c_string(cwd.into(), "the working directory")?;
        if cwd.is_empty() {
            return Err(Error::invalid("the working directory is empty"));
        }
        self.options_mut().cwd = Some(cwd);
        Ok(self)
    }

    /// The inherited working directory again (the default).
    pub fn with_inherited_cwd(mut self) -> ProcessSpec {
        if self.options.is_some() {
            self.options_mut().cwd = None;
        }
        self
    }

    pub fn with_uid(mut self, uid: u32) -> ProcessSpec {
        self.options_mut().uid = Some(uid);
        self
    }

    pub fn with_gid(mut self, gid: u32) -> ProcessSpec {
        self.options_mut().gid = Some(gid);
        self
    }

    /// The user and group: `None` inherits.
    pub fn with_user(mut self, uid: Option<u32>, gid: Option<u32>) -> ProcessSpec {
        if uid.is_some() || gid.is_some() || self.options.is_some() {
            let options = self.options_mut();
            options.uid = uid;
            options.gid = gid;
        }
        self
    }

    /// Whether stopping the child signals its whole process group (its own
    /// children too) rather than the child alone.
    pub fn with_process_group_stop(mut self, stop_group: bool) -> ProcessSpec {
        if stop_group || self.options.is_some() {
            self.options_mut().stop_group = stop_group;
        }
        self
    }

    /// A resource limit for the child; a later one for the same resource replaces it.
    pub fn with_rlimit(mut self, resource: i32, soft: u64, hard: u64) -> Result<ProcessSpec> {
        if !(0..=LAST_RESOURCE).contains(&resource) {
            return Err(Error::invalid(format!(
                "rlimit resource {resource} is not an RLIMIT_* value (0 to {LAST_RESOURCE})"
            )));
        }
        if soft > hard {
            return Err(Error::invalid(format!(
                "rlimit {resource}: the soft limit {soft} is above the hard limit {hard}"
            )));
        }
        let resource = resource as u32;
        let rlimits = &mut self.options_mut().rlimits;
        rlimits.retain(|r| r.resource != resource);
        rlimits.push(Rlimit {
            resource,
            soft,
            hard,
        });
        Ok(self)
    }

    pub fn with_containment(mut self, containment: Containment) -> ProcessSpec {
        if containment != Containment::None || self.options.is_some() {
            self.options_mut().containment = containment;
        }
        self
    }

    pub fn with_restart(mut self, policy: RestartPolicy) -> ProcessSpec {
        if policy != RestartPolicy::Always || self.options.is_some() {
            self.options_mut().restart = policy;
        }
        self
    }

    /// The exit statuses that count as success (default: 0 alone).
    pub fn with_success_codes(mut self, codes: impl Into<Vec<i32>>) -> ProcessSpec {
        self.options_mut().success_codes = codes.into();
        self
    }

    /// What a stop sends first (default SIGTERM); KILL follows after the kill time.
    pub fn with_stop_signal(mut self, signal: i32) -> Result<ProcessSpec> {
        check_signal(signal, "the stop signal")?;
        if signal == SIGKILL || signal == SIGSTOP {
            return Err(Error::invalid(format!(
                "the stop signal cannot be {} (it cannot be caught, and KILL follows anyway)",
                if signal == SIGKILL {
                    "SIGKILL"
                } else {
                    "SIGSTOP"
                }
            )));
        }
        self.options_mut().stop_signal = signal;
        Ok(self)
    }

    /// At most `burst` starts within any `interval` (`burst` 0: no limit).
    pub fn with_start_limit(mut self, limit: StartLimit) -> ProcessSpec {
        self.options_mut().start_limit = (limit.burst > 0).then_some(limit);
        self
    }

    /// This process's threshold, instead of the monitor's.
    pub fn with_threshold(mut self, threshold: Duration) -> ProcessSpec {
        self.options_mut().threshold = Some(threshold);
        self
    }

    /// This process's kill time, instead of the monitor's.
    pub fn with_kill_time(mut self, kill_time: Duration) -> ProcessSpec {
        self.options_mut().kill_time = Some(kill_time);
        self
    }

    /// This process's restart delays, instead of the monitor's.
    pub fn with_restart_delays(mut self, min: Duration, max: Duration) -> Result<ProcessSpec> {
        if min > max {
            return Err(Error::invalid(format!(
                "the minimum restart delay ({} s) is above the maximum ({} s)",
                min.as_secs_f64(),
                max.as_secs_f64()
            )));
        }
        self.options_mut().restart_delays = Some((min, max));
        Ok(self)
    }

    pub fn argv(&self) -> &[CString] {
        &self.argv
    }

    pub fn program(&self) -> &CStr {
        &self.argv[0]
    }

    pub fn env(&self) -> Option<&[CString]> {
        self.options().env.as_deref()
    }

    /// Variables set or removed on top of [`env`](Self::env) (or the host's).
    pub fn env_vars(&self) -> &[(CString, Option<CString>)] {
        &self.options().env_vars
    }

    pub fn cwd(&self) -> Option<&CStr> {
        self.options().cwd.as_deref()
    }

    pub fn uid(&self) -> Option<u32> {
        self.options().uid
    }

    pub fn gid(&self) -> Option<u32> {
        self.options().gid
    }

    pub fn rlimits(&self) -> &[Rlimit] {
        &self.options().rlimits
    }

    pub fn stops_process_group(&self) -> bool {
        self.options().stop_group
    }

    /// The containment asked for; `procmon_add_process`'s `stop_process_group`
    /// is GROUP.
    pub fn containment(&self) -> Containment {
        match self.options().containment {
            Containment::None if self.stops_process_group() => Containment::Group,
            mode => mode,
        }
    }

    pub fn restart(&self) -> RestartPolicy {
        self.options().restart
    }

    pub fn success_codes(&self) -> &[i32] {
        &self.options().success_codes
    }

    pub fn stop_signal(&self) -> i32 {
        self.options().stop_signal
    }

    pub fn start_limit(&self) -> Option<StartLimit> {
        self.options().start_limit
    }

    /// Readiness, watchdog and start order as set (see [`Readiness`]); None for
    /// a spec that never had them set (`procmon_add_process`'s: it reports no
    /// READY, so its events stay 0.1's).
    pub fn readiness(&self) -> Option<&Readiness> {
        self.options().readiness.as_deref()
    }

    /// Changes the readiness settings (starting from the defaults, which a spec
    /// made by `procmon_spec_new` has from the start).
    pub fn with_readiness(mut self, change: impl FnOnce(&mut Readiness)) -> ProcessSpec {
        let readiness = self
            .options_mut()
            .readiness
            .get_or_insert_with(Box::default);
        change(readiness);
        self
    }

    /// The monitor's settings with this process's overrides applied.
    pub fn settings(&self, monitor: &Settings) -> Settings {
        let Some(options) = self.options.as_deref() else {
            return *monitor;
        };
        let (min, max) = options
            .restart_delays
            .unwrap_or((monitor.min_restart_delay, monitor.max_restart_delay));
        Settings {
            threshold: options.threshold.unwrap_or(monitor.threshold),
            kill_time: options.kill_time.unwrap_or(monitor.kill_time),
            min_restart_delay: min,
            max_restart_delay: max,
        }
    }
}

/// A signal number: 1 to 64. `what` names the setting in the error.
pub fn check_signal(signal: i32, what: &str) -> Result<()> {
    if !(1..=LAST_SIGNAL).contains(&signal) {
        return Err(Error::invalid(format!(
            "{what} {signal} is not a signal number (1 to {LAST_SIGNAL})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn name_rules() {
        assert_eq!(Name::new("").unwrap_err().kind(), ErrorKind::Invalid);
        assert_eq!(Name::new("a\0b").unwrap_err().kind(), ErrorKind::Invalid);
        let n = Name::new("web").unwrap();
        assert_eq!(n.as_str(), "web");
        assert_eq!(n.as_c_str().to_bytes_with_nul(), b"web\0");
        let mut map = std::collections::HashMap::new();
        map.insert(n.clone(), 1);
        assert_eq!(map.get("web"), Some(&1), "lookups by &str find a Name");
    }

    #[test]
    fn argv_needs_a_program() {
        let none: [&str; 0] = [];
        assert_eq!(
            ProcessSpec::new(none).unwrap_err().kind(),
            ErrorKind::Invalid
        );
        assert_eq!(
            ProcessSpec::new([""]).unwrap_err().kind(),
            ErrorKind::Invalid
        );
        assert_eq!(
            ProcessSpec::new(["a\0"]).unwrap_err().kind(),
            ErrorKind::Invalid
        );
        assert_eq!(
            ProcessSpec::new(["true"]).unwrap().program().to_bytes(),
            b"true"
        );
    }

    #[test]
    fn equal_options_are_shared_and_a_change_copies_them() {
        let make = || {
            ProcessSpec::new(["a"])
                .unwrap()
                .with_restart(RestartPolicy::Never)
        };
        let (first, mut second) = (make(), make());
        let ptr = |s: &ProcessSpec| Arc::as_ptr(s.options.as_ref().unwrap());
        assert_ne!(ptr(&first), ptr(&second));
        second.share_options(&first);
        assert_eq!(ptr(&first), ptr(&second), "equal options: one copy");
        let third = second.clone().with_kill_time(Duration::from_secs(2));
        assert_ne!(ptr(&third), ptr(&first), "a change copies");
        assert_eq!(
            first.settings(&Settings::default()).kill_time,
            Duration::from_secs(5)
        );
        let mut other = make().with_stop_signal(2).unwrap();
        other.share_options(&first);
        assert_ne!(ptr(&other), ptr(&first), "different options stay apart");
        assert_eq!(other.stop_signal(), 2);
    }

    #[test]
    fn env_entries_need_a_key() {
        let spec = ProcessSpec::new(["true"]).unwrap();
        assert!(spec.clone().with_env(["A=1", "B="]).is_ok());
        assert!(spec.clone().with_env(["=1"]).is_err());
        assert!(spec.clone().with_env(["NOEQUALS"]).is_err());
        assert!(spec.clone().with_cwd("").is_err());
    }
}
