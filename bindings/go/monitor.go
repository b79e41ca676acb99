package procmon

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <procmon.h>

// The exported Go trampolines (callbacks.go).
extern void goProcmonLog(uintptr_t handle, char *name, int stream, char *line, size_t len);
extern void goProcmonEvent(uintptr_t handle, procmon_event_t *event);

static void pmgo_log(void *ud, const char *name, procmon_stream_t stream,
                     const char *line, size_t len) {
	goProcmonLog((uintptr_t)ud, (char *)name, (int)stream, (char *)line, len);
}

static void pmgo_event(void *ud, const procmon_event_t *event) {
	goProcmonEvent((uintptr_t)ud, (procmon_event_t *)event);
}

// Each helper makes one API call and, on failure, copies procmon_last_error()
// in the same C call, hence on the same OS thread (it is thread-local). The
// caller frees *err.
static int pmgo_fail(int rc, char **err) {
	if (rc != PROCMON_OK) *err = strdup(procmon_last_error());
	return rc;
}

static procmon_t *pmgo_new(char **err) {
	procmon_t *pm = procmon_new();
	if (pm == NULL) *err = strdup(procmon_last_error());
	return pm;
}

static int pmgo_set_log(procmon_t *pm, uintptr_t h, char **err) {
	return pmgo_fail(procmon_set_log_callback(pm, pmgo_log, (void *)h), err);
}

static int pmgo_set_event(procmon_t *pm, uintptr_t h, char **err) {
	return pmgo_fail(procmon_set_event_callback(pm, pmgo_event, (void *)h), err);
}

enum { PMGO_THRESHOLD, PMGO_KILL_TIME, PMGO_MIN_DELAY, PMGO_MAX_DELAY };

static int pmgo_set(procmon_t *pm, int which, double s, char **err) {
	int rc = PROCMON_ERR_INVALID;
	switch (which) {
	case PMGO_THRESHOLD: rc = procmon_set_threshold(pm, s); break;
	case PMGO_KILL_TIME: rc = procmon_set_kill_time(pm, s); break;
	case PMGO_MIN_DELAY: rc = procmon_set_min_restart_delay(pm, s); break;
	case PMGO_MAX_DELAY: rc = procmon_set_max_restart_delay(pm, s); break;
	}
	return pmgo_fail(rc, err);
}

static int pmgo_add(procmon_t *pm, const char *name, const char *const *argv,
                    const procmon_process_options_t *opts, char **err) {
	return pmgo_fail(procmon_add_process(pm, name, argv, opts), err);
}

enum { PMGO_REMOVE, PMGO_START_PROCESS, PMGO_STOP_PROCESS };

static int pmgo_named(procmon_t *pm, int which, const char *name, char **err) {
	int rc = PROCMON_ERR_INVALID;
	switch (which) {
	case PMGO_REMOVE: rc = procmon_remove_process(pm, name); break;
	case PMGO_START_PROCESS: rc = procmon_start_process(pm, name); break;
	case PMGO_STOP_PROCESS: rc = procmon_stop_process(pm, name); break;
	}
	return pmgo_fail(rc, err);
}

enum { PMGO_RESTART_ALL, PMGO_START, PMGO_STOP };

static int pmgo_all(procmon_t *pm, int which, char **err) {
	int rc = PROCMON_ERR_INVALID;
	switch (which) {
	case PMGO_RESTART_ALL: rc = procmon_restart_all(pm); break;
	case PMGO_START: rc = procmon_start(pm); break;
	case PMGO_STOP: rc = procmon_stop(pm); break;
	}
	return pmgo_fail(rc, err);
}

static int pmgo_pid(procmon_t *pm, const char *name, int32_t *pid, char **err) {
	return pmgo_fail(procmon_process_pid(pm, name, pid), err);
}

static int pmgo_info(procmon_t *pm, const char *name, procmon_process_info_t *info, char **err) {
	return pmgo_fail(procmon_process_info(pm, name, info), err);
}
*/
import "C"

