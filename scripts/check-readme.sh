#!/usr/bin/env bash
# Checks that the README tells the truth about what it shows:
# - its quick start is exactly the two commands `scripts/demo.sh` and
#   `scripts/test.sh`, both committed as executables, each of which runs the
#   fresh-machine set-up (scripts/setup.sh) first, and `.ci/run` runs
#   `scripts/test.sh`: the README's commands are the ones that run;
# - its example programs are the files the tests build and run: each fenced
#   block that follows a line `<!-- example: PATH -->` must equal PATH, byte for byte;
# - its benchmark table is the one bench/readme_table.py renders from the
#   committed run it names.
# Usage: scripts/check-readme.sh   (from anywhere)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
python3 - <<'PY'
import os, re, subprocess, sys
text = open("README.md", encoding="utf-8").read()
bad = 0
def problem(msg):
    global bad
    print(f"FAIL: {msg}"); bad = 1

# --- the quick start: its commands, and that they are what runs
want = ["scripts/demo.sh", "scripts/test.sh"]
m = re.search(r"^## Quick start[^\n]*\n(.*?)(?=^## )", text, re.S | re.M)
if not m:
    problem("README.md has no '## Quick start' section")
else:
    # The commands are the section's code lines: indented by four spaces or fenced.
    section = m.group(1)
    code = [l[4:].strip() for l in section.splitlines() if l.startswith("    ") and l.strip()]
    for block in re.findall(r"```[a-z]*\n(.*?)```", section, re.S):
        code += [l.strip() for l in block.splitlines() if l.strip()]
    if code != want:
        problem(f"the quick start's commands are {code}, want exactly {want}")
    else:
        print(f"ok: the quick start is {' and '.join(want)}")
    tracked = subprocess.run(["git", "ls-files", "-s", "--", *want, ".ci/run", "scripts/setup.sh"],
                             capture_output=True, text=True).stdout
    modes = {l.split("\t")[1]: l.split()[0] for l in tracked.splitlines()}
    for path in want + ["scripts/setup.sh"]:
        if not os.access(path, os.X_OK):
            problem(f"{path} is not an executable file")
        elif modes and modes.get(path) != "100755":
            problem(f"{path} is not committed as an executable (mode {modes.get(path)})")
        else:
            print(f"ok: {path} is an executable")

    def runs(path, command):
        """True when a line of the shell script `path` that is not a comment runs `command`."""
        pat = re.compile(r'(^|[\s;&|(]|"\$root/|\$root/|\./)' + re.escape(command) + r'(\s|$|")')
        for line in open(path, encoding="utf-8"):
            line = line.split("#", 1)[0] if not line.lstrip().startswith("#!") else ""
            if pat.search(line):
                return True
        return False
    for path, command in [(".ci/run", "scripts/test.sh"),
                          ("scripts/test.sh", "scripts/setup.sh"),
                          ("scripts/demo.sh", "scripts/setup.sh")]:
        if not os.path.exists(path):
            problem(f"{path} is missing")
        elif not runs(path, command):
            problem(f"{path} does not run {command}")
        else:
            print(f"ok: {path} runs {command}")

# --- the examples
blocks = re.findall(r"<!-- example: (\S+) -->\n```[a-z+]*\n(.*?)```\n", text, re.S)
if not blocks:
    problem("README.md shows no example (<!-- example: PATH --> before a fenced block)")
for path, shown in blocks:
    try:
        actual = open(path, encoding="utf-8").read()
    except OSError as e:
        problem(f"README shows {path}, which cannot be read: {e}"); continue
    if shown != actual:
        problem(f"README's copy of {path} differs from the file")
    else:
        print(f"ok: README shows {path} as it is")
sys.exit(bad)
PY
python3 bench/readme_table.py --check
