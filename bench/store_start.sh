#!/usr/bin/env bash
# Start-up time of a segmented VS store against its size (docs/PERFORMANCE.md, "Store start").
#   Builds store_start_bench and vsd (Release), generates a segmented store of each size in $WORK
#   (one after the other, each deleted once measured: 10 M entries take about 5.7 GB), then RUNS
#   times: the store part of vsd's start (store_start_bench open: the read-write open and the
#   recovery reads, one JSON line), and a real `vsd run` on the store, timed from its launch to
#   its "listening on" log line ({"vsd_start_ms": ...}).
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
cmake --build "$build" -j1 --target store_start_bench vsd >/dev/null
bin="$build/bin"
"$bin/store_start_bench" key "$work/vs.key"
# shellcheck source=bench/vsd_start_time.sh
source bench/vsd_start_time.sh

for n in $sizes; do
  store="$work/store-$n"
  echo "== generating $n entries in $store" >&2
  "$bin/store_start_bench" generate "$store" "$n" "$segment_bytes"
  du -sh "$store" >&2
  for _ in $(seq "$runs"); do
    "$bin/store_start_bench" open "$store"
    time_vsd_start "$bin" "$work" "$store" "$work/vs.key"
  done
  rm -rf "$store"
done
