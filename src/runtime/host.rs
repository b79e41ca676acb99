//! The [`Host`] the supervisor drives: [`Children`], which spawns through
//! [`Spawner`], hands each child's pidfd to the [`Reaper`] and its pipes to the
//! callback thread's epoll set, and queues events in the [`Outbox`].
//!
//! It hears the supervisor's [`Report`]s, dates them and adds what only the
//! runtime knows (a new run's pipes to its STARTED, an exit's resource use to
//! its EXITED), each matched by run id.

use super::callbacks::{LifecycleEvent, Usage};
use super::notify::Notifier;
use super::outbox::{Message, Outbox};
use super::pipes::{self, RunPipes};
use super::program;
use super::reaper::{ReapedChild, Reaper};
use super::shared::Shared;
use super::units::{Plan, Units};
use crate::core::{
    Containment, Event, ExitStatus, Host, Name, ProcessSpec, ReadyMode, Report, RunId, Signal, Time,
};
use crate::sys::{ResourceLimit, SpawnRequest, Spawned, Spawner};
use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::SystemTime;

/// The children as the supervisor sees them: the reaper, the outbox and the
/// spawner together.
pub(crate) struct Children {
    /// First, so that dropping kills and reaps every child before the outbox's
    /// end of the channel closes (which lets the callback thread finish).
    pub reaper: Reaper,
    pub outbox: Outbox,
    /// Readiness input: NOTIFY_FD pipes and the sd_notify socket.
    pub notify: Notifier,
    spawner: Spawner,
    /// For the callback thread's epoll set, where a new run's pipes go.
    shared: Arc<Shared>,
    /// The containment units: cgroups made, and the units left draining.
    pub units: Units,
    /// The child just spawned, its pipes and how it is contained, handed over
    /// with the STARTED event of its run (reported right after the spawn).
    just_spawned: Option<JustSpawned>,
    /// What the child just reaped used, for the EXITED of its run.
    just_reaped: Option<(RunId, Usage)>,
}

impl Children {
    pub fn new(reaper: Reaper, outbox: Outbox, spawner: Spawner, shared: Arc<Shared>) -> Self {
        Children {
            reaper,
            outbox,
            notify: Notifier::new(),
            spawner,
            shared,
            units: Units::new(),
            just_spawned: None,
            just_reaped: None,
        }
    }

    /// The next child to reap: its run, status, when its exit was seen, and
    /// whether its unit is empty (else it drains in [`Units`]); the callback
    /// thread is told to deliver what its pipes hold first.
    pub fn reap_next(&mut self, now: Time) -> Option<(RunId, ExitStatus, Time, bool)> {
        let ReapedChild {
            run,
            status,
            seen,
            usage,
            unit,
        } = self.reaper.reap_next(now)?;
        self.just_reaped = usage.map(|usage| (run, usage));
        self.outbox.push(Message::Drain(run));
        let unit_empty = match unit {
            Some(unit) => self.units.reaped(run, unit, self.reaper.epoll(), now),
            None => true,
        };
        Some((run, status, seen, unit_empty))
    }

    /// Called on the event loop's thread, the one that spawns: a short
    /// scheduling slice for it (its children get the default back).
    pub fn shorten_spawner_slice(&mut self) -> bool {
        self.spawner.shorten_own_slice()
    }

    /// Kills and reaps every child still alive, and empties every unit (a
    /// failure path).
    pub fn kill_all(&mut self) {
        self.reaper.kill_all();
        self.units.kill_all();
        self.just_spawned = None;
    }
}

/// A run just spawned, until its STARTED is reported.
struct JustSpawned {
    pipes: RunPipes,
    containment: Containment,
    /// Why it has less containment than asked for, if that is news.
    note: Option<Arc<str>>,
}

