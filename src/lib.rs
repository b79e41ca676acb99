//! procmon: a process supervisor in the manner of Twisted's `ProcessMonitor`,
//! shipped as a C-ABI library (`include/procmon.h`).
//!
//! Three layers, each calling only the one below it:
//!
//! - [`ffi`]: the C API. The only `#[no_mangle]` items and raw pointers: argument
//!   checks, the panic boundary, error codes and messages, C callback adapters.
//! - [`runtime`]: the safe Rust API ([`runtime::Monitor`]) and all I/O: the event
//!   loop thread, the callback thread, spawning, pipes, reaping, timers. Its system
//!   calls go through the thin [`sys`] layer.
//! - [`core`]: sans-I/O logic: the restart policy, the per-process state machine,
//!   the line splitter, `describe`. No threads, no libc, no clock: time is an input
//!   (the splitter's vector byte search is the one piece it takes from [`sys`]).

pub mod core;
pub mod error;
pub mod ffi;
pub mod runtime;
mod sys;

pub use crate::error::{Error, ErrorKind};
pub use crate::runtime::Monitor;
