//! File system queries std does not offer.

use super::check;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// The file system type (`f_type` of `statfs`) of `path`, e.g. cgroup2's
/// `CGROUP2_SUPER_MAGIC`.
pub fn statfs_type(path: &CStr) -> Result<i64, i32> {
    // SAFETY: a zeroed statfs is a valid value of this plain C struct.
    let mut info: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `info` is ours to write.
    check(unsafe { libc::statfs(path.as_ptr(), &mut info) })?;
    Ok(info.f_type as i64)
}

/// Opens `name` relative to the directory `dir` (close-on-exec always).
pub fn open_at(dir: BorrowedFd<'_>, name: &CStr, flags: i32) -> Result<OwnedFd, i32> {
    // SAFETY: `name` is NUL-terminated and `dir` an open descriptor for the
    // length of the call.
    let fd =
        check(unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) })?;
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes the directory `name` in the directory `dir`.
pub fn mkdir_at(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> Result<(), i32> {
    // SAFETY: as in `open_at`.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// Removes the (empty) directory `name` of the directory `dir`.
pub fn rmdir_at(dir: BorrowedFd<'_>, name: &CStr) -> Result<(), i32> {
    // SAFETY: as in `open_at`.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
}
