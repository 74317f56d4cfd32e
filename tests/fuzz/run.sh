#!/usr/bin/env bash
# tests/fuzz/run.sh - fuzz the Switchboard decoders (proto/fuzz_decode.c).
#
#   tests/fuzz/run.sh [SECONDS [BUILD_DIR]]
#
# SECONDS   how long libFuzzer runs (default 30; 0 = only build and replay)
# BUILD_DIR a clang build with -DSWB_FUZZ=ON (default build-fuzz); it is
#           configured and built here when needed.
#
# Steps: build fuzz_decode and fuzz_make_corpus; write the seeds (one file
# per message type, plus stored records) and a dictionary; replay every
# file in tests/fuzz/regressions/ and tests/fuzz/corpus/ once; then fuzz
# for SECONDS with -max_len=65536. The growing corpus and any crash files
# go to fuzz-out/ (git-ignored; SWB_FUZZ_OUT overrides). Exit status is
# non-zero when a replay fails or libFuzzer finds a crash, a leak, a
# timeout or an out-of-memory; then copy the crash file into
# tests/fuzz/regressions/ once it is fixed, so it is replayed for ever.
#
# Environment: SWB_FUZZ_JOBS=N runs N fuzzing processes (libFuzzer -fork);
# SWB_FUZZ_CC names the compiler for a new BUILD_DIR (default clang).
set -euo pipefail

secs="${1:-30}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${2:-$root/build-fuzz}"
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
out="${SWB_FUZZ_OUT:-$root/fuzz-out}"
jobs="${SWB_FUZZ_JOBS:-1}"

if ! [[ "$secs" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 [SECONDS [BUILD_DIR]]" >&2
    exit 2
fi

# ---- build ------------------------------------------------------------------
mkdir -p "$out"
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC="${SWB_FUZZ_CC:-clang}" cmake -S "$root" -B "$build" -DSWB_FUZZ=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$out/configure.log" 2>&1 || {
        cat "$out/configure.log" >&2
        echo "run.sh: cmake configure failed" >&2
        exit 1
    }
else
    if ! grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*clang' "$build/CMakeCache.txt"; then
        echo "run.sh: $build is not a clang build; libFuzzer needs clang" \
             "(use another BUILD_DIR)" >&2
        exit 1
    fi
    if ! grep -q '^SWB_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
        cmake "$build" -DSWB_FUZZ=ON >/dev/null
    fi
fi
cmake --build "$build" --target fuzz_decode fuzz_make_corpus -j "$(nproc)" \
    >"$build/fuzz-build.log" 2>&1 || {
    cat "$build/fuzz-build.log" >&2
    echo "run.sh: building the fuzz targets failed" >&2
    exit 1
}
fuzzer="$build/proto/fuzz_decode"
maker="$build/proto/fuzz_make_corpus"

# ---- seeds ------------------------------------------------------------------
seeds="$out/seeds"
corpus="$out/corpus"
artifacts="$out/artifacts"
mkdir -p "$seeds" "$corpus" "$artifacts"
"$maker" "$seeds" "$out/swb.dict"

# ---- replay -----------------------------------------------------------------
# Known crashes (fixed since) and the checked-in seeds, each run once.
replay=()
for d in "$here/regressions" "$here/corpus" "$seeds"; do
    [ -d "$d" ] || continue
    while IFS= read -r -d '' f; do
        replay+=("$f")
    done < <(find "$d" -type f ! -name '.*' ! -name '*.md' -print0)
done
if [ "${#replay[@]}" -gt 0 ]; then
    echo "run.sh: replaying ${#replay[@]} files"
    "$fuzzer" -runs=1 "${replay[@]}" >"$out/replay.log" 2>&1 || {
        tail -n 60 "$out/replay.log" >&2
        echo "run.sh: a replayed input fails (see $out/replay.log)" >&2
        exit 1
    }
fi
[ "$secs" -gt 0 ] || exit 0

# ---- fuzz -------------------------------------------------------------------
dirs=("$corpus" "$seeds")
[ -d "$here/corpus" ] && dirs+=("$here/corpus")
[ -d "$here/regressions" ] && dirs+=("$here/regressions")
opts=(-max_len=65536 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
      -malloc_limit_mb=256 -dict="$out/swb.dict" -print_final_stats=1
      -artifact_prefix="$artifacts/")
if [ "$jobs" -gt 1 ]; then
    opts+=(-fork="$jobs")
fi
echo "run.sh: fuzzing for ${secs}s (corpus $corpus, crashes to $artifacts)"
set +e
"$fuzzer" "${opts[@]}" "${dirs[@]}" 2>"$out/fuzz.log"
rc=$?
set -e
tail -n 25 "$out/fuzz.log"
if [ "$rc" -ne 0 ]; then
    echo "run.sh: libFuzzer failed with status $rc; crash files:" >&2
    ls -l "$artifacts" >&2
    exit 1
fi
echo "run.sh: no crash in ${secs}s"
