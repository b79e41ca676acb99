//! The seed's `ProcessMonitor` as a state machine: commands and observations go in
//! with the current time, spawns, signals and events go out through a [`Host`].
//!
//! Inside, a process is a small [`ProcId`] and a run a [`RunId`]: names are for the
//! API's edge, so timers and runs never look a name up in the middle of a
//! transition. Each process's state is one [`State`] with its data.

use super::{
    judge_exit, next_restart, python_repr, ExitStatus, Host, Name, ProcessSpec, Report, RunId,
    Settings, Signal, StartLog, StopReason, Time,
};
use crate::error::{Error, ErrorKind, Result};
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

/// Readiness, watchdog and start order: the supervisor's part of them.
mod ready;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessState {
    /// Not running, no restart scheduled.
    Stopped,
    Running,
    /// TERM sent, not yet exited.
    Stopping,
    /// Exited (or failed to spawn), restart scheduled.
    Backoff,
    /// The start limit was reached; retried later only with `retry_after`.
    Failed,
    /// Spawned and not ready yet (pid set), or waiting for the processes it
    /// comes after (pid 0).
    Starting,
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

/// A monitored process, inside the supervisor (names are for the API's edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct ProcId(u32);

/// Where a process is in its life, with what that phase needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not running, no restart scheduled.
    Stopped,
    /// Its child runs.
    Running(RunId),
    /// Its child has been asked to stop and has not exited yet.
    Stopping(RunId),
    /// Its child has exited; what is left of its unit is being stopped. What
    /// follows is decided once the unit is empty.
    Draining(RunId),
    /// Its restart is due at this time.
    Backoff(Time),
    /// It gave up (its start limit), and is tried again at this time, if any.
    Failed(Option<Time>),
    /// Its start waits until the processes it comes after are ready.
    Waiting,
}

impl State {
    /// The run of the child, while there is one.
    fn run(self) -> Option<RunId> {
        match self {
            State::Running(run) | State::Stopping(run) => Some(run),
            State::Stopped | State::Draining(_) | State::Backoff(_) | State::Failed(_) => None,
            State::Waiting => None,
        }
    }

    /// The run whose child or unit is still there: no new run may start.
    fn live_run(self) -> Option<RunId> {
        match self {
            State::Draining(run) => Some(run),
            other => other.run(),
        }
    }
}

#[derive(Debug)]
struct Process {
    name: Name,
    spec: ProcessSpec,
    state: State,
    /// The seed's `delay[name]`.
    delay: Duration,
    starts: u64,
    last_exit: Option<ExitStatus>,
    /// Its recent starts, when its spec has a start limit.
    start_log: Option<Box<StartLog>>,
    /// Registered by [`Supervisor::add_many`] while the service runs, its first
    /// spawn still to come from [`Supervisor::start_batch`]: cleared by any
    /// spawn (attempted or waiting for its order), whoever makes it.
    batched: bool,
}

#[derive(Debug)]
struct Run {
    name: Name,
    owner: Owner,
    pid: i32,
    started_at: Time,
    kill_at: Option<Time>,
    /// When it became ready (at its spawn for ON_START); None while starting.
    ready_at: Option<Time>,
    /// Its readiness timeout before it is ready, its watchdog after.
    deadline: Option<Time>,
    /// Why it was asked to stop, once it was.
    stop: Option<StopReason>,
    /// KILL has been sent (the kill time ran out): nothing more to send.
    killed: bool,
    /// Its child has exited and its unit is being emptied: how it ended.
    drain: Option<Box<Drain>>,
}

/// A run whose child has exited while its unit still holds processes.
#[derive(Debug)]
struct Drain {
    status: ExitStatus,
    /// How long it lived, for the backoff (from readiness; None: never ready).
    lived: Option<Duration>,
    restart: bool,
    /// `start_process` or `start` asked for a start meanwhile.
    start: bool,
}

