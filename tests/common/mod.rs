//! Helpers shared by the integration tests of the C API: C strings and arrays,
//! a recorder of callbacks, a monitor fixture, and polling with a deadline.
#![allow(dead_code)]

use procmon::ffi::*;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// How long any condition may take to come true: generous, the machine is shared.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The small settings every fixture starts with.
pub const MIN_RESTART_DELAY: f64 = 0.05;
pub const THRESHOLD: f64 = 0.5;
pub const KILL_TIME: f64 = 0.3;

/// Polls `cond` until it holds or `deadline` has passed; returns whether it held.
pub fn wait_until(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return cond();
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Polls `cond` for `window`; returns true if it never held. For the rare
/// "this must not happen" checks, after the positive facts were waited for.
pub fn stays_false(window: Duration, mut cond: impl FnMut() -> bool) -> bool {
    !wait_until(window, &mut cond)
}

/// Runs `f` on its own thread and returns its result, or None if it did not
/// finish within `deadline` (a deadlock then fails the test instead of hanging it).
pub fn within<T: Send + 'static>(
    deadline: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(deadline).ok()
}

pub fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL in a test string")
}

pub fn cb(bytes: &[u8]) -> CString {
    CString::new(bytes.to_vec()).expect("no NUL in a test string")
}

/// A NULL-terminated array of C strings, as argv and env are passed.
pub struct CList {
    _strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CList {
    pub fn new(items: &[&str]) -> CList {
        CList::from_bytes(&items.iter().map(|s| s.as_bytes()).collect::<Vec<_>>())
    }

    pub fn from_bytes(items: &[&[u8]]) -> CList {
        let strings: Vec<CString> = items.iter().map(|s| cb(s)).collect();
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        CList {
            _strings: strings,
            ptrs,
        }
    }

    pub fn as_ptr(&self) -> *const *const c_char {
        self.ptrs.as_ptr()
    }
}

/// The calling thread's procmon_last_error(), copied.
pub fn last_error() -> String {
    let ptr = procmon_last_error();
    assert!(!ptr.is_null(), "procmon_last_error() returned NULL");
    // SAFETY: the library returns a NUL-terminated string valid until the next call.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

pub const OK: c_int = procmon_error_t::PROCMON_OK as c_int;
pub const ERR_INVALID: c_int = procmon_error_t::PROCMON_ERR_INVALID as c_int;
pub const ERR_EXISTS: c_int = procmon_error_t::PROCMON_ERR_EXISTS as c_int;
pub const ERR_NOT_FOUND: c_int = procmon_error_t::PROCMON_ERR_NOT_FOUND as c_int;
pub const ERR_STATE: c_int = procmon_error_t::PROCMON_ERR_STATE as c_int;
pub const ERR_SYSTEM: c_int = procmon_error_t::PROCMON_ERR_SYSTEM as c_int;
pub const ERR_INTERNAL: c_int = procmon_error_t::PROCMON_ERR_INTERNAL as c_int;

/// Whether a process with this pid exists (a zombie counts: it is not reaped).
pub fn process_exists(pid: i32) -> bool {
    assert!(pid > 0, "not a pid: {pid}");
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether a process with this pid is alive (a zombie is not: it has ended, and
/// a grandchild's zombie is for its new parent, not procmon, to reap).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command, which is in parentheses.
        Ok(stat) => match stat.rsplit_once(')') {
            Some((_, rest)) => !rest.trim_start().starts_with(['Z', 'X']),
            None => true,
        },
        Err(_) => false,
    }
}

/// The number of entries in a /proc directory (threads or descriptors).
pub fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .count()
}

/// Names of this process's threads that belong to procmon ("procmon-...").
pub fn procmon_threads() -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let Ok(entry) = entry else { continue };
        if let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) {
            let comm = comm.trim_end().to_string();
            if comm.starts_with("procmon-") {
                names.push(comm);
            }
        }
    }
    names
}

/// A copied lifecycle event.
#[derive(Clone, Debug)]
pub struct Ev {
    pub kind: procmon_event_kind_t,
    pub name: String,
    pub pid: i32,
    pub exit_code: i32,
    pub signal: i32,
    pub error: i32,
    pub uptime: f64,
    pub delay: f64,
}

