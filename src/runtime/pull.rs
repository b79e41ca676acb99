//! Pull delivery: nothing is called back. The callback thread queues every line
//! and event as a record, and the host takes them one at a time
//! ([`PullQueue::next`]) when a descriptor that is readable exactly while a
//! record waits ([`PullQueue::fd`]) says so.
//!
//! The queue takes the place of the two callbacks in the [`Registry`] (for
//! good: [`Registry::seal`]) as its [`Sink`], so what the callbacks guarantee
//! holds unchanged:
//! one thread produces the records, in the order the callbacks would have been
//! called; lines keep their raw bytes and come in pieces of the line limit; and
//! when the queue is full the callback thread waits, as it waits for a slow
//! callback, reading no pipe meanwhile: the children block on their pipes,
//! nothing is dropped and memory stays bounded.
//!
//! Lines are staged while one read of a pipe is split, and published together
//! when it ends ([`Sink::lines`]): a flood costs one lock and at most one
//! eventfd write per read of 64 KiB, not per line. The host takes a whole
//! published batch at once too, and hands back its memory for reuse; it takes
//! records one at a time ([`PullQueue::next`]) or many under one lock
//! ([`PullQueue::take`]).

use super::callbacks::{LifecycleEvent, Produce, Registry, Sink, Stream};
use crate::core::{Line, Name};
use crate::error::{Error, Result};
use crate::sys::EventFd;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

/// Line bytes in one batch before it is published, even in the middle of a read.
const BATCH_BYTES: usize = 256 * 1024;
/// Records in one batch before it is published.
const BATCH_RECORDS: usize = 4096;
/// Line bytes published and not taken yet before the callback thread waits:
/// with the batch being staged and the one being taken, at most about 1.6 MiB
/// of lines wait for the host.
const QUEUED_BYTES: usize = 1024 * 1024;
/// Records published and not taken yet before the callback thread waits.
const QUEUED_RECORDS: usize = 16 * 1024;
/// Emptied batches kept for reuse.
const SPARE_BATCHES: usize = 8;

/// One record, as the host takes it.
#[derive(Clone, Copy, Debug)]
pub enum Record<'a> {
    /// A line (or a piece of a long one): its bytes followed by one NUL.
    Line {
        name: &'a Name,
        stream: Stream,
        bytes_with_nul: &'a [u8],
    },
    Event(&'a LifecycleEvent),
    /// The monitor has shut down ([`super::Monitor::shut_down`]) and every
    /// record came before this one: none follows.
    End,
}

enum Entry {
    Line {
        /// Index into the batch's `names`.
        name: u32,
        stream: Stream,
        /// Where its bytes (and their NUL) start in the batch's `bytes`.
        start: usize,
        len_with_nul: usize,
    },
    Event(Box<LifecycleEvent>),
    End,
}

/// Records and, in one buffer, the bytes of their lines.
#[derive(Default)]
struct Batch {
    entries: Vec<Entry>,
    bytes: Vec<u8>,
    /// The names of the lines, once per run of lines with the same name.
    names: Vec<Name>,
}

impl Batch {
    fn push_line(&mut self, name: &Name, stream: Stream, line: Line<'_>) {
        let same = self
            .names
            .last()
            .is_some_and(|n| n.as_ptr() == name.as_ptr());
        if !same {
            self.names.push(name.clone());
        }
        let bytes = line.bytes_with_nul();
        self.entries.push(Entry::Line {
            name: (self.names.len() - 1) as u32,
            stream,
            start: self.bytes.len(),
            len_with_nul: bytes.len(),
        });
        self.bytes.extend_from_slice(bytes);
    }

    fn is_full(&self) -> bool {
        self.bytes.len() >= BATCH_BYTES || self.entries.len() >= BATCH_RECORDS
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes.clear();
        self.names.clear();
    }

    fn record(&self, at: usize) -> Record<'_> {
        match &self.entries[at] {
            Entry::Line {
                name,
                stream,
                start,
                len_with_nul,
            } => Record::Line {
                name: &self.names[*name as usize],
                stream: *stream,
                bytes_with_nul: &self.bytes[*start..*start + *len_with_nul],
            },
            Entry::Event(event) => Record::Event(event),
            Entry::End => Record::End,
        }
    }
}

/// What the callback thread has published and the host has not taken yet.
#[derive(Default)]
struct Published {
    batches: VecDeque<Batch>,
    /// Line bytes and records in `batches`.
    bytes: usize,
    records: usize,
    /// Emptied batches, for reuse.
    spare: Vec<Batch>,
    /// The descriptor is readable: kept equal to "a record waits", here or in
    /// the batch being taken.
    readable: bool,
    /// `procmon_free`: the host takes nothing any more; records are dropped.
    closed: bool,
    /// The callback thread waits for room.
    waiting: bool,
}

/// The host's side: the batch it takes records from.
#[derive(Default)]
struct Taking {
    batch: Batch,
    next: usize,
    /// END has been taken: nothing follows.
    ended: bool,
}

/// A cache line (two, for the adjacent-line prefetcher) of its own: the
/// callback thread's lock and the host's must not share one, or every line
/// moves a cache line between the two cores.
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The bounded queue between the callback thread and the host.
pub struct PullQueue {
    /// Lines of the read being split (the callback thread's only).
    staging: Padded<Mutex<Batch>>,
    published: Padded<Mutex<Published>>,
    room: Condvar,
    taking: Padded<Mutex<Taking>>,
    /// Readable exactly while a record waits.
    ready: EventFd,
}

