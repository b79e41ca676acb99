//! The callback registry: which log and event callbacks are current, with the
//! guarantee that once a setter returns (off the callback thread) no call of the
//! previous callback is in progress.

use crate::core::{Containment, Line, Name, Report};
use parking_lot::{ReentrantMutex, ReentrantMutexGuard};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Which output stream a line came from (values as `procmon_stream_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout = 1,
    Stderr = 2,
}

/// Called for every line of output: the process name, the stream, the line.
pub type LogCallback = Arc<dyn Fn(&Name, Stream, Line<'_>) + Send + Sync>;
/// Called for every lifecycle event.
pub type EventCallback = Arc<dyn Fn(&LifecycleEvent) + Send + Sync>;

/// Hands the lines of one read, one at a time, to the function it is given.
pub(crate) type Produce<'a> = dyn FnMut(&mut dyn FnMut(Line<'_>)) + 'a;

/// What takes the place of both callbacks for good ([`Registry::seal`]): the
/// pull queue. It gets each read's lines at once, so it can batch them.
pub(crate) trait Sink: Send + Sync {
    /// Runs `produce`, which hands the lines of one read to the sink it is given.
    fn lines(&self, name: &Name, stream: Stream, produce: &mut Produce<'_>);
    fn event(&self, event: &LifecycleEvent);
    /// Nothing more will be delivered.
    fn end(&self);
}

/// A lifecycle event as the event callback gets it: what the supervisor
/// reported, when, and for an EXITED what the run used.
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleEvent {
    pub report: Report,
    /// Wall-clock time when it happened.
    pub timestamp: SystemTime,
    /// EXITED: the run's resource use; `None` for other events, and for an exit
    /// whose status someone else took.
    pub usage: Option<Usage>,
    /// STARTED: how the run is contained (NONE, GROUP or CGROUP).
    pub containment: Option<Containment>,
    /// STARTED: why the run has less containment than its spec asks (AUTO
    /// without a cgroup), said once per monitor.
    pub note: Option<Arc<str>>,
}

/// What a run used, from its rusage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub user_cpu: Duration,
    pub sys_cpu: Duration,
    /// Peak resident set, in KiB.
    pub max_rss_kib: i64,
}

#[derive(Default)]
struct Slots {
    log: Option<LogCallback>,
    event: Option<EventCallback>,
    /// Bumped by every change, so a delivery in progress notices it.
    generation: u64,
    /// Set by [`Registry::seal`], for good; the callbacks are then `None`.
    sink: Option<Arc<dyn Sink>>,
}

/// The callback thread holds the (reentrant) lock while it calls a callback, and
/// hands it over between two lines of a batch when a setter waits for it; a setter
/// on another thread therefore waits for the call in progress only, while a setter
/// called from inside a callback takes effect for the very next line.
#[derive(Default)]
pub(crate) struct Registry {
    slots: ReentrantMutex<RefCell<Slots>>,
    /// Setters waiting for (or holding) the lock: between two lines the callback
    /// thread hands the lock over only when this is not zero.
    waiting: AtomicUsize,
    /// A copy of `Slots::generation`, read per line without the RefCell.
    generation: AtomicU64,
    /// A sink is set: the setters are refused without waiting for the lock
    /// (which a sink waiting for room may hold for long).
    sealed: AtomicBool,
}

impl Registry {
    /// Replaces the log callback; false (nothing changed) once sealed.
    pub fn set_log(&self, callback: Option<LogCallback>) -> bool {
        if self.sealed.load(Ordering::SeqCst) {
            return false;
        }
        let (old, done) = self.change(|slots| match slots.sink {
            Some(_) => (callback, false),
            None => (std::mem::replace(&mut slots.log, callback), true),
        });
        drop(old); // outside the lock: dropping a closure may run anything
        done
    }

    /// Replaces the event callback; false (nothing changed) once sealed.
    pub fn set_event(&self, callback: Option<EventCallback>) -> bool {
        if self.sealed.load(Ordering::SeqCst) {
            return false;
        }
        let (old, done) = self.change(|slots| match slots.sink {
            Some(_) => (callback, false),
            None => (std::mem::replace(&mut slots.event, callback), true),
        });
        drop(old);
        done
    }

    /// Puts `sink` in place of both callbacks, for good (removing them with the
    /// setters' guarantee); the setters change nothing from then on.
    pub fn seal(&self, sink: Arc<dyn Sink>) {
        let old = self.change(|slots| {
            slots.sink = Some(sink);
            (slots.log.take(), slots.event.take())
        });
        self.sealed.store(true, Ordering::SeqCst);
        drop(old);
    }

    /// Changes the slots under the lock (announced, so a batch in delivery hands
    /// the lock over at its next line) and bumps the generation.
    fn change<R>(&self, f: impl FnOnce(&mut Slots) -> R) -> R {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.slots.lock();
        let mut slots = guard.borrow_mut();
        slots.generation += 1;
        self.generation.store(slots.generation, Ordering::SeqCst);
        let result = f(&mut slots);
        drop(slots);
        drop(guard);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Removes both callbacks: nothing is called from now on.
    pub fn clear(&self) {
        self.set_log(None);
        self.set_event(None);
    }

    /// Runs `produce`, which hands lines of `name`'s `stream` to the sink it is
    /// given; each goes to the log callback current at that moment.
    pub fn deliver_lines(
        &self,
        name: &Name,
        stream: Stream,
        produce: impl FnOnce(&mut dyn FnMut(Line<'_>)),
    ) {
        let mut guard = self.slots.lock();
        let sink = guard.borrow().sink.clone();
        if let Some(sink) = sink {
            let mut produce = Some(produce);
            return sink.lines(name, stream, &mut |to| {
                if let Some(produce) = produce.take() {
                    produce(to)
                }
            });
        }
        let (mut generation, mut callback) = {
            let slots = guard.borrow();
            (slots.generation, slots.log.clone())
        };
        produce(&mut |line| {
            // A setter waiting on another thread goes first.
            if self.waiting.load(Ordering::Relaxed) != 0 {
                ReentrantMutexGuard::bump(&mut guard);
            }
            // A change, from here or from inside the callback, counts from this line.
            if self.generation.load(Ordering::Relaxed) != generation {
                let slots = guard.borrow();
                generation = slots.generation;
                callback = slots.log.clone();
            }
            if let Some(callback) = &callback {
                callback(name, stream, line);
            }
        });
    }

    pub fn deliver_event(&self, event: &LifecycleEvent) {
        let guard = self.slots.lock();
        let sink = guard.borrow().sink.clone();
        if let Some(sink) = sink {
            return sink.event(event);
        }
        let callback = guard.borrow().event.clone();
        if let Some(callback) = callback {
            callback(event);
        }
    }

    /// The callback thread ends: nothing more is delivered.
    pub fn deliver_end(&self) {
        let guard = self.slots.lock();
        let sink = guard.borrow().sink.clone();
        if let Some(sink) = sink {
            sink.end();
        }
    }
}
