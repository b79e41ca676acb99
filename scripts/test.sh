#!/usr/bin/env bash
# Runs every test: formatting and lints, the header drift check, the Rust tests
# (core with a fake clock, the C API through the rlib), and the C harness and CLI
# tests through CMake/CTest. Usage: scripts/test.sh   (from anywhere)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets -- -D warnings

step "build (release) and check the committed header matches the sources"
cargo build --release
scripts/check-header.sh

step "cargo test"
cargo test

step "C harness and CLI (CMake + CTest)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2 --timeout 120
