//! The safe Rust API: [`Monitor`], and the state its threads share.

use super::callbacks::{EventCallback, LogCallback, Registry};
use super::children::Children;
use super::delivery::{self, QUEUE_DEPTH};
use super::event_loop::{self, Engine, Job};
use super::token::Token;
use crate::core::{self, Name, ProcessInfo, ProcessSpec, Settings, Supervisor};
use crate::error::{Error, Result};
use crate::sys::{Epoll, EventFd, Interest, Spawner};
use crossbeam_channel::{bounded, unbounded, Sender, TryRecvError};
use parking_lot::Mutex;
use std::os::fd::AsFd;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

/// How long a caller yields, runnable, for the event loop's answer before it sleeps.
const YIELD_FOR_ANSWER: Duration = Duration::from_millis(2);

/// State shared by the API's callers, the event loop and the callback thread.
pub(crate) struct Shared {
    jobs: Sender<Job>,
    /// True while the event loop accepts jobs.
    gate: Mutex<bool>,
    waker: EventFd,
    pub registry: Registry,
    /// The callback thread's epoll set: its waker and the children's pipes (the
    /// event loop adds each pipe when it spawns the child).
    output_epoll: Epoll,
    /// Wakes the callback thread when messages are sent.
    output_waker: EventFd,
    failed: AtomicBool,
    failure: Mutex<String>,
    /// The event loop waits for room in the channel to the callback thread.
    wants_space: AtomicBool,
    callback_thread: OnceLock<ThreadId>,
    /// The event loop's handle, when the monitor was freed from a callback.
    detached_loop: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    pub fn waker(&self) -> &EventFd {
        &self.waker
    }

    pub fn output_epoll(&self) -> &Epoll {
        &self.output_epoll
    }

    pub fn output_waker(&self) -> &EventFd {
        &self.output_waker
    }

    /// Runs `f` on the event loop and waits for its result.
    fn call<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Engine) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(self.failure());
        }
        let (reply, answer) = bounded(1);
        let shared = Arc::clone(self);
        self.submit(Box::new(move |engine| {
            match catch_unwind(AssertUnwindSafe(|| f(engine))) {
                Ok(result) => {
                    let _ = reply.send(result);
                }
                Err(panic) => {
                    // Marked before the reply is dropped, so the caller sees
                    // `Internal`; the loop's own boundary takes the panic.
                    shared.mark_failed("the event loop panicked");
                    drop(reply);
                    resume_unwind(panic);
                }
            }
        }))?;
        // Most answers take a spawn (a few hundred µs): stay runnable meanwhile,
        // yielding the core, so the answer is taken at once instead of after a
        // scheduler wake-up behind the children that are starting.
        let patience = Instant::now();
        let answer = loop {
            match answer.try_recv() {
                Ok(result) => break Ok(result),
                Err(TryRecvError::Disconnected) => break Err(()),
                Err(TryRecvError::Empty) if patience.elapsed() < YIELD_FOR_ANSWER => {
                    thread::yield_now()
                }
                Err(TryRecvError::Empty) => break answer.recv().map_err(|_| ()),
            }
        };
        answer.unwrap_or_else(|_| {
            Err(if self.failed.load(Ordering::SeqCst) {
                self.failure()
            } else {
                Error::state("the monitor has shut down")
            })
        })
    }

    /// Queues `job` for the event loop without waiting.
    fn submit(&self, job: Job) -> Result<()> {
        let open = self.gate.lock();
        if !*open {
            // The loop marks a failure before it closes the gate.
            return Err(if self.failed.load(Ordering::SeqCst) {
                self.failure()
            } else {
                Error::state("the monitor has shut down")
            });
        }
        self.jobs
            .send(job)
            .map_err(|_| Error::state("the monitor has shut down"))?;
        drop(open);
        self.waker.wake();
        Ok(())
    }

    pub fn close_gate(&self) {
        *self.gate.lock() = false;
    }

    /// Called by the event loop when the channel is full.
    pub fn want_space(&self) {
        self.wants_space.store(true, Ordering::SeqCst);
    }

    /// Called by the callback thread after taking a message.
    pub fn space_freed(&self) {
        if self.wants_space.load(Ordering::SeqCst) && self.wants_space.swap(false, Ordering::SeqCst)
        {
            self.waker.wake();
        }
    }

    /// Records an internal failure: every later call answers `Internal`.
    pub fn mark_failed(&self, why: &str) {
        let mut failure = self.failure.lock();
        if failure.is_empty() {
            *failure = format!("the monitor has failed: {why}");
        }
        self.failed.store(true, Ordering::SeqCst);
    }

    /// An internal failure off the event loop: mark it, and stop every child.
    pub fn fail(&self, why: &str) {
        self.mark_failed(why);
        let _ = self.submit(Box::new(|engine| engine.begin_shutdown()));
    }

    fn failure(&self) -> Error {
        Error::internal(self.failure.lock().clone())
    }

    pub fn take_detached_loop(&self) -> Option<JoinHandle<()>> {
        self.detached_loop.lock().take()
    }
}

