//! procmon's own threads and how they are scheduled: the event loop with the
//! shortest slice (it reaps and respawns at once), the callback thread without
//! wake-up preemption (it waits for a core rather than switch out a dying child).

mod common;

use common::*;
use procmon::ffi::*;

/// Each of this process's threads called `name`: its `/proc/self/task/<tid>/sched`.
fn sched_of(name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let dir = task.expect("a task").path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            found.push(std::fs::read_to_string(dir.join("sched")).unwrap_or_default());
        }
    }
    found
}

/// A field of a `/proc/<pid>/sched` text.
fn field(sched: &str, key: &str) -> Option<u64> {
    let line = sched
        .lines()
        .find(|l| l.split(':').next().map(str::trim) == Some(key))?;
    line.split(':').nth(1)?.trim().parse().ok()
}

/// Whether the thread called `name` shows `key` = `value` (waited for: a
/// thread sets its own scheduling as it starts).
fn shows(name: &str, key: &str, value: u64) -> bool {
    wait_until(DEADLINE, || {
        sched_of(name).iter().any(|s| field(s, key) == Some(value))
    })
}

#[test]
fn the_loop_has_the_short_slice_and_the_callback_thread_the_batch_policy() {
    let pm = procmon_new();
    assert!(!pm.is_null());
    // Thread names are cut to 15 bytes.
    let callbacks = shows("procmon-callbac", "policy", libc::SCHED_BATCH as u64);
    let loop_normal = shows("procmon-loop", "policy", libc::SCHED_OTHER as u64);
    let has_slices = sched_of("procmon-loop")
        .first()
        .is_some_and(|s| field(s, "se.slice").is_some());
    let loop_short = !has_slices || shows("procmon-loop", "se.slice", 100_000);
    procmon_free(pm);
    assert!(callbacks, "the callback thread is not SCHED_BATCH");
    assert!(loop_normal, "the event loop's policy changed");
    assert!(loop_short, "the event loop has not the short slice");
    if !has_slices {
        eprintln!("skipped the slice: no se.slice in /proc (no EEVDF)");
    }
}
