#!/usr/bin/env bash
# Installs procmon from a CMake build directory into a temporary prefix, checks the
# layout, then builds and runs examples/c/hello.c against the installed copy, once
# through pkg-config and once through find_package(procmon). Usage: test-install.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
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
