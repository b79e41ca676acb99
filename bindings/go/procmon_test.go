package procmon_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	procmon "github.com/procmon/procmon/bindings/go"
)

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newMonitor(t *testing.T) *procmon.Monitor {
	t.Helper()
	m, err := procmon.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

type line struct {
	name   string
	stream procmon.Stream
	text   string
}

// recorder keeps every line and event it is given.
type recorder struct {
	mu     sync.Mutex
	lines  []line
	events []procmon.Event
}

func record(m *procmon.Monitor) *recorder {
	r := &recorder{}
	m.SetLogFunc(func(name string, stream procmon.Stream, b []byte) {
		r.mu.Lock()
		r.lines = append(r.lines, line{name, stream, string(b)})
		r.mu.Unlock()
	})
	m.SetEventFunc(func(e procmon.Event) {
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
	})
	return r
}

func (r *recorder) eventsOf(name string, kinds ...procmon.EventKind) []procmon.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []procmon.Event
	for _, e := range r.events {
		if e.Name != name {
			continue
		}
		for _, k := range kinds {
			if e.Kind == k {
				out = append(out, e)
			}
		}
	}
	return out
}

func (r *recorder) linesOf(name string, stream procmon.Stream) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if l.name == name && l.stream == stream {
			out = append(out, l.text)
		}
	}
	return out
}

// reaped reports whether pid no longer exists at all (not even as a zombie).
func reaped(pid int) bool {
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

// goneOrZombie reports whether pid has exited: for processes that are not our
// children, whose reaping is up to their new parent.
func goneOrZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func sh(script string) []string { return []string{"sh", "-c", script} }

func TestVersion(t *testing.T) {
	if got := procmon.Version(); got != procmon.HeaderVersion {
		t.Fatalf("Version() = %q, header says %q", got, procmon.HeaderVersion)
	}
}

func TestLinesArriveInOrderAndComplete(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	const n = 2000
	script := fmt.Sprintf(`i=0
while [ $i -lt %d ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done
echo; printf 'cr\r\n'; printf 'a\000b\n'
head -c 70000 /dev/zero | tr '\000' x; echo
printf 'no newline'`, n)
	if err := m.AddProcess("chatty", sh(script), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the exit", func() bool { return len(r.eventsOf("chatty", procmon.EventExited)) > 0 })
	if err := m.RemoveProcess("chatty"); err != nil {
		t.Fatal(err)
	}
	// Every line of the run was delivered before EXITED.
	out := r.linesOf("chatty", procmon.Stdout)
	errs := r.linesOf("chatty", procmon.Stderr)
	if len(errs) != n {
		t.Fatalf("got %d stderr lines, want %d", len(errs), n)
	}
	if len(out) < n+6 {
		t.Fatalf("got %d stdout lines, want at least %d", len(out), n+6)
	}
	for i := 0; i < n; i++ {
		if want := fmt.Sprintf("out %d", i); out[i] != want {
			t.Fatalf("stdout line %d = %q, want %q", i, out[i], want)
		}
		if want := fmt.Sprintf("err %d", i); errs[i] != want {
			t.Fatalf("stderr line %d = %q, want %q", i, errs[i], want)
		}
	}
	long := strings.Repeat("x", 70000)
	want := []string{"", "cr\r", "a\x00b", long[:procmon.LineLimit], long[procmon.LineLimit:], "no newline"}
	got := out[n : n+6]
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("stdout line %d: got %q (len %d), want len %d", n+i, trim(got[i]), len(got[i]), len(want[i]))
		}
	}
}

