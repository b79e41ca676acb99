//! The seed's `ProcessMonitor` as a state machine: commands and observations go in
//! with the current time, spawns, signals and events go out through a [`Host`].

use super::{next_restart, python_repr, Name, ProcessSpec, Settings, Time};
use crate::error::{Error, ErrorKind, Result};
use indexmap::IndexMap;
use std::collections::{BTreeSet, HashMap};
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessState {
    /// Not running, no restart scheduled.
    Stopped,
    Running,
    /// TERM sent, not yet exited.
    Stopping,
    /// Exited (or failed to spawn), restart scheduled.
    Backoff,
}

/// A consistent snapshot of one process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcessInfo {
    pub state: ProcessState,
    /// 0 unless running or stopping.
    pub pid: i32,
    /// Successful spawns so far.
    pub starts: u64,
    /// Time since the current run started; zero when not running.
    pub uptime: Duration,
    /// What the next instant death waits (the seed's `delay[name]`).
    pub restart_delay: Duration,
    /// How the last run ended, if one did.
    pub last_exit: Option<ExitStatus>,
}

type ProcId = u64;

#[derive(Debug)]
struct Process {
    id: ProcId,
    spec: ProcessSpec,
    delay: Duration,
    run: Option<RunId>,
    restart_at: Option<Time>,
    starts: u64,
    last_exit: Option<ExitStatus>,
}

#[derive(Debug)]
struct Run {
    name: Name,
    /// The process this run belongs to; `None` once the name was removed.
    owner: Option<ProcId>,
    pid: i32,
    started_at: Time,
    term_sent: bool,
    kill_at: Option<Time>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Restart(Name),
    Kill(RunId),
}

/// The seed's `ProcessMonitor` (its `running` flag, `_processes`, `delay`,
/// `timeStarted`, `murder` and `restart`), without I/O.
#[derive(Debug)]
pub struct Supervisor {
    settings: Settings,
    running: bool,
    /// Boxed values: the tables keep up to twice the slots they use (growth by
    /// doubling), and a slot of a pointer is a quarter of one of a `Process`.
    processes: IndexMap<Name, Box<Process>>,
    runs: HashMap<RunId, Box<Run>>,
    timers: BTreeSet<(Time, Timer)>,
    next_run: u64,
    next_process: ProcId,
}

impl Supervisor {
    /// A supervisor with these settings, not running (the seed before `startService`).
    pub fn new(settings: Settings) -> Supervisor {
        Supervisor {
            settings,
            running: false,
            processes: IndexMap::new(),
            runs: HashMap::new(),
            timers: BTreeSet::new(),
            next_run: 1,
            next_process: 1,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Settings take effect for every later decision.
    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Runs not yet reported as exited, removed names' included.
    pub fn live_runs(&self) -> usize {
        self.runs.len()
    }

    /// The seed's `addProcess`: registers `name`, and starts it if the service runs.
    pub fn add(
        &mut self,
        name: Name,
        spec: ProcessSpec,
        now: Time,
        host: &mut impl Host,
    ) -> Result<()> {
        if self.processes.contains_key(&name) {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("a process named {name:?} is already monitored: remove it first"),
            ));
        }
        let id = self.next_process;
        self.next_process += 1;
        self.processes.insert(
            name.clone(),
            Box::new(Process {
                id,
                spec,
                delay: self.settings.min_restart_delay,
                run: None,
                restart_at: None,
                starts: 0,
                last_exit: None,
            }),
        );
        if self.running {
            self.spawn(&name, now, host);
        }
        Ok(())
    }

    /// The seed's `removeProcess`: stops the child and forgets the name. The last
    /// run still reports KILLED (if needed) and EXITED, and is never restarted.
    pub fn remove(&mut self, name: &str, now: Time, host: &mut impl Host) -> Result<()> {
        self.stop_process(name, now, host)?;
        let (name, process) = self
            .processes
            .shift_remove_entry(name)
            .expect("stop_process found it");
        if let Some(at) = process.restart_at {
            self.timers.remove(&(at, Timer::Restart(name)));
        }
        if let Some(run) = process.run.and_then(|run| self.runs.get_mut(&run)) {
            run.owner = None;
        }
        Ok(())
    }

