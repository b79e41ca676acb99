#!/usr/bin/env bash
# Cargo.toml's version, the header's PROCMON_VERSION_* macros, procmon_version(),
# the soname and the Ruby gem's version (bindings/ruby/lib/procmon/version.rb) all
# agree. Usage: check-version.sh SOURCE_DIR LIBRARY CMAKE_VERSION
set -euo pipefail
src=$1 lib=$2 cmake_version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$src/Cargo.toml" | head -1)
cat >"$tmp/v.c" <<'C'
#include <procmon.h>
#include <stdio.h>
#include <string.h>
#define STR2(x) #x
#define STR(x) STR2(x)
int main(void) {
  const char *macros = STR(PROCMON_VERSION_MAJOR) "." STR(PROCMON_VERSION_MINOR) "." STR(PROCMON_VERSION_PATCH);
  int number = PROCMON_VERSION_MAJOR * 10000 + PROCMON_VERSION_MINOR * 100 + PROCMON_VERSION_PATCH;
  if (number != PROCMON_VERSION_NUMBER || strcmp(macros, PROCMON_VERSION_STRING)) return 1;
  printf("%s %s %d\n", PROCMON_VERSION_STRING, procmon_version(), PROCMON_VERSION_MAJOR);
  return 0;
}
C
cc -I"$src/include" "$tmp/v.c" -o "$tmp/v" "$lib" -Wl,-rpath,"$(dirname "$lib")"
read -r header runtime major < <("$tmp/v")
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
gem=$(sed -n 's/^ *VERSION = "\(.*\)"$/\1/p' "$src/bindings/ruby/lib/procmon/version.rb")
echo "Cargo.toml $cargo, CMake $cmake_version, header $header, procmon_version() $runtime, soname $soname, Ruby gem $gem"
[ "$cargo" = "$header" ] && [ "$cargo" = "$runtime" ] && [ "$cargo" = "$cmake_version" ] \
  && [ "$soname" = "libprocmon.so.$major" ] && [ "$cargo" = "$gem" ] || { echo "versions disagree" >&2; exit 1; }
