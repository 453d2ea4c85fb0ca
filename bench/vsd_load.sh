#!/usr/bin/env bash
# Measures vsd under load on loopback and prints JSON lines (docs/PERFORMANCE.md quotes them):
#   1. capacity: SESSIONS_CAPACITY sessions sending digests back to back; acknowledged messages/s
#      against a raw libsodium verify loop on vsd's own CPUs, measured in the same run while vsd
#      is idle (before the load and after it); the headline is ratio_per_vsd_core, the two
#      divided, which is the ratio per core since both ran on the same cores;
#   2. scale: for each count in SESSIONS_SCALE, that many sessions, each a heartbeat and a
#      16-player digest per second, plus a ticket per second from the VS; p50/p99 receipt latency,
#      vsd RSS per session, and two checks of the store: every receipt the generator saw
#      acknowledged is looked up in it by session and receipt index (vsd_load check-store), and
#      it verifies (audit-cli verify: chain, signatures, protocol).
#   Each scale run also samples vsd's store every 100 ms (bench/vsd_load_sampler.py: commits over
#   50 ms, WAL checkpoints run inside commits, WAL pages) and prints the p99 of each measured
#   second. WAL_CHECKPOINT lists vsd's wal_checkpoint modes to run each scale point with
#   ("inline background" compares SQLite's checkpoint inside commits with the background
#   checkpointer in one run, docs/STORE.md §7.1, and prints the ratio of the two).
#   STORES lists the stores to run each measurement against: sqlite (a file), postgresql (a
#   database on a server the script starts on vsd's CPUs, docs/STORE.md §11); with both, the
#   ratios of PostgreSQL to SQLite are printed last.
# vsd and the generator run pinned to disjoint CPU sets (taskset), so neither takes the other's
# cores: VSD_CPUS and GEN_CPUS, in taskset's list syntax; by default the lower half of the
# machine's CPUs for vsd and the upper half for the generator (one each on 2 cores). On one CPU
# nothing is pinned, and the script says so.
# Usage: bench/vsd_load.sh
#   env: SESSIONS_CAPACITY=64 SESSIONS_SCALE="5000" (a list: "3000 4000 5000") DURATION_S=20
#        VSD_CPUS GEN_CPUS THREADS (vsd's event-loop threads; default: the number of VSD_CPUS)
#        WAL_CHECKPOINT="background" (a list: "inline background") CAPACITY=1 (0: scale runs only)
#        STORES="sqlite" (a list: "sqlite postgresql")
#        KEEP=1: keep the work folder (vsd's log and configuration, the stores)
#        RAMP_PER_S=400: scale sessions joined per second before the load starts (the join
#        storm: e.g. SESSIONS_SCALE=19000 RAMP_PER_S=2000 CAPACITY=0 DURATION_S=5)
#        PROFILE_S=0: profile vsd with perf for this many of the capacity run's measured seconds
#        and print where its CPU goes per acknowledged message (bench/cpu_profile.py)
#        SYSCALLS_S=0: count vsd's system calls, by call, for this many of the capacity run's
#        measured seconds (perf stat on syscall tracepoints) and print them per acknowledged
#        message (bench/syscall_counts.py)
#        INTERLEAVE_MS=0: once a second of the capacity run, stop vsd and measure the raw verify
#        rate on its CPUs for this long (ratio_interleaved: the baseline follows the machine's
#        speed while vsd ran; for machines whose speed drifts within seconds; e.g. 200)
#        RECEIPT_BATCH_MAX=64: vsd's receipt_batch_max for the capacity run (a list, "1 64",
#        runs it once per value: receipts signed alone against signed in batches)
#        VSD_CONFIG: more lines of vsd's configuration for every run (e.g.
#        "commit_max_delay_us = 2000"; docs/OPERATIONS.md lists the settings). Not a key the
#        script writes itself (listen, store, key, threads, the connection limits, log_level; the
#        heartbeat, digest, ticket and join settings of each run, receipt_batch_max,
#        wal_checkpoint, metrics_listen): vsd refuses a key given twice. THREADS,
#        RECEIPT_BATCH_MAX and WAL_CHECKPOINT set those.
# e.g. the comparison: CAPACITY=0 DURATION_S=60 WAL_CHECKPOINT="inline background" bench/vsd_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
scripts/install-deps.sh
build=${BUILD_DIR:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DGSVS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target vsd vsd_load audit-cli >/dev/null
bin="$build/bin"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

capacity_sessions=${SESSIONS_CAPACITY:-64}
scale_points=${SESSIONS_SCALE:-5000}
duration=${DURATION_S:-20}
wal_modes=${WAL_CHECKPOINT:-background}
run_capacity=${CAPACITY:-1}
stores=${STORES:-sqlite}
profile_s=${PROFILE_S:-0}
syscalls_s=${SYSCALLS_S:-0}
interleave_ms=${INTERLEAVE_MS:-0}
# The calls counted by name (the rest are "other"): sockets, the event loop, the store's file.
syscall_events=raw_syscalls:sys_enter
for call in recvmsg sendmsg recvfrom sendto read write readv writev pread64 pwrite64 fdatasync \
  fsync epoll_wait epoll_pwait epoll_ctl futex fcntl timerfd_settime lseek newfstatat; do
  syscall_events+=",syscalls:sys_enter_$call"
done
receipt_batches=${RECEIPT_BATCH_MAX:-64}
ramp_per_s=${RAMP_PER_S:-400}
# vsd paces joins at max_joins_per_second and closes those over it (their GSes retry, the
# generator does not): the scale run lets the ramp through, and a quarter more.
max_joins_per_s=$(( ramp_per_s * 5 / 4 > 1000 ? ramp_per_s * 5 / 4 : 1000 ))
if [ "$profile_s$syscalls_s" != 00 ] && ! command -v perf >/dev/null; then
  echo "vsd_load.sh: PROFILE_S and SYSCALLS_S need perf (Debian package linux-perf)" >&2
  exit 2
fi
pin_cpus
if [ -n "$vsd_cpus" ]; then
  echo "== vsd on CPUs $vsd_cpus ($threads threads), generator on CPUs $gen_cpus" >&2
else
  echo "== one CPU: vsd and the generator share it (nothing pinned)" >&2
fi
work=$(mktemp -d)
vsd_pid=""
sampler_pid=""
# KEEP=1 keeps $work (vsd's configuration and log of the last run, its stores) and says where.
trap 'kill -CONT ${vsd_pid:-} 2>/dev/null || true; kill ${vsd_pid:-} ${sampler_pid:-} 2>/dev/null || true; stop_postgres; if [ -n "${KEEP:-}" ]; then echo "kept in $work" >&2; else rm -rf "$work"; fi' EXIT
case " $stores " in *" postgresql "*) start_postgres ;; esac
runs=0
new_store() {  # $1 = sqlite | postgresql: a fresh, empty store for the next run, in $store
  runs=$((runs + 1))
  case $1 in
    sqlite) rm -f "$work"/vs.db*; store="$work/vs.db" ;;
    postgresql) store=$(pg_database "run_$runs") ;;
    *) echo "vsd_load.sh: STORES: unknown store '$1' (sqlite or postgresql)" >&2; exit 2 ;;
  esac
}

