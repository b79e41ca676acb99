"""Per-thread CPU, run-queue wait and context switches of a driver over a window.

    python3 bench/threadstat.py [--at 0.4] [--window 1.5] -- DRIVER ARGS...

Starts DRIVER ARGS..., samples every thread of it (and, summed, its children)
at --at seconds and again --window seconds later, and prints per thread: its
name, CPU ms, ms spent runnable but waiting for a core (schedstat), time
slices, voluntary and involuntary context switches; then the driver's JSON
line. Divide by the workload's own count (restarts, 64 KiB of lines) for per-unit
figures: ANALYSIS.md does. Needs /proc/<pid>/task/<tid>/schedstat
(CONFIG_SCHEDSTATS is not needed for it, only for /proc/sched_debug).

For the lines workloads use more lines than the default so the window falls
inside the flood, e.g. `pm_bench GEN throughput 1 20000000 65580` with
--at 0.3 --window 1.0.
"""

import argparse
import json
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def sample(pid):
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "comm") as f:
                comm = f.read().strip()
            with open(base + "schedstat") as f:
                run_ns, wait_ns, slices = (int(x) for x in f.read().split())
            vol = invol = 0
            with open(base + "status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol = int(line.split()[1])
        except OSError:
            continue
        out[tid] = {"comm": comm, "run_ns": run_ns, "wait_ns": wait_ns, "slices": slices,
                    "vol": vol, "invol": invol}
    return out


def children_cpu(pid):
    """cutime + cstime of the driver (its reaped children), in ms."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) * 1000.0 / TICK


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--at", type=float, default=0.4)
    ap.add_argument("--window", type=float, default=1.5)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    time.sleep(a.at)
    s0, c0, t0 = sample(p.pid), children_cpu(p.pid), time.monotonic()
    time.sleep(a.window)
    s1, c1, t1 = sample(p.pid), children_cpu(p.pid), time.monotonic()
    out, _ = p.communicate()
    print("window %.3f s; reaped children's CPU in the window: %.1f ms" % (t1 - t0, c1 - c0))
    print("%-18s %9s %9s %8s %8s %8s" % ("thread", "cpu ms", "wait ms", "slices", "vol cs",
                                          "invol cs"))
    for tid, b in sorted(s1.items(), key=lambda kv: int(kv[0])):
        e = s0.get(tid, {"run_ns": 0, "wait_ns": 0, "slices": 0, "vol": 0, "invol": 0})
        print("%-18s %9.1f %9.1f %8d %8d %8d" % (
            "%s/%s" % (b["comm"], tid), (b["run_ns"] - e["run_ns"]) / 1e6,
            (b["wait_ns"] - e["wait_ns"]) / 1e6, b["slices"] - e["slices"], b["vol"] - e["vol"],
            b["invol"] - e["invol"]))
    for line in out.splitlines():
        if line.startswith("{"):
            print(line)
            try:
                json.loads(line)
            except ValueError:
                pass
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
