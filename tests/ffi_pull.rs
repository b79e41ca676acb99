//! Pull delivery through the C API: procmon_set_delivery, procmon_poll_fd,
//! procmon_next, procmon_next_batch and procmon_shutdown on real processes. The host here is the
//! test's own thread, waiting with poll(2).

mod common;

use common::*;
use procmon::ffi::*;
use procmon_event_kind_t::*;
use procmon_record_kind_t::*;
use procmon_stream_t::*;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::{c_int, CStr};
use std::time::{Duration, Instant};

const ERR_AGAIN: c_int = procmon_error_t::PROCMON_ERR_AGAIN as c_int;

/// A record, copied out of the library's memory.
#[derive(Clone, Debug, PartialEq)]
enum Taken {
    Line {
        name: String,
        stream: procmon_stream_t,
        bytes: Vec<u8>,
    },
    Event {
        name: String,
        kind: procmon_event_kind_t,
        pid: i32,
        exit_code: i32,
    },
    End,
}

/// A monitor in pull mode with the fixture's fast settings.
struct Puller {
    pm: *mut procmon_t,
    /// 0: takes with procmon_next; otherwise procmon_next_batch, at most this many.
    batch: usize,
    /// Records of the last batch not handed out by try_take yet.
    pending: RefCell<VecDeque<Taken>>,
}

impl Puller {
    /// A puller that takes with procmon_next_batch, `max` at a time.
    fn batched(max: usize) -> Puller {
        let mut puller = Puller::new();
        puller.batch = max;
        puller
    }

    fn new() -> Puller {
        let pm = procmon_new();
        assert!(!pm.is_null(), "{}", last_error());
        assert_eq!(procmon_set_kill_time(pm, KILL_TIME), OK);
        assert_eq!(procmon_set_threshold(pm, 1000.0), OK);
        assert_eq!(procmon_set_min_restart_delay(pm, 60.0), OK);
        assert_eq!(procmon_set_max_restart_delay(pm, 60.0), OK);
        let mode = procmon_delivery_t::PROCMON_DELIVERY_PULL as c_int;
        assert_eq!(procmon_set_delivery(pm, mode), OK, "{}", last_error());
        Puller {
            pm,
            batch: 0,
            pending: RefCell::default(),
        }
    }

    fn add_sh(&self, name: &str, script: &str) {
        let argv = CList::new(&["/bin/sh", "-c", script]);
        let rc = procmon_add_process(self.pm, c(name).as_ptr(), argv.as_ptr(), std::ptr::null());
        assert_eq!(rc, OK, "{}", last_error());
    }

    fn pid(&self, name: &str) -> i32 {
        let mut pid = 0;
        assert_eq!(procmon_process_pid(self.pm, c(name).as_ptr(), &mut pid), OK);
        pid
    }

    /// Whether the descriptor is readable within `timeout_ms`.
    fn readable(&self, timeout_ms: c_int) -> bool {
        let mut fd = libc::pollfd {
            fd: procmon_poll_fd(self.pm),
            events: libc::POLLIN,
            revents: 0,
        };
        assert!(fd.fd >= 0);
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut fd, 1, timeout_ms) };
        assert!(n >= 0);
        n == 1 && fd.revents & libc::POLLIN != 0
    }

    /// The next record if one waits now.
    fn try_take(&self) -> Option<Taken> {
        if self.batch > 0 {
            return self.try_take_batched();
        }
        let mut record: *const procmon_record_t = std::ptr::null();
        match procmon_next(self.pm, &mut record) {
            OK => {}
            ERR_AGAIN => return None,
            code => panic!("procmon_next: {code}: {}", last_error()),
        }
        // SAFETY: on OK the record is valid until the next call.
        Some(unsafe { copy(record) })
    }

    /// try_take through procmon_next_batch: a batch is copied whole, then
    /// handed out one record at a time.
    fn try_take_batched(&self) -> Option<Taken> {
        let mut pending = self.pending.borrow_mut();
        if pending.is_empty() {
            let mut records = vec![std::ptr::null::<procmon_record_t>(); self.batch];
            let mut n = usize::MAX;
            match procmon_next_batch(self.pm, records.as_mut_ptr(), self.batch, &mut n) {
                OK => assert!((1..=self.batch).contains(&n), "a batch of {n}"),
                ERR_AGAIN => {
                    assert_eq!(n, 0);
                    return None;
                }
                code => panic!("procmon_next_batch: {code}: {}", last_error()),
            }
            for (i, &record) in records[..n].iter().enumerate() {
                // SAFETY: on OK the first n records are valid until the next call.
                let taken = unsafe { copy(record) };
                assert!(
                    taken != Taken::End || i == n - 1,
                    "END is the last record of its batch"
                );
                pending.push_back(taken);
            }
            assert!(records[n..].iter().all(|r| r.is_null()), "wrote past n");
        }
        pending.pop_front()
    }

    /// Takes records, waiting on the descriptor, until `done` says so.
    fn take_until(&self, mut done: impl FnMut(&Taken) -> bool) -> Vec<Taken> {
        let end = Instant::now() + DEADLINE;
        let mut taken = Vec::new();
        loop {
            while let Some(record) = self.try_take() {
                let stop = done(&record);
                taken.push(record);
                if stop {
                    return taken;
                }
            }
            assert!(
                Instant::now() < end,
                "timed out; taken so far: {}",
                taken.len()
            );
            self.readable(100);
        }
    }
}

