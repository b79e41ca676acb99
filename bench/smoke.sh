#!/usr/bin/env bash
# A tiny run of every workload, for CI: procmon and the limit only (Twisted too
# when bench/.venv already has it and BENCH_TWISTED=1), no network, < 60 s
# (about 5 s). Fails (exit 1) if a check fails: a line missing, out of order or
# corrupted — in the 64 KiB, the 65,580-byte (overfill_1) and the stdio (stdio_1)
# writers alike — a driver crash or timeout. Writes bench/results/smoke.md and
# smoke.json. The contained row reports "pending" (TODO(containment)).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

if [[ ! -e "$root/target/release/libprocmon.so" ]]; then
    (cd "$root" && cargo build --release)
fi
make -s -C "$here"

args=(--smoke)
if [[ "${BENCH_TWISTED:-0}" != 1 ]] || ! "$here/.venv/bin/python" -c 'import twisted' 2>/dev/null; then
    args+=(--no-twisted)
fi
exec timeout 120 python3 "$here/run.py" "${args[@]}" "$@"
