//! procmon_free leaves nothing behind: no child, no zombie, no thread, no file
//! descriptor; also when called from inside a callback.
//!
//! One test in its own binary, so that no other test's threads or descriptors
//! change the counts of /proc/self/task and /proc/self/fd while it measures.

mod common;

use common::*;
use procmon::ffi::*;
use procmon_event_kind_t::*;
use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

fn tasks() -> usize {
    count_entries("/proc/self/task")
}

fn fds() -> usize {
    count_entries("/proc/self/fd")
}

#[test]
fn free_leaves_no_child_thread_or_descriptor() {
    // Warm up once, so that one-time initialisation in the process is not
    // counted as a leak.
    {
        let fx = Fixture::new();
        assert_eq!(fx.add_sh("warm", "echo hi; exec sleep 30"), OK);
        assert!(fx.wait_line("warm", "hi"));
    }
    assert!(
        wait_until(DEADLINE, || procmon_threads().is_empty()),
        "threads after warm-up: {:?}",
        procmon_threads()
    );

    free_with_running_children();
    free_from_inside_a_callback();
}

fn free_with_running_children() {
    let (tasks_before, fds_before) = (tasks(), fds());
    let fx = Fixture::new();
    let polite = r#"trap "echo bye; exit 0" TERM; echo ready; while :; do sleep 0.1; done"#;
    let stubborn = r#"trap "" TERM; echo ready; while :; do sleep 0.1; done"#;
    assert_eq!(fx.add_sh("polite", polite), OK);
    assert_eq!(fx.add_sh("stubborn", stubborn), OK);
    assert_eq!(fx.add_sh("plain", "echo ready; exec sleep 30"), OK);
    let names = ["polite", "stubborn", "plain"];
    for name in names {
        assert!(fx.wait_line(name, "ready"), "{name}");
    }
    let pids: Vec<i32> = names.iter().map(|n| fx.pid(n).unwrap()).collect();
    assert!(tasks() > tasks_before, "no internal threads?");
    assert!(fds() > fds_before, "no descriptors for the children?");

    // The free is done here, under a deadline.
    let (pm, rec) = fx.into_parts();
    let pm = Shared(pm);
    let freed = within(DEADLINE, move || procmon_free(pm.get()));
    if freed.is_none() {
        std::mem::forget(rec.clone());
        panic!("procmon_free hung");
    }

    // Waited until every child was reaped: none left, not even as a zombie.
    for (name, pid) in names.iter().zip(&pids) {
        assert!(!process_exists(*pid), "{name} ({pid}) is left after free");
    }
    // Every remaining line and event was delivered before it returned.
    assert!(rec.has_line("polite", b"bye"), "{:?}", rec.of("polite"));
    for name in names {
        let exited = rec.events_of_kind(name, PROCMON_EVENT_EXITED);
        assert_eq!(exited.len(), 1, "{name}: {:?}", rec.events(name));
    }
    assert_eq!(
        rec.events_of_kind("stubborn", PROCMON_EVENT_EXITED)[0].signal,
        libc::SIGKILL
    );
    assert_eq!(
        rec.events_of_kind("stubborn", PROCMON_EVENT_KILLED).len(),
        1
    );
    assert_eq!(
        rec.events_of_kind("polite", PROCMON_EVENT_EXITED)[0].exit_code,
        0
    );
    let delivered = rec.all().len();

    assert_eq!(fds(), fds_before, "descriptors left after procmon_free");
    assert!(
        procmon_threads().is_empty(),
        "threads left: {:?}",
        procmon_threads()
    );
    // The helper thread of `within` may take a moment to disappear.
    assert!(
        wait_until(DEADLINE, || tasks() == tasks_before),
        "threads: {} before, {} after",
        tasks_before,
        tasks()
    );
    assert_eq!(rec.all().len(), delivered, "a callback ran after free");
}

/// Userdata of the free-from-a-callback case.
#[derive(Default)]
struct FreeInside {
    pm: AtomicPtr<procmon_t>,
    child: AtomicI32,
    free_returned: AtomicBool,
    late_calls: AtomicUsize,
}

unsafe extern "C" fn free_on_go(
    userdata: *mut c_void,
    _name: *const c_char,
    _stream: procmon_stream_t,
    line: *const c_char,
    _len: usize,
) {
    // SAFETY: the registered userdata is a live FreeInside.
    let me = unsafe { &*(userdata as *const FreeInside) };
    if me.free_returned.load(Ordering::SeqCst) {
        me.late_calls.fetch_add(1, Ordering::SeqCst);
        return;
    }
    // SAFETY: a NUL-terminated line, valid during the call.
    if unsafe { CStr::from_ptr(line) }.to_bytes() != b"go" {
        return;
    }
    let pm = me.pm.swap(std::ptr::null_mut(), Ordering::SeqCst);
    if !pm.is_null() {
        procmon_free(pm);
        me.free_returned.store(true, Ordering::SeqCst);
    }
}

unsafe extern "C" fn note_event(userdata: *mut c_void, event: *const procmon_event_t) {
    // SAFETY: the registered userdata is a live FreeInside.
    let me = unsafe { &*(userdata as *const FreeInside) };
    if me.free_returned.load(Ordering::SeqCst) {
        me.late_calls.fetch_add(1, Ordering::SeqCst);
        return;
    }
    // SAFETY: the event is valid during the call.
    let event = unsafe { &*event };
    if event.kind == PROCMON_EVENT_STARTED {
        me.child.store(event.pid, Ordering::SeqCst);
    }
}

fn free_from_inside_a_callback() {
    let (tasks_before, fds_before) = (tasks(), fds());
    let me = Arc::new(FreeInside::default());
    let pm = procmon_new();
    assert!(!pm.is_null());
    me.pm.store(pm, Ordering::SeqCst);
    let ud = Arc::as_ptr(&me) as *mut c_void;
    assert_eq!(procmon_set_kill_time(pm, KILL_TIME), OK);
    assert_eq!(procmon_set_event_callback(pm, Some(note_event), ud), OK);
    assert_eq!(procmon_set_log_callback(pm, Some(free_on_go), ud), OK);
    let argv = CList::new(&["sh", "-c", "echo go; exec sleep 30"]);
    assert_eq!(
        procmon_add_process(pm, c("x").as_ptr(), argv.as_ptr(), std::ptr::null()),
        OK
    );

    let returned = wait_until(DEADLINE, || me.free_returned.load(Ordering::SeqCst));
    // STARTED is delivered before the child's lines, so before the free.
    let child = me.child.load(Ordering::SeqCst);
    let gone = child > 0 && wait_until(DEADLINE, || !process_exists(child));
    let threads_gone = wait_until(DEADLINE, || procmon_threads().is_empty());
    if !threads_gone {
        // The callback thread may still use the userdata.
        std::mem::forget(me.clone());
    }
    assert!(child > 0, "no STARTED event before the line");
    assert!(
        returned,
        "procmon_free from inside a callback did not return"
    );
    assert!(gone, "the child {child} is left (or a zombie)");
    assert!(threads_gone, "threads left: {:?}", procmon_threads());
    assert!(
        wait_until(DEADLINE, || fds() == fds_before),
        "descriptors: {} before, {} after",
        fds_before,
        fds()
    );
    assert!(
        wait_until(DEADLINE, || tasks() == tasks_before),
        "threads: {} before, {} after",
        tasks_before,
        tasks()
    );
    assert_eq!(
        me.late_calls.load(Ordering::SeqCst),
        0,
        "a callback ran after procmon_free returned"
    );
}
