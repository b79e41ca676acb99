//! The state the API's callers, the event loop and the callback thread share.
//!
//! A leaf: it imports none of the modules that use it ([`super::monitor`],
//! [`super::event_loop`], [`super::delivery`], [`super::host`]), so they all
//! sit above it. The event loop's own inbox (its jobs, gate and waker) is
//! [`super::event_loop::Inbox`].

use super::callbacks::Registry;
use super::token::Token;
use crate::error::{Error, Result};
use crate::sys::{Epoll, EventFd, Interest};
use parking_lot::Mutex;
use std::os::fd::AsFd;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread::{self, JoinHandle, ThreadId};

pub(crate) struct Shared {
    pub registry: Registry,
    /// The callback thread's epoll set: its waker and the children's pipes (the
    /// event loop adds each pipe when it spawns the child).
    output_epoll: Epoll,
    /// Wakes the callback thread when messages are sent to it while it sleeps.
    output_waker: EventFd,
    /// The callback thread is asleep in `epoll_wait(-1)`, or about to be: the
    /// only time a message needs the waker (see [`Shared::may_sleep`]).
    callback_asleep: AtomicBool,
    failed: AtomicBool,
    failure: Mutex<String>,
    /// The event loop waits for room in the channel to the callback thread.
    wants_space: AtomicBool,
    callback_thread: OnceLock<ThreadId>,
    /// The event loop's handle, when the monitor was freed from a callback.
    detached_loop: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    /// The shared state, with the callback thread's epoll set and its waker.
    pub fn new() -> Result<Shared> {
        let system = |what| move |errno| Error::system(what, errno);
        let output_epoll = Epoll::new().map_err(system("epoll_create1"))?;
        let output_waker = EventFd::new().map_err(system("eventfd"))?;
        output_epoll
            .add(
                output_waker.as_fd(),
                Interest::Readable,
                Token::waker().raw(),
            )
            .map_err(system("epoll_ctl"))?;
        Ok(Shared {
            registry: Registry::default(),
            output_epoll,
            output_waker,
            callback_asleep: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            failure: Mutex::new(String::new()),
            wants_space: AtomicBool::new(false),
            callback_thread: OnceLock::new(),
            detached_loop: Mutex::new(None),
        })
    }

    pub fn output_epoll(&self) -> &Epoll {
        &self.output_epoll
    }

    pub fn output_waker(&self) -> &EventFd {
        &self.output_waker
    }

    /// Called by the callback thread before it blocks in `epoll_wait(-1)`:
    /// marks it asleep, then looks at the channel once more (`messages_waiting`).
    /// False, and not marked, if a message came meanwhile: it must not block.
    ///
    /// No wake-up is lost. The event loop sends, then looks at the mark
    /// ([`wake_callback_thread`](Self::wake_callback_thread)); this thread marks,
    /// then looks at the channel; a `SeqCst` fence sits between the write and the
    /// read on each side. The fences are totally ordered: if the event loop's
    /// comes first, the message it sent before it is visible to the look at the
    /// channel here, which then finds it and does not block; if this thread's
    /// comes first, the mark is visible to the event loop, which writes the
    /// waker (the eventfd is level-triggered in the epoll set, so a write before
    /// the `epoll_wait` still wakes it). Both may see each other: then the waker
    /// is written for nothing and drained at the next wait, which is harmless.
    pub fn may_sleep(&self, messages_waiting: impl FnOnce() -> bool) -> bool {
        self.callback_asleep.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if messages_waiting() {
            self.callback_asleep.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Called by the callback thread once awake (whoever woke it).
    pub fn awake(&self) {
        self.callback_asleep.store(false, Ordering::SeqCst);
    }

    /// Called by the event loop after it sent messages: writes the waker if the
    /// callback thread sleeps or is about to (see [`may_sleep`](Self::may_sleep)).
    /// Awake, it takes every waiting message before it next looks at epoll, so
    /// a crash loop's STARTED, Drain and EXITED usually need no eventfd at all.
    /// The mark is taken (swapped off) with the write, so that more sends before
    /// the callback thread runs write the waker once.
    pub fn wake_callback_thread(&self) {
        fence(Ordering::SeqCst);
        if self.callback_asleep.load(Ordering::SeqCst)
            && self.callback_asleep.swap(false, Ordering::SeqCst)
        {
            self.output_waker.wake();
        }
    }

    /// Called by the event loop when the channel is full.
    pub fn want_space(&self) {
        self.wants_space.store(true, Ordering::SeqCst);
    }

    /// Called by the callback thread after taking a message: true once after
    /// the event loop asked for room, when it must be woken.
    pub fn space_freed(&self) -> bool {
        self.wants_space.load(Ordering::SeqCst) && self.wants_space.swap(false, Ordering::SeqCst)
    }

    /// Records an internal failure: every later call answers `Internal`.
    pub fn mark_failed(&self, why: &str) {
        let mut failure = self.failure.lock();
        if failure.is_empty() {
            *failure = format!("the monitor has failed: {why}");
        }
        self.failed.store(true, Ordering::SeqCst);
    }

    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// The error that answers every call once the monitor has failed.
    pub fn failure(&self) -> Error {
        Error::internal(self.failure.lock().clone())
    }

    /// The error for a call the event loop can no longer take: `Internal` if it
    /// failed, `State` if it has shut down.
    pub fn gone(&self) -> Error {
        if self.has_failed() {
            self.failure()
        } else {
            Error::state("the monitor has shut down")
        }
    }

    pub fn set_callback_thread(&self, id: ThreadId) {
        let _ = self.callback_thread.set(id);
    }

    pub fn on_callback_thread(&self) -> bool {
        self.callback_thread.get() == Some(&thread::current().id())
    }

    /// Hands the event loop's handle to the callback thread (the monitor was
    /// freed from inside a callback).
    pub fn detach_loop(&self, handle: Option<JoinHandle<()>>) {
        *self.detached_loop.lock() = handle;
    }

    pub fn take_detached_loop(&self) -> Option<JoinHandle<()>> {
        self.detached_loop.lock().take()
    }
}
