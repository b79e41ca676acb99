//! The supervisor's side of readiness (API.md "Readiness"): a run is STARTING
//! until it is ready, its one deadline is the readiness timeout before that and
//! the watchdog after, and the `after` graph orders starts and the stop of the
//! service. The rules of the values themselves are in `core/readiness.rs`.

use super::{Owner, ProcId, ProcessState, Run, State, Supervisor, Timer};
use crate::core::readiness::{cycle_error, find_cycle};
use crate::core::{Host, Name, Notice, ProcessSpec, ReadyMode, Report, RunId, StopReason, Time};
use crate::error::Result;
use std::time::Duration;

/// How long a run counts as having lived, for the instant-death rule: from when
/// it was ready; None (an instant death, whatever its uptime) if it never was.
pub(super) fn lived(run: &Run, now: Time) -> Option<Duration> {
    run.ready_at.map(|at| now.saturating_sub(at))
}

impl Supervisor {
    /// What a run says about itself: ready, a watchdog ping, unhealthy. Runs that
    /// are gone or being stopped are not listening any more.
    pub fn notice(&mut self, run_id: RunId, notice: Notice, now: Time, host: &mut impl Host) {
        let Some(run) = self.runs.get(&run_id) else {
            return;
        };
        if run.stop.is_some() {
            return;
        }
        let ready = run.ready_at.is_some();
        match notice {
            Notice::Ready | Notice::Newline if !ready => self.became_ready(run_id, now, host),
            Notice::Ready => {}
            Notice::Newline | Notice::Watchdog if ready => {
                let watchdog = self.spec_of(run).readiness().and_then(|r| r.watchdog);
                if let Some(watchdog) = watchdog {
                    self.set_deadline(run_id, Some(now + watchdog));
                }
            }
            Notice::Newline | Notice::Watchdog => {}
            Notice::Unhealthy => self.stop_run(run_id, StopReason::Watchdog, now, host),
        }
    }

    /// `procmon_report_unhealthy`: handled as a missed watchdog. `State` when
    /// the process has no child; a no-op while its child is being stopped.
    pub fn report_unhealthy(&mut self, name: &str, now: Time, host: &mut impl Host) -> Result<()> {
        let (run, _) = self.current_run(name)?;
        if self.runs[&run].stop.is_none() {
            self.stop_run(run, StopReason::Watchdog, now, host);
        }
        Ok(())
    }

    /// The checks of a new process's readiness: its own (watchdog mode, `after`
    /// naming itself), and no cycle through the monitored processes.
    pub(super) fn check_order(&self, name: &Name, spec: &ProcessSpec) -> Result<()> {
        let Some(readiness) = spec.readiness() else {
            return Ok(());
        };
        readiness.check(name)?;
        let after_of = |dep: &str| {
            let id = self.names.get(dep)?;
            Some(self.process(*id).spec.readiness()?.after.as_ref())
        };
        match find_cycle(name, &readiness.after, after_of) {
            Some(path) => Err(cycle_error(&path)),
            None => Ok(()),
        }
    }

    /// Whether `id` may spawn now: every process it comes after is ready. If
    /// not, it waits (STARTING, pid 0) until they are.
    pub(super) fn may_start(&mut self, id: ProcId) -> bool {
        let ready = match self.process(id).spec.readiness() {
            Some(readiness) => readiness
                .after
                .iter()
                .all(|dep| self.is_ready(dep.as_str())),
            None => true,
        };
        if !ready {
            self.process_mut(id).state = State::Waiting;
        }
        ready
    }

    /// Whether the process named `name` is monitored and its run is ready and
    /// not being stopped.
    fn is_ready(&self, name: &str) -> bool {
        let Some(id) = self.names.get(name) else {
            return false;
        };
        let State::Running(run) = self.process(*id).state else {
            return false;
        };
        let run = &self.runs[&run];
        run.ready_at.is_some() && run.stop.is_none()
    }

    /// Right after a run's STARTED: ready at once (ON_START), or its timeout set.
    pub(super) fn spawned(&mut self, run_id: RunId, now: Time, host: &mut impl Host) {
        let run = &self.runs[&run_id];
        let readiness = self.spec_of(run).readiness();
        match readiness {
            Some(r) if r.mode != ReadyMode::OnStart => {
                let timeout = r.timeout;
                self.set_deadline(run_id, timeout.map(|t| now + t));
            }
            _ => self.became_ready(run_id, now, host),
        }
    }

    fn became_ready(&mut self, run_id: RunId, now: Time, host: &mut impl Host) {
        let run = &self.runs[&run_id];
        let readiness = self.spec_of(run).readiness();
        let announce = readiness.is_some();
        let watchdog = readiness.and_then(|r| r.watchdog);
        let (name, pid) = (run.name.clone(), run.pid);
        self.runs.get_mut(&run_id).expect("a live run").ready_at = Some(now);
        self.set_deadline(run_id, watchdog.map(|w| now + w));
        if announce {
            host.report(Report::Ready {
                run: run_id,
                name: name.clone(),
                pid,
            });
        }
        self.start_dependents(&name, now, host);
    }

