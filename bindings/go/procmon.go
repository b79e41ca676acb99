// Package procmon supervises child processes: it is the Go binding of
// libprocmon, a library that does what Twisted's ProcessMonitor does.
//
// A Monitor keeps named processes running: every line they write reaches the
// log func, a child that dies is restarted (at once if it lived longer than
// the threshold, otherwise after a delay that doubles from the minimum to the
// maximum restart delay), stopping a child sends TERM and then KILL after the
// kill time, and Close stops and reaps every child.
//
// Every method is safe for concurrent use, and may be called from inside the
// log and event funcs. Those funcs run on one internal thread of the library,
// one call at a time, in order: for one run of a child, EventStarted, its
// lines, EventExited, then EventRestartScheduled or the next EventStarted. A
// slow func slows the children down (they block on their pipes); nothing is
// dropped. A panic in a func crashes the program.
//
// The calls that block (AddProcess, Add, AddReady, StartProcess and Start wait
// for a spawn, Close for the children to stop) have variants that take a
// context.Context first (AddProcessContext, AddContext, AddReadyContext,
// StartProcessContext, StartContext, CloseContext), as WaitReady does.
// A C call cannot be abandoned: when the context is done during one, the
// variant returns ctx.Err() at once and the work completes in the background.
//
// Add registers a process with a Spec, every per-process setting of
// libprocmon 0.2: environment on top of the inherited one, restart policy
// (RestartAlways, RestartOnFailure, RestartNever) and success exit codes,
// stop signal, its own threshold, kill time and restart delays, a start limit
// (EventGaveUp, StateFailed), resource limits, containment (ContainAuto,
// the zero value, ContainNone, ContainGroup, ContainCgroup) and readiness.
// SignalProcess sends a child (or its whole unit) a signal.
//
// The package finds libprocmon through pkg-config (#cgo pkg-config: procmon):
// for a copy installed outside the system's prefixes, set PKG_CONFIG_PATH to
// its lib/pkgconfig to build and LD_LIBRARY_PATH to its lib to run; for the
// checkout, build/pkgconfig (an uninstalled procmon.pc) and target/release.
package procmon

/*
#cgo pkg-config: procmon
#include <procmon.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// LineLimit is the length above which a line reaches the log func in pieces of
// exactly this many bytes (the last one shorter). Nothing is dropped.
const LineLimit = C.PROCMON_LINE_LIMIT

// Version returns the version of the loaded library, e.g. "0.1.0".
func Version() string { return C.GoString(C.procmon_version()) }

// HeaderVersion is the version of the header the binding was built against.
const HeaderVersion = C.PROCMON_VERSION_STRING

// ErrorCode is a result code of the C API. The non-zero codes are the
// sentinel errors below; test for them with errors.Is.
type ErrorCode int

// The error codes of the C API.
const (
	ErrInvalid  ErrorCode = C.PROCMON_ERR_INVALID   // a bad argument
	ErrExists   ErrorCode = C.PROCMON_ERR_EXISTS    // the name is already monitored
	ErrNotFound ErrorCode = C.PROCMON_ERR_NOT_FOUND // no process with this name
	ErrState    ErrorCode = C.PROCMON_ERR_STATE     // not allowed now (shutting down, closed)
	ErrSystem   ErrorCode = C.PROCMON_ERR_SYSTEM    // an OS call failed
	ErrInternal ErrorCode = C.PROCMON_ERR_INTERNAL  // a bug in the library
)

// Error returns the library's static text for the code.
func (c ErrorCode) Error() string { return "procmon: " + C.GoString(C.procmon_strerror(C.int(c))) }

// ErrClosed is returned by every method of a Monitor after Close. Such an
// error also matches ErrState.
var ErrClosed = errors.New("procmon: the monitor is closed")

// Error is the error returned by the methods of a Monitor. It wraps its Code,
// so errors.Is(err, procmon.ErrNotFound) works.
type Error struct {
	Op     string    // the method, e.g. "AddProcess"
	Code   ErrorCode // the result code
	Detail string    // procmon_last_error() of the failed call
	closed bool      // the monitor was closed: matches ErrClosed too
}

func (e *Error) Error() string {
	detail := e.Detail
	if detail == "" {
		detail = C.GoString(C.procmon_strerror(C.int(e.Code)))
	}
	return fmt.Sprintf("procmon: %s: %s", e.Op, detail)
}

// Unwrap returns the code.
func (e *Error) Unwrap() error { return e.Code }

// Is reports whether target is ErrClosed and the monitor was closed.
func (e *Error) Is(target error) bool { return target == ErrClosed && e.closed }

// Stream says which output stream a line came from.
type Stream int

// The streams.
const (
	Stdout Stream = C.PROCMON_STDOUT
	Stderr Stream = C.PROCMON_STDERR
)

func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return fmt.Sprintf("Stream(%d)", int(s))
}

// EventKind is the kind of a lifecycle event.
type EventKind int

// The kinds of lifecycle events.
const (
	EventStarted          EventKind = C.PROCMON_EVENT_STARTED           // spawned: Pid
	EventExited           EventKind = C.PROCMON_EVENT_EXITED            // Pid, ExitCode or Signal, Uptime
	EventSpawnFailed      EventKind = C.PROCMON_EVENT_SPAWN_FAILED      // Error
	EventRestartScheduled EventKind = C.PROCMON_EVENT_RESTART_SCHEDULED // Delay
	EventKilled           EventKind = C.PROCMON_EVENT_KILLED            // Pid: KILL sent after the kill time
)

func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventExited:
		return "exited"
	case EventSpawnFailed:
		return "spawn-failed"
	case EventRestartScheduled:
		return "restart-scheduled"
	case EventKilled:
		return "killed"
	case EventReady:
		return "ready"
	case EventGaveUp:
		return "gave-up"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// State is the state of one monitored process.
type State int

// The states.
const (
	StateStopped  State = C.PROCMON_STATE_STOPPED  // not running, no restart scheduled
	StateRunning  State = C.PROCMON_STATE_RUNNING  // running
	StateStopping State = C.PROCMON_STATE_STOPPING // TERM sent, not yet exited
	StateBackoff  State = C.PROCMON_STATE_BACKOFF  // exited, restart scheduled
)

func (s State) String() string {
	switch s {
	case StateStopped:
		return "stopped"
	case StateRunning:
		return "running"
	case StateStopping:
		return "stopping"
	case StateBackoff:
		return "backoff"
	case StateStarting:
		return "starting"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// seconds converts the library's double seconds to a Duration.
func seconds(s C.double) time.Duration {
	return time.Duration(math.Round(float64(s) * float64(time.Second)))
}
