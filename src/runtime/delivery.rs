//! The callback thread: reads the children's pipes ([`Pipes`]), turns output
//! into lines and calls the callbacks, one at a time; lifecycle events come
//! from the event loop as messages, in order, and go out in that order.

use super::event_loop::Inbox;
use super::outbox::Message;
use super::pipes::Pipes;
use super::shared::Shared;
use super::token::{Source, Token};
use crate::core::Notice;
use crate::sys::EpollEvent;
use crossbeam_channel::{Receiver, TryRecvError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Pipe reads per turn before the messages get their turn again.
const READS_PER_TURN: usize = 16;

pub(crate) fn run(shared: Arc<Shared>, inbox: Arc<Inbox>, messages: Receiver<Message>) {
    // Woken by each pipe a dying child closes, this thread must not switch
    // the child out before its exit reaches the event loop (see sys::sched).
    crate::sys::batch_policy();
    let mut pipes = Pipes::new();
    let mut events = vec![EpollEvent::EMPTY; 256];
    loop {
        // Block only when nothing is to be read and no message waits; the
        // event loop writes the waker only while this thread is marked asleep.
        let block = !pipes.has_ready() && shared.may_sleep(|| !messages.is_empty());
        let timeout = if block { -1 } else { 0 };
        let waited = shared.output_epoll().wait(&mut events, timeout);
        if block {
            shared.awake();
        }
        let n = match waited {
            Ok(n) => n,
            Err(errno) => {
                // Not expected of a valid epoll set. Stop everything, and keep
                // serving the messages until the end, polling instead of spinning.
                inbox.fail(&format!("epoll_wait on the callback thread: errno {errno}"));
                std::thread::sleep(std::time::Duration::from_millis(10));
                0
            }
        };
        for event in &events[..n] {
            match Token::from_raw(event.token()).source() {
                Source::Waker => shared.output_waker().drain(),
                Source::Pipe(run, stream) => pipes.on_ready(run, stream),
                // The event loop's, not in this set.
                Source::Pidfd(_) | Source::Unit(_) | Source::Notify(_) | Source::NotifySocket => {}
            }
        }
        let turn = || turn(&shared, &inbox, &messages, &mut pipes);
        match catch_unwind(AssertUnwindSafe(turn)) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => inbox.fail("a callback panicked"),
        }
    }
    shared.registry.deliver_end();
    // When the monitor was freed from inside a callback, this thread finishes
    // the cleanup: it waits for the event loop to end.
    if let Some(event_loop) = shared.take_detached_loop() {
        let _ = event_loop.join();
    }
}

/// Handles every waiting message, then reads a few chunks; false once the
/// event loop has said (or, by going away, implied) that nothing follows.
fn turn(shared: &Shared, inbox: &Inbox, messages: &Receiver<Message>, pipes: &mut Pipes) -> bool {
    let registry = &shared.registry;
    loop {
        let message = match messages.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => Message::Stop,
        };
        if shared.space_freed() {
            inbox.wake();
        }
        match message {
            Message::Started { pipes: new, event } => {
                registry.deliver_event(&event);
                pipes.add(new);
            }
            Message::Drain(run) => pipes.drain(run, registry),
            Message::Event(event) => registry.deliver_event(&event),
            Message::Stop => {
                pipes.finish_all(registry);
                return false;
            }
        }
    }
    for _ in 0..READS_PER_TURN {
        if !pipes.read_next(registry) {
            break;
        }
    }
    // LINE readiness: one small job per run, once.
    for run in pipes.take_matched() {
        let _ = inbox.submit(Box::new(move |engine| engine.notice(run, Notice::Ready)));
    }
    true
}
