//! Ports of Twisted's `test_procmon.py`, driven by a fake host and a fake clock,
//! the way the seed's tests drive a `MemoryReactor` and a `Clock`. Each test names
//! the Twisted test it ports; where procmon deliberately differs, a comment says so.

use super::*;
use crate::error::ErrorKind;
use std::collections::HashMap;
use std::time::Duration;

const TERM: i32 = 15;
const KILL: i32 = 9;

/// What the fake host saw spawned.
#[derive(Clone, Debug)]
struct Spawned {
    run: RunId,
    name: String,
    pid: i32,
    spec: ProcessSpec,
}

/// The seed's `MemoryReactor`: records spawns, signals and events.
#[derive(Default)]
struct FakeHost {
    spawns: Vec<Spawned>,
    signals: Vec<(String, Signal)>,
    events: Vec<Event>,
    /// Runs not yet reported as exited, with their names.
    live: HashMap<RunId, String>,
    /// Runs that exited without being reported yet (a zombie not yet reaped).
    dead: Vec<RunId>,
    /// The errno the next spawns fail with.
    fail_spawns: Option<i32>,
    next_pid: i32,
}

impl Host for FakeHost {
    fn spawn(&mut self, run: RunId, name: &Name, spec: &ProcessSpec) -> Result<i32, i32> {
        if let Some(errno) = self.fail_spawns {
            return Err(errno);
        }
        self.next_pid += 1;
        let pid = 1000 + self.next_pid;
        self.live.insert(run, name.as_str().to_owned());
        self.spawns.push(Spawned {
            run,
            name: name.as_str().to_owned(),
            pid,
            spec: spec.clone(),
        });
        Ok(pid)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        let name = self.live.get(&run).expect("signal to a live run").clone();
        if self.dead.contains(&run) {
            return false;
        }
        self.signals.push((name, signal));
        true
    }

    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// A supervisor, its fake host and a fake clock.
struct World {
    sup: Supervisor,
    host: FakeHost,
    now: Time,
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

impl World {
    /// The seed's defaults: threshold 1 s, kill time 5 s, delays 1 s to 3600 s.
    fn new() -> World {
        World {
            sup: Supervisor::new(Settings::default()),
            host: FakeHost::default(),
            now: Duration::ZERO,
        }
    }

    /// A world whose service runs, as after `startService`.
    fn running() -> World {
        let mut w = World::new();
        w.start();
        w
    }

    fn add_spec(&mut self, name: &str, spec: ProcessSpec) -> crate::error::Result<()> {
        let name = Name::new(name).expect("a valid name");
        self.sup.add(name, spec, self.now, &mut self.host)
    }

    fn add(&mut self, name: &str, argv: &[&str]) {
        let spec = ProcessSpec::new(argv.iter().copied()).expect("a valid argv");
        self.add_spec(name, spec).expect("a new name");
    }

    fn start(&mut self) {
        self.sup.start(self.now, &mut self.host);
    }

    fn stop(&mut self) {
        self.sup.stop(self.now, &mut self.host);
    }

    fn start_process(&mut self, name: &str) -> crate::error::Result<()> {
        self.sup.start_process(name, self.now, &mut self.host)
    }

    fn stop_process(&mut self, name: &str) -> crate::error::Result<()> {
        self.sup.stop_process(name, self.now, &mut self.host)
    }

    fn remove(&mut self, name: &str) -> crate::error::Result<()> {
        self.sup.remove(name, self.now, &mut self.host)
    }

    /// The seed's `Clock.advance`: fires every timer due on the way, in order.
    fn advance(&mut self, seconds: f64) {
        let target = self.now + secs(seconds);
        while let Some(at) = self.sup.poll_timeout().filter(|at| *at <= target) {
            self.now = self.now.max(at);
            self.sup.handle_timeout(self.now, &mut self.host);
        }
        self.now = target;
    }

    /// The current run of `name`, as the host knows it.
    fn current(&self, name: &str) -> Spawned {
        self.host
            .spawns
            .iter()
            .rev()
            .find(|s| s.name == name && self.host.live.contains_key(&s.run))
            .cloned()
            .unwrap_or_else(|| panic!("{name} is not running"))
    }

    /// The child of `name` ends with `status` (the seed's `processEnded`).
    fn exit(&mut self, name: &str, status: ExitStatus) {
        let run = self.current(name).run;
        self.host.live.remove(&run);
        self.sup.exited(run, status, self.now, &mut self.host);
    }

    fn spawn_count(&self, name: &str) -> usize {
        self.host.spawns.iter().filter(|s| s.name == name).count()
    }

