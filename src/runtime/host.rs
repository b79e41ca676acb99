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
use super::reaper::Reaper;
use super::shared::Shared;
use crate::core::{
    Event, ExitStatus, Host, Name, ProcessSpec, ReadyMode, Report, RunId, Signal, Time,
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
    /// The pipes of the child just spawned, handed over with the STARTED event
    /// of its run (which the supervisor reports right after the spawn).
    just_spawned: Option<RunPipes>,
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
            just_spawned: None,
            just_reaped: None,
        }
    }

    /// The next child to reap, with its status and when its exit was seen; the
    /// callback thread is told to deliver what its pipes hold first.
    pub fn reap_next(&mut self, now: Time) -> Option<(RunId, ExitStatus, Time)> {
        let (run, status, seen, usage) = self.reaper.reap_next(now)?;
        self.just_reaped = usage.map(|usage| (run, usage));
        self.outbox.push(Message::Drain(run));
        Some((run, status, seen))
    }

    /// Kills and reaps every child still alive (a failure path).
    pub fn kill_all(&mut self) {
        self.reaper.kill_all();
        self.just_spawned = None;
    }
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
        };
        let Spawned {
            pid,
            pidfd,
            stdout,
            stderr,
        } = self.spawner.spawn(&request)?;
        let watched = self
            .reaper
            .watch(run, pid, pidfd, spec.stops_process_group())
            .and_then(|()| pipes::watch(self.shared.output_epoll(), run, &stdout, &stderr))
            .and_then(|()| self.notify.spawned(run, pid, ready, self.reaper.epoll()));
        if let Err(errno) = watched {
            // Could not watch it: do not leave it behind.
            self.reaper.discard(run);
            return Err(errno);
        }
        self.just_spawned = Some(RunPipes {
            run,
            name: name.clone(),
            stdout,
            stderr,
            ready_line: match &spec.readiness().map(|r| &r.mode) {
                Some(ReadyMode::Line(text)) => Some(text.clone()),
                _ => None,
            },
        });
        Ok(pid)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        self.reaper.signal(run, signal)
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
        let pipes = match &report {
            Report::Started { run, .. } => self.just_spawned.take().filter(|p| p.run == *run),
            _ => None,
        };
        let event = LifecycleEvent {
            report,
            timestamp: SystemTime::now(),
            usage: usage.map(|(_, usage)| usage),
        };
        let message = match pipes {
            Some(pipes) => Message::Started { pipes, event },
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
