#!/usr/bin/env bash
# tests/fuzz/run.sh - fuzz the Switchboard decoders (proto/fuzz_decode.c)
# and the broker's config file reader (broker/fuzz_config.c).
#
#   tests/fuzz/run.sh [SECONDS [BUILD_DIR]]
#
# SECONDS   total fuzzing time, split between the targets (default 30;
#           0 = only build and replay)
# BUILD_DIR a clang build with -DSWB_FUZZ=ON (default build-fuzz); it is
#           configured and built here when needed.
#
# Steps: build fuzz_decode, fuzz_config and fuzz_make_corpus; write the
# decoder seeds (one file per message type, plus stored records) and a
# dictionary; replay every file of tests/fuzz/regressions/ and
# tests/fuzz/corpus/ through fuzz_decode, and of
# tests/fuzz/config-regressions/ and tests/fuzz/config-corpus/ through
# fuzz_config, once each; then fuzz each target in turn (decode: half of
# SECONDS, -max_len=65536; config: the rest, -max_len=16384 with
# tests/fuzz/config.dict). The growing corpora and any crash files go to
# fuzz-out/ (decode: corpus/, artifacts/; config: config/corpus/,
# config/artifacts/; git-ignored; SWB_FUZZ_OUT overrides). Exit status is
# non-zero when a replay fails or libFuzzer finds a crash, a leak, a
# timeout or an out-of-memory in either target; then copy the crash file
# into tests/fuzz/regressions/ (decoder) or tests/fuzz/config-regressions/
# (config) once it is fixed, so it is replayed for ever.
#
# Environment: SWB_FUZZ_JOBS=N runs N fuzzing processes (libFuzzer -fork);
# SWB_FUZZ_TARGETS="decode config" picks the targets (default both);
# SWB_FUZZ_CC names the compiler for a new BUILD_DIR (default clang).
set -euo pipefail

secs="${1:-30}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${2:-$root/build-fuzz}"
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
out="${SWB_FUZZ_OUT:-$root/fuzz-out}"
jobs="${SWB_FUZZ_JOBS:-1}"
targets="${SWB_FUZZ_TARGETS:-decode config}"

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
cmake --build "$build" --target fuzz_decode fuzz_config fuzz_make_corpus -j "$(nproc)" \
    >"$build/fuzz-build.log" 2>&1 || {
    cat "$build/fuzz-build.log" >&2
    echo "run.sh: building the fuzz targets failed" >&2
    exit 1
}
fuzzer="$build/proto/fuzz_decode"
maker="$build/proto/fuzz_make_corpus"
cfgfuzzer="$build/broker/fuzz_config"

# ---- seeds ------------------------------------------------------------------
seeds="$out/seeds"
corpus="$out/corpus"
artifacts="$out/artifacts"
mkdir -p "$seeds" "$corpus" "$artifacts"
"$maker" "$seeds" "$out/swb.dict"

# ---- replay -----------------------------------------------------------------
# Known crashes (fixed since) and the checked-in seeds, each run once.
# replay_dirs FUZZER LOG DIR...
replay_dirs() {
    local fz="$1" log="$2" files=() d f
    shift 2
    for d in "$@"; do
        [ -d "$d" ] || continue
        while IFS= read -r -d '' f; do
            files+=("$f")
        done < <(find "$d" -type f ! -name '.*' ! -name '*.md' -print0)
    done
    [ "${#files[@]}" -gt 0 ] || return 0
    echo "run.sh: replaying ${#files[@]} files through $(basename "$fz")"
    "$fz" -runs=1 "${files[@]}" >"$log" 2>&1 || {
        tail -n 60 "$log" >&2
        echo "run.sh: a replayed input fails (see $log)" >&2
        exit 1
    }
}
cfgout="$out/config"
mkdir -p "$cfgout/corpus" "$cfgout/artifacts"
replay_dirs "$fuzzer" "$out/replay.log" "$here/regressions" "$here/corpus" \
    "$seeds"
replay_dirs "$cfgfuzzer" "$cfgout/replay.log" "$here/config-regressions" \
    "$here/config-corpus"
[ "$secs" -gt 0 ] || exit 0

# ---- fuzz -------------------------------------------------------------------
ntargets=0
for t in $targets; do
    case "$t" in
    decode|config) ntargets=$((ntargets + 1)) ;;
    *) echo "run.sh: unknown target $t (decode, config)" >&2; exit 2 ;;
    esac
done
[ "$ntargets" -gt 0 ] || exit 0
failed=0
left="$secs"
# run_fuzzer NAME FUZZER SECONDS LOG ARTIFACTS EXTRA_OPTS... -- DIRS...
run_fuzzer() {
    local name="$1" fz="$2" t="$3" log="$4" art="$5" opts=() dirs=() rc
    shift 5
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    for d in "$@"; do [ -d "$d" ] && dirs+=("$d"); done
    opts+=(-max_total_time="$t" -timeout=10 -rss_limit_mb=2048
           -malloc_limit_mb=256 -print_final_stats=1 -artifact_prefix="$art/")
    if [ "$jobs" -gt 1 ]; then
        opts+=(-fork="$jobs")
    fi
    echo "run.sh: fuzzing $name for ${t}s (corpus ${dirs[0]}, crashes to $art)"
    set +e
    "$fz" "${opts[@]}" "${dirs[@]}" 2>"$log"
    rc=$?
    set -e
    tail -n 25 "$log"
    if [ "$rc" -ne 0 ]; then
        echo "run.sh: $name: libFuzzer failed with status $rc; crash files:" >&2
        ls -l "$art" >&2
        failed=1
    fi
}
n="$ntargets"
for t in $targets; do
    share=$((left / n))
    [ "$share" -gt 0 ] || share=1
    left=$((left - share))
    n=$((n - 1))
    case "$t" in
    decode)
        run_fuzzer decode "$fuzzer" "$share" "$out/fuzz.log" "$artifacts" \
            -max_len=65536 -dict="$out/swb.dict" -- \
            "$corpus" "$seeds" "$here/corpus" "$here/regressions" ;;
    config)
        run_fuzzer config "$cfgfuzzer" "$share" "$cfgout/fuzz.log" \
            "$cfgout/artifacts" -max_len=16384 -dict="$here/config.dict" -- \
            "$cfgout/corpus" "$here/config-corpus" "$here/config-regressions" ;;
    esac
done
[ "$failed" -eq 0 ] || exit 1
echo "run.sh: no crash in ${secs}s ($targets)"
