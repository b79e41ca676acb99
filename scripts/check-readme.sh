#!/usr/bin/env bash
# The README's example programs are the files the tests build and run: each fenced
# block that follows a line `<!-- example: PATH -->` must equal PATH, byte for byte.
# Usage: scripts/check-readme.sh   (from anywhere)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
python3 - <<'PY'
import re, sys
text = open("README.md", encoding="utf-8").read()
blocks = re.findall(r"<!-- example: (\S+) -->\n```[a-z+]*\n(.*?)```\n", text, re.S)
if not blocks:
    sys.exit("README.md shows no example (<!-- example: PATH --> before a fenced block)")
bad = 0
for path, shown in blocks:
    try:
        actual = open(path, encoding="utf-8").read()
    except OSError as e:
        print(f"README shows {path}, which cannot be read: {e}"); bad = 1; continue
    if shown != actual:
        print(f"README's copy of {path} differs from the file"); bad = 1
    else:
        print(f"ok: README shows {path} as it is")
sys.exit(bad)
PY
