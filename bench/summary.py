"""Several full runs side by side: each target of report.py's table and of its
"Issue 14 targets", the figure of every run, the median and the spread of the
ratios, and how many runs met it.

    python3 bench/summary.py bench/results/A.json bench/results/B.json ...

Prints markdown (for results/ANALYSIS.md). Exits 1 when a target was missed in
any run.
"""

import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def first_number(text):
    m = NUMBER.search(text or "")
    return float(m.group()) if m else None


def targets(info):
    """[(what, figure, met)] for every row with a target, then issue 14's."""
    t = report.build_table(info)
    out = []
    for r in t.rows:
        workload, metric, _pm, _tw, _lim, r_lim, r_tw, target, met = r
        if not target or met == "n/a":
            continue
        if "Twisted" in target:
            fig = r_tw + " × Twisted"
        elif ("limit" in target or "NONE" in target) and r_lim != "–":
            fig = r_lim + " × limit" if "limit" in target else _pm
        elif _lim not in ("", "–"):
            fig = "%s (limit %s)" % (_pm, _lim)
        else:
            fig = _pm
        out.append(("%s: %s (%s)" % (workload, metric, target), fig,
                    {"**yes**": True, "**NO**": False}.get(met)))
    for what, fig, met in t.targets:
        if met in (True, False):
            out.append(("issue 14: " + what, fig, met))
    return out


def main(paths):
    runs = []
    for p in paths:
        with open(p) as f:
            info = json.load(f)
        runs.append((os.path.basename(p), info, targets(info)))
    order = []
    for _, _, ts in runs:
        for what, _, _ in ts:
            if what not in order:
                order.append(what)
    head = ["target"] + ["%s (%s, load %s)" % (n, i["machine"]["date"][11:16],
                                                 i["machine"]["loadavg"].split()[0]) for n, i, _ in runs]
    out = ["| " + " | ".join(head + ["median [min–max]", "met"]) + " |",
           "|" + "---|" * (len(head) + 2)]
    missed = 0
    for what in order:
        cells, nums, met = [], [], 0
        for _, _, ts in runs:
            hit = next(((f, m) for w, f, m in ts if w == what), None)
            if hit is None:
                cells.append("–")
                continue
            f, m = hit
            cells.append(f + ("" if m else " **NO**"))
            met += bool(m)
            v = first_number(f)
            if v is not None:
                nums.append(v)
        seen = sum(c != "–" for c in cells)
        missed += met < seen
        spread = ("%.2f [%.2f–%.2f]" % (statistics.median(nums), min(nums), max(nums))
                  if nums else "–")
        out.append("| " + " | ".join([what] + cells + [spread, "%d / %d" % (met, seen)]) + " |")
    print("\n".join(out))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