/// Whose run it is.
#[derive(Debug)]
enum Owner {
    Process(ProcId),
    /// Its name was removed: the run ends alone, judged by the spec it had.
    Removed(Box<ProcessSpec>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Restart(ProcId),
    Kill(RunId),
    /// A run's readiness timeout or watchdog.
    Deadline(RunId),
}

/// The first spawns of a batch added by [`Supervisor::add_many`], still to be
/// made by [`Supervisor::start_batch`].
#[derive(Debug, Default)]
pub struct Batch {
    ids: VecDeque<ProcId>,
}

impl Batch {
    /// Whether every spawn of the batch has been made (or dropped).
    pub fn is_done(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A batch's names are distinct: a name given twice is `Exists` (as a second
/// add of it would be), the message naming both indexes.
pub fn check_batch(entries: &[(Name, ProcessSpec)]) -> Result<()> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    for (i, (name, _)) in entries.iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), i) {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("names[{i}]: {name:?} is given twice in the batch (names[{first}] too)"),
            ));
        }
    }
    Ok(())
}

/// The seed's `ProcessMonitor` (its `running` flag, `_processes`, `delay`,
/// `timeStarted`, `murder` and `restart`), without I/O.
#[derive(Debug)]
pub struct Supervisor {
    settings: Settings,
    running: bool,
    /// The monitor is being freed: nothing starts any more.
    closing: bool,
    /// The monitored names, in the order they were added.
    names: IndexMap<Name, ProcId>,
    /// Boxed values: the tables keep up to twice the slots they use (growth by
    /// doubling), and a slot of a pointer is a fraction of one of a `Process`.
    processes: HashMap<ProcId, Box<Process>>,
    runs: HashMap<RunId, Box<Run>>,
    timers: BTreeSet<(Time, Timer)>,
    /// During an ordered stop: the processes whose stop waits for the processes
    /// that come after them (their dependents), with those.
    held: BTreeMap<ProcId, Vec<ProcId>>,
    /// The processes that come after others (a non-empty `after`): the only
    /// ones a readiness can start, so that a ready run looks at these, not at
    /// every process.
    ordered: BTreeSet<ProcId>,
    next_run: u64,
    next_process: u32,
}

impl Supervisor {
    /// A supervisor with these settings, not running (the seed before `startService`).
    pub fn new(settings: Settings) -> Supervisor {
        Supervisor {
            settings,
            running: false,
            closing: false,
            names: IndexMap::new(),
            processes: HashMap::new(),
            runs: HashMap::new(),
            timers: BTreeSet::new(),
            held: BTreeMap::new(),
            ordered: BTreeSet::new(),
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

    /// Whether [`shut_down`](Self::shut_down) was called.
    pub fn is_closing(&self) -> bool {
        self.closing
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
        self.open()?;
        let id = self.register(name, spec)?;
        if self.running {
            self.spawn(id, now, host);
        }
        Ok(())
    }

    /// [`add`](Self::add) for every entry, in order, all or nothing: every name
    /// is checked first (monitored already, given twice, a start order naming
    /// itself or closing a cycle, the batch's earlier entries included), and an
    /// error registers none of them, its message naming the entry's index
    /// (`names[3]: ...`). Nothing is spawned here: while the service runs, the
    /// returned [`Batch`] holds the first spawns, which
    /// [`start_batch`](Self::start_batch) makes a few at a time.
    pub fn add_many(&mut self, entries: Vec<(Name, ProcessSpec)>) -> Result<Batch> {
        self.open()?;
        check_batch(&entries)?;
        let (names_before, next_before) = (self.names.len(), self.next_process);
        let mut ids = VecDeque::with_capacity(entries.len());
        for (i, (name, spec)) in entries.into_iter().enumerate() {
            match self.register(name, spec) {
                Ok(id) => ids.push_back(id),
                Err(error) => {
                    // Nothing spawned yet: forgetting them undoes the batch.
                    for id in &ids {
                        self.processes.remove(id);
                        self.ordered.remove(id);
                    }
                    self.names.truncate(names_before);
                    self.next_process = next_before;
                    return Err(error.at(format_args!("names[{i}]")));
                }
            }
        }
        if !self.running {
            ids.clear(); // registered while stopped: started by `start_service`
        }
        for id in &ids {
            self.process_mut(*id).batched = true;
        }
        Ok(Batch { ids })
    }

    /// Makes up to `max` of `batch`'s first spawns, in order, as [`add`](Self::add)
    /// would have made them: a process removed since, or spawned already by
    /// someone else (`start_process`, `start_service`), is skipped; once the
    /// service has stopped, the rest are left registered and not spawned (as an
    /// add while stopped). [`Batch::is_done`] tells when nothing is left.
    pub fn start_batch(&mut self, batch: &mut Batch, max: usize, now: Time, host: &mut impl Host) {
        let mut made = 0;
        while made < max {
            let Some(id) = batch.ids.pop_front() else {
                return;
            };
            if !self.running {
                if let Some(process) = self.processes.get_mut(&id) {
                    process.batched = false;
                }
                for id in batch.ids.drain(..) {
                    if let Some(process) = self.processes.get_mut(&id) {
                        process.batched = false;
                    }
                }
                return;
            }
            if self.processes.get(&id).is_some_and(|p| p.batched) {
                self.spawn(id, now, host);
                made += 1;
            }
        }
    }

    /// Registers `name` (not running: the caller spawns it).
    fn register(&mut self, name: Name, spec: ProcessSpec) -> Result<ProcId> {
        if self.names.contains_key(&name) {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("a process named {name:?} is already monitored: remove it first"),
            ));
        }
        self.check_order(&name, &spec)?;
        let mut spec = spec;
        if let Some(last) = self.names.last().map(|(_, id)| *id) {
            spec.share_options(&self.process(last).spec);
        }
        let id = ProcId(self.next_process);
        self.next_process += 1;
        self.names.insert(name.clone(), id);
        if spec.readiness().is_some_and(|r| !r.after.is_empty()) {
            self.ordered.insert(id);
        }
        let process = Process {
            delay: spec.settings(&self.settings).min_restart_delay,
            start_log: spec.start_limit().map(|_| Box::default()),
            name,
            spec,
            state: State::Stopped,
            starts: 0,
            last_exit: None,
            batched: false,
        };
        self.processes.insert(id, Box::new(process));
        Ok(id)
    }