import (
	"context"
	"fmt"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// LogFunc receives one line of a child's output, without its '\n' (a '\r'
// before it is kept). The line is raw bytes, not necessarily UTF-8; the slice
// is a copy the func may keep.
type LogFunc func(name string, stream Stream, line []byte)

// EventFunc receives a lifecycle event.
type EventFunc func(Event)

// Event is a lifecycle event of one process.
type Event struct {
	Kind     EventKind
	Name     string
	Pid      int            // EventStarted, EventExited, EventKilled
	ExitCode int            // EventExited through exit(): its status; otherwise -1
	Signal   syscall.Signal // EventExited through a signal: its number; otherwise 0
	Error    syscall.Errno  // EventSpawnFailed: why (ENOENT, EACCES, ...)
	Uptime   time.Duration  // EventExited: how long the child ran
	Delay    time.Duration  // EventRestartScheduled: the wait before the restart; EventGaveUp: before the retry (0: none)

	// Since libprocmon 0.2, for every process (AddProcess's too):

	Timestamp time.Time     // when it happened (wall clock)
	Flags     ExitFlags     // EventExited: what it says beyond the status; 0 otherwise
	UserCPU   time.Duration // EventExited: the run's user CPU time
	SysCPU    time.Duration // EventExited: the run's system CPU time
	MaxRSSKiB int64         // EventExited: the run's peak resident set in KiB; 0 when unknown
	// Containment is, for EventStarted, how the run is contained
	// (ContainNone, ContainGroup or ContainCgroup: ContainAuto shows what it
	// chose); the zero value, ContainAuto, for the other kinds.
	Containment Containment
	// Detail is, for EventStarted, why the run has less containment than its
	// spec asks (ContainAuto where no cgroup could be made; said once per
	// monitor); "" otherwise.
	Detail string
}

// ProcessInfo is a consistent snapshot of one process.
type ProcessInfo struct {
	State        State
	Pid          int            // 0 unless running or stopping
	Starts       uint64         // successful spawns so far
	Uptime       time.Duration  // of the current run; 0 when not running
	RestartDelay time.Duration  // what the next instant death waits
	LastExitCode int            // of the last run; -1 if none or killed by a signal
	LastSignal   syscall.Signal // of the last run; 0 if none
}

// ProcessOptions are the options of AddProcess. The zero value (like a nil
// *ProcessOptions) inherits everything and stops only the child.
type ProcessOptions struct {
	// Env is the child's environment as "KEY=VALUE" entries. nil inherits
	// the host's environment; a non-nil empty slice gives an empty one.
	Env []string
	// Dir is the child's working directory; "" inherits the host's.
	Dir string
	// UID and GID switch the child to that user and group; nil inherits.
	UID, GID *int
	// StopProcessGroup makes every stop (StopProcess, RemoveProcess,
	// RestartAll, Stop, Close) signal the child's whole process group, so the
	// processes it started are stopped with it.
	StopProcessGroup bool
}

// callbacks is what the library's userdata, a cgo.Handle, refers to: C never
// holds a Go pointer.
type callbacks struct {
	log   atomic.Pointer[LogFunc]
	event atomic.Pointer[EventFunc]
	ready readyWaiters // WaitReady's (readiness.go)
	// thread is the OS thread id of the library's callback thread while a
	// func runs on it (0 otherwise): a call made from inside a func is made on
	// that thread, since a cgo callback keeps its goroutine on it.
	thread atomic.Int32
}

// inCallback reports whether the caller is inside a log or event func.
func (c *callbacks) inCallback() bool {
	t := c.thread.Load()
	return t != 0 && t == int32(syscall.Gettid())
}

// Monitor supervises named child processes. Create it with New and release
// it with Close.
type Monitor struct {
	handle cgo.Handle // refers to cbs; deleted by Close after procmon_free

	mu       sync.Mutex
	idle     sync.Cond    // signalled when inFlight drops to 0 while closing
	pm       *C.procmon_t // nil once Close has begun
	inFlight int          // calls using pm right now
	closing  bool
	freeing  *C.procmon_t // the monitor finishClose frees
	cbs      *callbacks
	closed   chan struct{} // closed once procmon_free has returned
}

// New creates a monitor with the library's defaults (threshold 1 s, kill time
// 5 s, restart delays from 1 s to 3600 s), already running: AddProcess spawns
// at once.
func New() (*Monitor, error) {
	var cerr *C.char
	pm := C.pmgo_new(&cerr)
	if pm == nil {
		return nil, failure("New", C.PROCMON_ERR_SYSTEM, cerr) // NULL has no code: most likely an OS failure
	}
	m := &Monitor{pm: pm, cbs: new(callbacks), closed: make(chan struct{})}
	m.idle.L = &m.mu
	m.handle = cgo.NewHandle(m.cbs)
	return m, nil
}

// failure turns a code and a strdup'ed detail into an *Error, freeing it.
func failure(op string, rc C.int, cerr *C.char) error {
	e := &Error{Op: op, Code: ErrorCode(rc)}
	if cerr != nil {
		e.Detail = C.GoString(cerr)
		C.free(unsafe.Pointer(cerr))
	}
	return e
}

func check(op string, rc C.int, cerr *C.char) error {
	if rc == C.PROCMON_OK {
		return nil
	}
	return failure(op, rc, cerr)
}

func invalid(op, detail string) error {
	return &Error{Op: op, Code: ErrInvalid, Detail: detail}
}

// acquire returns the C monitor for one call, or an error once Close has
// begun; release must follow.
func (m *Monitor) acquire(op string) (*C.procmon_t, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pm == nil {
		return nil, &Error{Op: op, Code: ErrState, Detail: "the monitor is closed", closed: true}
	}
	m.inFlight++
	return m.pm, nil
}

func (m *Monitor) release() {
	m.mu.Lock()
	m.inFlight--
	if m.inFlight == 0 && m.closing {
		m.idle.Broadcast()
	}
	m.mu.Unlock()
}

// Close stops the service, sends TERM to every child and KILL to those still
// alive after the kill time, waits until every child has been reaped and
// every remaining line delivered, and frees the monitor. It blocks for up to
// the kill time; CloseContext bounds that wait. No func is called after it
// returns. Called from inside a log or event func it returns at once, and the
// cleanup completes right after that func returns; another goroutine must
// then not be inside SetLogFunc or SetEventFunc, which wait for that very
// func. Calls made after Close has begun fail with ErrClosed; Close waits for
// the calls in progress. Calling it again (or after CloseContext) returns at
// once, without waiting for the first close; it always returns nil.
func (m *Monitor) Close() error {
	if m.beginClose() {
		m.finishClose()
	}
	return nil
}

// CloseContext closes the monitor as Close does, and waits for that as long
// as ctx allows: it returns nil once the monitor is freed (no func is called
// after that), or ctx.Err() as soon as ctx is done, the close then going on
// in the background (every child is still stopped and reaped, and the monitor
// freed). The close begins even if ctx is already done. Called again, or
// after Close, it waits for the same close. Called from inside a log or event
// func it returns nil at once, as Close does (the cleanup completes when the
// func returns).
func (m *Monitor) CloseContext(ctx context.Context) error {
	first := m.beginClose()
	if m.cbs.inCallback() {
		if first {
			m.finishClose() // procmon_free returns at once on the callback thread
		}
		return nil
	}
	if first {
		if ctx.Done() == nil {
			m.finishClose()
			return nil
		}
		go m.finishClose()
	}
	select {
	case <-m.closed:
		return nil
	default:
	}
	select {
	case <-m.closed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// beginClose makes every later call fail with ErrClosed; it reports whether
// this is the first close, whose caller must then call finishClose.
func (m *Monitor) beginClose() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return false
	}
	m.closing = true
	m.freeing = m.pm
	m.pm = nil // later calls fail with ErrClosed
	return true
}

// finishClose waits for the calls in progress, then frees the monitor.
func (m *Monitor) finishClose() {
	m.mu.Lock()
	pm := m.freeing
	for m.inFlight > 0 {
		m.idle.Wait()
	}
	m.mu.Unlock()
	C.procmon_free(pm)
	// No call of the trampolines starts after procmon_free returns (and one
	// in progress has already looked the handle up), so it can go.
	m.handle.Delete()
	close(m.closed)
}

// await runs call, a C call that cannot be interrupted. With a ctx that can
// be done, call runs on a goroutine of its own and await returns ctx.Err() as
// soon as ctx is done; call then completes in the background and its error
// is dropped. call owns its arguments (copied to C memory beforehand), so the
// caller's may change as soon as await returns.
func await(ctx context.Context, call func() error) error {
	if ctx.Done() == nil {
		return call()
	}
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done:
			return err
		default:
			return ctx.Err()
		}
	}
}