start_vsd() {  # $1 = number of identities, $2 = extra config
  local n=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  {
    echo "listen = \"127.0.0.1:$port\""
    echo "store = \"$store\""
    echo "key = \"$work/vs.key\""
    echo "admin_socket = \"$work/vsd.sock\""
    echo "allowed_builds = [\"$("$bin/vsd_load" build)\"]"
    printf 'allowed_gs = ['
    "$bin/vsd_load" identities --count "$n" | sed 's/.*/"&"/' | paste -sd, | tr -d '\n'
    echo ']'
    echo "threads = $threads"
    echo "max_connections = $((n + 100))"
    # Every session joins from this one address: let all of them be in their handshake at once.
    echo "max_unauthenticated = $((n + 100))"
    echo "max_unauthenticated_per_source = $((n + 100))"
    echo "log_level = \"warn\""
    echo "$2"
    echo "${VSD_CONFIG:-}"
  } >"$work/vsd.toml"
  "${vsd_pin[@]}" "$bin/vsd" run --config "$work/vsd.toml" >"$work/vsd.log" 2>&1 &
  vsd_pid=$!
  for _ in $(seq 100); do
    ss -ltn 2>/dev/null | grep -q ":$port " && break
    if ! kill -0 "$vsd_pid" 2>/dev/null; then
      echo "vsd_load.sh: vsd did not start:" >&2
      cat "$work/vsd.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  vs_addr="127.0.0.1:$port"
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

"$bin/vsd" keygen --out "$work/vs.key" >/dev/null
status=0  # 1 once a store misses an acknowledged receipt or fails to verify

: >"$work/capacity_runs.jsonl"
if [ "$run_capacity" != 0 ]; then
for backend in $stores; do
for receipt_batch in $receipt_batches; do
new_store "$backend"
echo "== capacity: $capacity_sessions sessions, digests back to back, $backend store," \
  "receipt_batch_max = $receipt_batch" >&2
# Heartbeats are not part of this load: a long timeout keeps the sessions alive without them.
# digest_timeout_ms must exceed it (PROTOCOL.md §8.5); digests come back to back anyway.
start_vsd "$capacity_sessions" "heartbeat_timeout_ms = 600000
digest_timeout_ms = 600001
heartbeat_interval_ms = 1000
receipt_batch_max = $receipt_batch"
# The previous run's stderr goes first: perf waits for "measuring for" in it, and tee below may
# not have truncated the file before the wait looks.
rm -f "$work/capacity.err"
"${gen_pin[@]}" "$bin/vsd_load" run --vs "$vs_addr" --sessions "$capacity_sessions" \
  --mode capacity --duration-s "$duration" --presign 6000 --window 8 --verify-threads "$threads" \
  --raw-cpus "$vsd_cpus" --ramp-per-s 200 --vsd-pid $vsd_pid --interleave-ms "$interleave_ms" \
  >"$work/capacity.json" \
  2> >(tee "$work/capacity.err" >&2) &
load_pid=$!
if [ "$profile_s$syscalls_s" != 00 ]; then
  # From the start of the measured seconds; perf itself runs on the generator's CPUs.
  until grep -q "measuring for" "$work/capacity.err" 2>/dev/null || ! kill -0 $load_pid 2>/dev/null; do
    sleep 0.1
  done
fi
if [ "$profile_s" != 0 ]; then
  "${gen_pin[@]}" perf record -F 997 -p $vsd_pid -o "$work/perf.data" -- sleep "$profile_s" \
    2>/dev/null >&2
fi
if [ "$syscalls_s" != 0 ]; then
  # A kernel without one of these tracepoints makes perf refuse: said, and the run goes on.
  "${gen_pin[@]}" perf stat -x, -e "$syscall_events" -p $vsd_pid -o "$work/syscalls.csv" \
    -- sleep "$syscalls_s" >&2 || echo "vsd_load.sh: perf stat failed: no system call counts" >&2
fi
wait $load_pid
# A generator that died between stopping vsd (INTERLEAVE_MS) and letting it go on leaves it stopped.
kill -CONT $vsd_pid 2>/dev/null || true
kill -TERM $vsd_pid; wait $vsd_pid || true
cat "$work/capacity.json"
python3 -c 'import json, sys; r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); r["store_backend"] = sys.argv[2]; r["receipt_batch_max"] = int(sys.argv[3]); print(json.dumps(r))' \
  "$work/capacity.json" "$backend" "$receipt_batch" >>"$work/capacity_runs.jsonl"
if [ "$profile_s" != 0 ]; then
  perf report -i "$work/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null \
    >"$work/perf.txt"
  python3 bench/cpu_profile.py "$work/perf.txt" "$work/capacity.json"
fi
if [ "$syscalls_s" != 0 ] && [ -s "$work/syscalls.csv" ]; then
  python3 bench/syscall_counts.py "$work/syscalls.csv" "$syscalls_s" "$work/capacity.json"
fi
python3 - "$work/capacity.json" <<'PY' >&2
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(f"== capacity headline: {r['messages_acked_per_s']:.0f} acked messages/s against "
      f"{r['raw_verify_per_s']:.0f} raw verifies/s on the same {r['verify_threads']} core(s): "
      f"ratio_per_vsd_core {r['ratio_per_vsd_core']:.3f}")
if r["interleaved_bursts"]:
    print(f"== against {r['interleaved_bursts']} raw verify bursts taken while vsd was stopped "
          f"({r['raw_verify_interleaved_per_s']:.0f} a second on average; vsd "
          f"{r['vsd_cpu_cores']:.2f} cores): ratio_interleaved {r['ratio_interleaved']:.3f}")
print(f"== a receipt's signature: {1e6 / r['raw_sign_per_s']:.1f} us alone, "
      f"{1e6 / r['raw_batched_receipts_per_s']:.1f} us in a batch of 64 (leaf, proof, encoding); "
      f"crypto-only ceiling {r['crypto_only_ceiling']:.3f} alone, "
      f"{r['crypto_only_ceiling_batched']:.3f} batched")
PY
done
done
fi

: >"$work/scale_runs.jsonl"
for scale_sessions in $scale_points; do
for backend in $stores; do
for wal_mode in $wal_modes; do
  # The WAL checkpoint is the SQLite store's; a PostgreSQL store runs once.
  [ "$backend" = sqlite ] || [ "$wal_mode" = "${wal_modes%% *}" ] || continue
  new_store "$backend"
  echo "== scale: $scale_sessions sessions at 1 heartbeat + 1 digest per second," \
    "$backend store, wal_checkpoint = $wal_mode" >&2
  metrics_port=$(free_port)
  # The generator joins every session, then signs their messages, then starts them all: the first
  # to join is silent for the whole ramp, hence the long heartbeat timeout (it costs nothing).
  start_vsd "$scale_sessions" "heartbeat_timeout_ms = 60000
digest_timeout_ms = 60001
heartbeat_interval_ms = 1000
ticket_period_ms = 1000
ticket_validity_ms = 2000
max_joins_per_second = $max_joins_per_s
wal_checkpoint = \"$wal_mode\"
metrics_listen = \"127.0.0.1:$metrics_port\""
  rss_before=$(rss_kib $vsd_pid)
  python3 bench/vsd_load_sampler.py sample "http://127.0.0.1:$metrics_port/metrics" \
    "$store" "$work/samples.jsonl" &
  sampler_pid=$!
  "${gen_pin[@]}" "$bin/vsd_load" run --vs "$vs_addr" --sessions "$scale_sessions" --mode scale \
    --duration-s "$duration" --verify-threads "$threads" --raw-cpus "$vsd_cpus" \
    --ramp-per-s "$ramp_per_s" --vsd-pid $vsd_pid --settle-s 5 --acked-out "$work/acked.txt" \
    --presign $(( duration + 15 )) >"$work/scale.json" &
  load_pid=$!
  rss_during=$rss_before  # the highest seen while the load runs
  while kill -0 $load_pid 2>/dev/null; do
    rss_now=$(rss_kib $vsd_pid)
    (( rss_now > rss_during )) && rss_during=$rss_now
    sleep 1
  done
  wait $load_pid || echo "vsd_load reported failed or revoked sessions" >&2
  kill -TERM $sampler_pid; wait $sampler_pid || true
  sampler_pid=""
  kill -TERM $vsd_pid; wait $vsd_pid || true
  cat "$work/scale.json"
  store_sampled=$(python3 bench/vsd_load_sampler.py summarize "$work/samples.jsonl")
  # Exit 1 (some acknowledged receipt missing) still prints its figures, which say how many.
  store_check=$("$bin/vsd_load" check-store --store "$store" --acked "$work/acked.txt") ||
    status=1
  if "$bin/audit-cli" verify "$store" --vs-pubkey "$work/vs.key.pub" >"$work/verify.txt" 2>&1; then
    verified=true
  else
    verified=false
    status=1
    tail -5 "$work/verify.txt" >&2
  fi
  echo "{\"sessions\": $scale_sessions, \"store_backend\": \"$backend\", \"wal_checkpoint\": \"$wal_mode\", \"vsd_rss_kib_before\": $rss_before, \"vsd_rss_kib_with_sessions\": $rss_during, \"rss_kib_per_session\": $(( (rss_during - rss_before) / scale_sessions )), \"store\": ${store_check:-null}, \"store_sampled\": $store_sampled, \"audit_verify_intact\": $verified}" |
    tee "$work/scale_summary.json"
  python3 -c 'import json, sys; load = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); run = json.load(open(sys.argv[2])); run["load"] = load; print(json.dumps(run))' \
    "$work/scale.json" "$work/scale_summary.json" >>"$work/scale_runs.jsonl"
done
done
done
# One line per scale run; where two WAL modes ran, the ratio of inline to background; where
# both stores ran, the ratios of PostgreSQL to SQLite.
python3 - "$work/scale_runs.jsonl" "$work/capacity_runs.jsonl" <<'PY' >&2
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
capacity_runs = [json.loads(line) for line in open(sys.argv[2])]
capacity = {r["store_backend"]: r for r in capacity_runs}
if len({r["receipt_batch_max"] for r in capacity_runs}) > 1:
    for r in capacity_runs:
        print(f"== capacity, {r['store_backend']} store, receipt_batch_max "
              f"{r['receipt_batch_max']}: ratio_per_vsd_core {r['ratio_per_vsd_core']:.3f} "
              f"({r['messages_acked_per_s']:.0f} acked messages/s, {r['raw_verify_per_s']:.0f} "
              f"raw verifies/s)")
by_point = {}
for r in runs:
    s = r["store_sampled"]
    print(f"== {r['sessions']} sessions, {r['store_backend']} store, wal_checkpoint "
          f"{r['wal_checkpoint']}: worst second p99 "
          f"{r['load']['worst_second_p99_ms']} ms, whole-run p99 {r['load']['p99_ack_ms']} ms, "
          f"commits over 50 ms {s.get('commits_over_50ms')} of {s.get('commits')} "
          f"({s.get('slow_commits_with_a_checkpoint_in_that_tick')} with a checkpoint in the "
          f"commit), checkpoints in commits {s.get('checkpoints_in_commits')} (mean "
          f"{s.get('mean_checkpoint_in_commit_ms')} ms), highest WAL {s.get('highest_wal_pages')} "
          f"pages\n   per-second p99 (ms): {r['load']['per_second_p99_ms']}")
    by_point.setdefault(r["sessions"], {})[(r["store_backend"], r["wal_checkpoint"])] = r
for sessions, modes in by_point.items():
    if ("sqlite", "inline") in modes and ("sqlite", "background") in modes:
        a, b = modes[("sqlite", "inline")], modes[("sqlite", "background")]
        worst = a["load"]["worst_second_p99_ms"] / max(b["load"]["worst_second_p99_ms"], 0.1)
        slow = a["store_sampled"].get("commits_over_50ms", 0) / max(
            b["store_sampled"].get("commits_over_50ms", 0), 1)
        print(f"== {sessions} sessions, inline / background: worst second p99 {worst:.1f}x, "
              f"commits over 50 ms {slow:.1f}x (background at least 1)")
    by_store = {backend: r for (backend, _), r in modes.items()}
    if "sqlite" in by_store and "postgresql" in by_store:
        pg, lite = by_store["postgresql"]["load"], by_store["sqlite"]["load"]
        print(f"== {sessions} sessions, postgresql / sqlite: whole-run p99 "
              f"{pg['p99_ack_ms'] / max(lite['p99_ack_ms'], 0.1):.2f}x, worst second p99 "
              f"{pg['worst_second_p99_ms'] / max(lite['worst_second_p99_ms'], 0.1):.2f}x")
if "sqlite" in capacity and "postgresql" in capacity:
    pg, lite = capacity["postgresql"], capacity["sqlite"]
    print(f"== capacity, postgresql / sqlite: acked messages/s "
          f"{pg['messages_acked_per_s'] / lite['messages_acked_per_s']:.3f}x "
          f"(ratio_per_vsd_core {pg['ratio_per_vsd_core']:.3f} against "
          f"{lite['ratio_per_vsd_core']:.3f})")
PY
exit $status
