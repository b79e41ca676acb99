//! What the event loop sends to the callback thread: the [`Message`]s, the
//! bounded channel they travel through, and the loop's [`Outbox`], where they
//! wait, in order, while the channel is full.

use super::callbacks::LifecycleEvent;
use super::pipes::RunPipes;
use super::shared::Shared;
use crate::core::RunId;
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use std::collections::VecDeque;
use std::sync::Arc;

/// What the event loop sends to the callback thread.
pub(crate) enum Message {
    /// A run has started: its STARTED event, then its pipes (so none of its
    /// lines can go out before its STARTED).
    Started {
        pipes: RunPipes,
        event: LifecycleEvent,
    },
    /// A run's child has exited: what its pipes hold goes out before the next
    /// message (its EXITED event).
    Drain(RunId),
    Event(LifecycleEvent),
    /// Nothing follows: deliver what the pipes hold and end.
    Stop,
}

/// How many messages may wait for the callback thread (small ones: output does
/// not travel through the channel).
const QUEUE_DEPTH: usize = 256;

/// The channel to the callback thread: the event loop's end, and the
/// callback thread's.
pub(crate) fn channel(shared: Arc<Shared>) -> (Outbox, Receiver<Message>) {
    let (messages, queue) = bounded(QUEUE_DEPTH);
    let outbox = Outbox {
        queue: VecDeque::new(),
        messages,
        shared,
    };
    (outbox, queue)
}

/// Messages waiting for room in the channel to the callback thread, in order.
pub(crate) struct Outbox {
    queue: VecDeque<Message>,
    messages: Sender<Message>,
    shared: Arc<Shared>,
}

impl Outbox {
    /// Queues `message` behind the others (sent by the next [`flush`](Self::flush)).
    pub fn push(&mut self, message: Message) {
        self.queue.push_back(message);
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Sends what the outbox holds, waking the callback thread if it sleeps;
    /// false if the channel is full.
    pub fn flush(&mut self) -> bool {
        let mut sent = false;
        let room = self.send_all(&mut sent);
        if sent {
            self.shared.wake_callback_thread();
        }
        room
    }

    /// Sends what fits; false if the channel is full.
    fn send_all(&mut self, sent: &mut bool) -> bool {
        while let Some(message) = self.queue.pop_front() {
            match self.messages.try_send(message) {
                Ok(()) => *sent = true,
                Err(TrySendError::Full(message)) => {
                    self.queue.push_front(message);
                    // Ask the callback thread for a wake-up, then look once more in
                    // case it made room before it could see the request.
                    self.shared.want_space();
                    if self.messages.is_full() {
                        return false;
                    }
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.queue.clear();
                }
            }
        }
        true
    }
}
