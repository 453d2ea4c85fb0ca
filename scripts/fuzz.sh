#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 5), seeded from
# tests/vectors. A crash, leak or sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGSVS_FUZZ=ON -DGSVS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j2 --target fuzz_targets

for target in "$build_dir"/tests/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus="$build_dir/corpus/$name"
  mkdir -p "$corpus"
  "$build_dir/tests/fuzz/seed_corpus" tests/vectors "$corpus" >/dev/null
  echo "fuzz: $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -print_final_stats=0 "$corpus" 2>"$build_dir/$name.log" || {
    echo "fuzz: $name failed; see $build_dir/$name.log" >&2
    tail -40 "$build_dir/$name.log" >&2
    exit 1
  }
done
echo "fuzz: all targets ran clean"