// SetLogFunc sets the func that receives every line of every child; nil
// removes it. When SetLogFunc returns (outside a func), the previous func is
// not running and will not be called again; inside a func it takes effect
// from the next line.
func (m *Monitor) SetLogFunc(f func(name string, stream Stream, line []byte)) {
	var p *LogFunc
	if f != nil {
		lf := LogFunc(f)
		p = &lf
	}
	m.cbs.log.Store(p)
	m.register("SetLogFunc", func(pm *C.procmon_t, cerr **C.char) C.int {
		return C.pmgo_set_log(pm, C.uintptr_t(m.handle), cerr)
	})
}

// SetEventFunc sets the func that receives every lifecycle event; nil
// removes it. Same guarantee as SetLogFunc.
func (m *Monitor) SetEventFunc(f func(Event)) {
	var p *EventFunc
	if f != nil {
		ef := EventFunc(f)
		p = &ef
	}
	m.cbs.event.Store(p)
	m.register("SetEventFunc", func(pm *C.procmon_t, cerr **C.char) C.int {
		return C.pmgo_set_event(pm, C.uintptr_t(m.handle), cerr)
	})
}

// register (re)registers a trampoline with the monitor's one handle. The
// trampoline stays registered and reads the current func on every call; the
// C setter is still called every time for its guarantee: when it returns, no
// call that may have read the previous func is in progress.
func (m *Monitor) register(op string, set func(*C.procmon_t, **C.char) C.int) {
	pm, err := m.acquire(op)
	if err != nil {
		return // closed: no func is called any more anyway
	}
	defer m.release()
	var cerr *C.char
	// It fails only for a NULL monitor, which acquire rules out, or after an
	// internal failure of the library (which then stops everything); there is
	// no error to return.
	if set(pm, &cerr) != C.PROCMON_OK {
		C.free(unsafe.Pointer(cerr))
	}
}

