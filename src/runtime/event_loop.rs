//! The event loop thread: one `epoll_wait` on the waker and every pidfd, with the
//! supervisor's next timer as its timeout (the pipes are the callback thread's).
//! No polling tick: an idle monitor sleeps until something happens. Other
//! threads reach it through its [`Inbox`].

use super::host::Children;
use super::outbox::Message;
use super::shared::Shared;
use super::token::{Source, Token};
use crate::core::{Notice, RunId, Supervisor, Time};
use crate::error::{Error, Result};
use crate::sys::{Epoll, EpollEvent, EventFd, Interest};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TryRecvError};
use parking_lot::Mutex;
use std::os::fd::AsFd;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Work the API sends to the loop: runs on the loop thread with the whole state.
pub(crate) type Job = Box<dyn FnOnce(&mut Engine) + Send>;

/// Reaps per loop turn before jobs and timers get their turn again.
const REAPS_PER_TURN: usize = 64;
/// Timers (restarts, KILLs) fired per loop turn: a spawn takes up to a
/// millisecond, so a storm of due restarts leaves API calls waiting a few ms at
/// most, not for the whole storm.
const TIMERS_PER_TURN: usize = 8;
/// How long a caller yields, runnable, for the event loop's answer before it sleeps.
const YIELD_FOR_ANSWER: Duration = Duration::from_millis(2);

/// The way in to the event loop from other threads: the jobs queued for it,
/// the gate that closes when it ends, and the waker in its epoll set.
pub(crate) struct Inbox {
    jobs: Sender<Job>,
    /// True while the event loop accepts jobs.
    gate: Mutex<bool>,
    waker: EventFd,
    shared: Arc<Shared>,
}

impl Inbox {
    /// The inbox, its waker registered in `epoll` (the loop's set), and the
    /// loop's end of the job queue.
    pub fn new(shared: Arc<Shared>, epoll: &Epoll) -> Result<(Inbox, Receiver<Job>)> {
        let waker = EventFd::new().map_err(|e| Error::system("eventfd", e))?;
        epoll
            .add(waker.as_fd(), Interest::Readable, Token::waker().raw())
            .map_err(|e| Error::system("epoll_ctl", e))?;
        let (jobs, queue) = unbounded();
        let inbox = Inbox {
            jobs,
            gate: Mutex::new(true),
            waker,
            shared,
        };
        Ok((inbox, queue))
    }

    /// Runs `f` on the event loop and waits for its result.
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        if self.shared.has_failed() {
            return Err(self.shared.failure());
        }
        let (reply, answer) = bounded(1);
        let shared = Arc::clone(&self.shared);
        self.submit(Box::new(move |engine| {
            match catch_unwind(AssertUnwindSafe(|| f(engine))) {
                Ok(result) => {
                    let _ = reply.send(result);
                }
                Err(panic) => fail_with(&shared, reply, panic),
            }
        }))?;
        self.answer(answer)
    }

    /// Runs `step` on the event loop until it answers, and waits for that
    /// answer: each time it answers `None`, it is queued again behind the jobs
    /// that came meanwhile, so that a long piece of work (the spawns of a batch)
    /// lets reaps, timers and other calls take their turns between its steps.
    pub fn call_in_steps<R: Send + 'static>(
        self: &Arc<Self>,
        step: impl FnMut(&mut Engine) -> Option<Result<R>> + Send + 'static,
    ) -> Result<R> {
        if self.shared.has_failed() {
            return Err(self.shared.failure());
        }
        let (reply, answer) = bounded(1);
        self.submit(stepping(Arc::clone(self), step, reply))?;
        self.answer(answer)
    }

    /// Waits for the loop's answer; the loop's failure or end when it drops it.
    fn answer<R>(&self, answer: Receiver<Result<R>>) -> Result<R> {
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
        answer.unwrap_or_else(|_| Err(self.shared.gone()))
    }

    /// Queues `job` for the event loop without waiting.
    pub fn submit(&self, job: Job) -> Result<()> {
        let open = self.gate.lock();
        if !*open {
            // The loop marks a failure before it closes the gate.
            return Err(self.shared.gone());
        }
        self.jobs
            .send(job)
            .map_err(|_| Error::state("the monitor has shut down"))?;
        drop(open);
        self.waker.wake();
        Ok(())
    }

    /// Wakes the event loop (the callback thread made the room it asked for).
    pub fn wake(&self) {
        self.waker.wake();
    }

    /// An internal failure off the event loop: mark it, and stop every child.
    pub fn fail(&self, why: &str) {
        self.shared.mark_failed(why);
        let _ = self.submit(Box::new(|engine| engine.begin_shutdown()));
    }

    /// Refuses every later job (the loop is ending).
    fn close_gate(&self) {
        *self.gate.lock() = false;
    }
}

