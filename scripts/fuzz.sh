#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ (libFuzzer through libfuzzer-sys, with
# AddressSanitizer, debug assertions and overflow checks: the flags cargo-fuzz
# uses, so cargo-fuzz itself is not needed) and runs each for a bounded time,
# starting from its committed corpus fuzz/corpus/<target>/.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default: 20 s, every target)
# Needs the nightly toolchain named in scripts/nightly-toolchain. Builds into
# fuzz/target/; new inputs go to fuzz/target/corpus/<target>/ (not the committed
# corpus); a crash is saved as fuzz/artifacts/<target>/crash-* and fails the run.
# With cargo-fuzz installed, `cargo +nightly fuzz run <target>` works as well.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root/fuzz"

seconds=${1:-20}
shift || true
nightly=${FUZZ_NIGHTLY:-$(cat "$root/scripts/nightly-toolchain")}
host=$(rustc -vV | sed -n 's/^host: //p')
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(line_splitter ffi)

rustup run "$nightly" rustc --version >/dev/null 2>&1 ||
  { echo "fuzz.sh: needs a nightly toolchain: rustup toolchain install $nightly --profile minimal --component rust-src" >&2; exit 1; }

export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares \
--cfg fuzzing -Zsanitizer=address -Cdebug-assertions -Coverflow-checks -Cdebuginfo=1"
start=$SECONDS
# --target: the flags then apply to the fuzzed code only, not to build scripts.
cargo +"$nightly" build --release --target "$host" --bins --quiet
echo "fuzz.sh: built in $((SECONDS - start)) s"

status=0
for t in "${targets[@]}"; do
  work="target/corpus/$t"
  mkdir -p "$work" "artifacts/$t"
  echo "==> $t for $seconds s"
  if ! "target/$host/release/$t" "$work" "corpus/$t" -max_total_time="$seconds" \
      -timeout=20 -rss_limit_mb=4096 -artifact_prefix="artifacts/$t/" \
      -print_final_stats=1 >"target/$t.log" 2>&1; then
    status=1
    echo "fuzz.sh: $t FAILED:"
    grep -v -e 'ASan is ignoring requested __asan_handle_no_return' \
      -e 'False positive error reports may follow' -e 'google/sanitizers/issues/189' \
      "target/$t.log" | tail -n 60
  else
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "target/$t.log" | tail -n 2
  fi
done
echo "fuzz.sh: $([ $status = 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
exit $status
