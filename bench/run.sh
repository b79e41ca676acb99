#!/usr/bin/env bash
# The one command: builds the library (if needed) and the bench programs, creates
# bench/.venv with Twisted (from PyPI) if it is missing, runs every workload three
# ways (procmon, Twisted, limit) and writes bench/results/latest.md, latest.json
# and scale.svg. Takes 3.5-5 minutes on a 2-core machine (more under heavy load).
#
#   bench/run.sh                 full run
#   bench/run.sh --no-twisted    procmon and limit only
#   bench/run.sh --only scale_1000,restart
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

if [[ ! -e "$root/target/release/libprocmon.so" ]]; then
    (cd "$root" && cargo build --release)
fi
make -s -C "$here"

no_twisted=0
for a in "$@"; do [[ "$a" == --no-twisted ]] && no_twisted=1; done
if [[ $no_twisted == 0 ]] && ! "$here/.venv/bin/python" -c 'import twisted' 2>/dev/null; then
    echo "creating bench/.venv with Twisted from PyPI..."
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q --disable-pip-version-check twisted
fi

exec python3 "$here/run.py" "$@"
