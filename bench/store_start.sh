#!/usr/bin/env bash
# Start-up time of a segmented VS store against its size (docs/PERFORMANCE.md, "Store start").
#   Builds store_start_bench (Release), generates a segmented store of each size in $WORK (one
#   after the other, each deleted once measured: 10 M entries take about 4.5 GB), and runs the
#   store part of vsd's start on it RUNS times: the read-write open (seals, active segment from its
#   newest checkpoint) and the recovery reads. Prints one JSON line per run.
# Usage: bench/store_start.sh  (env: SIZES="100000 10000000" RUNS=3 SEGMENT_BYTES=1073741824
#        WORK=${TMPDIR:-/tmp} BUILD_DIR=build-store-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-store-bench}
sizes=${SIZES:-"100000 10000000"}
runs=${RUNS:-3}
segment_bytes=${SEGMENT_BYTES:-1073741824}
work=$(mktemp -d "${WORK:-${TMPDIR:-/tmp}}/store-start-XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DGSVS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j1 --target store_start_bench >/dev/null
bin="$build/bin/store_start_bench"

for n in $sizes; do
  store="$work/store-$n"
  echo "== generating $n entries in $store" >&2
  "$bin" generate "$store" "$n" "$segment_bytes"
  du -sh "$store" >&2
  sync
  for _ in $(seq "$runs"); do "$bin" open "$store"; done
  rm -rf "$store"
done
