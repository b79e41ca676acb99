//! Ports of Twisted's `test_procmon.py` (`ProcmonTests`), driven by a fake host and a
//! fake clock, the way the seed's tests drive a `DummyProcessReactor` (a
//! `MemoryReactor` and a `Clock`). Each port names the Twisted test it ports; where
//! procmon deliberately differs, a comment says so. The tests after the ports pin
//! rules of the core the seed does not test.
//!
//! Not ported: `test_getStateIncludesProcesses`, `test_getStateExcludesReactor` and
//! the `DeprecationTests` (pickling and deprecated attributes procmon does not have).
//!
//! The fake clock starts at zero and uses the seed's defaults (threshold 1 s, kill
//! time 5 s, delays 1 s to 3600 s) unless a test says otherwise; the seed's tests set
//! threshold 10 s and delays 2 s to 10 s, so their waits are scaled here.

use super::*;
use crate::error::{ErrorKind, Result as CoreResult};
use std::collections::{HashSet, VecDeque};
use std::time::Duration;

const TERM: i32 = 15;
const KILL: i32 = 9;
const ENOENT: i32 = 2;
const EACCES: i32 = 13;

/// One successful spawn, as the fake host saw it.
#[derive(Clone, Debug)]
struct Spawned {
    run: RunId,
    name: String,
    pid: i32,
    /// argv, env, cwd, uid and gid, as passed to the host.
    spec: ProcessSpec,
}

/// The seed's `DummyProcessReactor`: records spawns, signals and events, hands out
/// pids, and fails the spawns it is told to fail.
#[derive(Default)]
struct FakeHost {
    spawns: Vec<Spawned>,
    signals: Vec<(RunId, Signal)>,
    events: Vec<Event>,
    /// Runs not yet reported as exited.
    live: HashSet<RunId>,
    /// Live runs whose child has exited but not been reaped yet: a signal to them
    /// finds nothing (the seed's `ProcessExitedAlready`).
    dead: HashSet<RunId>,
    /// The errnos the next spawns fail with, one each.
    failures: VecDeque<i32>,
    last_pid: i32,
}

impl FakeHost {
    fn fail_next_spawn(&mut self, errno: i32) {
        self.failures.push_back(errno);
    }

    fn name_of(&self, run: RunId) -> &str {
        let spawned = self.spawns.iter().find(|s| s.run == run);
        &spawned.expect("a spawned run").name
    }
}