    /// The seed's `removeProcess`: stops the child and forgets the name. The last
    /// run still reports KILLED (if needed) and EXITED, and is never restarted.
    pub fn remove(&mut self, name: &str, now: Time, host: &mut impl Host) -> Result<()> {
        let id = self.id(name)?;
        self.stop_id(id, StopReason::Stop, now, host);
        self.cancel_restart(id);
        self.held.remove(&id);
        self.ordered.remove(&id);
        self.names.shift_remove(name);
        let process = self.processes.remove(&id).expect("a named process");
        if let Some(run) = process
            .state
            .live_run()
            .and_then(|run| self.runs.get_mut(&run))
        {
            run.owner = Owner::Removed(Box::new(process.spec));
        }
        Ok(())
    }

    /// The seed's `startProcess`: spawns the child unless it is running. A scheduled
    /// restart is replaced by this start.
    pub fn start_process(&mut self, name: &str, now: Time, host: &mut impl Host) -> Result<()> {
        let id = self.id(name)?;
        self.open()?;
        self.start_id(id, now, host);
        Ok(())
    }

    /// The seed's `stopProcess`: the stop signal (TERM) now, KILL after the kill
    /// time if the child is still alive. No-op if it is not running (a scheduled
    /// restart stays). Under ON_FAILURE and NEVER the process then stays stopped.
    pub fn stop_process(&mut self, name: &str, now: Time, host: &mut impl Host) -> Result<()> {
        let id = self.id(name)?;
        self.stop_id(id, StopReason::Stop, now, host);
        Ok(())
    }

    /// The run of `name`'s child and its pid, to signal it; `State` when it has
    /// no child.
    pub fn current_run(&self, name: &str) -> Result<(RunId, i32)> {
        let process = self.process(self.id(name)?);
        match process.state.run() {
            Some(run) => Ok((run, self.runs[&run].pid)),
            None => Err(Error::state(format!("{name:?} is not running"))),
        }
    }

    /// The seed's `startService` (refused once the monitor shuts down).
    pub fn start_service(&mut self, now: Time, host: &mut impl Host) -> Result<()> {
        self.open()?;
        self.running = true;
        self.held.clear();
        for id in self.ids() {
            self.start_id(id, now, host);
        }
        Ok(())
    }

    /// The seed's `startService`; a no-op once the monitor shuts down.
    pub fn start(&mut self, now: Time, host: &mut impl Host) {
        let _ = self.start_service(now, host);
    }

