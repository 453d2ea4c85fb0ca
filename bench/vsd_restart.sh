#!/usr/bin/env bash
# A policy reload and a VS restart under load (PROTOCOL.md §8.11, §8.15, §8.17): vsd holds
# SESSIONS simulated game servers (vsd_load --mode storm: a heartbeat and a digest every PERIOD_MS
# each) and GAME_SERVERS real gsd with CLIENTS real bot clients between them. RELOAD_AFTER_S into
# the run vsd gets SIGHUP with one more build in allowed_builds; RESTART_AFTER_S into it, SIGTERM
# (a graceful stop), and a new vsd process starts on the same store, key and port. Every game
# server comes back at once. Prints one JSON line: players dropped (target 0), sessions revoked
# (target 0), whether the reload was applied and the receipt latency around it, the time until
# every session was resumed, p99 receipt latency before and through the storm, joins and resumes
# that failed, and whether the store verifies (audit-cli verify). vsd and the generator are
# pinned to disjoint CPU sets as in bench/vsd_load.sh (VSD_CPUS, GEN_CPUS); the machine's load
# average goes with the figures.
#
# Usage: bench/vsd_restart.sh [--no-build] [--bin-dir DIR] [--work-dir DIR]
#   env: SESSIONS=20000 GAME_SERVERS=5 CLIENTS=50 PERIOD_MS=10000 RESTART_AFTER_S=10
#        RELOAD_AFTER_S=RESTART_AFTER_S/2 (before the restart) STORM_S=60 (how long the run
#        goes on after the restart) JOINS_PER_S=5000
#        RESUME_WINDOW_MS=60000 TICKET_PERIOD_MS=10000 TICKET_VALIDITY_MS=30000
#        RAMP_PER_S=2000 HEARTBEAT_TIMEOUT_MS=120000 VSD_CPUS GEN_CPUS THREADS
#        ADMISSION_MAX_LAG_MS (vsd's key; unset: its default; 0: joins never wait for a late loop)
#        BUILD_DIR=build-bench KEEP=1 (keep the logs)
# Exit 0 when no player dropped, no session was revoked, the reload was applied, every session
# resumed and the store verifies.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

bench_options vsd_restart.sh "$@"

sessions=${SESSIONS:-20000}
game_servers=${GAME_SERVERS:-5}
clients=${CLIENTS:-50}
period=${PERIOD_MS:-10000}
restart_after=${RESTART_AFTER_S:-10}
reload_after=${RELOAD_AFTER_S:-$((restart_after / 2))}
[ "$reload_after" -lt "$restart_after" ] ||
  { echo "vsd_restart.sh: RELOAD_AFTER_S must be below RESTART_AFTER_S" >&2; exit 2; }
storm_s=${STORM_S:-60}
joins_per_s=${JOINS_PER_S:-5000}
resume_window=${RESUME_WINDOW_MS:-60000}
ticket_period=${TICKET_PERIOD_MS:-10000}
ticket_validity=${TICKET_VALIDITY_MS:-30000}
ramp=${RAMP_PER_S:-2000}

for tool in python3 ss; do
  command -v "$tool" >/dev/null || { echo "vsd_restart.sh needs $tool" >&2; exit 2; }
done
bench_programs vsd_restart.sh vsd vsd_load gsd client audit-cli

pin_cpus
echo "== vsd on CPUs ${vsd_cpus:-any} ($threads threads); generator, gsd and clients on ${gen_cpus:-any}" >&2

bench_work_dir
trap cleanup EXIT

