#!/usr/bin/env bash
# Runs the Ruby binding's minitest suite and its example, from any directory.
# Needs the library built (scripts/build.sh) and Debian's ruby and ruby-ffi.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
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
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
timeout 30 ruby -Ilib examples/hello.rb >"$out"
if ! printf '[greeter] hello\n[greeter] world\n' | cmp -s - "$out"; then
  echo "test.sh: examples/hello.rb printed something else:" >&2
  cat -A "$out" >&2
  exit 1
fi
echo "ok"
