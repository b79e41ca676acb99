#!/usr/bin/env bash
# Checks the public header: the committed include/procmon.h is what build.rs
# generates from the sources (run after `cargo build`), it compiles alone as C and
# as C++, included twice, and the shared library exports only procmon_* symbols.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if ! git diff --quiet -- include/procmon.h; then
  echo "include/procmon.h differs from what the sources generate; commit the regenerated header:" >&2
  git --no-pager diff --stat -- include/procmon.h >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "procmon.h"\n#include "procmon.h"\nint main(void) { return procmon_version() == 0; }\n' >"$tmp/t.c"
cc -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude -c "$tmp/t.c" -o "$tmp/c.o"
cp "$tmp/t.c" "$tmp/t.cpp"
c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -Iinclude -c "$tmp/t.cpp" -o "$tmp/cpp.o"

lib=target/release/libprocmon.so
stray=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | grep -v '^procmon_' || true)
if [ -n "$stray" ]; then
  echo "$lib exports symbols outside the procmon_ prefix:" >&2
  echo "$stray" >&2
  exit 1
fi
echo "header: generated copy committed, compiles as C99 and C++11 (twice included); exports: procmon_* only"