    /// The seed's `stopService`: cancels every scheduled restart, stops every
    /// child; a process that others come after only once those have exited (or
    /// been killed after their kill time).
    pub fn stop(&mut self, now: Time, host: &mut impl Host) {
        self.running = false;
        self.hold_for_dependents();
        for id in self.ids() {
            self.cancel_restart(id);
            if !self.held.contains_key(&id) {
                self.stop_id(id, StopReason::Stop, now, host);
            }
        }
    }

    /// The monitor is being freed: the service stops, and from now on nothing is
    /// added or started (those calls answer [`ErrorKind::State`]).
    pub fn shut_down(&mut self, now: Time, host: &mut impl Host) {
        if !self.closing {
            self.closing = true;
            self.stop(now, host);
        }
    }

    /// The seed's `restartAll`: `stop_process` for every process, each restarted
    /// afterwards whatever its policy.
    pub fn restart_all(&mut self, now: Time, host: &mut impl Host) {
        for id in self.ids() {
            self.stop_id(id, StopReason::Restart, now, host);
        }
    }

    /// The seed's `connectionLost`: run `id` has exited (its output delivered),
    /// and nothing is left of its unit.
    pub fn exited(&mut self, id: RunId, status: ExitStatus, now: Time, host: &mut impl Host) {
        self.child_exited(id, status, true, now, host);
        self.release_held(now, host);
    }

    /// Run `id`'s child has exited (its output delivered) while processes of its
    /// unit are still there: they get the stop signal, KILL after the kill time,
    /// and what follows the exit waits for [`unit_empty`](Self::unit_empty).
    pub fn exited_leaving_unit(
        &mut self,
        id: RunId,
        status: ExitStatus,
        now: Time,
        host: &mut impl Host,
    ) {
        self.child_exited(id, status, false, now, host);
        self.release_held(now, host);
    }

    /// The unit of run `id`, whose child had exited, is empty now.
    pub fn unit_empty(&mut self, id: RunId, now: Time, host: &mut impl Host) {
        let Some(run) = self.runs.get(&id) else {
            return;
        };
        if run.drain.is_none() {
            return;
        }
        let run = self.runs.remove(&id).expect("a draining run");
        if let Some(at) = run.kill_at {
            self.timers.remove(&(at, Timer::Kill(id)));
        }
        let drain = run.drain.expect("a draining run");
        if let Owner::Process(owner) = run.owner {
            let restart = drain.restart && !drain.start;
            self.after_exit(owner, drain.status, drain.lived, restart, now, host);
            if drain.start {
                // Asked for meanwhile: a start now, as start_process does.
                self.start_id(owner, now, host);
            }
        }
        self.release_held(now, host);
    }

    fn child_exited(
        &mut self,
        id: RunId,
        status: ExitStatus,
        unit_empty: bool,
        now: Time,
        host: &mut impl Host,
    ) {
        let Some(run) = self.runs.get(&id) else {
            return;
        };
        if run.drain.is_some() {
            return;
        }
        let uptime = now.saturating_sub(run.started_at);
        let lived = ready::lived(run, now);
        let (owner, spec) = match &run.owner {
            Owner::Process(owner) => (Some(*owner), &self.process(*owner).spec),
            Owner::Removed(spec) => (None, &**spec),
        };
        let verdict = judge_exit(spec, status, run.stop);
        let stop_signal = Signal::from_number(spec.stop_signal());
        let kill_time = spec.settings(&self.settings).kill_time;
        host.report(Report::Exited {
            run: id,
            name: run.name.clone(),
            pid: run.pid,
            status,
            uptime,
            flags: verdict.flags,
        });
        let run = self.runs.get_mut(&id).expect("a live run");
        if let Some(at) = run.deadline.take() {
            self.timers.remove(&(at, Timer::Deadline(id)));
        }
        if unit_empty {
            let run = self.runs.remove(&id).expect("a live run");
            if let Some(at) = run.kill_at {
                self.timers.remove(&(at, Timer::Kill(id)));
            }
            if let Some(owner) = owner {
                self.after_exit(owner, status, lived, verdict.restart, now, host);
            }
            return;
        }
        // What is left of the unit is stopped, and KILLed after the kill time.
        if let Some(owner) = owner {
            self.process_mut(owner).state = State::Draining(id);
        }
        let run = self.runs.get_mut(&id).expect("a live run");
        run.drain = Some(Box::new(Drain {
            status,
            lived,
            restart: verdict.restart,
            start: false,
        }));
        if run.stop.is_none() {
            host.signal(id, stop_signal);
        }
        if run.kill_at.is_none() && !run.killed {
            let at = now + kill_time;
            run.kill_at = Some(at);
            self.timers.insert((at, Timer::Kill(id)));
        }
    }

