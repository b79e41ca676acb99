//! The C API of `include/procmon.h`: the only `#[no_mangle]` items and the only
//! raw pointers of the crate outside [`crate::sys`].
//!
//! Every exported function runs its body inside the panic boundary of
//! [`boundary`], so no unwind crosses into C; arguments are checked and copied
//! there, and errors become a `procmon_error_t` plus a thread-local message.
//!
//! The exported functions are safe `extern "C" fn`s taking raw pointers: C has
//! no `unsafe`, and each function's doc states its pointer contract; the derefs
//! themselves happen in [`boundary`]'s `unsafe fn`s, each with a SAFETY note.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod boundary;
mod callbacks;
mod monitor;
mod pull;
mod readiness;
mod spec;
mod strings;
mod types;

pub use boundary::panic_on_next_call;
pub use callbacks::*;
pub use monitor::*;
pub use pull::*;
pub use readiness::*;
pub use spec::*;
pub use strings::*;
pub use types::*;
