//! cgroup v2 for containment: finding the hierarchy this process lives in,
//! the root under which a monitor makes a directory of its own, one cgroup per
//! run, and the cleanup of what a monitor that died left under that root.
//!
//! Layout: `<root>/m<pid>.<start>.<n>/r<run>`: `<pid>` and `<start>` (its start
//! time in clock ticks since boot, from `/proc/<pid>/stat`) name the monitor's
//! process, so another monitor can tell a live owner from a dead one whose pid
//! was reused; `<n>` tells apart the monitors of one process.
//!
//! The default root is `procmon` under this process's own cgroup, found from
//! `/proc/self/cgroup` (its `0::` line) and `/proc/self/mountinfo` (the cgroup2
//! mount): no path is assumed. Nothing here needs a controller; creating a child
//! cgroup and starting (or moving) a process in it does not.

use crate::error::{Error, Result};
use crate::sys;
use std::ffi::CString;
use std::fs;
use std::io::{ErrorKind as IoKind, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The errno of an I/O error (EIO when it has none).
fn errno(error: &std::io::Error) -> i32 {
    error.raw_os_error().unwrap_or(libc::EIO)
}

/// The default root: `procmon` under this process's cgroup on the cgroup2 mount.
pub fn default_root() -> Result<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| Error::system("reading /proc/self/cgroup", errno(&e)))?;
    let path = own
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or_else(|| Error::state("no cgroup v2: /proc/self/cgroup has no 0:: line"))?;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::system("reading /proc/self/mountinfo", errno(&e)))?;
    let (mount, mount_root) = cgroup2_mount(&mountinfo)
        .ok_or_else(|| Error::state("no cgroup v2: no cgroup2 file system is mounted"))?;
    // The mount shows the hierarchy from `mount_root` on (a container's view).
    let relative = Path::new(path)
        .strip_prefix(&mount_root)
        .unwrap_or(Path::new(path).strip_prefix("/").unwrap_or(Path::new(path)));
    Ok(mount.join(relative).join("procmon"))
}

/// The mount point and root of the first cgroup2 mount in a mountinfo text.
fn cgroup2_mount(mountinfo: &str) -> Option<(PathBuf, PathBuf)> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split(' ').next()? != "cgroup2" {
            return None;
        }
        let fields: Vec<&str> = left.split(' ').collect();
        let unescape = |s: &str| s.replace("\\040", " ");
        Some((
            PathBuf::from(unescape(fields.get(4)?)),
            PathBuf::from(unescape(fields.get(3)?)),
        ))
    })
}

/// Whether `path` is on a cgroup2 file system.
fn on_cgroup2(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    crate::sys::statfs_type(&c_path) == Ok(CGROUP2_SUPER_MAGIC)
}

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Checks that `root` can serve as a root: absolute, on cgroup v2, and a
/// directory this process can make cgroups in (made if missing, when its
/// parent is a cgroup). The error says which of these fails.
pub fn check_root(root: &Path) -> Result<()> {
    if !root.is_absolute() {
        return Err(Error::invalid(format!(
            "the cgroup root {root:?} is not an absolute path"
        )));
    }
    if !root.exists() {
        let parent = root.parent().unwrap_or(root);
        if !parent.is_dir() || !on_cgroup2(parent) {
            return Err(Error::invalid(format!(
                "the cgroup root {root:?} does not exist (nor is its parent a cgroup v2 directory)"
            )));
        }
        if let Err(e) = fs::create_dir(root) {
            if e.kind() != IoKind::AlreadyExists {
                return Err(Error::invalid(format!(
                    "the cgroup root {root:?} cannot be made: {e}"
                )));
            }
        }
    }
    if !on_cgroup2(root) {
        return Err(Error::invalid(format!(
            "the cgroup root {root:?} is not on a cgroup v2 file system"
        )));
    }
    // Writable: a directory can be made in it (as a cgroup is).
    let probe = root.join(format!(".probe-{}", std::process::id()));
    match fs::create_dir(&probe) {
        Ok(()) => {
            let _ = fs::remove_dir(&probe);
            Ok(())
        }
        Err(e) if e.kind() == IoKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::invalid(format!(
            "the cgroup root {root:?} is not writable: {e}"
        ))),
    }
}

/// This process's start time, in clock ticks since boot (`/proc/<pid>/stat`,
/// field 22): with the pid, it names a process for good.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold spaces and parentheses: count from the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