impl Host for FakeHost {
    fn spawn(&mut self, run: RunId, name: &Name, spec: &ProcessSpec) -> Result<i32, i32> {
        if let Some(errno) = self.failures.pop_front() {
            return Err(errno);
        }
        self.last_pid += 1;
        let pid = 1000 + self.last_pid;
        assert!(self.live.insert(run), "{run:?} spawned twice");
        let name = name.as_str().to_owned();
        let spec = spec.clone();
        self.spawns.push(Spawned {
            run,
            name,
            pid,
            spec,
        });
        Ok(pid)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        assert!(
            self.live.contains(&run),
            "signal to {run:?}, reported exited"
        );
        if self.dead.contains(&run) {
            return false;
        }
        self.signals.push((run, signal));
        true
    }

    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// What kind of event, to compare sequences of them.
fn label(event: &Event) -> &'static str {
    match event {
        Event::Started { .. } => "started",
        Event::Exited { .. } => "exited",
        Event::SpawnFailed { .. } => "spawn failed",
        Event::RestartScheduled { .. } => "restart scheduled",
        Event::Killed { .. } => "killed",
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// The seed's settings with these threshold and delays (kill time 5 s).
fn settings(threshold: f64, min_delay: f64, max_delay: f64) -> Settings {
    Settings {
        threshold: secs(threshold),
        min_restart_delay: secs(min_delay),
        max_restart_delay: secs(max_delay),
        ..Settings::default()
    }
}

fn name(name: &str) -> Name {
    Name::new(name).expect("a valid name")
}

fn spec(argv: &[&str]) -> ProcessSpec {
    ProcessSpec::new(argv.iter().copied()).expect("a valid argv")
}

fn argv(spec: &ProcessSpec) -> Vec<&str> {
    let args = spec.argv().iter();
    args.map(|arg| arg.to_str().expect("UTF-8")).collect()
}

fn kind<T: std::fmt::Debug>(result: CoreResult<T>) -> ErrorKind {
    result.expect_err("an error").kind()
}

/// A supervisor, its fake host and the fake clock.
struct World {
    sup: Supervisor,
    host: FakeHost,
    now: Time,
}

impl World {
    /// The seed before `startService`, with its default settings.
    fn new() -> World {
        World::with(Settings::default())
    }

    fn with(settings: Settings) -> World {
        World {
            sup: Supervisor::new(settings),
            host: FakeHost::default(),
            now: Duration::ZERO,
        }
    }

    /// A running service with these processes added (each runs its own name).
    fn serving(names: &[&str]) -> World {
        World::serving_with(Settings::default(), names)
    }

    fn serving_with(settings: Settings, names: &[&str]) -> World {
        let mut w = World::with(settings);
        w.start();
        for name in names {
            w.add(name, &[name]);
        }
        w
    }

    fn add_spec(&mut self, name: &str, spec: ProcessSpec) -> CoreResult<()> {
        let name = self::name(name);
        self.sup.add(name, spec, self.now, &mut self.host)
    }

    fn add(&mut self, name: &str, argv: &[&str]) {
        self.add_spec(name, spec(argv)).expect("a new name");
    }

    fn start(&mut self) {
        self.sup.start(self.now, &mut self.host);
    }

    fn stop(&mut self) {
        self.sup.stop(self.now, &mut self.host);
    }

    fn restart_all(&mut self) {
        self.sup.restart_all(self.now, &mut self.host);
    }

    fn start_process(&mut self, name: &str) -> CoreResult<()> {
        self.sup.start_process(name, self.now, &mut self.host)
    }

    fn stop_process(&mut self, name: &str) -> CoreResult<()> {
        self.sup.stop_process(name, self.now, &mut self.host)
    }

    fn remove(&mut self, name: &str) -> CoreResult<()> {
        self.sup.remove(name, self.now, &mut self.host)
    }

    /// The seed's `Clock.advance`: fires every timer due on the way, in order, each
    /// at its own time.
    fn advance(&mut self, seconds: f64) {
        let target = self.now + secs(seconds);
        while let Some(at) = self.sup.poll_timeout().filter(|at| *at <= target) {
            self.now = self.now.max(at);
            self.sup
                .handle_timeout(self.now, &mut self.host, usize::MAX);
        }
        self.now = target;
    }

    /// The newest run of `name` not yet reported as exited.
    fn current(&self, name: &str) -> Spawned {
        let spawns = self.host.spawns.iter().rev();
        let mut live = spawns.filter(|s| s.name == name && self.host.live.contains(&s.run));
        live.next()
            .cloned()
            .unwrap_or_else(|| panic!("{name} is not running"))
    }

    /// The current child of `name` has exited but is not reaped yet: it ignores
    /// signals from now on.
    fn die_unreaped(&mut self, name: &str) {
        let run = self.current(name).run;
        self.host.dead.insert(run);
    }

    /// The current child of `name` ends with `status` and is reaped (the seed's
    /// `processEnded`).
    fn exit(&mut self, name: &str, status: ExitStatus) {
        let run = self.current(name).run;
        self.exit_run(run, status);
    }

    fn exit_run(&mut self, run: RunId, status: ExitStatus) {
        self.host.live.remove(&run);
        self.sup.exited(run, status, self.now, &mut self.host);
    }

    fn spawn_count(&self, name: &str) -> usize {
        self.host.spawns.iter().filter(|s| s.name == name).count()
    }

    /// The signals sent to every run of `name`, in order.
    fn signals(&self, name: &str) -> Vec<Signal> {
        let sent = self.host.signals.iter();
        let to_name = sent.filter(|(run, _)| self.host.name_of(*run) == name);
        to_name.map(|(_, signal)| *signal).collect()
    }

    fn pid(&self, name: &str) -> i32 {
        self.sup.pid(name).expect("a monitored name")
    }

    fn info(&self, name: &str) -> ProcessInfo {
        self.sup.info(name, self.now).expect("a monitored name")
    }

    fn labels(&self) -> Vec<&'static str> {
        self.host.events.iter().map(label).collect()
    }

    fn count(&self, label: &str) -> usize {
        self.labels().iter().filter(|l| **l == label).count()
    }

    fn restart_delays(&self) -> Vec<Duration> {
        let scheduled = self.host.events.iter().filter_map(|event| match event {
            Event::RestartScheduled { delay, .. } => Some(*delay),
            _ => None,
        });
        scheduled.collect()
    }

    fn spawn_errors(&self) -> Vec<i32> {
        let failed = self.host.events.iter().filter_map(|event| match event {
            Event::SpawnFailed { errno, .. } => Some(*errno),
            _ => None,
        });
        failed.collect()
    }
}

// ---- repr ----------------------------------------------------------------------

// test_reprLooksGood: name, uid and gid all appear (procmon pins the whole string).
#[test]
fn repr_looks_good() {
    let mut w = World::new();
    let spec = spec(&["arg1", "arg2"]).with_uid(1).with_gid(2);
    w.add_spec("foo", spec).unwrap();
    let repr = w.sup.describe();
    assert_eq!(repr, "<ProcessMonitor 'foo'(1:2): ['arg1', 'arg2']>");
}

// test_simpleReprLooksGood: no uid or gid, no parentheses.
#[test]
fn simple_repr_looks_good() {
    let mut w = World::new();
    w.add("foo", &["arg1", "arg2"]);
    w.add("bar", &["x"]);
    let repr = w.sup.describe();
    assert_eq!(
        repr,
        "<ProcessMonitor 'foo': ['arg1', 'arg2'] 'bar': ['x']>"
    );
}

// Beyond the seed's tests, its `__repr__`: a lone uid is `(1)`, a lone gid `(:2)`.
#[test]
fn repr_with_only_uid_or_only_gid() {
    let mut w = World::new();
    w.add_spec("u", spec(&["a"]).with_uid(1)).unwrap();
    w.add_spec("g", spec(&["a"]).with_gid(2)).unwrap();
    let repr = w.sup.describe();
    assert_eq!(repr, "<ProcessMonitor 'u'(1): ['a'] 'g'(:2): ['a']>");
}

// ---- add, remove ---------------------------------------------------------------

// test_addProcess: adding only starts the program once the service has started.
// (The core's `Supervisor::new` is not running, like the seed; the C API's
// `procmon_new` starts it.)
#[test]
fn add_process() {
    let mut w = World::new();
    let spec = spec(&["arg1", "arg2"]).with_uid(1).with_gid(2);
    w.add_spec("foo", spec).unwrap();
    assert_eq!(w.spawn_count("foo"), 0);
    assert_eq!(w.pid("foo"), 0);
    assert_eq!(w.info("foo").state, ProcessState::Stopped);
    w.start();
    let spawned = w.current("foo");
    assert_eq!(argv(&spawned.spec), ["arg1", "arg2"]);
    assert_eq!((spawned.spec.uid(), spawned.spec.gid()), (Some(1), Some(2)));
    assert_eq!(w.pid("foo"), spawned.pid);
}

// test_addProcessDuplicateKeyError: the seed's KeyError is ErrorKind::Exists.
#[test]
fn add_process_duplicate_key_error() {
    let mut w = World::serving(&["foo"]);
    let again = w.add_spec("foo", spec(&["other"]));
    assert_eq!(kind(again), ErrorKind::Exists);
    assert_eq!(w.spawn_count("foo"), 1, "the duplicate must not spawn");
    assert_eq!(argv(&w.current("foo").spec), ["foo"], "the first one stays");
}

// test_addProcessEnv: the environment is passed to the spawn as given.
#[test]
fn add_process_env() {
    let mut w = World::new();
    w.start();
    let spec = spec(&["foo"])
        .with_uid(1)
        .with_gid(2)
        .with_env(["KEY=value"]);
    w.add_spec("foo", spec.unwrap()).unwrap();
    let env = w.current("foo").spec.env().map(<[_]>::to_vec);
    assert_eq!(env, Some(vec![c"KEY=value".to_owned()]));
}

// test_addProcessCwd: the working directory is passed to the spawn.
#[test]
fn add_process_cwd() {
    let mut w = World::new();
    w.start();
    w.add_spec("foo", spec(&["foo"]).with_cwd("/mnt/lala").unwrap())
        .unwrap();
    assert_eq!(w.current("foo").spec.cwd(), Some(c"/mnt/lala"));
}

// test_removeProcess: the name is forgotten (and its child stopped).
#[test]
fn remove_process() {
    let mut w = World::serving(&["foo"]);
    assert_eq!(w.sup.names(), [name("foo")]);
    w.remove("foo").unwrap();
    assert!(w.sup.names().is_empty());
    assert_eq!(kind(w.sup.pid("foo")), ErrorKind::NotFound);
    assert_eq!(w.signals("foo"), [Signal::Term]);
}

// test_removeProcessUnknownKeyError
#[test]
fn remove_process_unknown_key_error() {
    let mut w = World::serving(&[]);
    assert_eq!(kind(w.remove("foo")), ErrorKind::NotFound);
}

// ---- start, stop ---------------------------------------------------------------

// test_startProcess: the process runs, and its start time is recorded (here: its
// uptime counts from the start).
#[test]
fn start_process() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    w.advance(2.0);
    w.start_process("foo").unwrap();
    assert_eq!(w.spawn_count("foo"), 1);
    w.advance(3.0);
    let info = w.info("foo");
    assert_eq!((info.state, info.starts), (ProcessState::Running, 1));
    assert_eq!(info.uptime, secs(3.0));
}

