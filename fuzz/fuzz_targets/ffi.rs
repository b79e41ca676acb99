//! The C entry points with hostile arguments: NULL monitors, names and pointers;
//! empty, non-UTF-8 and garbage names; NULL and empty argv; env entries without
//! '='; odd cwds, uids and gids; NaN, infinite, negative, tiny and huge durations;
//! and random sequences of calls on one monitor (fresh for each input). No call
//! may panic (the panic boundary would answer PROCMON_ERR_INTERNAL; libFuzzer
//! aborts on the panic itself), return an unknown code, hang, or touch memory it
//! should not (the target is built with AddressSanitizer).
//!
//! No real program is ever run: every program is a path under a directory that
//! does not exist, or a name that no directory of PATH holds, so a spawn only
//! clones, fails to exec and is reported as SPAWN_FAILED.
#![no_main]

use libfuzzer_sys::fuzz_target;
use procmon::ffi::*;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

/// Reads the input front to back; past its end, every read is 0.
struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = usize::from(self.byte()) % (max + 1);
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head.to_vec()
    }

    fn u64(&mut self) -> u64 {
        let mut v = 0u64;
        for _ in 0..8 {
            v = v << 8 | u64::from(self.byte());
        }
        v
    }

    /// A duration in seconds: mostly the interesting ones, sometimes any bits.
    fn seconds(&mut self) -> f64 {
        const SPECIAL: [f64; 16] = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            -1.0,
            -1e-300,
            5e-324,
            1e-9,
            0.001,
            0.5,
            3.0,
            1e9,
            1e18,
            1e300,
            f64::MAX,
        ];
        let b = self.byte();
        if b < 200 {
            SPECIAL[usize::from(b) % SPECIAL.len()]
        } else {
            f64::from_bits(self.u64())
        }
    }

    /// A C string (cut at the first NUL): a few fixed names, so that calls meet
    /// the processes added before them, or arbitrary bytes (non-UTF-8 included).
    fn name(&mut self) -> CString {
        const NAMES: [&[u8]; 7] = [
            b"a",
            b"b",
            b"",
            b"\xff\xfe",
            b"caf\xc3\xa9",
            b"a b",
            b"'\"\\",
        ];
        let b = self.byte();
        let bytes = if b < 200 {
            NAMES[usize::from(b) % NAMES.len()].to_vec()
        } else {
            self.bytes(40)
        };
        cstring(bytes)
    }

    /// A program that cannot exist: under a missing directory, or (to exercise
    /// the PATH search) a name no directory of PATH holds; or empty.
    fn program(&mut self) -> CString {
        let mut tail: Vec<u8> = self
            .bytes(24)
            .into_iter()
            .map(|b| if b == b'/' { b'_' } else { b })
            .collect();
        let mut path = match self.byte() % 4 {
            0 => b"/nonexistent/procmon-fuzz/".to_vec(),
            1 => b"procmon-fuzz-not-in-path-".to_vec(),
            2 => b"/nonexistent/procmon-fuzz/dir/".to_vec(),
            _ => return CString::default(),
        };
        path.append(&mut tail);
        cstring(path)
    }
}

fn cstring(mut bytes: Vec<u8>) -> CString {
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(nul);
    }
    CString::new(bytes).expect("no NUL left")
}

