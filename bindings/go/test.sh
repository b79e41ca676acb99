#!/usr/bin/env bash
# Tests the Go binding from any directory: go vet, go test, go test -race and the
# example's exact output against the checkout's build, then a Go module outside
# the repository against a copy installed into a temporary prefix
# (test-installed.sh). Needs the library and the CMake build directory
# (scripts/build.sh; PROCMON_BUILD_DIR, default build/).
#
# The package finds the library through pkg-config (#cgo pkg-config: procmon):
# here the build's uninstalled build/pkgconfig/procmon.pc, which points at the
# checkout's include/ and target/release, where the programs find it at run time
# through LD_LIBRARY_PATH.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${PROCMON_BUILD_DIR:-$root/build}"
cd "$here"

if [[ ! -e "$build/pkgconfig/procmon.pc" ]]; then
  echo "test.sh: $build/pkgconfig/procmon.pc is missing: run scripts/build.sh first" >&2
  exit 1
fi
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi
export PKG_CONFIG_PATH="$build/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
libdir="$(pkg-config --variable=libdir procmon)"
if [[ ! -e "$libdir/libprocmon.so.0" ]]; then
  echo "test.sh: $libdir/libprocmon.so.0 is missing: run scripts/build.sh first" >&2
  exit 1
fi
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CGO_ENABLED=1 GOTOOLCHAIN=local
# The race detector otherwise sleeps 1 s at exit.
export GORACE="${GORACE:-atexit_sleep_ms=0}"

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 ./...
echo "== go test -race"
go test -race -count=1 ./...

echo "== example"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/hello" ./examples/hello
timeout 30 "$tmp/hello" >"$tmp/out"
printf '[greeter] hello\n[greeter] world\n' >"$tmp/want"
if ! cmp -s "$tmp/out" "$tmp/want"; then
  echo "test.sh: the example printed something else:" >&2
  diff "$tmp/want" "$tmp/out" >&2 || true
  exit 1
fi
echo "ok: the example"

echo "== a module outside the repository, against an installed copy"
"$here/test-installed.sh" "$build"
echo "ok: Go binding"