// test_startProcessAlreadyStarted: a second start returns quietly, spawns nothing.
#[test]
fn start_process_already_started() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    w.start_process("foo").unwrap();
    let first = w.current("foo").run;
    assert!(w.start_process("foo").is_ok());
    assert_eq!(w.spawn_count("foo"), 1);
    assert_eq!(w.current("foo").run, first);
}

// test_startProcessUnknownKeyError
#[test]
fn start_process_unknown_key_error() {
    let mut w = World::new();
    assert_eq!(kind(w.start_process("foo")), ErrorKind::NotFound);
}

// test_stopProcessNaturalTermination: TERM at once; the child dies of it after it
// lived past the threshold, so it is restarted at the moment it died.
#[test]
fn stop_process_natural_termination() {
    let mut w = World::serving(&["foo"]);
    let first = w.current("foo");
    w.advance(1.0); // the threshold
    w.stop_process("foo").unwrap();
    assert_eq!(w.signals("foo"), [Signal::Term]);
    assert_eq!(w.info("foo").state, ProcessState::Stopping);
    w.advance(1.0); // the child takes a second to die
    w.exit("foo", ExitStatus::Signal(TERM));
    let second = w.current("foo");
    assert_ne!((second.run, second.pid), (first.run, first.pid));
    assert_eq!(w.info("foo").uptime, Duration::ZERO, "started now");
    assert_eq!(w.info("foo").last_exit, Some(ExitStatus::Signal(TERM)));
}

