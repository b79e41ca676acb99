//! The safe Rust API: [`Monitor`], which starts the two threads and talks to
//! the event loop through its [`Inbox`].

use super::callbacks::{EventCallback, LogCallback};
use super::delivery;
use super::event_loop::{self, Engine, Inbox};
use super::host::Children;
use super::outbox;
use super::pull::{PullQueue, Record, Records};
use super::reaper::Reaper;
use super::shared::Shared;
use crate::core::{self, Name, ProcessInfo, ProcessSpec, Settings, Supervisor};
use crate::error::{Error, Result};
use crate::sys::{Epoll, Spawner};
use std::os::fd::BorrowedFd;
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};

/// Spawns per event-loop job of [`Monitor::add_many`]: a spawn takes up to a
/// few hundred µs, so a step holds the loop for ~10 ms at most.
const SPAWNS_PER_STEP: usize = 32;

/// A process monitor: the seed's `ProcessMonitor`, running from creation.
///
/// Every method is thread-safe and may be called from inside its callbacks.
/// Dropping it stops every child (TERM, then KILL after the kill time), waits
/// until all are reaped and their output delivered, and joins its threads.
pub struct Monitor {
    shared: Arc<Shared>,
    inbox: Arc<Inbox>,
    event_loop: Option<JoinHandle<()>>,
    callbacks: Option<JoinHandle<()>>,
    /// Set once the monitor delivers by pull ([`Monitor::set_pull_delivery`]).
    pull: OnceLock<Arc<PullQueue>>,
}

fn system(what: &'static str) -> impl Fn(i32) -> Error {
    move |errno| Error::system(what, errno)
}

impl Monitor {
    /// A monitor with the seed's defaults, its threads started, already running.
    pub fn new() -> Result<Monitor> {
        let shared = Arc::new(Shared::new()?);
        let epoll = Epoll::new().map_err(system("epoll_create1"))?;
        let (inbox, job_queue) = Inbox::new(shared.clone(), &epoll)?;
        let inbox = Arc::new(inbox);
        let spawner = Spawner::new().map_err(system("open /dev/null"))?;
        let (outbox, message_queue) = outbox::channel(shared.clone());
        let children = Children::new(Reaper::new(epoll), outbox, spawner, shared.clone());
        let mut engine = Engine::new(Supervisor::new(Settings::default()), children);
        engine.act(|sup, now, children| sup.start(now, children));

        let (for_callbacks, inbox_for_callbacks) = (shared.clone(), inbox.clone());
        let callbacks = thread::Builder::new()
            .name("procmon-callbacks".into())
            .spawn(move || delivery::run(for_callbacks, inbox_for_callbacks, message_queue))
            .map_err(|e| {
                Error::system(
                    "starting the callback thread",
                    e.raw_os_error().unwrap_or(0),
                )
            })?;
        shared.set_callback_thread(callbacks.thread().id());
        let for_loop = inbox.clone();
        let event_loop = thread::Builder::new()
            .name("procmon-loop".into())
            .spawn(move || event_loop::run(engine, job_queue, for_loop));
        let event_loop = match event_loop {
            Ok(handle) => handle,
            Err(e) => {
                // The engine (and the channel's sender) went with the closure.
                shared.output_waker().wake();
                let _ = callbacks.join();
                return Err(Error::system(
                    "starting the event loop thread",
                    e.raw_os_error().unwrap_or(0),
                ));
            }
        };
        Ok(Monitor {
            shared,
            inbox,
            event_loop: Some(event_loop),
            callbacks: Some(callbacks),
            pull: OnceLock::new(),
        })
    }

    /// Registers the per-line callback (`None` removes it). Off the callback
    /// thread, no call of the previous callback is in progress once this returns.
    pub fn set_log_callback(&self, callback: Option<LogCallback>) -> Result<()> {
        self.check_alive()?;
        match self.shared.registry.set_log(callback) {
            true => Ok(()),
            false => Err(pulling()),
        }
    }

    /// Registers the lifecycle callback, with the same guarantee.
    pub fn set_event_callback(&self, callback: Option<EventCallback>) -> Result<()> {
        self.check_alive()?;
        match self.shared.registry.set_event(callback) {
            true => Ok(()),
            false => Err(pulling()),
        }
    }

    /// Pull delivery ([`super::pull`]), for good: the callbacks are removed (as
    /// their setters remove them) and every later line and event waits as a
    /// record for [`next_record`](Self::next_record). Idempotent.
    pub fn set_pull_delivery(&self) -> Result<()> {
        self.check_alive()?;
        if self.pull.get().is_some() {
            return Ok(());
        }
        let queue = Arc::new(PullQueue::new()?);
        if self.pull.set(queue.clone()).is_ok() {
            queue.install(&self.shared.registry);
        }
        Ok(())
    }

