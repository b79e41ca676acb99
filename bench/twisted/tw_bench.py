"""tw_bench: every workload driven through Twisted's ProcessMonitor.

    python tw_bench.py GEN throughput CHILDREN LINES_PER_CHILD [FORM]
                                                  (FORM: 64k, a write size, stdio)
    python tw_bench.py GEN flood LINES            (observer sleeps 1 ms every 1,000 lines)
    python tw_bench.py GEN crash CHILDREN SECONDS [ENV]
                                  (/bin/true, threshold 0, delays 0; ENV empty|inherit)
    python tw_bench.py GEN restart SAMPLES        (SIGKILL from outside -> new pid spawned)
    python tw_bench.py GEN scale N IDLE_SECONDS [START_TIMEOUT]
    python tw_bench.py GEN stop SAMPLES KILL_TIME (a child that ignores TERM)

Same command line and JSON as bench/procmon/pm_bench.c. ProcessMonitor's
LineLogger logs every line with `self.service.log.info("[{tag}] {line}", ...)`;
the monitor's `log` is replaced by a Logger whose observer counts and checks each
line exactly like the C checker (common/lines.h). That is the cheapest observer
Twisted allows: no global log publisher, no formatting of the message.

Lifecycle hooks wrap the instance's startProcess (the pid exists when it returns)
and _monitoredProcessExited (called from LoggingProtocol.processEnded).

Twisted's LoggingProtocol compares `data[-1] == b"\\n"` (an int with bytes), so it
always believes the output ended without a newline and logs one extra empty line
when a child exits; such empty lines are counted apart ("extra_empty_lines") and
are not an error of the check.
"""

import json
import os
import resource
import signal
import sys
import time

from twisted.internet import reactor
from twisted.logger import Logger
from twisted.runner.procmon import ProcessMonitor

PATTERN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 3
now = time.monotonic


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def thread_count():
    return len(os.listdir("/proc/self/task"))


def usage():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_nvcsw