// test_stopProcessForcedKill: a child that outlives the kill time after TERM is
// KILLed (procmon also reports KILLED), then restarted at once.
#[test]
fn stop_process_forced_kill() {
    let mut w = World::serving(&["foo"]);
    let pid = w.pid("foo");
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
    let killed = Event::Killed {
        name: name("foo"),
        pid,
    };
    assert_eq!(w.host.events.last(), Some(&killed));
    w.exit("foo", ExitStatus::Signal(KILL));
    assert_eq!(w.labels()[1..], ["killed", "exited", "started"]);
    assert_eq!(w.info("foo").uptime, Duration::ZERO, "restarted at once");
}

// test_stopProcessUnknownKeyError
#[test]
fn stop_process_unknown_key_error() {
    let mut w = World::new();
    assert_eq!(kind(w.stop_process("foo")), ErrorKind::NotFound);
}

// test_stopProcessAlreadyStopped: stopping a process that is not running does
// nothing, and raises nothing.
#[test]
fn stop_process_already_stopped() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    assert!(w.stop_process("foo").is_ok());
    assert!(w.host.signals.is_empty());
    assert_eq!(w.sup.poll_timeout(), None, "no kill timer for nothing");
}

// ---- output lines (the seed's LineLogger; the runtime adds name and stream) ----

/// Feeds `chunk` to `splitter`: the lines it completes.
fn feed(splitter: &mut LineSplitter, chunk: &[u8]) -> Vec<Vec<u8>> {
    let mut lines = vec![];
    let mut chunk = chunk.to_vec();
    splitter.feed(&mut chunk, |line| lines.push(line.bytes().to_vec()));
    lines
}

/// Closes the stream: the last line, if it had no '\n'.
fn finish(splitter: &mut LineSplitter) -> Vec<Vec<u8>> {
    let mut lines = vec![];
    splitter.finish(|line| lines.push(line.bytes().to_vec()));
    lines
}

// test_outputReceivedCompleteLine: a complete line is passed at once, without '\n'.
#[test]
fn output_received_complete_line() {
    let mut stdout = LineSplitter::default();
    assert_eq!(feed(&mut stdout, b"hello world!\n"), [b"hello world!"]);
    assert_eq!(stdout.pending(), 0);
    assert!(finish(&mut stdout).is_empty(), "nothing left for the exit");
}

// test_ouputReceivedCompleteErrLine: stderr has a splitter of its own, so its line
// is passed whole even while stdout holds half a line.
#[test]
fn ouput_received_complete_err_line() {
    let (mut stdout, mut stderr) = (LineSplitter::default(), LineSplitter::default());
    assert!(feed(&mut stdout, b"half a ").is_empty());
    assert_eq!(feed(&mut stderr, b"hello world!\n"), [b"hello world!"]);
    assert_eq!(feed(&mut stdout, b"line\n"), [b"half a line"]);
}