/// A NULL-terminated array of C strings, owning what it points to.
struct List {
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl List {
    fn new(strings: Vec<CString>) -> List {
        let mut pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        pointers.push(ptr::null());
        List {
            _strings: strings,
            pointers,
        }
    }
}

const CODES: [c_int; 7] = [
    procmon_error_t::PROCMON_OK as c_int,
    procmon_error_t::PROCMON_ERR_INVALID as c_int,
    procmon_error_t::PROCMON_ERR_EXISTS as c_int,
    procmon_error_t::PROCMON_ERR_NOT_FOUND as c_int,
    procmon_error_t::PROCMON_ERR_STATE as c_int,
    procmon_error_t::PROCMON_ERR_SYSTEM as c_int,
    procmon_error_t::PROCMON_ERR_INTERNAL as c_int,
];

/// Every call's answer: a known code, never INTERNAL (a panic caught at the
/// boundary); after an error, a readable last error.
fn check(code: c_int, call: &str) {
    assert!(CODES.contains(&code), "{call}: unknown code {code}");
    assert_ne!(
        code,
        procmon_error_t::PROCMON_ERR_INTERNAL as c_int,
        "{call}: internal error"
    );
    if code != 0 {
        let message = procmon_last_error();
        assert!(!message.is_null(), "{call}: failed without a last error");
        // SAFETY: procmon_last_error returns a NUL-terminated string.
        let _ = unsafe { CStr::from_ptr(message) }.to_bytes().len();
    }
}

unsafe extern "C" fn on_line(
    userdata: *mut c_void,
    name: *const c_char,
    _stream: procmon_stream_t,
    line: *const c_char,
    len: usize,
) {
    assert_eq!(userdata as usize, 0x5eed);
    // SAFETY: the callback's contract: a NUL-terminated name, `len` bytes and a NUL.
    unsafe {
        let _ = CStr::from_ptr(name).to_bytes();
        assert_eq!(*line.add(len), 0);
    }
}

unsafe extern "C" fn on_event(userdata: *mut c_void, event: *const procmon_event_t) {
    assert_eq!(userdata as usize, 0x5eed);
    // SAFETY: the callback's contract: a valid event with a NUL-terminated name.
    unsafe {
        let event = &*event;
        let _ = CStr::from_ptr(event.name).to_bytes();
        if event.kind == procmon_event_kind_t::PROCMON_EVENT_STARTED {
            panic!("a process was started: the fuzz target must never run a program");
        }
    }
}

fn add_process(pm: *mut procmon_t, input: &mut Input) {
    let name = input.name();
    let shape = input.byte();
    // argv: NULL, empty, or a program and up to 3 arguments of any bytes.
    let argv = List::new(match shape % 8 {
        0 | 1 => Vec::new(),
        n => {
            let mut argv = vec![input.program()];
            for _ in 0..(n - 2).min(3) {
                argv.push(cstring(input.bytes(16)));
            }
            argv
        }
    });
    let argv_ptr = if shape % 8 == 0 {
        ptr::null()
    } else {
        argv.pointers.as_ptr()
    };
    // env: NULL (inherit), or entries with and without '='.
    let env_kind = input.byte();
    let env = List::new(
        (0..env_kind % 4)
            .map(|_| {
                let mut entry = input.bytes(16);
                if env_kind & 4 != 0 {
                    entry.insert(0, b'=');
                    entry.insert(0, b'K');
                }
                cstring(entry)
            })
            .collect(),
    );
    let cwd = cstring(input.bytes(16));
    let ids = [
        -1i64,
        0,
        1,
        65534,
        i64::from(u32::MAX),
        i64::from(u32::MAX) + 1,
        i64::MIN,
        i64::MAX,
    ];
    let opts = procmon_process_options_t {
        env: if env_kind & 8 != 0 {
            env.pointers.as_ptr()
        } else {
            ptr::null()
        },
        cwd: if env_kind & 16 != 0 {
            cwd.as_ptr()
        } else {
            ptr::null()
        },
        uid: ids[usize::from(input.byte()) % ids.len()],
        gid: ids[usize::from(input.byte()) % ids.len()],
        stop_process_group: env_kind & 32 != 0,
    };
    let opts_ptr: *const procmon_process_options_t =
        if shape & 8 != 0 { &opts } else { ptr::null() };
    let name_ptr = if shape & 16 != 0 {
        ptr::null()
    } else {
        name.as_ptr()
    };
    check(
        procmon_add_process(pm, name_ptr, argv_ptr, opts_ptr),
        "add_process",
    );
}

/// A spec built by a random sequence of setters with hostile values, then added
/// (sometimes as NULL, sometimes under a NULL name).
fn add_with_spec(pm: *mut procmon_t, input: &mut Input) {
    let name = input.name();
    let (spec, shape) = spec_from(input);
    let name_ptr = if shape & 16 != 0 {
        ptr::null()
    } else {
        name.as_ptr()
    };
    check(procmon_add(pm, name_ptr, spec), "add");
    procmon_spec_free(spec);
}

/// procmon_add_many with up to 4 entries: names as `add_with_spec` makes them
/// (NULL among them sometimes, duplicates often), specs from `spec_from` (NULL
/// sometimes, one spec for several names sometimes), and sometimes NULL arrays.
fn add_many(pm: *mut procmon_t, input: &mut Input) {
    let n = usize::from(input.byte() % 5);
    let names: Vec<CString> = (0..n).map(|_| input.name()).collect();
    let mut owned = Vec::new();
    let mut specs: Vec<*const procmon_spec_t> = Vec::new();
    let mut name_ptrs: Vec<*const c_char> = Vec::new();
    for name in &names {
        let shape = input.byte();
        name_ptrs.push(if shape & 1 != 0 && shape & 2 != 0 {
            ptr::null()
        } else {
            name.as_ptr()
        });
        if shape & 4 != 0 && !owned.is_empty() {
            specs.push(owned[0] as *const procmon_spec_t);
        } else {
            let (spec, _) = spec_from(input);
            owned.push(spec);
            specs.push(spec);
        }
    }
    let arrays = input.byte();
    let names_ptr = if arrays & 1 != 0 {
        ptr::null()
    } else {
        name_ptrs.as_ptr()
    };
    let specs_ptr = if arrays & 2 != 0 {
        ptr::null()
    } else {
        specs.as_ptr()
    };
    check(procmon_add_many(pm, n, names_ptr, specs_ptr), "add_many");
    for spec in owned {
        procmon_spec_free(spec);
    }
}

/// A spec made from the input by a random sequence of setters (NULL when
/// procmon_spec_new refuses the argv), and the shape byte it was made with.
fn spec_from(input: &mut Input) -> (*mut procmon_spec_t, u8) {
    let shape = input.byte();
    let argv = List::new(match shape % 6 {
        0 => Vec::new(),
        n => {
            let mut argv = vec![input.program()];
            for _ in 1..n.min(3) {
                argv.push(cstring(input.bytes(16)));
            }
            argv
        }
    });
    let argv_ptr = if shape & 8 != 0 {
        ptr::null()
    } else {
        argv.pointers.as_ptr()
    };
    let spec = procmon_spec_new(argv_ptr);
    let ints = [
        -1,
        0,
        1,
        2,
        3,
        4,
        9,
        15,
        19,
        64,
        65,
        i32::MIN,
        i32::MAX,
        7,
        16,
        99,
    ];
    let limits = [0, 1, 1024, u64::MAX, u64::MAX - 1, 1 << 40];
    for _ in 0..input.byte() % 12 {
        let int = ints[usize::from(input.byte()) % ints.len()];
        let rc = match input.byte() % 13 {
            0 => {
                let env = List::new(
                    (0..input.byte() % 3)
                        .map(|_| cstring(input.bytes(12)))
                        .collect(),
                );
                let list = if input.byte() & 1 != 0 {
                    ptr::null()
                } else {
                    env.pointers.as_ptr()
                };
                procmon_spec_set_env(spec, list)
            }
            1 => {
                let (key, value) = (cstring(input.bytes(8)), cstring(input.bytes(8)));
                let value = if input.byte() & 1 != 0 {
                    ptr::null()
                } else {
                    value.as_ptr()
                };
                procmon_spec_set_env_var(spec, key.as_ptr(), value)
            }
            2 => {
                let cwd = cstring(input.bytes(16));
                let cwd = if input.byte() & 1 != 0 {
                    ptr::null()
                } else {
                    cwd.as_ptr()
                };
                procmon_spec_set_cwd(spec, cwd)
            }
            3 => procmon_spec_set_user(spec, i64::from(int), i64::from(int) << 20),
            4 => procmon_spec_set_threshold(spec, input.seconds()),
            5 => procmon_spec_set_kill_time(spec, input.seconds()),
            6 => procmon_spec_set_restart_delays(spec, input.seconds(), input.seconds()),
            7 => procmon_spec_set_stop_signal(spec, int),
            8 => procmon_spec_set_restart(spec, int),
            9 => {
                let codes: Vec<i32> = (0..input.byte() % 4)
                    .map(|_| ints[usize::from(input.byte()) % ints.len()])
                    .collect();
                let (p, n) = match input.byte() % 3 {
                    0 => (ptr::null(), codes.len()),
                    _ => (codes.as_ptr(), codes.len()),
                };
                procmon_spec_set_success_exit_codes(spec, p, n)
            }
            10 => procmon_spec_set_start_limit(spec, int as u32, input.seconds(), input.seconds()),
            11 => {
                let soft = limits[usize::from(input.byte()) % limits.len()];
                let hard = limits[usize::from(input.byte()) % limits.len()];
                procmon_spec_set_rlimit(spec, int, soft, hard)
            }
            _ => procmon_spec_set_containment(spec, int),
        };
        if spec.is_null() {
            assert_eq!(
                rc,
                procmon_error_t::PROCMON_ERR_INVALID as c_int,
                "a setter took a NULL spec"
            );
        }
        check(rc, "a spec setter");
    }
    (spec, shape)
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input { data };
    let pm = procmon_new();
    assert!(!pm.is_null(), "procmon_new failed");
    for _ in 0..64 {
        if input.data.is_empty() {
            break;
        }
        let op = input.byte();
        // One call in eight on a NULL monitor: every entry point must refuse it.
        let target = if op & 0x80 != 0 && op & 0x40 != 0 && op & 0x20 != 0 {
            ptr::null_mut()
        } else {
            pm
        };
        match op % 24 {
            23 => add_many(target, &mut input),
            20 => add_with_spec(target, &mut input),
            21 => {
                let name = input.name();
                let signal = [0, 1, 9, 15, 64, 65, -1, 1000][usize::from(input.byte()) % 8];
                let whole = input.byte() & 1 != 0;
                check(
                    procmon_signal_process(target, name.as_ptr(), signal, whole),
                    "signal_process",
                );
            }
            22 => {
                // Never a root that exists: the target must not make cgroups.
                let root: &[u8] = match input.byte() % 4 {
                    0 => b"",
                    1 => b"relative/procmon-fuzz",
                    2 => b"/nonexistent/procmon-fuzz/root",
                    _ => b"/nonexistent/procmon-fuzz",
                };
                let root = cstring(root.to_vec());
                let root = if input.byte() & 1 != 0 {
                    ptr::null()
                } else {
                    root.as_ptr()
                };
                check(procmon_set_cgroup_root(target, root), "set_cgroup_root");
            }
            0 => check(
                procmon_set_threshold(target, input.seconds()),
                "set_threshold",
            ),
            1 => check(
                procmon_set_kill_time(target, input.seconds()),
                "set_kill_time",
            ),
            2 => check(
                procmon_set_min_restart_delay(target, input.seconds()),
                "set_min_restart_delay",
            ),
            3 => check(
                procmon_set_max_restart_delay(target, input.seconds()),
                "set_max_restart_delay",
            ),
            4 | 5 => add_process(target, &mut input),
            6 => {
                let name = input.name();
                check(
                    procmon_remove_process(target, name.as_ptr()),
                    "remove_process",
                );
            }
            7 => {
                let name = input.name();
                check(
                    procmon_start_process(target, name.as_ptr()),
                    "start_process",
                );
            }
            8 => {
                let name = input.name();
                check(procmon_stop_process(target, name.as_ptr()), "stop_process");
            }
            9 => check(procmon_restart_all(target), "restart_all"),
            10 => check(procmon_start(target), "start"),
            11 => check(procmon_stop(target), "stop"),
            12 => {
                let name = input.name();
                let mut pid = -7;
                let out = if input.byte() & 1 != 0 {
                    ptr::null_mut()
                } else {
                    &mut pid as *mut i32
                };
                check(
                    procmon_process_pid(target, name.as_ptr(), out),
                    "process_pid",
                );
            }
            13 => {
                let name = input.name();
                let mut info = std::mem::MaybeUninit::<procmon_process_info_t>::zeroed();
                let out = if input.byte() & 1 != 0 {
                    ptr::null_mut()
                } else {
                    info.as_mut_ptr()
                };
                check(
                    procmon_process_info(target, name.as_ptr(), out),
                    "process_info",
                );
            }
            14 => {
                let text = procmon_describe(target);
                if text.is_null() {
                    assert!(target.is_null(), "describe failed on a live monitor");
                } else {
                    // SAFETY: a NUL-terminated string from procmon_describe.
                    let _ = unsafe { CStr::from_ptr(text) }.to_bytes().len();
                    procmon_string_free(text);
                }
            }
            15 => {
                let cb: procmon_log_fn = (input.byte() & 1 == 0).then_some(on_line);
                let rc = procmon_set_log_callback(target, cb, 0x5eed as *mut c_void);
                check(rc, "set_log_callback");
            }
            16 => {
                let cb: procmon_event_fn = (input.byte() & 1 == 0).then_some(on_event);
                let rc = procmon_set_event_callback(target, cb, 0x5eed as *mut c_void);
                check(rc, "set_event_callback");
            }
            17 => {
                let code = input.u64() as c_int;
                let text = procmon_strerror(code);
                if !text.is_null() {
                    // SAFETY: a static NUL-terminated string.
                    let _ = unsafe { CStr::from_ptr(text) }.to_bytes().len();
                }
            }
            18 => {
                procmon_string_free(ptr::null_mut());
                // SAFETY: static NUL-terminated strings.
                let _ = unsafe { CStr::from_ptr(procmon_version()) }
                    .to_bytes()
                    .len();
            }
            _ => {
                // A NULL name (and NULL monitor sometimes) everywhere a name goes.
                check(
                    procmon_start_process(target, ptr::null()),
                    "start_process(NULL)",
                );
                check(
                    procmon_stop_process(target, ptr::null()),
                    "stop_process(NULL)",
                );
                check(
                    procmon_remove_process(target, ptr::null()),
                    "remove_process(NULL)",
                );
                let mut pid = 0;
                check(
                    procmon_process_pid(target, ptr::null(), &mut pid),
                    "process_pid(NULL)",
                );
            }
        }
    }
    procmon_free(pm);
    procmon_free(ptr::null_mut());
});