/// A process monitor: the seed's `ProcessMonitor`, running from creation.
///
/// Every method is thread-safe and may be called from inside its callbacks.
/// Dropping it stops every child (TERM, then KILL after the kill time), waits
/// until all are reaped and their output delivered, and joins its threads.
pub struct Monitor {
    shared: Arc<Shared>,
    event_loop: Option<JoinHandle<()>>,
    callbacks: Option<JoinHandle<()>>,
}

fn system(what: &'static str) -> impl Fn(i32) -> Error {
    move |errno| Error::system(what, errno)
}

impl Monitor {
    /// A monitor with the seed's defaults, its threads started, already running.
    pub fn new() -> Result<Monitor> {
        let epoll = Epoll::new().map_err(system("epoll_create1"))?;
        let waker = EventFd::new().map_err(system("eventfd"))?;
        epoll
            .add(waker.as_fd(), Interest::Readable, Token::waker().raw())
            .map_err(system("epoll_ctl"))?;
        let output_epoll = Epoll::new().map_err(system("epoll_create1"))?;
        let output_waker = EventFd::new().map_err(system("eventfd"))?;
        output_epoll
            .add(
                output_waker.as_fd(),
                Interest::Readable,
                Token::waker().raw(),
            )
            .map_err(system("epoll_ctl"))?;
        let spawner = Spawner::new().map_err(system("open /dev/null"))?;
        let (jobs, job_queue) = unbounded();
        let (messages, message_queue) = bounded(QUEUE_DEPTH);
        let shared = Arc::new(Shared {
            jobs,
            gate: Mutex::new(true),
            waker,
            registry: Registry::default(),
            output_epoll,
            output_waker,
            failed: AtomicBool::new(false),
            failure: Mutex::new(String::new()),
            wants_space: AtomicBool::new(false),
            callback_thread: OnceLock::new(),
            detached_loop: Mutex::new(None),
        });
        let children = Children::new(epoll, spawner, messages, shared.clone());
        let mut engine = Engine::new(Supervisor::new(Settings::default()), children);
        engine.act(|sup, now, children| sup.start(now, children));

        let for_callbacks = shared.clone();
        let callbacks = thread::Builder::new()
            .name("procmon-callbacks".into())
            .spawn(move || delivery::run(for_callbacks, message_queue))
            .map_err(|e| {
                Error::system(
                    "starting the callback thread",
                    e.raw_os_error().unwrap_or(0),
                )
            })?;
        let _ = shared.callback_thread.set(callbacks.thread().id());
        let for_loop = shared.clone();
        let event_loop = thread::Builder::new()
            .name("procmon-loop".into())
            .spawn(move || event_loop::run(engine, job_queue, for_loop));
        let event_loop = match event_loop {
            Ok(handle) => handle,
            Err(e) => {
                // The engine (and the channel's sender) went with the closure.
                shared.output_waker.wake();
                let _ = callbacks.join();
                return Err(Error::system(
                    "starting the event loop thread",
                    e.raw_os_error().unwrap_or(0),
                ));
            }
        };
        Ok(Monitor {
            shared,
            event_loop: Some(event_loop),
            callbacks: Some(callbacks),
        })
    }

