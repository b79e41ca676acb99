"""A/B: the same procmon driver against two builds of the library, interleaved.

    python3 bench/ab.py --a DIR_A --b DIR_B [--label-a A] [--label-b B]
                        [--only KEYS] [--reps N] [--smoke] [--idle] [--with-limit]
                        [--out DIR] [--name NAME]

DIR_A and DIR_B each hold a libprocmon.so and its soname link (bench/ab.sh
builds them from git refs or the working tree). One pm_bench binary
(bench/build/pm_bench) runs every measurement; LD_LIBRARY_PATH selects the
library (the driver has a RUNPATH, which LD_LIBRARY_PATH overrides), and every
result's "lib" field is checked against the directory it was meant to load.

Repetition i runs A then B when i is even, B then A when it is odd (A B B A A B
...), so that drift of the machine's load and any first-runner advantage hit
both alike. Reported per metric: the median of each side, B ÷ A of the medians,
and B ÷ A within each back-to-back pair (median [min–max]), the spread that
says whether a difference is more than this shared machine's noise.
--with-limit adds limit_bench to every repetition (after the pair), as a
reference for how much the machine itself moved.

The workloads are run.py's (full sizes, or --smoke sizes); scale workloads run
without their idle window unless --idle. Exit 1 if any check fails.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import report  # noqa: E402
import run  # noqa: E402

DEFAULT_KEYS = ["throughput_1", "overfill_1", "stdio_1", "crash_1", "crash_8", "restart",
                "scale_100", "scale_1000"]

# (field, label, higher is better)
METRICS = {
    "throughput": [("lines_per_s", "lines/s", True), ("cpu_ns_per_line", "CPU ns/line", False)],
    "flood": [("peak_rss_kib", "peak RSS KiB", False), ("lines_per_s", "lines/s", True)],
    "crash": [("restarts_per_s", "restarts/s", True)],
    "restart": [("median_s", "SIGKILL → new pid, median s", False),
                ("run_median_s", "SIGKILL → child runs, median s", False)],
    "scale": [("start_s", "start all s", False), ("stop_s", "stop all s", False),
              ("kib_per_child", "KiB per child", False),
              ("kib_per_idle_child", "KiB per idle child", False)],
    "stop": [("over_kill_time_ms", "ms over kill time", False)],
    # one driver process starts N under CGROUP and N under NONE, interleaved:
    # its ratio is the row's target (issue 11); the two times beside it
    "contained": [("cgroup_over_none_start", "start CGROUP ÷ NONE (in one driver)", False),
                  ("cgroup_start_s", "start CGROUP s", False),
                  ("none_start_s", "start NONE s", False),
                  ("cgroup_over_none_stop", "stop CGROUP ÷ NONE (in one driver)", False)],
}


def sign_test(k, n):
    """Two-sided sign-test p-value of k of n pairs going one way."""
    from math import comb
    k = max(k, n - k)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k, n + 1)) / 2 ** n)


def fmt(v, field=""):
    if field.endswith("_s") and not field.endswith("per_s") and v is not None:
        return report.fmt_time(v)
    if v is None:
        return "–"
    a = abs(v)
    if a >= 1e5:
        return "%.3gM" % (v / 1e6) if a >= 1e6 else "%.0fk" % (v / 1e3)
    if a >= 100:
        return "%.0f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="directory of build A's libprocmon.so")
    ap.add_argument("--b", required=True, help="directory of build B's libprocmon.so")
    ap.add_argument("--label-a", default="A")
    ap.add_argument("--label-b", default="B")
    ap.add_argument("--only", default=",".join(DEFAULT_KEYS), help="comma-separated workload keys")
    ap.add_argument("--reps", type=int, default=0,
                    help="pairs per workload (default: run.py's repetitions, at least 6: "
                         "the fewest for which a sign test can say p < 0.05)")
    ap.add_argument("--smoke", action="store_true", help="run.py's smoke sizes")
    ap.add_argument("--idle", action="store_true", help="keep the scale workloads' idle window")
    ap.add_argument("--with-limit", action="store_true", help="run the limit in every repetition too")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--name", default="ab")
    a = ap.parse_args()

    sides = [("A", a.label_a, os.path.abspath(a.a)), ("B", a.label_b, os.path.abspath(a.b))]
    for _, label, d in sides:
        if not os.path.exists(os.path.join(d, "libprocmon.so")):
            print("ab.py: no libprocmon.so in %s (%s)" % (d, label), file=sys.stderr)
            return 2
    keys = [k for k in a.only.split(",") if k]
    table = {run.unpack(w)[0]: run.unpack(w) for w in run.workloads(a.smoke)}
    unknown = [k for k in keys if k not in table]
    if unknown:
        print("ab.py: unknown workloads %s (known: %s)" % (unknown, ", ".join(table)),
              file=sys.stderr)
        return 2

    info = {"machine": run.machine(), "a": {"label": a.label_a, "dir": sides[0][2],
                                             "version": run.versions(None, sides[0][2])},
            "b": {"label": a.label_b, "dir": sides[1][2],
                  "version": run.versions(None, sides[1][2])}, "raw": {}}
    print("A/B on %(cpu)s, %(cores)s cores, load %(loadavg)s, %(date)s" % info["machine"])
    print("  A = %s (%s)\n  B = %s (%s)" % (a.label_a, sides[0][2], a.label_b, sides[1][2]),
          flush=True)
    failures = []
    t0 = time.monotonic()
    for key in keys:
        _, args, reps, _, timeout, flags = table[key]
        n = a.reps or max(reps, 6)
        raw = info["raw"][key] = {"A": [], "B": [], "limit": []}
        for rep in range(n):
            order = sides if rep % 2 == 0 else sides[::-1]
            for side, label, d in order:
                # rep 0's command keeps a scale idle window; later reps drop it
                cmd = run.command("procmon", args, None, 0 if a.idle else 1, flags)
                res, wall = run.run_one(cmd, timeout, run.lib_env(d))
                if res.get("ok") and not str(res.get("lib", "")).startswith(d + "/"):
                    res = {"ok": False, "error": "loaded %s, not the library in %s"
                           % (res.get("lib"), d)}
                if res.get("skipped") and "skippable" in flags:
                    print("  %-13s skipped: %s" % (key, res.get("error", "")), flush=True)
                    break
                raw[side].append(res)
                tag = "ok" if res.get("ok") else "FAIL " + str(res.get("error", ""))
                print("  %-13s %-3s rep %d  %5.1fs  %s" % (key, side, rep, wall, tag), flush=True)
                if not res.get("ok"):
                    failures.append("%s/%s rep %d: %s" % (key, label, rep, res.get("error")))
            if a.with_limit:
                cmd = run.command("limit", args, None, 0 if a.idle else 1, flags)
                res, _ = run.run_one(cmd, timeout)
                raw["limit"].append(res)
    info["duration_s"] = time.monotonic() - t0
    info["failures"] = failures
    md = markdown(info)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, a.name + ".json"), "w") as f:
        json.dump(info, f, indent=1)
    with open(os.path.join(a.out, a.name + ".md"), "w") as f:
        f.write(md)
    print(md)
    if failures:
        print("FAILED checks:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


def markdown(info):
    m = info["machine"]
    out = ["# A/B: %s (A) against %s (B)" % (info["a"]["label"], info["b"]["label"]), "",
           "Machine: %s, %s cores, kernel %s, load at start %s, %s; took %.0f s. "
           "A = `%s` (procmon %s), B = `%s` (procmon %s). One driver binary; repetitions "
           "alternate A B / B A. B ÷ A > 1 is better for rates, < 1 for times and sizes "
           "(column 'B better'; a verdict needs p < 0.05 in a two-sided sign test over the pairs, "
           "so at least 6 pairs)." % (
               m["cpu"], m["cores"], m["kernel"], m["loadavg"], m["date"],
               info.get("duration_s", 0), info["a"]["dir"], info["a"]["version"].get("procmon"),
               info["b"]["dir"], info["b"]["version"].get("procmon")), "",
           "| workload | metric | A median | B median | B ÷ A (medians) | B ÷ A per pair: median [min–max] | pairs | B better? (sign test over pairs) |",
           "|---|---|---|---|---|---|---|---|"]
    for key, raw in info["raw"].items():
        kind = "throughput" if key.startswith(("throughput", "overfill", "stdio")) else \
            key.split("_")[0]
        for field, label, higher in METRICS.get(kind, []):
            va = [r.get(field) if r.get("ok") else None for r in raw["A"]]
            vb = [r.get(field) if r.get("ok") else None for r in raw["B"]]
            ga = [v for v in va if isinstance(v, (int, float)) and v != -1]
            gb = [v for v in vb if isinstance(v, (int, float)) and v != -1]
            if not ga or not gb:
                continue
            ma, mb = statistics.median(ga), statistics.median(gb)
            pr = [y / x for x, y in zip(va, vb)
                  if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x > 0 and y != -1]
            ratio = mb / ma if ma else None
            better = "–"
            if ratio is not None and pr:
                k = sum(1 for r in pr if (r > 1 if higher else r < 1))
                p = sign_test(k, len(pr))
                verdict = "within noise"
                if p < 0.05:
                    verdict = "**B better**" if k > len(pr) / 2 else "**B worse**"
                better = "%s: %d of %d pairs, p = %.2g" % (verdict, k, len(pr), p)
            out.append("| %s | %s | %s | %s | %s | %s | %d | %s |" % (
                key, label, fmt(ma, field), fmt(mb, field), "–" if ratio is None else "%.3f" % ratio,
                "%.3f [%.3f–%.3f]" % (statistics.median(pr), min(pr), max(pr)) if pr else "–",
                len(pr), better))
        lim = [r.get(METRICS.get(kind, [("", "", True)])[0][0]) for r in raw.get("limit", [])
               if r.get("ok")]
        if lim:
            out.append("| %s | limit (reference), same metric | %s | | | spread max ÷ min %.2f | %d | |"
                       % (key, fmt(statistics.median(lim), METRICS[kind][0][0]), max(lim) / min(lim),
                   len(lim)))
    out.append("")
    if info.get("failures"):
        out.append("**FAILED CHECKS**: " + "; ".join(info["failures"]))
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