func (m *Monitor) setDuration(op string, which C.int, d time.Duration) error {
	pm, err := m.acquire(op)
	if err != nil {
		return err
	}
	defer m.release()
	var cerr *C.char
	return check(op, C.pmgo_set(pm, which, C.double(d.Seconds()), &cerr), cerr)
}

// SetThreshold sets how long a child must live for its death not to count as
// instant (default 1 s). Negative durations are ErrInvalid.
func (m *Monitor) SetThreshold(d time.Duration) error {
	return m.setDuration("SetThreshold", C.PMGO_THRESHOLD, d)
}

// SetKillTime sets the grace between TERM and KILL (default 5 s).
func (m *Monitor) SetKillTime(d time.Duration) error {
	return m.setDuration("SetKillTime", C.PMGO_KILL_TIME, d)
}

// SetMinRestartDelay sets the first backoff delay, also the delay after a
// reset (default 1 s). A process's delay starts at the value in force when it
// is added.
func (m *Monitor) SetMinRestartDelay(d time.Duration) error {
	return m.setDuration("SetMinRestartDelay", C.PMGO_MIN_DELAY, d)
}

// SetMaxRestartDelay sets the cap of the doubling backoff (default 3600 s).
func (m *Monitor) SetMaxRestartDelay(d time.Duration) error {
	return m.setDuration("SetMaxRestartDelay", C.PMGO_MAX_DELAY, d)
}

// cmem collects C allocations for one call.
type cmem []unsafe.Pointer

func (c *cmem) free() {
	for _, p := range *c {
		C.free(p)
	}
}

// str copies s to C memory; ok is false if s holds a NUL byte.
func (c *cmem) str(s string) (p *C.char, ok bool) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, false
	}
	p = C.CString(s)
	*c = append(*c, unsafe.Pointer(p))
	return p, true
}

// strv copies ss to a NULL-terminated C array; ok is false if an element
// holds a NUL byte.
func (c *cmem) strv(ss []string) (**C.char, bool) {
	size := C.size_t(unsafe.Sizeof((*C.char)(nil)))
	arr := (**C.char)(C.calloc(C.size_t(len(ss)+1), size))
	*c = append(*c, unsafe.Pointer(arr))
	elems := unsafe.Slice(arr, len(ss)+1)
	for i, s := range ss {
		p, ok := c.str(s)
		if !ok {
			return nil, false
		}
		elems[i] = p
	}
	return arr, true
}

func (c *cmem) name(op, name string) (*C.char, error) {
	p, ok := c.str(name)
	if !ok {
		return nil, invalid(op, fmt.Sprintf("the name %q holds a NUL byte", name))
	}
	return p, nil
}