impl Host for Children {
    fn spawn(&mut self, run: RunId, name: &Name, spec: &ProcessSpec) -> Result<i32, i32> {
        let candidates = program::candidates(spec.program());
        let composed = composed_env(spec);
        let mut ready = self.notify.prepare(spec, composed, self.reaper.epoll())?;
        let composed = ready.env.take();
        let rlimits: Vec<ResourceLimit> = spec
            .rlimits()
            .iter()
            .map(|r| ResourceLimit {
                resource: r.resource,
                soft: r.soft,
                hard: r.hard,
            })
            .collect();
        let (mut plan, mut note) = self.units.plan(run, spec.containment())?;
        let request = SpawnRequest {
            candidates: &candidates,
            argv: spec.argv(),
            env: composed.as_deref().or(spec.env()),
            pass_fd: ready
                .pipe
                .as_ref()
                .map(|(pipe, n)| (pipe.write.as_fd(), *n)),
            pid_var: ready.pid_var,
            cwd: spec.cwd(),
            uid: spec.uid(),
            gid: spec.gid(),
            rlimits: &rlimits,
            cgroup: plan.cgroup_dir(),
        };
        let mut spawned = self.spawner.spawn(&request);
        // The kernel may refuse to start a child in a cgroup it let us make (a
        // delegation without write access to the common ancestor's
        // `cgroup.procs`: EACCES): under AUTO that is a process group, if the
        // same spawn without the cgroup works (an EACCES of exec does not).
        if let Err(errno @ (libc::EACCES | libc::EPERM)) = spawned {
            if spec.containment() == Containment::Auto && request.cgroup.is_some() {
                let alone = SpawnRequest {
                    cgroup: None,
                    ..request
                };
                spawned = self.spawner.spawn(&alone);
                std::mem::replace(&mut plan, Plan::Group).abandon();
                if spawned.is_ok() {
                    note = self.units.refused(errno);
                }
            }
        }
        let Spawned {
            pid,
            pidfd,
            stdout,
            stderr,
        } = match spawned {
            Ok(spawned) => spawned,
            Err(errno) => {
                plan.abandon();
                return Err(errno);
            }
        };
        let unit = plan.unit(pid);
        let containment = unit.as_ref().map_or(Containment::None, |u| u.containment());
        let cgroup = unit.as_ref().and_then(|u| u.cgroup_key());
        let watched = self
            .reaper
            .watch(run, pid, pidfd, unit)
            .and_then(|()| pipes::watch(self.shared.output_epoll(), run, &stdout, &stderr))
            .and_then(|()| {
                self.notify
                    .spawned(run, pid, ready, cgroup, self.reaper.epoll())
            });
        if let Err(errno) = watched {
            // Could not watch it: do not leave it behind.
            if let Some(unit) = self.reaper.discard(run) {
                self.units
                    .reaped(run, unit, self.reaper.epoll(), Time::ZERO);
            }
            return Err(errno);
        }
        let pipes = RunPipes {
            run,
            name: name.clone(),
            stdout,
            stderr,
            ready_line: match &spec.readiness().map(|r| &r.mode) {
                Some(ReadyMode::Line(text)) => Some(text.clone()),
                _ => None,
            },
        };
        self.just_spawned = Some(JustSpawned {
            pipes,
            containment,
            note,
        });
        Ok(pid)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        // A run whose child is reaped may still have a unit draining.
        self.reaper.signal(run, signal) || self.units.signal(run, signal.number())
    }

    fn event(&mut self, _event: Event) {
        unreachable!("the runtime hears reports: Host::report is overridden");
    }

    fn report(&mut self, report: Report) {
        if let Report::Exited { run, .. } = &report {
            self.notify.forget(*run);
        }
        let usage = match &report {
            Report::Exited { run, .. } => self.just_reaped.take().filter(|(r, _)| r == run),
            _ => None,
        };
        let spawned = match &report {
            Report::Started { run, .. } => self.just_spawned.take().filter(|s| s.pipes.run == *run),
            _ => None,
        };
        let mut event = LifecycleEvent {
            report,
            timestamp: SystemTime::now(),
            usage: usage.map(|(_, usage)| usage),
            containment: None,
            note: None,
        };
        let message = match spawned {
            Some(spawned) => {
                event.containment = Some(spawned.containment);
                event.note = spawned.note;
                Message::Started {
                    pipes: spawned.pipes,
                    event,
                }
            }
            None => Message::Event(event),
        };
        self.outbox.push(message);
    }
}

/// The child's environment when the spec sets or removes variables on top of
/// its base (the given one, or the host's read now); `None` when it does not,
/// and the base is passed as it is.
fn composed_env(spec: &ProcessSpec) -> Option<Vec<CString>> {
    let vars = spec.env_vars();
    if vars.is_empty() {
        return None;
    }
    let mut env: Vec<CString> = match spec.env() {
        Some(base) => base.to_vec(),
        None => std::env::vars_os()
            .filter_map(|(key, value)| {
                let mut entry = key.as_bytes().to_vec();
                entry.push(b'=');
                entry.extend_from_slice(value.as_bytes());
                CString::new(entry).ok()
            })
            .collect(),
    };
    for (key, value) in vars {
        let key = key.as_bytes();
        env.retain(|entry| {
            let entry = entry.as_bytes();
            !(entry.len() > key.len() && entry.starts_with(key) && entry[key.len()] == b'=')
        });
        if let Some(value) = value {
            let mut entry = key.to_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            env.push(CString::new(entry).expect("a key and a value without NUL"));
        }
    }
    Some(env)
}
