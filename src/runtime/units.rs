//! Containment units: what a run's stop signal reaches, and what must be empty
//! before the run's process restarts. A unit is the child's process group
//! (GROUP: the child leads its own) or a cgroup of its own (CGROUP: nothing it
//! starts can leave it). While a run's child lives the [`Reaper`](super::reaper)
//! holds its unit; once the child is reaped, a unit that still has processes is
//! *draining* here until it is empty: a cgroup's `cgroup.events` is watched in
//! the loop's epoll set (no polling), a process group is polled every
//! [`GROUP_POLL`] while one drains (the kernel says nothing when a group empties).

use super::cgroup::{self, Cgroup, MonitorDir};
use super::token::Token;
use crate::core::{Containment, RunId, Time};
use crate::error::Result;
use crate::sys::{self, Epoll, Interest};
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;

/// How often a draining process group is checked for emptiness.
const GROUP_POLL: Time = Time::from_millis(20);

/// A run's unit.
pub(crate) enum Unit {
    /// The process group this pid leads.
    Group(i32),
    Cgroup(Cgroup),
}

impl Unit {
    /// Sends `signo` to every process of the unit; true if any was sent.
    pub fn signal(&self, signo: i32) -> bool {
        match self {
            Unit::Group(pgid) => sys::send_group_signal(*pgid, signo) == Ok(true),
            Unit::Cgroup(cgroup) => cgroup.signal(signo),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            // Signal 0 checks for existence: ESRCH once no process has the
            // group. Zombies still have it until their reaper (init, for
            // orphans) collects them, so a group of zombies counts as empty.
            Unit::Group(pgid) => {
                sys::send_group_signal(*pgid, 0) != Ok(true) || !group_has_live_member(*pgid)
            }
            Unit::Cgroup(cgroup) => !cgroup.populated(),
        }
    }

    /// A cgroup's name among the cgroups of all monitors (see
    /// [`notify::cgroup_key`](super::notify::cgroup_key)).
    pub fn cgroup_key(&self) -> Option<String> {
        match self {
            Unit::Group(_) => None,
            Unit::Cgroup(cgroup) => super::notify::cgroup_key(&cgroup.path().to_string_lossy()),
        }
    }

    /// The mode it gives its run.
    pub fn containment(&self) -> Containment {
        match self {
            Unit::Group(_) => Containment::Group,
            Unit::Cgroup(_) => Containment::Cgroup,
        }
    }

    /// Removes what the unit leaves behind once empty (a cgroup's directory).
    fn remove(self) {
        if let Unit::Cgroup(cgroup) = self {
            cgroup.remove();
        }
    }

    /// Removes the unit if it is empty, or gives it back. A cgroup is tried
    /// with its rmdir alone, which the kernel refuses while a process is in
    /// it: the exit of a child that left nothing behind costs one call, not a
    /// read of `cgroup.events` and then the rmdir. (A refused rmdir of an
    /// empty cgroup is met by the drain's look after its registration.)
    fn remove_if_empty(self) -> std::result::Result<(), Unit> {
        let gone = match &self {
            Unit::Cgroup(cgroup) => cgroup.remove_if_empty(),
            Unit::Group(_) => self.is_empty(),
        };
        if gone {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Whether a process other than a zombie is in process group `pgid`: a scan of
/// /proc, made only while a group drains.
fn group_has_live_member(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return true;
    };
    dir.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // After the command's last ')': state, ppid, pgrp.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next();
        let group = fields.nth(1).and_then(|g| g.parse::<i32>().ok());
        group == Some(pgid) && !matches!(state, Some("Z") | Some("X"))
    })
}

/// What a spawn is to be contained by, decided before it.
pub(crate) enum Plan {
    /// Only the child (the seed).
    Alone,
    /// Its own process group.
    Group,
    /// This cgroup, and its open directory, in which the child is started
    /// (see `SpawnRequest::cgroup`).
    Cgroup(Cgroup, File),
}

