//! Pull delivery: the mode switch, the descriptor, the records, and the
//! shutdown that lets a host take the last of them.
#![allow(non_camel_case_types)]

use super::boundary::{handle, monitor, out, status, value};
use super::callbacks::to_c;
use super::types::{procmon_event_t, procmon_stream_t, procmon_t};
use crate::error::{Error, ErrorKind};
use crate::runtime::{Record, Records, Stream};
use std::ffi::{c_char, c_int};
use std::os::fd::AsRawFd;
use std::ptr;

/// How a monitor hands out lines and events (procmon_set_delivery()). Since 0.2.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum procmon_delivery_t {
    /// The log and event callbacks, called on the monitor's callback thread (the
    /// default).
    PROCMON_DELIVERY_CALLBACKS = 0,
    /// Nothing is called back: the host polls procmon_poll_fd() and takes
    /// records with procmon_next(), on its own threads.
    PROCMON_DELIVERY_PULL = 1,
}

/// The kinds of records of pull delivery. Since 0.2; expect kinds you do not know.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum procmon_record_kind_t {
    /// A line of output (`name`, `stream`, `line`, `len`), as the log callback
    /// gets it.
    PROCMON_RECORD_LINE = 1,
    /// A lifecycle event (`name`, `event`), as the event callback gets it.
    PROCMON_RECORD_EVENT = 2,
    /// The last record after procmon_shutdown(): every child has been reaped and
    /// every line and event came before it; none follows.
    PROCMON_RECORD_END = 3,
}

/// One record of pull delivery (procmon_next(), procmon_next_batch()). The
/// library allocates it and owns everything it points to: valid until the next
/// procmon_next() or procmon_next_batch() on the same monitor (from any
/// thread), or procmon_free(). It may gain fields at its end in
/// a later version (API.md "ABI rules"), so never copy it by value into a struct
/// of your own; read the fields you know.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct procmon_record_t {
    pub kind: procmon_record_kind_t,
    /// LINE and EVENT: the process name; END: NULL.
    pub name: *const c_char,
    /// LINE: the stream; otherwise PROCMON_STDOUT.
    pub stream: procmon_stream_t,
    /// LINE: `len` raw bytes (any bytes, possibly NUL), without the '\n', and
    /// `line[len] == '\0'`; a line longer than PROCMON_LINE_LIMIT comes as several
    /// records of at most that many bytes. Otherwise NULL.
    pub line: *const c_char,
    /// LINE: the number of bytes at `line`; otherwise 0.
    pub len: usize,
    /// EVENT: the event, laid out and filled as for the event callback;
    /// otherwise NULL.
    pub event: *const procmon_event_t,
}

/// Where the records handed out last live, per monitor, until the next call.
pub(crate) struct Slot {
    /// procmon_next's record, and its event.
    record: procmon_record_t,
    event: Option<procmon_event_t>,
    /// procmon_next_batch's records, and their events in order; reused across
    /// calls.
    batch: Vec<procmon_record_t>,
    events: Vec<procmon_event_t>,
}

const EMPTY: procmon_record_t = procmon_record_t {
    kind: procmon_record_kind_t::PROCMON_RECORD_END,
    name: ptr::null(),
    stream: procmon_stream_t::PROCMON_STDOUT,
    line: ptr::null(),
    len: 0,
    event: ptr::null(),
};

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            record: EMPTY,
            event: None,
            batch: Vec::new(),
            events: Vec::new(),
        }
    }
}

/// The C record for `record` (whose memory stays until the next take), with
/// `event` (`to_c` of the record's event) for an EVENT.
fn c_record(record: Record<'_>, event: Option<&procmon_event_t>) -> procmon_record_t {
    use procmon_record_kind_t::*;
    let mut c = EMPTY;
    match record {
        Record::Line {
            name,
            stream,
            bytes_with_nul,
        } => {
            c.kind = PROCMON_RECORD_LINE;
            c.name = name.as_ptr();
            c.stream = match stream {
                Stream::Stdout => procmon_stream_t::PROCMON_STDOUT,
                Stream::Stderr => procmon_stream_t::PROCMON_STDERR,
            };
            c.line = bytes_with_nul.as_ptr().cast();
            c.len = bytes_with_nul.len() - 1;
        }
        Record::Event(_) => {
            let event = event.expect("an EVENT record has its event");
            c.kind = PROCMON_RECORD_EVENT;
            c.name = event.name;
            c.event = event;
        }
        Record::End => c.kind = PROCMON_RECORD_END,
    }
    c
}

impl Slot {
    /// procmon_next: points the C record at `record`.
    fn fill(&mut self, record: Record<'_>) {
        let event = match record {
            Record::Event(event) => Some(&*self.event.insert(to_c(event))),
            _ => None,
        };
        self.record = c_record(record, event);
    }