/// What one callback call delivered.
#[derive(Clone, Debug)]
pub enum Rec {
    Line {
        name: String,
        stream: procmon_stream_t,
        bytes: Vec<u8>,
        /// line[len] == '\0'.
        nul_terminated: bool,
    },
    Event(Ev),
}

impl Rec {
    pub fn name(&self) -> &str {
        match self {
            Rec::Line { name, .. } => name,
            Rec::Event(ev) => &ev.name,
        }
    }
}

/// One recorded callback call, with where and when it ran.
#[derive(Clone, Debug)]
pub struct Stamped {
    pub rec: Rec,
    pub thread: ThreadId,
    pub at: Instant,
}

/// Collects every callback call, in the order they ran. Used as userdata.
#[derive(Default)]
pub struct Recorder {
    pub records: Mutex<Vec<Stamped>>,
}

impl Recorder {
    fn push(&self, rec: Rec) {
        self.records.lock().unwrap().push(Stamped {
            rec,
            thread: thread::current().id(),
            at: Instant::now(),
        });
    }

    pub fn all(&self) -> Vec<Stamped> {
        self.records.lock().unwrap().clone()
    }

    /// The records of one process name, in order.
    pub fn of(&self, name: &str) -> Vec<Rec> {
        self.all()
            .into_iter()
            .map(|s| s.rec)
            .filter(|r| r.name() == name)
            .collect()
    }

    pub fn events(&self, name: &str) -> Vec<Ev> {
        self.of(name)
            .into_iter()
            .filter_map(|r| match r {
                Rec::Event(ev) => Some(ev),
                Rec::Line { .. } => None,
            })
            .collect()
    }

    pub fn events_of_kind(&self, name: &str, kind: procmon_event_kind_t) -> Vec<Ev> {
        self.events(name)
            .into_iter()
            .filter(|ev| ev.kind == kind)
            .collect()
    }

    /// The lines of one name and stream, in order.
    pub fn lines(&self, name: &str, stream: procmon_stream_t) -> Vec<Vec<u8>> {
        self.of(name)
            .into_iter()
            .filter_map(|r| match r {
                Rec::Line {
                    stream: s, bytes, ..
                } if s == stream => Some(bytes),
                _ => None,
            })
            .collect()
    }

    pub fn has_line(&self, name: &str, line: &[u8]) -> bool {
        self.of(name)
            .iter()
            .any(|r| matches!(r, Rec::Line { bytes, .. } if bytes == line))
    }
}

/// Copies one line; `userdata` is a `*const Recorder`.
///
/// # Safety
/// Called by procmon with the arguments of `procmon_log_fn`.
pub unsafe extern "C" fn record_line(
    userdata: *mut c_void,
    name: *const c_char,
    stream: procmon_stream_t,
    line: *const c_char,
    len: usize,
) {
    // SAFETY: the userdata registered with this callback is a live Recorder.
    let recorder = unsafe { &*(userdata as *const Recorder) };
    // SAFETY: by the callback contract `name` is a C string, and `line` holds
    // `len` bytes followed by a NUL, all valid during the call.
    let (name, bytes, terminator) = unsafe {
        (
            CStr::from_ptr(name).to_string_lossy().into_owned(),
            std::slice::from_raw_parts(line.cast::<u8>(), len).to_vec(),
            *line.add(len),
        )
    };
    recorder.push(Rec::Line {
        name,
        stream,
        bytes,
        nul_terminated: terminator == 0,
    });
}

/// Copies one event; `userdata` is a `*const Recorder`.
///
/// # Safety
/// Called by procmon with the arguments of `procmon_event_fn`.
pub unsafe extern "C" fn record_event(userdata: *mut c_void, event: *const procmon_event_t) {
    // SAFETY: the userdata registered with this callback is a live Recorder.
    let recorder = unsafe { &*(userdata as *const Recorder) };
    // SAFETY: the event and its name are valid during the call.
    let ev = unsafe { copy_event(event) };
    recorder.push(Rec::Event(ev));
}

/// Copies a C event.
///
/// # Safety
/// `event` points to an event valid during the call.
pub unsafe fn copy_event(event: *const procmon_event_t) -> Ev {
    // SAFETY: by this function's contract.
    let e = unsafe { &*event };
    Ev {
        kind: e.kind,
        // SAFETY: the name is a C string valid during the call.
        name: unsafe { CStr::from_ptr(e.name) }
            .to_string_lossy()
            .into_owned(),
        pid: e.pid,
        exit_code: e.exit_code,
        signal: e.signal,
        error: e.error,
        uptime: e.uptime,
        delay: e.delay,
    }
}

