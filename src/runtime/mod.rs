//! All I/O, and the safe Rust API over it.
//!
//! A [`Monitor`] runs two threads, whatever the number of children:
//!
//! - the event loop ([`event_loop`]) owns the [`core::Supervisor`](crate::core::Supervisor)
//!   and its [`host`]: every child's pidfd ([`reaper`]), the spawner and the
//!   [`outbox`]; it waits on all pidfds, its waker and the next timer at once,
//!   spawns, and runs the jobs other threads queue in its inbox;
//! - the callback thread ([`delivery`]) reads the children's pipes ([`pipes`]),
//!   splits output into lines and calls the registered callbacks ([`callbacks`]),
//!   one at a time.
//!
//! In pull mode ([`pull`]) the callback thread queues lines and events as
//! records for the host to take, instead of calling callbacks.
//!
//! Lifecycle events travel from the first to the second through one bounded
//! channel ([`outbox`]), in order, each run's pipes with its STARTED event. The
//! callback thread reads a pipe only when it can deliver its lines, so a child
//! that writes faster waits on its pipe: nothing is lost and memory stays bounded.
//!
//! The modules form layers, each importing only those below it: `monitor`;
//! `delivery`; `event_loop`; `host`; `outbox` and `reaper`; `pipes` and
//! `shared` (the state the three threads share); `token` (both epoll sets'
//! tokens); `callbacks` and `program`.

mod callbacks;
mod cgroup;
mod delivery;
mod event_loop;
mod host;
mod monitor;
mod notify;
mod outbox;
mod pipes;
mod program;
mod pull;
mod reaper;
mod shared;
mod token;
mod units;

pub use callbacks::{EventCallback, LifecycleEvent, LogCallback, Stream, Usage};
pub use monitor::Monitor;
pub use pull::{PullQueue, Record, Records};