/// A job panicked: marked before the reply is dropped, so the caller sees
/// `Internal`; the loop's own boundary takes the panic.
fn fail_with<R>(shared: &Shared, reply: Sender<R>, panic: Box<dyn std::any::Any + Send>) -> ! {
    shared.mark_failed("the event loop panicked");
    drop(reply);
    resume_unwind(panic)
}

/// The job of one step of [`Inbox::call_in_steps`]: the next one queues itself
/// (with the reply) until a step answers. Should the loop end first, the queued
/// step is dropped with its reply, and the caller hears that the loop is gone.
fn stepping<R: Send + 'static>(
    inbox: Arc<Inbox>,
    mut step: impl FnMut(&mut Engine) -> Option<Result<R>> + Send + 'static,
    reply: Sender<Result<R>>,
) -> Job {
    Box::new(move |engine| {
        match catch_unwind(AssertUnwindSafe(|| step(engine))) {
            Ok(Some(result)) => {
                let _ = reply.send(result);
            }
            Ok(None) => {
                let again = Arc::clone(&inbox);
                // Refused only once the loop ends: the reply goes with the job.
                let _ = again.submit(stepping(inbox, step, reply));
            }
            Err(panic) => fail_with(&inbox.shared, reply, panic),
        }
    })
}

/// Everything the loop owns.
pub(crate) struct Engine {
    pub sup: Supervisor,
    pub children: Children,
    origin: Instant,
    /// `Stop` has been queued for the callback thread: leave once it is sent.
    finished: bool,
}

impl Engine {
    pub fn new(sup: Supervisor, children: Children) -> Engine {
        Engine {
            sup,
            children,
            origin: Instant::now(),
            finished: false,
        }
    }

    pub fn now(&self) -> Time {
        self.origin.elapsed()
    }

    /// Runs `f` on the supervisor with the current time and the children as host.
    pub fn act<R>(&mut self, f: impl FnOnce(&mut Supervisor, Time, &mut Children) -> R) -> R {
        let now = self.now();
        f(&mut self.sup, now, &mut self.children)
    }

    /// `procmon_free`: stop the service and every child; the loop ends once all
    /// are reaped and their output delivered.
    pub fn begin_shutdown(&mut self) {
        self.act(|sup, now, children| sup.shut_down(now, children));
    }

    fn serve(&mut self, jobs: &Receiver<Job>, inbox: &Inbox) -> Result<()> {
        let mut events = vec![EpollEvent::EMPTY; 256];
        loop {
            let timeout = self.timeout_ms();
            let n = self
                .children
                .reaper
                .epoll()
                .wait(&mut events, timeout)
                .map_err(|e| Error::system("epoll_wait", e))?;
            let woke = self.now();
            let mut units_changed = Vec::new();
            for event in &events[..n] {
                match Token::from_raw(event.token()).source() {
                    Source::Waker => inbox.waker.drain(),
                    Source::Pidfd(run) => self.children.reaper.on_ready(run, woke),
                    Source::Unit(run) => units_changed.push(run),
                    Source::Pipe(..) => {} // the callback thread's, not in this set
                    Source::Notify(run) => self.on_notify_pipe(run),
                    Source::NotifySocket => self.on_notify_socket(),
                }
            }
            // The jobs queued now, not those they queue (a call in steps
            // queues its next step): those wait for the next turn.
            for job in jobs.try_iter().take(jobs.len()) {
                job(self);
            }
            self.children.reaper.retry_reaps(self.now());
            self.act(|sup, now, children| sup.handle_timeout(now, children, TIMERS_PER_TURN));
            // Before the reaps, whose flush sends what a restart reports.
            self.empty_units(&units_changed);
            self.pump();
            // Every child reaped and every unit empty: done, whatever pipes
            // grandchildren outside the units still hold.
            if self.sup.is_closing()
                && !self.finished
                && self.sup.live_runs() == 0
                && !self.children.reaper.has_exits()
            {
                self.children.outbox.push(Message::Stop);
                self.finished = true;
            }
            if self.finished && self.children.outbox.flush() {
                return Ok(());
            }
        }
    }

