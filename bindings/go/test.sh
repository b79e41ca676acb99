#!/usr/bin/env bash
# Tests the Go binding from any directory: go vet, go test, go test -race, and
# the example's exact output. Needs the library built (scripts/build.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

if [[ ! -e "$root/target/release/libprocmon.so.0" ]]; then
  echo "test.sh: $root/target/release/libprocmon.so.0 is missing: run scripts/build.sh first" >&2
  exit 1
fi
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi
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
echo "ok: Go binding"