    /// The seed's `startProcess`: spawns the child unless it is running. A scheduled
    /// restart is replaced by this start.
    pub fn start_process(&mut self, name: &str, now: Time, host: &mut impl Host) -> Result<()> {
        let process = self
            .processes
            .get_mut(name)
            .ok_or_else(|| Error::not_found(name))?;
        if process.run.is_some() {
            return Ok(());
        }
        let name = self.cancel_restart(name);
        self.spawn(&name, now, host);
        Ok(())
    }

    /// The seed's `stopProcess`: TERM now, KILL after the kill time if the child is
    /// still alive. No-op if it is not running (a scheduled restart stays).
    pub fn stop_process(&mut self, name: &str, now: Time, host: &mut impl Host) -> Result<()> {
        let process = self
            .processes
            .get(name)
            .ok_or_else(|| Error::not_found(name))?;
        if let Some(id) = process.run {
            let alive = host.signal(id, Signal::Term);
            let run = self.runs.get_mut(&id).expect("a process's run is live");
            run.term_sent = true;
            // As the seed: no KILL is scheduled for a child that had already exited.
            if alive && run.kill_at.is_none() {
                let at = now + self.settings.kill_time;
                run.kill_at = Some(at);
                self.timers.insert((at, Timer::Kill(id)));
            }
        }
        Ok(())
    }

    /// The seed's `startService`.
    pub fn start(&mut self, now: Time, host: &mut impl Host) {
        self.running = true;
        for name in self.names() {
            self.start_process(name.as_str(), now, host)
                .expect("a listed name");
        }
    }

    /// The seed's `stopService`: cancels every scheduled restart, stops every child.
    pub fn stop(&mut self, now: Time, host: &mut impl Host) {
        self.running = false;
        for name in self.names() {
            self.cancel_restart(name.as_str());
            self.stop_process(name.as_str(), now, host)
                .expect("a listed name");
        }
    }

    /// The seed's `restartAll`: `stop_process` for every process.
    pub fn restart_all(&mut self, now: Time, host: &mut impl Host) {
        for name in self.names() {
            self.stop_process(name.as_str(), now, host)
                .expect("a listed name");
        }
    }

