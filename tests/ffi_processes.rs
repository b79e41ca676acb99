//! Real child processes through the C API: output lines, lifecycle events,
//! stopping, removing, the service, process_info, re-entrant callbacks, and
//! concurrent callers.

mod common;

use common::*;
use procmon::ffi::*;
use procmon_event_kind_t::*;
use procmon_state_t::*;
use procmon_stream_t::*;
use std::collections::{BTreeSet, HashMap};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The kinds of a list of events.
fn kinds(events: &[Ev]) -> Vec<procmon_event_kind_t> {
    events.iter().map(|ev| ev.kind).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn one_run_delivers_raw_lines_between_started_and_exited() {
    let fx = Fixture::new();
    // Every death is instant and no restart comes during the test.
    assert_eq!(procmon_set_threshold(fx.pm, 1000.0), OK);
    assert_eq!(procmon_set_min_restart_delay(fx.pm, 60.0), OK);
    let script = r"printf 'a\000b\377\r\n'; printf 'plain\n\n'; printf 'err one\n' >&2; \
                   printf 'err partial' >&2; printf 'last'; exit 3";
    assert_eq!(fx.add_sh("raw", script), OK);
    assert!(fx.wait_events("raw", PROCMON_EVENT_RESTART_SCHEDULED, 1));

    let recs = fx.rec.of("raw");
    let Rec::Event(started) = &recs[0] else {
        panic!("the first record is not an event: {recs:?}")
    };
    assert_eq!(started.kind, PROCMON_EVENT_STARTED, "{recs:?}");
    assert!(started.pid > 0);
    let exited_at = recs
        .iter()
        .position(|r| matches!(r, Rec::Event(ev) if ev.kind == PROCMON_EVENT_EXITED))
        .expect("an EXITED event");
    assert!(
        recs[1..exited_at]
            .iter()
            .all(|r| matches!(r, Rec::Line { .. })),
        "only lines between STARTED and EXITED: {recs:?}"
    );
    assert_eq!(recs.len(), exited_at + 2, "EXITED, then one more: {recs:?}");
    let (Rec::Event(exited), Rec::Event(scheduled)) = (&recs[exited_at], &recs[exited_at + 1])
    else {
        panic!("{recs:?}")
    };
    assert_eq!(scheduled.kind, PROCMON_EVENT_RESTART_SCHEDULED);
    assert!(close(scheduled.delay, 60.0), "delay {}", scheduled.delay);
    assert_eq!(exited.pid, started.pid);
    assert_eq!(exited.exit_code, 3);
    assert_eq!(exited.signal, 0);
    assert!(exited.uptime.is_finite() && exited.uptime >= 0.0);

    let out: Vec<&[u8]> = vec![b"a\0b\xff\r", b"plain", b"", b"last"];
    let err: Vec<&[u8]> = vec![b"err one", b"err partial"];
    assert_eq!(fx.rec.lines("raw", PROCMON_STDOUT), out);
    assert_eq!(fx.rec.lines("raw", PROCMON_STDERR), err);
    for r in &recs {
        if let Rec::Line {
            nul_terminated,
            bytes,
            ..
        } = r
        {
            assert!(nul_terminated, "line[len] != 0 for {bytes:?}");
        }
    }

    // Every callback ran on one thread, not the caller's.
    let stamps = fx.rec.all();
    let callback_thread = stamps[0].thread;
    assert_ne!(callback_thread, thread::current().id());
    assert!(stamps.iter().all(|s| s.thread == callback_thread));

    let info = fx.info("raw").unwrap();
    assert_eq!(info.state, PROCMON_STATE_BACKOFF);
    assert_eq!(info.pid, 0);
    assert_eq!(info.starts, 1);
    assert_eq!(info.uptime, 0.0);
    assert_eq!(info.last_exit_code, 3);
    assert_eq!(info.last_signal, 0);
    assert!(
        close(info.restart_delay, 120.0),
        "doubled: {}",
        info.restart_delay
    );
}

#[test]
fn exit_codes_and_signals_are_reported() {
    let fx = Fixture::new();
    assert_eq!(procmon_set_min_restart_delay(fx.pm, 60.0), OK);
    assert_eq!(fx.add_sh("zero", "exit 0"), OK);
    assert_eq!(fx.add_sh("killed", "kill -9 $$"), OK);
    assert_eq!(fx.add_sh("termed", "kill -15 $$"), OK);
    for name in ["zero", "killed", "termed"] {
        assert!(fx.wait_events(name, PROCMON_EVENT_EXITED, 1), "{name}");
    }
    let expect = [("zero", 0, 0), ("killed", -1, 9), ("termed", -1, 15)];
    for (name, code, signal) in expect {
        let exited = &fx.rec.events_of_kind(name, PROCMON_EVENT_EXITED)[0];
        let started = &fx.rec.events_of_kind(name, PROCMON_EVENT_STARTED)[0];
        assert_eq!(exited.pid, started.pid, "{name}");
        assert_eq!((exited.exit_code, exited.signal), (code, signal), "{name}");
        assert!(wait_until(DEADLINE, || fx
            .info(name)
            .is_ok_and(
                |i| i.last_exit_code == code && i.last_signal == signal
            )));
    }
}

#[test]
fn a_long_line_comes_in_pieces_of_the_line_limit() {
    assert_eq!(PROCMON_LINE_LIMIT, 65536);
    let size = 200 * 1024;
    let payload: Vec<u8> = (0..size)
        .map(|i| match (i * 7 % 256) as u8 {
            b'\n' => b'N',
            b => b,
        })
        .collect();
    let path = std::env::temp_dir().join(format!("procmon-long-line-{}", std::process::id()));
    std::fs::write(&path, &payload).unwrap();

    let fx = Fixture::new();
    assert_eq!(procmon_set_min_restart_delay(fx.pm, 60.0), OK);
    let argv = [
        "sh",
        "-c",
        r#"cat "$0"; printf '\nafter\n'"#,
        path.to_str().unwrap(),
    ];
    assert_eq!(fx.add("long", &argv), OK);
    let done = fx.wait_line("long", "after");
    let _ = std::fs::remove_file(&path);
    assert!(done, "the line after the long one never came");

    let lines = fx.rec.lines("long", PROCMON_STDOUT);
    let sizes: Vec<usize> = lines.iter().map(Vec::len).collect();
    assert_eq!(sizes, [65536, 65536, 65536, size - 3 * 65536, 5]);
    assert_eq!(lines[..4].concat(), payload, "the bytes were altered");
    assert_eq!(lines[4], b"after");
    let all_terminated = fx.rec.of("long").iter().all(|r| {
        !matches!(
            r,
            Rec::Line {
                nul_terminated: false,
                ..
            }
        )
    });
    assert!(all_terminated, "a piece without line[len] == 0");
}

#[test]
fn a_failed_spawn_is_reported_and_retried_with_backoff() {
    let fx = Fixture::new();
    assert_eq!(
        fx.add("missing", &["/nonexistent/procmon-test-program"]),
        OK
    );
    assert!(fx.wait_events("missing", PROCMON_EVENT_SPAWN_FAILED, 3));
    let events = fx.rec.events("missing");
    assert_eq!(
        kinds(&events[..5]),
        [
            PROCMON_EVENT_SPAWN_FAILED,
            PROCMON_EVENT_RESTART_SCHEDULED,
            PROCMON_EVENT_SPAWN_FAILED,
            PROCMON_EVENT_RESTART_SCHEDULED,
            PROCMON_EVENT_SPAWN_FAILED,
        ]
    );
    for ev in events
        .iter()
        .filter(|e| e.kind == PROCMON_EVENT_SPAWN_FAILED)
    {
        assert_eq!(ev.error, libc::ENOENT, "{ev:?}");
    }
    let delays: Vec<f64> = events
        .iter()
        .filter(|e| e.kind == PROCMON_EVENT_RESTART_SCHEDULED)
        .map(|e| e.delay)
        .take(2)
        .collect();
    assert!(
        close(delays[0], 0.05) && close(delays[1], 0.1),
        "{delays:?}"
    );
    assert!(events
        .iter()
        .all(|e| e.kind != PROCMON_EVENT_STARTED && e.kind != PROCMON_EVENT_EXITED));
    let info = fx.info("missing").unwrap();
    assert_eq!(info.starts, 0);
    assert_eq!(info.pid, 0);
    assert_eq!(fx.pid("missing"), Ok(0));

    // Looked up in PATH: not found there either.
    assert_eq!(fx.add("not-in-path", &["procmon-no-such-program-xyz"]), OK);
    // Not executable.
    let path = std::env::temp_dir().join(format!("procmon-not-exec-{}", std::process::id()));
    std::fs::write(&path, "#!/bin/sh\necho hi\n").unwrap();
    assert_eq!(fx.add("not-exec", &[path.to_str().unwrap()]), OK);
    // A working directory that does not exist.
    let cwd = c("/nonexistent/procmon-dir");
    let opts = procmon_process_options_t {
        cwd: cwd.as_ptr(),
        ..inherit()
    };
    assert_eq!(fx.add_opts("bad-cwd", &["true"], &opts), OK);
    for (name, errno) in [
        ("not-in-path", libc::ENOENT),
        ("not-exec", libc::EACCES),
        ("bad-cwd", libc::ENOENT),
    ] {
        assert!(
            fx.wait_events(name, PROCMON_EVENT_SPAWN_FAILED, 2),
            "{name}"
        );
        let failed = fx.rec.events_of_kind(name, PROCMON_EVENT_SPAWN_FAILED);
        assert!(
            failed.iter().all(|e| e.error == errno),
            "{name}: {failed:?}"
        );
        assert!(fx
            .rec
            .events_of_kind(name, PROCMON_EVENT_STARTED)
            .is_empty());
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn options_reach_the_child() {
    let fx = Fixture::new();
    assert_eq!(procmon_set_min_restart_delay(fx.pm, 60.0), OK);
    let env = CList::new(&["PROCMON_TEST_VAR=hello world"]);
    let cwd = c("/tmp");
    let opts = procmon_process_options_t {
        env: env.as_ptr(),
        cwd: cwd.as_ptr(),
        ..inherit()
    };
    let script = r#"echo "cwd=$(pwd)"; echo "var=$PROCMON_TEST_VAR"; echo "home=${HOME-unset}"; \
                    read x; echo "stdin=$?""#;
    assert_eq!(fx.add_opts("opts", &["sh", "-c", script], &opts), OK);
    assert!(fx.wait_line("opts", "stdin=1"), "{:?}", fx.rec.of("opts"));
    let lines = fx.rec.lines("opts", PROCMON_STDOUT);
    let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    let want: Vec<&[u8]> = vec![b"cwd=/tmp", b"var=hello world", b"home=unset", b"stdin=1"];
    assert_eq!(lines, want);
}

#[test]
fn stop_process_kills_a_child_that_ignores_term_after_the_kill_time() {
    let fx = Fixture::new();
    let script = r#"trap "" TERM; echo ready; while :; do sleep 0.1; done"#;
    assert_eq!(fx.add_sh("stubborn", script), OK);
    assert!(fx.wait_line("stubborn", "ready"));
    let pid = fx.pid("stubborn").unwrap();
    assert!(pid > 0);

    let t0 = Instant::now();
    assert_eq!(procmon_stop_process(fx.pm, c("stubborn").as_ptr()), OK);
    let info = fx.info("stubborn").unwrap();
    if t0.elapsed() < Duration::from_secs_f64(KILL_TIME) {
        // The kill time has not run out and TERM is ignored: still stopping.
        assert_eq!(info.state, PROCMON_STATE_STOPPING);
        assert_eq!(info.pid, pid);
    }
    assert!(fx.wait_events("stubborn", PROCMON_EVENT_EXITED, 1));
    let events = fx.rec.events("stubborn");
    assert_eq!(
        kinds(&events[..3]),
        [
            PROCMON_EVENT_STARTED,
            PROCMON_EVENT_KILLED,
            PROCMON_EVENT_EXITED
        ],
        "{events:?}"
    );
    assert_eq!(events[1].pid, pid);
    assert_eq!(events[2].pid, pid);
    assert_eq!(events[2].signal, libc::SIGKILL);
    assert_eq!(events[2].exit_code, -1);
    assert!(events[2].uptime >= KILL_TIME - 1e-6, "{}", events[2].uptime);
    let killed_at = fx
        .rec
        .all()
        .into_iter()
        .find(|s| matches!(&s.rec, Rec::Event(ev) if ev.kind == PROCMON_EVENT_KILLED))
        .unwrap()
        .at;
    assert!(
        killed_at.duration_since(t0) >= Duration::from_secs_f64(KILL_TIME - 1e-3),
        "KILL after {:?}, before the kill time",
        killed_at.duration_since(t0)
    );
    assert!(wait_until(DEADLINE, || !process_exists(pid)));

    // The service runs: the child is restarted, as after any exit.
    assert!(fx.wait_events("stubborn", PROCMON_EVENT_STARTED, 2));
    let again = &fx.rec.events_of_kind("stubborn", PROCMON_EVENT_STARTED)[1];
    assert_ne!(again.pid, pid);
    // Then: EXITED is followed by RESTART_SCHEDULED or the next STARTED.
    let events = fx.rec.events("stubborn");
    assert!(matches!(
        events[3].kind,
        PROCMON_EVENT_RESTART_SCHEDULED | PROCMON_EVENT_STARTED
    ));
}

/// Waits until a marker process has started: every event emitted before
/// (in particular right after an earlier EXITED) has then been delivered.
fn barrier(fx: &Fixture, name: &str) {
    assert_eq!(fx.add_sh(name, "echo here; exec sleep 30"), OK);
    assert!(fx.wait_line(name, "here"));
}

#[test]
fn remove_process_reports_the_exit_and_never_restarts() {
    let fx = Fixture::new();
    assert_eq!(fx.add("rm", &["sleep", "30"]), OK);
    let pid = fx.pid("rm").unwrap();
    assert!(pid > 0);
    assert_eq!(procmon_remove_process(fx.pm, c("rm").as_ptr()), OK);
    assert_eq!(fx.pid("rm"), Err(ERR_NOT_FOUND));
    assert_eq!(fx.info("rm").err(), Some(ERR_NOT_FOUND));
    assert!(!fx.describe().contains("'rm'"));
    assert_eq!(
        procmon_remove_process(fx.pm, c("rm").as_ptr()),
        ERR_NOT_FOUND
    );

    assert!(fx.wait_events("rm", PROCMON_EVENT_EXITED, 1));
    barrier(&fx, "marker");
    let events = fx.rec.events("rm");
    assert_eq!(
        kinds(&events),
        [PROCMON_EVENT_STARTED, PROCMON_EVENT_EXITED],
        "{events:?}"
    );
    assert_eq!(events[1].pid, pid);
    assert_eq!(events[1].signal, libc::SIGTERM);
    assert!(wait_until(DEADLINE, || !process_exists(pid)));
    // Longer than any restart delay it could have had: still no restart.
    assert!(stays_false(Duration::from_millis(500), || {
        fx.rec.events("rm").len() > 2
    }));
}

#[test]
fn a_removed_name_can_be_added_again_at_once() {
    let fx = Fixture::new();
    assert_eq!(fx.add("again", &["sleep", "30"]), OK);
    let old = fx.pid("again").unwrap();
    assert_eq!(procmon_remove_process(fx.pm, c("again").as_ptr()), OK);
    assert_eq!(fx.add("again", &["sleep", "31"]), OK, "{}", last_error());
    let new = fx.pid("again").unwrap();
    assert!(new > 0 && new != old);
    assert_eq!(fx.describe(), "<ProcessMonitor 'again': ['sleep', '31']>");

    // The old run still reports its exit under the name; the new one is unaffected.
    assert!(wait_until(DEADLINE, || fx
        .rec
        .events_of_kind("again", PROCMON_EVENT_EXITED)
        .iter()
        .any(|e| e.pid == old)));
    barrier(&fx, "marker");
    let exits = fx.rec.events_of_kind("again", PROCMON_EVENT_EXITED);
    assert_eq!(exits.len(), 1, "{exits:?}");
    assert_eq!(exits[0].signal, libc::SIGTERM);
    assert!(fx
        .rec
        .events_of_kind("again", PROCMON_EVENT_RESTART_SCHEDULED)
        .is_empty());
    let info = fx.info("again").unwrap();
    assert_eq!(info.state, PROCMON_STATE_RUNNING);
    assert_eq!(info.pid, new);
    assert_eq!(info.starts, 1);
    assert_eq!(info.last_exit_code, -1, "the old run is not this process's");
    assert_eq!(info.last_signal, 0);
    assert!(process_exists(new));
}

#[test]
fn stopping_the_service_stops_children_and_start_spawns_them() {
    let fx = Fixture::new();
    assert_eq!(fx.add("svc", &["sleep", "30"]), OK);
    let first = fx.pid("svc").unwrap();
    assert!(first > 0);

    assert_eq!(procmon_stop(fx.pm), OK);
    assert!(fx.wait_events("svc", PROCMON_EVENT_EXITED, 1));
    let info = fx.info("svc").unwrap();
    assert_eq!(info.state, PROCMON_STATE_STOPPED, "no restart: {info:?}");
    assert_eq!(info.pid, 0);
    assert_eq!(info.starts, 1);
    assert_eq!(info.last_signal, libc::SIGTERM);
    assert_eq!(info.last_exit_code, -1);

    // While stopped, adding registers without spawning.
    assert_eq!(fx.add("later", &["sleep", "30"]), OK);
    assert_eq!(fx.pid("later"), Ok(0));
    let info = fx.info("later").unwrap();
    assert_eq!(info.state, PROCMON_STATE_STOPPED);
    assert_eq!(info.starts, 0);
    assert_eq!(fx.rec.events_of_kind("svc", PROCMON_EVENT_STARTED).len(), 1);
    assert!(fx.rec.events("later").is_empty());
    assert!(fx
        .rec
        .events_of_kind("svc", PROCMON_EVENT_RESTART_SCHEDULED)
        .is_empty());

    assert_eq!(procmon_start(fx.pm), OK);
    let svc = fx.pid("svc").unwrap();
    let later = fx.pid("later").unwrap();
    assert!(svc > 0 && svc != first);
    assert!(later > 0 && later != svc);
    assert_eq!(fx.info("svc").unwrap().starts, 2);
    assert_eq!(fx.info("later").unwrap().state, PROCMON_STATE_RUNNING);
    assert!(fx.wait_events("later", PROCMON_EVENT_STARTED, 1));
    assert_eq!(
        fx.rec.events_of_kind("later", PROCMON_EVENT_STARTED)[0].pid,
        later
    );
}

#[test]
fn restart_all_stops_every_child_and_the_service_restarts_them() {
    let fx = Fixture::new();
    assert_eq!(fx.add("r1", &["sleep", "30"]), OK);
    assert_eq!(fx.add("r2", &["sleep", "30"]), OK);
    let before = [fx.pid("r1").unwrap(), fx.pid("r2").unwrap()];
    assert_eq!(procmon_restart_all(fx.pm), OK);
    for (name, old) in ["r1", "r2"].into_iter().zip(before) {
        assert!(fx.wait_events(name, PROCMON_EVENT_STARTED, 2), "{name}");
        let exited = &fx.rec.events_of_kind(name, PROCMON_EVENT_EXITED)[0];
        assert_eq!((exited.pid, exited.signal), (old, libc::SIGTERM));
        let new = fx.rec.events_of_kind(name, PROCMON_EVENT_STARTED)[1].pid;
        assert_ne!(new, old);
    }
}

#[test]
fn process_info_while_running() {
    let fx = Fixture::new();
    assert_eq!(fx.add("info", &["sleep", "30"]), OK);
    let pid = fx.pid("info").unwrap();
    let info = fx.info("info").unwrap();
    assert_eq!(info.state, PROCMON_STATE_RUNNING);
    assert_eq!(info.pid, pid);
    assert_eq!(info.starts, 1);
    assert!(info.uptime.is_finite() && info.uptime >= 0.0);
    assert!(close(info.restart_delay, MIN_RESTART_DELAY));
    assert_eq!(info.last_exit_code, -1);
    assert_eq!(info.last_signal, 0);
    // Uptime grows while it runs.
    assert!(wait_until(DEADLINE, || fx
        .info("info")
        .is_ok_and(|i| i.uptime > info.uptime)));
}

/// Userdata of the re-entrancy test: the monitor, and what the calls made
/// from inside the callbacks returned.
#[derive(Default)]
struct Reentrant {
    pm: AtomicPtr<procmon_t>,
    rec: Recorder,
    first_log_calls: AtomicUsize,
    started_pid: AtomicI32,
    from_log: Mutex<Vec<String>>,
    from_event: Mutex<Vec<String>>,
    event_actions_done: AtomicBool,
}

/// The first log callback: on its first line, queries and commands the monitor,
/// then replaces itself with the recorder.
unsafe extern "C" fn reentrant_line(
    userdata: *mut c_void,
    name: *const c_char,
    _stream: procmon_stream_t,
    _line: *const c_char,
    _len: usize,
) {
    // SAFETY: the registered userdata is a live Reentrant.
    let me = unsafe { &*(userdata as *const Reentrant) };
    if me.first_log_calls.fetch_add(1, Ordering::SeqCst) > 0 {
        return;
    }
    let pm = me.pm.load(Ordering::SeqCst);
    let mut out = Vec::new();
    let mut pid = -1;
    let rc = procmon_process_pid(pm, name, &mut pid);
    out.push(format!("pid rc={rc} pid={pid}"));
    let text = procmon_describe(pm);
    if text.is_null() {
        out.push("describe NULL".into());
    } else {
        // SAFETY: a string from the library, freed right after.
        out.push(format!(
            "describe {}",
            unsafe { CStr::from_ptr(text) }.to_string_lossy()
        ));
        procmon_string_free(text);
    }
    out.push(format!("stop rc={}", procmon_stop_process(pm, name)));
    let recorder = &me.rec as *const Recorder as *mut c_void;
    out.push(format!(
        "set_log_callback rc={}",
        procmon_set_log_callback(pm, Some(record_line), recorder)
    ));
    *me.from_log.lock().unwrap() = out;
}

/// The event callback: records, and on the first STARTED of "p" queries the
/// monitor and adds another process (which blocks for its spawn).
unsafe extern "C" fn reentrant_event(userdata: *mut c_void, event: *const procmon_event_t) {
    // SAFETY: the registered userdata is a live Reentrant.
    let me = unsafe { &*(userdata as *const Reentrant) };
    // SAFETY: the event is valid during the call.
    let ev = unsafe { copy_event(event) };
    // SAFETY: as above; the recorder lives in the Reentrant.
    unsafe { record_event(&me.rec as *const Recorder as *mut c_void, event) };
    if ev.kind != PROCMON_EVENT_STARTED || ev.name != "p" {
        return;
    }
    if me.event_actions_done.swap(true, Ordering::SeqCst) {
        return;
    }
    me.started_pid.store(ev.pid, Ordering::SeqCst);
    let pm = me.pm.load(Ordering::SeqCst);
    let mut out = Vec::new();
    let mut pid = -1;
    let rc = procmon_process_pid(pm, c("p").as_ptr(), &mut pid);
    out.push(format!("pid rc={rc} same={}", pid == ev.pid));
    let mut info = std::mem::MaybeUninit::<procmon_process_info_t>::uninit();
    let rc = procmon_process_info(pm, c("p").as_ptr(), info.as_mut_ptr());
    if rc == OK {
        // SAFETY: written on success.
        let info = unsafe { info.assume_init() };
        out.push(format!(
            "info rc={rc} state={:?} pid_same={}",
            info.state,
            info.pid == ev.pid
        ));
    } else {
        out.push(format!("info rc={rc}"));
    }
    let argv = CList::new(&["sleep", "30"]);
    let rc = procmon_add_process(pm, c("q").as_ptr(), argv.as_ptr(), std::ptr::null());
    out.push(format!("add rc={rc}"));
    *me.from_event.lock().unwrap() = out;
}

#[test]
fn callbacks_may_call_the_api_without_deadlock() {
    let me = Arc::new(Reentrant::default());
    let pm = procmon_new();
    assert!(!pm.is_null());
    me.pm.store(pm, Ordering::SeqCst);
    let ud = Arc::as_ptr(&me) as *mut c_void;
    assert_eq!(procmon_set_min_restart_delay(pm, MIN_RESTART_DELAY), OK);
    assert_eq!(procmon_set_threshold(pm, THRESHOLD), OK);
    assert_eq!(procmon_set_kill_time(pm, KILL_TIME), OK);
    assert_eq!(procmon_set_log_callback(pm, Some(reentrant_line), ud), OK);
    assert_eq!(
        procmon_set_event_callback(pm, Some(reentrant_event), ud),
        OK
    );
    let argv = CList::new(&[
        "sh",
        "-c",
        r"printf 'first\nsecond\nthird\n'; exec sleep 30",
    ]);
    assert_eq!(
        procmon_add_process(pm, c("p").as_ptr(), argv.as_ptr(), std::ptr::null()),
        OK
    );

    // The second run's "first" line reaches the recorder installed from inside.
    let ok = wait_until(DEADLINE, || {
        me.rec.has_line("p", b"first")
            && me.rec.lines("p", PROCMON_STDOUT).len() >= 5
            && !me.rec.events_of_kind("q", PROCMON_EVENT_STARTED).is_empty()
    });
    let pm_for_free = Shared(pm);
    let freed = ok && within(DEADLINE, move || procmon_free(pm_for_free.get())).is_some();
    if !freed {
        // A callback may still be stuck using the userdata: keep it alive.
        std::mem::forget(me.clone());
    }
    assert!(
        ok,
        "stuck: {:?}, {:?}",
        me.from_event.lock(),
        me.rec.of("p")
    );
    assert!(freed, "procmon_free hung");

    let started = me.started_pid.load(Ordering::SeqCst);
    let from_event = me.from_event.lock().unwrap().clone();
    assert_eq!(
        from_event,
        [
            "pid rc=0 same=true".to_string(),
            "info rc=0 state=PROCMON_STATE_RUNNING pid_same=true".to_string(),
            "add rc=0".to_string(),
        ]
    );
    let from_log = me.from_log.lock().unwrap().clone();
    assert_eq!(from_log.len(), 4, "{from_log:?}");
    assert_eq!(from_log[0], format!("pid rc=0 pid={started}"));
    assert!(
        from_log[1].starts_with("describe <ProcessMonitor 'p': ['sh', '-c', "),
        "{from_log:?}"
    );
    assert_eq!(from_log[2], "stop rc=0");
    assert_eq!(from_log[3], "set_log_callback rc=0");
    // The replacement took effect from the next line.
    assert_eq!(me.first_log_calls.load(Ordering::SeqCst), 1);
    let lines = me.rec.lines("p", PROCMON_STDOUT);
    let want: Vec<&[u8]> = vec![b"second", b"third", b"first", b"second", b"third"];
    assert_eq!(
        lines[..5].iter().map(Vec::as_slice).collect::<Vec<_>>(),
        want
    );
    // stop_process from the callback stopped the first run.
    let exited = &me.rec.events_of_kind("p", PROCMON_EVENT_EXITED)[0];
    assert_eq!((exited.pid, exited.signal), (started, libc::SIGTERM));
}

/// What one concurrent caller may see for one operation.
fn allowed(op: &str, code: c_int) -> bool {
    match op {
        "add" => code == OK || code == ERR_EXISTS,
        "remove" | "stop" | "start" | "pid" => code == OK || code == ERR_NOT_FOUND,
        _ => false,
    }
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The names an entry of describe() lists, in order.
fn described_names(text: &str) -> Vec<String> {
    let body = text
        .strip_prefix("<ProcessMonitor ")
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or_else(|| panic!("not a description: {text:?}"));
    // Names and args here are plain: 'name': ['sleep', '30'] ...
    body.split("] ")
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let name = entry.split("': [").next().unwrap();
            name.trim_start_matches('\'').to_string()
        })
        .collect()
}

#[test]
fn concurrent_callers_get_consistent_answers() {
    const THREADS: usize = 8;
    const OPS: usize = 2000;
    const SHARED_NAMES: usize = 5;
    let fx = Fixture::new();
    assert_eq!(procmon_stop(fx.pm), OK);
    let pm = Shared(fx.pm);
    // Per shared name: successful adds minus successful removes.
    let balance: Arc<Vec<AtomicI32>> =
        Arc::new((0..SHARED_NAMES).map(|_| AtomicI32::new(0)).collect());

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let balance = balance.clone();
            thread::spawn(move || {
                let pm = pm.get();
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 0x1234_5678));
                let mut own: HashMap<String, bool> = HashMap::new();
                let argv = CList::new(&["sleep", "30"]);
                for _ in 0..OPS {
                    let shared = rng.below(2) == 0;
                    let (name, index) = if shared {
                        let i = rng.below(SHARED_NAMES as u64) as usize;
                        (format!("s{i}"), Some(i))
                    } else {
                        (format!("t{t}-{}", rng.below(4)), None)
                    };
                    let cname = c(&name);
                    let present = own.get(&name).copied().unwrap_or(false);
                    let (op, code, pid) = match rng.below(9) {
                        0..=2 => (
                            "add",
                            procmon_add_process(
                                pm,
                                cname.as_ptr(),
                                argv.as_ptr(),
                                std::ptr::null(),
                            ),
                            0,
                        ),
                        3 | 4 => ("remove", procmon_remove_process(pm, cname.as_ptr()), 0),
                        5 => ("stop", procmon_stop_process(pm, cname.as_ptr()), 0),
                        6 | 7 => {
                            let mut pid = -1;
                            let code = procmon_process_pid(pm, cname.as_ptr(), &mut pid);
                            ("pid", code, pid)
                        }
                        _ => {
                            let text = describe(pm);
                            assert!(text.starts_with("<ProcessMonitor ") && text.ends_with('>'));
                            continue;
                        }
                    };
                    assert!(allowed(op, code), "{op} {name}: {code} ({})", last_error());
                    if op == "pid" && code == OK {
                        assert_eq!(pid, 0, "the service is stopped: nothing runs");
                    }
                    if let Some(i) = index {
                        match (op, code) {
                            ("add", OK) => balance[i].fetch_add(1, Ordering::SeqCst),
                            ("remove", OK) => balance[i].fetch_sub(1, Ordering::SeqCst),
                            _ => 0,
                        };
                    } else {
                        // Only this thread touches its own names: exact answers.
                        let want = match (op, present) {
                            ("add", true) => ERR_EXISTS,
                            (_, true) | ("add", false) => OK,
                            (_, false) => ERR_NOT_FOUND,
                        };
                        assert_eq!(code, want, "{op} {name} (present: {present})");
                        match (op, code) {
                            ("add", OK) => own.insert(name, true),
                            ("remove", OK) => own.insert(name, false),
                            _ => None,
                        };
                    }
                }
                own.into_iter()
                    .filter(|(_, present)| *present)
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut expected = BTreeSet::new();
    for handle in handles {
        expected.extend(handle.join().expect("a caller thread failed"));
    }
    for (i, b) in balance.iter().enumerate() {
        let b = b.load(Ordering::SeqCst);
        assert!(b == 0 || b == 1, "s{i}: adds - removes = {b}");
        let present = fx.pid(&format!("s{i}"));
        assert_eq!(present.is_ok(), b == 1, "s{i}: {present:?} vs balance {b}");
        if b == 1 {
            expected.insert(format!("s{i}"));
        }
    }
    let described: Vec<String> = described_names(&fx.describe());
    let described_set: BTreeSet<String> = described.iter().cloned().collect();
    assert_eq!(described.len(), described_set.len(), "a name listed twice");
    assert_eq!(described_set, expected);
    assert!(
        fx.rec.all().is_empty(),
        "something was spawned while stopped"
    );
}

#[test]
fn concurrent_callers_with_real_children() {
    const THREADS: usize = 4;
    const OPS: usize = 60;
    const NAMES: usize = 4;
    let fx = Fixture::new();
    let pm = Shared(fx.pm);
    let balance: Arc<Vec<AtomicI32>> = Arc::new((0..NAMES).map(|_| AtomicI32::new(0)).collect());
    let pids = Arc::new(Mutex::new(BTreeSet::new()));

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let balance = balance.clone();
            let pids = pids.clone();
            thread::spawn(move || {
                let pm = pm.get();
                let mut rng = Rng(0xDEAD_BEEF ^ ((t as u64 + 7) * 0x9E37));
                let argv = CList::new(&["sleep", "30"]);
                for _ in 0..OPS {
                    let i = rng.below(NAMES as u64) as usize;
                    let cname = c(&format!("live{i}"));
                    let (op, code) = match rng.below(6) {
                        0 | 1 => (
                            "add",
                            procmon_add_process(
                                pm,
                                cname.as_ptr(),
                                argv.as_ptr(),
                                std::ptr::null(),
                            ),
                        ),
                        2 => ("remove", procmon_remove_process(pm, cname.as_ptr())),
                        3 => ("stop", procmon_stop_process(pm, cname.as_ptr())),
                        4 => ("start", procmon_start_process(pm, cname.as_ptr())),
                        _ => {
                            let mut pid = -1;
                            let code = procmon_process_pid(pm, cname.as_ptr(), &mut pid);
                            if code == OK {
                                assert!(pid >= 0);
                                if pid > 0 {
                                    pids.lock().unwrap().insert(pid);
                                }
                            }
                            ("pid", code)
                        }
                    };
                    assert!(allowed(op, code), "{op} live{i}: {code} ({})", last_error());
                    match (op, code) {
                        ("add", OK) => balance[i].fetch_add(1, Ordering::SeqCst),
                        ("remove", OK) => balance[i].fetch_sub(1, Ordering::SeqCst),
                        _ => 0,
                    };
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a caller thread failed");
    }
    let mut expected = BTreeSet::new();
    for (i, b) in balance.iter().enumerate() {
        let b = b.load(Ordering::SeqCst);
        assert!(b == 0 || b == 1, "live{i}: adds - removes = {b}");
        if b == 1 {
            expected.insert(format!("live{i}"));
        }
    }
    let described: BTreeSet<String> = described_names(&fx.describe()).into_iter().collect();
    assert_eq!(described, expected);
    // Every child seen through the events too.
    for stamped in fx.rec.all() {
        if let Rec::Event(ev) = stamped.rec {
            if ev.kind == PROCMON_EVENT_STARTED {
                pids.lock().unwrap().insert(ev.pid);
            }
        }
    }
    drop(fx);
    // procmon_free has waited for every child to be reaped.
    let pids = pids.lock().unwrap().clone();
    assert!(!pids.is_empty());
    let left: Vec<i32> = pids.into_iter().filter(|&p| process_exists(p)).collect();
    assert!(
        left.is_empty(),
        "children left after procmon_free: {left:?}"
    );
}

#[test]
fn a_spawn_failing_with_zero_delay_keeps_the_monitor_responsive() {
    // Each retry is due at once: the loop must still serve calls, and free.
    let fx = Fixture::new();
    assert_eq!(procmon_set_min_restart_delay(fx.pm, 0.0), OK);
    assert_eq!(procmon_set_max_restart_delay(fx.pm, 0.0), OK);
    assert_eq!(fx.add("missing", &["/nonexistent/procmon-zero-delay"]), OK);
    let retried = fx.wait_events("missing", PROCMON_EVENT_SPAWN_FAILED, 100);
    let (pm, rec) = fx.into_parts();
    let pm = Shared(pm);
    let answered = within(DEADLINE, move || {
        let mut pid = -1;
        procmon_process_pid(pm.get(), c("missing").as_ptr(), &mut pid)
    });
    let freed = answered.and_then(|_| within(DEADLINE, move || procmon_free(pm.get())));
    if freed.is_none() {
        // A hung monitor may still call into the recorder: keep it alive, fail.
        std::mem::forget(rec);
        panic!("the event loop stopped answering (retried: {retried}, call: {answered:?})");
    }
    assert!(retried, "fewer than 100 SPAWN_FAILED events");
    assert_eq!(answered, Some(OK));
}

/// A shell that started two grandchildren, one of which ignores TERM, and prints
/// their pids.
const FAMILY: &str =
    r#"sleep 1000 & echo "g=$!"; sh -c 'trap "" TERM; exec sleep 1000' & echo "g=$!"; wait"#;

fn grandchildren(fx: &Fixture, name: &str) -> Vec<i32> {
    assert!(wait_until(DEADLINE, || fx
        .rec
        .lines(name, PROCMON_STDOUT)
        .len()
        == 2));
    fx.rec
        .lines(name, PROCMON_STDOUT)
        .iter()
        .map(|l| std::str::from_utf8(&l[2..]).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn stop_process_group_stops_the_child_s_own_children() {
    let fx = Fixture::new();
    assert_eq!(procmon_set_kill_time(fx.pm, 1.0), OK);
    let opts = procmon_process_options_t {
        stop_process_group: true,
        ..inherit()
    };
    assert_eq!(fx.add_opts("family", &["sh", "-c", FAMILY], &opts), OK);
    let pids = grandchildren(&fx, "family");
    assert!(pids.iter().all(|&pid| process_alive(pid)));
    assert_eq!(procmon_stop(fx.pm), OK);
    // The shell dies of TERM at once; the grandchild ignoring TERM, what is
    // left of the group (its unit), is KILLed after the kill time (API.md
    // "Containment").
    assert!(fx.wait_events("family", PROCMON_EVENT_EXITED, 1));
    assert!(fx.wait_events("family", PROCMON_EVENT_KILLED, 1));
    assert!(
        wait_until(DEADLINE, || pids.iter().all(|&pid| !process_alive(pid))),
        "grandchildren left: {pids:?}"
    );
}

#[test]
fn without_the_option_only_the_child_is_stopped() {
    let fx = Fixture::new();
    assert_eq!(fx.add_sh("family", FAMILY), OK);
    let pids = grandchildren(&fx, "family");
    assert_eq!(procmon_stop(fx.pm), OK);
    assert!(fx.wait_events("family", PROCMON_EVENT_EXITED, 1));
    let left = pids.iter().filter(|&&pid| process_alive(pid)).count();
    for &pid in &pids {
        // SAFETY: kill reads no memory; these are our own grandchildren.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(
        left >= 1,
        "a grandchild ignoring TERM survives a plain stop"
    );
}

/// A child that another process traces dies: the kernel shows its zombie to the
/// tracer only, so its pidfd fires before its parent can reap it. procmon must
/// keep it and reap it once the tracer lets go (LeakSanitizer's helper does this
/// to every sanitized child at exit), not give up and leave a zombie.
#[test]
fn a_traced_child_is_reaped_once_its_tracer_lets_go() {
    // The child lets a process of its own trace it (PTRACE_SEIZE), then kills
    // itself; the tracer holds on for 0.3 s, then exits, which detaches it.
    let script = r#"
import ctypes, os, signal, time
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
if os.fork() == 0:
    ok = libc.ptrace(0x4206, os.getppid(), None, None) == 0  # PTRACE_SEIZE
    os.write(w, b"y" if ok else b"n")
    time.sleep(0.3)
    os._exit(0)
print("traced" if os.read(r, 1) == b"y" else "untraceable", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"#;
    let fx = Fixture::new();
    assert_eq!(procmon_set_min_restart_delay(fx.pm, 60.0), OK);
    assert_eq!(fx.add("traced", &["python3", "-c", script]), OK);
    assert!(fx.wait_events("traced", PROCMON_EVENT_EXITED, 1));
    assert!(
        fx.rec.has_line("traced", b"traced"),
        "the fixture could not trace: {:?}",
        fx.rec.of("traced")
    );
    let exited = &fx.rec.events_of_kind("traced", PROCMON_EVENT_EXITED)[0];
    assert_eq!((exited.exit_code, exited.signal), (-1, 9));
    assert!(
        wait_until(DEADLINE, || !process_exists(exited.pid)),
        "pid {} is left a zombie",
        exited.pid
    );
}

/// Records like the fixture, and blocks for 0.6 s on the line "block".
unsafe extern "C" fn record_line_blocking_once(
    userdata: *mut c_void,
    name: *const c_char,
    stream: procmon_stream_t,
    line: *const c_char,
    len: usize,
) {
    // SAFETY: the arguments are the library's, valid during this call.
    unsafe { record_line(userdata, name, stream, line, len) };
    // SAFETY: `line` holds `len` bytes during the call.
    if unsafe { std::slice::from_raw_parts(line.cast::<u8>(), len) } == b"block" {
        thread::sleep(Duration::from_millis(600));
    }
}

/// A child's last line reaches the callback before its EXITED, even when the
/// line and the exit are both pending while the callback thread is busy: "x"
/// writes "last" and exits while a callback for "busy" blocks, so its pipe's
/// data and its EXITED are both waiting when the callback thread comes back.
#[test]
fn the_last_line_comes_before_exited_when_both_wait() {
    let fx = Fixture::new();
    assert_eq!(procmon_set_min_restart_delay(fx.pm, 60.0), OK);
    assert_eq!(procmon_set_threshold(fx.pm, 3600.0), OK);
    let ud = Arc::as_ptr(&fx.rec) as *mut c_void;
    assert_eq!(
        procmon_set_log_callback(fx.pm, Some(record_line_blocking_once), ud),
        OK
    );
    assert_eq!(
        fx.add_sh("x", "echo first; sleep 0.4; echo last; exit 3"),
        OK
    );
    assert!(fx.wait_line("x", "first"));
    assert_eq!(
        fx.add_sh("busy", "sleep 0.1; echo block; exec sleep 60"),
        OK
    );
    assert!(fx.wait_events("x", PROCMON_EVENT_EXITED, 1));
    let order: Vec<String> = fx
        .rec
        .of("x")
        .into_iter()
        .filter_map(|r| match r {
            Rec::Line { bytes, .. } => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Rec::Event(ev) if ev.kind == PROCMON_EVENT_EXITED => Some("EXITED".into()),
            Rec::Event(_) => None,
        })
        .collect();
    assert_eq!(order, ["first", "last", "EXITED"]);
}
