//! The scheduling of procmon's own threads: a short EEVDF slice (Linux ≥ 6.12)
//! for the threads that sleep most of the time and wake for a little work (a
//! reap and a respawn, a STARTED to deliver), so that a woken one runs at once
//! instead of waiting, on a busy core, for the end of the current task's slice
//! (a child just exec'd, say, still in its dynamic loader). It changes no
//! share of the CPU: the nice value and the policy stay as they are.
//!
//! Children inherit a thread's slice across clone, so a spawn from a thread
//! with a short slice gives the child the default one back ([`reset_in_child`])
//! before it execs.

use super::errno;

/// The slice asked for: the kernel's minimum (0.1 ms).
const SHORT_SLICE_NS: u64 = 100_000;

/// `struct sched_attr` with the utilization fields (SCHED_ATTR_SIZE_VER1).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(super) struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    /// For a normal policy, the slice (0: the kernel's default).
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
    sched_util_min: u32,
    sched_util_max: u32,
}

const ATTR_SIZE: u32 = std::mem::size_of::<SchedAttr>() as u32;

/// The calling thread's attributes.
fn current() -> Result<SchedAttr, i32> {
    let mut attr = SchedAttr::default();
    // SAFETY: sched_getattr writes at most ATTR_SIZE bytes into `attr`, a live
    // struct of that size; pid 0 is the calling thread.
    let got = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut attr as *mut SchedAttr,
            ATTR_SIZE,
            0,
        )
    };
    if got == -1 {
        return Err(errno());
    }
    Ok(attr)
}

/// Sets the calling thread's attributes.
fn set(attr: &SchedAttr) -> i64 {
    // SAFETY: sched_setattr reads `attr.size` (= ATTR_SIZE) bytes from a live
    // struct; pid 0 is the calling thread. A raw system call, no allocation:
    // the CLONE_VM child calls it too.
    unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *const SchedAttr, 0) }
}

/// Gives the calling thread a short slice, if its policy is a normal one (a
/// real-time or idle policy the host chose is left alone). Returns what its
/// children are to be reset to, or None if nothing changed (an older kernel
/// refuses the attributes, or accepts them and has no slices: harmless).
pub(super) fn shorten_slice() -> Option<SchedAttr> {
    let mut attr = current().ok()?;
    let normal = [libc::SCHED_OTHER as u32, libc::SCHED_BATCH as u32];
    if !normal.contains(&attr.sched_policy) {
        return None;
    }
    attr.size = ATTR_SIZE;
    attr.sched_flags = 0;
    let mut child = attr;
    child.sched_runtime = 0;
    attr.sched_runtime = SHORT_SLICE_NS;
    (set(&attr) == 0).then_some(child)
}

/// Moves the calling thread from SCHED_OTHER to SCHED_BATCH (nice value and
/// slice kept): its wake-ups no longer preempt the task running on the core it
/// lands on. For the callback thread, woken by every pipe a dying child closes:
/// it then waits for a free core (the other one, or this one once the child is
/// gone) instead of switching the child out before its exit is signalled.
/// False if nothing changed (a policy the host chose is left alone).
pub fn batch_policy() -> bool {
    let Ok(mut attr) = current() else {
        return false;
    };
    if attr.sched_policy != libc::SCHED_OTHER as u32 {
        return false;
    }
    attr.size = ATTR_SIZE;
    attr.sched_flags = 0;
    attr.sched_policy = libc::SCHED_BATCH as u32;
    set(&attr) == 0
}

/// In a child of a thread with a short slice: back to the default slice
/// (with the parent's policy and nice value). Errors are ignored: the worst
/// outcome is a child with procmon's slice.
///
/// # Safety
/// Async-signal-safe; for the CLONE_VM child, with an `attr` the parent keeps alive.
pub(super) unsafe fn reset_in_child(attr: &SchedAttr) {
    set(attr);
}

/// The `se.slice` of `/proc/<pid>/sched` (`pid` may be `self/task/<tid>`,
/// `thread-self`), where the kernel shows it: for the tests here and of the spawn.
#[cfg(test)]
pub(super) fn slice_of(pid: &str) -> Option<u64> {
    let sched = std::fs::read_to_string(format!("/proc/{pid}/sched")).ok()?;
    let line = sched.lines().find(|l| l.starts_with("se.slice"))?;
    line.split(':').nth(1)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_thread_keeps_its_nice_value_and_slice() {
        std::thread::spawn(|| {
            let before = current().expect("sched_getattr");
            assert!(batch_policy(), "SCHED_OTHER -> SCHED_BATCH refused");
            let after = current().expect("sched_getattr");
            assert_eq!(after.sched_policy, libc::SCHED_BATCH as u32);
            assert_eq!(after.sched_nice, before.sched_nice);
            assert_eq!(after.sched_runtime, before.sched_runtime);
            assert!(
                !batch_policy(),
                "a policy other than SCHED_OTHER is left alone"
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_shortened_thread_keeps_its_nice_value_and_gets_the_short_slice() {
        std::thread::spawn(|| {
            let before = current().expect("sched_getattr");
            let Some(child) = shorten_slice() else {
                eprintln!("skipped: this kernel refuses a thread's slice");
                return;
            };
            let after = current().expect("sched_getattr");
            assert_eq!(after.sched_nice, before.sched_nice);
            assert_eq!(after.sched_policy, before.sched_policy);
            assert_eq!(child.sched_runtime, 0);
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            match slice_of(&format!("self/task/{tid}")) {
                Some(slice) => assert_eq!(slice, SHORT_SLICE_NS),
                None => eprintln!("skipped: no se.slice in /proc (no EEVDF)"),
            }
        })
        .join()
        .unwrap();
    }
}
