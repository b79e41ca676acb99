package procmon_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	procmon "github.com/procmon/procmon/bindings/go"
)

// A context done before the call: nothing is done, ctx.Err() comes back.
func TestContextDoneBeforeTheCall(t *testing.T) {
	m := newMonitor(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.AddProcessContext(ctx, "never", []string{"sleep", "60"}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("AddProcessContext with a cancelled ctx: %v, want context.Canceled", err)
	}
	if _, err := m.Pid("never"); !errors.Is(err, procmon.ErrNotFound) {
		t.Fatalf("Pid of a process not added: %v, want ErrNotFound", err)
	}
	if err := m.AddReadyContext(ctx, "never", []string{"sleep", "60"}, nil, procmon.ReadySpec{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("AddReadyContext with a cancelled ctx: %v, want context.Canceled", err)
	}
	if _, err := m.Pid("never"); !errors.Is(err, procmon.ErrNotFound) {
		t.Fatalf("Pid of a process not added by AddReadyContext: %v, want ErrNotFound", err)
	}
	if err := m.AddReadyContext(context.Background(), "ready", []string{"sleep", "60"}, nil, procmon.ReadySpec{}); err != nil {
		t.Fatalf("AddReadyContext: %v", err)
	}

	if err := m.AddProcessContext(context.Background(), "sleeper", []string{"sleep", "60"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := func() bool {
		info, err := m.Info("sleeper")
		return err == nil && info.State == procmon.StateStopped
	}
	waitFor(t, "sleeper to stop", stopped)
	if err := m.StartProcessContext(ctx, "sleeper"); !errors.Is(err, context.Canceled) {
		t.Fatalf("StartProcessContext with a cancelled ctx: %v", err)
	}
	if err := m.StartContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("StartContext with a cancelled ctx: %v", err)
	}
	if !stopped() {
		t.Fatal("a call with a cancelled ctx started the process")
	}

	live, cancelLive := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelLive()
	if err := m.StartProcessContext(live, "sleeper"); err != nil {
		t.Fatal(err)
	}
	if pid, err := m.Pid("sleeper"); err != nil || pid <= 0 {
		t.Fatalf("after StartProcessContext: pid %d, %v", pid, err)
	}
	if err := m.StartContext(live); err != nil {
		t.Fatal(err)
	}
	// Errors of the call itself still come back through a live ctx.
	if err := m.AddProcessContext(live, "sleeper", []string{"true"}, nil); !errors.Is(err, procmon.ErrExists) {
		t.Fatalf("AddProcessContext of an existing name: %v, want ErrExists", err)
	}
	if err := m.StartProcessContext(live, "nobody"); !errors.Is(err, procmon.ErrNotFound) {
		t.Fatalf("StartProcessContext of an unknown name: %v, want ErrNotFound", err)
	}
}

// A deadline shorter than the work: the call returns ctx.Err() at once and the
// work completes in the background.
func TestContextDeadlineDuringTheSpawns(t *testing.T) {
	m := newMonitor(t)
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := 0; i < n; i++ {
		// Stopped: registered without a spawn.
		if err := m.AddProcess(fmt.Sprintf("s%d", i), []string{"sleep", "60"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	start := time.Now()
	err := m.StartContext(ctx) // 100 spawns take far longer than 1 ms
	elapsed := time.Since(start)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		if elapsed > 500*time.Millisecond {
			t.Errorf("StartContext returned %v after %v, want at once after the deadline", err, elapsed)
		}
	case err == nil:
		t.Logf("the %d spawns finished within the 1 ms deadline (%v)", n, elapsed)
	default:
		t.Fatalf("StartContext: %v", err)
	}
	waitFor(t, "every process to be started in the background", func() bool {
		for i := 0; i < n; i++ {
			if pid, err := m.Pid(fmt.Sprintf("s%d", i)); err != nil || pid == 0 {
				return false
			}
		}
		return true
	})
}

func TestCloseContext(t *testing.T) {
	m, err := procmon.New()
	if err != nil {
		t.Fatal(err)
	}
	r := record(m)
	const killTime = 1500 * time.Millisecond
	if err := m.SetKillTime(killTime); err != nil {
		t.Fatal(err)
	}
	// It ignores TERM: the close takes the whole kill time.
	if err := m.AddProcess("stubborn", sh(`trap '' TERM; echo ready; while :; do sleep 0.05; done`), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stubborn to be ready", func() bool { return len(r.linesOf("stubborn", procmon.Stdout)) > 0 })
	pid, err := m.Pid("stubborn")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := m.CloseContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CloseContext with a 100 ms deadline: %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > killTime/2 {
		t.Errorf("CloseContext returned after %v, want about 100 ms", elapsed)
	}
	// The close has begun: every call fails with ErrClosed, Close returns at once.
	if err := m.AddProcess("late", []string{"true"}, nil); !errors.Is(err, procmon.ErrClosed) {
		t.Errorf("AddProcess after CloseContext: %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close after CloseContext: %v", err)
	}
	if reaped(pid) {
		t.Fatalf("stubborn (pid %d) is gone before its kill time", pid)
	}

	// It goes on in the background: another CloseContext waits for the same close.
	if err := m.CloseContext(context.Background()); err != nil {
		t.Fatalf("CloseContext without a deadline: %v", err)
	}
	if elapsed := time.Since(start); elapsed < killTime {
		t.Errorf("the close ended after %v, before the kill time %v", elapsed, killTime)
	}
	if !reaped(pid) {
		t.Errorf("stubborn (pid %d) is still there after the close", pid)
	}
	if k := r.eventsOf("stubborn", procmon.EventKilled); len(k) != 1 {
		t.Errorf("KILLED events %+v, want one", k)
	}
	// Closed: a done ctx makes no difference any more.
	cancel()
	if err := m.CloseContext(ctx); err != nil {
		t.Errorf("CloseContext once closed: %v, want nil", err)
	}
}

// Inside a func, CloseContext returns at once, as Close does.
func TestCloseContextFromEventFunc(t *testing.T) {
	m, err := procmon.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background()) // never done while it matters
	defer cancel()
	closed := make(chan error, 1)
	m.SetEventFunc(func(e procmon.Event) {
		if e.Kind == procmon.EventStarted {
			closed <- m.CloseContext(ctx)
		}
	})
	if err := m.AddProcess("sleeper", []string{"sleep", "60"}, nil); err != nil && !errors.Is(err, procmon.ErrClosed) {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("CloseContext from the event func: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CloseContext from the event func did not return")
	}
	// From outside, a CloseContext waits for the cleanup that follows the func.
	wait, cancelWait := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelWait()
	if err := m.CloseContext(wait); err != nil {
		t.Fatalf("CloseContext after the func's: %v", err)
	}
}
