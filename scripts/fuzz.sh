#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 5), seeded from
# tests/vectors. A crash, leak, hang (over 10 s on one input) or sanitizer report fails the run.
#   FUZZ_BUILD_DIR  build folder (default: build-fuzz); corpora and logs are kept there.
# Usage: scripts/fuzz.sh [SECONDS | --build-only] (--build-only: build the targets and stop;
# scripts/test.sh runs that beside the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
build_only=0
if [ "$seconds" = --build-only ]; then
  build_only=1
elif ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS | --build-only]" >&2
  exit 2
fi
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGSVS_FUZZ=ON -DGSVS_BUILD_TESTS=OFF -DCMAKE_UNITY_BUILD=ON >/dev/null
cmake --build "$build_dir" -j2 --target fuzz_targets
[ "$build_only" = 0 ] || exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for target in "$build_dir"/tests/fuzz/fuzz_*; do
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus="$build_dir/corpus/$name"
  mkdir -p "$corpus"
  "$build_dir/tests/fuzz/seed_corpus" tests/vectors "$corpus" >/dev/null
  log="$build_dir/$name.log"
  "$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build_dir/$name-" "$corpus" 2>"$log" || {
    echo "fuzz: $name failed; see $log" >&2
    tail -40 "$log" >&2
    exit 1
  }
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz: $name ran clean for ${seconds}s (${execs:-?} executions)"
done
echo "fuzz: all targets ran clean"
