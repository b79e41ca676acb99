#!/usr/bin/env bash
# Runs the checkers: the C harness (c-tests/) under AddressSanitizer +
# UndefinedBehaviorSanitizer, under ThreadSanitizer and under valgrind memcheck, and
# the pure core (src/core) under miri. Fails on any report or failed test.
#
# Usage: scripts/sanitize.sh [asan] [tsan] [valgrind] [miri]   (default: all four)
#   SANITIZE_JOBS=N   tests run at once (default 3: they mostly sleep)
#
# Needs (CI installs them; the script only checks):
#   Debian: clang-19 libclang-rt-19-dev valgrind cmake make
#   rustup: the nightly toolchain named in scripts/nightly-toolchain (pinned, so a
#   new nightly cannot break CI), with the components rust-src and miri
#
# Builds go to their own directories, so the normal target/release and build/ are
# never touched:
#   asan:     cargo target/asan (nightly, -Zsanitizer=address; std uninstrumented,
#             which ASan allows), CMake build-asan (clang-19, ASan+UBSan)
#   tsan:     cargo target/tsan (nightly, -Zsanitizer=thread with -Zbuild-std, so std,
#             parking_lot and crossbeam are instrumented too), CMake build-tsan
#   valgrind: the normal cargo target/release (it has debug info), CMake build-valgrind
#             (gcc, -O1 -g)
# Logs: build-<tool>/sanitize-logs/<test>.log, and the sanitizers' own reports
# (from the harness and from its children, which are the same binary) in
# build-<tool>/sanitize-logs/reports/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

jobs=${SANITIZE_JOBS:-3}
nightly=${SANITIZE_NIGHTLY:-$(cat "$root/scripts/nightly-toolchain")}
host=$(rustc -vV | sed -n 's/^host: //p')
cc=clang-19
cxx=clang++-19
supp="$root/c-tests/sanitizers"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'sanitize.sh: %s\n' "$*" >&2; exit 1; }

need_clang() {
  command -v "$cc" >/dev/null && command -v "$cxx" >/dev/null ||
    die "$cc is missing: apt-get install clang-19 libclang-rt-19-dev"
  [ -e "$("$cc" -print-file-name=libclang_rt.tsan-x86_64.a)" ] ||
    [ -e "$("$cc" --print-runtime-dir)/libclang_rt.tsan-x86_64.a" ] ||
    die "the clang sanitizer runtimes are missing: apt-get install libclang-rt-19-dev"
}
need_nightly() {
  local want=$1
  rustup run "$nightly" rustc --version >/dev/null 2>&1 ||
    die "no $nightly toolchain: rustup toolchain install $nightly --profile minimal"
  rustup +"$nightly" component list --installed 2>/dev/null | grep -q "^$want" ||
    die "missing component: rustup +$nightly component add $want"
}

# ---------------------------------------------------------------------------
# Tests left out, per tool, each with its reason. Every other test of
# `procmon_ctest list` runs.
#
# All tools:
#  soak_crash_loop_500       a soak of 500 crash/restart cycles: minutes when
#                            instrumented, far beyond the CI budget; its code paths
#                            are those of the shorter restart tests.
#  gigabyte_without_newline  asserts on the process's RSS growth, which shadow
#                            memory and valgrind's own heap distort; pushing a
#                            gigabyte through instrumented reads takes minutes.
common_skip="soak_crash_loop_500 gigabyte_without_newline"
# valgrind only: valgrind runs clone(CLONE_VM|CLONE_VFORK) as a plain fork, so the
# memory the spawned child writes its exec errno into is no longer shared: a spawn
# that fails in the child (ENOENT...) looks like a success followed by exit 127.
# These tests assert on the SPAWN_FAILED event of exactly that case (and
# auto_falls_back_when_the_kernel_refuses_the_cgroup on the child's EACCES from
# cgroup.procs: valgrind has no clone3, so the child joins its cgroup itself).
# Also valgrind only: env (valgrind edits the environment of the programs its
# client execs, so a child given an empty environment gets one entry) and
# descriptor_exhaustion (valgrind keeps descriptors for itself and lowers the
# RLIMIT_NOFILE the client sees, which the test asserts on), and
# rlimits_seen_by_the_child (the spawned child runs under valgrind until it
# execs, and valgrind's prlimit64 refuses an RLIMIT_NOFILE it did not grant), and
# fork_child_is_refused_parent_unaffected (the forked child's procmon_free must
# leave the parent's monitor state alone, which valgrind counts as a definite leak
# of that child and reports with its error exit code).
valgrind_skip="rlimits_seen_by_the_child fork_child_is_refused_parent_unaffected path_lookup spawn_failure_is_reported_and_retried
  zero_delay_spawn_failure_stays_responsive program_vanishes_and_reappears
  env descriptor_exhaustion auto_falls_back_when_the_kernel_refuses_the_cgroup"

