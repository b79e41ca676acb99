#!/usr/bin/env bash
# The shared library exports the procmon_* functions and nothing else, and carries
# the soname libprocmon.so.<major>. Usage: check-exports.sh path/to/libprocmon.so
set -euo pipefail
lib=$1
others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^procmon_' || true)
if [ -n "$others" ]; then
  echo "exported besides procmon_*:" >&2
  echo "$others" >&2
  exit 1
fi
count=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^procmon_')
[ "$count" -ge 20 ] || { echo "only $count procmon_* symbols exported" >&2; exit 1; }
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[[ "$soname" =~ ^libprocmon\.so\.[0-9]+$ ]] || { echo "bad soname '$soname'" >&2; exit 1; }
echo "ok: $count procmon_* symbols, nothing else; soname $soname"