impl Drop for Puller {
    fn drop(&mut self) {
        procmon_free(self.pm);
    }
}

/// A copy of the record at `record`.
///
/// # Safety
/// `record` is a record procmon_next or procmon_next_batch handed out, before
/// the next take.
unsafe fn copy(record: *const procmon_record_t) -> Taken {
    // SAFETY: by this function's contract.
    let r = unsafe { &*record };
    // SAFETY: names are NUL-terminated while the record is valid.
    let name = || {
        unsafe { CStr::from_ptr(r.name) }
            .to_string_lossy()
            .into_owned()
    };
    match r.kind {
        PROCMON_RECORD_LINE => {
            // SAFETY: `len` bytes and a NUL at `line`.
            let with_nul = unsafe { std::slice::from_raw_parts(r.line.cast::<u8>(), r.len + 1) };
            assert_eq!(with_nul[r.len], 0, "a line record without its NUL");
            Taken::Line {
                name: name(),
                stream: r.stream,
                bytes: with_nul[..r.len].to_vec(),
            }
        }
        PROCMON_RECORD_EVENT => {
            // SAFETY: an EVENT record points to its event.
            let ev = unsafe { &*r.event };
            assert_eq!(ev.name, r.name);
            Taken::Event {
                name: name(),
                kind: ev.kind,
                pid: ev.pid,
                exit_code: ev.exit_code,
            }
        }
        PROCMON_RECORD_END => {
            assert!(r.name.is_null());
            Taken::End
        }
    }
}

fn is_event(r: &Taken, name: &str, kind: procmon_event_kind_t) -> bool {
    matches!(r, Taken::Event { name: n, kind: k, .. } if n == name && *k == kind)
}

#[test]
fn records_come_in_the_callbacks_order_with_raw_bytes() {
    check_records_come_in_the_callbacks_order_with_raw_bytes_with(Puller::new());
}

/// The same through procmon_next_batch, at most 3 records a call.
#[test]
fn batch_records_come_in_the_callbacks_order_with_raw_bytes() {
    check_records_come_in_the_callbacks_order_with_raw_bytes_with(Puller::batched(3));
}

fn check_records_come_in_the_callbacks_order_with_raw_bytes_with(p: Puller) {
    assert!(!p.readable(0));
    let script = r"printf 'a\000b\377\r\n'; printf 'plain\n\n'; printf 'err one\n' >&2; \
                   printf 'last'; exit 3";
    p.add_sh("raw", script);
    let taken = p.take_until(|r| is_event(r, "raw", PROCMON_EVENT_RESTART_SCHEDULED));
    let Taken::Event {
        kind: PROCMON_EVENT_STARTED,
        pid: started_pid,
        ..
    } = &taken[0]
    else {
        panic!("STARTED first: {taken:?}")
    };
    let exited = taken
        .iter()
        .position(|r| is_event(r, "raw", PROCMON_EVENT_EXITED))
        .expect("EXITED");
    assert_eq!(
        exited,
        taken.len() - 2,
        "EXITED, then RESTART_SCHEDULED: {taken:?}"
    );
    let Taken::Event { exit_code, pid, .. } = &taken[exited] else {
        unreachable!()
    };
    assert_eq!(*exit_code, 3);
    assert_eq!(pid, started_pid);
    let lines = |stream| -> Vec<Vec<u8>> {
        taken[1..exited]
            .iter()
            .filter_map(|r| match r {
                Taken::Line {
                    stream: s,
                    bytes,
                    name,
                } if *s == stream && name == "raw" => Some(bytes.clone()),
                _ => None,
            })
            .collect()
    };
    let out: Vec<&[u8]> = vec![b"a\0b\xff\r", b"plain", b"", b"last"];
    assert_eq!(lines(PROCMON_STDOUT), out);
    assert_eq!(lines(PROCMON_STDERR), vec![b"err one".to_vec()]);
    assert_eq!(
        exited - 1,
        5,
        "only lines between STARTED and EXITED: {taken:?}"
    );
    // Everything taken; nothing comes for 60 s: not readable.
    assert!(p.try_take().is_none());
    assert!(!p.readable(0));
}

