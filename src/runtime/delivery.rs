//! The callback thread: reads the children's pipes ([`Pipes`]), turns output
//! into lines and calls the callbacks, one at a time; lifecycle events come
//! from the event loop as messages, in order, and go out in that order.

use super::monitor::Shared;
use super::pipes::{Pipes, RunPipes};
use super::token::{Source, Token};
use crate::core::{Event, RunId};
use crate::sys::EpollEvent;
use crossbeam_channel::{Receiver, TryRecvError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// What the event loop sends to the callback thread.
pub(crate) enum Message {
    /// A run has started: its STARTED event, then its pipes (so none of its
    /// lines can go out before its STARTED).
    Started {
        pipes: RunPipes,
        event: Event,
    },
    /// A run's child has exited: what its pipes hold goes out before the next
    /// message (its EXITED event).
    Drain(RunId),
    Event(Event),
    /// Nothing follows: deliver what the pipes hold and end.
    Stop,
}

/// How many messages may wait for the callback thread (small ones: output does
/// not travel through the channel).
pub(crate) const QUEUE_DEPTH: usize = 256;

/// Pipe reads per turn before the messages get their turn again.
const READS_PER_TURN: usize = 16;

pub(crate) fn run(shared: Arc<Shared>, messages: Receiver<Message>) {
    let mut pipes = Pipes::new();
    let mut events = vec![EpollEvent::EMPTY; 256];
    loop {
        let timeout = if pipes.has_ready() { 0 } else { -1 };
        let n = match shared.output_epoll().wait(&mut events, timeout) {
            Ok(n) => n,
            Err(errno) => {
                // Not expected of a valid epoll set. Stop everything, and keep
                // serving the messages until the end, polling instead of spinning.
                shared.fail(&format!("epoll_wait on the callback thread: errno {errno}"));
                std::thread::sleep(std::time::Duration::from_millis(10));
                0
            }
        };
        for event in &events[..n] {
            match Token::from_raw(event.token()).source() {
                Source::Waker => shared.output_waker().drain(),
                Source::Pipe(run, stream) => pipes.on_ready(run, stream),
                Source::Pidfd(_) => {} // the event loop's, not in this set
            }
        }
        match catch_unwind(AssertUnwindSafe(|| turn(&shared, &messages, &mut pipes))) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => shared.fail("a callback panicked"),
        }
    }
    // When the monitor was freed from inside a callback, this thread finishes
    // the cleanup: it waits for the event loop to end.
    if let Some(event_loop) = shared.take_detached_loop() {
        let _ = event_loop.join();
    }
}

/// Handles every waiting message, then reads a few chunks; false once the
/// event loop has said (or, by going away, implied) that nothing follows.
fn turn(shared: &Shared, messages: &Receiver<Message>, pipes: &mut Pipes) -> bool {
    let registry = &shared.registry;
    loop {
        let message = match messages.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => Message::Stop,
        };
        shared.space_freed();
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
    true
}