/// The directory a monitor makes its runs' cgroups in, and an open descriptor
/// of it: each run's cgroup is reached by its name in it (`r<run>`), a lookup
/// of one or two names instead of the whole path. Each run's [`Cgroup`] holds
/// it: a monitor given a new root keeps the old directory while cgroups of its
/// runs are in it, and removes it with the last.
pub struct MonitorDir {
    path: PathBuf,
    fd: OwnedFd,
}

static MONITORS: AtomicU64 = AtomicU64::new(0);

impl MonitorDir {
    /// Makes this monitor's directory under `root` (checked already), after
    /// emptying and removing what dead monitors left there.
    pub fn create(root: &Path) -> Result<Arc<MonitorDir>, i32> {
        remove_stale(root);
        let pid = std::process::id();
        let start = start_time(pid).unwrap_or(0);
        let n = MONITORS.fetch_add(1, Ordering::Relaxed);
        let path = root.join(format!("m{pid}.{start}.{n}"));
        fs::create_dir(&path).map_err(|e| errno(&e))?;
        match open_dir(&path) {
            Ok(fd) => Ok(Arc::new(MonitorDir { path, fd })),
            Err(errno) => {
                let _ = fs::remove_dir(&path);
                Err(errno)
            }
        }
    }

    /// Makes run `run`'s cgroup, and opens its directory (`O_DIRECTORY`,
    /// close-on-exec) for the spawn to start the child in (closed after the
    /// spawn: no descriptor per child).
    pub fn make_run(self: &Arc<Self>, run: u64) -> Result<(Cgroup, fs::File), i32> {
        let cgroup = Cgroup {
            monitor: Arc::clone(self),
            run,
        };
        let name = cgroup.name();
        match sys::mkdir_at(self.fd.as_fd(), &name, 0o755) {
            // EEXIST: left by a spawn that failed after making it: empty, reuse it.
            Ok(()) | Err(libc::EEXIST) => {}
            Err(errno) => return Err(errno),
        }
        match sys::open_at(self.fd.as_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY) {
            Ok(dir) => Ok((cgroup, fs::File::from(dir))),
            Err(errno) => {
                cgroup.remove();
                Err(errno)
            }
        }
    }
}

impl Drop for MonitorDir {
    fn drop(&mut self) {
        // The last run's cgroup is gone (each holds this directory), unless
        // one was dropped without its removal: emptied and removed here.
        for entry in fs::read_dir(&self.path).into_iter().flatten().flatten() {
            empty_and_remove(&entry.path());
        }
        let _ = fs::remove_dir(&self.path);
    }
}

/// A run's cgroup: `r<run>` in its monitor's directory.
pub struct Cgroup {
    monitor: Arc<MonitorDir>,
    run: u64,
}

impl Cgroup {
    /// Its directory's name in the monitor's: `r<run>`.
    fn name(&self) -> CString {
        CString::new(format!("r{}", self.run)).expect("no NUL in a number")
    }

    /// Opens one of its files (`r<run>/<file>` in the monitor's directory).
    fn open(&self, file: &str, flags: i32) -> Option<fs::File> {
        open_file(
            self.monitor.fd.as_fd(),
            &format!("r{}/{file}", self.run),
            flags,
        )
    }

    pub fn path(&self) -> PathBuf {
        self.monitor.path.join(format!("r{}", self.run))
    }

    /// Whether a process is left in it (`populated` of `cgroup.events`).
    pub fn populated(&self) -> bool {
        populated_through(|file, flags| self.open(file, flags))
    }

    /// `cgroup.events`, to watch for the change to empty (POLLPRI).
    pub fn events(&self) -> Option<fs::File> {
        self.open("cgroup.events", libc::O_RDONLY)
    }

    /// Sends `signo` to every process in it; KILL through `cgroup.kill`, which
    /// reaches every one at once, forks in flight included. True if any was sent.
    pub fn signal(&self, signo: i32) -> bool {
        signal_through(|file, flags| self.open(file, flags), signo)
    }

    /// Removes the (empty) cgroup.
    pub fn remove(self) {
        let _ = sys::rmdir_at(self.monitor.fd.as_fd(), &self.name());
    }