    /// Pull delivery: the descriptor readable exactly while a record waits.
    pub fn pull_fd(&self) -> Result<BorrowedFd<'_>> {
        Ok(self.pull_queue()?.fd())
    }

    /// Pull delivery: hands the next record to `f`; `None` when none waits now.
    /// `Internal` once the monitor has failed and nothing waits any more. Calls
    /// are serialised: `f` runs under the queue's lock.
    pub fn next_record<R>(&self, f: impl FnOnce(Record<'_>) -> R) -> Result<Option<R>> {
        let taken = self.pull_queue()?.next(f);
        if taken.is_none() {
            self.check_alive()?;
        }
        Ok(taken)
    }

    /// Pull delivery: hands up to `max` waiting records, in order, to `f` under
    /// one lock ([`PullQueue::take`]); `None` when none waits now (or `max` is
    /// 0). `Internal` once the monitor has failed and nothing waits any more.
    pub fn take_records<R>(
        &self,
        max: usize,
        f: impl FnOnce(Records<'_>) -> R,
    ) -> Result<Option<R>> {
        let taken = self.pull_queue()?.take(max, f);
        if taken.is_none() {
            self.check_alive()?;
        }
        Ok(taken)
    }

    fn pull_queue(&self) -> Result<&PullQueue> {
        match self.pull.get() {
            Some(queue) => Ok(queue),
            None => Err(Error::state(
                "the monitor delivers through callbacks: set pull delivery first",
            )),
        }
    }

    /// Begins what dropping the monitor does, without waiting: the service
    /// stops, every child is stopped (TERM, KILL after the kill time), and once
    /// all are reaped and their output delivered the threads end (in pull mode,
    /// [`Record::End`] comes last). Calls that would start a process then fail
    /// with `State`. Idempotent.
    pub fn shut_down(&self) -> Result<()> {
        self.check_alive()?;
        // Refused only once the loop has ended: shut down already.
        let _ = self
            .inbox
            .submit(Box::new(|engine| engine.begin_shutdown()));
        Ok(())
    }

    pub fn set_threshold(&self, seconds: f64) -> Result<()> {
        let value = core::seconds(seconds, "the threshold")?;
        self.configure(move |settings| settings.threshold = value)
    }

    pub fn set_kill_time(&self, seconds: f64) -> Result<()> {
        let value = core::seconds(seconds, "the kill time")?;
        self.configure(move |settings| settings.kill_time = value)
    }

    pub fn set_min_restart_delay(&self, seconds: f64) -> Result<()> {
        let value = core::seconds(seconds, "the minimum restart delay")?;
        self.configure(move |settings| settings.min_restart_delay = value)
    }

    pub fn set_max_restart_delay(&self, seconds: f64) -> Result<()> {
        let value = core::seconds(seconds, "the maximum restart delay")?;
        self.configure(move |settings| settings.max_restart_delay = value)
    }

    /// The current settings.
    pub fn settings(&self) -> Result<Settings> {
        self.inbox.call(|engine| Ok(*engine.sup.settings()))
    }

    /// Registers `name`; if the service runs, the child has been spawned (or its
    /// spawn has failed) when this returns.
    pub fn add_process(&self, name: &str, spec: ProcessSpec) -> Result<()> {
        let name = Name::new(name)?;
        self.inbox
            .call(move |engine| engine.act(|sup, now, children| sup.add(name, spec, now, children)))
    }

    /// Registers every `(name, spec)`, in order, all or nothing
    /// ([`Supervisor::add_many`]): an error registers none and names the
    /// entry's index. If the service runs, each child has been spawned (or its
    /// spawn has failed, or it waits for a process it comes after) when this
    /// returns: in one call, [`SPAWNS_PER_STEP`] spawns at a time, the loop
    /// serving its other work between them.
    pub fn add_many(&self, entries: Vec<(Name, ProcessSpec)>) -> Result<()> {
        core::check_batch(&entries)?;
        if entries.is_empty() {
            return Ok(());
        }
        let mut entries = Some(entries);
        let mut batch = None;
        self.inbox.call_in_steps(move |engine| {
            let batch = match &mut batch {
                Some(batch) => batch,
                None => match engine.sup.add_many(entries.take().expect("the first step")) {
                    Ok(registered) => batch.insert(registered),
                    Err(error) => return Some(Err(error)),
                },
            };
            engine.act(|sup, now, children| sup.start_batch(batch, SPAWNS_PER_STEP, now, children));
            batch.is_done().then_some(Ok(()))
        })
    }

    /// Stops the child and forgets the name.
    pub fn remove_process(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.inbox
            .call(move |engine| engine.act(|sup, now, children| sup.remove(&name, now, children)))
    }

    /// Spawns the child if it is not running.
    pub fn start_process(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.inbox.call(move |engine| {
            engine.act(|sup, now, children| sup.start_process(&name, now, children))
        })
    }

    /// TERM now, KILL after the kill time; restarted afterwards while the service runs.
    pub fn stop_process(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.inbox.call(move |engine| {
            engine.act(|sup, now, children| sup.stop_process(&name, now, children))
        })
    }

    /// Sets the directory under which CGROUP and AUTO processes get their
    /// cgroups (checked: absolute, on cgroup v2, writable); what dead monitors
    /// left under it is emptied and removed now.
    pub fn set_cgroup_root(&self, root: &std::path::Path) -> Result<()> {
        let root = root.to_owned();
        self.inbox
            .call(move |engine| engine.children.units.set_root(root))
    }

    /// Sends `signo` to the running child, or with `whole_unit` to its whole
    /// process group: not a stop, not a restart. `State` when it is not running.
    pub fn signal_process(&self, name: &str, signo: i32, whole_unit: bool) -> Result<()> {
        core::check_signal(signo, "the signal")?;
        let name = name.to_owned();
        self.inbox.call(move |engine| {
            let (run, _pid) = engine.sup.current_run(&name)?;
            if engine.children.reaper.send(run, signo, whole_unit) {
                Ok(())
            } else {
                Err(Error::state(format!(
                    "{name:?} is not running: its child has exited"
                )))
            }
        })
    }

    /// The host's own health check failed: handled as a missed watchdog (the
    /// child is stopped, its EXITED flagged WATCHDOG, restarted under its
    /// policy). `State` when it is not running.
    pub fn report_unhealthy(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.inbox.call(move |engine| {
            engine.act(|sup, now, children| sup.report_unhealthy(&name, now, children))
        })
    }

    pub fn restart_all(&self) -> Result<()> {
        self.inbox.call(|engine| {
            engine.act(|sup, now, children| sup.restart_all(now, children));
            Ok(())
        })
    }

    /// The seed's `startService`.
    pub fn start(&self) -> Result<()> {
        self.inbox
            .call(|engine| engine.act(|sup, now, children| sup.start_service(now, children)))
    }

    /// The seed's `stopService`; returns without waiting.
    pub fn stop(&self) -> Result<()> {
        self.inbox.call(|engine| {
            engine.act(|sup, now, children| sup.stop(now, children));
            Ok(())
        })
    }

    /// The child's pid, or 0 when it is not running.
    pub fn pid(&self, name: &str) -> Result<i32> {
        let name = name.to_owned();
        self.inbox.call(move |engine| engine.sup.pid(&name))
    }

    pub fn info(&self, name: &str) -> Result<ProcessInfo> {
        let name = name.to_owned();
        self.inbox.call(move |engine| {
            let now = engine.now();
            engine.sup.info(&name, now)
        })
    }

    /// The seed's `repr`.
    pub fn describe(&self) -> Result<String> {
        self.inbox.call(|engine| Ok(engine.sup.describe()))
    }

    /// Makes the event loop panic, to test the failure path.
    #[doc(hidden)]
    pub fn inject_loop_panic(&self) -> Result<()> {
        self.inbox
            .call(|_engine| -> Result<()> { panic!("injected panic on the event loop") })
    }

    /// Lets go of a monitor in the child of a fork, where its threads do not
    /// exist: nothing is joined, signalled, closed or freed (the descriptors'
    /// numbers may have been reused by the child; the threads' state is theirs).
    pub fn abandon(self) {
        std::mem::forget(self);
    }

    fn configure(&self, change: impl FnOnce(&mut Settings) + Send + 'static) -> Result<()> {
        self.inbox.call(move |engine| {
            change(engine.sup.settings_mut());
            Ok(())
        })
    }

    fn check_alive(&self) -> Result<()> {
        if self.shared.has_failed() {
            return Err(self.shared.failure());
        }
        Ok(())
    }

    fn on_callback_thread(&self) -> bool {
        self.shared.on_callback_thread()
    }
}

fn pulling() -> Error {
    Error::state("the monitor delivers by pull: callbacks cannot be set")
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Some(queue) = self.pull.get() {
            queue.close(); // nobody takes records any more
        }
        let _ = self
            .inbox
            .submit(Box::new(|engine| engine.begin_shutdown()));
        if self.on_callback_thread() {
            // Freed from inside a callback: no callback runs after this one, and
            // the callback thread itself finishes the cleanup when it returns.
            self.shared.registry.clear();
            self.shared.detach_loop(self.event_loop.take());
            self.callbacks.take();
            return;
        }
        if let Some(handle) = self.event_loop.take() {
            let _ = handle.join();
        }
        if let Some(handle) = self.callbacks.take() {
            let _ = handle.join();
        }
    }
}

#[allow(dead_code)]
const _ASSERT_SEND_SYNC: fn() = || {
    fn check<T: Send + Sync>() {}
    check::<Monitor>();
};