// test_outputReceivedCompleteLineInvalidUTF8: procmon passes the raw bytes; the seed
// logs Python's repr of them instead (`b'\xffhello world!'`).
#[test]
fn output_received_complete_line_invalid_utf8() {
    let mut stdout = LineSplitter::default();
    let lines = feed(&mut stdout, b"\xffhello world!\n");
    assert_eq!(lines, [b"\xffhello world!"]);
}

// test_outputReceivedPartialLine: nothing until the stream closes, then the line.
#[test]
fn output_received_partial_line() {
    let mut stdout = LineSplitter::default();
    assert!(feed(&mut stdout, b"hello world!").is_empty());
    assert_eq!(stdout.pending(), 12);
    assert_eq!(finish(&mut stdout), [b"hello world!"]);
}

// ---- deaths and restarts -------------------------------------------------------

// test_connectionLostLongLivedProcess: a death after the threshold restarts at once.
#[test]
fn connection_lost_long_lived_process() {
    let mut w = World::serving(&["foo"]);
    w.advance(1.0);
    w.exit("foo", ExitStatus::Code(0));
    assert_eq!(w.spawn_count("foo"), 2);
    assert_eq!(w.labels(), ["started", "exited", "started"]);
    assert_eq!(w.info("foo").state, ProcessState::Running);
}

// test_connectionLostMurderCancel: the KILL timer is cancelled when the child dies.
#[test]
fn connection_lost_murder_cancel() {
    let mut w = World::serving(&["foo"]);
    w.advance(1.0);
    w.stop_process("foo").unwrap();
    assert_eq!(w.sup.poll_timeout(), Some(secs(1.0 + 5.0)), "a KILL is due");
    w.advance(1.0);
    w.exit("foo", ExitStatus::Signal(TERM));
    assert_eq!(w.sup.poll_timeout(), None, "the kill timer is gone");
    w.advance(10.0);
    assert_eq!(w.signals("foo"), [Signal::Term]);
    assert_eq!(w.count("killed"), 0);
}

// test_connectionLostProtocolDeletion: a dead child is no longer running.
#[test]
fn connection_lost_protocol_deletion() {
    let mut w = World::serving(&["foo"]);
    w.exit("foo", ExitStatus::Signal(KILL));
    assert_eq!(w.pid("foo"), 0);
    assert_eq!(w.sup.live_runs(), 0);
    assert_eq!(w.info("foo").state, ProcessState::Backoff);
    assert_eq!(w.info("foo").last_exit, Some(ExitStatus::Signal(KILL)));
}

// test_connectionLostMinMaxRestartDelay: an instant death waits the min delay; the
// next delay doubles but stops at the max.
#[test]
fn connection_lost_min_max_restart_delay() {
    let mut w = World::serving_with(settings(1.0, 2.0, 3.0), &["foo"]);
    assert_eq!(w.info("foo").restart_delay, secs(2.0));
    w.advance(0.5); // less than the threshold
    w.exit("foo", ExitStatus::Code(0));
    assert_eq!(w.restart_delays(), [secs(2.0)]);
    assert_eq!(w.info("foo").restart_delay, secs(3.0), "doubled, capped");
}

// test_connectionLostBackoffDelayDoubles: an instant death doubles the delay and
// does not restart at once.
#[test]
fn connection_lost_backoff_delay_doubles() {
    let mut w = World::serving(&["foo"]);
    assert_eq!(w.info("foo").restart_delay, secs(1.0));
    w.advance(0.5);
    w.exit("foo", ExitStatus::Code(0));
    assert_eq!(w.info("foo").restart_delay, secs(2.0));
    assert_eq!(w.spawn_count("foo"), 1, "not restarted at once");
}

// ---- the service ---------------------------------------------------------------

// test_startService: starting the service starts every process.
#[test]
fn start_service() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    w.add("bar", &["bar"]);
    w.start();
    assert!(w.sup.is_running());
    assert_eq!((w.spawn_count("foo"), w.spawn_count("bar")), (1, 1));
    assert_eq!(w.sup.live_runs(), 2);
}

// test_stopService: every child is stopped (KILLed if it outlives the kill time)
// and none is restarted.
#[test]
fn stop_service() {
    let mut w = World::serving(&["foo", "bar"]);
    w.advance(1.0 + 1.0);
    w.stop();
    assert!(!w.sup.is_running());
    assert_eq!(w.signals("foo"), [Signal::Term]);
    assert_eq!(w.signals("bar"), [Signal::Term]);
    w.advance(1.0);
    w.exit("foo", ExitStatus::Signal(TERM)); // bar ignores TERM
    w.advance(5.0);
    assert_eq!(w.signals("bar"), [Signal::Term, Signal::Kill]);
    w.exit("bar", ExitStatus::Signal(KILL));
    w.advance(10.0);
    assert_eq!((w.spawn_count("foo"), w.spawn_count("bar")), (1, 1));
    assert_eq!((w.pid("foo"), w.pid("bar")), (0, 0));
}