/// A raw monitor pointer that may cross threads (the C API is thread-safe).
#[derive(Clone, Copy)]
pub struct Shared(pub *mut procmon_t);
// SAFETY: every procmon function may be called from any thread.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    /// The pointer (a method, so that closures capture the whole `Shared`).
    pub fn get(self) -> *mut procmon_t {
        self.0
    }
}

/// A monitor with the small settings and both callbacks recording into `rec`.
/// Freed on drop (before the recorder, which it borrows).
pub struct Fixture {
    pub pm: *mut procmon_t,
    pub rec: Arc<Recorder>,
}

impl Fixture {
    pub fn new() -> Fixture {
        let pm = procmon_new();
        assert!(!pm.is_null(), "procmon_new failed: {}", last_error());
        let rec = Arc::new(Recorder::default());
        let ud = Arc::as_ptr(&rec) as *mut c_void;
        assert_eq!(procmon_set_min_restart_delay(pm, MIN_RESTART_DELAY), OK);
        assert_eq!(procmon_set_threshold(pm, THRESHOLD), OK);
        assert_eq!(procmon_set_kill_time(pm, KILL_TIME), OK);
        assert_eq!(procmon_set_log_callback(pm, Some(record_line), ud), OK);
        assert_eq!(procmon_set_event_callback(pm, Some(record_event), ud), OK);
        Fixture { pm, rec }
    }

    pub fn add(&self, name: &str, argv: &[&str]) -> c_int {
        let argv = CList::new(argv);
        procmon_add_process(self.pm, c(name).as_ptr(), argv.as_ptr(), std::ptr::null())
    }

    pub fn add_opts(&self, name: &str, argv: &[&str], opts: &procmon_process_options_t) -> c_int {
        let argv = CList::new(argv);
        procmon_add_process(self.pm, c(name).as_ptr(), argv.as_ptr(), opts)
    }

    /// `sh -c script`.
    pub fn add_sh(&self, name: &str, script: &str) -> c_int {
        self.add(name, &["sh", "-c", script])
    }

    pub fn pid(&self, name: &str) -> Result<i32, c_int> {
        let mut pid = -77;
        match procmon_process_pid(self.pm, c(name).as_ptr(), &mut pid) {
            OK => Ok(pid),
            code => Err(code),
        }
    }

    pub fn info(&self, name: &str) -> Result<procmon_process_info_t, c_int> {
        let mut info = std::mem::MaybeUninit::<procmon_process_info_t>::uninit();
        match procmon_process_info(self.pm, c(name).as_ptr(), info.as_mut_ptr()) {
            // SAFETY: written on success.
            OK => Ok(unsafe { info.assume_init() }),
            code => Err(code),
        }
    }

    pub fn describe(&self) -> String {
        describe(self.pm)
    }

    /// The monitor and the recorder, without freeing the monitor: the caller
    /// frees it, and keeps the recorder alive until then.
    pub fn into_parts(self) -> (*mut procmon_t, Arc<Recorder>) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the Arc is moved out exactly once.
        (this.pm, unsafe { std::ptr::read(&this.rec) })
    }

    /// Waits until `name` has a line equal to `line`.
    pub fn wait_line(&self, name: &str, line: &str) -> bool {
        wait_until(DEADLINE, || self.rec.has_line(name, line.as_bytes()))
    }

    /// Waits until `name` has at least `n` events of `kind`.
    pub fn wait_events(&self, name: &str, kind: procmon_event_kind_t, n: usize) -> bool {
        wait_until(DEADLINE, || self.rec.events_of_kind(name, kind).len() >= n)
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        procmon_free(self.pm);
    }
}

/// procmon_describe(), copied and freed.
pub fn describe(pm: *mut procmon_t) -> String {
    let ptr = procmon_describe(pm);
    assert!(!ptr.is_null(), "procmon_describe failed: {}", last_error());
    // SAFETY: a NUL-terminated string from the library, freed right after.
    let text = unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned();
    procmon_string_free(ptr);
    text
}

/// Options that inherit everything.
pub fn inherit() -> procmon_process_options_t {
    procmon_process_options_t {
        env: std::ptr::null(),
        cwd: std::ptr::null(),
        uid: -1,
        gid: -1,
        stop_process_group: false,
    }
}
