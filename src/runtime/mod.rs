//! All I/O, and the safe Rust API over it.
//!
//! A [`Monitor`] runs two threads, whatever the number of children:
//!
//! - the event loop ([`event_loop`]) owns the [`core::Supervisor`](crate::core::Supervisor)
//!   and every child's pidfd ([`children`]); it waits on all pidfds, the waker and
//!   the next timer at once, spawns, and runs the API's commands;
//! - the callback thread ([`delivery`]) reads the children's pipes ([`pipes`]),
//!   splits output into lines and calls the registered callbacks ([`callbacks`]),
//!   one at a time.
//!
//! Lifecycle events travel from the first to the second through one bounded
//! channel, in order, each run's pipes with its STARTED event. The callback thread
//! reads a pipe only when it can deliver its lines, so a child that writes faster
//! waits on its pipe: nothing is lost and memory stays bounded.

mod callbacks;
mod children;
mod delivery;
mod event_loop;
mod monitor;
mod pipes;
mod program;
mod token;

pub use callbacks::{EventCallback, LogCallback, Stream};
pub use monitor::Monitor;