// AddProcess registers the process name (unique, non-empty UTF-8) running
// argv; argv[0] is the program, searched in the host's PATH when it holds no
// '/'. opts may be nil. While the monitor runs, the child has been spawned
// (or its spawn has failed, reported by EventSpawnFailed and retried with
// backoff) when AddProcess returns: it blocks for the spawn (see
// AddProcessContext).
func (m *Monitor) AddProcess(name string, argv []string, opts *ProcessOptions) error {
	return m.AddProcessContext(context.Background(), name, argv, opts)
}

// AddProcessContext is AddProcess with a context for its wait for the spawn.
// If ctx is done before the call, nothing is added and ctx.Err() is returned.
// If ctx is done while the spawn is in progress, it returns ctx.Err() at once,
// and the process is still added and spawned in the background: the monitor
// supervises it from then on (RemoveProcess removes it), and an error of that
// add is not reported. Its arguments are copied before it returns.
func (m *Monitor) AddProcessContext(ctx context.Context, name string, argv []string, opts *ProcessOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	call, err := m.addCall(name, argv, opts)
	if err != nil {
		return err
	}
	return await(ctx, call)
}

// addCall copies AddProcess's arguments to C memory and returns the call,
// which frees it.
func (m *Monitor) addCall(name string, argv []string, opts *ProcessOptions) (call func() error, err error) {
	const op = "AddProcess"
	var mem cmem
	defer func() {
		if err != nil {
			mem.free()
		}
	}()
	cname, err := mem.name(op, name)
	if err != nil {
		return nil, err
	}
	cargv, ok := mem.strv(argv)
	if !ok {
		return nil, invalid(op, "an argument holds a NUL byte")
	}
	var copts *C.procmon_process_options_t
	if opts != nil {
		copts = &C.procmon_process_options_t{uid: -1, gid: -1}
		copts.stop_process_group = C.bool(opts.StopProcessGroup)
		if opts.Env != nil {
			env, ok := mem.strv(opts.Env)
			if !ok {
				return nil, invalid(op, "an environment entry holds a NUL byte")
			}
			copts.env = (**C.char)(unsafe.Pointer(env))
		}
		if opts.Dir != "" {
			if copts.cwd, ok = mem.str(opts.Dir); !ok {
				return nil, invalid(op, "the directory holds a NUL byte")
			}
		}
		var err error
		if copts.uid, err = cid(op, "uid", opts.UID); err != nil {
			return nil, err
		}
		if copts.gid, err = cid(op, "gid", opts.GID); err != nil {
			return nil, err
		}
	}
	return func() error {
		return m.callFreeing(op, &mem, func(pm *C.procmon_t, cerr **C.char) C.int {
			return C.pmgo_add(pm, cname, cargv, copts, cerr)
		})
	}, nil
}

// callFreeing runs call on the live handle, frees mem (the C copies of its
// arguments) after it, and turns its status and message into an error.
func (m *Monitor) callFreeing(op string, mem *cmem, call func(pm *C.procmon_t, cerr **C.char) C.int) error {
	defer mem.free()
	pm, err := m.acquire(op)
	if err != nil {
		return err
	}
	defer m.release()
	var cerr *C.char
	return check(op, call(pm, &cerr), cerr)
}

func (m *Monitor) named(op string, which C.int, name string) error {
	return m.namedContext(context.Background(), op, which, name)
}

func (m *Monitor) namedContext(ctx context.Context, op string, which C.int, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var mem cmem
	cname, err := mem.name(op, name)
	if err != nil {
		mem.free()
		return err
	}
	return await(ctx, func() error {
		return m.callFreeing(op, &mem, func(pm *C.procmon_t, cerr **C.char) C.int {
			return C.pmgo_named(pm, which, cname, cerr)
		})
	})
}

// RemoveProcess stops the child (TERM, then KILL after the kill time) and
// forgets name; it is never restarted, and its last run still reports
// EventKilled (if needed) and EventExited. The name can be added again at
// once. It does not wait for the exit.
func (m *Monitor) RemoveProcess(name string) error {
	return m.named("RemoveProcess", C.PMGO_REMOVE, name)
}

// StartProcess spawns the child if it is not running (cancelling a scheduled
// restart); it is a no-op if it is. It blocks for the spawn (see
// StartProcessContext).
func (m *Monitor) StartProcess(name string) error {
	return m.named("StartProcess", C.PMGO_START_PROCESS, name)
}

