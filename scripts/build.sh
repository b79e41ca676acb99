#!/usr/bin/env bash
# Builds everything from any directory: the Rust library (cargo), then the C side
# (c-tests and the procmon CLI) with CMake into build/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --release
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
