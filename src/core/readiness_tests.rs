//! Readiness, watchdog and start order (API.md "Readiness"), driven by a fake
//! host and a fake clock like `policy_tests.rs`, with a host that hears every
//! [`Report`] and records every signal with its time.

use super::*;
use crate::error::ErrorKind;
use std::collections::HashSet;
use std::time::Duration;

const TERM: i32 = 15;

#[derive(Default)]
struct Recorder {
    reports: Vec<(Time, Report)>,
    signals: Vec<(Time, Name, Signal)>,
    live: HashSet<RunId>,
    names: std::collections::HashMap<RunId, Name>,
    spawned: Vec<Name>,
    now: Time,
}

impl Host for Recorder {
    fn spawn(&mut self, run: RunId, name: &Name, _spec: &ProcessSpec) -> Result<i32, i32> {
        self.live.insert(run);
        self.names.insert(run, name.clone());
        self.spawned.push(name.clone());
        Ok(100 + run.0 as i32)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        assert!(self.live.contains(&run), "signal to a reaped run");
        self.signals
            .push((self.now, self.names[&run].clone(), signal));
        true
    }

    fn event(&mut self, _event: Event) {
        unreachable!("a host that hears reports gets no seed event");
    }

    fn report(&mut self, report: Report) {
        self.reports.push((self.now, report));
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

fn n(name: &str) -> Name {
    Name::new(name).unwrap()
}

/// A spec made the way `procmon_spec_new` makes one: readiness at its defaults.
fn spec() -> ProcessSpec {
    ProcessSpec::new(["prog"]).unwrap().with_readiness(|_| {})
}

fn notify_fd() -> ProcessSpec {
    spec().with_readiness(|r| r.mode = ReadyMode::NotifyFd(3))
}

fn after(spec: ProcessSpec, names: &[&str]) -> ProcessSpec {
    spec.with_readiness(|r| r.after = names.iter().map(|s| n(s)).collect())
}

impl World {
    fn new() -> World {
        let settings = Settings {
            threshold: secs(1.0),
            kill_time: secs(5.0),
            min_restart_delay: secs(1.0),
            max_restart_delay: secs(3600.0),
        };
        let mut w = World {
            sup: Supervisor::new(settings),
            host: Recorder::default(),
            now: Duration::ZERO,
        };
        w.sup.start(w.now, &mut w.host);
        w
    }

    fn add(&mut self, name: &str, spec: ProcessSpec) {
        self.try_add(name, spec).unwrap();
    }

    fn try_add(&mut self, name: &str, spec: ProcessSpec) -> crate::error::Result<()> {
        self.sup.add(n(name), spec, self.now, &mut self.host)
    }

    fn advance(&mut self, seconds: f64) {
        let target = self.now + secs(seconds);
        while let Some(at) = self.sup.poll_timeout().filter(|at| *at <= target) {
            self.now = self.now.max(at);
            self.host.now = self.now;
            self.sup
                .handle_timeout(self.now, &mut self.host, usize::MAX);
        }
        self.now = target;
        self.host.now = target;
    }

    fn run(&self, name: &str) -> RunId {
        self.sup.current_run(name).expect("running").0
    }

    fn notice(&mut self, name: &str, notice: Notice) {
        let run = self.run(name);
        self.sup.notice(run, notice, self.now, &mut self.host);
    }

    fn exit(&mut self, name: &str, status: ExitStatus) {
        let run = self.run(name);
        self.host.live.remove(&run);
        self.sup.exited(run, status, self.now, &mut self.host);
    }

    fn info(&self, name: &str) -> ProcessInfo {
        self.sup.info(name, self.now).unwrap()
    }

    fn state(&self, name: &str) -> ProcessState {
        self.info(name).state
    }

    /// The kinds of `name`'s reports, in order, as short words.
    fn kinds(&self, name: &str) -> Vec<&'static str> {
        let of = |r: &Report| match r {
            Report::Started { .. } => "started",
            Report::Ready { .. } => "ready",
            Report::Exited { .. } => "exited",
            Report::SpawnFailed { .. } => "spawn_failed",
            Report::RestartScheduled { .. } => "scheduled",
            Report::Killed { .. } => "killed",
            Report::GaveUp { .. } => "gave_up",
        };
        self.reports(name).map(|(_, r)| of(r)).collect()
    }

    fn reports<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a (Time, Report)> + 'a {
        self.host
            .reports
            .iter()
            .filter(move |(_, r)| r.name().as_str() == name)
    }