    fn signals(&self, name: &str) -> Vec<Signal> {
        let sent = self.host.signals.iter().filter(|(n, _)| n == name);
        sent.map(|(_, signal)| *signal).collect()
    }

    fn pid(&self, name: &str) -> i32 {
        self.sup.pid(name).expect("a monitored name")
    }

    fn info(&self, name: &str) -> ProcessInfo {
        self.sup.info(name, self.now).expect("a monitored name")
    }

    fn restart_delays(&self) -> Vec<Duration> {
        let scheduled = self.host.events.iter().filter_map(|event| match event {
            Event::RestartScheduled { delay, .. } => Some(*delay),
            _ => None,
        });
        scheduled.collect()
    }

    fn killed_events(&self) -> usize {
        let killed = self.host.events.iter();
        killed.filter(|e| matches!(e, Event::Killed { .. })).count()
    }

    fn describe(&self) -> String {
        self.sup.describe()
    }
}

fn kind<T: std::fmt::Debug>(result: crate::error::Result<T>) -> ErrorKind {
    result.expect_err("an error").kind()
}

// ---- repr ----------------------------------------------------------------------

// test_reprLooksGood
#[test]
fn repr_looks_good() {
    let mut w = World::new();
    let spec = ProcessSpec::new(["arg1", "arg2"]).unwrap();
    w.add_spec("foo", spec.with_uid(1).with_gid(2)).unwrap();
    assert_eq!(
        w.describe(),
        "<ProcessMonitor 'foo'(1:2): ['arg1', 'arg2']>"
    );
}

// test_simpleReprLooksGood: no uid or gid, no parentheses.
#[test]
fn simple_repr_looks_good() {
    let mut w = World::new();
    w.add("foo", &["arg1", "arg2"]);
    w.add("bar", &["x"]);
    assert_eq!(
        w.describe(),
        "<ProcessMonitor 'foo': ['arg1', 'arg2'] 'bar': ['x']>"
    );
}

// The seed writes a lone uid as `(1)` and a lone gid as `(:2)`.
#[test]
fn repr_with_only_uid_or_only_gid() {
    let mut w = World::new();
    let spec = ProcessSpec::new(["a"]).unwrap();
    w.add_spec("u", spec.clone().with_uid(1)).unwrap();
    w.add_spec("g", spec.with_gid(2)).unwrap();
    assert_eq!(
        w.describe(),
        "<ProcessMonitor 'u'(1): ['a'] 'g'(:2): ['a']>"
    );
}

// ---- add, remove ---------------------------------------------------------------

// test_addProcess: adding to a running monitor starts the process at once.
#[test]
fn add_process() {
    let mut w = World::running();
    w.add("foo", &["arg1", "arg2"]);
    assert_eq!(w.spawn_count("foo"), 1);
    let spawned = w.current("foo");
    assert_eq!(w.pid("foo"), spawned.pid);
    let argv: Vec<_> = spawned
        .spec
        .argv()
        .iter()
        .map(|a| a.to_str().unwrap())
        .collect();
    assert_eq!(argv, ["arg1", "arg2"]);
    assert_eq!(spawned.spec.uid(), None);
    assert_eq!(spawned.spec.gid(), None);
    assert_eq!(
        w.info("foo").restart_delay,
        w.sup.settings().min_restart_delay
    );
}

// The seed's addProcess only starts the process when the service runs.
#[test]
fn add_process_only_starts_when_running() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    assert_eq!(w.spawn_count("foo"), 0);
    assert_eq!(w.pid("foo"), 0);
    assert_eq!(w.info("foo").state, ProcessState::Stopped);
}

// test_addProcessDuplicateKeyError
#[test]
fn add_process_duplicate_key_error() {
    let mut w = World::running();
    w.add("foo", &["arg1"]);
    let again = w.add_spec("foo", ProcessSpec::new(["other"]).unwrap());
    assert_eq!(kind(again), ErrorKind::Exists);
    assert_eq!(w.spawn_count("foo"), 1, "the duplicate must not spawn");
}

// test_addProcessEnv
#[test]
fn add_process_env() {
    let mut w = World::running();
    let spec = ProcessSpec::new(["foo"]).unwrap().with_env(["KEY=value"]);
    w.add_spec("foo", spec.unwrap()).unwrap();
    let env = w.current("foo").spec.env().map(|env| env.to_vec());
    assert_eq!(env, Some(vec![c"KEY=value".to_owned()]));
}

// test_addProcessCwd
#[test]
fn add_process_cwd() {
    let mut w = World::running();
    let spec = ProcessSpec::new(["foo"]).unwrap().with_cwd("/mnt/lala");
    w.add_spec("foo", spec.unwrap()).unwrap();
    assert_eq!(w.current("foo").spec.cwd(), Some(c"/mnt/lala"));
}

// test_removeProcess: the child is stopped and the name forgotten.
#[test]
fn remove_process() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.remove("foo").unwrap();
    assert_eq!(w.signals("foo"), [Signal::Term]);
    assert_eq!(kind(w.sup.pid("foo")), ErrorKind::NotFound);
    // Its last run still reports its exit, and is never restarted.
    w.advance(10.0);
    w.exit("foo", ExitStatus::Signal(TERM));
    w.advance(10.0);
    assert_eq!(w.spawn_count("foo"), 1);
    assert!(matches!(w.host.events.last(), Some(Event::Exited { .. })));
}

