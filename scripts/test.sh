#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors under ASan/UBSan, runs the static
# checks of scripts/lint.sh, runs every test (building the fuzz targets and the package beside
# them), then runs each fuzz target for a few seconds when clang is available and checks the
# package. Exits non-zero on any failure.
#   BUILD_DIR   build folder (default: build-test)
#   LINT        0 skips scripts/lint.sh; format runs only its clang-format step (default: all
#               of it, about 6 minutes on 2 cores)
#   FUZZ_SECONDS  seconds per fuzz target (default: 5; 0 skips fuzzing)
#   PACKAGE     0 skips scripts/package.sh, which builds the Debian package in Release, lints it
#               and starts its vsd (default: 1; about 5 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says how long it took, so a CI log shows where its time went.
step_start=$SECONDS
step_done() {
  echo "test.sh: $1 took $((SECONDS - step_start)) s" >&2
  step_start=$SECONDS
}

scripts/install-deps.sh
step_done "installing dependencies"

build_dir=${BUILD_DIR:-build-test}
# -g1: line tables and function names, all that a sanitizer's stack trace prints, without the
# variable and type information of -g that only a debugger reads. It takes 12 to 20 % off each
# unit's compile under the sanitizers (vsd/admin.cpp 19.5 s -> 16.9 s, tests/vsd/cli_test.cpp
# 9.8 s -> 7.7 s) and a quarter off the objects the linker reads.
# A unity build, every source of a target in one unit: the heavy headers are parsed once a target
# (README.md, "What CI spends its time on"). Names at namespace scope of one .cpp must therefore
# not clash with another's of the same target; the build fails where they do.
# Linked with lld: a sanitizer test binary links in 2 s instead of ld.bfd's 7 (tests/vsd).
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DGSVS_WERROR=ON \
  -DGSVS_SANITIZE=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0 \
  -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld >/dev/null
cmake --build "$build_dir" -j2
step_done "the sanitizer build"

# After the build, so that a compile error reads as the compiler's, and before the tests, the
# longest step, so that a finding fails fast.
case "${LINT:-1}" in
  0) ;;
  format) scripts/lint.sh format ;;
  *) scripts/lint.sh ;;
esac
step_done "lint"

# The fuzz build and the package's Release build run beside the tests, at the lowest priority: the
# tests wait on sockets, timers and their daemons and leave about a third of the 2 cores idle.
# The tests took 401 s beside them instead of 350 s, and the whole run 25 s less (README.md, "What
# CI spends its time on"). Their steps below then find the builds done. Each runs in a process
# group of its own, so that a failed run stops its compilers too.
fuzz_seconds=${FUZZ_SECONDS:-5}
fuzzing=0
if [ "$fuzz_seconds" -gt 0 ] && command -v clang++ >/dev/null 2>&1; then fuzzing=1; fi
background=()
background_logs=()
start_beside_tests() {
  local log=$1
  shift
  setsid --wait nice -n 19 "$@" >"$log" 2>&1 &
  background+=($!)
  background_logs+=("$log")
}
stop_background() {
  for pid in "${background[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
trap stop_background EXIT
if [ "$fuzzing" = 1 ]; then start_beside_tests "$build_dir/fuzz-build.log" scripts/fuzz.sh --build-only; fi
if [ "${PACKAGE:-1}" != 0 ]; then
  start_beside_tests "$build_dir/package-build.log" scripts/package.sh --build-only
fi

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
step_done "the tests"
for i in "${!background[@]}"; do
  if ! wait "${background[$i]}"; then
    echo "test.sh: a build beside the tests failed; the end of ${background_logs[$i]}:" >&2
    tail -40 "${background_logs[$i]}" >&2
    exit 1
  fi
done
background=()
step_done "waiting for the builds beside the tests"

if [ "$fuzzing" = 1 ]; then
  scripts/fuzz.sh "$fuzz_seconds"
  step_done "fuzzing"
fi

if [ "${PACKAGE:-1}" != 0 ]; then
  scripts/package.sh
  step_done "the package"
fi
