package procmon

// Readiness, watchdog and start order (libprocmon 0.2): AddReady registers a
// process with a spec that says how it tells it is ready, and WaitReady waits
// for it.

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <procmon.h>

static int pmgo_report_unhealthy(procmon_t *pm, const char *name, char **err) {
	int rc = procmon_report_unhealthy(pm, name);
	if (rc != PROCMON_OK) *err = strdup(procmon_last_error());
	return rc;
}
*/
import "C"

import (
	"context"
	"sync"
	"time"
)

// EventReady says a run is ready (Pid); see Readiness.
const EventReady EventKind = C.PROCMON_EVENT_READY

// StateStarting: spawned and not ready yet, or waiting (Pid 0) for the
// processes it comes after.
const StateStarting State = C.PROCMON_STATE_STARTING

// Readiness is how a child tells the monitor it is ready.
type Readiness int

// The readiness modes.
const (
	ReadyOnStart  Readiness = C.PROCMON_READY_ON_START  // as soon as it is spawned (EventReady right after EventStarted)
	ReadyNotifyFD Readiness = C.PROCMON_READY_NOTIFY_FD // Arg "N": the first newline on its descriptor N; later lines are pings
	ReadySDNotify Readiness = C.PROCMON_READY_SD_NOTIFY // READY=1 over NOTIFY_SOCKET; WATCHDOG=1 pings
	ReadyLine     Readiness = C.PROCMON_READY_LINE      // Arg: the first output line containing it
)

// ReadySpec says how a process added with AddReady is ready and healthy, and
// what it starts after.
type ReadySpec struct {
	Mode Readiness
	// Arg is the descriptor number of ReadyNotifyFD, the text of ReadyLine.
	Arg string
	// Timeout: not ready within it, the run is stopped (EventExited flagged
	// timeout) as an instant death. 0 waits for ever.
	Timeout time.Duration
	// Watchdog: once ready, a run that does not ping this often is stopped
	// and restarted. Needs ReadyNotifyFD or ReadySDNotify. 0 is off.
	Watchdog time.Duration
	// After names the processes that must be ready before this one starts
	// (and that Stop and Close stop only after it).
	After []string
}

// AddReady registers name running argv like AddProcess (opts may be nil;
// StopProcessGroup is not used), with the readiness, watchdog and start order
// of ready: Add with a Spec of those fields, every other setting at its
// default. Unlike AddProcess, its process reports EventReady. Like
// AddProcess, it blocks for the spawn (see AddReadyContext).
func (m *Monitor) AddReady(name string, argv []string, opts *ProcessOptions, ready ReadySpec) error {
	return m.AddReadyContext(context.Background(), name, argv, opts, ready)
}

// AddReadyContext is AddReady with a context for its wait for the spawn, as
// AddProcessContext: done before the call, nothing is added; done during the
// spawn, it returns ctx.Err() at once and the add completes in the
// background. It does not wait for readiness: WaitReady does.
func (m *Monitor) AddReadyContext(ctx context.Context, name string, argv []string, opts *ProcessOptions, ready ReadySpec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	call, err := m.addReadyCall(name, argv, opts, ready)
	if err != nil {
		return err
	}
	return await(ctx, call)
}

// addReadyCall turns AddReady's arguments into a Spec (a negative UID or GID
// inherits, as it always has here) and returns Add's call.
func (m *Monitor) addReadyCall(name string, argv []string, opts *ProcessOptions, ready ReadySpec) (call func() error, err error) {
	spec := Spec{Argv: argv, Ready: ready}
	if opts != nil {
		spec.Env, spec.Dir = opts.Env, opts.Dir
		if opts.UID != nil && *opts.UID >= 0 {
			spec.UID = opts.UID
		}
		if opts.GID != nil && *opts.GID >= 0 {
			spec.GID = opts.GID
		}
	}
	return m.addSpecCall("AddReady", name, &spec)
}

// ReportUnhealthy tells the monitor that the host's own health check of name
// failed: handled as a missed watchdog (stopped, EventExited flagged watchdog,
// restarted under its policy). ErrState when it is not running.
func (m *Monitor) ReportUnhealthy(name string) error {
	const op = "ReportUnhealthy"
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
	return check(op, C.pmgo_report_unhealthy(pm, cname, &cerr), cerr)
}

// WaitReady waits until name is running and ready (StateRunning), or ctx is
// done (its error is returned). A process added with AddProcess is ready once
// it runs. It wakes on EventReady, whatever func SetEventFunc registered.
func (m *Monitor) WaitReady(ctx context.Context, name string) error {
	woken := m.cbs.ready.watch(name)
	defer m.cbs.ready.unwatch(name, woken)
	for {
		info, err := m.Info(name)
		if err != nil {
			return err
		}
		if info.State == StateRunning {
			return nil
		}
		select {
		case <-woken:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readyWaiters wakes WaitReady calls on EventReady (from the callback thread).
type readyWaiters struct {
	mu      sync.Mutex
	waiting map[string][]chan struct{}
}

func (w *readyWaiters) watch(name string) chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.waiting == nil {
		w.waiting = make(map[string][]chan struct{})
	}
	w.waiting[name] = append(w.waiting[name], ch)
	w.mu.Unlock()
	return ch
}

func (w *readyWaiters) unwatch(name string, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.waiting[name]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(w.waiting, name)
	} else {
		w.waiting[name] = list
	}
}

// ready is called for every EventReady.
func (w *readyWaiters) ready(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.waiting[name] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
