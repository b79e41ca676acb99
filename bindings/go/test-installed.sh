#!/usr/bin/env bash
# Installs procmon from a CMake build directory into a temporary prefix, then
# builds a Go module of its own, outside the repository, that depends on the
# binding (a `replace` directive to this directory) against that installed copy
# alone (PKG_CONFIG_PATH=PREFIX/lib/pkgconfig, nothing of the checkout's), and
# runs it: it supervises a real process through the context-taking calls, and
# its output is checked. Offline: the module needs nothing but the binding.
# Usage: test-installed.sh BUILD_DIR   (bindings/go/test.sh runs it)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$(cd "${1:?usage: test-installed.sh BUILD_DIR}" && pwd)"
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

cmake --install "$build" --prefix "$prefix" >/dev/null
pcdir="$(dirname "$(find "$prefix" -name procmon.pc)")"
libdir="$(cd "$pcdir/.." && pwd)"
version="$(sed -n 's/^Version: //p' "$pcdir/procmon.pc")"

mkdir "$tmp/consumer"
cat >"$tmp/consumer/go.mod" <<MOD
module example.com/consumer

go 1.22

require github.com/procmon/procmon/bindings/go v0.0.0

replace github.com/procmon/procmon/bindings/go => $here
MOD
cat >"$tmp/consumer/main.go" <<'GO'
// Command consumer supervises one process with an installed libprocmon.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	procmon "github.com/procmon/procmon/bindings/go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := procmon.New()
	if err != nil {
		log.Fatal(err)
	}
	lines := make(chan string, 10)
	m.SetLogFunc(func(name string, _ procmon.Stream, line []byte) {
		lines <- fmt.Sprintf("[%s] %s", name, line)
	})
	argv := []string{"sh", "-c", "echo hello from $0; echo world; exec sleep 60", "installed"}
	if err := m.AddProcessContext(ctx, "greeter", argv, nil); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case l := <-lines:
			fmt.Println(l)
		case <-ctx.Done():
			log.Fatal("no line: ", ctx.Err())
		}
	}
	if err := m.CloseContext(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("library", procmon.Version())
}
GO

cd "$tmp/consumer"
# Only the installed copy: no uninstalled .pc of the checkout, no module download.
env PKG_CONFIG_PATH="$pcdir" GOFLAGS=-mod=mod GOPROXY=off GOWORK=off CGO_ENABLED=1 GOTOOLCHAIN=local \
  go build -o consumer .
if readelf -d consumer | grep -E 'R(UN)?PATH' | grep -qF "$(cd "$here/../.." && pwd)"; then
  echo "test-installed.sh: the program has a run path into the checkout:" >&2
  readelf -d consumer | grep -E 'R(UN)?PATH' >&2
  exit 1
fi
loaded="$(env LD_LIBRARY_PATH="$libdir" ldd consumer | sed -n 's/^\s*libprocmon.so.0 => \(\S*\).*/\1/p')"
if [[ "$(readlink -f "$loaded")" != "$(readlink -f "$libdir/libprocmon.so.$version")" ]]; then
  echo "test-installed.sh: the program loads '$loaded', not the installed library" >&2
  exit 1
fi
env LD_LIBRARY_PATH="$libdir" timeout 30 ./consumer >out
printf '[greeter] hello from installed\n[greeter] world\nlibrary %s\n' "$version" >want
if ! cmp -s out want; then
  echo "test-installed.sh: the program printed something else:" >&2
  diff want out >&2 || true
  exit 1
fi
echo "ok: a Go module outside the repository supervises a process with the library installed in $prefix"