    /// procmon_next_batch: points the C records at `records`, then their
    /// addresses into `out` (room for at least as many). The events are all
    /// made before any record points at one, so no push moves one pointed at.
    ///
    /// # Safety
    /// `out` is writable for `records.len()` pointers.
    unsafe fn fill_batch(
        &mut self,
        records: Records<'_>,
        out: *mut *const procmon_record_t,
    ) -> usize {
        self.events.clear();
        for record in records.clone() {
            if let Record::Event(event) = record {
                self.events.push(to_c(event));
            }
        }
        self.batch.clear();
        let mut events = self.events.iter();
        for record in records {
            let event = match record {
                Record::Event(_) => events.next(),
                _ => None,
            };
            self.batch.push(c_record(record, event));
        }
        for (at, record) in self.batch.iter().enumerate() {
            // SAFETY: by this function's contract; `at` < records.len().
            unsafe { *out.add(at) = record };
        }
        self.batch.len()
    }
}

/// Chooses how lines and events are handed out. `mode` is a procmon_delivery_t.
///
/// PROCMON_DELIVERY_PULL: for good. The callbacks are removed (as when their
/// setters are given NULL: a call in progress on another thread is waited
/// for), the setters fail with PROCMON_ERR_STATE from then on, and every later
/// line and event waits as a record for procmon_next(). What came before is
/// not queued: choose the mode before adding processes. Idempotent.
/// PROCMON_DELIVERY_CALLBACKS: the default; PROCMON_OK while the monitor has not
/// switched to pull, PROCMON_ERR_STATE after.
///
/// Returns PROCMON_OK; PROCMON_ERR_INVALID (NULL monitor, unknown mode);
/// PROCMON_ERR_STATE (back from pull to callbacks; a forked child);
/// PROCMON_ERR_SYSTEM (the descriptor could not be made: eventfd).
/// Blocks only to wait for a callback in progress. Since 0.2.
#[no_mangle]
pub extern "C" fn procmon_set_delivery(pm: *mut procmon_t, mode: c_int) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let monitor = unsafe { monitor(pm) }?;
        match mode {
            m if m == procmon_delivery_t::PROCMON_DELIVERY_PULL as c_int => {
                monitor.set_pull_delivery()
            }
            m if m == procmon_delivery_t::PROCMON_DELIVERY_CALLBACKS as c_int => {
                match monitor.pull_fd() {
                    Ok(_) => Err(Error::state(
                        "the monitor delivers by pull, for good: it cannot go back to callbacks",
                    )),
                    Err(_) => Ok(()),
                }
            }
            _ => Err(Error::invalid(format!("{mode} is not a delivery mode"))),
        }
    })
}

/// Pull delivery: the descriptor to poll (poll, epoll, select, or an event
/// loop's watcher), readable exactly while a record waits for procmon_next():
/// level-triggered, it stays readable until the last waiting record is taken,
/// and it is not readable when procmon_next() would return PROCMON_ERR_AGAIN
/// (with several threads taking records, one may find none after another took
/// the last). With EPOLLET, take records until PROCMON_ERR_AGAIN before waiting
/// again. The monitor owns it: never read, write or close it; it stays open
/// until procmon_free(). The same descriptor on every call.
///
/// Returns the descriptor (>= 0), or a negative code: PROCMON_ERR_INVALID (NULL
/// monitor); PROCMON_ERR_STATE (not in pull mode; a forked child). Never blocks.
/// Since 0.2.
#[no_mangle]
pub extern "C" fn procmon_poll_fd(pm: *mut procmon_t) -> c_int {
    value(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let monitor = unsafe { monitor(pm) }?;
        Ok(monitor.pull_fd()?.as_raw_fd())
    })
}