// test_removeProcessUnknownKeyError
#[test]
fn remove_process_unknown_key_error() {
    let mut w = World::running();
    assert_eq!(kind(w.remove("foo")), ErrorKind::NotFound);
}

// ---- start, stop ---------------------------------------------------------------

// test_startProcess
#[test]
fn start_process() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    w.start_process("foo").unwrap();
    assert_eq!(w.spawn_count("foo"), 1);
    assert_eq!(w.info("foo").state, ProcessState::Running);
    assert_eq!(w.info("foo").starts, 1);
}

// test_startProcessAlreadyStarted
#[test]
fn start_process_already_started() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.start_process("foo").unwrap();
    assert_eq!(w.spawn_count("foo"), 1);
}

// test_startProcessUnknownKeyError
#[test]
fn start_process_unknown_key_error() {
    let mut w = World::running();
    assert_eq!(kind(w.start_process("foo")), ErrorKind::NotFound);
}

// test_stopProcessNaturalTermination: the child dies of TERM after it lived past the
// threshold, so it is restarted at once.
#[test]
fn stop_process_natural_termination() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.advance(1.0); // the threshold
    w.stop_process("foo").unwrap();
    assert_eq!(w.signals("foo"), [Signal::Term]);
    assert_eq!(w.info("foo").state, ProcessState::Stopping);
    w.advance(1.0); // the child takes a second to die
    w.exit("foo", ExitStatus::Signal(TERM));
    assert_eq!(w.spawn_count("foo"), 2, "restarted at once");
    assert_eq!(w.info("foo").uptime, Duration::ZERO);
    assert_eq!(w.info("foo").last_exit, Some(ExitStatus::Signal(TERM)));
}

// test_stopProcessForcedKill: a child that ignores TERM is KILLed after the kill
// time, then restarted.
#[test]
fn stop_process_forced_kill() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.advance(1.0);
    w.stop_process("foo").unwrap();
    w.advance(5.0 - 1.0);
    assert_eq!(
        w.signals("foo"),
        [Signal::Term],
        "no KILL before the kill time"
    );
    w.advance(1.0);
    assert_eq!(w.signals("foo"), [Signal::Term, Signal::Kill]);
    assert_eq!(w.killed_events(), 1);
    w.exit("foo", ExitStatus::Signal(KILL));
    assert_eq!(w.spawn_count("foo"), 2, "restarted at once");
}

// test_stopProcessUnknownKeyError
#[test]
fn stop_process_unknown_key_error() {
    let mut w = World::running();
    assert_eq!(kind(w.stop_process("foo")), ErrorKind::NotFound);
}

// test_stopProcessAlreadyStopped: stopping a process that is not running does
// nothing, and raises nothing.
#[test]
fn stop_process_already_stopped() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    w.stop_process("foo").unwrap();
    assert!(w.host.signals.is_empty());
    assert_eq!(w.sup.poll_timeout(), None, "no kill timer for nothing");
}

// The seed's ProcessExitedAlready: a child that exited but is not reported yet gets
// no KILL timer, and no KILLED event is made up for it.
#[test]
fn stop_process_of_a_child_that_already_exited() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    let run = w.current("foo").run;
    w.host.dead.push(run);
    w.stop_process("foo").unwrap();
    assert_eq!(w.sup.poll_timeout(), None);
    w.advance(10.0);
    assert_eq!(w.killed_events(), 0);
}

// A child that exits on its own while its KILL is due: no KILLED event.
#[test]
fn kill_time_running_out_after_the_child_exited_is_not_a_kill() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.stop_process("foo").unwrap();
    let run = w.current("foo").run;
    w.host.dead.push(run);
    w.advance(5.0);
    assert_eq!(w.signals("foo"), [Signal::Term]);
    assert_eq!(w.killed_events(), 0);
}

// ---- output lines (the seed's LineLogger) --------------------------------------