impl Plan {
    /// The unit of the child `pid` spawned under this plan.
    pub fn unit(self, pid: i32) -> Option<Unit> {
        match self {
            Plan::Alone => None,
            Plan::Group => Some(Unit::Group(pid)),
            Plan::Cgroup(cgroup, _) => Some(Unit::Cgroup(cgroup)),
        }
    }

    /// The directory of the cgroup the child is to start in, if any.
    pub fn cgroup_dir(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        match self {
            Plan::Cgroup(_, dir) => Some(dir.as_fd()),
            _ => None,
        }
    }

    /// The spawn failed: removes what the plan made.
    pub fn abandon(self) {
        if let Plan::Cgroup(cgroup, _) = self {
            cgroup.remove();
        }
    }
}

struct Draining {
    unit: Unit,
    /// A cgroup's `cgroup.events`, registered in the loop's epoll set.
    _events: Option<File>,
}

/// The monitor's cgroup directory, or why none can be made (the errno, the
/// message).
type MonitorDirOrWhy = std::result::Result<Arc<MonitorDir>, (i32, Arc<str>)>;

/// The monitor's units: where cgroups are made, and the draining ones.
pub(crate) struct Units {
    /// The root set by the host, if any (else [`cgroup::default_root`]).
    root: Option<PathBuf>,
    /// This monitor's directory of cgroups, made at the first cgroup, or why
    /// none can be made.
    dir: Option<MonitorDirOrWhy>,
    /// Said once: why AUTO fell back to a process group.
    fallback_said: bool,
    /// The kernel would not start a child in a cgroup made here: AUTO makes
    /// none from then on.
    refused: bool,
    draining: HashMap<RunId, Draining>,
    /// Draining runs whose unit is a process group, to poll.
    groups: usize,
    next_group_poll: Option<Time>,
}

impl Units {
    pub fn new() -> Units {
        Units {
            root: None,
            dir: None,
            fallback_said: false,
            refused: false,
            draining: HashMap::new(),
            groups: 0,
            next_group_poll: None,
        }
    }

    /// Sets the root under which cgroups are made (checked), from the next
    /// cgroup on; what dead monitors left under it is removed now.
    pub fn set_root(&mut self, root: PathBuf) -> Result<()> {
        cgroup::check_root(&root)?;
        let dir = MonitorDir::create(&root).map_err(|e| {
            crate::error::Error::system(&format!("making a cgroup under {root:?}"), e)
        })?;
        self.root = Some(root);
        self.dir = Some(Ok(dir));
        Ok(())
    }

    /// This monitor's cgroup directory, made at the first call.
    fn dir(&mut self) -> &MonitorDirOrWhy {
        let root = self.root.clone();
        self.dir.get_or_insert_with(|| {
            let root = match root.map_or_else(cgroup::default_root, Ok) {
                Ok(root) => root,
                Err(e) => return Err((libc::ENOENT, e.message().into())),
            };
            cgroup::check_root(&root).map_err(|e| (libc::EACCES, e.message().into()))?;
            MonitorDir::create(&root).map_err(|errno| {
                let why = std::io::Error::from_raw_os_error(errno);
                (
                    errno,
                    format!("making a cgroup under {root:?}: {why}").into(),
                )
            })
        })
    }

    /// How run `run` is to be contained under `mode`: the errno when CGROUP
    /// cannot have a cgroup; AUTO then falls back to a process group, and the
    /// first time says why (the second value).
    pub fn plan(
        &mut self,
        run: RunId,
        mode: Containment,
    ) -> std::result::Result<(Plan, Option<Arc<str>>), i32> {
        match mode {
            Containment::None => Ok((Plan::Alone, None)),
            Containment::Group => Ok((Plan::Group, None)),
            Containment::Auto if self.refused => Ok((Plan::Group, None)),
            Containment::Cgroup | Containment::Auto => {
                let made = match self.dir() {
                    Ok(dir) => dir.make_run(run.0).map_err(|errno| {
                        let why = std::io::Error::from_raw_os_error(errno);
                        (
                            errno,
                            Arc::<str>::from(format!("making run {}'s cgroup: {why}", run.0)),
                        )
                    }),
                    Err((errno, why)) => Err((*errno, why.clone())),
                };
                match (made, mode) {
                    (Ok((cgroup, dir)), _) => Ok((Plan::Cgroup(cgroup, dir), None)),
                    (Err((errno, _)), Containment::Cgroup) => Err(errno),
                    (Err((_, why)), _) => Ok((Plan::Group, self.fall_back(&why))),
                }
            }
        }
    }

