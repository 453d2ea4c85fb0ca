#!/usr/bin/env bash
# A fleet's failover under load (PROTOCOL.md §8.10 "When a node dies"): two vsd nodes on one
# PostgreSQL database (STORE.md §11.6), SESSIONS simulated game servers (vsd_load --mode storm: a
# heartbeat and a digest every PERIOD_MS each) and GAME_SERVERS real gsd with CLIENTS real bot
# clients, all on node a. KILL_AFTER_S into the run node a is killed with SIGKILL; node b adopts
# each session from node a's log as its game server resumes there. Prints one JSON line: players
# dropped (target 0), the time from the kill until every session resumed (simulated and real),
# receipts acknowledged to a game server and missing from both logs (target 0), resumes refused,
# sessions revoked, and whether both logs verify. The nodes and PostgreSQL run on vsd's CPUs, the
# generator, gsd and the clients on the others (VSD_CPUS, GEN_CPUS, as in bench/vsd_load.sh).
#
# Usage: bench/vsd_failover.sh [--no-build] [--bin-dir DIR] [--work-dir DIR]
#   env: SESSIONS=1000 GAME_SERVERS=5 CLIENTS=50 PERIOD_MS=2000 KILL_AFTER_S=10 STORM_S=60
#        RAMP_PER_S=500 TICKET_PERIOD_MS=2000 TICKET_VALIDITY_MS=30000
#        HEARTBEAT_TIMEOUT_MS=60000 VSD_CPUS GEN_CPUS THREADS BUILD_DIR=build-bench KEEP=1
# Exit 0 when no player dropped, every session resumed on node b, no acknowledged receipt is
# missing and both logs verify.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

bench_options vsd_failover.sh "$@"

sessions=${SESSIONS:-1000}
game_servers=${GAME_SERVERS:-5}
clients=${CLIENTS:-50}
period=${PERIOD_MS:-2000}
kill_after=${KILL_AFTER_S:-10}
storm_s=${STORM_S:-60}
ramp=${RAMP_PER_S:-500}
ticket_period=${TICKET_PERIOD_MS:-2000}
ticket_validity=${TICKET_VALIDITY_MS:-30000}
heartbeat_timeout=${HEARTBEAT_TIMEOUT_MS:-60000}

for tool in python3 ss psql; do
  command -v "$tool" >/dev/null || { echo "vsd_failover.sh needs $tool" >&2; exit 2; }
done
bench_programs vsd_failover.sh vsd vsd_load gsd client audit-cli

pin_cpus
echo "== vsd nodes and PostgreSQL on CPUs ${vsd_cpus:-any} ($threads threads each); generator, gsd and clients on ${gen_cpus:-any}" >&2

bench_work_dir
stop_all() {
  stop_postgres  # first: cleanup removes $work, where the cluster may be
  cleanup
}
trap stop_all EXIT
start_postgres
database=$(pg_database gsvs)
psql -X -q -d "$database" -c "CREATE SCHEMA node_a; CREATE SCHEMA node_b"

for g in $(seq "$game_servers"); do "$bin/gsd" keygen --out "$work/gs$g.key" >/dev/null; done
for c in $(seq "$clients"); do "$bin/client" keygen --out "$work/c$c.key" >/dev/null; done
allowed_gs=$({
  "$bin/vsd_load" identities --count "$sessions"
  for g in $(seq "$game_servers"); do cat "$work/gs$g.key.pub"; done
} | sed 's/.*/"&"/' | paste -sd, | tr -d '\n')
declare -A port pid
for node in a b; do
  "$bin/vsd" keygen --out "$work/vs_$node.key" >/dev/null
  port[$node]=$(free_port)
  cat >"$work/vsd_$node.toml" <<TOML
listen = "127.0.0.1:${port[$node]}"
store = "$database?options=-csearch_path%3Dnode_$node"
fleet = "gsvs_fleet"
key = "$work/vs_$node.key"
admin_socket = "$work/vsd_$node.sock"
allowed_builds = ["$("$bin/vsd_load" build)", "$("$bin/gsd" version --sw-hash)"]
allowed_gs = [$allowed_gs]
threads = $threads
max_connections = $((sessions + game_servers + 100))
max_unauthenticated = $((sessions + game_servers + 100))
max_unauthenticated_per_source = $((sessions + game_servers + 100))
heartbeat_interval_ms = 1000
heartbeat_timeout_ms = $heartbeat_timeout
digest_timeout_ms = $((heartbeat_timeout + 30000))
ticket_period_ms = $ticket_period
ticket_validity_ms = $ticket_validity
log_level = "warn"
TOML
  "${vsd_pin[@]}" "$bin/vsd" run --config "$work/vsd_$node.toml" >"$work/vsd_$node.log" 2>&1 &
  pid[$node]=$!
  pids+=("${pid[$node]}")
  wait_vsd_ready "$bin/vsd" "$work/vsd_$node.sock"