// StartProcessContext is StartProcess with a context for its wait for the
// spawn, as AddProcessContext: done before the call, nothing happens; done
// during the spawn, it returns ctx.Err() at once and the start completes in
// the background.
func (m *Monitor) StartProcessContext(ctx context.Context, name string) error {
	return m.namedContext(ctx, "StartProcess", C.PMGO_START_PROCESS, name)
}

// StopProcess sends TERM (KILL follows after the kill time). It is a no-op if
// the child is not running. While the monitor runs, the child is then
// restarted as after any exit.
func (m *Monitor) StopProcess(name string) error {
	return m.named("StopProcess", C.PMGO_STOP_PROCESS, name)
}

func (m *Monitor) all(op string, which C.int) error {
	pm, err := m.acquire(op)
	if err != nil {
		return err
	}
	defer m.release()
	var cerr *C.char
	return check(op, C.pmgo_all(pm, which, &cerr), cerr)
}

func (m *Monitor) allContext(ctx context.Context, op string, which C.int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return await(ctx, func() error { return m.all(op, which) })
}

// RestartAll calls StopProcess for every process: each is restarted.
func (m *Monitor) RestartAll() error { return m.all("RestartAll", C.PMGO_RESTART_ALL) }

// Start starts the service (a new Monitor is already started): it starts
// every process that is not running, and blocks for their spawns (see
// StartContext).
func (m *Monitor) Start() error { return m.all("Start", C.PMGO_START) }

// StartContext is Start with a context for its wait for the spawns, as
// AddProcessContext: done before the call, nothing happens; done during the
// spawns, it returns ctx.Err() at once and the start completes in the
// background.
func (m *Monitor) StartContext(ctx context.Context) error {
	return m.allContext(ctx, "Start", C.PMGO_START)
}

// Stop stops the service: it cancels every scheduled restart and stops every
// child, without waiting. While stopped, AddProcess registers without
// spawning.
func (m *Monitor) Stop() error { return m.all("Stop", C.PMGO_STOP) }

// Pid returns the child's current pid, or 0 when it is not running.
func (m *Monitor) Pid(name string) (int, error) {
	const op = "Pid"
	var mem cmem
	defer mem.free()
	cname, err := mem.name(op, name)
	if err != nil {
		return 0, err
	}
	pm, err := m.acquire(op)
	if err != nil {
		return 0, err
	}
	defer m.release()
	var pid C.int32_t
	var cerr *C.char
	if err := check(op, C.pmgo_pid(pm, cname, &pid, &cerr), cerr); err != nil {
		return 0, err
	}
	return int(pid), nil
}

// Info returns a consistent snapshot of one process.
func (m *Monitor) Info(name string) (ProcessInfo, error) {
	const op = "Info"
	var mem cmem
	defer mem.free()
	cname, err := mem.name(op, name)
	if err != nil {
		return ProcessInfo{}, err
	}
	pm, err := m.acquire(op)
	if err != nil {
		return ProcessInfo{}, err
	}
	defer m.release()
	var ci C.procmon_process_info_t
	var cerr *C.char
	if err := check(op, C.pmgo_info(pm, cname, &ci, &cerr), cerr); err != nil {
		return ProcessInfo{}, err
	}
	return ProcessInfo{
		State:        State(ci.state),
		Pid:          int(ci.pid),
		Starts:       uint64(ci.starts),
		Uptime:       seconds(ci.uptime),
		RestartDelay: seconds(ci.restart_delay),
		LastExitCode: int(ci.last_exit_code),
		LastSignal:   syscall.Signal(ci.last_signal),
	}, nil
}

// Describe returns the seed's repr, e.g.
// <ProcessMonitor 'foo'(1:2): ['arg1', 'arg2'] 'bar': ['x']>, in the order the
// names were added; "" once the monitor is closed.
func (m *Monitor) Describe() string {
	pm, err := m.acquire("Describe")
	if err != nil {
		return ""
	}
	defer m.release()
	s := C.procmon_describe(pm)
	if s == nil {
		return "" // only a NULL monitor fails
	}
	defer C.procmon_string_free(s)
	return C.GoString(s)
}

// cid is a uid or gid for C: -1 (inherit) for nil; a negative one is invalid.
func cid(op, what string, id *int) (C.int64_t, error) {
	if id == nil {
		return -1, nil
	}
	if *id < 0 {
		return 0, invalid(op, fmt.Sprintf("negative %s %d (nil inherits)", what, *id))
	}
	return C.int64_t(*id), nil
}
