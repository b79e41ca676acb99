#!/usr/bin/env bash
# Pull delivery against callbacks: one child (bench/gen) writes LINES lines of
# 60 bytes; each mode runs REPS times, interleaved, in a fresh driver process.
# Prints each run, then the medians and the ratio pull / callbacks.
# Usage: bench/pull/run.sh [LINES=1000000] [REPS=7]   (after scripts/build.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
lines=${1:-1000000}
reps=${2:-7}
out="$root/bench/build"
make -s -C "$root/bench" "$out/gen"
cc -O2 -g -Wall -Wextra -D_GNU_SOURCE -I"$root/include" -o "$out/pull_bench" \
  "$here/pull_bench.c" -L"$root/target/release" -lprocmon -Wl,-rpath,"$root/target/release" -pthread
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((i = 0; i < reps; i++)); do
  # Alternate which mode goes first.
  if ((i % 2)); then order="pull callbacks"; else order="callbacks pull"; fi
  for mode in $order; do
    "$out/pull_bench" "$out/gen" "$mode" "$lines" | tee -a "$results"
  done
done
python3 - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
if not all(r["ok"] for r in runs):
    sys.exit("a run failed its line check")
med = {m: statistics.median(r["lines_per_s"] for r in runs if r["mode"] == m)
       for m in ("callbacks", "pull")}
cpu = {m: statistics.median(r["cpu_s"] for r in runs if r["mode"] == m)
       for m in ("callbacks", "pull")}
for m in ("callbacks", "pull"):
    print(f"{m:9}: median {med[m] / 1e6:.2f} M lines/s, CPU {cpu[m]:.3f} s")
print(f"ratio pull / callbacks: {med['pull'] / med['callbacks']:.2f}")
PY
