//! `Supervisor::add_many` and `start_batch` (API.md 0.2, `procmon_add_many`):
//! all or nothing at registration, first spawns made a few at a time, and what
//! happens to the rest when a stop, a removal, a start or a shutdown comes in
//! between. Driven by a fake host and a fake clock, like the seed's tests.

use super::*;
use crate::error::ErrorKind;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

#[derive(Default)]
struct Host0 {
    names: HashMap<RunId, String>,
    spawned: Vec<String>,
    live: HashSet<RunId>,
}

impl Host for Host0 {
    fn spawn(&mut self, run: RunId, name: &Name, _spec: &ProcessSpec) -> Result<i32, i32> {
        self.live.insert(run);
        self.names.insert(run, name.as_str().to_owned());
        self.spawned.push(name.as_str().to_owned());
        Ok(100 + run.0 as i32)
    }

    fn signal(&mut self, run: RunId, _signal: Signal) -> bool {
        self.live.contains(&run)
    }

    fn event(&mut self, _event: Event) {}

    fn report(&mut self, _report: Report) {}
}

struct World {
    sup: Supervisor,
    host: Host0,
    now: Time,
}

fn n(name: &str) -> Name {
    Name::new(name).unwrap()
}

fn spec() -> ProcessSpec {
    ProcessSpec::new(["prog"]).unwrap()
}

fn batch(names: &[&str]) -> Vec<(Name, ProcessSpec)> {
    names.iter().map(|name| (n(name), spec())).collect()
}

impl World {
    fn new() -> World {
        let mut w = World {
            sup: Supervisor::new(Settings::default()),
            host: Host0::default(),
            now: Duration::ZERO,
        };
        w.sup.start(w.now, &mut w.host);
        w
    }

    fn step(&mut self, batch: &mut Batch, max: usize) {
        self.sup.start_batch(batch, max, self.now, &mut self.host);
    }

    fn spawned(&self) -> Vec<&str> {
        self.host.spawned.iter().map(String::as_str).collect()
    }

    fn state(&self, name: &str) -> ProcessState {
        self.sup.info(name, self.now).unwrap().state
    }
}

#[test]
fn a_batch_registers_in_order_and_spawns_a_few_at_a_time() {
    let mut w = World::new();
    let mut b = w.sup.add_many(batch(&["a", "b", "c", "d", "e"])).unwrap();
    assert_eq!(w.sup.names(), [n("a"), n("b"), n("c"), n("d"), n("e")]);
    assert!(w.spawned().is_empty(), "registration spawns nothing");
    w.step(&mut b, 2);
    assert_eq!(w.spawned(), ["a", "b"]);
    assert!(!b.is_done());
    assert_eq!(w.state("c"), ProcessState::Stopped, "not spawned yet");
    w.step(&mut b, 2);
    w.step(&mut b, 2);
    assert!(b.is_done());
    assert_eq!(w.spawned(), ["a", "b", "c", "d", "e"]);
    for name in ["a", "b", "c", "d", "e"] {
        assert_eq!(w.state(name), ProcessState::Running);
    }
}

#[test]
fn a_name_already_monitored_adds_none_and_names_its_index() {
    let mut w = World::new();
    w.sup.add(n("web"), spec(), w.now, &mut w.host).unwrap();
    let err = w.sup.add_many(batch(&["a", "b", "web", "c"])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exists);
    assert!(err.message().starts_with("names[2]: "), "{}", err.message());
    assert!(err.message().contains("\"web\""), "{}", err.message());
    assert_eq!(w.sup.names(), [n("web")], "none of the batch is registered");
    assert_eq!(w.spawned(), ["web"]);
    // The same names can be added afterwards: nothing was left behind.
    let mut b = w.sup.add_many(batch(&["a", "b", "c"])).unwrap();
    w.step(&mut b, 10);
    assert_eq!(w.spawned(), ["web", "a", "b", "c"]);
}

#[test]
fn a_name_given_twice_adds_none() {
    let mut w = World::new();
    let err = w.sup.add_many(batch(&["a", "b", "a"])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exists);
    assert!(err.message().starts_with("names[2]: "), "{}", err.message());
    assert!(err.message().contains("names[0]"), "{}", err.message());
    assert!(w.sup.names().is_empty());
}