/// Pull delivery: takes the next record. Never blocks (wait on
/// procmon_poll_fd() for records). Records come in exactly the order, and with
/// exactly the content, the callbacks would have had: for one run, STARTED, its
/// lines, EXITED, then RESTART_SCHEDULED or the next STARTED; every line of
/// every child, none lost, long lines in pieces, raw bytes.
///
/// Backpressure: the records waiting are bounded (about 2 MiB of lines); when
/// the host does not take them, the monitor stops reading the children's
/// pipes and the children block on them, as with a slow callback.
///
/// On PROCMON_OK, `*record` points to the record, owned by the monitor and
/// valid until the next procmon_next() or procmon_next_batch() on this monitor
/// (from any thread: a host taking records on several threads serialises them)
/// or procmon_free(). `*record` is written only on success. To take many
/// records with one call, procmon_next_batch().
///
/// Returns PROCMON_OK; PROCMON_ERR_AGAIN (no record waits now; also after END);
/// PROCMON_ERR_INVALID (NULL argument); PROCMON_ERR_STATE (not in pull mode; a
/// forked child); PROCMON_ERR_INTERNAL (the monitor has failed and every record
/// it made has been taken). Since 0.2.
#[no_mangle]
pub extern "C" fn procmon_next(pm: *mut procmon_t, record: *mut *const procmon_record_t) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let handle = unsafe { handle(pm) }?;
        // SAFETY: by the C contract `record` is NULL or writable.
        let out = unsafe { out(record, "the record pointer") }?;
        let slot = handle.pulled.get();
        let taken = handle.monitor.next_record(|taken| {
            // SAFETY: next_record runs this under the queue's lock, so no other
            // call writes the slot meanwhile; C reads it only until the next call.
            unsafe { (*slot).fill(taken) }
        })?;
        match taken {
            // SAFETY: the slot lives as long as the handle; only its address is taken.
            Some(()) => {
                *out = unsafe { &(*slot).record };
                Ok(())
            }
            None => Err(Error::new(ErrorKind::Again, "no record waits now")),
        }
    })
}

/// Pull delivery: takes up to `max` waiting records with one call, as that
/// many procmon_next() calls would take them, one after the other: the same
/// records in the same order, with the same content, and the same
/// backpressure; the descriptor of procmon_poll_fd() stays readable exactly
/// while a record waits. Never blocks (wait on procmon_poll_fd() for records).
/// Fewer than `max` may come although more wait: take again. END is the last
/// record of its batch; none follows it.
///
/// On PROCMON_OK, `records[0]` to `records[*n - 1]` (the caller's array of
/// `max` pointers) point to the records, 1 <= `*n` <= `max`, owned by the
/// monitor and valid until the next procmon_next() or procmon_next_batch() on
/// this monitor (from any thread: a host taking records on several threads
/// serialises them) or procmon_free(). On PROCMON_ERR_AGAIN `*n` is 0 and the
/// array untouched; on other errors neither is written.
///
/// Returns PROCMON_OK; PROCMON_ERR_AGAIN (no record waits now; also after END);
/// PROCMON_ERR_INVALID (NULL argument, `max` 0); PROCMON_ERR_STATE (not in pull
/// mode; a forked child); PROCMON_ERR_INTERNAL (the monitor has failed and
/// every record it made has been taken). Since 0.2.
#[no_mangle]
pub extern "C" fn procmon_next_batch(
    pm: *mut procmon_t,
    records: *mut *const procmon_record_t,
    max: usize,
    n: *mut usize,
) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let handle = unsafe { handle(pm) }?;
        if records.is_null() {
            return Err(Error::invalid("the records array is NULL"));
        }
        // SAFETY: by the C contract `n` is NULL or writable.
        let n = unsafe { out(n, "the count pointer") }?;
        if max == 0 {
            return Err(Error::invalid("max is 0: no room for a record"));
        }
        let slot = handle.pulled.get();
        let taken = handle.monitor.take_records(max, |taken| {
            // SAFETY: take_records runs this under the queue's lock, so no
            // other call writes the slot meanwhile; C reads it only until the
            // next call. `records` has room for `max` >= taken.len() pointers.
            unsafe { (*slot).fill_batch(taken, records) }
        })?;
        match taken {
            Some(count) => {
                *n = count;
                Ok(())
            }
            None => {
                *n = 0;
                Err(Error::new(ErrorKind::Again, "no record waits now"))
            }
        }
    })
}

/// Begins what procmon_free() does, without waiting and without freeing: the
/// service stops, every child gets TERM (KILL after the kill time), and once all
/// are reaped and their output delivered, the internal threads end. In pull
/// mode the host keeps taking records meanwhile: the children's last lines,
/// their EXITED events, and last a PROCMON_RECORD_END record. Calls that would
/// start a process fail with PROCMON_ERR_STATE from then on; procmon_free() is
/// still needed, and is prompt once END has been taken.
///
/// Returns PROCMON_OK (also when already shut down), PROCMON_ERR_INVALID (NULL
/// monitor), PROCMON_ERR_STATE (a forked child) or PROCMON_ERR_INTERNAL (the
/// monitor has failed). Never blocks. May be called from a callback. Since 0.2.
#[no_mangle]
pub extern "C" fn procmon_shutdown(pm: *mut procmon_t) -> c_int {
    status(|| {
        // SAFETY: by the C contract `pm` is NULL or a live handle.
        let monitor = unsafe { monitor(pm) }?;
        monitor.shut_down()
    })
}
