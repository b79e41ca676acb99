//! The [`Host`] the supervisor drives: [`Children`], which spawns through
//! [`Spawner`], hands each child's pidfd to the [`Reaper`] and its pipes to the
//! callback thread's epoll set, and queues events in the [`Outbox`].
//!
//! This is the one place that pairs a new run's pipes with its STARTED event
//! (`just_spawned`): the supervisor reports STARTED right after a successful
//! spawn, and the event does not name its run yet.

use super::outbox::{Message, Outbox};
use super::pipes::{self, RunPipes};
use super::program;
use super::reaper::Reaper;
use super::shared::Shared;
use crate::core::{Event, ExitStatus, Host, Name, ProcessSpec, RunId, Signal, Time};
use crate::sys::{SpawnRequest, Spawned, Spawner};
use std::sync::Arc;

/// The children as the supervisor sees them: the reaper, the outbox and the
/// spawner together.
pub(crate) struct Children {
    /// First, so that dropping kills and reaps every child before the outbox's
    /// end of the channel closes (which lets the callback thread finish).
    pub reaper: Reaper,
    pub outbox: Outbox,
    spawner: Spawner,
    /// For the callback thread's epoll set, where a new run's pipes go.
    shared: Arc<Shared>,
    /// The pipes of the child just spawned, handed over with its STARTED event
    /// (which the supervisor reports right after the spawn).
    just_spawned: Option<RunPipes>,
}

impl Children {
    pub fn new(reaper: Reaper, outbox: Outbox, spawner: Spawner, shared: Arc<Shared>) -> Self {
        Children {
            reaper,
            outbox,
            spawner,
            shared,
            just_spawned: None,
        }
    }

    /// The next child to reap, with its status and when its exit was seen; the
    /// callback thread is told to deliver what its pipes hold first.
    pub fn reap_next(&mut self, now: Time) -> Option<(RunId, ExitStatus, Time)> {
        let reaped = self.reaper.reap_next(now)?;
        self.outbox.push(Message::Drain(reaped.0));
        Some(reaped)
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
        let request = SpawnRequest {
            candidates: &candidates,
            argv: spec.argv(),
            env: spec.env(),
            cwd: spec.cwd(),
            uid: spec.uid(),
            gid: spec.gid(),
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
            .and_then(|()| pipes::watch(self.shared.output_epoll(), run, &stdout, &stderr));
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
        });
        Ok(pid)
    }

    fn signal(&mut self, run: RunId, signal: Signal) -> bool {
        self.reaper.signal(run, signal)
    }

    fn event(&mut self, event: Event) {
        let message = match (event, self.just_spawned.take()) {
            (event @ Event::Started { .. }, Some(pipes)) => Message::Started { pipes, event },
            (event, spawned) => {
                debug_assert!(spawned.is_none(), "a spawn not followed by STARTED");
                Message::Event(event)
            }
        };
        self.outbox.push(message);
    }
}
