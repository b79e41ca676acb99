//! The panic boundary, the thread-local error message, and the checks that turn
//! C arguments into Rust values (copied before the call returns).

use super::types::{procmon_error_t, procmon_t};
use crate::error::{Error, Result};
use crate::runtime::Monitor;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    static PANIC_ON_NEXT_CALL: Cell<bool> = const { Cell::new(false) };
}

/// Makes the next API call on this thread panic inside the boundary: for tests
/// of the boundary itself. Not part of the C API.
#[doc(hidden)]
pub fn panic_on_next_call() {
    PANIC_ON_NEXT_CALL.with(|flag| flag.set(true));
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    LAST_ERROR.with(|last| *last.borrow_mut() = text);
}

/// The calling thread's last error message (empty before the first failure).
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

/// Runs `body`, catching any panic. An error is recorded for `procmon_last_error`.
fn guard<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if PANIC_ON_NEXT_CALL.with(|flag| flag.replace(false)) {
            panic!("injected panic");
        }
        body()
    }));
    let result = outcome.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(Error::internal(format!(
            "internal error (a panic was caught: {what})"
        )))
    });
    if let Err(error) = &result {
        set_last_error(error.message());
    }
    result
}

/// For functions returning a status code.
pub(crate) fn status(body: impl FnOnce() -> Result<()>) -> c_int {
    match guard(body) {
        Ok(()) => procmon_error_t::PROCMON_OK as c_int,
        Err(error) => procmon_error_t::from(error.kind()) as c_int,
    }
}

/// For functions returning a non-negative value: the code on failure.
pub(crate) fn value(body: impl FnOnce() -> Result<c_int>) -> c_int {
    match guard(body) {
        Ok(value) => value,
        Err(error) => procmon_error_t::from(error.kind()) as c_int,
    }
}

/// For functions returning a pointer: NULL on failure.
pub(crate) fn pointer<T>(body: impl FnOnce() -> Result<*mut T>) -> *mut T {
    guard(body).unwrap_or(std::ptr::null_mut())
}

/// For functions returning nothing.
pub(crate) fn quietly(body: impl FnOnce() -> Result<()>) {
    let _ = guard(body);
}

/// The monitor behind a handle.
///
/// # Safety
/// `pm` is NULL or a handle from `procmon_new` not yet freed.
pub(crate) unsafe fn monitor<'a>(pm: *const procmon_t) -> Result<&'a Monitor> {
    // SAFETY: forwarded contract.
    Ok(&unsafe { handle(pm) }?.monitor)
}

/// The handle itself, checked as [`monitor`] checks it.
///
/// # Safety
/// As [`monitor`].
pub(crate) unsafe fn handle<'a>(pm: *const procmon_t) -> Result<&'a procmon_t> {
    // SAFETY: by this function's contract.
    match unsafe { pm.as_ref() } {
        Some(handle) => {
            check_owner(handle)?;
            Ok(handle)
        }
        None => Err(Error::invalid("the monitor handle is NULL")),
    }
}

/// `State` in the child of a fork: the monitor's threads, and the children it
/// supervises, are the parent's.
pub(crate) fn check_owner(handle: &procmon_t) -> Result<()> {
    let here = crate::sys::current_pid();
    if handle.owner == here {
        return Ok(());
    }
    Err(Error::state(format!(
        "this monitor belongs to process {}; it cannot be used in a forked child (process {here})",
        handle.owner
    )))
}

/// A C string, still borrowed.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string alive during the call.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a CStr> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated by this function's contract.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// A process name: non-NULL, UTF-8 (emptiness is checked by `Name`).
///
/// # Safety
/// As [`c_str`].
pub(crate) unsafe fn name<'a>(ptr: *const c_char) -> Result<&'a str> {
    // SAFETY: forwarded contract.
    let name = unsafe { c_str(ptr, "the process name") }?;
    let name = name
        .to_str()
        .map_err(|_| Error::invalid("the process name is not valid UTF-8"))?;
    if name.is_empty() {
        return Err(Error::invalid("the process name is empty"));
    }
    Ok(name)
}

/// A NULL-terminated array of C strings, copied; `None` for a NULL array.
///
/// # Safety
/// `list` is NULL or an array of NUL-terminated strings ending with NULL.
pub(crate) unsafe fn string_list(list: *const *const c_char) -> Option<Vec<Vec<u8>>> {
    if list.is_null() {
        return None;
    }
    let mut items = Vec::new();
    let mut at = list;
    // SAFETY: the array is NULL-terminated, so every element up to the NULL is
    // readable, and each is a NUL-terminated string.
    unsafe {
        while !(*at).is_null() {
            items.push(CStr::from_ptr(*at).to_bytes().to_vec());
            at = at.add(1);
        }
    }
    Some(items)
}

/// The Rust value of a C enum's value, by a table of (C value, Rust value):
/// C passes enums as `int`, and an unknown one is refused, never transmuted.
/// `what` and `c_type` name the setting in the error.
pub(crate) fn enum_value<T: Copy>(
    value: c_int,
    table: &[(c_int, T)],
    what: &str,
    c_type: &str,
) -> Result<T> {
    table
        .iter()
        .find(|(c, _)| *c == value)
        .map(|(_, rust)| *rust)
        .ok_or_else(|| Error::invalid(format!("{what} {value} is not a {c_type} value")))
}

/// Where to write a result: non-NULL.
///
/// # Safety
/// `ptr` is NULL or valid for writes of a `T`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: by this function's contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}