#[test]
fn a_cycle_within_the_batch_adds_none() {
    let mut w = World::new();
    let after =
        |names: &[&str]| spec().with_readiness(|r| r.after = names.iter().map(|s| n(s)).collect());
    let entries = vec![
        (n("x"), spec()),
        (n("a"), after(&["b"])),
        (n("b"), after(&["a"])),
    ];
    let err = w.sup.add_many(entries).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().starts_with("names[2]: "), "{}", err.message());
    assert!(w.sup.names().is_empty());
    assert!(w.spawned().is_empty());
}

#[test]
fn a_batch_waits_for_an_earlier_entry_it_comes_after() {
    let mut w = World::new();
    let later = spec().with_readiness(|r| r.after = vec![n("db")].into());
    let mut b = w
        .sup
        .add_many(vec![(n("web"), later), (n("db"), spec())])
        .unwrap();
    w.step(&mut b, 1);
    assert_eq!(w.state("web"), ProcessState::Starting, "waits for db");
    w.step(&mut b, 1);
    assert!(b.is_done());
    assert_eq!(
        w.spawned(),
        ["db", "web"],
        "db ready at once (ON_START): web follows"
    );
}

#[test]
fn while_stopped_a_batch_is_registered_not_spawned() {
    let mut w = World::new();
    w.sup.stop(w.now, &mut w.host);
    let b = w.sup.add_many(batch(&["a", "b"])).unwrap();
    assert!(b.is_done());
    assert!(w.spawned().is_empty());
    w.sup.start(w.now, &mut w.host);
    assert_eq!(w.spawned(), ["a", "b"]);
}

#[test]
fn a_stop_between_steps_leaves_the_rest_registered() {
    let mut w = World::new();
    let mut b = w.sup.add_many(batch(&["a", "b", "c"])).unwrap();
    w.step(&mut b, 1);
    w.sup.stop(w.now, &mut w.host);
    w.step(&mut b, 1);
    assert!(b.is_done(), "nothing more to spawn");
    assert_eq!(w.spawned(), ["a"]);
    assert_eq!(w.state("c"), ProcessState::Stopped);
    // Started as any process registered while stopped; "a" restarts once reaped.
    w.sup.start(w.now, &mut w.host);
    assert_eq!(w.spawned(), ["a", "b", "c"]);
}

#[test]
fn a_stop_and_start_between_steps_spawns_each_once() {
    let mut w = World::new();
    let mut b = w.sup.add_many(batch(&["a", "b", "c"])).unwrap();
    w.step(&mut b, 1);
    w.sup.stop(w.now, &mut w.host);
    w.sup.start(w.now, &mut w.host); // spawns b and c ("a" is stopping)
    w.step(&mut b, 5);
    assert!(b.is_done());
    assert_eq!(w.spawned(), ["a", "b", "c"]);
}

#[test]
fn a_start_or_removal_between_steps_is_not_undone() {
    let mut w = World::new();
    let mut b = w.sup.add_many(batch(&["a", "b", "c", "d"])).unwrap();
    w.step(&mut b, 1);
    w.sup.start_process("c", w.now, &mut w.host).unwrap();
    w.sup.remove("b", w.now, &mut w.host).unwrap();
    w.sup.remove("d", w.now, &mut w.host).unwrap();
    w.sup.add(n("d"), spec(), w.now, &mut w.host).unwrap(); // a new "d", spawned by its add
    w.step(&mut b, 5);
    assert!(b.is_done());
    assert_eq!(
        w.spawned(),
        ["a", "c", "d"],
        "c and the new d once each; b never"
    );
    assert_eq!(w.sup.names(), [n("a"), n("c"), n("d")]);
}

#[test]
fn a_shutdown_between_steps_spawns_no_more_and_refuses_batches() {
    let mut w = World::new();
    let mut b = w.sup.add_many(batch(&["a", "b"])).unwrap();
    w.step(&mut b, 1);
    w.sup.shut_down(w.now, &mut w.host);
    w.step(&mut b, 1);
    assert!(b.is_done());
    assert_eq!(w.spawned(), ["a"]);
    let err = w.sup.add_many(batch(&["z"])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::State);
}
