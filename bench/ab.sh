#!/usr/bin/env bash
# A/B: two builds of the library in one run, interleaved (A B B A ...), driven by
# the same pm_bench binary. Reports B ÷ A per metric with the spread over pairs
# (bench/results/ab.md, ab.json; not committed).
#
#   bench/ab.sh                          HEAD (committed) against the working tree
#   bench/ab.sh main                     main against the working tree
#   bench/ab.sh main i14-bench           two refs
#   bench/ab.sh HEAD worktree --only crash_1,overfill_1 --reps 8
#   bench/ab.sh HEAD HEAD --smoke        A/A: the noise floor (and a quick self-test)
#
# A ref is built from `git archive REF` (the committed tree, not the working
# tree's edits) into a temporary directory, with a cargo target directory of its
# own (bench/build/ab/target, so dependencies are compiled once); the library is
# kept in bench/build/ab/<commit>/ and not rebuilt for the same commit.
# `worktree` is the working tree as it is (cargo build --release in the root),
# copied to bench/build/ab/worktree/. Options after the refs go to bench/ab.py
# (--only KEYS, --reps N, --smoke, --idle, --with-limit, --name NAME).
#
# The driver is built from the working tree's bench/ and include/procmon.h, so
# both libraries must export what pm_bench calls (procmon_add_process, the
# setters, procmon_version; nothing newer), as every 0.2 build does.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
store="$here/build/ab"

refs=()
while [[ $# -gt 0 && "$1" != -* ]]; do refs+=("$1"); shift; done
ref_a="${refs[0]:-HEAD}"
ref_b="${refs[1]:-worktree}"

soname_link() { # DIR: the soname link beside DIR/libprocmon.so
    local so
    so=$(readelf -d "$1/libprocmon.so" | sed -n 's/.*soname: \[\(.*\)\].*/\1/p')
    [[ -n "$so" ]] && ln -sf libprocmon.so "$1/$so"
    return 0
}

# build REF -> prints the directory holding its libprocmon.so
build() {
    local ref="$1" dest sha tmp
    if [[ "$ref" == worktree ]]; then
        dest="$store/worktree"
        (cd "$root" && cargo build --release --quiet) >&2
        mkdir -p "$dest"
        cp -f "$root/target/release/libprocmon.so" "$dest/libprocmon.so"
        soname_link "$dest"
        echo "$dest"
        return
    fi
    sha=$(git -C "$root" rev-parse --verify --quiet "$ref^{commit}") \
        || { echo "ab.sh: not a commit: $ref" >&2; exit 2; }
    dest="$store/$sha"
    if [[ ! -e "$dest/libprocmon.so" ]]; then
        tmp=$(mktemp -d /tmp/procmon-ab.XXXXXX)
        echo "building $ref ($sha) in $tmp ..." >&2
        git -C "$root" archive "$sha" | tar -x -C "$tmp"
        CARGO_TARGET_DIR="$store/target" cargo build --release --quiet \
            --manifest-path "$tmp/Cargo.toml" >&2
        mkdir -p "$dest"
        cp -f "$store/target/release/libprocmon.so" "$dest/libprocmon.so"
        rm -rf "$tmp"
    fi
    soname_link "$dest"
    echo "$dest"
}

dir_a=$(build "$ref_a")
dir_b=$(build "$ref_b")
label() { [[ "$1" == worktree ]] && echo worktree || echo "$1 ($(git -C "$root" rev-parse --short "$1^{commit}"))"; }

# the driver, against the working tree's header; the root's target/release must exist
[[ -e "$root/target/release/libprocmon.so" ]] || (cd "$root" && cargo build --release)
make -s -C "$here"

exec python3 "$here/ab.py" --a "$dir_a" --b "$dir_b" \
    --label-a "$(label "$ref_a")" --label-b "$(label "$ref_b")" "$@"