"$bin/vsd" keygen --out "$work/vs.key" >/dev/null
for g in $(seq "$game_servers"); do "$bin/gsd" keygen --out "$work/gs$g.key" >/dev/null; done
for c in $(seq "$clients"); do "$bin/client" keygen --out "$work/c$c.key" >/dev/null; done
vs_port=$(free_port)
{
  echo "listen = \"127.0.0.1:$vs_port\""
  echo "store = \"$work/vs.db\""
  echo "key = \"$work/vs.key\""
  echo "admin_socket = \"$work/vsd.sock\""
  echo "allowed_builds = [\"$("$bin/vsd_load" build)\", \"$("$bin/gsd" version --sw-hash)\"]"
  printf 'allowed_gs = ['
  {
    "$bin/vsd_load" identities --count "$sessions"
    for g in $(seq "$game_servers"); do cat "$work/gs$g.key.pub"; done
  } | sed 's/.*/"&"/' | paste -sd, | tr -d '\n'
  echo ']'
  echo "threads = $threads"
  echo "max_connections = $((sessions + game_servers + 100))"
  # Every game server comes from this one address: all of them may be in their handshake at once.
  echo "max_unauthenticated = $((sessions + game_servers + 100))"
  echo "max_unauthenticated_per_source = $((sessions + game_servers + 100))"
  echo "max_joins_per_second = $joins_per_s"
  [ -z "${ADMISSION_MAX_LAG_MS:-}" ] || echo "admission_max_lag_ms = $ADMISSION_MAX_LAG_MS"
  echo "resume_window_ms = $resume_window"
  echo "heartbeat_interval_ms = 1000"
  # The generator joins every session before any sends (bench/vsd_load.cpp): the first waits for
  # the whole ramp, which on a loaded machine takes a minute at 20,000 sessions.
  echo "heartbeat_timeout_ms = ${HEARTBEAT_TIMEOUT_MS:-120000}"
  # Above the heartbeat timeout, as vsd requires, so that a silent GS misses heartbeats first.
  echo "digest_timeout_ms = $((${HEARTBEAT_TIMEOUT_MS:-120000} + 60000))"
  echo "ticket_period_ms = $ticket_period"
  echo "ticket_validity_ms = $ticket_validity"
  echo "log_level = \"warn\""
} >"$work/vsd.toml"
start_vsd() {  # LOG
  "${vsd_pin[@]}" "$bin/vsd" run --config "$work/vsd.toml" >"$1" 2>&1 &
  vsd_pid=$!
  pids+=("$vsd_pid")
  wait_vsd_ready "$bin/vsd" "$work/vsd.sock"
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start_vsd "$work/vsd-1.log"

start_game_servers "127.0.0.1:$vs_port" "$work/vs.key.pub"
start_clients "$work/vs.key.pub"

echo "== $sessions simulated sessions, $game_servers gsd, $clients clients; reload ${reload_after} s and restart ${restart_after} s into the measurement" >&2
load_started_at=$(now_ms)
"${gen_pin[@]}" "$bin/vsd_load" run --vs "127.0.0.1:$vs_port" --sessions "$sessions" --mode storm \
  --period-ms "$period" --ramp-per-s "$ramp" --settle-s 1 \
  --duration-s $((restart_after + storm_s)) >"$work/storm.json" 2>"$work/vsd_load.log" &
load_pid=$!
pids+=("$load_pid")
wait_text "$work/vsd_load.log" "measuring for" $((sessions / ramp + 120)) ||
  { echo "vsd_load did not start measuring" >&2; tail -5 "$work/vsd_load.log" >&2; exit 1; }
measuring_at=$(now_ms)
sleep "$reload_after"

# A patch day's change: one more build allowed. It revokes nothing; the PolicyApplied it logs is
# counted in the store below.
echo "== SIGHUP to vsd with one more build in allowed_builds" >&2
new_build=$(printf 'bench reload %s' "$measuring_at" | sha256sum | cut -d' ' -f1)
sed -i "s/^allowed_builds = \[/allowed_builds = [\"$new_build\", /" "$work/vsd.toml"
reload_at=$(now_ms)
kill -HUP "$vsd_pid"
sleep $((restart_after - reload_after))
tickets_before=$(cat "$work"/c*.events | grep -c '"ticket_accepted"' || true)

echo "== SIGTERM to vsd, then a new vsd on the same store" >&2
stop_at=$(now_ms)
kill -TERM "$vsd_pid"
wait "$vsd_pid" || true
stopped_at=$(now_ms)
start_vsd "$work/vsd-2.log"
started_at=$(now_ms)
gsd_resumed=0
for g in $(seq "$game_servers"); do
  if wait_text "$work/gs$g.log" "resumed with the VS" $((storm_s)); then
    gsd_resumed=$((gsd_resumed + 1))
  fi
done
gsd_back_at=$(now_ms)

wait "$load_pid" || true
tickets_after=$(cat "$work"/c*.events | grep -c '"ticket_accepted"' || true)
dropped=$(players_dropped)
gsd_refused=$(cat "$work"/gs*.log | grep -c "did not resume the session\|resume refused" || true)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# From the store (STORE.md §2), read while vsd still runs, before the game servers' own stop
# (their GsLeaving ends their sessions): the policies the VS applied by a reload (each start
# applies one too, right after its VsStart) and the sessions it revoked, for any reason.
read -r reloads_applied revocations < <(python3 - "$work/vs.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
count = lambda kind: db.execute(
    "SELECT count(*) FROM log_entry WHERE kind = ? AND direction = 2", (kind,)).fetchone()[0]
print(count(23) - count(22), count(11))  # PolicyApplied - VsStart, Revocation
EOF
)
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
if "$bin/audit-cli" verify "$work/vs.db" --vs-pubkey "$work/vs.key.pub" >"$work/verify.txt" 2>&1; then
  verified=true
else
  verified=false
  tail -5 "$work/verify.txt" >&2
fi

python3 - "$work/storm.json" "$work/vsd_load.log" <<EOF
import json, re, sys
lines = [l for l in open(sys.argv[1]) if l.strip().startswith("{")]
storm = next((json.loads(l) for l in lines if "\"storm\": true" in l), {})
# vsd_load's per-second timeline (seconds since it started): the worst second's p99 in the two
# seconds before the reload and in the three from it.
per_second = {int(m[1]): float(m[4]) for m in
              (re.match(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s*$", l)
               for l in open(sys.argv[2])) if m}
reload_s = ($reload_at - $load_started_at) // 1000
worst = lambda seconds: max((per_second[s] for s in seconds if s in per_second), default=None)
print(json.dumps({
    "sessions": $sessions, "game_servers": $game_servers, "clients": $clients,
    "vsd_cpus": "$vsd_cpus", "threads": $threads, "period_ms": $period,
    "max_joins_per_second": $joins_per_s, "resume_window_ms": $resume_window,
    "ticket_validity_ms": $ticket_validity,
    "players_dropped": $dropped, "sessions_revoked": $revocations,
    "reload_applied": $reloads_applied == 1,
    "p99_ack_ms_before_reload": worst(range(reload_s - 2, reload_s)),
    "p99_ack_ms_around_reload": worst(range(reload_s, reload_s + 3)),
    "client_tickets_before_restart": $tickets_before,
    "client_tickets_after_restart": $tickets_after - $tickets_before,
    "vsd_stop_ms": $stopped_at - $stop_at, "vsd_start_ms": $started_at - $stopped_at,
    "gsd_resumed": $gsd_resumed, "gsd_resume_refused": $gsd_refused,
    "gsd_all_back_after_stop_ms": $gsd_back_at - $stop_at,
    "load_average_before": "$load_before", "load_average_after": "$load_after",
    "store_verifies": "$verified" == "true",
    **{k: v for k, v in storm.items() if k != "storm"}}))
EOF
[ "$dropped" = 0 ] && [ "$revocations" = 0 ] && [ "$reloads_applied" = 1 ] &&
  [ "$verified" = true ] && [ "$gsd_resumed" = "$game_servers" ] &&
  python3 -c 'import json,sys; s=[json.loads(l) for l in open(sys.argv[1]) if "\"storm\": true" in l][0]; sys.exit(0 if s["join_failed"] == 0 and s["resume_refused"] == 0 and s["revoked"] == 0 and s["resumed"] >= s["sessions"] else 1)' "$work/storm.json"
