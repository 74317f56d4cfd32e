#!/usr/bin/env bash
# The whole test suite, from a bare Debian 12 machine:
#   1. installs what is missing (deploy/install-deps.sh --test),
#   2. builds with -Werror and runs every test through ctest,
#   3. builds again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      runs every test again,
#   4. builds the libFuzzer targets with clang and runs a short fuzz smoke
#      (SWB_FUZZ_SECONDS, default 30) plus the regression corpus.
# Build folders: build-ci/{plain,asan,fuzz}. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

deploy/install-deps.sh --test

step() { printf '\n=== %s ===\n' "$*"; }

step "plain build (-Werror)"
cmake -S . -B build-ci/plain -DSWB_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-ci/plain -j"$jobs"
step "tests (plain)"
(cd build-ci/plain && ctest --output-on-failure --timeout 600)

step "sanitizer build (ASan + UBSan)"
cmake -S . -B build-ci/asan -DSWB_WERROR=ON -DSWB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-ci/asan -j"$jobs"
step "tests (ASan + UBSan)"
(cd build-ci/asan && \
 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
 LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0 \
 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
 SWB_TIMEOUT_MULT=3 ctest --output-on-failure --timeout 1200)

if [[ -x tests/fuzz/run.sh ]]; then
    step "fuzz smoke (${SWB_FUZZ_SECONDS:-30} s)"
    tests/fuzz/run.sh "${SWB_FUZZ_SECONDS:-30}" build-ci/fuzz
fi
step "all tests passed"
