#!/usr/bin/env bash
# Pull delivery (procmon_next, and procmon_next_batch: pull-batch) against
# callbacks: one child (bench/gen) writes LINES lines of 60 bytes; each mode
# runs REPS times, interleaved (the order rotates), in a fresh driver process.
# Prints each run, then the medians and the ratios to callbacks.
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
  # Rotate which mode goes first.
  case $((i % 3)) in
    0) order="callbacks pull pull-batch" ;;
    1) order="pull pull-batch callbacks" ;;
    *) order="pull-batch callbacks pull" ;;
  esac
  for mode in $order; do
    "$out/pull_bench" "$out/gen" "$mode" "$lines" | tee -a "$results"
  done
done
python3 - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
if not all(r["ok"] for r in runs):
    sys.exit("a run failed its line check")
modes = ("callbacks", "pull", "pull-batch")
med = {m: statistics.median(r["lines_per_s"] for r in runs if r["mode"] == m) for m in modes}
cpu = {m: statistics.median(r["cpu_s"] for r in runs if r["mode"] == m) for m in modes}
for m in modes:
    print(f"{m:10}: median {med[m] / 1e6:.2f} M lines/s, CPU {cpu[m]:.3f} s")
print(f"ratio pull / callbacks: {med['pull'] / med['callbacks']:.2f}")
print(f"ratio pull-batch / callbacks: {med['pull-batch'] / med['callbacks']:.2f}")
PY