done
# The fleet's key set and node list, as an operator gives them (OPERATIONS.md "Running a fleet").
cat "$work/vs_a.key.pub" "$work/vs_b.key.pub" >"$work/fleet.keys"
nodes="127.0.0.1:${port[a]},127.0.0.1:${port[b]}"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

start_game_servers "$nodes" "$work/fleet.keys"
start_clients "$work/fleet.keys"

echo "== $sessions simulated sessions, $game_servers gsd, $clients clients on node a; kill -9 ${kill_after} s into the measurement" >&2
"${gen_pin[@]}" "$bin/vsd_load" run --vs "$nodes" --sessions "$sessions" --mode storm \
  --period-ms "$period" --ramp-per-s "$ramp" --settle-s 1 --acked-out "$work/acked.txt" \
  --duration-s $((kill_after + storm_s)) >"$work/storm.json" 2>"$work/vsd_load.log" &
load_pid=$!
pids+=("$load_pid")
wait_text "$work/vsd_load.log" "measuring for" $((sessions / ramp + 120)) ||
  { echo "vsd_load did not start measuring" >&2; tail -5 "$work/vsd_load.log" >&2; exit 1; }
sleep "$kill_after"
tickets_before=$(cat "$work"/c*.events | grep -c '"ticket_accepted"' || true)

echo "== kill -9 node a" >&2
killed_at=$(now_ms)
kill -KILL "${pid[a]}"
wait "${pid[a]}" 2>/dev/null || true
gsd_resumed=0
for g in $(seq "$game_servers"); do
  if wait_text "$work/gs$g.log" "resumed with the VS" "$storm_s"; then
    gsd_resumed=$((gsd_resumed + 1))
  fi
done
gsd_back_at=$(now_ms)

wait "$load_pid" || true
tickets_after=$(cat "$work"/c*.events | grep -c '"ticket_accepted"' || true)
dropped=$(players_dropped)
adopted=$(psql -X -q -t -A -d "$database" -c "SELECT count(*) FROM node_b.log_entry WHERE kind = 25")
revocations=$(psql -X -q -t -A -d "$database" -c "SELECT count(*) FROM node_b.log_entry WHERE kind = 11 AND direction = 2")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
# Every receipt a simulated game server was sent is in node a's log or node b's (vsd_load
# check-store looks each one up by session and index).
"$bin/vsd_load" check-store --store "$database?options=-csearch_path%3Dnode_a" \
  --store "$database?options=-csearch_path%3Dnode_b" --acked "$work/acked.txt" \
  >"$work/check.json" || true
verified=true
for node in a b; do
  if ! "$bin/audit-cli" verify "$database?options=-csearch_path%3Dnode_$node" \
    --vs-pubkey "$work/vs_$node.key.pub" --no-progress >"$work/verify_$node.txt" 2>&1; then
    verified=false
    tail -5 "$work/verify_$node.txt" >&2
  fi
done

python3 - "$work/storm.json" "$work/check.json" <<PY
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip().startswith("{")]
storm = next((json.loads(l) for l in lines if "\"storm\": true" in l), {})
check = next((json.loads(l) for l in open(sys.argv[2]) if l.strip().startswith("{")), {})
print(json.dumps({
    "sessions": $sessions, "game_servers": $game_servers, "clients": $clients,
    "vsd_cpus": "$vsd_cpus", "threads": $threads, "period_ms": $period,
    "ticket_validity_ms": $ticket_validity, "heartbeat_timeout_ms": $heartbeat_timeout,
    "players_dropped": $dropped, "sessions_adopted_by_node_b": $adopted,
    "sessions_revoked_by_node_b": $revocations,
    "client_tickets_before_kill": $tickets_before,
    "client_tickets_after_kill": $tickets_after - $tickets_before,
    "gsd_resumed": $gsd_resumed, "gsd_all_back_after_kill_ms": $gsd_back_at - $killed_at,
    "receipts_acked": check.get("receipts_acked"),
    "acked_receipts_missing": check.get("acked_receipts_missing_from_store"),
    "logs_verify": "$verified" == "true",
    "load_average_before": "$load_before", "load_average_after": "$load_after",
    **{k: v for k, v in storm.items() if k != "storm"}}))
PY
[ "$dropped" = 0 ] && [ "$verified" = true ] && [ "$gsd_resumed" = "$game_servers" ] &&
  python3 -c 'import json,sys; s=[json.loads(l) for l in open(sys.argv[1]) if "\"storm\": true" in l][0]; c=json.loads(open(sys.argv[2]).read()); sys.exit(0 if s["join_failed"] == 0 and s["resume_refused"] == 0 and s["revoked"] == 0 and s["resumed"] >= s["sessions"] and c["acked_receipts_missing_from_store"] == 0 else 1)' "$work/storm.json" "$work/check.json"
