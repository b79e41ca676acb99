#!/usr/bin/env bash
# Runs every test: formatting and lints, the header drift check, the Rust tests
# (core with a fake clock, the C API through the rlib), the C harness, the C++
# wrapper's tests, the CLI and the install checks through CMake/CTest, the Go and
# Ruby bindings, the README's examples, the sanitizers and checkers, a short fuzz
# run and a smoke run of the benchmarks. It first installs what a fresh machine of
# this kind lacks (scripts/setup.sh: Debian packages, the pinned nightly Rust; a
# no-op when all is there, skipped with PROCMON_SKIP_SETUP=1).
# Usage: scripts/test.sh   (from anywhere)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> %s (%s)\n' "$*" "$(date +%T)"; }

step "set-up: what this machine lacks (scripts/setup.sh)"
scripts/setup.sh test

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets -- -D warnings

step "build (release) and check the committed header matches the sources"
cargo build --release
scripts/check-header.sh

step "cargo test"
cargo test

step "C harness, C++ wrapper, CLI, install (CMake + CTest)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2 --timeout 240

step "Go binding"
bindings/go/test.sh

step "Ruby binding"
bindings/ruby/test.sh

step "the README's examples are the tested files"
scripts/check-readme.sh

step "sanitizers and checkers: ASan+UBSan, TSan, valgrind, miri"
scripts/sanitize.sh

step "fuzzing, 10 s per target"
scripts/fuzz.sh 10

step "benchmark smoke run"
bench/smoke.sh
