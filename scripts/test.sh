#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors under ASan/UBSan, runs the static
# checks of scripts/lint.sh, runs every test, then runs each fuzz target for a few seconds when
# clang is available. Exits non-zero on any failure.
#   BUILD_DIR   build folder (default: build-test)
#   LINT        0 skips scripts/lint.sh; format runs only its clang-format step (default: all
#               of it, about 6 minutes on 2 cores)
#   FUZZ_SECONDS  seconds per fuzz target (default: 5; 0 skips fuzzing)
#   PACKAGE     0 skips scripts/package.sh, which builds the Debian package in Release, lints it
#               and starts its vsd (default: 1; about 5 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

build_dir=${BUILD_DIR:-build-test}
# -g1: line tables and function names, all that a sanitizer's stack trace prints, without the
# variable and type information of -g that only a debugger reads. It takes 12 to 20 % off each
# unit's compile under the sanitizers (vsd/admin.cpp 19.5 s -> 16.9 s, tests/vsd/cli_test.cpp
# 9.8 s -> 7.7 s) and a quarter off the objects the linker reads.
# A unity build, every source of a target in one unit: the heavy headers are parsed once a target
# (README.md, "What CI spends its time on"). Names at namespace scope of one .cpp must therefore
# not clash with another's of the same target; the build fails where they do.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DGSVS_WERROR=ON \
  -DGSVS_SANITIZE=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0 >/dev/null
cmake --build "$build_dir" -j2

# After the build, so that a compile error reads as the compiler's, and before the tests, the
# longest step, so that a finding fails fast.
case "${LINT:-1}" in
  0) ;;
  format) scripts/lint.sh format ;;
  *) scripts/lint.sh ;;
esac

# quarantine_size_mb=16, not ASan's 256: fewer fresh pages per test process (README.md).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# GoogleTest reports the tests of a suite whose set-up failed as skipped, and CTest counts a
# skipped test as no failure. No test of this project skips itself, so any skip fails the run.
(cd "$build_dir" && ctest --output-on-failure -j2 --timeout 300) | tee "$build_dir/ctest.log"
if grep -q '(Skipped)$' "$build_dir/ctest.log"; then
  echo "test.sh: tests were skipped (their set-up failed; see above):" >&2
  grep '(Skipped)$' "$build_dir/ctest.log" >&2
  exit 1
fi

fuzz_seconds=${FUZZ_SECONDS:-5}
if [ "$fuzz_seconds" -gt 0 ] && command -v clang++ >/dev/null 2>&1; then
  scripts/fuzz.sh "$fuzz_seconds"
fi

if [ "${PACKAGE:-1}" != 0 ]; then
  scripts/package.sh
fi
