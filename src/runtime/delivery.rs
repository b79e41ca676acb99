//! The callback thread: turns output chunks into lines and calls the callbacks,
//! one at a time, in the order the event loop sent them.

use super::callbacks::{Registry, Stream};
use super::monitor::Shared;
use crate::core::{Event, LineSplitter, Name};
use crossbeam_channel::Receiver;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// What the event loop sends to the callback thread.
pub(crate) enum Message {
    /// Bytes read from one pipe (`pipe` identifies it for the monitor's life).
    Output {
        pipe: u64,
        name: Name,
        stream: Stream,
        data: Vec<u8>,
    },
    /// The pipe is closed: its last line, if unterminated, is due.
    Closed {
        pipe: u64,
        name: Name,
        stream: Stream,
    },
    Event(Event),
    /// Nothing follows.
    Stop,
}

/// How many messages may wait for the callback thread; with reads of at most
/// 64 KiB this bounds the output in flight to 4 MiB.
pub(crate) const QUEUE_DEPTH: usize = 64;

/// The size of one read from a pipe (a pipe's default capacity).
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// Read buffers on their way back from the callback thread to the event loop, so
/// that a big read is handed over without a copy and without a fresh allocation.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// Buffers kept for reuse; more are freed (the channel bounds those in flight).
    const KEEP: usize = 8;

    /// An empty buffer with room for one read.
    pub fn take(&self) -> Vec<u8> {
        self.free
            .lock()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(READ_SIZE))
    }

    /// Returns a buffer whose data has been delivered.
    pub fn give(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() == READ_SIZE {
            buffer.clear();
            let mut free = self.free.lock();
            if free.len() < Self::KEEP {
                free.push(buffer);
            }
        }
    }
}

pub(crate) fn run(shared: Arc<Shared>, messages: Receiver<Message>) {
    let mut splitters: HashMap<u64, LineSplitter> = HashMap::new();
    while let Ok(message) = messages.recv() {
        shared.space_freed();
        if matches!(message, Message::Stop) {
            break;
        }
        let delivered = catch_unwind(AssertUnwindSafe(|| {
            if let Some(buffer) = deliver(&shared.registry, &mut splitters, message) {
                shared.buffers.give(buffer);
            }
        }));
        if delivered.is_err() {
            shared.fail("a callback panicked");
        }
    }
    // When the monitor was freed from inside a callback, this thread finishes
    // the cleanup: it waits for the event loop to end.
    if let Some(event_loop) = shared.take_detached_loop() {
        let _ = event_loop.join();
    }
}

/// Delivers one message; hands back the buffer of an output chunk for reuse.
fn deliver(
    registry: &Registry,
    splitters: &mut HashMap<u64, LineSplitter>,
    message: Message,
) -> Option<Vec<u8>> {
    match message {
        Message::Output {
            pipe,
            name,
            stream,
            mut data,
        } => {
            let splitter = splitters.entry(pipe).or_default();
            registry.deliver_lines(&name, stream, |sink| splitter.feed(&mut data, sink));
            return Some(data);
        }
        Message::Closed { pipe, name, stream } => {
            if let Some(mut splitter) = splitters.remove(&pipe) {
                registry.deliver_lines(&name, stream, |sink| splitter.finish(sink));
            }
        }
        Message::Event(event) => registry.deliver_event(&event),
        Message::Stop => {}
    }
    None
}
