package procmon_test

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	procmon "github.com/procmon/procmon/bindings/go"
)

const loop = "while :; do sleep 0.05; done"

func dur(d time.Duration) *time.Duration { return &d }

// fast is a spec whose restarts are quick, for the tests.
func fast(script string) procmon.Spec {
	return procmon.Spec{
		Argv:          sh(script),
		KillTime:      dur(2 * time.Second),
		RestartDelays: &procmon.RestartDelays{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	}
}

func waitLine(t *testing.T, r *recorder, name, want string) {
	t.Helper()
	waitFor(t, name+" printing "+strconv.Quote(want), func() bool {
		for _, l := range r.linesOf(name, procmon.Stdout) {
			if l == want {
				return true
			}
		}
		return false
	})
}

func exitedOf(t *testing.T, r *recorder, name string, n int) procmon.Event {
	t.Helper()
	waitFor(t, name+"'s EXITED", func() bool { return len(r.eventsOf(name, procmon.EventExited)) >= n })
	return r.eventsOf(name, procmon.EventExited)[n-1]
}

// ON_FAILURE: a one-shot that exits 0, and one whose 3 is a success code, are
// STOPPED with ExitExpected and no restart; one that exits 1 is restarted.
func TestRestartOnFailure(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	before := time.Now()
	job := fast("exit 0")
	job.Restart = procmon.RestartOnFailure
	if err := m.Add("job", job); err != nil {
		t.Fatal(err)
	}
	three := fast("exit 3")
	three.Restart, three.SuccessExitCodes = procmon.RestartOnFailure, []int{0, 3}
	if err := m.Add("three", three); err != nil {
		t.Fatal(err)
	}
	bad := fast("exit 1")
	bad.Restart = procmon.RestartOnFailure
	if err := m.Add("bad", bad); err != nil {
		t.Fatal(err)
	}
	for name, code := range map[string]int{"job": 0, "three": 3} {
		e := exitedOf(t, r, name, 1)
		if e.ExitCode != code || e.Flags&procmon.ExitExpected == 0 || e.Flags&procmon.ExitRequested != 0 {
			t.Fatalf("%s: EXITED %+v, want code %d flagged expected only", name, e, code)
		}
		if e.Timestamp.Before(before.Add(-time.Second)) || e.Timestamp.After(time.Now().Add(time.Second)) {
			t.Fatalf("%s: EXITED at %v, not during the test (from %v)", name, e.Timestamp, before)
		}
	}
	waitFor(t, "bad's restart", func() bool { return len(r.eventsOf("bad", procmon.EventStarted)) >= 2 })
	if e := exitedOf(t, r, "bad", 1); e.Flags != 0 {
		t.Fatalf("bad: EXITED flags %v, want none", e.Flags)
	}
	time.Sleep(100 * time.Millisecond)
	for _, name := range []string{"job", "three"} {
		info, err := m.Info(name)
		if err != nil || info.State != procmon.StateStopped || info.Starts != 1 {
			t.Fatalf("%s: Info = %+v, %v; want stopped after 1 start", name, info, err)
		}
		if n := len(r.eventsOf(name, procmon.EventRestartScheduled, procmon.EventStarted)); n != 1 {
			t.Fatalf("%s: %d STARTED/RESTART_SCHEDULED events, want the first STARTED only", name, n)
		}
	}
	// StartProcess starts a STOPPED one again.
	if err := m.StartProcess("job"); err != nil {
		t.Fatal(err)
	}
	exitedOf(t, r, "job", 2)
	if got := (procmon.ExitExpected | procmon.ExitRequested | 64).String(); got != "expected|requested|0x40" {
		t.Fatalf("ExitFlags.String() = %q", got)
	}
	if got := procmon.ExitFlags(0).String(); got != "0" {
		t.Fatalf("ExitFlags(0).String() = %q", got)
	}
}

// A stop sends the spec's stop signal: a shell that traps INT exits on it (a
// success under ON_FAILURE), and resource use shows on EXITED.
func TestStopSignalAndUsage(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	spec := fast(`trap 'echo got INT; exit 7' INT
i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done
echo ready; ` + loop)
	spec.StopSignal = syscall.SIGINT
	spec.Restart = procmon.RestartNever
	if err := m.Add("trapper", spec); err != nil {
		t.Fatal(err)
	}
	waitLine(t, r, "trapper", "ready")
	if err := m.StopProcess("trapper"); err != nil {
		t.Fatal(err)
	}
	e := exitedOf(t, r, "trapper", 1)
	waitLine(t, r, "trapper", "got INT")
	if e.ExitCode != 7 || e.Flags&procmon.ExitRequested == 0 {
		t.Fatalf("EXITED %+v (flags %v), want exit 7 flagged requested", e, e.Flags)
	}
	if len(r.eventsOf("trapper", procmon.EventKilled)) != 0 {
		t.Fatal("the trapper was KILLed: INT did not stop it")
	}
	if e.UserCPU+e.SysCPU <= 0 || e.MaxRSSKiB <= 0 {
		t.Fatalf("EXITED usage: user %v sys %v rss %d KiB, want some", e.UserCPU, e.SysCPU, e.MaxRSSKiB)
	}
	if info, _ := m.Info("trapper"); info.State != procmon.StateStopped {
		t.Fatalf("after a stop under NEVER: %v, want stopped", info.State)
	}
}

// SignalProcess reaches a child that counts HUPs, and is not a stop.
func TestSignalProcess(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	spec := fast(`n=0; trap 'n=$((n+1)); echo hup $n' HUP; echo ready; ` + loop)
	spec.Containment = procmon.ContainGroup
	if err := m.Add("counter", spec); err != nil {
		t.Fatal(err)
	}
	waitLine(t, r, "counter", "ready")
	if err := m.SignalProcess("counter", syscall.SIGHUP, false); err != nil {
		t.Fatal(err)
	}
	waitLine(t, r, "counter", "hup 1")
	if err := m.SignalProcess("counter", syscall.SIGHUP, true); err != nil { // the shell and its sleep
		t.Fatal(err)
	}
	waitLine(t, r, "counter", "hup 2")
	if n := len(r.eventsOf("counter", procmon.EventExited)); n != 0 {
		t.Fatalf("%d EXITED events: the HUPs stopped it", n)
	}
	if err := m.SignalProcess("nobody", syscall.SIGHUP, false); !errors.Is(err, procmon.ErrNotFound) {
		t.Fatalf("SignalProcess(nobody) = %v, want ErrNotFound", err)
	}
	for _, sig := range []syscall.Signal{0, 65} {
		if err := m.SignalProcess("counter", sig, false); !errors.Is(err, procmon.ErrInvalid) {
			t.Fatalf("SignalProcess(%d) = %v, want ErrInvalid", int(sig), err)
		}
	}
	stopped := fast("exit 0")
	stopped.Restart = procmon.RestartNever
	if err := m.Add("done", stopped); err != nil {
		t.Fatal(err)
	}
	exitedOf(t, r, "done", 1)
	if err := m.SignalProcess("done", syscall.SIGHUP, false); !errors.Is(err, procmon.ErrState) {
		t.Fatalf("SignalProcess of a stopped process = %v, want ErrState", err)
	}
}

// SetEnv adds on top of the inherited environment, UnsetEnv removes from
// it; an Env base gets the same treatment.
func TestEnvVarsAndRlimits(t *testing.T) {
	t.Setenv("PM_INHERITED", "inherited")
	t.Setenv("PM_GONE", "still here")
	m := newMonitor(t)
	r := record(m)
	spec := fast(`echo "$PM_INHERITED ${PM_EXTRA-unset} ${PM_GONE-unset}"; echo "nofile $(ulimit -n) core $(ulimit -c)"; ` + loop)
	spec.SetEnv = map[string]string{"PM_EXTRA": "extra"}
	spec.UnsetEnv = []string{"PM_GONE"}
	spec.Rlimits = []procmon.Rlimit{
		{Resource: syscall.RLIMIT_NOFILE, Soft: 64, Hard: 128},
		{Resource: syscall.RLIMIT_CORE, Soft: 0, Hard: 0},
	}
	if err := m.Add("env", spec); err != nil {
		t.Fatal(err)
	}
	waitLine(t, r, "env", "inherited extra unset")
	waitLine(t, r, "env", "nofile 64 core 0")
	base := fast(`echo "${PM_INHERITED-unset} $PM_BASE $PM_EXTRA"; ` + loop)
	base.Env = []string{"PM_BASE=base", "PATH=/usr/bin:/bin"}
	base.SetEnv = map[string]string{"PM_EXTRA": "extra"}
	if err := m.Add("base", base); err != nil {
		t.Fatal(err)
	}
	waitLine(t, r, "base", "unset base extra")
}

// A start limit of 2 starts: the third start is not made, the process is
// FAILED with GAVE_UP (delay: the RetryAfter), and StartProcess revives it.
func TestStartLimitGivesUp(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	spec := fast("exit 1")
	spec.StartLimit = &procmon.StartLimit{Burst: 2, Interval: 30 * time.Second}
	if err := m.Add("crasher", spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "GAVE_UP", func() bool { return len(r.eventsOf("crasher", procmon.EventGaveUp)) == 1 })
	if gave := r.eventsOf("crasher", procmon.EventGaveUp)[0]; gave.Delay != 0 {
		t.Fatalf("GAVE_UP delay %v, want 0 (no retry)", gave.Delay)
	}
	info, err := m.Info("crasher")
	if err != nil || info.State != procmon.StateFailed || info.Starts != 2 {
		t.Fatalf("Info = %+v, %v; want failed after 2 starts", info, err)
	}
	if info.State.String() != "failed" || procmon.EventGaveUp.String() != "gave-up" {
		t.Fatalf("names: %q %q", info.State, procmon.EventGaveUp)
	}
	if err := m.StartProcess("crasher"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a start after the revival", func() bool { return len(r.eventsOf("crasher", procmon.EventStarted)) >= 3 })

	retry := fast("exit 1")
	retry.StartLimit = &procmon.StartLimit{Burst: 1, Interval: 30 * time.Second, RetryAfter: 200 * time.Millisecond}
	if err := m.Add("retry", retry); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retry after GAVE_UP", func() bool { return len(r.eventsOf("retry", procmon.EventStarted)) >= 2 })
	if gave := r.eventsOf("retry", procmon.EventGaveUp); len(gave) == 0 || gave[0].Delay != 200*time.Millisecond {
		t.Fatalf("GAVE_UP events %+v, want a delay of 200ms", gave)
	}
}

// Under ContainGroup a stop reaches the child's grandchild; under
// ContainNone it does not. STARTED says what each got.
func TestContainment(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	grandchild := func(name string) int {
		t.Helper()
		var pid int
		waitFor(t, name+"'s grandchild pid", func() bool {
			for _, l := range r.linesOf(name, procmon.Stdout) {
				if p, err := strconv.Atoi(l); err == nil {
					pid = p
					return true
				}
			}
			return false
		})
		return pid
	}
	for _, c := range []procmon.Containment{procmon.ContainGroup, procmon.ContainNone} {
		name := c.String()
		spec := fast(`sleep 60 & echo $!; ` + loop)
		spec.Restart, spec.Containment = procmon.RestartNever, c
		if err := m.Add(name, spec); err != nil {
			t.Fatal(err)
		}
		pid := grandchild(name)
		if started := r.eventsOf(name, procmon.EventStarted)[0]; started.Containment != c || started.Detail != "" {
			t.Fatalf("%s: STARTED containment %v detail %q", name, started.Containment, started.Detail)
		}
		if err := m.StopProcess(name); err != nil {
			t.Fatal(err)
		}
		exitedOf(t, r, name, 1)
		if c == procmon.ContainGroup {
			waitFor(t, "the grandchild's end", func() bool { return goneOrZombie(pid) })
		} else {
			time.Sleep(100 * time.Millisecond)
			if goneOrZombie(pid) {
				t.Fatal("under ContainNone the stop reached the grandchild")
			}
			syscall.Kill(pid, syscall.SIGKILL)
			waitFor(t, "the grandchild killed by the test", func() bool { return goneOrZombie(pid) })
		}
	}
	// The default is AUTO: a run gets a cgroup or a process group, never AUTO.
	if err := m.Add("auto", fast(loop)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "auto's STARTED", func() bool { return len(r.eventsOf("auto", procmon.EventStarted)) == 1 })
	if c := r.eventsOf("auto", procmon.EventStarted)[0].Containment; c != procmon.ContainGroup && c != procmon.ContainCgroup {
		t.Fatalf("AUTO's STARTED says %v", c)
	}
	for _, root := range []string{"relative/path", "/nonexistent/procmon-root"} {
		if err := m.SetCgroupRoot(root); !errors.Is(err, procmon.ErrInvalid) {
			t.Fatalf("SetCgroupRoot(%q) = %v, want ErrInvalid", root, err)
		}
	}
}

// Bad settings are ErrInvalid, with a message that names the setting, and
// nothing is added.
func TestSpecBadValues(t *testing.T) {
	m := newMonitor(t)
	neg := -time.Second
	cases := []struct {
		what string
		edit func(*procmon.Spec)
		want string // in the message
	}{
		{"negative threshold", func(s *procmon.Spec) { s.Threshold = &neg }, "threshold"},
		{"negative kill time", func(s *procmon.Spec) { s.KillTime = &neg }, "kill time"},
		{"min > max delay", func(s *procmon.Spec) {
			s.RestartDelays = &procmon.RestartDelays{Min: 2 * time.Second, Max: time.Second}
		}, "delay"},
		{"SIGKILL as stop signal", func(s *procmon.Spec) { s.StopSignal = syscall.SIGKILL }, "stop signal"},
		{"signal 65", func(s *procmon.Spec) { s.StopSignal = 65 }, "stop signal"},
		{"unknown policy", func(s *procmon.Spec) { s.Restart = 9 }, "restart"},
		{"unknown containment", func(s *procmon.Spec) { s.Containment = 9 }, "containment"},
		{"negative start limit interval", func(s *procmon.Spec) {
			s.StartLimit = &procmon.StartLimit{Burst: 1, Interval: -time.Second}
		}, "start limit"},
		{"negative burst", func(s *procmon.Spec) { s.StartLimit = &procmon.StartLimit{Burst: -1} }, "burst"},
		{"soft > hard", func(s *procmon.Spec) {
			s.Rlimits = []procmon.Rlimit{{Resource: syscall.RLIMIT_NOFILE, Soft: 10, Hard: 5}}
		}, "rlimit"},
		{"unknown resource", func(s *procmon.Spec) { s.Rlimits = []procmon.Rlimit{{Resource: 999}} }, "rlimit"},
		{"env key with =", func(s *procmon.Spec) { s.SetEnv = map[string]string{"A=B": "x"} }, "env"},
		{"empty env key", func(s *procmon.Spec) { s.UnsetEnv = []string{""} }, "env"},
		{"set and unset", func(s *procmon.Spec) {
			s.SetEnv, s.UnsetEnv = map[string]string{"K": "v"}, []string{"K"}
		}, "UnsetEnv"},
		{"negative uid", func(s *procmon.Spec) { u := -1; s.UID = &u }, "uid"},
		{"empty argv", func(s *procmon.Spec) { s.Argv = nil }, "argv"},
		{"watchdog without readiness", func(s *procmon.Spec) { s.Ready.Watchdog = time.Second }, "watchdog"},
	}
	for _, c := range cases {
		spec := procmon.Spec{Argv: []string{"true"}}
		c.edit(&spec)
		err := m.Add("bad", spec)
		var perr *procmon.Error
		if !errors.Is(err, procmon.ErrInvalid) || !errors.As(err, &perr) || perr.Op != "Add" {
			t.Errorf("%s: %v, want ErrInvalid from Add", c.what, err)
			continue
		}
		t.Logf("%s: %v", c.what, err)
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
			t.Errorf("%s: %q does not name %q", c.what, err, c.want)
		}
	}
	if _, err := m.Info("bad"); !errors.Is(err, procmon.ErrNotFound) {
		t.Fatalf("a bad spec was added: Info = %v", err)
	}
}

// AddMany: every child running with a pid when it returns; all or nothing on a
// name given twice, one already monitored and a bad spec, naming the index;
// while stopped, registered only.
func TestAddMany(t *testing.T) {
	m := newMonitor(t)
	r := record(m)
	sleeper := procmon.Spec{Argv: []string{"/bin/sleep", "60"}, Containment: procmon.ContainNone}
	var procs []procmon.NamedSpec
	for i := 0; i < 30; i++ {
		procs = append(procs, procmon.NamedSpec{Name: "s" + strconv.Itoa(i), Spec: sleeper})
	}
	if err := m.AddMany(procs); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		info, err := m.Info(p.Name)
		if err != nil || info.State != procmon.StateRunning || info.Pid <= 0 {
			t.Fatalf("%s: %+v, %v", p.Name, info, err)
		}
	}
	for _, p := range procs {
		waitFor(t, p.Name+"'s STARTED", func() bool { return len(r.eventsOf(p.Name, procmon.EventStarted)) == 1 })
	}
	if err := m.AddMany(nil); err != nil {
		t.Fatal("an empty batch:", err)
	}

	bad := []struct {
		procs []procmon.NamedSpec
		code  procmon.ErrorCode
		where string
	}{
		{[]procmon.NamedSpec{{"a", sleeper}, {"b", sleeper}, {"s3", sleeper}}, procmon.ErrExists, "names[2]"},
		{[]procmon.NamedSpec{{"a", sleeper}, {"a", sleeper}}, procmon.ErrExists, "names[1]"},
		{[]procmon.NamedSpec{{"a", sleeper}, {"b\x00", sleeper}}, procmon.ErrInvalid, "names[1]"},
		{[]procmon.NamedSpec{{"a", sleeper}, {"", sleeper}}, procmon.ErrInvalid, "names[1]"},
		{[]procmon.NamedSpec{{"a", sleeper}, {"b", procmon.Spec{}}}, procmon.ErrInvalid, "specs[1]"},
	}
	for _, c := range bad {
		err := m.AddMany(c.procs)
		var pe *procmon.Error
		if !errors.As(err, &pe) || pe.Code != c.code || !strings.Contains(pe.Detail, c.where) {
			t.Fatalf("%v: got %v, want %v naming %s", c.procs, err, c.code, c.where)
		}
	}
	for _, name := range []string{"a", "b"} {
		if _, err := m.Info(name); !errors.Is(err, procmon.ErrNotFound) {
			var pe *procmon.Error
			if !errors.As(err, &pe) || pe.Code != procmon.ErrNotFound {
				t.Fatalf("%s added by a refused batch: %v", name, err)
			}
		}
	}

	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := m.AddMany([]procmon.NamedSpec{{"x", sleeper}, {"y", sleeper}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"x", "y"} {
		info, err := m.Info(name)
		if err != nil || info.State != procmon.StateStopped || info.Pid != 0 {
			t.Fatalf("%s while stopped: %+v, %v", name, info, err)
		}
	}
}
