//! File system queries std does not offer.

use super::check;
use std::ffi::CStr;

/// The file system type (`f_type` of `statfs`) of `path`, e.g. cgroup2's
/// `CGROUP2_SUPER_MAGIC`.
pub fn statfs_type(path: &CStr) -> Result<i64, i32> {
    // SAFETY: a zeroed statfs is a valid value of this plain C struct.
    let mut info: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `info` is ours to write.
    check(unsafe { libc::statfs(path.as_ptr(), &mut info) })?;
    Ok(info.f_type as i64)
}