    fn ready_at(&self, name: &str) -> Vec<Time> {
        let ready = self.reports(name).filter_map(|(at, r)| match r {
            Report::Ready { .. } => Some(*at),
            _ => None,
        });
        ready.collect()
    }

    fn last_exit_flags(&self, name: &str) -> ExitFlags {
        let flags = self.reports(name).filter_map(|(_, r)| match r {
            Report::Exited { flags, .. } => Some(*flags),
            _ => None,
        });
        flags.last().expect("an EXITED")
    }

    fn last_delay(&self, name: &str) -> Option<Duration> {
        let delays = self.reports(name).filter_map(|(_, r)| match r {
            Report::RestartScheduled { delay, .. } => Some(*delay),
            _ => None,
        });
        delays.last()
    }

    fn spawned(&self) -> Vec<&str> {
        self.host.spawned.iter().map(Name::as_str).collect()
    }

    /// The signals sent, as (seconds, name, signal number).
    fn signals(&self) -> Vec<(f64, &str, i32)> {
        let signals = self.host.signals.iter();
        signals
            .map(|(at, name, s)| (at.as_secs_f64(), name.as_str(), s.number()))
            .collect()
    }
}

// ---- each mode ----------------------------------------------------------------

#[test]
fn on_start_is_ready_right_after_started_with_the_same_pid() {
    let mut w = World::new();
    w.add("p", spec());
    assert_eq!(w.kinds("p"), ["started", "ready"]);
    let pids: Vec<i32> = w
        .reports("p")
        .map(|(_, r)| match r {
            Report::Started { pid, .. } | Report::Ready { pid, .. } => *pid,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(pids[0], pids[1]);
    assert_eq!(w.state("p"), ProcessState::Running);
}

#[test]
fn a_spec_without_readiness_keeps_the_seeds_events() {
    let mut w = World::new();
    w.add("old", ProcessSpec::new(["prog"]).unwrap());
    w.add("new", after(spec(), &["old"]));
    assert_eq!(w.kinds("old"), ["started"], "no READY: 0.1's events");
    assert_eq!(w.state("old"), ProcessState::Running);
    assert_eq!(w.spawned(), ["old", "new"], "yet it is ready for `after`");
}

#[test]
fn notify_fd_is_starting_until_its_first_newline() {
    let mut w = World::new();
    w.add("p", notify_fd());
    assert_eq!(w.kinds("p"), ["started"]);
    let info = w.info("p");
    assert_eq!(info.state, ProcessState::Starting);
    assert!(info.pid > 0, "a spawned child has its pid while starting");
    w.advance(0.3);
    w.notice("p", Notice::Newline);
    assert_eq!(w.kinds("p"), ["started", "ready"]);
    assert_eq!(w.ready_at("p"), [secs(0.3)]);
    assert_eq!(w.state("p"), ProcessState::Running);
    w.notice("p", Notice::Newline); // a ping now, not a second READY
    assert_eq!(w.kinds("p"), ["started", "ready"]);
}

#[test]
fn sd_notify_is_ready_on_ready_1_and_ignores_early_pings() {
    let mut w = World::new();
    w.add("p", spec().with_readiness(|r| r.mode = ReadyMode::SdNotify));
    w.notice("p", Notice::Watchdog);
    assert_eq!(w.state("p"), ProcessState::Starting);
    w.notice("p", Notice::Ready);
    w.notice("p", Notice::Ready);
    assert_eq!(w.kinds("p"), ["started", "ready"]);
}

#[test]
fn line_is_ready_on_its_match() {
    let mut w = World::new();
    let line = b"listening on".to_vec().into();
    w.add(
        "p",
        spec().with_readiness(|r| r.mode = ReadyMode::Line(line)),
    );
    assert_eq!(w.state("p"), ProcessState::Starting);
    w.notice("p", Notice::Ready);
    assert_eq!(w.state("p"), ProcessState::Running);
}

// ---- the timeout and the instant-death rule -----------------------------------

#[test]
fn a_timeout_stops_kills_and_backs_off_as_an_instant_death() {
    let mut w = World::new();
    w.add(
        "p",
        notify_fd().with_readiness(|r| r.timeout = Some(secs(2.0))),
    );
    w.advance(1.9);
    assert!(w.signals().is_empty());
    w.advance(0.1);
    assert_eq!(w.signals(), [(2.0, "p", TERM)]);
    assert_eq!(w.state("p"), ProcessState::Stopping);
    w.advance(5.0);
    assert_eq!(w.signals(), [(2.0, "p", TERM), (7.0, "p", 9)]);
    w.exit("p", ExitStatus::Signal(9));
    let flags = w.last_exit_flags("p");
    assert!(flags.contains(ExitFlags::TIMEOUT), "{flags:?}");
    assert!(!flags.contains(ExitFlags::REQUESTED), "{flags:?}");
    assert_eq!(
        w.kinds("p"),
        ["started", "killed", "exited", "scheduled"],
        "7 s of uptime, and still an instant death"
    );
    assert_eq!(w.last_delay("p"), Some(secs(1.0)));
    assert_eq!(w.state("p"), ProcessState::Backoff);
}

#[test]
fn a_timeout_under_on_failure_restarts_and_under_never_does_not() {
    for (policy, restarts) in [
        (RestartPolicy::OnFailure, true),
        (RestartPolicy::Never, false),
    ] {
        let mut w = World::new();
        let spec = notify_fd().with_readiness(|r| r.timeout = Some(secs(1.0)));
        w.add("p", spec.with_restart(policy));
        w.advance(1.0);
        w.exit("p", ExitStatus::Code(0)); // exits 0 on TERM: still a failure
        assert_eq!(w.last_delay("p").is_some(), restarts, "{policy:?}");
    }
}

#[test]
fn instant_death_counts_from_readiness() {
    // Ready for less than the threshold, then dies: instant.
    let mut w = World::new();
    w.add("p", notify_fd());
    w.advance(5.0);
    w.notice("p", Notice::Newline);
    w.advance(0.5);
    w.exit("p", ExitStatus::Code(1));
    assert_eq!(w.last_delay("p"), Some(secs(1.0)), "5.5 s up, 0.5 s ready");

    // Ready for longer: not instant, restarted at once.
    let mut w = World::new();
    w.add("p", notify_fd());
    w.notice("p", Notice::Newline);
    w.advance(1.5);
    w.exit("p", ExitStatus::Code(1));
    assert_eq!(w.last_delay("p"), None);
    assert_eq!(w.spawned().len(), 2);

    // Takes longer than the threshold to get ready and dies before: instant.
    let mut w = World::new();
    w.add("p", notify_fd());
    w.advance(3.0);
    w.exit("p", ExitStatus::Code(1));
    assert_eq!(w.last_delay("p"), Some(secs(1.0)));
}

// ---- the watchdog --------------------------------------------------------------

fn watched(policy: RestartPolicy) -> ProcessSpec {
    let spec = spec().with_readiness(|r| {
        r.mode = ReadyMode::SdNotify;
        r.watchdog = Some(secs(10.0));
    });
    spec.with_restart(policy)
}

#[test]
fn pings_keep_a_run_and_a_miss_stops_and_restarts_it() {
    let mut w = World::new();
    w.add("p", watched(RestartPolicy::Always));
    w.advance(30.0); // not ready yet: no watchdog, no timeout
    assert!(w.signals().is_empty());
    w.notice("p", Notice::Ready);
    for _ in 0..10 {
        w.advance(9.0);
        w.notice("p", Notice::Watchdog);
    }
    assert!(w.signals().is_empty(), "pinged within every 10 s");
    w.advance(9.99);
    assert!(w.signals().is_empty());
    w.advance(0.01);
    assert_eq!(w.signals(), [(130.0, "p", TERM)]);
    w.notice("p", Notice::Watchdog); // too late: it is being stopped
    w.advance(1.0);
    w.exit("p", ExitStatus::Signal(TERM));
    let flags = w.last_exit_flags("p");
    assert!(flags.contains(ExitFlags::WATCHDOG), "{flags:?}");
    assert!(!flags.contains(ExitFlags::EXPECTED), "{flags:?}");
    assert!(!flags.contains(ExitFlags::REQUESTED), "{flags:?}");
    assert_eq!(w.spawned().len(), 2, "ready for 100 s: restarted at once");
    assert_eq!(
        w.state("p"),
        ProcessState::Starting,
        "the new run is not ready yet"
    );
}

#[test]
fn a_watchdog_stop_restarts_under_on_failure_even_after_exit_0() {
    let mut w = World::new();
    w.add("p", watched(RestartPolicy::OnFailure));
    w.notice("p", Notice::Ready);
    w.advance(10.0);
    w.exit("p", ExitStatus::Code(0));
    assert!(w.last_exit_flags("p").contains(ExitFlags::WATCHDOG));
    assert_eq!(w.spawned().len(), 2);

    let mut w = World::new();
    w.add("p", watched(RestartPolicy::Never));
    w.notice("p", Notice::Ready);
    w.advance(10.0);
    w.exit("p", ExitStatus::Code(0));
    assert_eq!(w.spawned().len(), 1);
    assert_eq!(w.state("p"), ProcessState::Stopped);
}

#[test]
fn notify_fd_lines_after_the_first_are_pings() {
    let mut w = World::new();
    w.add(
        "p",
        notify_fd().with_readiness(|r| r.watchdog = Some(secs(2.0))),
    );
    w.notice("p", Notice::Newline);
    w.advance(1.5);
    w.notice("p", Notice::Newline);
    w.advance(1.5);
    assert!(w.signals().is_empty());
    w.advance(0.5);
    assert_eq!(w.signals(), [(3.5, "p", TERM)]);
}

#[test]
fn report_unhealthy_is_a_missed_watchdog() {
    let mut w = World::new();
    w.add("p", spec()); // no watchdog needed
    w.advance(5.0);
    w.sup.report_unhealthy("p", w.now, &mut w.host).unwrap();
    assert_eq!(w.signals(), [(5.0, "p", TERM)]);
    w.sup.report_unhealthy("p", w.now, &mut w.host).unwrap(); // stopping: no-op
    assert_eq!(w.signals().len(), 1);
    w.exit("p", ExitStatus::Signal(TERM));
    assert!(w.last_exit_flags("p").contains(ExitFlags::WATCHDOG));
    assert_eq!(w.spawned().len(), 2);
    w.sup.stop(w.now, &mut w.host);
    w.exit("p", ExitStatus::Signal(TERM));
    let err = w.sup.report_unhealthy("p", w.now, &mut w.host).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::State);
    let err = w
        .sup
        .report_unhealthy("nope", w.now, &mut w.host)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn watchdog_trigger_from_the_child_is_unhealthy() {
    let mut w = World::new();
    w.add("p", watched(RestartPolicy::Always));
    w.notice("p", Notice::Ready);
    w.notice("p", Notice::Unhealthy);
    assert_eq!(w.signals(), [(0.0, "p", TERM)]);
}

// ---- after ---------------------------------------------------------------------

#[test]
fn a_chain_of_three_added_backwards_starts_in_order() {
    let mut w = World::new();
    w.add("c", after(spec(), &["b"]));
    w.add("b", after(spec(), &["a"]));
    assert!(w.spawned().is_empty(), "a is not monitored yet: both wait");
    let info = w.info("c");
    assert_eq!((info.state, info.pid), (ProcessState::Starting, 0));
    w.add("a", notify_fd());
    assert_eq!(w.spawned(), ["a"], "b waits until a is ready");
    assert_eq!(w.state("b"), ProcessState::Starting);
    w.notice("a", Notice::Newline);
    assert_eq!(w.spawned(), ["a", "b", "c"]);
}

#[test]
fn a_diamond_starts_its_bottom_once_both_sides_are_ready() {
    let mut w = World::new();
    w.add("top", spec());
    w.add("left", after(notify_fd(), &["top"]));
    w.add("right", after(notify_fd(), &["top"]));
    w.add("bottom", after(spec(), &["left", "right"]));
    assert_eq!(w.spawned(), ["top", "left", "right"]);
    w.notice("right", Notice::Newline);
    assert_eq!(w.spawned().len(), 3, "left is not ready yet");
    w.notice("left", Notice::Newline);
    assert_eq!(w.spawned(), ["top", "left", "right", "bottom"]);
}

#[test]
fn a_dependency_that_never_gets_ready_keeps_its_dependents_waiting() {
    let mut w = World::new();
    w.add("db", notify_fd());
    w.add("api", after(spec(), &["db"]));
    w.advance(3600.0);
    let info = w.info("api");
    assert_eq!(
        (info.state, info.pid, info.starts),
        (ProcessState::Starting, 0, 0)
    );
    // The service stops: the wait is over too.
    w.sup.stop(w.now, &mut w.host);
    assert_eq!(w.state("api"), ProcessState::Stopped);
}

#[test]
fn a_dependent_restarted_while_its_dependency_is_down_waits_for_it() {
    let mut w = World::new();
    w.add("db", notify_fd());
    w.notice("db", Notice::Newline);
    w.add("api", after(spec(), &["db"]));
    w.advance(5.0);
    w.exit("db", ExitStatus::Code(1)); // restarted at once, not ready yet
    w.exit("api", ExitStatus::Code(1));
    assert_eq!(w.state("api"), ProcessState::Starting);
    assert_eq!(w.spawned(), ["db", "api", "db"]);
    w.notice("db", Notice::Newline);
    assert_eq!(w.spawned(), ["db", "api", "db", "api"]);
}

#[test]
fn cycles_and_self_references_are_refused_at_add() {
    let mut w = World::new();
    w.add("a", after(spec(), &["b"]));
    w.add("b", after(spec(), &["c"]));
    let err = w.try_add("c", after(spec(), &["a"])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("cycle"), "{}", err.message());
    let err = w.try_add("d", after(spec(), &["d"])).unwrap_err();
    assert!(err.message().contains("itself"), "{}", err.message());
    assert!(w.sup.info("c", w.now).is_err(), "nothing was added");
    w.add("c", after(spec(), &["x"])); // no cycle: fine
}

#[test]
fn a_watchdog_without_a_pinging_mode_is_refused_at_add() {
    let mut w = World::new();
    let spec = spec().with_readiness(|r| r.watchdog = Some(secs(1.0)));
    let err = w.try_add("p", spec).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("watchdog"), "{}", err.message());
}

#[test]
fn stop_is_reverse_ordered_and_bounded_by_the_kill_times() {
    let mut w = World::new();
    w.add("a", spec());
    w.add("b", after(spec(), &["a"]));
    w.add("c", after(spec(), &["b"]));
    w.add("solo", spec());
    w.advance(10.0);
    w.sup.stop(w.now, &mut w.host);
    assert_eq!(w.signals(), [(10.0, "c", TERM), (10.0, "solo", TERM)]);
    w.exit("solo", ExitStatus::Signal(TERM));
    w.advance(1.0);
    w.exit("c", ExitStatus::Signal(TERM));
    assert_eq!(w.signals()[2..], [(11.0, "b", TERM)]);
    // b ignores TERM: a waits for b's KILL, 5 s later, not for ever.
    w.advance(4.9);
    assert_eq!(w.signals().len(), 3);
    w.advance(0.1);
    assert_eq!(w.signals()[3..], [(16.0, "b", 9), (16.0, "a", TERM)]);
    w.exit("b", ExitStatus::Signal(9));
    w.exit("a", ExitStatus::Signal(TERM));
    assert_eq!(w.sup.live_runs(), 0);
    assert_eq!(w.spawned().len(), 4, "nothing restarted");
}

#[test]
fn shut_down_is_ordered_too() {
    let mut w = World::new();
    w.add("db", spec());
    w.add("api", after(spec(), &["db"]));
    w.sup.shut_down(w.now, &mut w.host);
    assert_eq!(w.signals(), [(0.0, "api", TERM)]);
    w.exit("api", ExitStatus::Signal(TERM));
    assert_eq!(w.signals()[1..], [(0.0, "db", TERM)]);
}

#[test]
fn start_cancels_an_ordered_stop_in_progress() {
    let mut w = World::new();
    w.add("db", spec());
    w.add("api", after(spec(), &["db"]));
    w.advance(5.0); // long-lived: restarted at once
    w.sup.stop(w.now, &mut w.host);
    w.sup.start_service(w.now, &mut w.host).unwrap();
    w.exit("api", ExitStatus::Signal(TERM));
    assert_eq!(w.signals().len(), 1, "db keeps running");
    assert_eq!(w.state("db"), ProcessState::Running);
    assert_eq!(w.spawned(), ["db", "api", "api"]);
}
