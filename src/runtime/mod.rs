//! All I/O, and the safe Rust API over it.
//!
//! A [`Monitor`] runs two threads, whatever the number of children:
//!
//! - the event loop ([`event_loop`]) owns the [`core::Supervisor`](crate::core::Supervisor)
//!   and every child's descriptors ([`children`]); it waits on all pipes, all pidfds,
//!   the waker and the next timer at once, and runs the API's commands;
//! - the callback thread ([`delivery`]) splits output into lines and calls the
//!   registered callbacks ([`callbacks`]), one at a time.
//!
//! Output and events travel from the first to the second through one bounded
//! channel, in order. When it is full the loop stops reading pipes (the children
//! block on them), so nothing is lost and memory stays bounded.

mod callbacks;
mod children;
mod delivery;
mod event_loop;
mod monitor;
mod program;

pub use callbacks::{EventCallback, LogCallback, Stream};
pub use monitor::Monitor;
