"""The README's benchmark table, rendered from a committed full run.

    python3 bench/readme_table.py RESULTS.json            # print the table
    python3 bench/readme_table.py RESULTS.json --write    # put it into README.md
    python3 bench/readme_table.py --check                 # README.md's table is its run's

The table sits in README.md between `<!-- bench-table: PATH -->` and
`<!-- bench-table-end -->`; PATH (relative to the repository) names the run it
was rendered from, so `--check` (run by scripts/check-readme.sh) re-renders it
from that file and fails when the two differ: the README cannot show figures no
committed run measured.
"""

import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
BEGIN = re.compile(r"<!-- bench-table: (\S+) -->\n(.*?)<!-- bench-table-end -->\n", re.S)


def med(info, key, impl, field):
    return ((info.get("median", {}).get(key) or {}).get(impl) or {}).get(field)


def ratio(info, key, field, other):
    p, o = med(info, key, "procmon", field), med(info, key, other, field)
    return p / o if p is not None and o else None


def fmt_ratio(r, times=False):
    if r is None:
        return "–"
    if times:
        return "%.0f ×" % r if r >= 10 else "%.1f ×" % r
    return "%.2f" % r


def joined(info, keys, field, other, times=False):
    return " · ".join(fmt_ratio(ratio(info, k, field, other), times) for k in keys)


def scale_keys(info):
    return sorted((k for k in info.get("median", {}) if k.startswith("scale_")),
                  key=lambda k: int(k.split("_")[1]))


def render(info, source):
    m = info["machine"]
    rows = []

    def row(what, lim, tw):
        rows.append("| %s | %s | %s |" % (what, lim, tw))

    row("log lines/s, 1 child · 8 children",
        joined(info, ("throughput_1", "throughput_8"), "lines_per_s", "limit"),
        joined(info, ("throughput_1", "throughput_8"), "lines_per_s", "twisted", True))
    if "overfill_1" in info.get("median", {}):
        row("log lines/s, 1 child, 65,580-byte writes · stdio 4 KiB writes",
            joined(info, ("overfill_1", "stdio_1"), "lines_per_s", "limit"), "")
    row("crash-loop restarts/s, 1 child · 8 children",
        joined(info, ("crash_1", "crash_8"), "restarts_per_s", "limit"),
        joined(info, ("crash_1", "crash_8"), "restarts_per_s", "twisted", True))
    row("SIGKILL → new pid (STARTED in the callback)",
        fmt_ratio(ratio(info, "restart", "median_s", "limit")),
        fmt_ratio(ratio(info, "restart", "median_s", "twisted")))
    sk = scale_keys(info)
    ns = " · ".join(k.split("_")[1] for k in sk)

    def tw_cells(field):
        out = []
        for k in sk:
            r = ratio(info, k, field, "twisted")
            out.append("Twisted times out" if r is None and info.get("timeouts", {}).get(k, {}).get("twisted")
                       else fmt_ratio(r))
        return " · ".join(out)

    row("start N = %s children" % ns, joined(info, sk, "start_s", "limit"), tw_cells("start_s"))
    if any(med(info, k, "procmon", "start_add_process_s") is not None for k in sk):
        each = " · ".join(
            fmt_ratio(med(info, k, "procmon", "start_add_process_s") / med(info, k, "limit", "start_s"))
            if med(info, k, "procmon", "start_add_process_s") and med(info, k, "limit", "start_s") else "–"
            for k in sk)
        row("start N = %s, one `procmon_add_process` each" % ns, each, "")
    row("stop N = %s children" % ns, joined(info, sk, "stop_s", "limit"), tw_cells("stop_s"))
    big = [k for k in sk if int(k.split("_")[1]) >= 1000]
    kib = []
    for k in big:
        v = med(info, k, "procmon", "kib_per_idle_child")
        v = med(info, k, "procmon", "kib_per_child") if v is None else v
        kib.append("–" if v is None else "%.2f KiB" % v)
    tw = med(info, "scale_1000", "twisted", "kib_per_child")
    row("memory per idle child, N = %s" % " · ".join(k.split("_")[1] for k in big),
        " · ".join(kib), "" if tw is None else "Twisted %.1f KiB" % tw)
    kt = med(info, "stop", "procmon", "kill_time") or med(info, "stop", "limit", "kill_time")
    st = med(info, "stop", "procmon", "median_s")
    if kt and st:
        row("stop of a child ignoring TERM (kill time %.1f s)" % kt,
            "kill time + %.1f ms" % ((st - kt) * 1e3), "")
    peak = med(info, "flood", "procmon", "peak_rss_kib")
    if peak is not None:
        twp = med(info, "flood", "twisted", "peak_rss_kib")
        row("flood, callback sleeping 1 ms per 1000 lines",
            "peak RSS %.1f MiB, %s lost" % (peak / 1024, med(info, "flood", "procmon", "bad") or "nothing"),
            "" if twp is None else "Twisted %.0f MiB" % (twp / 1024))
    head = ["From `%s` (%s, %s cores, load %s at the start, %s):" % (
        source, m["cpu"], m["cores"], m["loadavg"].split()[0], m["date"]), "",
        "| workload | procmon ÷ limit | procmon ÷ Twisted |", "|---|---|---|"]
    return "\n".join(head + rows) + "\n"


def load(path):
    with open(os.path.join(ROOT, path)) as f:
        return json.load(f)


def main(argv):
    text = open(README, encoding="utf-8").read()
    if "--check" in argv:
        m = BEGIN.search(text)
        if not m:
            print("FAIL: README.md has no <!-- bench-table: PATH --> block")
            return 1
        want = render(load(m.group(1)), m.group(1))
        if m.group(2) != want:
            print("FAIL: README.md's benchmark table is not the one %s gives "
                  "(python3 bench/readme_table.py %s --write)" % (m.group(1), m.group(1)))
            return 1
        print("ok: README.md's benchmark table is rendered from %s" % m.group(1))
        return 0
    source = os.path.relpath(os.path.abspath(argv[0]), ROOT)
    table = render(load(source), source)
    if "--write" not in argv:
        sys.stdout.write(table)
        return 0
    block = "<!-- bench-table: %s -->\n%s<!-- bench-table-end -->\n" % (source, table)
    if not BEGIN.search(text):
        print("README.md has no <!-- bench-table: PATH --> block to replace", file=sys.stderr)
        return 1
    with open(README, "w", encoding="utf-8") as f:
        f.write(BEGIN.sub(lambda _: block, text, count=1))
    print("README.md: benchmark table from %s" % source)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