    /// What follows the end of a run of `owner` (its child exited, its unit empty).
    fn after_exit(
        &mut self,
        owner: ProcId,
        status: ExitStatus,
        lived: Option<Duration>,
        restart_wanted: bool,
        now: Time,
        host: &mut impl Host,
    ) {
        let settings = self.settings;
        let process = self.process_mut(owner);
        process.state = State::Stopped;
        process.last_exit = Some(status);
        let restart = next_restart(lived, process.delay, &process.spec.settings(&settings));
        process.delay = restart.next_delay;
        if !self.running || !restart_wanted {
            return;
        }
        if restart.wait.is_zero() {
            self.spawn(owner, now, host);
        } else {
            self.schedule_restart(owner, restart.wait, now, host);
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
                Timer::Restart(id) => {
                    let process = self.process_mut(id);
                    match process.state {
                        State::Backoff(_) => {}
                        State::Failed(Some(_)) => {
                            // Tried again with a fresh count.
                            if let Some(log) = &mut process.start_log {
                                log.clear();
                            }
                        }
                        _ => continue,
                    }
                    process.state = State::Stopped;
                    self.spawn(id, now, host);
                }
                Timer::Kill(id) => {
                    let run = self.runs.get_mut(&id).expect("a kill timer's run is live");
                    run.kill_at = None;
                    run.killed = true;
                    if host.signal(id, Signal::Kill) {
                        host.report(Report::Killed {
                            name: run.name.clone(),
                            pid: run.pid,
                        });
                    }
                    self.release_held(now, host);
                }
                Timer::Deadline(id) => self.deadline_due(id, now, host),
            }
        }
    }

    /// The current pid of `name`, or 0 when it is not running.
    pub fn pid(&self, name: &str) -> Result<i32> {
        let process = self.process(self.id(name)?);
        Ok(process.state.run().map_or(0, |run| self.runs[&run].pid))
    }

    pub fn info(&self, name: &str, now: Time) -> Result<ProcessInfo> {
        let process = self.process(self.id(name)?);
        let run = process.state.run().map(|run| &self.runs[&run]);
        Ok(ProcessInfo {
            state: match process.state {
                State::Stopped => ProcessState::Stopped,
                State::Running(run) => self.running_state(run),
                State::Stopping(_) | State::Draining(_) => ProcessState::Stopping,
                State::Backoff(_) => ProcessState::Backoff,
                State::Failed(_) => ProcessState::Failed,
                State::Waiting => ProcessState::Starting,
            },
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
            .names
            .iter()
            .map(|(name, id)| {
                let spec = &self.process(*id).spec;
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
        self.names.keys().cloned().collect()
    }

    /// The one refusal of a monitor that is shutting down.
    fn open(&self) -> Result<()> {
        if self.closing {
            return Err(Error::state("the monitor is shutting down"));
        }
        Ok(())
    }

    /// The id of a monitored name: the one not-found answer.
    fn id(&self, name: &str) -> Result<ProcId> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| Error::not_found(name))
    }

    /// The ids of every process, in the order they were added.
    fn ids(&self) -> Vec<ProcId> {
        self.names.values().copied().collect()
    }

    /// A process by id. Ids held by runs and timers are live: a removal clears them.
    fn process(&self, id: ProcId) -> &Process {
        &self.processes[&id]
    }

    fn process_mut(&mut self, id: ProcId) -> &mut Process {
        self.processes.get_mut(&id).expect("a live process id")
    }

    /// Spawns `id` unless its child runs; a scheduled restart is replaced by it,
    /// and a process that gave up starts again with a fresh count.
    fn start_id(&mut self, id: ProcId, now: Time, host: &mut impl Host) {
        let process = self.process_mut(id);
        if process.state.run().is_some() {
            return;
        }
        if let State::Draining(run) = process.state {
            // Started once the old run's unit is empty.
            if let Some(drain) = self.runs.get_mut(&run).and_then(|r| r.drain.as_mut()) {
                drain.start = true;
            }
            return;
        }
        if let (State::Failed(_), Some(log)) = (process.state, &mut process.start_log) {
            log.clear();
        }
        self.cancel_restart(id);
        self.process_mut(id).state = State::Stopped;
        self.spawn(id, now, host);
    }

    /// The stop signal to `id`'s child if it has one, and KILL after the kill time.
    fn stop_id(&mut self, id: ProcId, reason: StopReason, now: Time, host: &mut impl Host) {
        let process = self.processes.get_mut(&id).expect("a live process id");
        let Some(run_id) = process.state.run() else {
            return;
        };
        let kill_time = process.spec.settings(&self.settings).kill_time;
        process.state = State::Stopping(run_id);
        let alive = host.signal(run_id, Signal::from_number(process.spec.stop_signal()));
        let run = self.runs.get_mut(&run_id).expect("a process's run is live");
        run.stop = Some(reason);
        if let Some(at) = run.deadline.take() {
            self.timers.remove(&(at, Timer::Deadline(run_id)));
        }
        // As the seed: no KILL is scheduled for a child that had already exited.
        if alive && run.kill_at.is_none() {
            let at = now + kill_time;
            run.kill_at = Some(at);
            self.timers.insert((at, Timer::Kill(run_id)));
        }
    }

    fn spawn(&mut self, id: ProcId, now: Time, host: &mut impl Host) {
        self.process_mut(id).batched = false;
        if !self.may_start(id) {
            return;
        }
        let run_id = RunId(self.next_run);
        self.next_run += 1;
        let settings = self.settings;
        let process = self.processes.get_mut(&id).expect("a live process id");
        if let (Some(limit), Some(log)) = (process.spec.start_limit(), &mut process.start_log) {
            if !log.admit(&limit, now) {
                let retry = (!limit.retry_after.is_zero()).then_some(limit.retry_after);
                let at = retry.map(|wait| now + wait);
                process.state = State::Failed(at);
                let name = process.name.clone();
                if let Some(at) = at {
                    self.timers.insert((at, Timer::Restart(id)));
                }
                host.report(Report::GaveUp { name, retry });
                return;
            }
        }
        match host.spawn(run_id, &process.name, &process.spec) {
            Ok(pid) => {
                process.state = State::Running(run_id);
                process.starts += 1;
                let name = process.name.clone();
                let run = Run {
                    name: name.clone(),
                    owner: Owner::Process(id),
                    pid,
                    started_at: now,
                    kill_at: None,
                    ready_at: None,
                    deadline: None,
                    stop: None,
                    killed: false,
                    drain: None,
                };
                self.runs.insert(run_id, Box::new(run));
                host.report(Report::Started {
                    run: run_id,
                    name,
                    pid,
                });
                self.spawned(run_id, now, host);
            }
            Err(errno) => {
                host.report(Report::SpawnFailed {
                    name: process.name.clone(),
                    errno,
                });
                let settings = process.spec.settings(&settings);
                let restart = next_restart(None, process.delay, &settings);
                process.delay = restart.next_delay;
                if self.running {
                    // Always through a timer, even a zero one, so that a spawn that
                    // keeps failing cannot starve the caller.
                    self.schedule_restart(id, restart.wait, now, host);
                }
            }
        }
    }

    fn schedule_restart(&mut self, id: ProcId, wait: Duration, now: Time, host: &mut impl Host) {
        self.cancel_restart(id);
        let at = now + wait;
        let process = self.process_mut(id);
        process.state = State::Backoff(at);
        let name = process.name.clone();
        self.timers.insert((at, Timer::Restart(id)));
        host.report(Report::RestartScheduled { name, delay: wait });
    }

    /// Cancels `id`'s scheduled restart (or retry, if it gave up), if any.
    fn cancel_restart(&mut self, id: ProcId) {
        let process = self.process_mut(id);
        let at = match process.state {
            State::Draining(run) => {
                // A start asked for while the unit drains is a restart to come.
                if let Some(drain) = self.runs.get_mut(&run).and_then(|r| r.drain.as_mut()) {
                    drain.start = false;
                }
                return;
            }
            State::Backoff(at) => {
                process.state = State::Stopped;
                at
            }
            State::Failed(Some(at)) => {
                process.state = State::Failed(None);
                at
            }
            State::Waiting => {
                process.state = State::Stopped;
                return;
            }
            _ => return,
        };
        self.timers.remove(&(at, Timer::Restart(id)));
    }
}