// test_restartAllRestartsOneProcess: restart_all stops the one process; it is
// restarted as after any exit.
#[test]
fn restart_all_restarts_one_process() {
    let mut w = World::serving(&["foo"]);
    w.advance(1.0);
    w.restart_all();
    assert_eq!(w.signals("foo"), [Signal::Term]);
    w.exit("foo", ExitStatus::Signal(TERM));
    assert_eq!(w.spawn_count("foo"), 2);
    assert_eq!(w.info("foo").state, ProcessState::Running);
}

// test_stopServiceCancelRestarts: a scheduled restart is cancelled by stop. (In the
// seed even a long-lived death restarts through a 0 s delayed call, which is what
// its test cancels; procmon restarts such a child synchronously, so the restart
// left to cancel is a backoff.)
#[test]
fn stop_service_cancel_restarts() {
    let mut w = World::serving(&["foo"]);
    w.exit("foo", ExitStatus::Code(0));
    assert_eq!(w.info("foo").state, ProcessState::Backoff);
    w.stop();
    assert_eq!(w.info("foo").state, ProcessState::Stopped);
    assert_eq!(w.sup.poll_timeout(), None, "the restart is cancelled");
    w.advance(10.0);
    assert_eq!(w.spawn_count("foo"), 1);
}

// test_stopServiceCleanupScheduledRestarts: a restart scheduled after a stopped
// process died is cancelled by stop; nothing starts later.
#[test]
fn stop_service_cleanup_scheduled_restarts() {
    let mut w = World::serving_with(settings(5.0, 5.0, 3600.0), &["foo"]);
    w.advance(1.0);
    w.stop_process("foo").unwrap();
    w.advance(1.0);
    w.exit("foo", ExitStatus::Signal(TERM));
    assert_eq!(w.restart_delays(), [secs(5.0)]);
    w.stop();
    w.advance(6.0);
    assert_eq!(w.spawn_count("foo"), 1);
    assert_eq!(w.sup.live_runs(), 0);
}

// ---- procmon's own rules, beyond the seed's tests ------------------------------

// Adding to a running monitor spawns at once, with the min delay as its delay.
#[test]
fn add_to_a_running_monitor_starts_at_once() {
    let w = World::serving(&["foo"]);
    let pid = w.current("foo").pid;
    let started = Event::Started {
        name: name("foo"),
        pid,
    };
    assert_eq!(w.host.events, [started]);
    assert_eq!(w.info("foo").restart_delay, secs(1.0));
}

// The whole sequence: instant deaths wait 1, 2, 4, ... up to the max; a long life
// restarts at once and resets the delay.
#[test]
fn instant_deaths_back_off_up_to_the_max_and_a_long_life_resets() {
    let mut w = World::serving_with(settings(1.0, 1.0, 8.0), &["foo"]);
    for _ in 0..6 {
        w.exit("foo", ExitStatus::Code(1));
        let wait = w.restart_delays().last().copied().unwrap();
        w.advance(wait.as_secs_f64() - 0.5);
        assert_eq!(
            w.info("foo").state,
            ProcessState::Backoff,
            "before {wait:?}"
        );
        w.advance(0.5);
        assert_eq!(w.info("foo").state, ProcessState::Running, "after {wait:?}");
    }
    let seconds: Vec<u64> = w.restart_delays().iter().map(|d| d.as_secs()).collect();
    assert_eq!(seconds, [1, 2, 4, 8, 8, 8]);
    w.advance(1.0);
    w.exit("foo", ExitStatus::Code(0));
    assert_eq!(w.restart_delays().len(), 6, "a long life restarts at once");
    assert_eq!(w.info("foo").restart_delay, secs(1.0));
}

// API.md: a process's delay starts at the min_restart_delay in force when it was
// added; settings take effect for later decisions.
#[test]
fn the_delay_starts_at_the_min_in_force_when_added() {
    let mut w = World::serving(&["foo"]);
    w.sup.settings_mut().min_restart_delay = secs(3.0);
    w.add("bar", &["bar"]);
    assert_eq!(w.info("foo").restart_delay, secs(1.0));
    assert_eq!(w.info("bar").restart_delay, secs(3.0));
}

