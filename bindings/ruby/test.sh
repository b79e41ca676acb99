#!/usr/bin/env bash
# Runs the Ruby binding's minitest suite and its example, from any directory,
# against the checkout's build; then builds the gem (gem build), installs it into
# a temporary GEM_HOME (gem install --local, offline: its ffi dependency is
# Debian's ruby-ffi), installs the library into a temporary prefix
# (cmake --install) and runs the README's example from the installed gem against
# the installed library, found by its soname through LD_LIBRARY_PATH.
# Needs the library and the CMake build directory (scripts/build.sh;
# PROCMON_BUILD_DIR, default build/) and Debian's ruby and ruby-ffi.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${PROCMON_BUILD_DIR:-$root/build}"
export PROCMON_LIB="${PROCMON_LIB:-$here/../../target/release/libprocmon.so}"
if [[ "$PROCMON_LIB" == */* && ! -e "$PROCMON_LIB" ]]; then
  echo "test.sh: $PROCMON_LIB not found: build the library first (scripts/build.sh)" >&2
  exit 1
fi
if ! ruby -e 'require "ffi"' 2>/dev/null; then
  echo "test.sh: ruby with the ffi gem is needed (apt-get install ruby ruby-ffi)" >&2
  exit 1
fi
cd "$here"

echo "== minitest"
timeout 120 ruby -w -Ilib -e 'Dir["test/*_test.rb"].sort.each { |f| require File.expand_path(f) }'

echo "== examples/hello.rb"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
timeout 30 ruby -Ilib examples/hello.rb >"$out"
if ! printf '[greeter] hello\n[greeter] world\n' | cmp -s - "$out"; then
  echo "test.sh: examples/hello.rb printed something else:" >&2
  cat -A "$out" >&2
  exit 1
fi
echo "ok: the example"

echo "== the gem, installed, against the installed library"
if [[ ! -f "$build/cmake_install.cmake" ]]; then
  echo "test.sh: no CMake build in $build: run scripts/build.sh first" >&2
  exit 1
fi
version="$(ruby -Ilib -e 'require "procmon/version"; print Procmon::VERSION')"
gem build procmon.gemspec --output "$tmp/procmon-$version.gem" >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; exit 1; }
# A GEM_HOME of its own; the system's gems (Debian's ffi) stay on the path, and
# nothing is fetched (--local).
export GEM_HOME="$tmp/gems"
unset GEM_PATH RUBYLIB RUBYOPT
gem install --local --no-document "$tmp/procmon-$version.gem" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; exit 1; }
gemdir="$(gem contents procmon 2>/dev/null | sed -n 's|/lib/procmon.rb$||p')"
[[ -f "$gemdir/examples/hello.rb" ]] || { echo "test.sh: the installed gem has no examples/hello.rb" >&2; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir="$(dirname "$(find "$tmp/prefix" -name "libprocmon.so.$version")")"
cd "$tmp" # nothing of the checkout on the load path
unset PROCMON_LIB
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
timeout 30 ruby "$gemdir/examples/hello.rb" >"$out"
if ! printf '[greeter] hello\n[greeter] world\n' | cmp -s - "$out"; then
  echo "test.sh: the installed gem's examples/hello.rb printed something else:" >&2
  cat -A "$out" >&2
  exit 1
fi
# It was that gem, with the library found by its soname in the prefix.
ruby -e '
  require "procmon"
  abort "loaded #{$LOADED_FEATURES.grep(/procmon\.rb$/)}, not the installed gem" unless
    $LOADED_FEATURES.include?(File.join(ARGV[0], "lib/procmon.rb"))
  abort "library_path #{Procmon::Native.library_path}, not the soname" unless
    Procmon::Native.library_path == "libprocmon.so.0"
  maps = File.readlines("/proc/self/maps").map { |l| l.split[5] }.compact.grep(/libprocmon/).uniq
  abort "loaded #{maps}, not the installed library" unless maps == [File.join(ARGV[1], "libprocmon.so.#{Procmon::VERSION}")]
  abort "library version #{Procmon.version}" unless Procmon.version == Procmon::VERSION
' "$gemdir" "$(cd "$libdir" && pwd -P)"
echo "ok: gem procmon-$version from GEM_HOME, library libprocmon.so.0 from $libdir"
# Without the library on the search path, loading fails with a message saying what to do.
if msg="$(env -u LD_LIBRARY_PATH ruby -e 'require "procmon"' 2>&1)"; then
  echo "ok: (a system copy of libprocmon.so.0 is installed: no missing-library check)"
elif grep -q "cannot load libprocmon.so.0.*PROCMON_LIB" <<<"$msg"; then
  echo "ok: without the library, a LoadError says how to provide it"
else
  echo "test.sh: without the library: $msg" >&2
  exit 1
fi
echo "ok"
