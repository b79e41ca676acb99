package procmon

// Per-process specs (libprocmon 0.2): Add registers a process with a Spec,
// every setting of procmon_spec_t; SignalProcess and SetCgroupRoot; the new
// event fields' types (ExitFlags, Containment).

/*
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <procmon.h>

// Everything a spec holds, in C memory (built by Spec.cspec).
typedef struct {
	const char *const *argv;
	const char *const *env;        // NULL inherits
	const char *const *var_keys;   // n_vars keys...
	const char *const *var_values; // ...and values (NULL removes the key)
	size_t n_vars;
	const char *cwd;               // NULL inherits
	int64_t uid, gid;              // < 0 inherits
	int restart;
	int set_codes;
	const int32_t *codes;
	size_t n_codes;
	int stop_signal;               // 0: the default (SIGTERM)
	int set_threshold;
	double threshold;
	int set_kill_time;
	double kill_time;
	int set_delays;
	double min_delay, max_delay;
	int set_start_limit;
	uint32_t burst;
	double interval, retry_after;
	const int *rl_resources;
	const uint64_t *rl_soft, *rl_hard;
	size_t n_rlimits;
	int containment;
	int ready_mode;
	const char *ready_arg;
	double ready_timeout, watchdog;
	const char *const *after;      // NULL: no start order
} pmgo_spec_t;

// Builds the spec into *out (freed by the caller, NULL on failure), leaving
// procmon_last_error() set when it fails.
static int pmgo_build_spec(const pmgo_spec_t *s, procmon_spec_t **out) {
	procmon_spec_t *spec = procmon_spec_new(s->argv);
	int rc = spec == NULL ? PROCMON_ERR_INVALID : PROCMON_OK;
	if (rc == PROCMON_OK && s->env != NULL) rc = procmon_spec_set_env(spec, s->env);
	for (size_t i = 0; rc == PROCMON_OK && i < s->n_vars; i++)
		rc = procmon_spec_set_env_var(spec, s->var_keys[i], s->var_values[i]);
	if (rc == PROCMON_OK && s->cwd != NULL) rc = procmon_spec_set_cwd(spec, s->cwd);
	if (rc == PROCMON_OK) rc = procmon_spec_set_user(spec, s->uid, s->gid);
	if (rc == PROCMON_OK) rc = procmon_spec_set_restart(spec, s->restart);
	if (rc == PROCMON_OK && s->set_codes)
		rc = procmon_spec_set_success_exit_codes(spec, s->codes, s->n_codes);
	if (rc == PROCMON_OK && s->stop_signal != 0) rc = procmon_spec_set_stop_signal(spec, s->stop_signal);
	if (rc == PROCMON_OK && s->set_threshold) rc = procmon_spec_set_threshold(spec, s->threshold);
	if (rc == PROCMON_OK && s->set_kill_time) rc = procmon_spec_set_kill_time(spec, s->kill_time);
	if (rc == PROCMON_OK && s->set_delays)
		rc = procmon_spec_set_restart_delays(spec, s->min_delay, s->max_delay);
	if (rc == PROCMON_OK && s->set_start_limit)
		rc = procmon_spec_set_start_limit(spec, s->burst, s->interval, s->retry_after);
	for (size_t i = 0; rc == PROCMON_OK && i < s->n_rlimits; i++)
		rc = procmon_spec_set_rlimit(spec, s->rl_resources[i], s->rl_soft[i], s->rl_hard[i]);
	if (rc == PROCMON_OK) rc = procmon_spec_set_containment(spec, s->containment);
	if (rc == PROCMON_OK) rc = procmon_spec_set_readiness(spec, s->ready_mode, s->ready_arg, s->ready_timeout);
	if (rc == PROCMON_OK) rc = procmon_spec_set_watchdog(spec, s->watchdog);
	if (rc == PROCMON_OK) rc = procmon_spec_set_after(spec, s->after);
	if (rc != PROCMON_OK) {
		procmon_spec_free(spec);
		spec = NULL;
	}
	*out = spec;
	return rc;
}

// Builds the spec and adds it, in one C call so that procmon_last_error() is
// read on the thread that set it. The caller frees *err.
static int pmgo_add_spec(procmon_t *pm, const char *name, const pmgo_spec_t *s, char **err) {
	procmon_spec_t *spec;
	int rc = pmgo_build_spec(s, &spec);
	if (rc == PROCMON_OK) rc = procmon_add(pm, name, spec);
	if (rc != PROCMON_OK) *err = strdup(procmon_last_error());
	procmon_spec_free(spec);
	return rc;
}

// Builds the n specs and adds them with procmon_add_many, in one C call (see
// pmgo_add_spec); a spec that cannot be built fails the whole batch, the
// message naming its index. The caller frees *err.
static int pmgo_add_many(procmon_t *pm, size_t n, const char *const *names,
                         const pmgo_spec_t *const *s, char **err) {
	procmon_spec_t **specs = calloc(n ? n : 1, sizeof *specs);
	if (specs == NULL) {
		*err = strdup("out of memory");
		return PROCMON_ERR_SYSTEM;
	}
	int rc = PROCMON_OK;
	for (size_t i = 0; rc == PROCMON_OK && i < n; i++) {
		rc = pmgo_build_spec(s[i], &specs[i]);
		if (rc != PROCMON_OK) {
			const char *why = procmon_last_error();
			size_t len = strlen(why) + 40;
			*err = malloc(len);
			if (*err != NULL) snprintf(*err, len, "specs[%zu]: %s", i, why);
		}
	}
	if (rc == PROCMON_OK) {
		rc = procmon_add_many(pm, n, names, (const procmon_spec_t *const *)specs);
		if (rc != PROCMON_OK) *err = strdup(procmon_last_error());
	}
	for (size_t i = 0; i < n; i++) procmon_spec_free(specs[i]);
	free(specs);
	return rc;
}

static int pmgo_signal(procmon_t *pm, const char *name, int sig, bool whole_unit, char **err) {
	int rc = procmon_signal_process(pm, name, sig, whole_unit);
	if (rc != PROCMON_OK) *err = strdup(procmon_last_error());
	return rc;
}

static int pmgo_cgroup_root(procmon_t *pm, const char *root, char **err) {
	int rc = procmon_set_cgroup_root(pm, root);
	if (rc != PROCMON_OK) *err = strdup(procmon_last_error());
	return rc;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// EventGaveUp says the start limit was reached: the process is StateFailed;
// Delay is the wait until it is tried again, 0 for never (see StartLimit).
const EventGaveUp EventKind = C.PROCMON_EVENT_GAVE_UP

// StateFailed: the start limit was reached; tried again only after the
// limit's RetryAfter, or by StartProcess or Start.
const StateFailed State = C.PROCMON_STATE_FAILED

// RestartPolicy says what follows a child's exit. The zero value is
// RestartAlways.
type RestartPolicy int

// The restart policies.
const (
	// RestartAlways: every exit is followed by a restart (the seed).
	RestartAlways RestartPolicy = C.PROCMON_RESTART_ALWAYS
	// RestartOnFailure: a restart unless the exit is a success (an exit code
	// of SuccessExitCodes, or the stop signal during a requested stop); after
	// a success the process is StateStopped and its EventExited has
	// ExitExpected.
	RestartOnFailure RestartPolicy = C.PROCMON_RESTART_ON_FAILURE
	// RestartNever: the process runs once per start.
	RestartNever RestartPolicy = C.PROCMON_RESTART_NEVER
)

func (p RestartPolicy) String() string {
	switch p {
	case RestartAlways:
		return "always"
	case RestartOnFailure:
		return "on-failure"
	case RestartNever:
		return "never"
	}
	return fmt.Sprintf("RestartPolicy(%d)", int(p))
}

// Containment is what a stop reaches, and what must be empty before a
// restart. The zero value is ContainAuto, the library's default; its values
// are not the C API's numbers.
type Containment int

// The containment modes.
const (
	// ContainAuto: ContainCgroup where the monitor can make a cgroup, else
	// ContainGroup (the default). A run never reports it: its EventStarted
	// says what it got.
	ContainAuto Containment = iota
	// ContainNone: only the child itself is signalled (the seed; AddProcess).
	ContainNone
	// ContainGroup: the child's process group (each child leads its own);
	// what leaves the group (setsid, setpgid) escapes.
	ContainGroup
	// ContainCgroup: a cgroup v2 of its own for each run: nothing the child
	// starts escapes. Where no cgroup can be made, each start is an
	// EventSpawnFailed.
	ContainCgroup
)

func (c Containment) String() string {
	switch c {
	case ContainAuto:
		return "auto"
	case ContainNone:
		return "none"
	case ContainGroup:
		return "group"
	case ContainCgroup:
		return "cgroup"
	}
	return fmt.Sprintf("Containment(%d)", int(c))
}

func (c Containment) toC() (C.int, bool) {
	switch c {
	case ContainAuto:
		return C.PROCMON_CONTAIN_AUTO, true
	case ContainNone:
		return C.PROCMON_CONTAIN_NONE, true
	case ContainGroup:
		return C.PROCMON_CONTAIN_GROUP, true
	case ContainCgroup:
		return C.PROCMON_CONTAIN_CGROUP, true
	}
	return 0, false
}

// containmentOf converts an event's containment (-1: none given).
func containmentOf(c C.int32_t) Containment {
	switch c {
	case C.PROCMON_CONTAIN_NONE:
		return ContainNone
	case C.PROCMON_CONTAIN_GROUP:
		return ContainGroup
	case C.PROCMON_CONTAIN_CGROUP:
		return ContainCgroup
	case C.PROCMON_CONTAIN_AUTO:
		return ContainAuto
	}
	return ContainAuto
}

// ExitFlags say what an EventExited says about the exit beyond its status.
type ExitFlags uint32

// The exit flags (bits).
const (
	// ExitExpected: a success per the spec (a success exit code, or the stop
	// signal during a requested stop).
	ExitExpected ExitFlags = C.PROCMON_EXIT_EXPECTED
	// ExitRequested: a stop, remove, restart-all or close asked for it.
	ExitRequested ExitFlags = C.PROCMON_EXIT_REQUESTED
	// ExitCoreDumped: the child dumped core.
	ExitCoreDumped ExitFlags = C.PROCMON_EXIT_CORE_DUMPED
	// ExitTimeout: stopped because it was not ready within ReadySpec.Timeout.
	ExitTimeout ExitFlags = C.PROCMON_EXIT_TIMEOUT
	// ExitWatchdog: stopped for a missed watchdog or ReportUnhealthy.
	ExitWatchdog ExitFlags = C.PROCMON_EXIT_WATCHDOG
	// ExitStatusUnknown: the status was taken by someone else (a host that
	// reaps children itself): ExitCode is -1, Signal 0, and it is a failure.
	ExitStatusUnknown ExitFlags = C.PROCMON_EXIT_STATUS_UNKNOWN
)

var exitFlagNames = []struct {
	flag ExitFlags
	name string
}{
	{ExitExpected, "expected"},
	{ExitRequested, "requested"},
	{ExitCoreDumped, "core-dumped"},
	{ExitTimeout, "timeout"},
	{ExitWatchdog, "watchdog"},
	{ExitStatusUnknown, "status-unknown"},
}

// String lists the flags set, e.g. "expected|requested"; "0" for none.
func (f ExitFlags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, n := range exitFlagNames {
		if f&n.flag != 0 {
			parts = append(parts, n.name)
			f &^= n.flag
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(f)))
	}
	return strings.Join(parts, "|")
}

// StartLimit allows at most Burst starts (failed spawns included) within any
// Interval. The start that would exceed it is not made: the process becomes
// StateFailed with an EventGaveUp, and is tried again RetryAfter later with
// a fresh count (with 0, only StartProcess or Start revive it).
type StartLimit struct {
	Burst      int // 0: no limit
	Interval   time.Duration
	RetryAfter time.Duration
}

// RestartDelays are a process's own backoff: the first delay and its cap.
type RestartDelays struct {
	Min, Max time.Duration
}

// RlimInfinity is the "no limit" value of Rlimit.Soft and Rlimit.Hard.
const RlimInfinity uint64 = ^uint64(0) // RLIM_INFINITY on Linux

// Rlimit is a resource limit applied in the child before it execs.
type Rlimit struct {
	// Resource is an RLIMIT_* value, e.g. syscall.RLIMIT_NOFILE.
	Resource int
	// Soft and Hard as setrlimit takes them (RlimInfinity allowed); a hard
	// limit above the host's needs privilege (else each start is an
	// EventSpawnFailed with EPERM).
	Soft, Hard uint64
}

// Spec is everything about one process that Add registers. The zero value of
// each field is the library's default: the host's environment, working
// directory, user and group; the monitor's threshold, kill time and restart
// delays (following later changes of them); RestartAlways; success code 0;
// SIGTERM; no start limit; no resource limit; ContainAuto; ReadyOnStart.
type Spec struct {
	// Argv is the command: Argv[0] is the program, searched in the host's
	// PATH when it holds no '/'.
	Argv []string
	// Env is the base environment as "KEY=VALUE" entries: nil inherits the
	// host's; a non-nil empty slice gives an empty one.
	Env []string
	// SetEnv sets variables on top of the base environment, inherited or not.
	SetEnv map[string]string
	// UnsetEnv removes variables from the base environment.
	UnsetEnv []string
	// Dir is the working directory; "" inherits the host's.
	Dir string
	// UID and GID switch the child to that user and group; nil inherits.
	UID, GID *int
	// Restart says what follows an exit.
	Restart RestartPolicy
	// SuccessExitCodes are the exit statuses that count as success: nil is
	// the default, 0 alone; a non-nil empty slice makes none a success.
	SuccessExitCodes []int
	// StopSignal is what a stop sends first (KILL follows after the kill
	// time); 0 is SIGTERM. Not SIGKILL or SIGSTOP.
	StopSignal syscall.Signal
	// Threshold and KillTime override the monitor's for this process; nil
	// follows the monitor's.
	Threshold, KillTime *time.Duration
	// RestartDelays overrides the monitor's restart delays; nil follows them.
	RestartDelays *RestartDelays
	// StartLimit limits how often it is started; nil is no limit.
	StartLimit *StartLimit
	// Rlimits are applied in the child; a later entry for the same resource
	// replaces an earlier one.
	Rlimits []Rlimit
	// Containment is what a stop reaches (the zero value is ContainAuto).
	Containment Containment
	// Ready says how it tells it is ready, its watchdog and start order.
	Ready ReadySpec
}

// Add registers the process name (unique, non-empty UTF-8) with spec (copied:
// it may change once Add returns). While the monitor runs, the child has been
// spawned (or its spawn has failed) when Add returns, unless Ready.After
// makes it wait: it blocks for the spawn (see AddContext). Unlike AddProcess
// its process reports EventReady. A bad setting is ErrInvalid, with a Detail
// that names it.
func (m *Monitor) Add(name string, spec Spec) error {
	return m.AddContext(context.Background(), name, spec)
}

// AddContext is Add with a context for its wait for the spawn, as
// AddProcessContext: done before the call, nothing is added; done during the
// spawn, it returns ctx.Err() at once and the add completes in the
// background.
func (m *Monitor) AddContext(ctx context.Context, name string, spec Spec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	call, err := m.addSpecCall("Add", name, &spec)
	if err != nil {
		return err
	}
	return await(ctx, call)
}

// NamedSpec is one process of AddMany: its name and its spec.
type NamedSpec struct {
	Name string
	Spec Spec
}

// AddMany adds every process in one call to the event loop (the library's
// procmon_add_many), in order, each as Add would: all or nothing, an error
// (ErrInvalid, or ErrExists for a name monitored already or given twice) adds
// none of them, its Detail naming the index ("names[3]: ..."). While the
// monitor runs, every child has been spawned (or its spawn has failed) when
// AddMany returns, as with Add; while stopped they are registered only. Use it
// to start many processes at once: one round trip instead of one per process.
// An empty list does nothing.
func (m *Monitor) AddMany(procs []NamedSpec) error {
	return m.AddManyContext(context.Background(), procs)
}

// AddManyContext is AddMany with a context for its wait for the spawns, as
// AddContext: done before the call, nothing is added; done during the spawns,
// it returns ctx.Err() at once and the batch completes in the background.
func (m *Monitor) AddManyContext(ctx context.Context, procs []NamedSpec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(procs) == 0 {
		return nil
	}
	const op = "AddMany"
	var mem cmem
	names := unsafe.Slice((**C.char)(mem.alloc(len(procs), unsafe.Sizeof((*C.char)(nil)))), len(procs))
	specs := unsafe.Slice((**C.pmgo_spec_t)(mem.alloc(len(procs), unsafe.Sizeof((*C.pmgo_spec_t)(nil)))), len(procs))
	for i := range procs {
		cname, err := mem.name(op, procs[i].Name)
		where := "names"
		if err == nil {
			specs[i], err = procs[i].Spec.cspec(op, &mem)
			where = "specs"
		}
		if err != nil {
			mem.free()
			var e *Error
			if errors.As(err, &e) {
				e.Detail = fmt.Sprintf("%s[%d]: %s", where, i, e.Detail)
			}
			return err
		}
		names[i] = cname
	}
	return await(ctx, func() error {
		return m.callFreeing(op, &mem, func(pm *C.procmon_t, cerr **C.char) C.int {
			return C.pmgo_add_many(pm, C.size_t(len(procs)), &names[0], &specs[0], cerr)
		})
	})
}

// cseconds converts a Duration to the library's seconds.
func cseconds(d time.Duration) C.double { return C.double(d.Seconds()) }

// addSpecCall copies the spec to C memory and returns the call, which frees
// it.
func (m *Monitor) addSpecCall(op, name string, spec *Spec) (call func() error, err error) {
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
	cs, err := spec.cspec(op, &mem)
	if err != nil {
		return nil, err
	}
	return func() error {
		return m.callFreeing(op, &mem, func(pm *C.procmon_t, cerr **C.char) C.int {
			return C.pmgo_add_spec(pm, cname, cs, cerr)
		})
	}, nil
}

// alloc returns n zeroed elements of C memory of size each, freed with mem.
func (c *cmem) alloc(n int, size uintptr) unsafe.Pointer {
	if n == 0 {
		n = 1
	}
	p := C.calloc(C.size_t(n), C.size_t(size))
	*c = append(*c, p)
	return p
}

// cspec checks what the library cannot (NUL bytes, values out of the C
// types' ranges) and copies the spec to C memory.
func (s *Spec) cspec(op string, mem *cmem) (*C.pmgo_spec_t, error) {
	cs := (*C.pmgo_spec_t)(mem.alloc(1, unsafe.Sizeof(C.pmgo_spec_t{})))
	argv, ok := mem.strv(s.Argv)
	if !ok {
		return nil, invalid(op, "an argument holds a NUL byte")
	}
	cs.argv = argv
	if s.Env != nil {
		if cs.env, ok = mem.strv(s.Env); !ok {
			return nil, invalid(op, "an environment entry holds a NUL byte")
		}
	}
	err := s.envVars(op, mem, cs)
	if err != nil {
		return nil, err
	}
	if s.Dir != "" {
		if cs.cwd, ok = mem.str(s.Dir); !ok {
			return nil, invalid(op, "the directory holds a NUL byte")
		}
	}
	if cs.uid, err = cid(op, "uid", s.UID); err != nil {
		return nil, err
	}
	if cs.gid, err = cid(op, "gid", s.GID); err != nil {
		return nil, err
	}
	cs.restart = C.int(s.Restart) // the library rejects an unknown value
	if s.SuccessExitCodes != nil {
		cs.set_codes = 1
		cs.n_codes = C.size_t(len(s.SuccessExitCodes))
		codes := unsafe.Slice((*C.int32_t)(mem.alloc(len(s.SuccessExitCodes), 4)), len(s.SuccessExitCodes))
		for i, c := range s.SuccessExitCodes {
			if c < math.MinInt32 || c > math.MaxInt32 {
				return nil, invalid(op, fmt.Sprintf("success exit code %d is out of range", c))
			}
			codes[i] = C.int32_t(c)
		}
		if len(codes) > 0 {
			cs.codes = &codes[0]
		} else {
			cs.codes = (*C.int32_t)(mem.alloc(1, 4)) // not NULL: n 0 means none
		}
	}
	if s.StopSignal < 0 || s.StopSignal > math.MaxInt32 {
		return nil, invalid(op, fmt.Sprintf("stop signal %d is not a signal number", int(s.StopSignal)))
	}
	cs.stop_signal = C.int(s.StopSignal)
	if s.Threshold != nil {
		cs.set_threshold, cs.threshold = 1, cseconds(*s.Threshold)
	}
	if s.KillTime != nil {
		cs.set_kill_time, cs.kill_time = 1, cseconds(*s.KillTime)
	}
	if d := s.RestartDelays; d != nil {
		cs.set_delays, cs.min_delay, cs.max_delay = 1, cseconds(d.Min), cseconds(d.Max)
	}
	if l := s.StartLimit; l != nil {
		if l.Burst < 0 || l.Burst > math.MaxUint32 {
			return nil, invalid(op, fmt.Sprintf("start limit burst %d is out of range (0 is no limit)", l.Burst))
		}
		cs.set_start_limit, cs.burst = 1, C.uint32_t(l.Burst)
		cs.interval, cs.retry_after = cseconds(l.Interval), cseconds(l.RetryAfter)
	}
	if n := len(s.Rlimits); n > 0 {
		res := unsafe.Slice((*C.int)(mem.alloc(n, unsafe.Sizeof(C.int(0)))), n)
		soft := unsafe.Slice((*C.uint64_t)(mem.alloc(n, 8)), n)
		hard := unsafe.Slice((*C.uint64_t)(mem.alloc(n, 8)), n)
		for i, r := range s.Rlimits {
			if r.Resource < 0 || r.Resource > math.MaxInt32 {
				return nil, invalid(op, fmt.Sprintf("rlimit resource %d is unknown", r.Resource))
			}
			res[i], soft[i], hard[i] = C.int(r.Resource), C.uint64_t(r.Soft), C.uint64_t(r.Hard)
		}
		cs.rl_resources, cs.rl_soft, cs.rl_hard, cs.n_rlimits = &res[0], &soft[0], &hard[0], C.size_t(n)
	}
	if cs.containment, ok = s.Containment.toC(); !ok {
		return nil, invalid(op, fmt.Sprintf("unknown containment %d", int(s.Containment)))
	}
	r := &s.Ready
	cs.ready_mode = C.int(r.Mode)
	if r.Mode == ReadyNotifyFD || r.Mode == ReadyLine {
		if cs.ready_arg, ok = mem.str(r.Arg); !ok {
			return nil, invalid(op, "the readiness argument holds a NUL byte")
		}
	}
	cs.ready_timeout, cs.watchdog = cseconds(r.Timeout), cseconds(r.Watchdog)
	if len(r.After) > 0 {
		if cs.after, ok = mem.strv(r.After); !ok {
			return nil, invalid(op, "a name of After holds a NUL byte")
		}
	}
	return cs, nil
}

// envVars copies SetEnv (sorted, so that the calls are the same every time)
// and UnsetEnv, which must not name the same key.
func (s *Spec) envVars(op string, mem *cmem, cs *C.pmgo_spec_t) error {
	n := len(s.SetEnv) + len(s.UnsetEnv)
	if n == 0 {
		return nil
	}
	keys := make([]string, 0, len(s.SetEnv))
	for k := range s.SetEnv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ck := unsafe.Slice((**C.char)(mem.alloc(n, unsafe.Sizeof((*C.char)(nil)))), n)
	cv := unsafe.Slice((**C.char)(mem.alloc(n, unsafe.Sizeof((*C.char)(nil)))), n)
	for i, k := range keys {
		var ok1, ok2 bool
		ck[i], ok1 = mem.str(k)
		cv[i], ok2 = mem.str(s.SetEnv[k])
		if !ok1 || !ok2 {
			return invalid(op, fmt.Sprintf("SetEnv %q holds a NUL byte", k))
		}
	}
	for j, k := range s.UnsetEnv {
		if _, both := s.SetEnv[k]; both {
			return invalid(op, fmt.Sprintf("env var %q is both in SetEnv and in UnsetEnv", k))
		}
		var ok bool
		if ck[len(keys)+j], ok = mem.str(k); !ok {
			return invalid(op, fmt.Sprintf("UnsetEnv %q holds a NUL byte", k))
		}
		// cv stays NULL: the key is removed
	}
	cs.var_keys = (**C.char)(unsafe.Pointer(&ck[0]))
	cs.var_values = (**C.char)(unsafe.Pointer(&cv[0]))
	cs.n_vars = C.size_t(n)
	return nil
}

// SignalProcess sends sig (1 to 64, e.g. syscall.SIGHUP to reload) to the
// running child of name, or with wholeUnit to every process of its unit (its
// process group, or its cgroup). Not a stop: supervision goes on as before.
// Done when it returns. ErrState when it is not running.
func (m *Monitor) SignalProcess(name string, sig syscall.Signal, wholeUnit bool) error {
	const op = "SignalProcess"
	if sig <= 0 || sig > math.MaxInt32 {
		return invalid(op, fmt.Sprintf("%d is not a signal number", int(sig)))
	}
	var mem cmem
	defer mem.free()
	cname, err := mem.name(op, name)
	if err != nil {
		return err
	}
	pm, err := m.acquire(op)
	if err != nil {
		return err
	}
	defer m.release()
	var cerr *C.char
	return check(op, C.pmgo_signal(pm, cname, C.int(sig), C.bool(wholeUnit), &cerr), cerr)
}

// SetCgroupRoot sets the directory under which the monitor makes the cgroups
// of ContainCgroup and ContainAuto processes, from the next spawn on: an
// absolute path on a cgroup v2 file system that this process can make
// directories in. Without it the root is "procmon" under the process's own
// cgroup. It empties and removes what monitors that died left there, which
// may block for a few seconds. ErrInvalid names what is wrong with path.
func (m *Monitor) SetCgroupRoot(path string) error {
	const op = "SetCgroupRoot"
	var mem cmem
	defer mem.free()
	croot, ok := mem.str(path)
	if !ok {
		return invalid(op, "the cgroup root holds a NUL byte")
	}
	pm, err := m.acquire(op)
	if err != nil {
		return err
	}
	defer m.release()
	var cerr *C.char
	return check(op, C.pmgo_cgroup_root(pm, croot, &cerr), cerr)
}

// eventTime converts the event's wall-clock seconds since the epoch.
func eventTime(s C.double) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	sec, frac := math.Modf(float64(s))
	return time.Unix(int64(sec), int64(math.Round(frac*1e9)))
}