    /// Starts the processes waiting for `name` whose every dependency is ready now.
    fn start_dependents(&mut self, name: &Name, now: Time, host: &mut impl Host) {
        // In the order they were added (ids grow with each add).
        let waiting: Vec<ProcId> = self
            .ordered
            .iter()
            .copied()
            .filter(|id| {
                let process = self.process(*id);
                process.state == State::Waiting
                    && process
                        .spec
                        .readiness()
                        .is_some_and(|r| r.after.contains(name))
            })
            .collect();
        for id in waiting {
            // Still waiting: starting one may have started another.
            if self.process(id).state == State::Waiting {
                self.spawn(id, now, host);
            }
        }
    }

    /// Replaces a run's deadline (timeout or watchdog) with `at`.
    fn set_deadline(&mut self, run_id: RunId, at: Option<Time>) {
        let run = self.runs.get_mut(&run_id).expect("a live run");
        if let Some(old) = std::mem::replace(&mut run.deadline, at) {
            self.timers.remove(&(old, Timer::Deadline(run_id)));
        }
        if let Some(at) = at {
            self.timers.insert((at, Timer::Deadline(run_id)));
        }
    }

    /// A run's deadline passed: not ready in time, or its watchdog missed.
    pub(super) fn deadline_due(&mut self, run_id: RunId, now: Time, host: &mut impl Host) {
        let Some(run) = self.runs.get_mut(&run_id) else {
            return;
        };
        run.deadline = None;
        let reason = match run.ready_at {
            None => StopReason::Timeout,
            Some(_) => StopReason::Watchdog,
        };
        self.stop_run(run_id, reason, now, host);
    }

    /// Stops a run of a monitored process for `reason` (a removed name's run is
    /// being stopped already).
    fn stop_run(&mut self, run_id: RunId, reason: StopReason, now: Time, host: &mut impl Host) {
        if let Some(Owner::Process(id)) = self.runs.get(&run_id).map(|r| &r.owner) {
            let id = *id;
            self.stop_id(id, reason, now, host);
        }
    }

    /// RUNNING once ready, STARTING before.
    pub(super) fn running_state(&self, run: RunId) -> ProcessState {
        match self.runs[&run].ready_at {
            Some(_) => ProcessState::Running,
            None => ProcessState::Starting,
        }
    }

    /// The spec a run was started with.
    fn spec_of<'a>(&'a self, run: &'a Run) -> &'a ProcessSpec {
        match &run.owner {
            Owner::Process(id) => &self.process(*id).spec,
            Owner::Removed(spec) => spec,
        }
    }

    /// Before a stop of the service: which processes must wait for their
    /// dependents (the processes that come after them) to be gone.
    pub(super) fn hold_for_dependents(&mut self) {
        self.held.clear();
        let with_after: Vec<(ProcId, Box<[Name]>)> = self
            .processes
            .iter()
            .filter_map(|(id, p)| {
                let after = &p.spec.readiness()?.after;
                (!after.is_empty()).then(|| (*id, after.clone()))
            })
            .collect();
        for (dependent, after) in with_after {
            if !self.blocks(dependent) {
                continue;
            }
            for dep in after.iter() {
                if let Some(&id) = self.names.get(dep) {
                    if self.process(id).state.run().is_some() {
                        self.held.entry(id).or_default().push(dependent);
                    }
                }
            }
        }
    }

    /// Stops each held process whose dependents are all gone (or killed after
    /// their kill time), until none is left to release.
    pub(super) fn release_held(&mut self, now: Time, host: &mut impl Host) {
        while !self.held.is_empty() {
            let free: Vec<ProcId> = self
                .held
                .iter()
                .filter(|(_, dependents)| !dependents.iter().any(|d| self.blocks(*d)))
                .map(|(id, _)| *id)
                .collect();
            if free.is_empty() {
                return;
            }
            for id in free {
                self.held.remove(&id);
                if self.processes.contains_key(&id) {
                    self.stop_id(id, StopReason::Stop, now, host);
                }
            }
        }
    }

    /// Whether process `id` holds back the stop of those it comes after: it has
    /// a child that was not asked to stop yet, or that has not been sent KILL.
    fn blocks(&self, id: ProcId) -> bool {
        let Some(process) = self.processes.get(&id) else {
            return false;
        };
        let Some(run) = process.state.run().and_then(|run| self.runs.get(&run)) else {
            return false;
        };
        run.stop.is_none() || run.kill_at.is_some()
    }
}
