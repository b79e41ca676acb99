package procmon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	procmon "github.com/procmon/procmon/bindings/go"
)

// A db ready on its first line to fd 3 after 0.3 s, an api that comes after
// it: WaitReady returns for each only once it is ready, the api waits
// (StateStarting, pid 0) until the db is ready, and both report EventReady.
func TestWaitReadyAndAfter(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	loop := "while :; do sleep 0.05; done"
	if err := m.AddReady("api", sh(loop), nil, procmon.ReadySpec{After: []string{"db"}}); err != nil {
		t.Fatal(err)
	}
	if info, err := m.Info("api"); err != nil || info.State != procmon.StateStarting || info.Pid != 0 {
		t.Fatalf("Info(api) = %+v, %v; want starting with pid 0", info, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.WaitReady(ctx, "api"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady(api) before the db = %v, want the deadline", err)
	}
	start := time.Now()
	db := procmon.ReadySpec{Mode: procmon.ReadyNotifyFD, Arg: "3", Timeout: 20 * time.Second}
	if err := m.AddReady("db", sh("sleep 0.3; echo >&3; "+loop), nil, db); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.WaitReady(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Fatalf("the api was ready %v after the db's start, before the db", waited)
	}
	if err := m.WaitReady(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	ready := r.eventsOf("db", procmon.EventReady, procmon.EventStarted)
	if len(ready) != 2 || ready[1].Kind != procmon.EventReady || ready[1].Pid != ready[0].Pid {
		t.Fatalf("db events %+v, want STARTED then READY of the same pid", ready)
	}
	if got := procmon.EventReady.String(); got != "ready" {
		t.Fatalf("EventReady.String() = %q", got)
	}
}

func TestReadyBadInputAndUnhealthy(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	err := m.AddReady("x", sh("true"), nil, procmon.ReadySpec{Mode: procmon.ReadyNotifyFD, Arg: "2"})
	if !errors.Is(err, procmon.ErrInvalid) {
		t.Fatalf("NOTIFY_FD 2: %v, want ErrInvalid", err)
	}
	err = m.AddReady("x", sh("true"), nil, procmon.ReadySpec{Watchdog: time.Second})
	if !errors.Is(err, procmon.ErrInvalid) {
		t.Fatalf("a watchdog with ReadyOnStart: %v, want ErrInvalid", err)
	}
	if err := m.AddReady("w", sh("while :; do sleep 0.05; done"), nil, procmon.ReadySpec{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "READY", func() bool { return len(r.eventsOf("w", procmon.EventReady)) == 1 })
	if err := m.ReportUnhealthy("w"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a restart", func() bool { return len(r.eventsOf("w", procmon.EventStarted)) == 2 })
	if err := m.ReportUnhealthy("nobody"); !errors.Is(err, procmon.ErrNotFound) {
		t.Fatalf("ReportUnhealthy(nobody) = %v", err)
	}
}
