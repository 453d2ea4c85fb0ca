#!/usr/bin/env bash
# A log that lives for a season (docs/PERFORMANCE.md, "Long run"): rotation, pruning by policy,
# vsd's start and the audit, on one generated multi-segment store.
#   1. Generates a segmented VS store of ENTRIES entries with the audit store generator
#      (tests/support/store_generator.h: real protocol sessions, every message signed as vsd and
#      the GSes sign it) through the BatchWriter vsd appends with, which rotates the store at
#      SEGMENT_BYTES and seals each segment with a VS-signed checkpoint. And a SMALL_ENTRIES store
#      the same way, for comparison.
#   2. Prunes the oldest PRUNE_SEGMENTS segments by a retention policy: `vsd store prune
#      --older-than AGE --yes`, AGE chosen from the segments' seal times so that exactly those are
#      older (the generator writes a season in minutes, so the policy's age is seconds here).
#   3. Times vsd's start on both stores, RUNS times each, as bench/store_start.sh does:
#      `store_start_bench open` (the store part) and a real `vsd run` to its "listening on".
#   4. Runs `audit-cli verify` over the pruned directory: it must say intact, report no finding
#      (no failure, no warning) and list the pruned segments as pruned by policy, from entry 0 to
#      where the first remaining segment starts.
#   5. Prints one summary block (and the same as one JSON line at the end).
# Exits non-zero when a step or a check fails, saying which.
# Usage: bench/long_run.sh
#   env: ENTRIES=10000000 SMALL_ENTRIES=100000 SEGMENT_BYTES=268435456 PRUNE_SEGMENTS=4 RUNS=3
#        THREADS=$(nproc) SESSIONS=16 SEED=1 WORK=${TMPDIR:-/tmp} BUILD_DIR=build-release KEEP=0
#   (KEEP=1 keeps the stores; 10 M entries take about 3.5 GB.)
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${ENTRIES:-10000000}
small_entries=${SMALL_ENTRIES:-100000}
segment_bytes=${SEGMENT_BYTES:-268435456}
prune_segments=${PRUNE_SEGMENTS:-4}
runs=${RUNS:-3}
threads=${THREADS:-$(nproc)}
sessions=${SESSIONS:-16}
seed=${SEED:-1}
build=${BUILD_DIR:-build-release}
keep=${KEEP:-0}
work=$(mktemp -d "${WORK:-${TMPDIR:-/tmp}}/long-run-XXXXXX")
if [[ $keep != 1 ]]; then trap 'rm -rf "$work"' EXIT; fi

fail() {
  echo "long_run: FAILED: $*" >&2
  exit 1
}
note() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DGSVS_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j1 --target audit_verify_bench store_start_bench vsd audit-cli >/dev/null
bin="$build/bin"
# shellcheck source=bench/vsd_start_time.sh
source bench/vsd_start_time.sh
"$bin/audit_verify_bench" key "$work/vs.key" "$seed"

# generate NAME ENTRIES: a segmented store in $work/NAME; prints the generator's JSON line.
generate() {
  note "generating $2 entries in $work/$1/ (segments of $segment_bytes bytes)"
  "$bin/audit_verify_bench" generate "$work/$1/" "$2" "$seed" "$sessions" 600 "$segment_bytes" ||
    fail "generating $work/$1"
}

# meta KEY FILE: a value of a segment's meta table.
meta() { sqlite3 "file:$2?immutable=1" "SELECT value FROM meta WHERE key = '$1'"; }

# start_times NAME: RUNS pairs of (store open, vsd start); prints "open_min open_max vsd_min vsd_max".
start_times() {
  local opens=() starts=() line
  for _ in $(seq "$runs"); do
    line=$("$bin/store_start_bench" open "$work/$1" "$work/vs.key.pub") || fail "store open of $1"
    opens+=("$(jq .start_ms <<<"$line")")
    line=$(time_vsd_start "$bin" "$work" "$work/$1" "$work/vs.key") || fail "vsd run on $1"
    starts+=("$(jq .vsd_start_ms <<<"$line")")
  done
  printf '%s\n' "${opens[@]}" | sort -g | sed -n '1p;$p' | paste -sd' ' | tr '\n' ' '
  printf '%s\n' "${starts[@]}" | sort -g | sed -n '1p;$p' | paste -sd' '
}

