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

/// Opens `name` relative to the directory `dir` (close-on-exec always). Opens
/// what exists: no mode is passed, so `flags` must not hold `O_CREAT`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// The `flags:` of a descriptor, from /proc/self/fdinfo.
    fn fd_flags(fd: &OwnedFd) -> i32 {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()));
        let info = info.unwrap();
        let octal = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap();
        i32::from_str_radix(octal.trim(), 8).unwrap()
    }

    #[test]
    fn directories_and_files_by_name_in_an_open_directory() {
        let base = std::env::temp_dir().join(format!("procmon-fs-{}", std::process::id()));
        std::fs::create_dir(&base).unwrap();
        let dir = std::fs::File::open(&base).unwrap();
        let (run, file) = (c"r1", c"r1/f");
        assert_eq!(mkdir_at(dir.as_fd(), run, 0o755), Ok(()));
        assert_eq!(mkdir_at(dir.as_fd(), run, 0o755), Err(libc::EEXIST));
        std::fs::write(base.join("r1/f"), b"x").unwrap();
        let opened = open_at(dir.as_fd(), file, libc::O_RDONLY).unwrap();
        assert_ne!(fd_flags(&opened) & libc::O_CLOEXEC, 0, "close-on-exec");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(opened), &mut text).unwrap();
        assert_eq!(text, "x");
        assert_eq!(rmdir_at(dir.as_fd(), run), Err(libc::ENOTEMPTY));
        std::fs::remove_file(base.join("r1/f")).unwrap();
        assert_eq!(rmdir_at(dir.as_fd(), run), Ok(()));
        assert_eq!(rmdir_at(dir.as_fd(), run), Err(libc::ENOENT));
        assert_eq!(
            open_at(dir.as_fd(), file, libc::O_RDONLY).err(),
            Some(libc::ENOENT)
        );
        std::fs::remove_dir(&base).unwrap();
    }
}