    /// What a run said about itself (readiness, a ping), to the supervisor.
    pub fn notice(&mut self, run: RunId, notice: Notice) {
        self.act(|sup, now, children| sup.notice(run, notice, now, children));
    }

    /// A NOTIFY_FD pipe is readable: its newlines (the first makes the run
    /// ready, one more is a ping; more in one read say no more).
    fn on_notify_pipe(&mut self, run: RunId) {
        let newlines = self.children.notify.read_pipe(run);
        for _ in 0..newlines.min(2) {
            self.notice(run, Notice::Newline);
        }
    }

    /// The sd_notify socket is readable: each known sender's notices.
    fn on_notify_socket(&mut self) {
        let mut notices = Vec::new();
        self.children
            .notify
            .read_socket(|run, notice| notices.push((run, notice)));
        for (run, notice) in notices {
            self.notice(run, notice);
        }
    }

    /// Reaps children while the callback thread keeps up with the messages.
    fn pump(&mut self) {
        for _ in 0..REAPS_PER_TURN {
            if !self.children.outbox.flush() {
                return;
            }
            let Some((run, status, seen, unit_empty)) = self.children.reap_next(self.now()) else {
                break;
            };
            // The exit counts from when epoll reported it: a loop that lags (a
            // spawn storm, a busy machine) must not make an instant death look
            // long-lived and so defeat the backoff.
            let now = seen.min(self.now());
            if unit_empty {
                self.sup.exited(run, status, now, &mut self.children);
            } else {
                self.sup
                    .exited_leaving_unit(run, status, now, &mut self.children);
            }
        }
        self.children.outbox.flush();
    }

    /// Tells the supervisor of the draining units that are empty now: those
    /// whose `cgroup.events` changed, and the process groups when their poll is due.
    fn empty_units(&mut self, changed: &[crate::core::RunId]) {
        let now = self.now();
        for run in self.children.units.take_empty(changed, now) {
            self.sup.unit_empty(run, now, &mut self.children);
        }
    }

    fn timeout_ms(&self) -> i32 {
        if self.children.outbox.is_empty() && self.children.reaper.has_work() {
            return 0;
        }
        let next = [
            self.sup.poll_timeout(),
            self.children.reaper.next_reap_retry(),
            self.children.units.next_poll(),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            None => -1,
            Some(at) => {
                let wait = at.saturating_sub(self.now());
                // Round up so a timer is never woken for early.
                let ms = wait.as_nanos().div_ceil(1_000_000);
                ms.min(i32::MAX as u128) as i32
            }
        }
    }
}

/// The loop thread's body.
pub(crate) fn run(mut engine: Engine, jobs: Receiver<Job>, inbox: Arc<Inbox>) {
    let shared = &inbox.shared;
    // Woken by a death, the loop reaps and respawns at once instead of
    // waiting behind whatever runs on its core (see sys::sched).
    engine.children.shorten_spawner_slice();
    let outcome = catch_unwind(AssertUnwindSafe(|| engine.serve(&jobs, &inbox)));
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some("the event loop panicked".to_string()),
    };
    if let Some(why) = failure {
        shared.mark_failed(&why);
        engine.children.kill_all();
    }
    // Refuse further jobs and drop the queued ones: their callers get an error.
    inbox.close_gate();
    while jobs.try_recv().is_ok() {}
    // Dropping the engine closes the channel: the callback thread ends after it
    // has delivered what was sent (woken, in case it sleeps).
    drop(engine);
    shared.output_waker().wake();
}