    /// The seed's `connectionLost`: run `id` has exited (its output delivered).
    pub fn exited(&mut self, id: RunId, status: ExitStatus, now: Time, host: &mut impl Host) {
        let Some(run) = self.runs.remove(&id) else {
            return;
        };
        if let Some(at) = run.kill_at {
            self.timers.remove(&(at, Timer::Kill(id)));
        }
        let uptime = now.saturating_sub(run.started_at);
        host.event(Event::Exited {
            name: run.name.clone(),
            pid: run.pid,
            status,
            uptime,
        });
        let Some(process) = self.processes.get_mut(&run.name) else {
            return;
        };
        if run.owner != Some(process.id) || process.run != Some(id) {
            return;
        }
        process.run = None;
        process.last_exit = Some(status);
        let restart = next_restart(Some(uptime), process.delay, &self.settings);
        process.delay = restart.next_delay;
        if !self.running {
            return;
        }
        if restart.wait.is_zero() {
            self.spawn(&run.name, now, host);
        } else {
            self.schedule_restart(&run.name, restart.wait, now, host);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Fires the timers due at `now`, earliest first, at most `max` of them:
    /// scheduled restarts and KILLs. The rest stay due for the next call, so a
    /// caller that also serves other work (the event loop) can bound a turn: 500
    /// restarts due at once must not hold it for 500 spawns. A timer these set for
    /// `now` or earlier (a zero-delay retry of a failing spawn) waits for the next
    /// call too, so that a spawn that keeps failing cannot hold the caller.
    pub fn handle_timeout(&mut self, now: Time, host: &mut impl Host, max: usize) {
        let mut due = Vec::new();
        while due.len() < max && self.timers.first().is_some_and(|(at, _)| *at <= now) {
            due.push(self.timers.pop_first().expect("a first timer").1);
        }
        for timer in due {
            match timer {
                Timer::Restart(name) => {
                    let process = self
                        .processes
                        .get_mut(&name)
                        .expect("a restart timer's process");
                    process.restart_at = None;
                    if process.run.is_none() {
                        self.spawn(&name, now, host);
                    }
                }
                Timer::Kill(id) => {
                    let run = self.runs.get_mut(&id).expect("a kill timer's run");
                    run.kill_at = None;
                    if host.signal(id, Signal::Kill) {
                        host.event(Event::Killed {
                            name: run.name.clone(),
                            pid: run.pid,
                        });
                    }
                }
            }
        }
    }

    /// The current pid of `name`, or 0 when it is not running.
    pub fn pid(&self, name: &str) -> Result<i32> {
        let process = self
            .processes
            .get(name)
            .ok_or_else(|| Error::not_found(name))?;
        Ok(process.run.map_or(0, |id| self.runs[&id].pid))
    }

    pub fn info(&self, name: &str, now: Time) -> Result<ProcessInfo> {
        let process = self
            .processes
            .get(name)
            .ok_or_else(|| Error::not_found(name))?;
        let run = process.run.map(|id| &self.runs[&id]);
        let state = match run {
            Some(run) if run.term_sent => ProcessState::Stopping,
            Some(_) => ProcessState::Running,
            None if process.restart_at.is_some() => ProcessState::Backoff,
            None => ProcessState::Stopped,
        };
        Ok(ProcessInfo {
            state,
            pid: run.map_or(0, |run| run.pid),
            starts: process.starts,
            uptime: run.map_or(Duration::ZERO, |run| now.saturating_sub(run.started_at)),
            restart_delay: process.delay,
            last_exit: process.last_exit,
        })
    }

    /// The seed's `__repr__`: `<ProcessMonitor 'foo'(1:2): ['arg1', 'arg2'] 'bar': ['x']>`.
    pub fn describe(&self) -> String {
        let entries: Vec<String> = self
            .processes
            .iter()
            .map(|(name, process)| {
                let spec = &process.spec;
                let mut ids = spec.uid().map(|uid| uid.to_string()).unwrap_or_default();
                if let Some(gid) = spec.gid() {
                    ids += &format!(":{gid}");
                }
                let ids = if ids.is_empty() {
                    ids
                } else {
                    format!("({ids})")
                };
                let args: Vec<String> = spec
                    .argv()
                    .iter()
                    .map(|arg| python_repr(&arg.to_string_lossy()))
                    .collect();
                format!(
                    "{}{}: [{}]",
                    python_repr(name.as_str()),
                    ids,
                    args.join(", ")
                )
            })
            .collect();
        format!("<ProcessMonitor {}>", entries.join(" "))
    }

    /// The monitored names, in the order they were added.
    pub fn names(&self) -> Vec<Name> {
        self.processes.keys().cloned().collect()
    }

    fn spawn(&mut self, name: &Name, now: Time, host: &mut impl Host) {
        let id = RunId(self.next_run);
        self.next_run += 1;
        let process = self
            .processes
            .get_mut(name)
            .expect("spawn of a monitored name");
        match host.spawn(id, name, &process.spec) {
            Ok(pid) => {
                process.run = Some(id);
                process.starts += 1;
                self.runs.insert(
                    id,
                    Box::new(Run {
                        name: name.clone(),
                        owner: Some(process.id),
                        pid,
                        started_at: now,
                        term_sent: false,
                        kill_at: None,
                    }),
                );
                host.event(Event::Started {
                    name: name.clone(),
                    pid,
                });
            }
            Err(errno) => {
                host.event(Event::SpawnFailed {
                    name: name.clone(),
                    errno,
                });
                let restart = next_restart(None, process.delay, &self.settings);
                process.delay = restart.next_delay;
                if self.running {
                    // Always through a timer, even a zero one, so that a spawn that
                    // keeps failing cannot starve the caller.
                    self.schedule_restart(name, restart.wait, now, host);
                }
            }
        }
    }

    fn schedule_restart(&mut self, name: &Name, wait: Duration, now: Time, host: &mut impl Host) {
        let at = now + wait;
        let process = self.processes.get_mut(name).expect("a monitored name");
        if let Some(old) = process.restart_at.replace(at) {
            self.timers.remove(&(old, Timer::Restart(name.clone())));
        }
        self.timers.insert((at, Timer::Restart(name.clone())));
        host.event(Event::RestartScheduled {
            name: name.clone(),
            delay: wait,
        });
    }

    /// Cancels `name`'s scheduled restart, if any; returns the name.
    fn cancel_restart(&mut self, name: &str) -> Name {
        let (name, process) = self
            .processes
            .get_key_value_mut(name)
            .map(|(name, process)| (name.clone(), process))
            .expect("a monitored name");
        if let Some(at) = process.restart_at.take() {
            self.timers.remove(&(at, Timer::Restart(name.clone())));
        }
        name
    }
}