// API.md: a failed spawn is a SPAWN_FAILED event with the errno (no STARTED, no
// EXITED), counts as an instant death and is retried with the same backoff.
#[test]
fn a_failed_spawn_is_reported_and_retried_with_backoff() {
    let mut w = World::serving(&[]);
    w.host.fail_next_spawn(ENOENT);
    w.host.fail_next_spawn(EACCES);
    w.add("foo", &["/no/such/program"]);
    let info = w.info("foo");
    assert_eq!(
        (info.state, info.pid, info.starts),
        (ProcessState::Backoff, 0, 0)
    );
    w.advance(1.0);
    assert_eq!(w.spawn_errors(), [ENOENT, EACCES]);
    assert_eq!(w.restart_delays(), [secs(1.0), secs(2.0)]);
    w.advance(2.0 - 0.5);
    assert_eq!(w.spawn_count("foo"), 0, "not before the doubled delay");
    w.advance(0.5);
    assert_eq!(w.spawn_count("foo"), 1);
    assert_eq!(w.count("exited"), 0);
    assert_eq!(
        w.info("foo").restart_delay,
        secs(4.0),
        "a spawn is no long life"
    );
}

// A spawn that fails while the service is stopped is reported, not retried.
#[test]
fn a_failed_spawn_of_a_stopped_service_is_not_retried() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    w.host.fail_next_spawn(ENOENT);
    w.start_process("foo").unwrap();
    assert_eq!(w.spawn_errors(), [ENOENT]);
    assert_eq!(w.info("foo").state, ProcessState::Stopped);
    assert_eq!(w.sup.poll_timeout(), None);
}

// With min_restart_delay 0 (a valid setting) each failed spawn's retry is due at
// the `now` being handled; it must wait for the next handle_timeout, or a program
// that is never found would keep one call (and the event loop) forever.
#[test]
fn a_failing_spawn_with_zero_delay_is_retried_once_per_timeout() {
    let mut w = World::serving_with(settings(1.0, 0.0, 3600.0), &[]);
    for _ in 0..5 {
        w.host.fail_next_spawn(ENOENT);
    }
    w.add("foo", &["foo"]);
    assert_eq!(w.sup.poll_timeout(), Some(w.now), "a retry due at once");
    w.sup.handle_timeout(w.now, &mut w.host, usize::MAX);
    assert_eq!(w.spawn_errors().len(), 2, "one retry per due timer");
}

// The event loop fires a bounded number of timers per turn; the others stay due,
// in order, and fire on the next calls.
#[test]
fn at_most_max_timers_fire_per_call_and_the_rest_stay_due() {
    let mut w = World::serving_with(settings(1.0, 1.0, 3600.0), &[]);
    for name in ["a", "b", "c", "d", "e"] {
        w.add(name, &["x"]);
    }
    for name in ["a", "b", "c", "d", "e"] {
        w.exit(name, ExitStatus::Code(1)); // instant deaths: restarts in 1 s
    }
    assert_eq!(w.spawn_count("a") + w.spawn_count("e"), 2);
    w.now += secs(1.0);
    w.sup.handle_timeout(w.now, &mut w.host, 2);
    let respawned = |w: &World| {
        ["a", "b", "c", "d", "e"]
            .iter()
            .filter(|n| w.spawn_count(n) == 2)
            .count()
    };
    assert_eq!(respawned(&w), 2);
    assert_eq!(w.spawn_count("a"), 2, "the earliest first");
    assert!(
        w.sup.poll_timeout().is_some_and(|at| at <= w.now),
        "the rest still due"
    );
    w.sup.handle_timeout(w.now, &mut w.host, 2);
    assert_eq!(respawned(&w), 4);
    w.sup.handle_timeout(w.now, &mut w.host, 2);
    assert_eq!(respawned(&w), 5);
    assert_eq!(w.sup.poll_timeout(), None);
}

// API.md: start_process during a backoff starts now and cancels the scheduled
// restart (the seed leaves that call to fire, as a no-op).
#[test]
fn start_process_during_backoff_cancels_the_scheduled_restart() {
    let mut w = World::serving(&["foo"]);
    w.exit("foo", ExitStatus::Code(1));
    w.start_process("foo").unwrap();
    assert_eq!(w.spawn_count("foo"), 2);
    assert_eq!(w.sup.poll_timeout(), None);
}

// The seed's stopProcess: a process in backoff is not running, so stopping it does
// nothing, and its scheduled restart stays.
#[test]
fn stop_process_during_backoff_keeps_the_scheduled_restart() {
    let mut w = World::serving(&["foo"]);
    w.exit("foo", ExitStatus::Code(1));
    w.stop_process("foo").unwrap();
    assert_eq!(w.info("foo").state, ProcessState::Backoff);
    w.advance(1.0);
    assert_eq!(w.spawn_count("foo"), 2);
}