class Bench:
    def __init__(self, gen):
        self.gen = gen
        self.pm = ProcessMonitor(reactor)
        self.pm.log = Logger(observer=self.observe)
        self.next = [0] * 64
        self.lines = self.bad = self.empty = 0
        self.expected = -1
        self.slow = False
        self.t_done = 0.0
        self.ready = 0
        self.started = self.exited = 0
        self.t_started = 0.0
        self.on_start = self.on_exit = self.on_ready = None
        self.on_done = None
        self.on_stamp = None
        self.stamps = 0
        self.t_stamp = 0.0
        self.result = {"impl": "twisted", "ok": False, "error": "did not finish"}
        self.env = dict(os.environ)  # like procmon's NULL env: inherit
        orig_start = self.pm.startProcess
        orig_exited = self.pm._monitoredProcessExited

        def start_process(name):
            orig_start(name)
            self.started += 1
            self.t_started = now()
            if self.on_start:
                self.on_start(name)

        def exited(name, reason=None):
            orig_exited(name, reason)
            self.exited += 1
            if self.on_exit:
                self.on_exit(name)

        self.pm.startProcess = start_process
        self.pm._monitoredProcessExited = exited

    def observe(self, ev):
        line = ev.get("line")
        if line is None:  # not a child's line (e.g. a log.failure)
            return
        if line == "ready":
            self.ready += 1
            if self.on_ready:
                self.on_ready()
            return
        if line == "":
            self.empty += 1
            return
        if line.startswith("t "):  # gen stamp: the child's CLOCK_MONOTONIC at main()
            self.stamps += 1
            self.t_stamp = int(line[2:]) * 1e-9
            if self.on_stamp:
                self.on_stamp()
            return
        i = int(ev["tag"][1:])
        s = self.next[i]
        r = s % 26
        if ev["stream"] != "stdout" or line != "%02d %010d %s" % (i, s, PATTERN[r : r + 45]):
            self.bad += 1
        self.next[i] = s + 1
        self.lines += 1
        if self.slow and self.lines % 1000 == 0:
            time.sleep(0.001)
        if self.lines == self.expected:
            self.t_done = now()
            reactor.callLater(0, self.on_done)

    def add(self, name, args, env=None):
        self.pm.addProcess(name, args, env=self.env if env is None else env)

    def stop_reactor(self):
        self.pm.stopService()
        reactor.stop()

    # ---- workloads -------------------------------------------------------

    def lines_run(self, children, per_child, slow, form="64k"):
        self.expected = children * per_child
        self.slow = slow
        self.pm.threshold = 1e6  # never restart a child that finished its lines
        self.pm.minRestartDelay = 3600
        st = {}

        def go():
            st["rss0"] = status_kib("VmRSS")
            st["u0"] = usage()[0]
            st["t0"] = now()
            self.pm.startService()
            for i in range(children):
                if form == "stdio":
                    args = [self.gen, "stdio", str(per_child), str(i)]
                else:
                    args = [self.gen, "lines", str(per_child), str(i)]
                    if form != "64k":
                        args.append(form)
                self.add("g%d" % i, args)

        def all_exited(name):
            # processEnded comes after the last line: a lost line fails the check
            if self.exited == children and not self.t_done:
                self.t_done = now()
                done()

        def done():
            cpu = usage()[0] - st["u0"]
            hwm = status_kib("VmHWM")
            secs = self.t_done - st["t0"]
            ok = self.bad == 0 and self.lines == self.expected
            self.result = dict(
                impl="twisted", ok=ok, form=form, lines=self.lines, bad=self.bad,
                extra_empty_lines=self.empty, seconds=secs,
                lines_per_s=self.lines / secs, cpu_s=cpu,
                cpu_ns_per_line=cpu * 1e9 / self.lines, rss_base_kib=st["rss0"],
                peak_rss_kib=hwm, peak_above_base_kib=hwm - st["rss0"])
            self.stop_reactor()

        self.on_done = done
        self.on_exit = all_exited
        reactor.callWhenRunning(go)

    def crash_run(self, children, seconds, env="empty"):
        self.pm.threshold = 0
        self.pm.minRestartDelay = 0
        self.pm.maxRestartDelay = 0
        st = {}

        def go():
            self.pm.startService()
            for i in range(children):
                self.add("c%d" % i, ["/bin/true"], env={} if env != "inherit" else None)
            reactor.callLater(0.2, mark0)

        def mark0():
            st["e0"], st["t0"] = self.exited, now()
            reactor.callLater(seconds, mark1)

        def mark1():
            n, secs = self.exited - st["e0"], now() - st["t0"]
            self.result = dict(impl="twisted", ok=n > 0, env=env, children=children, restarts=n,
                               seconds=secs, restarts_per_s=n / secs)
            self.stop_reactor()

        reactor.callWhenRunning(go)

    def restart_run(self, samples):
        self.pm.threshold = 0
        self.pm.minRestartDelay = 0
        lat, run = [], []
        st = {"waiting": False}

        def go():
            self.pm.startService()
            self.add("r0", [self.gen, "stamp"])

        def kill_one():
            pid = self.pm.protocols["r0"].transport.pid
            st["waiting"] = True
            st["t0"] = now()
            os.kill(pid, signal.SIGKILL)

        def on_start(name):
            if st["waiting"]:
                st["waiting"] = False
                lat.append(self.t_started - st["t0"])  # spawnProcess returned: pid exists

        def on_stamp():
            if self.stamps == 1:
                reactor.callLater(0.003, kill_one)
                return
            run.append(self.t_stamp - st["t0"])
            if len(run) < samples:
                reactor.callLater(0.003, kill_one)
                return

            def q(v, f):
                v = sorted(v)
                return v[int(f * (len(v) - 1) + 0.5)]

            self.result = dict(impl="twisted", ok=len(lat) == samples, samples=samples,
                               median_s=q(lat, 0.5), p90_s=q(lat, 0.9), min_s=min(lat),
                               run_median_s=q(run, 0.5), run_p90_s=q(run, 0.9))
            self.stop_reactor()

        self.on_start, self.on_stamp = on_start, on_stamp
        reactor.callWhenRunning(go)

    def scale_run(self, n, idle, start_timeout):
        st = {}

        def go():
            self.pm.startService()
            reactor.callLater(0.05, start_all)

        def start_all():
            st["rss0"], st["threads0"] = status_kib("VmRSS"), thread_count()
            t0 = now()
            timed_out = False
            for i in range(n):
                self.add("s%d" % i, [self.gen, "sleep"])
                if now() - t0 > start_timeout:
                    timed_out = True
                    break
            st["start_s"] = now() - t0
            st["timed_out"] = timed_out
            st["rss1"], st["threads1"] = status_kib("VmRSS"), thread_count()
            if idle > 0 and not timed_out:
                reactor.callLater(0.2, begin_idle)  # let everything settle first
            else:
                after_idle()

        def begin_idle():
            st["u0"] = usage()
            reactor.callLater(idle, after_idle)

        def after_idle():
            if "u0" in st:
                u1 = usage()
                st["idle_cpu"], st["idle_csw"] = u1[0] - st["u0"][0], u1[1] - st["u0"][1]
                st["rss2"] = status_kib("VmRSS")
            st["t1"] = now()
            self.on_exit = on_exit
            self.pm.stopService()

        def on_exit(name):
            if self.exited < self.started:
                return
            stop_s = now() - st["t1"]
            k = self.started
            self.result = dict(
                impl="twisted", ok=not st["timed_out"], n=n, started=k,
                timeout=st["timed_out"], start_s=st["start_s"], stop_s=stop_s,
                rss_base_kib=st["rss0"], rss_kib=st["rss1"],
                kib_per_child=(st["rss1"] - st["rss0"]) / k,
                rss_idle_kib=st.get("rss2", -1),
                kib_per_idle_child=(max(st["rss1"], st["rss2"]) - st["rss0"]) / k
                if "rss2" in st else -1,
                threads_base=st["threads0"], threads=st["threads1"], idle_s=idle,
                idle_cpu_s=st.get("idle_cpu", -1), idle_vol_csw=st.get("idle_csw", -1))
            if st["timed_out"]:
                self.result["error"] = "timeout: %d of %d started in %.1f s" % (
                    k, n, st["start_s"])
            reactor.stop()

        reactor.callWhenRunning(go)

    def stop_run(self, samples, kill_time):
        self.pm.killTime = kill_time
        lat = []
        st = {}

        def go():
            self.pm.startService()
            next_sample()

        def next_sample():
            st["name"] = "t%d" % len(lat)
            self.add(st["name"], [self.gen, "ignoreterm"])

        def on_ready():
            reactor.callLater(0, remove)

        def remove():
            st["t0"] = now()
            self.pm.removeProcess(st["name"])  # TERM now, KILL after killTime

        def on_exit(name):
            lat.append(now() - st["t0"])
            if len(lat) < samples:
                reactor.callLater(0, next_sample)
                return
            s = sorted(lat)
            med = s[int(0.5 * (len(s) - 1) + 0.5)]
            self.result = dict(impl="twisted", ok=True, samples=samples, kill_time=kill_time,
                               median_s=med, max_s=s[-1],
                               over_kill_time_ms=(med - kill_time) * 1e3)
            self.stop_reactor()

        self.on_ready, self.on_exit = on_ready, on_exit
        reactor.callWhenRunning(go)


def main(argv):
    raise_nofile()
    gen, w, args = argv[1], argv[2], argv[3:]
    b = Bench(gen)
    if w == "throughput":
        b.lines_run(int(args[0]), int(args[1]), False, args[2] if len(args) > 2 else "64k")
    elif w == "flood":
        b.lines_run(1, int(args[0]), True)
    elif w == "crash":
        b.crash_run(int(args[0]), float(args[1]), args[2] if len(args) > 2 else "empty")
    elif w == "restart":
        b.restart_run(int(args[0]))
    elif w == "scale":
        b.scale_run(int(args[0]), float(args[1]), float(args[2]) if len(args) > 2 else 1e9)
    elif w == "stop":
        b.stop_run(int(args[0]), float(args[1]))
    else:
        print("tw_bench: bad arguments", file=sys.stderr)
        return 2
    reactor.run()
    print(json.dumps(b.result), flush=True)
    # exit at once: no waiting for children or reactor cleanup
    os._exit(0 if b.result.get("ok") else 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