# run_suite LABEL BINARY TIMEOUT SKIP WRAPPER...: runs each test of BINARY (not in
# SKIP) as `WRAPPER... BINARY test NAME`, SANITIZE_JOBS at once, each with TIMEOUT
# seconds; fails if any test fails or any report was written to $reports.
run_suite() {
  local label=$1 bin=$2 limit=$3 skip=$4
  shift 4
  local logs
  logs="$(dirname "$(dirname "$bin")")/sanitize-logs"
  rm -rf "$logs"
  mkdir -p "$logs/reports"
  local -a tests=()
  local t
  for t in $("$bin" list); do
    case " $(echo $skip) " in *" $t "*) continue ;; esac
    tests+=("$t")
  done
  printf '%s: %d tests (%d at once; skipped: %s)\n' "$label" "${#tests[@]}" "$jobs" \
    "$(echo $skip)"
  local start=$SECONDS
  # Each line of the summary: name, exit status, seconds.
  printf '%s\n' "${tests[@]}" |
    LOGS=$logs BIN=$bin LIMIT=$limit xargs -P "$jobs" -I{} bash -c '
      t0=$(date +%s%N)
      timeout -k 10 "$LIMIT" "$@" "$BIN" test {} >"$LOGS/{}.log" 2>&1
      rc=$?
      t1=$(date +%s%N)
      echo "{} $rc $(( (t1 - t0) / 1000000 ))" >>"$LOGS/summary"
    ' _ "$@" || true
  local failed=0
  while read -r t rc ms; do
    if [ "$rc" != 0 ]; then
      failed=1
      printf '%s: FAILED %s (exit %s after %d.%03d s)%s\n' "$label" "$t" "$rc" \
        $((ms / 1000)) $((ms % 1000)) "$([ "$rc" = 124 ] && echo ', timed out')"
      grep -v -e 'unhandled amd64-linux syscall: 424' -e 'your own handler' \
        -e 'README_MISSING_SYSCALL' -e 'Nevertheless we consider' \
        -e 'bug_reports.html' "$logs/$t.log" | tail -n 60 | sed 's/^/    /'
    fi
  done <"$logs/summary"
  local n
  n=$(wc -l <"$logs/summary")
  [ "$n" = "${#tests[@]}" ] || { failed=1; echo "$label: only $n of ${#tests[@]} tests ran"; }
  local r
  for r in "$logs"/reports/*; do
    [ -e "$r" ] || continue
    # valgrind writes one file per process even when clean: only errors count.
    if [ "$label" = valgrind ] && ! grep -q -e 'ERROR SUMMARY: [1-9]' -e 'definitely lost' \
        -e 'Invalid ' -e 'uninitialised' "$r"; then
      continue
    fi
    # ASan's warning when procmon's spawned child, which shares the parent's
    # memory and thread state until it execs (clone CLONE_VM|CLONE_VFORK, on a
    # stack of its own), reaches the noreturn _exit() after a failed exec: ASan
    # sees a stack pointer outside the thread's stack and, rightly, skips
    # unpoisoning it. Not an error; a file holding nothing else is ignored.
    if [ "$label" = asan ] && ! grep -v -e 'ASan is ignoring requested __asan_handle_no_return' \
        -e 'False positive error reports may follow' -e 'google/sanitizers/issues/189' \
        -e '^[[:space:]]*$' "$r" >/dev/null; then
      continue
    fi
    failed=1
    echo "$label: report $r:"
    head -n 80 "$r" | sed 's/^/    /'
  done
  printf '%s: %s in %d s; slowest: %s\n' "$label" \
    "$([ $failed = 0 ] && echo passed || echo FAILED)" $((SECONDS - start)) \
    "$(sort -k3 -n -r "$logs/summary" | head -n 3 | awk '{printf "%s %.1fs  ", $1, $3/1000}')"
  return $failed
}

# cmake_harness DIR LIBDIR CC CFLAGS LDFLAGS: configures DIR against the library in
# LIBDIR and builds procmon_ctest only.
cmake_harness() {
  local dir=$1 libdir=$2 c=$3 cflags=$4 ldflags=$5 cx=$cxx
  [ "$c" = gcc ] && cx=g++
  CC=$c CXX=$cx cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_CXX_FLAGS="$cflags" \
    -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DPROCMON_LIB_DIR="$libdir" >/dev/null &&
    cmake --build "$dir" -j2 --target procmon_ctest >/dev/null
}

asan() {
  step "ASan + UBSan (Rust library: -Zsanitizer=address; C harness: clang ASan+UBSan)"
  need_clang
  need_nightly rust-src
  RUSTFLAGS="-Zsanitizer=address -Cdebuginfo=1 -Cforce-frame-pointers=yes" \
    CARGO_TARGET_DIR=target/asan cargo +"$nightly" build --release --lib \
    --target "$host" --quiet || return 1
  local flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
  cmake_harness build-asan "$root/target/asan/$host/release" "$cc" "$flags" \
    "-fsanitize=address,undefined" || return 1
  local reports="$root/build-asan/sanitize-logs/reports"
  ASAN_OPTIONS="log_path=$reports/san:detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1" \
    UBSAN_OPTIONS="log_path=$reports/san:print_stacktrace=1:halt_on_error=1" \
    run_suite asan build-asan/c-tests/procmon_ctest 120 "$common_skip"
}

tsan() {
  step "TSan (Rust library and its std: -Zsanitizer=thread -Zbuild-std; C harness: clang TSan)"
  need_clang
  need_nightly rust-src
  RUSTFLAGS="-Zsanitizer=thread -Cdebuginfo=1" CARGO_TARGET_DIR=target/tsan \
    cargo +"$nightly" build --release --lib -Zbuild-std --target "$host" --quiet ||
    return 1
  # TSan's clone() interceptor breaks on procmon's clone(CLONE_VM|CLONE_VFORK): see
  # the file. Linked uninstrumented into the harness; the name carries a hash of
  # the source so that a change relinks the harness.
  mkdir -p build-tsan
  local shim
  shim="$root/build-tsan/tsan_clone_vm.$(sha1sum "$supp/tsan_clone_vm.c" | cut -c1-12).o"
  [ -e "$shim" ] || "$cc" -c -O1 -g -fPIC -Wall -Wextra -Werror -o "$shim" \
    "$supp/tsan_clone_vm.c" || return 1
  local flags="-fsanitize=thread -fno-omit-frame-pointer -g -O1"
  cmake_harness build-tsan "$root/target/tsan/$host/release" "$cc" "$flags" \
    "-fsanitize=thread $shim" || return 1
  local reports="$root/build-tsan/sanitize-logs/reports"
  TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=0" \
    run_suite tsan build-tsan/c-tests/procmon_ctest 120 "$common_skip"
}

valgrind_() {
  step "valgrind memcheck (release library with debug info, C harness -O1 -g)"
  command -v valgrind >/dev/null || die "valgrind is missing: apt-get install valgrind"
  cargo build --release --lib --quiet || return 1
  cmake_harness build-valgrind "$root/target/release" gcc "-O1 -g" "" || return 1
  # Valgrind 3.19 lacks pidfd_send_signal (see the shim): preloaded into the harness.
  local shim="$root/build-valgrind/valgrind_pidfd_shim.so"
  gcc -O1 -g -shared -fPIC -Wall -Wextra -Werror -o "$shim" \
    "$supp/valgrind_pidfd_shim.c" -ldl || return 1
  local reports="$root/build-valgrind/sanitize-logs/reports"
  run_suite valgrind build-valgrind/c-tests/procmon_ctest 300 \
    "$common_skip $valgrind_skip" \
    env PROCMON_TEST_SLOWNESS=3 LD_PRELOAD="$shim" valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --trace-children=no --child-silent-after-fork=yes \
    --log-file="$reports/vg.%p"
}

miri() {
  step "miri: cargo miri test on the pure core (src/core)"
  need_nightly miri
  need_nightly rust-src
  # The core's unit tests only: the rest of the crate does I/O that miri cannot run.
  # Left out unless SANITIZE_MIRI_FULL=1: any_chunking_gives_the_reference_lines,
  # which alone takes about 6 minutes under miri (25 splits of a 5000-byte stream);
  # the other line tests run, and the line_splitter fuzz target (scripts/fuzz.sh,
  # under ASan) checks the same property on far more streams.
  local -a skip=(--skip core::lines::tests::any_chunking_gives_the_reference_lines)
  [ "${SANITIZE_MIRI_FULL:-0}" = 1 ] && skip=()
  MIRIFLAGS="${MIRIFLAGS:-}" CARGO_TARGET_DIR=target/miri \
    cargo +"$nightly" miri test --lib --quiet -- core:: "${skip[@]}"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(asan tsan valgrind miri)
status=0
for tool in "${tools[@]}"; do
  begin=$SECONDS
  case $tool in
    asan) asan || status=1 ;;
    tsan) tsan || status=1 ;;
    valgrind) valgrind_ || status=1 ;;
    miri) miri || status=1 ;;
    *) die "unknown tool '$tool' (asan, tsan, valgrind, miri)" ;;
  esac
  echo "($tool: $((SECONDS - begin)) s)"
done
[ $status = 0 ] && echo "sanitize.sh: all passed" || echo "sanitize.sh: FAILED" >&2
exit $status