    /// The kernel refused (`errno`) to start an AUTO child in the cgroup made
    /// for it, and started it without: AUTO makes no cgroup from now on. What
    /// to say, the first time AUTO falls back.
    pub fn refused(&mut self, errno: i32) -> Option<Arc<str>> {
        let why = std::io::Error::from_raw_os_error(errno);
        self.refused = true;
        self.fall_back(&format!("starting a child in its cgroup: {why}"))
    }

    /// AUTO falls back to a process group because of `why`: the note, once.
    fn fall_back(&mut self, why: &str) -> Option<Arc<str>> {
        let said = std::mem::replace(&mut self.fallback_said, true);
        (!said).then(|| format!("no cgroup ({why}): contained by its process group").into())
    }

    /// Takes the unit of a reaped run: true when it is empty (and then gone);
    /// otherwise it drains here until [`take_empty`](Self::take_empty) says so.
    pub fn reaped(&mut self, run: RunId, unit: Unit, epoll: &Epoll, now: Time) -> bool {
        let Err(unit) = unit.remove_if_empty() else {
            return true;
        };
        let events = match &unit {
            Unit::Cgroup(cgroup) => cgroup.events().filter(|events| {
                epoll
                    .add(
                        events.as_fd(),
                        Interest::PriorityEdge,
                        Token::unit(run).raw(),
                    )
                    .is_ok()
            }),
            Unit::Group(_) => None,
        };
        // A cgroup that emptied between the first look and the registration
        // would never signal its events file again: look once more after it.
        if events.is_some() && unit.is_empty() {
            drop(events); // closing it takes it out of the epoll set
            unit.remove();
            return true;
        }
        if events.is_none() {
            // A group, or a cgroup whose events cannot be watched: polled.
            self.groups += 1;
            self.next_group_poll.get_or_insert(now + GROUP_POLL);
        }
        self.draining.insert(
            run,
            Draining {
                unit,
                _events: events,
            },
        );
        false
    }

    /// Sends `signo` to every process of a draining run's unit; false if it
    /// has none.
    pub fn signal(&self, run: RunId, signo: i32) -> bool {
        self.draining
            .get(&run)
            .is_some_and(|draining| draining.unit.signal(signo))
    }

    /// When the draining process groups are next checked.
    pub fn next_poll(&self) -> Option<Time> {
        self.next_group_poll
    }

    /// The draining runs whose unit is empty now (those `changed` names, or all
    /// when the group poll is due at `now`); their units are removed.
    pub fn take_empty(&mut self, changed: &[RunId], now: Time) -> Vec<RunId> {
        let poll_due = self.next_group_poll.is_some_and(|at| at <= now);
        let mut empty: Vec<RunId> = if poll_due {
            self.draining.keys().copied().collect()
        } else {
            changed.to_vec()
        };
        empty.retain(|run| self.draining.get(run).is_some_and(|d| d.unit.is_empty()));
        for run in &empty {
            let draining = self.draining.remove(run).expect("a draining run");
            if draining._events.is_none() {
                self.groups -= 1;
            }
            draining.unit.remove();
        }
        if poll_due || self.groups == 0 {
            self.next_group_poll = (self.groups > 0).then_some(now + GROUP_POLL);
        }
        empty
    }

    /// KILLs every draining unit (a failure path), waits a bounded time for
    /// each to empty, and removes it.
    pub fn kill_all(&mut self) {
        for (_, draining) in self.draining.drain() {
            draining.unit.signal(libc::SIGKILL);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while !draining.unit.is_empty() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            draining.unit.remove();
        }
        self.groups = 0;
        self.next_group_poll = None;
    }
}
