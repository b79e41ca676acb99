//! The per-process policy of 0.2 (API.md "Restart policies", the start limit, the
//! overridden timings), driven by a fake host and a fake clock like the seed's
//! tests (`seed_tests.rs`), with a host that hears every [`Report`].

use super::*;
use std::collections::{HashSet, VecDeque};
use std::time::Duration;

const TERM: i32 = 15;
const INT: i32 = 2;
const ENOENT: i32 = 2;

#[derive(Default)]
struct Recorder {
    reports: Vec<Report>,
    signals: Vec<(RunId, Signal)>,
    live: HashSet<RunId>,
    failures: VecDeque<i32>,
    spawns: Vec<RunId>,
}

impl Host for Recorder {
    fn spawn(&mut self, run: RunId, _name: &Name, _spec: &ProcessSpec) -> Result<i32, i32> {
        if let Some(errno) = self.failures.pop_front() {
            return Err(errno);
        }
        self.live.insert(run);
        self.spawns.push(run);
        Ok(100 + run.0 as i32)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        assert!(self.live.contains(&run), "signal to a reaped run");
        self.signals.push((run, signal));
        true
    }

    fn event(&mut self, _event: Event) {
        unreachable!("a host that hears reports gets no seed event");
    }

    fn report(&mut self, report: Report) {
        self.reports.push(report);
    }
}

struct World {
    sup: Supervisor,
    host: Recorder,
    now: Time,
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn spec() -> ProcessSpec {
    ProcessSpec::new(["prog"]).unwrap()
}

impl World {
    fn new() -> World {
        let mut w = World {
            sup: Supervisor::new(Settings::default()),
            host: Recorder::default(),
            now: Duration::ZERO,
        };
        w.sup.start(w.now, &mut w.host);
        w
    }

    fn add(&mut self, name: &str, spec: ProcessSpec) {
        let name = Name::new(name).unwrap();
        self.sup.add(name, spec, self.now, &mut self.host).unwrap();
    }

    fn advance(&mut self, seconds: f64) {
        let target = self.now + secs(seconds);
        while let Some(at) = self.sup.poll_timeout().filter(|at| *at <= target) {
            self.now = self.now.max(at);
            self.sup
                .handle_timeout(self.now, &mut self.host, usize::MAX);
        }
        self.now = target;
    }

    fn run(&self, name: &str) -> RunId {
        self.sup.current_run(name).expect("running").0
    }

    fn exit(&mut self, name: &str, status: ExitStatus) {
        let run = self.run(name);
        self.host.live.remove(&run);
        self.sup.exited(run, status, self.now, &mut self.host);
    }

    fn stop_process(&mut self, name: &str) {
        self.sup
            .stop_process(name, self.now, &mut self.host)
            .unwrap();
    }

    fn start_process(&mut self, name: &str) {
        self.sup
            .start_process(name, self.now, &mut self.host)
            .unwrap();
    }

    fn state(&self, name: &str) -> ProcessState {
        self.sup.info(name, self.now).unwrap().state
    }

    fn last_exit_flags(&self) -> ExitFlags {
        let exits = self.host.reports.iter().rev();
        let mut flags = exits.filter_map(|r| match r {
            Report::Exited { flags, .. } => Some(*flags),
            _ => None,
        });
        flags.next().expect("an EXITED")
    }

    fn count(&self, what: fn(&Report) -> bool) -> usize {
        self.host.reports.iter().filter(|r| what(r)).count()
    }

    fn spawns(&self) -> usize {
        self.host.spawns.len()
    }
}

fn gave_up(r: &Report) -> bool {
    matches!(r, Report::GaveUp { .. })
}

fn restart_scheduled(r: &Report) -> bool {
    matches!(r, Report::RestartScheduled { .. })
}

/// The ways a run can end, and what each policy does after it.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Exit0,
    ExitSuccessCode,
    ExitOther,
    KilledBySignal,
    RequestedStop,
}