fn lines(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut splitter = LineSplitter::default();
    let mut out = vec![];
    for chunk in chunks {
        let mut chunk = chunk.to_vec();
        splitter.feed(&mut chunk, |line| out.push(line.bytes().to_vec()));
    }
    splitter.finish(|line| out.push(line.bytes().to_vec()));
    out
}

// test_outputReceivedCompleteLine (and test_ouputReceivedCompleteErrLine: stderr
// goes through the same splitter).
#[test]
fn output_received_complete_line() {
    assert_eq!(lines(&[b"hello world!\n"]), [b"hello world!".to_vec()]);
}

// test_outputReceivedCompleteLineInvalidUTF8: procmon passes the raw bytes; the seed
// logs Python's repr of them instead.
#[test]
fn output_received_complete_line_invalid_utf8() {
    assert_eq!(
        lines(&[b"\xffhello world!\n"]),
        [b"\xffhello world!".to_vec()]
    );
}

// test_outputReceivedPartialLine: a last line without '\n' is passed at exit.
#[test]
fn output_received_partial_line() {
    assert_eq!(lines(&[b"hello ", b"world!"]), [b"hello world!".to_vec()]);
}

// ---- deaths and restarts -------------------------------------------------------

// test_connectionLostLongLivedProcess: a death after the threshold restarts at once.
#[test]
fn connection_lost_long_lived_process() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.advance(1.0);
    w.exit("foo", ExitStatus::Code(0));
    assert_eq!(w.spawn_count("foo"), 2);
    assert!(w.restart_delays().is_empty(), "nothing scheduled: at once");
}

// test_connectionLostMurderCancel: the KILL timer is cancelled when the child dies.
#[test]
fn connection_lost_murder_cancel() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.advance(1.0);
    w.stop_process("foo").unwrap();
    assert_eq!(w.sup.poll_timeout(), Some(w.now + secs(5.0)));
    w.exit("foo", ExitStatus::Signal(TERM));
    assert_eq!(w.sup.poll_timeout(), None, "the kill timer is gone");
    w.advance(10.0);
    assert!(!w.signals("foo").contains(&Signal::Kill));
}

// test_connectionLostProtocolDeletion: a dead child is no longer running.
#[test]
fn connection_lost_protocol_deletion() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.exit("foo", ExitStatus::Code(1));
    assert_eq!(w.pid("foo"), 0);
    assert_eq!(w.info("foo").state, ProcessState::Backoff);
}

// test_connectionLostMinMaxRestartDelay
#[test]
fn connection_lost_min_max_restart_delay() {
    let mut w = World::new();
    w.sup.settings_mut().min_restart_delay = secs(2.0);
    w.sup.settings_mut().max_restart_delay = secs(3.0);
    w.start();
    w.add("foo", &["foo"]);
    assert_eq!(w.info("foo").restart_delay, secs(2.0));
    w.advance(0.5); // less than the threshold
    w.exit("foo", ExitStatus::Code(0));
    assert_eq!(w.restart_delays(), [secs(2.0)]);
    assert_eq!(w.info("foo").restart_delay, secs(3.0), "doubled, capped");
}

// test_connectionLostBackoffDelayDoubles
#[test]
fn connection_lost_backoff_delay_doubles() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.advance(0.5);
    w.exit("foo", ExitStatus::Code(0));
    assert_eq!(w.info("foo").restart_delay, secs(2.0));
}

// The whole sequence: instant deaths wait 1, 2, 4, ... up to the max; a long life
// resets the delay.
#[test]
fn instant_deaths_back_off_up_to_the_max_and_a_long_life_resets() {
    let mut w = World::new();
    w.sup.settings_mut().max_restart_delay = secs(8.0);
    w.start();
    w.add("foo", &["foo"]);
    for _ in 0..6 {
        w.exit("foo", ExitStatus::Code(1));
        let wait = w.restart_delays().last().copied().unwrap();
        w.advance(wait.as_secs_f64());
        assert_eq!(w.info("foo").state, ProcessState::Running, "after {wait:?}");
    }
    let seconds: Vec<u64> = w.restart_delays().iter().map(|d| d.as_secs()).collect();
    assert_eq!(seconds, [1, 2, 4, 8, 8, 8]);
    w.advance(1.0);
    w.exit("foo", ExitStatus::Code(0));
    assert_eq!(w.restart_delays().len(), 6, "a long life restarts at once");
    assert_eq!(w.info("foo").restart_delay, secs(1.0));
}