// A second stop sends TERM again but does not postpone the KILL: it comes once, the
// kill time after the first TERM.
#[test]
fn a_second_stop_does_not_postpone_the_kill() {
    let mut w = World::serving(&["foo"]);
    w.stop_process("foo").unwrap();
    w.advance(3.0);
    w.stop_process("foo").unwrap();
    w.advance(2.0);
    assert_eq!(w.signals("foo"), [Signal::Term, Signal::Term, Signal::Kill]);
    w.advance(10.0);
    assert_eq!(w.count("killed"), 1);
}

// Removing a running process kills it if it ignores TERM; its run still reports
// KILLED and EXITED, is never restarted, and the name can be added again at once
// without the old run's exit touching the new process.
#[test]
fn remove_of_a_running_process_kills_it_and_the_name_is_free_at_once() {
    let mut w = World::serving(&["foo"]);
    let old = w.current("foo");
    w.remove("foo").unwrap();
    w.add("foo", &["foo", "again"]);
    let new = w.current("foo");
    w.advance(5.0);
    assert_eq!(
        w.host.signals,
        [(old.run, Signal::Term), (old.run, Signal::Kill)]
    );
    w.exit_run(old.run, ExitStatus::Signal(KILL));
    assert_eq!(w.labels()[2..], ["killed", "exited"]);
    w.advance(10.0);
    assert_eq!(w.spawn_count("foo"), 2, "the old run is never restarted");
    assert_eq!(w.pid("foo"), new.pid);
    assert_eq!(
        w.info("foo").last_exit,
        None,
        "the old exit is not the new one's"
    );
}

// Removing a process in backoff cancels its restart.
#[test]
fn remove_during_backoff_cancels_the_restart() {
    let mut w = World::serving(&["foo"]);
    w.exit("foo", ExitStatus::Code(1));
    w.remove("foo").unwrap();
    assert_eq!(w.sup.poll_timeout(), None);
    w.advance(10.0);
    assert_eq!(w.spawn_count("foo"), 1);
}

// restart_all of a stopped service, with nothing running, does nothing.
#[test]
fn restart_all_of_a_stopped_service_does_nothing() {
    let mut w = World::new();
    w.add("foo", &["foo"]);
    w.restart_all();
    w.advance(10.0);
    assert!(w.host.signals.is_empty());
    assert!(w.host.events.is_empty());
    assert_eq!(w.info("foo").state, ProcessState::Stopped);
}

// Stopping and starting the service again starts one copy: the restart scheduled
// before the stop does not start a second.
#[test]
fn stop_then_start_of_the_service_starts_one_copy() {
    let mut w = World::serving(&["foo"]);
    w.exit("foo", ExitStatus::Code(1));
    w.stop();
    w.start();
    assert_eq!(w.spawn_count("foo"), 2);
    w.advance(10.0);
    assert_eq!(w.spawn_count("foo"), 2, "the old restart was cancelled");
}

// The seed's ProcessExitedAlready: a child that exited but is not reaped yet gets
// no KILL timer, so no KILL or KILLED event can follow.
#[test]
fn stop_process_of_a_child_that_already_exited() {
    let mut w = World::serving(&["foo"]);
    w.die_unreaped("foo");
    w.stop_process("foo").unwrap();
    assert_eq!(w.sup.poll_timeout(), None);
    assert_eq!(w.info("foo").state, ProcessState::Stopping);
}

// A child that exits on its own while its KILL is due: no KILL, no KILLED event.
#[test]
fn kill_time_running_out_after_the_child_exited_is_not_a_kill() {
    let mut w = World::serving(&["foo"]);
    w.stop_process("foo").unwrap();
    w.die_unreaped("foo");
    w.advance(5.0);
    assert_eq!(w.signals("foo"), [Signal::Term]);
    assert_eq!(w.count("killed"), 0);
}

// API.md: the events of one run come in the order the callbacks must see, and an
// EXITED carries its pid, status and uptime.
#[test]
fn events_of_a_run_come_in_order() {
    let mut w = World::serving(&["foo"]);
    let pid = w.pid("foo");
    w.advance(0.25);
    w.exit("foo", ExitStatus::Code(3));
    w.advance(1.0);
    let order = ["started", "exited", "restart scheduled", "started"];
    assert_eq!(w.labels(), order);
    let exited = Event::Exited {
        name: name("foo"),
        pid,
        status: ExitStatus::Code(3),
        uptime: secs(0.25),
    };
    assert_eq!(w.host.events[1], exited);
}