#[test]
fn a_flood_of_several_children_arrives_whole_and_in_order() {
    check_a_flood_of_several_children_arrives_whole_and_in_order_with(Puller::new());
}

/// The same through procmon_next_batch, at most 64 records a call.
#[test]
fn batch_a_flood_of_several_children_arrives_whole_and_in_order() {
    check_a_flood_of_several_children_arrives_whole_and_in_order_with(Puller::batched(64));
}

fn check_a_flood_of_several_children_arrives_whole_and_in_order_with(p: Puller) {
    const CHILDREN: usize = 3;
    const LINES: usize = 100_000;
    for i in 0..CHILDREN {
        p.add_sh(&format!("c{i}"), &format!("exec seq 1 {LINES}"));
    }
    let mut next = [1usize; CHILDREN];
    let mut exited = 0;
    p.take_until(|r| {
        match r {
            Taken::Line { name, bytes, .. } => {
                let i: usize = name[1..].parse().unwrap();
                assert_eq!(bytes, next[i].to_string().as_bytes(), "{name}");
                next[i] += 1;
            }
            Taken::Event {
                name,
                kind: PROCMON_EVENT_EXITED,
                ..
            } => {
                let i: usize = name[1..].parse().unwrap();
                assert_eq!(next[i], LINES + 1, "{name}: EXITED before its last line");
                exited += 1;
            }
            _ => {}
        }
        exited == CHILDREN
    });
    assert_eq!(next, [LINES + 1; CHILDREN]);
}

#[test]
fn a_long_line_comes_in_pieces_of_the_line_limit() {
    check_a_long_line_comes_in_pieces_of_the_line_limit_with(Puller::new());
}

/// The same through procmon_next_batch, at most 2 records a call.
#[test]
fn batch_a_long_line_comes_in_pieces_of_the_line_limit() {
    check_a_long_line_comes_in_pieces_of_the_line_limit_with(Puller::batched(2));
}

fn check_a_long_line_comes_in_pieces_of_the_line_limit_with(p: Puller) {
    let total = 3 * PROCMON_LINE_LIMIT + 1234;
    p.add_sh(
        "long",
        &format!("head -c {total} /dev/zero | tr '\\0' x; echo; echo after"),
    );
    let taken = p.take_until(|r| is_event(r, "long", PROCMON_EVENT_EXITED));
    let pieces: Vec<usize> = taken
        .iter()
        .filter_map(|r| match r {
            Taken::Line { bytes, .. } => Some(bytes.len()),
            _ => None,
        })
        .collect();
    let limit = PROCMON_LINE_LIMIT;
    assert_eq!(pieces, vec![limit, limit, limit, 1234, 5]);
}

/// The child is asleep in write(2): /proc/PID/syscall starts with its number.
fn blocked_in_write(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .is_ok_and(|s| s.starts_with(&format!("{} ", libc::SYS_write)))
}

fn written(pid: i32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    let line = io.lines().find(|l| l.starts_with("wchar:")).unwrap();
    line["wchar:".len()..].trim().parse().unwrap()
}

#[test]
fn a_host_that_takes_nothing_blocks_the_child_and_free_is_prompt() {
    let p = Puller::new();
    p.add_sh(
        "yes",
        "exec yes 0123456789012345678901234567890123456789012345678",
    );
    let pid = p.pid("yes");
    assert!(wait_until(DEADLINE, || blocked_in_write(pid)));
    // Nobody takes: what it can write is the queue's bound and a pipe (about
    // 2 MiB), however long it tries.
    assert!(stays_false(Duration::from_millis(300), || written(pid) > 4 << 20));
    assert!(blocked_in_write(pid));
    let before = written(pid);
    assert!(p.readable(0));
    // Taking records lets it write on; every line is whole.
    let mut lines = 0;
    p.take_until(|r| {
        if let Taken::Line { bytes, .. } = r {
            assert_eq!(bytes.len(), 49);
            lines += 1;
        }
        lines == 100_000
    });
    assert!(written(pid) > before);
    // Freed while the queue is full again and nobody takes: prompt, child gone.
    assert!(wait_until(DEADLINE, || blocked_in_write(pid)));
    let pm = Shared(p.pm);
    std::mem::forget(p);
    let took = within(Duration::from_secs(10), move || {
        let start = Instant::now();
        procmon_free(pm.get());
        start.elapsed()
    })
    .expect("procmon_free returned");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!process_alive(pid));
}