/// Runs one ending under one policy (success codes 0 and 3; stop signal TERM);
/// returns whether a restart came (at once or scheduled), the state then, and
/// the EXITED flags.
fn outcome(policy: RestartPolicy, ending: Ending) -> (bool, ProcessState, ExitFlags) {
    let mut w = World::new();
    let spec = spec().with_restart(policy).with_success_codes([0, 3]);
    w.add("p", spec);
    w.advance(5.0); // long-lived: a restart would be at once
    match ending {
        Ending::Exit0 => w.exit("p", ExitStatus::Code(0)),
        Ending::ExitSuccessCode => w.exit("p", ExitStatus::Code(3)),
        Ending::ExitOther => w.exit("p", ExitStatus::Code(1)),
        Ending::KilledBySignal => w.exit("p", ExitStatus::Signal(9)),
        Ending::RequestedStop => {
            w.stop_process("p");
            w.exit("p", ExitStatus::Signal(TERM));
        }
    }
    (w.spawns() == 2, w.state("p"), w.last_exit_flags())
}

#[test]
fn each_policy_after_each_ending() {
    use Ending::*;
    use RestartPolicy::*;
    let expected = ExitFlags::EXPECTED;
    let requested = ExitFlags::REQUESTED | ExitFlags::EXPECTED;
    let none = ExitFlags::default();
    let running = ProcessState::Running;
    let stopped = ProcessState::Stopped;
    let table = [
        (Always, Exit0, true, running, expected),
        (Always, ExitSuccessCode, true, running, expected),
        (Always, ExitOther, true, running, none),
        (Always, KilledBySignal, true, running, none),
        (Always, RequestedStop, true, running, requested),
        (OnFailure, Exit0, false, stopped, expected),
        (OnFailure, ExitSuccessCode, false, stopped, expected),
        (OnFailure, ExitOther, true, running, none),
        (OnFailure, KilledBySignal, true, running, none),
        (OnFailure, RequestedStop, false, stopped, requested),
        (Never, Exit0, false, stopped, expected),
        (Never, ExitSuccessCode, false, stopped, expected),
        (Never, ExitOther, false, stopped, none),
        (Never, KilledBySignal, false, stopped, none),
        (Never, RequestedStop, false, stopped, requested),
    ];
    for (policy, ending, restarted, state, flags) in table {
        let got = outcome(policy, ending);
        assert_eq!(
            got,
            (restarted, state, flags),
            "{policy:?} after {ending:?}"
        );
    }
}

#[test]
fn a_requested_stop_that_the_child_survives_to_exit_1_is_not_expected() {
    let mut w = World::new();
    w.add("p", spec().with_restart(RestartPolicy::OnFailure));
    w.stop_process("p");
    w.exit("p", ExitStatus::Code(1));
    assert_eq!(w.last_exit_flags(), ExitFlags::REQUESTED);
    assert_eq!(
        w.state("p"),
        ProcessState::Stopped,
        "a stop leaves it stopped"
    );
}

#[test]
fn an_unknown_status_is_a_failure() {
    let mut w = World::new();
    w.add("p", spec().with_restart(RestartPolicy::OnFailure));
    w.advance(5.0);
    w.exit("p", ExitStatus::Unknown);
    assert_eq!(w.last_exit_flags(), ExitFlags::STATUS_UNKNOWN);
    assert_eq!(w.spawns(), 2, "ON_FAILURE restarts it");
}

#[test]
fn a_core_dump_is_flagged() {
    let mut w = World::new();
    w.add("p", spec());
    w.exit("p", ExitStatus::Dumped(6));
    assert_eq!(w.last_exit_flags(), ExitFlags::CORE_DUMPED);
}

#[test]
fn the_stop_signal_is_sent_first_and_is_a_success_of_a_requested_stop() {
    let mut w = World::new();
    let spec = spec().with_stop_signal(INT).unwrap();
    w.add("p", spec.with_restart(RestartPolicy::OnFailure));
    let run = w.run("p");
    w.stop_process("p");
    w.advance(5.0);
    let sent: Vec<Signal> = w.host.signals.iter().map(|(_, s)| *s).collect();
    assert_eq!(sent, [Signal::Other(INT), Signal::Kill]);
    assert_eq!(w.host.signals[0].0, run);
    w.exit("p", ExitStatus::Signal(INT));
    assert!(w.last_exit_flags().contains(ExitFlags::EXPECTED));
}

#[test]
fn restart_all_restarts_whatever_the_policy() {
    let mut w = World::new();
    w.add("never", spec().with_restart(RestartPolicy::Never));
    w.add("onfail", spec().with_restart(RestartPolicy::OnFailure));
    w.add("idle", spec().with_restart(RestartPolicy::Never));
    w.exit("idle", ExitStatus::Code(0));
    assert_eq!(w.state("idle"), ProcessState::Stopped);
    w.advance(5.0);
    w.sup.restart_all(w.now, &mut w.host);
    w.exit("never", ExitStatus::Signal(TERM));
    w.exit("onfail", ExitStatus::Code(0));
    assert_eq!(w.state("never"), ProcessState::Running);
    assert_eq!(w.state("onfail"), ProcessState::Running);
    assert_eq!(w.state("idle"), ProcessState::Stopped, "it was not running");
    assert_eq!(w.spawns(), 5);
}