func trim(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

func TestCallbackCallsBackIntoTheAPI(t *testing.T) {
	m := newMonitor(t)
	type seen struct {
		event, pid int
		info       procmon.ProcessInfo
		err        error
	}
	results := make(chan seen, 10)
	m.SetEventFunc(func(e procmon.Event) {
		if e.Kind != procmon.EventStarted {
			return
		}
		pid, err := m.Pid(e.Name)
		info, err2 := m.Info(e.Name)
		results <- seen{e.Pid, pid, info, errors.Join(err, err2)}
	})
	if err := m.AddProcess("sleeper", []string{"sleep", "60"}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-results:
		if s.err != nil {
			t.Fatalf("calls from the event func failed: %v", s.err)
		}
		if s.event <= 0 || s.pid != s.event || s.info.Pid != s.event {
			t.Fatalf("event pid %d, Pid() %d, Info().Pid %d", s.event, s.pid, s.info.Pid)
		}
		if s.info.State != procmon.StateRunning || s.info.Starts != 1 {
			t.Fatalf("Info() = %+v, want running with 1 start", s.info)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no STARTED event")
	}
}

func TestRestartBackoffDoubles(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	if err := m.SetMinRestartDelay(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := m.SetMaxRestartDelay(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := m.AddProcess("crasher", sh("exit 3"), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "four scheduled restarts", func() bool {
		return len(r.eventsOf("crasher", procmon.EventRestartScheduled)) >= 4
	})
	if err := m.RemoveProcess("crasher"); err != nil {
		t.Fatal(err)
	}
	kinds := []procmon.EventKind{procmon.EventStarted, procmon.EventExited, procmon.EventRestartScheduled}
	events := r.eventsOf("crasher", kinds...)
	for i := 0; i < 12; i++ {
		e := events[i]
		if e.Kind != kinds[i%3] {
			t.Fatalf("event %d is %v, want %v (events: %+v)", i, e.Kind, kinds[i%3], events)
		}
		switch e.Kind {
		case procmon.EventExited:
			if e.ExitCode != 3 || e.Signal != 0 || e.Pid != events[i-1].Pid {
				t.Fatalf("EXITED %+v, want exit code 3 of pid %d", e, events[i-1].Pid)
			}
		case procmon.EventRestartScheduled:
			if want := (50 * time.Millisecond) << (i / 3); e.Delay != want {
				t.Fatalf("restart %d scheduled in %v, want %v", i/3, e.Delay, want)
			}
		}
	}
	if _, err := m.Info("crasher"); !errors.Is(err, procmon.ErrNotFound) {
		t.Fatalf("Info after RemoveProcess: %v, want ErrNotFound", err)
	}
}

func TestStopProcessStopAndStart(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	if err := m.SetMinRestartDelay(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := m.AddProcess("sleeper", []string{"sleep", "60"}, nil); err != nil {
		t.Fatal(err)
	}
	first, err := m.Pid("sleeper")
	if err != nil || first <= 0 {
		t.Fatalf("Pid = %d, %v", first, err)
	}
	// StopProcess sends TERM; the monitor restarts the child.
	if err := m.StopProcess("sleeper"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restart", func() bool { return len(r.eventsOf("sleeper", procmon.EventStarted)) == 2 })
	exited := r.eventsOf("sleeper", procmon.EventExited)
	if len(exited) != 1 || exited[0].Signal != syscall.SIGTERM || exited[0].ExitCode != -1 || exited[0].Pid != first {
		t.Fatalf("EXITED events %+v, want one by SIGTERM of pid %d", exited, first)
	}
	waitFor(t, "the first child to be reaped", func() bool { return reaped(first) })

	// Stop stops the service: no restart.
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stop", func() bool {
		info, err := m.Info("sleeper")
		return err == nil && info.State == procmon.StateStopped && info.Pid == 0
	})
	if info, _ := m.Info("sleeper"); info.Starts != 2 || info.LastSignal != syscall.SIGTERM {
		t.Fatalf("Info after Stop = %+v, want 2 starts, last signal TERM", info)
	}
	// Start starts it again.
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if pid, err := m.Pid("sleeper"); err != nil || pid <= 0 {
		t.Fatalf("Pid after Start = %d, %v", pid, err)
	}
}

func TestSpawnFailure(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	if err := m.AddProcess("missing", []string{"/nonexistent/program"}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "SPAWN_FAILED and a scheduled restart", func() bool {
		return len(r.eventsOf("missing", procmon.EventRestartScheduled)) > 0
	})
	failed := r.eventsOf("missing", procmon.EventSpawnFailed)
	if len(failed) == 0 || failed[0].Error != syscall.ENOENT {
		t.Fatalf("SPAWN_FAILED events %+v, want ENOENT", failed)
	}
	if got := r.eventsOf("missing", procmon.EventStarted, procmon.EventExited); len(got) != 0 {
		t.Fatalf("a failed spawn reported %+v", got)
	}
}

func TestErrors(t *testing.T) {
	m := newMonitor(t)
	if err := m.AddProcess("dup", []string{"sleep", "60"}, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		what   string
		err    error
		code   procmon.ErrorCode
		detail string // a substring of the detail message
	}{
		{"duplicate name", m.AddProcess("dup", []string{"true"}, nil), procmon.ErrExists, "dup"},
		{"unknown name", m.StopProcess("nobody"), procmon.ErrNotFound, "nobody"},
		{"unknown name (Pid)", second(m.Pid("nobody")), procmon.ErrNotFound, "nobody"},
		{"empty argv", m.AddProcess("empty", []string{}, nil), procmon.ErrInvalid, ""},
		{"nil argv", m.AddProcess("empty", nil, nil), procmon.ErrInvalid, ""},
		{"empty name", m.AddProcess("", []string{"true"}, nil), procmon.ErrInvalid, ""},
		{"NUL in name", m.AddProcess("a\x00b", []string{"true"}, nil), procmon.ErrInvalid, "NUL"},
		{"env entry without =", m.AddProcess("env", []string{"true"}, &procmon.ProcessOptions{Env: []string{"FOO"}}), procmon.ErrInvalid, ""},
		{"negative duration", m.SetKillTime(-time.Second), procmon.ErrInvalid, ""},
		{"negative threshold", m.SetThreshold(-1), procmon.ErrInvalid, ""},
	}
	for _, c := range cases {
		var pe *procmon.Error
		switch {
		case c.err == nil:
			t.Errorf("%s: no error", c.what)
		case !errors.Is(c.err, c.code):
			t.Errorf("%s: %v is not %v", c.what, c.err, c.code)
		case !errors.As(c.err, &pe) || pe.Detail == "":
			t.Errorf("%s: %v has no detail message", c.what, c.err)
		case !strings.Contains(pe.Detail, c.detail):
			t.Errorf("%s: detail %q does not mention %q", c.what, pe.Detail, c.detail)
		default:
			t.Logf("%s: %v", c.what, c.err)
		}
	}
	// The other codes are distinct and only match themselves.
	if err := m.StopProcess("nobody"); errors.Is(err, procmon.ErrInvalid) || errors.Is(err, procmon.ErrExists) {
		t.Errorf("%v matches the wrong codes", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestProcessOptions(t *testing.T) {
	t.Setenv("PROCMON_GO_TEST", "inherited")
	m := newMonitor(t)
	r := record(m)
	add := func(name, script string, opts *procmon.ProcessOptions) {
		t.Helper()
		if err := m.AddProcess(name, sh(script+"; exec sleep 60"), opts); err != nil {
			t.Fatal(err)
		}
	}
	add("inherit", `echo "$PROCMON_GO_TEST"`, &procmon.ProcessOptions{})
	add("env", `echo "$FOO|$PROCMON_GO_TEST"`, &procmon.ProcessOptions{Env: []string{"FOO=bar"}})
	add("empty", `echo "[$(env)]"`, &procmon.ProcessOptions{Env: []string{}})
	add("dir", `pwd`, &procmon.ProcessOptions{Dir: "/"})
	uid, gid := os.Getuid(), os.Getgid()
	add("ids", `echo "$(id -u):$(id -g)"`, &procmon.ProcessOptions{UID: &uid, GID: &gid})
	want := map[string]string{
		"inherit": "inherited",
		"env":     "bar|",
		"dir":     "/",
		"ids":     fmt.Sprintf("%d:%d", uid, gid),
	}
	for name, w := range want {
		waitFor(t, name+"'s line", func() bool { return len(r.linesOf(name, procmon.Stdout)) > 0 })
		if got := r.linesOf(name, procmon.Stdout)[0]; got != w {
			t.Errorf("%s printed %q, want %q", name, got, w)
		}
	}
	// dash's env prints PWD (it sets it itself) but nothing inherited.
	waitFor(t, "empty's line", func() bool { return len(r.linesOf("empty", procmon.Stdout)) > 0 })
	if got := strings.Join(r.linesOf("empty", procmon.Stdout), "\n"); strings.Contains(got, "PROCMON_GO_TEST") || strings.Contains(got, "HOME=") {
		t.Errorf("empty env printed %q", got)
	}
	if desc := m.Describe(); !strings.Contains(desc, fmt.Sprintf("'ids'(%d:%d): ['sh', '-c',", uid, gid)) ||
		!strings.HasPrefix(desc, "<ProcessMonitor 'inherit': ['sh', '-c', ") {
		t.Errorf("Describe() = %s", desc)
	}
	bad := -5
	if err := m.AddProcess("bad", []string{"true"}, &procmon.ProcessOptions{UID: &bad}); !errors.Is(err, procmon.ErrInvalid) {
		t.Errorf("negative UID: %v, want ErrInvalid", err)
	}
}

func TestCloseLeavesNoChildBehind(t *testing.T) {
	m, err := procmon.New()
	if err != nil {
		t.Fatal(err)
	}
	r := record(m)
	if err := m.SetKillTime(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := m.AddProcess(fmt.Sprintf("sleeper%d", i), []string{"sleep", "60"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// This one ignores TERM: Close must KILL it after the kill time.
	if err := m.AddProcess("stubborn", sh(`trap '' TERM; echo ready; exec sleep 60`), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stubborn to be ready", func() bool { return len(r.linesOf("stubborn", procmon.Stdout)) > 0 })
	var pids []int
	for _, name := range []string{"sleeper0", "sleeper1", "sleeper2", "stubborn"} {
		pid, err := m.Pid(name)
		if err != nil || pid <= 0 {
			t.Fatalf("Pid(%s) = %d, %v", name, pid, err)
		}
		pids = append(pids, pid)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if !reaped(pid) {
			t.Errorf("pid %d is still there after Close (state zombie: %v)", pid, goneOrZombie(pid))
		}
	}
	if k := r.eventsOf("stubborn", procmon.EventKilled); len(k) != 1 || k[0].Pid != pids[3] {
		t.Errorf("KILLED events %+v, want one for pid %d", k, pids[3])
	}
	if e := r.eventsOf("stubborn", procmon.EventExited); len(e) != 1 || e[0].Signal != syscall.SIGKILL {
		t.Errorf("EXITED events %+v, want one by SIGKILL", e)
	}
	// Closed: every call fails with ErrClosed (an ErrState); Close is idempotent.
	if _, err := m.Pid("sleeper0"); !errors.Is(err, procmon.ErrClosed) || !errors.Is(err, procmon.ErrState) {
		t.Errorf("Pid after Close: %v, want ErrClosed and ErrState", err)
	}
	if err := m.AddProcess("late", []string{"true"}, nil); !errors.Is(err, procmon.ErrClosed) {
		t.Errorf("AddProcess after Close: %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	m.SetLogFunc(nil) // a no-op, no crash
}

func TestStopProcessGroup(t *testing.T) {
	m, err := procmon.New()
	if err != nil {
		t.Fatal(err)
	}
	r := record(m)
	opts := &procmon.ProcessOptions{StopProcessGroup: true}
	if err := m.AddProcess("group", sh(`sleep 60 & echo $!; wait`), opts); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the grandchild's pid", func() bool { return len(r.linesOf("group", procmon.Stdout)) > 0 })
	grandchild, err := strconv.Atoi(r.linesOf("group", procmon.Stdout)[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(grandchild, syscall.SIGKILL) })
	child, _ := m.Pid("group")
	if goneOrZombie(grandchild) {
		t.Fatalf("grandchild %d is not running", grandchild)
	}
	m.Close()
	if !reaped(child) {
		t.Errorf("child %d is still there", child)
	}
	// The grandchild is not ours to reap: gone or a zombie means it was killed.
	waitFor(t, "the grandchild to die", func() bool { return goneOrZombie(grandchild) })
}

func TestCloseFromEventFunc(t *testing.T) {
	m, err := procmon.New()
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan int, 1)
	m.SetEventFunc(func(e procmon.Event) {
		if e.Kind == procmon.EventStarted {
			m.Close() // returns at once; the cleanup completes after this func
			closed <- e.Pid
		}
	})
	if err := m.AddProcess("sleeper", []string{"sleep", "60"}, nil); err != nil && !errors.Is(err, procmon.ErrClosed) {
		t.Fatal(err)
	}
	var pid int
	select {
	case pid = <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the event func did not run")
	}
	waitFor(t, "the child to be reaped", func() bool { return reaped(pid) })
	if _, err := m.Pid("sleeper"); !errors.Is(err, procmon.ErrClosed) {
		t.Fatalf("Pid after Close: %v", err)
	}
}

// TestConcurrentCalls is meant for the race detector: goroutines drive the
// API at the same time, the funcs are replaced while they run, and Close
// comes while calls are still in flight.
func TestConcurrentCalls(t *testing.T) {
	m, err := procmon.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetMinRestartDelay(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	count := func(name string) {
		mu.Lock()
		counts[name]++
		mu.Unlock()
	}
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("w%d", w)
			if err := m.AddProcess(name, sh("echo up; exec sleep 60"), nil); err != nil {
				errs <- err
				return
			}
			for i := 0; i < 20; i++ {
				m.SetLogFunc(func(n string, _ procmon.Stream, _ []byte) { count(n) })
				m.SetEventFunc(func(e procmon.Event) { count(e.Kind.String()) })
				if _, err := m.Pid(name); err != nil {
					errs <- err
				}
				if _, err := m.Info(name); err != nil {
					errs <- err
				}
				if !strings.Contains(m.Describe(), "'"+name+"'") {
					errs <- fmt.Errorf("Describe() lacks %s", name)
				}
				if err := m.SetThreshold(time.Duration(i) * time.Millisecond); err != nil {
					errs <- err
				}
				if i%5 == 0 {
					if err := m.StopProcess(name); err != nil {
						errs <- err
					}
					if err := m.StartProcess(name); err != nil {
						errs <- err
					}
				}
			}
			if w == 0 {
				if err := m.RestartAll(); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitFor(t, "a line of every worker's process", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for w := 0; w < workers; w++ {
			if counts[fmt.Sprintf("w%d", w)] == 0 {
				return false
			}
		}
		return true
	})

	// Close while other goroutines keep calling: each ends with ErrClosed.
	done := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			name := fmt.Sprintf("w%d", w)
			for {
				if _, err := m.Pid(name); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for w := 0; w < workers; w++ {
		if err := <-done; !errors.Is(err, procmon.ErrClosed) {
			t.Errorf("a call racing Close: %v, want ErrClosed", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if counts["started"] < workers {
		t.Errorf("only %d STARTED events", counts["started"])
	}
}

// TestReplacedFuncIsNotCalledAgain checks the setter's guarantee: once
// SetLogFunc returns, the previous func is not running and never runs again.
func TestReplacedFuncIsNotCalledAgain(t *testing.T) {
	m := newMonitor(t)
	var gen, violations atomic.Int64
	var calls [21]atomic.Int64
	install := func(i int64) {
		m.SetLogFunc(func(string, procmon.Stream, []byte) {
			if gen.Load() > i {
				violations.Add(1)
			}
			calls[i].Add(1)
		})
		gen.Store(i)
	}
	install(0)
	// Long lines: the library buffers up to 4 MiB, which Close delivers.
	if err := m.AddProcess("yes", []string{"yes", strings.Repeat("y", 1000)}, nil); err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 20; i++ {
		waitFor(t, fmt.Sprintf("func %d to be called", i), func() bool { return calls[i].Load() > 0 })
		install(i + 1)
	}
	if v := violations.Load(); v != 0 {
		t.Fatalf("a replaced func was called %d times after SetLogFunc returned", v)
	}
}