#[test]
fn shutdown_delivers_the_last_records_then_end() {
    check_shutdown_delivers_the_last_records_then_end_with(Puller::new());
}

/// The same through procmon_next_batch, at most 1000 records a call.
#[test]
fn batch_shutdown_delivers_the_last_records_then_end() {
    check_shutdown_delivers_the_last_records_then_end_with(Puller::batched(1000));
}

fn check_shutdown_delivers_the_last_records_then_end_with(p: Puller) {
    assert_eq!(procmon_set_kill_time(p.pm, 10.0), OK);
    p.add_sh(
        "polite",
        "trap 'kill $!; echo bye 1; echo bye 2; exit 0' TERM; sleep 60 >/dev/null 2>&1 & echo ready; wait",
    );
    p.take_until(|r| matches!(r, Taken::Line { bytes, .. } if bytes == b"ready"));
    assert_eq!(procmon_shutdown(p.pm), OK);
    let taken = p.take_until(|r| *r == Taken::End);
    let n = taken.len();
    assert!(n >= 4, "{taken:?}");
    assert!(
        matches!(&taken[n - 4], Taken::Line { bytes, .. } if bytes == b"bye 1"),
        "{taken:?}"
    );
    assert!(matches!(&taken[n - 3], Taken::Line { bytes, .. } if bytes == b"bye 2"));
    assert!(matches!(
        &taken[n - 2],
        Taken::Event {
            kind: PROCMON_EVENT_EXITED,
            exit_code: 0,
            ..
        }
    ));
    assert!(p.try_take().is_none(), "nothing after END");
    assert!(!p.readable(0));
    let argv = CList::new(&["true"]);
    let rc = procmon_add_process(p.pm, c("late").as_ptr(), argv.as_ptr(), std::ptr::null());
    assert_eq!(rc, ERR_STATE);
}

#[test]
fn callbacks_and_pull_exclude_each_other() {
    let pm = procmon_new();
    let mut record: *const procmon_record_t = std::ptr::null();
    assert_eq!(procmon_poll_fd(pm), ERR_STATE);
    assert_eq!(procmon_next(pm, &mut record), ERR_STATE);
    assert_eq!(procmon_set_delivery(pm, 42), ERR_INVALID);
    let pull = procmon_delivery_t::PROCMON_DELIVERY_PULL as c_int;
    let callbacks = procmon_delivery_t::PROCMON_DELIVERY_CALLBACKS as c_int;
    assert_eq!(procmon_set_delivery(pm, callbacks), OK);
    assert_eq!(procmon_set_delivery(pm, pull), OK);
    assert_eq!(procmon_set_delivery(pm, callbacks), ERR_STATE);
    assert_eq!(
        procmon_set_log_callback(pm, None, std::ptr::null_mut()),
        ERR_STATE
    );
    assert!(last_error().contains("pull"), "{}", last_error());
    assert_eq!(procmon_next(pm, &mut record), ERR_AGAIN);
    assert!(record.is_null());
    assert_eq!(procmon_next(pm, std::ptr::null_mut()), ERR_INVALID);
    procmon_free(pm);
}

#[test]
fn next_batch_refuses_bad_arguments_and_says_again_with_n_zero() {
    let p = Puller::new();
    let mut records = [std::ptr::null::<procmon_record_t>(); 4];
    let mut n = 99usize;
    let rs = records.as_mut_ptr();
    assert_eq!(
        procmon_next_batch(std::ptr::null_mut(), rs, 4, &mut n),
        ERR_INVALID
    );
    assert_eq!(
        procmon_next_batch(p.pm, std::ptr::null_mut(), 4, &mut n),
        ERR_INVALID
    );
    assert_eq!(
        procmon_next_batch(p.pm, rs, 4, std::ptr::null_mut()),
        ERR_INVALID
    );
    assert_eq!(procmon_next_batch(p.pm, rs, 0, &mut n), ERR_INVALID);
    assert_eq!(n, 99, "not written on INVALID");
    assert_eq!(procmon_next_batch(p.pm, rs, 4, &mut n), ERR_AGAIN);
    assert_eq!(n, 0);
    assert!(records.iter().all(|r| r.is_null()));
    let pm = procmon_new();
    assert_eq!(procmon_next_batch(pm, rs, 4, &mut n), ERR_STATE);
    procmon_free(pm);
}
