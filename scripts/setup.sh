#!/usr/bin/env bash
# Installs what a fresh machine of this kind (Debian, as root, with Rust, Go and
# Python already there) lacks, and only that: each Debian package that is not
# installed (one `apt-get update` first, only when something is missing) and the
# pinned nightly Rust with its components (only when missing). Running it again
# changes nothing and takes well under a second.
#
# Usage: scripts/setup.sh [build|test]   (from anywhere; default: test)
#   build  what scripts/build.sh and scripts/demo.sh need: a C/C++ toolchain,
#          CMake, make, pkg-config, binutils, GoogleTest (the CMake project
#          configures the C++ wrapper's tests), procps (the demo's pgrep); cargo
#          must be there already
#   test   all that scripts/test.sh needs: the above, plus Ruby with the ffi
#          gem (Ruby binding), clang-19 with its sanitizer runtimes and valgrind
#          (scripts/sanitize.sh), nginx-light (a real server for the containment
#          tests), and the nightly Rust of scripts/nightly-toolchain with rust-src
#          and miri (sanitizers, miri, fuzzing)
#
# PROCMON_SKIP_SETUP=1 makes it a no-op (a machine set up by other means).
# Not root: packages are installed through sudo when there is one; otherwise the
# script says what is missing and fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
what=${1:-test}

if [ "${PROCMON_SKIP_SETUP:-}" = 1 ]; then
  exit 0
fi

build_packages=(cmake make gcc g++ pkg-config binutils libgtest-dev procps)
test_packages=(ruby ruby-ffi clang-19 libclang-rt-19-dev valgrind nginx-light)
case "$what" in
build) packages=("${build_packages[@]}") ;;
test) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
*) echo "setup.sh: unknown set '$what' (build or test)" >&2; exit 2 ;;
esac

say() { echo "setup.sh: $*" >&2; }

command -v cargo >/dev/null ||
  { say "cargo (Rust, through rustup) is required; it comes with this machine kind"; exit 1; }

# ---------------------------------------------------------------- Debian packages
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null ||
      { say "not root and no sudo: install these Debian packages first: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  # Other sessions may be installing at the same time: wait for dpkg's lock.
  apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
  "${apt[@]}" update
  # A package's service (nginx) is not started by the install: where no policy
  # forbids it already, forbid it for the time of the install.
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ] && [ "$(id -u)" -eq 0 ]; then
    printf '#!/bin/sh\n# made by procmon scripts/setup.sh for one install\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  "${apt[@]}" install -y "${missing[@]}"
  if [ -n "$made_policy" ]; then rm -f "$policy"; trap - EXIT; fi
fi

# ---------------------------------------------------------------- nightly Rust
if [ "$what" = test ]; then
  nightly=$(cat "$root/scripts/nightly-toolchain")
  components=(rust-src miri)
  have_nightly() {
    rustup run "$nightly" rustc --version >/dev/null 2>&1 || return 1
    local list c
    list=$(rustup +"$nightly" component list --installed 2>/dev/null) || return 1
    for c in "${components[@]}"; do grep -q "^$c" <<<"$list" || return 1; done
  }
  if ! have_nightly; then
    say "installing the pinned $nightly with ${components[*]}"
    # Pinned, so that a new nightly cannot break the tests.
    rustup toolchain install "$nightly" --profile minimal \
      --component "$(IFS=,; echo "${components[*]}")"
  fi
fi
