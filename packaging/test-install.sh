#!/usr/bin/env bash
# Installs procmon from a CMake build directory into a temporary prefix, checks the
# layout, then builds and runs examples/c/hello.c against the installed copy, once
# through pkg-config and once through find_package(procmon); checks that the
# installed library carries no debug info (and is much smaller than BUILT_LIB, the
# cargo build it comes from, when given), and that the CLI (bin/procmon) and its
# manual page (share/man/man1/procmon.1) are installed and work.
# Usage: test-install.sh BUILD_DIR [BUILT_LIB]
set -euo pipefail
build=$(cd "$1" && pwd)
built_lib=${2:-}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name procmon.pc)")/..
libdir=$(cd "$libdir" && pwd)
version=$(sed -n 's/^Version: //p' "$libdir/pkgconfig/procmon.pc")
major=${version%%.*}
for f in "include/procmon.h" "${libdir#$prefix/}/libprocmon.so.$version" "${libdir#$prefix/}/libprocmon.a" \
         "${libdir#$prefix/}/cmake/procmon/procmonConfig.cmake" \
         "${libdir#$prefix/}/cmake/procmon/procmonConfigVersion.cmake"; do
  [ -f "$prefix/$f" ] || { echo "missing after install: $f" >&2; exit 1; }
done
[ "$(readlink "$libdir/libprocmon.so.$major")" = "libprocmon.so.$version" ] || { echo "bad libprocmon.so.$major link" >&2; exit 1; }
[ "$(readlink "$libdir/libprocmon.so")" = "libprocmon.so.$major" ] || { echo "bad libprocmon.so link" >&2; exit 1; }

# The installed libraries are stripped of their debug info.
real="$libdir/libprocmon.so.$version"
if readelf -S "$real" | grep -q '\.debug_'; then
  echo "the installed $real has debug sections:" >&2; readelf -S "$real" | grep '\.debug_' >&2; exit 1
fi
if readelf -S "$libdir/libprocmon.a" 2>/dev/null | grep -q '\.debug_'; then
  echo "the installed libprocmon.a has debug sections" >&2; exit 1
fi
size=$(stat -c %s "$real")
if [ -n "$built_lib" ]; then
  built_size=$(stat -L -c %s "$built_lib")
  # The build keeps debug info (release profile debug = 1): most of its size.
  [ $((size * 3)) -lt "$built_size" ] ||
    { echo "the installed library ($size bytes) is not much smaller than the build ($built_size)" >&2; exit 1; }
  echo "ok: the installed library has no debug info ($size bytes; the build's has $built_size)"
else
  echo "ok: the installed library has no debug info ($size bytes)"
fi
nm -D --defined-only "$real" | grep -q ' T procmon_new$' || { echo "stripped too much: no procmon_new" >&2; exit 1; }

# The CLI: it finds the library of its prefix by itself (RUNPATH $ORIGIN/../lib),
# and runs a command.
cli="$prefix/bin/procmon"
[ -x "$cli" ] || { echo "missing after install: bin/procmon" >&2; exit 1; }
resolved=$(env -u LD_LIBRARY_PATH ldd "$cli" | sed -n "s/^\s*libprocmon.so.$major => \(\S*\).*/\1/p")
[ "$(readlink -f "$resolved")" = "$(readlink -f "$real")" ] ||
  { echo "bin/procmon loads '$resolved', not the installed $real" >&2; exit 1; }
[ "$(env -u LD_LIBRARY_PATH "$cli" --version)" = "procmon (libprocmon $version)" ] ||
  { echo "bin/procmon --version: $("$cli" --version 2>&1)" >&2; exit 1; }
env -u LD_LIBRARY_PATH "$cli" 'greeter=echo installed; exec sleep 30' >"$tmp/cli.out" 2>"$tmp/cli.err" </dev/null &
cli_pid=$!
for ((i = 0; i < 200; i++)); do grep -qx '\[greeter\] installed' "$tmp/cli.out" && break; sleep 0.05; done
kill -INT "$cli_pid"
wait "$cli_pid" || { echo "bin/procmon exited $? after SIGINT" >&2; cat "$tmp/cli.err" >&2; exit 1; }
grep -qx '\[greeter\] installed' "$tmp/cli.out" ||
  { echo "bin/procmon printed no '[greeter] installed':" >&2; cat "$tmp/cli.out" "$tmp/cli.err" >&2; exit 1; }
echo "ok: bin/procmon runs against the installed library ($resolved)"

# Its manual page.
page="$prefix/share/man/man1/procmon.1"
[ -f "$page" ] || { echo "missing after install: share/man/man1/procmon.1" >&2; exit 1; }
if command -v man >/dev/null; then
  rendered=$(MANWIDTH=80 man -l "$page" 2>/dev/null | sed "s/.\x08//g")
  grep -q -- '--procfile FILE' <<<"$rendered" || { echo "man -l $page does not render --procfile" >&2; exit 1; }
  echo "ok: man -l renders share/man/man1/procmon.1"
else
  grep -q '^\.TH PROCMON 1 ' "$page" || { echo "$page is not a manual page" >&2; exit 1; }
  echo "ok: share/man/man1/procmon.1 installed (no man(1) to render it)"
fi

expected=$'[greeter] hello\n[greeter] world'
check_run() { # how binary
  local out
  out=$(LD_LIBRARY_PATH="$libdir" timeout 30 "$2")
  [ "$out" = "$expected" ] || { echo "$1: unexpected output: $out" >&2; exit 1; }
  readelf -d "$2" | grep -q "NEEDED.*\[libprocmon.so.$major\]" || { echo "$1: not linked to the soname" >&2; exit 1; }
  echo "ok: $1"
}

# 1. pkg-config
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs procmon)
cc -Wall -Werror "$src/examples/c/hello.c" -o "$tmp/hello-pc" $flags
check_run "pkg-config --cflags --libs procmon ($flags)" "$tmp/hello-pc"

# 2. find_package, with a version requirement
mkdir -p "$tmp/consumer"
cp "$src/examples/c/hello.c" "$tmp/consumer/"
cat >"$tmp/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(procmon $version REQUIRED)
add_executable(hello hello.c)
target_link_libraries(hello PRIVATE procmon::procmon)
CMAKE
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
check_run "find_package(procmon $version)" "$tmp/consumer/build/hello"

# An incompatible version is refused.
sed -i "s/find_package(procmon $version REQUIRED)/find_package(procmon $((major + 1)).0 QUIET)\nif(procmon_FOUND)\n  message(FATAL_ERROR \"accepted a wrong major\")\nendif()/" "$tmp/consumer/CMakeLists.txt"
sed -i '/add_executable\|target_link_libraries/d' "$tmp/consumer/CMakeLists.txt"
cmake -S "$tmp/consumer" -B "$tmp/consumer/build2" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
echo "ok: find_package refuses version $((major + 1)).0"