    /// Removes the cgroup if no process is in it, in one call: the kernel
    /// refuses the rmdir (EBUSY) of a populated cgroup. True if it is gone
    /// (removed now, or before); false if it stays (busy, or the rmdir failed
    /// for another reason: then `populated` says which).
    pub fn remove_if_empty(&self) -> bool {
        matches!(
            sys::rmdir_at(self.monitor.fd.as_fd(), &self.name()),
            Ok(()) | Err(libc::ENOENT)
        )
    }
}

/// Opens a directory (`O_DIRECTORY`, close-on-exec).
fn open_dir(path: &Path) -> Result<OwnedFd, i32> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|e| errno(&e))
}

/// Opens the file `name` of the directory `dir` (close-on-exec).
fn open_file(dir: BorrowedFd<'_>, name: &str, flags: i32) -> Option<fs::File> {
    let name = CString::new(name).ok()?;
    sys::open_at(dir, &name, flags).ok().map(fs::File::from)
}

/// Whether a process is in the cgroup whose files `open` opens (false if gone).
fn populated_through(open: impl Fn(&str, i32) -> Option<fs::File>) -> bool {
    open("cgroup.events", libc::O_RDONLY).is_some_and(|mut events| populated_of(&mut events))
}

/// Reads `populated` from an open `cgroup.events` (from its start).
fn populated_of(file: &mut fs::File) -> bool {
    let mut text = String::new();
    if file.seek(SeekFrom::Start(0)).is_err() || file.read_to_string(&mut text).is_err() {
        return false;
    }
    text.lines().any(|line| line == "populated 1")
}

/// Sends `signo` to every process of a cgroup whose files `open` opens.
fn signal_through(open: impl Fn(&str, i32) -> Option<fs::File>, signo: i32) -> bool {
    if signo == libc::SIGKILL {
        if let Some(mut kill) = open("cgroup.kill", libc::O_WRONLY) {
            if kill.write_all(b"1").is_ok() {
                return true;
            }
        }
    }
    let mut procs = String::new();
    let Some(mut file) = open("cgroup.procs", libc::O_RDONLY) else {
        return false;
    };
    if file.read_to_string(&mut procs).is_err() {
        return false;
    }
    let mut sent = false;
    for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        sent |= sys::send_pid_signal(pid, signo) == Ok(true);
    }
    sent
}

/// KILLs what is in the cgroup `dir` (not, or no longer, a run's: a dead
/// monitor's, or left at a monitor's end), waits (a bounded time) for it to
/// empty, removes it.
fn empty_and_remove(dir: &Path) {
    if let Ok(fd) = open_dir(dir) {
        let open = |file: &str, flags| open_file(fd.as_fd(), file, flags);
        if populated_through(open) {
            signal_through(open, libc::SIGKILL);
            let deadline = Instant::now() + Duration::from_secs(5);
            while populated_through(open) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

/// Empties and removes the directories under `root` of monitors whose process
/// is gone (a monitor SIGKILLed with children alive).
fn remove_stale(root: &Path) {
    for entry in fs::read_dir(root).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(parse_monitor_dir) else {
            continue;
        };
        if start_time(owner.0) == Some(owner.1) {
            continue; // alive
        }
        let dir = entry.path();
        for run in fs::read_dir(&dir).into_iter().flatten().flatten() {
            if run.path().is_dir() {
                empty_and_remove(&run.path());
            }
        }
        let _ = fs::remove_dir(&dir);
    }
}

/// `m<pid>.<start>.<n>` → (pid, start).
fn parse_monitor_dir(name: &str) -> Option<(u32, u64)> {
    let mut parts = name.strip_prefix('m')?.split('.');
    let pid = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u64>().ok()?;
    Some((pid, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount_among_v1_ones() {
        let mountinfo = "\
25 30 0:23 / /sys/fs/cgroup rw - tmpfs tmpfs rw
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
27 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";
        let (mount, root) = cgroup2_mount(mountinfo).unwrap();
        assert_eq!(mount, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(root, Path::new("/"));
        assert_eq!(cgroup2_mount("1 2 0:1 / / rw - ext4 /dev/x rw\n"), None);
    }

    #[test]
    fn monitor_dir_names() {
        assert_eq!(parse_monitor_dir("m12.345.0"), Some((12, 345)));
        assert_eq!(parse_monitor_dir("m12.345"), None);
        assert_eq!(parse_monitor_dir("r3"), None);
        assert!(start_time(std::process::id()).is_some());
    }
}