impl PullQueue {
    pub(crate) fn new() -> Result<PullQueue> {
        Ok(PullQueue {
            staging: Padded(Mutex::new(Batch::default())),
            published: Padded(Mutex::new(Published::default())),
            room: Condvar::new(),
            taking: Padded(Mutex::new(Taking::default())),
            ready: EventFd::new().map_err(|errno| Error::system("eventfd", errno))?,
        })
    }

    /// Makes the queue the registry's only sink, for good.
    pub(crate) fn install(self: &Arc<Self>, registry: &Registry) {
        registry.seal(self.clone());
    }

    /// The descriptor: readable (poll, epoll, select) exactly while a record
    /// waits. Owned by the queue.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.ready.as_fd()
    }

    /// Publishes the staged batch, waiting for room first.
    fn publish(&self, staging: &mut Batch) {
        if staging.entries.is_empty() {
            return;
        }
        let mut published = self.published.lock();
        while (published.bytes >= QUEUED_BYTES || published.records >= QUEUED_RECORDS)
            && !published.closed
        {
            published.waiting = true;
            self.room.wait(&mut published);
        }
        if published.closed {
            staging.clear();
            return;
        }
        published.bytes += staging.bytes.len();
        published.records += staging.entries.len();
        let empty = published.spare.pop().unwrap_or_default();
        published
            .batches
            .push_back(std::mem::replace(staging, empty));
        if !published.readable {
            published.readable = true;
            self.ready.wake();
        }
    }

    /// The host takes nothing any more (the monitor is being freed): the
    /// callback thread stops waiting for room, and what waits or comes later
    /// is dropped.
    pub(crate) fn close(&self) {
        let mut published = self.published.lock();
        published.closed = true;
        published.batches.clear();
        published.spare.clear();
        self.room.notify_all();
    }

    /// Hands the next record to `f`; `None` when none waits now (or END has
    /// been taken). The record's memory stays where it is until the next take
    /// (the C API hands out pointers into it). Takes are serialised: `f` runs
    /// under the queue's lock.
    pub fn next<R>(&self, f: impl FnOnce(Record<'_>) -> R) -> Option<R> {
        self.take(1, |mut records| {
            let record = records
                .next()
                .expect("a take hands out at least one record");
            f(record)
        })
    }

    /// Hands up to `max` waiting records, in order, to `f` at once, under one
    /// lock; `None` when none waits now (or END has been taken), or `max` is 0.
    /// Fewer than `max` may come although more wait: a take hands out records
    /// of one published batch only. END ends a take. As with
    /// [`next`](Self::next), the records' memory stays where it is until the
    /// next take, and `f` runs under the queue's lock.
    pub fn take<R>(&self, max: usize, f: impl FnOnce(Records<'_>) -> R) -> Option<R> {
        if max == 0 {
            return None;
        }
        let mut taking = self.taking.lock();
        if taking.ended {
            return None;
        }
        if taking.next == taking.batch.entries.len() {
            // The records handed out last are no longer needed.
            taking.batch.clear();
            taking.next = 0;
            let mut published = self.published.lock();
            let Some(batch) = published.batches.pop_front() else {
                if published.readable {
                    published.readable = false;
                    self.ready.drain();
                }
                return None;
            };
            published.bytes -= batch.bytes.len();
            published.records -= batch.entries.len();
            let emptied = std::mem::replace(&mut taking.batch, batch);
            if published.spare.len() < SPARE_BATCHES {
                published.spare.push(emptied);
            }
            if published.waiting {
                published.waiting = false;
                self.room.notify_one();
            }
        }
        let from = taking.next;
        let mut to = from + max.min(taking.batch.entries.len() - from);
        // END is the last record of its batch; stop there all the same.
        if let Some(end) = taking.batch.entries[from..to]
            .iter()
            .position(|entry| matches!(entry, Entry::End))
        {
            to = from + end + 1;
            taking.ended = true;
        }
        taking.next = to;
        if taking.next == taking.batch.entries.len() {
            let mut published = self.published.lock();
            if published.batches.is_empty() && published.readable {
                published.readable = false;
                self.ready.drain();
            }
        }
        Some(f(Records {
            batch: &taking.batch,
            at: from,
            to,
        }))
    }
}

/// The records of one take ([`PullQueue::take`]), in order.
#[derive(Clone)]
pub struct Records<'a> {
    batch: &'a Batch,
    at: usize,
    to: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.at == self.to {
            return None;
        }
        self.at += 1;
        Some(self.batch.record(self.at - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.to - self.at, Some(self.to - self.at))
    }
}

impl ExactSizeIterator for Records<'_> {}

impl Sink for PullQueue {
    fn lines(&self, name: &Name, stream: Stream, produce: &mut Produce<'_>) {
        let mut staging = self.staging.lock();
        produce(&mut |line| {
            staging.push_line(name, stream, line);
            if staging.is_full() {
                self.publish(&mut staging);
            }
        });
        self.publish(&mut staging);
    }

    fn event(&self, event: &LifecycleEvent) {
        let mut staging = self.staging.lock();
        staging.entries.push(Entry::Event(Box::new(event.clone())));
        self.publish(&mut staging);
    }

    fn end(&self) {
        let mut staging = self.staging.lock();
        staging.entries.push(Entry::End);
        self.publish(&mut staging);
    }
}