#[test]
fn a_stopped_process_starts_again_by_start_process_and_by_start() {
    let mut w = World::new();
    w.add("p", spec().with_restart(RestartPolicy::Never));
    w.exit("p", ExitStatus::Code(0));
    w.start_process("p");
    assert_eq!(w.state("p"), ProcessState::Running);
    w.exit("p", ExitStatus::Code(0));
    w.sup.start(w.now, &mut w.host);
    assert_eq!(w.state("p"), ProcessState::Running);
    assert_eq!(w.spawns(), 3);
}

#[test]
fn overridden_timings_apply_to_their_process_alone() {
    let mut w = World::new();
    let own = spec()
        .with_threshold(secs(10.0))
        .with_kill_time(secs(2.0))
        .with_restart_delays(secs(3.0), secs(5.0))
        .unwrap();
    w.add("own", own);
    w.add("plain", spec());
    w.advance(4.0); // above the monitor's threshold (1 s), below own's (10 s)
    w.exit("own", ExitStatus::Code(1));
    w.exit("plain", ExitStatus::Code(1));
    let delays: Vec<Duration> = w
        .host
        .reports
        .iter()
        .filter_map(|r| match r {
            Report::RestartScheduled { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(
        delays,
        [secs(3.0)],
        "own backs off from its own min; plain restarts at once"
    );
    w.advance(3.0);
    let run = w.run("own");
    w.stop_process("own");
    w.advance(1.9);
    assert!(!w.host.signals.contains(&(run, Signal::Kill)));
    w.advance(0.2);
    assert!(
        w.host.signals.contains(&(run, Signal::Kill)),
        "own kill time: 2 s"
    );
    // Its delay doubles up to its own max, 5 s.
    w.exit("own", ExitStatus::Code(1)); // lived 2.1 s < 10 s
    w.advance(6.0);
    w.exit("own", ExitStatus::Code(1));
    let last = w.host.reports.iter().rev().find_map(|r| match r {
        Report::RestartScheduled { delay, .. } => Some(*delay),
        _ => None,
    });
    assert_eq!(last, Some(secs(5.0)));
}

#[test]
fn a_process_without_overrides_follows_later_monitor_changes() {
    let mut w = World::new();
    w.add("p", spec());
    w.sup.settings_mut().threshold = secs(100.0);
    w.sup.settings_mut().kill_time = secs(0.5);
    w.advance(10.0);
    w.exit("p", ExitStatus::Code(1));
    assert_eq!(
        w.count(restart_scheduled),
        1,
        "10 s is now an instant death"
    );
    w.advance(1.0);
    let run = w.run("p");
    w.stop_process("p");
    w.advance(0.6);
    assert!(w.host.signals.contains(&(run, Signal::Kill)));
}

fn limited(burst: u32, interval: f64, retry_after: f64) -> ProcessSpec {
    spec()
        .with_restart_delays(Duration::ZERO, Duration::ZERO)
        .unwrap()
        .with_start_limit(StartLimit {
            burst,
            interval: secs(interval),
            retry_after: secs(retry_after),
        })
}

#[test]
fn the_start_limit_counts_failed_spawns_and_long_runs_alike() {
    let mut w = World::new();
    w.host.failures.extend([ENOENT, ENOENT]);
    w.add("p", limited(4, 60.0, 0.0)); // start 1 fails
    w.advance(0.0); // start 2 fails
    w.advance(0.0); // start 3 runs
    assert_eq!(w.state("p"), ProcessState::Running);
    w.advance(5.0); // a long run
    w.exit("p", ExitStatus::Code(1)); // start 4 at once
    assert_eq!(w.state("p"), ProcessState::Running);
    w.advance(5.0);
    w.exit("p", ExitStatus::Code(1)); // start 5 would exceed it
    assert_eq!(w.state("p"), ProcessState::Failed);
    assert_eq!(w.count(gave_up), 1);
    assert_eq!(w.spawns(), 2);
    let retry = w.host.reports.iter().find_map(|r| match r {
        Report::GaveUp { retry, .. } => Some(*retry),
        _ => None,
    });
    assert_eq!(retry, Some(None));
    w.advance(3600.0);
    assert_eq!(
        w.state("p"),
        ProcessState::Failed,
        "no retry_after: it stays"
    );
    assert_eq!(w.sup.poll_timeout(), None);
}

#[test]
fn the_start_limit_window_slides() {
    let mut w = World::new();
    w.add("p", limited(2, 10.0, 0.0)); // start at 0
    w.advance(6.0);
    w.exit("p", ExitStatus::Code(1)); // start at 6
    w.advance(6.0);
    w.exit("p", ExitStatus::Code(1)); // at 12: the start at 0 has left the window
    assert_eq!(w.state("p"), ProcessState::Running);
    w.advance(1.0);
    w.exit("p", ExitStatus::Code(1)); // at 13: 6 and 12 are within 10 s
    assert_eq!(w.state("p"), ProcessState::Failed);
}

#[test]
fn retry_after_tries_again_with_a_fresh_count() {
    let mut w = World::new();
    w.add("p", limited(1, 60.0, 30.0));
    w.advance(2.0);
    w.exit("p", ExitStatus::Code(1));
    assert_eq!(w.state("p"), ProcessState::Failed);
    w.advance(29.0);
    assert_eq!(w.state("p"), ProcessState::Failed);
    w.advance(1.0);
    assert_eq!(
        w.state("p"),
        ProcessState::Running,
        "tried again after 30 s"
    );
    assert_eq!(w.spawns(), 2);
}

#[test]
fn start_process_and_start_revive_a_failed_process() {
    let mut w = World::new();
    w.add("p", limited(1, 60.0, 0.0));
    w.exit("p", ExitStatus::Code(1));
    assert_eq!(w.state("p"), ProcessState::Failed);
    w.start_process("p");
    assert_eq!(w.state("p"), ProcessState::Running, "a fresh count");
    w.exit("p", ExitStatus::Code(1));
    assert_eq!(w.state("p"), ProcessState::Failed);
    w.sup.stop(w.now, &mut w.host);
    assert_eq!(w.state("p"), ProcessState::Failed, "stop leaves it failed");
    w.sup.start(w.now, &mut w.host);
    assert_eq!(w.state("p"), ProcessState::Running);
    assert_eq!(w.count(gave_up), 2);
}

#[test]
fn stop_cancels_a_failed_process_s_retry() {
    let mut w = World::new();
    w.add("p", limited(1, 60.0, 5.0));
    w.exit("p", ExitStatus::Code(1));
    w.sup.stop(w.now, &mut w.host);
    assert_eq!(w.sup.poll_timeout(), None);
    w.advance(10.0);
    assert_eq!(w.spawns(), 1);
}

#[test]
fn a_removed_process_s_last_run_keeps_its_flags() {
    let mut w = World::new();
    w.add("p", spec().with_stop_signal(INT).unwrap());
    let run = w.run("p");
    w.sup.remove("p", w.now, &mut w.host).unwrap();
    w.host.live.remove(&run);
    w.sup
        .exited(run, ExitStatus::Signal(INT), w.now, &mut w.host);
    assert_eq!(
        w.last_exit_flags(),
        ExitFlags::REQUESTED | ExitFlags::EXPECTED
    );
}

#[test]
fn current_run_is_state_when_not_running() {
    let mut w = World::new();
    w.add("p", spec().with_restart(RestartPolicy::Never));
    assert!(w.sup.current_run("p").is_ok());
    w.exit("p", ExitStatus::Code(0));
    let e = w.sup.current_run("p").unwrap_err();
    assert_eq!(e.kind(), crate::error::ErrorKind::State);
    let e = w.sup.current_run("q").unwrap_err();
    assert_eq!(e.kind(), crate::error::ErrorKind::NotFound);
}

#[test]
fn spec_setters_reject_bad_values_naming_the_setting() {
    let bad = [
        spec().with_stop_signal(0).unwrap_err(),
        spec().with_stop_signal(65).unwrap_err(),
        spec().with_stop_signal(9).unwrap_err(),
        spec().with_stop_signal(19).unwrap_err(),
        spec()
            .with_restart_delays(secs(2.0), secs(1.0))
            .unwrap_err(),
        spec().with_rlimit(99, 1, 1).unwrap_err(),
        spec().with_rlimit(7, 2, 1).unwrap_err(),
        spec().with_env_var("", Some("x")).unwrap_err(),
        spec().with_env_var("A=B", Some("x")).unwrap_err(),
    ];
    let words = [
        "stop signal",
        "stop signal",
        "SIGKILL",
        "SIGSTOP",
        "restart delay",
        "rlimit",
        "soft",
        "environment variable",
        "environment variable",
    ];
    for (error, word) in bad.iter().zip(words) {
        assert_eq!(error.kind(), crate::error::ErrorKind::Invalid);
        assert!(error.message().contains(word), "{}", error.message());
    }
}

// ---- units (containment): what follows an exit waits for the unit ----------

impl World {
    fn exit_leaving_unit(&mut self, name: &str, status: ExitStatus) -> RunId {
        let run = self.run(name);
        self.sup
            .exited_leaving_unit(run, status, self.now, &mut self.host);
        run
    }

    fn unit_empty(&mut self, run: RunId) {
        self.host.live.remove(&run);
        self.sup.unit_empty(run, self.now, &mut self.host);
    }
}

#[test]
fn a_child_that_exits_leaving_its_unit_drains_before_the_restart() {
    let mut w = World::new();
    w.add("p", spec().with_kill_time(secs(2.0)));
    w.advance(5.0); // long-lived: the restart would be at once
    let run = w.exit_leaving_unit("p", ExitStatus::Signal(9));
    assert!(matches!(w.host.reports.last(), Some(Report::Exited { .. })));
    let info = w.sup.info("p", w.now).unwrap();
    assert_eq!((info.state, info.pid), (ProcessState::Stopping, 0));
    assert_eq!(
        w.host.signals,
        [(run, Signal::Term)],
        "the rest of the unit is stopped"
    );
    assert_eq!(w.spawns(), 1, "no restart while the unit holds processes");
    w.advance(2.0);
    assert_eq!(
        w.host.signals[1],
        (run, Signal::Kill),
        "KILL after the kill time"
    );
    assert_eq!(w.sup.live_runs(), 1, "free waits for the unit");
    w.unit_empty(run);
    assert_eq!(w.spawns(), 2, "restarted once the unit is empty");
    assert_eq!(w.sup.live_runs(), 1);
}

#[test]
fn a_requested_stop_that_leaves_a_unit_keeps_its_kill_time_and_kills_once() {
    let mut w = World::new();
    w.add("p", spec().with_kill_time(secs(2.0)));
    w.stop_process("p");
    w.advance(2.5); // KILL sent to the unit
    let run = w.exit_leaving_unit("p", ExitStatus::Signal(9));
    w.advance(10.0);
    let kills = w
        .host
        .signals
        .iter()
        .filter(|(_, s)| *s == Signal::Kill)
        .count();
    let terms = w
        .host
        .signals
        .iter()
        .filter(|(_, s)| *s == Signal::Term)
        .count();
    assert_eq!((terms, kills), (1, 1));
    assert_eq!(w.count(|r| matches!(r, Report::Killed { .. })), 1);
    w.unit_empty(run);
    assert_eq!(
        w.state("p"),
        ProcessState::Running,
        "ALWAYS restarts after a stop"
    );
}

#[test]
fn a_start_asked_while_the_unit_drains_comes_once_it_is_empty() {
    let mut w = World::new();
    w.add("p", spec().with_restart(RestartPolicy::Never));
    let run = w.exit_leaving_unit("p", ExitStatus::Code(0));
    w.start_process("p");
    assert_eq!(w.spawns(), 1, "not while the old unit is there");
    w.unit_empty(run);
    assert_eq!(w.state("p"), ProcessState::Running);
}

#[test]
fn stop_and_remove_while_the_unit_drains_mean_no_restart() {
    let mut w = World::new();
    w.add("a", spec());
    w.add("b", spec());
    w.advance(5.0);
    let ra = w.exit_leaving_unit("a", ExitStatus::Code(1));
    let rb = w.exit_leaving_unit("b", ExitStatus::Code(1));
    w.sup.remove("b", w.now, &mut w.host).unwrap();
    w.sup.stop(w.now, &mut w.host);
    w.unit_empty(ra);
    w.unit_empty(rb);
    assert_eq!(w.spawns(), 2);
    assert_eq!(w.state("a"), ProcessState::Stopped);
    assert_eq!(w.sup.live_runs(), 0);
}