    /// Registers the per-line callback (`None` removes it). Off the callback
    /// thread, no call of the previous callback is in progress once this returns.
    pub fn set_log_callback(&self, callback: Option<LogCallback>) -> Result<()> {
        self.check_alive()?;
        self.shared.registry.set_log(callback);
        Ok(())
    }

    /// Registers the lifecycle callback, with the same guarantee.
    pub fn set_event_callback(&self, callback: Option<EventCallback>) -> Result<()> {
        self.check_alive()?;
        self.shared.registry.set_event(callback);
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
        self.shared.call(|engine| Ok(*engine.sup.settings()))
    }

    /// Registers `name`; if the service runs, the child has been spawned (or its
    /// spawn has failed) when this returns.
    pub fn add_process(&self, name: &str, spec: ProcessSpec) -> Result<()> {
        let name = Name::new(name)?;
        self.shared
            .call(move |engine| engine.act(|sup, now, children| sup.add(name, spec, now, children)))
    }

    /// Stops the child and forgets the name.
    pub fn remove_process(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.shared
            .call(move |engine| engine.act(|sup, now, children| sup.remove(&name, now, children)))
    }

    /// Spawns the child if it is not running.
    pub fn start_process(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.shared.call(move |engine| {
            engine.act(|sup, now, children| sup.start_process(&name, now, children))
        })
    }

    /// TERM now, KILL after the kill time; restarted afterwards while the service runs.
    pub fn stop_process(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.shared.call(move |engine| {
            engine.act(|sup, now, children| sup.stop_process(&name, now, children))
        })
    }

    pub fn restart_all(&self) -> Result<()> {
        self.shared.call(|engine| {
            engine.act(|sup, now, children| sup.restart_all(now, children));
            Ok(())
        })
    }

    /// The seed's `startService`.
    pub fn start(&self) -> Result<()> {
        self.shared
            .call(|engine| engine.act(|sup, now, children| sup.start_service(now, children)))
    }

    /// The seed's `stopService`; returns without waiting.
    pub fn stop(&self) -> Result<()> {
        self.shared.call(|engine| {
            engine.act(|sup, now, children| sup.stop(now, children));
            Ok(())
        })
    }

    /// The child's pid, or 0 when it is not running.
    pub fn pid(&self, name: &str) -> Result<i32> {
        let name = name.to_owned();
        self.shared.call(move |engine| engine.sup.pid(&name))
    }

    pub fn info(&self, name: &str) -> Result<ProcessInfo> {
        let name = name.to_owned();
        self.shared.call(move |engine| {
            let now = engine.now();
            engine.sup.info(&name, now)
        })
    }

    /// The seed's `repr`.
    pub fn describe(&self) -> Result<String> {
        self.shared.call(|engine| Ok(engine.sup.describe()))
    }

    /// Makes the event loop panic, to test the failure path.
    #[doc(hidden)]
    pub fn inject_loop_panic(&self) -> Result<()> {
        self.shared
            .call(|_engine| -> Result<()> { panic!("injected panic on the event loop") })
    }

    fn configure(&self, change: impl FnOnce(&mut Settings) + Send + 'static) -> Result<()> {
        self.shared.call(move |engine| {
            change(engine.sup.settings_mut());
            Ok(())
        })
    }

    fn check_alive(&self) -> Result<()> {
        if self.shared.failed.load(Ordering::SeqCst) {
            return Err(self.shared.failure());
        }
        Ok(())
    }

    fn on_callback_thread(&self) -> bool {
        self.shared.callback_thread.get() == Some(&thread::current().id())
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self
            .shared
            .submit(Box::new(|engine| engine.begin_shutdown()));
        if self.on_callback_thread() {
            // Freed from inside a callback: no callback runs after this one, and
            // the callback thread itself finishes the cleanup when it returns.
            self.shared.registry.clear();
            *self.shared.detached_loop.lock() = self.event_loop.take();
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
