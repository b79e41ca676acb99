//! Strings handed out by the library: static texts, the thread's last error,
//! and strings the caller frees.

use super::boundary::{last_error, quietly};
use super::types::procmon_error_t::{self, *};
use std::ffi::{c_char, c_int, CString};

/// Static text for an error code (any int; unknown codes get a text too).
/// Never NULL. May be called from a callback; never blocks.
#[no_mangle]
pub extern "C" fn procmon_strerror(code: c_int) -> *const c_char {
    let known = [
        PROCMON_OK,
        PROCMON_ERR_INVALID,
        PROCMON_ERR_EXISTS,
        PROCMON_ERR_NOT_FOUND,
        PROCMON_ERR_STATE,
        PROCMON_ERR_SYSTEM,
        PROCMON_ERR_INTERNAL,
        PROCMON_ERR_AGAIN,
    ];
    let text = match known.into_iter().find(|k| *k as c_int == code) {
        Some(PROCMON_OK) => c"success",
        Some(PROCMON_ERR_INVALID) => c"invalid argument",
        Some(PROCMON_ERR_EXISTS) => c"a process with this name is already monitored",
        Some(PROCMON_ERR_NOT_FOUND) => c"no process with this name is monitored",
        Some(PROCMON_ERR_STATE) => c"not allowed in the monitor's current state",
        Some(PROCMON_ERR_SYSTEM) => c"an operating system call failed",
        Some(procmon_error_t::PROCMON_ERR_INTERNAL) => c"internal error (a bug in procmon)",
        Some(PROCMON_ERR_AGAIN) => {
            c"nothing to take now (try again when the descriptor is readable)"
        }
        None => c"unknown error code",
    };
    text.as_ptr()
}

/// The detail of the last failed call on the calling thread ("" if none).
/// Valid until the next procmon call on this thread. Never NULL.
#[no_mangle]
pub extern "C" fn procmon_last_error() -> *const c_char {
    last_error()
}

/// The library version, e.g. "0.1.0" (static; equal to PROCMON_VERSION_STRING
/// of the header the program was built with when the versions agree).
#[no_mangle]
pub extern "C" fn procmon_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Frees a string handed out by the library (procmon_describe()). NULL is a no-op.
#[no_mangle]
pub extern "C" fn procmon_string_free(s: *mut c_char) {
    quietly(|| {
        if !s.is_null() {
            // SAFETY: by the C contract `s` came from CString::into_raw in this
            // library and is freed once.
            drop(unsafe { CString::from_raw(s) });
        }
        Ok(())
    })
}