# 1. The stores.
small_json=$(generate small "$small_entries")
big_json=$(generate big "$entries")
big="$work/big"
generated_entries=$(jq .entries <<<"$big_json")
generation_s=$(jq .seconds <<<"$big_json")
mapfile -t segment_files < <(find "$big" -maxdepth 1 -name 'segment-*.db' | sort)
segments_before=${#segment_files[@]}
bytes_before=$(du -sb "$big" | cut -f1)
((segments_before >= prune_segments + 2)) ||
  fail "$segments_before segments: pruning $prune_segments needs $((prune_segments + 2)) or more" \
    "(lower SEGMENT_BYTES or PRUNE_SEGMENTS, or raise ENTRIES)"

# 2. Retention: segment i was sealed when segment i + 1 was created, and `prune --older-than`
# takes the segments sealed before now - AGE. An AGE halfway between the seals of the last segment
# to go and the first to stay prunes exactly PRUNE_SEGMENTS; whole seconds need the two seals at
# least 3 s apart.
last_gone=$(meta created_at_ms "${segment_files[prune_segments]}")
first_kept=$(meta created_at_ms "${segment_files[prune_segments + 1]}")
((first_kept - last_gone >= 3000)) ||
  fail "segments $prune_segments and $((prune_segments + 1)) were sealed" \
    "$((first_kept - last_gone)) ms apart: an age in whole seconds cannot part them (raise SEGMENT_BYTES)"
age_s=$((($(date +%s%3N) - (last_gone + first_kept) / 2 + 500) / 1000))
note "vsd store prune --older-than ${age_s}s (the oldest $prune_segments of $segments_before segments)"
prune_out=$("$bin/vsd" store prune --store "$big" --vs-public-key "$work/vs.key.pub" \
  --older-than "${age_s}s" --yes) || fail "vsd store prune"
echo "$prune_out" >&2
pruned=$(grep -c '^pruned segment ' <<<"$prune_out" || true)
((pruned == prune_segments)) || fail "vsd store prune removed $pruned segments, not $prune_segments"
mapfile -t segment_files < <(find "$big" -maxdepth 1 -name 'segment-*.db' | sort)
segments_after=${#segment_files[@]}
bytes_after=$(du -sb "$big" | cut -f1)

# 3. vsd's start on the pruned 10 M store and on the small one.
note "timing vsd's start, $runs runs each"
big_times=$(start_times big)
small_times=$(start_times small)
read -r big_open_min big_open_max big_vsd_min big_vsd_max <<<"$big_times"
read -r small_open_min small_open_max small_vsd_min small_vsd_max <<<"$small_times"

# 4. The audit over the directory.
note "audit-cli verify $big/ on $threads threads"
verify_rc=0
/usr/bin/time -v "$bin/audit-cli" verify "$big/" --vs-pubkey "$work/vs.key.pub" --json \
  --no-progress --threads "$threads" --max-findings 10 >"$work/verify.json" 2>"$work/time.txt" ||
  verify_rc=$?
((verify_rc == 0)) || { cat "$work/time.txt" >&2; jq -c '.findings' "$work/verify.json" >&2 || true; fail "audit-cli verify exited $verify_rc"; }
jq -e '.intact == true and .failures == 0 and .warnings == 0' "$work/verify.json" >/dev/null ||
  fail "audit-cli verify: not intact, or findings: $(jq -c '{intact, failures, warnings, findings}' "$work/verify.json")"
jq -e --argjson n "$prune_segments" '
  (.segments.retired | length) == $n
  and all(.segments.retired[]; .disposition == "pruned")
  and .segments.retired[0].first_seq == 0
  and .segments.retired[-1].seal_seq + 1 == .first_seq' "$work/verify.json" >/dev/null ||
  fail "audit-cli verify does not list entries 0..$(($(jq .first_seq "$work/verify.json") - 1)) as" \
    "$prune_segments segments pruned by policy: $(jq -c '.segments' "$work/verify.json")"
verified=$(jq .entries "$work/verify.json")
verify_s=$(jq .seconds "$work/verify.json")
pruned_to=$(jq '.first_seq - 1' "$work/verify.json")
rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)

# 5. The summary.
python3 - "$started_at" "$generated_entries" "$generation_s" "$segments_before" "$bytes_before" \
  "$prune_segments" "$age_s" "$pruned_to" "$segments_after" "$bytes_after" "$segment_bytes" \
  "$big_open_min" "$big_open_max" "$big_vsd_min" "$big_vsd_max" "$(jq .entries <<<"$small_json")" \
  "$small_open_min" "$small_open_max" "$small_vsd_min" "$small_vsd_max" "$verified" "$verify_s" \
  "$threads" "$rss_kib" "$load_at_start" "$load_at_end" "$(nproc)" <<'EOF'
import json, sys
(date, entries, gen_s, seg_before, bytes_before, pruned, age_s, pruned_to, seg_after, bytes_after,
 seg_bytes, bo_min, bo_max, bv_min, bv_max, small, so_min, so_max, sv_min, sv_max, verified,
 verify_s, threads, rss, load_start, load_end, cores) = sys.argv[1:]
entries, verified = int(entries), int(verified)
gen_s, verify_s = float(gen_s), float(verify_s)
summary = {
    "date": date, "cores": int(cores), "load_start": load_start, "load_end": load_end,
    "entries": entries, "segment_bytes": int(seg_bytes), "segments": int(seg_before),
    "bytes": int(bytes_before), "bytes_per_entry": round(int(bytes_before) / entries),
    "generation_s": gen_s, "generation_entries_per_s": round(entries / gen_s),
    "pruned_segments": int(pruned), "pruned_entries": int(pruned_to) + 1,
    "prune_older_than_s": int(age_s), "segments_after": int(seg_after),
    "bytes_after": int(bytes_after),
    "start_ms": {"entries": entries, "store_open": [float(bo_min), float(bo_max)],
                 "vsd_run": [int(bv_min), int(bv_max)]},
    "small_start_ms": {"entries": int(small), "store_open": [float(so_min), float(so_max)],
                       "vsd_run": [int(sv_min), int(sv_max)]},
    "verify": {"entries": verified, "seconds": verify_s, "threads": int(threads),
               "entries_per_s": round(verified / verify_s), "peak_rss_mib": round(int(rss) / 1024, 1),
               "intact": True, "findings": 0},
}
print(f"""== long run {date} ({cores} cores, load average {load_start} at start, {load_end} at end)
entries          {entries:,} in {seg_before} segments of {int(seg_bytes):,} bytes
bytes            {int(bytes_before):,} ({summary['bytes_per_entry']} bytes/entry)
generation       {gen_s:.0f} s ({summary['generation_entries_per_s']:,} entries/s)
pruned           {pruned} segments, entries 0..{int(pruned_to):,} (--older-than {age_s}s); {seg_after} segments, {int(bytes_after):,} bytes left
start ({entries:,})  store open {float(bo_min):.0f}-{float(bo_max):.0f} ms, vsd run to listening {bv_min}-{bv_max} ms
start ({int(small):,})  store open {float(so_min):.0f}-{float(so_max):.0f} ms, vsd run to listening {sv_min}-{sv_max} ms
verify           {verified:,} entries in {verify_s:.0f} s ({summary['verify']['entries_per_s']:,} entries/s, {threads} threads, {summary['verify']['peak_rss_mib']} MiB): intact, no finding, {pruned} segments pruned by policy""")
print(json.dumps(summary))
EOF