// Settings take effect for later decisions; the current delay began at the
// min_restart_delay in force when the process was added.
#[test]
fn the_delay_starts_at_the_min_in_force_when_added() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.sup.settings_mut().min_restart_delay = secs(3.0);
    w.add("bar", &["bar"]);
    assert_eq!(w.info("foo").restart_delay, secs(1.0));
    assert_eq!(w.info("bar").restart_delay, secs(3.0));
}

// ---- the service ---------------------------------------------------------------

// test_startService: starting the service starts every process.
#[test]
fn start_service() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    w.add("bar", &["bar"]);
    w.start();
    assert_eq!(w.spawn_count("foo"), 1);
    assert_eq!(w.spawn_count("bar"), 1);
    assert!(w.sup.is_running());
}

// test_stopService: every child is stopped and none restarted.
#[test]
fn stop_service() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.add("bar", &["bar"]);
    w.advance(1.0);
    w.stop();
    assert_eq!(w.signals("foo"), [Signal::Term]);
    assert_eq!(w.signals("bar"), [Signal::Term]);
    w.exit("foo", ExitStatus::Signal(TERM));
    w.exit("bar", ExitStatus::Signal(TERM));
    w.advance(10.0);
    assert_eq!((w.spawn_count("foo"), w.spawn_count("bar")), (1, 1));
    assert!(!w.sup.is_running());
}

// test_restartAllRestartsOneProcess
#[test]
fn restart_all_restarts_one_process() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.advance(1.0);
    w.sup.restart_all(w.now, &mut w.host);
    assert_eq!(w.signals("foo"), [Signal::Term]);
    w.exit("foo", ExitStatus::Signal(TERM));
    assert_eq!(w.spawn_count("foo"), 2);
}

// test_stopServiceCancelRestarts: a scheduled restart is cancelled by stopService.
#[test]
fn stop_service_cancel_restarts() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.exit("foo", ExitStatus::Code(1)); // instant death: restart in 1 s
    assert_eq!(w.info("foo").state, ProcessState::Backoff);
    w.stop();
    assert_eq!(w.info("foo").state, ProcessState::Stopped);
    w.advance(10.0);
    assert_eq!(w.spawn_count("foo"), 1);
}

// test_stopServiceCleanupScheduledRestarts: after stop and start of the service, a
// restart scheduled before the stop does not start a second copy.
#[test]
fn stop_service_cleanup_scheduled_restarts() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.exit("foo", ExitStatus::Code(1));
    w.stop();
    w.start();
    assert_eq!(w.spawn_count("foo"), 2);
    w.advance(10.0);
    assert_eq!(w.spawn_count("foo"), 2, "the old restart was cancelled");
}

// procmon: start_process during a backoff starts now and cancels the scheduled
// restart (the seed leaves that call to fire as a no-op).
#[test]
fn start_process_during_backoff_cancels_the_scheduled_restart() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.exit("foo", ExitStatus::Code(1));
    w.start_process("foo").unwrap();
    assert_eq!(w.spawn_count("foo"), 2);
    assert_eq!(w.sup.poll_timeout(), None);
}

// procmon: a failed spawn is a SPAWN_FAILED event with the errno, counts as an
// instant death and is retried with the same backoff.
#[test]
fn a_failed_spawn_is_reported_and_retried_with_backoff() {
    const ENOENT: i32 = 2;
    let mut w = World::running();
    w.host.fail_spawns = Some(ENOENT);
    w.add("foo", &["/no/such/program"]);
    w.advance(1.0);
    w.advance(2.0);
    let failures: Vec<i32> = w
        .host
        .events
        .iter()
        .filter_map(|e| match e {
            Event::SpawnFailed { errno, .. } => Some(*errno),
            _ => None,
        })
        .collect();
    assert_eq!(failures, [ENOENT; 3]);
    assert_eq!(w.restart_delays(), [secs(1.0), secs(2.0), secs(4.0)]);
    w.host.fail_spawns = None;
    w.advance(4.0);
    assert_eq!(w.spawn_count("foo"), 1);
    assert!(matches!(w.host.events.last(), Some(Event::Started { .. })));
}

// procmon: the events of one run come in the order the callbacks must see.
#[test]
fn events_of_a_run_come_in_order() {
    let mut w = World::running();
    w.add("foo", &["foo"]);
    w.exit("foo", ExitStatus::Code(3));
    w.advance(1.0);
    let order: Vec<&str> = w
        .host
        .events
        .iter()
        .map(|e| match e {
            Event::Started { .. } => "started",
            Event::Exited { .. } => "exited",
            Event::SpawnFailed { .. } => "spawn failed",
            Event::RestartScheduled { .. } => "restart scheduled",
            Event::Killed { .. } => "killed",
        })
        .collect();
    assert_eq!(order, ["started", "exited", "restart scheduled", "started"]);
}
